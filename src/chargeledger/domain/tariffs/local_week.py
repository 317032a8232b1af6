"""Where each period of a CDR starts in the location's local time, as the period walk
(:mod:`.walk`) reads it: a local datetime for the restrictions' guards, or the piece of a
time-of-use tariff's week table (:class:`~chargeledger.domain.tariffs.plan.WeekTable`) that
holds the start's place in its local week.

UTC offsets are kept per zone and UTC day: converting an instant costs as much as the rest of
a period's walk, and within a day of one offset (and the days after it with the same one)
every place follows from the first by adding the time since it.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chargeledger.domain.tariffs.cdr import ChargingPeriod
from chargeledger.domain.tariffs.plan import Picks, WeekTable

_LOCAL_SPAN = timedelta(hours=48)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_IN_WEEK = timedelta(days=3)  # 1970-01-01 was a Thursday
_WEEK = timedelta(weeks=1)
_NO_TIME = timedelta(0)
_DAY = timedelta(days=1)
_LAST_US_OF_DAY = timedelta(days=1, microseconds=-1)

# A UTC day with one offset throughout: its midnight as time since 1970, that midnight's place
# in the local week, and the end (since 1970) of the stretch with that offset
# (:func:`_steady_day`).
SteadyDay = tuple[timedelta, timedelta, timedelta]
_STEADY_DAYS: dict[str, dict[int, SteadyDay | None]] = {}
_ZONES: dict[str, ZoneInfo] = {}
_UNKNOWN: SteadyDay = (_NO_TIME, _NO_TIME, _NO_TIME)  # not in the table yet


def local_starts_of(periods: tuple[ChargingPeriod, ...], time_zone: str) -> list[datetime]:
    """Each period's start in the location's time zone. Within 48 hours and with the same UTC
    offset at both ends no transition lies between, so wall-clock arithmetic from the first
    start is exact; otherwise each start is converted."""
    zone = zone_named(time_zone)
    origin, last = periods[0].start_date_time, periods[-1].start_date_time
    local_origin = origin.astimezone(zone)
    if last - origin <= _LOCAL_SPAN and last.astimezone(zone).utcoffset() == (
        local_origin.utcoffset()
    ):
        return [local_origin + (p.start_date_time - origin) for p in periods]
    return [p.start_date_time.astimezone(zone) for p in periods]


def picks_in_week(
    periods: tuple[ChargingPeriod, ...], week: WeekTable, time_zone: str
) -> list[Picks]:
    """What the week table gives each period: the piece that holds the place of the period's
    start in its local week (Monday 00:00 is zero), the instant plus the zone's UTC offset at
    it, the local wall-clock time that :func:`local_starts_of` gives.

    While the zone keeps the first start's offset (:func:`_steady_day`), a place is the first
    one plus the time since the first start, all as timedeltas (no division per period); and
    a period that starts before the first piece ends, as most of a short session's do, takes
    that piece's picks after one comparison. Any other start is placed by binary search, or,
    past the steady offset, converted on its own (:func:`_picks_at`)."""
    starts, picks = week.starts, week.picks
    origin = periods[0].start_date_time
    since = origin - _EPOCH
    days = _STEADY_DAYS.get(time_zone)  # the table's answer without a call where it has one
    steady = days.get(since.days, _UNKNOWN) if days is not None else _UNKNOWN
    if steady is _UNKNOWN:
        steady = _steady_day(time_zone, since.days)
    if steady is None:
        return [_picks_at(p.start_date_time, week, time_zone) for p in periods]
    midnight, midnight_place, steady_end = steady
    base = midnight_place + (since - midnight)
    if base >= _WEEK:
        base -= _WEEK
    piece = bisect_right(starts, base) - 1
    until = (starts[piece + 1] if piece + 1 < len(starts) else _WEEK) - base
    steady_for = steady_end - since
    if until > steady_for:
        until = steady_for
    here = picks[piece]
    return [
        here
        if _NO_TIME <= (place := p.start_date_time - origin) < until
        else _picks_after(place, base, steady_for, p.start_date_time, week, time_zone)
        for p in periods
    ]


def _picks_after(
    place: timedelta,
    base: timedelta,
    steady_for: timedelta,
    instant: datetime,
    week: WeekTable,
    time_zone: str,
) -> Picks:
    """The picks of a start ``place`` after the first one (at ``base`` in the week), which
    holds the first one's offset for ``steady_for``; past that (or before the first start)
    the start is converted on its own."""
    if _NO_TIME <= place < steady_for:
        position = base + place
        if position >= _WEEK:
            position -= _WEEK
        return week.picks[bisect_right(week.starts, position) - 1]
    return _picks_at(instant, week, time_zone)


def _picks_at(instant: datetime, week: WeekTable, time_zone: str) -> Picks:
    """The picks of one start, converted to local time on its own."""
    offset = _offset(instant, zone_named(time_zone))
    position = (instant - _EPOCH + offset + _EPOCH_IN_WEEK) % _WEEK
    return week.picks[bisect_right(week.starts, position) - 1]


def _steady_day(time_zone: str, day: int) -> SteadyDay | None:
    """UTC day ``day`` (days since 1970) of a zone with one offset throughout: its midnight
    (UTC, as time since 1970), that midnight's place in the local week, and the end of the
    stretch that keeps its offset, looking two days ahead (a session the week table prices
    in one go lasts up to 48 hours). A day with the same offset at its first and last
    microsecond has that offset throughout (a zone changes at most once a day); one with a
    change answers None and its instants are converted one by one. A conversion costs as
    much as the rest of a period's walk; the table holds one entry per zone and day priced."""
    days = _STEADY_DAYS.get(time_zone)
    if days is None:
        days = _STEADY_DAYS.setdefault(time_zone, {})
    try:
        return days[day]
    except KeyError:
        zone = zone_named(time_zone)
        since = timedelta(days=day)
        offset = _day_offset(zone, since)
        steady = None
        if offset is not None:
            end = since + _DAY
            while end - since <= _LOCAL_SPAN and _day_offset(zone, end) == offset:
                end += _DAY
            steady = (since, (since + offset + _EPOCH_IN_WEEK) % _WEEK, end)
        days[day] = steady
        return steady


def _day_offset(zone: ZoneInfo, since: timedelta) -> timedelta | None:
    """The zone's offset throughout the UTC day that starts ``since`` 1970, or None where
    it changes within it."""
    midnight = _EPOCH + since
    first, last = _offset(midnight, zone), _offset(midnight + _LAST_US_OF_DAY, zone)
    return first if first == last else None


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always answers for an aware instant
    return offset


def zone_named(time_zone: str) -> ZoneInfo:
    """The zone of that name, made once per name (a ZoneInfo lookup is not free)."""
    zone = _ZONES.get(time_zone)
    if zone is None:
        zone = _ZONES.setdefault(time_zone, ZoneInfo(time_zone))
    return zone
