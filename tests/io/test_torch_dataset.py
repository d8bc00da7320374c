"""TorchDataset over the native layout and over shards: tensors, joint augmentations that keep labels right
(checked by reprojecting static points into the next frame), sequence splits, a DataLoader with 2 workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from simgen.classes import class_table
from simgen.io import TorchDataset, collate
from simgen.io.augment import Compose, Crop, HFlip, Resize
from simgen.io.export import export_dataset
from tests.conftest import REPO
from tests.io.synthds import make_dataset

ROAD = class_table().by_name("road").id
MODS = ("rgb", "depth", "semantic", "instance", "flow_fwd", "flow_bwd", "normal", "boxes", "flow_fwd_occlusion")


@pytest.fixture(scope="module")
def ds(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("native") / "ds")


@pytest.fixture(scope="module")
def shards(ds, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shards") / "s"
    export_dataset(ds, "shards", out, shard_samples=4)
    return out


def _reprojection_error(a: dict, b: dict, step: int = 1, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For static road pixels of sample a with known forward flow (every ``step``-th row/column from ``offset``):
    |projection into b of the unprojected point - (p + flow(p))| in pixels, and the same with u not negated."""
    depth, valid = a["depth"].numpy().astype(np.float64), a["flow_fwd_valid"].numpy()
    sel = valid & a["depth_valid"].numpy() & (a["semantic"].numpy() == ROAD)
    grid = np.zeros_like(sel)
    grid[offset::step, offset::step] = True
    rows, cols = np.nonzero(sel & grid)
    assert rows.size > 20
    K, K1 = a["K"].numpy().astype(np.float64), b["K"].numpy().astype(np.float64)
    pose, pose1 = a["world_from_camera"].numpy().astype(np.float64), b["world_from_camera"].numpy().astype(np.float64)
    d = depth[rows, cols]
    cam = np.stack([(cols - K[0, 2]) / K[0, 0] * d, (rows - K[1, 2]) / K[1, 1] * d, d], -1)
    world = cam @ pose[:3, :3].T + pose[:3, 3]
    inv = np.linalg.inv(pose1)
    c1 = world @ inv[:3, :3].T + inv[:3, 3]
    proj = np.stack([K1[0, 0] * c1[:, 0] / c1[:, 2] + K1[0, 2], K1[1, 1] * c1[:, 1] / c1[:, 2] + K1[1, 2]], -1)
    flow = a["flow_fwd"].numpy()[:, rows, cols].T.astype(np.float64)
    target = np.stack([cols, rows], -1) + flow
    wrong = np.stack([cols, rows], -1) + flow * [-1, 1]
    return np.linalg.norm(proj - target, axis=1), np.linalg.norm(proj - wrong, axis=1)


def test_tensors_are_documented_shapes_and_match_the_native_files(ds):
    from simgen.io import DatasetReader

    data = TorchDataset(ds, MODS)
    reader = DatasetReader(ds)
    assert len(data) == len(reader) == 7
    s = data[0]
    h, w = 48, 64
    assert s["rgb"].shape == (3, h, w) and s["rgb"].dtype == torch.float32 and float(s["rgb"].max()) <= 1.0
    assert s["depth"].shape == (h, w) and s["depth_valid"].dtype == torch.bool
    assert s["flow_fwd"].shape == (2, h, w) and s["normal"].shape == (3, h, w)
    assert s["semantic"].dtype == torch.int64 and s["K"].shape == (3, 3) and s["world_from_camera"].shape == (4, 4)
    e = reader.entries[0]
    assert np.array_equal(s["instance"].numpy(), reader.instance(e).astype(np.int64))
    flow, valid = reader.flow(e)
    assert np.array_equal(s["flow_fwd_valid"].numpy(), valid)
    assert np.array_equal(s["flow_fwd"].numpy().transpose(1, 2, 0)[valid], flow[valid])
    last = data[2]  # the last frame has no forward flow: zeros, all invalid
    assert not last["flow_fwd_valid"].any() and float(last["flow_fwd"].abs().max()) == 0.0
    # the reprojection check holds without augmentation
    err, _ = _reprojection_error(data[0], data[1])
    assert err.max() < 1e-2
    with pytest.raises(ValueError, match="unknown modalities"):
        TorchDataset(ds, ("rgb", "lidar"))


def test_flip_keeps_flow_masks_boxes_and_K_consistent(ds):
    plain = TorchDataset(ds, MODS)
    flipped = TorchDataset(ds, MODS, transform=HFlip(p=1.0))
    a, b = flipped[0], flipped[1]
    err, wrong = _reprojection_error(a, b)
    assert err.max() < 1e-2, "reprojection holds after the flip"
    assert wrong.max() > 0.5, "the check can fail: flow with u not negated does not reproject"
    p = plain[0]
    assert torch.equal(a["instance"], p["instance"].flip(-1)) and torch.equal(a["rgb"], p["rgb"].flip(-1))
    assert torch.equal(a["flow_fwd_valid"], p["flow_fwd_valid"].flip(-1))
    assert torch.allclose(a["normal"][0], -p["normal"][0].flip(-1)) and torch.allclose(a["normal"][1:], p["normal"][1:].flip(-1))
    inst = a["instance"].numpy()
    assert len(a["boxes"]) == 3
    for box, iid, label in zip(a["boxes"].numpy(), a["instance_ids"].numpy(), a["labels"].numpy()):
        ys, xs = np.nonzero(inst == iid)
        assert np.array_equal(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]), "box = bbox of the flipped mask"
        assert label == a["semantic"].numpy()[ys[0], xs[0]]


def test_crop_and_resize_keep_reprojection(ds):
    crop = TorchDataset(ds, MODS, transform=Crop(6, 9, 34, 50))
    a, b = crop[0], crop[1]
    assert a["rgb"].shape == (3, 34, 50)
    err, _ = _reprojection_error(a, b)
    assert err.max() < 1e-2
    inst = a["instance"].numpy()
    for box, iid in zip(a["boxes"].numpy(), a["instance_ids"].numpy()):
        ys, xs = np.nonzero(inst == iid)
        assert box[0] <= xs.min() and box[1] <= ys.min() and box[2] >= xs.max() + 1 and box[3] >= ys.max() + 1
        assert 0 <= box[0] < box[2] <= 50 and 0 <= box[1] < box[3] <= 34
    # 3x up: output pixels 3k+1 sit exactly on source pixel centres
    big = TorchDataset(ds, MODS, transform=Compose([HFlip(1.0), Resize(144, 192)]))
    a, b = big[0], big[1]
    assert a["rgb"].shape == (3, 144, 192)
    err, _ = _reprojection_error(a, b, step=3, offset=1)
    assert err.max() < 1e-2, "flow and K scaled together"
    small = TorchDataset(ds, MODS)
    assert torch.allclose(a["flow_fwd"][:, 1::3, 1::3].abs(), 3 * small[0]["flow_fwd"].flip(-1).abs())


def test_shards_give_the_same_samples_and_feed_a_dataloader_with_two_workers(ds, shards):
    native = TorchDataset(ds, MODS)
    sharded = TorchDataset(shards, MODS)
    assert len(sharded) == len(native)
    by_id = {native[i]["sample_id"]: native[i] for i in range(len(native))}
    for i in range(len(sharded)):
        s = sharded[i]
        n = by_id[s["sample_id"]]
        for k, v in n.items():
            if isinstance(v, torch.Tensor):
                assert torch.equal(v, s[k]), k
    for data in (native, TorchDataset(shards, MODS, transform=HFlip(0.5), seed=3)):
        seen = []
        loader = DataLoader(data, batch_size=3, num_workers=2, collate_fn=collate)
        for batch in loader:
            assert batch["rgb"].shape[1:] == (3, 48, 64) and batch["depth"].shape[1:] == (48, 64)
            assert len(batch["boxes"]) == batch["rgb"].shape[0]
            for j, sid in enumerate(batch["sample_id"]):
                ref = data[int(batch["index"][j])]
                assert ref["sample_id"] == sid and torch.equal(ref["rgb"], batch["rgb"][j])
                assert torch.equal(ref["boxes"], batch["boxes"][j])
            seen += batch["sample_id"]
        assert sorted(seen) == sorted(by_id)


def test_splits_keep_sequences_and_rigs_together(ds, shards):
    shares = {"train": 0.5, "val": 0.5}
    for src in (ds, shards):
        for s in range(6):
            tr = TorchDataset(src, ("rgb",), split="train", shares=shares, split_seed=s)
            va = TorchDataset(src, ("rgb",), split="val", shares=shares, split_seed=s)
            assert len(tr) + len(va) == 7
            seq_tr, seq_va = {e.sequence for e in tr.entries}, {e.sequence for e in va.entries}
            assert not seq_tr & seq_va
            assert len(tr) in (0, 3, 4, 7), "all frames and both cameras of a sequence on one side"


def test_importable_without_bpy_or_ray():
    code = ("import sys; import simgen.io as io; io.TorchDataset; import simgen.io.export, simgen.io.augment; "
            "bad = [m for m in ('bpy', 'ray') if m in sys.modules]; sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_flip_of_a_distorting_lens_matches_opencv_projection():
    import cv2

    w, h = 64, 48
    K = np.array([[50.0, 0, 30.2], [0, 50.0, 24.7], [0, 0, 1]])
    D = np.array([-0.21, 0.05, 0.003, -0.004, 0.01])
    sample = {"rgb": np.zeros((h, w, 3), np.uint8), "K": K, "D": D, "camera_model": "opencv",
              "world_from_camera": np.eye(4)}
    out = HFlip(1.0)(sample, np.random.default_rng(0))
    pts = np.random.default_rng(1).uniform([-2, -1.5, 3], [2, 1.5, 6], (50, 3))
    uv, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, D)
    mirrored = pts * [-1, 1, 1]  # the flipped camera frame
    uv2, _ = cv2.projectPoints(mirrored, np.zeros(3), np.zeros(3), out["K"], out["D"])
    assert np.allclose(uv2[:, 0, 0], w - 1 - uv[:, 0, 0], atol=1e-9) and np.allclose(uv2[:, 0, 1], uv[:, 0, 1])
    unchanged = HFlip(1.0)(dict(sample, D=D.copy(), camera_model="pinhole"), np.random.default_rng(0))
    uv3, _ = cv2.projectPoints(mirrored, np.zeros(3), np.zeros(3), unchanged["K"], unchanged["D"])
    assert not np.allclose(uv3[:, 0, 0], w - 1 - uv[:, 0, 0], atol=1e-3), "the check can fail"
