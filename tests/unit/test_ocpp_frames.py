"""Reading OCPP-J frames (``stations/frames.py``): whatever the text, the reader either
returns a message or raises ``FrameRefusedError`` naming what to answer, never anything else;
and every error code goes out in the spelling of the station's protocol version."""

from __future__ import annotations

import json

import pytest
from ocpp import exceptions
from ocpp.messages import Call, CallError, CallResult

from chargeledger.stations.frames import (
    CODES_16,
    CODES_201,
    FrameRefusedError,
    check_size,
    parse,
    peek,
    spelled,
    too_deep,
)

LIBRARY_CODES = {
    error.code for error in exceptions.OCPPError.__subclasses__() if hasattr(error, "code")
}


@pytest.mark.parametrize("code", sorted(LIBRARY_CODES | CODES_16 | CODES_201 | {"Bogus"}))
def test_every_code_is_spelled_in_the_station_version(code: str) -> None:
    """OCPP-J 1.6 §4.2.3 and 2.0.1 Part 4 §4.3 list different codes (and spell two of the
    shared ones differently): whatever code a refusal starts from, what goes out exists in
    the station's version; codes both versions share stay as they are."""
    assert spelled(code, "1.6") in CODES_16
    assert spelled(code, "2.0.1") in CODES_201
    if code in CODES_16 & CODES_201:
        assert spelled(code, "1.6") == spelled(code, "2.0.1") == code


def test_the_two_spellings_map_onto_each_other() -> None:
    assert spelled("FormatViolation", "1.6") == "FormationViolation"
    assert spelled("FormationViolation", "2.0.1") == "FormatViolation"
    assert spelled("OccurrenceConstraintViolation", "1.6") == "OccurenceConstraintViolation"
    assert spelled("OccurenceConstraintViolation", "2.0.1") == "OccurrenceConstraintViolation"
    assert spelled("RpcFrameworkError", "1.6") == "FormationViolation"
    assert spelled("Bogus", "2.0.1") == "GenericError"


@pytest.mark.parametrize(
    ("raw", "head"),
    [
        ('[2,"abc","Heartbeat",{}]', (2, "abc")),
        (' [ 3 , "x-1" , {}]', (3, "x-1")),
        ('[4,"e","GenericError","",{}]', (4, "e")),
        ("[[[[", None),
        ('[2, 42, "Heartbeat", {}]', None),
        ('[2,"' + "i" * 37 + '","Heartbeat",{}]', None),  # longer than a message id may be
        ("", None),
    ],
)
def test_the_head_of_a_frame_is_read_without_parsing(
    raw: str, head: tuple[int, str] | None
) -> None:
    assert peek(raw) == head
    assert peek(raw + "[" * 100_000) == head


def test_parse_returns_the_library_messages_with_decimal_numbers() -> None:
    call = parse('[2,"m1","MeterValues",{"v":1.25}]')
    assert isinstance(call, Call)
    assert (call.unique_id, call.action, str(call.payload["v"])) == ("m1", "MeterValues", "1.25")
    result = parse('[3,"m2",{"status":"Accepted"}]')
    assert isinstance(result, CallResult)
    assert result.payload == {"status": "Accepted"}
    error = parse('[4,"m3","NotSupported","no",{}]')
    assert isinstance(error, CallError)
    assert error.error_code == "NotSupported"


HOSTILE = [
    "[" * 100_000,
    "{" * 100_000,
    '{"a":' * 100_000,
    '[2,"deep","Heartbeat",{"x":' + "[" * 100_000,
    '[3,"deep",{"x":' + "[" * 100_000,
    '[2,"deep","Heartbeat",{"x":' + "[" * 500 + "]" * 500 + "}]",
    "\x00",
    "",
    "null",
    "[]",
    "[2]",
    '[2,"id"]',
    '[3,"id"]',
    '[4,"id","code"]',
    '[9,"id","x",{}]',
    '[2,"id","Heartbeat",[]]',
    '[2,"","Heartbeat",{}]',
    '[2,null,"Heartbeat",{}]',
    '[3,{"a":1},{}]',
    "[NaN]",
]


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_refused_and_nothing_else_escapes(raw: str) -> None:
    with pytest.raises(FrameRefusedError) as refused:
        parse(raw)
    assert refused.value.code in CODES_201
    assert isinstance(refused.value.message_id, str)
    assert 0 < len(refused.value.message_id) <= 36


def test_a_refused_answer_says_so_and_keeps_its_message_id() -> None:
    with pytest.raises(FrameRefusedError) as refused:
        parse('[3,"cmd-7",{"status":' + "[" * 100_000)
    assert (refused.value.answer, refused.value.message_id) == (True, "cmd-7")


def test_the_size_limit_counts_bytes_not_characters() -> None:
    limit = 4096
    ascii_frame = json.dumps([2, "a", "Heartbeat", {"pad": "x" * (limit - 40)}])
    check_size(ascii_frame, limit)  # under the limit: nothing happens
    euro_frame = json.dumps([2, "b", "Heartbeat", {"pad": "€" * 1400}], ensure_ascii=False)
    assert len(euro_frame) < limit < len(euro_frame.encode())
    with pytest.raises(FrameRefusedError) as refused:
        check_size(euro_frame, limit)
    assert (refused.value.code, refused.value.message_id) == ("FormatViolation", "b")
    with pytest.raises(FrameRefusedError) as anonymous:
        check_size(" " * (limit + 1), limit)
    assert (anonymous.value.code, anonymous.value.message_id) == ("RpcFrameworkError", "-1")


def test_nesting_depth_is_measured_without_recursion() -> None:
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    assert too_deep(value, 32)
    assert not too_deep([{"a": [{"b": [1, 2]}]}], 5)
    assert too_deep([{"a": [{"b": [1, 2]}]}], 4)
