"""Camera sensor parameters and the named presets.

:class:`SensorParams` is the resolved, fully literal parameter set of one camera's sensor model (plain data that
round-trips through JSON; no randomness). The spec's ``camera.sensor`` block (:class:`simgen.spec.models.SensorSpec`)
names a preset from :data:`PRESETS` and overrides any field with a literal or a distribution; resolve merges them
into a :class:`SensorParams`. Preset ``none`` means no sensor model: the renderer's own view transform makes the
8-bit image (the behaviour before sensors existed).

Exposure calibration (see :mod:`simgen.sensor.pipeline`): the renderer's linear value ``L`` (scene exposure EV
applied as ``L * 2**EV``) is calibrated on the "sunny 16" rule: at f/16, ``1/ISO`` s, a value of 1 fills the
sensor exactly. The normalised raw signal is ``y = L * 2**EV * 256 * t * ISO / N**2`` (``t`` exposure time in s,
``ISO`` = ``base_iso * gain``, ``N`` the f-number), and ``y = 1`` is the full well.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PresetName = Literal["none", "automotive_front_hdr", "surround_fisheye", "cheap_dashcam", "roadside_cctv", "ideal"]
PRESET_NAMES: tuple[str, ...] = ("none", "automotive_front_hdr", "surround_fisheye", "cheap_dashcam", "roadside_cctv",
                                 "ideal")
#: the preset a camera gets when its spec says nothing (see docs/sensor.md)
DEFAULT_PRESET = "automotive_front_hdr"


class SensorParams(BaseModel):
    """One camera's sensor and image-signal-processing model, every value a literal.

    Units: seconds, electrons (e-), pixels of the output image; fractions are 0..1 unless stated.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str = Field(description="The preset these values started from.")
    # ---- exposure
    exposure_mode: Literal["auto", "manual"] = Field(description="auto: exposure follows the scene's light level.")
    exposure_time_s: float = Field(description="Manual exposure time (s).")
    iso: float = Field(description="Manual ISO (gain = iso / base_iso).")
    f_number: float = Field(description="Aperture f-number (both modes).")
    ae_target: float = Field(description="Mean metered raw signal the auto exposure aims at (fraction of full well); "
                                         "the ISP maps this level to mid grey.")
    ae_dark_bias: float = Field(description="How much darker the auto exposure keeps scenes darker than daylight: "
                                            "the target is scaled by (metered / daylight) ** ae_dark_bias (0 = "
                                            "every scene as bright as day).")
    ae_time_constant_s: float = Field(description="Time constant of the auto exposure's first-order response (s).")
    min_exposure_time_s: float = Field(description="Shortest exposure time of the auto exposure (s).")
    max_exposure_time_s: float = Field(description="Longest exposure time of the auto exposure (s); never more "
                                                   "than one frame interval.")
    max_iso: float = Field(description="Highest ISO the auto exposure may use.")
    # ---- sensor
    base_iso: float = Field(description="ISO at unity analog gain.")
    full_well_e: float = Field(description="Full-well capacity (e-): raw signal 1.0.")
    read_noise_e: float = Field(description="Gaussian read noise, input-referred (e- rms).")
    dark_current_e_s: float = Field(description="Dark current (e-/s), Poisson like the signal.")
    row_noise_e: float = Field(description="Row fixed-pattern offsets (e- rms), fixed per camera.")
    column_noise_e: float = Field(description="Column fixed-pattern offsets (e- rms), fixed per camera.")
    prnu: float = Field(description="Photo-response non-uniformity: per-pixel gain spread (fraction rms).")
    adc_bits: int = Field(description="ADC bit depth of the raw signal.")
    bayer: bool = Field(description="Sample through an RGGB colour filter array and demosaic (cv2.demosaicing).")
    demosaic: Literal["bilinear", "edge_aware"] = Field(description="Demosaicing algorithm (OpenCV's bilinear or EA).")
    # ---- image signal processing
    white_balance: Literal["auto", "fixed"] = Field(description="auto: grey world; fixed: for white_balance_k.")
    white_balance_k: float = Field(description="Illuminant colour temperature a fixed white balance assumes (K).")
    saturation: float = Field(description="Colour saturation gain (1 = unchanged).")
    tone_curve: Literal["srgb", "gamma", "filmic"] = Field(
        description="srgb: clip + sRGB OETF; gamma: clip + power 1/gamma; filmic: highlight roll-off + sRGB OETF.")
    gamma: float = Field(description="Exponent of the 'gamma' tone curve.")
    contrast: float = Field(description="S-curve contrast after the tone curve, 0..1 (0 = none): the display value v "
                                        "becomes v - contrast * sin(2 pi v) / (2 pi), which keeps 0, mid and 1 and "
                                        "pushes darks down and lights up, as a camera's 'contrast' setting.")
    sharpen: float = Field(description="Unsharp-mask amount on the output (0 = none).")
    chroma_denoise_px: float = Field(description="Gaussian blur of the chroma channels (sigma, px; 0 = none).")
    # ---- optics
    lens_blur_px: float = Field(description="Optical blur (Gaussian sigma, px).")
    vignetting: float = Field(description="Light fall-off in the image corners (fraction lost).")
    chromatic_aberration_px: float = Field(description="Lateral chromatic aberration: red/blue shift at the corners "
                                                       "(px, red outwards, blue inwards by half each).")
    bloom: float = Field(description="Share of the light scattered into a wide glare halo (veiling glare).")
    bloom_radius: float = Field(description="Glare halo size (Gaussian sigma as a fraction of the image diagonal).")
    lens_dirt: float = Field(description="Strength of dirt specks lit by bright lights (0 = clean lens).")
    # ---- output coding
    jpeg_quality: int = Field(description="JPEG quality 1..100 of the output (0 = no JPEG).")
    video_codec: Literal["none", "mpeg4"] = Field(
        description="Video coding of the output: mpeg4 = an MPEG-4 Part 2 inter frame predicted from the previous "
                    "frame (the nearest to H.264 that OpenCV ships).")


_BASE = dict(
    exposure_mode="auto", exposure_time_s=0.005, iso=100.0, f_number=1.8, ae_target=0.12, ae_dark_bias=0.2, ae_time_constant_s=0.25,
    min_exposure_time_s=5e-6, max_exposure_time_s=1 / 30, max_iso=1600.0,
    base_iso=100.0, full_well_e=10000.0, read_noise_e=3.0, dark_current_e_s=20.0, row_noise_e=0.5,
    column_noise_e=0.5, prnu=0.005, adc_bits=12, bayer=True, demosaic="edge_aware",
    white_balance="auto", white_balance_k=5500.0, saturation=1.0, tone_curve="srgb", gamma=2.2, contrast=0.0, sharpen=0.0,
    chroma_denoise_px=0.0,
    lens_blur_px=0.5, vignetting=0.2, chromatic_aberration_px=0.3, bloom=0.01, bloom_radius=0.01, lens_dirt=0.0,
    jpeg_quality=0, video_codec="none",
)

#: preset name -> complete parameter set ("none" has no sensor model and no entry)
PRESETS: dict[str, dict] = {
    # a modern automotive front camera: HDR sensor (large well, low read noise), fixed f/1.8, filmic roll-off
    "automotive_front_hdr": {**_BASE, "preset": "automotive_front_hdr", "full_well_e": 120000.0,
                             "read_noise_e": 2.5, "ae_target": 0.03, "max_iso": 1600.0, "tone_curve": "filmic",
                             "saturation": 1.2, "sharpen": 0.5, "chroma_denoise_px": 1.0, "vignetting": 0.15,
                             "chromatic_aberration_px": 0.3, "bloom": 0.01, "bloom_radius": 0.01},
    # a surround-view fisheye: smaller pixels, strong vignetting and chromatic aberration, softer optics
    "surround_fisheye": {**_BASE, "preset": "surround_fisheye", "f_number": 2.0, "full_well_e": 8000.0,
                         "read_noise_e": 3.0, "ae_target": 0.08, "tone_curve": "filmic", "vignetting": 0.45,
                         "chromatic_aberration_px": 1.2, "lens_blur_px": 0.8, "bloom": 0.015, "sharpen": 0.4,
                         "chroma_denoise_px": 1.0},
    # a cheap dash camera: small noisy sensor, high gain at night, soft lens, oversharpened, saturated, JPEG
    "cheap_dashcam": {**_BASE, "preset": "cheap_dashcam", "f_number": 2.0, "full_well_e": 4500.0,
                      "read_noise_e": 6.0, "dark_current_e_s": 80.0, "row_noise_e": 1.5, "column_noise_e": 1.0,
                      "prnu": 0.01, "adc_bits": 10, "max_iso": 3200.0, "ae_target": 0.16, "demosaic": "bilinear",
                      "saturation": 1.5, "tone_curve": "gamma", "gamma": 2.2, "sharpen": 1.2,
                      "lens_blur_px": 0.6, "vignetting": 0.35, "chromatic_aberration_px": 1.0, "bloom": 0.03,
                      "bloom_radius": 0.015, "lens_dirt": 0.2, "jpeg_quality": 80},
    # a roadside / traffic (infrastructure) camera: standard-definition video sensor behind a soft zoom lens,
    # gamma tone curve with a contrast S-curve, saturated colour, 4:2:0 chroma (blurred chroma), edge enhancement,
    # stored as MPEG-4 video
    "roadside_cctv": {**_BASE, "preset": "roadside_cctv", "f_number": 2.8, "full_well_e": 9000.0,
                      "read_noise_e": 5.0, "row_noise_e": 1.0, "column_noise_e": 0.8, "prnu": 0.008, "adc_bits": 10,
                      "ae_target": 0.2, "demosaic": "bilinear", "tone_curve": "gamma", "gamma": 2.2,
                      "contrast": 0.7, "saturation": 1.3, "sharpen": 0.5, "chroma_denoise_px": 1.5,
                      "lens_blur_px": 0.45, "vignetting": 0.1, "chromatic_aberration_px": 0.6, "bloom": 0.01,
                      "video_codec": "mpeg4"},
    # a noise-free, distortion-free reference camera with the same exposure and tone handling (for ablations)
    "ideal": {**_BASE, "preset": "ideal", "full_well_e": 1e9, "read_noise_e": 0.0, "dark_current_e_s": 0.0,
              "row_noise_e": 0.0, "column_noise_e": 0.0, "prnu": 0.0, "adc_bits": 16, "bayer": False,
              "lens_blur_px": 0.0, "vignetting": 0.0, "chromatic_aberration_px": 0.0, "bloom": 0.0,
              "lens_dirt": 0.0},
}

#: field names of :class:`SensorParams` (in order), the preset name excluded
PARAM_FIELDS: tuple[str, ...] = tuple(n for n in SensorParams.model_fields if n != "preset")


def preset_params(name: str, **overrides) -> SensorParams | None:
    """The preset ``name`` with ``overrides`` applied (None for ``none``). Unknown names raise ValueError."""
    if name == "none":
        if overrides:
            raise ValueError("sensor preset 'none' takes no sensor fields")
        return None
    if name not in PRESETS:
        raise ValueError(f"unknown sensor preset {name!r}; known: {', '.join(PRESET_NAMES)}")
    return SensorParams(**{**PRESETS[name], **overrides})
