"""One camera's sensor over a sequence: linear render -> 8-bit image, with auto-exposure state frame to frame.

Input: the renderer's linear scene-referred RGB (the Combined pass, before any view transform), ``(H, W, 3)
float32``, Rec.709 primaries, in the renderer's units. Output: ``(H, W, 3) uint8`` sRGB-encoded RGB.

Stages: lens
(:mod:`simgen.sensor.optics`) -> photo-electrons ``e = L * RAW_RESPONSE * CALIBRATION * t * base_iso / N**2 *
full_well`` -> sensor noise, gain and ADC (:mod:`simgen.sensor.raw`) -> ISP (:mod:`simgen.sensor.isp`).

Auto exposure: the exposure ``X = t * gain`` (seconds at unity gain) of frame f was decided from the frames before
it, as in a real camera. After each frame the meter reads the (noise-free) luminance the sensor saw and moves
``log X`` towards the value that puts the metered level at ``ae_target`` (lowered by ``(metered / daylight) **
ae_dark_bias`` in scenes darker than daylight, so that night stays darker than day), as a first-order system with time
constant ``ae_time_constant_s``: ``log X_{f+1} = log X_f + (1 - exp(-1 / (fps * tau))) (log X* - log X_f)``.
The auto white balance's gains follow their per-frame grey-world estimate in the same way.
Longer exposure times are preferred to gain (up to ``min(max_exposure_time_s, 1 / fps)``), as sensors do to keep
noise low. The first frame starts converged on its own light level (:meth:`Sensor.prime`).

Randomness: the fixed pattern and the lens dirt come from the streams ``<prefix>/fixed_pattern`` and
``<prefix>/dirt``, each frame's noise from ``<prefix>/noise/<frame>`` (``rng(name)`` gives the generator;
:func:`scene_streams` builds it from the scene seed with :func:`simgen.rng.stream`): deterministic per seed,
independent of the order in which frames are processed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from simgen.rng import stream
from simgen.sensor import isp, optics, raw
from simgen.sensor.params import SensorParams

RngFactory = Callable[[str], np.random.Generator]
#: the auto exposure meter clips luminance at this percentile, so lamps and the sun do not darken the street
METER_PERCENTILE = 98.0
#: metered level (renderer units) of a sunlit street: below it, ``ae_dark_bias`` lowers the exposure target
DAYLIGHT_METERED = 0.12


def scene_streams(seed: int, scene: str, variant: int, camera: str) -> RngFactory:
    """``rng(name)`` = :func:`simgen.rng.stream` ``(seed, scene, variant, "sensor/<camera>/<name>")``."""
    return lambda name: stream(seed, scene, variant, f"sensor/{camera}/{name}")


def luminance(img: np.ndarray) -> np.ndarray:
    """Rec.709 luminance of (H, W, 3) linear RGB -> (H, W) float32."""
    return img @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def meter(linear: np.ndarray) -> float:
    """Metered light level of a linear image: mean luminance of a 1/8-size copy, clipped at the 98th percentile."""
    h, w = linear.shape[:2]
    small = cv2.resize(linear, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    y = luminance(small)
    top = float(np.percentile(y, METER_PERCENTILE))
    return float(np.minimum(y, top).mean())


@dataclass
class FrameInfo:
    """What the camera did for one frame: exposure_time_s, iso, gain (analog), exposure (t * gain, s),
    wb_gains (R, G, B), metered (light level the meter read, renderer units)."""

    frame: int
    exposure_time_s: float
    iso: float
    gain: float
    exposure: float
    wb_gains: list[float]
    metered: float

    def as_dict(self) -> dict:
        return {"frame": self.frame, "exposure_time_s": self.exposure_time_s, "iso": self.iso, "gain": self.gain,
                "wb_gains": self.wb_gains, "metered": self.metered}


@dataclass
class Sensor:
    """The sensor model of one camera; call :meth:`process` on the frames of a sequence in order.

    params: the camera's :class:`SensorParams`. width, height: image size (px). fps: frame rate of the sequence
    (the auto exposure's time step, and the longest exposure). rng: named random streams (see the module doc).
    ev_bias: exposure compensation in stops (the scene's and render config's ``exposure``): the auto exposure
    aims at ``2**ev_bias`` times its target (a longer exposure or more gain, as a camera's compensation dial);
    in manual mode the exposure is ``2**ev_bias`` times the one set.
    """

    params: SensorParams
    width: int
    height: int
    fps: float
    rng: RngFactory
    ev_bias: float = 0.0
    _exposure: float | None = field(default=None, init=False)  # X = t * gain for the next frame
    _wb: np.ndarray | None = field(default=None, init=False)  # white-balance gains of the last frame
    _previous: np.ndarray | None = field(default=None, init=False)  # last frame before video coding
    _lens: optics.LensMaps = field(init=False)
    _fpn: raw.FixedPattern = field(init=False)

    def __post_init__(self) -> None:
        p = self.params
        self._lens = optics.make_lens_maps(self.width, self.height, p.vignetting, p.chromatic_aberration_px,
                                           p.lens_dirt, self.rng("dirt"))
        self._fpn = raw.make_fixed_pattern(self.width, self.height, p.row_noise_e, p.column_noise_e, p.prnu,
                                           self.rng("fixed_pattern"))

    # ---------------------------------------------------------------------------------------------- exposure
    @property
    def _k(self) -> float:
        """Raw signal per (renderer unit * second at unity gain): CALIBRATION * base_iso / N²."""
        p = self.params
        return raw.CALIBRATION * p.base_iso / p.f_number**2

    @property
    def _alpha(self) -> float:
        """Share of the way to its target the auto exposure / white balance moves per frame."""
        return 1.0 - math.exp(-1.0 / (self.fps * max(self.params.ae_time_constant_s, 1e-6)))

    @property
    def max_exposure_time_s(self) -> float:
        return min(self.params.max_exposure_time_s, 1.0 / self.fps)

    def _limits(self) -> tuple[float, float]:
        p = self.params
        return p.min_exposure_time_s, self.max_exposure_time_s * p.max_iso / p.base_iso

    def target_exposure(self, metered: float) -> float:
        """The exposure X = t * gain (s) that puts the metered level at ``ae_target`` (within the limits)."""
        lo, hi = self._limits()
        if metered <= 0:
            return hi
        p = self.params
        # below daylight, keep a dark scene darker (as cameras do: night stays night): target * (m / day)^bias
        dark = min(1.0, metered / DAYLIGHT_METERED) ** p.ae_dark_bias
        return float(np.clip(2.0**self.ev_bias * p.ae_target * dark / (metered * self._k), lo, hi))

    def split(self, exposure: float) -> tuple[float, float]:
        """(exposure_time_s, analog gain) for X = t * gain: longest time first, then gain."""
        p = self.params
        t = float(np.clip(exposure, p.min_exposure_time_s, self.max_exposure_time_s))
        g = float(np.clip(exposure / t, 1.0, p.max_iso / p.base_iso))
        return t, g

    @property
    def needs_prime(self) -> bool:
        """True before the first frame of an auto-exposed sequence (the exposure is not known yet)."""
        return self.params.exposure_mode == "auto" and self._exposure is None

    def prime(self, linear: np.ndarray) -> None:
        """Start the auto exposure converged on this (linear, (H, W, 3) float32) image's light level."""
        lens = optics.apply_optics(np.asarray(linear, np.float32), self.params, self._lens)
        self._exposure = self.target_exposure(meter(lens))

    def next_exposure(self) -> tuple[float, float]:
        """(exposure_time_s, gain) the next frame will use (manual mode: the fixed values). For the shutter
        interval of the renderer's motion blur. Raises RuntimeError before :meth:`prime` in auto mode."""
        p = self.params
        if p.exposure_mode == "manual":
            return min(p.exposure_time_s, 1.0 / self.fps), p.iso / p.base_iso
        if self._exposure is None:
            raise RuntimeError("auto exposure not primed: call prime() with the first frame")
        return self.split(self._exposure)

    # ------------------------------------------------------------------------------------------------ frames
    def capture_raw(self, linear: np.ndarray, frame: int) -> tuple[np.ndarray, FrameInfo]:
        """Lens + sensor for one frame: the raw signal ``(H, W, 3) float32`` (1 = full well) and its FrameInfo.

        Advances the auto exposure (frames must come in order)."""
        if linear.shape != (self.height, self.width, 3):
            raise ValueError(f"expected a ({self.height}, {self.width}, 3) image, got {linear.shape}")
        p = self.params
        linear = np.nan_to_num(np.asarray(linear, np.float32), nan=0.0, posinf=1e6, neginf=0.0)
        lens = optics.apply_optics(linear, p, self._lens)
        metered = meter(lens)
        if self.needs_prime:
            self._exposure = self.target_exposure(metered)
        t, gain = self.next_exposure()
        bias = 2.0**self.ev_bias if p.exposure_mode == "manual" else 1.0  # auto: in the exposure target
        electrons = lens * (raw.RAW_RESPONSE * np.float32(self._k * bias * t * p.full_well_e))
        y = raw.capture(electrons, gain, t, p, self._fpn, self.rng(f"noise/{frame}"))
        if p.exposure_mode == "auto":
            target = self.target_exposure(metered)
            self._exposure = float(math.exp(math.log(self._exposure) + self._alpha * (math.log(target)
                                                                                       - math.log(self._exposure))))
        info = FrameInfo(frame=frame, exposure_time_s=t, iso=gain * p.base_iso, gain=gain, exposure=t * gain,
                         wb_gains=[], metered=metered)
        return y, info

    def process(self, linear: np.ndarray, frame: int) -> tuple[np.ndarray, FrameInfo]:
        """One frame: linear render (H, W, 3) float32 -> ((H, W, 3) uint8 RGB, FrameInfo)."""
        y, info = self.capture_raw(linear, frame)
        p = self.params
        wb = isp.white_balance_gains(y, p.white_balance, p.white_balance_k)
        if self._wb is not None and p.white_balance == "auto":  # the auto white balance settles like the AE
            wb = np.exp(np.log(self._wb) + self._alpha * (np.log(wb) - np.log(self._wb))).astype(np.float32)
        self._wb = wb
        info.wb_gains = [round(float(g), 4) for g in wb]
        rgb = isp.quantise(isp.develop(y, p, wb))
        if p.jpeg_quality > 0:
            rgb = isp.jpeg_roundtrip(rgb, p.jpeg_quality)
        if p.video_codec == "mpeg4":
            previous, self._previous = self._previous, rgb
            rgb = isp.video_roundtrip(previous, rgb)
        return rgb, info
