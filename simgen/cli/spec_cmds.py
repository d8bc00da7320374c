"""``simgen check``, ``simgen schema``, ``simgen resolve``: the scene language on the command line."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from simgen.cli import app
from simgen.errors import SimgenError, UsageError

_SCHEMA_COMMENT = re.compile(r"^#\s*yaml-language-server:\s*\$schema=\S*?([a-z_]+)\.schema\.json", re.M)
_KINDS = ("scene", "render-config", "sweep")


class CheckFailed(SimgenError):
    """Some checked files are invalid (their problems were printed already)."""


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in _KINDS:
        raise UsageError(f"--kind must be one of {', '.join(_KINDS)}; got '{kind}'")


def detect_kind(path: Path) -> str:
    """scene, render-config or sweep: from the file's schema comment, else from its top-level keys."""
    from simgen.spec import SpecError
    from simgen.spec.yamlio import read_capped

    try:  # the first 4 KB only; FIFOs and devices are refused without reading (check_file then says so)
        head = read_capped(path, 4096, head=True).decode("utf-8", "replace")
    except SpecError:
        return "scene"
    m = _SCHEMA_COMMENT.search(head)
    if m:
        return {"render_config": "render-config", "sweep": "sweep"}.get(m.group(1), "scene")
    if re.search(r"^scene:\s*[^\s#{]", head, re.M) and re.search(r"^sweep:", head, re.M):
        return "sweep"
    from simgen.spec.models import SceneSpec
    from simgen.spec.render_config import RenderConfig

    keys = set(re.findall(r"^([A-Za-z_]+):", head, re.M))
    own = set(RenderConfig.model_fields) - set(SceneSpec.model_fields)
    if keys and keys <= set(RenderConfig.model_fields) | {"extends"} and keys & own:
        return "render-config"
    return "scene"


def feasibility_issues(path: Path, spec, seeds: int | tuple, located=None, prefix: str = "") -> tuple[list, list]:
    """(errors, warnings) of the feasibility pass (:mod:`simgen.world.feasibility`) on a loaded scene, as located
    :class:`~simgen.spec.errors.Issue` objects at the line of the offending group or field. ``seeds``: a count
    (seeds 0..N-1) or the seeds themselves; ``located``: the spec's locations (default: read ``path``)."""
    from simgen.spec.yamlio import Located, load_with_extends
    from simgen.world.feasibility import feasibility

    if located is None:
        located = Located(load_with_extends(Path(path), display=str(path)))
    errors, warnings = [], []
    for f in feasibility(spec, seeds=tuple(range(seeds)) if isinstance(seeds, int) else seeds):
        issue = located.issue(f.path, prefix + f.message, f.hint)
        (errors if f.severity == "error" else warnings).append(issue)
    return errors, warnings


def sweep_points_to_build(variants) -> list:
    """A few points of a sweep that between them take every swept level at least once (first come first),
    with one seed each: the feasibility pass builds these."""
    chosen, covered = [], set()
    for v in variants:
        levels = {(p, repr(x)) for p, x in v.overrides.items()}
        if not chosen or not levels <= covered:
            chosen.append(v)
            covered |= levels
    return chosen


def _sweep_feasibility(variants, strict: bool, warn) -> str:
    from simgen.spec import SpecError

    errors, warnings = [], []
    points = sweep_points_to_build(variants)
    for v in points:
        e, w = feasibility_issues(Path(v.spec._source or ""), v.spec, (v.seed or 0,), located=v.located,
                                  prefix=f"sweep point {v.index}: ")
        errors += e
        warnings += w
    if strict:
        errors, warnings = errors + warnings, []
    for w in dict.fromkeys(warnings):
        (warn or (lambda i: None))(w)
    if errors:
        raise SpecError(errors)
    return f", {len(points)} point(s) built" + (f", {len(warnings)} warning(s)" if warnings else "")


def check_file(path: Path, kind: str | None = None, *, world: bool = True, seeds: int = 2,
               strict: bool = False, warn=None) -> str:
    """Validate one file; returns a one-line summary or raises SpecError. For a scene, ``world``: also the
    feasibility pass over ``seeds`` seeds (resolve, build the world without rendering); its warnings go to
    ``warn(issue)``, or are errors with ``strict``."""
    from simgen.spec import SpecError, expand_sweep, load_render_config, load_scene

    kind = kind or detect_kind(path)
    if kind == "render-config":
        cfg = load_render_config(path) if path.exists() else load_render_config(str(path))
        return f"{path}: ok (render config {cfg.width}x{cfg.height}, {cfg.samples} samples)"
    if kind == "sweep":
        variants = expand_sweep(path)
        extra = _sweep_feasibility(variants, strict, warn) if world else ""
        return f"{path}: ok (sweep, {len(variants)} variants{extra})"
    spec = load_scene(path)
    extra = ""
    if spec.sweep is not None:
        variants = expand_sweep(path)
        extra = f", sweep of {len(variants)} variants"
        if world:
            extra += _sweep_feasibility(variants, strict, warn)
    if world and seeds > 0:
        errors, warnings = feasibility_issues(path, spec, seeds)
        if strict:
            errors, warnings = errors + warnings, []
        for w in warnings:
            (warn or (lambda i: None))(w)
        if errors:
            raise SpecError(errors)
        extra += f", feasible with seeds 0..{seeds - 1}" + (f", {len(warnings)} warning(s)" if warnings else "")
    return f"{path}: ok (scene '{spec.scene.name}'{extra})"


@app.command("check")
def check(
    files: list[Path] = typer.Argument(..., help="Scene, sweep or render-config YAML files."),
    kind: str = typer.Option(None, "--kind", help="Force the file kind: scene, render-config or sweep "
                                                  "(default: from the $schema comment, else the keys)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing for valid files."),
    include_root: list[Path] = typer.Option([], "--include-root", help="Also let 'extends:' reach files under this "
                                            "folder (repeatable; default: only the scene file's own folder)."),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings (implausible values: a field of view under "
                                                        "10° or in radians, speeds over 70 m/s or in km/h, people "
                                                        "over 2.3 m) as errors."),
    world: bool = typer.Option(True, "--world/--no-world", help="Scenes: also resolve a few seeds and build each "
                                                               "world without rendering (the feasibility pass)."),
    seeds: int = typer.Option(2, "--seeds", min=1, max=100, help="Seeds 0..N-1 the feasibility pass builds."),
) -> None:
    """Validate files; every problem is printed as file:line:col: field: message (hint). Exit 1 if any.

    For scenes, a feasibility pass resolves seeds 0..N-1 and builds each world (no rendering): placements that
    cannot be met, regions the road lacks, counts that cannot fit, edge cases beyond the road, out of view or
    hidden are errors; implausible values are warnings (errors with --strict)."""
    from simgen.spec import SpecError

    from simgen.spec.yamlio import include_roots

    _check_kind(kind)
    bad = 0

    def warn(issue) -> None:
        typer.echo(f"warning: {issue}", err=True)

    for f in files:
        try:
            with include_roots(*include_root):
                summary = check_file(f, kind, world=world, seeds=seeds, strict=strict, warn=warn)
        except SpecError as err:
            bad += 1
            typer.echo(str(err), err=True)
            continue
        if not quiet:
            typer.echo(summary)
    if bad:
        # a SimgenError (not typer.Exit) so that simgen.cli.main returns exit code 1
        raise CheckFailed(f"{bad} of {len(files)} file(s) invalid")


@app.command("schema")
def schema(
    kind: str = typer.Option("scene", "--kind", help="scene, render-config or sweep."),
) -> None:
    """Print the JSON Schema of a file kind (the committed schemas/*.schema.json are exactly this)."""
    from simgen.spec.schema import schema_text

    _check_kind(kind)
    typer.echo(schema_text(kind), nl=False)


@app.command("resolve")
def resolve_cmd(
    file: Path = typer.Argument(..., help="Scene file (or sweep file: --variant picks the sweep point)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Base seed (0 is a seed; default 0, as for simgen render)."),
    variant: int = typer.Option(0, "--variant", min=0, help="Variant index (the sweep point, if the file sweeps)."),
    include_root: list[Path] = typer.Option([], "--include-root", help="Also let 'extends:' reach files under this "
                                            "folder (repeatable; default: only the scene file's own folder)."),
) -> None:
    """Print the fully sampled scene as JSON."""
    from simgen.spec import resolve
    from simgen.spec.sweep import scene_variant

    from simgen.spec.yamlio import include_roots

    with include_roots(*include_root):
        spec, use_seed, labels = scene_variant(file, variant, seed)
    typer.echo(resolve(spec, use_seed, variant, source=str(file), sweep=labels).model_dump_json(indent=2))
