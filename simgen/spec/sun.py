"""Named sun positions: a sun elevation (and a compass side) instead of a clock time.

A clock time fixes the sun only together with a latitude and a date (:func:`simgen.spec.resolve.sun_position`);
"dusk" at 48° N in June is 21:50, at the equator 18:25. Scenario catalogues mean the light, which the sun's
elevation fixes: a named position is defined by the elevation alone, at no latitude.

Elevations (degrees above the horizon; negative = below) and the side of the sky the sun is on:

============== ============ ========= ===================================================================
name           elevation    compass   meaning
============== ============ ========= ===================================================================
golden_hour    +4           west      low warm sun, long shadows (the golden hour spans about 0..+6)
civil_twilight −3           west      sun below the horizon, sky still bright (civil twilight: 0..−6)
dusk           −5           west      late evening civil twilight: lamps on, the sky's last light
dawn           −5           east      early morning civil twilight (dusk's mirror image)
============== ============ ========= ===================================================================

Night is a sun more than 6° below the horizon (:data:`simgen.spec.resolve.NIGHT_BELOW_DEG`), so none of these
is night; street lights and headlights default to on when a named sun is below the horizon.
"""

from __future__ import annotations

#: name -> (elevation deg, compass azimuth deg from north, clockwise)
NAMED_SUN: dict[str, tuple[float, float]] = {
    "golden_hour": (4.0, 270.0),
    "civil_twilight": (-3.0, 270.0),
    "dusk": (-5.0, 270.0),
    "dawn": (-5.0, 90.0),
}


def named_sun(name: str, road_heading_deg: float = 90.0) -> tuple[float, float]:
    """(elevation_deg, world azimuth_deg) of the named sun position.

    The world azimuth is measured from +y towards +x (0 = +y, 90 = +x); +x points to the compass direction
    ``road_heading_deg`` (90 = east), as in :func:`simgen.spec.resolve.sun_position`.
    """
    if name not in NAMED_SUN:
        raise ValueError(f"unknown sun position '{name}' (known: {', '.join(NAMED_SUN)})")
    el, compass = NAMED_SUN[name]
    return el, (compass - road_heading_deg + 90.0) % 360.0


def lights_on(name: str | None, elevation_deg: float, night: bool) -> bool:
    """Default for street lights and headlights: on at night, and for a named sun below the horizon."""
    return bool(night or (name is not None and elevation_deg < 0.0))


__all__ = ["NAMED_SUN", "named_sun", "lights_on"]
