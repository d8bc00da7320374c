"""Independent readers for the on-disk contract (README "Dataset layout").

Deliberately written from the format specifications, not with simgen.io, so that the end-to-end tests check
the files a user gets rather than simgen's own reader.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import OpenEXR


def read_exr_channels(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            for name, ch in part.channels.items():
                out[name] = np.array(ch.pixels)
    return out


def read_flo(path: Path) -> np.ndarray:
    """Middlebury .flo: float32 magic 202021.25, int32 width, int32 height, then (H, W, 2) float32 (u, v)."""
    raw = Path(path).read_bytes()
    magic = np.frombuffer(raw[:4], "<f4")[0]
    assert magic == np.float32(202021.25), f"bad .flo magic {magic}"
    w, h = np.frombuffer(raw[4:12], "<i4")
    data = np.frombuffer(raw[12:], "<f4")
    assert data.size == w * h * 2, "truncated .flo"
    return data.reshape(h, w, 2).copy()


def read_png(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f"cannot read {path}"
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def load_dataset(root: Path) -> tuple[dict, list[dict]]:
    info = json.loads((root / "dataset.json").read_text())
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines() if line.strip()]
    return info, rows


def load_frame(root: Path, row: dict) -> dict:
    files = row["files"]
    out: dict = {"meta": json.loads((root / files["meta"]).read_text())}
    out["rgb"] = read_png(root / files["rgb"])
    out["depth"] = read_exr_channels(root / files["depth"])["Z"]
    out["semantic"] = read_png(root / files["semantic"])
    out["instance"] = read_png(root / files["instance"])
    for key in ("flow_fwd", "flow_bwd"):
        if key in files:
            out[key] = read_flo(root / files[key])
    if "normal" in files:
        out["normal"] = read_exr_channels(root / files["normal"])
    return out
