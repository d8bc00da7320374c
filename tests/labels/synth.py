"""A tiny, independent numpy ray caster that plays the renderer for label tests.

It produces the raw passes exactly as the renderer contract describes them (simgen.labels.raw): planar depth
with 1e10 for no surface, float object index, world positions, world normals, and the Vector pass in
*Blender raster coordinates* (x right, y up, origin at the bottom-left image corner, pixel centres at +0.5):
XY = p(t−1) − p(t), ZW = p(t) − p(t+1). Nothing here uses simgen.labels.
"""

from __future__ import annotations

import numpy as np

from simgen.labels.raw import RawFrame
from simgen.world.model import Camera, Entity, Material, Mesh, World


def box_mesh(size=(1.0, 1.0, 1.0), center=(0.0, 0.0, 0.0)) -> Mesh:
    sx, sy, sz = np.asarray(size, float) / 2
    c = np.asarray(center, float)
    v = np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]) + c
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    return Mesh(v, np.array(quads))


def quad_mesh(half_u: float, half_v: float) -> Mesh:
    """A rectangle in the object's xy plane (normal +z)."""
    v = np.array([[-half_u, -half_v, 0], [half_u, -half_v, 0], [half_u, half_v, 0], [-half_u, half_v, 0]], float)
    return Mesh(v, np.array([[0, 1, 2, 3]]))


def entity(name, cls, mesh, poses, iid=0, deforming=False) -> Entity:
    return Entity(name=name, class_name=cls, mesh=mesh, materials=[Material("m")], poses=np.asarray(poses),
                  instance_id=iid, deforming=deforming)


def _triangles(mesh: Mesh) -> np.ndarray:
    f = mesh.faces
    if f.shape[1] == 4:
        f = np.concatenate([f[:, [0, 1, 2]], f[:, [0, 2, 3]]])
    return f


def pixel_rays(K: np.ndarray, h: int, w: int) -> np.ndarray:
    """(H, W, 3) camera-frame ray directions with z = 1 through every pixel centre (centre of (0, 0) at (0, 0))."""
    v, u = np.mgrid[0:h, 0:w].astype(float)
    return np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)


def raycast(world: World, frame: int, K: np.ndarray, pose: np.ndarray, h: int, w: int):
    """Nearest hit per pixel: (depth (H, W) planar, key (H, W) int, normal (H, W, 3) world, point (H, W, 3) world,
    entity-local point (H, W, 3))."""
    d_cam = pixel_rays(K, h, w).reshape(-1, 3)
    d = d_cam @ pose[:3, :3].T
    o = pose[:3, 3]
    best = np.full(len(d), np.inf)
    key = np.zeros(len(d), np.int64)
    normal = np.zeros((len(d), 3))
    for ei, ent in enumerate(world.entities):
        m = ent.poses[frame]
        vw = ent.mesh.vertices @ m[:3, :3].T + m[:3, 3]
        for tri in _triangles(ent.mesh):
            a, b, c = vw[tri]
            e1, e2 = b - a, c - a
            p = np.cross(d, e2)
            det = p @ e1
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = 1.0 / det
                s = o - a
                uu = (p @ s) * inv
                q = np.cross(s, e1)
                vv = (d @ q) * inv
                tt = (q @ e2) * inv
            hit = (np.abs(det) > 1e-12) & (uu >= 0) & (vv >= 0) & (uu + vv <= 1) & (tt > 1e-9) & (tt < best)
            best[hit] = tt[hit]
            key[hit] = ei + 1
            n = np.cross(e1, e2)
            normal[hit] = n / np.linalg.norm(n)
    depth = best.reshape(h, w)  # ray has camera z = 1, so the ray parameter is the planar depth
    point = o + d * best[:, None]
    return depth, key.reshape(h, w), normal.reshape(h, w, 3), point.reshape(h, w, 3)


def blender_raster(uv: np.ndarray, h: int) -> np.ndarray:
    """OpenCV pixel coordinates (centre of top-left pixel at (0, 0), y down) -> Blender raster (y up, origin at
    the bottom-left corner of the image)."""
    return np.stack([uv[..., 0] + 0.5, h - (uv[..., 1] + 0.5)], -1)


def _project(points, K, pose):
    inv = np.linalg.inv(pose)
    pc = points @ inv[:3, :3].T + inv[:3, 3]
    return np.stack([K[0, 0] * pc[..., 0] / pc[..., 2] + K[0, 2], K[1, 1] * pc[..., 1] / pc[..., 2] + K[1, 2]], -1)


def render(world: World, frame: int, K: np.ndarray, h: int, w: int, camera: str | None = None) -> RawFrame:
    """The raw passes of ``frame`` for the world's first camera (or ``camera``)."""
    cam = next(c for c in world.cameras if camera is None or c.name == camera)
    pose = cam.poses[frame]
    depth, key, normal, point = raycast(world, frame, K, pose, h, w)
    hit = np.isfinite(depth)
    vector = np.zeros((h, w, 4))
    here = blender_raster(np.stack(np.mgrid[0:h, 0:w][::-1], -1).astype(float), h)
    for k in np.unique(key[hit]):
        ent = world.entities[k - 1]
        sel = key == k
        local = point[sel] @ np.linalg.inv(ent.poses[frame])[:3, :3].T + np.linalg.inv(ent.poses[frame])[:3, 3]
        for other, cols, sign in ((frame - 1, slice(0, 2), 1.0), (frame + 1, slice(2, 4), -1.0)):
            if not 0 <= other < world.frame_count:
                continue  # Blender extrapolates; labels must not use these values, leave zeros
            m = ent.poses[other]
            pw = local @ m[:3, :3].T + m[:3, 3]
            there = blender_raster(_project(pw, K, cam.poses[other]), h)
            # XY = p(t-1) - p(t); ZW = p(t) - p(t+1)
            vector[sel, cols] = (there - here[sel]) if sign > 0 else (here[sel] - there)
    return RawFrame(
        frame=frame, camera=cam.name, rgb=np.zeros((h, w, 3), np.uint8),
        depth=np.where(hit, depth, 1e10).astype(np.float32),
        object_index=key.astype(np.float32),
        position=np.where(hit[..., None], point, 0).astype(np.float32),
        vector=vector.astype(np.float32), normal=normal.astype(np.float32),
        K=K.copy(), world_from_camera=pose.copy(),
    )


def make_world(entities, cam_poses, hfov=np.deg2rad(70), frame_count=None, clip_start=0.1, name="synth", cameras=None):
    cam_poses = np.asarray(cam_poses)
    n = len(cam_poses) if frame_count is None else frame_count
    cams = cameras or [Camera("cam", hfov, cam_poses, clip_start=clip_start)]
    return World(name=name, frame_count=n, fps=10.0, entities=entities, cameras=cams)
