"""The sensor: photo-electrons, noise, saturation, analog gain, ADC and (optionally) the Bayer mosaic.

Noise model (input-referred, electrons e-), per photosite and frame::

    e      = Poisson(mu * (1 + PRNU) + dark_current * t) + Normal(0, read_noise) + row[r] + column[c]
    y      = clip(gain * min(e, full_well) / full_well, ..., 1)      raw signal, 1 = full scale
    DN     = round((y + black_level) * (2**adc_bits - 1)), clipped to the ADC range; y = DN / max - black_level

so on a flat field (fixed pattern and PRNU off, or removed by differencing frames) the variance of ``y`` is the
straight line ``Var(y) = (gain / full_well) * E[y] + (gain * read_noise / full_well)**2 + q**2 / 12`` with
``q = 1 / (2**adc_bits - 1)`` (:func:`expected_variance`). PRNU, row and column offsets are fixed per camera
(seeded once), the rest is drawn anew every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: raw signal offset (fraction of full scale) so that noise below black survives the ADC
BLACK_LEVEL = 0.02
#: relative spectral response of the raw R, G, B channels to a white (D65) object: green most sensitive
RAW_RESPONSE = np.array([0.55, 1.0, 0.70], np.float32)
#: "sunny 16" calibration: raw signal y = L * CALIBRATION * t * ISO / N**2 (L = renderer linear value)
CALIBRATION = 256.0
#: cv2.demosaicing codes for our RGGB mosaic (checked by a test: a flat colour survives the round trip)
_DEMOSAIC = {"bilinear": cv2.COLOR_BayerBG2RGB, "edge_aware": cv2.COLOR_BayerBG2RGB_EA}


@dataclass
class FixedPattern:
    """Per-camera fixed-pattern noise: row (H,) and column (W,) offsets in e-, PRNU gain (H, W) or None."""

    row: np.ndarray
    column: np.ndarray
    prnu: np.ndarray | None


def make_fixed_pattern(width: int, height: int, row_noise_e: float, column_noise_e: float, prnu: float,
                       rng: np.random.Generator) -> FixedPattern:
    row = (rng.standard_normal(height) * row_noise_e).astype(np.float32)
    col = (rng.standard_normal(width) * column_noise_e).astype(np.float32)
    gain = (1.0 + prnu * rng.standard_normal((height, width))).astype(np.float32) if prnu > 0 else None
    return FixedPattern(row=row, column=col, prnu=gain)


def expected_variance(mean_y: np.ndarray | float, gain: float, full_well_e: float, read_noise_e: float,
                      adc_bits: int) -> np.ndarray | float:
    """Temporal variance of the raw signal at mean ``mean_y`` (fixed pattern excluded): shot + read + ADC."""
    q = 1.0 / (2**adc_bits - 1)
    return (gain / full_well_e) * np.asarray(mean_y) + (gain * read_noise_e / full_well_e) ** 2 + q * q / 12.0


def mosaic(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W) RGGB colour-filter samples (R at (0, 0), B at (1, 1))."""
    m = np.empty(img.shape[:2], img.dtype)
    m[0::2, 0::2] = img[0::2, 0::2, 0]
    m[0::2, 1::2] = img[0::2, 1::2, 1]
    m[1::2, 0::2] = img[1::2, 0::2, 1]
    m[1::2, 1::2] = img[1::2, 1::2, 2]
    return m


def capture(electrons: np.ndarray, gain: float, exposure_time_s: float, p, fpn: FixedPattern,
            rng: np.random.Generator) -> np.ndarray:
    """Raw signal of one frame.

    electrons: mean photo-electrons, (H, W, 3) float32 (per channel, already including :data:`RAW_RESPONSE`).
    gain: analog gain (ISO / base ISO). p: :class:`~simgen.sensor.params.SensorParams`. Returns the raw signal
    ``y`` (black level removed, 1 = full scale), (H, W, 3) float32; with ``p.bayer`` the mosaic is demosaiced.
    """
    mu = mosaic(electrons) if p.bayer else electrons
    if fpn.prnu is not None:
        mu = mu * (fpn.prnu if mu.ndim == 2 else fpn.prnu[..., None])
    lam = np.maximum(mu, 0.0).astype(np.float64) + p.dark_current_e_s * exposure_time_s
    e = rng.poisson(lam).astype(np.float32)
    if p.read_noise_e > 0:
        e += rng.standard_normal(e.shape, dtype=np.float32) * np.float32(p.read_noise_e)
    if p.row_noise_e > 0 or p.column_noise_e > 0:
        off = fpn.row[:, None] + fpn.column[None, :]
        e += off if e.ndim == 2 else off[..., None]
    e = np.minimum(e, np.float32(p.full_well_e))
    top = 2**p.adc_bits - 1
    dn = np.clip(np.rint((e * np.float32(gain / p.full_well_e) + BLACK_LEVEL) * top), 0, top)
    if p.bayer:
        dn = cv2.demosaicing(dn.astype(np.uint16), _DEMOSAIC[p.demosaic])
    return dn.astype(np.float32) * np.float32(1.0 / top) - np.float32(BLACK_LEVEL)
