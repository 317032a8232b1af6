"""Station authentication at the websocket upgrade: OCPP security profiles 1 and 2 (HTTP Basic,
OCPP 2.0.1 Part 2 §A00: user = charge point id, password = the station's passwordString).

Throttled like a human login (DESIGN §6), per charge point and per client address, and
verified in the hasher's own pool: a storm of wrong handshakes neither stalls the event loop
nor starves the default executor the ``ocpp`` library validates frames in.
"""

from __future__ import annotations

import hashlib
import hmac

from chargeledger.domain.catalog import Station
from chargeledger.services.ports import PasswordHasher, UnitOfWorkFactory
from chargeledger.services.throttling import CredentialGuard


class CredentialCache:
    """Verified station passwords, as SHA-256, so a reconnect storm after a network outage
    costs one argon2 verification per station, not one per connection. A changed password
    hash is another key, so an old password stops working at once. Bounded by the number of
    stations with a password: only verified credentials are remembered."""

    def __init__(self) -> None:
        self._verified: dict[tuple[str, str], bytes] = {}

    def known(self, station: Station, password: str) -> bool:
        digest = self._verified.get((station.charge_point_id, station.password_hash or ""))
        return digest is not None and hmac.compare_digest(
            digest, hashlib.sha256(password.encode()).digest()
        )

    def remember(self, station: Station, password: str) -> None:
        key = (station.charge_point_id, station.password_hash or "")
        self._verified[key] = hashlib.sha256(password.encode()).digest()


async def authenticate_station(
    uows: UnitOfWorkFactory,
    hasher: PasswordHasher,
    guard: CredentialGuard,
    cache: CredentialCache,
    charge_point_id: str,
    credentials: tuple[str, str] | None,
    client_host: str | None,
) -> Station | None:
    """The station, or None when the credentials are wrong (or the station unknown: the same
    work and answer, so ids cannot be probed). Raises ``too_many_attempts`` when this charge
    point or address failed too often, or checks too many passwords at once.

    Credentials naming another station, or none at all, are refused without a check and
    without counting: no password was guessed.
    """
    if credentials is None or credentials[0] != charge_point_id:
        return None
    password = credentials[1]
    attempt = guard.attempt(charge_point_id, client_host)
    async with uows() as uow:
        station = await uow.stations.get_by_charge_point_id(charge_point_id)
    usable = station if station is not None and _takes_passwords(station) else None
    if usable is not None and cache.known(usable, password):
        attempt.succeeded()
        return usable
    with attempt.verifying():
        verified = await hasher.verify(usable.password_hash if usable else None, password)
    if usable is None or not verified:
        attempt.failed()
        return None
    cache.remember(usable, password)
    attempt.succeeded()
    return usable


def _takes_passwords(station: Station) -> bool:
    return station.security_profile in (1, 2) and bool(station.password_hash)
