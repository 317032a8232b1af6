"""The ports the dispute services need from the outside world (issue 15)."""

from __future__ import annotations

from typing import Protocol

from chargeledger.domain.evidence import EvidencePack


class EvidenceDocuments(Protocol):
    """An evidence pack rendered for people and machines (``adapters/documents``): a PDF to
    read and a ZIP of JSON files (with the PDF and a manifest of SHA-256 hashes) to check.
    Pure functions of the pack: the same pack gives the same bytes, so a pack handed to a PSP
    or an arbiter can be produced again and compared."""

    def pdf(self, pack: EvidencePack) -> bytes: ...

    def zip(self, pack: EvidencePack) -> bytes: ...
