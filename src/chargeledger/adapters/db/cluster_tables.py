"""Which node holds which station (issue 18: N nodes on one PostgreSQL) on the shared
``metadata``. A node is one ``chargeledger serve`` process, named when it starts; it says it
is alive (``seen_at``) every few seconds, and the stations whose websockets it holds are its
rows of ``station_presence``. The rows of a node not seen for a while are removed by any
other node: its stations have reconnected elsewhere or are offline."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import UtcDateTime

cluster_nodes = Table(
    "cluster_nodes",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

station_presence = Table(
    "station_presence",
    metadata,
    Column("charge_point_id", String(64), primary_key=True),
    Column("node", String(64), nullable=False),
    Column("connected_at", UtcDateTime, nullable=False),
    Index("ix_station_presence_node", "node"),
)
