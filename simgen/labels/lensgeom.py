"""Object geometry through a distorting lens (``opencv``, ``fisheye``): amodal boxes and silhouettes.

Straight 3D edges project to curves, so nothing here projects corners alone: amodal boxes project the 3D box's
12 edges densely (the outline of a convex solid's image is made of its edges' images), silhouettes split each
triangle until its projected pieces are at most ``MAX_PIECE_PX`` long before rasterising them. The near clip
of these cameras is a sphere: Cycles' custom cameras clip along the ray (range ≥ clip_start).
"""

from __future__ import annotations

import numpy as np

from simgen.labels.geometry import BOX_CORNER_SIGNS, Box3D, rasterise_polygons, transform_points, invert_affine
from simgen.world.lens import Lens

#: samples per 3D box edge for amodal boxes
EDGE_SAMPLES = 256
#: longest projected edge of a silhouette piece (pixels); the curve between two samples deviates far less
MAX_PIECE_PX = 2.0


def _box_edges() -> np.ndarray:
    s = BOX_CORNER_SIGNS
    return np.array([(i, j) for i in range(8) for j in range(i + 1, 8) if np.abs(s[i] - s[j]).sum() == 2])


def _in_front(lens: Lens, pc: np.ndarray, near: float) -> np.ndarray:
    """Points beyond the near clip: Cycles' custom cameras clip along the ray (a sphere of radius ``near``)."""
    return np.linalg.norm(pc, axis=-1) >= near


def amodal_bbox_lens(box: Box3D, world_from_camera: np.ndarray, lens: Lens, near: float) -> list[float] | None:
    """[x0, y0, x1, y1] float pixel-edge box of the 3D box's edges projected densely through ``lens`` (points
    nearer than ``near`` or outside the lens's field dropped), clipped to the image; None when nothing
    projects into it."""
    c = box.corners()
    e = _box_edges()
    t = np.linspace(0.0, 1.0, EDGE_SAMPLES)[None, :, None]
    pts = (c[e[:, 0]][:, None] * (1 - t) + c[e[:, 1]][:, None] * t).reshape(-1, 3)
    pc = transform_points(invert_affine(world_from_camera), pts)
    uv, _, ok = lens.project_camera(pc)
    ok &= _in_front(lens, pc, near)
    if not ok.any():
        return None
    p = uv[ok] + 0.5
    x0, y0 = p.min(0)
    x1, y1 = p.max(0)
    x0, x1 = max(x0, 0.0), min(x1, float(lens.width))
    y0, y1 = max(y0, 0.0), min(y1, float(lens.height))
    if x0 >= x1 or y0 >= y1:
        return None
    return [float(x0), float(y0), float(x1), float(y1)]


def silhouette_lens(vertices_object: np.ndarray, triangles: np.ndarray, world_from_object: np.ndarray,
                    world_from_camera: np.ndarray, lens: Lens, near: float) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) bool silhouette of a mesh through ``lens`` (pixel centres covered, every other object ignored)
    and (N, 2) float64 projected sample points (for truncation). Each triangle is split into n² pieces, n from
    its projected size, so each piece spans at most ~MAX_PIECE_PX; pieces with a corner nearer than ``near``
    or outside the lens's field are dropped (the silhouette is exact up to ~1/7 px at edges, like the pinhole
    one, and loses pieces straddling the near plane or the field's rim)."""
    cam_from_object = invert_affine(world_from_camera) @ np.asarray(world_from_object, np.float64)
    vc = transform_points(cam_from_object, vertices_object)
    tri = vc[np.asarray(triangles, np.int64)]  # (T, 3, 3)
    uv, _, ok = lens.project_camera(tri.reshape(-1, 3))
    ok = (ok & _in_front(lens, tri.reshape(-1, 3), near)).reshape(-1, 3)
    uv = uv.reshape(-1, 3, 2)
    span = np.nan_to_num(np.max(np.linalg.norm(uv - uv[:, [1, 2, 0]], axis=-1), -1), nan=0.0)
    n_all = np.clip(np.ceil(span / MAX_PIECE_PX), 1, 64).astype(int)
    n_all[~ok.any(1)] = 0  # wholly behind / outside: drop
    pieces, samples = [], []
    for n in np.unique(n_all):
        if n == 0:
            continue
        sel = tri[n_all == n]
        # barycentric grid of an n-split triangle: up- and down-pointing pieces
        ij = [(i, j) for i in range(n) for j in range(n - i)]
        bary = []
        for i, j in ij:
            bary.append([(i, j), (i + 1, j), (i, j + 1)])
            if i + j < n - 1:
                bary.append([(i + 1, j), (i + 1, j + 1), (i, j + 1)])
        b = np.array(bary, np.float64) / n  # (P, 3, 2): (a, b) weights of vertices 1, 2
        w = np.concatenate([1 - b.sum(-1, keepdims=True), b], -1)  # (P, 3, 3)
        p3 = np.einsum("pkv,tvd->tpkd", w, sel).reshape(-1, 3)
        puv, _, pok = lens.project_camera(p3)
        pok = (pok & _in_front(lens, p3, near)).reshape(-1, 3).all(1)
        puv = puv.reshape(-1, 3, 2)[pok]
        pieces.append(puv)
        samples.append(puv.reshape(-1, 2))
    if not pieces:
        return np.zeros((lens.height, lens.width), bool), np.zeros((0, 2))
    tris2d = np.concatenate(pieces)
    return rasterise_polygons([], lens.height, lens.width, tris=tris2d), np.concatenate(samples)
