"""The OCPI 2.2.1 credentials handshake (§7.2), in both roles.

- **The partner registers with us** (``accept_registration``): it presents token A (from
  ``invite_partner``) and its credentials (its token B and versions URL). We fetch its
  versions and the 2.2.1 endpoints with B, keep B (sealed) to call it, and answer with our
  credentials carrying a new token C, the only token we accept from it from then on.
- **We register with the partner** (``register_with_partner``): we were given its token A and
  versions URL. Our new token B is accepted from the moment we send it (the partner fetches
  our versions with it while our POST is open); the partner's answer carries its token C,
  which we keep to call it.
- ``update_credentials`` (§7.2.2, PUT) swaps tokens again; ``unregister`` (§7.2.4, DELETE)
  voids both.

The calls to the partner are made outside any transaction; the rows are then written only if
they are still as read (``replace_if``), so two handshakes racing on one token end with one
registration and a ``partner_already_registered`` for the other.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from chargeledger.domain.roaming import (
    Credentials,
    CredentialsRole,
    Endpoint,
    PartnerStatus,
    PartyRole,
    RoamingPartner,
    endpoints_from_json,
    parse_credentials,
    version_url_from_json,
)
from chargeledger.errors import (
    AuthenticationError,
    ConflictError,
    DuplicateError,
    InvalidInputError,
    NotFoundError,
)
from chargeledger.services.ports import Clock, UnitOfWorkFactory
from chargeledger.services.roaming.ports import OcpiPeer, TokenBox
from chargeledger.services.roaming.station_view import RoamingView

TOKEN_BYTES = 32  # 256 bits: 43 characters of base64url, within OCPI's 64


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """How a token a partner presents is kept and looked up (module docstring)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OurParty:
    """Us in OCPI: a CPO with a party, a business name and the URL of our versions list."""

    country_code: str
    party_id: str
    name: str
    versions_url: str

    def credentials(self, token: str) -> Credentials:
        role = CredentialsRole(PartyRole.CPO, self.country_code, self.party_id, self.name)
        return Credentials(token=token, url=self.versions_url, roles=(role,))


@dataclass(frozen=True, slots=True)
class Handshake:
    """What every step of the handshake needs besides the request itself."""

    uows: UnitOfWorkFactory
    peer: OcpiPeer
    box: TokenBox
    clock: Clock
    # What the station path reads of roaming, kept per process (``station_view``).
    view: RoamingView = field(default_factory=RoamingView)


class AlreadyRegisteredError(ConflictError):
    """§7.2.1: a POST of credentials by a partner already registered is answered 405."""

    default_code = "partner_already_registered"
    http_status = 405


async def invite_partner(
    uows: UnitOfWorkFactory,
    clock: Clock,
    *,
    name: str,
    country_code: str,
    party_id: str,
    role: PartyRole = PartyRole.EMSP,
    account_id: uuid.UUID | None = None,
) -> tuple[RoamingPartner, str]:
    """A partner to be, with the token A it registers with (shown once, kept as a digest).

    ``account_id``: the (business) account its drivers' sessions are billed to, on the
    partner's periodic invoice. A party that left (unregistered) may be invited again; one
    registered or being registered may not (``duplicate``)."""
    token = new_token()
    now = clock.now()
    invited = RoamingPartner(
        name=name,
        country_code=country_code,
        party_id=party_id,
        role=role,
        incoming_digest=token_digest(token),
        account_id=account_id,
        created_at=now,
        updated_at=now,
    )
    async with uows() as uow:
        if account_id is not None and await uow.accounts.get(account_id) is None:
            raise NotFoundError(f"account {account_id} not found", code="account_not_found")
        known = await uow.roaming.by_party(invited.country_code, invited.party_id, invited.role)
        if known is None:
            await uow.roaming.add(invited)
        elif known.status in (PartnerStatus.INVITED, PartnerStatus.UNREGISTERED):
            invited = replace(invited, id=known.id, created_at=known.created_at)
            invited = replace(invited, account_id=account_id or known.account_id)
            if not await uow.roaming.replace_if(invited, known.status, known.incoming_digest):
                raise ConflictError("the partner changed meanwhile; try again")
        else:
            raise DuplicateError(
                f"{invited.party} is already a roaming partner ({known.status.value})",
                field="party_id",
            )
        await uow.commit()
    return invited, token


async def partner_of_token(uows: UnitOfWorkFactory, token: str) -> RoamingPartner | None:
    async with uows() as uow:
        return await uow.roaming.by_incoming_digest(token_digest(token))


async def accept_registration(
    hs: Handshake, ours: OurParty, presented: str, body: Any
) -> Credentials:
    """§7.2.1 with us as the server: ``presented`` must be a token A still unused."""
    theirs = parse_credentials(body)
    partner = await partner_of_token(hs.uows, presented)
    if partner is None or partner.status is PartnerStatus.UNREGISTERED:
        raise AuthenticationError("unknown token", code="unknown_ocpi_token")
    if partner.status is not PartnerStatus.INVITED:
        raise AlreadyRegisteredError(f"{partner.party} is already registered; use PUT")
    token_c = await _take_credentials(hs, partner, theirs, "the registration already happened")
    return ours.credentials(token_c)


async def update_credentials(
    hs: Handshake, ours: OurParty, presented: str, body: Any
) -> Credentials:
    """§7.2.2: a registered partner sends new credentials; both tokens are renewed."""
    partner = await _registered(hs.uows, presented)
    theirs = parse_credentials(body)
    token_c = await _take_credentials(hs, partner, theirs, "the credentials changed meanwhile")
    return ours.credentials(token_c)


async def _take_credentials(
    hs: Handshake, partner: RoamingPartner, theirs: Credentials, conflict: str
) -> str:
    """Keep the partner's credentials and endpoints (fetched with its token), with a new token
    of ours for it, written only if the partner is still as read; the new token."""
    _check_party(partner, theirs)
    endpoints = await _fetch_endpoints(hs.peer, theirs)
    token_c = new_token()
    registered = partner.registered(
        incoming_digest=token_digest(token_c),
        outgoing_token=hs.box.seal(theirs.token),
        versions_url=theirs.url,
        endpoints=endpoints,
        now=hs.clock.now(),
    )
    await _write(hs, registered, partner, conflict)
    return token_c


async def unregister(hs: Handshake, presented: str) -> RoamingPartner:
    """§7.2.4: the partner ends the roaming; neither token works afterwards."""
    partner = await _registered(hs.uows, presented)
    ended = partner.unregistered(hs.clock.now())
    await _write(hs, ended, partner, "the credentials changed meanwhile")
    return ended


async def register_with_partner(
    hs: Handshake,
    ours: OurParty,
    partner_id: Any,
    versions_url: str,
    token_a: str,
) -> RoamingPartner:
    """§7.2.1 with us as the client, for a partner added with ``invite_partner`` (whose own
    token A is then replaced by our token B)."""
    async with hs.uows() as uow:
        partner = await uow.roaming.get(partner_id)
    if partner is None:
        raise NotFoundError("no such roaming partner", code="roaming_partner_not_found")
    if partner.status is PartnerStatus.REGISTERED:
        raise AlreadyRegisteredError(f"{partner.party} is already registered")
    token_b = new_token()
    now = hs.clock.now()
    registering = replace(
        partner,
        status=PartnerStatus.REGISTERING,
        incoming_digest=token_digest(token_b),
        versions_url=versions_url,
        updated_at=now,
    )
    await _write(hs, registering, partner, "the partner changed meanwhile")
    try:
        probe = Credentials(token=token_a, url=versions_url, roles=())
        endpoints = await _fetch_endpoints(hs.peer, probe)
        credentials_url = next((e.url for e in endpoints if e.identifier == "credentials"), None)
        if credentials_url is None:
            raise InvalidInputError(
                "the partner offers no credentials endpoint", code="partner_without_credentials"
            )
        answer = await hs.peer.send(
            "POST", credentials_url, token_a, ours.credentials(token_b).as_json()
        )
        theirs = parse_credentials(answer)
        _check_party(registering, theirs)
    except Exception:
        await _write(hs, partner.unregistered(hs.clock.now()), registering, "changed meanwhile")
        raise
    registered = registering.registered(
        incoming_digest=token_digest(token_b),
        outgoing_token=hs.box.seal(theirs.token),
        versions_url=theirs.url,
        endpoints=endpoints,
        now=hs.clock.now(),
    )
    await _write(hs, registered, registering, "the partner changed meanwhile")
    return registered


async def _registered(uows: UnitOfWorkFactory, presented: str) -> RoamingPartner:
    partner = await partner_of_token(uows, presented)
    if partner is None:
        raise AuthenticationError("unknown token", code="unknown_ocpi_token")
    if partner.status is not PartnerStatus.REGISTERED:
        raise AlreadyRegisteredError(
            f"{partner.party} is not registered", code="partner_not_registered"
        )
    return partner


def _check_party(partner: RoamingPartner, theirs: Credentials) -> None:
    """The credentials must name the party that was invited (a hub names many: one of them)."""
    if not any(
        r.country_code == partner.country_code and r.party_id == partner.party_id
        for r in theirs.roles
    ):
        raise InvalidInputError(
            f"the credentials do not name the invited party {partner.party}",
            code="ocpi_party_mismatch",
            field="roles",
        )


async def _fetch_endpoints(peer: OcpiPeer, theirs: Credentials) -> tuple[Endpoint, ...]:
    """§7.2.1 steps 2-3: the partner's versions, then the 2.2.1 details, with its token."""
    details_url = version_url_from_json(await peer.get(theirs.url, theirs.token))
    return endpoints_from_json(await peer.get(details_url, theirs.token))


async def _write(
    hs: Handshake, partner: RoamingPartner, was: RoamingPartner, conflict: str
) -> None:
    async with hs.uows() as uow:
        if not await uow.roaming.replace_if(partner, was.status, was.incoming_digest):
            raise AlreadyRegisteredError(conflict)
        await uow.commit()
    hs.view.forget()
