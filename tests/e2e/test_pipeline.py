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
    assert (out / rows[0]["scene"] / "v0000-s0" / "preview.png").is_file()
    assert {r["sequence"] for r in rows} == {"quickstart/v0000-s0"}


def test_a_sweep_point_renders_with_its_seed_and_labels(tmp_path, bpy_module):
    from simgen.cli import main

    sweep = REPO / "scenes" / "sweeps" / "weather_time.yaml"
    out = tmp_path / "ds"
    # variant 5 of weather x time x seeds [0, 1]: the 3rd (weather, time) pair = clear at 22:30, with seed 1
    code = main(["render", str(sweep), "--out", str(out), "--config", str(REPO / "render_configs" / "test.yaml"),
                 "--variant", "5", "--frames", "1", "--no-progress"])
    assert code == 0
    (row,) = _rows(out)
    assert row["scene"] == "city_street_noon" and row["variant"] == 5 and row["seed"] == 1
    assert row["knobs"]["sweep.weather"] == "clear" and row["knobs"]["sweep.lighting.time_of_day"] == "22:30"
    assert row["knobs"]["night"] is True and row["knobs"]["fog_density"] == 0.0
    # the scene file says "day, clear"; the sweep made it night: the tags follow what was rendered
    assert "night" in row["tags"] and "day" not in row["tags"] and "city" in row["tags"]
    resolved = json.loads((out / "city_street_noon" / "weather_time-p0005-s1" / "scene.resolved.json").read_text())
    assert resolved["sweep"] == {"weather": "clear", "lighting.time_of_day": "22:30"}
    index = (out / "index.html").read_text()
    assert "city_street_noon / weather_time-p0005-s1" in index
    assert 'src="city_street_noon/weather_time-p0005-s1/preview.png"' in index
    # a point the sweep does not have is a clean error, and nothing is written for it
    code = main(["render", str(sweep), "--out", str(out), "--config", str(REPO / "render_configs" / "test.yaml"),
                 "--variant", "18", "--frames", "1", "--no-progress"])
    assert code == 1 and len(_rows(out)) == 1
