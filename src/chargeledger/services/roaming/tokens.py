"""A partner's tokens at our stations (OCPI 2.2.1 §12): pulled from the eMSP's tokens sender
interface (§12.2.1) into our token registry, under the partner's billing account.

That makes a roaming driver's card work like one of ours: the station's Authorize finds the
token, the session is the partner account's, and it is billed on the partner's periodic
invoice (postpaid, B2B) rather than to the driver. A token is active when the eMSP says it is
``valid``. Its ``whitelist`` (§12.4.6) says whether our registry may decide alone: ALWAYS and
ALLOWED yes; NEVER and ALLOWED_OFFLINE make the eMSP be asked at each use (real-time
authorisation, §12.2.1.2, ``realtime``), the latter falling back on the registry when the eMSP
cannot be reached (``IssuerCheck``). The eMSP's ``contract_id`` is kept for the CDRs'
``cdr_token`` (§10.4.5). A uid already used by another account is not taken over; it is
counted as a conflict for the operator to look at.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from chargeledger.domain.accounts import IssuerCheck, Token, TokenStatus, TokenType
from chargeledger.domain.roaming import (
    InterfaceRole,
    ModuleId,
    PartnerStatus,
    PartyRole,
    RoamingPartner,
)
from chargeledger.errors import ChargeledgerError, InvalidInputError, NotFoundError
from chargeledger.services.roaming.handshake import Handshake

log = logging.getLogger("chargeledger.roaming")
MAX_TOKEN_PAGES = 10_000
BATCH = 500
# §12.4.4 TokenType -> ours.
_TYPES = {
    "RFID": TokenType.RFID,
    "APP_USER": TokenType.APP,
    "AD_HOC_USER": TokenType.AD_HOC,
    "OTHER": TokenType.RFID,
}
# §12.4.6 WhitelistType -> whether the eMSP is asked at each use.
_WHITELISTS: dict[str, IssuerCheck | None] = {
    "ALWAYS": None,
    "ALLOWED": None,
    "ALLOWED_OFFLINE": IssuerCheck.PREFERRED,
    "NEVER": IssuerCheck.REQUIRED,
}


@dataclass(frozen=True, slots=True)
class TokenPull:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    invalid: int = 0


@dataclass(frozen=True, slots=True)
class PulledToken:
    uid: str
    type: TokenType
    status: TokenStatus
    label: str
    contract_id: str | None
    issuer_check: IssuerCheck | None


def read_token(doc: Any, partner: RoamingPartner) -> PulledToken:
    """One §12.3.2 Token object of ``partner``'s (a hub's may be any party's)."""
    if not isinstance(doc, Mapping):
        raise InvalidInputError("a token must be an object", field="token")
    uid = doc.get("uid")
    if not isinstance(uid, str) or not 0 < len(uid) <= 36:
        raise InvalidInputError("uid must be 1-36 characters", field="uid")
    party = (doc.get("country_code"), doc.get("party_id"))
    if partner.role is not PartyRole.HUB and party != (partner.country_code, partner.party_id):
        raise InvalidInputError(f"token {uid} is not {partner.party}'s", field="party_id")
    kind = _TYPES.get(str(doc.get("type")))
    if kind is None:
        raise InvalidInputError(f"token {uid}: unknown type {doc.get('type')!r}", field="type")
    whitelist = doc.get("whitelist")
    if whitelist not in _WHITELISTS:
        raise InvalidInputError(f"token {uid}: unknown whitelist {whitelist!r}", field="whitelist")
    contract = str(doc.get("contract_id") or "")[:36]
    return PulledToken(
        uid=uid.upper(),
        type=kind,
        status=TokenStatus.ACTIVE if doc.get("valid") is True else TokenStatus.BLOCKED,
        label=f"OCPI {partner.party} {contract}".strip()[:100],
        contract_id=contract or None,
        issuer_check=_WHITELISTS[str(whitelist)],
    )


async def pull_partner_tokens(hs: Handshake, partner_id: uuid.UUID) -> TokenPull:
    """Fetch all of the partner's tokens and bring our registry in line with them."""
    async with hs.uows() as uow:
        partner = await uow.roaming.get(partner_id)
    if partner is None:
        raise NotFoundError("no such roaming partner", code="roaming_partner_not_found")
    url = partner.endpoint(ModuleId.TOKENS, InterfaceRole.SENDER)
    if partner.status is not PartnerStatus.REGISTERED or partner.outgoing_token is None:
        raise InvalidInputError(f"{partner.party} is not registered", code="partner_not_registered")
    if partner.account_id is None:
        raise InvalidInputError(
            f"{partner.party} has no billing account for its drivers' sessions",
            code="partner_without_account",
        )
    if url is None:
        raise InvalidInputError(
            f"{partner.party} offers no tokens to pull", code="partner_without_tokens"
        )
    docs = await hs.peer.get_all(url, hs.box.open(partner.outgoing_token), MAX_TOKEN_PAGES)
    pulled: list[PulledToken] = []
    invalid = 0
    for doc in docs:
        try:
            pulled.append(read_token(doc, partner))
        except ChargeledgerError:
            invalid += 1
    counts = TokenPull(invalid=invalid)
    for start in range(0, len(pulled), BATCH):
        counts = await store_tokens(hs, partner.account_id, pulled[start : start + BATCH], counts)
    async with hs.uows() as uow:
        await uow.roaming.note_tokens_pulled(partner.id, hs.clock.now())
        await uow.commit()
    return counts


async def pull_due_tokens(hs: Handshake, every: timedelta) -> int:
    """The periodic pull (``CHARGELEDGER_OCPI_TOKEN_PULL_SECONDS``): each registered partner
    that offers its tokens and has a billing account, whose tokens were last pulled ``every``
    ago or never, is pulled again; how many were. A partner that fails is logged and tried
    again at the next run; the others go on."""
    async with hs.uows() as uow:
        due = await uow.roaming.tokens_due(hs.clock.now() - every)
    pulled = 0
    for partner in due:
        if (
            partner.account_id is None
            or partner.endpoint(ModuleId.TOKENS, InterfaceRole.SENDER) is None
        ):
            continue
        try:
            counts = await pull_partner_tokens(hs, partner.id)
        except ChargeledgerError as exc:
            log.warning("token pull failed", extra={"partner": partner.party, "code": exc.code})
            continue
        log.info(
            "pulled tokens",
            extra={"partner": partner.party, "added": counts.added, "changed": counts.changed},
        )
        pulled += 1
    return pulled


async def store_tokens(
    hs: Handshake, account_id: uuid.UUID, batch: list[PulledToken], counts: TokenPull
) -> TokenPull:
    """Bring ``batch`` into the registry under ``account_id``, in one transaction; ``counts``
    plus what it did."""
    now = hs.clock.now()
    added = changed = unchanged = conflicts = 0
    async with hs.uows() as uow:
        for item in batch:
            known = await uow.tokens.get_by_uid(item.uid)
            if known is None:
                token = Token(
                    uid=item.uid,
                    type=item.type,
                    account_id=account_id,
                    status=item.status,
                    label=item.label,
                    created_at=now,
                    updated_at=now,
                    contract_id=item.contract_id,
                    issuer_check=item.issuer_check,
                )
                await uow.tokens.add(token)
                added += 1
            elif known.account_id != account_id:
                conflicts += 1
            elif _pulled_fields(known) == _pulled_fields(item):
                unchanged += 1
            else:
                await uow.tokens.update(
                    replace(
                        known,
                        status=item.status,
                        type=item.type,
                        label=item.label,
                        contract_id=item.contract_id,
                        issuer_check=item.issuer_check,
                        updated_at=now,
                    )
                )
                changed += 1
        await uow.commit()
    hs.view.forget()
    return TokenPull(
        added=counts.added + added,
        changed=counts.changed + changed,
        unchanged=counts.unchanged + unchanged,
        conflicts=counts.conflicts + conflicts,
        invalid=counts.invalid,
    )


def _pulled_fields(token: Token | PulledToken) -> tuple[object, ...]:
    """What a pull brings of a token: a stored one whose fields are these is unchanged."""
    return (token.status, token.type, token.label, token.contract_id, token.issuer_check)
