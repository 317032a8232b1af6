"""The statement of the sessions list (issue 17): built once per shape of filter, then only
bound.

A list request used to build its SELECT anew (a dozen SQLAlchemy constructs) and have
SQLAlchemy derive that new statement's cache key before finding the compiled SQL: a sixth of
the list's own work. Here each combination of filters present (at most 2^7 of them, counting
the cursor) is built once, with bound parameters for the values, limit and offset, and every
request of that shape runs the same statement object with its values.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Integer, Select, bindparam, select, tuple_

from chargeledger.adapters.db.tables import sessions
from chargeledger.domain.station_link import SessionCursor, SessionFilter


def search_values(criteria: SessionFilter, after: SessionCursor | None) -> dict[str, Any]:
    """The bound values of a search; its keys are the statement's shape."""
    values: dict[str, Any] = {}
    if after is not None:
        values["after_started_at"] = after.started_at
        values["after_id"] = after.id
    if criteria.station_id is not None:
        values["station_id"] = criteria.station_id
    if criteria.account_id is not None:
        values["account_id"] = criteria.account_id
    if criteria.status is not None:
        values["status"] = criteria.status.value
    if criteria.started_from is not None:
        values["started_from"] = criteria.started_from
    if criteria.started_before is not None:
        values["started_before"] = criteria.started_before
    if criteria.id_tag is not None:
        values["id_tag"] = criteria.id_tag
    return values


def _param(name: str, like: Any) -> Any:
    return bindparam(name, type_=like.type)


@functools.cache
def search_statement(shape: frozenset[str]) -> Select[Any]:
    """The sessions having the filters in ``shape`` (the keys of ``search_values``), newest
    first, the id breaking ties: the order of the indexes on (filter column, started_at, id)
    (migration 0025), so each filter reads its page from an index with no sort
    (``test_sessions_list`` checks the plans). After a keyset cursor the row comparison is
    exact; the plain bound on ``started_at`` in front of it is what both databases seek the
    index with."""
    c = sessions.c
    started_at, session_id = c.started_at, c.id
    query = select(sessions).order_by(started_at.desc(), session_id.desc())
    if "after_id" in shape:
        after_started = _param("after_started_at", started_at)
        query = query.where(
            started_at <= after_started,
            tuple_(started_at, session_id) < tuple_(after_started, _param("after_id", session_id)),
        )
    for name, column in (
        ("station_id", c.station_id),
        ("account_id", c.account_id),
        ("status", c.status),
        ("id_tag", c.id_tag),
    ):
        if name in shape:
            query = query.where(column == _param(name, column))
    if "started_from" in shape:
        query = query.where(started_at >= _param("started_from", started_at))
    if "started_before" in shape:
        query = query.where(started_at < _param("started_before", started_at))
    return query


@functools.cache
def search_page_statement(shape: frozenset[str]) -> Select[Any]:
    """``search_statement`` with the page's limit and offset bound too."""
    page_limit = bindparam("page_limit", type_=Integer)
    page_offset = bindparam("page_offset", type_=Integer)
    return search_statement(shape).limit(page_limit).offset(page_offset)


def search_query(criteria: SessionFilter, after: SessionCursor | None = None) -> Select[Any]:
    """The search as one statement with its values in it (what ``EXPLAIN`` is asked about)."""
    values = search_values(criteria, after)
    return search_statement(frozenset(values)).params(values)
