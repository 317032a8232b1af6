"""OCPI 2.2.1 to partner platforms: the HTTP client (httpx) and the sealing of our tokens."""

from __future__ import annotations

from chargeledger.adapters.roaming.peer import HttpOcpiPeer
from chargeledger.adapters.roaming.token_box import FernetTokenBox
from chargeledger.services.ports import Clock, UnitOfWorkFactory
from chargeledger.services.roaming.handshake import Handshake


def roaming_handshake(
    uows: UnitOfWorkFactory, clock: Clock, timeout_seconds: float, installation_key: bytes
) -> Handshake:
    """The handshake's parts: partners in the database, httpx to reach them, Fernet to seal."""
    return Handshake(uows, HttpOcpiPeer(timeout_seconds), FernetTokenBox(installation_key), clock)
