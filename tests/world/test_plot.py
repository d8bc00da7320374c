"""Smoke test of the top-down map."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simgen.spec.loader import load_scene
from simgen.spec.resolve import resolve
from simgen.world.build import build_world_with_layout
from simgen.world.plot import save_map

REPO = Path(__file__).resolve().parents[2]


def test_save_map(tmp_path):
    import matplotlib.image as mpimg

    world, layout = build_world_with_layout(resolve(load_scene(REPO / "scenes" / "jaywalker.yaml"), 0), 160, 120)
    out = save_map(world, tmp_path / "map.png", layout=layout, size_inches=(6, 3), dpi=80)
    assert out.exists() and [p.name for p in tmp_path.iterdir()] == ["map.png"]  # no temp file left
    img = mpimg.imread(out)
    assert img.shape[:2] == (240, 480)
    assert np.unique(img.reshape(-1, img.shape[-1]), axis=0).shape[0] > 20  # something was drawn
