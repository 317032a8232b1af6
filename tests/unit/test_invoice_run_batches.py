"""An invoice run's transactions are sized by the charges waiting, not by accounts alone
(issue 17, ``invoicing.account_batches``)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from chargeledger.services.billing import invoicing


def accounts(count: int) -> list[Any]:
    return [SimpleNamespace(id=uuid.uuid4()) for _ in range(count)]


def sizes(found: list[Any], waiting: dict[uuid.UUID, int]) -> list[int]:
    return [len(chunk) for chunk in invoicing.account_batches(found, waiting)]


def test_batches_follow_the_charges_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invoicing, "ACCOUNTS_PER_TRANSACTION", 4)
    monkeypatch.setattr(invoicing, "CHARGES_PER_TRANSACTION", 100)
    found = accounts(10)
    waiting = {a.id: 10 for a in found}
    waiting[found[2].id] = 500  # a fleet: alone in its batch
    assert sizes(found, waiting) == [2, 1, 4, 3]
    assert sizes(found, {}) == [4, 4, 2]  # nothing waiting: by accounts
    batches = list(invoicing.account_batches(found, waiting))
    assert [a for chunk in batches for a in chunk] == found  # each once, in order
    assert sizes([], waiting) == []
