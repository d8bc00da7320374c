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
                       "--quiet"], capsys)
    assert code == 0, text
    assert "gap ratio" in text and "report.html" in text
    data = json.loads((out / "report.json").read_text())
    assert data["simgen_version"] and data["seed"] == 0 and data["primary_backbone"] == "lowlevel"
    assert data["inputs"]["synth"]["n_used"] == 24 and data["inputs"]["real"]["n_used"] == 32
    assert data["backbones"][0]["preprocess"] and data["backbones"][0]["version"]
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


def test_bad_reencode(folders, tmp_path, capsys):
    code, text = _run([*folders, "--out", tmp_path / "o", "--reencode", "gif:3"], capsys)
    assert code == 1 and "gif:3" in text and "Traceback" not in text
