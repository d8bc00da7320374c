"""The behaviour vocabulary in the world stage: glue between the builder (:mod:`simgen.world.build`) and the pure
modules (:mod:`~simgen.world.trajectories`, :mod:`~simgen.world.traffic_lights`, :mod:`~simgen.world.occlusion`).

* :func:`motion_fn` gives a group's instance its lane-relative or crossing path (placement calls it per try);
* :func:`annotate` writes the per-frame facts into the object's attributes (``attributes.per_frame``: brake_lights,
  turn_signal, indicator_lit, crossing_phase), which the labels write frame by frame;
* :func:`apply_lamps` keys brake lamps and indicators to those facts (after the headlights are switched);
* :func:`is_parked`: vehicles standing outside the lanes for the whole sequence keep their lights off;
* :func:`build_traffic_lights` places the road's traffic lights;
* :func:`emerge_rule` is the ``emerge_by_frame`` placement test.
"""

from __future__ import annotations

import math

import numpy as np

from simgen.spec.behaviours import BEHAVIOUR_MOTIONS, LANE_MOTIONS
from simgen.world import occlusion as occ
from simgen.world import traffic_lights as tl
from simgen.world import trajectories as tj
from simgen.world.assets import VEHICLES
from simgen.world.model import Material, Mesh
from simgen.world.placement import Placed, PlacementError, footprints, local_footprint

LANE_KINDS = ("lane", "oncoming_lane", "cross_lane")
#: emission strength of a taillamp while braking, a lit indicator (renderer units)
BRAKE_STRENGTH = 40.0
INDICATOR_STRENGTH = 30.0


def _store(b) -> dict:
    if not hasattr(b, "_behaviour"):
        b._behaviour = {}
    return b._behaviour


def _lane_region(b, xy: np.ndarray):
    for r in b.layout.regions:
        if r.kind in LANE_KINDS and r.contains(xy[None])[0]:
            return r
    return None


def _target_lane(b, region, target: int | None, where: str):
    n = b.layout.params.lanes_per_direction
    i = int(region.lane_index or 0)
    if target is None:
        target = i + 1 if i + 1 < n else i - 1
    if target < 0 or target >= n or target == i:
        raise tj.TrajectoryError(f"{where}: change_lane needs another lane to move to (lane {i} -> {target}; the "
                                 f"road has {n} lane(s) per direction: set road.lanes_per_direction >= 2)")
    return target, (i - target) * b.layout.params.lane_width  # positive: to the left (towards the centre line)


def motion_fn(b, g, inst):
    """The motion function of instance ``inst`` of group ``g`` for :class:`InstanceRequest.motion_fn`, or None
    for the basic motion kinds. It returns None for a start whose path leaves the road (placement tries another
    start) and raises :class:`TrajectoryError` for what no start can fix."""
    m = g.motion
    if m.kind not in BEHAVIOUR_MOTIONS:
        return None
    where = f"objects.{g.name}"
    profile = tj.SpeedProfile.from_keys(m.speed_profile, inst.speed_mps)
    lp = b.layout.params
    key = f"{g.name}_{inst.index}"

    def fn(start: np.ndarray, region):
        xy = start[:2, 3]
        if m.kind in LANE_MOTIONS:
            if region is None or region.kind not in LANE_KINDS:
                region = _lane_region(b, xy)
            if region is None or region.kind not in LANE_KINDS:
                raise tj.TrajectoryError(f"{where}: motion '{m.kind}' needs the object in a lane (placement region "
                                         "lane, oncoming_lane or cross_lane, or a pose in one)")
            along = region.to_local(xy[None])[0, 0]
            centre = region.to_world(np.array([[along, 0.0]]))[0]
            h = region.heading_rad
            if m.kind == "follow_lane":
                prof = _stop_for_signal(b, profile, centre, h) if getattr(m, "stop_at_signal", False) else profile
                traj = tj.follow_lane(centre, h, prof, b.times)
            elif m.kind == "change_lane":
                target, offset = _target_lane(b, region, m.target_lane_index, where)
                traj = tj.change_lane(centre, h, offset, profile, b.times, m.change_start_s, m.change_duration_s,
                                      m.signals)
            else:
                if lp.junction_x is None or lp.layout == "straight":
                    raise tj.TrajectoryError(f"{where}: motion 'turn' needs a junction (road.layout t_junction or "
                                             "intersection_4way)")
                try:
                    traj = tj.turn(centre, h, (lp.junction_x, 0.0), lp.half_width, lp.lane_width,
                                   int(region.lane_index or 0), m.turn, profile, b.times, m.signals)
                except tj.TrajectoryError:
                    return None  # this start is past the junction: try another
                # the road the turn leads into must exist (a T-junction has its arm on the left only)
                path, a0, a1 = tj.turn_path(centre, h, (lp.junction_x, 0.0), lp.half_width, lp.lane_width,
                                            int(region.lane_index or 0), m.turn)
                after, _ = path.at(np.array([a1 + 5.0]))
                if not b.layout.on_road(after)[0]:
                    raise tj.TrajectoryError(f"{where}: turn {m.turn} at x = {lp.junction_x:g} m leads off the road "
                                             f"(layout {lp.layout} has no road there)")
            if not b.layout.on_road(traj.poses[:, :2, 3]).all():
                return None
        else:  # cross_at_crosswalk
            if region is None:
                found = [r for r in b.layout.regions_of("crosswalk") if r.contains(xy[None], 0.5)[0]]
                region = found[0] if found else None
            if region is None or region.kind != "crosswalk":
                raise tj.TrajectoryError(f"{where}: motion 'cross_at_crosswalk' needs placement region crosswalk")
            W = lp.half_width
            side = 1.0 if xy[1] > 0 else -1.0  # start on the side the sample fell on
            kerb = W + min(lp.curb_width, lp.sidewalk_width) + 0.3 if lp.sidewalk_width > 0 else W - 0.3
            start_xy = np.array([xy[0], side * kerb])
            traj = tj.cross_walk(start_xy, -side * math.pi / 2, 2 * kerb, profile, b.times, m.start_time_s,
                                 b.layout.ground_z)
        _store(b)[key] = (m.kind, traj)
        return traj.poses

    return fn


#: a vehicle's reference point (its centre) stops this far behind the stop line (half a car and a margin)
STOP_BEHIND_M = 3.0


def _stop_for_signal(b, profile: tj.SpeedProfile, centre: np.ndarray, heading: float) -> tj.SpeedProfile:
    """The profile of a vehicle at ``centre`` heading along the main road that stops for the first traffic light
    ahead controlling its direction (``stop_at_signal``)."""
    c = math.cos(heading)
    if abs(c) < 0.5:
        return profile
    controls = "ego_direction" if c > 0 else "oncoming"
    best = None
    for light in getattr(b.r.road, "traffic_lights", []):
        if light.controls != controls:
            continue
        x, _, _ = tl.light_pose_xy(light, b.layout)
        d = (x - centre[0]) * np.sign(c) - STOP_BEHIND_M
        if d > 0 and (best is None or d < best[0]):
            best = (d, light)
    if best is None:
        return profile
    d, light = best
    duration = float(b.times[-1]) + 1.0

    def red_at(t: float) -> bool:
        return tl.states_at(light.timing, np.array([t]))[0] != "green"

    return tj.signal_profile(profile, d, red_at, duration)


def annotate(b, name: str, attrs: dict) -> None:
    """Add the behaviour's per-frame facts to the attributes of object ``name`` (if it has a behaviour)."""
    hit = _store(b).get(name)
    if hit is None:
        return
    kind, traj = hit
    attrs["behaviour"] = kind
    per = attrs.setdefault("per_frame", {})
    if kind == "cross_at_crosswalk":
        per["crossing_phase"] = [str(p) for p in traj.phase]
        return
    per["brake_lights"] = [bool(x) for x in traj.brake]
    per["turn_signal"] = [str(x) for x in traj.signal]


def waiting_frames(b, o, frames: np.ndarray | None, phase0: float) -> np.ndarray | None:
    """A crossing person's (T, V, 3) vertices with the frames where they wait at the kerb posed as ``waiting``
    (looking left and right) instead of frozen mid-stride; ``frames``: the gait's vertices (None: rest shape)."""
    phase = o.attributes.get("per_frame", {}).get("crossing_phase")
    if phase is None or o.mesh.rig is None:
        return frames
    from simgen.world import people

    waiting = np.array([p == "waiting" for p in phase])
    if not waiting.any():
        return frames
    still = people.entity_frames(o.mesh, np.repeat(o.poses[:1], len(o.poses), 0), b.times, "waiting", phase0)
    if still is None:
        return frames
    out = np.repeat(o.mesh.vertices[None], len(o.poses), 0) if frames is None else np.array(frames)
    out[waiting] = still[waiting]
    return out


def is_parked(b, o) -> bool:
    """A vehicle that does not move over the sequence and stands outside every driving lane (parking strip,
    kerb, verge), or an edge case's parked car."""
    if o.class_name not in VEHICLES:
        return False
    if o.attributes.get("edge_case") in ("parked_rear", "parked_front", "occluder", "reflecting_car"):
        return True
    p = o.poses[:, :3, 3]
    if np.ptp(p, axis=0).max() > 1e-6:
        return False
    return _lane_region(b, p[0, :2]) is None


def _split_indicators(o) -> tuple[int | None, int | None]:
    """Material indices of the left and right indicators of vehicle ``o`` (procedural: by name; a catalog asset's
    one indicator slot is split by the side its faces are on), or None where it has none."""
    names = [m.name for m in o.materials]
    if "indicator_left" in names and "indicator_right" in names:
        return names.index("indicator_left"), names.index("indicator_right")
    slots = [i for i, n in enumerate(names) if n.startswith("indicator:")]
    if not slots:
        return None, None
    mesh = o.mesh
    fm = mesh.face_material.copy()
    centre_y = mesh.vertices[mesh.faces].mean(1)[:, 1]
    base = o.materials[slots[0]]
    left, right = len(o.materials), len(o.materials) + 1
    for i in slots:
        fm[(mesh.face_material == i) & (centre_y > 0)] = left
        fm[(mesh.face_material == i) & (centre_y <= 0)] = right
    o.materials = list(o.materials) + [Material(**{**base.__dict__, "name": "indicator_left",
                                                   "emission_color": (1.0, 0.45, 0.0)}),
                                       Material(**{**base.__dict__, "name": "indicator_right",
                                                   "emission_color": (1.0, 0.45, 0.0)})]
    o.mesh = Mesh(mesh.vertices, mesh.faces, fm, mesh.vertex_group, mesh.uv, mesh.smooth, mesh.rig)
    return left, right


def apply_lamps(b) -> None:
    """Key the brake lamps and indicators of every vehicle with a behaviour to its per-frame facts; record whether
    each vehicle's lights are on (parked vehicles keep them off)."""
    store = _store(b)
    for o in b.groups:
        if o.class_name == "traffic_light":
            _label_static_light(o, b.T)
        if o.class_name not in VEHICLES:
            continue
        hit = store.get(o.name)
        if hit is None or hit[0] not in LANE_MOTIONS:
            continue
        _, traj = hit
        mats = list(o.materials)
        for i, mat in enumerate(mats):
            if mat.name == "taillamp":
                base = float(mat.emission_strength)
                frames = tuple(BRAKE_STRENGTH if br else base for br in traj.brake)
                mats[i] = Material(**{**mat.__dict__, "emission_strength": frames[0], "emission_frames": frames})
        o.materials = mats
        left, right = _split_indicators(o)
        per = o.attributes.setdefault("per_frame", {})
        if left is not None:
            mats = list(o.materials)
            for idx, side in ((left, "left"), (right, "right")):
                lit = [bool(on and s == side) for on, s in zip(traj.indicator, traj.signal)]
                frames = tuple(INDICATOR_STRENGTH if x else 0.0 for x in lit)
                mats[idx] = Material(**{**mats[idx].__dict__, "emission_strength": frames[0],
                                        "emission_frames": frames})
            o.materials = mats
            per["indicator_lit"] = [bool(x) for x in traj.indicator]


def _label_static_light(o, T: int) -> None:
    """A traffic light placed as an object group (no timing): its state, read from which lamps it lights, is a
    per-frame label too (the same at every frame)."""
    per = o.attributes.setdefault("per_frame", {})
    if "traffic_light_state" in per:
        return
    lit = set()
    for m in o.materials:
        if m.name.startswith("lamp_") and m.emission_strength > 0:
            lit.add(int(m.name.split("_")[1]))
    state = next((s for s, lamps in tl.LIT_LAMPS.items() if set(lamps) == lit), "off")
    per["traffic_light_state"] = [state] * T


def build_traffic_lights(b) -> None:
    """Place every traffic light of the road (before street lights, furniture and region groups, so those keep
    clear of it) with its per-frame state label and keyed lamps."""
    for light in getattr(b.r.road, "traffic_lights", []):
        x, y, yaw = tl.light_pose_xy(light, b.layout)
        made = b.make("traffic_light", "black", 1.0, f"asset/{light.name}", where=f"road.traffic_lights.{light.name}")
        from simgen.world.conventions import pose_from_xyz_yaw

        z = float(b.layout.ground_z(np.array([[x, y]]))[0])
        poses = np.repeat(pose_from_xyz_yaw(x, y, z, yaw)[None], b.T, 0)
        lo, hi = made.mesh.bounds()
        fp = footprints(local_footprint(lo, hi), poses)
        hit = b.placer.clear_of_all(fp, light.name, 0.0)
        if hit is not None:
            raise tl.TrafficLightError(f"road.traffic_lights.{light.name}: the spot at x = {x:.1f} m, y = {y:.1f} m "
                                       f"is taken by '{hit.split('#')[0]}'")
        b.placer.add(Placed(light.name, "traffic_lights", poses, fp))
        states = tl.states_at(light.timing, b.times)
        mats = tl.lit_materials(made.materials, states)
        attrs = {"group": "traffic_lights", "controls": light.controls, "at": light.at,
                 "timing": light.timing.model_dump(), "per_frame": {"traffic_light_state": states}}
        from simgen.world.build import _Obj

        b.lamps.append(_Obj(light.name, "traffic_light", made.mesh, mats, poses, attrs))


def emerge_rule(b, g, metas):
    """``accept(index, poses)`` for :class:`GroupRule.accept`: the ``emerge_by_frame`` test (see
    :mod:`simgen.world.occlusion`) against every object placed before and the layout's raised parts."""
    frame = int(g.placement.emerge_by_frame)
    cam, view = b.cameras[0], b.view  # the first camera as placement sees it (its own K, never the render size)
    if view.lens is not None:
        raise PlacementError(f"objects.{g.name}: emerge_by_frame needs a pinhole first camera")
    if frame >= b.T:
        raise PlacementError(f"objects.{g.name}: emerge_by_frame {frame} is past the last frame ({b.T - 1})")
    cache: dict[int, occ.Occluders] = {}
    from simgen.world.build import _Obj

    def occluders_at(f: int) -> occ.Occluders:
        if f not in cache:
            parts = [(p.mesh.vertices, p.mesh.faces) for p in b.layout.parts if p.class_name not in occ.FLAT_CLASSES]
            for o in b.groups + b.edge + b.lamps:
                parts.append((occ.posed(o.mesh.vertices, o.poses[f]), o.mesh.faces))
            cache[f] = occ.Occluders(parts)
        return cache[f]

    def accept(index: int, poses: np.ndarray) -> str | None:
        inst, mesh, mats, lo, hi, made = metas[index]
        probe = _Obj(f"{g.name}_{inst.index}", g.class_name, mesh, mats, poses, {"animation": inst.animation})
        frames = b.gait(probe)
        vertices_at = (lambda f: mesh.vertices) if frames is None else (lambda f: frames[f])
        return occ.emerge_failure(view.K, cam.poses, view.width, view.height, cam.clip_start, vertices_at, mesh.faces, poses,
                                  occluders_at, frame)

    return accept


__all__ = ["motion_fn", "annotate", "waiting_frames", "apply_lamps", "is_parked", "build_traffic_lights",
           "emerge_rule"]
