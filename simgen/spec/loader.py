"""Loading scene files: YAML -> extends -> validation -> cross-field checks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from simgen.spec import models as S
from simgen.spec.errors import Issue, SpecError
from simgen.spec.validate import validate
from simgen.spec.yamlio import Located, load_with_extends


def _literal_max(v) -> float | None:
    if isinstance(v, int | float):
        return v
    sup = getattr(v, "support", None)
    return sup()[1] if sup and sup() else None


def scene_checks(spec: S.SceneSpec, located: Located) -> list[Issue]:
    """Rules that span several fields (unique names, total size, positions inside the road)."""
    from simgen.spec.resolve import camera_names, edge_names, group_names

    issues: list[Issue] = []

    def dupes(names: list[str], key: str, field: str) -> None:
        counts = Counter(names)
        for i, n in enumerate(names):
            if counts[n] > 1 and names.index(n) != i:
                issues.append(located.issue((key, i, field), f"duplicate {key[:-1].replace('_', ' ')} name '{n}'",
                                            "names must be unique: they name outputs and random streams"))

    dupes(group_names(spec), "objects", "name")
    cam_names = camera_names(spec)
    counts = Counter(n for _, n in cam_names)
    for k, (i, n) in enumerate(cam_names):
        if counts[n] > 1 and [m for _, m in cam_names].index(n) != k:
            issues.append(located.issue(("cameras", i, "name"), f"duplicate camera name '{n}'",
                                        "names must be unique (a rig adds <name>_left/_right or "
                                        "<name>_front/_left/_right/_rear)"))
    dupes(edge_names(spec), "edge_cases", "name")
    known = {n for _, n in cam_names}
    for i, g in enumerate(spec.objects):
        cam = g.placement.camera
        if cam is not None and cam not in known:
            issues.append(located.issue(("objects", i, "placement", "camera"), f"unknown camera '{cam}'",
                                        f"cameras: {', '.join(sorted(known))}"))
    total = 0.0
    for g in spec.objects:
        total += _literal_max(g.count) or 0
    if total > S.MAX_TOTAL_OBJECTS:
        issues.append(located.issue(("objects",), f"up to {int(total)} objects in total; the limit is "
                                                  f"{S.MAX_TOTAL_OBJECTS}", "lower the counts"))
    road = spec.road
    length = road.length_m if isinstance(road.length_m, float | int) else None
    if length is not None:
        for i, c in enumerate(road.crosswalks):
            x = c.position_x_m
            if isinstance(x, float | int) and x > length:
                issues.append(located.issue(("road", "crosswalks", i, "position_x_m"),
                                            f"crosswalk at x = {x:g} m lies beyond the road's end ({length:g} m)",
                                            "place it within road.length_m"))
        jx = road.junction_x_m
        if isinstance(road.layout, str) and road.layout != "straight" and isinstance(jx, float | int) \
                and jx > length:
            issues.append(located.issue(("road", "junction_x_m"),
                                        f"junction at x = {jx:g} m lies beyond the road's end ({length:g} m)",
                                        "make junction_x_m smaller than road.length_m"))
    return issues


def asset_checks(spec: S.SceneSpec, located: Located, path: Path | None) -> list[Issue]:
    """Asset ids and tags of the object groups exist in the catalogs in effect, for the group's class; the
    scene's ``asset_catalogs`` exist. (An invalid catalog file raises its own located :class:`SpecError`.)"""
    from simgen.world.catalog import CatalogError, catalog_for

    issues: list[Issue] = []
    base = path.resolve().parent if path is not None else Path.cwd()
    extra = []
    for i, c in enumerate(spec.asset_catalogs):
        p = (base / c).resolve()
        if not p.is_file():
            issues.append(located.issue(("asset_catalogs", i), f"asset catalog not found: {p}",
                                        "paths are relative to the scene file"))
        else:
            extra.append(str(p))
    if issues:
        return issues
    try:
        cat = catalog_for(tuple(extra))
    except CatalogError as err:
        return [located.issue(("asset_catalogs",), str(err))]
    from simgen.spec.errors import did_you_mean

    for gi, g in enumerate(spec.objects):
        a = g.asset
        ids = [] if a is None else ([a] if isinstance(a, str) else list(getattr(a, "values", [])))
        for k, aid in enumerate(ids):
            where = ("objects", gi, "asset") if isinstance(a, str) else ("objects", gi, "asset", "values", k)
            if aid not in cat.assets:
                same = [x for x, e in cat.assets.items() if e.class_ == g.class_]
                issues.append(located.issue(where, f"unknown asset '{aid}'", did_you_mean(aid, same)))
            elif cat.assets[aid].class_ != g.class_:
                issues.append(located.issue(where, f"asset '{aid}' is a {cat.assets[aid].class_}, not a {g.class_}",
                                            "pick an asset of the group's class"))
        if g.asset_tag is not None and not any(e.class_ == g.class_ and g.asset_tag in e.tags
                                               for e in cat.assets.values()):
            tags = sorted({t for e in cat.assets.values() if e.class_ == g.class_ for t in e.tags})
            issues.append(located.issue(("objects", gi, "asset_tag"),
                                        f"no {g.class_} asset has tag '{g.asset_tag}'",
                                        did_you_mean(g.asset_tag, tags) if tags else "this class has no tags"))
    return issues


def load_scene(path: str | Path) -> S.SceneSpec:
    """Read, merge (``extends``) and validate a scene file. Raises :class:`SpecError` listing every problem."""
    node = load_with_extends(Path(path), display=str(path))
    located = Located(node)
    if "sweep" in located.data and "scene" in located.data and isinstance(located.data.get("scene"), str):
        raise SpecError([located.issue(("scene",), "this looks like a sweep file, not a scene",
                                       "use expand_sweep() / 'simgen check' for sweep files")])
    spec = validate(located, S.SceneSpec, lambda sp, loc: scene_checks(sp, loc) + asset_checks(sp, loc, Path(path)))
    spec._source = str(path)
    return spec


def load_scene_text(text: str, name: str = "<string>") -> S.SceneSpec:
    """Validate a scene given as YAML text (no ``extends``: there is no folder to resolve it against)."""
    from simgen.spec.yamlio import parse_yaml

    node = parse_yaml(text, name)
    if "extends" in node.value:
        ext = node.value["extends"]
        raise SpecError([Issue(name, ext.line, ext.column, "extends", "extends needs a scene file on disk",
                               "use load_scene(path)")])
    return validate(Located(node), S.SceneSpec, lambda sp, loc: scene_checks(sp, loc) + asset_checks(sp, loc, None))
