"""Station authentication at the websocket upgrade: OCPP security profiles 1 and 2 (HTTP Basic,
OCPP 2.0.1 Part 2 §A00: user = charge point id, password = the station's passwordString).

A station password is a machine secret, checked with the keyed fast hash of the
``StationSecrets`` port (DESIGN §6) inline on the event loop: microseconds, so a reconnect
storm of thousands of stations after a restart costs nothing worth queueing. A station still
holding an older argon2 hash is checked once more in the hasher's own pool and, on success,
its hash is replaced by the new form: one compare-and-set write, so of concurrent logins one
replaces it and the others find it done.

The station is read with the handshakes that arrive within a few milliseconds, in one
read-only query (``station_reads``): a reconnect storm does not queue a transaction per station
behind the writer. Each read starts after its handshake arrived, so nothing stale is trusted.

Throttled per charge point and per client address (``CredentialGuard``): an address or
station that failed too often is refused before any database read or hash, so a storm of
wrong passwords from one source costs the others nothing. Only argon2 checks (older hashes)
take one of the address's concurrent-check slots: a check that does not wait holds none.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence

from chargeledger.domain.catalog import Station
from chargeledger.services.batching import Batcher
from chargeledger.services.ports import (
    PasswordHasher,
    StationSecrets,
    UnitOfWork,
    UnitOfWorkFactory,
)
from chargeledger.services.throttling import Attempt, CredentialGuard
from chargeledger.services.transactions import in_transaction

log = logging.getLogger("chargeledger.stations")
# How long the first handshake of a batch waits for others: short against a TLS and
# websocket handshake, long enough to gather a storm's handshakes.
STATION_READ_WINDOW_S = 0.002


async def authenticate_station(
    uows: UnitOfWorkFactory,
    station_secrets: StationSecrets,
    hasher: PasswordHasher,
    guard: CredentialGuard,
    charge_point_id: str,
    credentials: tuple[str, str] | None,
    client_host: str | None,
) -> Station | None:
    """The station, or None when the credentials are wrong (or the station unknown: the same
    work and answer, so ids cannot be probed). Raises ``too_many_attempts`` when this charge
    point or address failed too often, or checks too many older hashes at once.

    Credentials naming another station, or none at all, are refused without a check and
    without counting: no password was guessed.
    """
    if credentials is None or credentials[0] != charge_point_id:
        return None
    password = credentials[1]
    attempt = guard.attempt(charge_point_id, client_host)
    station = _taking_passwords(await station_reads(uows).submit(charge_point_id))
    stored = station.password_hash if station is not None else None
    if stored is None or station_secrets.is_current(stored):
        verified = station_secrets.verify(stored, password)
    else:
        verified = await _verify_older_hash(hasher, attempt, stored, password)
    if station is None or stored is None or not verified:
        attempt.failed()
        return None
    attempt.succeeded()
    if not station_secrets.is_current(stored):
        await _replace_older_hash(uows, station_secrets, station, stored, password)
    return station


def _taking_passwords(station: Station | None) -> Station | None:
    if station is None or station.security_profile not in (1, 2) or not station.password_hash:
        return None
    return station


_station_reads: weakref.WeakKeyDictionary[UnitOfWorkFactory, Batcher[str, Station | None]] = (
    weakref.WeakKeyDictionary()
)


def station_reads(uows: UnitOfWorkFactory) -> Batcher[str, Station | None]:
    """The handshakes' station reads of ``uows``' database, batched: the handshakes that
    arrive within a few milliseconds read their stations in one read-only query (a reconnect
    storm of 10,000 stations: some fifty reads instead of 10,000, none of them waiting for
    the writer). Each handshake's station is read after it arrived, so a password changed or
    a station removed a moment before is seen, as with a query of its own."""
    reads = _station_reads.get(uows)
    if reads is None:

        async def read(charge_point_ids: Sequence[str]) -> list[Station | None]:
            async with uows(read_only=True) as uow:
                found = await uow.stations.by_charge_point_ids(set(charge_point_ids))
            return [found.get(cpid) for cpid in charge_point_ids]

        reads = _station_reads[uows] = Batcher(read, window=STATION_READ_WINDOW_S)
    return reads


async def _verify_older_hash(
    hasher: PasswordHasher, attempt: Attempt, stored: str, password: str
) -> bool:
    """An argon2 hash from before the station scheme changed: checked in the hasher's pool,
    holding one of the address's concurrent-check slots meanwhile."""
    with attempt.verifying():
        return await hasher.verify(stored, password)


async def _replace_older_hash(
    uows: UnitOfWorkFactory,
    station_secrets: StationSecrets,
    station: Station,
    stored: str,
    password: str,
) -> None:
    """Replace a verified older hash by the station scheme's, in a transaction of its own. A
    failure here (a busy database) leaves the older hash, which still works: the next login
    tries again, so the station is never refused for it."""
    try:
        replaced = await in_transaction(
            uows, upgrade_station_hash, station, stored, station_secrets.hash(password)
        )
    except Exception:
        log.warning(
            "could not replace a station's older password hash; kept it",
            extra={"charge_point_id": station.charge_point_id},
            exc_info=True,
        )
        return
    if replaced:
        log.info(
            "replaced a station's argon2 password hash by the station scheme",
            extra={"charge_point_id": station.charge_point_id},
        )


async def upgrade_station_hash(uow: UnitOfWork, station: Station, old: str, new: str) -> bool:
    """Store ``new`` as the station's hash if it still has ``old`` (False: another login
    replaced it first, or the password was changed meanwhile; either way nothing is written)."""
    return await uow.stations.replace_password_hash(station.id, old, new)
