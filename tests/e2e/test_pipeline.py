"""Pipeline behaviour around the render: interruption leaves the dataset as it was; re-rendering replaces."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.blender, pytest.mark.slow]
QUICKSTART = REPO / "scenes" / "quickstart.yaml"


def _rows(root):
    path = root / "manifest.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_interrupted_render_leaves_dataset_unchanged_then_rerender_replaces(tmp_path, bpy_module):
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    cfg = load_render_config("test")
    out = tmp_path / "ds"
    first = render_scene(QUICKSTART, out, cfg=cfg, seed=0, frames=2)
    assert first.frames == 2 and len(_rows(out)) == 2
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    class Boom(Exception):
        pass

    def explode(done, total):
        if done == 1:
            raise Boom

    with pytest.raises(Boom):
        render_scene(QUICKSTART, out, cfg=cfg, seed=0, variant=1, frames=2, on_frame=explode)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before, "an interrupted run must change nothing"
    assert not list(out.glob(".staging-*"))

    # the same scene and variant again: the sequence is replaced, not duplicated
    render_scene(QUICKSTART, out, cfg=cfg, seed=0, frames=3)
    rows = _rows(out)
    assert [r["frame"] for r in rows] == [0, 1, 2]
    for r in rows:
        for rel in r["files"].values():
            assert (out / rel).is_file()
    assert (out / rows[0]["scene"] / "0000" / "preview.png").is_file()
