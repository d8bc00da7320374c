"""Walking people deform (legs and arms swing): flagged as deforming, boxed tightly at every frame."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def test_walkers_are_deforming_and_their_boxes_follow_the_swing(tmp_path, bpy_module):
    from simgen.io.dataset import DatasetReader
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    cfg = load_render_config("test").model_copy(update={"width": 160, "height": 120,
                                                        "passes": ["rgb", "semantic", "instance"]})
    render_scene(REPO / "scenes" / "jaywalker.yaml", tmp_path, cfg=cfg, frames=3)
    frames = list(DatasetReader(tmp_path))
    assert len(frames) == 3
    walkers = {}
    for sample in frames:
        inst = sample["instance"]
        for o in sample["meta"]["objects"]:
            walking = o["attributes"].get("animation") in ("walking", "running")
            if o["class"] in ("pedestrian", "child"):
                assert o["deforming"] is walking
            if walking:
                walkers.setdefault(o["instance_id"], []).append(o["box3d"]["size"])
            if o["visible_pixels"]:
                # the visible mask lies inside the projected box of the mesh *at this frame* (1 px tolerance)
                x0, y0, x1, y1 = o["bbox_visible"]
                a0, b0, a1, b1 = o["bbox_amodal"]
                assert a0 - 1 <= x0 and b0 - 1 <= y0 and x1 <= a1 + 1 and y1 <= b1 + 1, o["instance_id"]
                assert (inst == o["instance_id"]).sum() == o["visible_pixels"]
    assert walkers, "the jaywalker scene has walking people"
    # a swinging stride changes the person's extent along the walking direction from frame to frame
    assert any(np.ptp(np.array(sizes)[:, 0]) > 0.02 for sizes in walkers.values())
