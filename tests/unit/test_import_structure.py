"""Import rules the layer contracts of ``pyproject.toml`` cannot say (issue 12 items 4 and 6).

- No import cycles: every module can be understood, tested and moved without dragging in the
  modules that import it. Imports inside functions and under ``TYPE_CHECKING`` count too,
  since they hide a cycle rather than remove it.
- A module whose name starts with ``_`` is private to its package: the payments, billing and
  charging services (and everything else) use each other's public modules only, e.g. no other
  package runs a PSP call through ``services/payments/_operations.py`` around its locks.

The graph is the one import-linter builds (grimp), so these tests and the contracts see the
same imports."""

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


def _private_imports(graph: grimp.ImportGraph) -> list[str]:
    """Imports of a module private to its package (a name part ``_x``) from outside it."""
    found = []
    for importer in sorted(graph.modules):
        if not importer.startswith("chargeledger"):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            parts = imported.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_")]
            if not imported.startswith("chargeledger.") or not private:
                continue
            package = ".".join(parts[: private[0]])
            if not importer.startswith(package + "."):
                found.append(f"{importer} -> {imported}")
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


def test_private_modules_are_imported_only_inside_their_package() -> None:
    graph = grimp.build_graph("chargeledger")
    assert "chargeledger.services.payments._operations" in graph.modules
    assert _private_imports(graph) == []


def test_the_private_import_finder_finds_one() -> None:
    graph = grimp.ImportGraph()
    for name in (
        "chargeledger.services.payments._operations",
        "chargeledger.services.payments.refunds",
        "chargeledger.services.billing.charges",
    ):
        graph.add_module(name)
    for importer in (
        "chargeledger.services.payments.refunds",
        "chargeledger.services.billing.charges",
    ):
        graph.add_import(importer=importer, imported="chargeledger.services.payments._operations")
    assert _private_imports(graph) == [
        "chargeledger.services.billing.charges -> chargeledger.services.payments._operations"
    ]
