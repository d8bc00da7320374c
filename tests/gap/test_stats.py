"""Tests for simgen.gap.stats: subsampling without replacement, group-wise real halves, calibrated gap ratios."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simgen.gap import stats as S
from simgen.gap.metrics import MetricInputError


def _grouped(rng, n_groups, per, d=8, offset=0.3, shift=0.0):
    off = rng.standard_normal((n_groups, d)) * offset
    x = np.repeat(off, per, axis=0) + rng.standard_normal((n_groups * per, d)) + shift
    return x, np.repeat(np.arange(n_groups), per)


def test_subsample_ci_draws_without_replacement_and_orders_interval():
    rng = np.random.default_rng(0)
    # unique rows let the metric see whether any row was drawn twice
    a = np.arange(200, dtype=float)[:, None] * np.ones((1, 3))
    b = -np.arange(150, dtype=float)[:, None] * np.ones((1, 3))
    sizes = []

    def distinct(x, y, rng):
        sizes.append((len(np.unique(x[:, 0])), len(np.unique(y[:, 0]))))
        return float(x.mean() - y.mean())

    out = S.subsample_ci(distinct, a, b, n=100, reps=15, alpha=0.1, rng=rng)
    assert sizes == [(100, 100)] * 15
    iv = out["distinct"]
    assert iv.n == 100 and iv.reps == 15 and iv.values.shape == (15,)
    assert iv.ci_low <= iv.value <= iv.ci_high
    assert iv.ci_low < iv.ci_high  # subsamples differ
    assert iv.value == pytest.approx(float(iv.values.mean()))


def test_draw_by_group_takes_whole_groups_first():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(10), 30)
    members = S._group_members(groups.astype(object))
    for _ in range(20):
        idx = S.draw_by_group(members, len(groups), 50, rng)
        assert len(idx) == 50 and len(np.unique(idx)) == 50
        assert len(np.unique(groups[idx])) <= 2  # two groups of 30 hold 50 rows
    assert len(np.unique(groups[S.draw_by_group(None, len(groups), 50, rng)])) > 2


def test_grouped_intervals_show_the_spread_between_groups():
    """Frames of one video block are alike: subsampling frames hides how much another set of blocks would differ;
    subsampling whole groups shows it."""
    rng = np.random.default_rng(6)
    a, ga = _grouped(rng, 24, 20, d=4, offset=2.0)
    b, gb = _grouped(rng, 24, 20, d=4, offset=2.0)

    def mean_gap(x, y, rng):
        return float(np.linalg.norm(x.mean(0) - y.mean(0)))

    flat = S.subsample_ci(mean_gap, a, b, n=120, reps=40, alpha=0.1, rng=np.random.default_rng(1))["mean_gap"]
    grouped = S.subsample_ci(mean_gap, a, b, n=120, reps=40, alpha=0.1, rng=np.random.default_rng(1),
                             groups_a=ga, groups_b=gb)["mean_gap"]
    assert grouped.ci_high - grouped.ci_low > 2 * (flat.ci_high - flat.ci_low)


def test_subsample_ci_rejects_n_larger_than_a_set():
    rng = np.random.default_rng(0)
    with pytest.raises(MetricInputError, match="exceeds"):
        S.subsample_ci("fd", np.zeros((10, 2)), np.zeros((50, 2)), n=20, reps=2, alpha=0.1, rng=rng)


def test_split_by_group_keeps_groups_apart_and_balances():
    rng = np.random.default_rng(1)
    groups = np.repeat([f"video{i}" for i in range(9)], [30, 5, 12, 12, 40, 7, 7, 20, 3])
    for _ in range(20):
        h1, h2 = S.split_by_group(groups, rng)
        assert not set(groups[h1]) & set(groups[h2])
        assert len(h1) + len(h2) == len(groups)
        assert len(np.intersect1d(h1, h2)) == 0
        assert abs(len(h1) - len(h2)) <= 40
    with pytest.raises(MetricInputError, match="at least 2"):
        S.split_by_group(["one"] * 10, rng)


def test_real_baseline_never_puts_a_group_on_both_sides():
    rng = np.random.default_rng(2)
    x, g = _grouped(rng, 12, 10)
    checked = []

    def spy(a, b, rng, groups_a, groups_b):
        checked.append(set(groups_a) & set(groups_b))
        return {"gap": float(np.abs(a.mean(0) - b.mean(0)).sum())}

    out = S.real_baseline(spy, x, g, n=30, reps=10, rng=rng)
    assert len(checked) == 10 and all(not c for c in checked)
    assert out["gap"].n == 30
    with pytest.raises(MetricInputError, match="fewer than n"):
        S.real_baseline(spy, x, g, n=70, reps=2, rng=rng)


def test_fd_baseline_sees_small_sample_bias_at_the_same_n():
    # i.i.d. real data: the real-vs-real FD at N is the finite-sample bias ~ d(d+4)/(2N), not 0
    rng = np.random.default_rng(3)
    d, n = 8, 100
    real = rng.standard_normal((800, d))
    out = S.real_baseline("fd", real, None, n=n, reps=20, rng=rng)
    assert out["fd"].value == pytest.approx(d * (d + 4) / (2 * n), rel=0.2)


def test_gap_ratio_orientation_and_guards():
    def iv(values):
        return S._interval(np.asarray(values, dtype=float), 100, 0.1)

    base_auc = iv([0.49, 0.5, 0.51, 0.5])
    r, lo, hi, note = S.gap_ratio("classifier_auc", iv([0.9, 0.91, 0.89, 0.9]), base_auc)
    assert np.isfinite(r) and r > 10 and "noise" in note and lo <= r <= hi
    r, *_ = S.gap_ratio("classifier_auc", iv([0.3, 0.31]), base_auc)
    assert r == 0.0  # below chance never counts as a gap
    # higher-is-closer: a lower precision than real-vs-real must give ratio > 1
    r, lo, hi, _ = S.gap_ratio("precision", iv([0.6, 0.62, 0.58]), iv([0.9, 0.92, 0.88]))
    assert r == pytest.approx(0.4 / 0.1, rel=1e-9)
    assert lo <= r <= hi
    r, *_ = S.gap_ratio("precision", iv([0.95, 0.96]), iv([0.9, 0.92, 0.88]))
    assert r < 1
    # density: both too low and too high are gaps
    assert S.gap_ratio("density", iv([0.5, 0.5]), iv([0.9, 0.9]))[0] == pytest.approx(5.0, rel=1e-6)
    assert S.gap_ratio("density", iv([1.5, 1.5]), iv([0.9, 0.9]))[0] == pytest.approx(5.0, rel=1e-6)
    # plain metric
    assert S.gap_ratio("fd", iv([4.0, 4.0]), iv([2.0, 2.0]))[0] == pytest.approx(2.0)


@pytest.mark.slow
def test_compare_null_gives_ratios_near_one_and_shift_gives_large_ratios():
    rng = np.random.default_rng(4)
    real, gr = _grouped(rng, 40, 15)
    same, gs = _grouped(rng, 20, 15)
    far, gf = _grouped(rng, 20, 15, shift=0.6)
    kw = dict(reps=6, folds=4, n_permutations=99)
    null = {m.name: m for m in S.compare(same, real, gr, gs, rng=np.random.default_rng(0), **kw)}
    shift = {m.name: m for m in S.compare(far, real, gr, gf, rng=np.random.default_rng(0), **kw)}
    names = ["fd", "kid", "mmd", "precision", "recall", "density", "coverage", "classifier_auc"]
    assert list(null) == names and list(shift) == names
    assert null["fd"].n_synth == null["fd"].n_real == S.default_n(len(same), gr, len(real))
    assert 0.5 < null["fd"].ratio < 1.6
    for name in names:
        m = null[name]
        assert m.ci_low <= m.value <= m.ci_high
        assert m.baseline_ci_low <= m.baseline <= m.baseline_ci_high
        assert m.ratio < 2.5, (name, m.ratio)
        assert m.higher_is_closer == (name in S.HIGHER_IS_CLOSER)
    for name in ("fd", "kid", "mmd", "classifier_auc", "precision", "coverage"):
        assert shift[name].ratio > 1.5 * max(null[name].ratio, 1.0), (name, shift[name].ratio, null[name].ratio)
    assert shift["fd"].ratio > 4
    assert shift["mmd"].extra["p_value"] <= 0.02
    assert null["mmd"].extra["p_value"] > 0.02
    # strict JSON, and the ratio of a higher-is-closer metric is already oriented (no inversion needed)
    json.dumps([m.to_json() for m in shift.values()], allow_nan=False)
    assert shift["precision"].value < null["precision"].value


def test_compare_is_reproducible_and_metric_choice_does_not_shift_subsamples():
    rng = np.random.default_rng(5)
    real, gr = _grouped(rng, 20, 10, d=4)
    synth, gs = _grouped(rng, 10, 10, d=4, shift=0.2)
    a = S.compare(synth, real, gr, gs, metrics=("fd",), reps=4, rng=np.random.default_rng(7))
    b = S.compare(synth, real, gr, gs, metrics=("fd",), reps=4, rng=np.random.default_rng(7))
    c = S.compare(synth, real, gr, gs, metrics=("fd", "kid"), reps=4, rng=np.random.default_rng(7))
    assert a[0] == b[0]
    assert c[0].value == a[0].value and c[0].baseline == a[0].baseline
    assert [m.name for m in c] == ["fd", "kid"]


def test_compare_errors():
    rng = np.random.default_rng(6)
    with pytest.raises(MetricInputError, match="unknown metric"):
        S.compare(np.zeros((50, 2)), np.zeros((100, 2)), None, metrics=("fid",), rng=rng)
    with pytest.raises(MetricInputError, match="too few"):
        S.compare(rng.standard_normal((8, 2)), rng.standard_normal((12, 2)), None, rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        S.compare(np.zeros((50, 2)), np.zeros((100, 2)), None, rng=0)  # type: ignore[arg-type]
