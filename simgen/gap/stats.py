"""Every gap number with its N, a subsampling interval, and a real-vs-real baseline at the same N.

A single distance between synthetic and real features means little on its own: Fréchet distance is biased upward
at small N, kernel estimates are noisy, and real data is never identical to itself (two videos of one street
differ). This module therefore reports, for each metric,

* ``value`` — the mean of the metric over ``reps`` random subsamples of ``n`` synthetic and ``n`` real samples,
  drawn **without replacement** (sampling with replacement duplicates rows, which biases Fréchet distance and the
  k-NN metrics toward "more similar" / "smaller ball");
* ``ci_low``/``ci_high`` — the percentile interval (level ``1 - alpha``) of those subsample values: the spread
  of the metric at size ``n`` over subsamples of the available data. With groups (video blocks, rendered
  sequences), each subsample is made of whole groups drawn at random, so correlated neighbours move together and
  the interval shows the spread between groups rather than the much smaller spread between frames of the same
  groups. When ``n`` is a large share of a pool, the subsamples overlap and the interval is narrower than fresh
  data would give (finite-population effect); :func:`compare` uses at most half of each pool by default for
  that reason;
* ``baseline`` with its interval — the same metric between two halves of the *real* set, split by group (no
  group — e.g. video or recording — on both sides), each subsampled to the same ``n``;
* ``ratio`` — the calibrated gap ratio, oriented so that **ratio > 1 always means "further apart than real is
  from real"** and ≈ 1 (or below) means "as close as real data is to itself". See :data:`GAP_TRANSFORMS`.

Ratio definition. Each metric output ``v`` is mapped to a *gap* that is 0 for identical distributions and grows
with the difference::

    fd, kid, mmd          gap = v
    precision, recall,    gap = 1 - v            (these are "higher is closer"; already inverted here)
    coverage
    density               gap = |1 - v|          (density > 1 means synthetic crowds dense real regions)
    classifier_auc        gap = v - 0.5

    ratio = max(gap(value), 0) / max(gap(baseline), floor)

where ``floor`` is the half-width of the baseline's interval in gap units (at least 1e-12). The floor guards
metrics whose real-vs-real value is ≈ 0 or noisy (the unbiased KID/MMD estimates, AUC ≈ 0.5, coverage ≈ 1):
there the ratio reads "gap in units of real-vs-real subsampling noise" instead of dividing by ~0. Consumers must
**not** invert the ratio for higher-is-closer metrics; ``higher_is_closer`` on each result is informational.

Randomness: every function takes a :class:`numpy.random.Generator`; nothing reads a global RNG.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from simgen.gap import metrics as M
from simgen.gap.metrics import MetricInputError

__all__ = [
    "MetricResult",
    "Interval",
    "GAP_TRANSFORMS",
    "HIGHER_IS_CLOSER",
    "METRIC_OUTPUTS",
    "make_metric",
    "split_by_group",
    "draw_by_group",
    "subsample_ci",
    "real_baseline",
    "gap_ratio",
    "default_n",
    "compare",
]

#: Output names produced by each metric key accepted by :func:`compare`.
METRIC_OUTPUTS: dict[str, tuple[str, ...]] = {
    "fd": ("fd",),
    "kid": ("kid",),
    "mmd": ("mmd",),
    "precision_recall": ("precision", "recall"),
    "density_coverage": ("density", "coverage"),
    "classifier": ("classifier_auc",),
}

#: Output names where a larger value means "more similar".
HIGHER_IS_CLOSER = frozenset({"precision", "recall", "density", "coverage"})

#: Output name -> function mapping a value (array) to its gap (0 = identical distributions).
GAP_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "fd": lambda v: v,
    "kid": lambda v: v,
    "mmd": lambda v: v,
    "precision": lambda v: 1.0 - v,
    "recall": lambda v: 1.0 - v,
    "coverage": lambda v: 1.0 - v,
    "density": lambda v: np.abs(1.0 - v),
    "classifier_auc": lambda v: v - 0.5,
}


@dataclass
class Interval:
    """A metric output over ``reps`` subsamples of size ``n``: mean, percentile interval and the raw values."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    reps: int
    alpha: float
    values: np.ndarray = field(repr=False)  # (reps,) float64


@dataclass
class MetricResult:
    """One gap number, ready for the report (``to_json()`` gives strict-JSON-friendly plain values).

    ``value``/``ci_low``/``ci_high``: synthetic vs real at N = ``n_synth`` = ``n_real`` samples each (mean and
    percentile interval over subsamples). ``baseline``/``baseline_ci_*``: real half vs real half (split by group)
    at the same N. ``ratio``: calibrated gap ratio, > 1 means further than real-vs-real (already oriented for
    higher-is-closer metrics; see the module doc). ``note``: caveats in words (floored denominator, few groups...).
    Additive fields: ``higher_is_closer``, ``ratio_ci_low``/``ratio_ci_high`` (the value interval mapped to gaps
    over the same denominator), ``reps``, ``alpha`` and ``extra`` (e.g. the MMD permutation p-value).
    """

    name: str
    value: float
    ci_low: float
    ci_high: float
    n_synth: int
    n_real: int
    baseline: float
    baseline_ci_low: float
    baseline_ci_high: float
    ratio: float
    note: str = ""
    higher_is_closer: bool = False
    ratio_ci_low: float = float("nan")
    ratio_ci_high: float = float("nan")
    reps: int = 0
    alpha: float = 0.05
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain dict; non-finite floats become None."""

        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (float, np.floating)):
                f = float(v)
                return f if math.isfinite(f) else None
            return v

        return clean(asdict(self))


# --------------------------------------------------------------------------------------------------- metric callables

#: A metric usable by :func:`subsample_ci`: ``f(a, b, rng, groups_a, groups_b) -> {output name: float}``.
MetricFn = Callable[[np.ndarray, np.ndarray, np.random.Generator, Any, Any], dict[str, float]]


def make_metric(
    names: Sequence[str] | str,
    *,
    k: int = 5,
    folds: int = 5,
    mmd_bandwidth: float | str = "median",
    classifier_max_dim: int | None = None,
) -> MetricFn:
    """A callable computing the metrics ``names`` (keys of :data:`METRIC_OUTPUTS`) on one pair of subsamples.

    The callable takes ``(a, b, rng, groups_a, groups_b)`` with ``a`` the set under test (synthetic, or one real
    half) and ``b`` the reference (real), and returns a flat ``{output name: value}`` dict. KID is computed on
    the whole pair (one subset = the subsample itself), MMD without permutations (p-values are computed once by
    :func:`compare`), precision/recall and density/coverage with ``b`` as the real set.
    """
    keys = [names] if isinstance(names, str) else list(names)
    for key in keys:
        if key not in METRIC_OUTPUTS:
            raise MetricInputError(f"unknown metric {key!r}; choose from {', '.join(METRIC_OUTPUTS)}")

    def metric(
        a: np.ndarray, b: np.ndarray, rng: np.random.Generator, groups_a: Any = None, groups_b: Any = None
    ) -> dict[str, float]:
        out: dict[str, float] = {}
        for key in keys:
            if key == "fd":
                out["fd"] = M.fd(a, b)
            elif key == "kid":
                m = min(len(a), len(b))
                out["kid"] = M.kid(a, b, subset_size=m, n_subsets=1, rng=rng)[0]
            elif key == "mmd":
                out["mmd"] = M.mmd_rbf(a, b, bandwidth=mmd_bandwidth, n_permutations=0)[0]
            elif key == "precision_recall":
                out["precision"], out["recall"] = M.precision_recall(b, a, k=k)
            elif key == "density_coverage":
                out["density"], out["coverage"] = M.density_coverage(b, a, k=k)
            elif key == "classifier":
                out["classifier_auc"] = M.classifier_two_sample(
                    a, b, groups_a, groups_b, folds=folds, rng=rng, max_dim=classifier_max_dim
                )
        return out

    metric.__name__ = "+".join(keys)
    return metric


def _call_metric(
    metric: Any, a: np.ndarray, b: np.ndarray, rng: np.random.Generator, ga: Any, gb: Any
) -> dict[str, float]:
    if isinstance(metric, str):
        metric = make_metric(metric)
    params = inspect.signature(metric).parameters
    if "groups_a" in params or len(params) >= 5:
        out = metric(a, b, rng, ga, gb)
    else:
        out = metric(a, b, rng)
    if isinstance(out, Mapping):
        return {str(k): float(v) for k, v in out.items()}
    if isinstance(out, (tuple, list)):
        raise TypeError("a metric callable must return a float or a {name: float} mapping, not a tuple")
    return {getattr(metric, "__name__", "metric"): float(out)}


def _interval(values: np.ndarray, n: int, alpha: float) -> Interval:
    v = np.asarray(values, dtype=np.float64)
    fin = v[np.isfinite(v)]
    if fin.size == 0:
        nan = float("nan")
        return Interval(nan, nan, nan, n, len(v), alpha, v)
    lo, hi = np.quantile(fin, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(float(fin.mean()), float(lo), float(hi), n, len(v), alpha, v)


def _collect(rows: list[dict[str, float]], n: int, alpha: float) -> dict[str, Interval]:
    names = list(rows[0])
    return {nm: _interval(np.array([r.get(nm, np.nan) for r in rows]), n, alpha) for nm in names}


def _check_common(n: int, reps: int, alpha: float, rng: Any, fn: str) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{fn}: rng must be a numpy.random.Generator (got {type(rng).__name__})")
    if n < 2:
        raise MetricInputError(f"{fn}: n must be >= 2 (got {n})")
    if reps < 1:
        raise MetricInputError(f"{fn}: reps must be >= 1 (got {reps})")
    if not 0.0 < alpha < 1.0:
        raise MetricInputError(f"{fn}: alpha must be in (0, 1) (got {alpha})")


def _groups_array(groups: Any, n: int, fn: str, name: str) -> np.ndarray | None:
    if groups is None:
        return None
    g = np.asarray(groups, dtype=object).reshape(-1)
    if len(g) != n:
        raise MetricInputError(f"{fn}: {name} has {len(g)} entries for {n} samples")
    return g


def _group_members(groups: np.ndarray) -> list[np.ndarray]:
    """Row indices of each group (``None`` entries are groups of their own), in order of first appearance."""
    labels: dict[Any, list[int]] = {}
    for i, v in enumerate(groups):
        labels.setdefault(("__none__", i) if v is None else v, []).append(i)
    return [np.array(m, dtype=np.int64) for m in labels.values()]


def draw_by_group(members: list[np.ndarray] | None, size: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct row indices of ``range(size)``: uniformly when ``members`` is None, else from whole groups.

    ``members``: the row indices of each group. Groups are taken in random order until they hold at least ``n``
    rows; ``n`` of those rows are then drawn without replacement (so only the last group is ever cut).
    """
    if members is None:
        return rng.choice(size, n, replace=False)
    chosen, have = [], 0
    for j in rng.permutation(len(members)):
        chosen.append(members[j])
        have += len(members[j])
        if have >= n:
            break
    return rng.choice(np.concatenate(chosen), n, replace=False)


# --------------------------------------------------------------------------------------------------- public API


def subsample_ci(
    metric: MetricFn | Callable[..., Any] | str,
    a: Any,
    b: Any,
    n: int,
    reps: int = 20,
    alpha: float = 0.05,
    rng: np.random.Generator | None = None,
    groups_a: Any = None,
    groups_b: Any = None,
) -> dict[str, Interval]:
    """Metric between ``a`` ``(Na, D)`` and ``b`` ``(Nb, D)`` over ``reps`` subsamples of ``n`` rows of each set.

    Rows are drawn **without replacement** within each subsample (independently for ``a`` and ``b``, afresh per
    repetition). When a side has groups, its subsample is drawn by group: groups in random order until they hold
    at least ``n`` rows, then ``n`` rows of those (:func:`draw_by_group`). ``metric`` is a key of
    :data:`METRIC_OUTPUTS`, a callable from :func:`make_metric`, or any callable
    ``f(a, b, rng) -> float | {name: float}`` (a callable taking ``groups_a``/``groups_b`` as 4th/5th
    arguments receives the subsampled group labels). Returns ``{output name: Interval}`` (a float-valued callable
    is keyed by its ``__name__``); ``Interval.value`` is the mean over repetitions, ``ci_low``/``ci_high`` the
    ``alpha/2`` and ``1 - alpha/2`` percentiles. Needs ``n <= min(Na, Nb)``; ``n`` equal to a pool size makes
    that side identical in every repetition.
    """
    fn = "subsample_ci"
    _check_common(n, reps, alpha, rng, fn)
    x = M._features(a, "a", fn, min_n=2)
    y = M._features(b, "b", fn, min_n=2)
    if x.shape[1] != y.shape[1]:
        raise MetricInputError(f"{fn}: feature widths differ (a D={x.shape[1]}, b D={y.shape[1]})")
    if n > len(x) or n > len(y):
        raise MetricInputError(f"{fn}: n={n} exceeds the available samples (a has {len(x)}, b has {len(y)})")
    ga = _groups_array(groups_a, len(x), fn, "groups_a")
    gb = _groups_array(groups_b, len(y), fn, "groups_b")
    members_a = None if ga is None else _group_members(ga)
    members_b = None if gb is None else _group_members(gb)
    rows = []
    for _ in range(reps):
        ia = draw_by_group(members_a, len(x), n, rng)
        ib = draw_by_group(members_b, len(y), n, rng)
        rows.append(
            _call_metric(metric, x[ia], y[ib], rng, None if ga is None else ga[ia], None if gb is None else gb[ib])
        )
    return _collect(rows, n, alpha)


def split_by_group(groups: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into two halves with no group on both sides: ``(idx1, idx2)``, int64, sorted.

    ``groups`` ``(N,)``: any hashable labels (``None`` entries are their own groups). Groups are shuffled with
    ``rng`` and each is put on the side with fewer samples so far, so the halves differ in size by at most the
    largest group. Needs at least 2 distinct groups.
    """
    members = _group_members(np.asarray(groups, dtype=object).reshape(-1))
    if len(members) < 2:
        raise MetricInputError(
            f"split_by_group: the real set has {len(members)} group(s); a real-vs-real baseline needs at least 2"
        )
    order = rng.permutation(len(members))
    # largest groups first (in random order among equals) keeps the halves balanced
    order = sorted(order, key=lambda j: -len(members[j]))
    h1: list[int] = []
    h2: list[int] = []
    for j in order:
        (h1 if len(h1) <= len(h2) else h2).extend(members[j])
    if rng.random() < 0.5:
        h1, h2 = h2, h1
    return np.sort(np.array(h1, dtype=np.int64)), np.sort(np.array(h2, dtype=np.int64))


def real_baseline(
    metric: MetricFn | Callable[..., Any] | str,
    real: Any,
    real_groups: Any,
    n: int,
    reps: int = 20,
    rng: np.random.Generator | None = None,
    alpha: float = 0.05,
) -> dict[str, Interval]:
    """The metric between two halves of ``real`` ``(N, D)``, split by ``real_groups`` ``(N,)``, at size ``n``.

    Each repetition draws a fresh random split (:func:`split_by_group`: no group on both sides), then ``n`` rows
    without replacement from each half, by group (:func:`draw_by_group`) as :func:`subsample_ci` does, and
    computes ``metric(half1, half2)`` (half 1 plays the synthetic role, half 2 the real reference). ``real_groups=None`` treats every sample as its own group — only right for
    independent images, never for video frames. Returns ``{output name: Interval}`` as :func:`subsample_ci`.
    Raises :class:`MetricInputError` when a half has fewer than ``n`` rows.
    """
    fn = "real_baseline"
    _check_common(n, reps, alpha, rng, fn)
    x = M._features(real, "real", fn, min_n=4)
    g = _groups_array(real_groups, len(x), fn, "real_groups")
    if g is None:
        g = np.arange(len(x)).astype(object)
    rows = []
    for _ in range(reps):
        h1, h2 = split_by_group(g, rng)
        if min(len(h1), len(h2)) < n:
            raise MetricInputError(
                f"{fn}: a group-wise half of the real set has {min(len(h1), len(h2))} samples, fewer than n={n}; "
                "use a smaller n or more real data (or smaller groups)"
            )
        # drawn by group like the synthetic-vs-real subsamples, so both pairs are equally diverse
        i1 = h1[draw_by_group(_group_members(g[h1]), len(h1), n, rng)]
        i2 = h2[draw_by_group(_group_members(g[h2]), len(h2), n, rng)]
        rows.append(_call_metric(metric, x[i1], x[i2], rng, g[i1], g[i2]))
    return _collect(rows, n, alpha)


def gap_ratio(name: str, value: Interval, baseline: Interval) -> tuple[float, float, float, str]:
    """Calibrated gap ratio of output ``name``: ``(ratio, ratio_ci_low, ratio_ci_high, note)``. See module doc.

    The point ratio maps the mean values through the gap transform; the ratio interval maps the value's
    interval end points (for ``density``, an interval containing 1 has a gap interval starting at 0). The
    denominator's floor is the half-width of the baseline interval (every transform has slope ±1).
    """
    tf = GAP_TRANSFORMS.get(name, lambda v: v)
    vals = [value.value, value.ci_low, value.ci_high, baseline.value, baseline.ci_low, baseline.ci_high]
    if not all(math.isfinite(x) for x in vals):
        nan = float("nan")
        return nan, nan, nan, "ratio undefined (non-finite values)"
    base_gap = float(tf(np.array(baseline.value)))
    floor = max((baseline.ci_high - baseline.ci_low) / 2.0, 1e-12)
    note = ""
    denom = base_gap
    if base_gap < floor:
        denom = floor
        note = (
            f"real-vs-real {name} gap ({base_gap:.3g}) is within its own subsampling noise; ratio is measured in "
            f"units of that noise ({floor:.3g})"
        )
    ratio = max(float(tf(np.array(value.value))), 0.0) / denom
    ends = tf(np.array([value.ci_low, value.ci_high], dtype=np.float64))
    lo, hi = float(ends.min()), float(ends.max())
    if name == "density" and value.ci_low <= 1.0 <= value.ci_high:
        lo = 0.0
    return ratio, max(lo, 0.0) / denom, max(hi, 0.0) / denom, note


def default_n(n_synth: int, real_groups: Any, n_real: int, fraction: float = 0.5, max_n: int = 2000) -> int:
    """The N used by :func:`compare` when none is given.

    ``fraction`` of the smaller of (synthetic pool, the smaller real half guaranteed by the group split:
    ``(n_real - largest group) / 2``), capped at ``max_n`` (the kernel metrics cost O(N^2) memory).
    """
    if real_groups is None:
        largest = 1
    else:
        _, counts = np.unique(np.asarray(real_groups, dtype=object).astype(str), return_counts=True)
        largest = int(counts.max())
    half = (n_real - largest) // 2
    return int(min(max_n, math.floor(fraction * min(n_synth, half))))


def _child(root: int, name: str) -> np.random.Generator:
    words = [int.from_bytes(hashlib.sha256(name.encode()).digest()[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([root & 0xFFFFFFFF, root >> 32, *words])))


def compare(
    synth: Any,
    real: Any,
    real_groups: Any,
    synth_groups: Any = None,
    metrics: Sequence[str] = ("fd", "kid", "mmd", "precision_recall", "density_coverage", "classifier"),
    n: int | None = None,
    reps: int = 20,
    rng: np.random.Generator | None = None,
    alpha: float = 0.05,
    k: int = 5,
    folds: int = 5,
    n_permutations: int = 200,
    classifier_max_dim: int | None = None,
) -> list[MetricResult]:
    """Synthetic ``(Ns, D)`` vs real ``(Nr, D)`` features: every metric with interval, baseline and gap ratio.

    ``real_groups`` ``(Nr,)`` / ``synth_groups`` ``(Ns,)``: group label per sample (source video, recording,
    rendered sequence); real groups drive the real-vs-real split and both drive the classifier's group-aware
    folds. ``None`` = every sample its own group (a note says so).

    ``n`` (samples per side) defaults to :func:`default_n`. All metrics are computed on the same subsamples in
    each repetition. The MMD bandwidth is fixed once from the real set (median pairwise distance of up to ``n``
    real samples) so synthetic and baseline values share one kernel; the MMD permutation p-value (synthetic vs
    real, ``n_permutations`` permutations at size ``n``, moving whole groups when groups are given) goes to
    ``extra["p_value"]``.

    The random streams for (synthetic subsamples, baseline splits, MMD bandwidth/p-value) are derived from one
    draw of ``rng`` by name, so changing ``metrics`` does not change the subsamples.
    Returns one :class:`MetricResult` per output name, in the order of ``metrics``.
    """
    fn = "compare"
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{fn}: rng must be a numpy.random.Generator (got {type(rng).__name__})")
    s, r = M._pair(synth, real, fn, min_n=2, names=("synth", "real"))
    keys = list(metrics)
    if not keys:
        raise MetricInputError(f"{fn}: no metrics requested")
    for key in keys:
        if key not in METRIC_OUTPUTS:
            raise MetricInputError(f"{fn}: unknown metric {key!r}; choose from {', '.join(METRIC_OUTPUTS)}")
    gr = _groups_array(real_groups, len(r), fn, "real_groups")
    gs = _groups_array(synth_groups, len(s), fn, "synth_groups")
    notes: list[str] = []
    if gr is None:
        notes.append("real images have no groups: each is treated as independent (neighbouring video frames "
                     "would make the baseline optimistic)")
    if n is None:
        n = default_n(len(s), gr, len(r))
        min_n = max(k + 2, 4)
        if n < min_n:
            raise MetricInputError(
                f"{fn}: too few samples for a calibrated comparison (N per side would be {n}; synthetic has "
                f"{len(s)}, real has {len(r)}); at least {2 * min_n} synthetic and {4 * min_n} real are needed"
            )
    if n < 50:
        notes.append(f"N = {n} per side is small; intervals are wide and k-NN metrics coarse")
    root = int(rng.integers(0, 2**63 - 1))

    bandwidth: float | str = "median"
    p_value = float("nan")
    if "mmd" in keys:
        brng = _child(root, "mmd")
        sub = r[brng.choice(len(r), min(n, len(r)), replace=False)]
        d2 = M._sq_dists(sub, sub)[np.triu_indices(len(sub), k=1)]
        med = float(np.median(d2))
        bandwidth = math.sqrt(med) if med > 0 else "median"
        ia = brng.choice(len(s), n, replace=False)
        ib = brng.choice(len(r), n, replace=False)
        if n_permutations > 0:
            _, p_value = M.mmd_rbf(
                s[ia], r[ib], bandwidth=bandwidth, n_permutations=n_permutations, rng=brng,
                groups_a=None if gs is None else gs[ia], groups_b=None if gr is None else gr[ib],
            )  # fmt: skip

    metric = make_metric(keys, k=k, folds=folds, mmd_bandwidth=bandwidth, classifier_max_dim=classifier_max_dim)
    val = subsample_ci(metric, s, r, n, reps, alpha, _child(root, "synth-vs-real"), groups_a=gs, groups_b=gr)
    base = real_baseline(metric, r, gr, n, reps, _child(root, "real-vs-real"), alpha=alpha)

    results = []
    for key in keys:
        for name in METRIC_OUTPUTS[key]:
            v, bl = val[name], base[name]
            ratio, rlo, rhi, rnote = gap_ratio(name, v, bl)
            extra: dict[str, Any] = {}
            if name == "mmd":
                extra = {"p_value": p_value, "bandwidth": bandwidth, "n_permutations": n_permutations}
            if name in ("precision", "recall", "density", "coverage"):
                extra = {"k": k}
            if name == "classifier_auc":
                extra = {"folds": folds, "max_dim": classifier_max_dim}
            note = "; ".join(x for x in [*notes, rnote] if x)
            results.append(
                MetricResult(
                    name=name,
                    value=v.value,
                    ci_low=v.ci_low,
                    ci_high=v.ci_high,
                    n_synth=n,
                    n_real=n,
                    baseline=bl.value,
                    baseline_ci_low=bl.ci_low,
                    baseline_ci_high=bl.ci_high,
                    ratio=ratio,
                    note=note,
                    higher_is_closer=name in HIGHER_IS_CLOSER,
                    ratio_ci_low=rlo,
                    ratio_ci_high=rhi,
                    reps=reps,
                    alpha=alpha,
                    extra=extra,
                )
            )
    return results
