"""Slices of the synthetic set: group synthetic images by the value of a manifest knob or tag.

A *slice key* names a knob recorded in the synthetic manifest (``weather``, ``time_of_day``, ``scene``...) or the
special key ``tag`` (``tags`` works too), which puts an image into one slice per tag it carries. Values are found
in :attr:`simgen.gap.data.ImageItem.meta`:

* ``meta[key]`` directly, or a dotted path (``weather.kind`` -> ``meta["weather"]["kind"]``);
* otherwise, the first nested dictionary of ``meta`` holding ``key`` (so a manifest that stores its knobs under
  ``"knobs"`` or ``"params"`` works without spelling the prefix);
* a dictionary value is expanded into one sub-key per scalar field (``weather`` -> ``weather.kind``,
  ``weather.fog_density``...);
* a list value (tags) puts the image into one slice per element;
* a numeric knob with more than :data:`MAX_NUMERIC_LEVELS` distinct values is cut into quantile bins, labelled
  by their closed/open interval (``[0.1, 0.3)``), so a continuous knob still gives a few well-filled slices.

Each slice is then compared with the *whole* real set by the same metrics as the full set, against the real-vs-real
baseline at the slice's own N, which gives a calibrated gap ratio per slice; ranking by that ratio answers "which
slice is furthest from real". Slices smaller than ``min_images`` are kept in the output with ``skipped=True`` and
a note, never silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: A numeric knob with more distinct values than this is binned into quantile bins.
MAX_NUMERIC_LEVELS = 6
#: Number of quantile bins for a continuous numeric knob.
NUMERIC_BINS = 4
#: Keys that mean "one slice per tag".
TAG_KEYS = ("tag", "tags")

_MISSING = object()


@dataclass
class Slice:
    """One group of synthetic images sharing a knob value.

    ``indices`` index the synthetic item list (int64, sorted ascending).
    """

    key: str
    value: str
    indices: np.ndarray
    skipped: bool = False
    note: str = ""
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(len(self.indices))

    @property
    def label(self) -> str:
        return f"{self.key}={self.value}"

    def ratio(self, metric: str) -> float | None:
        """The gap ratio of ``metric`` for this slice, or None when not computed / undefined."""
        for m in self.metrics:
            if m.get("name") == metric:
                r = m.get("ratio")
                if r is None or (isinstance(r, float) and not math.isfinite(r)):
                    return None
                return float(r)
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "label": self.label,
            "n": self.n,
            "skipped": self.skipped,
            "note": self.note,
            "metrics": self.metrics,
        }


def parse_slice_keys(spec: str | Sequence[str] | None) -> list[str]:
    """Split ``"weather,time_of_day"`` or a list of such strings into clean, de-duplicated keys."""
    if spec is None:
        return []
    parts = [spec] if isinstance(spec, str) else list(spec)
    keys: list[str] = []
    for p in parts:
        for k in str(p).split(","):
            k = k.strip()
            if k and k not in keys:
                keys.append(k)
    return keys


def _dig(meta: Mapping[str, Any], dotted: str) -> Any:
    """``meta[dotted]`` if that key exists literally (``sweep.weather``), else the nested path, else _MISSING."""
    if isinstance(meta, Mapping) and dotted in meta:
        return meta[dotted]
    head, dot, rest = dotted.partition(".")
    if dot and isinstance(meta, Mapping) and head in meta:
        return _dig(meta[head], rest)
    return _MISSING


def lookup(meta: Mapping[str, Any] | None, key: str) -> Any:
    """The raw value of knob ``key`` in an item's ``meta`` (see module doc), or ``None`` when absent."""
    if not meta:
        return None
    if key in TAG_KEYS:
        for k in ("tags", "tag"):
            if k in meta:
                return meta[k]
            v = _dig(meta, k)
            if v is not _MISSING:
                return v
        for v in meta.values():  # tags stored one level down
            if isinstance(v, Mapping):
                for k in ("tags", "tag"):
                    if k in v:
                        return v[k]
        return None
    v = _dig(meta, key)
    if v is not _MISSING:
        return v
    # breadth-first search for the key in nested dictionaries
    queue = [v for v in meta.values() if isinstance(v, Mapping)]
    while queue:
        d = queue.pop(0)
        v = _dig(d, key)
        if v is not _MISSING:
            return v
        queue.extend(x for x in d.values() if isinstance(x, Mapping))
    return None


def _flatten(key: str, value: Any) -> list[tuple[str, Any]]:
    """(key, scalar or list) pairs; dictionaries become dotted sub-keys."""
    if isinstance(value, Mapping):
        out: list[tuple[str, Any]] = []
        for k in sorted(value):
            out.extend(_flatten(f"{key}.{k}", value[k]))
        return out
    return [(key, value)]


def _fmt_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _bin_labels(values: list[float], nbins: int) -> list[str]:
    """Quantile-bin labels for numeric ``values`` (one per value)."""
    arr = np.asarray(values, dtype=np.float64)
    edges = np.unique(np.quantile(arr, np.linspace(0.0, 1.0, nbins + 1)))
    if len(edges) < 2:
        return [_fmt_scalar(float(v)) for v in arr]
    idx = np.clip(np.searchsorted(edges, arr, side="right") - 1, 0, len(edges) - 2)
    labels = []
    for i in idx:
        lo, hi = edges[i], edges[i + 1]
        closing = "]" if i == len(edges) - 2 else ")"
        labels.append(f"[{lo:.3g}, {hi:.3g}{closing}")
    return labels


def group_slices(metas: Sequence[Mapping[str, Any] | None], keys: Iterable[str]) -> tuple[list[Slice], list[str]]:
    """Group items (given by their ``meta``) into slices for each key.

    Returns ``(slices, notes)``; ``notes`` says which keys were found on no item. Slices are ordered by key (as
    given), then by value. A value of ``None`` (knob absent on an item) never forms a slice.
    """
    slices: list[Slice] = []
    notes: list[str] = []
    for key in keys:
        # sub-key -> list of (item index, value)
        per_sub: dict[str, list[tuple[int, Any]]] = {}
        for i, meta in enumerate(metas):
            raw = lookup(meta, key)
            if raw is None:
                continue
            for sub, v in _flatten("tag" if key in TAG_KEYS else key, raw):
                if v is None:
                    continue
                per_sub.setdefault(sub, []).append((i, v))
        if not per_sub:
            notes.append(f"slice key {key!r}: no synthetic image carries it (skipped)")
            continue
        for sub, pairs in per_sub.items():
            groups: dict[str, set[int]] = {}
            scalars = [v for _, v in pairs if not isinstance(v, (list, tuple, set))]
            numeric = bool(scalars) and len(scalars) == len(pairs) and all(_is_number(v) for v in scalars)
            if numeric and len({float(v) for v in scalars}) > MAX_NUMERIC_LEVELS:
                labels = _bin_labels([float(v) for v in scalars], NUMERIC_BINS)
                for (i, _), lab in zip(pairs, labels):
                    groups.setdefault(lab, set()).add(i)
            else:
                for i, v in pairs:
                    vals = v if isinstance(v, (list, tuple, set)) else [v]
                    for x in vals:
                        if x is None:
                            continue
                        groups.setdefault(_fmt_scalar(x), set()).add(i)
            for value in sorted(groups, key=_sort_key):
                slices.append(Slice(key=sub, value=value, indices=np.array(sorted(groups[value]), dtype=np.int64)))
    return slices, notes


def _sort_key(v: str) -> tuple[int, float, str]:
    try:
        return (0, float(v.strip("[(").split(",")[0]), v)
    except ValueError:
        return (1, 0.0, v)


def rank_slices(slices: Sequence[Slice], metric: str) -> list[dict[str, Any]]:
    """Computed slices ordered by gap ratio of ``metric``, furthest from real first.

    Each entry: ``{"label", "key", "value", "n", "ratio"}``; skipped slices and undefined ratios are left out.
    """
    rows = []
    for s in slices:
        if s.skipped:
            continue
        r = s.ratio(metric)
        if r is None:
            continue
        rows.append({"label": s.label, "key": s.key, "value": s.value, "n": s.n, "metric": metric, "ratio": r})
    rows.sort(key=lambda r: (-r["ratio"], r["label"]))
    return rows
