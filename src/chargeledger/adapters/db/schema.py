"""The whole database schema: ``metadata`` with every table module loaded on it.

Alembic's environment and the model/migration comparison read it from here; the table modules
(``tables``, ``billing_tables``, ``payment_tables``, ``sandbox_tables``) only define tables on the
shared ``metadata`` (``metadata.py``) and never import each other.
"""

from __future__ import annotations

from chargeledger.adapters.db import (
    audit_tables,
    billing_tables,
    cluster_tables,
    contract_tables,
    dispute_tables,
    dunning_tables,
    meter_tables,
    outbox_tables,
    payment_tables,
    reservation_tables,
    roaming_tables,
    sandbox_tables,
    tables,
)
from chargeledger.adapters.db.metadata import metadata

__all__ = [
    "audit_tables",
    "billing_tables",
    "cluster_tables",
    "contract_tables",
    "dispute_tables",
    "dunning_tables",
    "metadata",
    "meter_tables",
    "outbox_tables",
    "payment_tables",
    "reservation_tables",
    "roaming_tables",
    "sandbox_tables",
    "tables",
]
