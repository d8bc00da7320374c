"""The scene language: pydantic models of a scene file (``scenes/*.yaml``).

World frame: right-handed, z up, metres. The main road runs along +x from x = 0, centred on y = 0; traffic
keeps right, so the ego vehicle drives along +x in a lane with y < 0. Angles are degrees; yaw is measured
counter-clockwise from +x seen from above (yaw 0 = along +x, 90 = along +y).

Numeric and categorical fields accept a literal or a distribution (see :mod:`simgen.spec.fields`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from simgen.classes import class_table
from simgen.spec.errors import did_you_mean
from simgen.spec.sensor import SensorSpec
from simgen.spec.behaviours import MotionBehaviour, SunPosition, TrafficLightSpec
from simgen.spec.fields import (
    Bool,
    Cat,
    Colour,
    Int,
    IntRange,
    LogUniform,
    Normal,
    Num,
    SpecModel,
    TimeOfDay,
    Uniform,
    named_choice,
)

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
ASSET_ID_PATTERN = r"^[a-z0-9_][a-z0-9_.\-]*(/[a-z0-9_][a-z0-9_.\-]*)?$"
#: Upper limits that catch typos such as ``count: 1000000`` before they eat a machine.
MAX_GROUP_COUNT = 500
MAX_TOTAL_OBJECTS = 2000
MAX_FRAMES = 10_000
MAX_CAMERAS = 16

Layout = Literal["straight", "t_junction", "intersection_4way"]
Side = Literal["left", "right", "both"]
SideOne = Literal["left", "right"]
Region = Literal["lane", "oncoming_lane", "parking", "sidewalk", "crosswalk", "roadside", "shop_window", "cross_lane"]
Heading = Literal["along_traffic", "against_traffic", "along_road", "towards_road", "away_from_road",
                  "facing_camera", "away_from_camera", "along_view", "random"]
Animation = Literal["none", "standing", "idle", "waiting", "walking", "running", "carrying", "stroller", "cycling"]
Texture = Literal["none", "checker", "noise", "asphalt", "brick", "plaster", "concrete", "curtain_wall", "paving",
                  "flagstones"]
SkyModel = Literal["multiple_scattering", "single_scattering", "preetham", "hosek_wilkie", "uniform"]
Ground = Literal["grass", "dirt", "concrete", "asphalt", "gravel"]
SidewalkSurface = Literal["paving", "flagstones", "asphalt"]
MarkingStyle = Literal["dashed", "solid", "double_solid", "none"]
MotionKind = Literal["static", "constant_velocity", "waypoints", "follow_lane", "change_lane", "turn",
                     "cross_at_crosswalk"]
FacadeMaterial = Literal["mixed", "brick", "plaster", "concrete", "glass"]
#: the CC0 image-lighting maps bundled with Blender (datafiles/studiolights/world/<name>.exr)
EnvironmentMap = Literal["none", "city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset"]
AssetId = Annotated[str, Field(pattern=ASSET_ID_PATTERN, max_length=120)]
#: a catalog asset id, or a choice among ids
AssetRef = Cat(AssetId, "AssetChoice")


def _thing_class(value: str) -> str:
    table = class_table()
    if value not in table.names:
        raise PydanticCustomError("unknown_class", "unknown class '{value}'",
                                  {"value": value, "hint": did_you_mean(value, [c.name for c in table.classes
                                                                                if c.thing])})
    if not table.by_name(value).thing:
        raise PydanticCustomError(
            "stuff_class", "class '{value}' is scenery (road, sky, ...), not an object",
            {"value": value, "hint": did_you_mean(value, [c.name for c in table.classes if c.thing])})
    return value


# ------------------------------------------------------------------------------------------------------- scene
class SceneInfo(SpecModel):
    """Identity of the scene."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100,
                      description="Scene id (letters, digits, _ . -); names output folders and seeds the RNG.")
    description: str = Field("", max_length=2000, description="Free text for people.")
    tags: list[str] = Field(default_factory=list, max_length=64,
                            description="Labels for slicing datasets, e.g. night, pedestrian_reflection. Condition "
                                        "tags and edge-case kinds are derived per frame when rendering.")


# -------------------------------------------------------------------------------------------------------- road
class LaneMarkings(SpecModel):
    """Painted lines on the road."""

    style: Cat(MarkingStyle, "MarkingStyleChoice") = Field("dashed", description="Centre line style.")
    edge_lines: Bool = Field(True, description="Solid lines along both road edges.")
    width_m: Num(gt=0, le=0.5) = Field(0.15, description="Line width (m).")
    dash_length_m: Num(gt=0, le=20) = Field(3.0, description="Dash length for dashed lines (m).")
    gap_length_m: Num(gt=0, le=50) = Field(6.0, description="Gap between dashes (m).")
    wear: Num(ge=0, le=1) = Field(
        0.0, description="Paint wear: 0 = fresh, 1 = almost gone (patchy, faded paint; worn paint keeps its label).")


class Crosswalk(SpecModel):
    """A zebra crossing across the main road."""

    position_x_m: Num(ge=0, le=5000) = Field(description="Centre of the crossing along the road (m from x = 0).")
    width_m: Num(gt=0, le=20) = Field(4.0, description="Extent of the crossing along the road (m).")
    stripe_width_m: Num(gt=0, le=2) = Field(0.5, description="Width of each stripe (m).")


class ShopWindows(SpecModel):
    """Glass shop windows in the ground floor of each building."""

    enabled: Bool = Field(True, description="Give buildings shop windows.")
    per_building: Int(ge=0, le=20) = Field(2, description="Windows per building facade.")
    width_m: Num(gt=0, le=20) = Field(2.5, description="Window width (m).")
    height_m: Num(gt=0, le=10) = Field(2.2, description="Window height (m).")
    sill_m: Num(ge=0, le=5) = Field(0.5, description="Height of the window's lower edge above the sidewalk (m).")
    reflectivity: Num(ge=0, le=1) = Field(0.9, description="0 = matte dark glass, 1 = clear mirror-like glass.")
    interior_light: Bool = Field(False, description="Lit shop interior (visible through the glass at night).")


class Buildings(SpecModel):
    """Rows of buildings along the main road, one row per side."""

    sides: Cat(Literal["left", "right", "both", "none"], "BuildingSidesChoice") = Field(
        "both", description="Which sides of the road have buildings (left = y > 0).")
    width_m: Num(gt=2, le=100) = Field(15.0, description="Facade length of one building along the road (m).")
    gap_m: Num(ge=0, le=50) = Field(0.0, description="Gap between neighbouring buildings (m).")
    height_m: Num(gt=2, le=300) = Field(12.0, description="Building height (m); sampled per building.")
    setback_m: Num(ge=0, le=50) = Field(0.0, description="Distance from the sidewalk's outer edge to the facade (m).")
    facade_colour: Colour = Field("concrete", description="Facade colour; sampled per building.")
    facade_texture: Cat(Texture, "TextureChoice") | None = Field(
        None, description="Override the facade's procedural texture (default: the one of facade_material).")
    shop_windows: ShopWindows = Field(default_factory=ShopWindows, description="Shop windows (glass).")
    facade_material: Cat(FacadeMaterial, "FacadeMaterialChoice") = Field(
        "mixed", description="brick, plaster, concrete or glass (curtain wall); sampled per building; mixed = "
                             "each building picks one.")
    detailed: Bool = Field(True, description="Storeys, recessed windows with rooms, doors, shop fronts, signs, "
                                             "balconies and cornices; false = plain boxes (cheaper).")
    storey_height_m: Num(ge=2.5, le=6) = Field(3.2, description="Height of an upper storey (m); sampled per building.")
    balconies: Num(ge=0, le=1) = Field(0.3, description="Share of buildings whose upper windows have balconies.")
    lit_windows: Num(ge=0, le=1) = Field(
        0.25, description="Share of upper-storey rooms with the light on (seen through the glass; shows at night).")


class Road(SpecModel):
    """The road network: a main road along +x (and a cross road for junctions)."""

    layout: Cat(Layout, "LayoutChoice") = Field("straight", description="straight, t_junction or intersection_4way.")
    length_m: Num(gt=5, le=5000) = Field(200.0, description="Length of the main road along +x (m).")
    lanes_per_direction: Int(ge=1, le=6) = Field(1, description="Driving lanes in each direction.")
    lane_width_m: Num(ge=2, le=6) = Field(3.5, description="Width of one lane (m).")
    sidewalk_width_m: Num(ge=0, le=15) = Field(2.5, description="Sidewalk width on each side (m); 0 = none.")
    curb_height_m: Num(ge=0, le=0.5) = Field(0.15, description="Height of the curb / sidewalk above the road (m).")
    parking_lane: Bool = Field(False, description="A parking strip (one lane wide) along each road edge.")
    junction_x_m: Num(ge=0, le=5000) = Field(
        60.0, description="Where the cross road meets the main road (m along x); junction layouts only.")
    markings: LaneMarkings = Field(default_factory=LaneMarkings, description="Lane markings.")
    crosswalks: list[Crosswalk] = Field(default_factory=list, max_length=50, description="Zebra crossings.")
    traffic_lights: list[TrafficLightSpec] = Field(
        default_factory=list, max_length=20, description="Traffic lights with signal timing (docs/behaviours.md).")
    buildings: Buildings = Field(default_factory=Buildings, description="Buildings along the road.")
    ground: Cat(Ground, "GroundChoice") = Field("grass", description="Surface beyond sidewalks and buildings.")
    sidewalk_surface: Cat(SidewalkSurface, "SidewalkSurfaceChoice") = Field(
        "paving", description="Sidewalk surface: paving (small grey pavers, weathered), flagstones (large pale "
                              "concrete slabs, as on plazas and campuses) or asphalt (a tarmac footway).")
    surface_texture: Cat(Texture, "TextureChoice") = Field("asphalt", description="Road surface texture.")
    surface_wear: Num(ge=0, le=1) = Field(
        0.4, description="Road wear: 0 = new asphalt; more = patches, cracks, tyre tracks, stains (manholes always).")


# ----------------------------------------------------------------------------------------------------- objects
class Pose(SpecModel):
    """An explicit pose on the ground: position (m, world frame) and yaw (deg, 0 = along +x)."""

    x: Num(ge=-10000, le=10000) = Field(description="x (m), along the road.")
    y: Num(ge=-10000, le=10000) = Field(description="y (m), across the road (left is positive).")
    z: Num(ge=-100, le=1000) = Field(0.0, description="Height of the object's base above the ground (m).")
    yaw_deg: Num(ge=-360, le=360) = Field(0.0, description="Heading (deg), counter-clockwise from +x.")


class Point(SpecModel):
    """A waypoint (m, world frame)."""

    x: Num(ge=-10000, le=10000) = Field(description="x (m).")
    y: Num(ge=-10000, le=10000) = Field(description="y (m).")
    z: Num(ge=-100, le=1000) = Field(0.0, description="z (m).")


class Range(SpecModel):
    """A closed interval [min, max]."""

    min: Num(ge=0, le=10000) = Field(0.0, description="Lower end.")
    max: Num(ge=0, le=10000) = Field(description="Upper end.")


class Placement(SpecModel):
    """Where the instances of a group stand: an explicit pose (or one per instance), or a region with constraints.

    Region placements are solved by the world stage (its own named random streams); the constraints below are
    resolved to literals first.
    """

    pose: Pose | None = Field(None, description="Explicit pose (groups with count 1).")
    poses: list[Pose] | None = Field(None, max_length=MAX_GROUP_COUNT,
                                     description="Explicit poses, one per instance (len == count).")
    region: Cat(Region, "RegionChoice") | None = Field(
        None, description="lane (ego direction), oncoming_lane, parking, sidewalk, crosswalk, roadside (verge "
                          "beyond the sidewalk), shop_window (on the sidewalk in front of a window), cross_lane "
                          "(a lane of a junction's cross road: cross traffic).")
    side: Cat(Literal["left", "right", "any"], "PlacementSideChoice") = Field(
        "any", description="Road side for sidewalk / parking / roadside / shop_window (left = y > 0).")
    lane_index: Int(ge=0, le=5) | None = Field(None, description="Lane counted from the centre line (0 = innermost).")
    x_range_m: Range | None = Field(None, description="Allowed positions along the road (m of x).")
    distance_m: Range | None = Field(None, description="Allowed distance from the first camera at frame 0 (m).")
    spacing_m: Num(ge=0, le=500) = Field(1.0, description="Minimum gap between this group's instances (m).")
    heading: Cat(Heading, "HeadingChoice") = Field(
        "along_traffic", description="How instances face: along_traffic (the lane's direction), against_traffic, "
                                     "along_road (+x), towards_road, away_from_road, facing_camera, away_from_camera, "
                                     "along_view (towards or away from the camera at random: people on a path the "
                                     "camera looks along), random.")
    heading_deg: Num(ge=-360, le=360) | None = Field(
        None, description="Explicit yaw (deg) instead of 'heading'; sampled per instance.")
    heading_jitter_deg: Num(ge=0, le=180) = Field(0.0, description="Random yaw offset bound (+/- deg), per instance.")
    visible: Bool = Field(False, description="Each instance must be at least partly visible from the first camera "
                                             "at frame 0.")
    camera: str | None = Field(None, max_length=80, description="The camera visible / distance_m / facing_camera "
                                                                "/ away_from_camera / along_view "
                                                                "refer to (any camera, rig cameras included, e.g. "
                                                                "sv_left); default: the first.")
    together: Num(ge=0, le=1) = Field(
        0.0, description="Share of instances that walk beside the one placed before them (couples, friends, "
                         "parents with children): the same heading and speed, side by side 0.55-0.8 m apart. People "
                         "with a static or constant-velocity motion.")
    emerge_by_frame: int | None = Field(
        None, ge=1, le=MAX_FRAMES, description="Each instance is fully hidden (behind other objects, or outside "
                                               "the view) at frame 0 and visible by this frame.")

    @model_validator(mode="after")
    def _one_kind(self) -> Placement:
        given = [n for n in ("pose", "poses", "region") if getattr(self, n) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "placement_kind", "give exactly one of pose, poses or region (got {got})",
                {"got": ", ".join(given) or "none",
                 "hint": "e.g. region: sidewalk, or pose: {x: 10, y: -1.75, yaw_deg: 0}"})
        return self


class Motion(MotionBehaviour):
    """How instances move over the sequence."""

    kind: Cat(MotionKind, "MotionKindChoice") = Field(
        "static", description="static, constant_velocity (along the instance's heading), waypoints, or a "
                              "behaviour: follow_lane, change_lane, turn (lane regions), cross_at_crosswalk "
                              "(crosswalk region; see docs/behaviours.md).")
    speed_mps: Num(ge=0, le=80) = Field(0.0, description="Speed (m/s); sampled per instance.")
    waypoints: list[Point] = Field(default_factory=list, max_length=1000,
                                   description="Path for kind=waypoints (at least 2 points), followed at speed_mps.")
    loop: Bool = Field(False, description="Waypoints: start again from the first point at the end.")

    @model_validator(mode="after")
    def _waypoints(self) -> Motion:
        if self.kind == "waypoints" and len(self.waypoints) < 2:
            raise PydanticCustomError("waypoints", "motion kind 'waypoints' needs at least 2 waypoints",
                                      {"hint": "add waypoints: [{x: 0, y: 0}, {x: 20, y: 0}]"})
        return self


class ObjectGroup(SpecModel):
    """``count`` objects of one class sharing a placement rule, appearance and motion."""

    name: str | None = Field(None, pattern=NAME_PATTERN, max_length=100,
                             description="Unique group name (default: '<class>_<index>'); names RNG streams.")
    class_: str = Field(alias="class", description="Object class from the class table (simgen/data/classes.yaml).")
    count: Int(ge=0, le=MAX_GROUP_COUNT) = Field(1, description=f"Number of instances (0..{MAX_GROUP_COUNT}).")
    placement: Placement = Field(description="Where the instances stand.")
    colour: Colour | None = Field(None, description="Body / clothing colour; sampled per instance. Default: "
                                                     "the world stage's palette for the class.")
    texture: Cat(Texture, "TextureChoice") = Field("none", description="Procedural surface texture.")
    scale: Num(gt=0.1, le=5) = Field(1.0, description="Size factor; sampled per instance.")
    animation: Cat(Animation, "AnimationChoice") = Field(
        "none", description="Body pose / animation (people and cyclists): standing (still), idle (sways), waiting "
                            "(at a crossing, looks left and right), walking, running, carrying (walks with a bag), "
                            "stroller (pushes a pram), cycling.")
    motion: Motion = Field(default_factory=Motion, description="Motion over the sequence.")
    # -- assets (see assets/catalog.yaml and docs/assets.md)
    asset: AssetRef | None = Field(
        None, description="Catalog asset id (e.g. sweethome3d/suv) or a choice among ids; sampled per instance. "
                          "Default: any installed catalog asset of the class.")
    asset_tag: str | None = Field(None, pattern=r"^[a-z0-9_\-]+$", max_length=50,
                                  description="Pick among the class's catalog assets with this tag (e.g. sedan).")

    @field_validator("class_")
    @classmethod
    def _check_class(cls, v: str) -> str:
        return _thing_class(v)

    @model_validator(mode="after")
    def _asset_or_tag(self) -> ObjectGroup:
        if self.asset is not None and self.asset_tag is not None:
            raise PydanticCustomError("asset_twice", "give asset or asset_tag, not both",
                                      {"hint": "asset names one asset; asset_tag picks among the tagged ones"})
        return self

    @model_validator(mode="after")
    def _behaviour_region(self) -> ObjectGroup:
        kind, region = self.motion.kind, self.placement.region
        if not isinstance(kind, str) or not isinstance(region, str):
            return self
        need = {"follow_lane": ("lane", "oncoming_lane", "cross_lane"), "change_lane": ("lane", "oncoming_lane"),
                "turn": ("lane", "oncoming_lane", "cross_lane"), "cross_at_crosswalk": ("crosswalk",)}.get(kind)
        if need is not None and region not in need:
            raise PydanticCustomError("behaviour_region", "motion '{kind}' needs placement region {need}, not "
                                                          "'{region}'",
                                      {"kind": kind, "need": " or ".join(need), "region": region,
                                       "hint": "see docs/behaviours.md"})
        return self

    @model_validator(mode="after")
    def _poses_count(self) -> ObjectGroup:
        p = self.placement
        if isinstance(self.count, int):
            if p.pose is not None and self.count != 1:
                raise PydanticCustomError("pose_count", "an explicit 'pose' places exactly 1 object, count is {n}",
                                          {"n": self.count, "hint": "use 'poses' (one per instance) or count: 1"})
            if p.poses is not None and len(p.poses) != self.count:
                raise PydanticCustomError("poses_count", "{m} poses for count {n}",
                                          {"m": len(p.poses), "n": self.count, "hint": "give one pose per instance"})
        elif p.pose is not None or p.poses is not None:
            raise PydanticCustomError("pose_count", "explicit poses need a literal count",
                                      {"hint": "use a region placement for a random count"})
        return self


# ------------------------------------------------------------------------------------------ street furniture
FurnitureKind = Literal["tree", "vegetation", "bench", "trash_can", "hydrant", "bollard", "cone", "bicycle",
                        "bicycle_rack", "sign"]
#: default mix of street furniture kinds (relative weights)
FURNITURE_WEIGHTS = {"tree": 3.0, "vegetation": 1.5, "bench": 1.0, "trash_can": 1.5, "hydrant": 0.5,
                     "bollard": 2.0, "cone": 0.5, "bicycle": 1.0, "bicycle_rack": 0.5, "sign": 1.0}


class StreetFurniture(SpecModel):
    """Clutter and vegetation along the sidewalks (trees, hedges, benches, bins, hydrants, bollards, ...), placed by
    the world stage on the sidewalk, clear of every other object, after the street lights and before the object
    groups."""

    density: Num(ge=0, le=1) = Field(
        0.0, description="0 = none, 1 = one item per 3 m of sidewalk on each side (fewer where there is no room).")
    sides: Cat(Side, "FurnitureSidesChoice") = Field("both", description="left, right or both.")
    kinds: dict[FurnitureKind, Annotated[float, Field(ge=0, le=100)]] | None = Field(
        None, description="Relative weights of the kinds (omitted kinds are not placed); default: "
                          + ", ".join(f"{k} {v:g}" for k, v in FURNITURE_WEIGHTS.items()) + ".")
    x_range_m: Range | None = Field(None, description="Only along this stretch of the road (m of x).")


# ------------------------------------------------------------------------------------------------ ego, cameras
class EgoStart(SpecModel):
    """Start pose of the ego vehicle."""

    x: Num(ge=-10000, le=10000) = Field(0.0, description="x (m).")
    y: Num(ge=-10000, le=10000) | None = Field(
        None, description="y (m); default: centre of the rightmost driving lane (y < 0).")
    yaw_deg: Num(ge=-360, le=360) = Field(0.0, description="Heading (deg), 0 = along +x.")


class Ego(SpecModel):
    """The vehicle that carries the cameras."""

    start: EgoStart = Field(default_factory=EgoStart, description="Start pose.")
    speed_mps: Num(ge=0, le=80) = Field(8.0, description="Speed (m/s); 0 = parked.")
    path: Cat(Literal["straight", "waypoints"], "EgoPathChoice") = Field(
        "straight", description="straight (along its heading) or waypoints.")
    waypoints: list[Point] = Field(default_factory=list, max_length=1000, description="Path for path=waypoints.")
    class_: str = Field("car", alias="class", description="The ego vehicle's class (it is not rendered).")

    @field_validator("class_")
    @classmethod
    def _check_class(cls, v: str) -> str:
        return _thing_class(v)

    @model_validator(mode="after")
    def _waypoints(self) -> Ego:
        if self.path == "waypoints" and len(self.waypoints) < 2:
            raise PydanticCustomError("waypoints", "path 'waypoints' needs at least 2 waypoints",
                                      {"hint": "add waypoints: [{x: 0, y: -1.75}, {x: 50, y: -1.75}]"})
        return self


class Mount(SpecModel):
    """Camera pose relative to the ego vehicle (ego frame: x forward, y left, z up, origin on the ground).

    At zero angles the camera looks along ego +x. yaw_deg turns it left, pitch_deg tilts it up, roll_deg
    rotates it counter-clockwise about the viewing direction (as seen from behind the camera).
    """

    x: Num(ge=-50, le=50) = Field(1.5, description="Forward offset (m).")
    y: Num(ge=-50, le=50) = Field(0.0, description="Left offset (m).")
    z: Num(ge=0, le=50) = Field(1.5, description="Height above the ground (m).")
    yaw_deg: Num(ge=-180, le=180) = Field(0.0, description="Yaw (deg), positive = left.")
    pitch_deg: Num(ge=-90, le=90) = Field(0.0, description="Pitch (deg), positive = up.")
    roll_deg: Num(ge=-180, le=180) = Field(0.0, description="Roll (deg).")


# ---- camera geometry: lens model, intrinsics, distortion, resolution, rigs (grouped) ----
CameraModel = Literal["pinhole", "opencv", "fisheye"]
RigKind = Literal["stereo", "surround"]


class LensSpec(SpecModel):
    """Lens model and intrinsics of one camera, in OpenCV's parameterisation (stored as ``K``, ``D``).

    pinhole: no distortion. opencv: Brown–Conrady, D = (k1, k2, p1, p2, k3) as ``cv2.projectPoints``.
    fisheye: OpenCV's equidistant model, D = (k1, k2, k3, k4) as ``cv2.fisheye.projectPoints``, any field of
    view up to 360° (``fov_deg``; rays beyond fov_deg/2 off-axis are black and unlabelled). The focal length
    comes from fx_px/fy_px, else from the camera's hfov_deg / focal_mm (pinhole, opencv: undistorted
    horizontal FOV) or, for fisheye, from fov_deg spanning the image width.
    """

    model: Cat(CameraModel, "CameraModelChoice") = Field("pinhole", description="pinhole, opencv or fisheye.")
    width: Int(ge=8, le=16384) | None = Field(None, description="Image width (px); default: the render config's.")
    height: Int(ge=8, le=16384) | None = Field(None, description="Image height (px); default: the render config's.")
    fx_px: Num(gt=0, le=100000) | None = Field(None, description="Focal length in x (px); overrides the FOV.")
    fy_px: Num(gt=0, le=100000) | None = Field(None, description="Focal length in y (px); default fx_px.")
    cx_offset_px: Num(ge=-10000, le=10000) = Field(0.0, description="Principal point offset from the centre, x (px).")
    cy_offset_px: Num(ge=-10000, le=10000) = Field(0.0, description="Principal point offset from the centre, y (px).")
    k1: Num(ge=-10, le=10) = Field(0.0, description="Radial distortion k1 (opencv, fisheye).")
    k2: Num(ge=-10, le=10) = Field(0.0, description="Radial distortion k2 (opencv, fisheye).")
    k3: Num(ge=-10, le=10) = Field(0.0, description="Radial distortion k3 (opencv, fisheye).")
    k4: Num(ge=-10, le=10) = Field(0.0, description="Radial distortion k4 (fisheye only).")
    p1: Num(ge=-1, le=1) = Field(0.0, description="Tangential distortion p1 (opencv only).")
    p2: Num(ge=-1, le=1) = Field(0.0, description="Tangential distortion p2 (opencv only).")
    fov_deg: Num(gt=0, le=360) = Field(190.0, description="Fisheye: full field of view of the lens circle (deg).")

    @model_validator(mode="after")
    def _coefficients(self) -> LensSpec:
        def nonzero(*names):
            return [n for n in names if not (isinstance(getattr(self, n), float) and getattr(self, n) == 0.0)]

        model = self.model if isinstance(self.model, str) else None
        bad = {"pinhole": nonzero("k1", "k2", "k3", "k4", "p1", "p2"), "opencv": nonzero("k4"),
               "fisheye": nonzero("p1", "p2")}.get(model, [])
        if bad:
            raise PydanticCustomError("lens_coeffs", "{model} lens has no coefficient {names}",
                                      {"model": model, "names": ", ".join(bad),
                                       "hint": "pinhole: none; opencv: k1 k2 p1 p2 k3; fisheye: k1 k2 k3 k4"})
        return self


class RigSpec(SpecModel):
    """This camera entry is a rig: one spec object that expands into several cameras sharing its lens.

    stereo: ``<name>_left`` and ``<name>_right``, ``baseline_m`` apart along the camera's x axis, rectified
    (identical intrinsics, parallel axes; the pair's R, T, P1, P2 and Q as ``cv2.stereoRectify`` gives are
    stored; the left camera gets a disparity label). surround: ``<name>_front``, ``_left``, ``_right``,
    ``_rear`` looking forward / left / right / back from the ego's bumpers and mirrors (``mount`` gives the
    height, pitch and roll; its x/y are the rig's centre).
    """

    kind: Cat(RigKind, "RigKindChoice") = Field("stereo", description="stereo or surround.")
    baseline_m: Num(gt=0, le=10) = Field(0.3, description="Stereo baseline (m).")
    length_m: Num(ge=0, le=30) = Field(3.8, description="Surround: front-to-rear camera distance (m).")
    width_m: Num(ge=0, le=10) = Field(2.0, description="Surround: left-to-right camera distance (m).")


class CameraSpec(SpecModel):
    """A camera on the ego vehicle (or a rig of them). Give hfov_deg, or focal_mm (+ sensor_width_mm);
    default hfov 90. ``lens`` sets the model (pinhole, opencv, fisheye), intrinsics and resolution; ``rig``
    turns the entry into a stereo pair or a surround rig."""

    name: str = Field("front", pattern=NAME_PATTERN, max_length=64, description="Unique camera name.")
    hfov_deg: Num(gt=0, lt=180) | None = Field(None, description="Horizontal field of view (deg, 0 < hfov < 180).")
    focal_mm: Num(gt=0, le=2000) | None = Field(None, description="Focal length (mm); instead of hfov_deg.")
    sensor_width_mm: Num(gt=0, le=200) = Field(36.0, description="Sensor width (mm), used with focal_mm.")
    mount: Mount = Field(default_factory=Mount, description="Pose on the ego vehicle.")
    clip_start_m: Num(gt=0, le=100) = Field(0.1, description="Near clip distance (m).")
    clip_end_m: Num(gt=1, le=100000) = Field(1000.0, description="Far clip distance (m).")
    sensor: SensorSpec = Field(default_factory=SensorSpec,
                               description="Sensor and image processing (exposure, noise, ISP, lens effects); see "
                                           "docs/sensor.md.")
    lens: LensSpec = Field(default_factory=LensSpec, description="Lens model, intrinsics, distortion, resolution.")
    rig: RigSpec | None = Field(None, description="Make this entry a stereo pair or a surround rig.")

    @model_validator(mode="after")
    def _intrinsics(self) -> CameraSpec:
        if self.hfov_deg is not None and self.focal_mm is not None:
            raise PydanticCustomError("fov_twice", "give hfov_deg or focal_mm, not both",
                                      {"hint": "remove one of them"})
        return self


# ---------------------------------------------------------------------------------------------------- lighting
class StreetLights(SpecModel):
    """Street lamps along the sidewalks."""

    enabled: Bool | None = Field(None, description="On/off; default: on at night.")
    spacing_m: Num(ge=5, le=500) = Field(25.0, description="Distance between lamps along the road (m).")
    height_m: Num(ge=2, le=30) = Field(6.0, description="Lamp height (m).")
    power_w: Num(ge=0, le=100000) = Field(
        100.0, description="Electrical power of each LED lamp (W; 120 lm/W: 100 W = 12,000 lm). Dimmed with the "
                           "twilight when the sun is less than 6 degrees below the horizon.")
    colour_temperature_k: Num(ge=1000, le=12000) = Field(3000.0, description="Light colour (kelvin).")
    sides: Cat(Side, "StreetLightSidesChoice") = Field("both", description="left, right or both.")


class Headlights(SpecModel):
    """Vehicle headlights (every vehicle in the scene, the ego vehicle included)."""

    enabled: Bool | None = Field(None, description="On/off; default: on at night.")
    power_w: Num(ge=0, le=10000) = Field(60.0, description="Power of each headlight (W).")
    high_beam: Bool = Field(False, description="High beams (a wider, brighter cone).")


class LightingSpec(SpecModel):
    """Sun, sky and artificial lights. Give time_of_day or the sun angles (not both); default time_of_day 13."""

    time_of_day: TimeOfDay | None = Field(
        None, description="Local solar time in hours (13.5) or 'HH:MM'; sets the sun from latitude and date.")
    sun_position: Cat(SunPosition, "SunPositionChoice") | None = Field(
        None, description="A named sun elevation: dawn, golden_hour, dusk, civil_twilight (docs/behaviours.md); "
                          "instead of time_of_day and sun_elevation_deg (sun_azimuth_deg may go with it).")
    sun_elevation_deg: Num(ge=-90, le=90) | None = Field(None, description="Sun elevation above the horizon (deg).")
    sun_azimuth_deg: Num(ge=0, le=360) | None = Field(
        None, description="Sun azimuth (deg) in the world frame: 0 = +y, 90 = +x (clockwise seen from above).")
    latitude_deg: Num(ge=-89, le=89) = Field(48.0, description="Latitude used by time_of_day.")
    day_of_year: Int(ge=1, le=366) = Field(172, description="Day of the year used by time_of_day (172 = June 21).")
    road_heading_deg: Num(ge=0, le=360) = Field(
        90.0, description="Compass direction of +x (deg from north); 90 = the road runs east.")
    sky_model: Cat(SkyModel, "SkyModelChoice") = Field("multiple_scattering", description="Sky model.")
    sky_strength: Num(ge=0, le=100) = Field(1.0, description="Sky brightness factor.")
    sun_strength: Num(ge=0, le=1000) = Field(3.0, description="Sun strength (W/m^2 in renderer units).")
    cloud_cover: Num(ge=0, le=1) = Field(
        0.0, description="0 = clear, 1 = overcast: clouds in the visible sky; softens and dims the sun.")
    exposure: Num(ge=-10, le=10) = Field(0.0, description="Scene exposure (EV), added to the render config's.")
    environment_map: Cat(EnvironmentMap, "EnvironmentMapChoice") = Field(
        "none", description="Image-based lighting from one of Blender's bundled CC0 maps (light only: the camera "
                            "still sees the procedural sky); none = the sky lights the scene.")
    environment_strength: Num(ge=0, le=100) = Field(1.0, description="Strength of the environment map's light.")
    street_lights: StreetLights = Field(default_factory=StreetLights, description="Street lamps.")
    headlights: Headlights = Field(default_factory=Headlights, description="Vehicle headlights.")

    @model_validator(mode="after")
    def _sun(self) -> LightingSpec:
        if self.sun_position is not None:
            if self.time_of_day is not None or self.sun_elevation_deg is not None:
                raise PydanticCustomError("sun_twice", "give sun_position, time_of_day or sun_elevation_deg, "
                                                       "not two of them", {"hint": "remove one"})
            return self
        angles = [self.sun_elevation_deg is not None, self.sun_azimuth_deg is not None]
        if any(angles) and not all(angles):
            raise PydanticCustomError("sun_pair", "give both sun_elevation_deg and sun_azimuth_deg",
                                      {"hint": "or use time_of_day"})
        if all(angles) and self.time_of_day is not None:
            raise PydanticCustomError("sun_twice", "give time_of_day or the sun angles, not both",
                                      {"hint": "set time_of_day: null to use the sun angles"})
        return self


# ----------------------------------------------------------------------------------------------------- weather
class Puddles(SpecModel):
    """Water puddles on the road (reflective)."""

    @model_validator(mode="after")
    def _radii(self) -> Puddles:
        lo, hi = self.min_radius_m, self.max_radius_m
        if isinstance(lo, float | int) and isinstance(hi, float | int) and lo > hi:
            raise PydanticCustomError("low_gt_high", "min_radius_m ({low}) is greater than max_radius_m ({high})",
                                      {"low": lo, "high": hi, "hint": "swap them"})
        return self

    coverage: Num(ge=0, le=1) = Field(0.0, description="Fraction of the road surface under water.")
    count: Int(ge=0, le=500) | None = Field(None, description="Number of puddles; default from coverage.")
    min_radius_m: Num(gt=0, le=20) = Field(0.4, description="Smallest puddle radius (m).")
    max_radius_m: Num(gt=0, le=20) = Field(2.0, description="Largest puddle radius (m).")


class WeatherSpec(SpecModel):
    """Atmosphere and road condition."""

    fog_density: Num(ge=0, le=1) = Field(
        0.0, description="Fog / haze extinction (1/m); visibility is about 3 / fog_density metres.")
    fog_height_m: Num(gt=0, le=10000) | None = Field(
        None, description="Top of the fog layer above the road (m); above it the air is clear. Default: fog "
                          "fills the scene's whole height.")
    rain_intensity: Num(ge=0, le=1) = Field(0.0, description="0 = dry, 1 = downpour (falling streaks).")
    wetness: Num(ge=0, le=1) | None = Field(None, description="Road wetness 0..1; default from rain_intensity.")
    puddles: Puddles = Field(default_factory=Puddles, description="Puddles on the road.")
    snow: Num(ge=0, le=1) = Field(0.0, description="Snowfall and snow cover 0..1.")


# -------------------------------------------------------------------------------------------------- edge cases
PersonClass = Literal["pedestrian", "child"]
VehicleClass = Literal["car", "van", "truck", "bus"]


class _EdgeBase(SpecModel):
    name: str | None = Field(None, pattern=NAME_PATTERN, max_length=100,
                             description="Unique name (default: '<kind>_<index>'); names RNG streams.")
    distance_m: Num(ge=1, le=1000) = Field(
        15.0, description="Distance ahead of the ego start along the road (m).")


class ReflectionWindow(_EdgeBase):
    """A pedestrian on the sidewalk whose reflection shows in a shop window seen by the camera."""

    kind: Literal["pedestrian_reflection_window"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side of the window (left = y > 0).")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    gap_to_window_m: Num(ge=0.2, le=10) = Field(1.2, description="Distance between the person and the glass (m).")
    animation: Cat(Animation, "AnimationChoice") = Field("walking", description="The person's animation.")
    colour: Colour | None = Field(None, description="Clothing colour.")
    window_reflectivity: Num(ge=0, le=1) = Field(0.9, description="Reflectivity of that window's glass.")
    person_visible_directly: Bool = Field(
        False, description="Whether the person may also be in direct view (False: only the reflection is).")


class ReflectionPuddle(_EdgeBase):
    """A pedestrian next to a puddle on the road; the camera sees the mirror image in the water."""

    kind: Literal["pedestrian_reflection_puddle"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side of the pedestrian.")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    puddle_radius_m: Num(gt=0.2, le=10) = Field(1.5, description="Radius of the puddle (m).")
    gap_to_puddle_m: Num(ge=0, le=10) = Field(0.5, description="Distance from the puddle's edge to the person (m).")
    animation: Cat(Animation, "AnimationChoice") = Field("standing", description="The person's animation.")
    colour: Colour | None = Field(None, description="Clothing colour.")


class ReflectionCar(_EdgeBase):
    """A pedestrian reflected in the glossy body of a parked car."""

    kind: Literal["pedestrian_reflection_car"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side of the parked car.")
    car_class: Cat(VehicleClass, "VehicleClassChoice") = Field("car", description="Vehicle class.")
    car_colour: Colour = Field("black", description="Paint colour (dark paint mirrors best).")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    gap_to_car_m: Num(ge=0.2, le=10) = Field(1.0, description="Distance from the person to the car body (m).")


class Jaywalker(_EdgeBase):
    """A person stepping onto the road between two parked cars, mid-block."""

    kind: Literal["jaywalker"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Side the person steps out from.")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    speed_mps: Num(ge=0, le=8) = Field(1.4, description="Walking speed across the road (m/s).")
    start_time_s: Num(ge=-10, le=600) = Field(
        0.0, description="When the person starts walking (s after frame 0; negative: already out, walking since).")
    between_parked_cars: Bool = Field(True, description="Step out of the gap between two parked cars.")
    gap_m: Num(ge=0.5, le=10) = Field(1.5, description="Gap between the two parked cars (m).")
    crossing_angle_deg: Num(ge=20, le=160) = Field(90.0, description="Walking direction relative to +x (deg).")
    animation: Cat(Animation, "AnimationChoice") = Field("walking", description="The person's animation.")


class OccludedChild(_EdgeBase):
    """A child partly hidden behind a parked vehicle, running (or walking) out towards the road."""

    kind: Literal["occluded_child"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side.")
    occluder_class: Cat(VehicleClass, "VehicleClassChoice") = Field("car", description="The hiding vehicle.")
    visible_fraction: Num(ge=0, le=1) = Field(0.3, description="Target share of the child visible from the camera.")
    speed_mps: Num(ge=0, le=6) = Field(0.0, description="The child's speed towards the road (m/s).")
    animation: Cat(Animation, "AnimationChoice") = Field(
        "running", description="The child's animation (a child that does not move keeps its shape).")


class HeadlightGlare(_EdgeBase):
    """An oncoming vehicle with bright headlights shining into the camera."""

    kind: Literal["headlight_glare"]
    vehicle_class: Cat(VehicleClass, "VehicleClassChoice") = Field("car", description="Oncoming vehicle class.")
    high_beam: Bool = Field(True, description="High beams.")
    power_w: Num(ge=0, le=100000) = Field(200.0, description="Power of each headlight (W).")
    speed_mps: Num(ge=0, le=60) = Field(10.0, description="Speed of the oncoming vehicle (m/s).")


class ReflectionWetRoad(_EdgeBase):
    """A person at the edge of a wet road whose mirror image shows in the asphalt between them and the camera
    (needs ``weather.wetness`` above 0.5, where wet asphalt counts as a mirror)."""

    kind: Literal["pedestrian_reflection_wet_road"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side of the person.")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    kerb_offset_m: Num(ge=0.2, le=3) = Field(
        0.5, description="Distance from the road's edge (kerb) to the person, on the road (m).")
    animation: Cat(Animation, "AnimationChoice") = Field("standing", description="The person's animation.")
    colour: Colour | None = Field(None, description="Clothing colour.")


class BehindGlassShelter(_EdgeBase):
    """A person standing inside a glass bus shelter on the sidewalk, seen through its near side pane (a real
    person behind glass: labelled as seen through glass, not as a reflection)."""

    kind: Literal["pedestrian_behind_glass_shelter"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side of the shelter.")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    shelter_length_m: Num(ge=1.5, le=8) = Field(3.0, description="Length of the shelter along the road (m).")
    shelter_depth_m: Num(ge=0.8, le=3) = Field(1.4, description="Depth of the shelter across the sidewalk (m).")
    animation: Cat(Animation, "AnimationChoice") = Field("waiting", description="The person's animation.")
    colour: Colour | None = Field(None, description="Clothing colour.")


class DistantPedestrian(_EdgeBase):
    """A person far ahead at the edge of the road, facing the camera (e.g. in fog: give ``weather.fog_density``)."""

    kind: Literal["distant_pedestrian"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side of the person.")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    kerb_offset_m: Num(ge=0.2, le=3) = Field(
        0.6, description="Distance from the road's edge (kerb) to the person, on the road (m).")
    animation: Cat(Animation, "AnimationChoice") = Field("standing", description="The person's animation.")
    colour: Colour | None = Field(None, description="Clothing colour.")


class Cyclist(_EdgeBase):
    """A cyclist riding ahead in the ego's direction near the kerb (e.g. at dusk: give ``lighting``)."""

    kind: Literal["cyclist"]
    side: Cat(SideOne, "EdgeSideChoice") = Field(
        "right", description="Road side; the cyclist rides with that side's traffic.")
    kerb_offset_m: Num(ge=0.3, le=3) = Field(0.8, description="Distance from the road's edge to the cyclist (m).")
    speed_mps: Num(ge=0, le=15) = Field(4.5, description="Riding speed (m/s).")
    colour: Colour | None = Field(None, description="Clothing colour.")


OccluderClass = Literal["pole", "sign"]


class PartlyHiddenPerson(_EdgeBase):
    """A person on the sidewalk partly hidden by a pole or a sign post standing between them and the camera."""

    kind: Literal["partly_hidden_person"]
    side: Cat(SideOne, "EdgeSideChoice") = Field("right", description="Road side.")
    person_class: Cat(PersonClass, "PersonClassChoice") = Field("pedestrian", description="pedestrian or child.")
    occluder_class: Cat(OccluderClass, "StreetOccluderChoice") = Field("sign", description="pole or sign.")
    occluder_gap_m: Num(ge=0.3, le=10) = Field(
        1.0, description="Distance from the occluder to the person, along the line of sight (m).")
    animation: Cat(Animation, "AnimationChoice") = Field("standing", description="The person's animation.")
    colour: Colour | None = Field(None, description="Clothing colour.")


EdgeCase = (ReflectionWindow | ReflectionPuddle | ReflectionCar | Jaywalker | OccludedChild | HeadlightGlare
            | ReflectionWetRoad | BehindGlassShelter | DistantPedestrian | Cyclist | PartlyHiddenPerson)
#: every edge-case kind (the ``kind`` of each model of :data:`EdgeCase`)
EDGE_KINDS = tuple(m.model_fields["kind"].annotation.__args__[0] for m in EdgeCase.__args__)
EdgeKindName = Literal[EDGE_KINDS]  # type: ignore[valid-type]


# ------------------------------------------------------------------------------------------------------ sweeps
AnyChoice = named_choice("AnyChoice", Any)
SweepDist = Annotated[Union[Uniform, Normal, LogUniform, IntRange, AnyChoice], Field(discriminator="dist")]


class SweepParameter(SpecModel):
    """One swept field: a list of values (grid), or a distribution (random sweeps)."""

    path: str = Field(min_length=1, max_length=300,
                      description="Dotted field path, e.g. weather.fog_density, objects.cars.count, cameras.0.hfov_deg "
                                  "(list items by index or by name).")
    values: list[Any] | dict[str, Any] | None = Field(
        None, description="Values to sweep; a mapping gives each value a label (label: value).")
    dist: SweepDist | None = Field(None, description="Random sweeps: a distribution to draw each value from.")

    @model_validator(mode="after")
    def _one(self) -> SweepParameter:
        if (self.values is None) == (self.dist is None):
            raise PydanticCustomError("sweep_param", "give exactly one of values or dist",
                                      {"hint": "values: [0, 0.05, 0.2]"})
        if self.values is not None and len(self.values) == 0:
            raise PydanticCustomError("sweep_empty", "values is empty", {"hint": "give at least one value"})
        return self


class SweepSpec(SpecModel):
    """Grid or random sweep over scene fields; each combination (x seeds x replicas) is one variant."""

    mode: Literal["grid", "random"] = Field("grid", description="grid: every combination; random: 'samples' draws.")
    parameters: list[SweepParameter] = Field(default_factory=list, max_length=32, description="Swept fields.")
    samples: int = Field(1, ge=1, le=100000, description="Random sweeps: number of draws.")
    seed: int = Field(0, ge=0, description="Random sweeps: seed of the draws (0 is a seed).")
    seeds: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, description="Base seeds to cross with every combination (a variant then carries its seed).")
    replicas: int = Field(1, ge=1, le=100000, description="Repeat each combination this many times.")
    edge_case_share: dict[EdgeKindName, Annotated[float, Field(ge=0, le=1)]] | None = Field(
        None, description="Balance: edge-case kind -> share (0..1) of the sweep's frames whose scene has that "
                          "case; the other variants leave it out (picked with the sweep's seed). A frame is tagged "
                          "with the kind only where the case is visible.")


class SweepFile(SpecModel):
    """A separate sweep file: the scene to sweep plus the sweep."""

    scene: str = Field(min_length=1, description="Scene file to sweep, relative to this file.")
    sweep: SweepSpec = Field(description="The sweep.")


# ------------------------------------------------------------------------------------------------------- scene
class SceneSpec(SpecModel):
    """A scene file."""

    extends: str | None = Field(None, description="A base scene file (relative path) whose values this file "
                                                  "overrides; mappings merge, lists are replaced.")
    scene: SceneInfo = Field(description="Name, description, tags.")
    road: Road = Field(default_factory=Road, description="Road layout, markings, sidewalks, buildings.")
    objects: list[ObjectGroup] = Field(default_factory=list, max_length=200, description="Object groups.")
    ego: Ego = Field(default_factory=Ego, description="The ego vehicle carrying the cameras.")
    cameras: list[CameraSpec] = Field(default_factory=lambda: [CameraSpec()], min_length=1, max_length=MAX_CAMERAS,
                                      description="Cameras on the ego vehicle (two for stereo).")
    frames: int = Field(4, ge=1, le=MAX_FRAMES, description="Frames in the sequence.")
    fps: float = Field(10.0, gt=0, le=1000, description="Frames per second.")
    lighting: LightingSpec = Field(default_factory=LightingSpec, description="Sun, sky, street lights, headlights.")
    weather: WeatherSpec = Field(default_factory=WeatherSpec, description="Fog, rain, wetness, puddles, snow.")
    edge_cases: list[Annotated[EdgeCase, Field(discriminator="kind")]] = Field(
        default_factory=list, max_length=50, description="Edge cases built by the world stage.")
    sweep: SweepSpec | None = Field(None, description="Optional sweep for batch runs.")
    # -- assets (see assets/catalog.yaml and docs/assets.md)
    asset_catalogs: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=20,
        description="Extra asset catalog files (relative to this scene file) adding the user's own meshes.")
    street_furniture: StreetFurniture = Field(default_factory=StreetFurniture,
                                              description="Clutter and vegetation along the sidewalks.")

    #: the file this spec was loaded from (set by load_scene; not part of the data)
    _source: str | None = PrivateAttr(None)
