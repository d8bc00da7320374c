"""Render settings: plain data, no Blender import (the CLI and configs build these without bpy)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: every pass name a caller may ask for
PASS_NAMES = frozenset({"rgb", "depth", "flow", "semantic", "instance", "normal", "reflection"})
DENOISERS = ("none", "oidn")
DEVICES = ("auto", "cpu", "cuda", "optix", "hip", "oneapi", "metal")
VIEW_TRANSFORMS = ("standard", "filmic", "agx")
_CONTRAST = ("Very High Contrast", "High Contrast", "Medium High Contrast", "Medium Contrast",
             "Medium Low Contrast", "Low Contrast", "Very Low Contrast")
#: looks Blender 5.0 offers per view transform (Blender's names; AgX's carry an "AgX - " prefix)
LOOKS = {
    "standard": _CONTRAST,
    "filmic": _CONTRAST,
    "agx": tuple(f"AgX - {x}" for x in ("Punchy", "Greyscale", "Very High Contrast", "High Contrast",
                                        "Medium High Contrast", "Base Contrast", "Medium Low Contrast",
                                        "Low Contrast", "Very Low Contrast")),
}


def blender_look(view_transform: str, look: str | None) -> str:
    """Blender's name of ``look`` for ``view_transform`` ('None' for no look); accepts AgX looks without their
    'AgX - ' prefix. Raises ValueError naming the looks there are."""
    if look is None or look.lower() == "none":
        return "None"
    names = LOOKS[view_transform]
    for name in names:
        if look.lower() in (name.lower(), name.lower().removeprefix("agx - ")):
            return name
    raise ValueError(f"look {look!r} does not exist for view transform {view_transform!r}; choose one of: "
                     + ", ".join(n.removeprefix("AgX - ") for n in names))
#: light-path limits a config may set (beauty render; the label renders are 1-spp and need only a few bounces)
LIGHT_PATH_KEYS = frozenset({
    "max_bounces", "diffuse_bounces", "glossy_bounces", "transmission_bounces", "transparent_bounces",
    "volume_bounces", "clamp_direct", "clamp_indirect",
})


@dataclass
class RenderSettings:
    """How to render a world.

    width, height: default image size in pixels (a camera with its own lens renders at the lens's size).
    samples: Cycles samples per pixel for the beauty render (the label renders always use 1). denoiser: 'none' or 'oidn' (OpenImageDenoise, beauty render only). device: see
    :func:`simgen.render.device.choose_device`. threads: CPU threads, 0 = all cores. passes: which outputs
    the caller needs ('reflection' adds a third render; the others are always produced because they are
    nearly free). view_transform: display transform of the 8-bit RGB ('standard' = plain sRGB).
    exposure: stops added to the scene's own exposure. persistent_data: keep Cycles' scene data between
    frames (saves the sky/BVH sync after the first frame; results are bit-identical). seed: Cycles seed
    override (None = the world's ``render_seed``). gpu_index: use only this one GPU of the chosen backend
    (one worker process per GPU); None = all visible GPUs. light_paths: optional Cycles light-path limits
    (keys in :data:`LIGHT_PATH_KEYS`: bounce counts, and clamp_direct/clamp_indirect with 0 = no clamp);
    unset keys keep Blender's defaults. adaptive_threshold: Cycles adaptive-sampling noise threshold (0 = off:
    every pixel gets ``samples``). look: a look of the view transform (:data:`LOOKS`; None = none). gamma:
    display gamma of the view transform. view_transform, look and gamma make the 8-bit picture only for cameras
    without a sensor model; a camera with one gets the linear Combined pass, developed by :mod:`simgen.sensor`.
    motion_blur: Cycles motion blur in the beauty render, the shutter open for the camera's exposure time
    (sensor model) or half a frame (none), centred on the frame time; the label renders never blur.
    tile_size: Cycles render tile size (pixels).
    """

    width: int = 640
    height: int = 480
    samples: int = 64
    denoiser: str = "none"
    device: str = "auto"
    threads: int = 0
    passes: set[str] = field(default_factory=lambda: {"rgb", "depth", "flow", "semantic", "instance", "normal"})
    view_transform: str = "standard"
    exposure: float = 0.0
    persistent_data: bool = True
    seed: int | None = None
    gpu_index: int | None = None
    light_paths: dict[str, float] = field(default_factory=dict)
    adaptive_threshold: float = 0.0
    look: str | None = None
    gamma: float = 1.0
    motion_blur: bool = False
    tile_size: int = 2048

    def __post_init__(self) -> None:
        self.passes = set(self.passes)
        self.device = str(self.device).lower()
        self.denoiser = str(self.denoiser).lower()
        self.view_transform = str(self.view_transform).lower()
        if self.device not in DEVICES:
            from simgen.errors import DeviceError

            raise DeviceError(f"unknown render device {self.device!r}; choose one of: {', '.join(DEVICES)}")
        problems = []
        if self.width < 1 or self.height < 1:
            problems.append(f"image size must be positive, got {self.width}x{self.height}")
        if self.samples < 1:
            problems.append(f"samples must be >= 1, got {self.samples}")
        if self.denoiser not in DENOISERS:
            problems.append(f"denoiser must be one of {DENOISERS}, got {self.denoiser!r}")
        if self.threads < 0:
            problems.append(f"threads must be >= 0 (0 = all cores), got {self.threads}")
        unknown = self.passes - PASS_NAMES
        if unknown:
            problems.append(f"unknown passes {sorted(unknown)}; known: {sorted(PASS_NAMES)}")
        if self.view_transform not in VIEW_TRANSFORMS:
            problems.append(f"view_transform must be one of {VIEW_TRANSFORMS}, got {self.view_transform!r}")
        self.light_paths = dict(self.light_paths or {})
        bad_keys = set(self.light_paths) - LIGHT_PATH_KEYS
        if bad_keys:
            problems.append(f"unknown light_paths keys {sorted(bad_keys)}; known: {sorted(LIGHT_PATH_KEYS)}")
        if any(float(v) < 0 for v in self.light_paths.values()):
            problems.append("light_paths values must be >= 0")
        if not 0.0 <= self.adaptive_threshold <= 1.0:
            problems.append(f"adaptive_threshold must be in [0, 1], got {self.adaptive_threshold}")
        if self.view_transform in VIEW_TRANSFORMS:
            try:
                blender_look(self.view_transform, self.look)
            except ValueError as err:
                problems.append(str(err))
        if not self.gamma > 0:
            problems.append(f"gamma must be > 0, got {self.gamma}")
        if self.tile_size < 8:
            problems.append(f"tile_size must be >= 8, got {self.tile_size}")
        if self.gpu_index is not None and self.gpu_index < 0:
            problems.append(f"gpu_index must be >= 0, got {self.gpu_index}")
        if problems:
            from simgen.errors import SimgenError

            raise SimgenError("invalid render settings: " + "; ".join(problems))
