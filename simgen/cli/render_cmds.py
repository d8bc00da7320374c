"""``simgen render``: one scene file -> a labelled sequence in a native dataset."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from simgen.cli import app

DEVICES = ("auto", "cpu", "cuda", "optix", "hip", "oneapi", "metal")


@app.command("render")
def render(
    scene: Path = typer.Argument(..., help="Scene or sweep YAML file (e.g. scenes/quickstart.yaml)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output dataset folder (created; sequences are added)."),
    config: str = typer.Option(None, "--config", "-c",
                               help="Render config: a preset name (test, preview, production) or a YAML file. "
                                    "Default: the embedded CPU-friendly default (320x240, 16 spp, denoised)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Scene seed (0 is a seed like any other)."),
    variant: int = typer.Option(0, "--variant", min=0, help="Sweep point K of a sweep file; for a plain scene, "
                                                            "another independent draw of its random values."),
    frames: int = typer.Option(None, "--frames", min=1, help="Render only the first N frames."),
    device: str = typer.Option(None, "--device",
                               help="auto (best GPU, else CPU) | cpu | cuda | optix | hip | oneapi | metal. "
                                    "Overrides the config."),
    threads: int = typer.Option(None, "--threads", min=0, help="CPU render threads (0 = all cores). Overrides the "
                                                              "config."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    replace: bool = typer.Option(False, "--replace", help="Replace the sequences of another scene file that has "
                                                          "the same scene name (default: that is an error)."),
    include_root: list[Path] = typer.Option([], "--include-root", help="Also let 'extends:' reach files under this "
                                            "folder (repeatable; default: only the scene file's own folder)."),
) -> None:
    """Render a scene with exact labels (depth, flow, semantic/instance masks, normals, boxes)."""
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    from simgen.errors import UsageError
    from simgen.pipeline import render_scene
    from simgen.spec import default_render_config, load_render_config

    if device is not None and device.lower() not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}; got '{device}'")
    err = Console(stderr=True)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=err, show_path=False,
                                                                                         show_time=False)],
                        force=True)
    from simgen.spec.yamlio import include_roots

    with include_roots(*include_root):
        cfg = load_render_config(config) if config else default_render_config()
    if threads is not None:
        cfg = cfg.model_copy(update={"threads": threads})
    bar = Progress(TextColumn("[bold]rendering {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=err, disable=not progress, transient=False)
    with include_roots(*include_root), bar:
        task = bar.add_task(scene.name, total=None)

        refl_task = None

        def on_frame(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def on_reflection(done: int, total: int) -> None:
            nonlocal refl_task
            if refl_task is None:
                refl_task = bar.add_task("reflection labels", total=total)
            bar.update(refl_task, completed=done)

        summary = render_scene(scene, out, cfg=cfg, seed=seed, variant=variant, frames=frames,
                               device=device.lower() if device else None, on_frame=on_frame,
                               on_reflection=on_reflection, replace=replace)
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in sorted(summary.per_stage.items()))
    err.print(f"[green]done[/]: {summary.frames} frame(s) x {summary.cameras} camera(s) of '{summary.scene}' "
              f"(seed {summary.seed}, variant {summary.variant}) in {summary.seconds:.1f} s "
              f"({summary.seconds_per_frame:.2f} s/frame)")
    err.print(summary.device)
    err.print(f"stages: {stages}")
    for preview in summary.previews:
        err.print(f"preview: {preview}")
    err.print(f"sequence: {summary.sequence}")
    err.print(f"output: {summary.out.resolve()}  (manifest: {summary.out / 'manifest.jsonl'})")
    if summary.index is not None:
        err.print(f"browse: {summary.index}")
