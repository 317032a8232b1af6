"""Keys a station states in its configuration (``domain/configured_keys.py``, issue 15): which
meter each belongs to, what a read adds and retires; and how the OCPP edge reads them out of
a 1.6 GetConfiguration.conf and a 2.0.1 GetVariablesResponse (OCA application note "Signed
Meter Values in OCPP" §3.3.1 and §4.3.2)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

from chargeledger.domain.configured_keys import (
    ConfiguredKey,
    KeyReading,
    configuration_changes,
    configured_keys,
    configured_meter_key,
)
from chargeledger.domain.meter_keys import KeySource, MeterKey, new_meter_key
from chargeledger.sim.ocmf_meter import meter_identity, oca_public_key
from chargeledger.stations.meter_key_reading import (
    configuration_request,
    readings_from_configuration,
    readings_from_variables,
    variables_request,
)

STATION = uuid.UUID(int=7)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ONE, TWO, THREE = (meter_identity(1, name).public_key_hex for name in ("A", "B", "C"))


def oca(key: str) -> str:
    return oca_public_key(key)


def reading(evse: int | None, key: str, serial: str | None = None) -> KeyReading:
    return KeyReading(evse, oca(key), f"MeterPublicKey{evse or 0}", serial)


def stored(key: ConfiguredKey) -> MeterKey:
    return configured_meter_key(key, STATION, NOW)


def test_one_key_on_every_evse_is_one_meter_with_the_stations_serial() -> None:
    (found,) = configured_keys([reading(1, ONE), reading(2, ONE)], "EM-1")
    assert (found.public_key, found.curve, found.evse_ids) == (ONE, "secp256r1", (1, 2))
    assert (found.meter_serial, found.names) == ("EM-1", ("MeterPublicKey1", "MeterPublicKey2"))
    key = stored(found)
    assert (key.source, key.evse_id, key.meter_serial) == (KeySource.STATION_CONFIG, 1, "EM-1")
    assert key.note == "stated in the station's configuration (MeterPublicKey1, MeterPublicKey2)"
    assert key.source.reported  # the station's word: never trusted


def test_a_key_per_evse_is_filed_under_its_evse_unless_the_tier_names_its_meter() -> None:
    found = configured_keys([reading(1, ONE), reading(2, TWO, "EM-2")], "EM-MAIN")
    # The station's one serial cannot say which of two meters it is.
    assert [(k.public_key, k.evse_id, k.meter_serial) for k in found] == [
        (ONE, 1, None),
        (TWO, 2, "EM-2"),
    ]
    assert stored(found[0]).meter_serial is None


def test_unreadable_values_and_a_station_tier_key_without_a_meter_are_left_out() -> None:
    readings = [
        KeyReading(1, "TESTPUBLICKEY1", "MeterPublicKey1"),  # EVerest's test placeholder
        KeyReading(2, "", "MeterPublicKey2"),
        reading(None, TWO),  # the station tier: no EVSE, and no serial names its meter
        reading(3, THREE),
    ]
    assert [(k.public_key, k.evse_id) for k in configured_keys(readings, None)] == [(THREE, 3)]
    with_serial = configured_keys([reading(None, TWO)], "EM-0")
    assert [(k.evse_id, k.meter_serial) for k in with_serial] == [(None, "EM-0")]


def test_a_serial_the_registry_cannot_hold_costs_the_serial_not_the_key() -> None:
    (found,) = configured_keys([reading(1, ONE, "x" * 65)], "4111111111111111")
    assert (found.evse_id, found.meter_serial) == (1, None)


def test_the_same_key_again_changes_nothing_and_another_retires_it() -> None:
    first = [stored(k) for k in configured_keys([reading(1, ONE), reading(2, ONE)], "EM-1")]
    again = configuration_changes(
        configured_keys([reading(1, ONE), reading(2, ONE)], "EM-1"), first
    )
    assert (again.added, again.retired) == ((), ())
    swapped = configured_keys([reading(1, TWO), reading(2, TWO)], "EM-9")
    changes = configuration_changes(swapped, first)
    assert [k.public_key for k in changes.added] == [TWO]
    assert changes.retired == tuple(first)


def test_a_key_stated_elsewhere_or_not_at_all_stays() -> None:
    existing = [stored(k) for k in configured_keys([reading(1, ONE), reading(2, TWO)], None)]
    # EVSE 2 did not answer this time: its key is not withdrawn, EVSE 1's new key retires ONE.
    changes = configuration_changes(configured_keys([reading(1, THREE)], None), existing)
    assert [k.public_key for k in changes.added] == [THREE]
    assert [k.public_key for k in changes.retired] == [ONE]
    # A station that tells nothing has replaced nothing.
    assert configuration_changes([], existing) == configuration_changes([], [])


def test_a_key_already_known_from_elsewhere_adds_nothing() -> None:
    operators = new_meter_key(
        station_id=STATION,
        meter_serial="EM-1",
        public_key=ONE,
        source=KeySource.OPERATOR,
        valid_from=NOW,
        now=NOW,
    )
    retired_report = replace(stored(configured_keys([reading(1, TWO)], None)[0]), retired_at=NOW)
    changes = configuration_changes(
        configured_keys([reading(1, ONE), reading(2, TWO)], None), [operators, retired_report]
    )
    # The operator's key is in force; the retired report of TWO is history: TWO is new again.
    assert [k.public_key for k in changes.added] == [TWO]
    assert changes.retired == ()


def test_the_16_request_asks_both_spellings_and_reads_every_connector() -> None:
    request = configuration_request((1, 2))
    assert request.key == [
        "MeterPublicKey1",
        "MeterPublicKey[1]",
        "MeterPublicKey2",
        "MeterPublicKey[2]",
    ]
    answer = SimpleNamespace(
        configuration_key=[
            {"key": "MeterPublicKey1", "readonly": True, "value": oca(ONE)},
            {"key": "MeterPublicKey[2]", "readonly": True, "value": TWO},
            {"key": "MeterPublicKey0", "readonly": True, "value": THREE},
            {"key": "MeterPublicKey3", "readonly": True},  # no value
            {"key": "MeterPublicKeys", "readonly": True, "value": ONE},
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        ],
        unknown_key=["MeterPublicKey[1]", "MeterPublicKey2"],
    )
    assert readings_from_configuration(answer) == [
        KeyReading(1, oca(ONE), "MeterPublicKey1"),
        KeyReading(2, TWO, "MeterPublicKey[2]"),
        KeyReading(None, THREE, "MeterPublicKey0"),
    ]
    assert readings_from_configuration(SimpleNamespace(configuration_key=None)) == []


def test_the_201_request_asks_each_tier_for_key_and_serial() -> None:
    data = variables_request((1,)).get_variable_data
    assert data == [
        {"component": {"name": "FiscalMetering"}, "variable": {"name": "PublicKey"}},
        {
            "component": {"name": "FiscalMetering"},
            "variable": {"name": "SerialNumber", "instance": "Meter"},
        },
        {
            "component": {"name": "FiscalMetering", "evse": {"id": 1}},
            "variable": {"name": "PublicKey"},
        },
        {
            "component": {"name": "FiscalMetering", "evse": {"id": 1}},
            "variable": {"name": "SerialNumber", "instance": "Meter"},
        },
    ]

    def result(
        status: str, evse: int | None, name: str, value: str | None = None
    ) -> dict[str, object]:
        component: dict[str, object] = {"name": "FiscalMetering"}
        if evse is not None:
            component["evse"] = {"id": evse}
        variable = {"name": name} if name == "PublicKey" else {"name": name, "instance": "Meter"}
        found: dict[str, object] = {"attribute_status": status, "component": component}
        found["variable"] = variable
        if value is not None:
            found["attribute_value"] = value
        return found

    answer = SimpleNamespace(
        get_variable_result=[
            result("UnknownComponent", None, "PublicKey"),
            result("Accepted", 1, "PublicKey", oca(ONE)),
            result("Accepted", 1, "SerialNumber", "EM-1"),
            result("Accepted", 2, "PublicKey", base64.b64encode(bytes.fromhex(TWO)).decode()),
            result("Rejected", 2, "SerialNumber", "EM-2"),
            result("UnknownVariable", 3, "PublicKey"),
        ]
    )
    assert readings_from_variables(answer) == [
        KeyReading(1, oca(ONE), "FiscalMetering[EVSE 1].PublicKey", "EM-1"),
        KeyReading(
            2,
            base64.b64encode(bytes.fromhex(TWO)).decode(),
            "FiscalMetering[EVSE 2].PublicKey",
            None,
        ),
    ]
