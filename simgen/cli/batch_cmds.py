"""``simgen batch``: scene files x sweep points x seeds -> many sequences, on local worker processes or Ray."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from simgen.cli import app

BACKENDS = ("local", "ray")


@app.command("batch")
def batch(
    specs: list[Path] = typer.Argument(..., help="Scene or sweep YAML files."),
    out: Path = typer.Option(..., "--out", "-o", help="Output dataset folder (created; sequences are added)."),
    variants: str = typer.Option(None, "--variants", help="Sweep points (plain scenes: independent draws), e.g. "
                                                         "0-9,12; default: every point of a sweep, 0 otherwise."),
    seeds: str = typer.Option("0", "--seeds", help="Seeds, e.g. 0-4 or 0,7 (a sweep that lists seeds keeps its own)."),
    workers: str = typer.Option("auto", "--workers", help="Worker processes: N or auto (one per GPU, else one "
                                                          "CPU worker using all cores)."),
    gpus: str = typer.Option(None, "--gpus", help="GPU ids to use, e.g. 0,1 (default: every GPU found; 'none' = "
                                                  "CPU only)."),
    resume: bool = typer.Option(False, "--resume", help="Skip jobs whose sequence is complete and verified (files "
                                                        "and checksums as recorded); redo partial ones."),
    backend: str = typer.Option("local", "--backend", help="local (worker processes here) or ray."),
    address: str = typer.Option(None, "--address", help="Ray cluster address (ray://host:10001 or host:6379; "
                                                        "default: RAY_ADDRESS or a local Ray instance)."),
    config: str = typer.Option(None, "--config", "-c", help="Render config: a preset name (test, preview, "
                                                            "production) or a YAML file."),
    frames: int = typer.Option(None, "--frames", min=1, help="Render only the first N frames of each sequence."),
    device: str = typer.Option(None, "--device", help="auto | cpu | cuda | optix | hip | oneapi (overrides the "
                                                      "config)."),
    retries: int = typer.Option(2, "--retries", min=0, max=100, help="Retries of a failed job (worker death, "
                                                                     "watchdog, error)."),
    backoff: float = typer.Option(5.0, "--backoff", min=0.0, max=3600.0, help="Seconds before the first retry "
                                                                              "(doubled for each further one)."),
    watchdog: float = typer.Option(1800.0, "--watchdog", min=1.0, help="Kill a worker that makes no progress (no "
                                                                       "frame) for this many seconds."),
    jobs_per_worker: int = typer.Option(50, "--jobs-per-worker", min=1, help="Replace a worker process after "
                                                                             "this many jobs."),
    max_rss_mb: float = typer.Option(16384.0, "--max-rss-mb", min=64.0, help="Replace a worker process whose "
                                                                             "memory exceeds this (MiB)."),
    verify: str = typer.Option("hash", "--verify", help="--resume check: hash (sizes and sha256) or size."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress display."),
    include_root: list[Path] = typer.Option([], "--include-root", help="Also let 'extends:' reach files under this "
                                            "folder (repeatable)."),
) -> None:
    """Render many sequences: every scene file x sweep point x seed is a job, committed atomically."""
    from rich.console import Console
    from rich.logging import RichHandler

    from simgen.batch import faults as F
    from simgen.batch.api import run_batch
    from simgen.batch.jobs import expand_jobs
    from simgen.batch.plan import parse_gpus, parse_workers
    from simgen.batch.runner import Options
    from simgen.cli.render_cmds import DEVICES
    from simgen.errors import UsageError
    from simgen.spec import default_render_config, load_render_config
    from simgen.spec.yamlio import include_roots

    if backend.lower() not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}; got '{backend}'")
    if device is not None and device.lower() not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}; got '{device}'")
    if verify not in ("hash", "size"):
        raise UsageError(f"--verify must be hash or size; got '{verify}'")
    if address and backend.lower() != "ray":
        raise UsageError("--address needs --backend ray")
    n_workers, gpu_ids = parse_workers(workers), parse_gpus(gpus)
    fault_spec = F.from_env()
    F.parse(fault_spec)
    err = Console(stderr=True)
    logging.basicConfig(level=logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False, show_time=False)], force=True)
    with include_roots(*include_root):
        cfg = load_render_config(config) if config else default_render_config()
        jobs = expand_jobs(specs, cfg=cfg, variants=variants, seeds=seeds, frames=frames)
    dev = device.lower() if device else None
    opts = Options(out=out, cfg=cfg, frames=frames, device=dev, retries=retries, backoff=backoff,
                   watchdog=watchdog, jobs_per_worker=jobs_per_worker, max_rss_mb=max_rss_mb, resume=resume,
                   hashes=verify == "hash", progress=progress, faults=fault_spec)
    err.print(f"{len(jobs)} job(s), {sum(j.frames for j in jobs)} frame(s) -> {out}")
    rep = run_batch(jobs, opts, backend=backend.lower(), workers=n_workers, gpus=gpu_ids, address=address)
    c = rep["counts"]
    err.print(f"[{'red' if c['failed'] else 'green'}]batch done[/]: {c['done']} rendered, {c['skipped']} already "
              f"complete, {c['failed']} failed of {c['jobs']} job(s); {c['frames']} frame(s) in {rep['seconds']:.1f} s "
              f"({rep['frames_per_second']:.2f} frames/s)")
    for f in rep["failures"]:
        err.print(f"[red]failed[/] {f['sequence']} (job {f['job']}, {f['attempts']} attempt(s)): {f['error']}")
    err.print(f"report: {out / 'batch_report.json'}  browse: {out / 'index.html'}")
    if rep["exit_code"]:
        raise typer.Exit(rep["exit_code"])
