"""Heavy vegetation meshes are thinned at load (catalog ``max_faces``): leaves and twigs dropped at random, kept
leaves grown, trunk and branches simplified; the result keeps the crown's extent and its leaf area."""

from __future__ import annotations

import numpy as np

from simgen.world.meshload import MAX_LEAF_GROWTH, thin_small_parts


def _tree(n_leaves: int = 3000, seed: int = 0):
    """A trunk (a 40 x 40 grid tube, 3200 triangles, one piece) and ``n_leaves`` two-triangle leaves, plus a few
    four-triangle twigs in the bark slot. Returns V, F, S, UV, roles."""
    rng = np.random.default_rng(seed)
    a = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    z = np.linspace(0, 3, 41)
    grid = np.stack([np.cos(a)[None].repeat(41, 0) * 0.2, np.sin(a)[None].repeat(41, 0) * 0.2,
                     z[:, None].repeat(40, 1)], -1).reshape(-1, 3)
    tf = []
    for i in range(40):
        for j in range(40):
            p, q, r, s = i * 40 + j, i * 40 + (j + 1) % 40, (i + 1) * 40 + (j + 1) % 40, (i + 1) * 40 + j
            tf += [(p, q, r), (p, r, s)]
    V, F, S = [grid], [np.array(tf)], [np.zeros(len(tf), np.int64)]
    off = len(grid)
    centres = rng.normal([0, 0, 4], [1.2, 1.2, 0.8], size=(n_leaves, 3))
    for c in centres:
        q = c + rng.normal(0, 0.05, (4, 3))
        V.append(q)
        F.append(np.array([(off, off + 1, off + 2), (off, off + 2, off + 3)]))
        S.append(np.ones(2, np.int64))
        off += 4
    for c in centres[:200]:
        q = c + rng.normal(0, 0.1, (5, 3))
        V.append(q)
        F.append(np.array([(off, off + 1, off + 2), (off, off + 2, off + 3), (off, off + 3, off + 4),
                           (off, off + 4, off + 1)]))
        S.append(np.zeros(4, np.int64))
        off += 5
    V, F, S = np.concatenate(V), np.concatenate(F), np.concatenate(S)
    UV = rng.random((len(F), 3, 2)).astype(np.float32)
    return V, F, S, UV, ["bark", "leaves"]


def _leaf_area(V, F, S):
    t = V[F[S == 1]]
    return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1).sum()


def test_thinning_meets_the_budget_and_keeps_the_look():
    V, F, S, UV, roles = _tree()
    V2, F2, S2, UV2 = thin_small_parts(V, F, S, UV, roles, 4000, "test/tree")
    assert len(F2) <= 4000 * 1.05
    assert len(F2) < 0.5 * len(F)
    assert F2.min() >= 0 and F2.max() == len(V2) - 1  # compact, every vertex used
    assert UV2.shape == (len(F2), 3, 2) and len(S2) == len(F2)
    # the trunk (one large bark piece) was simplified into the bark budget, not dropped
    trunk_z = V2[F2[S2 == 0]][..., 2]
    assert trunk_z.min() < 0.05 and trunk_z.max() > 2.9
    assert (S2 == 0).sum() <= 0.45 * 4000
    # kept leaves grew: the leaf area kept is more than the share of leaves kept, and at most the growth allows
    share = (S2 == 1).sum() / (S == 1).sum()
    area = _leaf_area(V2, F2, S2) / _leaf_area(V, F, S)
    assert share < 0.8
    assert area > 1.3 * share
    assert area <= share * MAX_LEAF_GROWTH ** 2 * 1.05  # leaves differ in size: which ones are kept is random
    # the crown keeps its extent
    lo, hi = V[F[S == 1]].reshape(-1, 3).min(0), V[F[S == 1]].reshape(-1, 3).max(0)
    lo2, hi2 = V2[F2[S2 == 1]].reshape(-1, 3).min(0), V2[F2[S2 == 1]].reshape(-1, 3).max(0)
    assert np.all(np.abs(hi2 - lo2) > 0.85 * np.abs(hi - lo))
    # the same file always thins the same way, another seed another way
    again = thin_small_parts(V, F, S, UV, roles, 4000, "test/tree")
    np.testing.assert_array_equal(again[1], F2)
    other = thin_small_parts(V, F, S, UV, roles, 4000, "test/other")
    assert not np.array_equal(other[1], F2)


def test_small_meshes_and_other_roles_are_untouched():
    V, F, S, UV, roles = _tree(200)
    out = thin_small_parts(V, F, S, UV, roles, len(F), "x")
    assert out[1] is F
    # 'keep' slots are never thinned, whatever the budget
    V3, F3, S3, UV3 = thin_small_parts(V, F, S, UV, ["keep", "keep"], 500, "x")
    assert len(F3) == len(F)
