"""Which surfaces are mirrors for the reflection labels (simgen.world.surfaces), without Blender."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.world.layout import road_material
from simgen.world.model import Material, Weather
from simgen.world.surfaces import (
    REFLECTION_MAX_ROUGHNESS,
    procedural_puddles,
    reflects,
    reflects_in_puddles,
    specular_roughness,
    weathered,
)


def test_wetness_darkens_and_smooths_wet_surfaces_only():
    mat = Material("m", (0.2, 0.4, 0.6), roughness=0.8)
    base, rough = weathered(mat, Weather(wetness=0.5), True)
    np.testing.assert_allclose(base, np.array([0.2, 0.4, 0.6]) * (1 - 0.45 * 0.5))
    assert rough == pytest.approx(0.8 * (1 - 0.85 * 0.5))
    # a class that does not get wet, or no weather: unchanged
    for args in ((Weather(wetness=0.5), False), (None, True)):
        base, rough = weathered(mat, *args)
        np.testing.assert_allclose(base, mat.base_color)
        assert rough == pytest.approx(0.8)
    # snow wins over wetness and roughens
    assert weathered(mat, Weather(wetness=1.0, snow=1.0), True)[1] == pytest.approx(0.9)


@pytest.mark.parametrize("wetness, mirror", [(0.0, False), (0.5, False), (0.78, False), (0.79, True), (1.0, True)])
def test_asphalt_is_a_mirror_from_wetness_078(wetness, mirror):
    """Asphalt is 0.9 rough dry; 0.9·(1 − 0.85·w) ≤ 0.3 from w = 0.784."""
    asphalt = road_material(0.0)
    assert not asphalt.reflective and asphalt.roughness == pytest.approx(0.9)
    assert reflects(asphalt, Weather(wetness=wetness), True) is mirror
    assert not reflects(asphalt, Weather(wetness=wetness), False)  # a class that does not get wet
    assert (specular_roughness(asphalt, Weather(wetness=wetness), True) <= REFLECTION_MAX_ROUGHNESS) is mirror


def test_smooth_dry_surfaces_coats_and_flagged_mirrors():
    assert reflects(Material("chrome", roughness=0.12, metallic=1.0), None, False)
    assert reflects(Material("edge", roughness=REFLECTION_MAX_ROUGHNESS), None, False)  # "at most": inclusive
    assert not reflects(Material("satin", roughness=REFLECTION_MAX_ROUGHNESS + 1e-3), None, False)
    # a clear coat reflects sharply over a rough base
    assert reflects(Material("coated", roughness=0.6, coat=0.5, coat_roughness=0.03), None, False)
    assert not reflects(Material("rough coat", roughness=0.6, coat=0.5, coat_roughness=0.5), None, False)
    # the flag makes a mirror whatever the roughness
    assert reflects(Material("flagged", roughness=0.9, reflective=True), None, False)


def test_procedural_puddles_make_a_rough_surface_a_mirror_inside_them_only():
    damp = Weather(wetness=0.3, puddle_coverage=0.4)
    asphalt = road_material(0.0)
    assert procedural_puddles(damp, True) and not procedural_puddles(damp, False)
    assert not reflects(asphalt, damp, True) and reflects_in_puddles(asphalt, damp, True)
    # puddle entities replace the noise puddles; a soaked road is a mirror everywhere anyway
    assert not reflects_in_puddles(asphalt, Weather(wetness=0.3, puddle_coverage=0.4, puddle_entities=True), True)
    assert reflects(asphalt, Weather(wetness=1.0, puddle_coverage=0.4), True)
    assert not reflects_in_puddles(asphalt, Weather(wetness=1.0, puddle_coverage=0.4), True)
