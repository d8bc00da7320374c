"""The world: plain data that a renderer turns into pictures and labels.

Frames are indexed 0..frame_count-1. Every pose is a (4, 4) float64 matrix in the world frame (right-handed,
z up, metres). Camera poses are ``world_from_camera`` in the OpenCV camera convention (x right, y down,
z forward); see :mod:`simgen.world.conventions`.

Each :class:`Entity` becomes exactly one renderer object. ``label_key`` (1-based position in ``World.entities``)
is what the renderer writes into its object-index pass; :meth:`World.label_table` maps it back to the
instance id and semantic class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from simgen.classes import class_table
from simgen.sensor.params import SensorParams
from simgen.world.conventions import intrinsics_from_hfov
from simgen.world.lens import Lens


@dataclass
class Material:
    """A principled surface. Colours are linear RGB in [0, 1]."""

    name: str
    base_color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    roughness: float = 0.5
    metallic: float = 0.0
    #: 1.0 = clear glass (shop windows, car windows)
    transmission: float = 0.0
    ior: float = 1.45
    emission_color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    emission_strength: float = 0.0
    #: per-frame emission strength (one per frame, replacing ``emission_strength`` frame by frame; lamps that
    #: switch: brake lamps, indicators, traffic lights), or None
    emission_frames: tuple[float, ...] | None = None
    #: procedural texture that modulates base_color, so surfaces carry trackable detail (optical flow checks)
    #: ("fabric", "denim", "skin", "knit", "hair": laid out in the mesh's UVs, so they follow a deforming surface,
    #: and they also bump the surface: weave, folds, strands)
    texture: Literal["none", "checker", "noise", "asphalt", "brick", "plaster", "concrete", "curtain_wall",
                     "paving", "flagstones", "grass", "kerb", "paint", "sign", "fabric", "denim", "skin", "knit", "hair"] = "none"
    texture_scale: float = 1.0
    #: where the texture is sampled: "object" = object coordinates (metres); "uv" = the mesh's ``uv`` (buildings:
    #: metres along the wall and up)
    texture_coords: Literal["object", "uv"] = "object"
    #: offset of the texture pattern (varies one building's bricks / stains from the next)
    texture_seed: float = 0.0
    #: wear 0..1 of road textures: asphalt patches, cracks, tyre tracks; paint: patchy and faded
    wear: float = 0.0
    #: this surface is always a mirror for the reflection labels (windows, puddles, car paint); any other surface
    #: is one where its roughness under the weather is at most 0.3 (:mod:`simgen.world.surfaces`: wet asphalt)
    reflective: bool = False
    #: weight of a smooth clear coat over the base layer (car paint: sharp reflections over a rougher base)
    coat: float = 0.0
    coat_roughness: float = 0.03
    #: weight of subsurface scattering (skin: light bleeds a few millimetres under the surface, reddish)
    subsurface: float = 0.0
    #: weight of a soft sheen at grazing angles (cloth)
    sheen: float = 0.0
    #: image texture (path) sampled with the mesh's ``uv``; its colour multiplies ``base_color`` (linear RGB)
    image: str | None = None
    #: the image's alpha is a cut-out mask (leaves, fences): texels with alpha < 0.5 are not there, in the beauty
    #: render and in every label pass (Cycles' pass alpha threshold is 0.5)
    alpha_cutout: bool = False


@dataclass
class Mesh:
    """Triangle (or quad) mesh in the object's own frame.

    vertices: (V, 3) float64 metres; faces: (F, 3) or (F, 4) int64 vertex indices, counter-clockwise seen from
    outside; face_material: (F,) int64 index into the entity's ``materials``.
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_material: np.ndarray | None = None
    #: optional (V,) int64 rig part of each vertex (people: see :data:`simgen.world.assets.PERSON_BONES`)
    vertex_group: np.ndarray | None = None
    #: optional (F, k, 2) float32 texture coordinates per face corner (k = faces.shape[1]; u right, v up, [0, 1])
    uv: np.ndarray | None = None
    #: smooth shading (normals interpolated across faces: organic and curved meshes); the normal label is then
    #: the interpolated shading normal. False = flat: the shading normal is the face normal.
    smooth: bool = False
    #: optional skinning rig the world stage poses per frame (people from the body bank:
    #: :class:`simgen.world.people.Person`); renderers ignore it
    rig: object | None = None
    #: optional identity of the content (catalog meshes: the file's cache key and the scale): meshes with equal
    #: keys and read-only arrays are equal, so a renderer may reuse its build of one across worlds in a process
    share_key: str | None = None

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, np.float64).reshape(-1, 3)
        self.faces = np.asarray(self.faces, np.int64)
        if self.face_material is None:
            self.face_material = np.zeros(len(self.faces), np.int64)
        self.face_material = np.asarray(self.face_material, np.int64)
        if self.faces.ndim != 2 or self.faces.shape[1] not in (3, 4):
            raise ValueError(f"faces must be (F, 3) or (F, 4), got {self.faces.shape}")
        if len(self.face_material) != len(self.faces):
            raise ValueError("face_material must have one entry per face")
        if self.vertex_group is not None:
            self.vertex_group = np.asarray(self.vertex_group, np.int64)
            if self.vertex_group.shape != (len(self.vertices),):
                raise ValueError("vertex_group must have one entry per vertex")
        if self.uv is not None:
            self.uv = np.asarray(self.uv, np.float32)
            if self.uv.shape != (*self.faces.shape, 2):
                raise ValueError(f"uv must be (F, k, 2) = {(*self.faces.shape, 2)}, got {self.uv.shape}")

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned (min, max) corners in the object frame, each (3,) float64 (remembered for read-only
        vertices, e.g. shared catalog meshes)."""
        v = self.vertices
        cached = self.__dict__.get("_bounds")
        if cached is not None and cached[0] is v:
            return cached[1].copy(), cached[2].copy()
        lo, hi = v.min(0), v.max(0)
        if not v.flags.writeable:
            self.__dict__["_bounds"] = (v, lo, hi)
            return lo.copy(), hi.copy()
        return lo, hi


@dataclass
class Entity:
    """One object in the scene.

    poses: (T, 4, 4) float64 world_from_object for each frame (T = World.frame_count). Motion must be given
    for every frame; the renderer keyframes each one.
    instance_id: stable over the sequence; 0 for stuff (road, sidewalk, building walls).
    deforming: the mesh changes shape over time (walking people) — rigid reprojection does not hold.
    label_visible: False for weather geometry (rain streaks, snow flakes): hidden in every label pass.
    vertex_frames: for a deforming entity, (T, V, 3) float64 vertices in the object frame at every frame
    (``mesh.vertices`` is the rest shape; faces and materials stay the same).
    """

    name: str
    class_name: str
    mesh: Mesh
    materials: list[Material]
    poses: np.ndarray
    instance_id: int = 0
    deforming: bool = False
    label_visible: bool = True
    #: free-form facts for labels and audits (colour name, scale, edge-case role such as "reflected_pedestrian")
    attributes: dict = field(default_factory=dict)
    vertex_frames: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, np.float64)
        if self.poses.ndim != 3 or self.poses.shape[1:] != (4, 4):
            raise ValueError(f"{self.name}: poses must be (T, 4, 4), got {self.poses.shape}")
        class_table().by_name(self.class_name)  # raises KeyError on an unknown class
        if self.vertex_frames is not None:
            self.vertex_frames = np.asarray(self.vertex_frames, np.float64)
            want = (len(self.poses), len(self.mesh.vertices), 3)
            if self.vertex_frames.shape != want:
                raise ValueError(f"{self.name}: vertex_frames must be {want}, got {self.vertex_frames.shape}")
            self.deforming = True

    def vertices_at(self, frame: int) -> np.ndarray:
        """(V, 3) object-frame vertices at ``frame`` (the rest shape unless the entity deforms)."""
        return self.mesh.vertices if self.vertex_frames is None else self.vertex_frames[frame]


@dataclass
class Camera:
    """A camera. hfov_rad: horizontal field of view (of the default pinhole). poses: (T, 4, 4) OpenCV
    world_from_camera. lens: its own :class:`~simgen.world.lens.Lens` (model, size, K, D), computed once by
    the world builder; None (cameras made by hand) = a pinhole from hfov_rad at the render size. rig: for a camera of a rig, {"name", "kind", "role", "baseline_m"}."""

    name: str
    hfov_rad: float
    poses: np.ndarray
    clip_start: float = 0.1
    clip_end: float = 1000.0
    lens: Lens | None = None
    rig: dict | None = None
    #: sensor model (:class:`simgen.sensor.params.SensorParams`) or None: the renderer's view transform
    sensor: SensorParams | None = None
    #: seed of the sensor's random streams (noise, fixed pattern, lens dirt), drawn from the scene seed
    sensor_seed: int = 0

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, np.float64)

    def lens_at(self, width: int, height: int) -> Lens:
        """This camera's lens; the default pinhole from hfov_rad at ``width`` x ``height`` when it has none."""
        if self.lens is not None:
            return self.lens
        return Lens("pinhole", width, height, intrinsics_from_hfov(self.hfov_rad, width, height))


@dataclass
class Light:
    """A local light (street light, headlight). poses: (T, 4, 4); spot lights shine along the local −z axis."""

    name: str
    kind: Literal["point", "spot", "area"]
    poses: np.ndarray
    color: tuple[float, float, float] = (1.0, 0.85, 0.6)
    power_w: float = 500.0
    spot_angle_rad: float = 1.2
    radius: float = 0.1

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, np.float64)


@dataclass
class Lighting:
    """Global light: sun and sky. Angles in radians; azimuth measured from +y (north) towards +x (east)."""

    sun_elevation_rad: float = 0.9
    sun_azimuth_rad: float = 2.5
    sun_strength: float = 3.0
    sky_model: Literal["multiple_scattering", "single_scattering", "preetham", "hosek_wilkie", "uniform"] = (
        "multiple_scattering"
    )
    sky_strength: float = 1.0
    cloud_cover: float = 0.0
    exposure: float = 0.0
    #: a night scene: the sun is off, the sky is dark, local lights carry the scene
    night: bool = False
    #: image-based lighting: a map bundled with Blender (studiolights/world/<name>.exr) lights the scene while the
    #: camera still sees the procedural sky; "none" = the sky lights the scene
    environment_map: str = "none"
    environment_strength: float = 1.0


@dataclass
class Weather:
    """Weather parameters; the renderer implements them (fog volume, rain streak entities, wet materials)."""

    fog_density: float = 0.0
    rain_intensity: float = 0.0
    wetness: float = 0.0
    puddle_coverage: float = 0.0
    snow: float = 0.0
    #: height of the fog layer above the ground (metres); None = fog everywhere
    fog_height_m: float | None = None
    #: True: puddles are explicit "puddle" entities in the world (labelled); the renderer should not add
    #: procedural puddles of its own on top (``puddle_coverage`` is then informative only)
    puddle_entities: bool = False


@dataclass
class World:
    """Everything a renderer needs for one sequence."""

    name: str
    frame_count: int
    fps: float
    entities: list[Entity]
    cameras: list[Camera]
    lights: list[Light] = field(default_factory=list)
    lighting: Lighting = field(default_factory=Lighting)
    weather: Weather = field(default_factory=Weather)
    #: seed for the renderer's own sampling (Cycles seed)
    render_seed: int = 0
    #: attribution records of the third-party assets in this world (id, class, title, author, license, url, pack;
    #: see :meth:`simgen.world.catalog.AssetEntry.credit`), sorted by id
    credits: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        for e in self.entities:
            if len(e.poses) != self.frame_count:
                raise ValueError(f"entity {e.name}: {len(e.poses)} poses for {self.frame_count} frames")
        for c in self.cameras:
            if len(c.poses) != self.frame_count:
                raise ValueError(f"camera {c.name}: {len(c.poses)} poses for {self.frame_count} frames")
        ids = [e.instance_id for e in self.entities if e.instance_id]
        if len(ids) != len(set(ids)):
            raise ValueError("instance ids must be unique")

    def label_table(self) -> dict[int, tuple[int, int]]:
        """label_key (1-based entity position, as written to the object-index pass) -> (instance_id, semantic id)."""
        table = class_table()
        return {
            i + 1: (e.instance_id, table.by_name(e.class_name).id) for i, e in enumerate(self.entities)
        }
