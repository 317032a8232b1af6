"""Where chargeledger's accounts go in DATEV's standard charts SKR03 and SKR04.

A DATEV client keeps its books in one Standardkontenrahmen: SKR03 (process order) or SKR04
(balance-sheet order), with general-ledger accounts (Sachkonten) of ``account_length`` digits
(4 by default; with more digits DATEV's numbers are padded with zeros on the right, 8400 →
84000) and customer accounts (Debitoren) one digit longer, 10000-69999 with four.

The defaults below are the accounts DATEV's charts give these events (DATEV-Kontenrahmen
SKR03/SKR04, "Buchungsmuster"); a client's tax advisor may have set up others, so every
number can be replaced in an overrides file (``CHARGELEDGER_DATEV_ACCOUNTS_FILE``, JSON or
TOML, see :func:`load_chart`):

| ledger account | SKR03 | SKR04 | DATEV's name |
|---|---|---|---|
| Assets:Receivable:Unbilled:* | 1410 | 1210 | Forderungen aus L+L ohne Kontokorrent |
| Assets:PSP:* | 1360 | 1460 | Geldtransit |
| Assets:Bank | 1200 | 1800 | Bank |
| Liabilities:Wallets:* | 1700 | 3500 | Sonstige Verbindlichkeiten |
| Liabilities:VAT:DE | 1776 | 3806 | Umsatzsteuer 19 % |
| Expenses:PSPFees | 4970 | 6855 | Nebenkosten des Geldverkehrs |
| Expenses:BadDebt | 2400 | 6930 | Forderungsverluste (übliche Höhe) |
| Expenses:Chargebacks | 2400 | 6930 | the same: a chargeback lost is a receivable lost |
| Liabilities:Suspense:Bank | 1590 | 1370 | Durchlaufende Posten |
| Income:LatePayment:Fees, :Compensation | 2700 | 4830 | Sonstige Erträge (no VAT: damages) |
| Income:LatePayment:Interest | 2650 | 7100 | Sonstige Zinsen und ähnliche Erträge |
| Assets:Receivable:LatePayment:* | the customer's Debitor | | |
| Liabilities:CustomerCredit:* | the customer's Debitor (a credit balance on it) | | |
| Liabilities:Deferred:* | 1718 | 3272 | Erhaltene, versteuerte Anzahlungen 19 % USt (AM) |
| (allowance drawn, clearing) | 1593 | 1495 | Verrechnungskonto erhaltene Anzahlungen |
| Assets:VAT:Input:DE | 1576 | 1406 | Abziehbare Vorsteuer 19 % |
| Expenses:RevenueShare | 4760 | 6770 | Verkaufsprovisionen |
| Liabilities:Payable:P* | the partner's Kreditor | | |

Revenue is found by VAT treatment, not by account (``Income:Charging:*`` says only the
component): DE 19 % → 8400 / 4400 "Erlöse 19 % USt", DE 7 % → 8300 / 4300 "Erlöse 7 % USt",
reverse charge from a German site → 8336 / 4336 "Erlöse aus im anderen EU-Land
steuerpflichtigen sonstigen Leistungen, für die der Leistungsempfänger die Umsatzsteuer
schuldet". All three are automatic accounts (AM): DATEV computes the VAT from the gross amount
booked on them, so their rules carry no BU-Schlüssel; a BU-Schlüssel on them would count the
VAT twice and is refused. VAT of other countries has no default (DATEV has no tax key for a
foreign registration's VAT): an export meeting it names the treatment to map.

Customers: ``Assets:Receivable:C<id>`` is the customer's Debitor. Its number is the account's
``reference`` when that is a number in the Debitor range (the operator's customer number,
unique in chargeledger and never reused), else the one the overrides file's ``debtors`` gives
the account id, else the collective Debitor (``collective_debtor``, by default the first of
the range, DATEV's usual "Diverse Kunden"), which also takes ad hoc payers. A number derived
from the account id itself (a hash, an order of creation) would either collide or change when
accounts come and go; both choices here are stable because the operator makes them.

Partners (issue 14): ``Liabilities:Payable:P<id>``, what a site host's self-billed revenue
share left owed, is the partner's Kreditor (70000-99999 with four digits): the one the
overrides file's ``creditors`` gives the partner id, else the collective Kreditor
(``collective_creditor``, by default the first of the range). The share itself is a cost
measured by the sales at the host's site, so it goes to Verkaufsprovisionen (4760 / 6770; a
tax advisor who reads the agreement as a lease maps it to a rent account instead), its input
VAT straight to Abziehbare Vorsteuer 19 % (1576 / 1406), which is all the UStVA needs of it
(Kz 66 has no base amount).

A car maker's pre-paid allowance (issue 14, ``domain.contract_postings``) is a single-purpose
voucher taxed when sold (Directive 2006/112/EC art. 30b(1)): in DATEV a received, taxed
advance payment, booked gross on the automatic account 1718 / 3272 "Erhaltene, versteuerte
Anzahlungen 19 % USt", from which DATEV splits the VAT to 1776 / 3806 with its base in the
UStVA. A session's draw is booked as DATEV releases an advance: gross on both automatic
accounts through the clearing account 1593 / 1495 (one line each, as no line joins two
automatic accounts), so the revenue reaches 8400 / 4400 at its net and the VAT on the two
lines cancels: it was paid on the sale. Both need the advance's rate, which 1718 / 3272 fix
at 19 % in Germany (EV charging has no reduced rate): a sale with other VAT is refused.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from chargeledger.domain.billing import COMPONENTS, VatCategory
from chargeledger.domain.ledger import check_account_name
from chargeledger.errors import ConfigurationError, InvalidInputError

CHARTS = ("SKR03", "SKR04")
DEFAULT_ACCOUNT_LENGTH = 4
ACCOUNT_LENGTHS = range(4, 9)  # DATEV: Sachkontenlänge 4 to 8
_BU_KEY = re.compile(r"[0-9]{1,4}")
# The VAT of the automatic advance account "Liabilities:Deferred" maps to (see above).
ADVANCE_COUNTRY, ADVANCE_PERCENT = "DE", Decimal(19)
_ADVANCE_CLEARING = {"SKR03": 1593, "SKR04": 1495}

# Per chart, in DATEV's four-digit numbering.
_ACCOUNTS = {
    "SKR03": {
        "Assets:Receivable:Unbilled": 1410,
        "Assets:PSP": 1360,
        "Assets:Bank": 1200,
        "Liabilities:Wallets": 1700,
        "Liabilities:VAT:DE": 1776,
        "Expenses:PSPFees": 4970,
        "Expenses:BadDebt": 2400,
        "Expenses:Chargebacks": 2400,
        "Liabilities:Suspense:Bank": 1590,
        "Income:LatePayment": 2700,
        "Income:LatePayment:Interest": 2650,
        "Liabilities:Deferred": 1718,
        "Assets:VAT:Input:DE": 1576,
        "Expenses:RevenueShare": 4760,
    },
    "SKR04": {
        "Assets:Receivable:Unbilled": 1210,
        "Assets:PSP": 1460,
        "Assets:Bank": 1800,
        "Liabilities:Wallets": 3500,
        "Liabilities:VAT:DE": 3806,
        "Expenses:PSPFees": 6855,
        "Expenses:BadDebt": 6930,
        "Expenses:Chargebacks": 6930,
        "Liabilities:Suspense:Bank": 1370,
        "Income:LatePayment": 4830,
        "Income:LatePayment:Interest": 7100,
        "Liabilities:Deferred": 3272,
        "Assets:VAT:Input:DE": 1406,
        "Expenses:RevenueShare": 6770,
    },
}
_S, _AE = VatCategory.STANDARD.value, VatCategory.REVERSE_CHARGE.value
# (country of supply, category, rate) → automatic revenue account.
_REVENUE = {
    "SKR03": {("DE", _S, "19"): 8400, ("DE", _S, "7"): 8300, ("DE", _AE, "0"): 8336},
    "SKR04": {("DE", _S, "19"): 4400, ("DE", _S, "7"): 4300, ("DE", _AE, "0"): 4336},
}


@dataclass(frozen=True, slots=True)
class RevenueRule:
    """Where revenue of one VAT treatment goes, and how DATEV learns its VAT.

    - no ``bu_key``, no ``vat_account``: ``account`` is an automatic account (AM); the gross
      amount is booked on it and DATEV splits off the VAT;
    - ``bu_key``: a revenue account without automatic; the gross amount is booked on it with
      this BU-Schlüssel (e.g. 3 = Umsatzsteuer 19 %, 2 = 7 %), from which DATEV splits the VAT;
    - ``vat_account``: VAT DATEV has no key for (another country's); the net amount on
      ``account`` and the VAT as a line of its own on ``vat_account``.
    """

    account: int
    bu_key: str = ""
    vat_account: int | None = None


RevenueKey = tuple[str, str, Decimal, str | None]  # country, category, rate, component|None
NumberCheck = Callable[[object, str], int]
_RULE_KEYS = {"country", "category", "percent", "component", "account", "bu_key", "vat_account"}


@dataclass(frozen=True, slots=True)
class DatevChart:
    """A client's chart: ``accounts`` by ledger account or a parent of it (the longest wins),
    revenue ``rules`` by VAT treatment (and optionally component), explicit ``debtors`` by
    customer account id and the ``collective_debtor``, explicit ``creditors`` by partner id
    and the ``collective_creditor``, and the clearing account of advances drawn."""

    name: str
    account_length: int = DEFAULT_ACCOUNT_LENGTH
    accounts: Mapping[str, int] = field(default_factory=dict)
    rules: Mapping[RevenueKey, RevenueRule] = field(default_factory=dict)
    debtors: Mapping[uuid.UUID, int] = field(default_factory=dict)
    collective_debtor: int = 10000
    creditors: Mapping[uuid.UUID, int] = field(default_factory=dict)
    collective_creditor: int = 70000
    advance_clearing: int = 1593

    @property
    def code(self) -> str:
        """The header's Sachkontenrahmen field: ``03`` or ``04``."""
        return self.name[-2:]

    @property
    def debtor_numbers(self) -> range:
        """DATEV's Debitoren: 1… to 6… with one digit more than the Sachkonten."""
        unit = 10**self.account_length
        return range(unit, 7 * unit)

    @property
    def creditor_numbers(self) -> range:
        """DATEV's Kreditoren: 7… to 9… with one digit more than the Sachkonten."""
        unit = 10**self.account_length
        return range(7 * unit, 10 * unit)

    def creditor(self, partner_id: uuid.UUID) -> int:
        return self.creditors.get(partner_id, self.collective_creditor)

    def account(self, ledger_account: str) -> int | None:
        parts = ledger_account.split(":")
        for size in range(len(parts), 0, -1):
            found = self.accounts.get(":".join(parts[:size]))
            if found is not None:
                return found
        return None

    def revenue_rule(
        self, country: str, category: str, percent: Decimal, component: str
    ) -> RevenueRule | None:
        # Equal Decimals hash alike: 19, 19.0 and 19.00 find the same rule.
        return self.rules.get((country, category, percent, component)) or self.rules.get(
            (country, category, percent, None)
        )


class DatevBooks(Protocol):
    """Whose books a Buchungsstapel goes to (``config.DatevSettings``): the consultant's and
    client's numbers DATEV files it under (none: not configured), the month and day the
    client's fiscal year starts, and its chart."""

    @property
    def chart(self) -> DatevChart: ...

    @property
    def consultant(self) -> int | None: ...

    @property
    def client(self) -> int | None: ...

    @property
    def fiscal_year_start(self) -> tuple[int, int]: ...


def load_chart(
    name: str = "SKR03",
    account_length: int = DEFAULT_ACCOUNT_LENGTH,
    overrides: Path | None = None,
) -> DatevChart:
    """The standard chart ``name`` at ``account_length``, with the file's overrides.

    The file (``.json`` or ``.toml``) may hold ``accounts`` (ledger account or parent →
    Sachkonto), ``revenue`` (a list of rules: ``country``, ``category`` ``S`` or ``AE``,
    ``percent``, optional ``component``, ``account``, optional ``bu_key`` or
    ``vat_account``), ``debtors`` (customer account id → Debitor), ``collective_debtor``,
    ``creditors`` (partner id → Kreditor) and ``collective_creditor``.
    Anything else, or a number outside the client's ranges, is a ``ConfigurationError``
    (``invalid_setting``) naming the file.
    """
    chart = name.strip().upper()
    if chart not in CHARTS:
        raise _invalid(f"CHARGELEDGER_DATEV_CHART must be one of {', '.join(CHARTS)}")
    if account_length not in ACCOUNT_LENGTHS:
        raise _invalid("CHARGELEDGER_DATEV_ACCOUNT_LENGTH must be 4 to 8")
    scale = 10 ** (account_length - DEFAULT_ACCOUNT_LENGTH)
    defaults = DatevChart(
        name=chart,
        account_length=account_length,
        accounts={k: v * scale for k, v in _ACCOUNTS[chart].items()},
        rules={
            (country, category, Decimal(rate), None): RevenueRule(number * scale)
            for (country, category, rate), number in _REVENUE[chart].items()
        },
        collective_debtor=10**account_length,
        collective_creditor=7 * 10**account_length,
        advance_clearing=_ADVANCE_CLEARING[chart] * scale,
    )
    if overrides is None:
        return defaults
    try:
        return _overridden(defaults, _read(overrides))
    except KeyError as exc:
        raise _invalid(f"CHARGELEDGER_DATEV_ACCOUNTS_FILE {overrides}: {exc} is missing") from exc
    except (InvalidInputError, ValueError, TypeError, InvalidOperation) as exc:
        raise _invalid(f"CHARGELEDGER_DATEV_ACCOUNTS_FILE {overrides}: {exc}") from exc


def month_day(text: str) -> tuple[int, int]:
    """``MM-DD`` (e.g. ``04-01``), a day every year has."""
    try:
        month, day = (int(part) for part in text.strip().split("-"))
        date(2001, month, day)
    except ValueError as exc:
        raise _invalid(
            "CHARGELEDGER_DATEV_FISCAL_YEAR_START must be the first day as MM-DD, e.g. 01-01"
        ) from exc
    return month, day


def _read(path: Path) -> Mapping[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror})") from exc
    if path.suffix.lower() == ".toml":
        try:
            found: Any = tomllib.loads(raw.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"is not TOML ({exc})") from exc
    elif path.suffix.lower() == ".json":
        found = json.loads(raw)  # JSONDecodeError is a ValueError
    else:
        raise ValueError("must end in .json or .toml")
    if not isinstance(found, dict):
        raise ValueError("must hold a table (JSON object)")
    unknown = set(found) - {
        "accounts",
        "revenue",
        "debtors",
        "collective_debtor",
        "creditors",
        "collective_creditor",
    }
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    return found


def _overridden(defaults: DatevChart, found: Mapping[str, Any]) -> DatevChart:
    sachkonto = _number_check(range(1, 10**defaults.account_length), "a Sachkonto")
    debtor = _number_check(defaults.debtor_numbers, "a Debitor")
    accounts = dict(defaults.accounts)
    for ledger_account, number in dict(found.get("accounts", {})).items():
        check_account_name(ledger_account)
        accounts[ledger_account] = sachkonto(number, ledger_account)
    rules = dict(defaults.rules)
    automatic = {rule.account for rule in defaults.rules.values()}
    for raw in list(found.get("revenue", [])):
        key, rule = _rule(dict(raw), sachkonto)
        if rule.bu_key and rule.account in automatic:
            raise ValueError(f"{rule.account} is an automatic account: it takes no bu_key")
        rules[key] = rule
    debtors = {
        uuid.UUID(str(account_id)): debtor(number, f"debtor of {account_id}")
        for account_id, number in dict(found.get("debtors", {})).items()
    }
    collective = debtor(found.get("collective_debtor", defaults.collective_debtor), "collective")
    taken = [*debtors.values(), collective]
    if len(set(taken)) != len(taken):
        raise ValueError("two customers (or one and the collective Debitor) share a Debitor")
    creditor = _number_check(defaults.creditor_numbers, "a Kreditor")
    creditors = {
        uuid.UUID(str(partner_id)): creditor(number, f"creditor of {partner_id}")
        for partner_id, number in dict(found.get("creditors", {})).items()
    }
    return dataclasses.replace(
        defaults,
        accounts=accounts,
        rules=rules,
        debtors=debtors,
        collective_debtor=collective,
        creditors=creditors,
        collective_creditor=creditor(
            found.get("collective_creditor", defaults.collective_creditor), "collective"
        ),
    )


def _rule(raw: dict[str, Any], sachkonto: NumberCheck) -> tuple[RevenueKey, RevenueRule]:
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} in a revenue rule")
    category = VatCategory(str(raw.get("category", _S))).value
    percent = Decimal(str(raw.get("percent", "0")))
    component = raw.get("component")
    if component is not None and component not in COMPONENTS:
        raise ValueError(f"component {component!r} is not one of {', '.join(COMPONENTS)}")
    bu_key = str(raw.get("bu_key", ""))
    if bu_key and not _BU_KEY.fullmatch(bu_key):
        raise ValueError(f"bu_key {bu_key!r} is not a BU-Schlüssel (1 to 4 digits)")
    vat_account = raw.get("vat_account")
    if bu_key and vat_account is not None:
        raise ValueError("a revenue rule has a bu_key or a vat_account, not both")
    rule = RevenueRule(
        sachkonto(raw["account"], "revenue account"),
        bu_key,
        None if vat_account is None else sachkonto(vat_account, "vat_account"),
    )
    return (str(raw["country"]).upper(), category, percent, component), rule


def _number_check(allowed: range, what: str) -> NumberCheck:
    def check(value: object, where: str) -> int:
        if type(value) is not int or value not in allowed:
            raise ValueError(
                f"{where}: {value!r} is not {what} ({allowed.start} to {allowed.stop - 1})"
            )
        return value

    return check


def _invalid(message: str) -> ConfigurationError:
    return ConfigurationError(message, code="invalid_setting")
