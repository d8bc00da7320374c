"""The preprocessing contract: how an RGB frame becomes a backbone input, identically for both image sets.

Every feature vector the validator compares was produced by one :class:`Preprocess`; its JSON (``to_json``) goes
into the report and its short hash (``key``) into the feature-cache key, so features made under a different
contract are never mixed.

Steps of :meth:`Preprocess.apply`, in order:

1. **Input**: ``(H, W, 3)`` uint8, RGB channel order, sRGB-encoded values (as decoded from PNG/JPEG/video).
   No colour-space conversion or linearisation happens: every backbone here was trained on sRGB-encoded 8-bit
   images.
2. **Optional re-encoding** (``reencode=("jpeg", quality)``): the uint8 frame is JPEG-encoded and decoded again
   (4:2:0 chroma subsampling, OpenCV's encoder). Applied to *both* sets, it removes a compression mismatch from
   the comparison (e.g. lossless synthetic PNGs vs compressed real video).
3. **Geometry** (``mode``), computed on float32 values ``x / 255`` (scale ``[0, 1]``):

   * ``"resize"``: the whole frame is resized to ``size`` (aspect ratio not kept). Sees all content; the
     Fréchet-distance convention for Inception-v3.
   * ``"center_crop"``: the largest centred window with the target aspect ratio, shrunk by ``crop_fraction``
     (0.875 reproduces the classifiers' "resize to 256, crop 224" evaluation), is resized to ``size``.
   * ``"tiles"``: square windows with side = the frame's short side, spread evenly from one end of the long side
     to the other (``ceil(long / short)`` of them, at most ``max_tiles``, overlapping when the ratio is not an
     integer), each resized to ``size``. A 16:9 frame gives two tiles, no pixel is dropped, nothing is
     stretched. :func:`simgen.gap.features.extract_features` averages the backbone features of the tiles.

   Resampling (``resample``) is antialiased when shrinking:

   * ``"antialias-bicubic"`` (default): separable bicubic (a = -0.5) whose support widens by the scale factor
     (``torch.nn.functional.interpolate(mode="bicubic", antialias=True)``); the same kernel as the reference
     8-bit bicubic resizer of common imaging libraries, so it matches how the pretrained models' evaluation
     images were made. Upsampling uses the plain bicubic kernel.
   * ``"antialias-bilinear"``: the same with a triangle kernel.
   * ``"area"``: pixel-area averaging (``cv2.INTER_AREA``); bilinear when upsampling.
   * ``"bilinear"``: bilinear *without* antialiasing (aliased when shrinking); kept only to reproduce legacy
     numbers, never the default.

4. **Rounding** (``round_to_uint8=True``): the resized values are clamped to ``[0, 1]`` and rounded to the 8-bit
   grid (``round(x * 255) / 255``), because the backbones' standard pipelines resize 8-bit images and see 8-bit
   values.
5. **Normalisation**: with ``mean``/``std``: ``(x - mean) / std`` per channel; with ``value_range=(lo, hi)``:
   ``lo + x * (hi - lo)``; with neither the values stay in ``[0, 1]``.

Output: float32 ``(3, H, W)`` (C-contiguous), or for ``mode="tiles"`` a list of such arrays.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from simgen.errors import SimgenError

#: Bump when the meaning of an existing field changes (it is part of every cache key).
PREPROCESS_VERSION = "1"

MODES = ("resize", "center_crop", "tiles")
RESAMPLES = ("antialias-bicubic", "antialias-bilinear", "area", "bilinear")
REENCODE_FORMATS = ("jpeg",)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PreprocessError(SimgenError, ValueError):
    """An invalid preprocessing contract or an input image it cannot handle."""


def _parse_reencode(value: Any) -> tuple[str, int] | None:
    """``None`` | ``"jpeg:90"`` | ``("jpeg", 90)`` | ``["jpeg", 90]`` -> ``("jpeg", 90)`` or None."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in ("", "none"):
            return None
        fmt, _, q = value.partition(":")
        value = (fmt, q or 90)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise PreprocessError(f"reencode must be None or (format, quality), got {value!r}")
    fmt = str(value[0]).strip().lower()
    fmt = "jpeg" if fmt == "jpg" else fmt
    if fmt not in REENCODE_FORMATS:
        raise PreprocessError(f"reencode format {value[0]!r} is not supported; use one of {REENCODE_FORMATS}")
    try:
        quality = int(value[1])
    except (TypeError, ValueError):
        raise PreprocessError(f"reencode quality must be an integer 1..100, got {value[1]!r}") from None
    if not 1 <= quality <= 100:
        raise PreprocessError(f"reencode quality must be 1..100, got {quality}")
    return fmt, quality


@dataclass(frozen=True)
class Preprocess:
    """A versioned preprocessing contract (see the module docstring for the exact steps).

    ``size``: an int (square ``size x size``) or ``(height, width)`` in pixels of the backbone input.
    ``mean``/``std``: per-channel RGB values on the ``[0, 1]`` scale; ``value_range``: ``(lo, hi)`` that ``[0, 1]``
    maps to. At most one of the two normalisations may be set.
    """

    version: str = PREPROCESS_VERSION
    size: int | tuple[int, int] = 224
    mode: str = "resize"
    resample: str = "antialias-bicubic"
    round_to_uint8: bool = True
    mean: tuple[float, float, float] | None = IMAGENET_MEAN
    std: tuple[float, float, float] | None = IMAGENET_STD
    value_range: tuple[float, float] | None = None
    reencode: tuple[str, int] | None = None
    crop_fraction: float = 1.0
    max_tiles: int = 4
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        size = self.size
        if isinstance(size, (list, tuple)):
            if len(size) != 2:
                raise PreprocessError(f"size must be an int or (height, width), got {size!r}")
            size = (int(size[0]), int(size[1]))
            if size[0] == size[1]:
                size = size[0]
        else:
            size = int(size)
        if min(size if isinstance(size, tuple) else (size,)) < 8:
            raise PreprocessError(f"size {size!r} is too small (at least 8 pixels per side)")
        set_(self, "size", size)
        if self.mode not in MODES:
            raise PreprocessError(f"unknown preprocessing mode {self.mode!r}; use one of {MODES}")
        if self.resample not in RESAMPLES:
            raise PreprocessError(f"unknown resample {self.resample!r}; use one of {RESAMPLES}")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if v is not None:
                v = tuple(float(x) for x in v)
                if len(v) != 3:
                    raise PreprocessError(f"{name} must have 3 values (R, G, B), got {v!r}")
                set_(self, name, v)
        if (self.mean is None) != (self.std is None):
            raise PreprocessError("mean and std must be given together")
        if self.std is not None and min(self.std) <= 0:
            raise PreprocessError(f"std must be positive, got {self.std!r}")
        if self.value_range is not None:
            if self.mean is not None:
                raise PreprocessError("give either mean/std or value_range, not both")
            lo, hi = (float(x) for x in self.value_range)
            if not hi > lo:
                raise PreprocessError(f"value_range must be (lo, hi) with hi > lo, got {self.value_range!r}")
            set_(self, "value_range", (lo, hi))
        set_(self, "reencode", _parse_reencode(self.reencode))
        if not 0.0 < float(self.crop_fraction) <= 1.0:
            raise PreprocessError(f"crop_fraction must be in (0, 1], got {self.crop_fraction!r}")
        set_(self, "crop_fraction", float(self.crop_fraction))
        if int(self.max_tiles) < 1:
            raise PreprocessError(f"max_tiles must be >= 1, got {self.max_tiles!r}")
        set_(self, "max_tiles", int(self.max_tiles))

    # ------------------------------------------------------------------------------------------------ identity

    @property
    def hw(self) -> tuple[int, int]:
        """Output ``(height, width)`` in pixels."""
        return self.size if isinstance(self.size, tuple) else (self.size, self.size)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON description of the contract (what the report records)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preprocess:
        """Inverse of :meth:`to_json`; unknown keys raise :class:`PreprocessError`."""
        known = {f.name for f in fields(cls) if f.init}
        extra = set(data) - known
        if extra:
            raise PreprocessError(f"unknown preprocessing field(s): {', '.join(sorted(extra))}")
        return cls(**data)

    def key(self) -> str:
        """Short stable hash (12 hex characters) of :meth:`to_json`, used in feature-cache keys."""
        if "key" not in self._cache:
            blob = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
            self._cache["key"] = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return self._cache["key"]

    # ------------------------------------------------------------------------------------------------ apply

    def windows(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """Source windows ``(y0, x0, h, w)`` (pixels, top-left origin) that are resized to the output size."""
        th, tw = self.hw
        if self.mode == "resize":
            return [(0, 0, height, width)]
        if self.mode == "center_crop":
            target = tw / th
            if width / height > target:
                h, w = height, height * target
            else:
                h, w = width / target, width
            h = max(1, round(h * self.crop_fraction))
            w = max(1, round(w * self.crop_fraction))
            return [((height - h) // 2, (width - w) // 2, h, w)]
        # tiles: square windows of the short side along the long side
        short = min(height, width)
        long_ = max(height, width)
        n = min(self.max_tiles, max(1, math.ceil(long_ / short - 1e-9)))
        starts = [0] if n == 1 else [round(i * (long_ - short) / (n - 1)) for i in range(n)]
        if width >= height:
            return [(0, s, short, short) for s in starts]
        return [(s, 0, short, short) for s in starts]

    def apply(self, img: np.ndarray) -> np.ndarray | list[np.ndarray]:
        """Preprocess one image.

        ``img``: ``(H, W, 3)`` uint8 RGB. Returns float32 ``(3, h, w)`` with ``(h, w) = self.hw`` — or, for
        ``mode="tiles"``, a list of those (one per tile) — normalised as the contract says.
        """
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            got = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
            raise PreprocessError(f"preprocessing expects an (H, W, 3) uint8 RGB image, got {got}")
        if min(img.shape[:2]) < 1:
            raise PreprocessError(f"empty image of shape {img.shape}")
        if self.reencode is not None:
            img = reencode(img, *self.reencode)
        outs = [self._resize(img[y0:y0 + h, x0:x0 + w]) for (y0, x0, h, w) in self.windows(*img.shape[:2])]
        outs = [self._normalise(o) for o in outs]
        return outs if self.mode == "tiles" else outs[0]

    def _resize(self, img: np.ndarray) -> np.ndarray:
        """uint8 (h, w, 3) window -> float32 (3, H, W) on the [0, 1] scale (rounded to the 8-bit grid if asked)."""
        th, tw = self.hw
        h, w = img.shape[:2]
        if (h, w) == (th, tw):
            out = img.astype(np.float32).transpose(2, 0, 1)
        elif self.resample == "area":
            import cv2

            interp = cv2.INTER_AREA if (th <= h and tw <= w) else cv2.INTER_LINEAR
            out = cv2.resize(img.astype(np.float32), (tw, th), interpolation=interp).transpose(2, 0, 1)
        else:
            import torch
            import torch.nn.functional as F

            mode = {"antialias-bicubic": "bicubic", "antialias-bilinear": "bilinear", "bilinear": "bilinear"}
            # resizing is linear, so working on 0..255 floats equals working on [0, 1] floats scaled by 255; it
            # keeps the rounding below on exactly the same values as an 8-bit reference resizer
            t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).to(torch.float32)[None]
            with torch.inference_mode():
                t = F.interpolate(t, size=(th, tw), mode=mode[self.resample], align_corners=False,
                                  antialias=self.resample != "bilinear")
            out = t[0].numpy()
        out = np.clip(out, 0.0, 255.0)
        if self.round_to_uint8:
            out = np.round(out)
        return np.ascontiguousarray(out / np.float32(255.0), dtype=np.float32)

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        if self.mean is not None:
            m = np.asarray(self.mean, np.float32)[:, None, None]
            s = np.asarray(self.std, np.float32)[:, None, None]
            return np.ascontiguousarray((x - m) / s, dtype=np.float32)
        if self.value_range is not None:
            lo, hi = self.value_range
            return np.ascontiguousarray(x * np.float32(hi - lo) + np.float32(lo), dtype=np.float32)
        return x

    def unnormalise(self, x: np.ndarray) -> np.ndarray:
        """Inverse of the normalisation step: backbone input ``(..., 3, H, W)`` -> values on the ``[0, 1]`` scale."""
        x = np.asarray(x, np.float32)
        if self.mean is not None:
            s = np.asarray(self.std, np.float32)[:, None, None]
            return x * s + np.asarray(self.mean, np.float32)[:, None, None]
        if self.value_range is not None:
            lo, hi = self.value_range
            return (x - np.float32(lo)) / np.float32(hi - lo)
        return x

    def replace(self, **changes: Any) -> Preprocess:
        """A copy with some fields changed (validated again)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        d.update(changes)
        return Preprocess(**d)


def reencode(img: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> np.ndarray:
    """Encode an ``(H, W, 3)`` uint8 RGB image as ``fmt`` at ``quality`` (1..100) and decode it again (same shape)."""
    import cv2

    fmt, quality = _parse_reencode((fmt, quality))  # type: ignore[misc]
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise PreprocessError("JPEG re-encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


__all__ = ["Preprocess", "PreprocessError", "reencode", "IMAGENET_MEAN", "IMAGENET_STD", "PREPROCESS_VERSION",
           "MODES", "RESAMPLES"]
