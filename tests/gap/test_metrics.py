"""Known-answer tests for simgen.gap.metrics (closed forms, invariances, null and shifted distributions)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from simgen.errors import SimgenError
from simgen.gap import metrics as M


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# --------------------------------------------------------------------------------------------------- Fréchet


def test_fd_of_a_set_with_itself_is_zero():
    rng = _rng(1)
    x = rng.standard_normal((500, 64)) @ rng.standard_normal((64, 64)) + 3.0
    assert abs(M.fd(x, x)) <= 1e-6


def test_fd_self_zero_when_rank_deficient():
    # N < D: the sample covariance is singular; round-off in its null space must not leak into the trace term
    rng = _rng(2)
    x = rng.standard_normal((200, 512)) @ rng.standard_normal((512, 512))
    assert abs(M.fd(x, x)) <= 1e-6  # cross-Gram route (N < D)
    assert abs(M.fd(x, x, method="eigh")) <= 1e-6  # covariance route with the null space dropped


def test_fd_diagonal_closed_form():
    rng = _rng(3)
    d = 50
    a, b = rng.uniform(0.01, 5.0, d), rng.uniform(0.01, 5.0, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum() + ((mu1 - mu2) ** 2).sum())
    got = M.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, abs=1e-6)


def test_fd_commuting_matrices_closed_form():
    rng = _rng(4)
    d = 40
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    a, b = rng.uniform(0.05, 4.0, d), rng.uniform(0.05, 4.0, d)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum() + ((mu1 - mu2) ** 2).sum())
    assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, abs=1e-6)


def test_fd_two_by_two_non_commuting_closed_form():
    # for 2x2 PSD A, B: tr sqrt(A^1/2 B A^1/2) = sqrt(tr(AB) + 2 sqrt(det A det B))
    rng = _rng(5)
    for _ in range(5):
        s1, s2 = _random_spd(rng, 2), _random_spd(rng, 2)
        mu1, mu2 = rng.standard_normal(2), rng.standard_normal(2)
        tr_sqrt = np.sqrt(np.trace(s1 @ s2) + 2.0 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
        expected = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
        assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, abs=1e-9)


def test_fd_one_dimensional():
    assert M.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0, abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["auto", "eigh"])
def test_fd_identity_2048_mean_shift_is_exactly_2048(method):
    from threadpoolctl import threadpool_limits

    d = 2048
    # one BLAS thread: numerics are the point here, and threaded BLAS degrades badly on a shared, loaded machine
    with threadpool_limits(1):
        got = M.frechet_distance(np.zeros(d), np.eye(d), np.ones(d), np.eye(d), method=method)
    assert abs(got - 2048.0) <= 1e-6


def test_fd_is_symmetric_and_invariant_to_permutation_and_rotation():
    rng = _rng(6)
    d = 24
    x = rng.standard_normal((300, d)) @ rng.standard_normal((d, d))
    y = rng.standard_normal((250, d)) @ rng.standard_normal((d, d)) + 0.5
    ref = M.fd(x, y)
    assert ref > 1.0
    assert M.fd(y, x) == pytest.approx(ref, rel=1e-9)
    perm = rng.permutation(d)
    assert M.fd(x[:, perm], y[:, perm]) == pytest.approx(ref, rel=1e-9)
    assert M.fd(x[rng.permutation(len(x))], y[rng.permutation(len(y))]) == pytest.approx(ref, rel=1e-9)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    assert M.fd(x @ q, y @ q) == pytest.approx(ref, rel=1e-9)
    # and a translation of both sets changes nothing
    assert M.fd(x + 7.0, y + 7.0) == pytest.approx(ref, rel=1e-9)


def test_fd_small_sample_bias_follows_d_d_plus_4_over_2n():
    rng = _rng(7)
    d = 32
    means = []
    for n in (100, 200, 400):
        vals = [M.fd(rng.standard_normal((n, d)), rng.standard_normal((n, d))) for _ in range(20)]
        mean = float(np.mean(vals))
        means.append(mean)
        assert mean == pytest.approx(d * (d + 4) / (2 * n), rel=0.08), n
    # and it halves when N doubles
    assert means[0] / means[1] == pytest.approx(2.0, rel=0.1)
    assert means[1] / means[2] == pytest.approx(2.0, rel=0.1)


def test_fd_accepts_float32_and_computes_in_float64():
    rng = _rng(8)
    x = rng.standard_normal((400, 16)).astype(np.float32) * 1000.0
    assert abs(M.fd(x, x.copy())) <= 1e-6


# --------------------------------------------------------------------------------------------------- KID


def test_kid_unbiased_under_null_and_positive_under_shift():
    rng = _rng(10)
    d = 16
    # one subset per independent pair: the average of many independent estimates must centre on 0
    vals = np.array([M.kid(rng.standard_normal((100, d)), rng.standard_normal((100, d)), subset_size=100,
                           n_subsets=1, rng=rng)[0] for _ in range(60)])  # fmt: skip
    sem = vals.std(ddof=1) / np.sqrt(len(vals))
    assert abs(vals.mean()) < 3.5 * sem
    # the biased (V-statistic) version would sit far from 0 here, so the test can tell the two apart
    x, y = rng.standard_normal((100, d)), rng.standard_normal((100, d))
    kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3), ((y @ y.T / d + 1) ** 3), ((x @ y.T / d + 1) ** 3)
    biased = kxx.mean() + kyy.mean() - 2 * kxy.mean()
    assert biased > 10 * sem

    mean, std = M.kid(rng.standard_normal((600, d)), rng.standard_normal((600, d)), subset_size=200,
                      n_subsets=30, rng=rng)  # fmt: skip
    assert abs(mean) < 3 * std
    mean_s, std_s = M.kid(rng.standard_normal((600, d)), rng.standard_normal((600, d)) + 0.5, subset_size=200,
                          n_subsets=30, rng=rng)  # fmt: skip
    assert mean_s > 10 * std and mean_s > 5 * std_s


def test_kid_reproducible_with_same_seed():
    rng = _rng(11)
    x, y = rng.standard_normal((300, 8)), rng.standard_normal((300, 8))
    a = M.kid(x, y, subset_size=100, n_subsets=5, rng=np.random.default_rng(0))
    b = M.kid(x, y, subset_size=100, n_subsets=5, rng=np.random.default_rng(0))
    assert a == b


# --------------------------------------------------------------------------------------------------- MMD


def test_mmd_pvalues_uniform_under_null_and_tiny_under_shift():
    rng = _rng(12)
    ps = []
    for _ in range(40):
        _, p = M.mmd_rbf(rng.standard_normal((60, 6)), rng.standard_normal((60, 6)), n_permutations=99, rng=rng)
        ps.append(p)
    ps = np.array(ps)
    assert 0.3 < ps.mean() < 0.7
    assert scipy.stats.kstest(ps, "uniform").pvalue > 0.01
    assert (ps <= 0.05).mean() < 0.2
    stat, p = M.mmd_rbf(rng.standard_normal((100, 6)), rng.standard_normal((100, 6)) + 0.6, n_permutations=199,
                        rng=rng)  # fmt: skip
    assert stat > 0
    assert p <= 0.01


def test_mmd_matches_direct_formula():
    rng = _rng(13)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((40, 3)) + 0.3
    h = 1.7
    stat, p = M.mmd_rbf(x, y, bandwidth=h, n_permutations=0)

    def k(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * h * h))

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    n, m = len(x), len(y)
    expected = ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                - 2 * kxy.mean())  # fmt: skip
    assert stat == pytest.approx(expected, abs=1e-12)
    assert np.isnan(p)


# --------------------------------------------------------------------------------------------------- k-NN manifolds


def test_precision_recall_identical_and_shifted():
    rng = _rng(14)
    x = rng.standard_normal((1500, 4))
    assert M.precision_recall(x, x.copy(), k=5) == (1.0, 1.0)
    p, r = M.precision_recall(x, rng.standard_normal((1500, 4)), k=5)
    assert p > 0.97 and r > 0.97
    p2, r2 = M.precision_recall(x, rng.standard_normal((1500, 4)) + 3.0, k=5)
    assert p2 < 0.5 and r2 < 0.5
    # a collapsed fake set keeps precision but loses recall
    p3, r3 = M.precision_recall(x, 0.2 * rng.standard_normal((1500, 4)), k=5)
    assert p3 > 0.95 and r3 < 0.5


def test_density_and_coverage_for_identical_distributions():
    # Independent samples of one distribution with M = N: E[density] = 1 and
    # E[coverage] = 1 - prod_{i=1..k} (N - i) / (2N - i) -> 1 - 2^-k for large N.
    rng = _rng(15)
    n, k = 3000, 5
    d, c = M.density_coverage(rng.standard_normal((n, 8)), rng.standard_normal((n, 8)), k=k)
    expected = 1 - np.prod([(n - i) / (2 * n - i) for i in range(1, k + 1)])
    assert expected == pytest.approx(1 - 2.0**-k, abs=2e-3)
    assert c == pytest.approx(expected, abs=0.012)
    assert d == pytest.approx(1.0, abs=0.08)
    d2, c2 = M.density_coverage(rng.standard_normal((n, 8)), rng.standard_normal((n, 8)) + 2.0, k=k)
    assert d2 < 0.3 and c2 < 0.5


# --------------------------------------------------------------------------------------------------- classifier


def test_classifier_auc_null_and_shift():
    rng = _rng(16)
    ga, gb = np.repeat(np.arange(20), 10), np.repeat(np.arange(20), 10)
    auc0 = M.classifier_two_sample(rng.standard_normal((200, 10)), rng.standard_normal((200, 10)), ga, gb, rng=rng)
    assert 0.38 < auc0 < 0.62
    auc1 = M.classifier_two_sample(rng.standard_normal((200, 10)), rng.standard_normal((200, 10)) + 1.0, ga, gb,
                                   rng=rng)  # fmt: skip
    assert auc1 > 0.97


def _grouped(rng, n_groups, per, d, offset_scale, noise):
    off = rng.standard_normal((n_groups, d)) * offset_scale
    return np.repeat(off, per, axis=0) + noise * rng.standard_normal((n_groups * per, d)), np.repeat(
        np.arange(n_groups), per
    )


def test_classifier_group_aware_cv_prevents_sequence_leak():
    # Same distribution on both sides, but each group (video / sequence) has its own strong offset. A classifier
    # that sees frames of a group in training recognises the group in testing and so "knows" its set: AUC >> 0.5.
    # Group-aware folds keep test groups unseen, so the AUC must stay near 0.5.
    rng = _rng(17)
    a, ga = _grouped(rng, 30, 6, 48, 3.0, 0.5)
    b, gb = _grouped(rng, 30, 6, 48, 3.0, 0.5)
    aware = [M.classifier_two_sample(a, b, ga, gb, folds=5, rng=np.random.default_rng(s)) for s in range(2)]
    leaky = M.classifier_two_sample(a, b, None, None, folds=5, rng=np.random.default_rng(0))
    assert leaky > 0.9
    assert abs(np.mean(aware) - 0.5) < 0.12


def test_classifier_folds_never_split_a_group(monkeypatch):
    from sklearn.model_selection import StratifiedGroupKFold

    seen = []
    orig = StratifiedGroupKFold.split

    def spy(self, x, y=None, groups=None):
        for train, test in orig(self, x, y, groups):
            seen.append(set(np.asarray(groups)[train]) & set(np.asarray(groups)[test]))
            yield train, test

    monkeypatch.setattr(StratifiedGroupKFold, "split", spy)
    rng = _rng(18)
    a, ga = _grouped(rng, 8, 5, 6, 1.0, 1.0)
    b, gb = _grouped(rng, 8, 5, 6, 1.0, 1.0)
    M.classifier_two_sample(a, b, ga, gb, folds=4, rng=rng)
    assert len(seen) == 4 and all(not s for s in seen)


def test_classifier_high_dimensional_uses_pca_and_stays_calibrated():
    rng = _rng(19)
    g = np.arange(120)
    auc = M.classifier_two_sample(rng.standard_normal((120, 400)), rng.standard_normal((120, 400)), g, g,
                                  rng=rng, max_dim=32)  # fmt: skip
    assert 0.35 < auc < 0.65


# --------------------------------------------------------------------------------------------------- per statistic


def test_per_statistic_distances_known_answers():
    rng = _rng(20)
    b = rng.standard_normal((500, 2)) * np.array([2.0, 1.0])
    a = b + np.array([1.0, 5.0])  # column 0 shifted by 1, column 1 by 5 (beyond the real range)
    out = M.per_statistic_distances(a, b, ["sharpness", "noise"])
    assert out["sharpness"]["wasserstein"] == pytest.approx(1.0, abs=1e-9)
    assert out["noise"]["wasserstein"] == pytest.approx(5.0, abs=1e-9)
    assert out["sharpness"]["mean_diff_in_real_std"] == pytest.approx(1.0 / b[:, 0].std(ddof=1), rel=1e-9)
    assert out["noise"]["ks"] > 0.98
    same = M.per_statistic_distances(b, b, ["sharpness", "noise"])
    assert same["sharpness"]["ks"] == 0.0 and same["sharpness"]["wasserstein"] == 0.0


# --------------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call",
    [
        lambda: M.fd(np.zeros((1, 3)), np.zeros((5, 3))),
        lambda: M.fd(np.zeros((5, 3)), np.zeros((5, 4))),
        lambda: M.fd(np.zeros(5), np.zeros(5)),
        lambda: M.fd(np.full((5, 3), np.nan), np.zeros((5, 3))),
        lambda: M.kid(np.zeros((1, 3)), np.zeros((5, 3)), rng=np.random.default_rng(0)),
        lambda: M.mmd_rbf(np.zeros((1, 3)), np.zeros((5, 3))),
        lambda: M.precision_recall(np.zeros((5, 3)), np.zeros((50, 3)), k=5),
        lambda: M.density_coverage(np.zeros((3, 3)), np.zeros((50, 3)), k=5),
        lambda: M.classifier_two_sample(np.zeros((10, 3)), np.ones((10, 3)), [0] * 10, [1] * 10,
                                        rng=np.random.default_rng(0)),
        lambda: M.per_statistic_distances(np.zeros((5, 2)), np.zeros((5, 2)), ["only_one"]),
        lambda: M.frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3)),
    ],
)
def test_bad_input_raises_clear_user_error(call):
    with pytest.raises(SimgenError) as e:
        call()
    assert str(e.value)  # a message, not an empty error
    assert isinstance(e.value, ValueError)


def test_errors_name_the_problem():
    with pytest.raises(M.MetricInputError, match="at least 6"):
        M.precision_recall(np.zeros((5, 3)), np.zeros((50, 3)), k=5)
    with pytest.raises(M.MetricInputError, match="2 groups"):
        M.classifier_two_sample(np.zeros((10, 3)), np.ones((10, 3)), [0] * 10, [1] * 10, rng=np.random.default_rng(0))


def test_mmd_group_permutation_keeps_pvalues_valid_for_grouped_frames():
    # Frames of a video share an offset: permuting single frames treats them as independent and rejects a true
    # null far too often; permuting whole groups does not.
    rng = _rng(21)
    p_frames, p_groups = [], []
    for _ in range(25):
        a, ga = _grouped(rng, 8, 8, 4, 1.0, 1.0)
        b, gb = _grouped(rng, 8, 8, 4, 1.0, 1.0)
        p_frames.append(M.mmd_rbf(a, b, n_permutations=99, rng=rng)[1])
        p_groups.append(M.mmd_rbf(a, b, n_permutations=99, rng=rng, groups_a=ga, groups_b=gb)[1])
    assert np.mean(np.array(p_frames) <= 0.05) > 0.3
    assert np.mean(np.array(p_groups) <= 0.05) < 0.2
    assert 0.3 < np.mean(p_groups) < 0.7


def test_streaming_gaussian_stats_match_numpy_and_feed_fd():
    rng = _rng(22)
    x = (rng.standard_normal((1000, 12)) @ rng.standard_normal((12, 12)) + 1e4).astype(np.float32)
    acc = M.GaussianAccumulator()
    for s in range(0, 1000, 137):
        acc.update(x[s : s + 137], chunk=50)
    mu, cov = acc.stats()
    ref = x.astype(np.float64)
    np.testing.assert_allclose(mu, ref.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(ref, rowvar=False), rtol=1e-9, atol=1e-9)
    y = rng.standard_normal((800, 12))
    mu2, cov2 = M.gaussian_stats(y)
    assert M.frechet_distance(mu, cov, mu2, cov2) == pytest.approx(M.fd(x, y), rel=1e-9)


def test_fd_eigh_and_cholesky_routes_agree_and_auto_falls_back():
    rng = _rng(23)
    d = 64
    for _ in range(3):
        s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
        mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
        e = M.frechet_distance(mu1, s1, mu2, s2, method="eigh")
        c = M.frechet_distance(mu1, s1, mu2, s2, method="cholesky")
        assert c == pytest.approx(e, rel=1e-10)
    # a singular sigma2 cannot use the Cholesky route: explicit request errors, auto uses eigh
    x = rng.standard_normal((20, d))
    mu, s = M.gaussian_stats(x)
    with pytest.raises(M.MetricInputError, match="ill-conditioned"):
        M.frechet_distance(mu, s, mu, s, method="cholesky")
    assert M.frechet_distance(mu, s, mu, s) == pytest.approx(M.frechet_distance(mu, s, mu, s, method="eigh"))
    assert abs(M.frechet_distance(mu, s, mu, s)) <= 1e-6


@pytest.mark.parametrize("method", ["eigh", "cholesky"])
def test_fd_closed_forms_hold_for_both_routes(method):
    rng = _rng(24)
    d = 30
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    a, b = rng.uniform(0.05, 4.0, d), rng.uniform(0.05, 4.0, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum() + ((mu1 - mu2) ** 2).sum())
    got = M.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T, method=method)
    assert got == pytest.approx(expected, abs=1e-6)
    s1, s2 = _random_spd(rng, 2), _random_spd(rng, 2)
    tr_sqrt = np.sqrt(np.trace(s1 @ s2) + 2.0 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected2 = float(np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
    assert M.frechet_distance(np.zeros(2), s1, np.zeros(2), s2, method=method) == pytest.approx(expected2, abs=1e-9)


def test_fd_gram_route_for_fewer_samples_than_dimensions():
    rng = _rng(25)
    d = 256
    x = rng.standard_normal((120, d)) @ rng.standard_normal((d, d)) * 0.1
    y = rng.standard_normal((90, d)) @ rng.standard_normal((d, d)) * 0.1 + 0.2
    g = M.fd(x, y)  # auto: N < D -> cross-Gram route
    assert g == pytest.approx(M.fd(x, y, method="gram"), rel=1e-12)
    assert g == pytest.approx(M.fd(x, y, method="eigh"), rel=1e-7)
    mu1, s1 = M.gaussian_stats(x)
    mu2, s2 = M.gaussian_stats(y)
    assert g == pytest.approx(M.frechet_distance(mu1, s1, mu2, s2, method="eigh"), rel=1e-7)
    assert abs(M.fd(x, x)) <= 1e-6


def test_fd_dead_units_and_one_singular_covariance():
    rng = _rng(26)
    d = 40
    x = rng.standard_normal((300, d)) @ rng.standard_normal((d, d))
    y = rng.standard_normal((300, d)) @ rng.standard_normal((d, d)) + 0.3
    ref = M.fd(x, y, method="eigh")
    # dead units: constant columns in both sets (different constants move only the mean term)
    xd = np.hstack([x, np.full((300, 5), 2.0)])
    yd = np.hstack([y, np.full((300, 5), 3.0)])
    assert M.fd(xd, yd) == pytest.approx(ref + 5.0, rel=1e-10)
    assert M.fd(xd, yd, method="cholesky") == pytest.approx(ref + 5.0, rel=1e-10)
    # sigma2 singular (20 samples in 40-d), sigma1 fine. Independent reference without squaring round-off:
    # with sigma2 = B^T B / (n - 1), tr sqrt(S1^1/2 S2 S1^1/2) = sum of singular values of S1^1/2 B^T / sqrt(n - 1)
    mu1, s1 = M.gaussian_stats(x)
    b = y[:20]
    mu2, s2 = M.gaussian_stats(b)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(w)) @ v.T
    tr_sqrt = np.linalg.svd(root1 @ (b - b.mean(0)).T, compute_uv=False).sum() / np.sqrt(19)
    expected = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-11)
    assert M.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-11)
    with pytest.raises(M.MetricInputError, match="ill-conditioned"):
        M.frechet_distance(mu1, s1, mu2, s2, method="cholesky")
