"""Planar depth from the renderer's ``Depth.Z`` pass."""

from __future__ import annotations

import numpy as np

#: raw depth values at or above this are "no surface" (Blender writes 1e10 for the background)
BACKGROUND_THRESHOLD = 1e9


def planar_depth(raw_depth: np.ndarray) -> np.ndarray:
    """Planar depth map.

    raw_depth: (H, W) float, Blender ``Depth.Z`` (distance along the optical axis, metres, 1e10 = no surface).
    Returns (H, W) float32 metres, distance along the camera's optical axis (OpenCV +z), rows top-down;
    +inf where there is no surface (raw value >= 1e9, or non-finite). Never NaN.
    """
    d = np.asarray(raw_depth)
    if d.ndim != 2:
        raise ValueError(f"depth must be (H, W), got {d.shape}")
    out = d.astype(np.float32, copy=True)
    out[~np.isfinite(d) | (d >= BACKGROUND_THRESHOLD)] = np.inf
    return out


def surface_mask(raw_depth: np.ndarray) -> np.ndarray:
    """(H, W) bool: True where a surface was hit (raw depth finite and below 1e9)."""
    d = np.asarray(raw_depth)
    return np.isfinite(d) & (d < BACKGROUND_THRESHOLD)
