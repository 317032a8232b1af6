"""Charge-point simulator: many stations as real OCPP 1.6J / 2.0.1 clients over real websockets.

Deterministic by seed, with compressed time, realistic power curves and faults on demand; it
writes the true energy of every session so tests and the demo can compare what the server
captured (issue 3). Every station's meter signs its transactions (OCMF, issue 15); its serial
and public key are ``meter_identity(seed, charge_point_id)``, and the station tells them when
the CSMS asks (``MeterKeyAnswer``). Library entry point:
``run_simulation``; command line: ``python -m chargeledger.sim run ...``.
"""

from chargeledger.sim.model import (
    EvseSpec,
    FaultKind,
    MeterKeyAnswer,
    SimulationOptions,
    SimulationReport,
    StationSpec,
    TokenSpec,
    TruthRecord,
    load_stations,
    load_tokens,
    parse_faults,
)
from chargeledger.sim.ocmf_meter import MeterIdentity, meter_identity
from chargeledger.sim.runner import make_plans, open_station, run_simulation, write_truth

__all__ = [
    "EvseSpec",
    "FaultKind",
    "MeterIdentity",
    "MeterKeyAnswer",
    "SimulationOptions",
    "SimulationReport",
    "StationSpec",
    "TokenSpec",
    "TruthRecord",
    "load_stations",
    "load_tokens",
    "make_plans",
    "meter_identity",
    "open_station",
    "parse_faults",
    "run_simulation",
    "write_truth",
]
