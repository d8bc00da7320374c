"""build_world(resolved, width, height) -> World: a resolved scene becomes renderer-agnostic world data.

Order of work (each step sees the objects of the steps before as obstacles):
1. road layout (stuff entities, regions); the ego vehicle and its cameras;
2. object groups with explicit poses (not checked: the author put them there);
3. edge cases (:mod:`simgen.world.edge_cases`: one module per kind, each with its own geometry);
4. street lights along the sidewalks (positions that collide are skipped);
5. street furniture (clutter, vegetation) on the sidewalks (items without room are skipped);
6. object groups placed in regions under their constraints (spec order);
7. weather geometry (puddles, rain streaks).
Entities are listed as: stuff, object groups (spec order), edge-case objects, street lights, weather; instance
ids 1..N are given to the thing entities in that order.

Frame times are t = frame / fps. The ego vehicle itself is not an entity (it is not rendered).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simgen.classes import class_table
from simgen.errors import SimgenError
from simgen.rng import stream
from simgen.world import behaviour
from simgen.world import weather as wx
from simgen.world import people
from simgen.world.assets import GAITS, VEHICLES, LightMount, gait_phases, light_mounts, make_asset, \
    person_pose_frames
from simgen.world.catalog import catalog_for
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.layout import Facade, Layout, RoadParams, build_layout
from simgen.world.lens import Lens
from simgen.world.model import Camera, Entity, Light, Lighting, Material, Mesh, Weather, World
from simgen.world.objects import AssetPicker, Made
from simgen.world.photometry import artificial_light_scale, street_light_w
from simgen.world.placement import (
    CameraView,
    GroupRule,
    InstanceRequest,
    Placed,
    Placer,
    PlacementError,
    footprints,
    local_footprint,
    motion_poses,
    polyline_poses,
)

#: objects' collision footprints use the geometry below this height (overhanging arms and crowns excluded)
FOOTPRINT_HEIGHT = 2.0
#: the body frame of a camera mount (x forward, y left, z up) from the OpenCV camera frame (x right, y down,
#: z forward): columns are the OpenCV axes in body coordinates
BODY_FROM_CV = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


class EdgeCaseError(SimgenError):
    """An edge case cannot be arranged in this scene."""


# ---- small helpers ------------------------------------------------------------------------------------------

def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def mount_matrix(x: float, y: float, z: float, yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """(4, 4) ego_from_camera in the OpenCV camera convention.

    Ego frame: x forward, y left, z up. yaw turns the camera left (about +z), pitch tilts it up, roll turns it
    counter-clockwise about the viewing direction as seen from behind the camera.
    """
    R = _rz(math.radians(yaw_deg)) @ _ry(-math.radians(pitch_deg)) @ _rx(-math.radians(roll_deg))
    m = np.eye(4)
    m[:3, :3] = R @ BODY_FROM_CV
    m[:3, 3] = (x, y, z)
    return m


def kelvin_to_rgb(k: float) -> tuple[float, float, float]:
    """Approximate linear RGB (max channel 1) of a black body at ``k`` kelvin (1000..12000)."""
    t = float(np.clip(k, 1000.0, 12000.0)) / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
    rgb = np.clip(np.array([r, g, b]) / 255.0, 0.0, 1.0) ** 2.2  # display -> linear
    return tuple(float(c) for c in rgb / rgb.max())  # type: ignore[return-value]


@dataclass
class _Obj:
    """A thing object being assembled: its entity parts and the lights it carries."""

    name: str
    class_name: str
    mesh: Mesh
    materials: list[Material]
    poses: np.ndarray
    attributes: dict
    deforming: bool = False
    mounts: tuple[LightMount, ...] = ()


_BASE_BOUNDS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _bounds(mesh: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi) of the whole mesh and (base_lo, base_hi) of the part below FOOTPRINT_HEIGHT (object frame).
    Remembered for read-only (shared catalog) meshes."""
    v = mesh.vertices
    if not v.flags.writeable:
        hit = _BASE_BOUNDS.get(id(v))
        if hit is not None and hit[0] is v:
            lo, hi = mesh.bounds()
            return lo, hi, hit[1].copy(), hit[2].copy()
        out = _bounds_uncached(mesh)
        if len(_BASE_BOUNDS) > 4096:
            _BASE_BOUNDS.clear()
        _BASE_BOUNDS[id(v)] = (v, out[2], out[3])
        return out
    return _bounds_uncached(mesh)


def _bounds_uncached(mesh: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = mesh.bounds()
    v = mesh.vertices
    low = v[v[:, 2] <= FOOTPRINT_HEIGHT]
    if len(low) < 3:
        low = v
    return lo, hi, low.min(0), low.max(0)


_PRIMARY = {"pedestrian": 1, "child": 1, "cyclist": 1}


def _textured(made: Made, class_name: str, texture: str) -> Made:
    """Apply a group's procedural ``texture`` to the object's primary material (paint of a catalog asset)."""
    if not texture or texture == "none":
        return made
    mats = list(made.materials)
    if made.credit is not None:
        ks = [i for i, m in enumerate(mats) if m.name.startswith("paint:")]
        if not ks:
            return made
        k = ks[0]
    else:
        k = _PRIMARY.get(class_name, 0)
    m = mats[k]
    mats[k] = Material(**{**m.__dict__, "texture": texture, "texture_scale": 4.0})
    made.materials = mats
    return made


# ---- road ---------------------------------------------------------------------------------------------------

#: below this sun elevation (deg) lit rooms, shops and signs glow as at night (dusk and night)
DUSK_BELOW_DEG = 4.0
#: facade materials a "mixed" street picks from, with their weights, and each material's procedural texture
FACADE_MIX = ("brick", "plaster", "concrete", "glass")
FACADE_MIX_WEIGHTS = (0.35, 0.35, 0.2, 0.1)
FACADE_TEXTURE = {"brick": "brick", "plaster": "plaster", "concrete": "concrete", "glass": "curtain_wall"}


def _facade(f, shop_windows: bool, rng: np.random.Generator) -> Facade:
    """A layout Facade from a resolved one; ``rng`` (the building's own stream) draws a "mixed" material, whether
    it has balconies, and the seed of its detail."""
    material = f.material
    pick, balc, seed = rng.random(), rng.random(), int(rng.integers(0, 2**31 - 1))
    if material == "mixed":
        material = FACADE_MIX[int(np.searchsorted(np.cumsum(FACADE_MIX_WEIGHTS), pick * sum(FACADE_MIX_WEIGHTS)))]
    return Facade(f.side, f.x_start_m, f.x_end_m, f.y_m, f.height_m, tuple(f.colour_rgb),
                  f.texture or FACADE_TEXTURE[material], tuple(f.window_centres_x_m) if shop_windows else (),
                  material, f.detailed, f.storey_height_m, bool(balc < f.balconies), f.lit_windows, seed)


def road_params(road, night: bool = False, rng=None, light_scale: float = 1.0) -> RoadParams:
    """RoadParams from a resolved ``road`` (simgen.spec.resolved.RRoad); ``night``: lit rooms glow brighter (at
    ``light_scale`` times their night level: simgen.world.photometry.artificial_light_scale);
    ``rng(name) -> np.random.Generator``: the world stage's named streams (default: seed 0's)."""
    b = road.buildings
    w = b.shop_windows
    mk = road.markings
    rng = rng or (lambda name: stream(0, "road", 0, name))
    facades = [_facade(f, w.enabled, rng(f"buildings/{f.side}/{f.index}")) for f in b.facades]
    return RoadParams(
        layout=road.layout, length=road.length_m, lanes_per_direction=road.lanes_per_direction,
        lane_width=road.lane_width_m, parking_lane=road.parking_lane, sidewalk_width=road.sidewalk_width_m,
        curb_height=road.curb_height_m, marking_style=mk.style, edge_lines=mk.edge_lines, marking_width=mk.width_m,
        dash_length=mk.dash_length_m, gap_length=mk.gap_length_m,
        crosswalks=tuple((c.position_x_m, c.width_m, c.stripe_width_m) for c in road.crosswalks),
        junction_x=road.junction_x_m, facades=facades, setback=b.setback_m, window_width=w.width_m,
        window_height=w.height_m, window_sill=w.sill_m, window_reflectivity=w.reflectivity,
        window_interior_light=w.interior_light, ground=road.ground, sidewalk_surface=road.sidewalk_surface,
        surface_texture=road.surface_texture,
        wetness=0.0,  # the renderer applies weather wetness to wet surfaces
        surface_wear=road.surface_wear, marking_wear=mk.wear, night=bool(night), light_scale=float(light_scale),
    )


# ---- ego and cameras ----------------------------------------------------------------------------------------

def ego_poses(ego, times: np.ndarray) -> np.ndarray:
    """(T, 4, 4) world_from_ego (x forward, y left, z up; origin on the ground)."""
    st = ego.start
    start = pose_from_xyz_yaw(st.x, st.y, st.z, math.radians(st.yaw_deg))
    if ego.path == "waypoints":
        pts = np.array([[p.x, p.y, p.z] for p in ego.waypoints])
        return polyline_poses(pts, times * ego.speed_mps)
    return motion_poses(start, "constant_velocity", ego.speed_mps, times)


#: classes that stand wholly on a "roadside" verge, never on the sidewalk's furniture strip (four-wheelers;
#: bicycles and motorcycles may park on a sidewalk)
ROADSIDE_WHOLE = frozenset(class_table().with_fact("vehicle") - {"bicycle", "motorcycle"})

#: the image size (pixels) the placement constraints (``visible``, edge cases) see through a camera that has no
#: size of its own (``lens.width`` / ``lens.height``): 4:3, the hfov across its width. Placement never uses the
#: render config's size, so a scene's world is the same at every output resolution.
PLACEMENT_SIZE = (640, 480)


def camera_lens(c, width: int, height: int) -> Lens:
    """The :class:`Lens` (model, size, K, D) of a resolved camera: its own size, else ``width`` x ``height``
    (pixels); the default lens is the pinhole of the camera's hfov across the width."""
    ln = c.lens
    w, h = int(ln.width or width), int(ln.height or height)
    if ln.model == "fisheye":
        th = math.radians(ln.fov_deg / 2)
        td = th * (1 + ln.k1 * th**2 + ln.k2 * th**4 + ln.k3 * th**6 + ln.k4 * th**8)
        f = (w / 2.0) / td
        D = (ln.k1, ln.k2, ln.k3, ln.k4)
    else:
        f = (w / 2.0) / math.tan(math.radians(c.hfov_deg) / 2.0)
        D = (ln.k1, ln.k2, ln.p1, ln.p2, ln.k3) if ln.model == "opencv" else ()
    fx = float(ln.fx_px or f)
    fy = float(ln.fy_px or fx)
    K = np.array([[fx, 0.0, w / 2.0 - 0.5 + ln.cx_offset_px], [0.0, fy, h / 2.0 - 0.5 + ln.cy_offset_px],
                  [0.0, 0.0, 1.0]])
    try:
        return Lens(ln.model, w, h, K, D, ln.fov_deg if ln.model == "fisheye" else None)
    except ValueError as e:
        raise SimgenError(f"camera '{c.name}' (cameras[].lens): {e}") from None


def build_cameras(resolved, ego: np.ndarray, width: int = 640, height: int = 480) -> list[Camera]:
    """The world's cameras: poses from the ego poses (T, 4, 4) and mounts; each with its own lens (K computed
    here, once) at its own size or ``width`` x ``height``."""
    out = []
    for c in resolved.cameras:
        m = c.mount
        mount = mount_matrix(m.x, m.y, m.z, m.yaw_deg, m.pitch_deg, m.roll_deg)
        rig = None if c.rig is None else c.rig.model_dump()
        out.append(Camera(c.name, math.radians(c.hfov_deg), ego @ mount, c.clip_start_m, c.clip_end_m,
                          lens=camera_lens(c, width, height), rig=rig, sensor=c.sensor))
    return out


def lighting_from(lt) -> Lighting:
    """World lighting from a resolved ``lighting`` (angles deg -> rad; azimuth 0 = +y, 90 = +x)."""
    return Lighting(
        sun_elevation_rad=math.radians(lt.sun_elevation_deg), sun_azimuth_rad=math.radians(lt.sun_azimuth_deg),
        sun_strength=0.0 if lt.night else lt.sun_strength, sky_model=lt.sky_model, sky_strength=lt.sky_strength,
        cloud_cover=lt.cloud_cover, exposure=lt.exposure, night=bool(lt.night),
        environment_map=lt.environment_map, environment_strength=lt.environment_strength,
    )


# ---- the builder --------------------------------------------------------------------------------------------

class _Build:
    def __init__(self, resolved, width: int, height: int):
        if width < 1 or height < 1:
            raise ValueError(f"render resolution must be positive, got {width}x{height}")
        self.r = resolved
        self.width, self.height = int(width), int(height)
        self.seed, self.scene, self.variant = int(resolved.seed), resolved.scene.name, int(resolved.variant)
        self.T = int(resolved.frames)
        self.times = np.arange(self.T) / float(resolved.fps)
        self.layout: Layout = build_layout(road_params(resolved.road, resolved.lighting.night
                                                               or resolved.lighting.sun_elevation_deg < DUSK_BELOW_DEG,
                                                               self.rng,
                                                               artificial_light_scale(
                                                                   resolved.lighting.sun_elevation_deg)),
                                                   self.rng("layout/buildings"))
        self.ego = ego_poses(resolved.ego, self.times)
        self.cameras = build_cameras(resolved, self.ego, self.width, self.height)
        for cam in self.cameras:
            cam.sensor_seed = int(self.rng(f"sensor/{cam.name}/seed").integers(0, 2**31 - 1))
        # placement sees through each camera's lens at PLACEMENT_SIZE, never the render size, unless the lens gives
        # a size or pixel values of its own (then that lens: focal lengths in pixels depend on the size)
        views = {}
        for c, rc in zip(self.cameras, resolved.cameras, strict=True):
            lz = rc.lens
            own = (lz.width, lz.height, lz.fx_px, lz.fy_px) != (None,) * 4 or lz.cx_offset_px or lz.cy_offset_px
            ln = c.lens if own else camera_lens(rc, *PLACEMENT_SIZE)
            views[c.name] = CameraView(ln.K, c.poses[0], ln.width, ln.height, c.clip_start,
                                       None if ln.model == "pinhole" else ln)
        self.view = views[self.cameras[0].name]
        self.K = self.view.K
        self.placer = Placer(self.layout, self.view, self.times, self.seed, self.scene, self.variant)
        self.placer.views.update(views)
        self.picker = AssetPicker(catalog_for(tuple(getattr(resolved, "asset_catalogs", ()) or ())))
        ego_mesh, _ = make_asset(resolved.ego.class_name, "grey", 1.0, self.rng("ego/asset"))
        self.ego_mesh = ego_mesh
        lo, hi, blo, bhi = _bounds(ego_mesh)
        self.placer.add(Placed("ego", "ego", self.ego, footprints(local_footprint(blo, bhi), self.ego)))
        self.groups: list[_Obj] = []
        self.edge: list[_Obj] = []
        self.lamps: list[_Obj] = []
        self.extra_stuff: list[Entity] = []
        self.lights: list[Light] = []
        self.window_overrides: dict[str, dict] = {}

    def rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, self.scene, self.variant, name)

    # objects ----------------------------------------------------------------------------------------------
    def make(self, class_name: str, colour, scale, rng_name: str, *, asset: str | None = None,
             tag: str | None = None, texture: str = "none", where: str = "", max_across: float | None = None,
             animation: str | None = None) -> Made:
        """One object's mesh and materials (a catalog asset or the procedural stand-in; people from the body
        bank, shaped for their ``animation``)."""
        made = self.picker.make(class_name, None if colour is None else (colour if isinstance(colour, str)
                                                                         else tuple(colour)),
                                scale, self.rng(rng_name), asset=asset, tag=tag, where=where, max_across=max_across,
                                animation=animation)
        if made.mesh is None:  # too large to fit even shrunk: the largest size that fits is used
            made = self.picker.make(class_name, None if colour is None else (colour if isinstance(colour, str)
                                                                             else tuple(colour)),
                                    scale, self.rng(rng_name), asset=asset, tag=tag, where=where,
                                    max_across=max_across, min_fit=0.0, animation=animation)
        return _textured(made, class_name, texture)

    def _crown_room(self, class_name: str, region: str | None) -> float | None:
        """Trees and hedges on a sidewalk keep their whole crown over it: the widest they may be (m)."""
        if class_name in ("tree", "vegetation") and region == "sidewalk":
            return max(0.5, self.layout.params.sidewalk_width - 0.3)
        return None

    def object_groups(self, explicit: bool) -> None:
        for g in self.r.objects:
            if g.placement.explicit != explicit or g.count == 0:
                continue
            requests, metas = [], []
            for inst in g.instances:
                made = self.make(g.class_name, inst.colour_rgb, inst.scale, f"asset/{g.name}/{inst.index}",
                                 asset=getattr(inst, "asset", None), tag=getattr(g, "asset_tag", None),
                                 texture=inst.texture, where=f"objects.{g.name}",
                                 max_across=self._crown_room(g.class_name, g.placement.region),
                                 animation=inst.animation)
                mesh, mats = made.mesh, made.materials
                lo, hi, blo, bhi = _bounds(mesh)
                wps = np.array([[p.x, p.y, p.z] for p in g.motion.waypoints]) if g.motion.waypoints else None
                req = InstanceRequest(inst.index, blo, bhi, inst.heading_deg, g.motion.kind, inst.speed_mps, wps,
                                      g.motion.loop, lo, hi)
                req.motion_fn = behaviour.motion_fn(self, g, inst)
                requests.append(req)
                metas.append((inst, mesh, mats, lo, hi, made))
            if explicit or g.motion.kind == "waypoints":
                placed = []
                offset, prev_half = 0.0, None
                for req, (inst, mesh, mats, lo, hi, _) in zip(requests, metas, strict=True):
                    if g.motion.kind == "waypoints":
                        req.waypoints = req.waypoints.copy()
                        req.waypoints[:, 2] += self.layout.ground_z(req.waypoints[:, :2])
                        # instances follow each other along the path, spacing_m apart (bumper to bumper)
                        half = float(hi[0] - lo[0]) / 2
                        if prev_half is not None:
                            offset += prev_half + half + g.placement.spacing_m
                        prev_half = half
                        poses = motion_poses(np.eye(4), "waypoints", inst.speed_mps, self.times, req.waypoints,
                                             g.motion.loop, start_offset=offset)
                        item = self.placer.place_explicit(g.name, g.name, inst.index, poses[0], req,
                                                          check=not explicit, spacing=g.placement.spacing_m,
                                                          poses=poses)
                    else:
                        p = inst.pose
                        z = float(self.layout.ground_z(np.array([p.x, p.y]))[0]) + p.z
                        start = pose_from_xyz_yaw(p.x, p.y, z, math.radians(p.yaw_deg))
                        item = self.placer.place_explicit(g.name, g.name, inst.index, start, req)
                    placed.append(item)
            else:
                pl = g.placement
                rule = GroupRule(g.name, pl.region, pl.side, pl.lane_index,
                                 None if pl.x_range_m is None else tuple(pl.x_range_m),
                                 None if pl.distance_m is None else tuple(pl.distance_m), pl.spacing_m, pl.heading,
                                 pl.heading_jitter_deg, pl.visible, pl.camera,
                                 whole=pl.region == "roadside" and g.class_name in ROADSIDE_WHOLE,
                                 together=pl.together)
                if getattr(pl, "emerge_by_frame", None) is not None:
                    rule.accept = behaviour.emerge_rule(self, g, metas)
                placed = self.placer.place_group(rule, requests)
            for item, (inst, mesh, mats, lo, hi, made) in zip(placed, metas, strict=True):
                attrs = {"group": g.name, "index": inst.index, "scale": inst.scale, "animation": inst.animation,
                         "speed_mps": inst.speed_mps, "motion": g.motion.kind,
                         "region": None if item.region is None else item.region.name}
                if item.beside is not None:  # walks with the instance placed before it, at its speed
                    attrs["walks_with"] = item.beside.replace("#", "_")
                    attrs["speed_mps"] = item.speed
                if inst.colour_rgb is not None:
                    attrs["colour_rgb"] = list(inst.colour_rgb)
                if made.asset_id is not None:
                    attrs["asset"] = made.asset_id
                if mesh.rig is not None:
                    attrs["person"] = mesh.rig.record()
                behaviour.annotate(self, f"{g.name}_{inst.index}", attrs)
                self.groups.append(_Obj(f"{g.name}_{inst.index}", g.class_name, mesh, mats, item.poses, attrs,
                                        mounts=tuple(light_mounts(g.class_name, inst.scale, mesh, made.lamps))))

    def gait(self, o: _Obj) -> np.ndarray | None:
        """Per-frame vertices of a walking / running person (legs and arms swing with the distance covered), or
        None for everything that keeps its shape."""
        gait = o.attributes.get("animation")
        if o.mesh.rig is not None:
            return self.person_frames(o)
        gait = {"carrying": "walking", "stroller": "walking"}.get(gait, gait)  # block figures have no props
        if gait not in GAITS or o.mesh.vertex_group is None or self.T < 2:
            return None
        phase0 = float(self.rng(f"gait/{o.name}").uniform(0.0, 2 * math.pi))
        height = float(o.mesh.vertices[:, 2].max())
        return person_pose_frames(o.mesh, gait_phases(o.poses, float(self.r.fps), height, gait, phase0), gait)

    def person_frames(self, o: _Obj) -> np.ndarray | None:
        """Per-frame vertices of a person from the body bank (:func:`simgen.world.people.animate`): gaits advance
        with the ground covered; standing people and people who do not move keep their shape (None)."""
        phase0 = float(self.rng(f"gait/{o.name}").uniform(0.0, 1.0))
        frames = people.entity_frames(o.mesh, o.poses, self.times, o.attributes.get("animation"), phase0)
        return behaviour.waiting_frames(self, o, frames, phase0)

    # street lights ----------------------------------------------------------------------------------------
    def street_lights(self) -> None:
        sl = self.r.lighting.street_lights
        if not sl.enabled:
            return
        p = self.layout.params
        if p.sidewalk_width < 0.6:
            return
        colour = kelvin_to_rgb(sl.colour_temperature_k)
        rng = self.rng("street_lights/colour")
        sides = ("left", "right") if sl.sides == "both" else (sl.sides,)
        for side in sides:
            sign = 1.0 if side == "left" else -1.0
            y = sign * (p.half_width + min(p.curb_width, p.sidewalk_width) + 0.35)
            x = sl.spacing_m / 2 if side == "right" else sl.spacing_m
            k = 0
            while x < p.length:
                name = f"street_light_{side}_{k}"
                k += 1
                xy = np.array([[x, y]])
                x += sl.spacing_m
                if not any(r.contains(xy)[0] for r in self.layout.regions_of("sidewalk", side, "main")):
                    continue
                scale = (1.0, 1.0, sl.height_m / 7.0)
                made = self.picker.make("street_light", "grey", scale, rng, where="lighting.street_lights")
                mesh, mats = made.mesh, made.materials
                lo, hi, blo, bhi = _bounds(mesh)
                z = float(self.layout.ground_z(xy)[0])
                start = pose_from_xyz_yaw(xy[0, 0], xy[0, 1], z, -sign * math.pi / 2)  # arm over the road
                fp = footprints(local_footprint(blo, bhi), np.repeat(start[None], self.T, 0))
                if self.placer.clear_of_all(fp, "street_lights", 0.0) is not None:
                    continue
                poses = np.repeat(start[None], self.T, 0)
                self.placer.add(Placed(name, "street_lights", poses, fp))
                mounts = tuple(LightMount(m.name, m.kind, m.local_pose, colour, self.street_light_power(),
                                          m.spot_angle_rad, m.radius)
                               for m in light_mounts("street_light", scale, mesh, made.lamps))
                attrs = {"group": "street_lights", "side": side}
                if made.asset_id is not None:
                    attrs["asset"] = made.asset_id
                self.lamps.append(_Obj(name, "street_light", mesh, mats, poses, attrs, mounts=mounts))

    # street furniture -------------------------------------------------------------------------------------
    def street_furniture(self) -> None:
        """Clutter and vegetation on the sidewalks: ``density`` x (sidewalk length / 3 m) items per side, kinds
        drawn by weight, each placed like a one-instance sidewalk group (clear of everything placed before);
        an item that finds no room is skipped. Trees are scaled so their crown stays over the sidewalk."""
        sf = getattr(self.r, "street_furniture", None)
        if sf is None or sf.density <= 0 or not sf.kinds:
            return
        p = self.layout.params
        if p.sidewalk_width < 0.6:
            return
        kinds = sorted(k for k, w in sf.kinds.items() if w > 0)
        if not kinds:
            return
        weights = np.array([sf.kinds[k] for k in kinds], float)
        weights /= weights.sum()
        sides = ("left", "right") if sf.sides == "both" else (sf.sides,)
        tries, self.placer.max_tries = self.placer.max_tries, 40
        try:
            for side in sides:
                regions = self.layout.regions_of("sidewalk", side)
                length = sum(r.length for r in regions)
                if sf.x_range_m is not None:
                    length = min(length, sf.x_range_m[1] - sf.x_range_m[0])
                n = int(round(sf.density * length / 3.0))
                rng = self.rng(f"street_furniture/{side}/kinds")
                for i in range(n):
                    self._furniture_item(side, i, kinds[int(rng.choice(len(kinds), p=weights))], sf.x_range_m)
        finally:
            self.placer.max_tries = tries

    #: heading rule of each street furniture kind (benches face the road, the rest along it)
    _FURNITURE_HEADING = {"bench": "towards_road", "sign": "against_traffic", "bicycle": "along_road",
                          "bicycle_rack": "along_road", "vegetation": "along_road"}

    def _furniture_item(self, side: str, i: int, kind: str, x_range) -> None:
        name = f"street_furniture_{side}"
        cls = kind
        # trees and hedges: the whole crown stays over the sidewalk (scaled down to fit, or left out)
        fit = self.layout.params.sidewalk_width - 0.3 if cls in ("tree", "vegetation") else None
        made = self.picker.make(cls, None, 1.0, self.rng(f"asset/{name}/{i}"), where="street_furniture",
                                max_across=fit)
        if made.mesh is None:
            return
        mesh, mats = made.mesh, made.materials
        lo, hi = mesh.bounds()
        # clutter keeps its whole extent clear (crowns, sign plates, arms), not only the part below 2 m
        rule = GroupRule(name, "sidewalk", side, None, x_range, None, 0.3,
                         self._FURNITURE_HEADING.get(kind, "along_road"), 0.0, False)
        req = InstanceRequest(i, lo, hi, None, "static", 0.0, None, False, lo, hi)
        try:
            item = self.placer.place_group(rule, [req])[0]
        except PlacementError:
            return
        attrs = {"group": "street_furniture", "index": i, "kind": kind, "side": side,
                 "region": None if item.region is None else item.region.name}
        if made.asset_id is not None:
            attrs["asset"] = made.asset_id
        self.groups.append(_Obj(f"{name}_{i}", cls, mesh, list(mats), item.poses, attrs,
                                mounts=tuple(light_mounts(cls, 1.0, mesh, made.lamps))))

    # lights -----------------------------------------------------------------------------------------------
    def light_scale(self) -> float:
        """Factor on the artificial lights for the sun's elevation (1 at night; see simgen.world.photometry)."""
        return artificial_light_scale(self.r.lighting.sun_elevation_deg)

    def street_light_power(self) -> float:
        """Spot power (renderer W) of one street light: its electrical power_w as LED light, at this light."""
        return street_light_w(self.r.lighting.street_lights.power_w) * self.light_scale()

    def lights_for(self, obj: _Obj, on: bool, power: float | None = None, high_beam: bool = False,
                   colour=None, glow: float = 1.0) -> None:
        """Lights of ``obj``'s mounts (``power`` W each, else the mount's) and its lamp materials lit (emission
        strength times ``glow``: the twilight scale of simgen.world.photometry)."""
        for m in obj.mounts:
            if not on:
                continue
            pose = m.local_pose
            angle = m.spot_angle_rad
            watts = m.power_w if power is None else power
            if high_beam and m.name.startswith("headlight"):
                pose = pose.copy()
                pose[:3, :3] = _ry(math.radians(-88.0))
                angle, watts = math.radians(70.0), watts * 1.5
            self.lights.append(Light(f"{obj.name}_{m.name}", m.kind, obj.poses @ pose,
                                     tuple(colour or m.color), float(watts), float(angle), m.radius))
        if on:
            for i, mat in enumerate(obj.materials):
                if mat.name in ("headlamp", "taillamp", "lamp_lens"):
                    # night-scale glow, never below the lamp's physical luminance (a lit head lamp or street
                    # light is bright whatever the daylight: ~1e5 and ~3e4 cd/m²)
                    strength = {"headlamp": max(20.0 * glow, 3.0), "lamp_lens": max(5.0 * glow, 1.0)}.get(
                        mat.name, 5.0 * glow)
                    if obj.attributes.get("edge_case") == "glare_vehicle" and mat.name == "headlamp":
                        strength = 200.0
                    obj.materials[i] = Material(**{**mat.__dict__, "emission_strength": strength})

    def all_lights(self) -> None:
        lt = self.r.lighting
        hl = lt.headlights
        k = self.light_scale()
        for o in self.groups + self.edge + self.lamps:
            if o.class_name == "street_light":
                self.lights_for(o, lt.street_lights.enabled, self.street_light_power(),
                                colour=kelvin_to_rgb(lt.street_lights.colour_temperature_k), glow=k)
            elif o.class_name in VEHICLES:
                if o.attributes.get("edge_case") == "glare_vehicle":
                    self.lights_for(o, True, o.attributes["headlight_power_w"], o.attributes["high_beam"])
                else:  # parked vehicles keep their lights off
                    on = hl.enabled and not behaviour.is_parked(self, o)
                    o.attributes["lights"] = "on" if on else "off"
                    self.lights_for(o, on, hl.power_w * k, hl.high_beam, glow=k)
        if hl.enabled:
            ego = _Obj("ego", self.r.ego.class_name, self.ego_mesh, [], self.ego, {},
                       mounts=tuple(light_mounts(self.r.ego.class_name, 1.0, self.ego_mesh)))
            self.lights_for(ego, True, hl.power_w * k, hl.high_beam, glow=k)

    # assembly ---------------------------------------------------------------------------------------------
    def credits(self, entities: list[Entity]) -> list[dict]:
        """Attribution records of the third-party assets the world's entities use, sorted by asset id."""
        cat = self.picker.catalog
        ids = sorted({e.attributes["asset"] for e in entities if e.attributes.get("asset")})
        return [cat.get(i).credit() for i in ids if cat.get(i).third_party]

    def world(self) -> World:
        stuff = self.layout.entities(self.T)
        for e in stuff:
            if e.name in self.window_overrides:
                ov = self.window_overrides[e.name]
                e.attributes.update(ov["attributes"])
                if "material" in ov:
                    e.materials = [ov["material"]]
        stuff += self.extra_stuff
        table = class_table()
        things = []
        next_id = 1
        for o in self.groups + self.edge + self.lamps:
            thing = table.by_name(o.class_name).thing
            if o.mesh.rig is not None and "person" not in o.attributes:  # the sampled body and look
                o.attributes["person"] = o.mesh.rig.record()
            ent = Entity(o.name, o.class_name, o.mesh, o.materials, o.poses, next_id if thing else 0,
                         deforming=o.deforming, attributes=o.attributes, vertex_frames=self.gait(o))
            if thing:
                next_id += 1
            things.append(ent)
        w = self.r.weather
        weather_entities = wx.weather_entities(self, w)
        weather = Weather(fog_density=w.fog_density, rain_intensity=w.rain_intensity, wetness=w.wetness,
                          puddle_coverage=w.puddles.coverage, snow=w.snow, fog_height_m=w.fog_height_m,
                          puddle_entities=True)
        render_seed = int(self.rng("render/seed").integers(0, 2**31 - 1))
        return World(self.scene, self.T, float(self.r.fps), stuff + things + weather_entities, self.cameras,
                     self.lights, lighting_from(self.r.lighting), weather, render_seed,
                     credits=self.credits(things))



def build_world_with_layout(resolved, width: int, height: int) -> tuple[World, Layout]:
    """:func:`build_world`, also returning the road :class:`Layout` (regions, windows) for plots and checks."""
    from simgen.world.edge_cases import build_edge_case

    b = _Build(resolved, width, height)
    b.object_groups(explicit=True)
    for e in resolved.edge_cases:
        build_edge_case(b, e)
    behaviour.build_traffic_lights(b)
    b.street_lights()
    b.street_furniture()
    b.object_groups(explicit=False)
    b.all_lights()
    behaviour.apply_lamps(b)
    return b.world(), b.layout


def build_world(resolved, width: int, height: int) -> World:
    """Turn a resolved scene (:class:`simgen.spec.resolved.ResolvedScene`) into a :class:`World`.

    width, height: the output size in pixels of the cameras that have no size of their own (it sets their K,
    computed once, here). Everything else in the world (every pose, mesh, light) is independent of it: the
    placement constraints see through each camera at its own size or :data:`PLACEMENT_SIZE`. Deterministic in
    (resolved scene, width, height). Raises a
    :class:`SimgenError` subclass (:class:`PlacementError`, :class:`EdgeCaseError`, ...) when a constraint
    cannot be met.
    """
    return build_world_with_layout(resolved, width, height)[0]


__all__ = ["build_world", "build_world_with_layout", "mount_matrix", "EdgeCaseError", "PlacementError", "road_params",
           "lighting_from"]
