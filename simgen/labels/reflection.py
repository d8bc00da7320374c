"""Reflection labels: merge the renderer's label-key reflection renders into masks and an index map."""

from __future__ import annotations

import numpy as np

from simgen.labels.ids import LabelError, label_keys


def _keys(render: np.ndarray, which: str) -> np.ndarray:
    r = np.asarray(render)
    if r.ndim != 3 or r.shape[-1] != 3:
        raise LabelError(f"{which} reflection render must be (H, W, 3), got {r.shape}")
    return np.stack([label_keys(r[..., c]) for c in range(3)], -1)


def merge_reflection_keys(clear: np.ndarray, mirror: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Reflection renders (H, W, 3) of label keys -> (masks (H, W, 3) float32 0/1, index (H, W) float32).

    Each render holds, per pixel, the label key of the person seen directly / via a reflection / through
    glass (channels 0, 1, 2), or 0. clear: the render with all glass clear; mirror: the one with reflective
    glass rendered as a mirror, or None when the world has no reflective glass. The index is the label key of
    the person seen via a reflection, else of the one seen through glass, else 0. Raises :class:`LabelError`
    for fractional keys (a blended render must not become labels by rounding) or mismatched shapes.
    """
    keys = _keys(clear, "clear")
    if mirror is not None:
        m = _keys(mirror, "mirror")
        if m.shape != keys.shape:
            raise LabelError(f"reflection renders differ in shape: {keys.shape} vs {m.shape}")
        keys[..., 1] = np.where(m[..., 1] > 0, m[..., 1], keys[..., 1])
        keys[..., 2] = np.where(keys[..., 2] > 0, keys[..., 2], m[..., 2])
    masks = (keys > 0).astype(np.float32)
    index = np.where(keys[..., 1] > 0, keys[..., 1], keys[..., 2]).astype(np.float32)
    return masks, index


def merge_reflection_strength(clear: np.ndarray, mirror: np.ndarray | None, clear_strength: np.ndarray,
                              mirror_strength: np.ndarray | None) -> np.ndarray:
    """Reflection-strength renders -> (H, W, 2) float32: how much of the reflected / see-through person reaches
    the pixel (product of the surfaces' Fresnel reflectances / transmittances along the path), 0 where none.

    clear / mirror: the label-key renders as for :func:`merge_reflection_keys`; clear_strength / mirror_strength:
    the matching strength renders (H, W, 3), channel 1 via a reflection, 2 through glass. Each channel is taken
    from the render whose key it merges (a reflection in shop glass from the mirror render, a view through
    it from the clear one)."""
    keys = _keys(clear, "clear")
    cs = np.asarray(clear_strength, np.float32)
    if cs.shape != keys.shape:
        raise LabelError(f"strength render shape {cs.shape} differs from the key render's {keys.shape}")
    out = np.stack([np.where(keys[..., 1] > 0, cs[..., 1], 0.0), np.where(keys[..., 2] > 0, cs[..., 2], 0.0)], -1)
    if mirror is not None:
        if mirror_strength is None:
            raise LabelError("a mirror key render needs its strength render")
        m = _keys(mirror, "mirror")
        ms = np.asarray(mirror_strength, np.float32)
        if m.shape != keys.shape or ms.shape != keys.shape:
            raise LabelError("reflection renders differ in shape")
        out[..., 0] = np.where(m[..., 1] > 0, ms[..., 1], out[..., 0])
        out[..., 1] = np.where(keys[..., 2] > 0, out[..., 1], np.where(m[..., 2] > 0, ms[..., 2], 0.0))
    return np.clip(out, 0.0, 1.0).astype(np.float32)
