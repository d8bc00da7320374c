"""Object records against independent geometry: tight 3D boxes, projection, 2D boxes, truncation, occlusion,
near-plane clipping."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from simgen.labels import compute_frame_labels
from simgen.labels.geometry import (
    BOX_CORNER_SIGNS,
    amodal_bbox,
    clip_polygon,
    invert_affine,
    project_camera_points,
    projected_polygons,
    rasterise_polygons,
    tight_box,
    triangulate,
)
from simgen.world.conventions import intrinsics_from_hfov, look_at, pose_from_xyz_yaw, project
from tests.labels.synth import box_mesh, entity, make_world, quad_mesh, render

H, W = 48, 64
K = intrinsics_from_hfov(np.deg2rad(70), W, H)


def _rot(axis, angle):
    return cv2.Rodrigues(np.asarray(axis, float) * angle / np.linalg.norm(axis))[0]


def test_tight_box_with_offset_rotation_and_scale():
    rng = np.random.default_rng(0)
    verts = rng.uniform([-1, -0.5, 0.0], [2, 0.7, 1.5], size=(200, 3))
    pose = np.eye(4)
    rot = _rot((0.3, -0.2, 1.0), 0.8)
    scale = np.array([1.5, 0.5, 2.0])
    pose[:3, :3] = rot * scale
    pose[:3, 3] = (4.0, -2.0, 0.3)
    box = tight_box(verts, pose)
    assert np.allclose(box.rotation, rot) and np.isclose(np.linalg.det(box.rotation), 1.0)
    assert np.allclose(box.size, (verts.max(0) - verts.min(0)) * scale)
    world = verts @ pose[:3, :3].T + pose[:3, 3]
    local = (world - box.center) @ box.rotation  # coordinates along the box axes
    assert np.all(np.abs(local) <= box.size / 2 + 1e-9)
    # tight: every face of the box touches the point set
    assert np.allclose(np.abs(local).max(0), box.size / 2)
    assert np.allclose(local.max(0), box.size / 2) and np.allclose(local.min(0), -box.size / 2)


def test_projection_agrees_with_cv2_project_points():
    pose = look_at((3.0, -7.0, 2.2), (0.5, 1.0, 0.4))
    Kx = K.copy()
    Kx[0, 0], Kx[1, 2] = 51.3, 20.25  # non-square pixels, shifted principal point
    rng = np.random.default_rng(1)
    pts = rng.uniform([-3, -3, 0], [3, 3, 2], size=(50, 3))
    cam_from_world = np.linalg.inv(pose)
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    for k in (K, Kx):
        uv_cv, _ = cv2.projectPoints(pts, rvec, cam_from_world[:3, 3], k, None)
        pc = pts @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
        assert np.allclose(project_camera_points(pc, k), uv_cv[:, 0], atol=1e-9)
    uv, z = project(pts, K, pose)
    uv_cv, _ = cv2.projectPoints(pts, rvec, cam_from_world[:3, 3], K, None)
    assert np.allclose(uv, uv_cv[:, 0], atol=1e-9) and np.all(z > 0)


def _scene(car_pose, cam_pose, extra=()):
    ents = [entity("g", "road", quad_mesh(60, 60), [np.eye(4)]),
            entity("car", "car", box_mesh((3.0, 1.6, 1.4), (0.2, 0, 0.7)), [car_pose], iid=3), *extra]
    return make_world(ents, [cam_pose])


def test_projected_box_bounds_mask_and_silhouette_matches_raycast():
    world = _scene(pose_from_xyz_yaw(0.5, 0.5, 0.0, 0.6), look_at((2, -9, 3.5), (0, 0, 0.5)))
    raw = render(world, 0, K, H, W)
    lab = compute_frame_labels(raw, world)
    (rec,) = lab.objects
    mask = lab.instance == 3
    ys, xs = np.nonzero(mask)
    assert rec.visible_pixels == mask.sum() > 100
    assert rec.bbox_visible == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    # the 8 box corners, projected independently, bound every mask pixel centre
    corners = rec.box3d.center + (BOX_CORNER_SIGNS * rec.box3d.size / 2) @ rec.box3d.rotation.T
    uv, z = project(corners, K, lab.world_from_camera)
    assert np.all(z > 0)
    assert xs.min() >= uv[:, 0].min() and xs.max() <= uv[:, 0].max()
    assert ys.min() >= uv[:, 1].min() and ys.max() <= uv[:, 1].max()
    x0, y0, x1, y1 = rec.bbox_amodal  # edge coordinates
    assert np.isclose(x0, max(uv[:, 0].min() + 0.5, 0)) and np.isclose(x1, min(uv[:, 0].max() + 0.5, W))
    assert np.isclose(y0, max(uv[:, 1].min() + 0.5, 0)) and np.isclose(y1, min(uv[:, 1].max() + 0.5, H))
    assert rec.truncation == 0.0
    # the car is unoccluded: its rasterised silhouette equals the ray-cast mask up to the outline
    sil = rasterise_polygons(projected_polygons(world.entities[1].mesh.vertices, triangulate(world.entities[1].mesh.faces),
                                                world.entities[1].poses[0], lab.world_from_camera, K, 0.1), H, W)
    assert rec.silhouette_pixels == sil.sum()
    # where they differ, the pixel centre lies within 0.2 px of a projected mesh edge (rasteriser precision)
    polys = projected_polygons(world.entities[1].mesh.vertices, triangulate(world.entities[1].mesh.faces),
                               world.entities[1].poses[0], lab.world_from_camera, K, 0.1)
    segs = np.concatenate([np.stack([p, np.roll(p, -1, 0)], 1) for p in polys])  # (S, 2, 2)
    for r, c in np.argwhere(sil ^ mask):
        a, b = segs[:, 0], segs[:, 1]
        t = np.clip(np.einsum("ij,ij->i", [c, r] - a, b - a) / np.einsum("ij,ij->i", b - a, b - a), 0, 1)
        dist = np.linalg.norm(a + t[:, None] * (b - a) - [c, r], axis=1).min()
        assert dist < 0.2, (r, c, dist)
    assert (sil ^ mask).sum() <= 0.05 * mask.sum()
    assert rec.occlusion is not None and rec.occlusion < 0.05, "an unoccluded car is (almost) not occluded"


def test_occlusion_share_matches_independent_render():
    """A van in front hides part of the car: occlusion ≈ 1 − visible / (pixels of the car rendered alone)."""
    cam = look_at((0, -10, 2.0), (0, 0, 0.7))
    van = entity("van", "van", box_mesh((1.2, 1.0, 2.0), (0, 0, 1.0)), [pose_from_xyz_yaw(-0.8, -4.0, 0, 0.0)], iid=8)
    world = _scene(pose_from_xyz_yaw(0, 0, 0, 0.1), cam, extra=[van])
    lab = compute_frame_labels(render(world, 0, K, H, W), world)
    car = next(o for o in lab.objects if o.instance_id == 3)
    alone = _scene(pose_from_xyz_yaw(0, 0, 0, 0.1), cam)
    full = render(alone, 0, K, H, W).object_index == 2
    expected = 1 - car.visible_pixels / full.sum()
    assert 0.15 < expected < 0.85, "the setup must really occlude part of the car"
    outline = full & ~cv2.erode(full.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    tol = 2 * outline.sum() / full.sum()
    assert abs(car.occlusion - expected) <= tol, (car.occlusion, expected, tol)
    assert car.truncation == 0.0


def test_truncation_of_fronto_parallel_square():
    """A square sign facing the camera, crossing the right image border: truncation = share of its projected
    width beyond the image's right edge (u = W − 0.5 in centre coordinates); 0 when fully inside."""
    Z, a = 5.0, 0.6
    cam = look_at((0, 0, 0), (0, 1, 0))  # looks along +y; camera x = world x, camera y = world −z
    face = np.eye(4)
    face[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]  # quad normal -> −y (towards the camera)
    for x_centre, inside in ((0.0, True), (3.6, False)):
        pose = face.copy()
        pose[:3, 3] = (x_centre, Z, 0.0)
        world = make_world([entity("s", "sign", quad_mesh(a, a), [pose], iid=1)], [cam])
        lab = compute_frame_labels(render(world, 0, K, H, W), world)
        (rec,) = lab.objects
        u_left = K[0, 0] * (x_centre - a) / Z + K[0, 2]
        u_right = K[0, 0] * (x_centre + a) / Z + K[0, 2]
        if inside:
            assert u_right < W - 0.5 and rec.truncation == 0.0
            assert rec.bbox_amodal == pytest.approx([u_left + 0.5, K[1, 1] * -a / Z + K[1, 2] + 0.5,
                                                     u_right + 0.5, K[1, 1] * a / Z + K[1, 2] + 0.5])
        else:
            expected = (u_right - (W - 0.5)) / (u_right - u_left)
            assert 0.1 < expected < 0.9
            assert rec.truncation == pytest.approx(expected, abs=1e-4)
            assert rec.bbox_amodal[2] == W and rec.bbox_visible[2] == W


def _brute_force_clipped_bbox(box, pose, near, n=120):
    """Bounding box of densely sampled box-surface points in front of the near plane, projected."""
    g = np.linspace(-0.5, 0.5, n)
    a, b = np.meshgrid(g, g)
    faces = []
    for axis in range(3):
        for s in (-0.5, 0.5):
            p = np.zeros((a.size, 3))
            p[:, axis] = s
            p[:, (axis + 1) % 3] = a.ravel()
            p[:, (axis + 2) % 3] = b.ravel()
            faces.append(p)
    local = np.concatenate(faces) * box.size
    world = box.center + local @ box.rotation.T
    inv = np.linalg.inv(pose)
    pc = world @ inv[:3, :3].T + inv[:3, 3]
    pc = pc[pc[:, 2] >= near]
    uv = project_camera_points(pc, K) + 0.5
    return np.array([max(uv[:, 0].min(), 0), max(uv[:, 1].min(), 0), min(uv[:, 0].max(), W), min(uv[:, 1].max(), H)])


def test_amodal_box_is_clipped_at_the_near_plane():
    """A long truck passing beside the camera, partly behind it: the amodal box is the projection of the part of
    the 3D box in front of the near plane (checked against dense surface samples), then clipped to the image."""
    cam = look_at((0, 0, 1.5), (0, 10, 1.5))
    near = 0.1
    truck_pose = pose_from_xyz_yaw(2.2, 2.0, 0.0, np.pi / 2)  # 12 m long along world y: from y = −4 to y = 8
    truck = entity("truck", "truck", box_mesh((12.0, 2.5, 3.0), (0, 0, 1.5)), [truck_pose], iid=2)
    world = make_world([truck], [cam], clip_start=near)
    lab = compute_frame_labels(render(world, 0, K, H, W), world)
    (rec,) = lab.objects
    corners_cam = (rec.box3d.center + (BOX_CORNER_SIGNS * rec.box3d.size / 2) @ rec.box3d.rotation.T)
    zc = (corners_cam - cam[:3, 3]) @ cam[:3, 2]
    assert (zc < 0).any() and (zc > near).any(), "the box must cross the camera plane"
    expected = _brute_force_clipped_bbox(rec.box3d, cam, near)
    assert np.allclose(rec.bbox_amodal, expected, atol=0.5), (rec.bbox_amodal, expected)
    # every visible pixel centre (edge coordinates c + 0.5) lies inside the amodal box
    x0, y0, x1, y1 = rec.bbox_visible
    ax0, ay0, ax1, ay1 = rec.bbox_amodal
    assert ax0 <= x0 + 0.5 and ax1 >= x1 - 0.5 and ay0 <= y0 + 0.5 and ay1 >= y1 - 0.5
    assert 0.0 < rec.truncation < 1.0
    assert rec.silhouette_pixels >= rec.visible_pixels > 0
    # naive projection of all eight corners (ignoring the ones behind) would give a different, wrong box
    uv, z = project(rec.box3d.corners(), K, cam)
    naive = [uv[:, 0].min() + 0.5, uv[:, 1].min() + 0.5, uv[:, 0].max() + 0.5, uv[:, 1].max() + 0.5]
    assert not np.allclose(np.clip(naive, 0, [W, H, W, H]), expected, atol=0.5)


def test_object_behind_camera_has_no_amodal_box():
    cam = look_at((0, 0, 1.5), (0, 10, 1.5))
    car = entity("car", "car", box_mesh((3, 1.6, 1.4), (0, 0, 0.7)), [pose_from_xyz_yaw(0, -6, 0, 0)], iid=1)
    world = make_world([car], [cam])
    lab = compute_frame_labels(render(world, 0, K, H, W), world)
    (rec,) = lab.objects
    assert rec.bbox_amodal is None and rec.bbox_visible is None and rec.visible_pixels == 0
    assert rec.truncation == 1.0 and rec.occlusion is None and rec.silhouette_pixels == 0


def test_clip_polygon_against_plane():
    tri = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    out = clip_polygon(tri, np.array([0.0, 0.0, 1.0]), 0.0)
    assert len(out) == 4 and np.all(out[:, 2] >= -1e-12)
    assert any(np.allclose(p, [0.5, 0.0, 0.0]) for p in out) and any(np.allclose(p, [0.0, 0.5, 0.0]) for p in out)
    assert len(clip_polygon(tri, np.array([0.0, 0.0, 1.0]), 2.0)) == 0


def test_amodal_bbox_none_when_outside_image():
    box = tight_box(box_mesh((1, 1, 1)).vertices, pose_from_xyz_yaw(0, 10, 0, 0))
    cam = look_at((0, 0, 0), (0, -10, 0))  # looking away
    assert amodal_bbox(box, cam, K, 0.1, H, W) is None


def test_invert_affine_matches_numpy():
    m = np.eye(4)
    m[:3, :3] = _rot((1.0, 2.0, -0.5), 1.1) * [2.0, 0.5, 1.5]
    m[:3, 3] = (3.0, -1.0, 7.0)
    assert np.allclose(invert_affine(m), np.linalg.inv(m), atol=1e-12)
    assert np.allclose(invert_affine(m) @ m, np.eye(4), atol=1e-12)


def test_locate_on_mesh_recovers_triangle_and_barycentrics():
    from simgen.labels.geometry import locate_on_mesh

    rng = np.random.default_rng(1)
    verts = rng.normal(size=(60, 3))
    tris = rng.integers(0, 60, size=(80, 3))
    tris = tris[(tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])]
    k = rng.integers(0, len(tris), 300)
    b = rng.dirichlet([1, 1, 1], 300)
    pts = np.einsum("nk,nkj->nj", b, verts[tris[k]])
    ids, bary = locate_on_mesh(verts, tris, pts)
    back = np.einsum("nk,nkj->nj", bary, verts[tris[ids]])
    np.testing.assert_allclose(back, pts, atol=1e-9)
    assert np.mean(ids == k) > 0.95  # random triangles intersect; a point on two triangles may take either
