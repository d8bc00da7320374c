"""Stereo rigs: the rectification OpenCV's ``cv2.stereoRectify`` gives for the stored pair, and disparity."""

from __future__ import annotations

import numpy as np

from simgen.world.model import World


def stereo_record(world: World, camera: str, frame: int, width: int, height: int) -> dict | None:
    """Rectification of the stereo rig ``camera`` belongs to, at ``frame`` (None if it is in none).

    Returns {rig, role, left, right, baseline_m, R, T (right camera from left camera: X_r = R X_l + T),
    R1, R2, P1, P2, Q} — the last five from ``cv2.stereoRectify`` with ``CALIB_ZERO_DISPARITY`` and
    alpha = −1 — as lists. The rig's cameras are rendered already rectified (identical intrinsics, parallel
    axes, baseline along x), so R1 = R2 = I and P1[:3, :3] = K.
    """
    import cv2

    cams = {c.name: c for c in world.cameras}
    cam = cams[camera]
    if not cam.rig or cam.rig.get("kind") != "stereo":
        return None
    name = cam.rig["name"]
    left, right = cams[f"{name}_left"], cams[f"{name}_right"]
    ll, rl = left.lens_at(width, height), right.lens_at(width, height)
    rel = np.linalg.inv(right.poses[frame]) @ left.poses[frame]
    R, T = rel[:3, :3], rel[:3, 3]
    D1 = np.asarray(ll.D, np.float64) if ll.D else np.zeros(5)
    D2 = np.asarray(rl.D, np.float64) if rl.D else np.zeros(5)
    R1, R2, P1, P2, Q, _, _ = cv2.stereoRectify(ll.K, D1, rl.K, D2, (ll.width, ll.height), R, T,
                                                flags=cv2.CALIB_ZERO_DISPARITY, alpha=-1)
    return {"rig": name, "role": cam.rig["role"], "left": left.name, "right": right.name,
            "baseline_m": float(np.linalg.norm(T)), "R": R.tolist(), "T": T.tolist(), "R1": R1.tolist(),
            "R2": R2.tolist(), "P1": P1.tolist(), "P2": P2.tolist(), "Q": Q.tolist()}


def disparity_from_depth(depth: np.ndarray, record: dict) -> np.ndarray:
    """(H, W) float32 disparity (pixels, left image u_left − u_right) = f·B / Z from planar depth (metres,
    inf = none) of the left camera; NaN where there is no surface. f = P1[0][0], f·B = −P2[0][3]."""
    fb = -float(record["P2"][0][3])
    z = np.asarray(depth, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = fb / z
    d[~np.isfinite(z)] = np.nan
    return d.astype(np.float32)
