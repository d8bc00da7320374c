"""``simgen export``: a native dataset -> the formats training code already reads.

Every exporter streams the selected manifest rows through :class:`simgen.io.DatasetReader` (memory does not grow
with the dataset), writes each sample's files all-or-nothing (:func:`simgen.io.atomic.staged_files`) and then
appends a line to ``OUT/simgen_samples.jsonl`` (the ledger: index, sample id, files written). Re-running the same
export completes what is missing: samples whose ledger line exists and whose files are all present are not
redone. A sample that cannot be read (a missing or corrupt file) is skipped with a one-line message naming the
file; the export goes on. Parts of a sample the format cannot hold (e.g. objects of a class KITTI has no type
for) are counted as notes with the reason.

Formats: ``kitti`` (:mod:`.kitti`), ``coco`` (:mod:`.coco`), ``cityscapes`` (:mod:`.cityscapes`), ``shards``
(:mod:`.shards`).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import simgen
from simgen.errors import OutputError, SimgenError
from simgen.io import formats
from simgen.io.dataset import DatasetError, DatasetReader, ManifestRow
from simgen.io.select import parse_filter, select

FORMATS = ("kitti", "coco", "cityscapes", "shards")
LEDGER = "simgen_samples.jsonl"
STATE = "simgen_export.json"


class SkipSample(Exception):
    """Raised by an exporter for a sample its format cannot hold; the message (the reason) goes to the summary."""


class ExportError(SimgenError):
    """An export that cannot start (unknown format, an OUT folder holding another export)."""


@dataclass
class ExportSummary:
    """What an export did. exported: samples written now; already: samples found complete from an earlier run;
    skipped: one message per sample that could not be exported (naming the file); notes: reason -> count of
    parts left out (objects of unmapped classes, flow of a last frame, ...)."""

    format: str
    out: Path
    selected: int = 0
    exported: int = 0
    already: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)
    manifest_problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.format}: {self.selected} sample(s) selected, {self.exported} exported, "
               f"{self.already} already complete, {len(self.skipped)} skipped -> {self.out}"]
        out += [f"  skipped manifest row: {p}" for p in self.manifest_problems]
        out += [f"  skipped sample: {s}" for s in self.skipped]
        out += [f"  left out {n}x: {reason}" for reason, n in sorted(self.notes.items())]
        return out


class Exporter:
    """Base of the format writers. ``write`` exports one sample and returns (ledger records, notes); a record is
    a dict with at least ``sample_id``, ``index`` and ``outputs`` (paths relative to OUT). ``finish`` writes what
    covers all samples (COCO JSON, Parquet manifest) from the complete ledger and may return late records."""

    name = ""

    def __init__(self, reader: DatasetReader, out: Path, **options):
        self.reader = reader
        self.out = out
        self.options = options

    def order(self, rows: list[ManifestRow]) -> list[ManifestRow]:
        return rows

    def write(self, row: ManifestRow, index: int) -> tuple[list[dict], list[str]]:
        raise NotImplementedError

    def flush(self) -> list[dict]:
        """Records of samples written but not yet committed (shards close their open tar here)."""
        return []

    def abort(self) -> None:
        """The export stops early: drop unfinished work (temporary files)."""

    def finish(self, records: list[dict]) -> None:
        pass


def _exporter(fmt: str) -> type[Exporter]:
    if fmt == "kitti":
        from simgen.io.export.kitti import KittiExporter as cls
    elif fmt == "coco":
        from simgen.io.export.coco import CocoExporter as cls
    elif fmt == "cityscapes":
        from simgen.io.export.cityscapes import CityscapesExporter as cls
    elif fmt == "shards":
        from simgen.io.export.shards import ShardExporter as cls
    else:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return cls


def read_ledger(out: Path) -> dict[str, dict]:
    """sample_id -> its last ledger record (a torn last line from a crash is ignored)."""
    path = Path(out) / LEDGER
    records: dict[str, dict] = {}
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "sample_id" in rec:
            records[rec["sample_id"]] = rec
    return records


def _append(path: Path, records: list[dict]) -> None:
    if not records:
        return
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _prepare_out(out: Path, fmt: str, source: Path, selection: dict) -> None:
    try:
        if out.exists() and not out.is_dir():
            raise OutputError(f"output path {out} exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write to output folder {out}: {err.strerror or err}") from err
    state = out / STATE
    if state.is_file():
        try:
            old = formats.read_json(state)
        except (OSError, json.JSONDecodeError) as err:
            raise ExportError(f"{state}: not readable JSON ({err}); remove it or choose another --out") from None
        if old.get("format") != fmt or old.get("selection") != selection:
            raise ExportError(f"{out} holds another export ({old.get('format')}, {old.get('selection')}); "
                              f"choose another --out")
    else:
        if any(p for p in out.iterdir() if not p.name.startswith(".")):
            raise ExportError(f"{out} is not empty and holds no simgen export; choose an empty or new --out")
        formats.write_json(state, {"format": fmt, "source": str(source.resolve()), "selection": selection,
                                   "simgen_version": simgen.__version__})


def export_dataset(
    source: str | Path,
    fmt: str,
    out: str | Path,
    *,
    split: str | Sequence[str] | None = None,
    shares: dict[str, float] | None = None,
    split_seed: int = 0,
    filters: Sequence[str] = (),
    on_progress: Callable[[int, int], None] | None = None,
    **options,
) -> ExportSummary:
    """Export the selected samples of the native dataset ``source`` to ``out`` in format ``fmt``.

    split / shares / split_seed / filters: see :mod:`simgen.io.select`. options go to the format's exporter
    (shards: ``shard_samples``, ``shard_bytes``, ``keep_order``, ``seed``). on_progress(done, total) is called
    after every sample. Returns the :class:`ExportSummary`; raises :class:`ExportError` / :class:`OutputError`
    only for problems that stop the whole export.
    """
    cls = _exporter(fmt)
    parsed = [parse_filter(f) for f in filters]
    source, out = Path(source), Path(out)
    reader = DatasetReader(source, strict=False)
    rows = select(reader.entries, parsed, split, shares, split_seed)
    selection = {"split": split if split is None or isinstance(split, str) else list(split),
                 "shares": shares, "split_seed": split_seed, "filters": list(filters),
                 **{k: v for k, v in options.items() if k in ("keep_order", "seed", "shard_samples")}}
    _prepare_out(out, fmt, source, selection)
    summary = ExportSummary(fmt, out, selected=len(rows), manifest_problems=list(reader.problems))
    exporter = cls(reader, out, split_name=split if isinstance(split, str) else "all", **options)
    ledger = read_ledger(out)
    next_index = 1 + max((int(r["index"]) for r in ledger.values()), default=-1)
    ledger_path = out / LEDGER
    ordered = exporter.order(rows)
    # ledger lines are appended in batches (one fsync per second at most); a crash loses at most the last batch,
    # whose samples are then simply written again
    pending: list[dict] = []
    last_flush = time.monotonic()
    try:
        for done, row in enumerate(ordered, start=1):
            rec = ledger.get(row.sample_id)
            if rec is not None and all((out / p).is_file() for p in rec.get("outputs", [])):
                summary.already += 1
            else:
                if rec is not None:
                    index = int(rec["index"])
                else:
                    index, next_index = next_index, next_index + 1
                try:
                    records, notes = exporter.write(row, index)
                except (DatasetError, SkipSample) as err:
                    summary.skipped.append(str(err))
                else:
                    summary.exported += 1
                    summary.notes.update(notes)
                    pending += records
                    ledger.update({r["sample_id"]: r for r in records})
            if pending and time.monotonic() - last_flush > 1.0:
                _append(ledger_path, pending)
                pending, last_flush = [], time.monotonic()
            if on_progress is not None:
                on_progress(done, len(ordered))
        late = exporter.flush()
        pending += late
        ledger.update({r["sample_id"]: r for r in late})
    except BaseException:
        exporter.abort()
        raise
    finally:
        _append(ledger_path, pending)  # what was completed, also when interrupted
    selected_ids = {r.sample_id for r in rows}
    exporter.finish(sorted((r for r in ledger.values() if r["sample_id"] in selected_ids),
                           key=lambda r: int(r["index"])))
    return summary
