"""The Blender adapter: a :class:`~simgen.world.model.World` in, :class:`~simgen.labels.raw.RawFrame` out.

The only module of simgen that imports ``bpy``. One factory reset per world; everything is built with the
data API (meshes through ``foreach_set``), motion is keyframed for every frame that moves, and Cycles renders
each (frame, camera) up to three times, each time one view layer of the same scene:

``beauty``      the configured samples / denoiser / colour management -> ``rgb``: for a camera without a
                sensor model the 8-bit PNG written by Blender's own display transform; for a camera with one
                (:mod:`simgen.sensor`) the linear Combined pass (float EXR, after the denoiser, before any view
                transform), which the camera's :class:`~simgen.sensor.Sensor` develops — so sensor noise comes
                after denoising. With ``motion_blur`` the beauty render alone is blurred, the shutter open for the
                sensor's exposure time of that frame (half a frame without a sensor), centred on the frame time.
``labels``      1 spp, no denoiser, weather geometry and fog excluded -> ``Depth``, ``Object Index``,
                ``Position`` (sample 0, shot through the pixel centre), ``Vector`` and ``Normal`` (exact only
                at 1 spp). Taking the sample-0 passes from this render rather than from the beauty render
                gives the same numbers on a clear day (sample 0 does not depend on the seed or the sample
                count) and the right ones in rain or fog, where the beauty ray scatters in the fog or hits a
                streak.
``reflection``  only if asked: 1 spp with temporary materials that make pedestrians, children and cyclists
                emit key·(Is Camera Ray, (1 − camera)·Is Reflection Ray, (1 − camera)·Is Transmission Ray),
                key being the object's label key (its ``pass_index``), reflective surfaces (``reflective`` or at
                most 0.3 rough as rendered: :mod:`simgen.world.surfaces`, wet asphalt included) perfect mirrors,
                glass a clear refraction, everything else black; no world, no lights, no clamping. Mirrors
                and clear glass pass radiance with a throughput of exactly 1, so each channel holds the label
                key of the person seen directly / via a reflection / through glass, or 0. Glass that is also
                reflective (shop windows) does both in reality; it is rendered once as clear glass and, when
                the world has any, once more as a mirror, and the two are merged (a reflected person wins
                over one seen through the pane in the index map). Each of these has a twin, the strength
                render: people emit 1 and every mirror / pane passes its real Fresnel reflectance /
                transmittance, so a pixel holds how much of the reflected person reaches the camera (Russian
                roulette is off for these renders: it would turn small throughputs into 0-or-boosted values).
                All reflection renders of a world are done first, in one go: swapping materials makes Cycles
                re-sync shaders and the sky, which must not happen per frame.

A ``RawFrame``'s depth / object index / position therefore come from the ``labels`` render (1 spp), not the
beauty render: the values are identical without weather and correct with it.

The scene itself is built by :mod:`simgen.render.scene` (materials in :mod:`~simgen.render.materials`, sky and fog
in :mod:`~simgen.render.environment`, reflection-label materials in :mod:`~simgen.render.reflection`, meshes in
:mod:`~simgen.render.meshes`); this module renders it and reads the passes back.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import bpy
import cv2
import numpy as np
import OpenEXR

from simgen.labels.raw import RawFrame
from simgen.labels.reflection import merge_reflection_keys, merge_reflection_strength
from simgen.render.reflection import ReflectionMaterials, reflection_glass_modes
from simgen.render.scene import LAYER_BEAUTY, LAYER_LABELS, LAYER_REFLECTION, BuiltScene, build_scene  # noqa: F401
from simgen.render.settings import RenderSettings
from simgen.sensor import Sensor, scene_streams
from simgen.world.model import World

log = logging.getLogger(__name__)

#: pixel filter width of the label renders (pixels). Sample 0 goes through the pixel centre only up to the
#: resolution of the filter's importance table (~6e-4 px at the default 1.5 px width, which is a 1.8e-4
#: relative depth error at 40 m under a camera 1.7 m high); a near-zero width removes that offset.
LABEL_FILTER_WIDTH = 0.01


# ---------------------------------------------------------------------------------------------------------
# rendering and reading


def read_exr_passes(path: Path) -> dict[str, np.ndarray]:
    """Multi-part EXR -> {pass name: (H, W, C) float32}, channels in R,G,B,A / X,Y,Z,W order, rows top-down."""
    order = {c: i for i, c in enumerate("RGBAXYZW")}
    out: dict[str, dict[str, np.ndarray]] = {}
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            for name, ch in part.channels.items():
                stem, _, comp = name.rpartition(".")
                layer_pass = stem.split(".", 1)[-1] if "." in stem else stem
                out.setdefault(layer_pass, {})[comp] = np.asarray(ch.pixels, np.float32)
    return {
        p: np.stack([chans[c] for c in sorted(chans, key=lambda c: order.get(c, 99))], -1) for p, chans in out.items()
    }


def _use_only(scene, layer_name: str) -> None:
    for layer in scene.view_layers:
        layer.use = layer.name == layer_name


def _render_layer(scene, layer_name: str, exr: Path | None, png: Path | None = None, filter_width: float = 1.5,
                  codec: str = "ZIP") -> None:
    """Render one view layer; save its display-referred 8-bit PNG and/or its passes as a multilayer EXR."""
    _use_only(scene, layer_name)
    scene.cycles.filter_width = filter_width
    bpy.ops.render.render(write_still=False)
    img = bpy.data.images["Render Result"]
    fmt = scene.render.image_settings
    if png is not None:
        fmt.media_type = "IMAGE"
        fmt.file_format = "PNG"
        fmt.color_mode = "RGB"
        fmt.color_depth = "8"
        fmt.compression = 0
        img.save_render(str(png), scene=scene)
    if exr is not None:
        fmt.media_type = "MULTI_LAYER_IMAGE"
        fmt.color_depth = "32"
        fmt.exr_codec = codec
        img.save_render(str(exr), scene=scene)


@contextlib.contextmanager
def _removed_on_stop(path: str) -> Iterator[None]:
    """While rendering, a SIGINT/SIGTERM under the ``simgen`` command ends the process at once (see
    :mod:`simgen.interrupt`, even inside a Cycles render); this registers the temporary folder for removal then."""
    from simgen import interrupt

    unregister = interrupt.remove_tree_on_stop(path)
    try:
        yield
    finally:
        unregister()


def _use_camera(scene, cam_obj, lens, settings: RenderSettings) -> None:
    """Make ``cam_obj`` the active camera at its own resolution (the render size for the default pinhole)."""
    scene.camera = cam_obj
    w, h = (settings.width, settings.height) if lens is None else (lens.width, lens.height)
    if (scene.render.resolution_x, scene.render.resolution_y) != (w, h):
        scene.render.resolution_x, scene.render.resolution_y = w, h


def make_sensors(world: World, settings: RenderSettings) -> list[Sensor | None]:
    """One :class:`~simgen.sensor.Sensor` per camera of ``world`` (None where the camera has no sensor model),
    at the camera's own image size, seeded from the camera's ``sensor_seed``; the scene's and the settings'
    exposure are its EV bias."""
    sizes = [(ln.width, ln.height) for ln in (c.lens_at(settings.width, settings.height) for c in world.cameras)]
    return [None if c.sensor is None else
            Sensor(c.sensor, *size, world.fps,
                   scene_streams(c.sensor_seed, world.name, 0, c.name),
                   ev_bias=world.lighting.exposure + settings.exposure)
            for c, size in zip(world.cameras, sizes)]


def _linear_beauty(scene, path: Path) -> np.ndarray:
    """Render the beauty layer and return its Combined pass, (H, W, 3) float32 scene-linear, rows top-down."""
    _render_layer(scene, LAYER_BEAUTY, path, codec="NONE")
    return np.ascontiguousarray(read_exr_passes(path)["Combined"][..., :3])


def _preview(scene, path: Path) -> np.ndarray:
    """A 1-sample, undenoised linear beauty render of the current frame (for the auto exposure's first meter)."""
    c = scene.cycles
    samples, denoise = c.samples, c.use_denoising
    c.samples, c.use_denoising = 1, False
    try:
        return _linear_beauty(scene, path)
    finally:
        c.samples, c.use_denoising = samples, denoise


def _shutter_frames(scene, world: World, sensor: Sensor | None, tmpdir: Path) -> float:
    """Shutter interval of this frame in frames: the sensor's exposure time (its auto exposure is primed on a
    1-spp preview of the first frame), or half a frame without a sensor."""
    if sensor is None:
        return 0.5
    if sensor.needs_prime:
        sensor.prime(_preview(scene, tmpdir / "preview.exr"))
    return float(sensor.next_exposure()[0] * world.fps)


def render_world(
    world: World,
    settings: RenderSettings,
    frames: list[int] | None = None,
    on_frame: Callable[[RawFrame], None] | None = None,
    on_reflection: Callable[[int, int], None] | None = None,
) -> Iterator[RawFrame]:
    """Render ``world``: yields one :class:`RawFrame` per (frame, camera), frames in the given order. Each
    camera renders at its own lens's size (the settings' size for the default pinhole); cameras with a
    distorting lens are OSL custom cameras (:mod:`simgen.render.lens`) and their RawFrame depth is the range.

    frames: 0-based frame indices (default: all). on_frame: called with each RawFrame before it is yielded
    (progress reporting). on_reflection(done, total): called after each render of the reflection pre-pass,
    which renders the reflection labels of every frame before the first frame is yielded. Timings per frame
    (seconds): ``build`` (scene build, on the first frame yielded; 0 after), ``beauty``, ``labels`` (1-spp
    label render), ``reflection`` (if asked), ``io`` (writing and reading the temporary EXR/PNG files),
    ``sensor`` (the sensor model's processing, for cameras with one).
    Temporary files live in a directory removed when the generator finishes or is closed.
    """
    frames = list(range(world.frame_count)) if frames is None else [int(f) for f in frames]
    bad = [f for f in frames if not 0 <= f < world.frame_count]
    if bad:
        raise ValueError(f"frames {bad} outside 0..{world.frame_count - 1}")
    if not world.cameras:
        raise ValueError(f"world {world.name!r} has no camera")
    built = build_scene(world, settings)
    scene = built.scene
    build_seconds = built.build_seconds
    log.info("built %s: %d objects in %.3f s; %s", world.name, len(built.objects), build_seconds,
             built.device.message)
    reflection = "reflection" in settings.passes
    sensors = make_sensors(world, settings)
    with tempfile.TemporaryDirectory(prefix="simgen-render-") as tmp, _removed_on_stop(tmp):
        tmpdir = Path(tmp)
        refl_seconds: dict[tuple[int, int], float] = {}
        # (glass mode, what is emitted) of every reflection render a frame needs
        glass_modes = reflection_glass_modes(world) if reflection else []
        refl_renders = [(m, w) for m in glass_modes for w in ("keys", "strength")]
        refl_total, refl_done = len(refl_renders) * len(frames) * len(built.cameras), 0
        for mode, what in refl_renders:
            # All reflection renders first: switching to and from the reflection layer makes Cycles re-sync
            # the shaders and the sky, so it happens once per world and render kind instead of per frame.
            with ReflectionMaterials(built, world, mode, strength=what == "strength"):
                for f in frames:
                    scene.frame_set(f)
                    for ci, cam_obj in enumerate(built.cameras):
                        _use_camera(scene, cam_obj, world.cameras[ci].lens, settings)
                        t = time.perf_counter()
                        _render_layer(scene, LAYER_REFLECTION, tmpdir / f"reflection-{mode}-{what}-{f}-{ci}.exr",
                                      filter_width=LABEL_FILTER_WIDTH)
                        refl_seconds[(f, ci)] = refl_seconds.get((f, ci), 0.0) + time.perf_counter() - t
                        refl_done += 1
                        if on_reflection is not None:
                            on_reflection(refl_done, refl_total)
        for f in frames:
            scene.frame_set(f)
            for ci, (cam_model, cam_obj) in enumerate(zip(world.cameras, built.cameras)):
                _use_camera(scene, cam_obj, cam_model.lens, settings)
                lens = cam_model.lens_at(settings.width, settings.height)
                timings = {"build": build_seconds}
                build_seconds = 0.0
                io = 0.0

                sensor, linear, info = sensors[ci], None, None
                if settings.motion_blur:
                    scene.render.motion_blur_shutter = _shutter_frames(scene, world, sensor, tmpdir)
                    scene.render.use_motion_blur = True
                t = time.perf_counter()
                try:
                    if sensor is None:
                        png = tmpdir / "beauty.png"
                        _render_layer(scene, LAYER_BEAUTY, None, png)
                        timings["beauty"] = time.perf_counter() - t
                        t = time.perf_counter()
                        rgb = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                        io += time.perf_counter() - t
                    else:
                        linear = _linear_beauty(scene, tmpdir / "beauty.exr")
                        timings["beauty"] = time.perf_counter() - t
                        t = time.perf_counter()
                        rgb, frame_info = sensor.process(linear, f)
                        info = frame_info.as_dict()
                        timings["sensor"] = time.perf_counter() - t
                finally:
                    scene.render.use_motion_blur = False  # the label renders never blur (Vector pass)

                t = time.perf_counter()
                label_exr = tmpdir / "labels.exr"
                _render_layer(scene, LAYER_LABELS, label_exr, filter_width=LABEL_FILTER_WIDTH)
                timings["labels"] = time.perf_counter() - t
                t = time.perf_counter()
                lab = read_exr_passes(label_exr)
                io += time.perf_counter() - t

                refl = refl_index = refl_strength = None
                if reflection:
                    timings["reflection"] = refl_seconds[(f, ci)]
                    t = time.perf_counter()
                    got = {}
                    for mode, what in refl_renders:
                        exr = tmpdir / f"reflection-{mode}-{what}-{f}-{ci}.exr"
                        got[mode, what] = read_exr_passes(exr)["Combined"][..., :3]
                        exr.unlink()
                    refl, refl_index = merge_reflection_keys(got["clear", "keys"], got.get(("mirror", "keys")))
                    refl_strength = merge_reflection_strength(
                        got["clear", "keys"], got.get(("mirror", "keys")),
                        got["clear", "strength"], got.get(("mirror", "strength")))
                    io += time.perf_counter() - t
                timings["io"] = io

                raw = RawFrame(
                    frame=f,
                    camera=cam_model.name,
                    rgb=np.ascontiguousarray(rgb),
                    depth=lab["Depth"][..., 0],
                    object_index=lab["Object Index"][..., 0],
                    position=lab["Position"][..., :3],
                    vector=lab["Vector"][..., :4],
                    normal=lab["Normal"][..., :3],
                    K=lens.K.copy(),
                    lens=lens,
                    world_from_camera=np.array(cam_model.poses[f], np.float64),
                    reflection=refl,
                    reflection_index=refl_index,
                    reflection_strength=refl_strength,
                    timings=timings,
                    linear=linear,
                    sensor=info,
                )
                if on_frame is not None:
                    on_frame(raw)
                yield raw
