"""Lens effects on the linear scene radiance, before the sensor: optical blur, veiling glare (bloom) with lens
dirt, lateral chromatic aberration and vignetting.

Every function takes and returns a linear RGB image ``(H, W, 3) float32`` in the renderer's scene-linear units
(Rec.709 primaries); all are linear in the image, so their order does not matter except for glare, which scatters
the light that reaches the lens (it is applied first). Pixel (0, 0) is the top-left pixel's centre; the optical
centre is the image centre ``((W - 1) / 2, (H - 1) / 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class LensMaps:
    """Per-camera static maps (computed once per image size).

    vignette: (H, W, 1) float32 transmission (1 at the centre). ca_maps: ((H, W) float32 map_x, map_y) for the
    red channel and for the blue channel (cv2.remap sources), or None without chromatic aberration. dirt:
    (H, W, 1) float32 dirt density in 0..1, or None for a clean lens.
    """

    vignette: np.ndarray
    ca_maps: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None
    dirt: np.ndarray | None


def _radius(width: int, height: int) -> np.ndarray:
    """(H, W) float32 distance from the image centre, 1 at the corners."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    return np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / np.float32(np.hypot(cx, cy))


def vignette_map(width: int, height: int, strength: float) -> np.ndarray:
    """(H, W, 1) float32 transmission ``1 / (1 + a r²)²`` (natural cos⁴-like fall-off), ``1 - strength`` at the
    corners (r = 1)."""
    if strength <= 0:
        return np.ones((height, width, 1), np.float32)
    a = (1.0 - strength) ** -0.5 - 1.0  # (1 + a)^-2 = 1 - strength
    r = _radius(width, height)
    return (1.0 / (1.0 + a * r * r) ** 2)[..., None].astype(np.float32)


def ca_maps(width: int, height: int, shift_px: float):
    """cv2.remap maps that scale red outwards and blue inwards about the centre by ``shift_px / 2`` at the corners."""
    if shift_px <= 0:
        return None
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    corner = float(np.hypot(cx, cy))
    out = []
    for sign in (+1.0, -1.0):  # red magnified (its image lies further out), blue shrunk
        s = 1.0 + sign * 0.5 * shift_px / corner
        out.append((((x - cx) / s + cx).astype(np.float32), ((y - cy) / s + cy).astype(np.float32)))
    return out[0], out[1]


def dirt_map(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 1) float32 in 0..1: soft round specks and smudges of a dirty lens (seeded, fixed per camera)."""
    small_w, small_h = max(8, width // 4), max(8, height // 4)
    img = np.zeros((small_h, small_w), np.float32)
    n = int(rng.integers(25, 60))
    for _ in range(n):
        c = (int(rng.integers(0, small_w)), int(rng.integers(0, small_h)))
        r = int(max(1, rng.uniform(0.01, 0.06) * small_w))
        cv2.circle(img, c, r, float(rng.uniform(0.3, 1.0)), -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), max(1.0, 0.004 * small_w))
    smudge = cv2.GaussianBlur(rng.random((small_h, small_w)).astype(np.float32), (0, 0), 0.05 * small_w)
    smudge = (smudge - smudge.min()) / max(1e-6, float(np.ptp(smudge)))
    img = np.clip(img + 0.5 * smudge, 0, 1)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]


def make_lens_maps(width: int, height: int, vignetting: float, chromatic_aberration_px: float, lens_dirt: float,
                   rng: np.random.Generator) -> LensMaps:
    return LensMaps(vignette=vignette_map(width, height, vignetting),
                    ca_maps=ca_maps(width, height, chromatic_aberration_px),
                    dirt=dirt_map(width, height, rng) if lens_dirt > 0 else None)


def _wide_blur(img: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur with a large sigma, computed on a downsampled copy (cost independent of sigma)."""
    h, w = img.shape[:2]
    f = int(max(1, min(8, sigma_px // 3)))
    small = cv2.resize(img, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA) if f > 1 else img
    small = cv2.GaussianBlur(small, (0, 0), sigma_px / f, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) if f > 1 else small


def glare(img: np.ndarray, bloom: float, radius: float, lens_dirt: float, dirt: np.ndarray | None) -> np.ndarray:
    """Veiling glare: a share ``bloom`` of the light is spread by a two-scale Gaussian halo (sigma ``radius`` and
    ``4 radius`` of the image diagonal; energy conserved), so bright lights (lamps, headlights, sun) bloom while
    ordinary surfaces barely change. Lens dirt adds light scattered by the specks from a very wide halo."""
    if bloom <= 0 and (lens_dirt <= 0 or dirt is None):
        return img
    h, w = img.shape[:2]
    diag = float(np.hypot(w, h))
    out = img
    if bloom > 0:
        halo = 0.7 * _wide_blur(img, radius * diag) + 0.3 * _wide_blur(img, 4 * radius * diag)
        out = (1.0 - bloom) * img + bloom * halo
    if lens_dirt > 0 and dirt is not None:
        out = out + (0.05 * lens_dirt) * dirt * _wide_blur(img, 0.08 * diag)
    return out.astype(np.float32, copy=False)


def apply_optics(img: np.ndarray, p, maps: LensMaps) -> np.ndarray:
    """All lens effects of :class:`~simgen.sensor.params.SensorParams` ``p`` on linear ``(H, W, 3) float32``."""
    out = glare(img, p.bloom, p.bloom_radius, p.lens_dirt, maps.dirt)
    if p.lens_blur_px > 0:
        out = cv2.GaussianBlur(out, (0, 0), p.lens_blur_px, borderType=cv2.BORDER_REFLECT)
    if maps.ca_maps is not None:
        out = out.copy() if out is img else out
        (rx, ry), (bx, by) = maps.ca_maps
        out[..., 0] = cv2.remap(np.ascontiguousarray(out[..., 0]), rx, ry, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT)
        out[..., 2] = cv2.remap(np.ascontiguousarray(out[..., 2]), bx, by, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT)
    return (out * maps.vignette).astype(np.float32, copy=False)
