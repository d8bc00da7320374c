"""Adding a finished sequence to a dataset so that it survives faults; reading, checking and repairing the manifest.

A sequence is rendered into a staging folder (``ROOT/.staging-<pid>/<scene>/<sequence>/``) that holds every
frame file and the sequence's own manifest rows, ``rows.jsonl``. :func:`commit_sequence` then

1. writes a journal ``ROOT/.commit-<pid>.json`` (what is added, where the replaced sequence is parked),
2. parks an existing sequence of the same key inside the staging folder (rename),
3. renames the new sequence folder into place,
4. rewrites ``manifest.jsonl`` atomically (temp file, fsync, rename): the rows of other sequences, then the new
   rows; this rename is the commit point,
5. removes the journal and the staging folder.

Any error in steps 2-4 (disk full, a failed rename) undoes the steps done, so the dataset is as before. If the
process dies in between, the journal remains: :func:`recover` (run before every render into the dataset and by
``simgen repair``) completes the commit when the new sequence is whole, else restores the parked one. So a
sequence folder and its manifest rows appear together or not at all, and nothing that exists is deleted.

The global manifest can always be rebuilt from the sequences' ``rows.jsonl``; :func:`verify` is the integrity
check (every row's files exist, every sequence folder has rows, no unfinished commit), :func:`repair` fixes what
it finds without deleting any file.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from simgen.errors import OutputError, SimgenError
from simgen.io.atomic import atomic_write_text, fsync_dir

MANIFEST = "manifest.jsonl"
ROWS = "rows.jsonl"
JOURNAL_PREFIX = ".commit-"
STAGING_PREFIX = ".staging-"


class ManifestError(SimgenError):
    """manifest.jsonl has lines that are not JSON rows (their numbers are in the message)."""


def _dumps(row: dict) -> str:
    return json.dumps(row, allow_nan=False, separators=(",", ":"))


def sequence_of(row: dict) -> str | None:
    """The sequence folder (relative to the root, posix) a manifest row belongs to."""
    seq = row.get("sequence")
    if isinstance(seq, str) and seq:
        return seq
    files = row.get("files")
    if isinstance(files, dict):
        for modality in ("meta", "rgb", *files):
            rel = files.get(modality)
            if isinstance(rel, str) and "/" in rel:
                parts = rel.split("/")
                # <scene>/<sequence>/[<camera>/]<file>: rows without "sequence" come from the layout's first two levels
                return "/".join(parts[:2])
    return None


@dataclass
class Manifest:
    """The parsed manifest: ``rows`` in file order, ``bad`` = [(line number, reason)] for lines that are not rows,
    ``truncated``: the last line was cut short (an append interrupted by a crash)."""

    path: Path
    rows: list[dict] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)
    truncated: bool = False

    def problem(self) -> str | None:
        if not self.bad:
            return None
        nums = ", ".join(str(n) for n, _ in self.bad[:10]) + (" ..." if len(self.bad) > 10 else "")
        first = self.bad[0]
        return (f"{self.path}: {len(self.bad)} unreadable line(s): {nums} (line {first[0]}: {first[1]}); "
                f"run 'simgen repair {self.path.parent}'")


def read_manifest(root: str | Path) -> Manifest:
    """Parse ``root/manifest.jsonl`` line by line (a missing manifest is empty). Never raises on content."""
    path = Path(root) / MANIFEST
    m = Manifest(path)
    if not path.exists():
        return m
    try:
        data = path.read_bytes()
    except OSError as err:
        raise OutputError(f"cannot read {path}: {err.strerror or err}") from err
    lines = data.split(b"\n")
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if i == len(lines) and not data.endswith(b"\n"):
                m.truncated = True
                continue
            m.bad.append((i, f"not valid JSON ({err.msg if hasattr(err, 'msg') else err})"))
            continue
        if not isinstance(row, dict) or not isinstance(row.get("files"), dict):
            m.bad.append((i, "not a manifest row (a JSON object with 'files')"))
            continue
        m.rows.append(row)
    return m


def require_readable_manifest(root: str | Path) -> Manifest:
    """The manifest, or :class:`ManifestError` naming every unreadable line."""
    m = read_manifest(root)
    msg = m.problem()
    if msg:
        raise ManifestError(msg)
    return m


# -- commit -------------------------------------------------------------------------------------------------


def _write_manifest(root: Path, rows: list[dict]) -> None:
    atomic_write_text(root / MANIFEST, "".join(_dumps(r) + "\n" for r in rows))


def _read_rows_file(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def commit_sequence(root: Path, staging: Path, rel: str, *, drop: tuple[str, ...] = (), faults=None) -> None:
    """Move the finished sequence ``staging/rel`` to ``root/rel`` and rewrite the manifest (see module doc).

    rel: ``<scene>/<sequence>``; ``staging/rel/rows.jsonl`` holds its rows. drop: other sequence folders (relative)
    whose rows leave the manifest (their folders are parked and removed after the commit), for ``--replace``.
    faults: test hook, a callable ``faults(step)`` called before each step (``park``, ``rename``, ``manifest``,
    ``cleanup``).
    Raises :class:`OutputError` after undoing the steps done when a step fails."""
    root, staging = Path(root), Path(staging)
    new = staging / rel
    rows = _read_rows_file(new / ROWS)
    commit_id = rows[0].get("commit") if rows else None
    target = root / rel
    parked = staging / ".parked"
    journal = root / f"{JOURNAL_PREFIX}{os.getpid()}.json"
    moves: list[tuple[Path, Path]] = []  # (from, to) renames done, for the undo
    step = "journal"
    hit = faults or (lambda s: None)
    try:
        atomic_write_text(journal, json.dumps({"sequence": rel, "staging": staging.name, "commit": commit_id,
                                               "drop": list(drop)}))
        step = "park"
        hit(step)
        parked.mkdir(exist_ok=True)
        for i, old_rel in enumerate((rel, *drop)):
            old = root / old_rel
            if old.exists():
                dest = parked / str(i)
                os.replace(old, dest)
                moves.append((old, dest))
        step = "rename"
        hit(step)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(new, target)
        moves.append((new, target))
        fsync_dir(target.parent)
        step = "manifest"
        hit(step)
        gone = {rel, *drop}
        kept = [r for r in read_manifest(root).rows if sequence_of(r) not in gone]
        _write_manifest(root, kept + rows)  # the commit point
    except BaseException as err:
        if step == "manifest" and _has_commit(root, commit_id):  # the rename happened: the commit is done
            raise
        undone = True
        for src, dst in reversed(moves):  # undo: put everything back where it was
            try:
                os.replace(dst, src)
            except OSError:
                undone = False  # the journal stays; recover() finishes the job
        if undone:
            journal.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise OutputError(f"could not add {rel} to {root} ({step}: {err.strerror or err}); "
                              f"the dataset is unchanged") from err
        raise
    hit("cleanup")
    journal.unlink(missing_ok=True)
    shutil.rmtree(parked, ignore_errors=True)


def _has_commit(root: Path, commit_id: str | None) -> bool:
    try:
        return commit_id is not None and any(r.get("commit") == commit_id for r in read_manifest(root).rows)
    except SimgenError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(root: str | Path) -> list[str]:
    """Finish or undo commits left by dead processes (their journals), then remove their staging folders.
    Returns one line per action. Nothing that exists is deleted: a whole new sequence is completed, a parked
    old one is put back when the new one is not in place."""
    root = Path(root)
    done: list[str] = []
    for journal in sorted(root.glob(f"{JOURNAL_PREFIX}*.json")):
        try:
            pid = int(journal.stem[len(JOURNAL_PREFIX):])
        except ValueError:
            continue
        if pid != os.getpid() and _pid_alive(pid):  # a commit under way in another process
            continue
        try:
            info = json.loads(journal.read_text())
            rel, staging = info["sequence"], root / info["staging"]
            commit_id, drop = info.get("commit"), list(info.get("drop", []))
        except (OSError, ValueError, KeyError, TypeError):
            done.append(f"ignored an unreadable commit journal {journal.name}")
            journal.unlink(missing_ok=True)
            continue
        target, new, parked = root / rel, staging / rel, staging / ".parked"
        rows_of = lambda d: _read_rows_file(d / ROWS) if (d / ROWS).is_file() else None  # noqa: E731
        placed = target.is_dir() and (rows_of(target) or [{}])[0].get("commit") == commit_id
        if not placed and new.is_dir() and rows_of(new):
            if target.exists():  # the old sequence was not parked yet
                parked.mkdir(exist_ok=True)
                os.replace(target, parked / "0")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(new, target)
            placed = True
        if placed:
            rows = rows_of(target) or []
            gone = {rel, *drop}
            kept = [r for r in read_manifest(root).rows if sequence_of(r) not in gone]
            if [r for r in read_manifest(root).rows if r.get("commit") == commit_id] != rows:
                _write_manifest(root, kept + rows)
            done.append(f"completed the interrupted commit of {rel} ({len(rows)} rows)")
        else:  # the new sequence is gone: put back what was parked
            for i, old_rel in enumerate((rel, *drop)):
                p = parked / str(i)
                if p.exists() and not (root / old_rel).exists():
                    (root / old_rel).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(p, root / old_rel)
            done.append(f"undid the interrupted commit of {rel}")
        journal.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return done


# -- integrity check and repair -----------------------------------------------------------------------------


def sequence_folders(root: str | Path) -> list[str]:
    """Sequence folders ``<scene>/<sequence>`` (relative, posix): non-hidden folders two levels down that hold
    files (frames, ``scene.resolved.json`` or ``rows.jsonl``)."""
    root = Path(root)
    out = []
    for scene in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for seq in sorted(p for p in scene.iterdir() if p.is_dir() and not p.name.startswith(".")):
            out.append(f"{scene.name}/{seq.name}")
    return out


def verify(root: str | Path) -> list[str]:
    """The dataset's integrity problems (empty = sound): unreadable manifest lines, rows whose files are missing,
    sequence folders without rows, unfinished commits."""
    root = Path(root)
    problems: list[str] = []
    m = read_manifest(root)
    for n, why in m.bad:
        problems.append(f"{m.path}:{n}: {why}")
    if m.truncated:
        problems.append(f"{m.path}: the last line is cut short")
    with_rows = set()
    for row in m.rows:
        with_rows.add(sequence_of(row))
        missing = [rel for rel in row["files"].values() if not (root / rel).is_file()]
        if missing:
            problems.append(f"row {row.get('sample_id', '?')}: missing {', '.join(missing[:3])}")
    for seq in sequence_folders(root):
        if seq not in with_rows:
            problems.append(f"{seq}: a sequence folder without manifest rows")
    for journal in root.glob(f"{JOURNAL_PREFIX}*.json"):
        problems.append(f"{journal.name}: an unfinished commit (run 'simgen repair {root}')")
    return problems


@dataclass
class RepairReport:
    actions: list[str] = field(default_factory=list)
    dropped_rows: list[str] = field(default_factory=list)
    restored_rows: int = 0
    unindexed: list[str] = field(default_factory=list)  # folders left alone: no rows anywhere


def repair(root: str | Path, *, dry_run: bool = False) -> RepairReport:
    """Make the manifest match the files: finish/undo interrupted commits, drop unreadable lines and rows whose
    files are missing, re-add the rows of sequence folders that have a ``rows.jsonl`` but no manifest rows.
    Never deletes a file; folders without any rows are reported (``unindexed``) and left in place."""
    root = Path(root)
    if not (root / "dataset.json").is_file():
        raise SimgenError(f"{root} is not a simgen dataset (no dataset.json)")
    rep = RepairReport()
    if not dry_run:
        rep.actions += recover(root)
    m = read_manifest(root)
    for n, why in m.bad:
        rep.actions.append(f"dropped line {n} of {MANIFEST}: {why}")
    if m.truncated:
        rep.actions.append(f"dropped the cut-short last line of {MANIFEST}")
    rows, have = [], set()
    for row in m.rows:
        missing = [rel for rel in row["files"].values() if not (root / rel).is_file()]
        if missing:
            rep.dropped_rows.append(f"{row.get('sample_id', '?')} (missing {missing[0]})")
            continue
        rows.append(row)
        have.add(sequence_of(row))
    for seq in sequence_folders(root):
        if seq in have:
            continue
        rows_file = root / seq / ROWS
        extra = []
        if rows_file.is_file():
            try:
                extra = [r for r in _read_rows_file(rows_file)
                         if all((root / rel).is_file() for rel in r.get("files", {}).values())]
            except (OSError, ValueError):
                extra = []
        if extra:
            rows += extra
            rep.restored_rows += len(extra)
            rep.actions.append(f"re-indexed {seq} from its {ROWS} ({len(extra)} rows)")
        else:
            rep.unindexed.append(seq)
    if rep.dropped_rows:
        rep.actions.append(f"dropped {len(rep.dropped_rows)} row(s) whose files are missing")
    if not dry_run and (m.bad or m.truncated or rep.dropped_rows or rep.restored_rows):
        _write_manifest(root, rows)
    return rep


def new_commit_id() -> str:
    return uuid.uuid4().hex[:12]
