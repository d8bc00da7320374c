"""``simgen export``: a native dataset -> KITTI, COCO, Cityscapes-style or WebDataset shards."""

from __future__ import annotations

from pathlib import Path

import typer

from simgen.cli import app


@app.command("export")
def export(
    dataset: Path = typer.Argument(..., help="A simgen dataset folder (with dataset.json and manifest.jsonl)."),
    fmt: str = typer.Option(..., "--format", "-f", help="kitti | coco | cityscapes | shards"),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created; re-running completes it)."),
    split: list[str] = typer.Option(None, "--split", help="Export only this split (train, val, test, or the names "
                                                          "of --split-shares); repeat for several. Sequences are "
                                                          "never divided between splits."),
    split_shares: str = typer.Option(None, "--split-shares", help="Split names and shares, e.g. "
                                                                  "train=0.8,val=0.1,test=0.1 (the default)."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the sequence -> split assignment."),
    filters: list[str] = typer.Option(None, "--filter", help="KEY OP VALUE, e.g. tag=night, fog_density<0.2, "
                                                             "weather=rain, scene=city; repeat to combine (and)."),
    shard_samples: int = typer.Option(1000, "--shard-samples", min=1, help="shards: samples per shard at most."),
    shard_mb: float = typer.Option(1000.0, "--shard-mb", min=0.001, help="shards: close a shard at this size (MB)."),
    keep_order: bool = typer.Option(False, "--keep-order", help="shards: keep manifest order (no shuffle)."),
    seed: int = typer.Option(0, "--seed", help="shards: seed of the shuffle across sequences."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Export a dataset to a format training code reads; prints what was exported and what was skipped, and why."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    from simgen.io.export import FORMATS, ExportError, export_dataset
    from simgen.io.select import parse_splits

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    options = {}
    if fmt == "shards":
        options = {"shard_samples": shard_samples, "shard_bytes": int(shard_mb * 1e6), "keep_order": keep_order,
                   "seed": seed}
    err = Console(stderr=True)
    bar = Progress(TextColumn(f"[bold]exporting {fmt}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=err, disable=not progress, transient=False)
    with bar:
        task = bar.add_task(fmt, total=None)
        summary = export_dataset(
            dataset, fmt, out, split=(split[0] if len(split) == 1 else list(split)) if split else None,
            shares=parse_splits(split_shares) if split_shares else None, split_seed=split_seed,
            filters=list(filters or []), on_progress=lambda done, total: bar.update(task, completed=done, total=total),
            **options)
    for line in summary.lines():
        typer.echo(line)
