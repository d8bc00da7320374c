"""Weather that people can see: fog by day is bright and hides distant things (Koschmieder), rain is absent
from labels."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.conftest import REPO
from tests.e2e.readers import read_exr_channels

pytestmark = [pytest.mark.blender]


def test_day_fog_is_bright_and_fades_with_distance(tmp_path, bpy_module):
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    cfg = load_render_config("test").model_copy(update={"width": 96, "height": 72, "passes": ["rgb", "depth"]})
    render_scene(REPO / "scenes" / "dense_fog.yaml", tmp_path, cfg=cfg, frames=1)
    row = json.loads((tmp_path / "manifest.jsonl").read_text().splitlines()[0])
    rgb = cv2.imread(str(tmp_path / row["files"]["rgb"]))
    grey = cv2.cvtColor(rgb, cv2.COLOR_BGR2GRAY).astype(float)
    depth = read_exr_channels(tmp_path / row["files"]["depth"])["Z"]
    assert grey.mean() > 100, "daylight fog must look bright, not black"
    near = np.isfinite(depth) & (depth < 8)
    far = ~np.isfinite(depth) | (depth > 60)
    assert near.sum() > 50 and far.sum() > 50
    # far away everything converges to the fog colour: little contrast left
    assert grey[far].std() < 0.5 * max(grey[near].std(), 1.0) + 3.0
