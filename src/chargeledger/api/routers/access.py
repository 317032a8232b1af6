"""Who may call which catalog route (DESIGN §6). ``admin`` is implied everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from chargeledger.api.auth import allow
from chargeledger.domain.identity import Principal, Role, Scope

_EVERY_PERSON = (Role.FINANCE, Role.OPERATOR, Role.FLEET_MANAGER, Role.DRIVER)

# The physical network is public knowledge to every logged-in person (drivers find stations).
ReadNetwork = Annotated[Principal, Depends(allow(*_EVERY_PERSON, scope=Scope.CATALOG_READ))]
WriteNetwork = Annotated[Principal, Depends(allow(Role.OPERATOR, scope=Scope.CATALOG_WRITE))]
# Customer data: account-bound roles see only their own account (enforced in the services).
ReadCustomers = Annotated[Principal, Depends(allow(*_EVERY_PERSON, scope=Scope.CATALOG_READ))]
WriteAccounts = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.CATALOG_WRITE))]
WriteTokens = Annotated[
    Principal, Depends(allow(Role.FINANCE, Role.OPERATOR, scope=Scope.CATALOG_WRITE))
]
# A driver or fleet manager may block a lost card of their own account themselves.
BlockTokens = Annotated[
    Principal,
    Depends(
        allow(
            Role.FINANCE, Role.OPERATOR, Role.FLEET_MANAGER, Role.DRIVER, scope=Scope.CATALOG_WRITE
        )
    ),
]
# Prices: set by the people who run the network and those who run its customers' money.
WriteTariffs = Annotated[
    Principal, Depends(allow(Role.OPERATOR, Role.FINANCE, scope=Scope.CATALOG_WRITE))
]
AdminOnly = Annotated[Principal, Depends(allow())]
AnyPerson = Annotated[Principal, Depends(allow(*_EVERY_PERSON))]
# Sessions: account-bound roles see their own account's sessions (enforced in the services).
ReadSessions = Annotated[Principal, Depends(allow(*_EVERY_PERSON, scope=Scope.SESSIONS_READ))]
ReleaseSessions = Annotated[Principal, Depends(allow(Role.OPERATOR, Role.FINANCE))]
ReadStationStatus = Annotated[
    Principal, Depends(allow(Role.OPERATOR, Role.FINANCE, scope=Scope.SESSIONS_READ))
]
# Meter keys (issue 15): operators register them; finance reads them to answer disputes.
ReadMeterKeys = Annotated[
    Principal, Depends(allow(Role.OPERATOR, Role.FINANCE, scope=Scope.CATALOG_READ))
]
WriteMeterKeys = Annotated[Principal, Depends(allow(Role.OPERATOR, scope=Scope.CATALOG_WRITE))]
CommandStations = Annotated[Principal, Depends(allow(Role.OPERATOR, scope=Scope.STATIONS_COMMAND))]
# The driver app (issue 16): a person starts and stops their own charges with their own
# account's tokens (enforced in the service); operators use the station commands instead.
DriveCharges = Annotated[Principal, Depends(allow(Role.DRIVER, Role.FLEET_MANAGER))]
# Billing: finance runs invoicing and reads the ledger; account-bound people read their own
# account's documents and statement (enforced in the services).
ReadBilling = Annotated[Principal, Depends(allow(*_EVERY_PERSON, scope=Scope.BILLING_READ))]
WriteBilling = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_WRITE))]
ReadLedger = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_READ))]
# Re-pricing a charged session (issue 15) moves money like a refund: finance does it; finance
# and operators (who release quarantined sessions) read the re-pricings, which name who made
# them; a driver reads the credit notes and invoices they produced instead.
RepriceSessions = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_WRITE))]
ReadRepricings = Annotated[
    Principal, Depends(allow(Role.FINANCE, Role.OPERATOR, scope=Scope.BILLING_READ))
]
# Payments: drivers and fleet managers manage their own account's cards, wallet and invoice
# payments (enforced in the routes); finance refunds.
ManagePayments = Annotated[
    Principal,
    Depends(allow(Role.FINANCE, Role.FLEET_MANAGER, Role.DRIVER, scope=Scope.BILLING_WRITE)),
]
# Bank statements: finance imports, matches and books; operators read the queue.
ReadBank = Annotated[
    Principal, Depends(allow(Role.FINANCE, Role.OPERATOR, scope=Scope.BILLING_READ))
]
WriteBank = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_WRITE))]
# PSP payouts and their reconciliation: finance and operators read (booking is the PSP's).
ReadPayouts = ReadBank
# Reports (issue 13): finance and operators read them; a fleet manager reads the aging of their
# own account only (enforced in the service); drivers read their invoices instead.
ReadReports = Annotated[
    Principal, Depends(allow(Role.FINANCE, Role.OPERATOR, scope=Scope.BILLING_READ))
]
ReadAging = Annotated[
    Principal,
    Depends(allow(Role.FINANCE, Role.OPERATOR, Role.FLEET_MANAGER, scope=Scope.BILLING_READ)),
]
# The outbox (issue 13): its messages name customers and their addresses; finance reads the
# dead letters and sends them again.
ReadOutbox = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_READ))]
WriteOutbox = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_WRITE))]
# Contracts (issue 14): finance writes; operators read; a fleet manager reads the contracts
# of their own account (enforced in the services).
ReadContracts = Annotated[
    Principal,
    Depends(allow(Role.FINANCE, Role.OPERATOR, Role.FLEET_MANAGER, scope=Scope.BILLING_READ)),
]
WriteContracts = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_WRITE))]
# Partners (their addresses, VAT ids, IBANs) are the operator's business, not a fleet's.
ReadPartners = Annotated[
    Principal, Depends(allow(Role.FINANCE, Role.OPERATOR, scope=Scope.BILLING_READ))
]
# The audit chain (issue 15): record hashes, positions and proofs are the books' own evidence,
# read by those who read the ledger.
ReadAudit = ReadLedger

# Disputes (issue 15): every person opens and follows cases on what they may see (drivers and
# fleet managers their own account's, enforced in the services); operators and finance take
# them up; finance resolves, since a resolution moves money.
ReadDisputes = Annotated[Principal, Depends(allow(*_EVERY_PERSON, scope=Scope.BILLING_READ))]
OpenDisputes = Annotated[Principal, Depends(allow(*_EVERY_PERSON, scope=Scope.BILLING_WRITE))]
ReviewDisputes = Annotated[
    Principal, Depends(allow(Role.FINANCE, Role.OPERATOR, scope=Scope.BILLING_WRITE))
]
ResolveDisputes = Annotated[Principal, Depends(allow(Role.FINANCE, scope=Scope.BILLING_WRITE))]
