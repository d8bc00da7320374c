"""``simgen repair``: check a dataset's integrity and make its manifest match its files."""

from __future__ import annotations

from pathlib import Path

import typer

from simgen.cli import app
from simgen.errors import SimgenError

_VERIFY = ("exist", "read")


class DatasetBroken(SimgenError):
    """The dataset has integrity problems (printed already)."""


@app.command("repair")
def repair_cmd(
    dataset: Path = typer.Argument(..., help="A simgen dataset folder (it has dataset.json)."),
    dry_run: bool = typer.Option(False, "--dry-run", "--check",
                                 help="Only check: list the problems, change nothing (exit 1 if any)."),
    verify: str = typer.Option("exist", "--verify", help="exist: a row is kept when its files exist (fast). "
                                                        "read: also decode every file and report unreadable ones."),
) -> None:
    """Finish or undo interrupted commits, drop unreadable manifest lines and rows whose files are missing, re-index
    sequence folders from their rows.jsonl. Never deletes a file."""
    from simgen.errors import UsageError
    from simgen.io.commit import repair, verify as verify_dataset

    if verify not in _VERIFY:
        raise UsageError(f"--verify must be one of {', '.join(_VERIFY)}; got '{verify}'")
    if not (dataset / "dataset.json").is_file():
        raise SimgenError(f"{dataset} is not a simgen dataset (no dataset.json)")
    if dry_run:
        problems = verify_dataset(dataset)
        if verify == "read":
            problems += _unreadable(dataset)
        for p in problems:
            typer.echo(p)
        if problems:
            raise DatasetBroken(f"{len(problems)} problem(s) in {dataset}; 'simgen repair {dataset}' fixes them")
        typer.echo(f"{dataset}: ok")
        return
    rep = repair(dataset)
    for line in rep.actions:
        typer.echo(line)
    for row in rep.dropped_rows[:20]:
        typer.echo(f"  dropped {row}")
    if verify == "read":
        for p in _unreadable(dataset):
            typer.echo(p)
    for seq in rep.unindexed:
        typer.echo(f"{seq}: a sequence folder without rows, left in place (re-render it, or remove it)")
    left = verify_dataset(dataset)
    if left:
        raise DatasetBroken(f"{len(left)} problem(s) remain in {dataset}: " + "; ".join(left[:3]))
    typer.echo(f"{dataset}: ok" + (" (nothing to do)" if not rep.actions else ""))


def _unreadable(dataset: Path) -> list[str]:
    from simgen.io.dataset import DatasetReader

    reader = DatasetReader(dataset)
    bad = []
    for row in reader.rows:
        try:
            reader.load(row)
        except Exception as err:  # noqa: BLE001 - any decoder failure is a finding
            bad.append(f"row {row.get('sample_id', '?')}: unreadable file ({type(err).__name__}: {err})")
    return bad
