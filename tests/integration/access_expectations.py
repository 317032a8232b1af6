"""Who may call what (DESIGN §6), written by hand for ``test_access_control``: the expected
principals of every route, the routes an allowed caller's request must succeed on, and the
denials the issues name. Written from DESIGN §6 and the issues' words, not from
``api/routers/access.py``, so that a wrong declaration is caught instead of mirrored.
"""

from __future__ import annotations

# --- who may do what: the hand-written expectation -----------------------------------------

ADMIN, FINANCE, OPERATOR = "admin", "finance", "operator"
FLEET_MANAGER, DRIVER = "fleet_manager", "driver"
KEY_RW, KEY_READ = "integration", "integration_read"  # API keys: every scope / catalog:read
PRINCIPALS = (ADMIN, FINANCE, OPERATOR, FLEET_MANAGER, DRIVER, KEY_RW, KEY_READ)
PEOPLE = frozenset({ADMIN, FINANCE, OPERATOR, FLEET_MANAGER, DRIVER})
READERS = PEOPLE | {KEY_RW, KEY_READ}  # the network and (scoped) customer data
NETWORK_WRITERS = frozenset({ADMIN, OPERATOR, KEY_RW})
ACCOUNT_WRITERS = frozenset({ADMIN, FINANCE, KEY_RW})
TOKEN_WRITERS = frozenset({ADMIN, FINANCE, OPERATOR, KEY_RW})
ADMIN_ONLY = frozenset({ADMIN})
SESSION_READERS = PEOPLE | {KEY_RW}  # account-bound people see their own sessions only
SESSION_REVIEWERS = frozenset({ADMIN, OPERATOR, FINANCE})
STATION_COMMANDERS = frozenset({ADMIN, OPERATOR, KEY_RW})
# Billing (issue 5): every person reads documents and statements (account-bound people their
# own account's only), finance runs invoicing, issues and credits and reads the ledger; keys
# need billing:read / billing:write, which KEY_READ (catalog:read only) does not hold.
BILLING_READERS = PEOPLE | {KEY_RW}
BILLING_WRITERS = frozenset({ADMIN, FINANCE, KEY_RW})
LEDGER_READERS = frozenset({ADMIN, FINANCE, KEY_RW})
# Prices (issue 11 item 8): every reader sees the tariffs (public prices); the people who run
# the network or its customers' money import and assign them; keys need catalog:write.
TARIFF_WRITERS = frozenset({ADMIN, OPERATOR, FINANCE, KEY_RW})

# Written from DESIGN §6, not from access.py: operators run the network, finance the customers,
# admins the identities; drivers and fleet managers read and may only block their own cards.
EXPECTED_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/me"): PEOPLE,
    ("POST", "/api/v1/me/password"): PEOPLE,
    ("GET", "/api/v1/users"): ADMIN_ONLY,
    ("POST", "/api/v1/users"): ADMIN_ONLY,
    ("PATCH", "/api/v1/users/{user_id}"): ADMIN_ONLY,
    ("GET", "/api/v1/api-keys"): ADMIN_ONLY,
    ("POST", "/api/v1/api-keys"): ADMIN_ONLY,
    ("DELETE", "/api/v1/api-keys/{key_id}"): ADMIN_ONLY,
    ("GET", "/api/v1/sites"): READERS,
    ("POST", "/api/v1/sites"): NETWORK_WRITERS,
    ("GET", "/api/v1/sites/{site_id}"): READERS,
    ("PATCH", "/api/v1/sites/{site_id}"): NETWORK_WRITERS,
    ("DELETE", "/api/v1/sites/{site_id}"): NETWORK_WRITERS,
    ("GET", "/api/v1/stations"): READERS,
    ("POST", "/api/v1/stations"): NETWORK_WRITERS,
    ("GET", "/api/v1/stations/{station_id}"): READERS,
    ("PATCH", "/api/v1/stations/{station_id}"): NETWORK_WRITERS,
    ("DELETE", "/api/v1/stations/{station_id}"): NETWORK_WRITERS,
    # Meter keys (issue 15): operators register a meter's key, finance reads them for disputes;
    # drivers and fleet managers do not see the network's key material.
    ("GET", "/api/v1/stations/{station_id}/meter-keys"): frozenset(
        {ADMIN, OPERATOR, FINANCE, KEY_RW, KEY_READ}
    ),
    ("POST", "/api/v1/stations/{station_id}/meter-keys"): NETWORK_WRITERS,
    # Confirming a key the station reported is registering it: the same people.
    ("POST", "/api/v1/stations/{station_id}/meter-keys/{meter_key_id}/confirm"): NETWORK_WRITERS,
    ("GET", "/api/v1/evses"): READERS,
    ("POST", "/api/v1/evses"): NETWORK_WRITERS,
    ("GET", "/api/v1/evses/{evse_id}"): READERS,
    ("PATCH", "/api/v1/evses/{evse_id}"): NETWORK_WRITERS,
    ("DELETE", "/api/v1/evses/{evse_id}"): NETWORK_WRITERS,
    ("GET", "/api/v1/accounts"): READERS,
    ("POST", "/api/v1/accounts"): ACCOUNT_WRITERS,
    ("GET", "/api/v1/accounts/{account_id}"): READERS,
    ("PATCH", "/api/v1/accounts/{account_id}"): ACCOUNT_WRITERS,
    ("DELETE", "/api/v1/accounts/{account_id}"): ACCOUNT_WRITERS,
    ("GET", "/api/v1/tokens"): READERS,
    ("POST", "/api/v1/tokens"): TOKEN_WRITERS,
    ("GET", "/api/v1/tokens/{token_id}"): READERS,
    ("PATCH", "/api/v1/tokens/{token_id}"): TOKEN_WRITERS | {FLEET_MANAGER, DRIVER},
    ("DELETE", "/api/v1/tokens/{token_id}"): TOKEN_WRITERS,
    ("GET", "/api/v1/sessions"): SESSION_READERS,
    ("GET", "/api/v1/sessions/live"): SESSION_READERS,
    ("GET", "/api/v1/sessions/{session_id}"): SESSION_READERS,
    ("POST", "/api/v1/sessions/{session_id}/release"): SESSION_REVIEWERS,
    ("GET", "/api/v1/stations/{station_id}/status"): SESSION_REVIEWERS | {KEY_RW},
    ("POST", "/api/v1/stations/{station_id}/commands"): STATION_COMMANDERS,
    ("GET", "/api/v1/stations/{station_id}/quote"): READERS,
    ("GET", "/api/v1/sessions/{session_id}/cost"): SESSION_READERS,
    ("GET", "/api/v1/sessions/{session_id}/cdr"): SESSION_READERS,
    ("GET", "/api/v1/tariffs"): READERS,
    ("POST", "/api/v1/tariffs"): TARIFF_WRITERS,
    ("GET", "/api/v1/tariffs/{tariff_id}"): READERS,
    ("POST", "/api/v1/tariffs/{tariff_id}/assignments"): TARIFF_WRITERS,
    ("GET", "/api/v1/tariffs/{tariff_id}/assignments"): READERS,
    ("GET", "/api/v1/tariffs/{tariff_id}/preview"): READERS,
}
BILLING_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/invoices"): BILLING_READERS,
    ("GET", "/api/v1/invoices/{invoice_id}"): BILLING_READERS,
    ("GET", "/api/v1/invoices/{invoice_id}/pdf"): BILLING_READERS,
    ("GET", "/api/v1/invoices/{invoice_id}/xml"): BILLING_READERS,
    ("POST", "/api/v1/invoices/{invoice_id}/issue"): BILLING_WRITERS,
    ("POST", "/api/v1/invoices/{invoice_id}/credit-notes"): BILLING_WRITERS,
    ("POST", "/api/v1/invoice-runs"): BILLING_WRITERS,
    ("GET", "/api/v1/ledger/trial-balance"): LEDGER_READERS,
    ("GET", "/api/v1/ledger/statement"): LEDGER_READERS,
    ("GET", "/api/v1/ledger/check"): LEDGER_READERS,
    ("GET", "/api/v1/accounts/{account_id}/statement"): BILLING_READERS,
}
EXPECTED_ACCESS |= BILLING_ACCESS
# Bank statements (issue 13): finance imports and decides; operators read the queue.
BANK_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/bank/statements"): BILLING_WRITERS,
    ("GET", "/api/v1/bank/entries"): LEDGER_READERS | {OPERATOR},
    ("POST", "/api/v1/bank/entries/{entry_id}/match"): BILLING_WRITERS,
    ("POST", "/api/v1/bank/entries/{entry_id}/credit"): BILLING_WRITERS,
    ("POST", "/api/v1/bank/entries/{entry_id}/ignore"): BILLING_WRITERS,
}
EXPECTED_ACCESS |= BANK_ACCESS
# PSP payouts and their reconciliation (issue 13): finance and operators read them.
PAYOUT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/payouts"): LEDGER_READERS | {OPERATOR},
    ("GET", "/api/v1/payouts/{payout_id}"): LEDGER_READERS | {OPERATOR},
}
EXPECTED_ACCESS |= PAYOUT_ACCESS
# The outbox (issue 13): its messages name customers and their addresses; finance reads the
# dead letters and sends them again, keys with billing:read / billing:write.
OUTBOX_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/outbox"): LEDGER_READERS,
    ("POST", "/api/v1/outbox/{message_id}/retry"): BILLING_WRITERS,
}
EXPECTED_ACCESS |= OUTBOX_ACCESS
# Dunning (issue 13): finance runs it and opens or closes disputes; every reader of an invoice
# reads its notices (account-bound people their own account's only).
DUNNING_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/dunning/runs"): BILLING_WRITERS,
    ("GET", "/api/v1/invoices/{invoice_id}/dunning"): BILLING_READERS,
    ("POST", "/api/v1/invoices/{invoice_id}/dispute"): BILLING_WRITERS,
    ("POST", "/api/v1/invoices/{invoice_id}/undispute"): BILLING_WRITERS,
    ("POST", "/api/v1/invoices/{invoice_id}/dunning/{level}/waive"): BILLING_WRITERS,
}
EXPECTED_ACCESS |= DUNNING_ACCESS
# Payments (issue 6): payments are billing documents (every person reads, account-bound people
# their own account's only; finance refunds). An account's cards, wallet, top-ups and invoice
# payments are managed by finance and by the account's own drivers and fleet managers, never
# by operators (they run stations, not customers' money); keys need billing:write.
PAYMENT_MANAGERS = frozenset({ADMIN, FINANCE, FLEET_MANAGER, DRIVER, KEY_RW})
PAYMENT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/payments"): BILLING_READERS,
    ("GET", "/api/v1/payments/{payment_id}"): BILLING_READERS,
    ("POST", "/api/v1/payments/{payment_id}/refunds"): BILLING_WRITERS,
    ("GET", "/api/v1/accounts/{account_id}/payment-methods"): PAYMENT_MANAGERS,
    ("POST", "/api/v1/accounts/{account_id}/payment-methods"): PAYMENT_MANAGERS,
    ("DELETE", "/api/v1/accounts/{account_id}/payment-methods/{card_id}"): PAYMENT_MANAGERS,
    ("GET", "/api/v1/accounts/{account_id}/wallet"): PAYMENT_MANAGERS,
    ("PUT", "/api/v1/accounts/{account_id}/wallet"): PAYMENT_MANAGERS,
    # The operator's floor is credit policy: finance sets it, a driver may only raise it
    # with their own minimum (issue 11 item 5).
    ("PUT", "/api/v1/accounts/{account_id}/wallet/floor"): BILLING_WRITERS,
    ("GET", "/api/v1/accounts/{account_id}/wallet/history"): PAYMENT_MANAGERS,
    ("POST", "/api/v1/accounts/{account_id}/wallet/top-ups"): PAYMENT_MANAGERS,
    ("POST", "/api/v1/invoices/{invoice_id}/payments"): PAYMENT_MANAGERS,
}
EXPECTED_ACCESS |= PAYMENT_ACCESS
# Re-pricing a charged session (issue 15) moves money like a refund: finance re-prices (keys
# with billing:write); finance and operators read the re-pricings (they name who made them).
REPRICING_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/sessions/{session_id}/reprice"): BILLING_WRITERS,
    ("GET", "/api/v1/sessions/{session_id}/repricings"): LEDGER_READERS | {OPERATOR},
}
EXPECTED_ACCESS |= REPRICING_ACCESS
# The walk sends these a request that a permitted caller must get answered with success.
BILLING_ROUTES = frozenset(BILLING_ACCESS)
PAYMENT_ROUTES = frozenset(PAYMENT_ACCESS)
MUST_SUCCEED = BILLING_ROUTES | PAYMENT_ROUTES
# Reports (issue 13): finance and operators read them (keys with billing:read); a fleet
# manager reads the aging of their own account only; drivers read their invoices instead.
REPORT_READERS = frozenset({ADMIN, FINANCE, OPERATOR, KEY_RW})
REPORT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/reports/aging"): REPORT_READERS | {FLEET_MANAGER},
    ("GET", "/api/v1/reports/revenue"): REPORT_READERS,
    ("GET", "/api/v1/reports/collections"): REPORT_READERS,
    ("GET", "/api/v1/reports/unbilled"): REPORT_READERS,
}
EXPECTED_ACCESS |= REPORT_ACCESS
MUST_SUCCEED |= frozenset(REPORT_ACCESS)

# Contracts (issue 14): finance (and admin) write them; operators read them (the network's
# site hosts and roaming partners are theirs to know); a fleet manager reads their own
# account's contracts only (others answer 404, like a contract that does not exist); drivers
# have no contract. Keys need billing:read / billing:write, which KEY_READ does not hold.
CONTRACT_READERS = frozenset({ADMIN, FINANCE, OPERATOR, FLEET_MANAGER, KEY_RW})
CONTRACT_WRITERS = BILLING_WRITERS
# Partners (site hosts, roaming partners: their addresses, VAT ids and IBANs) are the operator's
# business: finance and operators read them; a fleet manager is party to none of them (DESIGN
# §6: their own contract's accounts only).
PARTNER_READERS = frozenset({ADMIN, FINANCE, OPERATOR, KEY_RW})
CONTRACT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/partners"): CONTRACT_WRITERS,
    ("GET", "/api/v1/partners"): PARTNER_READERS,
    ("GET", "/api/v1/partners/{partner_id}"): PARTNER_READERS,
    ("POST", "/api/v1/contracts"): CONTRACT_WRITERS,
    ("GET", "/api/v1/contracts"): CONTRACT_READERS,
    ("GET", "/api/v1/contracts/{contract_id}"): CONTRACT_READERS,
    ("POST", "/api/v1/contracts/{contract_id}/sign"): CONTRACT_WRITERS,
    ("GET", "/api/v1/contracts/{contract_id}/versions"): CONTRACT_READERS,
    ("POST", "/api/v1/contracts/{contract_id}/versions"): CONTRACT_WRITERS,
    ("POST", "/api/v1/contracts/{contract_id}/terminate"): CONTRACT_WRITERS,
    ("POST", "/api/v1/contracts/{contract_id}/coverage"): CONTRACT_WRITERS,
    ("POST", "/api/v1/contracts/{contract_id}/documents"): CONTRACT_WRITERS,
    ("GET", "/api/v1/contracts/{contract_id}/documents"): CONTRACT_READERS,
    ("GET", "/api/v1/contracts/{contract_id}/documents/{document_id}"): CONTRACT_READERS,
    ("GET", "/api/v1/contracts/{contract_id}/milestones"): CONTRACT_READERS,
    ("POST", "/api/v1/contracts/{contract_id}/milestones"): CONTRACT_WRITERS,
    ("POST", "/api/v1/contracts/{contract_id}/allowance/invoice"): CONTRACT_WRITERS,
    ("GET", "/api/v1/contracts/{contract_id}/performance"): CONTRACT_READERS,
}
EXPECTED_ACCESS |= CONTRACT_ACCESS
CONTRACT_ROUTES = frozenset(CONTRACT_ACCESS)
MUST_SUCCEED |= CONTRACT_ROUTES

# Disputes (issue 15): every person opens and follows cases (account-bound people on their
# own account's sessions, invoices and payments only: others answer 404); operators and
# finance take a case up; finance resolves it, since a resolution moves money.
DISPUTE_PEOPLE = PEOPLE | {KEY_RW}
DISPUTE_REVIEWERS = frozenset({ADMIN, FINANCE, OPERATOR, KEY_RW})
DISPUTE_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/disputes"): DISPUTE_PEOPLE,
    ("GET", "/api/v1/disputes"): DISPUTE_PEOPLE,
    ("GET", "/api/v1/disputes/{dispute_id}"): DISPUTE_PEOPLE,
    ("POST", "/api/v1/disputes/{dispute_id}/notes"): DISPUTE_PEOPLE,
    ("GET", "/api/v1/disputes/{dispute_id}/attachments/{attachment_id}"): DISPUTE_PEOPLE,
    ("POST", "/api/v1/disputes/{dispute_id}/review"): DISPUTE_REVIEWERS,
    ("POST", "/api/v1/disputes/{dispute_id}/resolve"): BILLING_WRITERS,
    ("GET", "/api/v1/disputes/{dispute_id}/evidence.pdf"): DISPUTE_PEOPLE,
    ("GET", "/api/v1/disputes/{dispute_id}/evidence.zip"): DISPUTE_PEOPLE,
    ("POST", "/api/v1/disputes/{dispute_id}/evidence/submit"): BILLING_WRITERS,
}
EXPECTED_ACCESS |= DISPUTE_ACCESS
# The audit chain (issue 15): record hashes, chain positions, inclusion proofs and checkpoints
# are the books' own evidence: read by those who read the ledger (finance, keys with
# billing:read), never by operators, fleet managers or drivers.
AUDIT_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/audit/records/{record_type}/{record_id}"): LEDGER_READERS,
    ("GET", "/api/v1/audit/checkpoints"): LEDGER_READERS,
}
EXPECTED_ACCESS |= AUDIT_ACCESS
MUST_SUCCEED |= frozenset(AUDIT_ACCESS)
# The driver app's "locate" (issue 16): the network is public knowledge to every logged-in
# person, drivers first; keys with catalog:read.
LOCATE_ACCESS: dict[tuple[str, str], frozenset[str]] = {("GET", "/api/v1/locations"): READERS}
EXPECTED_ACCESS |= LOCATE_ACCESS
MUST_SUCCEED |= frozenset(LOCATE_ACCESS)
# The driver app's charging (issue 16): a driver or fleet manager starts with their own
# account's token and stops their own session (others' answer 404); operators command
# stations through ``/commands`` instead, and no API key drives a person's charge. The live
# cost is read like the session's cost.
CHARGERS = frozenset({ADMIN, DRIVER, FLEET_MANAGER})
CHARGE_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/stations/{station_id}/evses/{evse_id}/start"): CHARGERS,
    ("POST", "/api/v1/sessions/{session_id}/stop"): CHARGERS,
    ("GET", "/api/v1/sessions/{session_id}/live"): SESSION_READERS,
    # Reservations: a person's own, with their own token, like starting a charge.
    ("POST", "/api/v1/stations/{station_id}/evses/{evse_id}/reservations"): CHARGERS,
    ("GET", "/api/v1/reservations"): CHARGERS,
    ("GET", "/api/v1/reservations/{reservation_id}"): CHARGERS,
    ("POST", "/api/v1/reservations/{reservation_id}/cancel"): CHARGERS,
}
EXPECTED_ACCESS |= CHARGE_ACCESS

# The cases the issue names, spelled out once more on their own so that a careless edit of the
# table above cannot silently re-allow them.
MUST_BE_DENIED = [
    (FLEET_MANAGER, "GET", "/api/v1/partners"),
    (FLEET_MANAGER, "POST", "/api/v1/contracts/{contract_id}/allowance/invoice"),
    (DRIVER, "POST", "/api/v1/sites"),
    (DRIVER, "GET", "/api/v1/users"),
    (FLEET_MANAGER, "GET", "/api/v1/users"),
    (FINANCE, "POST", "/api/v1/stations"),
    (OPERATOR, "POST", "/api/v1/accounts"),
    (FLEET_MANAGER, "POST", "/api/v1/tokens"),
    (DRIVER, "POST", "/api/v1/tokens"),
    (DRIVER, "DELETE", "/api/v1/tokens/{token_id}"),
    (FINANCE, "POST", "/api/v1/users"),
    (OPERATOR, "POST", "/api/v1/api-keys"),
    (KEY_RW, "GET", "/api/v1/users"),
    (KEY_RW, "POST", "/api/v1/api-keys"),
    (OPERATOR, "POST", "/api/v1/invoice-runs"),
    (OPERATOR, "GET", "/api/v1/ledger/trial-balance"),
    (DRIVER, "POST", "/api/v1/invoices/{invoice_id}/credit-notes"),
    (DRIVER, "GET", "/api/v1/ledger/check"),
    (FLEET_MANAGER, "POST", "/api/v1/invoices/{invoice_id}/issue"),
    (KEY_READ, "GET", "/api/v1/invoices"),
    (DRIVER, "POST", "/api/v1/payments/{payment_id}/refunds"),
    (FLEET_MANAGER, "POST", "/api/v1/payments/{payment_id}/refunds"),
    (OPERATOR, "POST", "/api/v1/payments/{payment_id}/refunds"),
    (OPERATOR, "POST", "/api/v1/sessions/{session_id}/reprice"),
    (DRIVER, "POST", "/api/v1/sessions/{session_id}/reprice"),
    (FLEET_MANAGER, "POST", "/api/v1/sessions/{session_id}/reprice"),
    (KEY_READ, "POST", "/api/v1/sessions/{session_id}/reprice"),
    (DRIVER, "GET", "/api/v1/sessions/{session_id}/repricings"),
    (FLEET_MANAGER, "GET", "/api/v1/sessions/{session_id}/repricings"),
    (OPERATOR, "POST", "/api/v1/accounts/{account_id}/wallet/top-ups"),
    (OPERATOR, "GET", "/api/v1/accounts/{account_id}/payment-methods"),
    (KEY_READ, "GET", "/api/v1/payments"),
    (KEY_READ, "POST", "/api/v1/invoices/{invoice_id}/payments"),
    (DRIVER, "POST", "/api/v1/tariffs/{tariff_id}/assignments"),
    (FLEET_MANAGER, "POST", "/api/v1/tariffs"),
    (KEY_READ, "POST", "/api/v1/tariffs/{tariff_id}/assignments"),
    (DRIVER, "PUT", "/api/v1/accounts/{account_id}/wallet/floor"),
    (FLEET_MANAGER, "PUT", "/api/v1/accounts/{account_id}/wallet/floor"),
    (OPERATOR, "PUT", "/api/v1/accounts/{account_id}/wallet/floor"),
    (DRIVER, "GET", "/api/v1/reports/aging"),
    (KEY_READ, "GET", "/api/v1/reports/aging"),
    (DRIVER, "GET", "/api/v1/reports/revenue"),
    (FLEET_MANAGER, "GET", "/api/v1/reports/revenue"),
    (FLEET_MANAGER, "GET", "/api/v1/reports/collections"),
    (DRIVER, "GET", "/api/v1/reports/unbilled"),
    (OPERATOR, "GET", "/api/v1/outbox"),
    (DRIVER, "GET", "/api/v1/outbox"),
    (FLEET_MANAGER, "POST", "/api/v1/outbox/{message_id}/retry"),
    (OPERATOR, "POST", "/api/v1/dunning/runs"),
    (DRIVER, "POST", "/api/v1/invoices/{invoice_id}/dispute"),
    (FLEET_MANAGER, "POST", "/api/v1/invoices/{invoice_id}/undispute"),
    (FLEET_MANAGER, "POST", "/api/v1/invoices/{invoice_id}/dunning/{level}/waive"),
    # Disputes (issue 15): a customer never resolves their own case; operators take cases
    # up but move no money.
    (DRIVER, "POST", "/api/v1/disputes/{dispute_id}/resolve"),
    (FLEET_MANAGER, "POST", "/api/v1/disputes/{dispute_id}/review"),
    (OPERATOR, "POST", "/api/v1/disputes/{dispute_id}/resolve"),
    (KEY_READ, "GET", "/api/v1/disputes"),
    # Contracts (issue 14): drivers read none; operators and fleet managers change none.
    (DRIVER, "GET", "/api/v1/contracts"),
    (DRIVER, "GET", "/api/v1/contracts/{contract_id}"),
    (DRIVER, "GET", "/api/v1/contracts/{contract_id}/documents/{document_id}"),
    (DRIVER, "GET", "/api/v1/partners"),
    (KEY_READ, "GET", "/api/v1/contracts"),
    (KEY_READ, "GET", "/api/v1/partners/{partner_id}"),
    (OPERATOR, "POST", "/api/v1/contracts"),
    (OPERATOR, "POST", "/api/v1/partners"),
    (OPERATOR, "POST", "/api/v1/contracts/{contract_id}/sign"),
    (FLEET_MANAGER, "POST", "/api/v1/contracts/{contract_id}/sign"),
    (FLEET_MANAGER, "POST", "/api/v1/contracts/{contract_id}/versions"),
    (FLEET_MANAGER, "POST", "/api/v1/contracts/{contract_id}/terminate"),
    (FLEET_MANAGER, "POST", "/api/v1/contracts/{contract_id}/coverage"),
    (FLEET_MANAGER, "POST", "/api/v1/contracts/{contract_id}/documents"),
    (OPERATOR, "POST", "/api/v1/contracts/{contract_id}/documents"),
    (FLEET_MANAGER, "POST", "/api/v1/contracts/{contract_id}/milestones"),
    # The audit chain (issue 15): finance's evidence, not the network's or a customer's.
    (OPERATOR, "GET", "/api/v1/audit/records/{record_type}/{record_id}"),
    (DRIVER, "GET", "/api/v1/audit/records/{record_type}/{record_id}"),
    (FLEET_MANAGER, "GET", "/api/v1/audit/checkpoints"),
    (KEY_READ, "GET", "/api/v1/audit/checkpoints"),
    # The driver app (issue 16): a person's own charge, not the network's nor a key's.
    (OPERATOR, "POST", "/api/v1/stations/{station_id}/evses/{evse_id}/start"),
    (FINANCE, "POST", "/api/v1/sessions/{session_id}/stop"),
    (KEY_RW, "POST", "/api/v1/stations/{station_id}/evses/{evse_id}/start"),
    (KEY_RW, "POST", "/api/v1/sessions/{session_id}/stop"),
    (OPERATOR, "POST", "/api/v1/stations/{station_id}/evses/{evse_id}/reservations"),
    (KEY_RW, "POST", "/api/v1/stations/{station_id}/evses/{evse_id}/reservations"),
    (FINANCE, "POST", "/api/v1/reservations/{reservation_id}/cancel"),
]
