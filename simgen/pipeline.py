"""One scene file -> one rendered, labelled sequence in a native dataset.

spec (load, resolve) -> world (build) -> render (Blender adapter) -> labels -> io. This module only wires the
stages together; it imports bpy indirectly, through :mod:`simgen.render`, and only when rendering starts.

A sequence is rendered into a hidden staging dataset inside the output folder and moved into place (folder
rename + manifest rewrite) only once every frame is written: a crash or Ctrl-C leaves the output dataset as it
was, plus at most a ``.staging-*`` folder that the next run removes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simgen.errors import OutputError, SimgenError
from simgen.io.gallery import write_index
from simgen.spec import RenderConfig, ResolvedScene, default_render_config, resolve
from simgen.spec.sweep import scene_variant
from simgen.world.model import World

log = logging.getLogger("simgen.render")

STAGING_PREFIX = ".staging-"


@dataclass
class RenderSummary:
    """What a render run did. seconds: wall time of the whole run; per_stage: summed seconds per stage."""

    out: Path
    scene: str
    variant: int
    seed: int
    frames: int
    cameras: int
    device: str
    seconds: float
    per_stage: dict[str, float] = field(default_factory=dict)
    #: contact sheets (rgb | depth | flow | semantic | instance | normals) of each camera's first frame
    previews: list[Path] = field(default_factory=list)
    #: OUT/index.html: a page with every sequence of the dataset (None if it could not be written)
    index: Path | None = None

    @property
    def seconds_per_frame(self) -> float:
        return self.seconds / max(1, self.frames)


def settings_from_config(cfg: RenderConfig, *, seed: int, device: str | None = None):
    """Map a validated :class:`RenderConfig` onto the renderer's :class:`RenderSettings`."""
    from simgen.render.settings import RenderSettings

    return RenderSettings(
        width=cfg.width,
        height=cfg.height,
        samples=cfg.samples,
        denoiser="oidn" if cfg.denoiser in ("oidn", "auto") else "none",
        device=device or cfg.device,
        threads=cfg.threads,
        passes=set(cfg.passes),
        view_transform=cfg.view_transform,
        exposure=cfg.exposure,
        persistent_data=cfg.persistent_data,
        seed=(seed + cfg.seed_offset) % (2**31),
        light_paths=cfg.light_paths.model_dump(),
        adaptive_threshold=cfg.adaptive_threshold,
        look=cfg.look,
        gamma=cfg.gamma,
        motion_blur=cfg.motion_blur,
        tile_size=cfg.tile_size,
    )


def prepare(scene_path: str | Path, *, seed: int, variant: int, cfg: RenderConfig) -> tuple[ResolvedScene, World]:
    """Load, resolve and build a scene without Blender. Raises SimgenError subclasses on user mistakes.

    ``scene_path`` may be a sweep file (or a scene with a ``sweep:`` section): ``variant`` then picks the sweep
    point, whose own seed, if the sweep lists seeds, replaces ``seed``."""
    from simgen.world.build import build_world

    path = Path(scene_path)
    if not path.is_file():
        raise SimgenError(f"scene file not found: {path}")
    spec, seed, labels = scene_variant(path, variant, seed)  # a sweep file: variant = the sweep point
    resolved = resolve(spec, seed=seed, variant=variant, sweep=labels)
    world = build_world(resolved, cfg.width, cfg.height)
    return resolved, world


def _blender_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bpy")
    except PackageNotFoundError:
        return None


def _clean_stale_staging(out: Path) -> None:
    for old in out.glob(f"{STAGING_PREFIX}*"):
        try:
            pid = int(old.name.rsplit("-", 1)[-1])
            os.kill(pid, 0)  # still running: leave it alone
            continue
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            continue
        shutil.rmtree(old, ignore_errors=True)


def _commit_sequence(staging: Path, out: Path, scene: str, variant: int) -> None:
    """Move a finished sequence from the staging dataset into ``out`` and merge its manifest rows."""
    from simgen.io.atomic import atomic_write_text
    from simgen.io.layout import safe_component, variant_dir

    rel = Path(safe_component(scene, "scene")) / variant_dir(variant)
    new_rows = (staging / "manifest.jsonl").read_text().splitlines()
    manifest = out / "manifest.jsonl"
    old_rows = manifest.read_text().splitlines() if manifest.exists() else []
    kept = [r for r in old_rows if r.strip() and not _row_in(r, scene, variant)]
    target = out / rel
    if target.exists():
        trash = out / f"{STAGING_PREFIX}replaced-{os.getpid()}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / rel, target)
    atomic_write_text(manifest, "".join(line + "\n" for line in kept + new_rows))


def _row_in(line: str, scene: str, variant: int) -> bool:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return False
    return row.get("scene") == scene and str(row.get("variant")) == str(variant)


def render_scene(
    scene_path: str | Path,
    out: str | Path,
    *,
    cfg: RenderConfig | None = None,
    seed: int = 0,
    variant: int = 0,
    frames: int | None = None,
    device: str | None = None,
    on_frame: Callable[[int, int], None] | None = None,
    on_reflection: Callable[[int, int], None] | None = None,
) -> RenderSummary:
    """Render one scene file into the native dataset at ``out``.

    cfg: render configuration (default: :func:`simgen.spec.default_render_config`). frames: render only the
    first N frames. device: overrides ``cfg.device``. on_frame(done, total): progress callback, once per frame
    and camera written. on_reflection(done, total): progress of the reflection-label pre-pass (only with the
    ``reflection`` pass), which runs before the first frame. Raises :class:`SimgenError` subclasses (spec
    errors, missing scene, unknown or missing device, unwritable output) before anything is written under
    ``out``. Afterwards ``out/index.html`` is rewritten (:func:`simgen.io.gallery.write_index`).
    """
    from simgen.io.dataset import DatasetWriter
    from simgen.io.attribution import write_attribution, write_sequence_credits
    from simgen.io import formats
    from simgen.labels.frame import NeighbourView, compute_frame_labels
    from simgen.labels.visualize import contact_sheet

    started = time.perf_counter()
    cfg = cfg or default_render_config()
    resolved, world = prepare(scene_path, seed=seed, variant=variant, cfg=cfg)
    seed = resolved.seed  # a sweep point may fix its own seed
    settings = settings_from_config(cfg, seed=seed, device=device)
    count = min(x for x in (frames, cfg.frames, world.frame_count) if x is not None)
    if frames is not None and frames < 1:
        raise SimgenError(f"--frames must be >= 1, got {frames}")

    from simgen.render import blender
    from simgen.render.device import choose_device, probe_devices

    # Check the device before the output folder is touched (render_world selects it again and logs the choice).
    choice = choose_device(settings.device, probe_devices(), sys.platform, os.environ.get("CUDA_VISIBLE_DEVICES"),
                           settings.gpu_index)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {out} exists and is not a folder")
    writer_kw = {"blender_version": _blender_version()}
    DatasetWriter(out, **writer_kw)  # creates OUT/dataset.json, or checks the existing one
    _clean_stale_staging(out)
    staging = out / f"{STAGING_PREFIX}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    per_stage: dict[str, float] = {}
    try:
        writer = DatasetWriter(staging, **writer_kw)
        seq_dir = writer.begin_sequence(resolved.scene.name, variant, [c.name for c in world.cameras],
                                        resolved=json.loads(resolved.model_dump_json()))
        write_sequence_credits(seq_dir, world.credits)
        previews: list[Path] = []
        tags, knobs = resolved.dataset_tags(), resolved.knobs()
        # per camera: its lens model and rig, so a dataset can be sliced by camera kind
        cam_knobs = {c.name: {"camera_model": "pinhole" if c.lens is None else c.lens.model,
                              "rig": None if c.rig is None else c.rig["kind"]} for c in world.cameras}
        pending: dict[str, list] = {c.name: [] for c in world.cameras}  # per camera: [prev, current]
        done, total = 0, count * len(world.cameras)

        def emit(cam: str, prev, cur, nxt) -> None:
            nonlocal done
            t0 = time.perf_counter()
            labels = compute_frame_labels(
                cur, world,
                next_view=NeighbourView.from_raw(nxt) if nxt is not None else None,
                prev_view=NeighbourView.from_raw(prev) if prev is not None else None,
            )
            if prev is None:  # first frame of this camera: a picture of every label, for people to look at
                name = "preview.png" if len(world.cameras) == 1 else f"preview_{cam}.png"
                formats.write_rgb(seq_dir / name, contact_sheet(labels, cur.rgb))
                previews.append(Path(resolved.scene.name) / seq_dir.name / name)
            t1 = time.perf_counter()
            writer.write_frame(labels, cur.rgb, scene=resolved.scene.name, variant=variant, seed=seed,
                               tags=tags, knobs={**knobs, **resolved.camera_knobs(cam), **cam_knobs[cam]},
                               passes=cfg.passes, meta_extra=None if cur.sensor is None else {"sensor": cur.sensor})
            t2 = time.perf_counter()
            for k, v in cur.timings.items():
                per_stage[k] = per_stage.get(k, 0.0) + v
            per_stage["labels_post"] = per_stage.get("labels_post", 0.0) + (t1 - t0)
            per_stage["write"] = per_stage.get("write", 0.0) + (t2 - t1)
            done += 1
            if on_frame is not None:
                on_frame(done, total)

        # Frame t is labelled once t+1 is rendered (occlusion needs the neighbour's depth); the window is 3 frames.
        for raw in blender.render_world(world, settings, frames=list(range(count)), on_reflection=on_reflection):
            window = pending[raw.camera]
            window.append(raw)
            if len(window) == 2 and window[0].frame == 0:
                emit(raw.camera, None, window[0], window[1])
            elif len(window) == 3:
                emit(raw.camera, window[0], window[1], window[2])
                window.pop(0)
        for cam, window in pending.items():
            if len(window) == 1:
                emit(cam, None, window[0], None)
            elif len(window) >= 2:
                emit(cam, window[-2], window[-1], None)
        _commit_sequence(staging, out, resolved.scene.name, variant)
        write_attribution(out)  # the dataset's ATTRIBUTION.md / .json: every third-party asset of every sequence
    except OSError as err:
        raise OutputError(f"cannot write to {out}: {err.strerror or err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    index = None
    try:  # derived from the manifest: the dataset is complete without it
        index = write_index(out)
    except OSError as err:
        log.warning("could not write %s: %s", out / "index.html", err.strerror or err)
    return RenderSummary(out=out, scene=resolved.scene.name, variant=variant, seed=seed, frames=count,
                         cameras=len(world.cameras), device=choice.message, seconds=time.perf_counter() - started,
                         per_stage=per_stage, previews=[out / p for p in previews], index=index)
