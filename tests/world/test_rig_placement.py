"""Rigs expand into cameras; visibility-constrained placement may name any camera of a rig."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.spec.loader import load_scene_text
from simgen.spec.resolve import resolve
from simgen.world.build import build_world

SPEC = """
scene: {name: rigs}
ego: {start: {x: 40}}
cameras:
  - name: sv
    mount: {x: 1.3, z: 0.9, pitch_deg: -20}
    lens: {model: fisheye, fov_deg: 190, width: 64, height: 48}
    rig: {kind: surround}
  - {name: st, hfov_deg: 60, rig: {kind: stereo, baseline_m: 0.5}}
objects:
  - name: behind
    class: pedestrian
    count: 3
    placement: {region: sidewalk, visible: true, camera: sv_rear, distance_m: {min: 3, max: 12}}
"""


def test_rigs_expand_and_placement_uses_the_named_rig_camera():
    world = build_world(resolve(load_scene_text(SPEC), seed=3, variant=0), 96, 72)
    names = [c.name for c in world.cameras]
    assert names == ["sv_front", "sv_left", "sv_right", "sv_rear", "st_left", "st_right"]
    cams = {c.name: c for c in world.cameras}
    # stereo: baseline along the camera's own x axis, parallel axes
    l, r = cams["st_left"].poses[0], cams["st_right"].poses[0]
    np.testing.assert_allclose(l[:3, :3], r[:3, :3])
    np.testing.assert_allclose((np.linalg.inv(l) @ r)[:3, 3], [0.5, 0, 0], atol=1e-12)
    # surround: four fisheyes looking forward / left / right / back
    fwd = {n: cams[f"sv_{n}"].poses[0][:3, 2] for n in ("front", "left", "right", "rear")}
    assert fwd["front"][0] > 0.9 and fwd["rear"][0] < -0.9 and fwd["left"][1] > 0.9 and fwd["right"][1] < -0.9
    rear, front = cams["sv_rear"], cams["sv_front"]
    people = [e for e in world.entities if e.attributes.get("group") == "behind"]
    assert len(people) == 3
    for e in people:
        c = e.poses[0][:3, 3] + [0, 0, 0.9]
        pc = (c - rear.poses[0][:3, 3]) @ rear.poses[0][:3, :3]
        uv, depth, ok = rear.lens.project_camera(pc[None])
        assert ok[0] and -0.5 <= uv[0, 0] < 63.5 and -0.5 <= uv[0, 1] < 47.5  # seen by the rear fisheye
        pf = (c - front.poses[0][:3, 3]) @ front.poses[0][:3, :3]
        assert not front.lens.project_camera(pf[None])[2][0]  # outside the front fisheye's 190° field


def test_unknown_placement_camera_is_a_clear_error():
    with pytest.raises(SimgenError, match="unknown camera 'sv_top'"):
        load_scene_text(SPEC.replace("camera: sv_rear", "camera: sv_top"))
