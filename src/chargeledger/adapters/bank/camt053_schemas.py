"""The official camt.053 XML schemas (``xsd/``, stored unchanged) and how they are loaded.

Each version's namespace is ``urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN`` (ISO 20022-4
§5.3: one namespace per message version), so the namespace alone picks the schema. Besides
the document schema, :func:`schemas` builds an *entry* schema: the same XSD with one more
global declaration, ``<xs:element name="Ntry" type="ReportEntryN"/>``, added in memory, so
the reader can validate each ``Ntry`` against its own type as soon as it is read (with its
line number, which libxml2 does not report while validating during parsing) and then forget
it. The files on disk are never modified.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
SCHEMA_FILES = {
    "02": "camt.053.001.02.xsd",
    "04": "camt.053.001.04.xsd",
    "08": "camt.053.001.08.xsd",
}
SUPPORTED_VERSIONS = tuple(SCHEMA_FILES)
XS = "http://www.w3.org/2001/XMLSchema"

# The options of every XML parser here: nothing is fetched, no entity is expanded, no DTD is
# loaded, and libxml2's limits on depth and text size stay on (huge_tree=False).
SAFE_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def namespace(version: str) -> str:
    return NAMESPACE_PREFIX + version


def version_of(xml_namespace: str | None) -> str | None:
    """``"08"`` for the camt.053.001.08 namespace; ``None`` for any other namespace."""
    if xml_namespace is None or not xml_namespace.startswith(NAMESPACE_PREFIX):
        return None
    version = xml_namespace.removeprefix(NAMESPACE_PREFIX)
    return version if version in SCHEMA_FILES else None


@dataclass(frozen=True)
class Schemas:
    """A version's document schema and its entry schema (see the module docstring)."""

    document: Any
    entry: Any


_local = threading.local()


def schemas(version: str) -> Schemas:
    """The compiled schemas of ``version``, once per thread: a libxml2 schema keeps the error
    log of its last validation, so threads (the API reads uploads in a worker thread) do not
    share one."""
    cache: dict[str, Schemas] | None = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    if version not in cache:
        cache[version] = _compile(version)
    return cache[version]


def schema_bytes(version: str) -> bytes:
    return (files("chargeledger.adapters.bank") / "xsd" / SCHEMA_FILES[version]).read_bytes()


def _compile(version: str) -> Schemas:
    parser = etree.XMLParser(**SAFE_PARSER_OPTIONS)
    document = etree.XMLSchema(etree.fromstring(schema_bytes(version), parser).getroottree())
    tree = etree.fromstring(schema_bytes(version), parser)
    entry_type = tree.find(f".//{{{XS}}}element[@name='Ntry']").get("type")
    etree.SubElement(tree, f"{{{XS}}}element", name="Ntry", type=entry_type)
    return Schemas(document=document, entry=etree.XMLSchema(tree.getroottree()))
