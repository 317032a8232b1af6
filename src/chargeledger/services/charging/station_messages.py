"""What the OCPP edge keeps of the messages themselves: the answers of CALLs, replayed to
their repetitions (DESIGN §2, exactly once), the frames it refused (nothing lost), and the
session a message names by its transaction id or its EVSE.

Handed the open unit of work of the CALL being applied (or one the edge opened for a
refused frame); the edge commits (DESIGN §3).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from chargeledger.domain.charging import Session
from chargeledger.domain.station_link import StoredReply
from chargeledger.services.ports import Clock, UnitOfWork

ReplyKey = tuple[str, int, str]  # where a CALL's answer is kept: charge point, boot, message id


async def stored_replies(uow: UnitOfWork, keys: Sequence[ReplyKey]) -> dict[ReplyKey, StoredReply]:
    """The answers given to a group of CALLs before, by (charge point id, boot epoch, message
    id), in one statement (``stations/group_commit.py``): a CALL found here gets its answer
    again and changes nothing."""
    return await uow.station_links.stored_replies(keys)


async def keep_replies(
    uow: UnitOfWork, clock: Clock, replies: Sequence[tuple[ReplyKey, StoredReply]]
) -> None:
    """Keep a group's answers with its effects, in one batch in the group's transaction, for
    a repetition of a CALL to get its answer again."""
    await uow.station_links.store_replies(replies, clock.now())


async def keep_refused_frame(
    uow: UnitOfWork, clock: Clock, charge_point_id: str, frame: str, code: str, description: str
) -> None:
    """A refused frame is kept with the error it was answered (DESIGN §2: nothing silent)."""
    await uow.station_links.reject_frame(charge_point_id, frame, code, description, clock.now())


async def session_of_transaction(
    uow: UnitOfWork, station_id: uuid.UUID, transaction_ref: str
) -> Session | None:
    """The session the station calls ``transaction_ref`` (1.6 transactionId, 2.0.1 id)."""
    return await uow.sessions.get_by_ref(station_id, transaction_ref)


async def open_session_on(uow: UnitOfWork, station_id: uuid.UUID, evse_id: int) -> Session | None:
    """The session open on an EVSE (1.6 connector), for messages that name no transaction."""
    return await uow.sessions.open_on_evse(station_id, evse_id)
