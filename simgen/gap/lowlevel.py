"""Hand-crafted low-level image statistics: the "is it the pixels?" part of a domain gap.

:func:`lowlevel_features` maps one ``(H, W, 3)`` uint8 RGB image to a float32 vector whose entries are named by
:data:`LOWLEVEL_FEATURE_NAMES`, so a distance can be reported per statistic. Luma ``Y`` is the 8-bit BT.601
weighting of R, G, B (``0.299 R + 0.587 G + 0.114 B``). Values:

* ``mean_brightness``, ``contrast``: mean and standard deviation of ``Y / 255`` (unitless, 0..1).
* ``mean_r``, ``mean_g``, ``mean_b``: channel means / 255 (a colour cast moves them apart).
* ``saturation_mean``, ``saturation_std``: HSV saturation ``(max - min) / max`` (0..1).
* ``colorfulness``: ``sqrt(sd_rg² + sd_yb²) + 0.3 sqrt(mean_rg² + mean_yb²)`` with ``rg = R - G``,
  ``yb = (R + G) / 2 - B`` on the 0..1 scale.
* ``noise_sigma``: robust estimate of additive noise, 8-bit levels: the image is filtered with the 3×3 kernel
  ``[[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` (which cancels smooth content up to second order; white noise of
  standard deviation σ comes out with standard deviation 6σ) and σ = 1.4826 · median(|response|) / 6.
* ``sharpness``: ``log10(1 + var(Laplacian(Y)))`` (Y in 8-bit levels; 3×3 Laplacian). Blur lowers it.
* ``spectrum_slope``: slope of log power vs log spatial frequency of the Hann-windowed luma, fitted over
  radial frequencies 0.02..0.35 cycles/pixel (natural photographs are near -2; blur makes it steeper, noise
  flatter).
* ``edge_density``: share of pixels marked by the Canny detector (thresholds 100 / 200 on Y).
* ``clip_low``, ``clip_high``: share of pixels with Y ≤ 2 or Y ≥ 253 (crushed shadows / blown highlights).
* ``hist_<c>_<k>``: 16-bin histogram of channel ``c`` in ``r, g, b`` (bin ``k`` covers levels
  ``16k .. 16k + 15``), normalised to sum 1.

Statistics depend on resolution; the ``lowlevel`` backbone resizes every image to one fixed size first (its
:class:`~simgen.gap.preprocess.Preprocess`), the same for both sets.
"""

from __future__ import annotations

import numpy as np

HIST_BINS = 16

SCALAR_FEATURE_NAMES: tuple[str, ...] = (
    "mean_brightness",
    "contrast",
    "mean_r",
    "mean_g",
    "mean_b",
    "saturation_mean",
    "saturation_std",
    "colorfulness",
    "noise_sigma",
    "sharpness",
    "spectrum_slope",
    "edge_density",
    "clip_low",
    "clip_high",
)

HISTOGRAM_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"hist_{c}_{k:02d}" for c in "rgb" for k in range(HIST_BINS)
)

#: Names of the entries of :func:`lowlevel_features` vectors, in order.
LOWLEVEL_FEATURE_NAMES: tuple[str, ...] = SCALAR_FEATURE_NAMES + HISTOGRAM_FEATURE_NAMES

_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_SPECTRUM_BAND = (0.02, 0.35)


def _spectrum_slope(y: np.ndarray) -> float:
    """Slope of log10 power vs log10 radial frequency (cycles/pixel) of a float luma image."""
    h, w = y.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float64)
    f = np.fft.rfft2((y - y.mean()) * win)
    power = (f.real ** 2 + f.imag ** 2)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    r = np.sqrt(fy ** 2 + fx ** 2)
    lo, hi = _SPECTRUM_BAND
    edges = np.geomspace(lo, hi, 21)
    idx = np.digitize(r.ravel(), edges) - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    sums = np.bincount(idx[ok], weights=power.ravel()[ok], minlength=len(edges) - 1)
    counts = np.bincount(idx[ok], minlength=len(edges) - 1)
    good = (counts > 0) & (sums > 0)
    if good.sum() < 3:
        return 0.0
    centres = np.sqrt(edges[:-1] * edges[1:])[good]
    mean_power = sums[good] / counts[good]
    slope, _ = np.polyfit(np.log10(centres), np.log10(mean_power), 1)
    return float(slope)


def lowlevel_features(img: np.ndarray) -> np.ndarray:
    """Low-level statistics of one image: ``(H, W, 3)`` uint8 RGB -> float32 ``(len(LOWLEVEL_FEATURE_NAMES),)``."""
    import cv2

    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {getattr(img, 'dtype', type(img))} "
                         f"{getattr(img, 'shape', '')}")
    y8 = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    y = y8.astype(np.float32)
    rgb = img.astype(np.float32) / 255.0

    sat = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32) / 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    colorfulness = float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))

    resp = cv2.filter2D(y, cv2.CV_32F, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    noise = float(1.4826 * np.median(np.abs(resp)) / 6.0) if resp.size else 0.0

    lap = cv2.Laplacian(y, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    sharp = float(np.log10(1.0 + lap.var(dtype=np.float64)))

    edges = cv2.Canny(y8, 100, 200)
    n = float(y8.size)
    scalars = [
        float(y.mean() / 255.0),
        float(y.std() / 255.0),
        float(rgb[..., 0].mean()),
        float(rgb[..., 1].mean()),
        float(rgb[..., 2].mean()),
        float(sat.mean()),
        float(sat.std()),
        colorfulness,
        noise,
        sharp,
        _spectrum_slope(y.astype(np.float64)) if min(y.shape) >= 16 else 0.0,
        float(np.count_nonzero(edges) / n),
        float(np.count_nonzero(y8 <= 2) / n),
        float(np.count_nonzero(y8 >= 253) / n),
    ]
    hists = []
    step = 256 // HIST_BINS
    for c in range(3):
        counts = np.bincount((img[..., c] // step).ravel(), minlength=HIST_BINS).astype(np.float64)
        hists.append(counts / counts.sum())
    out = np.concatenate([np.asarray(scalars, np.float64), *hists]).astype(np.float32)
    assert out.shape == (len(LOWLEVEL_FEATURE_NAMES),)
    return out


def lowlevel_batch(images: np.ndarray) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 RGB -> float32 ``(N, len(LOWLEVEL_FEATURE_NAMES))``."""
    return np.stack([lowlevel_features(im) for im in images]) if len(images) else np.zeros(
        (0, len(LOWLEVEL_FEATURE_NAMES)), np.float32)


__all__ = ["LOWLEVEL_FEATURE_NAMES", "SCALAR_FEATURE_NAMES", "HISTOGRAM_FEATURE_NAMES", "lowlevel_features",
           "lowlevel_batch", "HIST_BINS"]
