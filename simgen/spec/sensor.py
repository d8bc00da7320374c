"""``camera.sensor``: the camera's sensor / image-signal-processing model in the scene language.

A preset (:data:`simgen.sensor.params.PRESETS`) gives every value; any field set here overrides it, as a literal
or a distribution sampled at resolve time from the stream ``cameras.<camera>.sensor.<field>``. Resolve merges
them into a :class:`simgen.sensor.params.SensorParams`, recorded in the manifest knobs as ``sensor.<field>``.
Preset ``none`` turns the model off (the renderer's view transform makes the picture) and takes no other field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from simgen.sensor.params import DEFAULT_PRESET, PARAM_FIELDS, PresetName
from simgen.spec.fields import Bool, Cat, Int, Num, SpecModel


class SensorSpec(SpecModel):
    """Sensor and ISP of one camera: a preset plus optional per-field overrides (unset = the preset's value)."""

    preset: Cat(PresetName, "SensorPresetChoice") = Field(
        DEFAULT_PRESET, description="none (no sensor model: the renderer's view transform), automotive_front_hdr, "
                                    "surround_fisheye, cheap_dashcam, roadside_cctv or ideal (noise- and lens-free).")
    # exposure
    exposure_mode: Cat(Literal["auto", "manual"], "ExposureModeChoice") | None = Field(
        None, description="auto: exposure follows the scene's light level; manual: exposure_time_s and iso.")
    exposure_time_s: Num(gt=0, le=1) | None = Field(None, description="Manual exposure time (s).")
    iso: Num(ge=10, le=409600) | None = Field(None, description="Manual ISO (gain = iso / base_iso).")
    f_number: Num(ge=0.5, le=64) | None = Field(None, description="Aperture f-number.")
    ae_target: Num(gt=0, le=1) | None = Field(
        None, description="Mean raw signal (fraction of full well) the auto exposure aims at; mapped to mid grey.")
    ae_dark_bias: Num(ge=0, le=1) | None = Field(
        None, description="How much darker the auto exposure keeps scenes darker than daylight (0 = as bright as "
                          "day; the target scales with (metered / daylight) ** ae_dark_bias).")
    ae_time_constant_s: Num(ge=0, le=60) | None = Field(
        None, description="Time constant of the auto exposure (s); 0 = instant.")
    min_exposure_time_s: Num(gt=0, le=1) | None = Field(None, description="Shortest auto exposure time (s).")
    max_exposure_time_s: Num(gt=0, le=1) | None = Field(
        None, description="Longest auto exposure time (s); never more than one frame interval.")
    max_iso: Num(ge=10, le=409600) | None = Field(None, description="Highest ISO of the auto exposure.")
    # sensor
    base_iso: Num(ge=10, le=10000) | None = Field(None, description="ISO at unity analog gain.")
    full_well_e: Num(ge=100, le=1e9) | None = Field(None, description="Full-well capacity (electrons).")
    read_noise_e: Num(ge=0, le=1000) | None = Field(None, description="Read noise (electrons rms).")
    dark_current_e_s: Num(ge=0, le=1e6) | None = Field(None, description="Dark current (electrons per second).")
    row_noise_e: Num(ge=0, le=1000) | None = Field(None, description="Row fixed-pattern noise (electrons rms).")
    column_noise_e: Num(ge=0, le=1000) | None = Field(None, description="Column fixed-pattern noise (electrons rms).")
    prnu: Num(ge=0, le=0.5) | None = Field(None, description="Pixel gain non-uniformity (fraction rms).")
    adc_bits: Int(ge=8, le=16) | None = Field(None, description="ADC bit depth.")
    bayer: Bool | None = Field(None, description="RGGB colour filter array + demosaicing.")
    demosaic: Cat(Literal["bilinear", "edge_aware"], "DemosaicChoice") | None = Field(
        None, description="Demosaicing: bilinear or edge_aware (OpenCV).")
    # ISP
    white_balance: Cat(Literal["auto", "fixed"], "WhiteBalanceChoice") | None = Field(
        None, description="auto (grey world) or fixed (for white_balance_k).")
    white_balance_k: Num(ge=1500, le=15000) | None = Field(
        None, description="Illuminant colour temperature of a fixed white balance (K).")
    saturation: Num(ge=0, le=3) | None = Field(None, description="Colour saturation (1 = unchanged).")
    tone_curve: Cat(Literal["srgb", "gamma", "filmic"], "ToneCurveChoice") | None = Field(
        None, description="srgb, gamma (power 1/gamma) or filmic (highlight roll-off).")
    gamma: Num(ge=1, le=4) | None = Field(None, description="Exponent of the gamma tone curve.")
    contrast: Num(ge=0, le=1) | None = Field(None, description="S-curve contrast after the tone curve (0 = none, "
                                                            "1 = strongest).")
    sharpen: Num(ge=0, le=5) | None = Field(None, description="Unsharp-mask amount (0 = none).")
    chroma_denoise_px: Num(ge=0, le=20) | None = Field(None, description="Chroma blur sigma (px; 0 = none).")
    # optics
    lens_blur_px: Num(ge=0, le=20) | None = Field(None, description="Optical blur (Gaussian sigma, px).")
    vignetting: Num(ge=0, lt=1) | None = Field(None, description="Light lost in the image corners (fraction).")
    chromatic_aberration_px: Num(ge=0, le=20) | None = Field(
        None, description="Red/blue lateral shift at the image corners (px).")
    bloom: Num(ge=0, le=1) | None = Field(None, description="Share of light scattered into the glare halo.")
    bloom_radius: Num(gt=0, le=1) | None = Field(None, description="Glare halo sigma (fraction of the diagonal).")
    lens_dirt: Num(ge=0, le=10) | None = Field(None, description="Lens dirt strength (0 = clean).")
    # coding
    jpeg_quality: Int(ge=0, le=100) | None = Field(None, description="JPEG quality of the output (0 = no JPEG).")
    video_codec: Cat(Literal["none", "mpeg4"], "VideoCodecChoice") | None = Field(
        None, description="none, or mpeg4: an MPEG-4 Part 2 inter frame predicted from the previous frame "
                          "(H.264-like block and motion artefacts).")

    @model_validator(mode="after")
    def _none_alone(self) -> SensorSpec:
        if self.preset == "none":
            extra = [f for f in PARAM_FIELDS if getattr(self, f) is not None]
            if extra:
                raise PydanticCustomError(
                    "sensor_none_fields", "sensor preset 'none' has no sensor model, but sets {fields}",
                    {"fields": ", ".join(extra), "hint": "choose a preset, or remove these fields"})
        return self

