"""Settings of the tamper-evident chain (issue 15).

| variable                                 | default                                       |
|------------------------------------------|-----------------------------------------------|
| CHARGELEDGER_AUDIT_KEY_FILE              | ``<data dir>/audit/checkpoint-key.pem``       |
| CHARGELEDGER_AUDIT_CHECKPOINT_DIR        | ``<data dir>/audit/checkpoints``              |
| CHARGELEDGER_AUDIT_SEAL_INTERVAL_SECONDS | 30: ``serve`` chains queued records, closes days |

The key is made on first use; a cluster's nodes must share one (set the file's path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chargeledger.config.values import PREFIX, whole_number


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """Paths unset (None) are under the data directory (``paths``)."""

    key_file: Path | None = None
    checkpoint_dir: Path | None = None
    seal_interval_seconds: int = 30

    def paths(self, data_dir: Path) -> tuple[Path, Path]:
        """(the checkpoint key's file, the directory of checkpoint files)."""
        audit = data_dir / "audit"
        return (
            self.key_file or audit / "checkpoint-key.pem",
            self.checkpoint_dir or audit / "checkpoints",
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuditSettings:
        def path(name: str) -> Path | None:
            raw = env.get(PREFIX + name, "").strip()
            return Path(raw).expanduser() if raw else None

        return cls(
            key_file=path("AUDIT_KEY_FILE"),
            checkpoint_dir=path("AUDIT_CHECKPOINT_DIR"),
            seal_interval_seconds=whole_number(env, "AUDIT_SEAL_INTERVAL_SECONDS", 30),
        )
