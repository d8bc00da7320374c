"""Coordinate conventions, as tested converters.

World: right-handed, z up, metres (Blender's frame).
Stored camera frame: OpenCV — x right, y down, z forward (optical axis).
Blender camera frame: x right, y up, looking down −z.
The two camera frames differ by a rotation of 180° about x: (x, y, z)_cv = (x, −y, −z)_blender.

Pixel convention (stored): the centre of the top-left pixel is (0, 0); row 0 is the top row.
An unshifted pinhole of width W, height H has cx = W/2 − 0.5, cy = H/2 − 0.5.
"""

from __future__ import annotations

import math

import numpy as np

#: 4×4 transform taking OpenCV-camera coordinates to Blender-camera coordinates (and back: it is its own inverse).
BLENDER_FROM_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


def blender_camera_to_opencv(world_from_blender_cam: np.ndarray) -> np.ndarray:
    """(4, 4) Blender camera-to-world matrix -> (4, 4) OpenCV camera-to-world matrix (same world frame)."""
    return np.asarray(world_from_blender_cam, float) @ BLENDER_FROM_OPENCV


def opencv_camera_to_blender(world_from_cv_cam: np.ndarray) -> np.ndarray:
    """(4, 4) OpenCV camera-to-world matrix -> (4, 4) Blender camera-to-world matrix."""
    return np.asarray(world_from_cv_cam, float) @ BLENDER_FROM_OPENCV


def intrinsics_from_hfov(hfov_rad: float, width: int, height: int) -> np.ndarray:
    """(3, 3) float64 pinhole K for a horizontal field of view, square pixels, unshifted principal point.

    fx = fy = (W/2) / tan(hfov/2); cx = W/2 − 0.5; cy = H/2 − 0.5 (pixel-centre convention above).
    """
    if not (0.0 < hfov_rad < math.pi):
        raise ValueError(f"horizontal FOV must be in (0, 180) degrees, got {math.degrees(hfov_rad)}")
    f = (width / 2.0) / math.tan(hfov_rad / 2.0)
    return np.array([[f, 0.0, width / 2.0 - 0.5], [0.0, f, height / 2.0 - 0.5], [0.0, 0.0, 1.0]])


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """(4, 4) OpenCV camera-to-world pose at ``eye`` looking at ``target`` with image-up close to ``up``."""
    eye = np.asarray(eye, float)
    z = np.asarray(target, float) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, float))
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("look_at: view direction parallel to up")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose


def pose_from_xyz_yaw(x: float, y: float, z: float, yaw_rad: float) -> np.ndarray:
    """(4, 4) world_from_object: rotation by ``yaw`` about world z (0 = object +x along world +x), then translation."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    m[:3, 3] = (x, y, z)
    return m


def project(points_world: np.ndarray, K: np.ndarray, world_from_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project (N, 3) world points with OpenCV K and camera-to-world pose.

    Returns (uv (N, 2) float64 pixels in the pixel-centre convention, z (N,) float64 planar depth in metres).
    """
    pts = np.asarray(points_world, float)
    cam_from_world = np.linalg.inv(world_from_camera)
    pc = pts @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (pc[:, :2] / z[:, None]) * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    return uv, z


def unproject_depth(depth: np.ndarray, K: np.ndarray, world_from_camera: np.ndarray) -> np.ndarray:
    """Planar depth (H, W) float metres -> (H, W, 3) float64 world points (inf depth gives non-finite points)."""
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(float)
    x = (u - K[0, 2]) / K[0, 0] * depth
    y = (v - K[1, 2]) / K[1, 1] * depth
    pc = np.stack([x, y, depth.astype(float)], -1)
    return pc @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]
