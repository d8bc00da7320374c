"""Every field of the scene language and of the render config reaches its consumer.

For each leaf field of :class:`SceneSpec` (walked from the models, so a new field is covered the day it is added),
a scene that differs from a base scene in that field alone is resolved and built (no Blender): the built world
must differ (an entity's mesh, pose, material or attributes, a camera, a light, the lighting or the weather).
Fields of :class:`RenderConfig` must change the :class:`RenderSettings` the renderer gets (or, for ``frames``,
the frames rendered). The last hop, world and settings -> Blender, is checked by name: every field of the world's
lighting and weather and of the render settings is read in ``simgen/render``. Fields in :data:`RECORDED_ONLY` are
exempt, each with its reason.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
from pathlib import Path

import pytest
import yaml

from simgen.errors import SimgenError
from simgen.spec import fields as F
from simgen.spec.loader import load_scene_text
from simgen.spec.models import SceneSpec
from simgen.spec.render_config import RenderConfig
from simgen.spec.resolve import resolve
from simgen.world.build import build_world

from tests.spec.fieldwalk import leaves
from tests.spec.worldprint import changed, world_digest

REPO = Path(__file__).resolve().parents[2]

#: fields that are recorded but change nothing in the world, with the reason
RECORDED_ONLY = {
    "extends": "merged by the loader before validation (tests/spec/test_examples.py, test_broken_specs.py)",
    "scene.description": "free text for people, recorded in scene.resolved.json",
    "asset_catalogs": "read by the asset catalog loader: tests/world/test_catalog.py puts a user asset from it "
                      "into the world",
    "sweep.*": "expanded by expand_sweep into scene variants (tests/spec/test_sweep.py), not part of one world",
    "edge_cases[*].kind": "the tag that selects the edge case's model",
}

#: fields whose consumer is the dataset output, read from the resolved scene (the frames' manifest rows)
OUTPUT_ONLY = {"scene.tags": lambda r: r.dataset_tags()}

STREET = """
scene: {name: cov, description: coverage, tags: [demo]}
road:
  length_m: 60
  parking_lane: true
  crosswalks: [{position_x_m: 40}]
  buildings: {sides: both, width_m: 15, detailed: false, shop_windows: {enabled: true, per_building: 1}}
objects:
  - name: lane_cars
    class: car
    placement: {region: lane, x_range_m: {min: 20, max: 35}, heading_jitter_deg: 2}
    motion: {kind: constant_velocity, speed_mps: 5}
  - name: walkers
    class: pedestrian
    placement: {region: sidewalk, side: right, x_range_m: {min: 10, max: 30}}
    animation: walking
    motion: {kind: constant_velocity, speed_mps: 1.2}
  - name: posed
    class: pedestrian
    placement: {pose: {x: 12, y: 8, yaw_deg: 10}}
    animation: standing
  - name: posed_many
    class: car
    placement: {poses: [{x: 52, y: -5.25, yaw_deg: 0}]}
  - name: route
    class: car
    placement: {region: oncoming_lane}
    motion: {kind: waypoints, speed_mps: 3, waypoints: [{x: 45, y: 1.75}, {x: 55, y: 1.75}]}
ego: {speed_mps: 5}
cameras: [{name: front}]
frames: 2
fps: 10
lighting: {time_of_day: 13, street_lights: {enabled: true}, headlights: {enabled: true}}
weather: {fog_density: 0.02, rain_intensity: 0.3, puddles: {coverage: 0.02}}
street_furniture: {density: 0.3}
"""

W = "objects.1.placement"  # the walkers' placement

#: the lane car of STREET, for setups that keep it alone
LANE_CAR = {"name": "lane_cars", "class": "car", "placement": {"region": "lane", "x_range_m": {"min": 20, "max": 30}}}
#: a traffic light at x = 45 m (right kerb, ahead of the lane car) cycling through every phase in the 1.2 s shown
SIGNAL = {"frames": 12, "road.traffic_lights": [{"name": "signal", "at": "x", "x_m": 45.0, "timing": {
    "green_s": 0.3, "amber_s": 0.2, "red_s": 0.3, "red_amber_s": 0.1}}]}
#: a 4-way junction at x = 40 m (the crosswalk moved before it), the lane car alone
JUNCTION = {"frames": 12, "road.layout": "intersection_4way", "road.junction_x_m": 40.0,
            "road.crosswalks": [{"position_x_m": 12.0}], "objects": [LANE_CAR]}
#: the lane car in the middle of three lanes, moving over between 0.2 s and 0.8 s (indicating from frame 0)
LANE_CHANGE = {"frames": 12, "road.lanes_per_direction": 3, "objects.0.placement.lane_index": 1,
               "objects.0.motion": {"kind": "change_lane", "speed_mps": 6.0, "change_start_s": 0.2,
                                    "change_duration_s": 0.6}}
#: a van parked in front of the sidewalk the child runs out from (tests/world/test_behaviours.py): from the camera,
#: it hides the sidewalk to about x = 45 m; without emerge_by_frame the child's first spot is in plain view
EMERGE = {"frames": 8, "fps": 5, "cameras": [{"name": "front", "hfov_deg": 60}],
          "ego": {"start": {"x": 0.0}, "speed_mps": 0.0},
          "objects": [{"name": "van", "class": "van", "placement": {"pose": {"x": 16, "y": -5.25}}},
                      {"name": "child", "class": "child", "animation": "running",
                       "motion": {"kind": "constant_velocity", "speed_mps": 3.5},
                       "placement": {"region": "sidewalk", "side": "right", "x_range_m": {"min": 30, "max": 60},
                                     "heading": "towards_road"}}]}
#: abstract path -> (setup applied to base and changed scene, concrete path, new value); the rest is automatic
CASES: dict[str, tuple[dict, str, typing.Any]] = {
    "objects[].placement.pose.x": ({}, "objects.2.placement.pose.x", 13.0),
    "objects[].placement.pose.y": ({}, "objects.2.placement.pose.y", 8.5),
    "objects[].placement.pose.z": ({}, "objects.2.placement.pose.z", 0.3),
    "objects[].placement.pose.yaw_deg": ({}, "objects.2.placement.pose.yaw_deg", 40.0),
    "objects[].placement.poses[].x": ({}, "objects.3.placement.poses.0.x", 53.0),
    "objects[].placement.poses[].y": ({}, "objects.3.placement.poses.0.y", -5.0),
    "objects[].placement.poses[].z": ({}, "objects.3.placement.poses.0.z", 0.2),
    "objects[].placement.poses[].yaw_deg": ({}, "objects.3.placement.poses.0.yaw_deg", 5.0),
    "objects[].placement.region": ({}, f"{W}.region", "roadside"),
    "objects[].placement.side": ({}, f"{W}.side", "left"),
    "objects[].placement.lane_index": ({"road.lanes_per_direction": 2, "objects.0.placement.lane_index": 0},
                                       "objects.0.placement.lane_index", 1),
    "objects[].placement.x_range_m.min": ({}, f"{W}.x_range_m.min", 15.0),
    "objects[].placement.x_range_m.max": ({}, f"{W}.x_range_m.max", 20.0),
    "objects[].placement.distance_m.min": ({f"{W}.distance_m": {"min": 5.0, "max": 40.0}},
                                           f"{W}.distance_m.min", 26.0),
    "objects[].placement.distance_m.max": ({f"{W}.distance_m": {"min": 5.0, "max": 40.0}},
                                           f"{W}.distance_m.max", 12.0),
    "objects[].placement.spacing_m": ({"objects.1.count": 3, f"{W}.x_range_m": {"min": 10.0, "max": 20.0}},
                                      f"{W}.spacing_m", 2.5),
    "objects[].placement.together": ({"objects.1.count": 3}, f"{W}.together", 1.0),
    "objects[].placement.heading": ({}, f"{W}.heading", "towards_road"),
    "objects[].placement.heading_deg": ({}, f"{W}.heading_deg", 45.0),
    "objects[].placement.visible": ({"cameras.0.hfov_deg": 20, f"{W}.x_range_m": {"min": 0.0, "max": 60.0}},
                                    f"{W}.visible", True),
    "objects[].placement.camera": ({"cameras": [{"name": "front"}, {"name": "rear", "mount": {"yaw_deg": 180}}],
                                    "ego.start.x": 30.0, f"{W}.visible": True,
                                    f"{W}.x_range_m": {"min": 0.0, "max": 60.0}}, f"{W}.camera", "rear"),
    "objects[].motion.kind": ({}, "objects.1.motion.kind", "static"),
    "objects[].motion.waypoints[].x": ({}, "objects.4.motion.waypoints.0.x", 44.0),
    "objects[].motion.waypoints[].y": ({}, "objects.4.motion.waypoints.0.y", 2.0),
    "objects[].motion.waypoints[].z": ({}, "objects.4.motion.waypoints.0.z", 0.1),
    "objects[].motion.loop": ({"objects.4.motion.speed_mps": 60.0,
                               "objects.4.motion.waypoints": [{"x": 45.0, "y": 1.75}, {"x": 50.0, "y": 1.75}]},
                              "objects.4.motion.loop", True),
    "objects[].class": ({}, "objects.0.class", "van"),
    "objects[].asset": ({}, "objects.0.asset", "sweethome3d/suv"),
    "objects[].asset_tag": ({}, "objects.0.asset_tag", "suv"),
    "objects[].texture": ({}, "objects.0.texture", "checker"),
    "ego.path": ({"ego.waypoints": [{"x": 0.0, "y": -1.75}, {"x": 50.0, "y": -3.0}]}, "ego.path", "waypoints"),
    "ego.waypoints[].x": ({"ego.path": "waypoints", "ego.waypoints": [{"x": 0.0, "y": -1.75}, {"x": 50.0, "y": -3.0}]},
                          "ego.waypoints.1.x", 40.0),
    "ego.waypoints[].y": ({"ego.path": "waypoints", "ego.waypoints": [{"x": 0.0, "y": -1.75}, {"x": 50.0, "y": -1.75}]},
                          "ego.waypoints.1.y", -3.0),
    "ego.waypoints[].z": ({"ego.path": "waypoints", "ego.waypoints": [{"x": 0.0, "y": -1.75}, {"x": 50.0, "y": -3.0}]},
                          "ego.waypoints.1.z", 1.0),
    "ego.class": ({}, "ego.class", "van"),
    "cameras[].hfov_deg": ({}, "cameras.0.hfov_deg", 60.0),
    "cameras[].focal_mm": ({}, "cameras.0.focal_mm", 20.0),
    "cameras[].sensor_width_mm": ({"cameras.0.focal_mm": 20.0}, "cameras.0.sensor_width_mm", 24.0),
    "lighting.sun_elevation_deg": ({"lighting.time_of_day": None, "lighting.sun_elevation_deg": 30.0,
                                    "lighting.sun_azimuth_deg": 100.0}, "lighting.sun_elevation_deg", 20.0),
    "lighting.sun_azimuth_deg": ({"lighting.time_of_day": None, "lighting.sun_elevation_deg": 30.0,
                                  "lighting.sun_azimuth_deg": 100.0}, "lighting.sun_azimuth_deg", 200.0),
    "lighting.environment_strength": ({"lighting.environment_map": "city"}, "lighting.environment_strength", 2.0),
    "weather.puddles.count": ({}, "weather.puddles.count", 3),
    "cameras[].lens.width": ({"cameras.0.lens": {"model": "opencv", "k1": -0.05}}, "cameras.0.lens.width", 96),
    "cameras[].lens.height": ({"cameras.0.lens": {"model": "opencv", "k1": -0.05}}, "cameras.0.lens.height", 40),
    "cameras[].lens.fx_px": ({"cameras.0.lens": {"model": "opencv", "k1": -0.05}}, "cameras.0.lens.fx_px", 40.0),
    "cameras[].lens.fy_px": ({"cameras.0.lens": {"model": "opencv", "k1": -0.05}}, "cameras.0.lens.fy_px", 30.0),
    "cameras[].lens.cx_offset_px": ({"cameras.0.lens": {"model": "opencv", "k1": -0.05}},
                                    "cameras.0.lens.cx_offset_px", 2.0),
    "cameras[].lens.cy_offset_px": ({"cameras.0.lens": {"model": "opencv", "k1": -0.05}},
                                    "cameras.0.lens.cy_offset_px", -2.0),
    "cameras[].lens.model": ({"cameras.0.lens": {"model": "opencv"}}, "cameras.0.lens.model", "fisheye"),
    "edge_cases[pedestrian_reflection_window].distance_m": ({}, "edge_cases.0.distance_m", 35.0),
    "edge_cases[pedestrian_behind_glass_shelter].shelter_depth_m": ({}, "edge_cases.0.shelter_depth_m", 1.0),
    "edge_cases[pedestrian_reflection_window].person_visible_directly": (
        {"cameras.0.hfov_deg": 40.0, "cameras.0.mount": {"yaw_deg": -30.0}},  # a hidden spot exists
        "edge_cases.0.person_visible_directly", True),
    "road.layout": ({"road.junction_x_m": 30.0}, "road.layout", "t_junction"),
    "road.junction_x_m": ({"road.layout": "t_junction", "road.junction_x_m": 30.0}, "road.junction_x_m", 25.0),
    "road.crosswalks[].position_x_m": ({}, "road.crosswalks.0.position_x_m", 35.0),
    "street_furniture.kinds": ({}, "street_furniture.kinds", {"tree": 1.0}),
    "street_furniture.x_range_m.min": ({"street_furniture.x_range_m": {"min": 0.0, "max": 60.0}},
                                       "street_furniture.x_range_m.min", 20.0),
    "street_furniture.x_range_m.max": ({"street_furniture.x_range_m": {"min": 0.0, "max": 60.0}},
                                       "street_furniture.x_range_m.max", 30.0),
    "road.traffic_lights[].at": ({**JUNCTION, "road.traffic_lights": [{"name": "signal", "at": "junction"}]},
                                 "road.traffic_lights.0.at", "crosswalk"),
    "road.traffic_lights[].x_m": (SIGNAL, "road.traffic_lights.0.x_m", 30.0),
    "objects[].motion.target_lane_index": (LANE_CHANGE, "objects.0.motion.target_lane_index", 0),  # not the default 2
    "objects[].motion.stop_at_signal": ({"frames": 20, "objects.0.placement.x_range_m": {"min": 30.0, "max": 35.0},
                                         "objects.0.motion": {"kind": "follow_lane", "speed_mps": 6.0},
                                         "road.traffic_lights": [{"name": "signal", "at": "x", "x_m": 45.0,
                                                                  "timing": {"start": "red", "red_s": 30.0}}]},
                                        "objects.0.motion.stop_at_signal", True),
    "objects[].placement.emerge_by_frame": (EMERGE, "objects.1.placement.emerge_by_frame", 5),
    "objects[].motion.start_time_s": ({"frames": 12, "objects.1.placement": {"region": "crosswalk"},  # the walkers
                                       "objects.1.motion": {"kind": "cross_at_crosswalk", "speed_mps": 1.2,
                                                            "start_time_s": 0.4}},
                                      "objects.1.motion.start_time_s", 0.7),
}
#: setups of whole sections (path prefix -> setup) for fields that only act in some configuration
SECTION_SETUP = {
    "cameras[].sensor.": {"cameras.0.sensor.preset": "cheap_dashcam"},
    "cameras[].lens.": {"cameras.0.lens": {"model": "opencv", "k1": -0.05}},
    "cameras[].lens.k4": {"cameras.0.lens": {"model": "fisheye", "k1": 0.01}},
    "cameras[].lens.fov_deg": {"cameras.0.lens": {"model": "fisheye", "k1": 0.01}},
    "cameras[].rig.": {"cameras.0.rig": {"kind": "stereo"}},
    "road.buildings.storey_height_m": {"road.buildings.detailed": True},
    "road.buildings.balconies": {"road.buildings.detailed": True},
    "road.buildings.lit_windows": {"road.buildings.detailed": True},
    "cameras[].rig.length_m": {"cameras.0.rig": {"kind": "surround"}},
    "cameras[].rig.width_m": {"cameras.0.rig": {"kind": "surround"}},
    "edge_cases[pedestrian_reflection_wet_road].": {"weather.wetness": 0.95},  # wet enough to be a mirror
    "road.traffic_lights[].": SIGNAL,
    "objects[].motion.speed_profile[].": {"frames": 12, "objects.0.motion": {
        "kind": "follow_lane", "speed_profile": [{"t_s": 0.4, "speed_mps": 6.0}, {"t_s": 0.9, "speed_mps": 2.0}]}},
    "objects[].motion.change_": LANE_CHANGE,
    "objects[].motion.signals": LANE_CHANGE,
    "objects[].motion.turn": {**JUNCTION, "objects.0.motion": {"kind": "turn", "speed_mps": 8.0}},
    "lighting.sun_position": {"lighting.time_of_day": None},
}


def _exempt(path: str) -> bool:
    return any(path == k or (k.endswith(".*") and path.startswith(k[:-1]))
               or (k.startswith("edge_cases[*].") and re.fullmatch(r"edge_cases\[\w+\]\." + re.escape(k[14:]), path))
               for k in RECORDED_ONLY)


# ---- values -----------------------------------------------------------------------------------------------------

def _atoms(tp, out: list) -> None:
    """Literal values and plain types a field accepts (distributions left out)."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        out.extend(typing.get_args(tp))
        return
    if isinstance(tp, type):
        if issubclass(tp, F.Choice | F.Uniform | F.Normal | F.LogUniform | F.IntRange):
            return
        out.append(tp)
        return
    for a in typing.get_args(tp):
        _atoms(a, out)


def _bounds(tp) -> tuple:
    """(ge, le, gt, lt) of a Num / Int field, however deeply it is nested (``Num(...) | None``)."""
    for m in getattr(tp, "__metadata__", ()) or ():
        b = getattr(getattr(m, "func", None), "bounds", None)
        if b is not None:
            return b
    for a in typing.get_args(tp):
        b = _bounds(a)
        if b != (None,) * 4:
            return b
    return (None,) * 4


def auto_values(model, name: str, current) -> list:
    """A few valid values for ``model.name`` that differ from ``current`` (tried in order)."""
    info = model.model_fields[name]
    atoms: list = []
    _atoms(info.annotation, atoms)
    lits = [a for a in atoms if not isinstance(a, type)]
    if name.endswith("colour"):
        return ["red" if current != "red" else "blue"]
    if lits:
        return [v for v in lits if v != current and v is not None][:2]
    if bool in atoms:
        return [not current] if current is not None else [True, False]
    ge, le, gt, lt = F.field_bounds(info) if F.field_bounds(info) != (None,) * 4 else _bounds(info.annotation)
    lo = ge if ge is not None else gt
    hi = le if le is not None else lt
    if int in atoms or float in atoms:
        cands = [current * 1.5, current + 1, current * 0.5, current - 1] if isinstance(current, int | float) else []
        if lo is not None and hi is not None:
            cands += [(lo + hi) / 2, lo + (hi - lo) / 4]
        cands += [1.0, 2.0]

        def ok(v):
            return ((ge is None or v >= ge) and (le is None or v <= le) and (gt is None or v > gt)
                    and (lt is None or v < lt) and v != current)

        if float not in atoms:
            cands = [int(round(v)) for v in cands]
        return [v for v in dict.fromkeys(cands) if ok(v)][:2]
    if list in atoms or typing.get_origin(info.annotation) is list:
        return [["alt"]]
    if str in atoms:
        return ["alt"]
    raise AssertionError(f"no automatic value for {model.__name__}.{name}")


# ---- scenes ----------------------------------------------------------------------------------------------------

def _get(d, path: str):
    cur = d
    for k in path.split("."):
        if isinstance(cur, list):
            cur = cur[int(k)]
        elif isinstance(cur, dict):
            if k not in cur:
                return None
            cur = cur[k]
        else:
            return None
    return cur


def _set(d, path: str, value) -> None:
    keys = path.split(".")
    cur = d
    for k in keys[:-1]:
        if isinstance(cur, list):
            cur = cur[int(k)]
        else:
            cur = cur.setdefault(k, {})
    if isinstance(cur, list):
        cur[int(keys[-1])] = value
    else:
        cur[keys[-1]] = value


def _concrete(path: str) -> str:
    """``objects[].colour`` -> ``objects.0.colour``; ``edge_cases[jaywalker].side`` -> ``edge_cases.0.side``."""
    return re.sub(r"\[[^\]]*\]", ".0", path)


def _base(path: str) -> dict:
    base = yaml.safe_load(STREET)
    m = re.match(r"edge_cases\[(\w+)\]\.", path)
    if m:
        base["edge_cases"] = [{"kind": m.group(1)}]
    return base


_CACHE: dict[str, dict] = {}


def _world(scene: dict) -> dict[str, str]:
    """The world digest of a scene (as a dict); remembered, since many fields share their base scene."""
    text = yaml.safe_dump(scene, sort_keys=False)
    if text not in _CACHE:
        _CACHE[text] = world_digest(build_world(resolve(load_scene_text(text), seed=0), 64, 48))
    return _CACHE[text]


SCENE_LEAVES = [lf for lf in leaves(SceneSpec)]


def test_the_walk_finds_every_section():
    paths = {lf.path for lf in SCENE_LEAVES}
    assert {"weather.fog_height_m", "road.markings.wear", "edge_cases[jaywalker].gap_m",
            "objects[].placement.pose.x", "cameras[].lens.k1", "cameras[].sensor.iso"} <= paths
    assert len(paths) > 200


@pytest.mark.parametrize("leaf", [lf for lf in SCENE_LEAVES if not _exempt(lf.path)], ids=lambda lf: lf.path)
def test_every_scene_field_changes_the_world(leaf):
    path = leaf.path
    base = _base(path)
    if path in CASES:
        setup, concrete, value = CASES[path]
        values = [value]
    else:
        setup = next((v for k, v in sorted(SECTION_SETUP.items(), key=lambda kv: -len(kv[0]))
                      if path.startswith(k)), {})
        concrete = _concrete(path)
    for k, v in setup.items():
        _set(base, k, copy.deepcopy(v))
    if path not in CASES:
        current = _get(base, concrete)
        if current is None:
            current = leaf.model.model_fields[leaf.name].get_default(call_default_factory=True)
        values = auto_values(leaf.model, leaf.name, current)
    if path in OUTPUT_ONLY:  # reaches the output through the resolved scene, not the world
        ref_out = OUTPUT_ONLY[path](resolve(load_scene_text(yaml.safe_dump(base)), seed=0))
        for value in values:
            scene = copy.deepcopy(base)
            _set(scene, concrete, value)
            assert OUTPUT_ONLY[path](resolve(load_scene_text(yaml.safe_dump(scene)), seed=0)) != ref_out, path
        return
    ref = _world(base)
    tried = []
    for value in values:
        scene = copy.deepcopy(base)
        _set(scene, concrete, value)
        try:
            diff = changed(ref, _world(scene))
        except SimgenError as err:  # an invalid combination: try the next value
            tried.append(f"{value!r} ({str(err).splitlines()[0][:120]})")
            continue
        if diff:
            return
        tried.append(value)
    pytest.fail(f"{path}: setting {concrete} to {tried} changes nothing in the built world")


def test_world_digest_sees_per_frame_labels_and_lamp_keys():
    """A field that only changes a per-frame label (a traffic light's state, brake lights, a turn signal) or a
    lamp's per-frame emission still changes the world: the digest must see each of these alone."""
    scene = yaml.safe_load(STREET)
    for k, v in SIGNAL.items():
        _set(scene, k, copy.deepcopy(v))
    world = build_world(resolve(load_scene_text(yaml.safe_dump(scene)), seed=0), 64, 48)
    ref = world_digest(world)
    light = next(e for e in world.entities if e.name == "signal")
    states = light.attributes["per_frame"]["traffic_light_state"]
    assert len(set(states)) == 4  # the setup shows every phase

    light.attributes["per_frame"]["traffic_light_state"] = states[:-1] + ["green" if states[-1] != "green" else "red"]
    assert changed(ref, world_digest(world)) == ["entity:signal"]
    light.attributes["per_frame"]["traffic_light_state"] = states
    assert changed(ref, world_digest(world)) == []

    i = next(i for i, m in enumerate(light.materials) if m.emission_frames is not None)
    keyed = light.materials[i]
    frames = list(keyed.emission_frames)
    frames[-1] = 0.0 if frames[-1] else 1.0
    light.materials[i] = dataclasses.replace(keyed, emission_frames=tuple(frames))
    assert changed(ref, world_digest(world)) == ["entity:signal"]


def test_recorded_only_entries_name_real_fields():
    paths = {lf.path for lf in SCENE_LEAVES}
    for k in RECORDED_ONLY:
        assert any(_exempt(p) for p in paths if p == k or p.startswith(k[:-1]) or "[" in p), k
        assert RECORDED_ONLY[k], k


# ---- render config ---------------------------------------------------------------------------------------------

#: render-config fields that change no render setting, with the reason
RENDER_RECORDED_ONLY = {
    "name": "names the configuration (recorded in the dataset); a file's stem by default",
    "rgb_format": "one allowed value (png): the format the writer uses",
    "depth_format": "one allowed value (exr): the format the writer uses",
    "flow_format": "one allowed value (flo): the format the writer uses",
    "normal_format": "one allowed value (exr): the format the writer uses",
}
RENDER_VALUES = {"width": 64, "height": 48, "samples": 2, "adaptive_threshold": 0.05, "denoiser": "none",
                 "device": "cpu", "threads": 2, "passes": ["rgb", "depth"], "persistent_data": False,
                 "seed_offset": 7, "view_transform": "standard", "look": "High Contrast", "exposure": 1.0,
                 "gamma": 2.0, "motion_blur": True, "tile_size": 64,
                 "light_paths.max_bounces": 3, "light_paths.diffuse_bounces": 2, "light_paths.glossy_bounces": 1,
                 "light_paths.transmission_bounces": 2, "light_paths.transparent_bounces": 2,
                 "light_paths.clamp_indirect": 0.0}


@pytest.mark.parametrize("leaf", [lf for lf in leaves(RenderConfig) if lf.path not in RENDER_RECORDED_ONLY],
                         ids=lambda lf: lf.path)
def test_every_render_config_field_changes_the_render(leaf):
    from simgen.pipeline import frames_to_render, settings_from_config

    base = {"name": "t", "width": 80, "height": 60, "samples": 4, "denoiser": "oidn", "device": "auto",
            "view_transform": "agx", "frames": None}
    cfg0 = RenderConfig.model_validate(base)
    if leaf.path == "frames":
        cfg1 = RenderConfig.model_validate({**base, "frames": 2})
        assert frames_to_render(cfg1, 10) == 2 != frames_to_render(cfg0, 10) == 10
        assert frames_to_render(cfg1, 10, frames=1) == 1
        return
    assert leaf.path in RENDER_VALUES, f"{leaf.path}: give a value in RENDER_VALUES (or list it as recorded only)"
    d = copy.deepcopy(base)
    _set(d, leaf.path, RENDER_VALUES[leaf.path])
    cfg1 = RenderConfig.model_validate(d)
    s0, s1 = settings_from_config(cfg0, seed=3), settings_from_config(cfg1, seed=3)
    assert dataclasses.asdict(s0) != dataclasses.asdict(s1), leaf.path


#: where the renderer's reads live: simgen/render, simgen/labels, and the surface rules both share
RENDER_SIDE = ("render/*.py", "labels/*.py", "world/surfaces.py")


def _read_in(name: str, *patterns: str) -> bool:
    src = "\n".join(p.read_text() for pat in patterns for p in (REPO / "simgen").glob(pat))
    return re.search(rf"\.{name}\b", src) is not None


def test_every_render_setting_and_world_field_is_read_by_the_renderer():
    """The last hop, by name: each field of RenderSettings and of the world's data (lighting, weather, cameras,
    lights, materials, meshes, entities) is read (``.<field>``) somewhere in simgen/render, simgen/labels or the
    surface rules they share (simgen/world/surfaces.py), or is listed here with its reader."""
    from simgen.render.settings import RenderSettings
    from simgen.world.model import Camera, Entity, Light, Lighting, Material, Mesh, Weather, World

    elsewhere = {"Weather.rain_intensity": "rain streaks are world entities (simgen/world/weather.py)",
                 "Camera.sensor_seed": "read by simgen.sensor through the pipeline",
                 "Camera.sensor": "developed by simgen.sensor through the pipeline",
                 "Mesh.vertex_group": "poses block people per frame in the world stage (vertex_frames)",
                 "World.credits": "ATTRIBUTION.md / .json, written by simgen.io.attribution"}
    missing = []
    for cls in (RenderSettings, Lighting, Weather, Camera, Light, Material, Mesh, Entity, World):
        for f in dataclasses.fields(cls):
            key = f"{cls.__name__}.{f.name}"
            if key not in elsewhere and not _read_in(f.name, *RENDER_SIDE):
                missing.append(key)
    assert not missing, f"never read by the renderer or the labels: {missing}"


# ---- the world does not depend on the output resolution -------------------------------------------------------

def test_world_is_independent_of_the_output_resolution():
    """The same scene built for 80x60, 640x480 and 1920x1080 output: every entity and light is identical; only
    the cameras' K (computed once, at the output size) differs."""
    import numpy as np

    scene = yaml.safe_load(STREET)
    scene["objects"][1]["placement"]["visible"] = True
    scene["edge_cases"] = [{"kind": "occluded_child", "distance_m": 14}, {"kind": "jaywalker", "distance_m": 22}]
    r = resolve(load_scene_text(yaml.safe_dump(scene)), seed=1)
    worlds = [build_world(r, w, h) for w, h in ((80, 60), (640, 480), (1920, 1080))]
    digests = [world_digest(w) for w in worlds]
    for d in digests[1:]:
        assert [k for k in changed(digests[0], d) if not k.startswith("camera:")] == []
    cams = [w.cameras[0] for w in worlds]
    assert [(c.lens.width, c.lens.height) for c in cams] == [(80, 60), (640, 480), (1920, 1080)]
    for c in cams:  # each camera's own K: the hfov across its width
        assert c.lens.K[0, 0] == pytest.approx(c.lens.width / 2 / np.tan(c.hfov_rad / 2))
        assert c.lens.K[0, 2] == pytest.approx(c.lens.width / 2 - 0.5)
    assert np.array_equal(cams[0].poses, cams[2].poses)
