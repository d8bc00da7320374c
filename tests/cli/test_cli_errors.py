"""One error path for the whole CLI: every command x {missing argument, unknown option, wrong type, out-of-range
value} gives exit code 2 and one or two lines naming the option, never a traceback (with the typer version that
scripts/setup.sh installs). Internal errors: one line + a log file holding the traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simgen.cli import _register, app, main

REPO = Path(__file__).resolve().parents[2]
SCENE = str(REPO / "scenes" / "quickstart.yaml")

# command -> case -> (argv after the command, text the message must contain: the option or argument it is about)
CASES: dict[str, dict[str, tuple[list[str], str]]] = {
    "check": {
        "missing argument": ([], "files"),
        "unknown option": ([SCENE, "--no-such-option"], "--no-such-option"),
        "wrong type": ([SCENE, "--quiet=yes"], "--quiet"),
        "out-of-range value": ([SCENE, "--kind", "movie"], "--kind"),
    },
    "schema": {
        "missing argument": (["--kind"], "--kind"),
        "unknown option": (["--no-such-option"], "--no-such-option"),
        "wrong type": (["--kind", "3"], "--kind"),
        "out-of-range value": (["--kind", "movie"], "--kind"),
    },
    "resolve": {
        "missing argument": ([], "file"),  # --seed is optional (default 0, as for render)
        "unknown option": ([SCENE, "--seed", "1", "--no-such-option"], "--no-such-option"),
        "wrong type": ([SCENE, "--seed", "abc"], "--seed"),
        "out-of-range value": ([SCENE, "--seed", "1", "--variant", "-1"], "--variant"),
    },
    "render": {
        "missing argument": ([], "scene"),
        "unknown option": ([SCENE, "--out", "OUT", "--no-such-option"], "--no-such-option"),
        "wrong type": ([SCENE, "--out", "OUT", "--seed", "abc"], "--seed"),
        "out-of-range value": ([SCENE, "--out", "OUT", "--frames", "0"], "--frames"),
    },
    "batch": {
        "missing argument": ([], "specs"),
        "unknown option": ([SCENE, "--out", "OUT", "--no-such-option"], "--no-such-option"),
        "wrong type": ([SCENE, "--out", "OUT", "--frames", "abc"], "--frames"),
        "out-of-range value": ([SCENE, "--out", "OUT", "--retries", "-1"], "--retries"),
    },
    "repair": {
        "missing argument": ([], "dataset"),
        "unknown option": (["OUT", "--no-such-option"], "--no-such-option"),
        "wrong type": (["OUT", "--dry-run=maybe"], "--dry-run"),
        "out-of-range value": (["OUT", "--verify", "everything"], "--verify"),
    },
    "gap": {
        "missing argument": ([], "synth"),
        "unknown option": (["A", "B", "--out", "OUT", "--no-such-option"], "--no-such-option"),
        "wrong type": (["A", "B", "--out", "OUT", "--reps", "many"], "--reps"),
        "out-of-range value": (["A", "B", "--out", "OUT", "--reps", "1"], "--reps"),
    },
    "probe": {
        "missing argument": ([], "dataset"),
        "unknown option": (["DS", "--no-such-option"], "--no-such-option"),
        "wrong type": (["DS", "--seed", "abc"], "--seed"),
        "out-of-range value": (["DS", "--iou", "2"], "--iou"),
    },
    "export": {
        "missing argument": ([], "dataset"),
        "unknown option": (["DS", "--format", "coco", "--out", "OUT", "--no-such-option"], "--no-such-option"),
        "wrong type": (["DS", "--format", "coco", "--out", "OUT", "--seed", "abc"], "--seed"),
        "out-of-range value": (["DS", "--format", "coco", "--out", "OUT", "--shard-samples", "0"], "--shard-samples"),
    },
}


def _commands() -> set[str]:
    _register()
    return {c.name or c.callback.__name__ for c in app.registered_commands}


def test_every_command_is_in_the_table():
    missing = _commands() - set(CASES)
    assert not missing, f"add usage-error cases for: {sorted(missing)}"


@pytest.mark.parametrize("command,case", [(c, k) for c, cases in CASES.items() for k in cases])
def test_usage_error_is_two_lines_exit_2(command, case, capsys, tmp_path):
    if command not in _commands():
        pytest.skip(f"{command} is not registered")
    args, names = CASES[command][case]
    args = [str(tmp_path / a) if a in ("OUT", "A", "B") else a for a in args]
    code = main([command, *args])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, (code, err)
    assert "Traceback" not in err and "Traceback" not in captured.out
    assert 1 <= len(err.splitlines()) <= 2, err
    assert names.lower() in err.lower(), err
    assert not (tmp_path / "OUT").exists()  # nothing was created


def test_unknown_command_and_no_arguments(capsys):
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "no-such-command" in err and len(err.strip().splitlines()) <= 2 and "Traceback" not in err
    assert main([]) == 2  # the help, as usage
    captured = capsys.readouterr()
    assert "render" in captured.out + captured.err and "Traceback" not in captured.out + captured.err


def test_error_raised_from_the_click_package_is_matched_too(capsys, monkeypatch):
    """Older typer raises the click package's exceptions; simgen.cli handles both families."""
    click = pytest.importorskip("click")

    def boom(*a, **k):
        raise click.BadParameter("must be positive", param_hint="'--threads'")

    monkeypatch.setattr("simgen.cli.spec_cmds.check_file", boom)
    assert main(["check", SCENE]) == 2
    err = capsys.readouterr().err
    assert "--threads" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_internal_error_is_one_line_and_a_log_file(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SIMGEN_LOG_DIR", str(tmp_path / "logs"))

    def boom(*a, **k):
        raise ZeroDivisionError("a bug in simgen")

    monkeypatch.setattr("simgen.cli.spec_cmds.check_file", boom)
    assert main(["check", SCENE]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "ZeroDivisionError" in err
    logs = list((tmp_path / "logs").glob("simgen-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    text = logs[0].read_text()
    assert "Traceback" in text and "a bug in simgen" in text and "boom" in text


def test_real_process_usage_error_exit_2(tmp_path):
    """The installed entry (python -m simgen.cli) as a user runs it: exit 2, two lines, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "simgen.cli", "render", SCENE, "--out", str(tmp_path / "o"),
                        "--frames", "0"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "--frames" in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    assert r.stderr.startswith("error: simgen render:")
