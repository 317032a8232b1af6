"""Reading the audit proof back from a printed document (issue 15), as a person would copy it
from the page: the lines of text, the hex under each label, and the proof they make."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from pypdf import PdfReader

from chargeledger.domain.audit_merkle import proves_inclusion

HEX = re.compile(r"[0-9a-f]+")
PENDING = "becomes available once the day is closed"


def text_lines(pdf: bytes) -> list[str]:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return [line.strip() for page in pages for line in page.extract_text().splitlines()]


def hex_after(lines: list[str], label: str) -> list[str]:
    """The monospace lines of hex digits printed under the line that starts with ``label``."""
    start = next(i for i, line in enumerate(lines) if line.startswith(label))
    found = []
    for line in lines[start + 1 :]:
        if not HEX.fullmatch(line):
            break
        found.append(line)
    return found


@dataclass(frozen=True)
class PrintedProof:
    """The proof as a reader copies it from the annex page."""

    content_hash: str
    seq: int
    prev_hash: str
    chain_hash: str
    first_seq: int
    last_seq: int
    tree_size: int
    leaf_index: int
    merkle_root: str
    path: list[str]
    signature: str
    key_id: str

    def proves_inclusion(self) -> bool:
        """The chain hash links the content hash, and the path leads from its leaf to the
        printed root (RFC 9162 §2.1.3.2)."""
        linked = hashlib.sha256(bytes.fromhex(self.prev_hash + self.content_hash)).hexdigest()
        return linked == self.chain_hash and proves_inclusion(
            bytes.fromhex(self.chain_hash),
            self.leaf_index,
            self.tree_size,
            [bytes.fromhex(node) for node in self.path],
            bytes.fromhex(self.merkle_root),
        )


def printed_proof(pdf: bytes) -> PrintedProof:
    lines = text_lines(pdf)
    joined = " ".join(lines)
    [seq] = re.findall(r"Chain position (\d+); previous chain hash", joined)
    [(first, last, size, index)] = re.findall(
        r"chain positions (\d+) to (\d+), tree size (\d+), leaf index (\d+)", joined
    )
    [content] = hex_after(lines, "Content hash")
    [previous] = hex_after(lines, "Chain position")
    [chain] = hex_after(lines, "Chain hash")
    [root] = hex_after(lines, "Merkle root")
    [key_id] = hex_after(lines, "Key id")
    return PrintedProof(
        content_hash=content,
        seq=int(seq),
        prev_hash=previous,
        chain_hash=chain,
        first_seq=int(first),
        last_seq=int(last),
        tree_size=int(size),
        leaf_index=int(index),
        merkle_root=root,
        path=hex_after(lines, "Inclusion path ("),
        signature="".join(hex_after(lines, "Checkpoint signature")),
        key_id=key_id,
    )
