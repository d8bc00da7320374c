"""Depth and optical flow against closed-form geometry (no Blender)."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.labels import compute_frame_labels
from simgen.labels.depth import planar_depth
from simgen.labels.flow import flow_from_vector
from simgen.world.conventions import intrinsics_from_hfov, look_at, pose_from_xyz_yaw
from tests.labels.synth import box_mesh, entity, make_world, quad_mesh, render

H, W = 48, 64
K = intrinsics_from_hfov(np.deg2rad(70), W, H)


def _level_camera(x=0.0, y=0.0, z=1.5):
    """OpenCV pose looking along world +y, level: camera x = world +x, camera y (down) = world −z."""
    return look_at((x, y, z), (x, y + 10.0, z))


def _wall(T, y=6.0):
    """A big wall in the plane y = const facing −y (towards a camera looking along +y)."""
    pose = np.eye(4)
    pose[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]  # object z (quad normal) -> world −y
    pose[:3, 3] = (0, y, 0)
    return entity("wall", "building", quad_mesh(60, 60), [pose] * T)


def test_depth_of_ground_plane_is_analytic():
    """Pitched camera at height h over z = 0: planar depth Z(v) = h / (y cos θ + sin θ), y = (v − cy)/fy."""
    h_cam, pitch = 1.7, np.deg2rad(12.0)
    eye = np.array([0.0, 0.0, h_cam])
    target = eye + [0.0, np.cos(pitch), -np.sin(pitch)]
    world = make_world([entity("g", "road", quad_mesh(500, 500), [np.eye(4)])], [look_at(eye, target)])
    raw = render(world, 0, K, H, W)
    depth = planar_depth(raw.depth)
    assert depth.dtype == np.float32
    y = (np.arange(H) - K[1, 2]) / K[1, 1]
    denom = y * np.cos(pitch) + np.sin(pitch)
    expected = np.where(denom > 0, h_cam / np.where(denom > 0, denom, 1), np.inf)[:, None].repeat(W, 1)
    sky = ~np.isfinite(expected) | (expected > 400)  # beyond the finite plane's edge
    hit = np.isfinite(depth)
    assert np.isinf(depth[:3]).all(), "rows above the horizon see sky: +inf"
    assert hit.sum() > 0.5 * depth.size
    rel = np.abs(depth[hit & ~sky] - expected[hit & ~sky]) / expected[hit & ~sky]
    assert rel.max() <= 1e-4
    assert not np.isnan(depth).any()


def test_background_depth_threshold():
    raw = np.array([[1.0, 1e10], [9.99e8, np.nan]], np.float32)
    d = planar_depth(raw)
    assert d[0, 0] == 1.0 and np.isinf(d[0, 1]) and d[1, 0] == np.float32(9.99e8) and np.isinf(d[1, 1])


@pytest.mark.parametrize("axis", ["right", "down"])
def test_flow_sign_and_axes_for_translating_camera(axis):
    """Camera translating by d along its own +x (right) over a fronto-parallel wall at depth Z: the scene moves
    left, forward flow u = −f·d/Z, v = 0. Translating along camera +y (down, world −z): v = −f·d/Z, u = 0.
    Backward flow is the exact opposite."""
    T, step, Z = 3, 0.25, 6.0
    if axis == "right":
        poses = [_level_camera(x=step * t) for t in range(T)]
    else:
        poses = [_level_camera(z=1.5 - step * t) for t in range(T)]
    world = make_world([_wall(T, y=Z)], poses)
    raws = [render(world, t, K, H, W) for t in range(T)]
    lab = compute_frame_labels(raws[1], world)
    expect = -K[0, 0] * step / Z
    fwd, bwd = lab.flow_fwd, lab.flow_bwd
    assert lab.flow_fwd_valid.all() and lab.flow_bwd_valid.all()
    main, other = (0, 1) if axis == "right" else (1, 0)
    assert np.allclose(fwd[..., main], expect, atol=1e-3), (fwd[..., main].min(), expect)
    assert np.allclose(fwd[..., other], 0, atol=1e-3)
    assert np.allclose(bwd[..., main], -expect, atol=1e-3)
    assert np.allclose(bwd[..., other], 0, atol=1e-3)
    assert fwd.dtype == np.float32 and fwd.shape == (H, W, 2)


def test_flow_equals_reprojection_with_moving_object():
    """Moving, yawing car + moving camera: the stored flow maps each pixel centre to where its surface point
    projects in the neighbour frame (computed here directly in OpenCV pixel coordinates)."""
    T = 3
    cam = [look_at((0.4 * t, -9.0 + 0.6 * t, 2.5), (0, 0, 0.5)) for t in range(T)]
    ground = entity("g", "road", quad_mesh(80, 80), [np.eye(4)] * T)
    car_poses = [pose_from_xyz_yaw(0.5 * t, 0.2 * t, 0.0, 0.3 + 0.1 * t) for t in range(T)]
    car = entity("car", "car", box_mesh((3, 1.6, 1.4), (0, 0, 0.7)), car_poses, iid=7)
    world = make_world([ground, car], cam)
    raws = [render(world, t, K, H, W) for t in range(T)]
    lab = compute_frame_labels(raws[1], world)
    raw = raws[1]
    keys = raw.object_index.astype(int)
    v, u = np.mgrid[0:H, 0:W].astype(float)
    for other, flow, valid in ((2, lab.flow_fwd, lab.flow_fwd_valid), (0, lab.flow_bwd, lab.flow_bwd_valid)):
        pts = raw.position.astype(float)
        expected = np.full((H, W, 2), np.nan)
        for k, ent in enumerate(world.entities, start=1):
            sel = keys == k
            delta = ent.poses[other] @ np.linalg.inv(ent.poses[1])
            moved = pts[sel] @ delta[:3, :3].T + delta[:3, 3]
            inv = np.linalg.inv(cam[other])
            pc = moved @ inv[:3, :3].T + inv[:3, 3]
            expected[sel] = np.stack([K[0, 0] * pc[:, 0] / pc[:, 2] + K[0, 2] - u[sel],
                                      K[1, 1] * pc[:, 1] / pc[:, 2] + K[1, 2] - v[sel]], -1)
        assert (keys == 2).sum() > 50, "the car must be in view"
        assert np.array_equal(valid, keys > 0)
        err = np.linalg.norm(flow[valid] - expected[valid], axis=-1)
        # float32 positions/vectors: well below a thousandth of a pixel
        assert np.median(err) < 1e-3 and err.max() < 1e-2, (np.median(err), err.max())
        assert np.isnan(flow[~valid]).all()
        # the car's flow differs from the ground's: object motion is really in there
        car_err_if_static = np.abs(expected[keys == 2]).max()
        assert car_err_if_static > 1.0


def test_flow_absent_on_first_and_last_frame():
    T = 3
    world = make_world([_wall(T)], [_level_camera(x=0.1 * t) for t in range(T)])
    first = compute_frame_labels(render(world, 0, K, H, W), world)
    last = compute_frame_labels(render(world, T - 1, K, H, W), world)
    assert first.flow_bwd is None and first.flow_fwd is not None
    assert last.flow_fwd is None and last.flow_bwd is not None


def test_background_flow_is_invalid():
    vec = np.ones((2, 3, 4), np.float32)
    valid = np.array([[True, False, True], [False, True, True]])
    f, ok = flow_from_vector(vec, valid, "fwd")
    assert np.array_equal(ok, valid) and np.isnan(f[~valid]).all()
    assert np.all(f[valid] == [-1.0, 1.0])  # forward = (−Z, +W)
    f, ok = flow_from_vector(vec, valid, "bwd")
    assert np.all(f[valid] == [1.0, -1.0])  # backward = (+X, −Y)
    with pytest.raises(ValueError):
        flow_from_vector(vec, valid, "up")
