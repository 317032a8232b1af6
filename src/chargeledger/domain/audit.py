"""Tamper-evident records (issue 15; DESIGN §6: "money records are hash-chained"): the canonical
JSON of a record, its content hash and the link that chains it to its predecessor.

Every journal entry (with its postings), issued invoice, receipt or credit note (with its
lines), payment event and signed meter value is hashed over its canonical JSON (the README,
"Tamper-evident records", defines it; this module is that definition in code):

* a JSON object with its keys sorted by code point, no whitespace, UTF-8, strings escaped as
  ``json.dumps(..., ensure_ascii=False)`` escapes them (``"``, ``\\``, control characters);
* decimals as strings in the scale their column stores (``"12.5000"``), never floats;
* instants as ISO 8601 UTC with six fraction digits and ``Z`` (``2026-01-31T22:50:00.000000Z``),
  days as ``2026-01-31``, UUIDs lower-case with hyphens, integers as JSON integers, booleans as
  ``true``/``false``, missing values as ``null``.

The **content hash** of a record is SHA-256 over the canonical JSON of
``{"type": <record type>, "record": {<its fields>}}``; the **chain hash** of the entry at
position n is SHA-256 over the 32 bytes of the chain hash at n - 1 followed by the 32 bytes of
the entry's content hash (the first entry follows 32 zero bytes, :data:`GENESIS`). Hashes are
written as 64 lower-case hex digits.

A record's fields are its columns as stored, so the hash is of what the database holds; the
record layouts are fixed (a new field is a new record type, or every stored hash would change).
Hashing is on the path of every verification (``bench/audit.py``), so a record type's canonical
JSON is compiled once into a template (:class:`RecordLayout`) whose output is byte for byte the
output of :func:`canonical_json` (a property test holds the two equal).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from json.encoder import encode_basestring as _json_string
from typing import Any

GENESIS = "0" * 64  # the "previous chain hash" of the first entry: 32 zero bytes
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


class RecordType(StrEnum):
    """What is chained. The value is the ``type`` of the hashed object and the REST path."""

    JOURNAL_ENTRY = "journal_entry"
    INVOICE = "invoice"  # invoices, receipts, credit notes and self-billed invoices, once issued
    PAYMENT_EVENT = "payment_event"
    SIGNED_METER_VALUE = "signed_meter_value"


# --- canonical values ---------------------------------------------------------------------


def decimal_text(value: Decimal, scale: int) -> str:
    """``value`` at ``scale`` places, fixed-point (``Decimal("12.5")``, 4 → ``"12.5000"``);
    a negative zero is zero (PostgreSQL's NUMERIC keeps no sign on zero)."""
    quantized = value.quantize(Decimal(1).scaleb(-scale))
    if quantized.is_zero():
        quantized = abs(quantized)
    return format(quantized, "f")


def instant_text(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and ``Z``: one spelling per instant."""
    if value.tzinfo is None:
        raise ValueError("a naive datetime has no instant")
    moment = value.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _plain(value: Any) -> Any:
    """A Python value as the JSON value the canonical form writes for it."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return decimal_text(value, max(-int(value.as_tuple().exponent), 0))
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"no canonical JSON for {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """The canonical JSON of ``value`` as UTF-8 bytes (see the module's docstring).

    A lone surrogate (which no valid text holds) is kept as its UTF-8-style bytes instead of
    failing, so a damaged row is reported as changed rather than stopping the verification.
    """
    return _ENCODER.encode(_plain(value)).encode("utf-8", "surrogatepass")


def content_hash(record_type: str, record: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``{"type": record_type, "record": record}``."""
    body = canonical_json({"type": str(record_type), "record": record})
    return hashlib.sha256(body).hexdigest()


def chain_hash(previous: str, content: str) -> str:
    """SHA-256 of the previous entry's chain hash followed by this entry's content hash (both
    as their 32 raw bytes)."""
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(content)).hexdigest()


# --- the compiled form of one record type ---------------------------------------------------


def json_fragment(value: Any) -> str:
    """One canonical value (a string, integer, boolean, None, or a JSON structure) as the
    text the canonical JSON writes for it."""
    kind = type(value)
    if kind is str:
        text: str = _json_string(value)
        return text
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    return _ENCODER.encode(_plain(value))


def _literal(text: str) -> str:
    """``text`` as a constant part of a %-template."""
    return text.replace("%", "%%")


@dataclass(frozen=True, slots=True)
class RecordLayout:
    """The canonical JSON of one record type, compiled: ``fields`` are the record's own (the
    columns of its row), ``items`` names the list of child records (a journal entry's
    ``postings``, an invoice's ``lines``) and their fields.

    A record is rendered from the JSON text of each value (:func:`json_fragment`) in the
    canonical order of the keys (:attr:`order`, :attr:`item_order`), with one string format
    instead of a dict and a sorted ``json.dumps`` per record: verification rehashes every
    record (``bench/audit.py``). The bytes are those of :func:`canonical_json` of
    ``{"type": ..., "record": ...}`` (a property test holds the two equal).
    """

    record_type: str
    fields: tuple[str, ...]
    items: tuple[str, tuple[str, ...]] | None = None
    _before: str = field(init=False, repr=False, compare=False)
    _after: str = field(init=False, repr=False, compare=False)
    _split: int = field(init=False, repr=False, compare=False)
    _item: str = field(init=False, repr=False, compare=False)
    _lists: dict[int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        list_name = self.items[0] if self.items else None
        names = [*self.fields, *([list_name] if list_name else [])]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.record_type}: a field named twice")
        keys = sorted(names)
        split = keys.index(list_name) if list_name else len(keys)
        slots = [f"{_literal(_json_string(k))}:%s" for k in keys if k != list_name]
        before = '{"record":{' + ",".join(slots[:split])
        after = ",".join(slots[split:])
        if list_name:
            before += ("," if split else "") + _literal(_json_string(list_name)) + ":["
            after = "]" + ("," if after else "") + after
        after += '},"type":' + _literal(_json_string(self.record_type)) + "}"
        item = ""
        if self.items:
            parts = [f"{_literal(_json_string(k))}:%s" for k in sorted(self.items[1])]
            item = "{" + ",".join(parts) + "}"
        for name, value in (("_before", before), ("_after", after), ("_split", split)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_item", item)
        object.__setattr__(self, "_lists", {})

    @property
    def order(self) -> tuple[str, ...]:
        """The record's fields in canonical order: the order of its fragments."""
        return tuple(sorted(self.fields))

    @property
    def item_order(self) -> tuple[str, ...]:
        return tuple(sorted(self.items[1])) if self.items else ()

    def pieces(self) -> tuple[list[str], list[str], list[str]]:
        """The literal text around the slots of the template before the items (the first
        ``split`` fields), of one item, and after the items (the other fields): for writing
        the same bytes elsewhere (the database, ``adapters.db.audit_sql``). Each list is one
        longer than its slots."""

        def around(template: str) -> list[str]:
            if "%%" in template:  # a name with a % could not be split on its slots
                raise ValueError(f"{self.record_type}: a % in a field name")
            return template.split("%s")

        return around(self._before), around(self._item), around(self._after)

    @property
    def split(self) -> int:
        """How many of the fields (in :attr:`order`) come before the items."""
        return self._split

    def render(self, fragments: Sequence[str], items: Sequence[str] = ()) -> bytes:
        """The canonical JSON of one record from its fragments in :attr:`order` and its
        items' fragments, one item after another, each in :attr:`item_order`."""
        split = self._split
        text = self._before % tuple(fragments[:split])
        if self.items is not None and items:
            count = len(items) // len(self.items[1])
            template = self._lists.get(count)
            if template is None:
                template = self._lists[count] = ",".join([self._item] * count)
            text += template % tuple(items)
        text += self._after % tuple(fragments[split:])
        return text.encode("utf-8", "surrogatepass")

    def digest(self, fragments: Sequence[str], items: Sequence[str] = ()) -> str:
        """The content hash of one record (see :func:`content_hash`)."""
        return hashlib.sha256(self.render(fragments, items)).hexdigest()


# --- the chain ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedRecord:
    """A record written but not yet chained (``audit_pending``): its content hash was taken
    in the transaction that wrote it. ``content_hash`` is None only for records that existed
    before the chain did (the migration queued them; the sealer hashes them)."""

    id: int
    record_type: str
    record_id: str
    content_hash: str | None


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One position of the chain (``audit_chain``). ``day`` is the UTC day it was sealed on,
    the day whose checkpoint covers it."""

    seq: int
    record_type: str
    record_id: str
    content_hash: str
    prev_hash: str
    chain_hash: str
    recorded_at: datetime
    day: date


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    chain_hash: str
    day: date


def sealing_day(now: datetime, head: ChainHead | None, last_closed: date | None) -> date:
    """The day new entries are sealed on: today in UTC, but never before the chain's last day
    (days only move forward along the chain, so each day is one run of positions) nor on a
    day already closed (a node whose clock is behind must not add to a signed checkpoint)."""
    day = now.astimezone(UTC).date()
    if head is not None and head.day > day:
        day = head.day
    if last_closed is not None and last_closed >= day:
        day = last_closed + timedelta(days=1)
    return day


def link(
    head: ChainHead | None,
    records: Sequence[tuple[str, str, str]],
    recorded_at: datetime,
    day: date,
) -> list[ChainEntry]:
    """Chain ``records`` (record type, record id, content hash) after ``head``, in order."""
    seq, previous = (0, GENESIS) if head is None else (head.seq, head.chain_hash)
    entries = []
    for record_type, record_id, content in records:
        seq += 1
        linked = chain_hash(previous, content)
        entries.append(
            ChainEntry(seq, record_type, record_id, content, previous, linked, recorded_at, day)
        )
        previous = linked
    return entries


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A closed day: the Merkle root (RFC 6962) over the chain hashes of the day's entries,
    positions ``first_seq`` to ``last_seq`` (None for a day without entries), signed with the
    installation's Ed25519 key (``key_id``: SHA-256 of its raw public key, hex)."""

    day: date
    first_seq: int | None
    last_seq: int | None
    count: int
    merkle_root: str
    key_id: str
    signature: str = ""
    created_at: datetime | None = None

    def message(self) -> bytes:
        """What the signature signs: the canonical JSON of the checkpoint's statement."""
        return canonical_json(
            {
                "type": "chargeledger.audit.checkpoint",
                "day": self.day,
                "first_seq": self.first_seq,
                "last_seq": self.last_seq,
                "count": self.count,
                "merkle_root": self.merkle_root,
                "key_id": self.key_id,
            }
        )


@dataclass(frozen=True, slots=True)
class RecordSeal:
    """Where a record stands: its content hash always; its chain position once sealed; the
    day's checkpoint and the Merkle inclusion proof (sibling hashes from the leaf up, hex) once
    that day is closed. ``current_hash``: what its stored row hashes to now."""

    record_type: str
    record_id: str
    content_hash: str
    entry: ChainEntry | None = None
    checkpoint: Checkpoint | None = None
    leaf_index: int | None = None
    proof: tuple[str, ...] = ()
    current_hash: str | None = None
