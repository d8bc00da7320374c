"""Street lights and the other artificial lights against the day: LED lamps give 10-100 lx on the road, and the
lights dim with the twilight so a dusk street is not lit like day."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgen.spec import load_scene
from simgen.spec.resolve import resolve
from simgen.world.build import build_world
from simgen.world.photometry import LUX_PER_UNIT, NIGHT_GAIN, artificial_light_scale, spot_power_w, street_light_w

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_a_street_light_puts_10_to_100_lux_on_the_road():
    # Blender: a spot of power P has the intensity of a point light, P / (4 pi) W/sr (renderer units)
    for watts, lo, hi in ((50, 10, 60), (100, 40, 120)):
        p = street_light_w(watts) / NIGHT_GAIN  # physical level
        below_lux = p / (4 * math.pi) / 7.0**2 * LUX_PER_UNIT  # straight below a 7 m lamp
        assert lo < below_lux < hi
        # 20 m along the road (between lamps): 10-30 lx from the two lamps, cos-weighted
        d = math.hypot(11.0, 7.0)
        between = 2 * p / (4 * math.pi) / d**2 * (7.0 / d) * LUX_PER_UNIT
        assert 3 < between < 30
    # sunlight: the default sun strength of 3 W/m^2 is about 100,000 lx
    assert 3.0 * LUX_PER_UNIT == pytest.approx(1e5)
    # a spot's lumens over its cone: power doubles with lumens, and a wider cone needs more power per candela
    assert spot_power_w(2000, 1.0) == pytest.approx(2 * spot_power_w(1000, 1.0))


def test_twilight_scale():
    assert artificial_light_scale(-10.0) == 1.0 and artificial_light_scale(-6.0) == pytest.approx(1.0)
    assert artificial_light_scale(0.0) == pytest.approx(1 / NIGHT_GAIN)
    assert artificial_light_scale(40.0) == pytest.approx(1 / NIGHT_GAIN)
    e = np.linspace(-8, 2, 30)
    k = [artificial_light_scale(x) for x in e]
    assert all(a >= b for a, b in zip(k, k[1:]))


def test_dusk_street_lights_are_dimmer_than_at_night():
    """city_street_dusk (sun 2.6 deg below the horizon) against the same street at night: the lamps, head
    lamps and lit rooms are scaled by the twilight factor (lamps at least 10x dimmer), head lamp lenses stay lit."""
    spec = load_scene(REPO / "scenes" / "city_street_dusk.yaml")
    dusk = resolve(spec, 0)
    night = dusk.model_copy(update={"lighting": dusk.lighting.model_copy(
        update={"sun_elevation_deg": -12.0, "night": True})})
    wd, wn = build_world(dusk, 160, 120), build_world(night, 160, 120)

    def power(w, prefix):
        return [lt.power_w for lt in w.lights if lt.name.startswith(prefix)]

    sd, sn = power(wd, "street_light_"), power(wn, "street_light_")
    assert sd and sn and max(sd) * 10 < min(sn)
    assert max(sd) == pytest.approx(street_light_w(120) * artificial_light_scale(dusk.lighting.sun_elevation_deg))
    lit_d = [m.emission_strength for e in wd.entities for m in e.materials if m.name == "room_lit"]
    lit_n = [m.emission_strength for e in wn.entities for m in e.materials if m.name == "room_lit"]
    assert lit_d and lit_n and max(lit_d) < max(lit_n)
    # vehicles with their lights on (parked ones keep them off): lit head lamp lenses at their physical luminance
    heads = [m.emission_strength for e in wd.entities for m in e.materials
             if m.name == "headlamp" and e.attributes.get("lights") == "on"]
    assert heads and min(heads) >= 3.0
