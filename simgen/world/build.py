"""build_world(resolved, width, height) -> World: a resolved scene becomes renderer-agnostic world data.

Order of work (each step sees the objects of the steps before as obstacles):
1. road layout (stuff entities, regions); the ego vehicle and its cameras;
2. object groups with explicit poses (not checked: the author put them there);
3. edge cases (their own geometry: reflecting window / puddle, parked cars, occluder, oncoming glare car);
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
from simgen.world.conventions import pose_from_xyz_yaw, project
from simgen.world.layout import Facade, Layout, RoadParams, build_layout, glass_material
from simgen.world.lens import Lens
from simgen.world.model import Camera, Entity, Light, Lighting, Material, Mesh, Weather, World
from simgen.world.objects import AssetPicker, Made
from simgen.world.placement import (
    CameraView,
    GroupRule,
    InstanceRequest,
    Placed,
    Placer,
    PlacementError,
    footprints,
    local_footprint,
    mirror_point,
    motion_poses,
    polyline_poses,
    ray_hits_rectangle,
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


def road_params(road, night: bool = False, rng=None) -> RoadParams:
    """RoadParams from a resolved ``road`` (simgen.spec.resolved.RRoad); ``night``: lit rooms glow brighter;
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
        window_interior_light=w.interior_light, ground=road.ground, surface_texture=road.surface_texture,
        wetness=0.0,  # the renderer applies weather wetness to wet surfaces
        surface_wear=road.surface_wear, marking_wear=mk.wear, night=bool(night),
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
                                                               self.rng),
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
                                 whole=pl.region == "roadside" and g.class_name in ROADSIDE_WHOLE)
                if getattr(pl, "emerge_by_frame", None) is not None:
                    rule.accept = behaviour.emerge_rule(self, g, metas)
                placed = self.placer.place_group(rule, requests)
            for item, (inst, mesh, mats, lo, hi, made) in zip(placed, metas, strict=True):
                attrs = {"group": g.name, "index": inst.index, "scale": inst.scale, "animation": inst.animation,
                         "speed_mps": inst.speed_mps, "motion": g.motion.kind,
                         "region": None if item.region is None else item.region.name}
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
                mounts = tuple(LightMount(m.name, m.kind, m.local_pose, colour, sl.power_w, m.spot_angle_rad,
                                          m.radius) for m in light_mounts("street_light", scale, mesh, made.lamps))
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
    def lights_for(self, obj: _Obj, on: bool, power: float | None = None, high_beam: bool = False,
                   colour=None) -> None:
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
                    strength = 20.0 if mat.name == "headlamp" else 5.0
                    if obj.attributes.get("edge_case") == "glare_vehicle" and mat.name == "headlamp":
                        strength = 200.0
                    obj.materials[i] = Material(**{**mat.__dict__, "emission_strength": strength})

    def all_lights(self) -> None:
        lt = self.r.lighting
        hl = lt.headlights
        for o in self.groups + self.edge + self.lamps:
            if o.class_name == "street_light":
                self.lights_for(o, lt.street_lights.enabled, lt.street_lights.power_w,
                                colour=kelvin_to_rgb(lt.street_lights.colour_temperature_k))
            elif o.class_name in VEHICLES:
                if o.attributes.get("edge_case") == "glare_vehicle":
                    self.lights_for(o, True, o.attributes["headlight_power_w"], o.attributes["high_beam"])
                else:  # parked vehicles keep their lights off
                    on = hl.enabled and not behaviour.is_parked(self, o)
                    o.attributes["lights"] = "on" if on else "off"
                    self.lights_for(o, on, hl.power_w, hl.high_beam)
        if hl.enabled:
            ego = _Obj("ego", self.r.ego.class_name, self.ego_mesh, [], self.ego, {},
                       mounts=tuple(light_mounts(self.r.ego.class_name, 1.0, self.ego_mesh)))
            self.lights_for(ego, True, hl.power_w, hl.high_beam)

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


# ---- edge cases ---------------------------------------------------------------------------------------------

PUDDLE_Z = 0.003


def water_material() -> Material:
    return Material("water", base_color=(0.02, 0.025, 0.03), roughness=0.02, ior=1.33, reflective=True)


def puddle_mesh(polygon: np.ndarray, z: float) -> Mesh:
    """A flat, upward-facing polygon (K, 2) (convex, CCW) at height z, as a triangle fan."""
    k = len(polygon)
    v = np.concatenate([[[*polygon.mean(0), z]], np.c_[polygon, np.full(k, z)]])
    f = np.array([[0, 1 + i, 1 + (i + 1) % k] for i in range(k)])
    return Mesh(v, f)


def points_in_convex(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(N,) bool: points (N, 2) inside the convex CCW polygon (K, 2) (boundary included)."""
    pts = np.asarray(pts, float).reshape(-1, 2)
    e = np.roll(poly, -1, 0) - poly
    rel = pts[:, None, :] - poly[None]
    cross = e[None, :, 0] * rel[..., 1] - e[None, :, 1] * rel[..., 0]
    return np.all(cross >= -1e-9, -1)


def ground_mirror_hits(camera: np.ndarray, points: np.ndarray, poly: np.ndarray, z: float) -> np.ndarray:
    """(N,) bool: the mirror images of world points (N, 3) about the plane at height z are seen from
    ``camera`` (3,) through the polygon (K, 2) lying in that plane."""
    m = np.asarray(points, float).copy()
    m[:, 2] = 2 * z - m[:, 2]
    lam = (camera[2] - z) / (camera[2] - m[:, 2])
    hit = camera[None, :2] + lam[:, None] * (m[:, :2] - camera[None, :2])
    return (lam > 0) & (lam < 1) & points_in_convex(poly, hit)


def window_mirror_hits(camera: np.ndarray, points: np.ndarray, window) -> np.ndarray:
    """(N,) bool: the mirror images of world points (N, 3) about a window's outer plane are seen from
    ``camera`` (3,) through the window rectangle."""
    corners = window.corners()
    mirrored = mirror_point(points, np.array(window.center), np.array(window.normal))
    return ray_hits_rectangle(camera, mirrored, corners[0], corners[1] - corners[0], corners[3] - corners[0])


def car_mirror_rays(view: CameraView, car: _Obj, max_rays: int = 1500):
    """Camera rays aimed at face centres of the car's reflective faces (paint, glass) seen at frame 0, mirrored
    there: (origins (N, 3), directions (N, 3), the car as a trimesh in world coordinates)."""
    import trimesh

    pose = car.poses[0]
    tm = trimesh.Trimesh(car.mesh.vertices @ pose[:3, :3].T + pose[:3, 3], car.mesh.faces, process=False)
    refl = np.array([m.reflective for m in car.materials])[car.mesh.face_material]
    idx = np.flatnonzero(refl)
    empty = (np.zeros((0, 3)), np.zeros((0, 3)), tm)
    if len(idx) == 0:
        return empty
    if len(idx) > max_rays:
        idx = idx[np.linspace(0, len(idx) - 1, max_rays).astype(int)]
    C = view.position
    target = tm.triangles_center[idx]
    target = target[view.sees(target)]
    if len(target) == 0:
        return empty
    d = target - C
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    tri = tm.ray.intersects_first(np.repeat(C[None], len(d), 0), d)
    ok = tri >= 0
    ok[ok] = refl[tri[ok]]
    d, tri = d[ok], tri[ok]
    fn = tm.face_normals[tri]
    t = np.einsum("ij,ij->i", tm.triangles_center[tri] - C, fn) / np.einsum("ij,ij->i", d, fn)
    n = fn * -np.sign(np.einsum("ij,ij->i", fn, d))[:, None]
    r = d - 2 * np.einsum("ij,ij->i", d, n)[:, None] * n
    origin = C + d * t[:, None] + 1e-4 * n
    if len(origin):  # rays the car itself blocks after the bounce never show anything
        free = ~tm.ray.intersects_any(origin, r)
        origin, r = origin[free], r[free]
    return origin, r, tm


def mirror_rays_meeting(rays, person: Mesh, start: np.ndarray) -> int:
    """How many of the mirrored ``rays`` (from :func:`car_mirror_rays`) meet the person (mesh in its object
    frame, placed at ``start`` (4, 4))."""
    import trimesh

    origin, r, _ = rays
    if len(origin) == 0:
        return 0
    pm = trimesh.Trimesh(person.vertices @ start[:3, :3].T + start[:3, 3], person.faces, process=False)
    return int(pm.ray.intersects_any(origin, r).sum())


def _person_points(start: np.ndarray, height: float) -> np.ndarray:
    """(5, 3) world points on a standing person's axis: feet, knee, hip, chest, head."""
    hs = np.array([0.05, 0.28, 0.5, 0.72, 0.93]) * height
    return start[:3, 3][None] + hs[:, None] * np.array([0.0, 0.0, 1.0])


class _Edge:
    def __init__(self, b: _Build, e):
        self.b, self.e, self.p = b, e, e.params
        self.name = e.name
        self.rng = b.rng(f"edge_cases/{e.name}")
        self.target_x = float(b.r.ego.start.x + e.distance_m)
        self.side = self.p.get("side", "right")
        self.sign = 1.0 if self.side == "left" else -1.0
        #: lamp positions and asset ids of the meshes made for this edge case (by id of the mesh)
        self.lamp_pos: dict[int, dict] = {}
        self.assets: dict[int, str] = {}

    def fail(self, msg: str):
        raise EdgeCaseError(f"edge_cases.{self.name} ({self.e.kind}): {msg}")

    def asset(self, role: str, class_name: str, colour=None, scale: float = 1.0):
        made = self.b.make(class_name, colour, scale, f"asset/edge/{self.name}/{role}",
                           where=f"edge_cases.{self.name}")
        self.lamp_pos[id(made.mesh)] = made.lamps
        if made.asset_id is not None:
            self.assets[id(made.mesh)] = made.asset_id
        return made.mesh, made.materials, _bounds(made.mesh)

    def try_add(self, role: str, class_name: str, mesh, mats, bounds, start: np.ndarray, motion="static",
                speed=0.0, start_time=0.0, attrs=None, ignore=("ego",)) -> _Obj | None:
        """Add an object if it keeps clear of everything placed so far (the ego's path excepted)."""
        lo, hi, blo, bhi = bounds
        poses = motion_poses(start, motion, speed, self.b.times, start_time=start_time)
        fp = footprints(local_footprint(blo, bhi), poses)
        if self.b.placer.clear_of_all(fp, self.name, DEFAULT_GAP_EDGE, ignore=ignore) is not None:
            return None
        self.b.placer.add(Placed(f"{self.name}_{role}", self.name, poses, fp))
        a = {"edge_case": role, "edge_case_name": self.name, "edge_case_kind": self.e.kind}
        a.update(attrs or {})
        if id(mesh) in self.assets:
            a["asset"] = self.assets[id(mesh)]
        obj = _Obj(f"{self.name}_{role}", class_name, mesh, list(mats), poses, a,
                   mounts=tuple(light_mounts(class_name, 1.0, mesh, self.lamp_pos.get(id(mesh)))))
        self.b.edge.append(obj)
        return obj

    def kerb_y(self, half_width_obj: float) -> float:
        p = self.b.layout.params
        if p.parking_lane:
            return self.sign * (p.half_width - p.lane_width / 2)
        return self.sign * (p.half_width - half_width_obj - 0.3)

    def parked(self, role: str, class_name: str, x: float, colour=None, ignore=(), asset=None) -> _Obj:
        """A vehicle parked at the kerb of this side, facing the side's traffic, its origin at x."""
        mesh, mats, bounds = asset if asset is not None else self.asset(role, class_name, colour)
        lo, hi = bounds[0], bounds[1]
        y = self.kerb_y(float(hi[1] - lo[1]) / 2)
        yaw = 0.0 if self.sign < 0 else math.pi
        obj = self.try_add(role, class_name, mesh, mats, bounds, pose_from_xyz_yaw(x, y, 0.0, yaw),
                           attrs={"parked": True}, ignore=ignore)
        if obj is None:
            hit = self.b.placer.clear_of_all(footprints(local_footprint(bounds[2], bounds[3]),
                                                        pose_from_xyz_yaw(x, y, 0.0, yaw)), self.name, 0.0)
            self.fail(f"the parked {class_name} at x = {x:.1f} m, y = {y:.2f} m would overlap '{hit}'"
                      + ("" if self.b.layout.params.parking_lane else
                         " (there is no parking lane: set road.parking_lane: true, or use the other side)"))
        return obj

    # kinds ------------------------------------------------------------------------------------------------
    def reflection_window(self) -> None:
        b, p = self.b, self.p
        windows = [w for w in b.layout.windows if w.side == self.side]
        if not windows:
            self.fail(f"no shop window on the {self.side} side (road.buildings.sides and shop_windows)")
        mesh, mats, bounds = self.asset("reflected_pedestrian", p.get("person_class", "pedestrian"),
                                        p.get("colour_rgb"))
        height = float(bounds[1][2])
        C = b.view.position
        g = float(p.get("gap_to_window_m", 1.2))
        want_hidden = not p.get("person_visible_directly", False)
        windows.sort(key=lambda w: abs(w.center[0] - self.target_x))
        fracs = [0.5, 0.3, 0.7, 0.15, 0.85]
        best = None
        for w in windows[:12]:
            c, n, u = np.array(w.center), np.array(w.normal), np.array(w.u)
            D = float((C - c) @ n)
            if D <= 0.3:
                continue
            lam = (D + g) / D
            for frac in fracs:
                Xh = c + (frac - 0.5) * w.width * u
                # the person's chest (0.6 h above its feet) must mirror onto the line camera -> X
                Qm_h = C[:2] + lam * (Xh[:2] - C[:2])
                Q_xy = Qm_h + 2 * g * n[:2]
                zg = float(b.layout.ground_z(Q_xy)[0])
                Xz = C[2] + (zg + 0.6 * height - C[2]) / lam
                if abs(Xz - c[2]) > 0.4 * w.height:
                    continue
                yaw = 0.0 if self.rng.random() < 0.5 else math.pi
                start = pose_from_xyz_yaw(Q_xy[0], Q_xy[1], zg, yaw)
                pts = _person_points(start, height)
                hits = window_mirror_hits(C, pts, w)
                if not hits[2:4].all() or not b.view.sees(np.array([[Xh[0], Xh[1], Xz]]))[0]:
                    continue
                if not any(r.contains(Q_xy[None])[0] for r in b.layout.regions_of("sidewalk", self.side)):
                    continue
                fp = footprints(local_footprint(bounds[2], bounds[3]), start)
                if b.placer.clear_of_all(np.repeat(fp, b.T, 0), self.name, 0.1, ignore=("ego",)) is not None:
                    continue
                direct = bool(b.view.sees(pts).any())
                score = (direct and want_hidden, abs(Q_xy[0] - self.target_x))
                if best is None or score < best[0]:
                    best = (score, w, start, hits, direct)
        if best is None:
            self.fail("no position on the sidewalk puts the person's mirror image inside a shop window seen by "
                      f"camera '{b.cameras[0].name}' at frame 0 (try another distance_m, a smaller gap_to_window_m,"
                      " or larger windows)")
        _, w, start, hits, direct = best
        self.try_add("reflected_pedestrian", p.get("person_class", "pedestrian"), mesh, mats, bounds, start,
                     attrs={"window": w.name, "mirror_hits": [bool(h) for h in hits], "directly_visible": direct,
                            "animation": p.get("animation", "none")})
        b.window_overrides[w.name] = {
            "attributes": {"edge_case": "reflecting_window", "edge_case_name": self.name,
                           "reflected": f"{self.name}_reflected_pedestrian"},
            "material": glass_material(float(p.get("window_reflectivity", 0.9)))}

    def reflection_puddle(self) -> None:
        b, p = self.b, self.p
        lp = b.layout.params
        mesh, mats, bounds = self.asset("reflected_pedestrian", p.get("person_class", "pedestrian"),
                                        p.get("colour_rgb"))
        height = float(bounds[1][2])
        r = float(p.get("puddle_radius_m", 1.5))
        gap = float(p.get("gap_to_puddle_m", 0.5))
        C = b.view.position
        W = lp.half_width
        for dx in (0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 4.0, -4.0):
            x = self.target_x + dx
            if lp.sidewalk_width >= 0.8:
                y = self.sign * (W + min(lp.curb_width, lp.sidewalk_width) + 0.35)
            else:
                y = self.sign * (W - 0.4)
            Q = np.array([x, y])
            zg = float(b.layout.ground_z(Q)[0])
            d = C[:2] - Q
            dist = float(np.linalg.norm(d))
            if dist < gap + 2 * r + 0.5:
                continue
            centre = Q + d / dist * (gap + r)
            ang = np.linspace(0, 2 * np.pi, 17)[:-1]
            poly = centre + r * np.c_[np.cos(ang), np.sin(ang)]
            poly[:, 1] = np.clip(poly[:, 1], -W + 0.05, W - 0.05)
            poly[:, 0] = np.clip(poly[:, 0], 0.05, lp.length - 0.05)
            if not b.layout.on_road(poly).all() or np.ptp(poly[:, 1]) < 0.3:
                continue
            start = pose_from_xyz_yaw(x, y, zg, math.atan2(d[1], d[0]))  # facing the camera
            pts = _person_points(start, height)
            hits = ground_mirror_hits(C, pts, poly, PUDDLE_Z)
            if not hits.any():
                continue
            rect = np.array([[poly[:, 0].min(), poly[:, 1].min()], [poly[:, 0].max(), poly[:, 1].min()],
                             [poly[:, 0].max(), poly[:, 1].max()], [poly[:, 0].min(), poly[:, 1].max()]])
            fp_p = np.repeat(rect[None], b.T, 0)
            if b.placer.clear_of_all(fp_p, self.name, 0.0, ignore=("ego",)) is not None:
                continue
            obj = self.try_add("reflected_pedestrian", p.get("person_class", "pedestrian"), mesh, mats, bounds,
                               start, attrs={"mirror_hits": [bool(h) for h in hits],
                                             "animation": p.get("animation", "none")})
            if obj is None:
                continue
            b.placer.add(Placed(f"{self.name}_puddle", self.name, np.repeat(np.eye(4)[None], b.T, 0), fp_p))
            b.extra_stuff.append(Entity(f"{self.name}_puddle", "puddle", puddle_mesh(poly, PUDDLE_Z),
                                        [water_material()], np.repeat(np.eye(4)[None], b.T, 0), 0,
                                        attributes={"edge_case": "reflecting_puddle", "edge_case_name": self.name,
                                                    "polygon": poly.tolist(), "z": PUDDLE_Z,
                                                    "reflected": obj.name}))
            return
        self.fail("no puddle on the road between the camera and the person shows the person's mirror image "
                  "(try a larger puddle_radius_m, a smaller gap_to_puddle_m or another distance_m)")

    def _car_spots(self, car: _Obj, person: Mesh, gap: float) -> list[tuple[int, int, np.ndarray]]:
        """Spots for the person beside ``car``, best first: (−mirror rays, order, start pose)."""
        b = self.b
        lo, hi = car.mesh.bounds()
        cx, cy = car.poses[0][0, 3], car.poses[0][1, 3]
        rays = car_mirror_rays(b.view, car)
        spots = []
        # on the kerb side of the car (facing it and the road), or on its road side (at the driver's door)
        for out in (1.0, -1.0):
            for dx in (0.3, 0.0, 0.6, -0.3, 1.0, -0.6, 0.8, -0.8):
                x = cx + dx * (hi[0] - lo[0]) / 2
                y = cy + out * self.sign * ((hi[1] - lo[1]) / 2 + gap + 0.15)
                zg = float(b.layout.ground_z(np.array([x, y]))[0])
                start = pose_from_xyz_yaw(x, y, zg, -out * self.sign * math.pi / 2)  # facing the car
                spots.append((-mirror_rays_meeting(rays, person, start), len(spots), start))
        return sorted(spots, key=lambda t: t[:2])

    def reflection_car(self) -> None:
        b, p = self.b, self.p
        cls, colour = p.get("car_class", "car"), p.get("car_colour_rgb")
        mesh, mats, bounds = self.asset("reflected_pedestrian", p.get("person_class", "pedestrian"))
        gap = float(p.get("gap_to_car_m", 1.0))
        # the car's body is curved: among the class's assets, take the one whose paint shows the person best
        # (camera rays mirrored off its reflective faces that meet the person, at the best spot)
        options = []
        for k, entry in enumerate(b.picker.candidates(cls) or [None]):
            made = b.make(cls, colour, 1.0, f"asset/edge/{self.name}/reflecting_car/{k}",
                          asset=None if entry is None else entry.id, where=f"edge_cases.{self.name}")
            lo, hi = made.mesh.bounds()
            y = self.kerb_y(float(hi[1] - lo[1]) / 2)
            probe = _Obj("probe", cls, made.mesh, made.materials,
                         pose_from_xyz_yaw(self.target_x, y, 0.0, 0.0 if self.sign < 0 else math.pi)[None], {})
            options.append((self._car_spots(probe, mesh, gap)[0][0], k, made))
        _, _, made = min(options, key=lambda t: t[:2])
        self.lamp_pos[id(made.mesh)] = made.lamps
        if made.asset_id is not None:
            self.assets[id(made.mesh)] = made.asset_id
        car = self.parked("reflecting_car", cls, self.target_x, asset=(made.mesh, made.materials, _bounds(made.mesh)))
        for hits, _, start in self._car_spots(car, mesh, gap):
            if self.try_add("reflected_pedestrian", p.get("person_class", "pedestrian"), mesh, mats, bounds,
                            start, attrs={"mirror": car.name, "mirror_rays": int(-hits)}) is not None:
                return
        self.fail("no room for the person next to the parked car")

    def jaywalker(self) -> None:
        b, p = self.b, self.p
        lp = b.layout.params
        gap = float(p.get("gap_m", 1.5))
        x_gap = self.target_x
        if p.get("between_parked_cars", True):
            rear, front = self.asset("parked_rear", "car"), self.asset("parked_front", "car")
            (rlo, rhi), (flo, fhi) = rear[2][:2], front[2][:2]
            if self.sign < 0:  # facing +x: world x extent = x + [lo, hi]
                xr, xf = x_gap - gap / 2 - rhi[0], x_gap + gap / 2 - flo[0]
            else:  # facing -x: world x extent = x - [hi, lo]
                xr, xf = x_gap - gap / 2 + rlo[0], x_gap + gap / 2 + fhi[0]
            self.parked("parked_rear", "car", float(xr), asset=rear)
            self.parked("parked_front", "car", float(xf), asset=front)
        angle = math.radians(float(p.get("crossing_angle_deg", 90.0)))
        yaw = angle if self.sign < 0 else -angle  # right side walks towards +y, left side towards -y
        y = self.sign * (lp.half_width - 0.45)
        mesh, mats, bounds = self.asset("jaywalker", p.get("person_class", "pedestrian"))
        start = pose_from_xyz_yaw(x_gap, y, 0.0, yaw)
        if self.try_add("jaywalker", p.get("person_class", "pedestrian"), mesh, mats, bounds, start,
                        "constant_velocity", float(p.get("speed_mps", 1.4)), float(p.get("start_time_s", 0.0)),
                        attrs={"animation": "walking"}, ignore=("ego",)) is None:
            self.fail(f"no room for the person at x = {x_gap:.1f} m (another object stands there)")

    def occluded_child(self) -> None:
        b, p = self.b, self.p
        occ = self.parked("occluder", p.get("occluder_class", "car"), self.target_x)
        olo, ohi = occ.mesh.bounds()
        corners = np.array([[x, y, z] for x in (olo[0], ohi[0]) for y in (olo[1], ohi[1]) for z in (olo[2], ohi[2])])
        occ_w = corners @ occ.poses[0][:3, :3].T + occ.poses[0][:3, 3]
        uv_o, z_o = project(occ_w, b.K, b.view.world_from_camera)
        if np.any(z_o <= 0):
            self.fail("the occluding vehicle is behind the camera")
        ob = (uv_o[:, 0].min(), uv_o[:, 1].min(), uv_o[:, 0].max(), uv_o[:, 1].max())
        mesh, mats, bounds = self.asset("occluded_child", "child")
        clo, chi = bounds[0], bounds[1]
        target = float(p.get("visible_fraction", 0.3))
        C = b.view.position
        best = None
        cx, cy = occ.poses[0][0, 3], occ.poses[0][1, 3]
        half_w = (ohi[1] - olo[1]) / 2
        for behind in (0.5, 0.8, 1.2, 1.6):
            for dx in np.linspace(-(ohi[0] - olo[0]) / 2 - 1.0, (ohi[0] - olo[0]) / 2 + 1.0, 25):
                x, y = cx + dx, cy + self.sign * (half_w + behind)
                zg = float(b.layout.ground_z(np.array([x, y]))[0])
                start = pose_from_xyz_yaw(x, y, zg, -self.sign * math.pi / 2)  # facing the road
                cc = np.array([[xx, yy, zz] for xx in (clo[0], chi[0]) for yy in (clo[1], chi[1])
                               for zz in (clo[2], chi[2])]) @ start[:3, :3].T + start[:3, 3]
                uv_c, z_c = project(cc, b.K, b.view.world_from_camera)
                if np.any(z_c <= 0):
                    continue
                cb = (uv_c[:, 0].min(), uv_c[:, 1].min(), uv_c[:, 0].max(), uv_c[:, 1].max())
                area = (cb[2] - cb[0]) * (cb[3] - cb[1])
                ix = max(0.0, min(cb[2], ob[2]) - max(cb[0], ob[0]))
                iy = max(0.0, min(cb[3], ob[3]) - max(cb[1], ob[1]))
                vis = 1.0 - ix * iy / area
                in_img = b.view.sees(start[:3, 3][None] + [0, 0, chi[2] / 2])[0]
                if not in_img or float(np.linalg.norm(start[:2, 3] - C[:2])) <= float(np.linalg.norm([cx, cy] - C[:2])):
                    continue
                score = abs(vis - target)
                if best is None or score < best[0]:
                    best = (score, start, vis)
        if best is None:
            self.fail("no spot behind the vehicle (seen from the camera) for the child")
        # try the best spots first, skipping any that collide
        _, start, vis = best
        obj = self.try_add("occluded_child", "child", mesh, mats, bounds, start, "constant_velocity",
                           float(p.get("speed_mps", 0.0)),
                           attrs={"occluder": occ.name, "estimated_visible_fraction": round(float(vis), 3),
                                  "target_visible_fraction": target})
        if obj is None:
            self.fail("the spot behind the vehicle is taken by another object")

    def headlight_glare(self) -> None:
        b, p = self.b, self.p
        lp = b.layout.params
        cls = p.get("vehicle_class", "car")
        mesh, mats, bounds = self.asset("glare_vehicle", cls)
        y = (0.5) * lp.lane_width  # innermost oncoming lane
        for dx in (0.0, 3.0, -3.0, 6.0, 9.0, 12.0):
            start = pose_from_xyz_yaw(self.target_x + dx, y, 0.0, math.pi)
            obj = self.try_add("glare_vehicle", cls, mesh, mats, bounds, start, "constant_velocity",
                               float(p.get("speed_mps", 10.0)),
                               attrs={"headlight_power_w": float(p.get("power_w", 200.0)),
                                      "high_beam": bool(p.get("high_beam", True))})
            if obj is not None:
                return
        self.fail("the oncoming lane is blocked near distance_m")


#: gap kept by edge-case objects from other objects (metres)
DEFAULT_GAP_EDGE = 0.1

_EDGE_KINDS = {
    "pedestrian_reflection_window": _Edge.reflection_window,
    "pedestrian_reflection_puddle": _Edge.reflection_puddle,
    "pedestrian_reflection_car": _Edge.reflection_car,
    "jaywalker": _Edge.jaywalker,
    "occluded_child": _Edge.occluded_child,
    "headlight_glare": _Edge.headlight_glare,
}


def build_edge_case(b: _Build, e) -> None:
    """Arrange one resolved edge case (kind, name, distance_m, params) in the world being built."""
    fn = _EDGE_KINDS.get(e.kind)
    if fn is None:
        raise EdgeCaseError(f"edge_cases.{e.name}: unknown kind '{e.kind}' (known: {', '.join(_EDGE_KINDS)})")
    fn(_Edge(b, e))


def build_world_with_layout(resolved, width: int, height: int) -> tuple[World, Layout]:
    """:func:`build_world`, also returning the road :class:`Layout` (regions, windows) for plots and checks."""
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
