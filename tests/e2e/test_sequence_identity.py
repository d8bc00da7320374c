"""Sequence identity (scene file, variant, seed), replacement in one line, same-name files refused unless
--replace, a commit fault leaves the dataset as it was, and --frames N keeps the flow contract on frame N-1."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.blender, pytest.mark.slow]
QUICKSTART = REPO / "scenes" / "quickstart.yaml"
CONFIG = str(REPO / "render_configs" / "test.yaml")


def _snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_truncated_sequence_keeps_the_flow_contract(tmp_path, bpy_module):
    from simgen.io.dataset import DatasetReader
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    out = tmp_path / "ds"
    summary = render_scene(QUICKSTART, out, cfg=load_render_config("test"), seed=1, frames=2)  # the scene has 4
    assert summary.sequence == "quickstart/v0000-s1"
    reader = DatasetReader(out)
    assert reader.verify() == []
    first, last = sorted(reader.rows, key=lambda r: r["frame"])
    assert last["frame"] == 1
    # frame N-1 has no forward flow (frame N is not in the dataset), and its backward flow is complete
    assert "flow_fwd" not in last["files"] and "flow_fwd_occlusion" not in last["files"]
    assert {"flow_bwd", "flow_bwd_occlusion"} <= set(last["files"])
    assert {"flow_fwd", "flow_fwd_occlusion", "flow_bwd"} - set(first["files"]) == {"flow_bwd"}
    for row in (first, last):
        for d in ("fwd", "bwd"):
            assert (f"flow_{d}" in row["files"]) == (f"flow_{d}_occlusion" in row["files"])
    on_disk = sorted(p.name for p in (out / "quickstart" / "v0000-s1").glob("000001.*"))
    assert not [n for n in on_disk if "flow_fwd" in n]


def test_sequence_key_replacement_same_name_and_commit_fault(tmp_path, bpy_module, capsys):
    from simgen.cli import main
    from simgen.errors import OutputError
    from simgen.io.commit import verify
    from simgen.io.dataset import DatasetReader
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    out = tmp_path / "ds"
    args = ["--out", str(out), "--config", CONFIG, "--frames", "1", "--no-progress"]
    assert main(["render", str(QUICKSTART), "--seed", "1", *args]) == 0
    assert main(["render", str(QUICKSTART), "--seed", "2", *args]) == 0  # a different seed adds a sequence
    assert set(DatasetReader(out).sequences()) == {"quickstart/v0000-s1", "quickstart/v0000-s2"}
    capsys.readouterr()
    assert main(["render", str(QUICKSTART), "--seed", "1", *args]) == 0  # the same key replaces, and says so
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "replaced" in line] == [
        line for line in err.splitlines() if "replaced quickstart/v0000-s1 (same scene file, variant and seed)" in line]
    assert "replaced quickstart/v0000-s1" in err
    reader = DatasetReader(out)
    assert {k: len(v) for k, v in reader.sequences().items()} == {"quickstart/v0000-s1": 1,
                                                                   "quickstart/v0000-s2": 1}
    assert reader.verify() == []

    # another file with the same scene name: an error naming both, nothing written; --replace takes over
    other = tmp_path / "elsewhere" / "quickstart.yaml"
    other.parent.mkdir()
    shutil.copy(QUICKSTART, other)
    before = _snapshot(out)
    assert main(["render", str(other), "--seed", "3", *args]) == 1
    err = capsys.readouterr().err
    assert "scene name 'quickstart' is already in" in err and str(QUICKSTART.resolve()) in err
    assert "--replace" in err and len(err.strip().splitlines()) == 1
    assert _snapshot(out) == before
    assert main(["render", str(other), "--seed", "3", "--replace", *args]) == 0
    reader = DatasetReader(out)
    assert set(reader.sequences()) == {"quickstart/v0000-s3"}
    assert {r["source"] for r in reader.rows} == {str(other.resolve())}
    assert not (out / "quickstart" / "v0000-s1").exists() and reader.verify() == []

    # a commit that fails (the disk fills while the manifest is rewritten): the dataset is as it was
    before = _snapshot(out)

    def disk_full(step):
        if step == "manifest":
            raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        render_scene(other, out, cfg=load_render_config("test"), seed=4, frames=1, faults=disk_full)
    assert _snapshot(out) == before and verify(out) == []
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    render_scene(other, out, cfg=load_render_config("test"), seed=4, frames=1)  # a re-run completes it
    assert set(DatasetReader(out).sequences()) == {"quickstart/v0000-s3", "quickstart/v0000-s4"}
    assert verify(out) == []
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert all(r["sample_id"].startswith(r["sequence"] + "/") for r in rows)
