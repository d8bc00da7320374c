"""The report's headline picks the metric trustworthy at the N in hand (simgen.gap.headline)."""

from __future__ import annotations

import numpy as np

from simgen.gap.headline import FD_MIN_SAMPLES_PER_DIM, choose_headline, ratio_verdict
from simgen.gap.stats import compare


def _rows(d: int, n: int, shift: float, n_pool: int, metrics=("fd", "kid", "classifier"), seed=0):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(2 * n_pool, d))
    synth = rng.normal(size=(n_pool, d)) + shift
    res = compare(synth, real, np.arange(2 * n_pool) // 2, np.arange(n_pool) // 2, metrics, n=n, reps=8,
                  rng=np.random.default_rng(seed + 1))
    return [r.to_json() for r in res]


def test_bias_dominated_fd_is_not_the_headline():
    d, n = 256, 20
    rows = _rows(d, n, 0.6, 200)
    fd = next(r for r in rows if r["name"] == "fd")
    kid = next(r for r in rows if r["name"] == "kid")
    # the situation the rule exists for: FD's ratio is squashed towards 1 by its small-sample bias
    assert fd["ratio"] < 2.0 and kid["ratio"] > 10 * fd["ratio"], (fd["ratio"], kid["ratio"])
    assert "large gap" not in ratio_verdict(fd)
    h = choose_headline(rows, d)
    assert h["metric"] == "kid" and not h["fd_trusted"]
    assert h["ratio"] == kid["ratio"] and h["n"] == n
    assert "large gap" in h["verdict"] and "KID" in h["verdict"]
    assert "bias" in h["reason"] and "256" in h["reason"]
    assert h["classifier_auc"] > 0.9 and "AUC" in h["verdict"]


def test_classifier_carries_the_headline_without_kid():
    rows = _rows(256, 20, 0.6, 200, metrics=("fd", "classifier"))
    h = choose_headline(rows, 256)
    assert h["metric"] == "classifier_auc" and h["ratio"] is None
    assert "separable" in h["verdict"] and "domain-classifier AUC" in h["verdict"]


def test_fd_is_the_headline_at_large_n():
    d = 4
    n = int(FD_MIN_SAMPLES_PER_DIM * d * 25)
    rows = _rows(d, n, 1.0, 2 * n, metrics=("fd", "kid"))
    h = choose_headline(rows, d)
    assert h["metric"] == "fd" and h["fd_trusted"]
    assert h["ratio"] > 3 and "large gap" in h["verdict"] and "(headline metric: FD)" in h["verdict"]
    # the same rows with a feature dimension the N cannot support fall back to KID
    assert choose_headline(rows, 10 * n)["metric"] == "kid"
