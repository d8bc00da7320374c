"""Render configurations (``render_configs/*.yaml``): resolution, samples, device, label passes, formats.

Presets ``test``, ``preview`` and ``production`` are embedded here (so they work from an installed package) and
committed as ``render_configs/<name>.yaml``; a test keeps the two identical. :func:`default_render_config` is
what ``simgen render`` uses without ``--config``: CPU-friendly (320x240, 16 samples, denoised).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from simgen.spec.errors import Issue, SpecError, did_you_mean
from simgen.spec.fields import SpecModel
from simgen.spec.validate import validate
from simgen.spec.yamlio import Located, load_with_extends

PassName = Literal["rgb", "depth", "flow", "semantic", "instance", "normal", "reflection"]
ALL_PASSES: list[str] = ["rgb", "depth", "flow", "semantic", "instance", "normal", "reflection"]
Device = Literal["auto", "cpu", "cuda", "optix", "hip", "oneapi", "metal"]


class LightPaths(SpecModel):
    """Path-tracing bounce limits (reflections in windows and puddles need glossy/transmission bounces)."""

    max_bounces: int = Field(8, ge=0, le=1024, description="Total bounce limit.")
    diffuse_bounces: int = Field(3, ge=0, le=1024, description="Diffuse bounces.")
    glossy_bounces: int = Field(4, ge=0, le=1024, description="Glossy (mirror-like) bounces.")
    transmission_bounces: int = Field(8, ge=0, le=1024, description="Transmission (glass) bounces.")
    transparent_bounces: int = Field(8, ge=0, le=1024, description="Transparent bounces.")
    clamp_indirect: float = Field(10.0, ge=0, le=1e6, description="Clamp indirect light (0 = off); cuts fireflies.")


class RenderConfig(SpecModel):
    """How to render a resolved scene."""

    name: str = Field("custom", max_length=64, description="Name of this configuration (presets: test, preview, "
                                                           "production, default); a file's stem by default.")
    width: int = Field(320, ge=16, le=16384, description="Image width (pixels).")
    height: int = Field(240, ge=16, le=16384, description="Image height (pixels).")
    samples: int = Field(16, ge=1, le=65536, description="Path-tracing samples per pixel for the RGB image.")
    adaptive_threshold: float = Field(0.0, ge=0, le=1, description="Adaptive sampling noise threshold (0 = off).")
    denoiser: Literal["none", "oidn", "auto"] = Field(
        "auto", description="Denoise the RGB image: none, oidn, or auto (the best available).")
    device: Device = Field("auto", description="auto (best GPU, else CPU), cpu, cuda, optix, hip, oneapi, metal.")
    threads: int = Field(0, ge=0, le=1024, description="CPU threads; 0 = all cores.")
    passes: list[PassName] = Field(default_factory=lambda: list(ALL_PASSES), min_length=1,
                                   description="Outputs to write: rgb, depth, flow, semantic, instance, normal, "
                                               "reflection.")
    rgb_format: Literal["png"] = Field("png", description="RGB image format (8-bit sRGB PNG).")
    depth_format: Literal["exr"] = Field("exr", description="Depth format (float32 OpenEXR, planar metres).")
    flow_format: Literal["flo"] = Field("flo", description="Optical flow format (Middlebury .flo).")
    normal_format: Literal["exr"] = Field("exr", description="Normal format (float32 OpenEXR).")
    persistent_data: bool = Field(True, description="Keep scene data between frames (faster sequences).")
    seed_offset: int = Field(0, ge=0, le=2**31 - 1, description="Added to the scene seed for the renderer's "
                                                                "sampling seed.")
    frames: int | None = Field(None, ge=1, le=100000, description="Render only the first N frames (default: all).")
    view_transform: Literal["standard", "filmic", "agx"] = Field("agx", description="Colour view transform.")
    look: str | None = Field(None, max_length=64, description="Optional look of the view transform (e.g. "
                                                              "'Medium High Contrast').")
    exposure: float = Field(0.0, ge=-10, le=10, description="Exposure (EV), added to the scene's own.")
    gamma: float = Field(1.0, gt=0, le=5, description="Display gamma.")
    motion_blur: bool = Field(False, description="Motion blur in the RGB image over the camera's shutter (its sensor's "
                                                 "exposure time, or half a frame); labels never blur and are defined "
                                                 "at the shutter centre.")
    light_paths: LightPaths = Field(default_factory=LightPaths, description="Bounce limits.")
    tile_size: int = Field(2048, ge=8, le=16384, description="Render tile size (pixels).")

    @model_validator(mode="after")
    def _look(self) -> RenderConfig:
        from simgen.render.settings import blender_look  # plain data, no Blender

        try:
            blender_look(self.view_transform, self.look)
        except ValueError as err:
            raise PydanticCustomError("bad_look", "{msg}", {"msg": str(err), "hint": "pick a look of this view "
                                                                                     "transform, or none"}) from None
        return self

    @field_validator("passes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            dup = sorted({p for p in v if v.count(p) > 1})
            raise PydanticCustomError("dup_pass", "pass listed twice: {d}", {"d": ", ".join(dup),
                                                                            "hint": "list each pass once"})
        return v


#: The embedded presets (render_configs/<name>.yaml must hold exactly these values).
PRESETS: dict[str, dict] = {
    "test": {"name": "test", "width": 80, "height": 60, "samples": 4, "denoiser": "none", "device": "cpu",
             "threads": 0, "persistent_data": True,
             "light_paths": {"max_bounces": 4, "diffuse_bounces": 1, "glossy_bounces": 2,
                             "transmission_bounces": 4, "transparent_bounces": 4, "clamp_indirect": 10.0}},
    "preview": {"name": "preview", "width": 640, "height": 360, "samples": 32, "denoiser": "auto", "device": "auto",
                "threads": 0, "adaptive_threshold": 0.05},
    "production": {"name": "production", "width": 1920, "height": 1080, "samples": 256, "denoiser": "auto",
                   "device": "cuda", "threads": 0, "adaptive_threshold": 0.01, "view_transform": "agx",
                   "light_paths": {"max_bounces": 12, "diffuse_bounces": 4, "glossy_bounces": 8,
                                   "transmission_bounces": 12, "transparent_bounces": 8, "clamp_indirect": 10.0}},
}
DEFAULT = {"name": "default", "width": 320, "height": 240, "samples": 16, "denoiser": "auto", "device": "auto",
           "threads": 0}


def default_render_config() -> RenderConfig:
    """The embedded default (``simgen render`` without ``--config``): 320x240, 16 samples, denoised, any device."""
    return RenderConfig.model_validate(DEFAULT)


def preset_names() -> list[str]:
    return ["default", *PRESETS]


def load_render_config(path_or_name: str | Path) -> RenderConfig:
    """A preset by name (``test``, ``preview``, ``production``, ``default``) or a render-config YAML file.

    Files may ``extends:`` another file. Raises :class:`SpecError` listing every problem.
    """
    text = str(path_or_name)
    p = Path(text)
    if not p.exists() and "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")):
        if text == "default":
            return default_render_config()
        if text in PRESETS:
            return RenderConfig.model_validate(PRESETS[text])
        raise SpecError([Issue(text, 1, 1, "", f"no render-config file or preset named '{text}'",
                               did_you_mean(text, preset_names()))])
    node = load_with_extends(p, display=text)
    cfg = validate(Located(node), RenderConfig)
    if "name" not in node.value:
        cfg = cfg.model_copy(update={"name": p.stem})
    return cfg
