"""The gap pipeline: discover both sides, extract features, compare against a real-vs-real baseline, slice, audit.

``run_gap`` is what ``simgen gap`` calls. Stages, in order:

1. **discover** both inputs (:func:`simgen.gap.data.discover`); SYNTH may be a simgen dataset (its
   ``manifest.jsonl`` gives knobs/tags for slicing and enables the audit), a folder of images or videos; REAL a
   folder of images or videos. ``max_images`` subsamples each side without replacement (seeded).
2. **features** per backbone, cached by (file hash, backbone, preprocessing) in ``cache_dir``; the low-level
   statistics are always computed too (they feed the histograms and per-statistic distances).
3. **compare** (:func:`simgen.gap.stats.compare`): every metric with N, a subsampling interval and the same metric
   for two disjoint groups of real images at the same N -> gap ratio.
4. **slices** (:mod:`simgen.gap.slices`): the same per synthetic knob value; ranked by gap ratio.
5. **audit** of the synthetic labels when SYNTH is a simgen dataset; **nearest-real-neighbour** check; the
   **least realistic** synthetic frames with their nearest real frames.

Randomness: one ``numpy.random.Generator`` from ``seed``, split per stage with ``SeedSequence.spawn`` so adding a
stage does not shift the others.
"""

from __future__ import annotations

import base64
import platform
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from simgen import __version__
from simgen.errors import SimgenError
from simgen.gap import slices as slices_mod

#: Default backbone when none is given.
DEFAULT_BACKBONE = "mobilenet_v2"
#: Metric keys of the full table (keys of :data:`simgen.gap.stats.METRIC_OUTPUTS`).
DEFAULT_METRICS = ("fd", "kid", "mmd", "precision_recall", "density_coverage", "classifier")
#: Metrics computed per slice (a cheaper subset of the full table).
SLICE_METRICS = ("fd", "kid")
#: The metric slices are ranked by and the headline is taken from.
RANK_METRIC = "fd"
#: Fewest images a side may have for the pipeline to run at all (FD needs a covariance, the baseline two halves).
MIN_IMAGES = 4
#: Fewest synthetic images a slice needs to be compared.
MIN_SLICE_IMAGES = 20
#: Number of least-realistic synthetic frames shown, and real neighbours per frame.
N_LEAST_REALISTIC = 8
N_NEIGHBOURS = 3
#: Quantile of real-to-real nearest-neighbour distances below which a synthetic image is "suspiciously close".
NEAREST_REAL_QUANTILE = 0.01
#: k of the k-NN realism score.
K_REALISM = 5
#: Thumbnail width in pixels.
THUMB_WIDTH = 200


class GapInputError(SimgenError):
    """An input of ``simgen gap`` is missing, empty, or too small for the requested analysis."""


@dataclass
class GapReport:
    """What :func:`run_gap` returns: the report dictionary (as written to ``report.json``), paths, thumbnails.

    ``data`` holds only JSON-serialisable values; ``thumbnails`` maps an image id to a base64 JPEG and is embedded
    into ``report.html`` only.
    """

    data: dict[str, Any]
    json_path: Path | None = None
    html_path: Path | None = None
    thumbnails: dict[str, str] = field(default_factory=dict)

    def metric(self, name: str, backbone: str | None = None) -> dict[str, Any]:
        """The row of metric ``name`` for ``backbone`` (default: the primary backbone)."""
        bb = backbone or self.data["primary_backbone"]
        for m in self.data["metrics"][bb]:
            if m["name"] == name:
                return m
        raise KeyError(f"metric {name!r} not computed for {bb!r}")

    @property
    def ratio(self) -> float | None:
        """Headline gap ratio (``RANK_METRIC`` on the primary backbone)."""
        return self.data["summary"]["ratio"]


# --------------------------------------------------------------------------------------------------- helpers


class _Timer:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t0


def parse_backbones(spec: str | Sequence[str] | None) -> list[str]:
    """``["mobilenet_v2,lowlevel", "inception"]`` -> ``["mobilenet_v2", "lowlevel", "inception"]`` (de-duplicated)."""
    names = slices_mod.parse_slice_keys(spec)
    return names or [DEFAULT_BACKBONE]


def parse_metrics(spec: str | Sequence[str] | None) -> list[str]:
    """Metric keys (``"fd,kid"``; default :data:`DEFAULT_METRICS`); raises GapInputError for unknown keys."""
    keys = slices_mod.parse_slice_keys(spec)
    if not keys:
        return list(DEFAULT_METRICS)
    bad = [k for k in keys if k not in DEFAULT_METRICS]
    if bad:
        raise GapInputError(f"unknown metric(s) {', '.join(map(repr, bad))}; choose from {', '.join(DEFAULT_METRICS)}")
    if RANK_METRIC not in keys:
        keys.insert(0, RANK_METRIC)
    return keys


def parse_reencode(spec: str | None) -> tuple[str, int] | None:
    """``"jpeg:90"`` -> ``("jpeg", 90)``; ``None``/``""``/``"none"`` -> None. Raises GapInputError when malformed."""
    if spec is None or str(spec).strip().lower() in ("", "none", "off"):
        return None
    fmt, _, q = str(spec).strip().lower().partition(":")
    if fmt in ("jpg", "jpeg"):
        fmt = "jpeg"
    else:
        raise GapInputError(f"--reencode {spec!r}: the format must be jpeg, e.g. jpeg:90")
    try:
        quality = int(q) if q else 90
    except ValueError:
        raise GapInputError(f"--reencode {spec!r}: the quality after ':' must be an integer 1..100") from None
    if not 1 <= quality <= 100:
        raise GapInputError(f"--reencode {spec!r}: the quality must be in 1..100, got {quality}")
    return fmt, quality


def _is_simgen_dataset(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.jsonl").is_file()


def _input_kind(path: Path, items: Sequence[Any]) -> str:
    if _is_simgen_dataset(path):
        return "simgen dataset"
    videos = sum(1 for it in items if getattr(it, "frame_index", None) is not None)
    if videos == len(items):
        return "video"
    if videos == 0:
        return "images"
    return "images + video"


def _check_input(path: Path, role: str) -> None:
    if not path.exists():
        raise GapInputError(f"{role} input {path} does not exist")
    if path.is_dir() and not any(path.iterdir()):
        raise GapInputError(f"{role} input {path} is an empty folder: expected images, videos or a simgen dataset")


def _discover(path: Path, role: str, max_frames_per_video: int | None, video_stride: int,
              bad: list | None = None) -> list[Any]:
    from simgen.gap.data import discover

    items = discover(path, max_frames_per_video=max_frames_per_video, video_stride=video_stride, bad=bad)
    if not items:
        raise GapInputError(f"{role} input {path}: no readable image or video frame found")
    return list(items)


def check_sizes(s_items: Sequence[Any], r_items: Sequence[Any], synth: Path, real: Path, k: int = 5,
                max_images: int | None = None) -> None:
    """The one minimum-size rule, stated with the numbers (:func:`simgen.gap.stats.compare` uses the same one):
    the comparison size N = floor(min(synthetic, (real − largest real group) / 2) / 2) must be at least
    max(k + 2, 4) = 7, i.e. at least 14 synthetic images and real images outside the largest real group at least
    28. Raises :class:`GapInputError`."""
    from simgen.gap.stats import default_n

    r_groups = _group_codes(r_items)
    largest = int(np.bincount(r_groups).max()) if len(r_groups) else 0
    n = default_n(len(s_items), r_groups, len(r_items))
    min_n = max(k + 2, 4)
    if n >= min_n:
        return
    groups = len(np.unique(r_groups))
    hint = (" All real images are in one group: give one sub-folder per recording, several videos, or "
            "--group-by runs for a flat folder of numbered frames." if groups < 2 else "")
    raise GapInputError(
        f"too few images: synthetic {len(s_items)} ({synth}), real {len(r_items)} in {groups} group(s), the largest "
        f"holding {largest} ({real}); N = min({len(s_items)}, ({len(r_items)} - {largest}) // 2) // 2 = {max(n, 0)}, "
        f"need N >= {min_n}: at least {2 * min_n} synthetic and {4 * min_n} real images outside the largest real "
        f"group{f' (--max-images {max_images} caps each side)' if max_images else ''}.{hint}")


def _subsample(items: list[Any], max_images: int | None, rng: np.random.Generator) -> list[Any]:
    if max_images is None or len(items) <= max_images:
        return items
    idx = np.sort(rng.choice(len(items), size=max_images, replace=False))
    return [items[i] for i in idx]


def _group_codes(items: Sequence[Any]) -> np.ndarray:
    """Integer group label per item (int64, (N,)); equal groups never end up on both sides of a split."""
    labels: dict[str, int] = {}
    return np.array([labels.setdefault(str(getattr(it, "group", it.id)), len(labels)) for it in items], dtype=np.int64)


def _item_id(role: str, item: Any) -> str:
    return f"{role}:{item.id}"


def _item_ref(role: str, item: Any) -> dict[str, Any]:
    return {
        "id": _item_id(role, item),
        "source": str(item.source),
        "frame_index": getattr(item, "frame_index", None),
        "group": str(getattr(item, "group", "")),
    }


def _thumbnail(item: Any, width: int = THUMB_WIDTH) -> str | None:
    """Base64 JPEG thumbnail of an item, or None when it cannot be read."""
    import cv2

    from simgen.gap.data import load_rgb

    try:
        rgb = load_rgb(item)
    except Exception:  # a thumbnail is decoration; its failure must not sink the report
        return None
    h, w = rgb.shape[:2]
    height = max(1, round(h * width / w))
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else None


def _metric_dicts(results: Sequence[Any]) -> list[dict[str, Any]]:
    from simgen.jsonable import to_jsonable

    return [to_jsonable(r) for r in results]


def _find(rows: Sequence[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for r in rows:
        if r.get("name") == name:
            return r
    return None


def _verdict(row: dict[str, Any] | None) -> str:
    if row is None or row.get("ratio") is None:
        return "no calibrated ratio available"
    r = row["ratio"]
    lo, hi, blo, bhi = (row.get(k) for k in ("ci_low", "ci_high", "baseline_ci_low", "baseline_ci_high"))
    if None not in (lo, hi, blo, bhi) and lo <= bhi and blo <= hi:
        return "indistinguishable from the real-vs-real baseline at this N"
    if r <= 1.5:
        return "close to real (within 1.5x of the real-vs-real baseline)"
    if r <= 3.0:
        return "a moderate gap (1.5-3x the real-vs-real baseline)"
    return f"a large gap ({r:.1f}x the real-vs-real baseline)"


# --------------------------------------------------------------------------------------------------- stages


def _realism_scores(synth: np.ndarray, real: np.ndarray, real_groups: np.ndarray, k: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """k-NN realism score of each synthetic feature.

    Features are standardised with the real set's mean/std. ``score[i]`` = mean distance from synthetic i to its k
    nearest real features, divided by the median over real images of the same quantity (each real image's
    neighbours taken from other groups only, so a video frame is not matched to its own neighbour frames).
    Score ~1: as typical as a real image; larger: further from the real manifold.

    Returns ``(score (Ns,), nn_index (Ns, k) int64 into real, nn_dist (Ns, k) float64, real_scale)``.
    """
    from sklearn.neighbors import NearestNeighbors

    mu = real.mean(0)
    sd = real.std(0)
    sd[sd < 1e-12] = 1.0
    r = ((real - mu) / sd).astype(np.float64)
    s = ((synth - mu) / sd).astype(np.float64)
    k = max(1, min(k, len(r) - 1))
    nn = NearestNeighbors(n_neighbors=k).fit(r)
    dist, idx = nn.kneighbors(s)
    # real-to-real scale, excluding same-group neighbours
    kk = min(len(r), k + 1 + int(np.bincount(real_groups).max()))
    rd, ri = NearestNeighbors(n_neighbors=kk).fit(r).kneighbors(r)
    per_real = []
    for i in range(len(r)):
        keep = real_groups[ri[i]] != real_groups[i]
        d = rd[i][keep][:k]
        if len(d):
            per_real.append(d.mean())
    if not per_real:  # a single real group: fall back to excluding the point itself
        per_real = list(rd[:, 1 : k + 1].mean(1))
    scale = float(np.median(per_real)) if per_real else 1.0
    scale = scale if scale > 0 else 1.0
    return dist.mean(1) / scale, idx.astype(np.int64), dist, scale


def _nearest_real_check(synth: np.ndarray, real: np.ndarray, real_groups: np.ndarray, s_items, r_items
                        ) -> dict[str, Any]:
    """Synthetic images suspiciously close to a real one (:func:`simgen.gap.audit.nearest_real_neighbours`).

    A synthetic image is flagged when its nearest real image (Euclidean, primary-backbone features) is closer than
    the 1st percentile of distances from real images to their nearest real image of *another* group.
    """
    from simgen.gap.audit import nearest_real_neighbours
    from simgen.jsonable import to_jsonable

    try:
        res = nearest_real_neighbours(synth, real, [_item_id("synth", it) for it in s_items],
                                      [_item_id("real", it) for it in r_items], real_groups=real_groups,
                                      quantile=NEAREST_REAL_QUANTILE)
    except SimgenError as err:
        return {"description": f"not computed: {err}", "threshold": None, "flagged": [], "findings": []}
    return {
        "description": (
            "A synthetic image is flagged when its nearest real image (Euclidean distance in the primary "
            f"backbone's features) is closer than the {NEAREST_REAL_QUANTILE:.0%} quantile of the distances from real "
            f"images to their nearest real image of another group ({res.threshold:.4g})."
        ),
        "threshold": res.threshold,
        "quantile": res.quantile,
        "flagged": [{"synth_id": x["synth"], "real_id": x["real"], "distance": x["distance"]} for x in res.suspicious],
        "findings": to_jsonable(res.findings),
        "synth_nn_distance_quantiles": {q: float(np.quantile(res.nn_distance, q / 100)) for q in (5, 50, 95)},
        "real_nn_distance_quantiles": {q: float(np.quantile(res.real_nn_distance, q / 100)) for q in (5, 50, 95)},
    }


def _histograms(synth: np.ndarray, real: np.ndarray, names: Sequence[str], distances: dict[str, float],
                distance_name: str, bins: int = 20) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for j, name in enumerate(names):
        both = np.concatenate([synth[:, j], real[:, j]]).astype(np.float64)
        both = both[np.isfinite(both)]
        if both.size == 0:
            continue
        lo, hi = np.percentile(both, [0.5, 99.5])
        if not hi > lo:
            lo, hi = float(both.min()) - 0.5, float(both.max()) + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        hs, _ = np.histogram(np.clip(synth[:, j], lo, hi), bins=edges)
        hr, _ = np.histogram(np.clip(real[:, j], lo, hi), bins=edges)
        out[name] = {
            "edges": edges.tolist(),
            "synth": hs.tolist(),
            "real": hr.tolist(),
            "distance": distances.get(name),
            "distance_name": distance_name,
        }
    return out


def _lowlevel_block(s_low: np.ndarray, r_low: np.ndarray) -> dict[str, Any]:
    """Per-statistic distances, histograms of the scalar statistics and the mean colour histograms."""
    from simgen.gap.lowlevel import LOWLEVEL_FEATURE_NAMES
    from simgen.gap.metrics import per_statistic_distances
    from simgen.jsonable import to_jsonable

    names = list(LOWLEVEL_FEATURE_NAMES)
    raw = per_statistic_distances(s_low, r_low, names)
    rows, columns, dist_name, primary = _per_stat_rows(raw, names)
    scalar = [n for n in names if not n.startswith("hist_")]
    order = {n: i for i, n in enumerate(names)}
    scalar_rows = [r for r in rows if r["statistic"] in scalar]
    scalar_rows.sort(key=lambda r: -(r.get("ks") or 0.0))
    idx = [order[n] for n in scalar]
    colour: dict[str, Any] = {}
    for c in "rgb":
        cols = [order[n] for n in names if n.startswith(f"hist_{c}_")]
        if cols:
            colour[c] = {"synth": s_low[:, cols].mean(0), "real": r_low[:, cols].mean(0)}
    return {
        "names": names,
        "distance_columns": columns,
        "distances": to_jsonable(scalar_rows),
        "histogram_bin_distances": to_jsonable([r for r in rows if r["statistic"] not in scalar]),
        "histograms": _histograms(s_low[:, idx], r_low[:, idx], scalar, primary, dist_name),
        "colour_histograms": to_jsonable(colour),
    }


def _per_stat_rows(raw: Any, names: Sequence[str]) -> tuple[list[dict[str, Any]], list[str], str, dict[str, float]]:
    """Normalise whatever ``per_statistic_distances`` returns into table rows keyed by ``statistic``.

    Accepts a list of dicts/dataclasses (one per statistic), a dict name -> dict/number, or a dict
    distance-name -> array over statistics. Returns (rows, columns, primary distance name, name -> primary value).
    """
    from simgen.jsonable import to_jsonable

    raw = to_jsonable(raw)
    rows: list[dict[str, Any]] = []
    if isinstance(raw, list):
        for i, r in enumerate(raw):
            r = dict(r) if isinstance(r, dict) else {"value": r}
            r.setdefault("statistic", r.pop("name", names[i] if i < len(names) else str(i)))
            rows.append(r)
    elif isinstance(raw, dict):
        if all(k in names for k in raw):
            for k, v in raw.items():
                row = {"statistic": k}
                row.update(v if isinstance(v, dict) else {"value": v})
                rows.append(row)
        else:
            keys = [k for k, v in raw.items() if isinstance(v, list) and len(v) == len(names)]
            for i, n in enumerate(names):
                row = {"statistic": n}
                for k in keys:
                    row[k] = raw[k][i]
                rows.append(row)
    columns = ["statistic"] + [k for k in (rows[0] if rows else {}) if k != "statistic"]
    numeric = [c for c in columns[1:] if rows and isinstance(rows[0].get(c), (int, float))]
    prefer = [c for c in ("ks", "wasserstein", "value") if c in numeric]
    dist_name = prefer[0] if prefer else (numeric[0] if numeric else "")
    primary = {r["statistic"]: r.get(dist_name) for r in rows} if dist_name else {}
    return rows, columns, dist_name, primary


def _environment() -> dict[str, Any]:
    import importlib.metadata as md

    env = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("numpy", "torch", "scipy", "scikit-learn", "opencv-python-headless"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            env[pkg] = None
    return env


def _with_reencode(backbone: Any, reenc: tuple[str, int]) -> Any:
    """The backbone with identical re-encoding of every image added to its preprocessing contract.

    The contract (and so its cache key and the report) records the re-encoding.
    """
    import dataclasses

    new_pre = backbone.preprocess.replace(reencode=reenc)
    if dataclasses.is_dataclass(backbone) and not isinstance(backbone, type):
        return dataclasses.replace(backbone, preprocess=new_pre)
    backbone.preprocess = new_pre
    return backbone


def span_projection(*sets: np.ndarray) -> list[np.ndarray] | None:
    """The feature sets expressed in an orthonormal basis of the span of all their rows, or None if no smaller.

    ``sets``: arrays ``(N_i, D)``. When ``sum N_i < D`` every row, mean and covariance of any subsample lives in
    that span (rank r <= sum N_i), so Euclidean distances, dot products, means, covariances and hence the Fréchet
    distance are unchanged, while its eigendecompositions shrink from D x D to r x r. Returns float64
    ``(N_i, r)`` arrays. Kernels that depend on D itself (KID's ``x.y / D``) or on the coordinate axes
    (per-feature standardisation in the classifier) must keep the original features.
    """
    x = np.concatenate([np.asarray(a, dtype=np.float64) for a in sets])
    if x.shape[0] >= x.shape[1]:
        return None
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    keep = sv > sv[0] * 1e-12 if sv.size and sv[0] > 0 else np.zeros(0, dtype=bool)
    basis = vt[keep].T  # (D, r)
    return [np.asarray(a, dtype=np.float64) @ basis for a in sets]


#: Metric keys that are invariant to :func:`span_projection` and so may run on the projected features.
SPAN_INVARIANT = frozenset({"fd"})


def _compare(compare, fs, fr, r_groups, s_groups, metrics, reps, rng, n=None) -> list[dict[str, Any]]:
    """Run :func:`simgen.gap.stats.compare` one metric key at a time.

    ``compare`` derives its subsamples from one draw of ``rng`` by name, so per-key calls with generators of the
    same state see the same subsamples as one call would; a metric that cannot be computed on these inputs (e.g.
    the group-aware classifier with a single synthetic group) becomes a row with ``value=None`` and the reason in
    its note instead of sinking the others. Raises the first error when *no* metric could be computed.
    """
    from simgen.gap.stats import METRIC_OUTPUTS

    keys = list(metrics) if metrics is not None else list(DEFAULT_METRICS)
    seed = int(rng.integers(0, 2**63 - 1))
    rows: list[dict[str, Any]] = []
    errors: list[SimgenError] = []
    for key in keys:
        kwargs: dict[str, Any] = {"real_groups": r_groups, "synth_groups": s_groups, "reps": reps,
                                  "rng": np.random.default_rng(seed), "metrics": (key,)}
        if n is not None:
            kwargs["n"] = n
        a, b = fs, fr
        if key in SPAN_INVARIANT:
            proj = span_projection(fs, fr)
            if proj is not None:
                a, b = proj
        try:
            rows.extend(_metric_dicts(compare(a, b, **kwargs)))
        except SimgenError as err:
            errors.append(err)
            for name in METRIC_OUTPUTS.get(key, (key,)):
                rows.append({"name": name, "value": None, "ci_low": None, "ci_high": None, "n_synth": None,
                             "n_real": None, "baseline": None, "baseline_ci_low": None, "baseline_ci_high": None,
                             "ratio": None, "note": f"not computed: {err}"})
    if errors and len(errors) == len(keys):
        raise errors[0]
    return rows


def _slices(compare, feats, bb_names, s_items, s_groups, r_groups, keys, min_images, reps, rng, console
            ) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    metas = [getattr(it, "meta", None) or {} for it in s_items]
    groups, notes = slices_mod.group_slices(metas, keys)
    by_backbone: dict[str, Any] = {}
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, disable=console.quiet, transient=True)
    task = bar.add_task("slices", total=len(groups) * len(bb_names))
    with bar:
        for name in bb_names:
            by_backbone[name] = _slices_one(compare, feats[name], name, groups, s_groups, r_groups, min_images, reps,
                                            rng, lambda: bar.advance(task))
            done = sum(not s["skipped"] for s in by_backbone[name]["slices"])
            console.log(f"slices ({name}): {done} compared, {len(groups) - done} skipped")
    return {"notes": notes, "by_backbone": by_backbone}


def _slices_one(compare, feats, name, groups, s_groups, r_groups, min_images, reps, rng, advance) -> dict[str, Any]:
    """Every slice of one backbone compared with the whole real set; skipped slices keep a note."""
    fs, fr = feats
    # common random numbers: every slice of this backbone draws its subsamples and baseline splits from the
    # same seed, so two slices with the same members get the same numbers and differences reflect the data
    slice_seed = int(rng.integers(0, 2**63 - 1))
    computed: list[slices_mod.Slice] = []
    for sl in groups:
        s = slices_mod.Slice(key=sl.key, value=sl.value, indices=sl.indices)
        if s.n < min_images:
            s.skipped = True
            s.note = f"only {s.n} image(s); a slice needs at least {min_images}"
        else:
            try:
                s.metrics = _compare(compare, fs[s.indices], fr, r_groups, s_groups[s.indices], SLICE_METRICS,
                                     reps, np.random.default_rng(slice_seed))
            except SimgenError as err:
                s.skipped = True
                s.note = f"not computed: {err}"
        computed.append(s)
        advance()
    return {
        "rank_metric": RANK_METRIC,
        "metric_names": list(SLICE_METRICS),
        "slices": [s.to_json() for s in computed],
        "ranking": slices_mod.rank_slices(computed, RANK_METRIC),
    }


# --------------------------------------------------------------------------------------------------- main


def run_gap(
    synth: str | Path,
    real: str | Path,
    out: str | Path | None,
    backbones: str | Sequence[str] | None = (DEFAULT_BACKBONE,),
    slice_by: str | Sequence[str] | None = None,
    *,
    max_images: int | None = None,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    reencode: str | None = None,
    cache_dir: str | Path | None = None,
    reps: int = 20,
    metrics: str | Sequence[str] | None = None,
    min_slice_images: int = MIN_SLICE_IMAGES,
    max_frames_per_video: int | None = None,
    video_stride: int = 1,
    batch_size: int = 32,
    progress: bool = True,
    write: bool = True,
    group_by: str | None = None,
    max_bad: str | int | None = None,
) -> GapReport:
    """Compare a synthetic set with a real one and (when ``write``) write ``out/report.json`` + ``report.html``.

    ``backbones``: names from :func:`simgen.gap.backbones.list_backbones` (comma lists allowed); the first is the
    primary one (headline ratio, slices ranking, least-realistic frames). ``slice_by``: manifest knobs/tags.
    ``max_images``: at most this many images per side (subsampled without replacement with ``seed``).
    ``reencode``: ``"jpeg:90"`` re-encodes both sets identically before feature extraction. ``cache_dir``: the
    feature cache (default ``out/.cache``). Raises :class:`GapInputError` for missing/empty/too small inputs and
    :class:`simgen.errors.SimgenError` subclasses for unknown backbones or unreadable checkpoints.

    Input rules, all checked before any feature is extracted: ``group_by`` regroups folders of images
    (:func:`simgen.gap.data.regroup`); unreadable or tiny images are skipped and listed, failing past ``max_bad``
    (:func:`simgen.gap.data.screen`); one minimum-size rule (:func:`check_sizes`); unknown ``slice_by`` keys are
    an error listing the keys present; identical or overlapping inputs give a warning (a note in the report).
    """
    from rich.console import Console

    console = Console(stderr=True, quiet=not progress)
    timer = _Timer()
    t_start = time.perf_counter()
    synth, real = Path(synth), Path(real)
    out = Path(out) if out is not None else None
    bb_names = parse_backbones(backbones)
    keys = slices_mod.parse_slice_keys(slice_by)
    reenc = parse_reencode(reencode)
    metric_keys = parse_metrics(metrics)
    if max_images is not None and max_images < 1:
        raise GapInputError(f"--max-images must be >= 1, got {max_images}")
    if out is not None and out.exists() and not out.is_dir():
        raise GapInputError(f"--out {out} exists and is not a folder")
    cache = Path(cache_dir) if cache_dir is not None else (out / ".cache" if out is not None else None)
    ss = np.random.SeedSequence(seed)
    rng_sub, rng_cmp, rng_slice = (np.random.default_rng(s) for s in ss.spawn(3))
    notes: list[str] = []

    # 1. discover ----------------------------------------------------------------------------------------
    _check_input(synth, "synthetic")
    _check_input(real, "real")
    from simgen.gap.backbones import get_backbone, list_backbones

    known = list(list_backbones())
    for name in bb_names:
        if name.partition(":")[0] not in known:
            raise GapInputError(f"unknown backbone {name!r}; available: {', '.join(known)}")
    from simgen.gap import data as gap_data

    gap_data.parse_group_by(group_by)
    gap_data.parse_max_bad(max_bad, 100)
    s_bad: list = []
    r_bad: list = []
    with timer("discover"), console.status("discovering images"):
        s_all = gap_data.regroup(_discover(synth, "synthetic", max_frames_per_video, video_stride, s_bad), group_by)
        r_all = gap_data.regroup(_discover(real, "real", max_frames_per_video, video_stride, r_bad), group_by)
    overlap = gap_data.input_overlap(synth, real, s_all, r_all)
    if overlap:
        console.log(f"[yellow]warning[/]: {overlap}")
        notes.append(f"warning: {overlap}")
    if keys:
        present = gap_data.slice_keys_present(s_all)
        unknown = [k for k in keys if not any(slices_mod.lookup(it.meta, k) is not None for it in s_all)]
        if unknown:
            raise GapInputError(f"--slice-by {', '.join(unknown)}: no synthetic image carries "
                                f"{'this key' if len(unknown) == 1 else 'these keys'}; keys present: "
                                f"{', '.join(present) or '(none: the synthetic input has no manifest knobs)'}")
    s_items = _subsample(s_all, max_images, rng_sub)
    r_items = _subsample(r_all, max_images, rng_sub)
    check_sizes(s_items, r_items, synth, real, max_images=max_images)  # before decoding anything
    with timer("screen"), console.status("checking images"):
        s_items, s_bad2 = gap_data.screen(s_items, f"synthetic ({synth})", max_bad)
        r_items, r_bad2 = gap_data.screen(r_items, f"real ({real})", max_bad)
    for role, bad in (("synthetic", s_bad + s_bad2), ("real", r_bad + r_bad2)):
        for src, why in bad:
            console.log(f"[yellow]skipped[/] {role} {src}: {why}")
        if bad:
            notes.append(f"skipped {len(bad)} unreadable or too small {role} file(s): "
                         + "; ".join(f"{src} ({why})" for src, why in bad[:20]))
    if s_bad2 or r_bad2:
        check_sizes(s_items, r_items, synth, real, max_images=max_images)
    s_groups, r_groups = _group_codes(s_items), _group_codes(r_items)
    console.log(f"synthetic: {len(s_items)} of {len(s_all)} images; real: {len(r_items)} of {len(r_all)} images")

    # 2. features ----------------------------------------------------------------------------------------
    from simgen.gap.features import extract_features

    def load(name: str):
        bb = get_backbone(name, checkpoint=checkpoint) if name.startswith("checkpoint") else get_backbone(name)
        if reenc is not None:
            bb = _with_reencode(bb, reenc)
        return bb

    feats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    bb_info: list[dict[str, Any]] = []
    all_names = bb_names + ([] if "lowlevel" in bb_names else ["lowlevel"])
    for name in all_names:
        with timer(f"load backbone {name}"):
            bb = load(name)
        with timer(f"features {name}"):
            console.log(f"features: {name} ({len(s_items)} synthetic + {len(r_items)} real)")
            s_info: dict[str, Any] = {}
            r_info: dict[str, Any] = {}
            fs = np.asarray(extract_features(s_items, bb, cache, batch_size=batch_size, progress=progress,
                                             info=s_info))
            fr = np.asarray(extract_features(r_items, bb, cache, batch_size=batch_size, progress=progress,
                                             info=r_info))
        feats[name] = (fs.astype(np.float64), fr.astype(np.float64))
        pre = bb.preprocess
        bb_info.append({
            "name": bb.name,
            "dim": int(bb.dim),
            "version": str(bb.version),
            "preprocess": pre.to_json() if hasattr(pre, "to_json") else str(pre),
            "preprocess_key": pre.key() if callable(getattr(pre, "key", None)) else str(getattr(pre, "key", "")),
            "role": "requested" if name in bb_names else "low-level histograms",
            "extraction": {"synth": s_info, "real": r_info},
        })

    # 3. compare -----------------------------------------------------------------------------------------
    from simgen.gap.stats import compare

    metric_rows: dict[str, list[dict[str, Any]]] = {}
    for name in bb_names:
        fs, fr = feats[name]
        with timer(f"metrics {name}"), console.status(f"metrics: {name} (with real-vs-real baseline)"):
            metric_rows[name] = _compare(compare, fs, fr, r_groups, s_groups, metric_keys, reps, rng_cmp)

    # 4. slices ------------------------------------------------------------------------------------------
    slices_block: dict[str, Any] = {"keys": keys, "notes": [], "min_images": min_slice_images, "by_backbone": {}}
    if keys:
        with timer("slices"):
            slices_block.update(_slices(compare, feats, bb_names, s_items, s_groups, r_groups, keys,
                                        min_slice_images, reps, rng_slice, console))

    # 5. low-level, audit, nearest real, least realistic -------------------------------------------------
    with timer("low-level statistics"):
        s_low, r_low = feats["lowlevel"]
        lowlevel = _lowlevel_block(s_low, r_low)

    audit = None
    audit_note = None
    if _is_simgen_dataset(synth):
        with timer("audit"):
            from simgen.gap.audit import audit_dataset
            from simgen.jsonable import to_jsonable

            try:
                audit = to_jsonable(audit_dataset(synth, progress=progress, seed=seed))
            except SimgenError as err:
                audit_note = f"Audit not run: {err}"
                notes.append(audit_note)
    else:
        audit_note = "Not run: the synthetic input is not a simgen dataset (no manifest.jsonl), so it has no labels."

    primary = bb_names[0]
    fs, fr = feats[primary]
    with timer("nearest-real check"):
        nearest = _nearest_real_check(fs, fr, r_groups, s_items, r_items)
    with timer("least realistic"):
        score, nn_idx, nn_dist, _scale = _realism_scores(fs, fr, r_groups, K_REALISM)
        order = np.argsort(-score)[:N_LEAST_REALISTIC]
        least = {
            "backbone": primary,
            "score_name": f"mean distance to the {K_REALISM} nearest real images / the same for real images",
            "description": (
                f"Synthetic frames furthest from the real set in {primary} features: score = mean distance to the "
                f"{min(K_REALISM, len(r_items) - 1)} nearest real images divided by the median of that distance among "
                "real images (other groups). About 1 is typical of real data."
            ),
            "score_quantiles": {q: float(np.quantile(score, q / 100)) for q in (5, 50, 95)},
            "items": [
                {
                    **_item_ref("synth", s_items[i]),
                    "score": float(score[i]),
                    "neighbours": [
                        {**_item_ref("real", r_items[int(nn_idx[i, j])]), "distance": float(nn_dist[i, j])}
                        for j in range(min(N_NEIGHBOURS, nn_idx.shape[1]))
                    ],
                }
                for i in order
            ],
        }
    thumbs: dict[str, str] = {}
    with timer("thumbnails"):
        by_id = {_item_id("synth", it): it for it in s_items} | {_item_id("real", it): it for it in r_items}
        wanted = [it["id"] for it in least["items"]] + [nb["id"] for it in least["items"] for nb in it["neighbours"]]
        for f in nearest["flagged"][:12]:
            wanted += [f["synth_id"], f["real_id"]]
        for i in dict.fromkeys(wanted):
            t = _thumbnail(by_id[i])
            if t:
                thumbs[i] = t

    # 6. assemble ----------------------------------------------------------------------------------------
    head = _find(metric_rows[primary], RANK_METRIC)
    ranking = slices_block["by_backbone"].get(primary, {}).get("ranking", [])
    data: dict[str, Any] = {
        "format": "simgen-gap-report",
        "format_version": 1,
        "simgen_version": __version__,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": int(seed),
        "config": {
            "synth": str(synth), "real": str(real), "out": str(out) if out else None, "backbones": bb_names,
            "slice_by": keys, "max_images": max_images, "seed": int(seed),
            "checkpoint": str(checkpoint) if checkpoint else None, "reencode": reencode,
            "cache_dir": str(cache) if cache else None, "reps": reps, "metrics": metric_keys,
            "min_slice_images": min_slice_images,
            "max_frames_per_video": max_frames_per_video, "video_stride": video_stride,
        },
        "environment": _environment(),
        "inputs": {
            "synth": {"path": str(synth), "kind": _input_kind(synth, s_all), "n_found": len(s_all),
                      "n_used": len(s_items), "n_groups": int(len(np.unique(s_groups)))},
            "real": {"path": str(real), "kind": _input_kind(real, r_all), "n_found": len(r_all),
                     "n_used": len(r_items), "n_groups": int(len(np.unique(r_groups)))},
        },
        "primary_backbone": primary,
        "backbones": bb_info,
        "metrics": metric_rows,
        "summary": {
            "backbone": primary,
            "metric": RANK_METRIC,
            "ratio": head.get("ratio") if head else None,
            "value": head.get("value") if head else None,
            "baseline": head.get("baseline") if head else None,
            "verdict": _verdict(head),
            "furthest_slice": ranking[0] if ranking else None,
        },
        "slices": slices_block,
        "lowlevel": lowlevel,
        "audit": audit,
        "audit_note": audit_note,
        "nearest_real": nearest,
        "least_realistic": least,
        "notes": notes,
        "timings_s": {},
    }
    data["timings_s"] = dict(timer.times) | {"total": time.perf_counter() - t_start}
    report = GapReport(data=data, thumbnails=thumbs)
    if write and out is not None:
        from simgen.gap.report import write_report

        with timer("report"):
            report.json_path, report.html_path = write_report(data, out, thumbs)
        console.log(f"wrote {report.json_path} and {report.html_path}")
    return report
