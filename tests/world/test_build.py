"""build_world on every example scene, checked against independent geometry and projection."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simgen.classes import class_table
from simgen.errors import SimgenError
from simgen.spec.loader import load_scene, load_scene_text
from simgen.spec.resolve import resolve
from simgen.world.build import build_world, build_world_with_layout, mount_matrix
from simgen.world.conventions import intrinsics_from_hfov
from simgen.world.model import World
from simgen.world.placement import COMPANION_GAP
from tests.world.geometry import (
    box_corners,
    box_footprint,
    mirror,
    point_in_convex,
    poly_dist,
    project_cv2,
    segment_plane_hit,
)

REPO = Path(__file__).resolve().parents[2]
SCENES = sorted(p.name for p in (REPO / "scenes").glob("*.yaml"))
W, H = 160, 120
_CACHE: dict = {}


def built(scene: str, seed: int = 0, width: int = W, height: int = H):
    key = (scene, seed, width, height)
    if key not in _CACHE:
        r = resolve(load_scene(REPO / "scenes" / scene), seed)
        world, layout = build_world_with_layout(r, width, height)
        _CACHE[key] = (r, world, layout)
    return _CACHE[key]


def _things(world):
    return [e for e in world.entities if class_table().by_name(e.class_name).thing]


def test_there_are_example_scenes():
    assert "quickstart.yaml" in SCENES and len(SCENES) >= 5


@pytest.mark.parametrize("scene", SCENES)
@pytest.mark.parametrize("seed", [0, 1])
def test_scene_builds_a_valid_world(scene, seed):
    r, world, layout = built(scene, seed)
    assert isinstance(world, World) and world.frame_count == r.frames and world.fps == r.fps
    # the constructor's checks (pose counts, unique ids) pass on a fresh copy too
    World(world.name, world.frame_count, world.fps, world.entities, world.cameras, world.lights)
    assert [c.name for c in world.cameras] == [c.name for c in r.cameras]
    for e in world.entities:
        assert e.poses.shape == (r.frames, 4, 4) and np.isfinite(e.mesh.vertices).all()
        R = e.poses[:, :3, :3]
        np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.repeat(np.eye(3)[None], r.frames, 0), atol=1e-9)
        assert len(e.materials) > e.mesh.face_material.max()
    for c in world.cameras + world.lights:
        assert c.poses.shape == (r.frames, 4, 4)
    # stable ids: things numbered 1..N in entity order, stuff 0
    table = class_table()
    ids = [e.instance_id for e in world.entities if table.by_name(e.class_name).thing]
    assert ids == list(range(1, len(ids) + 1))
    assert all(e.instance_id == 0 for e in world.entities if not table.by_name(e.class_name).thing)
    assert len(world.label_table()) == len(world.entities)
    # attributes travel into label JSON files
    for e in world.entities:
        json.dumps(e.attributes, allow_nan=False)
    # every edge case left tagged objects
    for ec in r.edge_cases:
        assert any(e.attributes.get("edge_case_name") == ec.name for e in world.entities), ec.name
    # every object of every group is there
    for g in r.objects:
        assert sum(e.attributes.get("group") == g.name for e in world.entities) == g.count


def _placed_objects(r, world):
    groups = {g.name: g for g in r.objects}
    for e in world.entities:
        g = groups.get(e.attributes.get("group"))
        if g is not None:
            yield g, e


@pytest.mark.parametrize("scene", SCENES)
def test_region_objects_inside_regions_with_spacing(scene):
    r, world, layout = built(scene)
    regions = {x.name: x for x in layout.regions}
    checked = 0
    per_group: dict = {}
    for g, e in _placed_objects(r, world):
        if g.placement.explicit:
            continue
        reg = regions[e.attributes["region"]]
        lo, hi = e.mesh.bounds()
        # behaviours leave their region on purpose: lane motions start on their lane (frame 0 checked), crossing
        # people start at the kerb, objects heading towards / away from the road walk off it
        frames = range(world.frame_count)
        if g.motion.kind == "cross_at_crosswalk":
            frames = range(0)
        elif g.motion.kind in ("follow_lane", "change_lane", "turn") or g.placement.heading in (
                "towards_road", "away_from_road"):
            frames = range(1)
        for t in frames:
            fp = box_footprint(lo, hi, e.poses[t])
            loc = reg.to_local(fp)
            half = np.array([reg.length, reg.width]) / 2
            assert np.all(np.abs(loc.mean(0)) <= half + 1e-6), (e.name, t)
            slack = np.maximum(0, (np.ptp(loc, 0) - 2 * half) / 2) + 1e-6
            assert np.all(np.abs(loc) <= half + slack), (e.name, t)
        if g.placement.x_range_m:
            assert g.placement.x_range_m[0] <= e.poses[0, 0, 3] <= g.placement.x_range_m[1]
        per_group.setdefault(g.name, (g, []))[1].append(e)
        checked += 1
    for g, ents in per_group.values():
        for i in range(len(ents)):
            for j in range(i + 1, len(ents)):
                a, b = ents[i], ents[j]
                fa = box_footprint(*_low_bounds(a), a.poses[0])
                fb = box_footprint(*_low_bounds(b), b.poses[0])
                # people walking side by side (placement.together) keep only COMPANION_GAP to their group
                side_by_side = "walks_with" in a.attributes or "walks_with" in b.attributes
                need = min(g.placement.spacing_m, COMPANION_GAP) if side_by_side else g.placement.spacing_m
                assert poly_dist(fa, fb) >= need - 1e-6, (a.name, b.name)
    if any(not g.placement.explicit for g in r.objects):
        assert checked > 0


def _low_bounds(e, height=2.0):
    v = e.mesh.vertices
    low = v[v[:, 2] <= height]
    return low.min(0), low.max(0)


@pytest.mark.parametrize("scene", SCENES)
def test_no_two_objects_overlap_at_any_frame(scene):
    r, world, _ = built(scene)
    things = [e for e in _things(world) if not e.attributes.get("edge_case")]
    fps = [[box_footprint(*_low_bounds(e), e.poses[t]) for t in range(world.frame_count)] for e in things]
    for t in range(0, world.frame_count, max(1, world.frame_count // 3)):
        for i in range(len(things)):
            for j in range(i + 1, len(things)):
                if np.linalg.norm(things[i].poses[t, :2, 3] - things[j].poses[t, :2, 3]) > 20:
                    continue
                assert poly_dist(fps[i][t], fps[j][t]) > 0, (things[i].name, things[j].name, t)


@pytest.mark.parametrize("scene", SCENES)
def test_visible_and_distance_constraints_by_projection(scene):
    r, world, _ = built(scene)
    cam = world.cameras[0]
    K = intrinsics_from_hfov(cam.hfov_rad, W, H)
    for g, e in _placed_objects(r, world):
        lo, hi = e.mesh.bounds()
        centre = e.poses[0, :3, :3] @ ((lo + hi) / 2) + e.poses[0, :3, 3]
        if g.placement.visible:
            uv, depth = project_cv2(centre[None], K, cam.poses[0])
            assert depth[0] > 0 and -0.5 <= uv[0, 0] <= W - 0.5 and -0.5 <= uv[0, 1] <= H - 0.5, e.name
        if g.placement.distance_m:
            d = np.linalg.norm(centre[:2] - cam.poses[0, :2, 3])
            assert g.placement.distance_m[0] - 1e-6 <= d <= g.placement.distance_m[1] + 1e-6, e.name


def test_resolution_is_respected():
    """A wide, short image: visible objects still project inside it (K comes from the given resolution)."""
    w, h = 320, 40
    r, world, _ = built("city_street_noon.yaml", 0, w, h)
    cam = world.cameras[0]
    K = intrinsics_from_hfov(cam.hfov_rad, w, h)
    vis = [e for g, e in _placed_objects(r, world) if g.placement.visible]
    assert vis
    for e in vis:
        lo, hi = e.mesh.bounds()
        centre = e.poses[0, :3, :3] @ ((lo + hi) / 2) + e.poses[0, :3, 3]
        uv, depth = project_cv2(centre[None], K, cam.poses[0])
        assert depth[0] > 0 and -0.5 <= uv[0, 0] <= w - 0.5 and -0.5 <= uv[0, 1] <= h - 0.5
    with pytest.raises(ValueError):
        build_world(r, 0, 10)


def _signature(world):
    return [(e.name, e.instance_id, e.poses.tobytes(), e.mesh.vertices.tobytes(), repr(e.materials))
            for e in world.entities] + [(c.name, c.poses.tobytes()) for c in world.cameras] + [
        (lt.name, lt.poses.tobytes()) for lt in world.lights]


@pytest.mark.parametrize("scene", ["city_street_noon.yaml", "jaywalker.yaml"])
def test_deterministic_for_a_seed_and_different_across_seeds(scene):
    r = resolve(load_scene(REPO / "scenes" / scene), 3)
    a = build_world(r, W, H)
    b = build_world(resolve(load_scene(REPO / "scenes" / scene), 3), W, H)
    assert _signature(a) == _signature(b)
    c = build_world(resolve(load_scene(REPO / "scenes" / scene), 4), W, H)
    assert _signature(a) != _signature(c)
    pa = {e.name: e.poses for e in a.entities if e.attributes.get("group")}
    pc = {e.name: e.poses for e in c.entities if e.attributes.get("group")}
    common = set(pa) & set(pc)
    assert any(not np.allclose(pa[n], pc[n]) for n in common if not n.startswith("lead"))


def test_camera_mount_convention():
    m = mount_matrix(1.5, 0.0, 1.4, 0, 0, 0)
    np.testing.assert_allclose(m[:3, 2], [1, 0, 0], atol=1e-12)  # optical axis forward
    np.testing.assert_allclose(m[:3, 0], [0, -1, 0], atol=1e-12)  # image right = ego right
    np.testing.assert_allclose(m[:3, 1], [0, 0, -1], atol=1e-12)  # image down = world down
    assert mount_matrix(0, 0, 1, 0, 10, 0)[2, 2] == pytest.approx(math.sin(math.radians(10)))  # pitch up
    np.testing.assert_allclose(mount_matrix(0, 0, 1, 90, 0, 0)[:3, 2], [0, 1, 0], atol=1e-12)  # yaw left
    assert mount_matrix(0, 0, 1, 0, 0, 10)[2, 0] > 0  # roll ccw (from behind): the right edge goes up
    r, world, _ = built("quickstart.yaml")
    cam = world.cameras[0]
    # the ego drives along +x: the camera moves forward by speed / fps per frame
    step = np.diff(cam.poses[:, :3, 3], axis=0)
    np.testing.assert_allclose(step, np.tile([r.ego.speed_mps / r.fps, 0, 0], (len(step), 1)), atol=1e-9)
    assert cam.poses[0, 1, 3] < 0 and cam.poses[0, 2, 3] == pytest.approx(r.cameras[0].mount.z)


def test_stereo_rig():
    text = """
scene: {name: stereo}
road: {buildings: {sides: none}}
cameras:
  - {name: left, hfov_deg: 80, mount: {x: 1.5, y: 0.25, z: 1.4}}
  - {name: right, hfov_deg: 80, mount: {x: 1.5, y: -0.25, z: 1.4}}
frames: 2
"""
    world = build_world(resolve(load_scene_text(text), 0), 64, 48)
    left, right = world.cameras
    base = np.linalg.inv(left.poses[0]) @ right.poses[0]
    np.testing.assert_allclose(base[:3, 3], [0.5, 0, 0], atol=1e-12)  # right camera at +0.5 m along image x
    np.testing.assert_allclose(base[:3, :3], np.eye(3), atol=1e-12)


def test_quickstart_is_cheap_and_moves():
    r, world, _ = built("quickstart.yaml")
    # catalog meshes (one sedan, two small cars, a cypress) when the sweethome3d pack is installed; people from
    # the body bank (one ~6k-triangle body each when it is installed)
    people = [e for e in world.entities if e.class_name in ("pedestrian", "child", "cyclist")]
    assert sum(len(e.mesh.faces) for e in world.entities if e not in people) < 80_000 and len(world.entities) < 30
    assert all(len(e.mesh.faces) < 12000 for e in people)
    moving = [e for e in _things(world) if not np.allclose(e.poses[0], e.poses[-1])]
    assert moving and world.frame_count >= 3
    assert not np.allclose(world.cameras[0].poses[0], world.cameras[0].poses[1])


# ---- edge cases --------------------------------------------------------------------------------------------

def _role(world, role):
    return [e for e in world.entities if e.attributes.get("edge_case") == role]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_reflection_geometry(seed):
    r, world, _ = built("pedestrian_reflection_window.yaml", seed)
    (ped,) = _role(world, "reflected_pedestrian")
    (win,) = _role(world, "reflecting_window")
    assert win.attributes["reflected"] == ped.name and win.class_name == "window"
    cam = world.cameras[0].poses[0, :3, 3]
    lo, hi = win.mesh.bounds()
    # the pane's street-side face: the y of its box nearer the road centre
    y_face = lo[1] if abs(lo[1]) < abs(hi[1]) else hi[1]
    n = np.array([0.0, -np.sign(y_face), 0.0])
    plane = np.array([0.0, y_face, 0.0])
    assert (cam - plane) @ n > 0, "camera on the street side of the glass"
    pv = ped.mesh.vertices @ ped.poses[0, :3, :3].T + ped.poses[0, :3, 3]
    assert np.all((pv - plane) @ n > 0), "the person stands in front of the window"
    # torso points: vertices between 40% and 75% of the person's height
    h0, h1 = pv[:, 2].min(), pv[:, 2].max()
    torso = pv[(pv[:, 2] > h0 + 0.4 * (h1 - h0)) & (pv[:, 2] < h0 + 0.75 * (h1 - h0))]
    hit, t = segment_plane_hit(cam, mirror(torso, plane, n), plane, n)
    inside = (t > 0) & (t < 1) & (hit[:, 0] >= lo[0]) & (hit[:, 0] <= hi[0]) & (hit[:, 2] >= lo[2]) & (
        hit[:, 2] <= hi[2])
    assert inside.mean() > 0.5, inside.mean()
    # and that part of the glass is in the picture
    K = intrinsics_from_hfov(world.cameras[0].hfov_rad, W, H)
    uv, depth = project_cv2(hit[inside], K, world.cameras[0].poses[0])
    ok = (depth > 0) & (uv[:, 0] >= -0.5) & (uv[:, 0] <= W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] <= H - 0.5)
    assert ok.any()
    assert win.materials[0].transmission == 1.0 and win.materials[0].reflective


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_puddle_reflection_geometry(seed):
    r, world, layout = built("pedestrian_reflection_puddle.yaml", seed)
    (ped,) = _role(world, "reflected_pedestrian")
    (pud,) = _role(world, "reflecting_puddle")
    assert pud.class_name == "puddle" and pud.materials[0].reflective and pud.instance_id == 0
    z = pud.mesh.vertices[:, 2]
    assert np.ptp(z) == 0 and 0 < z[0] < 0.005
    poly_v = pud.mesh.vertices[1:, :2]  # fan centre first, then the rim in order
    assert layout.on_road(poly_v).all()
    cam = world.cameras[0].poses[0, :3, 3]
    pv = ped.mesh.vertices @ ped.poses[0, :3, :3].T + ped.poses[0, :3, 3]
    plane, n = np.array([0, 0, z[0]]), np.array([0, 0, 1.0])
    hit, t = segment_plane_hit(cam, mirror(pv, plane, n), plane, n)
    inside = np.array([point_in_convex(poly_v, p[:2]) for p in hit]) & (t > 0) & (t < 1)
    assert inside.sum() >= 10, "part of the person's mirror image is seen in the puddle"
    # the puddle lies between the camera and the person
    d_p = np.linalg.norm(poly_v.mean(0) - cam[:2])
    assert d_p < np.linalg.norm(ped.poses[0, :2, 3] - cam[:2])


def test_jaywalker_and_occluded_child():
    r, world, _ = built("jaywalker.yaml")
    (walker,) = _role(world, "jaywalker")
    rear, front = _role(world, "parked_rear")[0], _role(world, "parked_front")[0]
    x = walker.poses[0, 0, 3]
    assert rear.poses[0, 0, 3] < x < front.poses[0, 0, 3]
    gap = (front.poses[0, 0, 3] + front.mesh.bounds()[0][0]) - (rear.poses[0, 0, 3] + rear.mesh.bounds()[1][0])
    assert gap == pytest.approx(1.4, abs=1e-6)
    # walks from the curb towards the road centre
    assert abs(walker.poses[-1, 1, 3]) < abs(walker.poses[0, 1, 3])
    (child,) = _role(world, "occluded_child")
    (occ,) = _role(world, "occluder")
    assert child.class_name == "child" and occ.class_name == "van"
    cam = world.cameras[0]
    K = intrinsics_from_hfov(cam.hfov_rad, W, H)
    uo, do = project_cv2(box_corners(*occ.mesh.bounds(), occ.poses[0]), K, cam.poses[0])
    uc, dc = project_cv2(box_corners(*child.mesh.bounds(), child.poses[0]), K, cam.poses[0])
    assert dc.min() > do.min(), "the child is farther than the vehicle"
    ix = min(uc[:, 0].max(), uo[:, 0].max()) - max(uc[:, 0].min(), uo[:, 0].min())
    iy = min(uc[:, 1].max(), uo[:, 1].max()) - max(uc[:, 1].min(), uo[:, 1].min())
    frac_covered = max(ix, 0) * max(iy, 0) / np.prod(uc.max(0) - uc.min(0))
    assert frac_covered > 0.4, frac_covered


EXTRA = """
scene: {name: extra, tags: [night]}
road:
  layout: LAYOUT
  length_m: 120
  lanes_per_direction: 1
  parking_lane: true
  junction_x_m: 60
  crosswalks: [{position_x_m: 30}]
lighting: {time_of_day: 23, headlights: {enabled: true, power_w: 70}}
frames: 3
objects:
  - {name: traffic, class: car, count: 2, placement: {region: oncoming_lane, distance_m: {min: 20, max: 60}},
     motion: {kind: constant_velocity, speed_mps: 8}}
  - {name: lamps, class: street_light, count: 2, placement: {region: roadside, side: right, spacing_m: 10}}
  - {name: bus, class: bus, placement: {region: parking, side: right, visible: true}}
  - {name: signs, class: sign, count: 2, placement: {region: sidewalk, heading: towards_road}}
edge_cases:
  - {kind: headlight_glare, distance_m: 35, power_w: 500}
  - {kind: pedestrian_reflection_car, distance_m: 20, side: left}
"""


@pytest.mark.parametrize("layout_kind", ["straight", "t_junction", "intersection_4way"])
def test_layouts_night_lights_and_more_edge_cases(layout_kind):
    r = resolve(load_scene_text(EXTRA.replace("LAYOUT", layout_kind)), 0)
    world, layout = build_world_with_layout(r, W, H)
    assert world.lighting.night and world.lighting.sun_strength == 0
    (glare,) = _role(world, "glare_vehicle")
    assert glare.poses[0, 1, 3] > 0 and glare.poses[0, :2, 0] == pytest.approx([-1, 0], abs=1e-9)
    assert glare.poses[-1, 0, 3] < glare.poses[0, 0, 3]
    glare_lights = [lt for lt in world.lights if lt.name.startswith(glare.name)]
    assert len(glare_lights) == 2 and all(lt.power_w >= 500 for lt in glare_lights)
    assert max(m.emission_strength for m in glare.materials) > 50
    for lt in glare_lights:  # shining towards -x (at us)
        assert (lt.poses[0, :3, :3] @ [0, 0, -1.0])[0] < -0.9
    ego_lights = [lt for lt in world.lights if lt.name.startswith("ego_")]
    assert len(ego_lights) == 2 and all(lt.power_w == 70 for lt in ego_lights)
    # every moving vehicle has headlights at night, parked ones (the bus in the parking strip, the reflecting car)
    # stay dark; street lamps shine down
    vehicles = [e for e in world.entities if e.class_name in ("car", "van", "bus", "truck")]
    moving = [v for v in vehicles if np.ptp(v.poses[:, :3, 3], axis=0).max() > 0]
    parked = [v for v in vehicles if v not in moving]
    assert moving and parked and {v.attributes.get("group") for v in parked} >= {"bus"}
    assert all(any(lt.name.startswith(v.name + "_headlight") for lt in world.lights) for v in moving)
    assert not any(lt.name.startswith(v.name + "_headlight") for v in parked for lt in world.lights)
    lamps = [lt for lt in world.lights if "_lamp" in lt.name]
    assert lamps and all((lt.poses[0, :3, :3] @ [0, 0, -1.0])[2] < -0.99 for lt in lamps)
    assert _role(world, "reflecting_car") and _role(world, "reflected_pedestrian")
    for e in world.entities:
        if e.attributes.get("group") == "signs":
            # signs face the road: +x of the sign points towards the road's centre line
            if e.attributes["region"].startswith("sidewalk/main"):
                assert np.sign(e.poses[0, 1, 0]) == -np.sign(e.poses[0, 1, 3])
            else:  # a cross arm's sidewalk: towards x = junction_x
                assert np.sign(e.poses[0, 0, 0]) == -np.sign(e.poses[0, 0, 3] - r.road.junction_x_m)


def test_rainy_night_weather():
    r, world, layout = built("rainy_night.yaml")
    assert world.lighting.night and world.weather.rain_intensity == r.weather.rain_intensity
    (rain,) = [e for e in world.entities if e.name == "rain"]
    assert not rain.label_visible and rain.class_name == "unlabeled" and rain.instance_id == 0
    assert len(rain.mesh.faces) == round(3000 * r.weather.rain_intensity)
    assert rain.poses[-1, 2, 3] < rain.poses[0, 2, 3]  # falls
    (pud,) = [e for e in world.entities if e.name == "puddles"]
    assert pud.class_name == "puddle" and pud.materials[0].reflective and world.weather.puddle_entities
    assert pud.attributes["count"] > 0
    polys = [np.array(q) for q in pud.attributes["polygons"]]
    assert all(layout.on_road(q).all() for q in polys)
    radius = [np.linalg.norm(q - q.mean(0), axis=1).max() for q in polys]
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            if np.linalg.norm(polys[i].mean(0) - polys[j].mean(0)) <= radius[i] + radius[j]:
                assert poly_dist(polys[i], polys[j]) > 0
    street = [lt for lt in world.lights if lt.name.startswith("street_light_")]
    # 150 W (electrical) LED lamps at night: their spot power at the night scale of simgen.world.photometry
    from simgen.world.photometry import street_light_w

    assert r.lighting.street_lights.power_w == 150
    assert len(street) >= 8 and all(lt.power_w == pytest.approx(street_light_w(150)) for lt in street)


@pytest.mark.parametrize("text,match", [
    ("""
scene: {name: bad}
objects:
  - {name: crowd, class: bus, count: 30, placement: {region: parking, side: right, x_range_m: {min: 10, max: 40}}}
road: {parking_lane: true}
""", "objects.crowd"),
    ("""
scene: {name: bad2}
objects:
  - {name: parked, class: car, count: 1, placement: {region: parking}}
""", "objects.parked.*parking"),
    ("""
scene: {name: bad3}
road: {buildings: {sides: none}}
edge_cases:
  - {kind: pedestrian_reflection_window, distance_m: 15}
""", "edge_cases.*window"),
])
def test_impossible_scenes_raise_clear_errors(text, match):
    with pytest.raises(SimgenError, match=match):
        build_world(resolve(load_scene_text(text), 0), W, H)


def test_explicit_poses_stand_on_the_surface_and_waypoint_groups_follow_paths():
    text = """
scene: {name: paths}
road: {buildings: {sides: none}, sidewalk_width_m: 3}
frames: 5
fps: 10
objects:
  - {name: kerb_walker, class: pedestrian, placement: {pose: {x: 12, y: -5.0, yaw_deg: 90}}}
  - {name: road_walker, class: pedestrian, placement: {pose: {x: 14, y: -1.0}}}
  - name: convoy
    class: car
    count: 2
    placement: {region: oncoming_lane, spacing_m: 3}
    motion: {kind: waypoints, speed_mps: 10, waypoints: [{x: 60, y: 1.75}, {x: 20, y: 1.75}, {x: 20, y: 30}]}
"""
    r = resolve(load_scene_text(text), 0)
    world, layout = build_world_with_layout(r, W, H)
    by = {e.name: e for e in world.entities}
    assert by["kerb_walker_0"].poses[0, 2, 3] == pytest.approx(r.road.curb_height_m)  # on the sidewalk
    assert by["road_walker_0"].poses[0, 2, 3] == 0.0
    c0, c1 = by["convoy_0"], by["convoy_1"]
    for c in (c0, c1):
        np.testing.assert_allclose(c.poses[:, 1, 3], 1.75)
        step = np.linalg.norm(np.diff(c.poses[:, :2, 3], axis=0), axis=1)
        np.testing.assert_allclose(step, 1.0, atol=1e-9)  # 10 m/s at 10 fps
        np.testing.assert_allclose(c.poses[:, :2, 0], np.tile([-1.0, 0.0], (5, 1)), atol=1e-12)  # along the path
    # the second car follows 3 m (bumper to bumper) further along the path
    (lo0, hi0), (lo1, hi1) = c0.mesh.bounds(), c1.mesh.bounds()
    assert c0.poses[0, 0, 3] - c1.poses[0, 0, 3] == pytest.approx((hi0[0] - lo0[0] + hi1[0] - lo1[0]) / 2 + 3.0)
