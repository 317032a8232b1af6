"""The pure parts of the tamper-evident chain (issue 15): the canonical JSON the README
defines, content and chain hashes, the compiled record layouts (byte for byte the canonical
JSON), RFC 6962 Merkle roots and inclusion proofs against the reference implementation's
published vectors, and the sealing day."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargeledger.domain import audit_merkle
from chargeledger.domain.audit import (
    GENESIS,
    ChainHead,
    Checkpoint,
    RecordLayout,
    canonical_json,
    chain_hash,
    content_hash,
    decimal_text,
    instant_text,
    json_fragment,
    link,
    sealing_day,
)
from chargeledger.domain.audit_merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    proves_inclusion,
    root_from_proof,
)

# --- canonical JSON --------------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8() -> None:
    value = {"b": 1, "a": [True, None, 'Müller "Q"\n'], "A": {"z": 0, "y": -5}}
    assert canonical_json(value) == (
        '{"A":{"y":-5,"z":0},"a":[true,null,"Müller \\"Q\\"\\n"],"b":1}'.encode()
    )


def test_canonical_values() -> None:
    """Decimals as strings in their scale, instants in UTC with microseconds and Z, days,
    UUIDs lower-case; a negative zero is zero."""
    moment = datetime(2026, 1, 31, 23, 50, tzinfo=timezone(timedelta(hours=1)))
    ident = uuid.UUID("6D5EC626-3AED-43B2-9133-BB07FFB4A95C")
    assert canonical_json(
        {
            "amount": Decimal("12.5000"),
            "zero": Decimal("-0.00"),
            "at": moment,
            "day": date(2026, 1, 31),
            "id": ident,
        }
    ) == (
        b'{"amount":"12.5000","at":"2026-01-31T22:50:00.000000Z","day":"2026-01-31",'
        b'"id":"6d5ec626-3aed-43b2-9133-bb07ffb4a95c","zero":"0.00"}'
    )
    assert decimal_text(Decimal("12.5"), 4) == "12.5000"
    assert decimal_text(Decimal("-0.00001"), 4) == "0.0000"
    assert instant_text(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="naive"):
        instant_text(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": float("nan")})


def test_content_and_chain_hash_as_the_readme_defines_them() -> None:
    record = {"id": "e1", "amount": "1.00"}
    body = b'{"record":{"amount":"1.00","id":"e1"},"type":"payment_event"}'
    assert content_hash("payment_event", record) == hashlib.sha256(body).hexdigest()
    content = hashlib.sha256(body).hexdigest()
    expected = hashlib.sha256(bytes(32) + bytes.fromhex(content)).hexdigest()
    assert chain_hash(GENESIS, content) == expected


JOURNAL = RecordLayout(
    "journal_entry",
    ("id", "kind", "booked_on", "description", "source_type", "source_id", "created_at"),
    ("postings", ("line", "account", "currency", "amount_minor")),
)
PLAIN = RecordLayout("payment_event", ("id", "payment_id", "kind", "amount", "at", "detail"))
SCALARS = st.one_of(
    st.text(),  # every character: quotes, backslashes, controls, non-ASCII
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(),
    st.booleans(),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.lists(st.text(max_size=5), max_size=3),
)


Json = dict[str, object]


def _record(layout: RecordLayout, draw: st.DrawFn) -> tuple[Json, list[Json]]:
    fields = {name: draw(SCALARS) for name in layout.fields}
    items: list[Json] = []
    if layout.items is not None:
        for _ in range(draw(st.integers(min_value=0, max_value=4))):
            items.append({name: draw(SCALARS) for name in layout.items[1]})
    return fields, items


@st.composite
def records(draw: st.DrawFn, layout: RecordLayout) -> tuple[Json, list[Json]]:
    return _record(layout, draw)


def _rendered(layout: RecordLayout, fields: Json, items: list[Json]) -> bytes:
    fragments = [json_fragment(fields[name]) for name in layout.order]
    listed = [json_fragment(item[name]) for item in items for name in layout.item_order]
    return layout.render(fragments, listed)


@given(records(JOURNAL))
def test_a_compiled_layout_writes_the_canonical_json(record: tuple[Json, list[Json]]) -> None:
    fields, items = record
    expected = canonical_json({"type": "journal_entry", "record": {**fields, "postings": items}})
    assert _rendered(JOURNAL, fields, items) == expected
    assert (
        JOURNAL.digest(
            [json_fragment(fields[n]) for n in JOURNAL.order],
            [json_fragment(i[n]) for i in items for n in JOURNAL.item_order],
        )
        == hashlib.sha256(expected).hexdigest()
    )


@given(records(PLAIN))
def test_a_layout_without_items_writes_the_canonical_json(record: tuple[Json, list[Json]]) -> None:
    fields, _ = record
    expected = canonical_json({"type": "payment_event", "record": fields})
    assert _rendered(PLAIN, fields, []) == expected
    json.loads(expected)  # and it is JSON


def test_a_layout_names_each_field_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        RecordLayout("x", ("id", "id"))
    with pytest.raises(ValueError, match="twice"):
        RecordLayout("x", ("id", "lines"), ("lines", ("a",)))


def test_percent_signs_in_names_do_not_break_the_template() -> None:
    layout = RecordLayout("ty%pe", ("a%s", "b"))
    fields = {"a%s": "100%", "b": 1}
    assert _rendered(layout, fields, []) == canonical_json({"type": "ty%pe", "record": fields})


# --- linking and the sealing day ------------------------------------------------------------


def test_link_continues_the_chain_from_its_head() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    contents = [hashlib.sha256(bytes([i])).hexdigest() for i in range(3)]
    first = link(None, [("t", "a", contents[0])], at, at.date())
    assert (first[0].seq, first[0].prev_hash) == (1, GENESIS)
    head = ChainHead(first[0].seq, first[0].chain_hash, first[0].day)
    rest = link(head, [("t", "b", contents[1]), ("t", "c", contents[2])], at, at.date())
    assert [e.seq for e in rest] == [2, 3]
    assert rest[0].prev_hash == first[0].chain_hash
    assert rest[1].chain_hash == chain_hash(rest[0].chain_hash, contents[2])


def test_the_sealing_day_never_goes_back_nor_onto_a_closed_day() -> None:
    now = datetime(2026, 3, 1, 23, 59, tzinfo=timezone(timedelta(hours=-2)))  # 2 March UTC
    assert sealing_day(now, None, None) == date(2026, 3, 2)
    ahead = ChainHead(9, GENESIS, date(2026, 3, 5))  # another node's clock ran ahead
    assert sealing_day(now, ahead, None) == date(2026, 3, 5)
    assert sealing_day(now, None, date(2026, 3, 2)) == date(2026, 3, 3)


def test_a_checkpoint_signs_its_canonical_statement() -> None:
    checkpoint = Checkpoint(date(2026, 3, 1), 4, 9, 6, "ab" * 32, "cd" * 32, "sig")
    statement = json.loads(checkpoint.message())
    assert statement == {
        "type": "chargeledger.audit.checkpoint",
        "day": "2026-03-01",
        "first_seq": 4,
        "last_seq": 9,
        "count": 6,
        "merkle_root": "ab" * 32,
        "key_id": "cd" * 32,
    }
    assert canonical_json(statement) == checkpoint.message()


# --- Merkle trees (RFC 6962 §2.1) ------------------------------------------------------------

# The reference implementation's test leaves and tree heads (certificate-transparency,
# merkle_tree_test), as every independent implementation checks them.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = [  # (leaf index, tree size, audit path)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
]


def test_roots_match_the_reference_tree_heads() -> None:
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    for size in range(1, 9):
        assert merkle_root(LEAVES[:size]).hex() == ROOTS[size - 1], size


@pytest.mark.parametrize(("index", "size", "path"), PATHS, ids=["0of8", "5of8", "2of3"])
def test_inclusion_proofs_match_the_reference_paths(index: int, size: int, path: list[str]) -> None:
    assert [node.hex() for node in inclusion_proof(LEAVES[:size], index)] == path
    root = bytes.fromhex(ROOTS[size - 1])
    proof = [bytes.fromhex(node) for node in path]
    assert proves_inclusion(LEAVES[index], index, size, proof, root)


@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=40, unique=True), st.data())
def test_every_leaf_is_proven_and_nothing_else(leaves: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(leaves)
    accumulator = MerkleAccumulator()
    for leaf in leaves:
        accumulator.add(leaf)
    assert accumulator.root() == root
    assert accumulator.size == len(leaves)
    index = data.draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    proof = inclusion_proof(leaves, index)
    assert len(proof) <= max(len(leaves) - 1, 0).bit_length()
    assert proves_inclusion(leaves[index], index, len(leaves), proof, root)
    assert not proves_inclusion(leaves[index] + b"x", index, len(leaves), proof, root)
    if len(leaves) > 1:
        other = (index + 1) % len(leaves)
        assert root_from_proof(leaves[index], other, len(leaves), proof) != root
        assert not proves_inclusion(leaves[index], index, len(leaves), proof[:-1], root)
    assert root_from_proof(leaves[index], len(leaves), len(leaves), proof) is None


def _reference_root(hashes: list[bytes]) -> bytes:
    """RFC 6962 §2.1 as written: split at the largest power of two below the size."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(_reference_root(hashes[:k]), _reference_root(hashes[k:]))


def test_the_accumulator_across_its_buffer_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leaves are hashed a buffer at a time; every size around the boundaries of a small
    buffer gives the RFC's root."""
    monkeypatch.setattr(audit_merkle, "CHUNK", 4)
    for size in range(1, 70):
        leaves = [bytes([size, i]) for i in range(size)]
        accumulator = MerkleAccumulator()
        for leaf in leaves:
            accumulator.add(leaf)
        assert accumulator.root() == _reference_root([leaf_hash(x) for x in leaves]), size
