"""Checkpoint files an auditor can keep elsewhere (``services.audit.ports.CheckpointArchive``):
``<directory>/<day>.json``, one per closed day, with everything needed to check it without us:
the day, its positions, the Merkle root, the signed statement exactly as signed, the signature
and the Ed25519 public key (``chargeledger audit verify --checkpoints DIR`` holds the chain to
them; any Ed25519 implementation checks the signature over ``signed_message``)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from chargeledger.adapters.files import private_directory
from chargeledger.domain.audit import Checkpoint
from chargeledger.errors import InvalidInputError
from chargeledger.services.audit.ports import ArchivedCheckpoint

FORMAT = "chargeledger.audit.checkpoint/1"


def checkpoint_document(checkpoint: Checkpoint, public_key: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "day": checkpoint.day.isoformat(),
        "first_seq": checkpoint.first_seq,
        "last_seq": checkpoint.last_seq,
        "count": checkpoint.count,
        "merkle_root": checkpoint.merkle_root,
        "algorithm": "Ed25519",
        "key_id": checkpoint.key_id,
        "public_key": public_key,
        "signed_message": checkpoint.message().decode(),
        "signature": checkpoint.signature,
    }


def _checkpoint_of(document: dict[str, Any]) -> tuple[Checkpoint, str]:
    if document.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    checkpoint = Checkpoint(
        day=date.fromisoformat(document["day"]),
        first_seq=document["first_seq"],
        last_seq=document["last_seq"],
        count=int(document["count"]),
        merkle_root=str(document["merkle_root"]),
        key_id=str(document["key_id"]),
        signature=str(document["signature"]),
    )
    return checkpoint, str(document["public_key"])


class CheckpointFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, checkpoint: Checkpoint, public_key: str) -> Path:
        """Write (or write again: the same statement) the file of ``checkpoint``, atomically."""
        private_directory(self.directory)
        path = self.directory / f"{checkpoint.day.isoformat()}.json"
        text = json.dumps(checkpoint_document(checkpoint, public_key), indent=2) + "\n"
        descriptor, draft = tempfile.mkstemp(dir=self.directory, prefix=".checkpoint.")
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(draft, path)
        return path

    def read(self, directory: Path | None = None) -> list[ArchivedCheckpoint]:
        folder = directory or self.directory
        if not folder.is_dir():
            raise InvalidInputError(
                f"{folder} is not a directory of checkpoint files", code="no_checkpoint_files"
            )
        found = []
        for path in sorted(folder.glob("*.json")):
            try:
                checkpoint, key = _checkpoint_of(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                found.append(ArchivedCheckpoint(path.name, None, error=f"unreadable: {exc}"))
                continue
            found.append(ArchivedCheckpoint(path.name, checkpoint, key))
        return found
