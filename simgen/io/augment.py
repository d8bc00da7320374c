"""Joint augmentations of a sample that keep every label right (numpy; no torch).

A sample is a dict of numpy arrays as :meth:`simgen.io.DatasetReader.load` gives them, plus optional ``boxes``
((N, 4) float32 [x0, y0, x1, y1], pixel-edge coordinates: column c spans [c, c + 1)), ``K`` ((3, 3) float64
OpenCV intrinsics, pixel-centre origin), ``camera_model`` and ``D`` (OpenCV distortion, see ``dataset.json``)
and ``world_from_camera`` ((4, 4) float64). Images are (H, W[, C]).
Every transform is ``t(sample, rng) -> sample`` with ``rng`` a ``numpy.random.Generator``.

- :class:`HFlip`: mirrors every image; flow u is negated; normal x is negated; boxes become [W - x1, y0,
  W - x0, y1]; ``K``'s cx becomes W - 1 - cx; ``world_from_camera`` gets its x column negated (the camera frame
  is mirrored, so unprojecting a pixel of the flipped image with the flipped K and pose gives the same world
  point as before the flip); an ``opencv`` lens's p2 is negated (radial terms and fisheye D are symmetric).
  Disparity keeps its values: it then belongs to the mirrored stereo pair.
- :class:`Crop` / :class:`RandomCrop`: slices every image; cx -= left, cy -= top; boxes shift and are clipped to
  the crop (boxes left empty are dropped, with their ``labels`` / ``instance_ids``).
- :class:`Resize`: colour bilinear (area when shrinking); depth, ids, masks, flow and normals by nearest
  neighbour on pixel centres (``cv2.INTER_NEAREST_EXACT``); flow u, v scale by sx = W'/W, sy = H'/H,
  disparity by sx;
  fx, fy scale by sx, sy and cx' = (cx + 0.5) sx - 0.5 (likewise cy); boxes scale by (sx, sy).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

#: sample keys holding (H, W[, C]) images
IMAGE_KEYS = ("rgb", "depth", "disparity", "semantic", "instance", "normal", "flow_fwd", "flow_bwd", "flow_fwd_valid",
              "flow_bwd_valid", "flow_fwd_occlusion", "flow_bwd_occlusion", "reflection", "reflection_semantic",
              "reflection_instance", "reflection_strength")
PER_BOX = ("boxes", "labels", "instance_ids")


def _size(sample: dict) -> tuple[int, int]:
    for k in IMAGE_KEYS:
        if k in sample:
            return sample[k].shape[:2]
    raise ValueError("sample has no image")


class Compose:
    def __init__(self, transforms: Sequence):
        self.transforms = list(transforms)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        for t in self.transforms:
            sample = t(sample, rng)
        return sample


class HFlip:
    """Horizontal flip with probability ``p`` (1.0 = always)."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        if self.p < 1.0 and rng.random() >= self.p:
            return sample
        out = dict(sample)
        h, w = _size(sample)
        for k in IMAGE_KEYS:
            if k in out:
                out[k] = np.ascontiguousarray(out[k][:, ::-1])
        for k in ("flow_fwd", "flow_bwd"):
            if k in out:
                out[k][..., 0] *= -1.0
        if "normal" in out:
            out["normal"][..., 0] *= -1.0
        if "boxes" in out:
            b = np.asarray(out["boxes"], np.float32).copy()
            b[:, [0, 2]] = w - b[:, [2, 0]]
            out["boxes"] = b
        if "K" in out:
            K = np.array(out["K"], np.float64)
            K[0, 2] = w - 1 - K[0, 2]
            out["K"] = K
        if "world_from_camera" in out:
            m = np.array(out["world_from_camera"], np.float64)
            m[:3, 0] *= -1.0
            out["world_from_camera"] = m
        if out.get("camera_model") == "opencv" and len(out.get("D", ())) >= 4:
            D = np.array(out["D"], np.float64)
            D[3] = -D[3]  # x -> -x keeps k1 k2 k3 and p1, negates p2
            out["D"] = D
        return out


class Crop:
    """Crop the window rows [top, top + height), columns [left, left + width)."""

    def __init__(self, top: int, left: int, height: int, width: int):
        self.top, self.left, self.height, self.width = int(top), int(left), int(height), int(width)

    def __call__(self, sample: dict, rng: np.random.Generator | None = None) -> dict:
        h, w = _size(sample)
        t, l, ch, cw = self.top, self.left, self.height, self.width
        if t < 0 or l < 0 or ch < 1 or cw < 1 or t + ch > h or l + cw > w:
            raise ValueError(f"crop {ch}x{cw} at ({t}, {l}) does not fit a {h}x{w} image")
        out = dict(sample)
        for k in IMAGE_KEYS:
            if k in out:
                out[k] = np.ascontiguousarray(out[k][t:t + ch, l:l + cw])
        if "K" in out:
            K = np.array(out["K"], np.float64)
            K[0, 2] -= l
            K[1, 2] -= t
            out["K"] = K
        if "boxes" in out:
            b = np.asarray(out["boxes"], np.float32).copy().reshape(-1, 4)
            b[:, [0, 2]] = np.clip(b[:, [0, 2]] - l, 0, cw)
            b[:, [1, 3]] = np.clip(b[:, [1, 3]] - t, 0, ch)
            keep = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
            for k in PER_BOX:
                if k in out:
                    out[k] = (b if k == "boxes" else np.asarray(out[k]))[keep]
        return out


class RandomCrop:
    """A crop of ``height`` x ``width`` at a uniformly drawn position."""

    def __init__(self, height: int, width: int):
        self.height, self.width = int(height), int(width)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        h, w = _size(sample)
        top = int(rng.integers(0, h - self.height + 1))
        left = int(rng.integers(0, w - self.width + 1))
        return Crop(top, left, self.height, self.width)(sample)


class Resize:
    """Resize to ``height`` x ``width``."""

    def __init__(self, height: int, width: int):
        self.height, self.width = int(height), int(width)

    def __call__(self, sample: dict, rng: np.random.Generator | None = None) -> dict:
        h, w = _size(sample)
        sx, sy = self.width / w, self.height / h
        size = (self.width, self.height)
        out = dict(sample)
        for k in IMAGE_KEYS:
            if k not in out:
                continue
            a = out[k]
            if k == "rgb":
                out[k] = cv2.resize(a, size, interpolation=cv2.INTER_AREA if sx * sy < 1 else cv2.INTER_LINEAR)
                continue
            src = a.astype(np.uint8) if a.dtype == bool else a
            r = cv2.resize(src, size, interpolation=cv2.INTER_NEAREST_EXACT)
            if r.ndim < a.ndim:
                r = r[..., None]
            out[k] = r.astype(bool) if a.dtype == bool else r
        for k in ("flow_fwd", "flow_bwd"):
            if k in out:
                out[k] = out[k] * np.array([sx, sy], np.float32)
        if "disparity" in out:
            out["disparity"] = out["disparity"] * np.float32(sx)
        if "K" in out:
            K = np.array(out["K"], np.float64)
            K[0, 0] *= sx
            K[1, 1] *= sy
            K[0, 1] *= sx
            K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
            K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
            out["K"] = K
        if "boxes" in out:
            out["boxes"] = np.asarray(out["boxes"], np.float32) * np.array([sx, sy, sx, sy], np.float32)
        return out
