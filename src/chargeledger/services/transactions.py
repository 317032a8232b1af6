"""Running a use case in a transaction of its own: the one rule for who commits.

DESIGN §3: a function handed a unit of work never commits; only the code that opened it
does (as the handlers of *Architecture Patterns with Python*, ch. 6). Services take the open
``UnitOfWork`` and leave the commit to their caller; entry points (routers, CLI commands,
the OCPP edge, periodic jobs) run them through :func:`in_transaction`, which opens the unit
of work, runs the use case and commits what it did, or keeps nothing when it raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from chargeledger.services.ports import UnitOfWork, UnitOfWorkFactory

P = ParamSpec("P")
T = TypeVar("T")


async def in_transaction(
    uows: UnitOfWorkFactory,
    use_case: Callable[Concatenate[UnitOfWork, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Open a unit of work, run ``use_case`` in it and commit; its answer is returned."""
    async with uows() as uow:
        result = await use_case(uow, *args, **kwargs)
        await uow.commit()
    return result


async def reading(
    uows: UnitOfWorkFactory,
    query: Callable[Concatenate[UnitOfWork, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run a query in a unit of work of its own; nothing is written, nothing committed."""
    async with uows() as uow:
        return await query(uow, *args, **kwargs)
