"""The package has no import cycles (issue 12 item 4): every module can be understood, tested and
moved without dragging in the modules that import it. Imports inside functions and under
``TYPE_CHECKING`` count too, since they hide a cycle rather than remove it. The graph is the one
import-linter builds (grimp), so this test and the layer contracts see the same imports."""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith("chargeledger"):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module.startswith("chargeledger") and module not in index:
            visit(module)
    return sorted(found)


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("chargeledger")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above could pass by finding nothing: show it finds a planted cycle."""
    graph = grimp.ImportGraph()
    for name in ("chargeledger.a", "chargeledger.b", "chargeledger.c"):
        graph.add_module(name)
    graph.add_import(importer="chargeledger.a", imported="chargeledger.b")
    graph.add_import(importer="chargeledger.b", imported="chargeledger.a")
    graph.add_import(importer="chargeledger.b", imported="chargeledger.c")
    assert _cycles(graph) == [["chargeledger.a", "chargeledger.b"]]
