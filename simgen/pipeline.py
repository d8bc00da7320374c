"""One scene file -> one rendered, labelled sequence in a native dataset.

spec (load, resolve) -> world (build) -> render (Blender adapter) -> labels -> io. This module only wires the
stages together; it imports bpy indirectly, through :mod:`simgen.render`, and only when rendering starts.

A sequence is rendered into a hidden staging dataset inside the output folder and committed
(:func:`simgen.io.commit.commit_sequence`: journal, folder rename, atomic manifest rewrite) only once every frame
is written: a failure, a crash or Ctrl-C leaves the output dataset as it was (a crash mid-commit is completed by
the next run or ``simgen repair``), plus at most a ``.staging-*`` folder that the next run removes.
"""

from __future__ import annotations

import contextlib
import hashlib
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
    #: the sequence folder, ``<scene>/<sequence>`` relative to ``out``
    sequence: str = ""
    #: sequence folders this run replaced
    replaced: list[str] = field(default_factory=list)

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


def frames_to_render(cfg: RenderConfig, scene_frames: int, frames: int | None = None) -> int:
    """How many frames a render writes: the scene's, cut to the config's ``frames`` and the caller's ``frames``
    (``--frames``) where given."""
    return min(x for x in (frames, cfg.frames, scene_frames) if x is not None)


def prepare(scene_path: str | Path, *, seed: int, variant: int, cfg: RenderConfig) -> tuple[ResolvedScene, World]:
    """Load, resolve and build a scene without Blender. Raises SimgenError subclasses on user mistakes.

    ``scene_path`` may be a sweep file (or a scene with a ``sweep:`` section): ``variant`` then picks the sweep
    point, whose own seed, if the sweep lists seeds, replaces ``seed``."""
    from simgen.world.build import build_world

    path = Path(scene_path)
    if not path.exists():
        raise SimgenError(f"scene file not found: {path}")
    if not path.is_file():
        raise SimgenError(f"scene file {path} is not a regular file (a folder, FIFO or device)")
    spec, seed, labels = scene_variant(path, variant, seed)  # a sweep file: variant = the sweep point
    resolved = resolve(spec, seed=seed, variant=variant, sweep=labels)
    from simgen.world.feasibility import edge_position_findings

    beyond = edge_position_findings(resolved)  # an edge case off the road cannot happen: refuse, never tag it
    if beyond:
        raise SimgenError("; ".join(f"{path}: edge_cases[{f.path[1]}]: {f.message}" for f in beyond)
                          + f" ('simgen check {path}' lists every problem)")
    world = build_world(resolved, cfg.width, cfg.height)
    return resolved, world


def is_sweep(scene_path: str | Path) -> bool:
    """Whether the file is a sweep (a sweep file, or a scene with a ``sweep:`` section)."""
    from simgen.spec.sweep import expand_sweep

    vs = expand_sweep(scene_path)
    return not (len(vs) == 1 and not vs[0].overrides and vs[0].seed is None)


def sequence_name(variant: int, seed: int, sweep_file: str | Path | None = None) -> str:
    """The sequence folder under ``<scene>/``: ``v0003-s7`` (variant 3, seed 7) for a plain scene,
    ``<sweep file stem>-p0003-s7`` for point 3 of a sweep, so that sweep points never replace plain renders and
    a different seed adds a sequence."""
    import re

    if sweep_file is None:
        return f"v{variant:04d}-s{seed}"
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", Path(sweep_file).stem).strip(".") or "sweep"
    return f"{stem}-p{variant:04d}-s{seed}"


def source_identity(scene_path: str | Path) -> str:
    """What identifies a scene file in a dataset: its absolute, symlink-resolved path."""
    return str(Path(scene_path).resolve())


def plan_sequence(out: Path, scene: str, rel: str, source: str, replace: bool) -> tuple[list[str], bool]:
    """Check the dataset before rendering: (other sequences to drop, whether ``rel`` itself is replaced).

    Raises :class:`ManifestError` when the manifest has unreadable lines, :class:`SimgenError` when another scene
    file already rendered a scene of this name (unless ``replace``: then its sequences are dropped)."""
    from simgen.io.commit import require_readable_manifest, sequence_of

    rows = require_readable_manifest(out).rows if (out / "manifest.jsonl").exists() else []
    others: dict[str, str] = {}
    replaced = False
    for row in rows:
        if row.get("scene") != scene:
            continue
        seq = sequence_of(row)
        src = row.get("source")
        if seq == rel and (src is None or src == source):
            replaced = True
        elif src is not None and src != source:
            others[seq] = src
    if others and not replace:
        src = next(iter(others.values()))
        raise SimgenError(f"scene name '{scene}' is already in {out} from another file ({src}, "
                          f"{len(others)} sequence(s)); rename the scene (scene.name) or pass --replace to replace "
                          f"those sequences")
    if rel in others:
        replaced = True
    return sorted(s for s in others if s != rel), replaced


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
    replace: bool = False,
    faults: Callable[[str], None] | None = None,
) -> RenderSummary:
    """Render one scene file into the native dataset at ``out``.

    cfg: render configuration (default: :func:`simgen.spec.default_render_config`). frames: render only the
    first N frames. device: overrides ``cfg.device``. on_frame(done, total): progress callback, once per frame
    and camera written. on_reflection(done, total): progress of the reflection-label pre-pass (only with the
    ``reflection`` pass), which runs before the first frame. Raises :class:`SimgenError` subclasses (spec
    errors, missing scene, unknown or missing device, unwritable output) before anything is written under
    ``out``. Afterwards ``out/index.html`` is rewritten (:func:`simgen.io.gallery.write_index`).

    The sequence goes to ``out/<scene>/<sequence_name(...)>``; its key is (scene file, variant, seed). The same
    key replaces the earlier sequence (``summary.replaced``); a scene name already rendered from another file is
    an error unless ``replace``. A manifest with unreadable lines is refused (``simgen repair``). The sequence is
    added by :func:`simgen.io.commit.commit_sequence` (together with its rows, or not at all); a SIGINT/SIGTERM
    under the ``simgen`` command stops the run at once and leaves ``out`` as it was (:mod:`simgen.interrupt`).
    faults: test hook passed to ``commit_sequence``.
    """
    from simgen.io.dataset import DatasetWriter
    from simgen.io.attribution import write_attribution, write_sequence_credits
    from simgen.io import formats
    from simgen.labels.frame import NeighbourView, compute_frame_labels
    from simgen.labels.visualize import contact_sheet

    started = time.perf_counter()
    cfg = cfg or default_render_config()
    resolved, world = prepare(scene_path, seed=seed, variant=variant, cfg=cfg)
    prepare_seconds = time.perf_counter() - started  # resolve + world build (asset loading included)
    seed = resolved.seed  # a sweep point may fix its own seed
    settings = settings_from_config(cfg, seed=seed, device=device)
    count = frames_to_render(cfg, world.frame_count, frames)
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
    from simgen import interrupt
    from simgen.io.commit import ROWS, commit_sequence, recover
    from simgen.io.layout import safe_component

    source = source_identity(scene_path)
    seq_name = sequence_name(variant, seed, scene_path if is_sweep(scene_path) else None)
    rel = f"{safe_component(resolved.scene.name, 'scene')}/{seq_name}"
    writer_kw = {"blender_version": _blender_version()}
    if out.is_dir():
        for line in recover(out):  # commits left unfinished by a process that died
            log.warning("%s: %s", out, line)
    drop, replaced = plan_sequence(out, resolved.scene.name, rel, source, replace) if out.is_dir() else ([], False)
    DatasetWriter(out, **writer_kw)  # creates OUT/dataset.json, or checks the existing one
    _clean_stale_staging(out)
    staging = out / f"{STAGING_PREFIX}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    per_stage: dict[str, float] = {"prepare": prepare_seconds}
    row_extra = {"sequence": rel, "source": source}
    if resolved_sweep := getattr(resolved, "sweep", None):
        row_extra["sweep"] = resolved_sweep
    unregister = interrupt.remove_tree_on_stop(staging)
    stop_guard = contextlib.ExitStack()
    stop_guard.enter_context(interrupt.hard_stop())  # a signal now ends the process at once (after cleanups)
    try:
        writer = DatasetWriter(staging, **writer_kw)
        seq_dir = writer.begin_sequence(resolved.scene.name, variant, [c.name for c in world.cameras],
                                        resolved=json.loads(resolved.model_dump_json()), name=seq_name)
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
                cur, world, frame_count=count,
                next_view=NeighbourView.from_raw(nxt) if nxt is not None else None,
                prev_view=NeighbourView.from_raw(prev) if prev is not None else None,
            )
            if prev is None:  # first frame of this camera: a picture of every label, for people to look at
                name = "preview.png" if len(world.cameras) == 1 else f"preview_{cam}.png"
                formats.write_rgb(seq_dir / name, contact_sheet(labels, cur.rgb))
                previews.append(Path(rel) / name)
            t1 = time.perf_counter()
            writer.write_frame(labels, cur.rgb, scene=resolved.scene.name, variant=variant, seed=seed,
                               tags=tags, knobs={**knobs, **resolved.camera_knobs(cam), **cam_knobs[cam]},
                               passes=cfg.passes, meta_extra=None if cur.sensor is None else {"sensor": cur.sensor},
                               row_extra=row_extra)
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
        # The sequence's rows travel with its folder. Their commit id is a digest of the rows, so the same render
        # gives the same bytes (and a re-render of identical rows is the same commit to recovery).
        raw_rows = (staging / "manifest.jsonl").read_bytes()
        commit_id = hashlib.sha256(raw_rows).hexdigest()[:16]
        from simgen.io.dataset import iter_manifest

        (seq_dir / ROWS).write_text("".join(
            json.dumps({**row, "commit": commit_id}, allow_nan=False, separators=(",", ":")) + "\n"
            for _, row in iter_manifest(staging / "manifest.jsonl")), encoding="utf-8")
        with interrupt.critical():
            commit_sequence(out, staging, rel, drop=tuple(drop), faults=faults)
        write_attribution(out)  # the dataset's ATTRIBUTION.md / .json: every third-party asset of every sequence
    except OSError as err:
        raise OutputError(f"cannot write to {out}: {err.strerror or err}") from err
    finally:
        stop_guard.close()
        unregister()
        shutil.rmtree(staging, ignore_errors=True)
    if replaced or drop:
        what = [f"{rel} (same scene file, variant and seed)"] if replaced else []
        what += [f"{d} (from another scene file)" for d in drop]
        log.warning("replaced %s", "; ".join(what))
    index = None
    try:  # derived from the manifest: the dataset is complete without it
        index = write_index(out)
    except OSError as err:
        log.warning("could not write %s: %s", out / "index.html", err.strerror or err)
    return RenderSummary(out=out, scene=resolved.scene.name, variant=variant, seed=seed, frames=count,
                         cameras=len(world.cameras), device=choice.message, seconds=time.perf_counter() - started,
                         per_stage=per_stage, previews=[out / p for p in previews], index=index,
                         sequence=rel, replaced=([rel] if replaced else []) + list(drop))
