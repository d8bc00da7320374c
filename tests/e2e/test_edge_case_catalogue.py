"""The edge-case catalogue (scenes/edge_cases/): every scene renders at test resolution, its labels pass the
label checks, and each edge case is visible in every frame tagged with it.

Every scene is rendered once (96x72, 1 sample, 2 frames; the reflection pass only where a case is seen as a
mirror image or through glass). The checks read the files (tests/e2e/readers.py) and recompute what they
compare against with their own geometry: flow by reprojecting depth with the stored poses, ids against the
3D boxes, mirror labels by ray casting the world's meshes (tests/e2e/test_reflection_render.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import REPO, needs_blender
from tests.e2e.readers import load_dataset, load_frame, read_exr_channels, read_png
from tests.e2e.test_quickstart_labels import _expected_flow, _project, visible_objects

pytestmark = [pytest.mark.blender, pytest.mark.slow]

SCENES = sorted((REPO / "scenes" / "edge_cases").glob("*.yaml"))
W, H, FRAMES = 96, 72, 2
#: pixels an actor needs (written here, not imported: the test states the rule): seen directly >= 4 pixels,
#: as a mirror image or through glass: the reflection is not empty
NEEDED = {"direct": 4, "mirror": 1, "glass": 1}
_CACHE: dict[str, tuple] = {}


def _needs_reflection(spec) -> bool:
    from simgen.world.edge_cases import KINDS

    return any(KINDS[e.kind].visible_as != "direct" for e in spec.edge_cases)


def _rendered(path, tmp_path_factory):
    """(rows sorted by frame, frames read from the files, the world, the spec) of one catalogue scene."""
    if path.stem not in _CACHE:
        needs_blender()
        from simgen.pipeline import prepare, render_scene
        from simgen.spec import load_render_config, load_scene

        spec = load_scene(path)
        passes = ["rgb", "depth", "flow", "semantic", "instance"] + (["reflection"] if _needs_reflection(spec) else [])
        cfg = load_render_config("test").model_copy(update={"width": W, "height": H, "samples": 1,
                                                            "passes": passes})
        out = tmp_path_factory.mktemp(path.stem)
        render_scene(path, out, cfg=cfg, frames=FRAMES)
        _, rows = load_dataset(out)
        rows = sorted(rows, key=lambda r: r["frame"])
        frames = []
        for r in rows:
            f = load_frame(out, r)
            if "reflection" in r["files"]:
                f["reflection"] = read_exr_channels(out / r["files"]["reflection"])
                f["reflection_instance"] = read_png(out / r["files"]["reflection_instance"])
            frames.append(f)
        # the world again, without Blender, for the checks that cast rays into it
        world = None
        if _needs_reflection(spec):
            _, world = prepare(path, seed=rows[0]["seed"], variant=rows[0]["variant"], cfg=cfg)
        _CACHE[path.stem] = (rows, frames, world, spec)
    return _CACHE[path.stem]


def test_catalogue_covers_every_case():
    from simgen.spec import load_scene

    kinds = {e.kind for p in SCENES for e in load_scene(p).edge_cases}
    from simgen.spec.models import EDGE_KINDS

    assert kinds == set(EDGE_KINDS)
    buses = [p for p in SCENES if any(getattr(e, "car_class", None) == "bus" for e in load_scene(p).edge_cases)]
    assert buses, "a bus-side reflection"
    assert len(SCENES) >= 12


def _road_mirrors(world) -> bool:
    """Whether the wet road is a mirror for the reflection labels (the labels' stated rule)."""
    from simgen.world.surfaces import reflects

    return world is not None and any(reflects(m, world.weather, True) for e in world.entities
                                     if e.class_name == "road" for m in e.materials)


def _ray_cast_reflections(world, meta):
    """(H, W) id of the person each pixel's mirrored ray meets (0 = none) and (H, W) decidable pixels, by
    trimesh ray casting (the shared helper of the reflection tests)."""
    from tests.e2e.reflection_raycast import expected_reflections

    return expected_reflections(world, meta, H, W)[:2]


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_case_visible_in_every_tagged_frame(path, tmp_path_factory):
    rows, frames, world, spec = _rendered(path, tmp_path_factory)
    kinds = {e.kind for e in spec.edge_cases}
    if "pedestrian_reflection_wet_road" in kinds:
        assert _road_mirrors(world), "the wet road must be a mirror for the labels"
    assert len(rows) == FRAMES
    for row, f in zip(rows, frames, strict=True):
        tagged = kinds & set(row["tags"])
        # the catalogue scenes are made so that their case shows from the first frame
        assert tagged == kinds, (row["tags"], row["edge_cases_invisible"])
        assert row["edge_cases_invisible"] == [] and sorted(kinds) == row["knobs"]["edge_cases"]
        actors = [o for o in f["meta"]["objects"] if o["attributes"].get("edge_case_visible_as")]
        assert {o["attributes"]["edge_case_kind"] for o in actors} == kinds
        for o in actors:
            how, iid = o["attributes"]["edge_case_visible_as"], o["instance_id"]
            if how == "direct":
                n = int((f["instance"] == iid).sum())
            else:
                channel = f["reflection"]["mirror" if how == "mirror" else "glass"] > 0.5
                n = int((channel & (f["reflection_instance"] == iid)).sum())
            assert n >= NEEDED[how], f"{o['name']}: {n} {how} pixels in frame {row['frame']}"


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_labels_agree_with_geometry(path, tmp_path_factory):
    rows, fr, world, spec = _rendered(path, tmp_path_factory)
    # flow = reprojection of depth through the stored poses
    for t, n, key in ((0, 1, "flow_fwd"), (1, 0, "flow_bwd")):
        expected, ok = _expected_flow(fr[t], fr[n])
        assert ok.sum() > 0.3 * np.isfinite(fr[t]["depth"]).sum(), "too few visible pixels to test"
        epe = np.linalg.norm(fr[t][key][ok] - expected[ok], axis=-1)
        assert np.median(epe) <= 1e-3 and np.percentile(epe, 99) <= 1e-2, (key, np.median(epe))
    # ids: exactly the objects' masks, boxes bound them, every pixel's surface point lies inside its 3D box
    for f in fr:
        for _, _, mask, K, pose, pts in visible_objects(f):
            uv, z = _project(pts, K, pose)
            ys, xs = np.nonzero(mask)
            assert np.abs(uv[:, 0] - xs).max() < 1e-3 and np.abs(uv[:, 1] - ys).max() < 1e-3
    # mirror images: where the camera's rays, mirrored once, meet a person (frame 0)
    if "reflection" in fr[0] and any(e.kind.startswith("pedestrian_reflection") for e in spec.edge_cases):
        expected, decidable = _ray_cast_reflections(world, fr[0]["meta"])
        via_mirror = fr[0]["reflection"]["mirror"] == 1
        wrong = decidable & ((expected > 0) != via_mirror)
        assert wrong.sum() <= max(2, 0.05 * (expected > 0).sum()), f"{wrong.sum()} pixels disagree"
        both = decidable & via_mirror & (expected > 0)
        assert np.array_equal(fr[0]["reflection_instance"].astype(np.int64)[both], expected[both])


def test_rows_record_what_is_not_visible(tmp_path, caplog):
    """A case whose actor is out of sight (a distant pedestrian hidden behind a wall of parked buses in a
    narrow view) is reported in a warning line and the row, and not tagged."""
    needs_blender()
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    scene = tmp_path / "hidden.yaml"
    (tmp_path / "base.yaml").write_text((REPO / "scenes" / "base" / "edge_street.yaml").read_text())
    scene.write_text(
        "extends: base.yaml\n"
        "scene: {name: hidden_case, tags: [city, distant_pedestrian]}\n"
        "objects:\n"
        "  - name: wall\n    class: bus\n    count: 1\n"
        "    placement: {pose: {x: 9, y: -4.875, yaw_deg: 0}}\n"
        "edge_cases:\n  - {kind: distant_pedestrian, side: right, distance_m: 40, kerb_offset_m: 3}\n")
    cfg = load_render_config("test").model_copy(update={"width": 64, "height": 48, "samples": 1,
                                                        "passes": ["rgb", "depth", "semantic", "instance"]})
    with caplog.at_level("WARNING", logger="simgen.render"):
        render_scene(scene, tmp_path / "out", cfg=cfg, frames=1)
    row = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[0])
    assert "distant_pedestrian" not in row["tags"] and row["knobs"]["edge_cases"] == []
    assert row["edge_cases_invisible"] == ["distant_pedestrian"]
    assert any("distant_pedestrian_0" in r.message and "not visible" in r.message for r in caplog.records)
