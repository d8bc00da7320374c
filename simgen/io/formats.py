"""Readers and writers for each stored modality. Every writer is atomic (see :mod:`simgen.io.atomic`).

All images are rows top-down (row 0 = top), pixel (col 0, row 0) first.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import OpenEXR

from simgen.io.atomic import atomic_write
from simgen.jsonable import to_jsonable

#: Middlebury .flo magic number (the bytes spell "PIEH")
FLO_MAGIC = 202021.25
#: value written for unknown flow; readers treat |value| > FLO_UNKNOWN_THRESHOLD as unknown
FLO_UNKNOWN = 1e10
FLO_UNKNOWN_THRESHOLD = 1e9
EXR_COMPRESSION = OpenEXR.ZIP_COMPRESSION


class FormatError(ValueError):
    """A file does not follow its format (bad magic, truncated, wrong channels)."""


def _put_bytes(path: Path, data: bytes, atomic: bool) -> None:
    if atomic:
        atomic_write(path, lambda p: Path(p).write_bytes(data))
    else:
        Path(path).write_bytes(data)


# ---- PNG ------------------------------------------------------------------------------------------------------

def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) or (H, W, 3) uint8/uint16 image given in RGB order (converted to OpenCV's BGR)."""
    a = np.ascontiguousarray(img)
    if a.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG needs uint8 or uint16, got {a.dtype}")
    if a.ndim == 3:
        if a.shape[2] != 3:
            raise ValueError(f"PNG colour image must be (H, W, 3), got {a.shape}")
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    elif a.ndim != 2:
        raise ValueError(f"PNG image must be (H, W) or (H, W, 3), got {a.shape}")
    ok, buf = cv2.imencode(".png", a, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise OSError("PNG encoding failed")
    return buf.tobytes()


def write_png(path: Path, img: np.ndarray, atomic: bool = True) -> None:
    """Write an RGB (H, W, 3) or single-channel (H, W) uint8/uint16 PNG (atomically unless ``atomic=False``)."""
    _put_bytes(path, encode_png(img), atomic)


def read_png(path: Path) -> np.ndarray:
    """Read a PNG unchanged: (H, W) uint8/uint16, or (H, W, 3) in RGB order."""
    return decode_png(Path(path).read_bytes(), str(path))


def decode_png(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode PNG bytes unchanged: (H, W) uint8/uint16, or (H, W, 3) in RGB order."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FormatError(f"{name}: not a readable PNG")
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return img


def write_rgb(path: Path, rgb: np.ndarray, atomic: bool = True) -> None:
    """rgb: (H, W, 3) uint8 sRGB, RGB order -> 8-bit PNG."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    write_png(path, rgb, atomic)


def write_semantic(path: Path, semantic: np.ndarray, atomic: bool = True) -> None:
    """semantic: (H, W) uint8 class ids -> 8-bit single-channel PNG."""
    if semantic.dtype != np.uint8 or semantic.ndim != 2:
        raise ValueError(f"semantic must be (H, W) uint8, got {semantic.shape} {semantic.dtype}")
    write_png(path, semantic, atomic)


def write_instance(path: Path, instance: np.ndarray, atomic: bool = True) -> None:
    """instance: (H, W) uint16 instance ids -> 16-bit single-channel PNG."""
    if instance.dtype != np.uint16 or instance.ndim != 2:
        raise ValueError(f"instance must be (H, W) uint16, got {instance.shape} {instance.dtype}")
    write_png(path, instance, atomic)


# ---- OpenEXR --------------------------------------------------------------------------------------------------

def write_exr(path: Path, channels: dict[str, np.ndarray], atomic: bool = True) -> None:
    """Write float32 (H, W) channels to a single-part scanline OpenEXR file (ZIP compression, lossless)."""
    chans = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in channels.items()}
    shapes = {v.shape for v in chans.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"EXR channels must share one (H, W) shape, got {shapes}")
    header = {"compression": EXR_COMPRESSION, "type": OpenEXR.scanlineimage}

    def _write(tmp: Path) -> None:
        with OpenEXR.File(header, chans) as f:
            f.write(str(tmp))

    if atomic:
        atomic_write(path, _write)
    else:
        _write(Path(path))


def read_exr(path) -> dict[str, np.ndarray]:
    """All channels of an OpenEXR file (every part) as (H, W) arrays (float32 for FLOAT channels).
    path: a file path or a binary file object (e.g. ``io.BytesIO`` of the file's bytes)."""
    out: dict[str, np.ndarray] = {}
    try:
        with OpenEXR.File(path if hasattr(path, "read") else str(path), separate_channels=True) as f:
            for part in f.parts:
                for name, ch in part.channels.items():
                    out[name] = np.array(ch.pixels)
    except Exception as err:  # the OpenEXR binding raises plain RuntimeError/ValueError
        raise FormatError(f"{path}: cannot read OpenEXR ({err})") from err
    return out


def write_depth(path: Path, depth: np.ndarray, atomic: bool = True) -> None:
    """depth: (H, W) float32 planar metres, +inf = no surface -> EXR with one FLOAT channel ``Z``."""
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got {depth.shape}")
    write_exr(path, {"Z": depth}, atomic)


def read_depth(path: Path) -> np.ndarray:
    """(H, W) float32 planar depth (metres, +inf = none) from channel ``Z``."""
    ch = read_exr(path)
    if "Z" not in ch:
        raise FormatError(f"{path}: no channel 'Z' (has {sorted(ch)})")
    return ch["Z"].astype(np.float32, copy=False)


def write_normal(path: Path, normal: np.ndarray, atomic: bool = True) -> None:
    """normal: (H, W, 3) float32 OpenCV-camera-frame unit normals -> EXR channels ``X``, ``Y``, ``Z``."""
    if normal.ndim != 3 or normal.shape[2] != 3:
        raise ValueError(f"normal must be (H, W, 3), got {normal.shape}")
    write_exr(path, {"X": normal[..., 0], "Y": normal[..., 1], "Z": normal[..., 2]}, atomic)


def read_normal(path: Path) -> np.ndarray:
    """(H, W, 3) float32 normals from channels ``X``, ``Y``, ``Z``."""
    ch = read_exr(path)
    missing = {"X", "Y", "Z"} - set(ch)
    if missing:
        raise FormatError(f"{path}: missing channels {sorted(missing)}")
    return np.stack([ch["X"], ch["Y"], ch["Z"]], -1).astype(np.float32, copy=False)


REFLECTION_CHANNELS = ("direct", "mirror", "glass")


def write_reflection(path: Path, reflection: np.ndarray, atomic: bool = True) -> None:
    """reflection: (H, W, 3) float32 in [0, 1] -> EXR channels ``direct``, ``mirror``, ``glass``."""
    write_exr(path, {n: reflection[..., i] for i, n in enumerate(REFLECTION_CHANNELS)}, atomic)


def read_reflection(path: Path) -> np.ndarray:
    ch = read_exr(path)
    return np.stack([ch[n] for n in REFLECTION_CHANNELS], -1).astype(np.float32, copy=False)


REFLECTION_STRENGTH_CHANNELS = ("mirror", "glass")


def write_reflection_strength(path: Path, strength: np.ndarray, atomic: bool = True) -> None:
    """strength: (H, W, 2) float32 in [0, 1] -> EXR channels ``mirror``, ``glass``."""
    write_exr(path, {n: strength[..., i] for i, n in enumerate(REFLECTION_STRENGTH_CHANNELS)}, atomic)


def read_reflection_strength(path: Path) -> np.ndarray:
    ch = read_exr(path)
    missing = set(REFLECTION_STRENGTH_CHANNELS) - set(ch)
    if missing:
        raise FormatError(f"{path}: missing channels {sorted(missing)}")
    return np.stack([ch[n] for n in REFLECTION_STRENGTH_CHANNELS], -1).astype(np.float32, copy=False)


# ---- Middlebury .flo ------------------------------------------------------------------------------------------

def encode_flo(flow: np.ndarray, valid: np.ndarray | None = None) -> bytes:
    """Middlebury .flo bytes: float32 magic 202021.25, int32 width, int32 height, then row-major float32 (u, v)
    pairs, little-endian. flow: (H, W, 2) pixels (u right, v down). Pixels that are invalid (``valid`` False,
    non-finite, or |value| > 1e9) are written as 1e10 in both components."""
    f = np.asarray(flow, np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ValueError(f"flow must be (H, W, 2), got {f.shape}")
    bad = ~np.all(np.isfinite(f) & (np.abs(f) <= FLO_UNKNOWN_THRESHOLD), -1)
    if valid is not None:
        bad |= ~np.asarray(valid, bool)
    f = f.copy()
    f[bad] = FLO_UNKNOWN
    h, w = f.shape[:2]
    header = np.array([FLO_MAGIC], "<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    return header + f.astype("<f4").tobytes()


def write_flo(path: Path, flow: np.ndarray, valid: np.ndarray | None = None, atomic: bool = True) -> None:
    """Write a .flo file (see :func:`encode_flo`), atomically unless ``atomic=False``."""
    _put_bytes(path, encode_flo(flow, valid), atomic)


def decode_flo(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """(H, W, 2) float32 flow exactly as stored (unknown values stay > 1e9; see :func:`flo_valid`)."""
    if len(data) < 12:
        raise FormatError(f"{name}: too short for a .flo header")
    magic = np.frombuffer(data[:4], "<f4")[0]
    if magic != np.float32(FLO_MAGIC):
        raise FormatError(f"{name}: bad .flo magic {magic!r}")
    w, h = (int(x) for x in np.frombuffer(data[4:12], "<i4"))
    if w <= 0 or h <= 0 or w * h > 1 << 31:
        raise FormatError(f"{name}: bad .flo size {w}x{h}")
    if len(data) - 12 != w * h * 8:
        raise FormatError(f"{name}: .flo holds {len(data) - 12} data bytes, expected {w * h * 8}")
    body = np.frombuffer(data[12:], "<f4")
    return body.reshape(h, w, 2).astype(np.float32)


def read_flo(path: Path) -> np.ndarray:
    return decode_flo(Path(path).read_bytes(), str(path))


def flo_valid(flow: np.ndarray) -> np.ndarray:
    """(H, W) bool: both components finite and at most 1e9 in magnitude."""
    return np.all(np.isfinite(flow) & (np.abs(flow) <= FLO_UNKNOWN_THRESHOLD), -1)


# ---- JSON -----------------------------------------------------------------------------------------------------

def dumps(obj, indent: int | None = 2) -> str:
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


def write_json(path: Path, obj, atomic: bool = True) -> None:
    """Write strict JSON (no NaN/inf; non-finite floats become null), UTF-8, atomically unless ``atomic=False``."""
    _put_bytes(path, (dumps(obj) + "\n").encode("utf-8"), atomic)


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
