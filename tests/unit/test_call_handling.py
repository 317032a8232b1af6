"""The edge's CALL dispatch (``stations/call_handling.py``) converts payload keys exactly as the
``ocpp`` library does, each distinct key once."""

from __future__ import annotations

from typing import Any

from ocpp.charge_point import camel_to_snake_case

from chargeledger.stations.call_handling import snake_case, snake_key

PAYLOADS: list[Any] = [
    {
        "eventType": "Updated",
        "seqNo": 3,
        "transactionInfo": {"transactionId": "TX-1", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "idToken": {"idToken": "ABC", "type": "ISO14443"},
        "meterValue": [
            {
                "timestamp": "2026-12-06T10:00:00Z",
                "sampledValue": [{"value": 1.5, "measurand": "Energy.Active.Import.Register"}],
            }
        ],
    },
    {"chargePointVendor": "V", "chargePointModel": "M", "meterSerialNumber": "S"},
    {"ocppCSMSURL": "wss://x", "V2XChargingCtrlr": {"isV2GActive": True}, "customData": {}},
    {"HTTPSProxy": 1, "aB": [{"cD": [1, {"eF": None}]}], "": "empty key", "x": "y"},
    [],
    "text",
]


def test_payloads_are_converted_as_the_library_converts_them() -> None:
    for payload in PAYLOADS:
        assert snake_case(payload) == camel_to_snake_case(payload)


def test_a_key_is_converted_once() -> None:
    snake_key.cache_clear()
    snake_case(PAYLOADS[0])
    first = snake_key.cache_info().misses
    assert first == 15  # the distinct keys of that event
    snake_case(PAYLOADS[0])
    snake_case(PAYLOADS[0])
    assert snake_key.cache_info().misses == first
