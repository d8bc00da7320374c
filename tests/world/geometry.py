"""Independent geometry for the world tests (written from first principles, not from simgen.world)."""

from __future__ import annotations

import numpy as np


def seg_dist(p, q, a, b) -> float:
    """Distance between 2D segments pq and ab (dense sampling of each against the exact point-segment distance)."""
    def pt_seg(x, a, b):
        ab = b - a
        t = np.clip(((x - a) @ ab) / (ab @ ab), 0, 1)
        return np.linalg.norm(x - (a + t[:, None] * ab), axis=1)
    s = np.linspace(0, 1, 201)[:, None]
    return float(min(pt_seg(p + s * (q - p), a, b).min(), pt_seg(a + s * (b - a), p, q).min()))


def point_in_convex(P, x) -> bool:
    e = np.roll(P, -1, 0) - P
    r = x - P
    c = e[:, 0] * r[:, 1] - e[:, 1] * r[:, 0]
    return bool(np.all(c >= -1e-12) or np.all(c <= 1e-12))


def poly_dist(A, B) -> float:
    """0 if the convex polygons A, B ((K, 2) each) intersect, else the smallest edge-to-edge distance."""
    A, B = np.asarray(A, float), np.asarray(B, float)
    if any(point_in_convex(A, b) for b in B) or any(point_in_convex(B, a) for a in A):
        return 0.0
    return min(seg_dist(A[i], A[(i + 1) % len(A)], B[j], B[(j + 1) % len(B)])
               for i in range(len(A)) for j in range(len(B)))


def box_footprint(lo, hi, pose) -> np.ndarray:
    """(4, 2) world xy corners of the object-frame box [lo, hi] under a (4, 4) pose."""
    c = np.array([[lo[0], lo[1], 0, 1], [hi[0], lo[1], 0, 1], [hi[0], hi[1], 0, 1], [lo[0], hi[1], 0, 1]], float)
    return (np.asarray(pose) @ c.T).T[:, :2]


def box_corners(lo, hi, pose) -> np.ndarray:
    """(8, 3) world corners of the object-frame box [lo, hi]."""
    c = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return (np.asarray(pose) @ c.T).T[:, :3]


def project_cv2(points, K, world_from_camera):
    """OpenCV projection of (N, 3) world points: (uv (N, 2), depth (N,))."""
    import cv2

    cam_from_world = np.linalg.inv(world_from_camera)
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    pts = np.asarray(points, float).reshape(-1, 3)
    uv, _ = cv2.projectPoints(pts, rvec, cam_from_world[:3, 3], np.asarray(K, float), None)
    depth = pts @ cam_from_world[2, :3] + cam_from_world[2, 3]
    return uv[:, 0, :], depth


def mirror(points, plane_point, normal):
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    p = np.asarray(points, float)
    return p - 2 * ((p - plane_point) @ n)[:, None] * n


def segment_plane_hit(a, b, plane_point, normal):
    """Where segments a -> b ((N, 3) each or a (3,)) cross the plane; (points (N, 3), t (N,))."""
    n = np.asarray(normal, float)
    a = np.broadcast_to(np.asarray(a, float), np.shape(b))
    d = np.asarray(b, float) - a
    t = ((plane_point - a) @ n) / (d @ n)
    return a + t[:, None] * d, t
