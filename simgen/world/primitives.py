"""Small closed meshes shared by the procedural assets and the people's props: a unit box and square bars."""

from __future__ import annotations

import numpy as np

#: unit cube [0, 1]^3: vertices and outward-wound triangles
BOX_V = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], float)
BOX_F = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                  [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]], np.int64)


def bar(p0, p1, thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """A square-section box from point p0 to p1 (metres): vertices (8, 3) float64, faces (12, 3) int64."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    axis = d / np.linalg.norm(d)
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)  # (u, w, axis) right-handed, so the box keeps its outward winding
    local = (BOX_V - [0.5, 0.5, 0.0]) * [thickness, thickness, 1.0]
    return p0 + local[:, :1] * u + local[:, 1:2] * w + local[:, 2:3] * d, BOX_F.copy()
