"""Reflection labels of the example edge-case scenes, re-derived by ray casting the world's meshes with trimesh.

Each pixel-centre ray is cast into the scene's geometry (built without Blender); where it first meets a
reflector (shop-window glass, a puddle, car paint, a wet road: :mod:`tests.e2e.reflection_raycast`) it is mirrored
about that face's normal and cast again. The person it then meets — or none — must be what the dataset's
reflection labels say.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import REPO
from tests.e2e.reflection_raycast import PEOPLE, expected_reflections

pytestmark = [pytest.mark.blender, pytest.mark.slow]

W, H = 160, 120


def _render(scene: str, out):
    from simgen.pipeline import prepare, render_scene
    from simgen.spec import load_render_config

    cfg = load_render_config("test").model_copy(update={
        "width": W, "height": H, "passes": ["rgb", "depth", "semantic", "instance", "reflection"]})
    progress = []
    render_scene(REPO / "scenes" / f"{scene}.yaml", out, cfg=cfg, frames=1,
                 on_reflection=lambda done, total: progress.append((done, total)))
    # key + strength renders, for clear glass and (all these scenes have shop windows) glass as a mirror
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    row = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
    _, world = prepare(REPO / "scenes" / f"{scene}.yaml", seed=row["seed"], variant=row["variant"], cfg=cfg)
    return row, world


@pytest.mark.parametrize("scene", ["pedestrian_reflection_window", "pedestrian_reflection_puddle",
                                   "pedestrian_reflection_car"])
def test_reflected_people_are_where_mirrored_rays_meet_them(scene, tmp_path, bpy_module):
    from simgen.io.dataset import DatasetReader

    row, world = _render(scene, tmp_path)
    sample = DatasetReader(tmp_path)[0]
    expected, decidable, expected_strength, _ = expected_reflections(world, sample["meta"], H, W)
    got = sample["reflection_instance"].astype(np.int64)
    via_mirror = sample["reflection"][..., 1] == 1
    assert (expected > 0).sum() >= 10, "the scene must show a reflected person"
    # reflected person in the label <=> the mirrored ray meets a person; the same person
    wrong = decidable & ((expected > 0) != via_mirror)
    assert wrong.sum() <= max(2, 0.05 * (expected > 0).sum()), f"{wrong.sum()} pixels disagree"
    both = decidable & via_mirror & (expected > 0)
    assert np.array_equal(got[both], expected[both])
    # a reflection is never a person in the direct labels: those pixels belong to the mirror surface
    people_ids = {o["instance_id"] for o in sample["meta"]["objects"] if o["class"] in PEOPLE}
    assert not np.isin(sample["instance"][via_mirror], sorted(people_ids)).any()
    assert set(np.unique(got[got > 0])) <= people_ids
    # every labelled reflection carries the share of light that reaches the camera (a product of Fresnel
    # reflectances: a few per cent off glass head-on, less after two bounces), never more than all of it
    strength = sample["reflection_strength"][..., 0]
    assert np.all((strength[via_mirror] > 0) & (strength[via_mirror] <= 1.0)) and not strength[~via_mirror].any()
    # single-bounce pixels: the Fresnel reflectance of the surface hit, from its normal and the ray
    single = both & (expected_strength > 0)
    assert single.sum() >= 10
    np.testing.assert_allclose(strength[single], expected_strength[single], atol=1e-5)
