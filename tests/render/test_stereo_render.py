"""A stereo rig rendered in one pass of the world: disparity = f·B/Z checked against the right view's own hits,
the pair checked to be the rectified pair ``cv2.stereoRectify`` gives for the stored rig, Q reprojecting to the
surface."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from simgen.world.conventions import look_at, pose_from_xyz_yaw
from simgen.world.model import Camera, Entity, Material, Mesh, World

pytestmark = pytest.mark.blender

W, H, B = 96, 72, 0.4


def _box(sx, sy, sz):
    v = np.array([[x, y, z] for z in (0.0, sz) for y in (-sy / 2, sy / 2) for x in (-sx / 2, sx / 2)])
    return Mesh(v, [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]])


@pytest.fixture(scope="module")
def stereo(bpy_module):
    from simgen.labels.frame import compute_frame_labels
    from simgen.render.blender import render_world
    from simgen.render.settings import RenderSettings

    still = np.stack([np.eye(4)] * 2)
    ground = Entity("ground", "road", Mesh([(-60, -60, 0), (60, -60, 0), (60, 60, 0), (-60, 60, 0)],
                                           [(0, 1, 2, 3)]), [Material("g", (0.4, 0.4, 0.4))], still)
    car = Entity("car", "car", _box(4.0, 1.8, 1.5), [Material("c", (0.7, 0.1, 0.1))],
                 np.stack([pose_from_xyz_yaw(9.0 - t, 0.8, 0.0, 0.3) for t in range(2)]), instance_id=1)
    centre = np.stack([look_at((t * 0.5, 0.0, 1.5), (20.0 + t * 0.5, -1.0, 0.5)) for t in range(2)])
    cams = []
    for role, sign in (("left", -1), ("right", 1)):
        poses = centre.copy()
        poses[:, :3, 3] += sign * B / 2 * centre[:, :3, 0]
        cams.append(Camera(f"st_{role}", math.radians(80), poses,
                           rig={"name": "st", "kind": "stereo", "role": role, "baseline_m": B}))
    world = World("stereo", 2, 10.0, [ground, car], cams)
    raws = {(r.camera, r.frame): r for r in render_world(world, RenderSettings(width=W, height=H, samples=1,
                                                                                 device="cpu"))}
    labels = {k: compute_frame_labels(r, world) for k, r in raws.items()}
    return world, raws, labels


def test_rig_is_the_rectified_pair_of_cv2_stereo_rectify(stereo):
    world, raws, labels = stereo
    lab = labels["st_left", 1]
    rec = lab.stereo
    K = lab.K
    pose_l, pose_r = world.cameras[0].poses[1], world.cameras[1].poses[1]
    rel = np.linalg.inv(pose_r) @ pose_l
    R1, R2, P1, P2, Q, _, _ = cv2.stereoRectify(K, np.zeros(5), raws["st_right", 1].K, np.zeros(5), (W, H),
                                                rel[:3, :3], rel[:3, 3], flags=cv2.CALIB_ZERO_DISPARITY, alpha=-1)
    for name, ref in (("R1", R1), ("R2", R2), ("P1", P1), ("P2", P2), ("Q", Q)):
        np.testing.assert_allclose(np.array(rec[name]), ref, atol=1e-9, err_msg=name)
    # the renders need no rectification: identity rotations, and the rectified intrinsics are the stored K
    np.testing.assert_allclose(R1, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(R2, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(P1[:3, :3], K, atol=1e-9)
    np.testing.assert_allclose(P2[0, 3], -K[0, 0] * B, rtol=1e-9)
    assert labels["st_right", 1].stereo["Q"] == rec["Q"] and labels["st_right", 1].disparity is None


def test_disparity_is_fB_over_Z_and_matches_the_right_view(stereo):
    world, raws, labels = stereo
    for t in range(2):
        lab, raw, right = labels["st_left", t], raws["st_left", t], raws["st_right", t]
        P2 = np.array(lab.stereo["P2"])
        hit = raw.depth < 1e9
        pts = raw.position[hit].astype(np.float64)
        pr = (pts - right.world_from_camera[:3, 3]) @ right.world_from_camera[:3, :3]
        uv_r = pr[:, :2] / pr[:, 2:] * [P2[0, 0], P2[1, 1]] + [P2[0, 2], P2[1, 2]]
        v, u = np.mgrid[0:H, 0:W].astype(np.float64)
        assert np.abs(uv_r[:, 1] - v[hit]).max() < 2e-3  # rectified: same row
        # where the right view sees the same surface point (its own hit at that pixel agrees)
        ur, vr = np.round(uv_r[:, 0]).astype(int), v[hit].astype(int)
        inside = (ur >= 0) & (ur < W)
        same = np.zeros(len(ur), bool)
        same[inside] = np.linalg.norm(right.position[vr[inside], ur[inside]] - pts[inside], axis=1) < 0.05
        d_expected = u[hit] - uv_r[:, 0]
        d = lab.disparity[hit].astype(np.float64)
        err = np.abs(d - d_expected)[same]
        print(f"stereo t={t}: disparity error median {np.median(err):.1e} max {err.max():.1e} px over {same.sum()} px")
        assert same.sum() > 0.5 * hit.sum() and np.median(err) < 1e-4 and err.max() < 2e-3
        np.testing.assert_allclose(d, P2[0, 0] * B / lab.depth[hit], rtol=1e-6)
        # Q reprojects (u, v, d) to the surface point in the left camera frame
        X = np.stack([u[hit], v[hit], d, np.ones_like(d)], -1) @ np.array(lab.stereo["Q"]).T
        X = X[:, :3] / X[:, 3:]
        pl = (pts - raw.world_from_camera[:3, 3]) @ raw.world_from_camera[:3, :3]
        rel = np.linalg.norm(X - pl, axis=1) / pl[:, 2]
        assert np.percentile(rel, 99) < 1e-5, np.percentile(rel, 99)
