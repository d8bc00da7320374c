"""The commit survives faults: a sequence folder and its manifest rows appear together or not at all.

Fault injection at every step (park, rename, manifest rewrite, disk full in the writer) and process death between
steps; afterwards the dataset passes the one integrity check and a re-run completes it. The manifest with
unreadable lines is reported with line numbers; repair drops rows whose files are missing, never a file."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simgen.io import commit as C
from simgen.io.dataset import DatasetReader, DatasetWriter
from tests.conftest import snapshot_files

REPO = Path(__file__).resolve().parents[2]


def _stage(root: Path, rel: str, frames: int, tag: str, pid: int | None = None) -> Path:
    """A finished sequence in a staging folder, as the pipeline leaves it: frame files + rows.jsonl."""
    staging = root / f"{C.STAGING_PREFIX}{pid or os.getpid()}"
    seq = staging / rel
    seq.mkdir(parents=True)
    cid = C.new_commit_id()
    rows = []
    for t in range(frames):
        (seq / f"{t:06d}.rgb.png").write_bytes(f"{tag}-{t}".encode())
        (seq / f"{t:06d}.meta.json").write_text(json.dumps({"frame": t, "tag": tag}))
        rows.append({"sample_id": f"{rel}/{t:06d}", "scene": rel.split("/")[0], "variant": 0, "frame": t,
                     "sequence": rel, "commit": cid, "source": f"/scenes/{tag}.yaml",
                     "files": {"rgb": f"{rel}/{t:06d}.rgb.png", "meta": f"{rel}/{t:06d}.meta.json"}})
    (seq / C.ROWS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return staging


_snapshot = snapshot_files


@pytest.fixture
def dataset(tmp_path):
    """A dataset holding s/v0000-s0 (2 frames, 'old') and t/v0000-s0 (1 frame)."""
    root = tmp_path / "ds"
    DatasetWriter(root)
    for rel, n in (("s/v0000-s0", 2), ("t/v0000-s0", 1)):
        st = _stage(root, rel, n, "old")
        C.commit_sequence(root, st, rel)
        import shutil

        shutil.rmtree(st)
    assert C.verify(root) == []
    return root


def test_commit_adds_folder_and_rows_together(dataset):
    st = _stage(dataset, "s/v0000-s1", 3, "new")
    C.commit_sequence(dataset, st, "s/v0000-s1")
    reader = DatasetReader(dataset)
    assert reader.verify() == []
    assert {k: len(v) for k, v in reader.sequences().items()} == {"s/v0000-s0": 2, "t/v0000-s0": 1,
                                                                   "s/v0000-s1": 3}


@pytest.mark.parametrize("step", ["park", "rename", "manifest"])
def test_a_failing_step_leaves_the_dataset_unchanged_and_a_rerun_completes(dataset, step):
    before = _snapshot(dataset)
    st = _stage(dataset, "s/v0000-s0", 3, "new")  # replaces the existing sequence

    def fault(at):
        if at == step:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(C.OutputError, match=f"{step}: No space left on device.*unchanged"):
        C.commit_sequence(dataset, st, "s/v0000-s0", faults=fault)
    import shutil

    shutil.rmtree(st)  # the pipeline removes its staging folder
    assert _snapshot(dataset) == before
    assert C.verify(dataset) == []
    st = _stage(dataset, "s/v0000-s0", 3, "new")  # a re-run
    C.commit_sequence(dataset, st, "s/v0000-s0")
    reader = DatasetReader(dataset)
    assert reader.verify() == [] and len(reader.sequences()["s/v0000-s0"]) == 3
    assert (dataset / "s/v0000-s0/000002.rgb.png").read_bytes() == b"new-2"


def test_disk_full_inside_the_manifest_writer(dataset, monkeypatch):
    """A patched writer that fills the disk half-way through the new manifest."""
    before = _snapshot(dataset)
    st = _stage(dataset, "u/v0000-s0", 2, "new")
    real = C.atomic_write_text

    def full(path, text):
        if Path(path).name == C.MANIFEST:
            def half(p):
                Path(p).write_text(text[: len(text) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

            from simgen.io.atomic import atomic_write

            return atomic_write(path, half)
        return real(path, text)

    monkeypatch.setattr(C, "atomic_write_text", full)
    with pytest.raises(C.OutputError, match="No space left"):
        C.commit_sequence(dataset, st, "u/v0000-s0")
    import shutil

    shutil.rmtree(st)
    assert _snapshot(dataset) == before and C.verify(dataset) == []


_DIE = r"""
import os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from tests.io.test_commit import _stage
from simgen.io import commit as C
root, rel, step = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
st = _stage(root, rel, 3, "new")
C.commit_sequence(root, st, rel, faults=lambda at: os._exit(9) if at == step else None)
"""


@pytest.mark.parametrize("step", ["park", "rename", "manifest", "cleanup"])
def test_process_death_between_steps_is_recovered(dataset, step):
    """kill -9 between any two steps: the journal remains; repair (or the next render) completes or undoes it."""
    old = _snapshot(dataset)
    r = subprocess.run([sys.executable, "-c", _DIE, str(dataset), "s/v0000-s0", step, str(REPO)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 9, r.stderr
    problems = C.verify(dataset)
    assert any("unfinished commit" in p for p in problems)
    rep = C.repair(dataset)
    assert C.verify(dataset) == [], C.verify(dataset)
    assert not list(dataset.glob(".staging-*")) and not list(dataset.glob(".commit-*"))
    reader = DatasetReader(dataset)
    seq = reader.sequences()["s/v0000-s0"]
    # the new sequence was whole in its staging folder, so the commit is completed
    assert len(seq) == 3 and (dataset / "s/v0000-s0/000002.rgb.png").read_bytes() == b"new-2", rep.actions
    assert len(reader.sequences()["t/v0000-s0"]) == 1
    assert {k for k in old if k.startswith("t/")} <= set(_snapshot(dataset))


def test_recover_puts_back_a_parked_sequence_when_the_new_one_is_gone(dataset):
    st = _stage(dataset, "s/v0000-s0", 3, "new", pid=999_999_99)
    before = _snapshot(dataset)
    journal = dataset / f"{C.JOURNAL_PREFIX}99999999.json"
    journal.write_text(json.dumps({"sequence": "s/v0000-s0", "staging": st.name, "commit": "x", "drop": []}))
    (st / ".parked").mkdir()
    os.replace(dataset / "s/v0000-s0", st / ".parked" / "0")
    import shutil

    shutil.rmtree(st / "s")  # the new sequence is lost
    assert "s/v0000-s0" not in C.sequence_folders(dataset)
    C.recover(dataset)
    after = _snapshot(dataset)
    assert {k: v for k, v in after.items() if k != "manifest.jsonl"} == {
        k: v for k, v in before.items() if not k.startswith(".staging") and k != "manifest.jsonl"}
    assert (dataset / "s/v0000-s0/000001.rgb.png").read_bytes() == b"old-1"
    assert C.verify(dataset) == []


def test_unreadable_manifest_lines_are_reported_with_numbers(dataset):
    lines = (dataset / C.MANIFEST).read_text().splitlines()
    lines.insert(1, "{not json")
    lines.insert(3, '"a string"')
    (dataset / C.MANIFEST).write_text("\n".join(lines) + "\n")
    with pytest.raises(C.ManifestError, match=r"2 unreadable line\(s\): 2, 4 .*simgen repair"):
        C.require_readable_manifest(dataset)
    with pytest.raises(C.ManifestError, match=r"2, 4"):
        DatasetReader(dataset)
    assert any(":2: not valid JSON" in p for p in C.verify(dataset))
    rep = C.repair(dataset)
    assert any("dropped line 2" in a for a in rep.actions) and any("dropped line 4" in a for a in rep.actions)
    assert C.verify(dataset) == [] and len(DatasetReader(dataset)) == 3


def test_repair_drops_rows_of_missing_files_and_never_deletes_data(dataset):
    (dataset / "s/v0000-s0/000001.rgb.png").unlink()  # a file lost
    (dataset / C.MANIFEST).write_text(
        "".join(l + "\n" for l in (dataset / C.MANIFEST).read_text().splitlines() if "t/v0000-s0" not in l))
    orphan = dataset / "x" / "v0000-s0"
    orphan.mkdir(parents=True)
    (orphan / "000000.rgb.png").write_bytes(b"keep me")
    files_before = set(_snapshot(dataset))
    problems = C.verify(dataset)
    assert any("missing s/v0000-s0/000001.rgb.png" in p for p in problems)
    assert any("t/v0000-s0: a sequence folder without manifest rows" in p for p in problems)
    rep = C.repair(dataset)
    assert rep.dropped_rows == ["s/v0000-s0/000001 (missing s/v0000-s0/000001.rgb.png)"]
    assert rep.restored_rows == 1  # t/ came back from its rows.jsonl
    assert rep.unindexed == ["x/v0000-s0"]
    assert set(_snapshot(dataset)) >= files_before - {"manifest.jsonl"}  # no file deleted
    assert [p for p in C.verify(dataset) if "x/v0000-s0" not in p] == []


def test_repair_cli(dataset, capsys):
    from simgen.cli import main

    (dataset / C.MANIFEST).write_text((dataset / C.MANIFEST).read_text() + "garbage\n")
    assert main(["repair", str(dataset), "--dry-run"]) == 1
    out = capsys.readouterr()
    assert f"{C.MANIFEST}:4: not valid JSON" in out.out and "simgen repair" in out.err
    assert main(["repair", str(dataset)]) == 0
    assert "dropped line 4" in capsys.readouterr().out
    assert main(["repair", str(dataset), "--dry-run"]) == 0
    # --verify read decodes the files: these stand-ins are not PNGs, and each is reported
    assert main(["repair", str(dataset), "--dry-run", "--verify", "read"]) == 1
    assert capsys.readouterr().out.count("unreadable file") == 3
