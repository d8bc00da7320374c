"""What every edge-case builder shares: :class:`EdgeContext` (assets, collision-checked placement, parked
vehicles, failures with the case's name) and the mirror geometry the reflection cases aim with.

World frame: right-handed, z up, metres; the road runs along +x, right-hand traffic (the right side is y < 0).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from simgen.spec.fields import colour_rgb
from simgen.world.assets import light_mounts
from simgen.world.build import EdgeCaseError, _bounds, _Obj
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.model import Material, Mesh
from simgen.world.placement import (
    CameraView,
    Placed,
    footprints,
    local_footprint,
    mirror_point,
    motion_poses,
    ray_hits_rectangle,
)

if TYPE_CHECKING:
    from simgen.spec.resolved import REdgeCase
    from simgen.world.build import _Build

#: gap kept by edge-case objects from other objects (metres)
DEFAULT_GAP_EDGE = 0.1
#: height of an edge case's own puddle above the road (metres)
PUDDLE_Z = 0.003


def rgb_or_none(colour) -> list[float] | None:
    """A spec colour literal (name or [r, g, b]) as linear RGB, or None."""
    return None if colour is None else colour_rgb(colour)


# ---- mirror geometry -------------------------------------------------------------------------------------------

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


def ground_mirror_points(camera: np.ndarray, points: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the camera (3,) sees the mirror images of world points (N, 3) in the plane at height z:
    ((N,) bool the image is in front of the camera and below it, (N, 2) the ground points)."""
    m = np.asarray(points, float).copy()
    m[:, 2] = 2 * z - m[:, 2]
    lam = (camera[2] - z) / (camera[2] - m[:, 2])
    hit = camera[None, :2] + lam[:, None] * (m[:, :2] - camera[None, :2])
    return (lam > 0) & (lam < 1), hit


def ground_mirror_hits(camera: np.ndarray, points: np.ndarray, poly: np.ndarray, z: float) -> np.ndarray:
    """(N,) bool: the mirror images of world points (N, 3) about the plane at height z are seen from
    ``camera`` (3,) through the polygon (K, 2) lying in that plane."""
    ok, hit = ground_mirror_points(camera, points, z)
    return ok & points_in_convex(poly, hit)


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


def person_points(start: np.ndarray, height: float) -> np.ndarray:
    """(5, 3) world points on a standing person's axis: feet, knee, hip, chest, head."""
    hs = np.array([0.05, 0.28, 0.5, 0.72, 0.93]) * height
    return start[:3, 3][None] + hs[:, None] * np.array([0.0, 0.0, 1.0])


def box_corners(lo: np.ndarray, hi: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(8, 3) world corners of the object-frame box [lo, hi] placed at ``pose`` (4, 4)."""
    c = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return c @ pose[:3, :3].T + pose[:3, 3]


# ---- the context every builder gets --------------------------------------------------------------------------

#: how the camera must see an edge case's actor: directly, as a mirror image, or through glass
VISIBLE_AS = ("direct", "mirror", "glass")


class EdgeContext:
    """One edge case being built into the world ``b``: its name, typed parameters ``p`` (the spec's model of the
    kind, every field a literal), random stream, target x (m, ego start + distance_m) and side."""

    def __init__(self, b: _Build, e: REdgeCase):
        self.b, self.e, self.p = b, e, e.params
        self.name, self.kind = e.name, e.kind
        self.rng = b.rng(f"edge_cases/{e.name}")
        self.target_x = float(b.r.ego.start.x + e.distance_m)
        self.side = getattr(self.p, "side", "right")
        self.sign = 1.0 if self.side == "left" else -1.0
        #: lamp positions and asset ids of the meshes made for this edge case (by id of the mesh)
        self.lamp_pos: dict[int, dict] = {}
        self.assets: dict[int, str] = {}

    def fail(self, msg: str):
        raise EdgeCaseError(f"edge_cases.{self.name} ({self.kind}): {msg}")

    def asset(self, role: str, class_name: str, colour=None, scale: float = 1.0, animation: str | None = None):
        """(mesh, materials, bounds) of a new object of ``class_name`` (people shaped for ``animation``)."""
        made = self.b.make(class_name, colour, scale, f"asset/edge/{self.name}/{role}",
                           where=f"edge_cases.{self.name}", animation=animation)
        return self.adopt(made)

    def adopt(self, made):
        self.lamp_pos[id(made.mesh)] = made.lamps
        if made.asset_id is not None:
            self.assets[id(made.mesh)] = made.asset_id
        return made.mesh, made.materials, _bounds(made.mesh)

    def try_add(self, role: str, class_name: str, mesh, mats, bounds, start: np.ndarray, motion="static",
                speed=0.0, start_time=0.0, attrs=None, ignore=("ego",), visible_as: str | None = None) -> _Obj | None:
        """Add an object if it keeps clear of everything placed so far (the ego's path excepted).

        visible_as: for the case's actor (the thing that must be seen for the frame to carry the case's tag),
        how it is seen: ``"direct"``, ``"mirror"`` or ``"glass"`` (:data:`VISIBLE_AS`); None for props."""
        lo, hi, blo, bhi = bounds
        poses = motion_poses(start, motion, speed, self.b.times, start_time=start_time)
        fp = footprints(local_footprint(blo, bhi), poses)
        if self.b.placer.clear_of_all(fp, self.name, DEFAULT_GAP_EDGE, ignore=ignore) is not None:
            return None
        self.b.placer.add(Placed(f"{self.name}_{role}", self.name, poses, fp))
        a = {"edge_case": role, "edge_case_name": self.name, "edge_case_kind": self.kind}
        if visible_as is not None:
            assert visible_as in VISIBLE_AS, visible_as
            a["edge_case_visible_as"] = visible_as
        a.update(attrs or {})
        if id(mesh) in self.assets:
            a["asset"] = self.assets[id(mesh)]
        obj = _Obj(f"{self.name}_{role}", class_name, mesh, list(mats), poses, a,
                   mounts=tuple(light_mounts(class_name, 1.0, mesh, self.lamp_pos.get(id(mesh)))))
        self.b.edge.append(obj)
        return obj

    def is_clear(self, bounds, start: np.ndarray, motion="static", speed=0.0) -> bool:
        """Whether an object (``bounds`` from :meth:`asset`) at ``start`` keeps clear of everything placed."""
        poses = motion_poses(start, motion, speed, self.b.times)
        fp = footprints(local_footprint(bounds[2], bounds[3]), poses)
        return self.b.placer.clear_of_all(fp, self.name, DEFAULT_GAP_EDGE, ignore=("ego",)) is None

    def kerb_y(self, half_width_obj: float) -> float:
        """y (m) of a parked vehicle's centre on this side: the parking lane's centre, else at the kerb."""
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

    def road_edge_y(self, offset: float) -> float:
        """y (m) of a point on the road ``offset`` m inside this side's road edge (kerb)."""
        return self.sign * (self.b.layout.params.half_width - offset)

    def ground(self, x: float, y: float) -> float:
        return float(self.b.layout.ground_z(np.array([x, y]))[0])
