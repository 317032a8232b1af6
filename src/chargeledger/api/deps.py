"""Request-scoped dependencies: the runtime and one unit of work per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from chargeledger.bootstrap import Runtime
from chargeledger.services.ports import UnitOfWork


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_uow(runtime: Annotated[Runtime, Depends(get_runtime)]) -> AsyncIterator[UnitOfWork]:
    async with runtime.uow() as uow:
        yield uow


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]
