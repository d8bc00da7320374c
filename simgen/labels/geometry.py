"""Geometry helpers for object labels: tight 3D boxes, near-plane clipping, projection, silhouettes.

Pixel coordinates follow the stored convention: the centre of pixel (col 0, row 0) is (0, 0); pixel (c, r)
covers [c − 0.5, c + 0.5) × [r − 0.5, r + 0.5). Camera coordinates are OpenCV (x right, y down, z forward).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: sub-pixel bits used when rasterising with OpenCV (coordinates are fixed point with this many fraction bits)
RASTER_SHIFT = 8
#: fine-canvas factor for silhouettes (odd): coverage is exact except within ~1/SUPERSAMPLE px of an edge
SUPERSAMPLE = 7
#: signs of the 8 box corners (x varies slowest), in units of half the box size
BOX_CORNER_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], np.float64)
#: the 12 triangles of a box over BOX_CORNER_SIGNS's corner order (outward orientation is not needed)
BOX_TRIANGLES = np.array(
    [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
     [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]], np.int64)


@dataclass(frozen=True)
class Box3D:
    """An oriented box. center: (3,) world metres; size: (3,) extents along the box axes (metres);
    rotation: (3, 3) world-from-box rotation (columns = box axes in world coordinates, det = +1)."""

    center: np.ndarray
    size: np.ndarray
    rotation: np.ndarray

    def corners(self) -> np.ndarray:
        """(8, 3) float64 world coordinates of the corners, in BOX_CORNER_SIGNS order."""
        return self.center + (BOX_CORNER_SIGNS * 0.5 * self.size) @ self.rotation.T

    def to_json(self) -> dict:
        return {"center": self.center.tolist(), "size": self.size.tolist(), "rotation": self.rotation.tolist()}


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (4, 4) affine transform to (..., 3) points; returns float64 of the same shape."""
    m = np.asarray(matrix, np.float64)
    return np.asarray(points, np.float64) @ m[:3, :3].T + m[:3, 3]


def tight_box(vertices_object: np.ndarray, world_from_object: np.ndarray) -> Box3D:
    """Tight oriented box around a mesh, aligned with the object's own axes.

    vertices_object: (V, 3) float, mesh vertices in the object frame (metres).
    world_from_object: (4, 4) pose at this frame; may carry a per-axis scale (no shear), which is folded into
    ``size`` so that ``rotation`` stays a proper rotation.
    """
    m = np.asarray(world_from_object, np.float64)
    lin = m[:3, :3]
    scale = np.linalg.norm(lin, axis=0)
    if np.any(scale < 1e-12):
        raise ValueError("world_from_object has a zero scale")
    rot = lin / scale
    if np.linalg.det(rot) < 0:  # mirrored object: flip one axis (and its coordinates) to keep a rotation
        rot[:, 2] *= -1.0
        scale = scale * np.array([1.0, 1.0, -1.0])
    local = np.asarray(vertices_object, np.float64) * scale  # coordinates along the box axes
    lo, hi = local.min(0), local.max(0)
    center = m[:3, 3] + rot @ ((lo + hi) / 2.0)
    return Box3D(center=center, size=hi - lo, rotation=rot)


def triangulate(faces: np.ndarray) -> np.ndarray:
    """(F, 3) or (F, 4) int faces -> (T, 3) int64 triangles (quads split along their 0–2 diagonal)."""
    f = np.asarray(faces, np.int64)
    if f.shape[1] == 3:
        return f
    return np.concatenate([f[:, [0, 1, 2]], f[:, [0, 2, 3]]])


def clip_polygon(poly: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    """Clip a convex polygon (N, D) to the half-space ``normal · x >= offset`` (Sutherland–Hodgman).

    Returns (M, D) float64, possibly empty (M = 0).
    """
    out = []
    n = len(poly)
    d = poly @ normal - offset
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        da, db = d[i], d[(i + 1) % n]
        if da >= 0:
            out.append(a)
        if (da >= 0) != (db >= 0):
            t = da / (da - db)
            out.append(a + t * (b - a))
    return np.array(out, np.float64).reshape(-1, poly.shape[1])


def clip_triangles_near(tri_cam: np.ndarray, near: float) -> list[np.ndarray]:
    """Clip camera-frame triangles (T, 3, 3) (OpenCV, metres) to z >= near.

    Returns a list of convex polygons, each (k, 3) with k in {3, 4}; triangles entirely in front are kept
    unchanged, triangles entirely behind are dropped.
    """
    z = tri_cam[..., 2]
    front = np.all(z >= near, 1)
    polys = list(tri_cam[front])
    normal = np.array([0.0, 0.0, 1.0])
    for tri in tri_cam[~front & np.any(z >= near, 1)]:
        p = clip_polygon(tri, normal, near)
        if len(p) >= 3:
            polys.append(p)
    return polys


def project_camera_points(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(N, 3) OpenCV camera points (z > 0) -> (N, 2) float64 pixel coordinates (pixel-centre convention).

    Uses fx, fy, cx, cy of K (zero skew, like ``cv2.projectPoints`` and :func:`simgen.world.conventions.project`).
    """
    p = np.asarray(points_cam, np.float64)
    x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
    return np.stack([K[0, 0] * x + K[0, 2], K[1, 1] * y + K[1, 2]], 1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (4, 4) affine transform (rotation/scale/translation), float64, without LAPACK."""
    m = np.asarray(matrix, np.float64)
    c0, c1, c2 = m[:3, 0], m[:3, 1], m[:3, 2]
    rows = np.stack([np.cross(c1, c2), np.cross(c2, c0), np.cross(c0, c1)])
    det = float(c0 @ rows[0])
    if abs(det) < 1e-300:
        raise ValueError("singular transform")
    out = np.eye(4)
    out[:3, :3] = rows / det
    out[:3, 3] = -out[:3, :3] @ m[:3, 3]
    return out


def project_mesh(
    vertices_object: np.ndarray, triangles: np.ndarray, world_from_object: np.ndarray,
    world_from_camera: np.ndarray, K: np.ndarray, near: float,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Project a mesh's triangles to the image after clipping them against the near plane z = near.

    Returns (tris (T, 3, 2) float64: triangles entirely in front of the near plane, in pixel-centre coordinates;
    clipped (list of (k, 2) float64 polygons): the parts in front of the near plane of triangles that cross it).
    Nothing is clipped to the image.
    """
    cam_from_object = invert_affine(world_from_camera) @ np.asarray(world_from_object, np.float64)
    vc = transform_points(cam_from_object, vertices_object)
    tri_cam = vc[np.asarray(triangles, np.int64)]
    z = tri_cam[..., 2]
    front = np.all(z >= near, 1)
    t = tri_cam[front]
    tris = np.stack([K[0, 0] * t[..., 0] / t[..., 2] + K[0, 2], K[1, 1] * t[..., 1] / t[..., 2] + K[1, 2]], -1)
    normal = np.array([0.0, 0.0, 1.0])
    clipped = []
    for tri in tri_cam[~front & np.any(z >= near, 1)]:
        p = clip_polygon(tri, normal, near)
        if len(p) >= 3:
            clipped.append(project_camera_points(p, K))
    return tris.reshape(-1, 3, 2), clipped


def projected_polygons(
    vertices_object: np.ndarray, triangles: np.ndarray, world_from_object: np.ndarray,
    world_from_camera: np.ndarray, K: np.ndarray, near: float,
) -> list[np.ndarray]:
    """Image-plane polygons of a mesh's triangles after clipping against the near plane z = near.

    Returns a list of (k, 2) float64 pixel-coordinate polygons (pixel-centre convention, not clipped to the image).
    """
    tris, clipped = project_mesh(vertices_object, triangles, world_from_object, world_from_camera, K, near)
    return list(tris) + clipped


def _clip_to_rect(poly: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    for normal, offset in (((1.0, 0.0), x0), ((-1.0, 0.0), -x1), ((0.0, 1.0), y0), ((0.0, -1.0), -y1)):
        if len(poly) == 0:
            break
        poly = clip_polygon(poly, np.array(normal), offset)
    return poly


def rasterise_polygons(polys: list[np.ndarray], height: int, width: int, supersample: int = SUPERSAMPLE,
                       tris: np.ndarray | None = None) -> np.ndarray:
    """Union of convex image polygons as an (H, W) bool mask of the pixels whose centres they cover.

    polys: list of (k, 2) convex polygons; tris: optional (T, 3, 2) triangles (the fast path for many); both in
    pixel-centre coordinates. They are drawn with ``cv2.fillConvexPoly`` (fixed point with RASTER_SHIFT
    fraction bits) on a canvas ``supersample`` times finer (odd factor, limited to the polygons' bounding box), and
    the fine canvas is read at the fine pixels whose centres coincide with the image's pixel centres. OpenCV
    rounds vertices to the fine grid and fills boundary pixels, so the mask equals exact pixel-centre coverage
    except for centres within about 1/supersample pixel of an edge. Polygons reaching beyond a guard band one
    pixel around the image are first clipped to it (exactly), keeping coordinates small.
    """
    if supersample < 1 or supersample % 2 == 0:
        raise ValueError("supersample must be an odd positive integer")
    lo, hi_x, hi_y = -1.0, width + 0.0, height + 0.0
    kept: list[np.ndarray] = []
    groups = [np.asarray(tris, np.float64).reshape(-1, 3, 2)] if tris is not None else []
    for p in polys:
        if len(p) >= 3:
            groups.append(np.asarray(p, np.float64)[None])
    bulk = []
    for g in groups:
        mn, mx = g.min(1), g.max(1)
        visible = (mx[:, 0] >= lo) & (mn[:, 0] <= hi_x) & (mx[:, 1] >= lo) & (mn[:, 1] <= hi_y)
        inside = (mn[:, 0] >= lo) & (mx[:, 0] <= hi_x) & (mn[:, 1] >= lo) & (mx[:, 1] <= hi_y)
        if inside.any():
            bulk.append(g[inside])
        for p in g[visible & ~inside]:
            p = _clip_to_rect(p, lo, lo, hi_x, hi_y)
            if len(p) >= 3:
                kept.append(p)
    mask = np.zeros((height, width), bool)
    if not kept and not bulk:
        return mask
    pts = np.concatenate([b.reshape(-1, 2) for b in bulk] + kept)
    x0 = int(np.clip(np.floor(pts[:, 0].min()), 0, width - 1))
    y0 = int(np.clip(np.floor(pts[:, 1].min()), 0, height - 1))
    x1 = int(np.clip(np.ceil(pts[:, 0].max()), 0, width - 1))
    y1 = int(np.clip(np.ceil(pts[:, 1].max()), 0, height - 1))
    s = supersample
    half = (s - 1) // 2
    canvas = np.zeros(((y1 - y0 + 1) * s, (x1 - x0 + 1) * s), np.uint8)
    scale = float(1 << RASTER_SHIFT)
    offset = np.array([x0, y0], np.float64)

    def fine(p: np.ndarray) -> np.ndarray:  # image pixel centre c -> fine pixel centre s·(c − x0) + half
        return np.rint(((p - offset) * s + half) * scale).astype(np.int32)

    for group in bulk:
        for tri in fine(group):
            cv2.fillConvexPoly(canvas, tri, 1, lineType=cv2.LINE_8, shift=RASTER_SHIFT)
    for p in kept:
        cv2.fillConvexPoly(canvas, fine(p), 1, lineType=cv2.LINE_8, shift=RASTER_SHIFT)
    mask[y0 : y1 + 1, x0 : x1 + 1] = canvas[half::s, half::s].astype(bool)
    return mask


def hull_truncation(points: np.ndarray | list[np.ndarray], height: int, width: int) -> float:
    """Share (0..1) of an object's unclipped image-plane extent that lies outside the image.

    points: (N, 2) projected (near-clipped) vertices in pixel-centre coordinates, or a list of polygons. The
    extent is their convex hull (not clipped to the image); the image is the rectangle
    [−0.5, W − 0.5] × [−0.5, H − 0.5]. 0.0 when the hull is inside the image, 1.0 when nothing projects.
    """
    if isinstance(points, list):
        if not points:
            return 1.0
        points = np.concatenate(points)
    pts64 = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts64) == 0:
        return 1.0
    if (pts64[:, 0].min() >= -0.5 and pts64[:, 0].max() <= width - 0.5
            and pts64[:, 1].min() >= -0.5 and pts64[:, 1].max() <= height - 0.5):
        return 0.0
    pts = pts64.astype(np.float32)
    hull = cv2.convexHull(pts)
    area = float(cv2.contourArea(hull))
    rect = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]], np.float32)
    if area <= 1e-9:
        return 1.0  # a degenerate extent that is not inside the image (checked above)
    inter, _ = cv2.intersectConvexConvex(hull.reshape(-1, 2), rect)
    return float(np.clip(1.0 - inter / area, 0.0, 1.0))


def amodal_bbox(box: Box3D, world_from_camera: np.ndarray, K: np.ndarray, near: float,
                height: int, width: int) -> list[float] | None:
    """Image box of the projected 3D box, near-plane clipped, then clipped to the image.

    Returns [x0, y0, x1, y1] float in pixel-edge coordinates (left edge of column 0 is 0, right edge of the
    last column is W; the same coordinates as the integer ``bbox_visible``, exclusive end), or None when the
    box lies entirely behind the near plane or outside the image.
    """
    polys = projected_polygons(box.corners(), BOX_TRIANGLES, np.eye(4), world_from_camera, K, near)
    if not polys:
        return None
    pts = np.concatenate(polys) + 0.5  # centre -> edge coordinates
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    x0, x1 = max(x0, 0.0), min(x1, float(width))
    y0, y1 = max(y0, 0.0), min(y1, float(height))
    if x0 >= x1 or y0 >= y1:
        return None
    return [float(x0), float(y0), float(x1), float(y1)]


def locate_on_mesh(verts: np.ndarray, tris: np.ndarray, pts: np.ndarray, chunk: int = 128):
    """The triangle each point lies on, and its barycentric coordinates there (brute force over triangles).

    verts: (V, 3) float; tris: (T, 3) int; pts: (N, 3) float points on the mesh (up to rounding). The chosen
    triangle minimises |distance to its plane| + (distance outside its edges, in units of its size).
    Returns (triangle index (N,) intp, barycentric (N, 3) float64, weights of the triangle's vertices 0, 1, 2).
    """
    a, b, c = (verts[tris[:, i]] for i in range(3))
    e0, e1 = b - a, c - a
    n = np.cross(e0, e1)
    area2 = np.linalg.norm(n, axis=1)
    nh = n / np.where(area2 > 0, area2, 1.0)[:, None]
    d00, d01, d11 = (e0 * e0).sum(1), (e0 * e1).sum(1), (e1 * e1).sum(1)
    den = d00 * d11 - d01 * d01
    den = np.where(np.abs(den) > 1e-30, den, np.inf)
    scale = np.sqrt(area2)
    ids, barys = np.empty(len(pts), np.intp), np.empty((len(pts), 3))
    for s in range(0, len(pts), chunk):
        p = pts[s:s + chunk]
        v = p[:, None, :] - a[None]
        d20, d21 = (v * e0).sum(-1), (v * e1).sum(-1)
        bv = (d11 * d20 - d01 * d21) / den
        bw = (d00 * d21 - d01 * d20) / den
        bu = 1 - bv - bw
        outside = np.maximum(0, -np.minimum(np.minimum(bu, bv), bw))
        score = np.abs((v * nh).sum(-1)) + outside * scale
        k = np.argmin(score, 1)
        r = np.arange(len(p))
        ids[s:s + chunk] = k
        barys[s:s + chunk] = np.stack([bu[r, k], bv[r, k], bw[r, k]], -1)
    return ids, barys
