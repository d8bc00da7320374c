"""People that move deform (legs, arms, pedals): flagged as deforming, ids exact, boxed tightly at every frame."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.blender, pytest.mark.slow]

STILL = ("none", "standing")


def test_people_deform_and_their_boxes_follow_the_pose(tmp_path, bpy_module):
    from simgen.io.dataset import DatasetReader
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    cfg = load_render_config("test").model_copy(update={"width": 160, "height": 120,
                                                        "passes": ["rgb", "semantic", "instance"]})
    render_scene(REPO / "scenes" / "people_closeup.yaml", tmp_path, cfg=cfg, frames=3)
    frames = list(DatasetReader(tmp_path))
    assert len(frames) == 3
    sizes: dict[int, list] = {}
    seen: dict[str, int] = {}
    for sample in frames:
        inst = sample["instance"]
        for o in sample["meta"]["objects"]:
            anim = o["attributes"].get("animation")
            if o["class"] in ("pedestrian", "child", "cyclist"):
                assert o["deforming"] is (anim not in STILL), (o["class"], anim)
                assert "person" in o["attributes"], "the sampled body and look are recorded"
                sizes.setdefault(o["instance_id"], []).append(o["box3d"]["size"])
            if o["visible_pixels"]:
                if anim:
                    seen[anim] = seen.get(anim, 0) + 1
                # the visible mask lies inside the projected box of the mesh *at this frame* (1 px tolerance)
                x0, y0, x1, y1 = o["bbox_visible"]
                a0, b0, a1, b1 = o["bbox_amodal"]
                assert a0 - 1 <= x0 and b0 - 1 <= y0 and x1 <= a1 + 1 and y1 <= b1 + 1, o["instance_id"]
                assert (inst == o["instance_id"]).sum() == o["visible_pixels"]
    assert {"walking", "running", "cycling"} <= set(seen), seen
    # a stride changes the person's extent along the walking direction from frame to frame
    assert sum(np.ptp(np.array(s)[:, 0]) > 0.02 for s in sizes.values()) >= 3
