"""Wet-road reflections: on a soaked night street the reflection labels agree with trimesh ray casting.

The method of the window / puddle / car tests (:mod:`tests.e2e.reflection_raycast`): each pixel-centre ray is
cast into the world's meshes, mirrored about the face it first meets if that surface is a reflector at the
stated roughness (:data:`simgen.world.surfaces.REFLECTION_MAX_ROUGHNESS`, 0.3), and cast again.

Tolerance: a pixel may disagree only on the 1-pixel outline of a ray-cast reflection (its 3×3 neighbourhood
holds both reflected and not reflected pixels: the mirrored ray grazes a person's silhouette, where Blender's
single-precision BVH and trimesh's double precision may round differently). Everywhere else: 0 wrong pixels.
Pixels whose mirrored ray meets a second reflector are not decided (one bounce is modelled).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import REPO
from tests.e2e.reflection_raycast import PEOPLE, expected_reflections

pytestmark = [pytest.mark.blender, pytest.mark.slow]

W, H = 160, 120
SCENE = REPO / "scenes" / "wet_night_reflections.yaml"


def _outline(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose 3×3 neighbourhood (clipped at the border) is not all equal in ``mask``."""
    import cv2

    m = mask.astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    return cv2.dilate(m, k, borderType=cv2.BORDER_REPLICATE) != cv2.erode(m, k, borderType=cv2.BORDER_REPLICATE)


def test_wet_night_street_reflections_match_ray_casting(tmp_path, bpy_module):
    from simgen.classes import class_table
    from simgen.io.dataset import DatasetReader
    from simgen.pipeline import prepare, render_scene
    from simgen.spec import load_render_config
    from simgen.world.surfaces import REFLECTION_MAX_ROUGHNESS, weathered

    cfg = load_render_config("test").model_copy(update={
        "width": W, "height": H, "passes": ["rgb", "depth", "semantic", "instance", "reflection"]})
    render_scene(SCENE, tmp_path, cfg=cfg, frames=1)
    row = json.loads((tmp_path / "manifest.jsonl").read_text().splitlines()[0])
    _, world = prepare(SCENE, seed=row["seed"], variant=row["variant"], cfg=cfg)
    assert "night" in row["tags"] and world.weather.wetness == 1.0
    # the dataset states the roughness up to which a surface is a mirror for its labels
    conventions = json.loads((tmp_path / "dataset.json").read_text())["conventions"]
    assert conventions["reflection"]["max_roughness"] == REFLECTION_MAX_ROUGHNESS == 0.3

    # the road is rough when dry and a mirror for the labels only because it is wet
    road = next(e for e in world.entities if e.class_name == "road")
    asphalt = road.materials[0]
    assert not asphalt.reflective and asphalt.roughness > REFLECTION_MAX_ROUGHNESS
    assert weathered(asphalt, world.weather, True)[1] <= REFLECTION_MAX_ROUGHNESS
    assert "road" in class_table().with_fact("wets")

    sample = DatasetReader(tmp_path)[0]
    expected, decidable, expected_strength, surface = expected_reflections(world, sample["meta"], H, W)
    via_mirror = sample["reflection"][..., 1] == 1
    got = sample["reflection_instance"].astype(np.int64)
    on_road = surface == world.entities.index(road)
    # people are mirrored in the wet asphalt, and those pixels are many (not a few puddle pixels)
    assert (on_road & (expected > 0)).sum() >= 150
    assert decidable.mean() > 0.9

    wrong = decidable & ((expected > 0) != via_mirror)
    beyond = wrong & ~_outline(expected > 0)
    assert beyond.sum() == 0, f"{beyond.sum()} wrong pixels off the outline ({wrong.sum()} in all)"
    assert wrong.sum() <= 0.02 * (expected > 0).sum()
    # the same person, traced back to its instance
    both = decidable & via_mirror & (expected > 0)
    assert np.array_equal(got[both], expected[both])
    people_ids = {o["instance_id"] for o in sample["meta"]["objects"] if o["class"] in PEOPLE}
    assert len(set(np.unique(got[both]))) >= 3 and set(np.unique(got[got > 0])) <= people_ids
    # reflection_strength on the wet road: the Fresnel reflectance of asphalt's IOR at each pixel's incidence
    strength = sample["reflection_strength"][..., 0]
    single = both & (expected_strength > 0)
    assert (single & on_road).sum() >= 150
    np.testing.assert_allclose(strength[single], expected_strength[single], atol=1e-5)
    assert not strength[~via_mirror].any()
