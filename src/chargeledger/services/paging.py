"""One page of a listing, shared by every repository port (``ports.py``, ``payments/ports.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_offset`` is None on the last page."""

    items: Sequence[T]
    next_offset: int | None
