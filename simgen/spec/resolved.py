"""ResolvedScene: a scene with every distribution sampled — plain data that round-trips through JSON.

All lengths in metres, angles in degrees, speeds in m/s, colours linear RGB in [0, 1]. World frame:
right-handed, z up; the main road runs along +x from x = 0, centred on y = 0; right-hand traffic, so lanes
with y < 0 carry traffic along +x. Yaw is counter-clockwise from +x seen from above.

Placement of region-placed objects is *deferred*: the world stage picks poses (with its own named random
streams) under the constraints in :class:`ResolvedPlacement`, which are literals here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from simgen.spec.models import EDGE_KINDS, EdgeCase

from simgen.sensor.params import PARAM_FIELDS, SensorParams


class _R(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RPose(_R):
    """A pose on the ground: x, y, z (m, world) and yaw_deg (counter-clockwise from +x)."""

    x: float
    y: float
    z: float = 0.0
    yaw_deg: float = 0.0


class RPoint(_R):
    x: float
    y: float
    z: float = 0.0


class RSceneInfo(_R):
    name: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)


class RMarkings(_R):
    style: Literal["dashed", "solid", "double_solid", "none"]
    edge_lines: bool
    width_m: float
    dash_length_m: float
    gap_length_m: float
    wear: float


class RCrosswalk(_R):
    position_x_m: float
    width_m: float
    stripe_width_m: float


class RShopWindows(_R):
    enabled: bool
    per_building: int
    width_m: float
    height_m: float
    sill_m: float
    reflectivity: float
    interior_light: bool


class RFacade(_R):
    """One building: its street-facing facade spans x_start_m..x_end_m at |y| = |y_m| (the plane facing the road)."""

    side: Literal["left", "right"]
    index: int
    x_start_m: float
    x_end_m: float
    y_m: float = Field(description="y of the facade plane (positive on the left side, negative on the right).")
    height_m: float
    colour_rgb: list[float]
    texture: str | None = Field(description="Facade texture override (None: the facade material's own).")
    window_centres_x_m: list[float] = Field(default_factory=list, description="x of each shop window's centre.")
    material: Literal["mixed", "brick", "plaster", "concrete", "glass"] = Field(
        "brick", description="Facade material; 'mixed': the world stage picks one per building from its streams.")
    detailed: bool = Field(True, description="Storeys, recessed windows, doors, signs, balconies, cornices.")
    storey_height_m: float = 3.2
    balconies: float = Field(0.0, description="Chance that this building has balconies (the world stage draws).")
    lit_windows: float = Field(0.25, description="Share of upper-storey rooms with the light on.")


class RBuildings(_R):
    sides: Literal["left", "right", "both", "none"]
    width_m: float
    gap_m: float
    setback_m: float
    shop_windows: RShopWindows
    facades: list[RFacade]


class RRoad(_R):
    layout: Literal["straight", "t_junction", "intersection_4way"]
    length_m: float
    lanes_per_direction: int
    lane_width_m: float
    sidewalk_width_m: float
    curb_height_m: float
    parking_lane: bool
    junction_x_m: float | None = Field(description="x of the cross road's centre line (None for straight roads).")
    half_width_m: float = Field(description="|y| of the curb: driving lanes plus the parking strip, if any.")
    lane_centres_y_m: list[float] = Field(
        description="y of each driving lane centre in the ego direction (+x), innermost first (all < 0).")
    oncoming_lane_centres_y_m: list[float] = Field(description="y of each oncoming lane centre, innermost first.")
    markings: RMarkings
    crosswalks: list[RCrosswalk]
    buildings: RBuildings
    ground: str
    sidewalk_surface: str = "paving"
    surface_texture: str
    surface_wear: float = 0.4
    traffic_lights: list[RTrafficLight] = Field(default_factory=list)


class RPlacement(_R):
    """Placement rule with every constraint a literal. Exactly one of pose (per instance) or region is used."""

    explicit: bool = Field(description="True: every instance has its own 'pose'; the constraints below are unused.")
    region: str | None
    side: Literal["left", "right", "any"]
    lane_index: int | None
    x_range_m: list[float] | None = Field(description="[min, max] along x, or None (anywhere on the road).")
    distance_m: list[float] | None = Field(description="[min, max] distance from the first camera at frame 0.")
    spacing_m: float
    heading: str
    heading_jitter_deg: float
    visible: bool
    camera: str | None = None
    emerge_by_frame: int | None = Field(None, description="Hidden at frame 0, visible by this frame.")
    together: float = Field(0.0, description="Share of instances walking beside the one placed before them.")


class RSpeedKey(_R):
    t_s: float
    speed_mps: float


class RMotion(_R):
    """Motion of a group; the behaviour kinds' fields are described in :mod:`simgen.spec.behaviours`."""

    kind: Literal["static", "constant_velocity", "waypoints", "follow_lane", "change_lane", "turn",
                  "cross_at_crosswalk"]
    waypoints: list[RPoint] = Field(default_factory=list)
    loop: bool = False
    speed_profile: list[RSpeedKey] = Field(default_factory=list)
    target_lane_index: int | None = None
    change_start_s: float = 1.0
    change_duration_s: float = 3.0
    turn: Literal["left", "right"] = "left"
    start_time_s: float = 0.0
    signals: bool = True
    stop_at_signal: bool = False


class RTrafficLightTiming(_R):
    green_s: float
    amber_s: float
    red_s: float
    red_amber_s: float = 0.0
    start: Literal["green", "amber", "red", "red_amber"] = "green"
    offset_s: float = 0.0


class RTrafficLight(_R):
    name: str
    at: Literal["junction", "crosswalk", "x"]
    x_m: float | None = None
    controls: Literal["ego_direction", "oncoming"] = "ego_direction"
    timing: RTrafficLightTiming


class RInstance(_R):
    """One object of a group, with its sampled attributes."""

    index: int
    colour_rgb: list[float] | None = Field(description="None: the world stage's default for the class.")
    texture: str
    scale: float
    animation: str
    speed_mps: float
    heading_deg: float | None = Field(description="Explicit yaw, or None: derive from the placement's heading rule.")
    pose: RPose | None = Field(description="Explicit pose, or None: the world stage places it.")
    asset: str | None = Field(None, description="Catalog asset id, or None: any asset of the class.")


class RObjectGroup(_R):
    name: str
    class_name: str
    count: int
    placement: RPlacement
    motion: RMotion
    instances: list[RInstance]
    asset_tag: str | None = None


class REgo(_R):
    start: RPose
    speed_mps: float
    path: Literal["straight", "waypoints"]
    waypoints: list[RPoint] = Field(default_factory=list)
    class_name: str = "car"


class RMount(_R):
    """Camera pose in the ego frame (x forward, y left, z up; origin on the ground below the ego origin)."""

    x: float
    y: float
    z: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float


class RLens(_R):
    """Sampled lens of one camera (see :class:`simgen.spec.models.LensSpec`); None sizes = the render config's."""

    model: Literal["pinhole", "opencv", "fisheye"] = "pinhole"
    width: int | None = None
    height: int | None = None
    fx_px: float | None = None
    fy_px: float | None = None
    cx_offset_px: float = 0.0
    cy_offset_px: float = 0.0
    k1: float = 0.0
    k2: float = 0.0
    k3: float = 0.0
    k4: float = 0.0
    p1: float = 0.0
    p2: float = 0.0
    fov_deg: float = 190.0


class RRig(_R):
    """The rig a camera belongs to: its name, kind, this camera's role and (stereo) the baseline."""

    name: str
    kind: Literal["stereo", "surround"]
    role: str
    baseline_m: float | None = None


class RCamera(_R):
    name: str
    hfov_deg: float
    mount: RMount
    clip_start_m: float
    clip_end_m: float
    sensor: SensorParams | None = Field(None, description="Sensor model; None = none (the renderer's view "
                                                          "transform makes the picture).")
    lens: RLens = Field(default_factory=RLens)
    rig: RRig | None = None


class RStreetLights(_R):
    enabled: bool
    spacing_m: float
    height_m: float
    power_w: float
    colour_temperature_k: float
    sides: Literal["left", "right", "both"]


class RHeadlights(_R):
    enabled: bool
    power_w: float
    high_beam: bool


class RLighting(_R):
    time_of_day: float | None = Field(description="Hours, if the scene gave a time of day.")
    sun_position: str | None = Field(None, description="The named sun position, if the scene gave one.")
    sun_elevation_deg: float
    sun_azimuth_deg: float = Field(description="World frame: 0 = +y, 90 = +x (clockwise seen from above).")
    sky_model: str
    sky_strength: float
    sun_strength: float
    cloud_cover: float
    exposure: float
    night: bool = Field(description="Derived: sun more than 6 degrees below the horizon.")
    environment_map: str = "none"
    environment_strength: float = 1.0
    street_lights: RStreetLights
    headlights: RHeadlights


class RPuddles(_R):
    coverage: float
    count: int
    min_radius_m: float
    max_radius_m: float


class RWeather(_R):
    fog_density: float
    fog_height_m: float | None
    rain_intensity: float
    wetness: float
    puddles: RPuddles
    snow: float


class REdgeCase(_R):
    """An edge case with its parameters sampled: ``params`` is the spec's own model of the kind
    (:data:`simgen.spec.models.EdgeCase`) with every field a literal (the spec's defaults where the file gives
    none; colours stay as names or [r, g, b])."""

    kind: str
    name: str
    distance_m: float
    params: Annotated[EdgeCase, Field(discriminator="kind")]


#: tags that describe conditions: :meth:`ResolvedScene.dataset_tags` derives them from the resolved values
CONDITION_TAGS = frozenset({"day", "night", "clear", "rain", "fog", "snow", "wet"})
#: fog density (1/m) from which a scene counts as foggy: meteorological visibility 3 / density below 300 m
FOG_TAG_DENSITY = 0.01
#: road wetness from which a scene counts as wet (a tag; the reflection labels treat the road as a mirror where its
#: wet roughness is at most 0.3, asphalt from wetness 0.78: :mod:`simgen.world.surfaces`)
WET_TAG_WETNESS = 0.5


class RStreetFurniture(_R):
    """Clutter along the sidewalks: density 0..1 (1 = an item per 3 m per side), kind -> weight."""

    density: float = 0.0
    sides: Literal["left", "right", "both"] = "both"
    kinds: dict[str, float] = Field(default_factory=dict)
    x_range_m: tuple[float, float] | None = None


class ResolvedScene(_R):
    """A fully sampled scene (see the module docstring for units and frames)."""

    simgen_version: str
    spec_hash: str = Field(description="SHA-256 of the validated spec (after extends), canonical JSON.")
    seed: int
    variant: int
    source: str | None = Field(description="The scene file, if any.")
    scene: RSceneInfo
    road: RRoad
    objects: list[RObjectGroup]
    ego: REgo
    cameras: list[RCamera]
    frames: int
    fps: float
    lighting: RLighting
    weather: RWeather
    edge_cases: list[REdgeCase]
    sweep: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="For a sweep point: swept path -> the chosen level: the label of a "
                                          "labelled value, else the value itself (numbers stay numbers).")
    asset_catalogs: list[str] = Field(default_factory=list,
                                      description="Extra asset catalog files (absolute paths).")
    street_furniture: RStreetFurniture = Field(default_factory=RStreetFurniture)

    def dataset_tags(self) -> list[str]:
        """The tags a rendered frame carries: the author's, with the condition tags (:data:`CONDITION_TAGS`)
        derived from the resolved values instead — so a sweep that turns a clear noon street into a rainy night
        is tagged ``night``, ``rain``, not ``day``, ``clear``. Edge-case kinds are left out: the renderer tags each
        frame with the kinds visible in it."""
        lt, w = self.lighting, self.weather
        derived = ["night" if lt.night else "day"]
        if w.rain_intensity > 0:
            derived.append("rain")
        if w.snow > 0:
            derived.append("snow")
        if w.fog_density >= FOG_TAG_DENSITY:
            derived.append("fog")
        if w.wetness >= WET_TAG_WETNESS:
            derived.append("wet")
        if not {"rain", "snow", "fog"} & set(derived):
            derived.append("clear")
        # edge-case kinds are tagged per frame, where the case is visible (simgen.labels.edge_cases)
        authored = [t for t in self.scene.tags if t not in CONDITION_TAGS and t not in EDGE_KINDS]
        return list(dict.fromkeys(authored + derived))

    def knobs(self) -> dict[str, Any]:
        """Flat sampled values useful for slicing a dataset (weather, time of day, night, layout, ...)."""
        lt, w = self.lighting, self.weather
        return {
            "scene": self.scene.name,
            "variant": self.variant,
            "layout": self.road.layout,
            "time_of_day": lt.time_of_day,
            "sun_position": lt.sun_position,
            "sun_elevation_deg": round(lt.sun_elevation_deg, 3),
            "night": lt.night,
            "cloud_cover": lt.cloud_cover,
            "fog_density": w.fog_density,
            "rain_intensity": w.rain_intensity,
            "wetness": w.wetness,
            "snow": w.snow,
            "edge_cases": sorted({e.kind for e in self.edge_cases}),
            **{f"sweep.{path}": label for path, label in self.sweep.items()},
        }

    def camera_knobs(self, camera: str) -> dict[str, Any]:
        """Knobs of one camera: ``sensor.preset`` and every ``sensor.<field>`` of its sensor model."""
        cam = next(c for c in self.cameras if c.name == camera)
        if cam.sensor is None:
            return {"sensor.preset": "none"}
        return {"sensor.preset": cam.sensor.preset, **{f"sensor.{f}": getattr(cam.sensor, f) for f in PARAM_FIELDS}}
