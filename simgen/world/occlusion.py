"""Visibility of one object behind others, by ray casting through pixel centres: the "hidden at the first frame,
visible by frame N" placement constraint (``placement.emerge_by_frame``).

A pixel shows the object when the camera ray through the pixel's centre meets the object before any occluder —
the same rule as the renderer's instance pass (one sample at the pixel centre, first surface hit). Rays are cast
with trimesh (Embree where installed) against the object's triangles and the occluders' triangles separately, and
the nearer hit wins. Pinhole cameras only (K, OpenCV world_from_camera); pixel centres at integer coordinates.

"Hidden" is checked conservatively: no ray through a pixel centre, nor through the four points a quarter pixel
from it diagonally, reaches the object (a triangle edge that the float32 ray caster and the renderer place
a hair differently cannot turn a hidden object into one visible pixel).
"""

from __future__ import annotations

import math

import numpy as np

#: pixels that make an object "visible" at the emerge frame (or half of its unoccluded in-image silhouette, when
#: that is smaller: a distant child in a small render)
EMERGE_MIN_PIXELS = 12
#: classes that never hide anything standing on them (flat ground) and are left out of the occluders
FLAT_CLASSES = ("road", "terrain", "ground", "lane_marking", "crosswalk", "puddle", "sidewalk", "curb")


def _tmesh(vertices: np.ndarray, faces: np.ndarray):
    import trimesh

    f = np.asarray(faces, np.int64)
    if f.shape[1] == 4:  # quads -> triangles
        f = np.concatenate([f[:, [0, 1, 2]], f[:, [0, 2, 3]]])
    return trimesh.Trimesh(np.asarray(vertices, float), f, process=False)


def posed(vertices: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(V, 3) object-frame vertices -> world at ``pose`` (4, 4)."""
    return vertices @ pose[:3, :3].T + pose[:3, 3]


class Occluders:
    """The triangles of every occluder at one frame, as one ray-castable mesh (built once, reused per candidate).

    parts: list of (world vertices (V, 3), faces (F, 3|4))."""

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray]]):
        self.mesh = None
        if parts:
            vs, fs, off = [], [], 0
            for v, f in parts:
                f = np.asarray(f, np.int64)
                if f.shape[1] == 4:
                    f = np.concatenate([f[:, [0, 1, 2]], f[:, [0, 2, 3]]])
                vs.append(np.asarray(v, float))
                fs.append(f + off)
                off += len(v)
            self.mesh = _tmesh(np.concatenate(vs), np.concatenate(fs))

    def distance(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """(N,) distance along each unit ray to the first occluder hit (inf where none)."""
        return _first_hit(self.mesh, origins, dirs)


def _first_hit(mesh, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    out = np.full(len(dirs), np.inf)
    if mesh is None or len(dirs) == 0:
        return out
    loc, idx, _ = mesh.ray.intersects_location(origins, dirs, multiple_hits=False)
    if len(idx):
        d = np.einsum("ij,ij->i", loc - origins[idx], dirs[idx])
        np.minimum.at(out, idx, d)
    return out


def pixel_rays(K: np.ndarray, world_from_camera: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rays through image points ``uv`` (N, 2) (OpenCV pixel-centre convention; K without skew):
    (origins (N, 3), unit directions (N, 3))."""
    uv = np.asarray(uv, float)
    d_cam = np.stack([(uv[:, 0] - K[0, 2]) / K[0, 0], (uv[:, 1] - K[1, 2]) / K[1, 1], np.ones(len(uv))], -1)
    d = d_cam @ world_from_camera[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.repeat(world_from_camera[:3, 3][None], len(d), 0), d


_TARGETS: dict[bytes, object] = {}


def _target_mesh(vertices: np.ndarray, faces: np.ndarray):
    """The ray-castable mesh of an object in its own frame, remembered by content (placement tries one shape at
    many poses: the acceleration structure is built once)."""
    import hashlib

    v = np.ascontiguousarray(vertices, np.float64)
    f = np.ascontiguousarray(faces, np.int64)
    key = hashlib.blake2b(v.tobytes() + f.tobytes(), digest_size=16).digest()
    if key not in _TARGETS:
        if len(_TARGETS) > 64:
            _TARGETS.clear()
        _TARGETS[key] = _tmesh(v, f)
    return _TARGETS[key]


def visible_pixels(K: np.ndarray, world_from_camera: np.ndarray, width: int, height: int, target_vertices: np.ndarray,
                   target_faces: np.ndarray, target_pose: np.ndarray, occluders: Occluders, near: float = 0.1,
                   offsets: tuple[tuple[float, float], ...] = ((0.0, 0.0),), any_pixel: bool = False) -> int:
    """Pixels whose centre ray (shifted by each of ``offsets`` in turn; a pixel counts when any shifted ray
    counts) meets the target (object-frame vertices (V, 3) and faces, at ``target_pose`` (4, 4)) before every
    occluder and beyond ``near`` m.
    ``any_pixel``: stop at the first offset that finds one (the count is then only a lower bound)."""
    target_world = posed(target_vertices, target_pose)
    cam = (target_world - world_from_camera[:3, 3]) @ world_from_camera[:3, :3]
    front = cam[:, 2] > near
    if not front.any():
        return 0
    if front.all():
        uv = cam[:, :2] / cam[:, 2:3] @ K[:2, :2].T + K[:2, 2]
        u0, v0 = np.floor(uv.min(0)).astype(int) - 1
        u1, v1 = np.ceil(uv.max(0)).astype(int) + 1
    else:  # partly behind the camera: test the whole image
        u0, v0, u1, v1 = 0, 0, width - 1, height - 1
    u0, v0 = max(u0, 0), max(v0, 0)
    u1, v1 = min(u1, width - 1), min(v1, height - 1)
    if u1 < u0 or v1 < v0:
        return 0
    uu, vv = np.meshgrid(np.arange(u0, u1 + 1), np.arange(v0, v1 + 1))
    px = np.stack([uu.ravel(), vv.ravel()], -1).astype(float)
    tgt = _target_mesh(target_vertices, target_faces)
    R, t = target_pose[:3, :3], target_pose[:3, 3]
    seen = np.zeros(len(px), bool)
    for du, dv in offsets:
        o, d = pixel_rays(K, world_from_camera, px + [du, dv])
        dt = _first_hit(tgt, (o - t) @ R, d @ R)  # rays in the object's frame (distances are kept)
        # depth along the optical axis beyond the near clip
        z = dt * (d @ world_from_camera[:3, 2])
        do = occluders.distance(o, d)
        seen |= np.isfinite(dt) & (dt < do) & (z > near)
        if any_pixel and seen.any():
            break
    return int(seen.sum())


HIDDEN_OFFSETS = ((0.0, 0.0), (-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25))


def emerge_failure(K, cams: np.ndarray, width: int, height: int, near: float, vertices_at, faces: np.ndarray,
                   poses: np.ndarray, occluders_at, frame: int) -> str | None:
    """None when the object is hidden at frame 0 and shows at least :data:`EMERGE_MIN_PIXELS` at ``frame``, else
    the constraint that failed. cams: (T, 4, 4) world_from_camera; vertices_at(f) -> (V, 3) object-frame
    vertices; poses (T, 4, 4); occluders_at(f) -> :class:`Occluders`."""
    if frame >= len(poses):
        return f"emerge_by_frame {frame} (the sequence has {len(poses)} frames)"
    n0 = visible_pixels(K, cams[0], width, height, vertices_at(0), faces, poses[0], occluders_at(0), near,
                        HIDDEN_OFFSETS, any_pixel=True)
    if n0 > 0:
        return "emerge_by_frame: hidden at frame 0"
    v = vertices_at(frame)
    n = visible_pixels(K, cams[frame], width, height, v, faces, poses[frame], occluders_at(frame), near)
    if n < EMERGE_MIN_PIXELS:  # small in the image: half of its unoccluded silhouette will do
        whole = visible_pixels(K, cams[frame], width, height, v, faces, poses[frame], Occluders([]), near)
        need = max(1, min(EMERGE_MIN_PIXELS, int(math.ceil(0.5 * whole))))
    else:
        need = EMERGE_MIN_PIXELS
    if n < need:
        return f"emerge_by_frame: visible at frame {frame}"
    return None


__all__ = ["Occluders", "visible_pixels", "emerge_failure", "pixel_rays", "EMERGE_MIN_PIXELS", "FLAT_CLASSES"]
