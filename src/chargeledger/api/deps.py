"""Request-scoped dependencies: the runtime and one unit of work per request.

``UowDep`` is a write unit of work (it commits what the route did). ``ReadUowDep`` only reads
(issue 17): a route that changes nothing takes it, so on SQLite it neither waits for the writers
nor makes them wait (``adapters/db/unit_of_work.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from chargeledger.bootstrap import Runtime
from chargeledger.services.ports import UnitOfWork


async def get_runtime(request: Request) -> Runtime:
    """``async`` though it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, which cost every request that needs the runtime a few trips to a worker
    thread (issue 17)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """The runtime is read here rather than taken as a dependency: each dependency FastAPI
    solves costs several microseconds per request (issue 17)."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.uow() as uow:
        yield uow


async def get_read_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    runtime: Runtime = request.app.state.runtime
    async with runtime.uow(read_only=True) as uow:
        yield uow


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]
ReadUowDep = Annotated[UnitOfWork, Depends(get_read_uow)]
