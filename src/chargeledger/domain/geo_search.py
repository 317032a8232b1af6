"""Finding sites near a position (issue 16, the driver app's "locate"): the position a driver
gives, the great-circle distance, and the latitude/longitude box that bounds a search radius.

The storage filters sites by the box first (an index on latitude and longitude can answer
it), then computes the exact distance for the few candidates. The box must never leave out a
site within the radius, so it widens to every longitude near a pole and splits in two where it
crosses the antimeridian (±180°): J. P. Matuschek, "Finding Points Within a Distance of a
Latitude/Longitude Using Bounding Coordinates" (2010), §3.3-3.5.

Distances are floats: they are geometry, not money (DESIGN §2 is about amounts); a distance
shown to a driver is rounded half-up to 10 m (``shown_km``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from chargeledger.domain.geo import coordinate
from chargeledger.errors import InvalidInputError

# IUGG mean Earth radius (R1 = (2a + b) / 3), the usual radius of the haversine formula.
EARTH_RADIUS_KM = 6371.0088
DEFAULT_RADIUS_KM = Decimal(10)
MAX_RADIUS_KM = Decimal(100)
DEFAULT_LOCATE_LIMIT = 20
MAX_LOCATE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Position:
    """A point in decimal degrees (WGS 84), checked like a site's coordinates."""

    latitude: Decimal
    longitude: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "latitude", coordinate(self.latitude, 90, "near"))
        object.__setattr__(self, "longitude", coordinate(self.longitude, 180, "near"))


def parse_near(text: str) -> Position:
    """``"52.52,13.405"`` (latitude first, as a phone's geolocation reads) to a position;
    anything else is refused with ``invalid_near``."""
    parts = text.split(",") if isinstance(text, str) else []
    try:
        if len(parts) != 2:
            raise ValueError
        latitude, longitude = (Decimal(p.strip()) for p in parts)
        return Position(latitude, longitude)
    except (ValueError, InvalidOperation, InvalidInputError):
        raise InvalidInputError(
            "near must be LAT,LON in decimal degrees (latitude -90..90, longitude -180..180)",
            code="invalid_near",
            field="near",
        ) from None


def search_radius(radius_km: Decimal) -> Decimal:
    """Above 0 and at most ``MAX_RADIUS_KM``: a driver looks around, not across a country;
    the bound also keeps the box small enough for the index to pay off."""
    if not radius_km.is_finite() or not 0 < radius_km <= MAX_RADIUS_KM:
        raise InvalidInputError(
            f"radius_km must be above 0 and at most {MAX_RADIUS_KM}",
            code="invalid_radius",
            field="radius_km",
        )
    return radius_km


def distance_km(
    lat1: float | Decimal, lon1: float | Decimal, lat2: float | Decimal, lon2: float | Decimal
) -> float:
    """The great-circle distance by the haversine formula (well conditioned at short range,
    unlike the spherical law of cosines)."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    d_phi = phi2 - phi1
    d_lambda = math.radians(float(lon2) - float(lon1))
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def shown_km(distance: float) -> Decimal:
    """A distance as the driver reads it: km with 2 decimals, half-up."""
    return Decimal(repr(distance)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Latitude from ``south`` to ``north``; longitude within any of ``longitudes`` (one
    range, two where the box crosses the antimeridian, or all of -180..180 near a pole)."""

    south: float
    north: float
    longitudes: tuple[tuple[float, float], ...]

    def contains(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and any(
            west <= longitude <= east for west, east in self.longitudes
        )


def bounding_box(centre: Position, radius_km: Decimal) -> BoundingBox:
    """The smallest latitude/longitude box that holds every point within ``radius_km`` of
    ``centre`` (Matuschek §3.4), with a hair of margin so that rounding never drops a site the
    exact distance would keep."""
    angular = float(radius_km) / EARTH_RADIUS_KM
    lat = math.radians(float(centre.latitude))
    lon = math.radians(float(centre.longitude))
    south, north = lat - angular, lat + angular
    margin = 1e-9  # radians, ~6 mm
    if south <= -math.pi / 2 or north >= math.pi / 2:
        # A pole lies within the radius: every meridian passes through the circle.
        south, north = max(south, -math.pi / 2), min(north, math.pi / 2)
        return BoundingBox(
            math.degrees(south - margin), math.degrees(north + margin), ((-180.0, 180.0),)
        )
    d_lon = math.asin(math.sin(angular) / math.cos(lat))
    west, east = math.degrees(lon - d_lon - margin), math.degrees(lon + d_lon + margin)
    box_lat = (math.degrees(south - margin), math.degrees(north + margin))
    if west < -180:
        return BoundingBox(*box_lat, ((west + 360, 180.0), (-180.0, east)))
    if east > 180:
        return BoundingBox(*box_lat, ((west, 180.0), (-180.0, east - 360)))
    return BoundingBox(*box_lat, ((west, east),))
