"""Placement of objects under constraints, and their motion over the sequence.

Footprints are oriented rectangles in the ground plane: (4, 2) float64 world xy corners, counter-clockwise.
Two footprints "keep a gap g" when some edge normal of either rectangle separates their projections by at
least g (a separating-axis test; conservative: the true Euclidean gap is then at least g). Objects are checked
at every frame, so a moving object may not drive through another one (or the ego vehicle).

Randomness: instance ``i`` of group ``g`` draws from ``simgen.rng.stream(seed, scene, variant,
f"placement/{g}/{i}")`` only, so groups and instances never shift each other's values.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from simgen.errors import SimgenError
from simgen.rng import stream
from simgen.world.conventions import pose_from_xyz_yaw, project
from simgen.world.layout import Layout, Region

#: gap kept between objects of different groups (metres)
DEFAULT_GAP = 0.1
MAX_TRIES = 400


class PlacementError(SimgenError):
    """A placement constraint cannot be met."""


# ---- footprints ---------------------------------------------------------------------------------------------

def local_footprint(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(4, 2) object-frame xy corners (CCW) of the axis-aligned bounds (lo, hi), each (3,) or (2,)."""
    return np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]], float)


def footprints(local: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """World footprints: local (4, 2) corners and poses (T, 4, 4) -> (T, 4, 2) float64 xy."""
    poses = np.asarray(poses, float).reshape(-1, 4, 4)
    return np.einsum("tij,kj->tki", poses[:, :2, :2], local) + poses[:, None, :2, 3]


def _axes(rects: np.ndarray) -> np.ndarray:
    """(..., 4, 2) rectangles -> (..., 2, 2) unit edge normals (two per rectangle)."""
    e0 = rects[..., 1, :] - rects[..., 0, :]
    e1 = rects[..., 2, :] - rects[..., 1, :]
    n = np.stack([e0, e1], -2)
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)


def rects_clear(a: np.ndarray, b: np.ndarray, gap=0.0) -> np.ndarray:
    """Do rectangles a and b (broadcastable (..., 4, 2)) keep at least ``gap`` metres apart? -> (...) bool.

    gap: a float or an array broadcastable to the result's shape (...)."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    axes = np.concatenate([_axes(a), _axes(b)], -2)  # (..., 4, 2)
    pa = np.einsum("...kd,...ad->...ak", a, axes)  # (..., 4 axes, 4 corners)
    pb = np.einsum("...kd,...ad->...ak", b, axes)
    sep = np.maximum(pb.min(-1) - pa.max(-1), pa.min(-1) - pb.max(-1))  # (..., 4)
    return np.any(sep >= np.asarray(gap, float)[..., None] - 1e-9, -1)


def inside_region(region: Region, corners: np.ndarray, whole: bool = False) -> bool:
    """The footprint's centre lies in the region, and its corners (4, 2) lie in the region grown by the
    amount the object is wider/longer than the region (objects wider than a sidewalk stand on its middle);
    ``whole``: every corner inside the region itself (no growing)."""
    loc = region.to_local(corners)
    centre = loc.mean(0)
    ext = loc.max(0) - loc.min(0)
    slack = 1e-6 if whole else np.maximum(0.0, (ext - [region.length, region.width]) / 2) + 1e-6
    half = np.array([region.length, region.width]) / 2
    return bool(np.all(np.abs(centre) <= half + 1e-6) and np.all(np.abs(loc) <= half + slack))


# ---- motion -------------------------------------------------------------------------------------------------

def polyline_poses(points: np.ndarray, s: np.ndarray, loop: bool = False) -> np.ndarray:
    """Poses at arc lengths ``s`` (T,) along a polyline ``points`` (K, 3): position on the path, yaw along the
    current segment. Beyond the end the object stops there (or wraps around when ``loop``). -> (T, 4, 4)."""
    pts = np.asarray(points, float)
    if loop:
        pts = np.concatenate([pts, pts[:1]])
    seg = np.diff(pts, axis=0)
    seg_len = np.linalg.norm(seg[:, :2], axis=1)
    keep = seg_len > 1e-9
    if not keep.any():
        raise PlacementError("waypoints: the path has zero length")
    starts = np.concatenate([[0.0], np.cumsum(seg_len)])
    total = starts[-1]
    s = np.asarray(s, float)
    s = np.mod(s, total) if loop else np.clip(s, 0.0, total)
    out = np.empty((len(s), 4, 4))
    for t, st in enumerate(s):
        k = int(np.clip(np.searchsorted(starts, st, side="right") - 1, 0, len(seg) - 1))
        while not keep[k] and k > 0:
            k -= 1
        f = 0.0 if seg_len[k] < 1e-9 else (st - starts[k]) / seg_len[k]
        p = pts[k] + f * seg[k]
        out[t] = pose_from_xyz_yaw(p[0], p[1], p[2], math.atan2(seg[k, 1], seg[k, 0]))
    return out


def motion_poses(start: np.ndarray, kind: str, speed: float, times: np.ndarray,
                 waypoints: np.ndarray | None = None, loop: bool = False, start_offset: float = 0.0,
                 start_time: float = 0.0) -> np.ndarray:
    """(T, 4, 4) world_from_object at ``times`` (T,) seconds.

    static: ``start`` at every frame. constant_velocity: moves along its own +x at ``speed`` m/s from
    ``start_time`` on. waypoints: (K, 3) world points followed at ``speed`` from arc length ``start_offset``
    (``start`` is ignored: the path fixes position and heading).
    """
    times = np.asarray(times, float)
    if kind == "static" or (kind == "constant_velocity" and speed == 0.0):
        return np.repeat(np.asarray(start, float)[None], len(times), 0)
    if kind == "constant_velocity":
        d = np.maximum(times - start_time, 0.0) * speed
        out = np.repeat(np.asarray(start, float)[None], len(times), 0)
        out[:, :3, 3] += d[:, None] * np.asarray(start, float)[:3, 0]
        return out
    if kind == "waypoints":
        if waypoints is None or len(waypoints) < 2:
            raise PlacementError("motion 'waypoints' needs at least 2 waypoints")
        return polyline_poses(waypoints, start_offset + np.maximum(times - start_time, 0.0) * speed, loop)
    raise PlacementError(f"unknown motion kind '{kind}' (known: static, constant_velocity, waypoints)")


# ---- the camera view used by the constraints ----------------------------------------------------------------

@dataclass(frozen=True)
class CameraView:
    """A camera at frame 0: K (3, 3), world_from_camera (4, 4, OpenCV), image size in pixels, and its lens when
    it is not the default pinhole (then ``sees`` projects through the lens)."""

    K: np.ndarray
    world_from_camera: np.ndarray
    width: int
    height: int
    near: float = 0.1
    lens: object = None

    @property
    def position(self) -> np.ndarray:
        return np.asarray(self.world_from_camera)[:3, 3]

    def sees(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """(N,) bool: world points (N, 3) in front of the camera (depth > near) and inside the image, where
        the image spans pixel centres 0..W-1, 0..H-1 (shrunk by ``margin`` pixels)."""
        pts = np.asarray(points, float).reshape(-1, 3)
        if self.lens is not None:
            uv, z, imaged = self.lens.project(pts, self.world_from_camera)
            z = np.where(imaged, z, -np.inf)
        else:
            uv, z = project(pts, self.K, self.world_from_camera)
        with np.errstate(invalid="ignore"):
            return ((z > self.near) & (uv[:, 0] >= -0.5 + margin) & (uv[:, 0] <= self.width - 0.5 - margin)
                    & (uv[:, 1] >= -0.5 + margin) & (uv[:, 1] <= self.height - 0.5 - margin))


# ---- requests and results -----------------------------------------------------------------------------------

@dataclass
class GroupRule:
    """Where the instances of one group may stand (all literals; lengths m, angles deg)."""

    name: str
    region: str
    side: str = "any"
    lane_index: int | None = None
    x_range: tuple[float, float] | None = None
    distance: tuple[float, float] | None = None
    spacing: float = 1.0
    heading: str = "along_traffic"
    heading_jitter_deg: float = 0.0
    visible: bool = False
    #: the camera the visibility / distance / facing_camera rules refer to (None = the first)
    camera: str | None = None
    #: extra test of a candidate: ``accept(instance index, poses (T, 4, 4)) -> None`` (accepted) or the name of the
    #: constraint that failed (e.g. :mod:`simgen.world.occlusion`'s emerge_by_frame)
    accept: object = None
    #: the whole footprint inside the region (no growing for objects wider than it), and for "roadside" only the
    #: verges at road level, never the sidewalk's furniture strip: a car never stands half on a sidewalk
    whole: bool = False
    #: share of instances placed beside the one placed before them (same heading and speed, side by side)
    together: float = 0.0


@dataclass
class InstanceRequest:
    """One object to place: its object-frame bounds (lo, hi: (3,) m) and motion."""

    index: int
    lo: np.ndarray
    hi: np.ndarray
    heading_deg: float | None = None
    motion: str = "static"
    speed: float = 0.0
    waypoints: np.ndarray | None = None
    loop: bool = False
    #: bounds used for the region check (default lo, hi); lo/hi are the collision bounds (e.g. below 2 m)
    full_lo: np.ndarray | None = None
    full_hi: np.ndarray | None = None
    #: a behaviour's motion (:mod:`simgen.world.behaviour`): ``motion_fn(start (4, 4), region) -> poses (T, 4, 4)``
    #: or None when no path from this start works; replaces ``motion``/``speed`` and the stay-in-region check
    motion_fn: object = None


@dataclass
class Placed:
    """A placed object: poses (T, 4, 4) world_from_object, footprints (T, 4, 2), the region it stands in."""

    name: str
    group: str
    poses: np.ndarray
    footprints: np.ndarray
    region: Region | None = None
    gap: float = DEFAULT_GAP
    #: the instance this one walks beside (``together``), and the speed they share
    beside: str | None = None
    speed: float = 0.0


HEADINGS = ("along_traffic", "against_traffic", "along_road", "towards_road", "away_from_road", "facing_camera",
            "away_from_camera", "along_view", "random")
#: the smallest gap between the footprints of two people walking side by side (m)
COMPANION_GAP = 0.05
#: headings that depend on where the instance stands relative to the camera (recomputed at the final position)
CAMERA_HEADINGS = ("facing_camera", "away_from_camera", "along_view")


@dataclass
class Placer:
    """Places objects one by one, keeping every earlier object (and the ego path) as an obstacle."""

    layout: Layout
    camera: CameraView
    times: np.ndarray
    seed: int
    scene: str
    variant: int
    placed: list[Placed] = field(default_factory=list)
    max_tries: int = MAX_TRIES
    #: (M, 4) broad-phase boxes of ``placed`` (xmin, ymin, xmax, ymax over all frames)
    _box_arr: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)), repr=False)
    #: every camera's view at frame 0 by name, for rules that name a camera (``camera`` is the first one's)
    views: dict = field(default_factory=dict)

    def view(self, rule: GroupRule) -> CameraView:
        """The camera view a group's rules refer to: the named camera's, else the first camera's."""
        if rule.camera is None:
            return self.camera
        if rule.camera not in self.views:
            raise PlacementError(f"group '{rule.name}': unknown camera '{rule.camera}' "
                                 f"(cameras: {', '.join(sorted(self.views))})")
        return self.views[rule.camera]

    # obstacles --------------------------------------------------------------------------------------------
    def add(self, item: Placed) -> None:
        """Keep ``item`` as an obstacle (its footprints must not change afterwards)."""
        self.placed.append(item)
        fp = item.footprints
        box = np.array([[fp[..., 0].min(), fp[..., 1].min(), fp[..., 0].max(), fp[..., 1].max()]])
        self._box_arr = np.concatenate([self._box_arr, box])

    def _boxes(self) -> np.ndarray:
        """(M, 4) xmin, ymin, xmax, ymax of every placed object's footprints over all frames."""
        if len(self.placed) != len(self._box_arr):
            raise RuntimeError("placed objects changed behind the placer's back")
        return self._box_arr

    def clear_of_all(self, fp: np.ndarray, group: str, spacing: float, ignore: tuple[str, ...] = ()) -> str | None:
        """None if footprints (T, 4, 2) keep clear of every placed object at every frame, else the name of the
        first object hit. Objects of ``group`` keep ``spacing``, others DEFAULT_GAP; groups in ``ignore`` are
        skipped."""
        # broad phase: axis-aligned boxes over all frames, grown by the largest gap
        reach = max(spacing, DEFAULT_GAP) + 1e-6
        box = np.array([fp[..., 0].min(), fp[..., 1].min(), fp[..., 0].max(), fp[..., 1].max()])
        boxes = self._boxes()
        near = ((boxes[:, 0] <= box[2] + reach) & (boxes[:, 2] >= box[0] - reach) & (boxes[:, 1] <= box[3] + reach)
                & (boxes[:, 3] >= box[1] - reach))
        placed = [p for p, n in zip(self.placed, near) if n and p.group not in ignore]
        if not placed:
            return None
        others = np.stack([p.footprints for p in placed])  # (M, T, 4, 2)
        gaps = np.array([spacing if p.group == group else DEFAULT_GAP for p in placed])
        ok = rects_clear(fp[None], others, gaps[:, None])  # (M, T)
        bad = np.nonzero(~ok.all(-1))[0]
        return None if len(bad) == 0 else placed[int(bad[0])].name

    # regions ----------------------------------------------------------------------------------------------
    def regions_for(self, rule: GroupRule) -> list[Region]:
        kinds = ("lane", "oncoming_lane", "parking", "sidewalk", "crosswalk", "roadside", "shop_window", "cross_lane")
        if rule.region not in kinds:
            raise PlacementError(f"objects.{rule.name}: unknown region '{rule.region}' (known: {', '.join(kinds)})")
        regs = self.layout.regions_of(rule.region, None if rule.side == "any" else rule.side)
        if rule.lane_index is not None and rule.region in ("lane", "oncoming_lane", "cross_lane"):
            regs = [r for r in regs if r.lane_index == rule.lane_index]
        if rule.region == "cross_lane":  # cross traffic: the cross road's lanes that lead into the junction
            regs = [r for r in regs if "/in/" in r.name]
        if rule.whole and rule.region == "roadside":
            strips = [r for r in regs if r.z > 0]
            regs = [r for r in regs if r.z <= 0]
            if strips and not regs:
                raise PlacementError(
                    f"objects.{rule.name}: a vehicle cannot stand on the 'roadside' of side '{rule.side}': buildings "
                    f"stand flush with the sidewalk there, so the roadside is the sidewalk's furniture strip "
                    f"({strips[0].width:.1f} m wide, on the sidewalk). Use region parking (road.parking_lane: true), "
                    "a road.buildings.setback_m wide enough for the vehicle, or a side without buildings")
        if not regs:
            hint = {"parking": " (set road.parking_lane: true)",
                    "shop_window": " (needs buildings with shop windows on that side)",
                    "crosswalk": " (add road.crosswalks)",
                    "roadside": " (the verge exists where a side has no buildings, or with road.buildings.setback_m"
                                " >= 0.5)",
                    "lane": f" (the road has {self.layout.params.lanes_per_direction} lane(s) per direction)",
                    "oncoming_lane": f" (the road has {self.layout.params.lanes_per_direction} lane(s) per "
                                     "direction)",
                    "sidewalk": " (road.sidewalk_width_m is 0)",
                    "cross_lane": " (needs road.layout t_junction or intersection_4way; a T-junction's cross road "
                                  "is on the left)"}.get(rule.region, "")
            raise PlacementError(f"objects.{rule.name}: the road has no '{rule.region}' region on side "
                                 f"'{rule.side}'{hint}")
        return regs

    def _along_window(self, region: Region, rule: GroupRule) -> tuple[float, float] | None:
        """Interval of along-axis offsets worth sampling (x_range and distance clip axis-aligned regions)."""
        hl = region.length / 2
        lo, hi = -hl, hl
        a, _ = region.axes
        cx, cy = region.center
        boxes = []
        if rule.x_range is not None:
            boxes.append(("x", rule.x_range[0], rule.x_range[1]))
        if rule.distance is not None:
            c = self.view(rule).position
            d = rule.distance[1] + 1.0
            boxes += [("x", c[0] - d, c[0] + d), ("y", c[1] - d, c[1] + d)]
        for axis, b0, b1 in boxes:
            comp, centre = (a[0], cx) if axis == "x" else (a[1], cy)
            if abs(comp) > 0.999:  # region runs along this axis: clip the along interval
                t0, t1 = sorted(((b0 - centre) / comp, (b1 - centre) / comp))
                lo, hi = max(lo, t0), min(hi, t1)
            elif centre + region.width / 2 < b0 or centre - region.width / 2 > b1:  # runs across: overlap?
                return None
        return (lo, hi) if hi >= lo else None

    def heading_for(self, rule: GroupRule, region: Region, xy: np.ndarray, rng: np.random.Generator) -> float:
        """Yaw (rad) from the group's heading rule at position xy (2,)."""
        h = rule.heading
        if h not in HEADINGS:
            raise PlacementError(f"objects.{rule.name}: unknown heading '{h}' (known: {', '.join(HEADINGS)})")
        if h in ("along_traffic", "against_traffic"):
            if region.kind in ("sidewalk", "roadside") and region.road == "main":
                base = 0.0 if region.side == "right" else math.pi
            elif region.bidirectional:
                base = region.heading_rad + (math.pi if rng.random() < 0.5 else 0.0)
            else:
                base = region.heading_rad
            return base + (math.pi if h == "against_traffic" else 0.0)
        if h == "along_road":
            return 0.0
        if h in ("towards_road", "away_from_road"):
            if region.road == "main":
                base = -math.pi / 2 if xy[1] > 0 else math.pi / 2
            else:
                jx = self.layout.params.junction_x or 0.0
                base = math.pi if xy[0] > jx else 0.0
            return base + (math.pi if h == "away_from_road" else 0.0)
        if h in CAMERA_HEADINGS:
            c = self.view(rule).position
            towards = math.atan2(c[1] - xy[1], c[0] - xy[0])
            away = h == "away_from_camera" or (h == "along_view" and rng.random() < 0.5)
            return towards + (math.pi if away else 0.0)
        return float(rng.uniform(0.0, 2 * math.pi))

    # the sampler ------------------------------------------------------------------------------------------
    def place_group(self, rule: GroupRule, instances: list[InstanceRequest]) -> list[Placed]:
        """Place every instance of a group; raises :class:`PlacementError` naming the group and the constraint."""
        regions = self.regions_for(rule)
        windows = [(r, self._along_window(r, rule)) for r in regions]
        windows = [(r, w) for r, w in windows if w is not None]
        if not windows:
            raise PlacementError(f"objects.{rule.name}: no '{rule.region}' region lies within x_range_m "
                                 f"{rule.x_range} / distance_m {rule.distance}")
        weights = np.array([(w[1] - w[0] + 0.1) * r.width for r, w in windows])
        weights /= weights.sum()
        out = []
        for inst in instances:
            rng = stream(self.seed, self.scene, self.variant, f"placement/{rule.name}/{inst.index}")
            local = local_footprint(inst.lo, inst.hi)
            full = local_footprint(inst.lo if inst.full_lo is None else inst.full_lo,
                                   inst.hi if inst.full_hi is None else inst.full_hi)
            fails: Counter[str] = Counter()
            leader = None
            if out and rule.together > 0 and inst.motion_fn is None and stream(
                    self.seed, self.scene, self.variant, f"placement/{rule.name}/{inst.index}/together").random() \
                    < rule.together:
                leader = out[-1]
            speed = inst.speed
            for attempt in range(self.max_tries):
                if leader is not None and attempt < self.max_tries // 2:  # beside the leader, else alone
                    region, xy, yaw = self._beside(leader, rng)
                    speed = leader.speed
                else:
                    region, xy, yaw = self._candidate(rule, inst, windows, weights, full, rng)
                    speed = inst.speed
                z = float(self.layout.ground_z(xy)[0])
                start = pose_from_xyz_yaw(xy[0], xy[1], z, yaw)
                if not inside_region(region, footprints(full, start)[0], rule.whole):
                    fails["inside the region" if not rule.whole else
                          f"fits inside the region ({region.width:.1f} m wide; the object is "
                          f"{float(np.ptp(region.to_local(footprints(full, start)[0])[:, 1])):.1f} m across)"] += 1
                    continue
                if rule.x_range is not None and not (rule.x_range[0] <= xy[0] <= rule.x_range[1]):
                    fails["x_range_m"] += 1
                    continue
                centre = start[:3, :3] @ ((inst.lo + inst.hi) / 2) + start[:3, 3]
                if rule.distance is not None:
                    d = float(np.linalg.norm(centre[:2] - self.view(rule).position[:2]))
                    if not (rule.distance[0] <= d <= rule.distance[1]):
                        fails["distance_m"] += 1
                        continue
                if rule.visible and not self.view(rule).sees(centre[None])[0]:
                    fails["visible"] += 1
                    continue
                if inst.motion_fn is not None:
                    poses = inst.motion_fn(start, region)
                    if poses is None:
                        fails["the behaviour's path stays on the road"] += 1
                        continue
                else:
                    poses = motion_poses(start, inst.motion, speed, self.times, inst.waypoints, inst.loop)
                fp = footprints(local, poses)
                # objects heading towards / away from the road are meant to leave their region (a child running
                # out onto the road); everything else keeps to it
                if inst.motion_fn is None and rule.heading not in ("towards_road", "away_from_road") and len(poses) > 1 and not all(
                        inside_region(region, f, rule.whole) for f in footprints(full, poses[1:])):
                    fails["stays inside the region while moving"] += 1
                    continue
                beside = leader is not None and attempt < self.max_tries // 2
                hit = self.clear_of_all(fp, rule.name, min(rule.spacing, COMPANION_GAP) if beside else rule.spacing)
                if hit is not None:
                    fails[f"spacing / no overlap (with {hit.split('#')[0]})"] += 1
                    continue
                if rule.accept is not None:
                    why = rule.accept(inst.index, poses)
                    if why is not None:
                        fails[why] += 1
                        continue
                item = Placed(f"{rule.name}#{inst.index}", rule.name, poses, fp, region,
                              beside=leader.name if beside else None, speed=speed)
                self.add(item)
                out.append(item)
                break
            else:
                worst, n = fails.most_common(1)[0]
                raise PlacementError(
                    f"objects.{rule.name}: could not place instance {inst.index + 1} of {len(instances)} in region "
                    f"'{rule.region}' (side {rule.side}) after {self.max_tries} tries; the constraint that failed "
                    f"most often: {worst} ({n} of {self.max_tries} tries). Loosen it, lower the count, or widen "
                    "the region.")
        return out

    def _candidate(self, rule: GroupRule, inst: InstanceRequest, windows, weights, full: np.ndarray,
                   rng: np.random.Generator) -> tuple[Region, np.ndarray, float]:
        """A random start on one of the windows: (region, xy (2,), yaw)."""
        region, (a0, a1) = windows[int(rng.choice(len(windows), p=weights))]
        along = rng.uniform(a0, a1)
        u = rng.uniform(-1.0, 1.0)
        xy = region.to_world(np.array([[along, 0.0]]))[0]
        if inst.heading_deg is not None:
            yaw = math.radians(inst.heading_deg)
        else:
            yaw = self.heading_for(rule, region, xy, rng)
        if rule.heading_jitter_deg > 0:
            yaw += math.radians(rng.uniform(-rule.heading_jitter_deg, rule.heading_jitter_deg))
        # lateral offset: as far as the object's extent across the region allows
        ext = region.to_local(footprints(full, pose_from_xyz_yaw(0.0, 0.0, 0.0, yaw))[0]
                              + np.asarray(region.center))
        lat_room = max(0.0, (region.width - float(np.ptp(ext[:, 1]))) / 2)
        lat_room = lat_room - abs(float(ext[:, 1].max() + ext[:, 1].min())) / 2 if lat_room > 0 else 0.0
        if region.kind in ("lane", "oncoming_lane", "parking", "cross_lane"):
            lat_room = min(max(lat_room, 0.0), 0.25 * region.width / 2)  # vehicles near the lane centre
        xy = region.to_world(np.array([[along, u * max(lat_room, 0.0)]]))[0]
        if rule.heading in CAMERA_HEADINGS and inst.heading_deg is None:
            yaw = self.heading_for(rule, region, xy, rng)
            if rule.heading_jitter_deg > 0:
                yaw += math.radians(rng.uniform(-rule.heading_jitter_deg, rule.heading_jitter_deg))
        return region, xy, yaw

    def _beside(self, leader: Placed, rng: np.random.Generator) -> tuple[Region, np.ndarray, float]:
        """A start beside ``leader``'s first pose: 0.55-0.8 m to its left or right, up to 0.3 m ahead or behind,
        heading within 4 degrees of it."""
        lp = leader.poses[0]
        fwd = lp[:2, 0] / max(float(np.linalg.norm(lp[:2, 0])), 1e-9)
        left = np.array([-fwd[1], fwd[0]])
        side = 1.0 if rng.random() < 0.5 else -1.0
        xy = lp[:2, 3] + side * rng.uniform(0.55, 0.8) * left + rng.uniform(-0.3, 0.3) * fwd
        yaw = math.atan2(fwd[1], fwd[0]) + math.radians(rng.uniform(-4.0, 4.0))
        return leader.region, xy, yaw

    def place_explicit(self, name: str, group: str, index: int, start: np.ndarray, inst: InstanceRequest,
                       check: bool = False, spacing: float = 0.0, poses: np.ndarray | None = None) -> Placed:
        """An object at a given start pose (explicit pose) or with given ``poses`` (T, 4, 4) (a waypoint path).
        With ``check``, it must keep clear of every earlier object."""
        local = local_footprint(inst.lo, inst.hi)
        if poses is None and inst.motion_fn is not None:
            poses = inst.motion_fn(start, None)
            if poses is None:
                raise PlacementError(f"objects.{group}: instance {index + 1}: its path leaves the road")
        if poses is None:
            poses = motion_poses(start, inst.motion, inst.speed, self.times, inst.waypoints, inst.loop)
        fp = footprints(local, poses)
        if check:
            hit = self.clear_of_all(fp, group, spacing)
            if hit is not None:
                raise PlacementError(f"objects.{group}: instance {index + 1} overlaps '{hit}'")
        item = Placed(f"{group}#{index}", group, poses, fp, None)
        self.add(item)
        return item


# ---- reflection geometry ------------------------------------------------------------------------------------

def mirror_point(points: np.ndarray, plane_point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Reflect (N, 3) points about the plane through ``plane_point`` with unit ``normal`` -> (N, 3)."""
    p = np.asarray(points, float).reshape(-1, 3)
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    d = (p - plane_point) @ n
    return p - 2 * d[:, None] * n


def ray_hits_rectangle(origin: np.ndarray, targets: np.ndarray, corner: np.ndarray, e1: np.ndarray,
                       e2: np.ndarray) -> np.ndarray:
    """(N,) bool: does the segment origin -> target hit the parallelogram corner + s e1 + t e2, s, t in [0, 1]?"""
    o = np.asarray(origin, float)
    tg = np.asarray(targets, float).reshape(-1, 3)
    n = np.cross(e1, e2)
    d = tg - o
    denom = d @ n
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = ((corner - o) @ n) / denom
        hit = o + lam[:, None] * d
        rel = hit - corner
        s = rel @ e1 / (e1 @ e1)
        t = rel @ e2 / (e2 @ e2)
    return (np.abs(denom) > 1e-12) & (lam > 0) & (lam < 1) & (s >= 0) & (s <= 1) & (t >= 0) & (t <= 1)
