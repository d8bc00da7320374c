"""The behaviour vocabulary without Blender: speed profiles, lane-relative trajectories, crossings, cross traffic,
traffic-light timing, brake lamps and indicators, parked lights, named sun positions, emerge_by_frame.

Expected values come from closed forms, hand-worked timing tables and the stored poses (finite differences),
never from the code that produced them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgen.spec import SpecError, load_scene_text, resolve
from simgen.world.build import build_world, build_world_with_layout

W, H = 160, 120


def _world(text: str, seed: int = 0, with_layout: bool = False):
    r = resolve(load_scene_text(text), seed)
    return build_world_with_layout(r, W, H) if with_layout else build_world(r, W, H)


def _ent(world, name: str):
    return next(e for e in world.entities if e.name == name)


def _yaw(poses: np.ndarray) -> np.ndarray:
    return np.unwrap(np.arctan2(poses[:, 1, 0], poses[:, 0, 0]))


ROAD = """
scene: {name: b}
frames: %(frames)d
fps: 10
road: {layout: %(layout)s, lanes_per_direction: %(lanes)d, lane_width_m: 3.5, length_m: 150, junction_x_m: 70,
       sidewalk_width_m: 2.5, buildings: {sides: none}%(extra)s}
ego: {start: {x: 0}, speed_mps: 0}
"""


def road(frames=30, layout="straight", lanes=1, extra=""):
    return ROAD % dict(frames=frames, layout=layout, lanes=lanes, extra=extra)


# ---- speed profiles ------------------------------------------------------------------------------------------

def test_speed_profile_distance_is_the_integral_of_speed():
    from simgen.world.trajectories import SpeedProfile

    p = SpeedProfile(np.array([0.5, 1.5, 3.0]), np.array([2.0, 8.0, 1.0]))
    t = np.linspace(-1.0, 5.0, 60001)
    v = np.where(t < 0.5, 2.0, np.where(t > 3.0, 1.0, np.interp(t, [0.5, 1.5, 3.0], [2.0, 8.0, 1.0])))
    # cumulative trapezoid from t = 0
    cum = np.concatenate([[0.0], np.cumsum(np.diff(t) * (v[1:] + v[:-1]) / 2)])
    cum -= np.interp(0.0, t, cum)
    q = np.array([-0.7, 0.0, 0.3, 0.5, 1.0, 2.2, 3.0, 4.9])
    assert np.allclose(p.distance(q), np.interp(q, t, cum), atol=1e-6)
    assert np.allclose(p.speed(q), np.interp(q, [0.5, 1.5, 3.0], [2.0, 8.0, 1.0]))


def test_profile_keys_must_increase():
    with pytest.raises(SpecError, match="increasing t_s"):
        load_scene_text(road() + """
objects:
  - {class: car, placement: {region: lane}, motion: {kind: follow_lane, speed_profile: [{t_s: 2, speed_mps: 3},
     {t_s: 1, speed_mps: 5}]}}
""")


# ---- follow lane, brake lamps ----------------------------------------------------------------------------------

PROFILE = "[{t_s: 0, speed_mps: 2}, {t_s: 0.8, speed_mps: 9}, {t_s: 1.5, speed_mps: 9}, {t_s: 2.3, speed_mps: 1}]"


def test_follow_lane_stays_on_the_lane_centre_with_a_continuous_speed():
    w = _world(road() + f"""
objects:
  - {{name: c, class: car, placement: {{region: lane, x_range_m: {{min: 10, max: 20}}}},
     motion: {{kind: follow_lane, speed_profile: {PROFILE}}}}}
""")
    e = _ent(w, "c_0")
    p = e.poses[:, :3, 3]
    assert np.allclose(p[:, 1], -1.75, atol=1e-9), "on the lane centre"
    assert np.allclose(_yaw(e.poses), 0.0, atol=1e-9)
    dt = 1 / w.fps
    u = np.diff(p[:, 0]) / dt  # mean speed over each frame interval
    assert u.min() >= 1.0 - 1e-9 and u.max() <= 9.0 + 1e-9
    # |acceleration| never exceeds the profile's steepest slope (9 - 2) / 0.8 -> the speed has no jumps
    assert np.abs(np.diff(u)).max() <= 10.0 * dt + 1e-9
    assert e.attributes["behaviour"] == "follow_lane"


def test_brake_lamps_follow_the_deceleration_of_the_stored_poses():
    w = _world(road() + f"""
objects:
  - {{name: c, class: car, placement: {{region: lane, x_range_m: {{min: 10, max: 20}}}},
     motion: {{kind: follow_lane, speed_profile: {PROFILE}}}}}
""")
    e = _ent(w, "c_0")
    s = e.poses[:, 0, 3]
    acc = (s[2:] - 2 * s[1:-1] + s[:-2]) * w.fps**2
    brake = np.array(e.attributes["per_frame"]["brake_lights"])
    assert np.array_equal(brake[1:-1], acc < -0.3)
    assert brake.sum() >= 5 and (~brake).sum() >= 5
    tail = next(m for m in e.materials if m.name == "taillamp")
    assert tail.emission_frames is not None
    assert [x > 0 for x in tail.emission_frames] == brake.tolist()


# ---- lane change -----------------------------------------------------------------------------------------------

def test_change_lane_ends_in_the_target_lane_and_indicates():
    w, layout = _world(road(lanes=2) + """
objects:
  - {name: c, class: car, placement: {region: lane, lane_index: 0, x_range_m: {min: 10, max: 14}},
     motion: {kind: change_lane, target_lane_index: 1, change_start_s: 0.8, change_duration_s: 1.2,
              speed_profile: [{t_s: 0, speed_mps: 8}]}}
""", with_layout=True)
    e = _ent(w, "c_0")
    p = e.poses[:, :3, 3]
    t = np.arange(w.frame_count) / w.fps
    assert np.allclose(p[t <= 0.8, 1], -1.75, atol=1e-9) and np.allclose(p[t >= 2.0, 1], -5.25, atol=1e-9)
    assert np.all(np.diff(p[:, 1]) <= 1e-12), "moves one way only"
    # the body (footprint corners) stays inside the union of the two lanes
    lo, hi = e.mesh.bounds()
    corners = np.array([[lo[0], lo[1], 0], [hi[0], lo[1], 0], [hi[0], hi[1], 0], [lo[0], hi[1], 0]])
    world_c = np.einsum("tij,kj->tki", e.poses[:, :3, :3], corners) + p[:, None]
    assert world_c[..., 1].max() <= 0.0 + 1e-6 and world_c[..., 1].min() >= -7.0 - 1e-6
    # heading follows the velocity: yaw = atan2(dy, dx) of the motion, within the frame-step chord error
    v = np.diff(p[:, :2], axis=0)
    chord_yaw = np.arctan2(v[:, 1], v[:, 0])
    mid_yaw = (_yaw(e.poses)[1:] + _yaw(e.poses)[:-1]) / 2
    assert np.abs(chord_yaw - mid_yaw).max() < math.radians(1.0)
    sig = np.array(e.attributes["per_frame"]["turn_signal"])
    assert set(sig[(t >= 0.8) & (t <= 2.0)]) == {"right"} and sig[-1] == "none"
    lit = np.array(e.attributes["per_frame"]["indicator_lit"])
    on = np.flatnonzero(sig == "right")
    # blinks at 1.5 Hz: lit for the first third of a second of each 2/3 s period from the start of signalling
    want = ((t[on] - t[on[0]]) * 1.5) % 1.0 < 0.5
    assert np.array_equal(lit[on], want) and not lit[sig == "none"].any()
    right = next(m for m in e.materials if m.name == "indicator_right")
    left = next(m for m in e.materials if m.name == "indicator_left")
    assert [x > 0 for x in right.emission_frames] == lit.tolist()
    assert not any(left.emission_frames)


def test_change_lane_needs_a_second_lane():
    from simgen.world.trajectories import TrajectoryError

    with pytest.raises(TrajectoryError, match="lanes_per_direction >= 2"):
        _world(road() + """
objects:
  - {class: car, placement: {region: lane}, motion: {kind: change_lane, speed_mps: 5}}
""")


# ---- turns and cross traffic -------------------------------------------------------------------------------------

@pytest.mark.parametrize("direction,lane_x,heading", [("left", 70 + 1.75, math.pi / 2),
                                                      ("right", 70 - 1.75, -math.pi / 2)])
def test_turn_at_the_junction_ends_in_the_cross_road_lane(direction, lane_x, heading):
    w, layout = _world(road(frames=50, layout="intersection_4way") + f"""
objects:
  - {{name: c, class: car, placement: {{region: lane, x_range_m: {{min: 50, max: 56}}}},
     motion: {{kind: turn, turn: {direction}, speed_profile: [{{t_s: 0, speed_mps: 8}}, {{t_s: 1, speed_mps: 5}}]}}}}
""", with_layout=True)
    e = _ent(w, "c_0")
    p = e.poses[:, :3, 3]
    assert layout.on_road(p[:, :2]).all()
    assert abs(p[-1, 0] - lane_x) < 1e-6, "ends on the centre line of the cross road's lane"
    assert abs(_yaw(e.poses)[-1] - heading) < 1e-6
    # the speed (chord per frame) is continuous through the arc
    u = np.linalg.norm(np.diff(p[:, :2], axis=0), axis=1) * w.fps
    assert np.abs(np.diff(u)).max() <= 3.0 / w.fps + 0.02
    sig = np.array(e.attributes["per_frame"]["turn_signal"])
    turning = np.abs(np.diff(_yaw(e.poses))) > 1e-6  # the frames in the arc signal the turn
    assert set(sig[:-1][turning]) == {direction} and set(sig) <= {direction, "none"}


def test_right_turn_on_a_t_junction_is_refused():
    from simgen.world.trajectories import TrajectoryError

    with pytest.raises(TrajectoryError, match="leads off the road"):
        _world(road(frames=40, layout="t_junction") + """
objects:
  - {class: car, placement: {region: lane, x_range_m: {min: 50, max: 56}}, motion: {kind: turn, turn: right,
     speed_mps: 8}}
""")


def test_cross_traffic_crosses_the_main_road():
    w, layout = _world(road(frames=40, layout="intersection_4way") + """
objects:
  - {name: x, class: car, count: 2, placement: {region: cross_lane, spacing_m: 5},
     motion: {kind: follow_lane, speed_mps: 25}}
""", with_layout=True)
    for e in (_ent(w, "x_0"), _ent(w, "x_1")):
        p = e.poses[:, :3, 3]
        assert np.ptp(p[:, 0]) < 1e-9, "drives straight along the cross road"
        assert layout.on_road(p[:, :2]).all()
        assert np.sign(p[0, 1]) != np.sign(p[-1, 1]), "from one side of the main road to the other"
        assert abs(abs(p[0, 0] - 70) - 1.75) < 1e-9, "on a lane centre of the cross road"


# ---- crosswalk ---------------------------------------------------------------------------------------------------

def test_waiting_at_and_walking_over_the_crosswalk():
    w, layout = _world(road(frames=60, extra=", crosswalks: [{position_x_m: 30, width_m: 4}]") + """
objects:
  - {name: p, class: pedestrian, placement: {region: crosswalk}, animation: walking,
     motion: {kind: cross_at_crosswalk, start_time_s: 1.0, speed_mps: 1.5}}
""", with_layout=True)
    e = _ent(w, "p_0")
    p = e.poses[:, :3, 3]
    t = np.arange(w.frame_count) / w.fps
    phase = np.array(e.attributes["per_frame"]["crossing_phase"])
    assert set(phase[t < 1.0]) == {"waiting"} and np.ptp(p[t < 1.0], axis=0).max() < 1e-9
    assert abs(p[0, 2] - layout.params.curb_height) < 1e-9, "waits on the sidewalk"
    assert abs(abs(p[0, 1]) - (3.5 + 0.2 + 0.3)) < 1e-9, "at the kerb"
    assert np.all(np.abs(p[:, 0] - 30) <= 2.0), "inside the crossing's extent"
    walking = (t > 1.0) & (phase == "crossing")
    assert walking.sum() >= 10
    u = np.linalg.norm(np.diff(p[:, :2], axis=0), axis=1) * w.fps
    assert np.allclose(u[(t[:-1] >= 1.0) & (phase[1:] == "crossing")], 1.5, atol=1e-6)
    assert np.sign(p[-1, 1]) == -np.sign(p[0, 1]) or phase[-1] == "crossing"


# ---- traffic lights ------------------------------------------------------------------------------------------------

def test_traffic_light_states_follow_the_cycle():
    from simgen.spec.resolved import RTrafficLightTiming
    from simgen.world.traffic_lights import lamp_emission, states_at

    timing = RTrafficLightTiming(green_s=2, amber_s=1, red_s=3, red_amber_s=0.5, start="red", offset_s=2.5)
    t = np.array([0.0, 0.4, 0.6, 1.2, 2.9, 3.1, 5.0, 6.1, 7.0])
    # cycle from the start of red (at t = -2.5): red [-2.5, 0.5), red_amber [0.5, 1), green [1, 3), amber [3, 4),
    # red [4, 7), red_amber [7, 7.5) ...
    want = ["red", "red", "red_amber", "green", "green", "amber", "red", "red", "red_amber"]
    assert states_at(timing, t) == want
    em = lamp_emission(want)
    assert [em[0][i] > 0 for i in range(len(want))] == [s in ("red", "red_amber") for s in want]
    assert [em[1][i] > 0 for i in range(len(want))] == [s in ("amber", "red_amber") for s in want]
    assert [em[2][i] > 0 for i in range(len(want))] == [s == "green" for s in want]


def test_traffic_light_stands_before_the_junction_facing_the_traffic():
    w = _world(road(frames=5, layout="intersection_4way",
                    extra=", traffic_lights: [{name: main, at: junction, timing: {green_s: 0.2, amber_s: 0.1, "
                          "red_s: 0.2, offset_s: 0.05}}, {name: other, at: junction, controls: oncoming}]"))
    main, other = _ent(w, "main"), _ent(w, "other")
    assert main.class_name == "traffic_light" and main.instance_id > 0
    pm, po = main.poses[0][:3, 3], other.poses[0][:3, 3]
    assert pm[0] < 70 - 3.5 and pm[1] < -3.5, "before the junction, on the right"
    assert po[0] > 70 + 3.5 and po[1] > 3.5, "after the junction, on the left"
    # the lamps (+x of the head) look at the approaching traffic
    assert main.poses[0][0, 0] == pytest.approx(-1.0) and other.poses[0][0, 0] == pytest.approx(1.0)
    assert main.attributes["per_frame"]["traffic_light_state"] == ["green", "green", "amber", "red", "red"]


def test_traffic_light_state_is_a_per_frame_label():
    from simgen.labels.objects import frame_attributes

    attrs = {"group": "traffic_lights", "per_frame": {"traffic_light_state": ["green", "amber"]}}
    assert frame_attributes(attrs, 1) == {"group": "traffic_lights", "traffic_light_state": "amber"}


# ---- lights of parked cars, named sun --------------------------------------------------------------------------------

def test_parked_cars_keep_their_lights_off_at_night():
    w = _world(road(frames=3, extra=", parking_lane: true") + """
lighting: {time_of_day: 23}
objects:
  - {name: parked, class: car, placement: {region: parking, side: right}}
  - {name: moving, class: car, placement: {region: lane, x_range_m: {min: 20, max: 40}},
     motion: {kind: follow_lane, speed_mps: 5}}
""")
    parked, moving = _ent(w, "parked_0"), _ent(w, "moving_0")
    assert parked.attributes["lights"] == "off" and moving.attributes["lights"] == "on"
    assert not any(lt.name.startswith("parked_0") for lt in w.lights)
    assert any(lt.name.startswith("moving_0") for lt in w.lights)
    assert all(m.emission_strength == 0 for m in parked.materials if m.name in ("headlamp", "taillamp"))


@pytest.mark.parametrize("name,elevation", [("dawn", -5.0), ("golden_hour", 4.0), ("dusk", -5.0),
                                            ("civil_twilight", -3.0)])
def test_named_sun_positions(name, elevation):
    for heading in (90.0, 0.0):
        r = resolve(load_scene_text(f"scene: {{name: s}}\nlighting: {{sun_position: {name}, road_heading_deg: "
                                    f"{heading}}}\n"), 0)
        lt = r.lighting
        assert lt.sun_elevation_deg == elevation and lt.sun_position == name and not lt.night
        a = math.radians(lt.sun_azimuth_deg)
        d_world = np.array([math.sin(a), math.cos(a)])  # world azimuth: 0 = +y, 90 = +x
        # compass east in world xy: +x points to compass `heading` and compass angles run clockwise, so east lies
        # (90 - heading) deg clockwise from +x, i.e. at (heading - 90) deg counter-clockwise
        rot = math.radians(heading - 90.0)
        east = np.array([math.cos(rot), math.sin(rot)])
        assert np.dot(d_world, east) == pytest.approx(1.0 if name == "dawn" else -1.0, abs=1e-9)
        assert lt.street_lights.enabled == (elevation < 0)


def test_named_sun_and_time_of_day_are_refused_together_at_their_line():
    with pytest.raises(SpecError) as err:
        load_scene_text("scene: {name: s}\nlighting:\n  sun_position: dusk\n  time_of_day: 19\n")
    assert "not two of them" in str(err.value) and "<string>:3:" in str(err.value)


# ---- emerge_by_frame -------------------------------------------------------------------------------------------------

EMERGE = road(frames=8, extra=", parking_lane: true").replace("fps: 10", "fps: 5") + """
cameras: [{name: front, hfov_deg: 60}]
objects:
  - {name: van, class: van, placement: {pose: {x: 16, y: -5.25}}}
  - {name: child, class: child, animation: running, motion: {kind: constant_velocity, speed_mps: 3.5},
     placement: {region: sidewalk, side: right, x_range_m: {min: 20, max: 28}, heading: towards_road,
                 emerge_by_frame: %d}}
"""


def _pixel_instances(world, frame: int) -> np.ndarray:
    """(H, W) index of the entity first hit by the ray through each pixel centre (-1 = none): every entity of the
    finished world, posed (and deformed) at ``frame``, ray cast with trimesh."""
    import trimesh

    from simgen.world.conventions import intrinsics_from_hfov

    cam = world.cameras[0]
    K = intrinsics_from_hfov(cam.hfov_rad, W, H)
    pose = cam.poses[frame]
    vs, fs, owner, off = [], [], [], 0
    for i, e in enumerate(world.entities):
        if not e.label_visible:
            continue
        v = e.vertices_at(frame) @ e.poses[frame][:3, :3].T + e.poses[frame][:3, 3]
        f = e.mesh.faces if e.mesh.faces.shape[1] == 3 else np.concatenate([e.mesh.faces[:, [0, 1, 2]],
                                                                            e.mesh.faces[:, [0, 2, 3]]])
        vs.append(v)
        fs.append(f + off)
        owner.append(np.full(len(f), i))
        off += len(v)
    mesh = trimesh.Trimesh(np.concatenate(vs), np.concatenate(fs), process=False)
    owner = np.concatenate(owner)
    vv, uu = np.mgrid[0:H, 0:W]
    d = np.stack([(uu - K[0, 2]) / K[0, 0], (vv - K[1, 2]) / K[1, 1], np.ones_like(uu, float)], -1).reshape(-1, 3)
    d = d @ pose[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    tri = mesh.ray.intersects_first(np.repeat(pose[:3, 3][None], len(d), 0), d)
    return np.where(tri >= 0, owner[np.maximum(tri, 0)], -1).reshape(H, W)


def test_emerge_by_frame_hidden_first_then_visible():
    n = 5
    w = _world(EMERGE % n)
    k = next(i for i, e in enumerate(w.entities) if e.name == "child_0")
    assert (_pixel_instances(w, 0) == k).sum() == 0
    assert (_pixel_instances(w, n) == k).sum() >= 1


def test_emerge_by_frame_that_cannot_be_met_names_the_constraint():
    from simgen.world.placement import PlacementError

    # nothing hides a child standing on the sidewalk (no van, no motion, no gait to animate per try)
    text = (EMERGE % 5).replace("  - {name: van, class: van, placement: {pose: {x: 16, y: -5.25}}}\n", "")
    text = text.replace("animation: running, motion: {kind: constant_velocity, speed_mps: 3.5}", "animation: none")
    with pytest.raises(PlacementError, match="emerge_by_frame: hidden at frame 0"):
        _world(text)


def test_crossing_people_wait_in_a_waiting_pose_then_walk():
    w = _world(road(frames=30, extra=", crosswalks: [{position_x_m: 30, width_m: 4}]") + """
objects:
  - {name: p, class: pedestrian, placement: {region: crosswalk}, animation: walking,
     motion: {kind: cross_at_crosswalk, start_time_s: 1.5, speed_mps: 1.4}}
""")
    e = _ent(w, "p_0")
    if e.mesh.rig is None:
        pytest.skip("no body bank: block figures have no waiting pose")
    phase = np.array(e.attributes["per_frame"]["crossing_phase"])
    v = e.vertex_frames
    assert v is not None
    step = np.abs(np.diff(v, axis=0)).max(axis=(1, 2))  # shape change between consecutive frames (m)
    waiting = (phase[:-1] == "waiting") & (phase[1:] == "waiting")
    assert step[waiting].max() > 1e-4, "a waiting person looks around (not frozen mid-stride)"
    assert step[waiting].max() < 0.05, "slowly"


@pytest.mark.parametrize("kind,region", [("follow_lane", "sidewalk"), ("change_lane", "cross_lane"),
                                         ("cross_at_crosswalk", "lane")])
def test_behaviour_in_the_wrong_region_is_refused_at_its_line(kind, region):
    text = road() + f"""
objects:
  - class: car
    placement: {{region: {region}}}
    motion: {{kind: {kind}, speed_mps: 3}}
"""
    with pytest.raises(SpecError) as err:
        load_scene_text(text)
    msg = str(err.value)
    line = text.splitlines().index("  - class: car") + 1
    assert f"motion '{kind}' needs placement region" in msg and f"<string>:{line}:" in msg, msg


def test_traffic_lights_from_object_groups_carry_their_state_too():
    w = _world(road(frames=2) + """
objects:
  - {name: tl, class: traffic_light, count: 3, placement: {region: sidewalk}}
""")
    for e in (e for e in w.entities if e.class_name == "traffic_light"):
        lit = {int(m.name[5:]) for m in e.materials if m.name.startswith("lamp_") and m.emission_strength > 0}
        state = e.attributes["per_frame"]["traffic_light_state"]
        assert state == [{frozenset({0}): "red", frozenset({1}): "amber", frozenset({2}): "green"}[frozenset(lit)]] * 2


@pytest.mark.parametrize("direction,lane_y,heading", [("right", 1.75, math.pi), ("left", -1.75, 0.0)])
def test_cross_traffic_turns_into_the_main_road_of_a_t_junction(direction, lane_y, heading):
    w, layout = _world(road(frames=60, layout="t_junction") + f"""
objects:
  - {{name: c, class: car, placement: {{pose: {{x: 68.25, y: 22, yaw_deg: -90}}}},
     motion: {{kind: turn, turn: {direction}, speed_profile: [{{t_s: 0, speed_mps: 8}}, {{t_s: 1, speed_mps: 6}}]}}}}
""", with_layout=True)
    e = _ent(w, "c_0")
    p = e.poses[:, :3, 3]
    assert p[0, 1] > 3.5 and p[0, 0] == pytest.approx(68.25), "starts in the arm's lane into the junction"
    assert layout.on_road(p[:, :2]).all()
    assert abs(p[-1, 1] - lane_y) < 1e-6, "ends on the centre line of a main-road lane"
    assert abs(((_yaw(e.poses)[-1] - heading + math.pi) % (2 * math.pi)) - math.pi) < 1e-6


def test_a_catalog_vehicles_one_indicator_slot_is_split_by_side():
    from simgen.world.behaviour import _split_indicators
    from simgen.world.build import _Obj
    from simgen.world.model import Material, Mesh

    # two small quads: one on the left (+y), one on the right (-y), both in the asset's one indicator slot
    v = np.array([[2, 0.8, 0.7], [2, 0.9, 0.7], [2, 0.9, 0.8], [2, 0.8, 0.8],
                  [2, -0.9, 0.7], [2, -0.8, 0.7], [2, -0.8, 0.8], [2, -0.9, 0.8]], float)
    f = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    mesh = Mesh(v, f, np.array([1, 1, 1, 1]))
    o = _Obj("car", "car", mesh, [Material("paint:body"), Material("indicator:amber")], np.eye(4)[None], {})
    left, right = _split_indicators(o)
    assert o.materials[left].name == "indicator_left" and o.materials[right].name == "indicator_right"
    assert o.mesh.face_material.tolist() == [left, left, right, right]
    assert mesh.face_material.tolist() == [1, 1, 1, 1], "the shared catalog mesh is left alone"


@pytest.mark.parametrize("start_state,stops", [("red", True), ("green", False)])
def test_stop_at_signal_waits_at_the_line_while_red(start_state, stops):
    light = ("traffic_lights: [{name: s, at: x, x_m: 40, timing: {start: %s, red_s: 6.0, green_s: 20, "
             "amber_s: 2}}]" % start_state)
    w = _world(road(frames=90, extra=", " + light) + """
objects:
  - {name: c, class: car, placement: {pose: {x: 15, y: -1.75}},
     motion: {kind: follow_lane, speed_mps: 8, stop_at_signal: true}}
""")
    e, sig = _ent(w, "c_0"), _ent(w, "s")
    x = e.poses[:, 0, 3]
    states = np.array(sig.attributes["per_frame"]["traffic_light_state"])
    line = sig.poses[0, 0, 3]
    front = x + e.mesh.bounds()[1][0]
    brake = np.array(e.attributes["per_frame"]["brake_lights"])
    if stops:
        assert np.all(front[states != "green"] <= line + 1e-6), "never past the line while it is not green"
        v = np.diff(x) * w.fps
        assert v[states[1:] != "green"].min() < 1e-3, "stops at the line and waits"
        assert brake.any() and x[-1] > line, "braked, then drove on at green"
        s_acc = (x[2:] - 2 * x[1:-1] + x[:-2]) * w.fps**2
        assert np.array_equal(brake[1:-1], s_acc < -0.3)
    else:
        assert np.allclose(np.diff(x) * w.fps, 8.0) and not brake.any()
