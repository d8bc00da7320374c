"""Integrity of a batch run: one driver per dataset, job folders, checksums, the commit, the resume check.

Workers render a job into its own folder ``OUT/.job-<id>/`` (a small dataset of one sequence, made by
:func:`simgen.pipeline.render_scene`) and record every file's size and sha256 in
``<scene>/<sequence>/checksums.json``. Only the driver adds a job to ``OUT``: :func:`commit_job` calls
:func:`simgen.io.commit.commit_sequence` (journal, folder rename, atomic manifest rewrite), so the manifest has
one writer and is never left corrupt; a driver killed mid-commit leaves a journal that the next run completes
(:func:`simgen.io.commit.recover`). ``--resume`` skips a job when :func:`verify_job` passes: its folder holds the
job's checksums, every file has the recorded size and hash, and the manifest holds exactly the folder's rows.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

from simgen.errors import OutputError, SimgenError
from simgen.io.atomic import atomic_write_text

CHECKSUMS = "checksums.json"
JOB_PREFIX = ".job-"
STATE_DIR = ".batch"
LOCK = ".batch.lock"


def job_dir(out: Path, job_id: str) -> Path:
    return Path(out) / f"{JOB_PREFIX}{job_id}"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_checksums(root: Path, rel: str, job_id: str) -> Path:
    """Record size and sha256 of every file of the sequence folder ``root/rel`` (paths relative to ``root``)."""
    seq = Path(root) / rel
    files = {}
    for p in sorted(seq.rglob("*")):
        if p.is_file() and p.name != CHECKSUMS:
            files[p.relative_to(root).as_posix()] = [p.stat().st_size, file_digest(p)]
    path = seq / CHECKSUMS
    atomic_write_text(path, json.dumps({"job": job_id, "sequence": rel, "files": files}, indent=0, sort_keys=True))
    return path


def verify_job(out: Path, rel: str, job_id: str, manifest_rows: list[dict] | None, *,
               hashes: bool = True) -> str | None:
    """Why the committed sequence ``rel`` is not a complete, verified output of job ``job_id`` (None: it is).

    manifest_rows: the manifest's rows of ``rel``. hashes: compare sha256 too (else sizes only)."""
    seq = Path(out) / rel
    path = seq / CHECKSUMS
    if not seq.is_dir():
        return "not rendered"
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        files = rec["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no readable {CHECKSUMS}"
    if rec.get("job") != job_id:
        return "rendered by another job (scene, config or frames changed)"
    for name, (size, digest) in files.items():
        p = Path(out) / name
        if not p.is_file():
            return f"missing {name}"
        if p.stat().st_size != size:
            return f"{name} has {p.stat().st_size} bytes, {size} recorded"
        if hashes and file_digest(p) != digest:
            return f"{name} does not match its recorded sha256"
    try:
        rows_file = [json.loads(x) for x in (seq / "rows.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    except (OSError, ValueError):
        return "unreadable rows.jsonl"
    want = sorted(r.get("sample_id") for r in rows_file)
    have = sorted(r.get("sample_id") for r in (manifest_rows or []))
    if not want:
        return "no rows"
    if have != want:
        return f"the manifest has {len(have)} of its {len(want)} rows" if len(have) != len(want) \
            else "the manifest rows differ from the sequence's rows.jsonl"
    for r in rows_file:
        for f in r.get("files", {}).values():
            if f not in files:
                return f"{f} has no checksum"
    return None


class RunLock:
    """An exclusive lock on ``OUT/.batch.lock`` for the driver's lifetime (released by the OS if it dies)."""

    def __init__(self, out: Path):
        self.path = Path(out) / LOCK
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise OutputError(f"cannot write to {self.path.parent}: {err.strerror or err}") from err
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(self.fd, 64, 0).decode(errors="replace").strip()
            os.close(self.fd)
            self.fd = None
            raise SimgenError(f"another simgen batch is running on {self.path.parent} (pid {other or '?'}); "
                              f"wait for it or stop it first") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def prepare_output(out: Path) -> list[str]:
    """Under the run lock: finish or undo commits of dead processes, drop job folders of earlier runs (never
    committed, so never part of the dataset). Returns one line per action."""
    from simgen.io.commit import recover

    out = Path(out)
    lines = recover(out) if out.is_dir() else []
    for d in sorted(out.glob(f"{JOB_PREFIX}*")) if out.is_dir() else []:
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
        else:
            d.unlink(missing_ok=True)
        lines.append(f"removed the unfinished job folder {d.name}")
    return lines


def commit_job(out: Path, job_id: str, rel: str) -> int:
    """Add the finished job folder's sequence to ``out`` (replacing an earlier version of it); returns its rows.

    Raises :class:`SimgenError` when the job folder does not hold a whole sequence (then nothing changes)."""
    from simgen import interrupt
    from simgen.io.commit import ROWS, commit_sequence

    jd = job_dir(out, job_id)
    seq = jd / rel
    if not (seq / ROWS).is_file() or not (seq / CHECKSUMS).is_file():
        raise SimgenError(f"job {job_id}: {seq} is not a finished sequence (no {ROWS} or {CHECKSUMS})")
    rows = sum(1 for line in (seq / ROWS).read_text(encoding="utf-8").splitlines() if line.strip())
    with interrupt.critical():
        commit_sequence(Path(out), jd, rel)
    shutil.rmtree(jd, ignore_errors=True)
    return rows
