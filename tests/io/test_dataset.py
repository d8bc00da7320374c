"""DatasetWriter / DatasetReader: layout, manifest, dataset.json, multi-camera, atomicity and crash safety."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simgen.classes import class_table
from simgen.errors import OutputError, SimgenError
from simgen.io import DatasetReader, DatasetWriter, formats
from simgen.io.atomic import is_temp_name
from simgen.labels import NeighbourView, compute_frame_labels
from simgen.world.conventions import intrinsics_from_hfov, look_at, pose_from_xyz_yaw
from simgen.world.model import Camera
from tests.conftest import REPO
from tests.labels.synth import box_mesh, entity, make_world, quad_mesh, render

H, W = 24, 32
K = intrinsics_from_hfov(np.deg2rad(70), W, H)
T = 3


def _world(cameras=None):
    cam = [look_at((0.2 * t, -6, 2), (0, 0, 0.5)) for t in range(T)]
    ents = [entity("g", "road", quad_mesh(30, 30), [np.eye(4)] * T),
            entity("car", "car", box_mesh((3, 1.6, 1.4), (0, 0, 0.7)),
                   [pose_from_xyz_yaw(0.3 * t, 0, 0, 0.2) for t in range(T)], iid=4)]
    return make_world(ents, cam, cameras=cameras)


def _labels(world, camera=None):
    raws = [render(world, t, K, H, W, camera=camera) for t in range(T)]
    out = []
    for t in range(T):
        nxt = NeighbourView.from_raw(raws[t + 1]) if t + 1 < T else None
        prv = NeighbourView.from_raw(raws[t - 1]) if t > 0 else None
        out.append(compute_frame_labels(raws[t], world, next_view=nxt, prev_view=prv))
    return out


def _rgb(t):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = 10 * t
    rgb[0, 0] = (255, 0, 0)
    return rgb


def _final_files(root: Path):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not is_temp_name(p))


def test_write_and_read_sequence(tmp_path):
    world = _world()
    labels = _labels(world)
    w = DatasetWriter(tmp_path / "ds", blender_version="5.0.1")
    w.begin_sequence("quick", 0, cameras=["cam"], resolved={"name": "quick", "seed": 7})
    rows = [w.write_frame(lab, _rgb(lab.frame), scene="quick", variant=0, seed=7, tags=["day"],
                          knobs={"time_of_day": 12.0, "fog": 0.0}) for lab in labels]
    root = tmp_path / "ds"
    info = json.loads((root / "dataset.json").read_text())
    assert info["format_version"] and info["simgen_version"] and info["blender_version"] == "5.0.1"
    assert info["classes"] == class_table().to_json()
    conv = info["conventions"]
    assert conv["depth"]["kind"] == "planar" and conv["camera"]["y"] == "down" and conv["flow"]["v"] == "down"
    assert json.loads((root / "quick/0000/scene.resolved.json").read_text()) == {"name": "quick", "seed": 7}

    manifest = [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]
    assert manifest == rows and [r["frame"] for r in manifest] == [0, 1, 2]
    assert manifest[1]["files"]["depth"] == "quick/0000/000001.depth.exr"
    assert manifest[0]["sample_id"] == "quick/0000/000000" and manifest[0]["knobs"] == {"time_of_day": 12.0, "fog": 0.0}
    assert "flow_fwd" not in manifest[-1]["files"] and "flow_bwd" not in manifest[0]["files"]
    assert "flow_fwd" in manifest[0]["files"] and "flow_bwd" in manifest[-1]["files"]
    referenced = {p for r in manifest for p in r["files"].values()}
    assert set(_final_files(root)) == referenced | {"dataset.json", "manifest.jsonl", "quick/0000/scene.resolved.json"}
    assert not [p for p in root.rglob("*") if is_temp_name(p)], "no temporary files left behind"

    reader = DatasetReader(root)
    assert len(reader) == T
    for lab, sample in zip(labels, reader):
        assert np.array_equal(sample["depth"], lab.depth)
        assert np.array_equal(sample["instance"], lab.instance) and sample["instance"].dtype == np.uint16
        assert np.array_equal(sample["semantic"], lab.semantic)
        assert np.array_equal(sample["normal"], lab.normal)
        assert np.array_equal(sample["rgb"], _rgb(lab.frame))
        for d in ("fwd", "bwd"):
            flow = getattr(lab, f"flow_{d}")
            if flow is None:
                assert f"flow_{d}" not in sample
                continue
            valid = getattr(lab, f"flow_{d}_valid")
            assert np.array_equal(sample[f"flow_{d}_valid"], valid)
            assert np.array_equal(sample[f"flow_{d}"][valid], flow[valid])
            occ = sample[f"flow_{d}_occlusion"]
            assert np.array_equal(occ == 1, getattr(lab, f"occluded_{d}") & valid)
            assert np.all(occ[~valid] == 3)
        meta = sample["meta"]
        assert meta["width"] == W and meta["height"] == H and meta["frame"] == lab.frame and meta["camera"] == "cam"
        assert np.allclose(meta["K"], K) and np.allclose(meta["world_from_camera"], lab.world_from_camera)
        assert meta["timestamp"] == lab.frame / world.fps and meta["conventions_version"] == 1
        (obj,) = meta["objects"]
        for key in ("instance_id", "class", "world_from_object", "box3d", "bbox_visible", "bbox_amodal",
                    "visible_pixels", "truncation", "occlusion", "deforming", "attributes"):
            assert key in obj
        assert obj["visible_pixels"] == int((sample["instance"] == 4).sum())


def test_multi_camera_paths(tmp_path):
    cam_a = Camera("front", np.deg2rad(70), [look_at((0.2 * t, -6, 2), (0, 0, 0.5)) for t in range(T)])
    cam_b = Camera("left", np.deg2rad(70), [look_at((-3, -5, 2), (0, 0, 0.5)) for t in range(T)])
    world = _world(cameras=[cam_a, cam_b])
    w = DatasetWriter(tmp_path)
    w.begin_sequence("s", 2, cameras=["front", "left"])
    for cam in ("front", "left"):
        lab = _labels(world, camera=cam)[0]
        row = w.write_frame(lab, _rgb(0), scene="s", variant=2, seed=0)
        assert row["files"]["rgb"] == f"s/0002/{cam}/000000.rgb.png" and row["camera"] == cam
        assert row["sample_id"] == f"s/0002/{cam}/000000"
    assert len(DatasetReader(tmp_path)) == 2
    with pytest.raises(ValueError):
        w.write_frame(lab, _rgb(0), scene="s", variant=3, seed=0)  # sequence not begun


def test_unwritable_root_raises_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=str(blocker)):
        DatasetWriter(blocker / "out")
    with pytest.raises(OutputError, match="not a folder"):
        DatasetWriter(blocker)
    assert issubclass(OutputError, SimgenError)
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(OutputError, match=str(ro)):
                DatasetWriter(ro / "out")
        finally:
            ro.chmod(0o700)


def test_failure_mid_frame_leaves_no_final_file(tmp_path, monkeypatch):
    world = _world()
    labels = _labels(world)
    w = DatasetWriter(tmp_path)
    w.begin_sequence("s", 0, cameras=["cam"])
    w.write_frame(labels[0], _rgb(0), scene="s", variant=0, seed=0)
    before = _final_files(tmp_path)

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(formats, "write_flo", boom)
    with pytest.raises(OutputError, match="frame 1"):
        w.write_frame(labels[1], _rgb(1), scene="s", variant=0, seed=0)
    assert _final_files(tmp_path) == before, "nothing of frame 1 under a final name"
    assert not [p for p in tmp_path.rglob("*") if is_temp_name(p)], "staged files are cleaned up"
    assert [r["frame"] for r in DatasetReader(tmp_path).rows] == [0]


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    from tests.io.test_dataset import _world, _labels, _rgb
    from simgen.io import DatasetWriter, formats, atomic
    labels = _labels(_world())
    w = DatasetWriter({root!r})
    w.begin_sequence("s", 0, cameras=["cam"])
    w.write_frame(labels[0], _rgb(0), scene="s", variant=0, seed=0)
    mode = {mode!r}
    if mode == "during_write":
        real = formats.write_flo
        def dying(path, *a, **k):
            real(path, *a, **k)
            with open(path, "r+b") as f:
                f.truncate(20)  # a half-written file under its temporary name
            os._exit(9)
        formats.write_flo = dying
    else:
        real_replace = os.replace
        count = [0]
        def dying_replace(a, b):
            if count[0] == 2:
                os._exit(9)
            count[0] += 1
            real_replace(a, b)
        atomic.os.replace = dying_replace
    w.write_frame(labels[1], _rgb(1), scene="s", variant=0, seed=0)
    os._exit(0)
""")


@pytest.mark.parametrize("mode", ["during_write", "during_rename"])
def test_process_killed_mid_frame(tmp_path, mode):
    """A worker dies (os._exit, no cleanup) while writing or renaming frame 1: no half file under a final name,
    the manifest references only complete files, and the dataset stays readable."""
    root = tmp_path / "ds"
    script = CRASH_SCRIPT.format(repo=str(REPO), root=str(root), mode=mode)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    reader = DatasetReader(root)
    assert [r["frame"] for r in reader.rows] == [0]
    for row in reader.rows:
        for rel in row["files"].values():
            assert (root / rel).is_file()
    sample = reader[0]
    assert sample["depth"].shape == (H, W)
    frame1 = [p for p in _final_files(root) if "/000001." in p]
    if mode == "during_write":
        assert frame1 == [], "no final name for the interrupted frame"
        assert [p for p in root.rglob("*") if is_temp_name(p)], "the killed writer left temporaries, not finals"
    else:
        assert len(frame1) == 2, frame1  # two renames happened before the crash; those files are complete
    for rel in frame1:  # whatever reached a final name is a complete, readable file
        p = root / rel
        if p.suffix == ".exr":
            formats.read_exr(p)
        elif p.suffix == ".png":
            formats.read_png(p)
        elif p.suffix == ".flo":
            formats.read_flo(p)
        else:
            formats.read_json(p)
    # a new writer on the same root resumes and appends cleanly
    labels = _labels(_world())
    w = DatasetWriter(root)
    w.begin_sequence("s", 0, cameras=["cam"])
    w.write_frame(labels[1], _rgb(1), scene="s", variant=0, seed=0)
    assert [r["frame"] for r in DatasetReader(root).rows] == [0, 1]


def test_truncated_manifest_line_is_ignored_and_repaired(tmp_path):
    labels = _labels(_world())
    w = DatasetWriter(tmp_path)
    w.begin_sequence("s", 0, cameras=["cam"])
    w.write_frame(labels[0], _rgb(0), scene="s", variant=0, seed=0)
    with open(tmp_path / "manifest.jsonl", "ab") as f:
        f.write(b'{"sample_id": "s/0000/0000')  # an append cut short
    with pytest.warns(UserWarning, match="truncated"):
        assert len(DatasetReader(tmp_path)) == 1
    w2 = DatasetWriter(tmp_path)
    w2.begin_sequence("s", 0, cameras=["cam"])
    w2.write_frame(labels[1], _rgb(1), scene="s", variant=0, seed=0)
    assert [r["frame"] for r in DatasetReader(tmp_path).rows] == [0, 1]


def test_reader_rejects_non_dataset(tmp_path):
    with pytest.raises(SimgenError, match="not a simgen dataset"):
        DatasetReader(tmp_path)


def test_bad_names_rejected(tmp_path):
    w = DatasetWriter(tmp_path)
    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(OutputError):
            w.begin_sequence(bad, 0, cameras=["cam"])


def test_reflection_modalities_round_trip(tmp_path):
    world = _world()
    raw = render(world, 0, K, H, W)
    rng = np.random.default_rng(3)
    raw.reflection = rng.uniform(0, 1, (H, W, 3)).astype(np.float32)
    ri = np.zeros((H, W), np.float32)
    ri[:4, :5] = 2  # the car's label key, seen in a mirror
    raw.reflection_index = ri
    raw.reflection_strength = rng.uniform(0, 1, (H, W, 2)).astype(np.float32)
    lab = compute_frame_labels(raw, world)
    assert np.array_equal(lab.reflection_instance == 4, ri == 2)
    assert np.all(lab.reflection_semantic[ri == 2] == class_table().by_name("car").id)
    w = DatasetWriter(tmp_path)
    w.begin_sequence("s", 0, cameras=["cam"])
    row = w.write_frame(lab, _rgb(0), scene="s", variant=0, seed=0)
    assert row["files"]["reflection"] == "s/0000/000000.reflection.exr"
    sample = DatasetReader(tmp_path)[0]
    assert np.array_equal(sample["reflection"], raw.reflection)
    assert np.array_equal(sample["reflection_instance"], lab.reflection_instance)
    assert sample["reflection_instance"].dtype == np.uint16
    assert np.array_equal(sample["reflection_semantic"], lab.reflection_semantic)
    assert row["files"]["reflection_strength"] == "s/0000/000000.reflection_strength.exr"
    assert np.array_equal(sample["reflection_strength"], raw.reflection_strength)


def test_only_the_configured_passes_are_written(tmp_path):
    world = _world()
    labels = _labels(world)
    w = DatasetWriter(tmp_path)
    w.begin_sequence("s", 0, cameras=["cam"])
    row = w.write_frame(labels[1], _rgb(1), scene="s", variant=0, seed=0, passes=["rgb", "flow", "instance"])
    assert set(row["files"]) == {"rgb", "flow_fwd", "flow_bwd", "flow_fwd_occlusion", "flow_bwd_occlusion",
                                 "instance", "meta"}
    on_disk = {p.name.split(".")[1] for p in (tmp_path / "s" / "0000").iterdir()}
    assert on_disk == set(row["files"])
    row = w.write_frame(labels[2], _rgb(2), scene="s", variant=0, seed=0, passes=["depth"])
    assert set(row["files"]) == {"depth", "meta"}


def test_existing_dataset_of_another_format_is_refused(tmp_path):
    (tmp_path / "dataset.json").write_text(json.dumps({"format": "something-else", "format_version": "7.0"}))
    with pytest.raises(OutputError, match="another format"):
        DatasetWriter(tmp_path)
