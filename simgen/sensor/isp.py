"""The image signal processor: raw signal -> 8-bit sRGB image.

white balance -> digital gain (the exposure target to mid grey) -> saturation -> tone curve (display encoding)
-> contrast S-curve -> chroma denoise -> sharpening -> 8-bit quantisation -> optional JPEG. Inputs are ``(H, W, 3) float32`` raw
signals (1 = full well), outputs ``(H, W, 3) uint8`` RGB.
"""

from __future__ import annotations

import cv2
import numpy as np

from simgen.sensor.raw import RAW_RESPONSE

#: mid grey (linear) that the exposure target is mapped to before the tone curve
MID_GREY = 0.18
#: aces_filmic(MID_GREY * FILMIC_SCALE) == MID_GREY (solved numerically)
FILMIC_SCALE = 0.72317
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
#: wavelengths (nm) standing for the raw R, G, B channels in the white-balance colour-temperature model
_WAVELENGTHS_NM = np.array([600.0, 540.0, 460.0])


def planck_rgb(kelvin: float) -> np.ndarray:
    """Relative R, G, B of a black body at ``kelvin`` (Planck's law at :data:`_WAVELENGTHS_NM`), G = 1, and
    normalised so that 6504 K (D65) is (1, 1, 1). (3,) float32."""

    def spec(t: float) -> np.ndarray:
        lam = _WAVELENGTHS_NM * 1e-9
        return 1.0 / (lam**5 * (np.exp(1.4388e-2 / (lam * t)) - 1.0))

    rel = spec(float(kelvin)) / spec(6504.0)
    return (rel / rel[1]).astype(np.float32)


#: how far from neutral (|log R/G|, |log B/G| after the current estimate) a pixel may be to count as grey
NEAR_GREY_LOG = 0.2
#: the same under the daylight gains, for the first estimate (the grey zone around daylight: overcast to sunset)
GREY_ZONE_LOG = 0.35


def white_balance_gains(raw: np.ndarray, mode: str, kelvin: float) -> np.ndarray:
    """(3,) float32 per-channel gains (G = 1) that make a neutral surface grey.

    fixed: the camera assumes a black-body illuminant at ``kelvin``. auto: grey world on the unclipped pixels
    near grey under daylight (within :data:`GREY_ZONE_LOG`; all of them when fewer than 2 % are), then (twice)
    grey world on the pixels that are near grey under that estimate (within
    :data:`NEAR_GREY_LOG` of neutral in log R/G and B/G, if at least 2 % of them are): a lawn or a red wall
    filling half the frame does not tint the pavement. The result is pulled 80 % of the way from the daylight
    gains (in log space) and limited to 0.5..2 times them, as a real auto white balance that keeps some of the
    light's colour.
    """
    daylight = 1.0 / RAW_RESPONSE
    if mode == "fixed":
        return (daylight / planck_rgb(kelvin)).astype(np.float32)
    small = raw[::4, ::4].reshape(-1, 3).astype(np.float64)
    ok = small.max(1) < 0.95
    px = small[ok] if ok.sum() > 16 else small
    enough = max(16, 0.02 * len(px))

    def near_grey(gains: np.ndarray, tol: float) -> np.ndarray:
        bal = np.maximum(px * gains, 1e-9)
        return np.abs(np.log(bal[:, [0, 2]] / bal[:, [1]])).max(1) < tol

    # start from the pixels near grey under daylight (the sensor's grey zone), else from plain grey world
    near = near_grey(daylight, GREY_ZONE_LOG)
    means = np.maximum((px[near] if near.sum() >= enough else px).mean(0), 1e-6)
    for _ in range(2):
        near = near_grey(means[1] / means, NEAR_GREY_LOG)
        if near.sum() < enough:
            break
        means = np.maximum(px[near].mean(0), 1e-6)
    grey = means[1] / means
    rel = np.clip(grey / daylight, 0.5, 2.0) ** 0.8
    return (daylight * rel).astype(np.float32)


def aces_filmic(x: np.ndarray) -> np.ndarray:
    """Narkowicz's fit of the ACES filmic curve, display-linear output in 0..1 (highlights roll off)."""
    return np.clip((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0)


def srgb_oetf(x: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (linear 0..1 -> encoded 0..1)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4, dtype=np.float32) - 0.055)


def tone(x: np.ndarray, curve: str, gamma: float) -> np.ndarray:
    """Display encoding of linear ``x`` (mid grey = :data:`MID_GREY`): srgb, gamma or filmic."""
    if curve == "srgb":
        return srgb_oetf(x)
    if curve == "gamma":
        return np.power(np.clip(x, 0.0, 1.0), 1.0 / gamma, dtype=np.float32)
    if curve == "filmic":
        # scaled so that mid grey stays mid grey through the roll-off: aces_filmic(0.18 * FILMIC_SCALE) = 0.18
        return srgb_oetf(aces_filmic(x * np.float32(FILMIC_SCALE)))
    raise ValueError(f"unknown tone curve {curve!r}")


def s_curve(v: np.ndarray, contrast: float) -> np.ndarray:
    """Contrast S-curve on display values ``v`` in 0..1: ``v - c sin(2 pi v) / (2 pi)``. Keeps 0, 0.5 and 1,
    slope 1 + c at mid grey and 1 - c at the ends (monotonic for c <= 1). Same shape and dtype as ``v``."""
    two_pi = np.float32(2 * np.pi)
    return (v - np.float32(contrast) * np.sin(two_pi * v) / two_pi).astype(v.dtype, copy=False)


def develop(raw: np.ndarray, p, wb: np.ndarray) -> np.ndarray:
    """Raw signal (H, W, 3) float32 -> display-encoded (H, W, 3) float32 in 0..1 (before quantisation)."""
    x = raw * (wb * np.float32(MID_GREY / p.ae_target))
    if p.saturation != 1.0:
        y = (x @ _LUMA)[..., None]
        x = y + np.float32(p.saturation) * (x - y)
    out = tone(x.astype(np.float32, copy=False), p.tone_curve, p.gamma).astype(np.float32, copy=False)
    if p.contrast > 0:
        out = s_curve(out, p.contrast)
    if p.chroma_denoise_px > 0:
        ycc = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)
        for c in (1, 2):
            ycc[..., c] = cv2.GaussianBlur(ycc[..., c], (0, 0), p.chroma_denoise_px)
        out = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    if p.sharpen > 0:
        out = cv2.addWeighted(out, 1.0 + p.sharpen, cv2.GaussianBlur(out, (0, 0), 1.0), -p.sharpen, 0.0)
    return out


def quantise(img: np.ndarray) -> np.ndarray:
    """0..1 float -> (H, W, 3) uint8 (rounded, clipped)."""
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode (H, W, 3) uint8 RGB as a baseline JPEG (4:2:0) at ``quality`` (1..100) and decode it again."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def video_roundtrip(previous: np.ndarray | None, current: np.ndarray) -> np.ndarray:
    """Code ``current`` (H, W, 3) uint8 RGB as an inter frame of an MPEG-4 Part 2 stream (OpenCV's FFmpeg
    ``mp4v`` encoder at its default rate), predicted from ``previous`` (None: an intra frame), and decode it:
    block artefacts that move with the picture, smeared detail in motion. H.264 itself is not in OpenCV's FFmpeg
    build; this is the nearest codec it has."""
    import tempfile
    from pathlib import Path

    h, w = current.shape[:2]
    frames = [current] if previous is None else [previous, current]
    with tempfile.TemporaryDirectory(prefix="simgen-video-") as tmp:
        path = str(Path(tmp) / "clip.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
        if not writer.isOpened():  # pragma: no cover - the OpenCV wheels have mp4v
            raise RuntimeError("OpenCV cannot write MPEG-4 video here")
        for f in frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        writer.release()
        cap = cv2.VideoCapture(path)
        out = None
        for _ in frames:
            ok, out = cap.read()
            if not ok:  # pragma: no cover
                raise RuntimeError("OpenCV could not decode its own MPEG-4 clip")
        cap.release()
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
