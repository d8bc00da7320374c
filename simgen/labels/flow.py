"""Optical flow, validity and occlusion from the renderer's 1-spp ``Vector`` pass.

Blender's Vector pass is in raster coordinates with x right and **y up**:
``Vector.XY = p(t−1) − p(t)`` and ``Vector.ZW = p(t) − p(t+1)``. The stored convention is a motion field in
pixels, u right, v down, row 0 on top (rows as read from the EXR, which are already top-down), so

* forward flow t→t+1 = ``(−Z, +W)``  (u: −(p(t) − p(t+1))_x; v: the y-up difference flips sign again),
* backward flow t→t−1 = ``(+X, −Y)``.

In memory, unknown flow is NaN and a boolean validity mask travels with it; on disk (.flo) unknown is 1e10.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from simgen.world.conventions import project


def flow_from_vector(vector: np.ndarray, valid: np.ndarray, direction: Literal["fwd", "bwd"]) -> tuple[np.ndarray, np.ndarray]:
    """Optical flow from the raw Vector pass.

    vector: (H, W, 4) float, Blender ``Vector`` pass (X, Y, Z, W), rows top-down, 1 spp.
    valid: (H, W) bool, pixels with a surface (background has Vector = 0, which is not a measurement).
    direction: ``"fwd"`` (t→t+1) or ``"bwd"`` (t→t−1).
    Returns (flow (H, W, 2) float32 pixels, (u right, v down): pixel p of frame t lands at p + flow in the
    neighbour frame; NaN where invalid, valid (H, W) bool).
    """
    vec = np.asarray(vector)
    if vec.ndim != 3 or vec.shape[2] != 4:
        raise ValueError(f"vector must be (H, W, 4), got {vec.shape}")
    if direction == "fwd":
        u, v = -vec[..., 2], vec[..., 3]
    elif direction == "bwd":
        u, v = vec[..., 0], -vec[..., 1]
    else:
        raise ValueError(f"direction must be 'fwd' or 'bwd', got {direction!r}")
    flow = np.stack([u, v], -1).astype(np.float32)
    ok = np.asarray(valid, bool) & np.all(np.isfinite(flow), -1)
    flow[~ok] = np.nan
    return flow, ok


def flow_through_lens(points_other: np.ndarray, lens, world_from_camera_other: np.ndarray,
                      surface: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flow of a distorting camera from geometry: each pixel's surface point at t±1 projected through the lens.

    points_other: (H, W, 3) float64 world positions at t±1 of the surface points seen at frame t's pixel
    centres (NaN = unknown); lens: :class:`~simgen.world.lens.Lens`; world_from_camera_other: (4, 4) pose at
    t±1; surface: (H, W) bool. Returns (flow (H, W, 2) float32 (u right, v down), NaN where invalid; valid
    (H, W) bool: a surface point whose projection is defined — in front of an opencv camera, any direction
    for a fisheye; landing outside the image or the lens's field is *out of view*, not invalid).
    """
    h, w = surface.shape
    pts = np.asarray(points_other, np.float64).reshape(-1, 3)
    uv, _, imaged = lens.project(pts, world_from_camera_other)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    flow = (uv - np.stack([u.ravel(), v.ravel()], -1)).reshape(h, w, 2)
    defined = np.all(np.isfinite(flow), -1)
    if lens.model != "fisheye":
        defined &= imaged.reshape(h, w)
    valid = np.asarray(surface, bool) & defined
    out = flow.astype(np.float32)
    out[~valid] = np.nan
    return out, valid


def _footprint_max(img: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Largest value of ``img`` (H, W) over the (up to) four pixel centres around each continuous position
    (u, v) (N,) — a position exactly on a pixel centre reads that pixel only. Positions must be inside the
    image's pixel area."""
    h, w = img.shape
    u0 = np.clip(np.floor(u), 0, w - 1).astype(np.intp)
    u1 = np.clip(np.ceil(u), 0, w - 1).astype(np.intp)
    v0 = np.clip(np.floor(v), 0, h - 1).astype(np.intp)
    v1 = np.clip(np.ceil(v), 0, h - 1).astype(np.intp)
    return np.maximum(np.maximum(img[v0, u0], img[v0, u1]), np.maximum(img[v1, u0], img[v1, u1]))


def _footprint_has(img: np.ndarray, u: np.ndarray, v: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Whether any of the (up to) four pixel centres around (u, v) holds ``value`` (all (N,))."""
    h, w = img.shape
    u0 = np.clip(np.floor(u), 0, w - 1).astype(np.intp)
    u1 = np.clip(np.ceil(u), 0, w - 1).astype(np.intp)
    v0 = np.clip(np.floor(v), 0, h - 1).astype(np.intp)
    v1 = np.clip(np.ceil(v), 0, h - 1).astype(np.intp)
    return (img[v0, u0] == value) | (img[v0, u1] == value) | (img[v1, u0] == value) | (img[v1, u1] == value)


def _inside(u: np.ndarray, v: np.ndarray, h: int, w: int) -> np.ndarray:
    return (u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5)


def occlusion_mask(
    points_next: np.ndarray,
    flow: np.ndarray,
    flow_valid: np.ndarray,
    neighbour_depth: np.ndarray,
    neighbour_K: np.ndarray,
    neighbour_world_from_camera: np.ndarray,
    keys: np.ndarray | None = None,
    neighbour_keys: np.ndarray | None = None,
    rel_tol: float = 1e-3,
    abs_tol: float = 1e-3,
    lens=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which pixels of frame t are hidden or out of view in the neighbour frame t±1.

    points_next: (H, W, 3) float world positions (metres) at time t±1 of the surface point seen at each pixel
        of frame t (rigid motion applied); NaN where unknown (deforming objects, background).
    flow: (H, W, 2) float flow t→t±1 (pixels); flow_valid: (H, W) bool.
    neighbour_depth: (H, W) float planar depth of frame t±1 (metres, inf = none).
    neighbour_K, neighbour_world_from_camera: OpenCV intrinsics (3, 3) and camera-to-world pose (4, 4) at t±1.
    keys, neighbour_keys: optional (H, W) int label keys of t and t±1, used for pixels whose 3D motion is unknown.

    A valid pixel is *out of view* when its point lands behind the neighbour camera or its target position
    leaves the image's pixel area [−0.5, W − 0.5) × [−0.5, H − 0.5). It is *occluded* when it lands inside the
    image but behind the neighbour's surface: its planar depth at t±1 exceeds the depth of **all** (up to four)
    neighbour-frame pixel centres around the target by more than ``rel_tol·z + abs_tol`` (lenient by up to one
    pixel at depth edges, and free of false alarms on slanted surfaces). Pixels without a 3D point but with keys
    are occluded when none of those pixels carries the same key.
    lens: optional :class:`~simgen.world.lens.Lens` of the neighbour frame (distorting cameras): points are
    projected through it, out of view also covers leaving the lens's field, and depths compare in its stored
    convention (planar, or range for fisheye) — ``neighbour_depth`` must be in that convention.
    Returns (occluded (H, W) bool, out_of_view (H, W) bool); both False where the flow is invalid.
    """
    h, w = flow_valid.shape
    occluded = np.zeros((h, w), bool)
    out_of_view = np.zeros((h, w), bool)
    nd = np.asarray(neighbour_depth, np.float32)

    pts = np.asarray(points_next)
    has3d = flow_valid & np.isfinite(pts[..., 0]) & np.isfinite(pts[..., 1]) & np.isfinite(pts[..., 2])
    idx = np.nonzero(has3d)
    if idx[0].size:
        if lens is None:
            uv, z = project(pts[idx], np.asarray(neighbour_K, float), np.asarray(neighbour_world_from_camera, float))
            ins = (z > 0) & _inside(uv[:, 0], uv[:, 1], h, w)
        else:
            uv, z, imaged = lens.project(pts[idx], np.asarray(neighbour_world_from_camera, float))
            ins = imaged & _inside(uv[:, 0], uv[:, 1], h, w)
        sel = np.flatnonzero(ins)
        surf = _footprint_max(nd, uv[sel, 0], uv[sel, 1]).astype(np.float64)
        zs = z[sel]
        behind = np.zeros(len(z), bool)
        behind[sel] = zs > surf + rel_tol * np.abs(zs) + abs_tol
        out_of_view[idx] = ~ins
        occluded[idx] = behind

    no3d = flow_valid & ~has3d
    idx = np.nonzero(no3d)
    if idx[0].size:
        u = idx[1] + flow[idx][:, 0].astype(np.float64)
        v = idx[0] + flow[idx][:, 1].astype(np.float64)
        ins = _inside(u, v, h, w)
        out_of_view[idx] = ~ins
        if keys is not None and neighbour_keys is not None:
            sel = np.flatnonzero(ins)
            hidden = np.zeros(len(u), bool)
            hidden[sel] = ~_footprint_has(np.asarray(neighbour_keys), u[sel], v[sel], np.asarray(keys)[idx][sel])
            occluded[idx] = hidden
    return occluded, out_of_view
