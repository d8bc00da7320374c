"""The sequence key without Blender: folder names from variant, seed and sweep point; the dataset check a render
does before it starts (same key replaced, same scene name from another file refused, corrupt manifest refused)."""

from __future__ import annotations

import json

import pytest

from simgen.errors import SimgenError
from simgen.io.commit import ManifestError
from simgen.pipeline import is_sweep, plan_sequence, sequence_name
from tests.conftest import REPO


def test_sequence_names_carry_variant_seed_and_sweep_point():
    assert sequence_name(0, 0) == "v0000-s0"
    assert sequence_name(3, 17) == "v0003-s17"
    assert sequence_name(5, 1, REPO / "scenes/sweeps/weather_time.yaml") == "weather_time-p0005-s1"
    assert sequence_name(0, 0, "odd name!.yaml") == "odd_name_-p0000-s0"
    # a sweep point never lands where a plain render of its base scene does, whatever the seed
    assert {sequence_name(0, s) for s in range(3)}.isdisjoint({sequence_name(0, s, "w.yaml") for s in range(3)})
    assert is_sweep(REPO / "scenes/sweeps/weather_time.yaml") and not is_sweep(REPO / "scenes/quickstart.yaml")


def _dataset(tmp_path, rows):
    (tmp_path / "dataset.json").write_text("{}")
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def _row(seq, source, frame=0):
    return {"sample_id": f"{seq}/{frame:06d}", "scene": seq.split("/")[0], "sequence": seq, "source": source,
            "files": {"rgb": f"{seq}/{frame:06d}.rgb.png"}}


def test_plan_same_key_other_seed_other_file(tmp_path):
    out = _dataset(tmp_path, [_row("q/v0000-s1", "/a/q.yaml"), _row("q/v0000-s1", "/a/q.yaml", 1),
                              _row("r/v0000-s0", "/a/r.yaml")])
    assert plan_sequence(out, "q", "q/v0000-s1", "/a/q.yaml", False) == ([], True)  # replaced
    assert plan_sequence(out, "q", "q/v0000-s2", "/a/q.yaml", False) == ([], False)  # added
    with pytest.raises(SimgenError, match=r"scene name 'q' is already in .* from another file \(/a/q.yaml, "
                                          r"1 sequence\(s\)\); rename the scene .* or pass --replace"):
        plan_sequence(out, "q", "q/v0000-s1", "/b/q.yaml", False)
    assert plan_sequence(out, "q", "q/v0000-s9", "/b/q.yaml", True) == (["q/v0000-s1"], False)
    assert plan_sequence(out, "q", "q/v0000-s1", "/b/q.yaml", True) == ([], True)


def test_plan_refuses_a_corrupt_manifest_with_line_numbers(tmp_path):
    out = _dataset(tmp_path, [_row("q/v0000-s1", "/a/q.yaml")])
    with open(out / "manifest.jsonl", "a") as f:
        f.write("{broken\n" + json.dumps(_row("q/v0000-s1", "/a/q.yaml", 1)) + "\n[1, 2]\n")
    with pytest.raises(ManifestError, match=r"2 unreadable line\(s\): 2, 4 .*simgen repair"):
        plan_sequence(out, "q", "q/v0000-s2", "/a/q.yaml", False)
