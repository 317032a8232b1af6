"""SLA reminders of open cases, through the outbox (issue 15).

``serve`` runs :func:`remind_disputes` with its other jobs; each case gets its ``due_soon``
and its ``overdue`` reminder once (the notice key names the case and the kind, so a rerun,
another node or a replay announces nothing twice), and the case's history records it.
"""

from __future__ import annotations

from chargeledger.domain.disputes import DisputeEvent, EventKind, reminders_due
from chargeledger.services.disputes.case_ports import DisputeFilter
from chargeledger.services.notifications.outbox import announce
from chargeledger.services.payments.chargebacks import case_notice
from chargeledger.services.ports import Clock, UnitOfWork

PAGE = 500


async def remind_disputes(uow: UnitOfWork, clock: Clock, staff_email: str | None) -> int:
    """Announce every reminder due now; the number announced. The caller commits."""
    now = clock.now()
    sent = 0
    offset = 0
    while True:
        cases = await uow.disputes.search(DisputeFilter(open_only=True), PAGE, offset)
        for case in cases:
            for kind in reminders_due(case, now):
                notice = case_notice(f"dispute.{kind}", case, staff_email)
                if await announce(uow, clock, notice):
                    sent += 1
                    await uow.disputes.add_event(
                        DisputeEvent(
                            dispute_id=case.id,
                            kind=EventKind.REMINDER,
                            at=now,
                            by="system",
                            note=kind,
                            key=f"reminder:{kind}:{case.id}",
                        )
                    )
        if len(cases) < PAGE:
            return sent
        offset += PAGE
