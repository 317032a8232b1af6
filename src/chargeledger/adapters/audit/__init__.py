"""The audit chain's key and files (issue 15); its storage is in ``adapters/db``."""

from __future__ import annotations

from pathlib import Path

from chargeledger.adapters.audit.files import CheckpointFiles
from chargeledger.adapters.audit.signing import Ed25519CheckpointSigner
from chargeledger.adapters.db.repositories.audit_snapshot import SqlAuditSnapshots
from chargeledger.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from chargeledger.services.audit.auditor import Auditor
from chargeledger.services.ports import Clock


def audit_chain(
    factory: SqlUnitOfWorkFactory, clock: Clock, key_file: Path, checkpoint_dir: Path
) -> Auditor:
    """The chain's work wired to this database, the key file and the checkpoint directory."""
    signer = Ed25519CheckpointSigner(key_file)
    files = CheckpointFiles(checkpoint_dir)
    return Auditor(factory, clock, signer, files, SqlAuditSnapshots(factory.engine))
