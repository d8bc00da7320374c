"""`simgen gap` end to end on small folders of real frames, and its bad-input handling (exit 1, no traceback)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DATA = Path("/usr/share/doc/opencv-doc/examples/data")
VTEST = DATA / "vtest.avi"
MEGAMIND = DATA / "Megamind.avi"


def _frames(video: Path, out: Path, n: int, stride: int, per_group: int, size=(160, 120)) -> Path:
    """Decode ``n`` frames (every ``stride``-th) to PNGs in sub-folders of ``per_group`` consecutive frames."""
    import cv2

    if not video.exists():
        pytest.skip(f"{video} is missing (Debian package opencv-doc)")
    cap = cv2.VideoCapture(str(video))
    i = k = 0
    while k < n:
        ok, frame = cap.read()
        if not ok:
            break
        if i % stride == 0:
            d = out / f"clip{k // per_group:02d}"
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{i:04d}.png"), cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
            k += 1
        i += 1
    cap.release()
    assert k == n
    return out


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("gapcli")
    synth = _frames(MEGAMIND, root / "synth", 24, 10, 6)
    real = _frames(VTEST, root / "real", 32, 20, 4)
    return synth, real


def _dataset(root: Path, n: int = 40, size=(160, 120)) -> Path:
    """A small simgen dataset (native layout) from CG frames: manifest rows with scene/variant/knobs/tags and per
    frame rgb, instance and meta files. ``time_of_day=night`` frames are darkened (further from a daylight real
    set); every pedestrian is painted pure red (the audit must flag it); cars get varied colours."""
    import json

    import cv2
    import numpy as np

    if not MEGAMIND.exists():
        pytest.skip(f"{MEGAMIND} is missing (Debian package opencv-doc)")
    cap = cv2.VideoCapture(str(MEGAMIND))
    rng = np.random.default_rng(0)
    rows = []
    w, h = size
    for k in range(n):
        for _ in range(5):
            ok, frame = cap.read()
        assert ok
        rgb = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)  # BGR
        scene, variant = f"s{k // 20}", f"v{(k // 5) % 4}"
        night = scene == "s1"
        inst = np.zeros((h, w), np.uint16)
        objects = []
        for iid, cls in ((1, "pedestrian"), (2, "car")):
            bw, bh = (12, 30) if cls == "pedestrian" else (40, 20)
            x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            inst[y0:y0 + bh, x0:x0 + bw] = iid
            colour = (0, 0, 255) if cls == "pedestrian" else tuple(int(c) for c in rng.integers(0, 256, 3))
            rgb[y0:y0 + bh, x0:x0 + bw] = colour
            objects.append({"class": cls, "instance_id": iid, "visible_pixels": bw * bh,
                            "bbox_visible": [x0, y0, x0 + bw, y0 + bh],
                            "box3d": {"center": [float(rng.uniform(-5, 5)), float(rng.uniform(5, 40)), 0.8]}})
        if night:
            rgb = (rgb * 0.25).astype(np.uint8)
        d = root / scene / variant
        d.mkdir(parents=True, exist_ok=True)
        stem = f"{k:06d}"
        cv2.imwrite(str(d / f"{stem}.rgb.png"), rgb)
        cv2.imwrite(str(d / f"{stem}.instance.png"), inst)
        (d / f"{stem}.json").write_text(json.dumps({"world_from_camera": np.eye(4).tolist(), "objects": objects}))
        rel = f"{scene}/{variant}/{stem}"
        tags = (["night"] if night else []) + (["rare_event"] if k % 8 == 0 else [])
        rows.append({"sample_id": f"{scene}-{variant}-{stem}", "scene": scene, "variant": variant, "frame": k,
                     "seed": k, "tags": tags,
                     "knobs": {"time_of_day": "night" if night else "day",
                               "weather": {"kind": "rain" if k % 2 else "clear"}},
                     "files": {"rgb": f"{rel}.rgb.png", "instance": f"{rel}.instance.png", "meta": f"{rel}.json"}})
    cap.release()
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _run(args, capsys):
    from simgen.cli import main

    code = main(["gap", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.slow
def test_end_to_end_report(folders, tmp_path, capsys):
    synth, real = folders
    out = tmp_path / "report"
    code, text = _run([synth, real, "--out", out, "--backbone", "lowlevel", "--seed", "0", "--reps", "10",
                       "--reencode", "jpeg:90", "--quiet"], capsys)
    assert code == 0, text
    assert "gap ratio" in text and "report.html" in text
    data = json.loads((out / "report.json").read_text())
    assert data["simgen_version"] and data["seed"] == 0 and data["primary_backbone"] == "lowlevel"
    assert data["inputs"]["synth"]["n_used"] == 24 and data["inputs"]["real"]["n_used"] == 32
    assert data["backbones"][0]["preprocess"] and data["backbones"][0]["version"]
    # the identical re-encoding of both sets is part of the recorded preprocessing contract
    assert data["backbones"][0]["preprocess"]["reencode"] == ["jpeg", 90]
    assert data["config"]["reencode"] == "jpeg:90"
    rows = {m["name"]: m for m in data["metrics"]["lowlevel"]}
    assert "fd" in rows and "kid" in rows
    fd = rows["fd"]
    for k in ("value", "ci_low", "ci_high", "baseline", "baseline_ci_low", "baseline_ci_high", "ratio", "n_synth"):
        assert fd[k] is not None, k
    assert fd["ci_low"] <= fd["value"] <= fd["ci_high"]
    # CG frames vs a real road: far beyond the real-vs-real baseline, even on low-level statistics
    assert fd["ratio"] > 3.0
    assert data["least_realistic"]["items"] and data["lowlevel"]["histograms"]
    assert data["timings_s"]["total"] > 0
    html = (out / "report.html").read_text()
    for sec in ("summary", "metrics", "slices", "lowlevel", "audit", "nearest-real", "least-realistic", "contract"):
        assert f'id="{sec}"' in html
    # thumbnails of the least realistic frames are embedded
    assert len(re.findall(r'src="data:image/jpeg;base64,', html)) >= 2
    assert not re.search(r"""src\s*=\s*["'](?!data:)""", html)


@pytest.mark.slow
def test_simgen_dataset_slices_and_audit(folders, tmp_path, capsys):
    synth = _dataset(tmp_path / "ds")
    real = _frames(VTEST, tmp_path / "real48", 48, 15, 4)
    out = tmp_path / "report"
    code, text = _run([synth, real, "--out", out, "--backbone", "lowlevel", "--slice-by", "time_of_day,weather,tag",
                       "--metrics", "fd,kid", "--reps", "10", "--quiet"], capsys)
    assert code == 0, text
    data = json.loads((out / "report.json").read_text())
    assert data["inputs"]["synth"]["kind"] == "simgen dataset" and data["inputs"]["synth"]["n_groups"] == 8
    block = data["slices"]["by_backbone"]["lowlevel"]
    by_label = {s["label"]: s for s in block["slices"]}
    assert {"time_of_day=day", "time_of_day=night", "weather.kind=clear", "weather.kind=rain", "tag=night",
            "tag=rare_event"} <= set(by_label)
    assert by_label["time_of_day=night"]["n"] == 20 and by_label["tag=rare_event"]["n"] == 5
    # too small a slice is listed as skipped with a reason, never silently dropped
    assert by_label["tag=rare_event"]["skipped"] and "at least" in by_label["tag=rare_event"]["note"]
    # the darkened night frames are the slice furthest from the daylight real set
    ranking = block["ranking"]
    assert ranking[0]["label"] in ("time_of_day=night", "tag=night")
    # the same images (night frames carry the night tag) get the same numbers: common random numbers per slice
    assert by_label["tag=night"]["metrics"] == by_label["time_of_day=night"]["metrics"]
    ratios = {r["label"]: r["ratio"] for r in ranking}
    assert ratios["time_of_day=night"] > ratios["time_of_day=day"]
    assert data["summary"]["furthest_slice"]["label"] == ranking[0]["label"]
    # audit ran on the labels and flags the one-colour pedestrians, not the varied cars
    audit = data["audit"]
    assert audit and audit["n_frames"] == 40
    flagged = [f for f in audit["findings"] if f["severity"] == "flag"]
    assert any("pedestrian" in f["message"] for f in flagged)
    assert not any("car" in f["message"].split() and "colour" in f["code"] for f in flagged)
    html = (out / "report.html").read_text()
    assert "time_of_day=night" in html and "sev-flag" in html and "position heatmap pedestrian" in html


@pytest.mark.slow
def test_user_checkpoint_backbone(folders, tmp_path, capsys):
    import torch

    class Tiny(torch.nn.Module):  # a stand-in for a user encoder: (N, 3, H, W) -> (N, 16)
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 16, 7, stride=4)

        def forward(self, x):
            return torch.relu(self.conv(x)).mean(dim=(2, 3))

    ckpt = tmp_path / "tiny.pt"
    torch.jit.script(Tiny()).save(str(ckpt))
    out = tmp_path / "report"
    code, text = _run([*folders, "--out", out, "--backbone", "checkpoint", "--checkpoint", ckpt, "--metrics", "fd,kid",
                       "--reps", "5", "--quiet"], capsys)
    assert code == 0, text
    data = json.loads((out / "report.json").read_text())
    bb = data["backbones"][0]
    assert bb["name"] == "checkpoint" and bb["dim"] == 16 and data["config"]["checkpoint"] == str(ckpt)
    assert [m["name"] for m in data["metrics"]["checkpoint"]] == ["fd", "kid"]
    # a missing checkpoint file is a clear error
    code, text = _run([*folders, "--out", tmp_path / "o2", "--backbone", "checkpoint", "--checkpoint",
                       tmp_path / "missing.pt"], capsys)
    assert code == 1 and "missing.pt" in text and "Traceback" not in text


def test_missing_input(tmp_path, capsys):
    code, text = _run([tmp_path / "nope", tmp_path, "--out", tmp_path / "o"], capsys)
    assert code == 1 and "nope" in text and "does not exist" in text and "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_empty_input(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.png").write_bytes(b"")
    code, text = _run([tmp_path / "empty", tmp_path / "real", "--out", tmp_path / "o"], capsys)
    assert code == 1 and "empty" in text and "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_folder_without_images(tmp_path, capsys, folders):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("no images here")
    code, text = _run([tmp_path / "docs", folders[1], "--out", tmp_path / "o"], capsys)
    assert code == 1 and "docs" in text and "Traceback" not in text


def test_unknown_backbone(folders, tmp_path, capsys):
    synth, real = folders
    code, text = _run([synth, real, "--out", tmp_path / "o", "--backbone", "resnet9000"], capsys)
    assert code == 1 and "resnet9000" in text and "mobilenet_v2" in text and "Traceback" not in text


def test_too_few_images(folders, tmp_path, capsys):
    import shutil

    few = tmp_path / "few"
    few.mkdir()
    for p in sorted(folders[0].rglob("*.png"))[:2]:
        shutil.copy(p, few / p.name)
    code, text = _run([few, folders[1], "--out", tmp_path / "o", "--backbone", "lowlevel"], capsys)
    assert code == 1 and "few" in text and "at least" in text and "Traceback" not in text


def test_single_real_group(folders, tmp_path, capsys):
    import shutil

    one = tmp_path / "one" / "session"
    one.mkdir(parents=True)
    for p in sorted(folders[1].rglob("*.png"))[:12]:
        shutil.copy(p, one / p.name)
    code, text = _run([folders[0], one.parent, "--out", tmp_path / "o", "--backbone", "lowlevel"], capsys)
    assert code == 1 and "one group" in text and "Traceback" not in text


def test_bad_reencode(folders, tmp_path, capsys):
    code, text = _run([*folders, "--out", tmp_path / "o", "--reencode", "gif:3"], capsys)
    assert code == 1 and "gif:3" in text and "Traceback" not in text
