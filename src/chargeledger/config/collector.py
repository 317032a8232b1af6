"""How often the cyclic garbage collector runs in a chargeledger process (issue 17).

CPython collects its youngest generation every 700 new container objects by default. Our hot
paths make many short-lived ones (rows, Decimals in tuples, OCPP payloads), so with the default
a batch of the invoice run or a message waiting for its group's commit outlives two collections
and is promoted to the oldest generation, whose growth then starts full passes over every live
object: in ``bench/billing_run.py`` a quarter of booking's CPU went to the collector, and in
``bench/ocpp_scale.py`` a reconnect storm of 2,000 stations started 13 full passes of 0.35-1.2 s
each. Collecting the young generation every 50,000 objects keeps what a batch holds young while
it is used; reference counting still frees everything without cycles at once, and memory stays
bounded (the bound is 50,000 objects, not a time).
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)  # young, middle, full (``gc.set_threshold``)


def collect_less_often() -> None:
    """Set :data:`THRESHOLDS` for this process: the server calls it once at start-up (after
    freezing the objects of its start), the command line before a command runs."""
    gc.set_threshold(*THRESHOLDS)
