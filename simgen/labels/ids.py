"""Semantic and instance maps from the object-index pass."""

from __future__ import annotations

import numpy as np


class LabelError(ValueError):
    """Raw passes that break the renderer contract (fractional ids, unknown label keys, bad shapes)."""


def label_keys(object_index: np.ndarray) -> np.ndarray:
    """Exact integer label keys from the ``Object Index`` pass.

    object_index: (H, W) float (Blender writes the entity's ``label_key`` as float32; 0 = no object).
    Returns (H, W) int64. Raises :class:`LabelError` if any value is fractional, negative or non-finite —
    a blended id pass must never be turned into labels by rounding.
    """
    oi = np.asarray(object_index)
    if oi.ndim != 2:
        raise LabelError(f"object_index must be (H, W), got {oi.shape}")
    if not np.all(np.isfinite(oi)):
        raise LabelError("object_index holds non-finite values")
    keys = np.rint(oi).astype(np.int64)
    bad = keys != oi
    if bad.any():
        v, u = np.argwhere(bad)[0]
        raise LabelError(
            f"object_index is not integral at {int(bad.sum())} pixels (first at row {v}, col {u}: "
            f"{float(oi[v, u])!r}); ids must come from the exact sample-0 pass"
        )
    if (keys < 0).any():
        raise LabelError("object_index holds negative values")
    return keys


def id_maps(object_index: np.ndarray, label_table: dict[int, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Semantic and instance maps.

    object_index: (H, W) float, the ``Object Index`` pass (label_key per pixel, 0 = none).
    label_table: label_key -> (instance_id, semantic class id), as :meth:`simgen.world.model.World.label_table`.
    Returns (semantic (H, W) uint8 class ids of ``dataset.json``, 0 = unlabeled;
    instance (H, W) uint16 instance ids, 0 = none). Raises :class:`LabelError` for fractional ids, label keys
    missing from the table, or ids that do not fit the dtypes.
    """
    keys = label_keys(object_index)
    n = int(keys.max(initial=0)) + 1
    sem_lut = np.zeros(max(n, 1), np.int64)
    inst_lut = np.zeros(max(n, 1), np.int64)
    known = np.zeros(max(n, 1), bool)
    known[0] = True
    for key, (iid, sid) in label_table.items():
        if key <= 0:
            raise LabelError(f"label key {key} must be >= 1 (0 means no object)")
        if not (0 <= iid <= 0xFFFF) or not (0 <= sid <= 0xFF):
            raise LabelError(f"label key {key}: instance id {iid} or class id {sid} out of range")
        if key < n:
            sem_lut[key], inst_lut[key], known[key] = sid, iid, True
    present = np.unique(keys)
    missing = [int(k) for k in present if not known[k]]
    if missing:
        raise LabelError(f"object_index holds label keys {missing} that no entity carries")
    return sem_lut[keys].astype(np.uint8), inst_lut[keys].astype(np.uint16)
