"""Sweeps: expand a grid or random sweep over scene fields into variants.

A sweep lives in a scene (``sweep:``) or in its own file (``scene: path`` + ``sweep:``). Each parameter names a
field by a dotted path (list items by index or by their ``name``: ``objects.parked_cars.count``,
``cameras.front.hfov_deg``) and gives ``values`` (a list, or a mapping label -> value) or, in random sweeps, a
``dist``. Mapping values merge into the field (``weather: {rain: {rain_intensity: 0.8}}``); other values replace
it. Grid variants enumerate every combination in parameter order (last parameter fastest), then ``seeds`` (if
given), then ``replicas``. Every variant is validated like a scene file, and problems point at the sweep line.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simgen.rng import stream
from simgen.spec import models as S
from simgen.spec.errors import Issue, SpecError, did_you_mean, format_path
from simgen.spec.loader import scene_checks
from simgen.spec.validate import validate
from simgen.spec.yamlio import ROOT_MARKER, Located, Node, allowed_include_roots, load_with_extends, merge, \
    scene_root

#: Upper limit on variants from one sweep.
MAX_VARIANTS = 100_000


@dataclass
class Variant:
    """One point of a sweep: its index, the overrides applied (path -> value), their labels and the spec."""

    index: int
    overrides: dict[str, Any]
    spec: S.SceneSpec
    labels: dict[str, Level] = field(default_factory=dict)
    #: base seed for this variant when the sweep lists ``seeds`` (else None: use the run's seed)
    seed: int | None = None
    #: where each field of the variant came from (swept values: their line in the sweep), for located reports
    located: Located | None = field(default=None, repr=False, compare=False)


#: the level of a swept value as recorded for slicing: a number, bool or string as it is, or a mapping's label
Level = str | int | float | bool | None


def level(value: Any) -> Level:
    """How a swept value is recorded (``scene.resolved.json``'s ``sweep``, the manifest's ``sweep`` and
    ``knobs``): scalars keep their type (``0.05`` stays a number), lists and mappings become their text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _split(path: str) -> list[str]:
    return [p for p in path.split(".")]


def _apply(root: Node, path: list[str], value: Node, at: Node) -> str | None:
    """Set ``path`` in the located tree to ``value`` (mappings merge). Returns an error message or None."""
    cur = root
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if isinstance(cur.value, list):
            idx = None
            if key.lstrip("-").isdigit():
                idx = int(key)
            else:
                for j, item in enumerate(cur.value):
                    if isinstance(item.value, dict) and "name" in item.value and item.value["name"].value == key:
                        idx = j
                    elif isinstance(item.value, dict) and "kind" in item.value and "name" not in item.value \
                            and f"{item.value['kind'].value}_{j}" == key:
                        idx = j
                    elif isinstance(item.value, dict) and "class" in item.value and "name" not in item.value \
                            and f"{item.value['class'].value}_{j}" == key:
                        idx = j
            if idx is None or not (0 <= idx < len(cur.value)):
                return f"no list item '{key}' at '{'.'.join(path[:i]) or '(root)'}' (it has {len(cur.value)} items)"
            if last:
                cur.value[idx] = merge(cur.value[idx], value)
                return None
            cur = cur.value[idx]
        elif isinstance(cur.value, dict):
            if last:
                cur.value[key] = merge(cur.value[key], value) if key in cur.value else value
                return None
            if key not in cur.value:
                cur.value[key] = Node({}, at.file, at.line, at.column, at.key_line, at.key_column)
            cur = cur.value[key]
        else:
            return f"'{'.'.join(path[:i])}' is a value, not a section"
    return None


def _relocate(node: Node, at: Node) -> Node:
    """A copy of ``node`` whose every location is ``at`` (for values drawn by random sweeps)."""
    if isinstance(node.value, dict):
        v: Any = {k: _relocate(x, at) for k, x in node.value.items()}
    elif isinstance(node.value, list):
        v = [_relocate(x, at) for x in node.value]
    else:
        v = node.value
    return Node(v, at.file, at.line, at.column, at.line, at.column)


def _to_node(value: Any, at: Node) -> Node:
    if isinstance(value, dict):
        return Node({k: _to_node(v, at) for k, v in value.items()}, at.file, at.line, at.column)
    if isinstance(value, list):
        return Node([_to_node(v, at) for v in value], at.file, at.line, at.column)
    return Node(value, at.file, at.line, at.column)


def _check_path(path: str, located_sweep: Located, where: tuple) -> Issue | None:
    """The first segment must be a scene section (typos get a did-you-mean)."""
    top = _split(path)[0]
    allowed = [f.alias or n for n, f in S.SceneSpec.model_fields.items() if n not in ("extends", "sweep")]
    if top not in allowed:
        return located_sweep.issue(where, f"'{top}' is not a scene field", did_you_mean(top, allowed))
    return None


def expand_sweep(spec_or_sweep_file: str | Path) -> list[Variant]:
    """Variants of a scene file with a ``sweep:`` section, or of a separate sweep file (``scene:`` + ``sweep:``).

    A scene without a sweep gives one variant (index 0, no overrides).
    """
    path = Path(spec_or_sweep_file)
    node = load_with_extends(path, display=str(spec_or_sweep_file))
    located = Located(node)
    data = located.data
    if isinstance(data.get("scene"), str):  # a separate sweep file
        sf = validate(located, S.SweepFile)
        sweep, sweep_loc = sf.sweep, located
        scene_node_loc = node.value["scene"]
        target = (path.parent / sf.scene)
        root = scene_root(path)
        if not any(target.resolve().is_relative_to(r) for r in (root, *allowed_include_roots())):
            raise SpecError([Issue(scene_node_loc.file, scene_node_loc.line, scene_node_loc.column, "scene",
                                   f"scene file '{sf.scene}' leaves the scene folder {root}",
                                   f"the scene must be under the sweep file's folder (or of a folder above it holding "
                                   f"a {ROOT_MARKER} file); pass --include-root FOLDER to allow another folder")])
        if not target.is_file():
            raise SpecError([Issue(scene_node_loc.file, scene_node_loc.line, scene_node_loc.column, "scene",
                                   f"scene file '{sf.scene}' not found (looked for {target.resolve()})",
                                   "the path is relative to the sweep file")])
        disp = str(Path(str(spec_or_sweep_file)).parent / sf.scene)
        base_node = load_with_extends(target, display=disp)
        sweep_prefix: tuple = ("sweep",)
    else:
        base_spec = validate(located, S.SceneSpec, scene_checks)
        sweep, sweep_loc, base_node = base_spec.sweep, located, node
        sweep_prefix = ("sweep",)
        if sweep is None:
            base_spec._source = str(spec_or_sweep_file)
            return [Variant(index=0, overrides={}, spec=base_spec)]
    base_node.value.pop("sweep", None)
    # check every parameter path up front
    issues = []
    for i, prm in enumerate(sweep.parameters):
        bad = _check_path(prm.path, sweep_loc, (*sweep_prefix, "parameters", i, "path"))
        if bad:
            issues.append(bad)
    if issues:
        raise SpecError(issues)
    combos: list[list[tuple[str, Any, str, Node]]] = []
    if sweep.mode == "grid":
        levels = []
        for i, prm in enumerate(sweep.parameters):
            pnode = sweep_loc.nodes[(*sweep_prefix, "parameters", i)]
            if prm.values is None:
                raise SpecError([sweep_loc.issue((*sweep_prefix, "parameters", i), "grid sweeps need 'values'",
                                                 "use mode: random for 'dist' parameters")])
            vnode = pnode.value["values"]
            if isinstance(prm.values, dict):
                opts = [(prm.path, v.plain(), k, v) for k, v in vnode.value.items()]
            else:
                opts = [(prm.path, v.plain(), level(v.plain()), v) for v in vnode.value]
            levels.append(opts)
        combos = [list(c) for c in itertools.product(*levels)]
    else:
        from simgen.spec.resolve import _Sampler

        dists = []
        for i, prm in enumerate(sweep.parameters):
            pnode = sweep_loc.nodes[(*sweep_prefix, "parameters", i)]
            if prm.dist is not None:
                dists.append((prm, prm.dist, pnode.value["dist"], None))
            else:
                vnode = pnode.value["values"]
                items = list(vnode.value.items()) if isinstance(prm.values, dict) else \
                    [(level(v.plain()), v) for v in vnode.value]
                dists.append((prm, None, pnode, items))
        for k in range(sweep.samples):
            s = _Sampler(sweep.seed, "sweep", k)
            combo = []
            for prm, d, pnode, items in dists:
                if d is not None:
                    v = s.draw(d, f"sweep.{prm.path}")
                    combo.append((prm.path, v, level(v), _to_node(v, pnode)))
                else:
                    j = int(stream(sweep.seed, "sweep", k, f"sweep.{prm.path}").integers(0, len(items)))
                    label, vn = items[j]
                    combo.append((prm.path, vn.plain(), label, vn))
            combos.append(combo)
    seeds: list[int | None] = list(sweep.seeds) if sweep.seeds else [None]
    total = len(combos) * len(seeds) * sweep.replicas
    if total > MAX_VARIANTS:
        raise SpecError([sweep_loc.issue(sweep_prefix, f"the sweep expands to {total} variants; the limit is "
                                                       f"{MAX_VARIANTS}", "sweep fewer values")])
    variants: list[Variant] = []
    cache: dict[int, S.SceneSpec] = {}
    for ci, combo in enumerate(combos):
        root = copy.deepcopy(base_node)
        errs = []
        for path, _v, _label, vnode in combo:
            msg = _apply(root, _split(path), _relocate(vnode, vnode), vnode)
            if msg:
                errs.append(Issue(vnode.file, vnode.line, vnode.column, path, msg))
        if errs:
            raise SpecError(errs)
        located = Located(root)
        spec = validate(located, S.SceneSpec, scene_checks)
        spec._source = str(spec_or_sweep_file)
        cache[ci] = spec
        for seed in seeds:
            for _r in range(sweep.replicas):
                variants.append(Variant(index=len(variants), overrides={p: v for p, v, _l, _n in combo},
                                        labels={p: lab for p, _v, lab, _n in combo}, spec=spec, seed=seed,
                                        located=located))
    return variants


def scene_variant(path: str | Path, variant: int, seed: int) -> tuple[S.SceneSpec, int, dict[str, Level]]:
    """The spec, base seed and sweep labels of variant ``variant`` of a scene or sweep file.

    For a file that sweeps, ``variant`` picks the sweep point (it must exist) and the point's seed, when the sweep
    lists ``seeds``, replaces ``seed``; labels map each swept path to the chosen value's label. For a plain scene
    every ``variant`` is valid (it only selects the random stream) and the labels are empty. A label is the
    mapping key of a labelled value, else the value itself when it is a scalar (numbers stay numbers).
    Raises :class:`SpecError` for invalid files and missing variants.
    """
    variants = expand_sweep(path)
    if len(variants) == 1 and not variants[0].overrides and variants[0].seed is None:
        return variants[0].spec, int(seed), {}
    if not 0 <= variant < len(variants):
        raise SpecError([Issue(str(path), 1, 1, "sweep", f"variant {variant} does not exist",
                               f"this sweep has variants 0..{len(variants) - 1}")])
    v = variants[variant]
    return v.spec, int(v.seed if v.seed is not None else seed), dict(v.labels)


__all__ = ["Variant", "expand_sweep", "format_path", "scene_variant"]
