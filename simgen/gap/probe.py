"""Detector probe: does a detector trained only on real photos find the objects we label?

NanoDet-m (:mod:`simgen.gap.nanodet`) runs on every synthetic frame; per class group (``groups:`` in
``simgen/data/classes.yaml``) its detections of the group's COCO classes (score >= ``score_threshold``) are
matched to our labelled boxes: greedily by descending score, each detection to the unmatched labelled box of the
group with the highest IoU, when that IoU >= ``iou`` (0.5). Recall = matched / labelled, per object-size bin
(visible-box height in pixels, :data:`SIZE_BINS`) and over all sizes >= the smallest bin edge.

Labelled boxes are the ones the object-level gap would crop (:func:`simgen.gap.objects.synthetic_boxes`: visible
box, not truncated, occlusion <= 0.5), here down to the smallest bin edge. Intervals: percentile intervals of a
cluster bootstrap over rendered sequences (whole sequences resampled with replacement, since objects of one
sequence are not independent); with a single sequence, a Wilson score interval over objects (noted). A low
recall says the objects do not look like what the detector learned from photographs (or are labelled where
nothing is visible); a high one is necessary, not sufficient, for realism.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Object-size bins (visible-box height in pixels, [lo, hi)).
SIZE_BINS: tuple[tuple[float, float], ...] = ((20.0, 40.0), (40.0, 80.0), (80.0, math.inf))
DEFAULT_IOU = 0.5
DEFAULT_SCORE = 0.3
DEFAULT_GROUPS = ("people", "vehicles")


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (A, 4) with every box in ``b`` (B, 4), ``[x0, y0, x1, y1]``; (A, B) float64."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def match(gt: np.ndarray, det: np.ndarray, scores: np.ndarray, iou: float = DEFAULT_IOU) -> np.ndarray:
    """Which labelled boxes ``gt`` (G, 4) a detector found: (G,) bool.

    Detections ``det`` (D, 4) are taken by descending ``scores``; each claims the still unmatched labelled box
    with the highest IoU if that IoU >= ``iou`` (the PASCAL/COCO matching rule).
    """
    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    found = np.zeros(len(gt), bool)
    if len(gt) == 0 or len(det) == 0:
        return found
    m = iou_matrix(det, gt)
    for d in np.argsort(-np.asarray(scores, np.float64), kind="stable"):
        cand = np.where(found, -1.0, m[d])
        g = int(np.argmax(cand))
        if cand[g] >= iou:
            found[g] = True
    return found


def wilson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (``(nan, nan)`` for n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    from scipy.stats import norm

    z = float(norm.ppf(1 - alpha / 2))
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def recall_with_interval(found: np.ndarray, groups: np.ndarray, reps: int = 1000, alpha: float = 0.05,
                         rng: np.random.Generator | None = None) -> dict[str, Any]:
    """Recall of the objects ``found`` (N,) bool with an interval; ``groups`` (N,) the sequence of each object.

    Two or more groups: percentile interval of a cluster bootstrap (groups resampled with replacement, ``reps``
    times). One group: Wilson score interval over objects. Returns ``{"n", "found", "recall", "ci_low",
    "ci_high", "n_groups", "interval"}`` (recall and interval None when N = 0).
    """
    found = np.asarray(found, bool)
    groups = np.asarray(groups)
    n, k = int(found.size), int(found.sum())
    uniq, inv = np.unique(groups, return_inverse=True) if n else (np.array([]), np.array([], int))
    out: dict[str, Any] = {"n": n, "found": k, "recall": (k / n) if n else None, "ci_low": None, "ci_high": None,
                           "n_groups": int(len(uniq)), "interval": None}
    if n == 0:
        return out
    if len(uniq) >= 2:
        rng = rng or np.random.default_rng(0)
        hits = np.bincount(inv, weights=found.astype(float), minlength=len(uniq))
        tot = np.bincount(inv, minlength=len(uniq)).astype(float)
        draw = rng.integers(0, len(uniq), size=(reps, len(uniq)))
        rec = hits[draw].sum(1) / np.maximum(tot[draw].sum(1), 1.0)
        out["ci_low"], out["ci_high"] = (float(v) for v in np.quantile(rec, [alpha / 2, 1 - alpha / 2]))
        out["interval"] = f"cluster bootstrap over {len(uniq)} sequences"
    else:
        out["ci_low"], out["ci_high"] = wilson(k, n, alpha)
        out["interval"] = "Wilson interval over objects (one sequence only: objects treated as independent)"
    return out


def bin_label(lo: float, hi: float) -> str:
    return f">= {lo:g} px" if math.isinf(hi) else f"{lo:g}-{hi:g} px"


def recall_by_size(heights: np.ndarray, found: np.ndarray, groups: np.ndarray,
                   bins: Sequence[tuple[float, float]] = SIZE_BINS, reps: int = 1000,
                   rng: np.random.Generator | None = None) -> dict[str, Any]:
    """Recall per size bin and over all objects at least ``bins[0][0]`` tall (key ``"all"``)."""
    heights = np.asarray(heights, np.float64)
    rng = rng or np.random.default_rng(0)
    rows = []
    for lo, hi in bins:
        sel = (heights >= lo) & (heights < hi)
        rows.append({"label": bin_label(lo, hi), "min_px": lo, "max_px": None if math.isinf(hi) else hi,
                     **recall_with_interval(found[sel], groups[sel], reps, rng=rng)})
    lo0 = min(lo for lo, _ in bins)
    sel = heights >= lo0
    return {"bins": rows, "all": {"label": bin_label(lo0, math.inf), "min_px": lo0, "max_px": None,
                                  **recall_with_interval(found[sel], groups[sel], reps, rng=rng)}}


def run_probe(dataset: str | Path, groups: Sequence[str] = DEFAULT_GROUPS, *, items: list[Any] | None = None,
              score_threshold: float = DEFAULT_SCORE, iou: float = DEFAULT_IOU,
              bins: Sequence[tuple[float, float]] = SIZE_BINS, reps: int = 1000, seed: int = 0,
              cache: str | Path | None = None, detector: Any = None, progress: bool = False) -> dict[str, Any]:
    """The detector probe on a simgen dataset (see the module docstring); a JSON-ready dict for the report.

    ``items``: the frames to probe (default: all of the dataset). Raises
    :class:`simgen.gap.objects.ObjectGapError` when ``dataset`` is not a simgen dataset and
    :class:`simgen.gap.nanodet.DetectorError` when the detector's weights are missing.
    """
    from simgen.gap.data import discover
    from simgen.gap.nanodet import COCO_CLASSES
    from simgen.gap.objects import class_group, detect_items, synthetic_boxes

    from simgen.gap.objects import ObjectGapError

    dataset = Path(dataset)
    if not (dataset / "manifest.jsonl").is_file():
        raise ObjectGapError(f"{dataset} is not a simgen dataset (no manifest.jsonl): the probe needs its labelled "
                             "boxes")
    items = list(items) if items is not None else discover(dataset)
    dets = detect_items(items, detector=detector, cache=cache, progress=progress)
    index = {id(it): i for i, it in enumerate(items)}
    rng = np.random.default_rng(seed)
    lo0 = min(lo for lo, _ in bins)
    out_groups: dict[str, Any] = {}
    for g in groups:
        grp = class_group(g)
        wanted = {COCO_CLASSES.index(c) for c in grp.coco}
        gts = synthetic_boxes(dataset, g, lo0, items)
        per_item: dict[int, list[int]] = {}
        for j, b in enumerate(gts):
            per_item.setdefault(index[id(b.item)], []).append(j)
        found = np.zeros(len(gts), bool)
        unmatched = 0
        n_det = 0
        for i, det in enumerate(dets):
            d = [(b, s) for b, s, c in det if c in wanted and s >= score_threshold]
            n_det += len(d)
            js = per_item.get(i, [])
            if d and js:
                f = match(np.array([gts[j].box for j in js]), np.array([b for b, _ in d]),
                          np.array([s for _, s in d]), iou)
                found[js] = f
                unmatched += len(d) - int(f.sum())
            else:
                unmatched += len(d)
        heights = np.array([b.height for b in gts])
        seqs = np.array([str(b.item.group) for b in gts])
        out_groups[g] = {
            "classes": list(grp.classes),
            "detector_classes": list(grp.coco),
            **recall_by_size(heights, found, seqs, bins, reps, rng),
            "detections": n_det,
            "unmatched_detections_per_frame": unmatched / max(len(items), 1),
        }
    return {
        "detector": "NanoDet-m (COCO, trained on real photos)",
        "description": (
            f"NanoDet-m on every synthetic frame; detections of each group's COCO classes with score >= "
            f"{score_threshold:g} matched to our visible, untruncated, at most half-occluded boxes at IoU >= {iou:g}. "
            "Recall per visible-box height; intervals resample whole sequences. Unmatched detections may be "
            "false alarms or objects our rules leave out (truncated, occluded, smaller than the bins)."
        ),
        "dataset": str(dataset),
        "n_frames": len(items),
        "n_sequences": len({str(it.group) for it in items}),
        "iou": iou,
        "score_threshold": score_threshold,
        "size_bins": [[lo, None if math.isinf(hi) else hi] for lo, hi in bins],
        "groups": out_groups,
    }


def format_probe(res: dict[str, Any]) -> str:
    """A plain-text table of :func:`run_probe`'s result (one line per group and size bin)."""

    def f(x: Any) -> str:
        return "-" if x is None else f"{x:.2f}"

    lines = [f"detector probe ({res['n_frames']} frames, {res['n_sequences']} sequences; IoU >= {res['iou']:g}, "
             f"score >= {res['score_threshold']:g}): recall [95% interval] (found/labelled)"]
    for g, block in res["groups"].items():
        for row in [*block["bins"], block["all"]]:
            lines.append(f"  {g:9s} {row['label']:>10s}: {f(row['recall'])} [{f(row['ci_low'])}, {f(row['ci_high'])}]"
                         f" ({row['found']}/{row['n']})")
    return "\n".join(lines)


__all__ = ["format_probe", "iou_matrix", "match", "wilson", "recall_with_interval", "recall_by_size", "run_probe",
           "SIZE_BINS"]
