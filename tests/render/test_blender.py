"""The Blender adapter against independent geometry: tiny hand-built worlds, analytic expectations.

Every expectation here comes from ray/plane algebra, rigid motion and ``cv2.projectPoints`` — never from
simgen.render itself.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from simgen.world.conventions import look_at, pose_from_xyz_yaw
from simgen.world.model import Camera, Entity, Lighting, Material, Mesh, World

pytestmark = pytest.mark.blender

W, H = 96, 72


def _quad(half: float) -> Mesh:
    return Mesh([(-half, -half, 0), (half, -half, 0), (half, half, 0), (-half, half, 0)], [(0, 1, 2, 3)])


def _box(sx: float, sy: float, sz: float) -> Mesh:
    v = np.array([[x, y, z] for z in (0.0, sz) for y in (-sy / 2, sy / 2) for x in (-sx / 2, sx / 2)])
    faces = [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]]
    return Mesh(v, faces)


def _static(T: int, pose=None) -> np.ndarray:
    return np.stack([np.eye(4) if pose is None else pose] * T)


def _settings(**kw):
    from simgen.render.settings import RenderSettings

    base = dict(width=W, height=H, samples=2, device="cpu", threads=0)
    base.update(kw)
    return RenderSettings(**base)


def _render(world, settings, frames=None):
    from simgen.render.blender import render_world

    return list(render_world(world, settings, frames))


def _K(hfov, w=W, h=H):
    f = (w / 2) / math.tan(hfov / 2)
    return np.array([[f, 0, w / 2 - 0.5], [0, f, h / 2 - 0.5], [0, 0, 1.0]])


def _rays(K, pose, w=W, h=H):
    """(H, W, 3) world directions of pixel-centre rays scaled so their camera-z component is 1."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    return d @ pose[:3, :3].T


def _cv_project(points, K, world_from_camera):
    cam_from_world = np.linalg.inv(world_from_camera)
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    uv, _ = cv2.projectPoints(np.asarray(points, np.float64).reshape(-1, 1, 3), rvec, cam_from_world[:3, 3], K, None)
    return uv.reshape(-1, 2)


# ---- (a) depth = analytic ray/plane intersection -----------------------------------------------------------


@pytest.fixture(scope="module")
def ground_render(bpy_module):
    hfov, height, pitch = math.radians(70.0), 1.7, math.radians(12.0)
    eye = np.array([0.3, -2.0, height])
    target = eye + [math.sin(0.2), math.cos(0.2), -math.tan(pitch)]
    pose = look_at(eye, target)
    half = 400.0
    ground = Entity("ground", "road", _quad(half), [Material("g", texture="asphalt")], _static(1))
    world = World("ground", 1, 10.0, [ground], [Camera("cam", hfov, _static(1, pose), clip_end=5000.0)],
                  lighting=Lighting(sky_model="uniform"))
    (raw,) = _render(world, _settings())
    return raw, pose, hfov, height, half


def test_depth_matches_ray_plane_intersection(ground_render):
    raw, pose, hfov, height, half = ground_render
    K = _K(hfov)
    d = _rays(K, pose)
    with np.errstate(divide="ignore"):
        t = -pose[2, 3] / d[..., 2]  # camera-z is 1 on d, so t is the planar depth
    hit = pose[:3, 3] + t[..., None] * d
    hits = (d[..., 2] < 0) & (np.abs(hit[..., 0]) < half - 1) & (np.abs(hit[..., 1]) < half - 1)
    misses = (d[..., 2] >= 0) | (np.abs(hit[..., 0]) > half + 1) | (np.abs(hit[..., 1]) > half + 1)
    assert hits.sum() > 0.3 * W * H and misses.sum() > 0.1 * W * H
    rel = np.abs(raw.depth[hits].astype(np.float64) - t[hits]) / t[hits]
    assert rel.max() <= 1e-4, rel.max()
    assert np.all(raw.depth[misses] == 1e10)
    assert raw.depth.dtype == np.float32 and raw.depth.shape == (H, W)
    # the position pass agrees with the same intersection (metres, world frame)
    dist = np.linalg.norm(hit[hits] - pose[:3, 3], axis=-1)
    assert (np.linalg.norm(raw.position[hits] - hit[hits], axis=-1) / dist).max() <= 1e-4


def test_ground_rgb_and_intrinsics(ground_render):
    raw, pose, hfov, _, _ = ground_render
    assert raw.rgb.dtype == np.uint8 and raw.rgb.shape == (H, W, 3)
    assert 5 < raw.rgb.mean() < 250  # neither black nor blown out
    np.testing.assert_allclose(raw.K, _K(hfov))
    np.testing.assert_array_equal(raw.world_from_camera, pose)
    assert set(raw.timings) >= {"build", "beauty", "labels"}


# ---- (b, c, d) moving camera + moving box: flow, ids, determinism --------------------------------------------

T = 3


def _motion_world():
    cams = [look_at((0.2 * t, -0.15 * t, 2.0 + 0.05 * t), (0.6 - 0.1 * t, 10.0, 0.3)) for t in range(T)]
    box_poses = [pose_from_xyz_yaw(-0.5 + 0.35 * t, 7.0 - 0.2 * t, 0.0, 0.3 + 0.12 * t) for t in range(T)]
    ground = Entity("ground", "road", _quad(60.0), [Material("g", (0.4, 0.4, 0.4), texture="asphalt")], _static(T))
    car = Entity("car", "car", _box(1.8, 1.2, 1.4), [Material("c", (0.7, 0.2, 0.1), texture="checker",
                                                                 texture_scale=3.0)],
                 np.stack(box_poses), instance_id=7)
    post = Entity("post", "pole", _box(0.3, 0.3, 2.5), [Material("p", (0.2, 0.5, 0.2), texture="noise")],
                  _static(T, pose_from_xyz_yaw(2.0, 9.0, 0.0, 0.0)), instance_id=3)
    cam = Camera("cam", math.radians(75.0), np.stack(cams))
    return World("motion", T, 10.0, [ground, car, post], [cam], lighting=Lighting(sky_model="uniform"))


@pytest.fixture(scope="module")
def motion(bpy_module):
    world = _motion_world()
    return world, _render(world, _settings(samples=4))


def _expected_flow(world, raws, t, s):
    """Analytic flow from frame t to frame s: unproject with depth/K/pose, move with the hit object, project."""
    raw = raws[t]
    K, pose_t, pose_s = raw.K, world.cameras[0].poses[t], world.cameras[0].poses[s]
    d = _rays(K, pose_t)
    pts = pose_t[:3, 3] + raw.depth.astype(np.float64)[..., None] * d
    keys = raw.object_index.astype(int)
    for k, ent in enumerate(world.entities, start=1):
        sel = keys == k
        move = ent.poses[s] @ np.linalg.inv(ent.poses[t])
        pts[sel] = pts[sel] @ move[:3, :3].T + move[:3, 3]
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    uv = _cv_project(pts.reshape(-1, 3), K, pose_s).reshape(H, W, 2)
    return np.stack([uv[..., 0] - u, uv[..., 1] - v], -1), raw.depth < 1e9


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_vector_pass_is_analytic_reprojection(motion, direction):
    world, raws = motion
    t = 1
    s = t + 1 if direction == "forward" else t - 1
    expected, valid = _expected_flow(world, raws, t, s)
    vec = raws[t].vector.astype(np.float64)
    # facts doc: raster y is up; forward t->t+1 = (-Z, +W), backward t->t-1 = (+X, -Y)
    flow = np.stack([-vec[..., 2], vec[..., 3]], -1) if direction == "forward" else np.stack([vec[..., 0], -vec[..., 1]], -1)
    epe = np.linalg.norm(flow - expected, axis=-1)[valid]
    moving = np.linalg.norm(expected, axis=-1)[valid]
    assert valid.sum() > 0.4 * W * H and np.median(moving) > 1.0  # there is real motion to get wrong
    on_car = (raws[t].object_index == 2)[valid]
    assert on_car.sum() > 30
    assert np.median(epe) <= 1e-3, np.median(epe)
    assert np.percentile(epe, 99) <= 1e-2, np.percentile(epe, 99)
    assert np.median(epe[on_car]) <= 1e-3
    # a sign or axis error would be far off: the flow is not near zero and not mirrored
    assert np.median(np.linalg.norm(flow + expected, axis=-1)[valid]) > 1.0


#: (class, behaviour, speed m/s, camera distance m) of the deforming-people flow checks; "blocks" is the
#: procedural fallback figure
PEOPLE_CASES = {"blocks": ("pedestrian", "walking", 1.2, 3.2), "walking": ("pedestrian", "walking", 1.4, 3.2),
                "running": ("pedestrian", "running", 3.2, 4.0), "cycling": ("cyclist", "cycling", 4.0, 5.0)}


def _person_frames(kind: str, poses: np.ndarray, fps: float, monkeypatch, tmp_path):
    from simgen.world import people
    from simgen.world.assets import gait_phases, make_asset, person_pose_frames

    cls, behaviour, _, _ = PEOPLE_CASES[kind]
    if kind == "blocks":
        monkeypatch.setenv("SIMGEN_DATA_DIR", str(tmp_path))  # no body bank: the block figure
        mesh, mats = make_asset(cls, "red", 1.0, np.random.default_rng(0))
        return mesh, mats, person_pose_frames(mesh, gait_phases(poses, fps, 1.75, "walking", 0.6), "walking")
    mesh, mats = make_asset(cls, "red", 1.0, np.random.default_rng(0), behaviour)
    assert mesh.rig is not None, f"no body bank at {people.bank_path()}: run scripts/setup.sh"
    p = mesh.rig
    steps = np.linalg.norm(np.diff(poses[:, :2, 3], axis=0), axis=1)
    travelled = np.concatenate([[0.0], np.cumsum(steps)])
    v = people.animate(p, behaviour, travelled, np.arange(len(poses)) / fps, 0.3)
    return mesh, mats, (v - [0.0, 0.0, p.z_shift]) * p.scale


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(PEOPLE_CASES))
def test_deforming_person_flow_follows_the_mesh(bpy_module, kind, monkeypatch, tmp_path):
    """Legs and arms swing (block figure; bank people walking, running, cycling): each pixel of the person is
    traced to the triangle it hits (trimesh, frame t), moved with that triangle's vertices to frame t ± 1 (same
    barycentric coordinates) and projected; the Vector pass must agree, in both directions."""
    import trimesh

    fps = 10.0
    _, _, speed, dist = PEOPLE_CASES[kind]
    poses = np.stack([pose_from_xyz_yaw(speed / fps * t, 0.0, 0.0, 0.2) for t in range(T)])
    mesh, mats, frames = _person_frames(kind, poses, fps, monkeypatch, tmp_path)
    ped = Entity("ped", PEOPLE_CASES[kind][0], mesh, mats, poses, instance_id=1, vertex_frames=frames)
    ground = Entity("ground", "road", _quad(30.0), [Material("g", (0.4, 0.4, 0.4))], _static(T))
    cam_pose = look_at((0.4, -dist, 1.0), (0.3, 0.0, 0.85))
    world = World("walk", T, fps, [ground, ped], [Camera("cam", math.radians(50.0), _static(T, cam_pose))])
    raws = _render(world, _settings(samples=1))
    hfov, t = math.radians(50.0), 1
    K = _K(hfov)
    tris = mesh.faces
    assert tris.shape[1] == 3
    world_verts = [frames[f] @ poses[f][:3, :3].T + poses[f][:3, 3] for f in range(T)]
    tm = trimesh.Trimesh(world_verts[t], tris, process=False)
    person = raws[t].object_index.reshape(-1) == 2
    d = _rays(K, cam_pose).reshape(-1, 3)[person]
    origins = np.repeat(cam_pose[None, :3, 3], len(d), 0)
    tri, ray, loc = tm.ray.intersects_id(origins, d, multiple_hits=False, return_locations=True)
    bary = trimesh.triangles.points_to_barycentric(tm.triangles[tri], loc)
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    uv0 = np.stack([u.reshape(-1)[person][ray], v.reshape(-1)[person][ray]], -1)
    vec = raws[t].vector.astype(np.float64).reshape(-1, 4)[person][ray]
    moved_max = 0.0
    for s_, flow in ((t + 1, np.stack([-vec[:, 2], vec[:, 3]], -1)), (t - 1, np.stack([vec[:, 0], -vec[:, 1]], -1))):
        p_s = np.einsum("nk,nkj->nj", bary, world_verts[s_][tris[tri]])
        expected = _cv_project(p_s, K, cam_pose) - uv0
        epe = np.linalg.norm(flow - expected, axis=-1)
        assert len(epe) > 150
        assert np.median(epe) <= 1e-3, np.median(epe)
        assert np.percentile(epe, 99) <= 1e-2, np.percentile(epe, 99)
        # the limbs really move differently from the body: rigid motion of the whole person would be far off
        rigid = _cv_project(loc @ (poses[s_] @ np.linalg.inv(poses[t]))[:3, :3].T
                            + (poses[s_] @ np.linalg.inv(poses[t]))[:3, 3], K, cam_pose) - uv0
        moved_max = max(moved_max, float(np.linalg.norm(rigid - expected, axis=-1).max()))
    assert moved_max > 1.0


def test_object_index_holds_label_keys_exactly(motion):
    world, raws = motion
    for raw in raws:
        idx = raw.object_index
        assert idx.dtype == np.float32
        assert np.all(idx == np.round(idx))
        assert set(np.unique(idx).astype(int)) == {0, 1, 2, 3}
        # every id'd pixel's world position lies on the geometry of the entity with that key
        f = raw.frame
        for k, ent in enumerate(world.entities, start=1):
            p = raw.position[idx == k].astype(np.float64)
            local = (p - ent.poses[f][:3, 3]) @ ent.poses[f][:3, :3]
            lo, hi = ent.mesh.bounds()
            assert np.all(local >= lo - 2e-3) and np.all(local <= hi + 2e-3), ent.name
        # sky pixels have no id and background depth
        assert np.all((idx == 0) == (raw.depth == 1e10))


def test_normals_are_unit_and_face_the_camera(motion):
    world, raws = motion
    raw = raws[0]
    ground = raw.object_index == 1
    np.testing.assert_allclose(raw.normal[ground], np.broadcast_to([0, 0, 1], raw.normal[ground].shape), atol=1e-5)
    # on the box: the normal of the face that was hit (the face whose plane the hit point lies on)
    for key in (2, 3):
        ent = world.entities[key - 1]
        sel = raw.object_index == key
        pose = ent.poses[raw.frame]
        local = (raw.position[sel].astype(np.float64) - pose[:3, 3]) @ pose[:3, :3]
        lo, hi = ent.mesh.bounds()
        dist = np.concatenate([np.abs(local - lo), np.abs(local - hi)], axis=1)  # (N, 6): -x -y -z +x +y +z
        face = dist.argmin(1)
        axis = np.eye(3)[face % 3] * np.where(face < 3, -1.0, 1.0)[:, None]
        expected = axis @ pose[:3, :3].T
        err = np.linalg.norm(raw.normal[sel] - expected, axis=1)
        assert sel.sum() > 20 and np.percentile(err, 95) < 1e-4, (ent.name, np.percentile(err, 95))


@pytest.mark.slow
def test_two_renders_are_bit_identical(motion):
    world, first = motion
    again = _render(_motion_world(), _settings(samples=4))
    for a, b in zip(first, again):
        for name in ("rgb", "depth", "object_index", "position", "vector", "normal"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name


# ---- (e) projection convention -------------------------------------------------------------------------------


def test_small_square_lands_where_projectpoints_says(bpy_module):
    hfov = math.radians(60.0)
    pose = look_at((1.0, -3.0, 1.5), (0.2, 5.0, 0.4))
    # a 0.12 m square parallel to the image plane, centred at a generic point off the optical axis
    centre_cam = np.array([-0.83, 0.41, 4.3])
    half = 0.06
    corners_cam = np.array([[sx * half, sy * half, 0.0] for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
    corners_world = (centre_cam + corners_cam) @ pose[:3, :3].T + pose[:3, 3]
    square = Entity("dot", "sign", Mesh(corners_world, [(0, 3, 2, 1)]), [Material("w")], _static(1), instance_id=1)
    world = World("proj", 1, 10.0, [square], [Camera("cam", hfov, _static(1, pose))],
                  lighting=Lighting(sky_model="uniform"))
    (raw,) = _render(world, _settings(samples=1))
    K = _K(hfov)
    uv = _cv_project(corners_world, K, pose)
    u0, u1, v0, v1 = uv[:, 0].min(), uv[:, 0].max(), uv[:, 1].min(), uv[:, 1].max()
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    inside = (u > u0) & (u < u1) & (v > v0) & (v < v1)
    ambiguous = (np.minimum(np.abs(u - u0), np.abs(u - u1)) < 1e-3) | (np.minimum(np.abs(v - v0), np.abs(v - v1)) < 1e-3)
    mask = raw.object_index == 1
    assert inside.sum() >= 4
    assert np.array_equal(mask[~ambiguous], inside[~ambiguous])
    centre_uv = _cv_project((centre_cam @ pose[:3, :3].T + pose[:3, 3])[None], K, pose)[0]
    rows, cols = np.nonzero(mask)
    assert abs(cols.mean() - centre_uv[0]) <= 0.5 and abs(rows.mean() - centre_uv[1]) <= 0.5


# ---- (g) weather geometry: in the picture, not in the labels -------------------------------------------------


def test_hidden_weather_entity_is_only_in_rgb(bpy_module):
    hfov = math.radians(70.0)
    pose = look_at((0.0, 0.0, 1.5), (0.0, 8.0, 0.0))
    ground = Entity("ground", "road", _quad(50.0), [Material("g", (0.3, 0.3, 0.3))], _static(1))
    # a bright red "streak" sheet one metre in front of the camera covering the lower-left of the view
    sheet_pose = look_at((0.0, 0.0, 1.5), (0.0, 8.0, 0.0))
    c = np.array([[-0.9, 0.05, 1.0], [-0.05, 0.05, 1.0], [-0.05, 0.6, 1.0], [-0.9, 0.6, 1.0]])
    verts = c @ sheet_pose[:3, :3].T + sheet_pose[:3, 3]
    red = Material("streak", (1.0, 0.0, 0.0), emission_color=(1.0, 0.0, 0.0), emission_strength=5.0)
    streak = Entity("rain", "unlabeled", Mesh(verts, [(0, 3, 2, 1)]), [red], _static(1),
                    label_visible=False)
    world = World("rain", 1, 10.0, [ground, streak], [Camera("cam", hfov, _static(1, pose))],
                  lighting=Lighting(sky_model="uniform"))
    (raw,) = _render(world, _settings())
    K = _K(hfov)
    uv = _cv_project(verts, K, pose)
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    under = (u > uv[:, 0].min() + 1) & (u < uv[:, 0].max() - 1) & (v > uv[:, 1].min() + 1) & (v < uv[:, 1].max() - 1)
    assert under.sum() > 100
    r, g = raw.rgb[..., 0].astype(int), raw.rgb[..., 1].astype(int)
    red_px = (r > 200) & (r - g > 120)
    assert np.all(red_px[under])  # the streak is in the picture
    near = (u > uv[:, 0].min() - 1) & (u < uv[:, 0].max() + 1) & (v > uv[:, 1].min() - 1) & (v < uv[:, 1].max() + 1)
    assert not np.any(red_px & ~near)
    assert np.all(raw.object_index[under] == 1)  # ... but the labels see the ground behind it
    d = _rays(K, pose)
    t = -pose[2, 3] / d[..., 2]
    np.testing.assert_allclose(raw.depth[under], t[under], rtol=1e-4)
    assert 2 not in np.unique(raw.object_index)


# ---- reflection labels, sky, fog and wet road together -----------------------------------------------------


def _ray_box_hit(origin, dirs, lo, hi):
    """(N,) bool: rays origin + s·dirs (s > 1e-6) hit the axis-aligned box [lo, hi] (slab test)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lo - origin) / dirs
        t1 = (hi - origin) / dirs
    tmin = np.nanmax(np.minimum(t0, t1), axis=-1)
    tmax = np.nanmin(np.maximum(t0, t1), axis=-1)
    return (tmax >= np.maximum(tmin, 1e-6))


@pytest.mark.slow
def test_reflection_masks_mirror_glass_and_direct(bpy_module):
    from simgen.world.model import Weather

    hfov = math.radians(75.0)
    eye = np.array([0.0, 0.0, 1.5])
    pose = look_at(eye, (0.8, 8.0, 1.0))
    ped_lo, ped_hi = np.array([1.25, 3.75, 0.0]), np.array([1.75, 4.25, 1.8])
    mirror_y, pane_y = 9.0, 3.0
    # a damp road (roughness 0.9 · (1 − 0.85 · 0.6) = 0.44, rougher than a mirror for the labels: no second bounce)
    ground = Entity("ground", "road", _quad(40.0), [Material("g", (0.3, 0.3, 0.3), roughness=0.9, texture="asphalt")],
                    _static(1))
    ped = Entity("ped", "pedestrian", _box(0.5, 0.5, 1.8), [Material("skin", (0.6, 0.4, 0.3))],
                 _static(1, pose_from_xyz_yaw(1.5, 4.0, 0.0, 0.0)), instance_id=1)
    # a mirror facing the camera (normal −y) and an open single-sheet glass pane in front of the pedestrian
    mirror = Entity("mirror", "window", Mesh([(-3, mirror_y, 0), (3, mirror_y, 0), (3, mirror_y, 3), (-3, mirror_y, 3)],
                                             [(0, 1, 2, 3)]),
                    [Material("m", (0.9, 0.9, 0.9), roughness=0.0, metallic=1.0, reflective=True)], _static(1))
    pane = Entity("pane", "window", Mesh([(0.9, pane_y, 0.2), (2.1, pane_y, 0.2), (2.1, pane_y, 1.0), (0.9, pane_y, 1.0)],
                                         [(0, 1, 2, 3)]),
                  [Material("glass", transmission=1.0, roughness=0.0, ior=1.5)], _static(1))
    world = World("refl", 1, 10.0, [ground, ped, mirror, pane], [Camera("cam", hfov, _static(1, pose))],
                  lighting=Lighting(), weather=Weather(fog_density=0.02, wetness=0.6))
    (raw,) = _render(world, _settings(passes={"rgb", "reflection"}))
    assert raw.reflection is not None and raw.reflection.shape == (H, W, 3)
    direct, via_mirror, via_glass = (raw.reflection[..., k] for k in range(3))
    idx = raw.object_index.astype(int)
    # masks are binary and the direct one is exactly the pedestrian's object-index mask
    assert set(np.unique(raw.reflection)) <= {0.0, 1.0}
    assert np.array_equal(direct == 1, idx == 2)

    d = _rays(_K(hfov), pose).reshape(-1, 3)
    flat = idx.reshape(-1)
    # mirror: hit y = mirror_y, reflect y, test the pedestrian box
    s = (mirror_y - eye[1]) / d[:, 1]
    hit = eye + s[:, None] * d
    refl_dir = d * [1, -1, 1]
    expect_mirror = (flat == 3) & _ray_box_hit(hit, refl_dir, ped_lo, ped_hi)
    # glass: a parallel slab does not bend rays (it shifts them by < 2 mm here)
    expect_glass = (flat == 4) & _ray_box_hit(eye, d, ped_lo, ped_hi)
    got_mirror, got_glass = via_mirror.reshape(-1) == 1, via_glass.reshape(-1) == 1
    assert expect_mirror.sum() > 20 and expect_glass.sum() > 20
    assert np.sum(got_mirror[flat == 3] != expect_mirror[flat == 3]) <= 2
    assert np.sum(got_glass != expect_glass) <= 2
    # the index map names the pedestrian (label key 2) wherever it is seen via the mirror or through glass
    seen = (raw.reflection[..., 1] + raw.reflection[..., 2]) > 0
    assert set(np.unique(raw.reflection_index[seen])) == {2.0} and not raw.reflection_index[~seen].any()
    # fog and the damp sky-lit scene are only in the picture: labels see the ground at the analytic depth
    t = -eye[2] / _rays(_K(hfov), pose)[..., 2]
    np.testing.assert_allclose(raw.depth[idx == 1], t[idx == 1], rtol=1e-4)
    assert 5 < raw.rgb.mean() < 250


@pytest.mark.slow
def test_shop_window_reflects_one_pedestrian_and_shows_another(bpy_module):
    """Reflective shop-window glass: a person in front of it is labelled as a reflection, one behind as seen
    through it, each with its own label key; checked by mirroring and casting rays analytically."""
    hfov = math.radians(75.0)
    eye = np.array([0.0, 0.0, 1.5])
    pose = look_at(eye, (0.0, 8.0, 1.2))
    window_y = 6.0
    behind_lo, behind_hi = np.array([1.25, 7.75, 0.0]), np.array([1.75, 8.25, 1.8])
    front_lo, front_hi = np.array([-1.75, 2.75, 0.0]), np.array([-1.25, 3.25, 1.8])
    ground = Entity("ground", "road", _quad(40.0), [Material("g", (0.3, 0.3, 0.3))], _static(1))
    behind = Entity("behind", "pedestrian", _box(0.5, 0.5, 1.8), [Material("a", (0.6, 0.4, 0.3))],
                    _static(1, pose_from_xyz_yaw(1.5, 8.0, 0.0, 0.0)), instance_id=1)
    front = Entity("front", "pedestrian", _box(0.5, 0.5, 1.8), [Material("b", (0.2, 0.3, 0.6))],
                   _static(1, pose_from_xyz_yaw(-1.5, 3.0, 0.0, 0.0)), instance_id=2)
    window = Entity("window", "window",
                    Mesh([(-3, window_y, 0), (3, window_y, 0), (3, window_y, 3), (-3, window_y, 3)], [(0, 1, 2, 3)]),
                    [Material("shop glass", transmission=1.0, roughness=0.0, ior=1.5, reflective=True)], _static(1))
    world = World("shop", 1, 10.0, [ground, behind, front, window], [Camera("cam", hfov, _static(1, pose))],
                  lighting=Lighting())
    (raw,) = _render(world, _settings(passes={"rgb", "reflection"}))
    idx = raw.object_index.astype(int).reshape(-1)
    d = _rays(_K(hfov), pose).reshape(-1, 3)
    on_window = idx == 4
    hit = eye + ((window_y - eye[1]) / d[:, 1])[:, None] * d
    expect_mirror = on_window & _ray_box_hit(hit, d * [1, -1, 1], front_lo, front_hi)
    expect_glass = on_window & _ray_box_hit(eye, d, behind_lo, behind_hi)
    assert expect_mirror.sum() > 15 and expect_glass.sum() > 15
    direct, via_mirror, via_glass = (raw.reflection[..., k].reshape(-1) == 1 for k in range(3))
    assert np.array_equal(direct, (idx == 2) | (idx == 3))
    assert np.sum(via_mirror != expect_mirror) <= 3
    assert np.sum(via_glass != expect_glass) <= 3
    index = raw.reflection_index.reshape(-1)
    assert set(np.unique(index[via_mirror])) == {3.0}  # the person in front, mirrored
    assert set(np.unique(index[via_glass & ~via_mirror])) == {2.0}  # the person behind the pane
    assert not index[~(via_mirror | via_glass)].any()


def _fresnel(cos_i, n):
    """Unpolarised Fresnel reflectance of a smooth dielectric (relative index n) from the Fresnel equations."""
    sin_t = np.sqrt(np.clip(1 - cos_i**2, 0, 1)) / n
    cos_t = np.sqrt(1 - sin_t**2)
    rs = (cos_i - n * cos_t) / (cos_i + n * cos_t)
    rp = (n * cos_i - cos_t) / (n * cos_i + cos_t)
    return 0.5 * (rs**2 + rp**2)


@pytest.mark.slow
def test_reflection_strength_is_the_fresnel_reflectance_of_the_window(bpy_module):
    """A shop window along the street (IOR 1.5) seen at grazing angles: the reflected person arrives with the
    Fresnel reflectance F of each pixel's incidence angle, the person inside the shop with (1 − F)² (the two faces
    of a parallel slab)."""
    hfov, ior = math.radians(75.0), 1.5
    eye = np.array([0.0, 0.0, 1.5])
    pose = look_at(eye, (1.5, 10.0, 1.2))
    window_x = 3.0
    inside = Entity("inside", "pedestrian", _box(1.0, 1.0, 1.8), [Material("a")],
                    _static(1, pose_from_xyz_yaw(4.5, 16.0, 0.0, 0.0)), instance_id=1)
    street = Entity("street", "pedestrian", _box(1.0, 1.0, 1.8), [Material("b")],
                    _static(1, pose_from_xyz_yaw(1.5, 12.0, 0.0, 0.0)), instance_id=2)
    # the pane faces the street (normal −x)
    window = Entity("window", "window",
                    Mesh([(window_x, 4, 0), (window_x, 4, 3), (window_x, 30, 3), (window_x, 30, 0)], [(0, 1, 2, 3)]),
                    [Material("shop glass", transmission=1.0, roughness=0.0, ior=ior, reflective=True)], _static(1))
    world = World("shop", 1, 10.0, [inside, street, window], [Camera("cam", hfov, _static(1, pose))])
    (raw,) = _render(world, _settings(passes={"rgb", "reflection"}))
    assert raw.reflection_strength is not None and raw.reflection_strength.shape == (H, W, 2)
    d = _rays(_K(hfov), pose)
    cos_i = np.abs(d[..., 0]) / np.linalg.norm(d, axis=-1)
    F = _fresnel(cos_i, ior)
    via_mirror, via_glass = raw.reflection[..., 1] == 1, raw.reflection[..., 2] == 1
    assert via_mirror.sum() > 15 and via_glass.sum() > 15
    assert set(np.unique(raw.reflection_index[via_mirror])) == {2.0}
    np.testing.assert_allclose(raw.reflection_strength[..., 0][via_mirror], F[via_mirror], atol=1e-4)
    np.testing.assert_allclose(raw.reflection_strength[..., 1][via_glass], (1 - F[via_glass]) ** 2, atol=1e-4)
    assert not raw.reflection_strength[..., 0][~via_mirror].any()
    assert not raw.reflection_strength[..., 1][~via_glass].any()
    # grazing incidence: far stronger than the 4 % of a pane seen head-on, and varying across the reflection
    assert F[via_mirror].min() > 0.1 and F[via_mirror].max() - F[via_mirror].min() > 0.02


def test_night_is_lit_by_local_lights_only(bpy_module):
    from simgen.world.model import Light

    hfov = math.radians(70.0)
    pose = look_at((0.0, 0.0, 1.6), (0.0, 8.0, 0.2))
    ground = Entity("ground", "road", _quad(60.0), [Material("g", (0.5, 0.5, 0.5))], _static(1))
    lamp_pose = np.eye(4)
    lamp_pose[:3, 3] = (0.0, 5.0, 2.0)
    lamp = Light("lamp", "point", _static(1, lamp_pose), color=(1.0, 1.0, 1.0), power_w=300.0)
    lit = World("night", 1, 10.0, [ground], [Camera("cam", hfov, _static(1, pose))], lights=[lamp],
                lighting=Lighting(night=True))
    dark = World("night", 1, 10.0, [ground], [Camera("cam", hfov, _static(1, pose))],
                 lighting=Lighting(night=True))
    (a,) = _render(lit, _settings(denoiser="oidn"))
    (b,) = _render(dark, _settings())
    # the ground right under the lamp vs far away on the ground
    under = _cv_project([[0.0, 5.0, 0.0]], _K(hfov), pose)[0].round().astype(int)
    far = _cv_project([[0.0, 40.0, 0.0]], _K(hfov), pose)[0].round().astype(int)
    lum = a.rgb.astype(float).mean(-1)
    assert lum[under[1], under[0]] > 60 and lum[under[1], under[0]] > 4 * lum[far[1], far[0]]
    assert b.rgb.mean() < 20  # without the lamp the night is dark ...
    assert lum[under[1], under[0]] > 4 * b.rgb[under[1], under[0]].astype(float).mean()  # ... and the lamp lights it
    assert np.array_equal(a.object_index, b.object_index)  # lights never change labels


def test_open_glass_sheet_becomes_a_closed_slab(bpy_module):
    from simgen.render.meshes import GLASS_THICKNESS, is_closed as _is_closed, thicken_open_glass

    sheet = Mesh([(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)], [(0, 1, 2, 3)])  # normal −y
    verts, polys, fmat = thicken_open_glass(sheet, {0})
    assert len(polys) == 6 and len(fmat) == 6
    assert _is_closed(np.array([list(p) for p in polys]))
    np.testing.assert_allclose(verts[:4], sheet.vertices)  # the front stays where it was given
    np.testing.assert_allclose(verts[4:, 1], GLASS_THICKNESS)  # the back lies behind it
    # a closed glass box and a non-glass sheet are left alone
    box = _box(1, 1, 1)
    v2, p2, _ = thicken_open_glass(box, {0})
    assert len(p2) == 6 and len(v2) == 8
    v3, p3, _ = thicken_open_glass(sheet, set())
    assert len(p3) == 1


def test_labelled_puddles_replace_the_procedural_ones(bpy_module):
    """A world whose puddles are entities gets no procedural (unlabelled) puddle noise on its road."""
    import bpy

    from simgen.render.blender import build_scene
    from simgen.world.model import Weather

    def noise_nodes(puddle_entities):
        weather = Weather(wetness=0.8, puddle_coverage=0.4, puddle_entities=puddle_entities)
        world = World("p", 1, 10.0, [Entity("g", "road", _quad(5.0), [Material("g")], _static(1))],
                      [Camera("cam", math.radians(60.0), _static(1, look_at((0, -5, 2), (0, 0, 0))))],
                      weather=weather)
        build_scene(world, _settings())
        mat = bpy.data.objects["g"].data.materials[0]
        return sum(node.bl_idname == "ShaderNodeTexNoise" for node in mat.node_tree.nodes)

    assert noise_nodes(False) == 1
    assert noise_nodes(True) == 0


def test_car_paint_gets_its_clear_coat(bpy_module):
    import bpy

    from simgen.render.blender import build_scene

    paint = Material("paint", (0.05, 0.05, 0.3), roughness=0.35, metallic=0.6, reflective=True, coat=1.0)
    world = World("c", 1, 10.0, [Entity("car", "car", _box(4, 2, 1.4), [paint], _static(1), instance_id=1)],
                  [Camera("cam", math.radians(60.0), _static(1, look_at((0, -8, 2), (0, 0, 0.7))))])
    build_scene(world, _settings())
    bsdf = next(n for n in bpy.data.objects["car"].data.materials[0].node_tree.nodes
                if n.bl_idname == "ShaderNodeBsdfPrincipled")
    assert bsdf.inputs["Coat Weight"].default_value == pytest.approx(1.0)
    assert bsdf.inputs["Coat Roughness"].default_value == pytest.approx(0.03)
    assert bsdf.inputs["Roughness"].default_value == pytest.approx(0.35)


def test_settings_reach_cycles(bpy_module):
    from simgen.render.blender import build_scene

    world = World("s", 1, 10.0, [Entity("g", "road", _quad(5.0), [Material("g")], _static(1))],
                  [Camera("cam", math.radians(60.0), _static(1, look_at((0, -5, 2), (0, 0, 0))))])
    built = build_scene(world, _settings(samples=7, threads=1, seed=11, view_transform="agx", exposure=-0.5,
                                         light_paths={"max_bounces": 3, "clamp_indirect": 2.5,
                                                      "transparent_bounces": 5}))
    sc = built.scene
    assert (sc.cycles.samples, sc.cycles.seed, sc.render.threads) == (7, 11, 1)
    assert (sc.cycles.max_bounces, sc.cycles.transparent_max_bounces) == (3, 5)
    assert sc.cycles.sample_clamp_indirect == pytest.approx(2.5)
    assert sc.view_settings.view_transform == "AgX" and sc.view_settings.exposure == pytest.approx(-0.5)
    assert not sc.render.use_motion_blur and sc.cycles.device == "CPU"
    assert [o.pass_index for o in built.objects] == [1]
    # the camera's horizontal field of view is the world's
    cam = built.cameras[0].data
    assert cam.sensor_fit == "HORIZONTAL" and cam.angle_x == pytest.approx(math.radians(60.0), rel=1e-6)


# ---- image textures and alpha cut-outs ---------------------------------------------------------------------


def test_image_texture_and_alpha_cutout_in_beauty_and_labels(bpy_module, tmp_path):
    """A 2x1 m card in front of a wall; its texture is red on the left half and fully transparent on the right.

    Expected from the card's geometry and UVs alone: pixels whose centre ray hits the left half carry the card's
    label key and a red colour; on the right half the ray passes through to the wall (wall key, wall depth)."""
    tex = np.zeros((8, 16, 4), np.uint8)
    tex[:, :8] = (0, 0, 255, 255)  # BGRA: opaque red on u < 0.5
    path = tmp_path / "card.png"
    cv2.imwrite(str(path), tex)
    card = Mesh([(-1, 0, 0), (1, 0, 0), (1, 0, 1), (-1, 0, 1)], [(0, 1, 2, 3)],
                uv=[[(0, 0), (1, 0), (1, 1), (0, 1)]])
    wall = Mesh([(-6, 3, -2), (6, 3, -2), (6, 3, 4), (-6, 3, 4)], [(0, 1, 2, 3)])
    lit = dict(emission_color=(0.05, 0.4, 0.05), emission_strength=1.0)
    world = World("t", 1, 10.0, [
        Entity("card", "sign", card, [Material("card", (1, 1, 1), image=str(path), alpha_cutout=True,
                                               emission_strength=0.0)], _static(1), instance_id=1),
        Entity("wall", "building", wall, [Material("wall", (0.2, 0.6, 0.2), **lit)], _static(1)),
    ], [Camera("cam", math.radians(60.0), _static(1, look_at((0, -4, 0.5), (0, 0, 0.5))))],
        lighting=Lighting(sky_model="uniform", sun_strength=3.0))
    (raw,) = _render(world, _settings(samples=4, view_transform="standard"))
    pose = world.cameras[0].poses[0]
    K = _K(math.radians(60.0))
    d = _rays(K, pose)
    eye = pose[:3, 3]
    t = (0.0 - eye[1]) / d[..., 1]  # ray parameter where it crosses the card's plane y = 0
    hit = eye + t[..., None] * d
    on_card = (np.abs(hit[..., 0]) < 1) & (hit[..., 2] > 0) & (hit[..., 2] < 1)
    margin = (np.abs(np.abs(hit[..., 0]) - 1) > 0.05) & (np.abs(hit[..., 0]) > 0.05) & \
        (np.abs(hit[..., 2] - 0.5) < 0.45)
    left = on_card & (hit[..., 0] < 0) & margin
    right = on_card & (hit[..., 0] > 0) & margin
    assert left.sum() > 50 and right.sum() > 50
    keys = raw.object_index
    assert np.all(keys[left] == 1) and np.all(keys[right] == 2)
    z_card = t * 1.0  # camera looks along +y: planar depth = ray parameter (camera-z component of d is 1)
    np.testing.assert_allclose(raw.depth[left], z_card[left], rtol=1e-5)
    np.testing.assert_allclose(raw.depth[right], (3.0 - eye[1]) / d[..., 1][right], rtol=1e-5)
    rgb = raw.rgb.astype(float)
    assert np.all(rgb[left][:, 0] > rgb[left][:, 1] + 40)  # red card
    assert np.all(rgb[right][:, 1] > rgb[right][:, 0] + 40)  # green wall seen through the cut-out
