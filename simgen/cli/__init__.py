"""The ``simgen`` command. Each stage registers its subcommands from its own module here.

Any :class:`simgen.errors.SimgenError` is printed as a message with exit code 1, never as a traceback.
"""

from __future__ import annotations

import sys

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

    for mod in ("spec_cmds", "render_cmds", "gap_cmds", "export_cmds"):
        try:
            importlib.import_module(f"simgen.cli.{mod}")
        except ModuleNotFoundError as exc:  # a stage not built yet
            if exc.name != f"simgen.cli.{mod}":
                raise


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Returns the process exit code."""
    from simgen.errors import SimgenError

    _register()
    try:
        rc = app(args=argv, standalone_mode=False)
    except SimgenError as err:
        typer.echo(f"error: {err}", err=True)
        return err.exit_code
    except typer.Exit as ex:
        return ex.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return int(rc or 0)


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())
