"""resolve(spec, seed, variant) -> ResolvedScene: sample every distribution with named random streams.

Every sampled value draws from its own stream ``simgen.rng.stream(seed, scene name, variant, name)`` where
``name`` is the value's dotted path, with list items named by their ``name`` where they have one
(``objects.parked_cars.3.colour``, ``cameras.front.hfov_deg``, ``weather.fog_density``). Adding, removing or
reordering fields therefore never changes the values drawn for the others. Literals use no randomness.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from simgen import __version__
from simgen.rng import stream
from simgen.sensor.params import SensorParams, preset_params
from simgen.spec import fields as F
from simgen.spec import models as S
from simgen.spec import resolved as R
from simgen.spec.sun import lights_on, named_sun

NIGHT_BELOW_DEG = -6.0


class _Sampler:
    def __init__(self, seed: int, scene: str, variant: int):
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if not isinstance(variant, int | np.integer) or variant < 0:
            raise ValueError(f"variant must be a non-negative integer, got {variant!r}")
        self.seed, self.scene, self.variant = int(seed), scene, int(variant)

    def draw(self, value: Any, name: str, bounds: tuple = (None, None, None, None)) -> Any:
        """A literal stays as is; a distribution is sampled from the stream ``name``."""
        if not isinstance(value, BaseModel) or not hasattr(value, "dist"):
            return value
        rng = stream(self.seed, self.scene, self.variant, name)
        ge, le, gt, lt = bounds
        if isinstance(value, F.Uniform):
            x = float(rng.uniform(value.low, value.high))
        elif isinstance(value, F.Normal):
            x = float(rng.normal(value.mean, value.std))
            if value.clip is not None:
                x = float(np.clip(x, value.clip[0], value.clip[1]))
            lo = ge if ge is not None else gt
            hi = le if le is not None else lt
            if lo is not None:
                x = max(x, float(lo) if ge is not None else math.nextafter(float(lo), math.inf))
            if hi is not None:
                x = min(x, float(hi) if le is not None else math.nextafter(float(hi), -math.inf))
        elif isinstance(value, F.LogUniform):
            x = float(math.exp(rng.uniform(math.log(value.low), math.log(value.high))))
            x = min(max(x, value.low), value.high)
        elif isinstance(value, F.IntRange):
            return int(rng.integers(value.low, value.high + 1))
        elif isinstance(value, F.Choice):
            n = len(value.values)
            if value.weights is None:
                i = int(rng.integers(0, n))
            else:
                w = np.asarray(value.weights, np.float64)
                i = int(rng.choice(n, p=w / w.sum()))
            return value.values[i]
        else:  # pragma: no cover - all distributions handled above
            raise TypeError(type(value))
        return x

    def field(self, model: BaseModel, attr: str, name: str) -> Any:
        """Sample ``model.attr`` (respecting the field's bounds) from the stream ``name``."""
        info = type(model).model_fields[attr]
        return self.draw(getattr(model, attr), name, F.field_bounds(info))

    def flat(self, model: BaseModel, prefix: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """Every field of ``model`` sampled; nested models recursively, colours as ``<name>_rgb``."""
        out: dict[str, Any] = {}
        for attr in type(model).model_fields:
            if attr in skip:
                continue
            v = getattr(model, attr)
            name = f"{prefix}.{attr}"
            if isinstance(v, BaseModel) and not hasattr(v, "dist"):
                out[attr] = self.flat(v, name)
            elif isinstance(v, list) and v and isinstance(v[0], BaseModel):
                out[attr] = [self.flat(x, f"{name}.{i}") for i, x in enumerate(v)]
            else:
                x = self.field(model, attr, name)
                if attr.endswith("colour"):
                    out[f"{attr}_rgb"] = None if x is None else F.colour_rgb(x)
                else:
                    out[attr] = x
        return out


def spec_hash(spec: S.SceneSpec) -> str:
    """SHA-256 (hex) of the validated spec's canonical JSON (``extends`` and ``sweep`` excluded)."""
    data = spec.model_dump(mode="json", by_alias=True, exclude={"extends", "sweep"})
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def sun_position(hours: float, latitude_deg: float, day_of_year: int, road_heading_deg: float) -> tuple[float, float]:
    """(elevation_deg, world azimuth_deg) of the sun at local solar time ``hours``.

    Declination from the day of the year (Cooper's formula), hour angle 15 deg per hour from solar noon. The
    compass azimuth (from north, clockwise) is turned into the world frame, whose +x points to compass
    direction ``road_heading_deg``: world azimuth 0 = +y, 90 = +x.
    """
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + day_of_year) / 365.0)
    lat = math.radians(latitude_deg)
    h = math.radians(15.0 * (hours - 12.0))
    sin_el = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(h)
    el = math.degrees(math.asin(max(-1.0, min(1.0, sin_el))))
    az_south = math.atan2(math.sin(h), math.cos(h) * math.sin(lat) - math.tan(decl) * math.cos(lat))
    compass = (math.degrees(az_south) + 180.0) % 360.0
    world = (compass - road_heading_deg + 90.0) % 360.0
    return el, world


def _road(spec: S.SceneSpec, s: _Sampler) -> R.RRoad:
    r = s.flat(spec.road, "road", skip=("buildings",))
    n, w = r["lanes_per_direction"], r["lane_width_m"]
    half = n * w + (w if r["parking_lane"] else 0.0)
    b = spec.road.buildings
    sides = s.field(b, "sides", "road.buildings.sides")
    width = s.field(b, "width_m", "road.buildings.width_m")
    gap = s.field(b, "gap_m", "road.buildings.gap_m")
    setback = s.field(b, "setback_m", "road.buildings.setback_m")
    texture_override = s.field(b, "facade_texture", "road.buildings.facade_texture")
    detailed = s.field(b, "detailed", "road.buildings.detailed")
    win = R.RShopWindows(**s.flat(b.shop_windows, "road.buildings.shop_windows"))
    junction = r["junction_x_m"] if r["layout"] != "straight" else None
    cross_half = half + r["sidewalk_width_m"]
    facades: list[R.RFacade] = []
    for side in ("left", "right"):
        if sides not in (side, "both"):
            continue
        sign = 1.0 if side == "left" else -1.0
        y = sign * (half + r["sidewalk_width_m"] + setback)
        x, i = 0.0, 0
        while x + width <= r["length_m"] + 1e-9 and i < 1000:
            x0, x1 = x, x + width
            x += width + gap
            if junction is not None and (side == "left" or r["layout"] == "intersection_4way"):
                if x1 > junction - cross_half and x0 < junction + cross_half:
                    continue
            name = f"road.buildings.facades.{side}.{i}"
            height = s.draw(b.height_m, f"{name}.height_m", F.field_bounds(S.Buildings.model_fields["height_m"]))
            colour = F.colour_rgb(s.draw(b.facade_colour, f"{name}.facade_colour"))
            material = s.field(b, "facade_material", f"{name}.facade_material")
            texture = texture_override  # None: the material's own (chosen by the world stage for "mixed")
            centres: list[float] = []
            if win.enabled and win.per_building > 0:
                k = min(win.per_building, int(width // (win.width_m + 0.5)))
                centres = [x0 + width * (j + 0.5) / k for j in range(k)] if k > 0 else []
            facades.append(R.RFacade(side=side, index=i, x_start_m=x0, x_end_m=x1, y_m=y, height_m=height,
                                     colour_rgb=colour, texture=texture, window_centres_x_m=centres,
                                     material=material, detailed=detailed,
                                     storey_height_m=s.field(b, "storey_height_m", f"{name}.storey_height_m"),
                                     balconies=s.field(b, "balconies", f"{name}.balconies"),
                                     lit_windows=s.field(b, "lit_windows", f"{name}.lit_windows")))
            i += 1
    buildings = R.RBuildings(sides=sides, width_m=width, gap_m=gap, setback_m=setback, shop_windows=win,
                             facades=facades)
    return R.RRoad(
        layout=r["layout"], length_m=r["length_m"], lanes_per_direction=n, lane_width_m=w,
        sidewalk_width_m=r["sidewalk_width_m"], curb_height_m=r["curb_height_m"], parking_lane=r["parking_lane"],
        junction_x_m=junction, half_width_m=half,
        lane_centres_y_m=[-(k + 0.5) * w for k in range(n)],
        oncoming_lane_centres_y_m=[(k + 0.5) * w for k in range(n)],
        markings=R.RMarkings(**r["markings"]), crosswalks=[R.RCrosswalk(**c) for c in r["crosswalks"]],
        traffic_lights=[R.RTrafficLight(**{**t, "name": t["name"] or f"traffic_light_{i}"})
                        for i, t in enumerate(r["traffic_lights"])],
        buildings=buildings, ground=r["ground"], sidewalk_surface=r["sidewalk_surface"],
        surface_texture=r["surface_texture"],
        surface_wear=r["surface_wear"],
    )


def _range(rng: dict | None) -> list[float] | None:
    return None if rng is None else [float(rng["min"]), float(rng["max"])]


def group_names(spec: S.SceneSpec) -> list[str]:
    """The names of the object groups (explicit, or ``<class>_<index>``)."""
    return [g.name or f"{g.class_}_{i}" for i, g in enumerate(spec.objects)]


def edge_names(spec: S.SceneSpec) -> list[str]:
    return [e.name or f"{e.kind}_{i}" for i, e in enumerate(spec.edge_cases)]


def _objects(spec: S.SceneSpec, s: _Sampler) -> list[R.RObjectGroup]:
    out = []
    for gname, g in zip(group_names(spec), spec.objects, strict=True):
        pre = f"objects.{gname}"
        count = s.field(g, "count", f"{pre}.count")
        p = g.placement
        pl = s.flat(p, f"{pre}.placement", skip=("pose", "poses", "heading_deg"))
        placement = R.RPlacement(
            explicit=p.region is None, region=pl["region"], side=pl["side"], lane_index=pl["lane_index"],
            x_range_m=_range(pl["x_range_m"]), distance_m=_range(pl["distance_m"]), spacing_m=pl["spacing_m"],
            heading=pl["heading"], heading_jitter_deg=pl["heading_jitter_deg"], visible=pl["visible"],
            camera=pl["camera"], emerge_by_frame=pl["emerge_by_frame"], together=pl["together"],
        )
        mo = s.flat(g.motion, f"{pre}.motion", skip=("speed_mps",))
        motion = R.RMotion(**{**mo, "waypoints": [R.RPoint(**w) for w in mo["waypoints"]],
                              "speed_profile": [R.RSpeedKey(**k) for k in mo["speed_profile"]]})
        poses = [p.pose] if p.pose is not None else (p.poses or [])
        instances = []
        for i in range(count):
            ip = f"{pre}.{i}"
            colour = s.field(g, "colour", f"{ip}.colour")
            pose = R.RPose(**s.flat(poses[i], f"{ip}.pose")) if i < len(poses) else None
            hd = s.draw(p.heading_deg, f"{ip}.heading_deg", F.field_bounds(S.Placement.model_fields["heading_deg"]))
            instances.append(R.RInstance(
                index=i, colour_rgb=None if colour is None else F.colour_rgb(colour),
                texture=s.field(g, "texture", f"{ip}.texture"), scale=s.field(g, "scale", f"{ip}.scale"),
                animation=s.field(g, "animation", f"{ip}.animation"),
                speed_mps=s.field(g.motion, "speed_mps", f"{ip}.speed_mps"),
                heading_deg=hd, pose=pose, asset=s.field(g, "asset", f"{ip}.asset"),
            ))
        out.append(R.RObjectGroup(name=gname, class_name=g.class_, count=count, placement=placement, motion=motion,
                                  instances=instances, asset_tag=g.asset_tag))
    return out


def _lighting(spec: S.SceneSpec, s: _Sampler) -> R.RLighting:
    lt = spec.lighting
    d = s.flat(lt, "lighting", skip=("street_lights", "headlights"))
    tod = None
    if d["sun_position"] is not None:
        el, az = named_sun(d["sun_position"], d["road_heading_deg"])
        if d["sun_azimuth_deg"] is not None:
            az = float(d["sun_azimuth_deg"])
    elif d["sun_elevation_deg"] is not None:
        el, az = float(d["sun_elevation_deg"]), float(d["sun_azimuth_deg"])
    else:
        tod = F.hours(d["time_of_day"]) if d["time_of_day"] is not None else 13.0
        el, az = sun_position(tod, d["latitude_deg"], d["day_of_year"], d["road_heading_deg"])
    night = el < NIGHT_BELOW_DEG
    sl = s.flat(lt.street_lights, "lighting.street_lights")
    hl = s.flat(lt.headlights, "lighting.headlights")
    lamps = lights_on(d["sun_position"], el, night)
    sl["enabled"] = lamps if sl["enabled"] is None else sl["enabled"]
    hl["enabled"] = lamps if hl["enabled"] is None else hl["enabled"]
    return R.RLighting(
        time_of_day=tod, sun_position=d["sun_position"], sun_elevation_deg=el, sun_azimuth_deg=az, sky_model=d["sky_model"],
        sky_strength=d["sky_strength"], sun_strength=d["sun_strength"], cloud_cover=d["cloud_cover"],
        exposure=d["exposure"], night=night, environment_map=d["environment_map"],
        environment_strength=d["environment_strength"], street_lights=R.RStreetLights(**sl), headlights=R.RHeadlights(**hl),
    )


def _weather(spec: S.SceneSpec, s: _Sampler, road: R.RRoad) -> R.RWeather:
    d = s.flat(spec.weather, "weather")
    if d["wetness"] is None:
        rain = d["rain_intensity"]
        d["wetness"] = min(1.0, 0.3 + 0.7 * rain) if rain > 0 else (0.3 if d["puddles"]["coverage"] > 0 else 0.0)
    pu = d["puddles"]
    if pu["count"] is None:
        r_mean = 0.5 * (pu["min_radius_m"] + pu["max_radius_m"])
        area = road.length_m * 2 * road.half_width_m
        pu["count"] = int(min(500, round(pu["coverage"] * area / (math.pi * r_mean * r_mean))))
    return R.RWeather(fog_density=d["fog_density"], fog_height_m=d["fog_height_m"],
                      rain_intensity=d["rain_intensity"], wetness=d["wetness"], puddles=R.RPuddles(**pu),
                      snow=d["snow"])


def _sensor(d: dict[str, Any]) -> SensorParams | None:
    """The sampled ``camera.sensor`` block -> the preset with the set fields overriding it (None for 'none';
    a preset sampled to 'none' ignores the overrides)."""
    preset = d["preset"]
    if preset == "none":
        return None
    return preset_params(preset, **{k: v for k, v in d.items() if k != "preset" and v is not None})


def _cameras(spec: S.SceneSpec, s: _Sampler) -> list[R.RCamera]:
    out = []
    for c in spec.cameras:
        d = s.flat(c, f"cameras.{c.name}")
        if d["hfov_deg"] is not None:
            hfov = d["hfov_deg"]
        elif d["focal_mm"] is not None:
            hfov = math.degrees(2 * math.atan(d["sensor_width_mm"] / (2 * d["focal_mm"])))
        else:
            hfov = 90.0
        common = dict(hfov_deg=hfov, clip_start_m=d["clip_start_m"], clip_end_m=d["clip_end_m"],
                      lens=R.RLens(**d["lens"]), sensor=_sensor(d["sensor"]))
        rig = d.get("rig")
        if rig is None:
            out.append(R.RCamera(name=c.name, mount=R.RMount(**d["mount"]), **common))
            continue
        for role, mount in _rig_mounts(d["mount"], rig):
            out.append(R.RCamera(name=f"{c.name}_{role}", mount=R.RMount(**mount), **common,
                                 rig=R.RRig(name=c.name, kind=rig["kind"], role=role,
                                            baseline_m=rig["baseline_m"] if rig["kind"] == "stereo" else None)))
    return out


RIG_ROLES = {"stereo": ("left", "right"), "surround": ("front", "left", "right", "rear")}


def camera_names(spec: S.SceneSpec) -> list[str]:
    """(camera entry index, camera name) of every camera a spec makes (``<name>_<role>`` per camera of a rig);
    a rig whose kind is still a distribution counts as stereo."""
    out = []
    for i, c in enumerate(spec.cameras):
        if c.rig is None:
            out.append((i, c.name))
        else:
            kind = c.rig.kind if isinstance(c.rig.kind, str) else "stereo"
            out.extend((i, f"{c.name}_{r}") for r in RIG_ROLES[kind])
    return out


def _rig_mounts(mount: dict, rig: dict) -> list[tuple[str, dict]]:
    """(role, mount) of every camera of a rig. Stereo: left/right ±baseline/2 along the camera's x axis (the
    mount's yaw/pitch/roll applied, so the pair stays rectified). Surround: front/left/right/rear on the rig's
    outline, yawed 0/90/−90/180° plus the mount's yaw."""
    from simgen.world.build import mount_matrix

    if rig["kind"] == "stereo":
        m = mount_matrix(mount["x"], mount["y"], mount["z"], mount["yaw_deg"], mount["pitch_deg"],
                         mount["roll_deg"])
        out = []
        for role, sign in (("left", -1.0), ("right", 1.0)):
            off = m[:3, 0] * sign * rig["baseline_m"] / 2  # OpenCV camera x (right) in the ego frame
            out.append((role, {**mount, "x": mount["x"] + off[0], "y": mount["y"] + off[1],
                               "z": mount["z"] + off[2]}))
        return out
    c, s = math.cos(math.radians(mount["yaw_deg"])), math.sin(math.radians(mount["yaw_deg"]))
    half_l, half_w = rig["length_m"] / 2, rig["width_m"] / 2
    out = []
    for role, dx, dy, yaw in (("front", half_l, 0.0, 0.0), ("left", 0.0, half_w, 90.0),
                              ("right", 0.0, -half_w, -90.0), ("rear", -half_l, 0.0, 180.0)):
        y = (mount["yaw_deg"] + yaw + 180.0) % 360.0 - 180.0
        out.append((role, {**mount, "x": mount["x"] + c * dx - s * dy, "y": mount["y"] + s * dx + c * dy,
                           "yaw_deg": y}))
    return out


def _ego(spec: S.SceneSpec, s: _Sampler, road: R.RRoad) -> R.REgo:
    d = s.flat(spec.ego, "ego")
    st = d["start"]
    y = st["y"] if st["y"] is not None else road.lane_centres_y_m[-1]
    return R.REgo(start=R.RPose(x=st["x"], y=y, z=0.0, yaw_deg=st["yaw_deg"]), speed_mps=d["speed_mps"],
                  path=d["path"], waypoints=[R.RPoint(**w) for w in d["waypoints"]], class_name=spec.ego.class_)


def _edge_cases(spec: S.SceneSpec, s: _Sampler) -> list[R.REdgeCase]:
    out = []
    for name, e in zip(edge_names(spec), spec.edge_cases, strict=True):
        # every field sampled from its own stream; the result is the spec's model with literals (typed, and with
        # the spec's defaults: no second copy of them anywhere)
        d = {attr: s.field(e, attr, f"edge_cases.{name}.{attr}") for attr in type(e).model_fields
             if attr not in ("name", "kind")}
        params = type(e).model_validate({**d, "kind": e.kind, "name": name})
        out.append(R.REdgeCase(kind=e.kind, name=name, distance_m=float(params.distance_m), params=params))
    return out


def resolve(spec: S.SceneSpec, seed: int, variant: int = 0, *, source: str | None = None,
            sweep: dict[str, Any] | None = None) -> R.ResolvedScene:
    """Sample every distribution of ``spec``; deterministic in (spec, seed, variant). Seed 0 is a seed.

    ``source`` (the scene file) defaults to the path the spec was loaded from, if known. ``sweep``: the labels of
    the sweep point this spec is (:func:`simgen.spec.sweep.scene_variant`), recorded for slicing.
    """
    s = _Sampler(seed, spec.scene.name, variant)
    road = _road(spec, s)
    if source is None:
        source = getattr(spec, "_source", None)
    return R.ResolvedScene(
        simgen_version=__version__, spec_hash=spec_hash(spec), seed=int(seed), variant=int(variant),
        source=source, scene=R.RSceneInfo(name=spec.scene.name, description=spec.scene.description,
                                          tags=list(spec.scene.tags)),
        road=road, objects=_objects(spec, s), ego=_ego(spec, s, road), cameras=_cameras(spec, s),
        frames=spec.frames, fps=spec.fps, lighting=_lighting(spec, s), weather=_weather(spec, s, road),
        edge_cases=_edge_cases(spec, s), sweep=dict(sweep or {}),
        asset_catalogs=asset_catalog_paths(spec, source), street_furniture=_street_furniture(spec, s),
    )


def asset_catalog_paths(spec: S.SceneSpec, source: str | None) -> list[str]:
    """The scene's ``asset_catalogs`` as absolute paths (relative to the scene file, else the working folder)."""
    base = Path(source).resolve().parent if source else Path.cwd()
    return [str((base / p).resolve()) for p in spec.asset_catalogs]


def _street_furniture(spec: S.SceneSpec, s: _Sampler) -> R.RStreetFurniture:
    sf = spec.street_furniture
    d = s.flat(sf, "street_furniture", skip=("kinds",))
    kinds = dict(S.FURNITURE_WEIGHTS) if sf.kinds is None else {k: float(v) for k, v in sf.kinds.items()}
    xr = d["x_range_m"]
    return R.RStreetFurniture(density=d["density"], sides=d["sides"], kinds=kinds,
                              x_range_m=None if xr is None else (float(xr["min"]), float(xr["max"])))
