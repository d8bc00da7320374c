"""Placement and motion, checked with independent geometry (polygon distances, OpenCV projection)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgen.errors import SimgenError
from tests.world.geometry import poly_dist as _poly_dist
from simgen.world.conventions import intrinsics_from_hfov, look_at, pose_from_xyz_yaw
from simgen.world.layout import RoadParams, build_layout
from simgen.world.placement import (
    CameraView,
    GroupRule,
    InstanceRequest,
    PlacementError,
    Placer,
    footprints,
    local_footprint,
    motion_poses,
    rects_clear,
    ray_hits_rectangle,
    mirror_point,
)


# ---- independent geometry: tests/world/geometry.py ---------------------------------------------------------

def _rect(cx, cy, yaw, hl, hw):
    return footprints(local_footprint([-hl, -hw], [hl, hw]), pose_from_xyz_yaw(cx, cy, 0, yaw))[0]


@settings(max_examples=150, deadline=None)
@given(st.floats(-6, 6), st.floats(-6, 6), st.floats(0, 2 * math.pi), st.floats(0, 2 * math.pi),
       st.floats(0.1, 3), st.floats(0.1, 2), st.floats(0.1, 3), st.floats(0.1, 2), st.floats(0, 1.5))
def test_rects_clear_is_conservative(x, y, a1, a2, l1, w1, l2, w2, gap):
    A, B = _rect(0, 0, a1, l1, w1), _rect(x, y, a2, l2, w2)
    d = _poly_dist(A, B)
    if rects_clear(A, B, gap):
        assert d >= gap - 1e-2
    if d == 0.0:
        assert not rects_clear(A, B, 0.0)


def test_rects_clear_exact_cases():
    A = _rect(0, 0, 0, 1, 1)
    assert rects_clear(A, _rect(2.5, 0, 0, 1, 1), 0.5)
    assert not rects_clear(A, _rect(2.5, 0, 0, 1, 1), 0.51)
    assert not rects_clear(A, _rect(1.9, 0.3, 0.4, 1, 1), 0.0)


# ---- motion ------------------------------------------------------------------------------------------------

def test_constant_velocity_moves_along_heading():
    start = pose_from_xyz_yaw(1, 2, 0, math.radians(30))
    t = np.arange(5) / 10
    p = motion_poses(start, "constant_velocity", 5.0, t)
    d = p[:, :3, 3] - start[:3, 3]
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 5.0 * t, atol=1e-12)
    np.testing.assert_allclose(d[1:, 1] / d[1:, 0], math.tan(math.radians(30)))
    np.testing.assert_allclose(p[:, :3, :3], np.repeat(start[None, :3, :3], 5, 0))
    assert np.array_equal(motion_poses(start, "static", 3.0, t), np.repeat(start[None], 5, 0))


def test_waypoints_constant_speed_and_heading():
    pts = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0]], float)
    t = np.arange(30) / 2.0  # 0.5 s steps, 4 m/s: 2 m per frame, total 20 m -> stops at the end
    p = motion_poses(np.eye(4), "waypoints", 4.0, t, pts)
    xy = p[:, :2, 3]
    path_len = np.array([min(s, 20.0) for s in 4.0 * t])
    # arc length along an L-shaped path
    expected = np.where(path_len[:, None] <= 10, np.c_[path_len, 0 * path_len], np.c_[10 + 0 * path_len,
                                                                                       path_len - 10])
    np.testing.assert_allclose(xy, expected, atol=1e-9)
    yaw = np.arctan2(p[:, 1, 0], p[:, 0, 0])
    assert np.allclose(yaw[path_len < 10], 0) and np.allclose(yaw[(path_len > 10) & (path_len < 20)], math.pi / 2)
    loop = motion_poses(np.eye(4), "waypoints", 4.0, np.array([0.0, 10.0]), pts, loop=True)
    # loop: 10 s * 4 m/s = 40 m on a closed path of length 10 + 10 + sqrt(200): back on the first leg
    s = 40.0 - (20 + math.sqrt(200))
    np.testing.assert_allclose(loop[1, :2, 3], [s, 0.0], atol=1e-9)
    with pytest.raises(SimgenError):
        motion_poses(np.eye(4), "teleport", 1.0, t)


# ---- the placer --------------------------------------------------------------------------------------------

W, H = 160, 120


@pytest.fixture(scope="module")
def layout():
    p = RoadParams(layout="straight", length=120.0, lanes_per_direction=2, lane_width=3.25, parking_lane=True,
                   sidewalk_width=3.0, crosswalks=((40.0, 4.0, 0.5),))
    return build_layout(p, np.random.default_rng(0))


def _view(hfov=70):
    pose = look_at((0.0, -4.9, 1.5), (30.0, -4.9, 1.0))
    return CameraView(intrinsics_from_hfov(math.radians(hfov), W, H), pose, W, H)


def _placer(layout, seed=0, frames=5, view=None):
    return Placer(layout, view or _view(), np.arange(frames) / 10.0, seed, "test", 0)


def _car(i, motion="static", speed=0.0):
    return InstanceRequest(i, np.array([-2.2, -0.9, 0]), np.array([2.2, 0.9, 1.45]), None, motion, speed)


def _ped(i, motion="static", speed=0.0):
    return InstanceRequest(i, np.array([-0.15, -0.28, 0]), np.array([0.15, 0.28, 1.75]), None, motion, speed)


def _inside(region, corners):
    loc = region.to_local(corners)
    return np.all(np.abs(loc) <= np.array([region.length, region.width]) / 2 + 1e-6)


def test_parked_cars_in_parking_strip_with_spacing(layout):
    pl = _placer(layout)
    placed = pl.place_group(GroupRule("parked", "parking", side="right", x_range=(10, 100), spacing=1.5,
                                      heading="along_traffic"), [_car(i) for i in range(8)])
    assert len(placed) == 8
    strip = layout.regions_of("parking", "right")
    for p in placed:
        fp = p.footprints[0]
        assert any(_inside(r, fp) for r in strip)
        assert 10 <= p.poses[0, 0, 3] <= 100
        assert p.poses[0, 2, 3] == 0.0  # on the road surface
        yaw = math.atan2(p.poses[0, 1, 0], p.poses[0, 0, 0])
        assert yaw == pytest.approx(0.0)
    for i in range(8):
        for j in range(i + 1, 8):
            assert _poly_dist(placed[i].footprints[0], placed[j].footprints[0]) >= 1.5 - 1e-6


def test_sidewalk_people_distance_and_visibility_by_projection(layout):
    view = _view()
    pl = _placer(layout, view=view)
    people = pl.place_group(GroupRule("walkers", "sidewalk", side="any", distance=(8, 30), spacing=0.5,
                                      heading="random", visible=True),
                            [_ped(i, "constant_velocity", 1.3) for i in range(6)])
    cam_from_world = np.linalg.inv(view.world_from_camera)
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    for p in people:
        centre = p.poses[0, :3, 3] + [0, 0, 1.75 / 2]
        d = np.linalg.norm(centre[:2] - view.world_from_camera[:2, 3])
        assert 8 <= d <= 30
        uv, _ = cv2.projectPoints(centre[None], rvec, cam_from_world[:3, 3], view.K, None)
        u, v = uv[0, 0]
        assert -0.5 <= u <= W - 0.5 and -0.5 <= v <= H - 0.5
        assert (cam_from_world[:3, :3] @ centre + cam_from_world[:3, 3])[2] > 0
        assert p.poses[0, 2, 3] == pytest.approx(layout.params.curb_height)
        # they stay on the sidewalk while walking
        assert all(any(_inside(r, f) for r in layout.regions_of("sidewalk")) for f in p.footprints)


def test_lane_and_oncoming_headings(layout):
    pl = _placer(layout)
    a = pl.place_group(GroupRule("ahead", "lane", lane_index=1, x_range=(20, 80)), [_car(0, "constant_velocity", 8)])
    b = pl.place_group(GroupRule("onc", "oncoming_lane", x_range=(20, 80)), [_car(0, "constant_velocity", 8)])
    assert a[0].poses[-1, 0, 3] > a[0].poses[0, 0, 3] and a[0].poses[0, 1, 3] < 0
    assert b[0].poses[-1, 0, 3] < b[0].poses[0, 0, 3] and b[0].poses[0, 1, 3] > 0
    lane1 = layout.regions_of("lane", lane_index=1)[0]
    assert _inside(lane1, a[0].footprints[0])
    c = pl.place_group(GroupRule("look", "sidewalk", side="right", heading="facing_camera", x_range=(10, 30)),
                       [_ped(0)])
    fwd = c[0].poses[0, :2, 0]
    to_cam = _view().world_from_camera[:2, 3] - c[0].poses[0, :2, 3]
    assert np.dot(fwd, to_cam / np.linalg.norm(to_cam)) == pytest.approx(1.0)


def test_camera_headings_away_and_along_view(layout):
    """away_from_camera turns the back to the camera; along_view walks towards or away from it at random (both
    occur); jitter bounds the angle to the line of sight."""
    def cosines(heading, n, jitter=0.0):
        pl = _placer(layout, 3)
        placed = pl.place_group(GroupRule("w", "sidewalk", heading=heading, heading_jitter_deg=jitter, spacing=0.3,
                                          x_range=(8, 40)), [_ped(i) for i in range(n)])
        out = []
        for p in placed:
            to_cam = _view().world_from_camera[:2, 3] - p.poses[0, :2, 3]
            out.append(float(np.dot(p.poses[0, :2, 0], to_cam / np.linalg.norm(to_cam))))
        return np.array(out)

    assert cosines("away_from_camera", 4) == pytest.approx(-1.0)
    both = cosines("along_view", 12)
    assert np.abs(both) == pytest.approx(1.0) and (both > 0).any() and (both < 0).any()
    jittered = cosines("along_view", 12, jitter=20.0)
    assert (np.abs(jittered) >= np.cos(np.radians(20.0)) - 1e-9).all() and (np.abs(jittered) < 1 - 1e-6).any()


def test_deterministic_and_seed_dependent(layout):
    rule = GroupRule("walkers", "sidewalk", spacing=1.0, heading="random")
    p1 = [p.poses for p in _placer(layout, 5).place_group(rule, [_ped(i) for i in range(5)])]
    p2 = [p.poses for p in _placer(layout, 5).place_group(rule, [_ped(i) for i in range(5)])]
    p3 = [p.poses for p in _placer(layout, 6).place_group(rule, [_ped(i) for i in range(5)])]
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2))
    assert not all(np.allclose(a, b) for a, b in zip(p1, p3))
    # instance i's pose does not depend on the group's count
    p4 = [p.poses for p in _placer(layout, 5).place_group(rule, [_ped(i) for i in range(1)])]
    assert np.array_equal(p4[0], p1[0])


def test_moving_objects_do_not_collide_over_time(layout):
    pl = _placer(layout, frames=20)
    pl.place_group(GroupRule("slow", "lane", lane_index=1, x_range=(30, 32)), [_car(0, "constant_velocity", 0.0)])
    fast = pl.place_group(GroupRule("fast", "lane", lane_index=1, x_range=(10, 40)),
                          [_car(0, "constant_velocity", 15.0)])
    slow = pl.placed[0]
    assert slow.group == "slow" and fast[0].group == "fast"
    for t in range(20):
        assert _poly_dist(fast[0].footprints[t], slow.footprints[t]) > 0


@pytest.mark.parametrize("rule,n,match", [
    (GroupRule("buses", "parking", side="right", x_range=(10, 30), spacing=2.0), 6, "buses.*spacing"),
    (GroupRule("far", "sidewalk", distance=(500, 600)), 1, "far"),
    (GroupRule("hidden", "sidewalk", side="left", x_range=(0.0, 2.0), visible=True), 1, "hidden.*visible"),
    (GroupRule("nope", "lane", lane_index=4), 1, "nope.*no .lane. region"),
    (GroupRule("typo", "sidewalks"), 1, "unknown region 'sidewalks'"),
])
def test_impossible_constraints_are_named(layout, rule, n, match):
    objs = [InstanceRequest(i, np.array([-6, -1.3, 0]), np.array([6, 1.3, 3.1])) for i in range(n)] if n > 1 else [
        _ped(0)]
    with pytest.raises(PlacementError, match=match) as e:
        pl = _placer(layout)
        pl.max_tries = 60
        pl.place_group(rule, objs)
    assert isinstance(e.value, SimgenError)


def test_mirror_and_ray_helpers_against_hand_values():
    m = mirror_point(np.array([[1.0, 2.0, 3.0]]), np.array([0.0, 5.0, 0.0]), np.array([0.0, -1.0, 0.0]))
    np.testing.assert_allclose(m, [[1.0, 8.0, 3.0]])
    hit = ray_hits_rectangle(np.zeros(3), np.array([[0.0, 10.0, 0.0], [5.0, 10.0, 0.0]]),
                             np.array([-1.0, 5.0, -1.0]), np.array([2.0, 0, 0]), np.array([0, 0, 2.0]))
    assert hit.tolist() == [True, False]


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["lane", "oncoming_lane", "parking", "sidewalk", "crosswalk", "shop_window"]),
       st.integers(1, 12), st.floats(0.0, 4.0), st.sampled_from(list(("along_traffic", "random", "facing_camera",
                                                                          "towards_road"))),
       st.integers(0, 2**31 - 1))
def test_placement_either_meets_every_constraint_or_says_why(layout, region, n, spacing, heading, seed):
    pl = _placer(layout, seed=seed)
    pl.max_tries = 80
    rule = GroupRule("g", region, spacing=spacing, heading=heading)
    try:
        placed = pl.place_group(rule, [_ped(i, "constant_velocity", 1.0) if region in ("sidewalk", "crosswalk")
                                       else _car(i) for i in range(n)])
    except PlacementError as e:
        assert str(e).startswith("objects.g:")
        return
    regs = layout.regions_of(region)
    for i, p in enumerate(placed):
        # objects heading towards / away from the road start in their region and may leave it (a child running out
        # onto the road); every other object keeps to it at every frame
        kept = p.footprints[:1] if heading in ("towards_road", "away_from_road") else p.footprints
        assert all(any(_inside(r, f) or r.contains(f.mean(0)[None])[0] for r in regs) for f in kept)
        for q in placed[i + 1:]:
            assert _poly_dist(p.footprints[0], q.footprints[0]) >= spacing - 1e-6


def test_together_places_people_side_by_side_at_one_speed(layout):
    """together = 1: each person after the first walks beside the one before (0.55-0.8 m across, within 0.3 m
    along, heading within 4 degrees, the leader's speed), no two footprints overlap at any frame; together = 0
    leaves every draw as it was."""
    peds = [_ped(i, "constant_velocity", 1.0 + 0.1 * i) for i in range(6)]
    rule = GroupRule("w", "sidewalk", side="right", heading="along_road", spacing=1.0, x_range=(10, 60))
    alone = _placer(layout, 4, frames=20).place_group(rule, peds)
    paired = _placer(layout, 4, frames=20).place_group(
        GroupRule("w", "sidewalk", side="right", heading="along_road", spacing=1.0, x_range=(10, 60), together=1.0),
        peds)
    assert alone[0].beside is None and np.array_equal(alone[0].poses, paired[0].poses)  # the first is unchanged
    assert all(p.beside == q.name for p, q in zip(paired[1:], paired[:-1]))
    for p, q in zip(paired[1:], paired[:-1]):
        d = p.poses[:, :2, 3] - q.poses[:, :2, 3]
        fwd = q.poses[0, :2, 0]
        across = np.abs(d @ np.array([-fwd[1], fwd[0]]))
        assert (across > 0.5).all() and (across < 0.85).all()
        assert (np.abs(d @ fwd) <= 0.3 + 0.05).all()  # same speed: the offset along stays as it was at frame 0
        assert abs(math.atan2(p.poses[0, 1, 0], p.poses[0, 0, 0]) - math.atan2(fwd[1], fwd[0])) <= math.radians(4)
        assert p.speed == q.speed == paired[0].speed
    assert rects_clear(paired[1].footprints[None], paired[0].footprints[None], 0.0).all()
    # without together, people keep their own speeds and the group spacing
    assert len({round(p.speed, 3) for p in alone}) == 6
    far = [np.linalg.norm(a.poses[0, :2, 3] - b.poses[0, :2, 3]) for a, b in zip(alone[1:], alone[:-1])]
    assert max(far) > 1.5
