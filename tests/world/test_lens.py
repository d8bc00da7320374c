"""Lens models against OpenCV's own projection functions (cv2.projectPoints / cv2.fisheye.projectPoints)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from simgen.world.conventions import look_at
from simgen.world.lens import Lens, cv2_project, pinhole_lens

W, H = 160, 120
BC = Lens("opencv", W, H, [[110.0, 0, 81.3], [0, 108.0, 58.2], [0, 0, 1]], (-0.28, 0.09, 0.0012, -0.0008, -0.012))
FE = Lens("fisheye", W, H, [[46.0, 0, 79.1], [0, 46.5, 60.4], [0, 0, 1]], (0.03, -0.006, 0.001, -0.0002), 190.0)


def _random_points(n, rng, behind=False):
    d = rng.normal(size=(n, 3))
    if not behind:
        d[:, 2] = np.abs(d[:, 2]) + 0.5
    return d * rng.uniform(1, 40, (n, 1))


@pytest.mark.parametrize("lens", [BC, FE, pinhole_lens(math.radians(70), W, H, 3.5, -2.0)], ids=["opencv", "fisheye", "pinhole"])
def test_projection_matches_opencv(lens):
    rng = np.random.default_rng(0)
    pose = look_at((1.0, -3.0, 1.5), (4.0, 10.0, 1.0))
    pc = _random_points(4000, rng, behind=lens.model == "fisheye")
    pw = pc @ pose[:3, :3].T + pose[:3, 3]
    uv, depth, ok = lens.project(pw, pose)
    ref = cv2_project(lens, pw, pose)
    assert ok.sum() > 1000
    np.testing.assert_allclose(uv[ok], ref[ok], atol=1e-7, rtol=0)
    if lens.model == "fisheye":
        np.testing.assert_allclose(depth, np.linalg.norm(pc, axis=1), rtol=1e-12)
        assert (pc[ok, 2] < 0).sum() > 50  # points beyond 90° off-axis are imaged
    else:
        np.testing.assert_allclose(depth, pc[:, 2], rtol=1e-12)


@pytest.mark.parametrize("lens", [BC, FE], ids=["opencv", "fisheye"])
def test_pixel_rays_project_back_onto_their_pixels(lens):
    rays = lens.pixel_rays()
    ok = np.isfinite(rays[..., 0])
    assert ok.mean() > 0.7
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    pts = rays[ok] * 7.0
    ref = cv2_project(lens, pts, np.eye(4))
    err = np.hypot(ref[:, 0] - u[ok], ref[:, 1] - v[ok])
    assert err.max() < 1e-8, err.max()
    if lens.model == "opencv":  # and agree with OpenCV's own undistortion
        und = cv2.undistortPointsIter(np.stack([u[ok], v[ok]], -1).reshape(-1, 1, 2), lens.K, np.array(lens.D),
                                      None, None, (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15))
        und = und.reshape(-1, 2)
        np.testing.assert_allclose(rays[ok][:, :2] / rays[ok][:, 2:], und, atol=1e-6)
    else:
        th = np.degrees(np.arccos(np.clip(rays[ok][:, 2], -1, 1)))
        assert th.max() > 92 and th.max() <= 95 + 1e-9  # a 190° lens sees behind its image plane
        assert not ok[0, 0]  # the corners lie outside the lens circle


def test_bad_distortion_is_refused():
    with pytest.raises(ValueError, match="monotonic"):
        Lens("fisheye", W, H, FE.K, (-0.5, 0, 0, 0), 190.0)
    with pytest.raises(ValueError, match="folds over"):
        Lens("opencv", W, H, BC.K, (-0.9, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="coefficients"):
        Lens("opencv", W, H, BC.K, (0.1,))
