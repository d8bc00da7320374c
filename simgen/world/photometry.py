"""Light levels of the artificial lights (street lights, lit rooms and shops, vehicle lamps) against the day.

Renderer units. Day: the sun lamp's ``sun_strength`` 3 W/m² stands for about 100,000 lx of sunlight, so one
renderer unit of irradiance is :data:`LUX_PER_UNIT` lux (1 lx = 3e-5 W/m²; luminance 1 cd/m² = 3e-5 renderer
radiance units). The physical sky is scaled to match (:data:`simgen.render.environment.PHYSICAL_SKY_SCALE`).

Night. A night street is about 5,000x darker than a sunlit one (10–30 lx on the road under LED street lights), and
cameras open up by about as much (the sensor model's auto exposure reaches ~12 EV above a sunny day). Night
scenes without a sensor model would need ~+12 EV of ``lighting.exposure``; instead every artificial light and
the night sky are given at the **night scale**: physical values times :data:`NIGHT_GAIN` (8 EV), so a night
scene renders well at ``exposure`` 0–1. Calibrated at that scale: lit rooms 0.4 (≈ 50 cd/m²), lit shops 2.5
(≈ 330 cd/m²), low-beam headlights 60 W (≈ 1,000 lm in a 50° cone), street lights :func:`street_light_w` (a
100 W LED lamp, 12,000 lm in a 120° cone: ≈ 80 lx straight below at 7 m, 10–30 lx between lamps).

Twilight. By day and at dusk the sky is physical (not gained), so the artificial lights are scaled by
:func:`artificial_light_scale`: 1 at night (sun below -6°), falling log-linearly to 1 / :data:`NIGHT_GAIN` (their
physical level) when the sun is at the horizon and above. A street light that just came on at dusk then adds a
faint pool to the twilight, as it does on a real street, instead of a pool as bright as day.
"""

from __future__ import annotations

import math

#: lux per renderer irradiance unit (sun_strength 3 W/m² ≈ 100,000 lx)
LUX_PER_UNIT = 100_000.0 / 3.0
#: artificial lights and the night sky are given at physical level times this (night scale; see module doc)
NIGHT_GAIN = 256.0
#: luminous efficacy of an LED street light (lm per electrical W)
LED_LM_PER_W = 120.0
#: the sun elevation (deg) below which it is night (simgen.spec.resolve.NIGHT_BELOW_DEG)
NIGHT_BELOW_DEG = -6.0


def spot_power_w(lumens: float, cone_rad: float) -> float:
    """Blender power (renderer W, physical level) of a spot light putting ``lumens`` evenly into a cone of full
    angle ``cone_rad``: Blender gives a spot the intensity of a point light of the same power, P / (4π) W/sr."""
    solid = 2.0 * math.pi * (1.0 - math.cos(cone_rad / 2.0))
    candela = lumens / solid
    return 4.0 * math.pi * candela / LUX_PER_UNIT


def street_light_w(electrical_w: float, cone_rad: float = math.radians(120.0)) -> float:
    """Spot power (renderer W, night scale) of an LED street light drawing ``electrical_w`` W."""
    return spot_power_w(electrical_w * LED_LM_PER_W, cone_rad) * NIGHT_GAIN


def artificial_light_scale(sun_elevation_deg: float) -> float:
    """Factor on the night-scale artificial lights: 1 at night (sun below -6°), 1 / NIGHT_GAIN with the sun at
    or above the horizon, log-linear in between (twilight brightens about 2.5x per degree)."""
    t = min(max(-float(sun_elevation_deg) / -NIGHT_BELOW_DEG, 0.0), 1.0)  # 0 at the horizon, 1 at -6°
    return NIGHT_GAIN ** (t - 1.0)


__all__ = ["LUX_PER_UNIT", "NIGHT_GAIN", "LED_LM_PER_W", "spot_power_w", "street_light_w", "artificial_light_scale"]
