"""The pure geometry of "locate" (issue 16): the position a driver gives, great-circle
distances against known figures, and bounding boxes that keep every site within the radius,
across the antimeridian and around the poles."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from chargeledger.domain.availability import Availability, connector_availability
from chargeledger.domain.geo_search import (
    Position,
    bounding_box,
    distance_km,
    parse_near,
    search_radius,
    shown_km,
)
from chargeledger.errors import InvalidInputError

D = Decimal


@pytest.mark.parametrize(
    ("a", "b", "expected", "tolerance"),
    [
        ((52.5200, 13.4050), (48.1351, 11.5820), 504.2, 1.0),  # Berlin - Munich
        ((51.5074, -0.1278), (48.8566, 2.3522), 343.6, 1.0),  # London - Paris
        ((40.7128, -74.0060), (51.5074, -0.1278), 5570.2, 5.0),  # New York - London
        ((0.0, 0.0), (0.0, 1.0), 111.195, 0.01),  # a degree of the equator
        ((0.0, 179.5), (0.0, -179.5), 111.195, 0.01),  # across the antimeridian
        ((89.5, 0.0), (89.5, 180.0), 111.195, 0.01),  # across the north pole
        ((52.52, 13.405), (52.52, 13.405), 0.0, 1e-9),
    ],
)
def test_distance_matches_known_figures(
    a: tuple[float, float], b: tuple[float, float], expected: float, tolerance: float
) -> None:
    assert distance_km(*a, *b) == pytest.approx(expected, abs=tolerance)
    assert distance_km(*b, *a) == pytest.approx(expected, abs=tolerance)


def test_a_distance_is_shown_in_km_with_two_decimals_half_up() -> None:
    assert shown_km(504.2449) == D("504.24")
    assert shown_km(1.005) == D("1.01")  # the shortest repr, not the binary 1.00499...
    assert shown_km(0.125) == D("0.13")
    assert shown_km(0.0) == D("0.00")


@pytest.mark.parametrize(
    ("text", "latitude", "longitude"),
    [("52.52,13.405", "52.52", "13.405"), (" -33.8688 , 151.2093 ", "-33.8688", "151.2093")],
)
def test_near_reads_latitude_then_longitude(text: str, latitude: str, longitude: str) -> None:
    assert parse_near(text) == Position(D(latitude), D(longitude))


@pytest.mark.parametrize(
    "text", ["", "52.52", "52.52,13.4,1", "91,0", "0,181", "abc,def", "NaN,0", "inf,0", "1e999,0"]
)
def test_a_bad_near_is_refused_with_a_stable_code(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_near(text)
    assert refused.value.code == "invalid_near"


@pytest.mark.parametrize("radius", ["0", "-1", "100.01", "NaN"])
def test_the_radius_is_bounded(radius: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        search_radius(D(radius))
    assert refused.value.code == "invalid_radius"


def _ring(centre: Position, radius_km: float) -> list[tuple[float, float]]:
    """Points at ``radius_km`` from ``centre`` in 72 directions (the destination formula)."""
    lat1, lon1 = math.radians(float(centre.latitude)), math.radians(float(centre.longitude))
    angular = radius_km / 6371.0088
    points = []
    for step in range(72):
        bearing = math.radians(step * 5)
        lat2 = math.asin(
            math.sin(lat1) * math.cos(angular)
            + math.cos(lat1) * math.sin(angular) * math.cos(bearing)
        )
        lon2 = lon1 + math.atan2(
            math.sin(bearing) * math.sin(angular) * math.cos(lat1),
            math.cos(angular) - math.sin(lat1) * math.sin(lat2),
        )
        lon = (math.degrees(lon2) + 540) % 360 - 180
        points.append((math.degrees(lat2), lon))
    return points


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        ("52.52", "13.405"),  # Berlin
        ("-16.5", "179.95"),  # Fiji, east of the antimeridian's edge
        ("65.0", "-179.9"),  # Chukotka, west of it
        ("89.9", "10"),  # a pole within the radius
        ("-89.95", "-120"),
        ("0", "0"),
    ],
)
def test_the_box_holds_every_point_of_the_circle(latitude: str, longitude: str) -> None:
    centre = Position(D(latitude), D(longitude))
    box = bounding_box(centre, D(50))
    for point in _ring(centre, 49.999):
        assert box.contains(*point), point
    assert box.contains(float(centre.latitude), float(centre.longitude))


def test_the_box_splits_at_the_antimeridian() -> None:
    box = bounding_box(Position(D("0"), D("179.9")), D(50))
    assert len(box.longitudes) == 2
    (west, east_edge), (west_edge, east) = box.longitudes
    assert east_edge == 180.0
    assert west_edge == -180.0
    assert 179.4 < west < 179.9
    assert -179.7 < east < -179.6
    assert not box.contains(0.0, 0.0)


def test_near_a_pole_the_box_takes_every_longitude() -> None:
    box = bounding_box(Position(D("89.8"), D("0")), D(50))
    assert box.longitudes == ((-180.0, 180.0),)
    assert box.north >= 90
    assert 89.3 < box.south < 89.4


def test_an_ordinary_box_is_tight() -> None:
    box = bounding_box(Position(D("52.52"), D("13.405")), D(10))
    ((west, east),) = box.longitudes
    assert box.north - box.south == pytest.approx(2 * 10 / 111.195, rel=1e-6)
    assert east - west == pytest.approx(
        2 * 10 / (111.195 * math.cos(math.radians(52.52))), rel=1e-3
    )


@pytest.mark.parametrize(
    ("online", "status", "station", "expected"),
    [
        (True, "Available", None, Availability.AVAILABLE),
        (True, "Occupied", None, Availability.CHARGING),
        (True, "Preparing", None, Availability.CHARGING),
        (True, "SuspendedEV", None, Availability.CHARGING),
        (True, "Reserved", None, Availability.RESERVED),
        (True, "Unavailable", None, Availability.INOPERATIVE),
        (True, "Faulted", None, Availability.OUTOFORDER),
        (True, None, None, Availability.UNKNOWN),
        (True, "Available", "Unavailable", Availability.INOPERATIVE),
        (True, "Available", "Faulted", Availability.OUTOFORDER),
        (True, "Available", "Available", Availability.AVAILABLE),
        (False, "Available", None, Availability.UNKNOWN),
    ],
)
def test_connector_availability(
    online: bool, status: str | None, station: str | None, expected: Availability
) -> None:
    assert connector_availability(online, status, station) is expected
