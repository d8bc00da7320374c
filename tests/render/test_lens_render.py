"""Distorting cameras (Brown–Conrady, 190° fisheye) on a moving street with a walking person, checked against
OpenCV's own projection (cv2.projectPoints / cv2.fisheye.projectPoints; beyond 90° the same equidistant formula
with θ = atan2(√(x²+y²), z)), Cycles' own Position pass and trimesh ray casting — never the label code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgen.world.conventions import look_at, pose_from_xyz_yaw
from simgen.world.lens import Lens, cv2_project
from simgen.world.model import Camera, Entity, Material, Mesh, World

pytestmark = pytest.mark.blender

W, H, T = 128, 96, 3
BC = Lens("opencv", W, H, [[70.0, 0, 64.8], [0, 69.0, 46.1], [0, 0, 1]], (-0.15, 0.03, 0.002, -0.001, 0.0))
FE = Lens("fisheye", W, H, [[38.0, 0, 63.2], [0, 38.0, 48.3], [0, 0, 1]], (0.02, -0.004, 0.001, -0.0001), 190.0)
#: a pinhole with a shifted principal point (Blender's perspective camera with shift_x / shift_y) and one with
#: non-square pixels (a custom camera, like the distorting ones)
PP = Lens("pinhole", W, H, [[80.0, 0, 60.5], [0, 80.0, 50.0], [0, 0, 1]])
AR = Lens("pinhole", W, H, [[75.0, 0, 64.0], [0, 90.0, 46.0], [0, 0, 1]])


def _box(sx, sy, sz):
    v = np.array([[x, y, z] for z in (0.0, sz) for y in (-sy / 2, sy / 2) for x in (-sx / 2, sx / 2)])
    return Mesh(v, [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]])


def _street():
    from simgen.world.assets import gait_phases, make_asset, person_pose_frames
    from simgen.world.people import entity_frames

    still = np.stack([np.eye(4)] * T)
    ground = Entity("ground", "road", Mesh([(-60, -60, 0), (60, -60, 0), (60, 60, 0), (-60, 60, 0)],
                                           [(0, 1, 2, 3)]), [Material("g", (0.4, 0.4, 0.4))], still)
    wall = Entity("wall", "building", _box(30, 0.5, 6), [Material("w", (0.6, 0.5, 0.4))],
                  np.stack([pose_from_xyz_yaw(8.0, 5.0, 0.0, 0.0)] * T))
    car = Entity("car", "car", _box(4.0, 1.8, 1.5), [Material("c", (0.7, 0.1, 0.1))],
                 np.stack([pose_from_xyz_yaw(6.0 - 0.9 * t, 1.2, 0.0, 0.1) for t in range(T)]), instance_id=1)
    mesh, mats = make_asset("pedestrian", "red", 1.0, np.random.default_rng(0), "walking")
    poses = np.stack([pose_from_xyz_yaw(3.5 + 0.15 * t, -1.0, 0.0, 0.3) for t in range(T)])
    if mesh.rig is not None:  # a body from the bank
        frames = entity_frames(mesh, poses, np.arange(T) / 10.0, "walking", 0.6)
    else:  # the block figure
        frames = person_pose_frames(mesh, gait_phases(poses, 10.0, 1.75, "walking", 0.6), "walking")
    ped = Entity("ped", "pedestrian", mesh, mats, poses, instance_id=2, vertex_frames=frames)
    cam_poses = np.stack([look_at((0.25 * t, 0.0, 1.4), (10.0 + 0.25 * t, 0.3, 1.0)) for t in range(T)])
    cams = [Camera("bc", math.radians(90), cam_poses, lens=BC), Camera("fe", math.radians(90), cam_poses, lens=FE),
            Camera("pp", math.radians(90), cam_poses, lens=PP), Camera("ar", math.radians(90), cam_poses, lens=AR),
            Camera("pin", math.radians(80), cam_poses)]  # the default pinhole, at the render config's size
    return World("lens_street", T, 10.0, [ground, wall, car, ped], cams)


@pytest.fixture(scope="module")
def street(bpy_module):
    from simgen.labels.frame import NeighbourView, compute_frame_labels
    from simgen.render.blender import render_world
    from simgen.render.settings import RenderSettings

    world = _street()
    raws = list(render_world(world, RenderSettings(width=64, height=48, samples=1, device="cpu")))
    by = {(r.camera, r.frame): r for r in raws}
    labels = {}
    for (c, f), r in by.items():
        nxt = NeighbourView.from_raw(by[c, f + 1]) if (c, f + 1) in by else None
        prv = NeighbourView.from_raw(by[c, f - 1]) if (c, f - 1) in by else None
        labels[c, f] = compute_frame_labels(r, world, nxt, prv)
    return world, by, labels


def _expected_points(world, raw, other):
    """Each pixel's surface point (Cycles' Position pass) moved to frame ``other``: rigid pose deltas, and for
    the walking person the triangle hit by the pixel's ray (trimesh) with its vertices at ``other``."""
    import trimesh

    from simgen.labels.geometry import triangulate

    t = raw.frame
    pos = raw.position.astype(np.float64).reshape(-1, 3)
    keys = raw.object_index.reshape(-1).astype(int)
    out = np.full_like(pos, np.nan)
    for k, ent in enumerate(world.entities, start=1):
        sel = keys == k
        if not sel.any():
            continue
        if not ent.deforming:
            d = ent.poses[other] @ np.linalg.inv(ent.poses[t])
            out[sel] = pos[sel] @ d[:3, :3].T + d[:3, 3]
            continue
        tris = triangulate(ent.mesh.faces)
        wv = [ent.vertices_at(f) @ ent.poses[f][:3, :3].T + ent.poses[f][:3, 3] for f in range(T)]
        tm = trimesh.Trimesh(wv[t], tris, process=False)
        c = raw.world_from_camera[:3, 3]
        dirs = pos[sel] - c
        tri, ray, loc = tm.ray.intersects_id(np.repeat(c[None], len(dirs), 0), dirs, multiple_hits=False,
                                             return_locations=True)
        bary = trimesh.triangles.points_to_barycentric(tm.triangles[tri], loc)
        idx = np.flatnonzero(sel)[ray]
        out[idx] = np.einsum("nk,nkj->nj", bary, wv[other][tris[tri]])
    return out.reshape(raw.height, raw.width, 3)


@pytest.mark.parametrize("cam", ["bc", "fe", "pp", "ar", "pin"])
def test_rays_are_opencv_rays(street, cam):
    """Cycles' hit points project back onto their own pixel centres through the stored K, D (cv2); every
    camera renders at its own size (the default pinhole at the render config's)."""
    world, raws, labels = street
    raw = raws[cam, 1]
    lens = labels[cam, 1].lens
    h, w = (48, 64) if cam == "pin" else (H, W)
    assert raw.rgb.shape == (h, w, 3) and raw.depth.shape == (h, w) and (lens.width, lens.height) == (w, h)
    hit = raw.depth < 1e9
    uv = cv2_project(lens, raw.position[hit].astype(np.float64), raw.world_from_camera)
    v, u = np.mgrid[0:h, 0:w]
    err = np.hypot(uv[:, 0] - u[hit], uv[:, 1] - v[hit])
    assert hit.sum() > 0.5 * w * h
    assert np.median(err) < 1e-3 and np.percentile(err, 99) < 1e-2, (np.median(err), np.percentile(err, 99))
    if cam == "fe":  # the 190° lens sees behind its image plane, and nothing outside its circle
        pc = (raw.position[hit].astype(np.float64) - raw.world_from_camera[:3, 3]) @ raw.world_from_camera[:3, :3]
        assert (pc[:, 2] < 0).sum() > 20
        assert raw.depth[0, 0] >= 1e9 and not labels[cam, 1].flow_fwd_valid[0, 0]


@pytest.mark.parametrize("cam", ["bc", "fe", "pp", "ar"])
@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_flow_is_reprojection_through_stored_K_D(street, cam, direction):
    world, raws, labels = street
    t = 1
    other = t + 1 if direction == "fwd" else t - 1
    lab, raw = labels[cam, t], raws[cam, t]
    moved = _expected_points(world, raw, other)
    ok = np.all(np.isfinite(moved), -1) & lab.__dict__[f"flow_{direction}_valid"]
    uv = cv2_project(lab.lens, moved[ok], world.cameras[0].poses[other])
    v, u = np.mgrid[0:H, 0:W]
    expected = uv - np.stack([u[ok], v[ok]], -1)
    flow = lab.__dict__[f"flow_{direction}"][ok].astype(np.float64)
    epe = np.linalg.norm(flow - expected, axis=-1)
    person = (raw.object_index == 4)[ok]
    assert ok.sum() > 0.5 * W * H and person.sum() > 40
    assert np.median(np.linalg.norm(expected, axis=-1)) > 0.5  # real motion
    print(f"flow {cam} {direction}: median {np.median(epe):.2e} p99 {np.percentile(epe, 99):.2e} px; person "
          f"median {np.median(epe[person]):.2e} p99 {np.percentile(epe[person], 99):.2e} ({person.sum()} px)")
    for sel in (np.ones_like(person), person):
        assert np.median(epe[sel]) <= 1e-3, (cam, direction, np.median(epe[sel]))
        assert np.percentile(epe[sel], 99) <= 1e-2, (cam, direction, np.percentile(epe[sel], 99))
    # flow only where there is a surface; nearly all of it carries flow (opencv: not where the point leaves
    # the half-space in front of the camera), the walking person's limbs all of it
    valid, surface = lab.__dict__[f"flow_{direction}_valid"], raw.depth < 1e9
    assert not np.any(valid & ~surface)
    assert valid.sum() > 0.9 * surface.sum() and np.all(valid[raw.object_index == 4])


@pytest.mark.parametrize("cam", ["bc", "fe", "ar"])
def test_depth_ids_and_boxes(street, cam):
    import cv2

    world, raws, labels = street
    for t in range(T):
        lab, raw = labels[cam, t], raws[cam, t]
        lens = lab.lens
        hit = np.isfinite(lab.depth)
        # ground pixels: the analytic ray/plane intersection along OpenCV's undistorted ray
        v, u = np.mgrid[0:H, 0:W].astype(np.float64)
        g = hit & (raw.object_index == 1)
        pix = np.stack([u[g], v[g]], -1).reshape(-1, 1, 2)
        if lens.model == "pinhole":
            d = np.concatenate([(pix[:, 0] - lens.K[:2, 2]) / np.diag(lens.K)[:2], np.ones((len(pix), 1))], 1)
        elif lens.model == "opencv":
            xy = cv2.undistortPointsIter(pix, lens.K, np.array(lens.D), None, None,
                                         (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)).reshape(-1, 2)
            d = np.concatenate([xy, np.ones((len(xy), 1))], 1)
        else:
            # the equidistant model inverted by bisection (cv2.fisheye.undistortPoints stalls near 90°)
            xd, yd = (pix[:, 0, 0] - lens.cx) / lens.fx, (pix[:, 0, 1] - lens.cy) / lens.fy
            td = np.hypot(xd, yd)
            lo_, hi_ = np.zeros_like(td), np.full_like(td, math.pi)
            k1, k2, k3, k4 = lens.D
            for _ in range(80):
                mid = (lo_ + hi_) / 2
                big = mid * (1 + k1 * mid**2 + k2 * mid**4 + k3 * mid**6 + k4 * mid**8) > td
                hi_, lo_ = np.where(big, mid, hi_), np.where(big, lo_, mid)
            th = (lo_ + hi_) / 2
            d = np.stack([np.sin(th) * xd / td, np.sin(th) * yd / td, np.cos(th)], -1)
        pose = raw.world_from_camera
        dw = d @ pose[:3, :3].T
        s = -pose[2, 3] / dw[:, 2]
        z = s if lens.model != "fisheye" else s * np.linalg.norm(d, axis=1)
        rel = np.abs(lab.depth[g] - z) / z
        print(f"depth {cam} t={t}: relative error median {np.median(rel):.1e} p99 {np.percentile(rel, 99):.1e}")
        assert g.sum() > 100 and np.percentile(rel, 99) < 1e-5, np.percentile(rel, 99)
        # normals of the ground: world +z in the camera frame
        np.testing.assert_allclose(lab.normal[g], np.broadcast_to(pose[:3, :3].T @ [0, 0, 1], (g.sum(), 3)),
                                   atol=1e-5)
        # ids exact; every id'd pixel's Position on its entity's geometry
        idx = raw.object_index
        assert np.all(idx == np.round(idx)) and set(np.unique(idx).astype(int)) <= {0, 1, 2, 3, 4}
        for k in (3, 4):
            ent = world.entities[k - 1]
            p = raw.position[idx == k].astype(np.float64)
            local = (p - ent.poses[t][:3, 3]) @ ent.poses[t][:3, :3]
            lo, hi = ent.vertices_at(t).min(0), ent.vertices_at(t).max(0)
            assert np.all(local >= lo - 2e-3) and np.all(local <= hi + 2e-3)
        for rec in lab.objects:
            mask = lab.instance == rec.instance_id
            if rec.visible_pixels == 0:
                continue
            x0, y0, x1, y1 = rec.bbox_visible
            rows, cols = np.nonzero(mask)
            assert (x0, y0, x1, y1) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
            a = rec.bbox_amodal
            # the amodal box holds every visible pixel centre (edge coordinates: centre of column c is c + 0.5)
            assert a[0] <= x0 + 0.5 and a[1] <= y0 + 0.5 and a[2] >= x1 - 0.5 and a[3] >= y1 - 0.5, (a, rec.bbox_visible)
            # the silhouette (through the lens) holds the visible mask
            assert rec.silhouette_pixels >= rec.visible_pixels * 0.97


def test_label_render_cost_fisheye_vs_pinhole(street):
    """Benchmark: a fisheye label render costs no more than twice a pinhole one at the same size."""
    from simgen.render.blender import render_world
    from simgen.render.settings import RenderSettings

    world = _street()
    poses = world.cameras[0].poses
    world.cameras = [Camera("pin", math.radians(110), poses), Camera("fe", math.radians(90), poses, lens=FE)]
    raws = list(render_world(world, RenderSettings(width=W, height=H, samples=1, device="cpu")))
    assert raws[0].lens.model == "pinhole" and raws[1].lens.model == "fisheye"
    pin = [r.timings["labels"] for r in raws if r.camera == "pin"][1:]
    fe = [r.timings["labels"] for r in raws if r.camera == "fe"][1:]
    ratio = np.median(fe) / np.median(pin)
    print(f"label render: pinhole {np.median(pin):.4f} s, fisheye {np.median(fe):.4f} s, ratio {ratio:.2f}")
    assert ratio <= 2.0, ratio


@pytest.mark.parametrize("cam", ["bc", "fe"])
def test_occlusion_through_the_lens(street, cam):
    """Occluded / out-of-view masks against the neighbour frame's own hits (Cycles' Position pass): a pixel is
    visible in t+1 when its moved point is no farther than the surfaces around where cv2 projects it."""
    world, raws, labels = street
    t = 1
    lab, nb = labels[cam, t], raws[cam, t + 1]
    moved = _expected_points(world, raws[cam, t], t + 1)
    valid = lab.flow_fwd_valid & np.all(np.isfinite(moved), -1)
    occ, oov = lab.occluded_fwd, lab.out_of_view_fwd
    pose = world.cameras[0].poses[t + 1]
    uv = cv2_project(lab.lens, moved[valid], pose)
    rng_moved = np.linalg.norm(moved[valid] - pose[:3, 3], axis=1)
    inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
    if lab.lens.model == "fisheye":
        pc = (moved[valid] - pose[:3, 3]) @ pose[:3, :3]
        inside &= np.degrees(np.arctan2(np.hypot(pc[:, 0], pc[:, 1]), pc[:, 2])) <= 95
    else:
        inside &= ((moved[valid] - pose[:3, 3]) @ pose[:3, 2]) > 0
    assert np.array_equal(oov[valid], ~inside)
    nb_rng = np.where(nb.depth < 1e9, np.linalg.norm(nb.position.astype(np.float64) - pose[:3, 3], axis=-1), 1e10)
    u, v = uv[inside, 0], uv[inside, 1]
    corners = [nb_rng[np.clip(np.floor(v) if a else np.ceil(v), 0, H - 1).astype(int),
                      np.clip(np.floor(u) if b else np.ceil(u), 0, W - 1).astype(int)]
               for a in (0, 1) for b in (0, 1)]
    far = np.max(corners, 0)
    near_ = np.min(corners, 0)
    r = rng_moved[inside]
    o = occ[valid][inside]
    assert o.sum() > 5 and (~o).sum() > 0.3 * W * H  # the approaching car and the person hide some background
    assert np.mean(r[~o] <= far[~o] * (1 + 2e-3) + 2e-3) > 0.99
    assert np.mean(r[o] > near_[o] * (1 + 1e-4)) > 0.99


def test_gpu_backends_without_osl_are_refused_clearly(bpy_module):
    from simgen.errors import DeviceError
    from simgen.render.device import DeviceChoice
    from simgen.render.lens import check_custom_camera_device

    world = _street()
    check_custom_camera_device(world, DeviceChoice("CPU"))
    check_custom_camera_device(world, DeviceChoice("OPTIX"))
    with pytest.raises(DeviceError, match=r"\['bc', 'fe', 'ar'\].*--device cpu or optix"):
        check_custom_camera_device(world, DeviceChoice("CUDA"))


@pytest.mark.slow
def test_reflection_masks_through_a_distorting_lens(bpy_module):
    """Mirror / glass reflection labels of a Brown–Conrady camera, against rays from cv2.undistortPointsIter
    mirrored analytically (the pinhole version of this check is in test_blender.py)."""
    import cv2

    from simgen.render.blender import render_world
    from simgen.render.settings import RenderSettings

    w, h = 128, 96
    lens = Lens("opencv", w, h, [[85.0, 0, 63.0], [0, 85.0, 48.0], [0, 0, 1]], (-0.12, 0.02, 0.001, 0.0, 0.0))
    eye = np.array([0.0, 0.0, 1.5])
    pose = look_at(eye, (0.8, 8.0, 1.0))
    ped_lo, ped_hi = np.array([1.25, 3.75, 0.0]), np.array([1.75, 4.25, 1.8])
    mirror_y, pane_y = 9.0, 3.0
    one = np.eye(4)[None]
    ground = Entity("ground", "road", Mesh([(-40, -40, 0), (40, -40, 0), (40, 40, 0), (-40, 40, 0)], [(0, 1, 2, 3)]),
                    [Material("g", (0.3, 0.3, 0.3))], one)
    ped = Entity("ped", "pedestrian", _box(0.5, 0.5, 1.8), [Material("skin", (0.6, 0.4, 0.3))],
                 pose_from_xyz_yaw(1.5, 4.0, 0.0, 0.0)[None], instance_id=1)
    mirror = Entity("mirror", "window", Mesh([(-3, mirror_y, 0), (3, mirror_y, 0), (3, mirror_y, 3), (-3, mirror_y, 3)],
                                             [(0, 1, 2, 3)]),
                    [Material("m", (0.9, 0.9, 0.9), roughness=0.0, metallic=1.0, reflective=True)], one)
    pane = Entity("pane", "window", Mesh([(0.9, pane_y, 0.2), (2.1, pane_y, 0.2), (2.1, pane_y, 1.0),
                                          (0.9, pane_y, 1.0)], [(0, 1, 2, 3)]),
                  [Material("glass", transmission=1.0, roughness=0.0, ior=1.5)], one)
    world = World("refl_lens", 1, 10.0, [ground, ped, mirror, pane], [Camera("cam", 1.0, pose[None], lens=lens)])
    (raw,) = list(render_world(world, RenderSettings(width=64, height=48, samples=1, device="cpu",
                                                     passes={"rgb", "reflection"})))
    direct, via_mirror, via_glass = (raw.reflection[..., k] for k in range(3))
    idx = raw.object_index.astype(int)
    assert np.array_equal(direct == 1, idx == 2)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    xy = cv2.undistortPointsIter(np.stack([u, v], -1).reshape(-1, 1, 2), lens.K, np.array(lens.D), None, None,
                                 (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)).reshape(-1, 2)
    d = np.concatenate([xy, np.ones((len(xy), 1))], 1) @ pose[:3, :3].T
    flat = idx.reshape(-1)

    def hits_box(o, dirs):
        with np.errstate(divide="ignore", invalid="ignore"):
            t0, t1 = (ped_lo - o) / dirs, (ped_hi - o) / dirs
        return np.nanmin(np.maximum(t0, t1), -1) >= np.maximum(np.nanmax(np.minimum(t0, t1), -1), 1e-6)

    s = (mirror_y - eye[1]) / d[:, 1]
    expect_mirror = (flat == 3) & hits_box(eye + s[:, None] * d, d * [1, -1, 1])
    expect_glass = (flat == 4) & hits_box(np.broadcast_to(eye, d.shape), d)
    got_mirror, got_glass = via_mirror.reshape(-1) == 1, via_glass.reshape(-1) == 1
    assert expect_mirror.sum() > 20 and expect_glass.sum() > 20
    assert np.sum(got_mirror[flat == 3] != expect_mirror[flat == 3]) <= 2
    assert np.sum(got_glass != expect_glass) <= 2
