"""WebDataset tar shards plus a Parquet manifest.

```
OUT/shard-<n:06d>.tar     samples; members <key>.<modality>.<ext> (the native files' bytes, lossless) and
                          <key>.row.json (the manifest row)
OUT/manifest.parquet      one row per sample (see :func:`manifest_table`)
```
``<key>`` = ``<i:08d>_<scene>_<sequence>_<camera>_<frame:06d>`` with every character other than letters, digits,
``-`` and ``_`` replaced by ``-`` — no dots, as WebDataset splits the member name at the first dot. Samples are
shuffled across sequences (seeded) before sharding unless ``keep_order``; a shard closes at ``shard_samples``
samples or once it holds ``shard_bytes`` bytes. Each shard is written under a temporary name and renamed when
complete; its samples enter the ledger then, so an interrupted export redoes only the open shard.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np

from simgen.classes import class_table
from simgen.errors import OutputError
from simgen.io.atomic import atomic_write, fsync_dir, fsync_file, temp_path_for
from simgen.io.dataset import ManifestRow
from simgen.io.export import Exporter

MANIFEST = "manifest.parquet"


def sample_key(index: int, row: ManifestRow) -> str:
    raw = f"{row.sequence.replace('/', '_')}_{row.camera}_{row.frame:06d}"
    return f"{index:08d}_" + "".join(c if c.isalnum() or c in "-_" else "-" for c in raw)


def _member_name(key: str, modality: str, rel: str) -> str:
    ext = rel.rsplit(".", 1)[-1]
    return f"{key}.{modality}.{ext}"


class ShardExporter(Exporter):
    name = "shards"

    def __init__(self, reader, out, *, shard_samples: int = 1000, shard_bytes: int = 10**9, keep_order: bool = False,
                 seed: int = 0, **options):
        super().__init__(reader, out, **options)
        if shard_samples < 1 or shard_bytes < 1:
            raise ValueError("shard_samples and shard_bytes must be >= 1")
        self.shard_samples, self.shard_bytes, self.keep_order, self.seed = shard_samples, shard_bytes, keep_order, seed
        done = {r.get("shard") for r in _ledger_records(out)}
        self._next_shard = 1 + max((int(s[6:12]) for s in done if s), default=-1)
        self._tar: tarfile.TarFile | None = None
        self._tmp: Path | None = None
        self._final: Path | None = None
        self._pending: list[dict] = []
        self._bytes = 0

    def order(self, rows: list[ManifestRow]) -> list[ManifestRow]:
        if self.keep_order:
            return rows
        perm = np.random.default_rng(self.seed).permutation(len(rows))
        return [rows[i] for i in perm]

    def _open(self) -> None:
        self._final = self.out / f"shard-{self._next_shard:06d}.tar"
        self._next_shard += 1
        self._tmp = temp_path_for(self._final)
        self._tar = tarfile.open(self._tmp, "w", format=tarfile.USTAR_FORMAT)
        self._bytes = 0

    def flush(self) -> list[dict]:
        """Close the open shard (rename it into place) and return its samples' ledger records."""
        if self._tar is None:
            return []
        self._tar.close()
        try:
            fsync_file(self._tmp)
            os.replace(self._tmp, self._final)
            fsync_dir(self.out)
        except OSError as err:
            raise OutputError(f"cannot write {self._final}: {err.strerror or err}") from None
        self._tar = None
        records, self._pending = self._pending, []
        return records

    def abort(self) -> None:
        if self._tar is not None:
            with contextlib.suppress(OSError, tarfile.TarError):
                self._tar.close()
            with contextlib.suppress(OSError):
                self._tmp.unlink()
            self._tar, self._pending = None, []

    def write(self, row: ManifestRow, index: int) -> tuple[list[dict], list[str]]:
        r = self.reader
        payload: dict[str, bytes] = {}
        key = sample_key(index, row)
        for modality, rel in row.files.items():
            r.read(row, modality)  # decode: a missing or corrupt file skips the sample, never enters a shard
            payload[_member_name(key, modality, rel)] = r.path(row, modality).read_bytes()
        payload[f"{key}.row.json"] = json.dumps(row.raw, sort_keys=True).encode()
        meta = r.meta(row)
        counts = Counter(o.class_name for o in meta.objects if o.visible_pixels > 0)
        if self._tar is None:
            self._open()
        try:
            for name, data in payload.items():
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                self._tar.addfile(info, io.BytesIO(data))
        except OSError as err:
            raise OutputError(f"cannot write {self._tmp}: {err.strerror or err}") from None
        self._bytes += sum(len(d) for d in payload.values())
        self._pending.append({"index": index, "sample_id": row.sample_id, "outputs": [self._final.name],
                              "shard": self._final.name, "key": key, "members": sorted(payload),
                              "sequence": row.sequence, "row": row.raw, "counts": dict(counts)})
        out: list[dict] = []
        if len(self._pending) >= self.shard_samples or self._bytes >= self.shard_bytes:
            out = self.flush()
        return out, []

    def finish(self, records: list[dict]) -> None:
        write_manifest(self.out / MANIFEST, records)


def _ledger_records(out: Path) -> list[dict]:
    from simgen.io.export import read_ledger

    return list(read_ledger(out).values())


def manifest_table(records: list[dict]):
    """A pyarrow Table, one row per sample: index, key, sample_id, scene, sequence (``<scene>/<sequence>``),
    variant (text),
    camera, frame, seed, timestamp, width, height, tags (list of text), knobs (JSON text), row (the native manifest
    row, JSON text), one ``knob.<name>`` column per knob (number,
    boolean or text; null where a sample lacks it), one ``count.<class>`` column per class (visible objects of
    that class, int32), shard and members (list of text)."""
    import pyarrow as pa

    knob_names = sorted({k for rec in records for k in rec["row"].get("knobs", {})})
    names = class_table().names
    cols: dict[str, list] = {c: [] for c in ("index", "key", "sample_id", "scene", "sequence", "variant", "camera", "frame", "seed",
                                             "timestamp", "width", "height", "tags", "knobs", "shard", "members", "row")}
    for rec in records:
        row = rec["row"]
        cols["index"].append(int(rec["index"]))
        cols["key"].append(rec["key"])
        cols["sample_id"].append(rec["sample_id"])
        for k in ("scene", "camera"):
            cols[k].append(str(row.get(k)))
        cols["variant"].append(str(row.get("variant")))
        cols["sequence"].append(str(rec.get("sequence")))
        for k in ("frame", "seed", "width", "height"):
            cols[k].append(row.get(k))
        cols["timestamp"].append(row.get("timestamp"))
        cols["tags"].append([str(t) for t in row.get("tags", [])])
        cols["knobs"].append(json.dumps(row.get("knobs", {}), sort_keys=True))
        cols["shard"].append(rec["shard"])
        cols["members"].append(list(rec["members"]))
        cols["row"].append(json.dumps(row, sort_keys=True))
    arrays = {k: pa.array(v) for k, v in cols.items()}
    for name in knob_names:
        values = [rec["row"].get("knobs", {}).get(name) for rec in records]
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type) or pa.types.is_nested(arr.type):
                raise pa.ArrowInvalid("not a scalar column")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array([None if v is None else json.dumps(v) if not isinstance(v, str) else v for v in values],
                           pa.string())
        arrays[f"knob.{name}"] = arr
    for name in names:
        arrays[f"count.{name}"] = pa.array([int(rec.get("counts", {}).get(name, 0)) for rec in records], pa.int32())
    return pa.table(arrays)


def write_manifest(path: Path, records: list[dict]) -> None:
    import pyarrow.parquet as pq

    table = manifest_table(records)
    atomic_write(path, lambda p: pq.write_table(table, str(p)))
