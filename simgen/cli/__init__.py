"""The ``simgen`` command. Each stage registers its subcommands from its own module here.

One error path (:func:`main`): a :class:`simgen.errors.SimgenError` is printed as a message with exit code 1, a
usage mistake as one or two lines with exit code 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from simgen import __version__

app = typer.Typer(
    name="simgen",
    help="YAML driving scenes -> rendered, exactly labelled datasets; and a domain-gap validator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"simgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """simgen: synthetic driving data with exact labels."""


def _register() -> None:
    # Subcommand modules import their heavy dependencies (bpy, torch) lazily inside the commands.
    import importlib

    for mod in ("spec_cmds", "render_cmds", "batch_cmds", "dataset_cmds", "gap_cmds", "export_cmds"):
        try:
            importlib.import_module(f"simgen.cli.{mod}")
        except ModuleNotFoundError as exc:  # a stage not built yet
            if exc.name != f"simgen.cli.{mod}":
                raise


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes the installed typer raises for command-line mistakes.

    typer >= 0.29 bundles its own click (``typer._click``, errors derive from ``typer.exceptions.TyperException``);
    older typer raises the ``click`` package's ``ClickException``. Both are matched, whichever is installed."""
    types: list[type[BaseException]] = []
    try:
        from typer.exceptions import TyperException

        types.append(TyperException)
    except ImportError:  # typer < 0.29
        pass
    try:
        import click

        types.append(click.ClickException)
    except ImportError:
        pass
    return tuple(types)


def _command_names() -> set[str]:
    return {c.name or c.callback.__name__ for c in app.registered_commands if c.callback is not None}


def _usage_message(exc: BaseException, argv: list[str] | None = None) -> tuple[str, int]:
    """(one or two lines, exit code) for a typer/click usage error: the problem, naming the option, then where
    to read the allowed values."""
    code = int(getattr(exc, "exit_code", 2) or 2)
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None)
    if not command:  # raised before a sub-context existed (e.g. an option given without its value)
        words = list(sys.argv[1:] if argv is None else argv)
        command = "simgen" + (f" {words[0]}" if words and words[0] in _command_names() else "")
    if type(exc).__name__ == "NoArgsIsHelpError":  # ``simgen`` or a group with no arguments: show the help
        return (ctx.get_help() if ctx is not None else "usage: simgen COMMAND [ARGS]..."), 2
    fmt = getattr(exc, "format_message", None)
    msg = fmt() if callable(fmt) else str(exc)
    msg = " ".join(str(msg).split()) or type(exc).__name__
    return f"error: {command}: {msg}\n(see '{command} --help' for the options and their allowed values)", code


def log_dir() -> Path:
    """Where unexpected-error tracebacks go: ``$SIMGEN_LOG_DIR``, else ``<data dir>/logs`` (~/.cache/simgen/logs)."""
    from simgen.paths import data_dir

    env = os.environ.get("SIMGEN_LOG_DIR")
    return Path(env).expanduser() if env else data_dir("logs")


def _log_traceback(exc: BaseException, argv: list[str] | None) -> Path | None:
    """Write the traceback of an unexpected error to a fresh log file; returns its path (None if unwritable)."""
    import datetime
    import tempfile
    import traceback

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    text = (f"simgen {__version__}\nargv: {argv if argv is not None else sys.argv[1:]}\n\n"
            + "".join(traceback.format_exception(exc)))
    for folder in (log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"simgen-error-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Returns the process exit code.

    Exit codes: 0 success, 1 bad input (a :class:`simgen.errors.SimgenError`: a bad file, a missing scene, an
    unwritable folder), 2 usage (unknown option or command, missing argument, a value of the wrong type or out of
    range), 130 interrupted (SIGINT), 143 terminated (SIGTERM). Every error is one or two lines on stderr, never a
    traceback; an unexpected internal error (exit 1) prints one line and the path of a log file holding the traceback."""
    from simgen.errors import Interrupted, SimgenError

    _register()
    usage_types = _usage_error_types()
    if not (sys.argv[1:] if argv is None else argv):  # bare ``simgen``: the help, as a usage error (any click)
        try:
            app(args=["--help"], prog_name="simgen", standalone_mode=False)
        except typer.Exit:
            pass
        return 2
    try:
        rc = app(args=argv, prog_name="simgen", standalone_mode=False)
    except Interrupted as err:
        typer.echo(f"interrupted: {err}", err=True)
        return err.exit_code
    except SimgenError as err:
        typer.echo(f"error: {err}", err=True)
        return err.exit_code
    except typer.Exit as ex:
        from simgen import interrupt

        if ex.exit_code == 130 and (interrupt.received() is not None or isinstance(ex.__cause__, KeyboardInterrupt)):
            typer.echo("interrupted", err=True)  # typer turns KeyboardInterrupt into Exit(130)
            return interrupt.exit_code()
        return int(ex.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        from simgen import interrupt

        typer.echo("interrupted", err=True)
        return interrupt.exit_code()
    except usage_types as exc:
        msg, code = _usage_message(exc, argv)
        typer.echo(msg, err=True)
        return code
    except Exception as exc:  # a bug: one line here, the traceback in a log file
        path = _log_traceback(exc, argv)
        first = " ".join(str(exc).split())[:200]
        where = f"traceback in {path}" if path else "traceback could not be saved"
        typer.echo(f"internal error: {type(exc).__name__}: {first} ({where})", err=True)
        return 1
    if rc == 130:  # typer >= 0.29 returns 130 for a KeyboardInterrupt in standalone_mode=False
        from simgen import interrupt

        typer.echo("interrupted", err=True)
        return interrupt.exit_code()
    return int(rc or 0)


def run() -> None:  # pragma: no cover - console script shim
    """The ``simgen`` command: signals routed to the watcher of :mod:`simgen.interrupt` (so Ctrl-C stops a Blender
    render), then :func:`main`. With Blender loaded the process ends with ``os._exit`` once output is flushed:
    Blender's exit-time memory report is noise to a user."""
    from simgen import interrupt

    interrupt.install()
    rc = main()
    if "bpy" in sys.modules:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed pipe: nothing left to say
                pass
        os._exit(rc)
    sys.exit(rc)
