"""Audit tests on tiny simgen datasets written to tmp dirs per the on-disk contract (manifest + meta + PNGs)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from simgen.classes import class_table
from simgen.gap import audit as A
from simgen.gap.metrics import MetricInputError

W, H = 96, 64


def _hsv_colour(rng: np.random.Generator) -> np.ndarray:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(140, 255), rng.uniform(120, 255)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)


def _background(rng: np.random.Generator) -> np.ndarray:
    """A textured background: a random two-colour vertical gradient plus blobs (a different look every frame)."""
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, H)[:, None, None]
    img = (1 - t) * top + t * bottom
    img = np.broadcast_to(img, (H, W, 3)).copy()
    for _ in range(4):
        cx, cy, r = rng.integers(0, W), rng.integers(0, H), rng.integers(4, 14)
        cv2.circle(img, (int(cx), int(cy)), int(r), tuple(float(v) for v in rng.uniform(0, 255, 3)), -1)
    img += rng.normal(0, 4, img.shape)
    return img


def make_dataset(
    root: Path,
    n_frames: int = 36,
    per_frame: dict[str, int] | None = None,
    fixed_colour: dict[str, tuple[int, int, int]] | None = None,
    duplicate: tuple[int, int] | None = None,
    seed: int = 0,
    tags: dict[int, list[str]] | None = None,
) -> Path:
    """Write a fake simgen dataset: rectangles as objects, classes from the class table, camera at the origin."""
    rng = np.random.default_rng(seed)
    per_frame = per_frame or {"pedestrian": 2, "car": 2}
    fixed_colour = fixed_colour or {}
    table = class_table()
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    rgb_cache: dict[int, np.ndarray] = {}
    for f in range(n_frames):
        scene, variant = f"scene{f % 3}", f // 3
        rel = Path(scene) / f"{variant:04d}"
        (root / rel).mkdir(parents=True, exist_ok=True)
        img = _background(rng)
        inst = np.zeros((H, W), np.uint16)
        sem = np.zeros((H, W), np.uint8)
        placed = []
        iid = 0
        for cls, count in per_frame.items():
            for _ in range(count):
                iid += 1
                if cls in ("pedestrian", "child"):
                    h = int(rng.integers(12, 40))
                    w = max(3, h // 3)
                else:
                    w = int(rng.integers(14, 40))
                    h = max(6, int(w * rng.uniform(0.4, 0.7)))
                x0, y0 = int(rng.integers(0, W - w)), int(rng.integers(0, H - h))
                if cls in fixed_colour:
                    colour = np.array(fixed_colour[cls], float) * rng.uniform(0.85, 1.0)
                else:
                    colour = _hsv_colour(rng)
                img[y0 : y0 + h, x0 : x0 + w] = colour
                inst[y0 : y0 + h, x0 : x0 + w] = iid
                sem[y0 : y0 + h, x0 : x0 + w] = table.by_name(cls).id
                dist = float(rng.uniform(5, 60))
                placed.append((iid, cls, dist))
        objects = []
        for iid, cls, dist in placed:
            ys, xs = np.nonzero(inst == iid)
            if len(xs) == 0:
                continue
            pose = np.eye(4)
            pose[:3, 3] = [0.0, 0.0, dist]
            objects.append(
                {
                    "instance_id": iid,
                    "class": cls,
                    "world_from_object": pose.tolist(),
                    "box3d": {"center": [0.0, 0.0, dist], "size": [1.0, 1.0, 1.0], "rotation": np.eye(3).tolist()},
                    "bbox_visible": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
                    "bbox_amodal": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
                    "visible_pixels": int(len(xs)),
                    "truncation": 0.0,
                }
            )
        rgb = np.clip(img, 0, 255).astype(np.uint8)
        if duplicate is not None and f == duplicate[1]:
            rgb = rgb_cache[duplicate[0]]
        rgb_cache[f] = rgb
        cv2.imwrite(str(root / rel / "000000.rgb.png"), rgb[:, :, ::-1])
        cv2.imwrite(str(root / rel / "000000.instance.png"), inst)
        cv2.imwrite(str(root / rel / "000000.semantic.png"), sem)
        K = [[W / 2, 0, W / 2 - 0.5], [0, W / 2, H / 2 - 0.5], [0, 0, 1]]
        meta = {"width": W, "height": H, "K": K, "world_from_camera": np.eye(4).tolist(), "objects": objects}
        (root / rel / "000000.json").write_text(json.dumps(meta))
        rows.append(
            {
                "sample_id": f"{scene}/{variant:04d}/000000",
                "scene": scene,
                "variant": variant,
                "frame": 0,
                "seed": seed,
                "tags": (tags or {}).get(f, []),
                "files": {
                    "rgb": str(rel / "000000.rgb.png"),
                    "instance": str(rel / "000000.instance.png"),
                    "semantic": str(rel / "000000.semantic.png"),
                    "meta": str(rel / "000000.json"),
                },
            }
        )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _codes(result: A.AuditResult, severity: str) -> list[str]:
    return [f.code for f in result.findings if f.severity == severity]


def test_varied_dataset_raises_no_flags(tmp_path):
    res = A.audit_dataset(make_dataset(tmp_path / "varied"), progress=False)
    assert res.n_frames == 36
    assert _codes(res, "flag") == [], [f.message for f in res.flags]
    assert set(res.class_balance["counts"]) == {"pedestrian", "car"}
    ped = res.per_class["pedestrian"]
    assert ped["colour"]["entropy"] > 0.6
    assert ped["colour"]["predicts_class_balanced_accuracy"] < 0.85
    assert res.background["distinct_looks"] > 5
    json.dumps(res.to_json(), allow_nan=False)


def test_every_pedestrian_the_same_colour_is_flagged(tmp_path):
    res = A.audit_dataset(make_dataset(tmp_path / "red", fixed_colour={"pedestrian": (220, 20, 60)}), progress=False)
    flags = [f for f in res.flags if f.numbers.get("class") == "pedestrian"]
    codes = {f.code for f in flags}
    assert "low_entropy.colour" in codes
    assert "colour_determines_class" in codes
    assert all(f.numbers.get("class") != "car" for f in res.flags)
    msg = next(f.message for f in flags if f.code == "low_entropy.colour")
    assert "pedestrian" in msg and "red" in msg  # (220, 20, 60) is crimson: red sector
    assert res.per_class["pedestrian"]["colour"]["categories"] == {"red": res.per_class["pedestrian"]["colour"]["n"]}


def test_class_imbalance_is_flagged(tmp_path):
    res = A.audit_dataset(_imbalanced(tmp_path / "imb"), progress=False)
    imb = [f for f in res.findings if f.code == "class_imbalance"]
    assert len(imb) == 1 and imb[0].severity == "flag"
    assert imb[0].numbers["largest"] == "car" and imb[0].numbers["smallest"] == "pedestrian"
    assert imb[0].numbers["imbalance_ratio"] >= 50


def _imbalanced(root: Path) -> Path:
    make_dataset(root, n_frames=30, per_frame={"car": 4, "pedestrian": 1})
    # drop the pedestrian from all but 2 frames' labels (and its pixels from the instance map)
    rows = [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]
    for i, row in enumerate(rows):
        if i < 2:
            continue
        meta_path = root / row["files"]["meta"]
        meta = json.loads(meta_path.read_text())
        peds = [o["instance_id"] for o in meta["objects"] if o["class"] == "pedestrian"]
        meta["objects"] = [o for o in meta["objects"] if o["class"] != "pedestrian"]
        meta_path.write_text(json.dumps(meta))
        inst_path = root / row["files"]["instance"]
        inst = cv2.imread(str(inst_path), cv2.IMREAD_UNCHANGED)
        inst[np.isin(inst, peds)] = 0
        cv2.imwrite(str(inst_path), inst)
    return root


def test_near_duplicate_frames_across_sequences_are_flagged(tmp_path):
    res = A.audit_dataset(make_dataset(tmp_path / "dup", duplicate=(4, 20)), progress=False)
    dup = [f for f in res.flags if f.code == "near_duplicates"]
    assert len(dup) == 1
    assert dup[0].numbers["pairs"] == 1
    pair = res.near_duplicates[0]
    assert {pair["a"], pair["b"]} == {"scene1/0001/000000", "scene2/0006/000000"}
    assert pair["hamming"] == 0 and not pair["same_sequence"]


def test_perceptual_hash_tolerates_noise_and_separates_content():
    rng = np.random.default_rng(3)
    a = np.clip(_background(rng), 0, 255).astype(np.uint8)
    noisy = np.clip(a + rng.normal(0, 3, a.shape), 0, 255).astype(np.uint8)
    other = np.clip(_background(rng), 0, 255).astype(np.uint8)
    ha, hn, ho = A.perceptual_hash(a), A.perceptual_hash(noisy), A.perceptual_hash(other)
    assert (ha != hn).sum() <= 4
    assert (ha != ho).sum() > 10
    pairs, total = A.hamming_pairs(np.array([ha, ho, hn]), 4)
    assert [(i, j) for i, j, _ in pairs] == [(0, 2)] and total == 1
    # many identical frames: every pair is counted, the listing is capped
    pairs, total = A.hamming_pairs(np.array([ha] * 30), 0, max_pairs=10)
    assert total == 30 * 29 // 2 and len(pairs) == 10


def test_tags_and_sizes_and_heatmaps(tmp_path):
    tags = {i: ["night"] for i in range(30)}
    tags.update({i: ["night", "fog"] for i in range(3)})
    res = A.audit_dataset(make_dataset(tmp_path / "tags", tags=tags), progress=False)
    assert res.tags["night"] == pytest.approx(30 / 36)
    assert res.tags["fog"] == pytest.approx(3 / 36)
    assert any(f.code == "tag_everywhere" and f.numbers["tag"] == "night" for f in res.findings)
    heat = np.array(res.plots["position heatmap car"])
    assert heat.shape == (8, 8) and heat.sum() == res.class_balance["counts"]["car"]
    # pedestrians were drawn 12..39 px tall: the recorded heights come from the visible boxes
    ped = res.per_class["pedestrian"]["bbox_height_px"]
    assert 5 <= ped["p5"] and ped["p95"] <= 40
    assert 5 <= res.per_class["car"]["distance_m"]["mean"] <= 60


def test_constant_size_and_position_are_flagged(tmp_path):
    root = make_dataset(tmp_path / "const", per_frame={"car": 1, "pedestrian": 1})
    rows = [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]
    for row in rows:  # move every pedestrian into the same 30-px box at the same place
        meta_path = root / row["files"]["meta"]
        meta = json.loads(meta_path.read_text())
        for o in meta["objects"]:
            if o["class"] == "pedestrian":
                o["bbox_visible"] = [40, 20, 50, 50]
        meta_path.write_text(json.dumps(meta))
    res = A.audit_dataset(root, progress=False)
    codes = {(f.code, f.numbers.get("class")) for f in res.flags}
    assert ("low_entropy.bbox_height", "pedestrian") in codes
    assert ("low_entropy.position", "pedestrian") in codes
    assert ("low_entropy.bbox_height", "car") not in codes


def test_bad_datasets_give_clear_errors(tmp_path):
    with pytest.raises(A.AuditError, match="manifest.jsonl"):
        A.audit_dataset(tmp_path, progress=False)
    root = make_dataset(tmp_path / "bad", n_frames=3)
    text = (root / "manifest.jsonl").read_text().splitlines()
    (root / "manifest.jsonl").write_text(text[0] + "\n{oops\n")
    with pytest.raises(A.AuditError, match="line 2"):
        A.audit_dataset(root, progress=False)
    row = json.loads(text[0])
    row["files"]["rgb"] = "missing.png"
    (root / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(A.AuditError, match=r"line 1: files.rgb"):
        A.audit_dataset(root, progress=False)


def test_nearest_real_neighbours_flags_copies_only():
    rng = np.random.default_rng(4)
    # real: 40 videos of 5 frames; frames of a video are close to each other (a per-video mean plus small noise),
    # the synthetic images follow the same overall distribution
    off = rng.standard_normal((40, 16))
    real = np.repeat(off, 5, axis=0) + 0.5 * rng.standard_normal((200, 16))
    groups = np.repeat(np.arange(40), 5)
    synth = rng.standard_normal((50, 16)) * np.sqrt(1.25)
    synth[7] = real[33] + 1e-3 * rng.standard_normal(16)  # a traced real frame
    res = A.nearest_real_neighbours(synth, real, [f"s{i}" for i in range(50)], [f"r{i}" for i in range(200)], groups)
    assert [s["synth"] for s in res.suspicious] == ["s7"]
    assert res.suspicious[0]["real"] == "r33"
    assert res.nn_id[7] == "r33" and res.nn_distance.shape == (50,)
    assert res.findings[0].severity == "flag" and res.findings[0].code == "near_real_copy"
    json.dumps(res.to_json(), allow_nan=False)
    # without groups, frames of one video would set the bar at their small mutual distance; with them it is the
    # distance between different recordings
    assert res.threshold > 1.0
    ungrouped = A.nearest_real_neighbours(synth, real, [f"s{i}" for i in range(50)], [f"r{i}" for i in range(200)])
    assert ungrouped.threshold < res.threshold
    assert res.suspicious[0]["distance"] < 0.01 * res.threshold
    with pytest.raises(MetricInputError):
        A.nearest_real_neighbours(synth, real, ["x"], [f"r{i}" for i in range(200)], groups)


def test_reflections_are_counted_and_a_promised_reflection_that_is_not_shown_is_warned(tmp_path):
    from simgen.io import DatasetWriter
    from tests.io.test_dataset import H, K, W, _rgb, _world
    from tests.labels.synth import render
    from simgen.labels import compute_frame_labels

    world = _world()
    w = DatasetWriter(tmp_path)
    w.begin_sequence("s", 0, cameras=["cam"])
    for t, px in enumerate((12, 0, 30)):
        raw = render(world, t, K, H, W)
        mirror = np.zeros((H, W), bool)
        mirror.reshape(-1)[:px] = True
        raw.reflection = np.stack([np.zeros_like(mirror), mirror, np.zeros_like(mirror)], -1).astype(np.float32)
        raw.reflection_index = np.where(mirror, 2.0, 0.0).astype(np.float32)
        raw.reflection_strength = np.stack([np.where(mirror, 0.1 * (t + 1), 0.0), np.zeros((H, W))], -1)
        w.write_frame(compute_frame_labels(raw, world), _rgb(t), scene="s", variant=0, seed=0,
                      tags=["pedestrian_reflection"] if t < 2 else [])
    result = A.audit_dataset(tmp_path, progress=False)
    r = result.reflections
    assert (r["frames"], r["frames_with_reflected_person"], r["tagged_without_reflection"]) == (3, 2, 1)
    assert r["median_pixels"] == 21.0 and r["median_strength"] == pytest.approx(0.2)
    assert "reflection_tag_not_shown" in _codes(result, "warn")
    assert json.loads(json.dumps(result.to_json()))["reflections"]["share"] == pytest.approx(2 / 3)
