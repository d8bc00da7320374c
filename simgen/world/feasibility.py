"""Feasibility of a scene: can what the file says happen? (pure numpy / trimesh, no Blender)

:func:`feasibility` resolves a few seeds, builds each world (as ``simgen render`` would, without rendering) and
reports, as :class:`Finding` objects that point at a path of the spec (``("objects", 2)``,
``("edge_cases", 0, "distance_m")``):

errors (the scene cannot render as written)
    * placements that cannot be satisfied (the world stage's :class:`PlacementError`, with its numbers);
    * regions that do not exist in the road layout (``region: parking`` without a parking lane), or that
      ``x_range_m`` / ``distance_m`` leave empty;
    * counts that cannot fit: ``count`` objects of the class's footprint plus ``spacing_m`` need more room than
      the region has (an upper bound on what fits: the objects packed along the region in rows);
    * edge cases placed beyond the road (``ego.start.x + distance_m`` outside ``[0, road.length_m]``), edge cases
      the world stage cannot arrange (:class:`EdgeCaseError`), and edge-case actors that must be seen
      (jaywalker, occluded child, glare vehicle) but stand off the road at frame 0, are outside the first
      camera's view in every frame, or are hidden behind other objects in every frame (trimesh ray casting).

warnings (legal but implausible; ``simgen check --strict`` makes them errors)
    * a horizontal field of view under 10°, or one that looks like radians (``hfov_deg: 1.57``);
    * speeds over 70 m/s, or speeds that look like km/h for the class (a car at 50 "m/s", a pedestrian at 5);
    * a person taller than 2.3 m (the built body, scale included);
    * an edge-case actor that leaves the road during the sequence, and a window reflection whose person is in
      direct view although ``person_visible_directly`` is false;
    * an explicit pose beyond the road's ends.

Visibility is judged through each camera as the world stage sees it (:data:`simgen.world.build.PLACEMENT_SIZE`
unless the lens has its own size).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from simgen.errors import SimgenError

#: below this horizontal field of view (deg) a camera is implausibly narrow
MIN_HFOV_DEG = 10.0
#: a field of view (deg) at or below this value is probably radians (2π = 6.28)
RADIANS_FOV_DEG = 2 * math.pi + 0.01
#: speeds (m/s) above this are implausible for anything on a street
MAX_SPEED_MPS = 70.0
#: speeds (m/s) above these look like km/h for the class (the value / 3.6 would be typical)
KMH_LIKE_MPS = {"person": 7.0, "cyclist": 15.0, "vehicle": 40.0}
#: a person taller than this (m) is implausible
MAX_PERSON_HEIGHT_M = 2.3
#: edge-case roles whose actor the case says must be seen
MUST_SEE = {"jaywalker": "the jaywalker", "occluded_child": "the child", "glare_vehicle": "the oncoming vehicle"}
#: seeds :func:`feasibility` resolves and builds by default
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Finding:
    """One problem: severity, the spec path it belongs to (keys and list indices), message (with numbers), hint."""

    severity: Literal["error", "warning"]
    path: tuple
    message: str
    hint: str = ""


# ---- plausibility of values (no world needed) ----------------------------------------------------------------

def _span(v: Any) -> tuple[float, float] | None:
    """(low, high) of a literal number or a distribution's support; None for None / non-numbers."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v), float(v)
    sup = getattr(v, "support", None)
    s = sup() if callable(sup) else None
    return (float(s[0]), float(s[1])) if s else None


def _speed_kind(class_name: str) -> str:
    from simgen.classes import class_table

    t = class_table()
    if class_name in t.with_fact("person"):
        return "person" if class_name != "cyclist" else "cyclist"
    return "cyclist" if class_name in ("cyclist", "bicycle") else "vehicle"


def _speed_warnings(v: Any, class_name: str, path: tuple, what: str) -> list[Finding]:
    sp = _span(v)
    if sp is None:
        return []
    hi = sp[1]
    if hi > MAX_SPEED_MPS:
        return [Finding("warning", path, f"{what} moves at up to {hi:g} m/s ({hi * 3.6:.0f} km/h), over "
                                         f"{MAX_SPEED_MPS:g} m/s", f"if km/h were meant: {hi:g} km/h = "
                                                                    f"{hi / 3.6:.1f} m/s")]
    kind = _speed_kind(class_name)
    if hi > KMH_LIKE_MPS[kind]:
        return [Finding("warning", path, f"{what} at {hi:g} m/s ({hi * 3.6:.0f} km/h) looks like km/h for a "
                                         f"{class_name} (typical up to {KMH_LIKE_MPS[kind]:g} m/s)",
                        f"speeds are m/s: {hi:g} km/h = {hi / 3.6:.1f} m/s")]
    return []


def plausibility(spec) -> list[Finding]:
    """Warnings for legal but implausible values of a :class:`~simgen.spec.models.SceneSpec` (literals and
    distribution supports): narrow or radian-looking fields of view, speeds over 70 m/s or that look like km/h."""
    out: list[Finding] = []
    for i, c in enumerate(spec.cameras):
        sp = _span(c.hfov_deg)
        where = ("cameras", i, "hfov_deg")
        if sp is None and _span(c.focal_mm) is not None:
            f_lo = _span(c.focal_mm)[1]
            sw = _span(c.sensor_width_mm)[1]
            sp = (math.degrees(2 * math.atan(sw / (2 * f_lo))),) * 2
            where = ("cameras", i, "focal_mm")
        if sp is not None:
            lo = sp[0]
            if lo <= RADIANS_FOV_DEG and where[-1] == "hfov_deg":
                out.append(Finding("warning", where, f"camera '{c.name}': a field of view of {lo:g}° looks like "
                                                     f"radians ({lo:g} rad = {math.degrees(lo):.0f}°)",
                                   "hfov_deg is in degrees"))
            elif lo < MIN_HFOV_DEG:
                out.append(Finding("warning", where, f"camera '{c.name}': a field of view of {lo:.3g}° is under "
                                                     f"{MIN_HFOV_DEG:g}° (a telescope, not a driving camera)",
                                   "hfov_deg is the full horizontal angle in degrees"))
        ln = c.lens
        if isinstance(ln.model, str) and ln.model == "fisheye":
            fs = _span(ln.fov_deg)
            if fs is not None and fs[0] <= RADIANS_FOV_DEG:
                out.append(Finding("warning", ("cameras", i, "lens", "fov_deg"),
                                   f"camera '{c.name}': a fisheye fov_deg of {fs[0]:g} looks like radians "
                                   f"({fs[0]:g} rad = {math.degrees(fs[0]):.0f}°)", "fov_deg is in degrees"))
    out += _speed_warnings(spec.ego.speed_mps, spec.ego.class_, ("ego", "speed_mps"), "the ego vehicle")
    from simgen.spec.resolve import edge_names, group_names

    for i, (name, g) in enumerate(zip(group_names(spec), spec.objects, strict=True)):
        if isinstance(g.motion.kind, str) and g.motion.kind == "static":
            continue
        out += _speed_warnings(g.motion.speed_mps, g.class_, ("objects", i, "motion", "speed_mps"),
                               f"objects.{name}")
    for i, (name, e) in enumerate(zip(edge_names(spec), spec.edge_cases, strict=True)):
        if hasattr(e, "speed_mps"):
            cls = getattr(e, "vehicle_class", None) or getattr(e, "person_class", None) or "child"
            out += _speed_warnings(e.speed_mps, cls if isinstance(cls, str) else "pedestrian",
                                   ("edge_cases", i, "speed_mps"), f"edge_cases.{name}")
    return out


# ---- the road and its regions (one resolved scene) ------------------------------------------------------------

_NOMINAL: dict[tuple, tuple[float, float]] = {}


def _footprint(class_name: str, catalogs: tuple = ()) -> tuple[float, float]:
    """(length, width) in metres of the smallest collision footprint (below 2 m) among the class's catalog assets
    and its procedural stand-in, at scale 1 (the smallest, so that counts built on it are upper bounds)."""
    key = (class_name, catalogs)
    if key not in _NOMINAL:
        from simgen.rng import stream
        from simgen.world.catalog import catalog_for
        from simgen.world.objects import AssetPicker

        picker = AssetPicker(catalog_for(catalogs))
        ids = [None] + [c.id for c in picker.candidates(class_name) or [] if c.generator is None]
        sizes = []
        for aid in ids:
            try:
                made = picker.make(class_name, None, 1.0, stream(0, "feasibility", 0, class_name), asset=aid)
            except SimgenError:
                continue
            if made.mesh is None:
                continue
            v = made.mesh.vertices
            low = v[v[:, 2] <= 2.0] if (v[:, 2] <= 2.0).sum() >= 3 else v
            ext = low.max(0) - low.min(0)
            sizes.append((float(ext[0]), float(ext[1])))
        _NOMINAL[key] = (min(x for x, _ in sizes), min(y for _, y in sizes)) if sizes else (0.0, 0.0)
    return _NOMINAL[key]


def _along_heading(heading: str) -> bool:
    return heading in ("along_traffic", "against_traffic", "along_road")


def region_findings(resolved, layout, views: dict | None = None) -> list[Finding]:
    """Errors for the region-placed groups of a resolved scene: regions the layout does not have (or that
    ``x_range_m`` / ``distance_m`` leave empty), and counts that cannot fit (an upper bound of what fits)."""
    from simgen.world.placement import CameraView, GroupRule, Placer, PlacementError

    out: list[Finding] = []
    first = next(iter(views.values())) if views else CameraView(np.eye(3), np.eye(4), 1, 1)
    placer = Placer(layout, first, np.zeros(1), 0, "feasibility", 0)
    placer.views.update(views or {})
    L = layout.params.length
    for gi, g in enumerate(resolved.objects):
        pl = g.placement
        if pl.explicit or g.motion.kind == "waypoints" or g.count == 0:
            continue
        rule = GroupRule(g.name, pl.region, pl.side, pl.lane_index,
                         None if pl.x_range_m is None else tuple(pl.x_range_m),
                         None if pl.distance_m is None else tuple(pl.distance_m), pl.spacing_m, pl.heading,
                         pl.heading_jitter_deg, pl.visible, pl.camera)
        try:
            regions = placer.regions_for(rule)
        except PlacementError as err:
            out.append(Finding("error", ("objects", gi, "placement", "region"),
                               f"region '{pl.region}' does not exist in this layout: "
                               + str(err).split(": ", 1)[-1]))
            continue
        try:
            windows = [(r, placer._along_window(r, rule)) for r in regions]
        except PlacementError:
            continue
        windows = [(r, w) for r, w in windows if w is not None]
        if not windows:
            what = (f"x_range_m [{pl.x_range_m[0]:g}, {pl.x_range_m[1]:g}]" if pl.x_range_m is not None
                    else f"distance_m [{pl.distance_m[0]:g}, {pl.distance_m[1]:g}]")
            out.append(Finding("error", ("objects", gi, "placement",
                                         "x_range_m" if pl.x_range_m is not None else "distance_m"),
                               f"no '{pl.region}' region lies within {what} (the road runs from x = 0 to "
                               f"{L:g} m)", "move the range onto the road"))
            continue
        if pl.distance_m is not None:
            view = placer.view(rule)
            lo_d, hi_d = math.inf, 0.0
            for r, (a0, a1) in windows:
                grid = np.stack(np.meshgrid(np.linspace(a0, a1, 60), np.linspace(-r.width / 2, r.width / 2, 5)),
                                -1).reshape(-1, 2)
                d = np.linalg.norm(r.to_world(grid) - view.position[:2], axis=1)
                lo_d, hi_d = min(lo_d, float(d.min())), max(hi_d, float(d.max()))
            if hi_d < pl.distance_m[0] or lo_d > pl.distance_m[1]:
                out.append(Finding("error", ("objects", gi, "placement", "distance_m"),
                                   f"no '{pl.region}' region lies within distance_m [{pl.distance_m[0]:g}, "
                                   f"{pl.distance_m[1]:g}] of the camera: the region is {lo_d:.0f} to {hi_d:.0f} m "
                                   "from it", "move the range onto the road"))
                continue
        length, width = _footprint(g.class_name, tuple(getattr(resolved, "asset_catalogs", ()) or ()))
        scale = min((inst.scale for inst in g.instances), default=1.0)
        length, width = length * scale, width * scale
        if not _along_heading(pl.heading) or pl.heading_jitter_deg > 20 or \
                any(inst.heading_deg is not None for inst in g.instances):
            length = width = min(length, width)  # turned any way: count the narrow side (an upper bound)
        cap, room = 0, 0.0
        for r, (a0, a1) in windows:
            span = a1 - a0
            lateral = 1 if r.kind in ("lane", "oncoming_lane", "parking") else \
                max(1, int((r.width + pl.spacing_m) // (width + pl.spacing_m)))
            if pl.x_range_m is not None or pl.distance_m is not None:
                # the ranges bound the objects' centres (simgen.world.placement), not their footprints: n centres
                # at least length + spacing apart need (n - 1) (length + spacing) of the window
                cap += lateral * (int(span // (length + pl.spacing_m)) + 1)
            else:
                cap += lateral * max(0, int((span + pl.spacing_m) // (length + pl.spacing_m)))
            room += span
        if g.count > cap:
            out.append(Finding(
                "error", ("objects", gi, "count"),
                f"{g.count} {g.class_name} objects cannot fit: the '{pl.region}' region"
                + (" within x_range_m" if pl.x_range_m is not None else "")
                + f" is {room:.0f} m long and each needs at least {length:.1f} m + spacing_m {pl.spacing_m:g} m "
                  f"(at most {cap} fit)", "lower the count, lower spacing_m or widen the range"))
    return out


def edge_position_findings(resolved) -> list[Finding]:
    """Errors for edge cases placed beyond the road: ``ego.start.x + distance_m`` outside ``[0, length]``."""
    out = []
    L = resolved.road.length_m
    for i, e in enumerate(resolved.edge_cases):
        x = resolved.ego.start.x + e.distance_m
        if not 0.0 <= x <= L:
            what = e.kind.replace("pedestrian_reflection_", "reflection in a ").replace("_", " ")
            out.append(Finding("error", ("edge_cases", i, "distance_m"),
                               f"{what} at {x:g} m (ego start x = {resolved.ego.start.x:g} m + distance_m "
                               f"{e.distance_m:g} m), road is {L:g} m long",
                               f"keep ego.start.x + distance_m within 0..{L:g} m"))
    return out


def pose_findings(resolved) -> list[Finding]:
    """Warnings for explicit poses beyond the road's ends (legal: the terrain goes on, but nothing else does)."""
    out = []
    L = resolved.road.length_m
    for gi, g in enumerate(resolved.objects):
        for inst in g.instances:
            if inst.pose is not None and not 0.0 <= inst.pose.x <= L:
                out.append(Finding("warning", ("objects", gi, "placement"),
                                   f"objects.{g.name}: instance {inst.index + 1} stands at x = {inst.pose.x:g} m, "
                                   f"beyond the road (x = 0 to {L:g} m)", "poses are metres along the road"))
                break
    return out


# ---- the built world -------------------------------------------------------------------------------------------

def _posed(e, t: int) -> np.ndarray:
    v = e.vertices_at(t)
    p = e.poses[t]
    return v @ p[:3, :3].T + p[:3, 3]


def _sample(pts: np.ndarray, n: int = 200) -> np.ndarray:
    if len(pts) <= n:
        return pts
    return pts[np.linspace(0, len(pts) - 1, n).astype(int)]


def _occluders(world, actor, t: int, lo: np.ndarray, hi: np.ndarray):
    """One trimesh of every labelled entity but ``actor`` at frame t whose box meets the box lo..hi."""
    import trimesh

    parts = []
    for e in world.entities:
        if e is actor or not e.label_visible or e.class_name in ("sky",):
            continue
        v = _posed(e, t)
        if not (np.all(v.max(0) >= lo) and np.all(v.min(0) <= hi)):
            continue
        f = e.mesh.faces
        if f.shape[1] == 4:
            f = np.concatenate([f[:, [0, 1, 2]], f[:, [0, 2, 3]]])
        parts.append((e.name, v, f))
    if not parts:
        return None, []
    verts, faces, owner, off = [], [], [], 0
    for name, v, f in parts:
        verts.append(v)
        faces.append(f + off)
        owner += [name] * len(f)
        off += len(v)
    return trimesh.Trimesh(np.concatenate(verts), np.concatenate(faces), process=False), owner


def visibility(world, actor, view, frames: list[int]) -> tuple[int, int, Counter]:
    """(frames with a sampled actor point inside the view, frames where some such point is unoccluded, names
    of the occluders hit) for an entity seen through a CameraView placed at each frame's camera pose; stops at
    the first frame the actor is seen."""
    from dataclasses import replace

    cam = world.cameras[0]
    in_view = seen = 0
    hits: Counter = Counter()
    for t in frames:
        v = replace(view, world_from_camera=cam.poses[t])
        pts = _sample(_posed(actor, t))
        ok = v.sees(pts)
        if not ok.any():
            continue
        in_view += 1
        C = cam.poses[t][:3, 3]
        P = pts[ok]
        mesh, owner = _occluders(world, actor, t, np.minimum(P.min(0), C), np.maximum(P.max(0), C))
        if mesh is None:
            seen += 1
            continue
        d = P - C
        dist = np.linalg.norm(d, axis=1)
        d = d / dist[:, None]
        loc, idx_ray, idx_tri = mesh.ray.intersects_location(np.repeat(C[None], len(d), 0), d, multiple_hits=False)
        blocked = np.zeros(len(d), bool)
        if len(idx_ray):
            near = np.linalg.norm(loc - C, axis=1) < dist[idx_ray] - 0.05
            blocked[idx_ray[near]] = True
            hits.update(owner[i] for i in idx_tri[near])
        if not blocked.all():
            seen += 1
            break  # seen once is enough
    return in_view, seen, hits


def _param(edge, name: str, default: Any) -> Any:
    """A resolved edge case's parameter (``params`` as a mapping or a typed model)."""
    params = getattr(edge, "params", None)
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, getattr(edge, name, default))


def world_findings(world, layout, resolved, view) -> list[Finding]:
    """Errors and warnings about a built world: edge-case actors that must be seen (off the road, outside the
    view, hidden), window reflections in direct view, people taller than 2.3 m."""
    from simgen.classes import class_table

    out: list[Finding] = []
    names = [e.name for e in resolved.edge_cases]
    groups = [g.name for g in resolved.objects]
    L = layout.params.length
    edge_of = {}
    frames = sorted({0, world.frame_count // 2, world.frame_count - 1})
    people = class_table().with_fact("person")
    tall: dict[str, float] = {}
    for e in world.entities:
        a = e.attributes
        if e.class_name in people and e.class_name != "cyclist":
            lo, hi = e.mesh.bounds()
            h = float(hi[2] - lo[2])
            key = a.get("group") or a.get("edge_case_name")
            if h > MAX_PERSON_HEIGHT_M and key is not None:
                tall[key] = max(tall.get(key, 0.0), h)
        name = a.get("edge_case_name")
        role = a.get("edge_case")
        if name not in names:
            continue
        i = names.index(name)
        edge_of[name] = i
        if role == "reflected_pedestrian" and a.get("directly_visible") and \
                not _param(resolved.edge_cases[i], "person_visible_directly", True):
            out.append(Finding("warning", ("edge_cases", i),
                               f"edge_cases.{name}: the reflected person is also in direct view of the camera "
                               "although person_visible_directly is false (no spot hides the person)",
                               "try another distance_m or camera yaw, or set person_visible_directly: true"))
        if role not in MUST_SEE:
            continue
        who = MUST_SEE[role]
        xs = [float(e.poses[t][0, 3]) for t in range(world.frame_count)]
        ys = [float(e.poses[t][1, 3]) for t in range(world.frame_count)]
        # on the road (vehicles) or on the road and its sidewalks (people); x along the main road only
        reach = layout.params.half_width + (0.0 if role == "glare_vehicle" else layout.params.sidewalk_width)
        on = [0.0 <= x <= L and (abs(y) <= reach + 0.5 or layout.on_road(np.array([[x, y]]))[0])
              for x, y in zip(xs, ys, strict=True)]
        if not 0.0 <= xs[0] <= L:
            out.append(Finding("error", ("edge_cases", i), f"edge_cases.{name}: {who} stands at x = {xs[0]:.1f} m "
                                                           f"at frame 0, road is {L:g} m long",
                               "move distance_m onto the road"))
            continue
        if not all(on):
            k = on.index(False)
            out.append(Finding("warning", ("edge_cases", i),
                               f"edge_cases.{name}: {who} leaves the street at frame {k} of {world.frame_count} "
                               f"(x = {xs[k]:.1f} m, y = {ys[k]:.1f} m; the road runs from x = 0 to {L:g} m, "
                               f"|y| <= {reach:.1f} m)", "shorten the sequence or lower the speed"))
        in_view, seen, hits = visibility(world, e, view, frames)
        if in_view == 0:
            out.append(Finding("error", ("edge_cases", i),
                               f"edge_cases.{name}: {who} at x = {xs[0]:.1f} m, y = {float(e.poses[0][1, 3]):.1f} m "
                               f"is outside the view of camera '{world.cameras[0].name}' in frames "
                               f"{', '.join(map(str, frames))}", "move it in front of the camera (distance_m, side)"))
        elif seen == 0 and not (role == "occluded_child" and float(a.get("target_visible_fraction", 1.0)) <= 0):
            occ = ", ".join(n for n, _ in hits.most_common(2)) or "other objects"
            out.append(Finding("error", ("edge_cases", i),
                               f"edge_cases.{name}: {who} is hidden behind {occ} in frames "
                               f"{', '.join(map(str, frames))}: the case says it must be seen",
                               "change distance_m or the side, or move the occluding objects"))
    for key, h in tall.items():
        if key in groups:
            out.append(Finding("warning", ("objects", groups.index(key), "scale"),
                               f"objects.{key}: a person {h:.2f} m tall (over {MAX_PERSON_HEIGHT_M:g} m)",
                               "scale is a size factor: 1 = a typical adult"))
    return out


# ---- everything ----------------------------------------------------------------------------------------------

_WHO = re.compile(r"^(objects|edge_cases)\.([A-Za-z0-9_.\-]+?)[: (]")


def _error_path(msg: str, resolved) -> tuple:
    """The spec path a world-stage error names (``objects.<group>: ...``, ``edge_cases.<name> (...)``,
    ``camera '<name>'``)."""
    m = _WHO.match(msg)
    if m:
        names = [g.name for g in resolved.objects] if m.group(1) == "objects" else [e.name for e in resolved.edge_cases]
        if m.group(2) in names:
            return (m.group(1), names.index(m.group(2)))
    m = re.match(r"^camera '([^']+)'", msg)
    if m:
        for i, c in enumerate(resolved.cameras):
            if c.name == m.group(1) or (c.rig is not None and c.rig.name == m.group(1)):
                return ("cameras", i)
    return ()


def feasibility(spec, seeds=DEFAULT_SEEDS) -> list[Finding]:
    """Every :class:`Finding` for a validated scene spec: :func:`plausibility`, then for each seed the resolved
    scene's edge-case positions and regions, the world build (as ``simgen render`` does, without rendering) and
    :func:`world_findings`. The same path and message is reported once."""
    from simgen.rng import stream
    from simgen.spec.resolve import resolve
    from simgen.world.build import PLACEMENT_SIZE, build_cameras, build_world_with_layout, ego_poses, road_params
    from simgen.world.layout import LayoutError, build_layout

    out = plausibility(spec)
    for seed in seeds:
        try:
            resolved = resolve(spec, seed)
        except SimgenError as err:
            out.append(Finding("error", (), str(err)))
            break
        static = edge_position_findings(resolved)
        out += static + pose_findings(resolved)
        try:
            world, layout = build_world_with_layout(resolved, *PLACEMENT_SIZE)
        except LayoutError as err:
            out.append(Finding("error", ("road",), str(err)))
            break
        except SimgenError as err:
            msg = str(err)
            found = list(static)
            try:  # the regions and counts of every group, not only the first that failed
                times = np.arange(int(resolved.frames)) / float(resolved.fps)
                cams = build_cameras(resolved, ego_poses(resolved.ego, times), *PLACEMENT_SIZE)
                lay = build_layout(road_params(resolved.road), stream(seed, "feasibility", 0, "layout"))
                regions = region_findings(resolved, lay, _views(cams))
                out += regions
                found += regions
            except SimgenError:
                pass
            path = _error_path(msg, resolved)
            if not (path and any(f.severity == "error" and f.path[:2] == path[:2] for f in found)):
                out.append(Finding("error", path, msg, f"found with seed {seed}" if len(seeds) > 1 else ""))
            continue
        views = _views(world.cameras)
        out += region_findings(resolved, layout, views)
        flagged = {f.path[:2] for f in static}
        out += [f for f in world_findings(world, layout, resolved, views[world.cameras[0].name])
                if f.path[:2] not in flagged]
    seen, unique = set(), []
    for f in out:
        key = (f.severity, f.path, f.message)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _views(cameras) -> dict:
    """name -> frame-0 :class:`CameraView` of each camera (through its own lens)."""
    from simgen.world.placement import CameraView

    return {c.name: CameraView(c.lens.K, c.poses[0], c.lens.width, c.lens.height, c.clip_start,
                               None if c.lens.model == "pinhole" else c.lens) for c in cameras}


__all__ = ["Finding", "feasibility", "plausibility", "region_findings", "edge_position_findings", "pose_findings",
           "world_findings", "visibility", "DEFAULT_SEEDS"]
