"""Surface normals in the stored (OpenCV) camera frame."""

from __future__ import annotations

import numpy as np


def normals_to_camera(normal_world: np.ndarray, world_from_camera: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """World-space normals -> OpenCV camera frame.

    normal_world: (H, W, 3) float, world-frame normals (Blender ``Normal`` pass, 1 spp).
    world_from_camera: (4, 4) OpenCV camera-to-world pose (x right, y down, z forward).
    valid: (H, W) bool, pixels with a surface.
    Returns (H, W, 3) float32 unit vectors in the OpenCV camera frame (x right, y down, z forward); a surface
    facing the camera has n_z < 0. Background (``~valid``) and degenerate (zero-length) normals are (0, 0, 0)
    — zero, not NaN, so that losses and resampling stay finite; test ``norm > 0.5`` to find valid normals.
    """
    n = np.asarray(normal_world, np.float64)
    if n.ndim != 3 or n.shape[2] != 3:
        raise ValueError(f"normal must be (H, W, 3), got {n.shape}")
    rot = np.asarray(world_from_camera, np.float64)[:3, :3]
    cam = n @ rot  # row-vector form of R^T n: camera_from_world rotation
    length = np.linalg.norm(cam, axis=-1, keepdims=True)
    ok = valid & np.isfinite(length[..., 0]) & (length[..., 0] > 1e-6)
    out = np.zeros_like(cam)
    out[ok] = cam[ok] / length[ok]
    return out.astype(np.float32)
