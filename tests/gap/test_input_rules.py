"""`simgen gap` input rules: one minimum-size rule checked before any feature extraction, --group-by for flat
folders of frames, unreadable images skipped and listed (failing past --max-bad), unknown --slice-by keys refused
with the keys present, identical/overlapping inputs warned."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from simgen.gap import data as D
from simgen.gap.run import GapInputError, check_sizes, run_gap


def _img(path: Path, seed: int, size=(48, 40)) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _folder(root: Path, groups: dict[str, int], prefix: str = "f") -> Path:
    k = 0
    for sub, n in groups.items():
        for i in range(n):
            _img(root / sub / f"{prefix}_{i:04d}.png", k)
            k += 1
    return root


@pytest.fixture
def no_features(monkeypatch):
    """Feature extraction must not start: every input rule is checked before it."""
    import simgen.gap.features as F

    def boom(*a, **k):
        raise AssertionError("feature extraction started")

    monkeypatch.setattr(F, "extract_features", boom)


def test_size_rule_one_message_with_numbers_before_features(tmp_path, no_features):
    synth = _folder(tmp_path / "s", {"a": 16})
    real = _folder(tmp_path / "r", {"r1": 20, "r2": 6, "r3": 6})  # 32 real, the largest group 20
    with pytest.raises(GapInputError) as info:
        run_gap(synth, real, tmp_path / "o", ["lowlevel"], progress=False)
    msg = str(info.value)
    assert "synthetic 16" in msg and "real 32 in 3 group(s), the largest holding 20" in msg
    assert "N = min(16, (32 - 20) // 2) // 2 = 3" in msg and "need N >= 7" in msg
    assert "at least 14 synthetic and 28 real images outside the largest real group" in msg
    assert len(msg.splitlines()) == 1


def test_size_rule_boundary_matches_compare(tmp_path):
    """The rule is exactly the one compare() applies: N = 7 passes, 6 fails."""
    from simgen.gap.stats import compare

    def items(groups):
        return [D.ImageItem(id=f"{g}/{i}", source="x", group=g) for g, n in groups.items() for i in range(n)]

    ok_s, ok_r = items({"s": 14}), items({"a": 10, "b": 10, "c": 10, "d": 10})  # (40 - 10) // 2 = 15
    check_sizes(ok_s, ok_r, Path("s"), Path("r"))
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(4), 10)
    compare(rng.normal(size=(14, 3)), rng.normal(size=(40, 3)), codes, metrics=["fd"], reps=2,
            rng=np.random.default_rng(1))
    with pytest.raises(GapInputError, match="= 6, need N >= 7"):
        check_sizes(items({"s": 13}), ok_r, Path("s"), Path("r"))


def test_flat_folder_of_frames_groups_by_runs(tmp_path, no_features):
    real = tmp_path / "flat"
    for i in list(range(0, 120)) + list(range(300, 330)):
        _img(real / f"frame_{i:06d}.png", i)
    items = D.discover(real)
    assert len({it.group for it in items}) == 1  # the default: one recording, one group
    runs = D.regroup(D.discover(real), "runs")
    sizes = sorted(np.unique([it.group for it in runs], return_counts=True)[1].tolist())
    assert sizes == [20, 30, 50, 50]  # 0-49, 50-99, 100-119 (a gap follows), 300-329
    by_regex = D.regroup(D.discover(real), r"pattern:frame_(\d\d\d\d)")
    assert {it.group for it in by_regex} == {"0000", "0001", "0003"}  # frame_0000xx, 0001xx, 0003xx
    sub = _folder(tmp_path / "sub", {"a": 3, "b": 2})
    assert {it.group for it in D.regroup(D.discover(sub), "subfolder")} == {"a", "b"}
    with pytest.raises(D.GapDataError, match="--group-by must be one of auto, subfolder, pattern, runs"):
        D.parse_group_by("bogus")
    # end to end: refused as one group without --group-by, accepted past the size rule with it
    synth = _folder(tmp_path / "s", {"a": 20})
    with pytest.raises(GapInputError, match="one group.*--group-by runs"):
        run_gap(synth, real, tmp_path / "o", ["lowlevel"], progress=False)
    with pytest.raises(AssertionError, match="feature extraction started"):
        run_gap(synth, real, tmp_path / "o", ["lowlevel"], progress=False, group_by="runs")


def test_unreadable_and_tiny_images_are_skipped_and_listed(tmp_path):
    root = _folder(tmp_path / "r", {"a": 20})
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    cv2.imwrite(str(root / "a" / "dot.png"), np.zeros((1, 1, 3), np.uint8))
    items = D.discover(root)
    good, bad = D.screen(items, "real", "2")
    assert len(good) == 20 and sorted(Path(s).name for s, _ in bad) == ["broken.png", "dot.png"]
    assert any("1x1 pixels is too small" in why for _, why in bad)
    with pytest.raises(D.GapDataError, match=r"2 of 22 image\(s\) are unreadable or too small, more than "
                                             r"--max-bad allows \(1\)"):
        D.screen(items, "real", "1")
    assert D.parse_max_bad("10%", 22) == 2
    with pytest.raises(D.GapDataError, match="--max-bad must be"):
        D.parse_max_bad("lots", 22)


def test_bad_images_are_listed_in_the_report_notes(tmp_path, monkeypatch, capsys):
    synth = _folder(tmp_path / "s", {"a": 16})
    real = _folder(tmp_path / "r", {"r1": 10, "r2": 10, "r3": 10, "r4": 10})
    (real / "r1" / "f_9999.png").write_bytes(b"garbage")
    import simgen.gap.features as F

    seen = {}

    def fake(items, *a, **k):
        seen.setdefault("n", []).append(len(items))
        raise RuntimeError("stop here")

    monkeypatch.setattr(F, "extract_features", fake)
    with pytest.raises(RuntimeError, match="stop here"):
        run_gap(synth, real, tmp_path / "o", ["lowlevel"], progress=True)
    err = capsys.readouterr().err
    assert "skipped real" in err and "f_9999.png" in err
    assert seen["n"] == [16]  # the synthetic side reached feature extraction; the bad real file was set aside


def _dataset(root: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        rel = f"s/v0000-s0/{i:06d}.rgb.png"
        _img(root / rel, i)
        rows.append({"sample_id": f"s/v0000-s0/{i:06d}", "scene": "s", "variant": 0, "frame": i, "seed": 0,
                     "sequence": "s/v0000-s0", "tags": ["day"], "knobs": {"weather": "rain", "fog": 0.1},
                     "files": {"rgb": rel}})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_unknown_slice_key_lists_the_keys_present(tmp_path, no_features):
    synth = _dataset(tmp_path / "ds", 16)
    real = _folder(tmp_path / "r", {"a": 10, "b": 10, "c": 10, "d": 10})
    with pytest.raises(GapInputError) as info:
        run_gap(synth, real, tmp_path / "o", ["lowlevel"], slice_by="weather,lighting", progress=False)
    msg = str(info.value)
    assert msg.startswith("--slice-by lighting: no synthetic image carries this key; keys present:")
    assert "weather" in msg and "fog" in msg and "tag" in msg and "scene" in msg


def test_identical_and_overlapping_inputs_are_warned(tmp_path, capsys):
    a = _folder(tmp_path / "a", {"x": 3, "y": 3})
    assert "are the same" in D.input_overlap(a, a, [], [])
    assert "lies inside" in D.input_overlap(a / "x", a, [], [])
    b = tmp_path / "b"
    b.mkdir()
    (b / "same.png").symlink_to(a / "x" / "f_0000.png")
    msg = D.input_overlap(a, b, D.discover(a), D.discover(b))
    assert msg == "1 image file(s) are in both inputs"
    assert D.input_overlap(a / "x", a / "y", D.discover(a / "x"), D.discover(a / "y")) is None
    with pytest.raises(GapInputError):  # too few anyway; the warning comes first
        run_gap(a, a, tmp_path / "o", ["lowlevel"], progress=True)
    err = capsys.readouterr().err
    assert "warning" in err and "are the same" in err


def test_cli_option_values_are_usage_errors(tmp_path, capsys):
    from simgen.cli import main

    a = _folder(tmp_path / "a", {"x": 2})
    assert main(["gap", str(a), str(a), "--out", str(tmp_path / "o"), "--group-by", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "--group-by must be one of" in err and len(err.strip().splitlines()) == 1
    assert main(["gap", str(a), str(a), "--out", str(tmp_path / "o"), "--max-bad", "x"]) == 2
    assert "--max-bad" in capsys.readouterr().err
