"""The simulator's stations send signed meter data (OCMF) over real OCPP 1.6 and 2.0.1 to the
real server, on SQLite and PostgreSQL (issue 15): every stopped session keeps its record, which
verifies with the key ``meter_identity`` derives from the seed and the charge point id and
proves the session's true energy; a ``tampered_meter`` session's record still parses, does
not verify, and its edited energy holds the session back as ``signed_energy_mismatch``."""

from __future__ import annotations

from decimal import Decimal

from chargeledger.adapters.meter_signatures import OcmfSignatureVerifier
from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import OcppVersion, PowerType
from chargeledger.domain.charging import QuarantineReason, ReadingContext, SessionStatus
from chargeledger.domain.meter_keys import KeySource
from chargeledger.domain.ocmf import SignatureVerdict, parse_ocmf
from chargeledger.domain.ocmf_carriers import unwrap
from chargeledger.domain.ocmf_energy import signed_energy
from chargeledger.sim import FaultKind, meter_identity
from chargeledger.sim.model import EvseSpec, SimulationOptions, StationSpec, TokenSpec
from chargeledger.sim.runner import run_simulation
from tests.integration.ocpp_server import STATION_PASSWORD, running_server, seed_network

SEED = 21
VERIFIER = OcmfSignatureVerifier()
# seed_network's stations: CP16-AC (OCPP 1.6, 22 kW AC) and CP201-DC (OCPP 2.0.1, 150 kW DC).
POWER = {"CP16-AC": (Decimal(22), PowerType.AC_3_PHASE), "CP201-DC": (Decimal(150), PowerType.DC)}


def spec(charge_point_id: str, version: str, evses: int) -> StationSpec:
    kw, power = POWER[charge_point_id]
    return StationSpec(
        charge_point_id,
        STATION_PASSWORD,
        OcppVersion(version),
        tuple(EvseSpec(evse_id, 1, kw, power) for evse_id in range(1, evses + 1)),
    )


async def test_simulated_stations_sign_what_the_server_keeps(runtime: Runtime) -> None:
    network = await seed_network(runtime)
    specs = [spec(cpid, station.ocpp_version, 2) for cpid, station in network.stations.items()]
    options = SimulationOptions(
        seed=SEED,
        duration_s=8,
        hours=8,
        sessions_per_evse=(2, 3),
        faults={FaultKind.TAMPERED_METER: 0.25, FaultKind.BAD_METER_SIGNATURE: 0.25},
    )
    async with running_server(runtime) as url:
        report = await run_simulation(url, specs, [TokenSpec("04AABBCCDD")], options)
    assert report.failures == {}
    assert report.sessions_failed == 0
    assert report.call_errors == 0

    seen: dict[tuple[str, bool], int] = {}
    async with runtime.uow() as uow:
        for truth in report.truth:
            station = network.stations[truth.charge_point_id]
            label = f"{truth.charge_point_id} {truth.transaction_ref}"
            assert truth.transaction_ref is not None, label
            session = await uow.sessions.get_by_ref(station.id, truth.transaction_ref)
            assert session is not None, label
            values = await uow.sessions.signed_values(session.id)
            assert [(v.format, v.context) for v in values] == [
                ("OCMF", ReadingContext.TRANSACTION_END)
            ], label
            carried = unwrap(values[0])
            record = parse_ocmf(carried.ocmf)
            identity = meter_identity(SEED, truth.charge_point_id)
            # 2.0.1 sends the key beside the record; 1.6's SignedData has no field for it.
            sent_key = identity.public_key_hex if truth.ocpp_version == "2.0.1" else None
            assert carried.public_key == sent_key, label
            assert record.meter_serial == identity.serial
            assert record.identification == truth.id_tag
            assert record.charge_point_id == f"{truth.charge_point_id}*{truth.evse_id}"
            check = VERIFIER.check(record, identity.public_key_hex)
            energy = signed_energy([record])
            assert energy.begin.value == Decimal(truth.meter_start_wh) / 1000, label
            tampered = FaultKind.TAMPERED_METER.value in truth.faults
            seen[(truth.ocpp_version, tampered)] = seen.get((truth.ocpp_version, tampered), 0) + 1
            if tampered:
                assert check.verdict is SignatureVerdict.INVALID_SIGNATURE, label
                assert energy.kwh > Decimal(truth.energy_wh) / 1000, label
                assert session.status is SessionStatus.QUARANTINED, label
                assert session.quarantine_reasons == (QuarantineReason.SIGNED_ENERGY_MISMATCH,)
                assert truth.expected == "quarantine:signed_energy_mismatch"
            elif FaultKind.BAD_METER_SIGNATURE.value in truth.faults:
                # Honest readings under a signature that is not the meter's: billed as usual,
                # only the verdict tells.
                assert check.verdict is SignatureVerdict.INVALID_SIGNATURE, label
                assert energy.kwh == Decimal(truth.energy_wh) / 1000, label
                assert session.status is SessionStatus.COMPLETED, (label, session.status)
            else:
                assert check.verdict is SignatureVerdict.VALID, (label, check.detail)
                assert energy.kwh == Decimal(truth.energy_wh) / 1000, label
                assert session.status is SessionStatus.COMPLETED, (label, session.status)
                assert session.energy_wh == Decimal(truth.energy_wh), label
        # The key a 2.0.1 station sends is noted once as its report, never as the operator's:
        # stated in its configuration at boot or sent with the signed data, whichever came first.
        reported = await uow.meter_keys.of_meter(
            network.stations["CP201-DC"].id, meter_identity(SEED, "CP201-DC").serial
        )
    assert [(k.public_key, k.source.reported) for k in reported] == [
        (meter_identity(SEED, "CP201-DC").public_key_hex, True)
    ]
    assert reported[0].source in (KeySource.STATION_CONFIG, KeySource.STATION)
    assert {version for version, tampered in seen if not tampered} == {"1.6", "2.0.1"}
    assert any(tampered for _, tampered in seen), seen
    assert any(FaultKind.BAD_METER_SIGNATURE.value in t.faults for t in report.truth)


async def test_stations_send_no_signed_data_when_it_is_switched_off(runtime: Runtime) -> None:
    network = await seed_network(runtime)
    specs = [spec(cpid, station.ocpp_version, 1) for cpid, station in network.stations.items()]
    options = SimulationOptions(
        seed=SEED, duration_s=4, hours=4, sessions_per_evse=(1, 1), signed_meter_data=False
    )
    async with running_server(runtime) as url:
        report = await run_simulation(url, specs, [TokenSpec("04AABBCCDD")], options)
    assert report.sessions_failed == 0
    assert {t.ocpp_version for t in report.truth} == {"1.6", "2.0.1"}
    async with runtime.uow() as uow:
        for truth in report.truth:
            assert truth.transaction_ref is not None
            station = network.stations[truth.charge_point_id]
            session = await uow.sessions.get_by_ref(station.id, truth.transaction_ref)
            assert session is not None
            assert session.status is SessionStatus.COMPLETED
            assert await uow.sessions.signed_values(session.id) == []
