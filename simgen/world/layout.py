"""Road layouts: stuff geometry (road, markings, crosswalks, curbs, sidewalks, terrain, buildings, shop windows)
and the regions that placement samples from.

Frame (see :mod:`simgen.world.conventions`): world right-handed, z up, metres. The main road runs along +x
from x = 0 to x = ``length``, centred on y = 0. Traffic keeps right: lanes with y < 0 carry traffic along +x,
lanes with y > 0 along −x. The road surface is the plane z = 0; sidewalks are raised to z = ``curb_height``.

A T-junction has one cross arm on the left (y > 0) at x = ``junction_x``; a 4-way intersection has arms on both
sides. Every stuff part is one :class:`StuffPart` (one renderer object); its vertices are already in world
coordinates (its pose is the identity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from simgen.errors import SimgenError
from simgen.world.buildings import detailed_building, upper_glass_material
from simgen.world.model import Entity, Material, Mesh

LayoutKind = Literal["straight", "t_junction", "intersection_4way"]
#: placement region kinds (the spec's names); "cross_lane" regions exist on junction arms for plotting only
REGION_KINDS: tuple[str, ...] = ("lane", "oncoming_lane", "parking", "sidewalk", "crosswalk", "roadside",
                                 "shop_window", "cross_lane")

#: height of lane markings and crosswalk stripes above the road surface (metres)
MARKING_Z = 0.005
#: height of the terrain plane (slightly below the road so the two never fight for depth)
TERRAIN_Z = -0.02
#: width of the verge beyond a sidewalk that has no building behind it (metres)
VERGE_WIDTH = 3.0
#: width of the curb-side furniture strip of a sidewalk (the "roadside" where buildings stand flush), metres
FURNITURE_STRIP = 0.8


class LayoutError(SimgenError):
    """The road parameters cannot make a consistent layout."""


@dataclass
class Facade:
    """One building along the main road: street facade spans x0..x1 at y (sign = side), height in metres."""

    side: str
    x0: float
    x1: float
    y: float
    height: float
    colour: tuple[float, float, float] = (0.42, 0.2, 0.14)
    texture: str = "brick"
    window_xs: tuple[float, ...] = ()
    #: brick, plaster, concrete or glass (curtain wall); used by detailed facades
    material: str = "brick"
    #: storeys, recessed windows with rooms, doors, shop fronts, signs, balconies, cornices
    #: (:mod:`simgen.world.buildings`); False = a plain box
    detailed: bool = False
    storey_height: float = 3.2
    balconies: bool = False
    #: share of upper-storey rooms with the light on
    lit_windows: float = 0.25
    #: seed of the building's random detail (window grid, colours, lit rooms, blinds)
    seed: int = 0


@dataclass
class RoadParams:
    """Plain parameters of a road layout (all lengths in metres).

    Cross-section of one side, from the centre line: driving lanes, the parking strip (one lane wide, if any) up
    to ``half_width``; the sidewalk (curb included: its first ``curb_width``) up to ``half_width +
    sidewalk_width``; a setback; the facade.
    """

    layout: LayoutKind = "straight"
    length: float = 120.0
    lanes_per_direction: int = 1
    lane_width: float = 3.5
    parking_lane: bool = False
    sidewalk_width: float = 2.5
    curb_height: float = 0.15
    curb_width: float = 0.2
    marking_style: str = "dashed"
    edge_lines: bool = True
    marking_width: float = 0.15
    dash_length: float = 3.0
    gap_length: float = 6.0
    #: (x centre, extent along x, stripe width) of each zebra crossing
    crosswalks: tuple[tuple[float, float, float], ...] = ()
    junction_x: float | None = None
    cross_arm_length: float = 60.0
    #: buildings; None: a row on each of ``building_sides`` generated with the rng
    facades: list[Facade] | None = None
    building_sides: tuple[str, ...] = ("left", "right")
    building_width: float = 15.0
    building_height: tuple[float, float] = (8.0, 18.0)
    building_depth: float = 10.0
    setback: float = 0.0
    shop_windows_per_building: int = 2
    window_width: float = 2.5
    window_height: float = 2.2
    window_sill: float = 0.5
    window_thickness: float = 0.03
    window_reflectivity: float = 0.9
    window_interior_light: bool = False
    ground: str = "grass"
    sidewalk_surface: str = "paving"
    surface_texture: str = "asphalt"
    #: 0 = dry asphalt, 1 = soaked (lowers the road's roughness)
    wetness: float = 0.0
    #: road wear 0..1 (patches, cracks, tyre tracks, stains) and paint wear of markings and crosswalks 0..1
    surface_wear: float = 0.0
    marking_wear: float = 0.0
    #: a night scene (lit rooms, shops and signs glow brighter than by day)
    night: bool = False
    #: factor on the night glow of rooms, shops and signs (twilight: simgen.world.photometry)
    light_scale: float = 1.0
    terrain_margin: float = 150.0

    @property
    def half_width(self) -> float:
        """|y| of the curb face: driving lanes plus the parking strip."""
        return self.lanes_per_direction * self.lane_width + (self.lane_width if self.parking_lane else 0.0)


@dataclass(frozen=True)
class Region:
    """An oriented rectangle on a surface, where objects may stand.

    center: (x, y) metres; heading_rad: direction of the long axis (for lanes, the direction of travel; for a
    window front, the direction that faces the window); length along that axis, width across it; z: surface
    height. ``bidirectional``: objects moving "along" the region may go either way (sidewalks, crosswalks).
    """

    name: str
    kind: str
    center: tuple[float, float]
    heading_rad: float
    length: float
    width: float
    z: float = 0.0
    side: str | None = None
    road: str = "main"
    lane_index: int | None = None
    bidirectional: bool = False
    window: str | None = None

    @property
    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """(along, across) unit vectors, each (2,) float64; across = along rotated +90°."""
        c, s = math.cos(self.heading_rad), math.sin(self.heading_rad)
        return np.array([c, s]), np.array([-s, c])

    @property
    def area(self) -> float:
        return self.length * self.width

    def to_local(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) world xy -> (N, 2) (along, across) offsets from the centre, metres."""
        a, b = self.axes
        d = np.asarray(xy, float).reshape(-1, 2) - np.asarray(self.center)
        return np.stack([d @ a, d @ b], -1)

    def to_world(self, local: np.ndarray) -> np.ndarray:
        """(N, 2) (along, across) offsets -> (N, 2) world xy."""
        a, b = self.axes
        loc = np.asarray(local, float).reshape(-1, 2)
        return np.asarray(self.center) + loc[:, :1] * a + loc[:, 1:] * b

    def contains(self, xy: np.ndarray, slack: float = 1e-6) -> np.ndarray:
        """(N,) bool: points (N, 2) inside the rectangle grown by ``slack`` metres."""
        loc = self.to_local(xy)
        return (np.abs(loc[:, 0]) <= self.length / 2 + slack) & (np.abs(loc[:, 1]) <= self.width / 2 + slack)

    def corners(self) -> np.ndarray:
        """(4, 2) world xy corners, counter-clockwise."""
        hl, hw = self.length / 2, self.width / 2
        return self.to_world(np.array([[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]]))


@dataclass(frozen=True)
class WindowInfo:
    """A shop window pane. center: (3,) centre of the pane's outer (street-side) face; normal: (3,) unit, points
    to the street; u: (3,) unit horizontal axis in the pane; width along u, height along z (metres)."""

    name: str
    center: tuple[float, float, float]
    normal: tuple[float, float, float]
    u: tuple[float, float, float]
    width: float
    height: float
    side: str

    def corners(self) -> np.ndarray:
        """(4, 3) outer-face corners: bottom-left, bottom-right, top-right, top-left (seen from the street)."""
        c, u = np.array(self.center), np.array(self.u)
        z = np.array([0.0, 0.0, 1.0])
        hw, hh = self.width / 2, self.height / 2
        return np.array([c - hw * u - hh * z, c + hw * u - hh * z, c + hw * u + hh * z, c - hw * u + hh * z])


@dataclass
class StuffPart:
    """One stuff object (one renderer object) with world-space vertices."""

    name: str
    class_name: str
    mesh: Mesh
    materials: list[Material]
    attributes: dict = field(default_factory=dict)

    def entity(self, frame_count: int) -> Entity:
        """An :class:`Entity` with the identity pose at every frame (instance id 0)."""
        poses = np.repeat(np.eye(4)[None], frame_count, 0)
        return Entity(self.name, self.class_name, self.mesh, self.materials, poses, 0,
                      attributes=dict(self.attributes))


@dataclass
class Layout:
    """A built road layout: stuff parts, placement regions, shop windows, and the road-surface rectangles."""

    params: RoadParams
    parts: list[StuffPart]
    regions: list[Region]
    windows: list[WindowInfo]
    #: rectangles (as Regions of kind "road") whose union is the drivable surface
    road_surface: list[Region]

    def entities(self, frame_count: int) -> list[Entity]:
        return [p.entity(frame_count) for p in self.parts]

    def regions_of(self, kind: str, side: str | None = None, road: str | None = None,
                   lane_index: int | None = None) -> list[Region]:
        """Regions of one kind, optionally filtered by side ("left" y>0 / "right" y<0), road and lane index."""
        if kind not in REGION_KINDS:
            raise LayoutError(f"unknown region kind '{kind}' (known: {', '.join(REGION_KINDS)})")
        out = [r for r in self.regions if r.kind == kind]
        if side is not None:
            out = [r for r in out if r.side == side]
        if road is not None:
            out = [r for r in out if r.road == road]
        if lane_index is not None:
            out = [r for r in out if r.lane_index == lane_index]
        return out

    def ground_z(self, xy: np.ndarray) -> np.ndarray:
        """(N,) float64 height of the walkable surface at points (N, 2): the sidewalk top (curb height) on
        sidewalks and curbs, else 0 (road, verge, terrain within 2 cm)."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        on_walk = np.zeros(len(xy), bool)
        for r in self.regions:
            if r.kind == "sidewalk":
                on_walk |= r.contains(xy, slack=self.params.curb_width + 1e-6)
        return np.where(on_walk & ~self.on_road(xy, slack=-1e-6), self.params.curb_height, 0.0)

    def on_road(self, xy: np.ndarray, slack: float = 1e-6) -> np.ndarray:
        """(N,) bool: points (N, 2) on the road surface."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        inside = np.zeros(len(xy), bool)
        for r in self.road_surface:
            inside |= r.contains(xy, slack)
        return inside

    @property
    def half_width(self) -> float:
        """Half width of the main roadway (curb face to curb face), metres."""
        return self.params.half_width

    def lane_center_y(self, lane_index: int = 0, direction: int = +1) -> float:
        """y of a main-road lane's centre line; lane 0 is next to the centre line; direction +1 = along +x."""
        lw = self.params.lane_width
        y = (lane_index + 0.5) * lw
        return -y if direction > 0 else y


# ---- mesh helpers -------------------------------------------------------------------------------------------

def _box(x0, x1, y0, y1, z0, z1, mat: int = 0, top_mat: int | None = None):
    """Closed axis-aligned box: (8, 3) vertices, (12, 3) faces (CCW from outside), (12,) material ids."""
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float)
    f = np.array([[0, 2, 1], [0, 3, 2],  # bottom (-z)
                  [4, 5, 6], [4, 6, 7],  # top (+z)
                  [0, 1, 5], [0, 5, 4],  # -y
                  [1, 2, 6], [1, 6, 5],  # +x
                  [2, 3, 7], [2, 7, 6],  # +y
                  [3, 0, 4], [3, 4, 7]])  # -x
    m = np.full(12, mat, np.int64)
    if top_mat is not None:
        m[2:4] = top_mat
    return v, f, m


def _quad(x0, x1, y0, y1, z, mat: int = 0):
    """Upward-facing horizontal quad as 2 triangles."""
    v = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], float)
    return v, np.array([[0, 1, 2], [0, 2, 3]]), np.full(2, mat, np.int64)


def _oriented_quad(center, heading, length, width, z, mat: int = 0):
    c, s = math.cos(heading), math.sin(heading)
    a, b = np.array([c, s]), np.array([-s, c])
    hl, hw = length / 2, width / 2
    pts = [np.asarray(center) + sa * hl * a + sb * hw * b for sa, sb in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    v = np.array([[p[0], p[1], z] for p in pts])
    return v, np.array([[0, 1, 2], [0, 2, 3]]), np.full(2, mat, np.int64)


def merge(parts) -> Mesh:
    """Concatenate (vertices, faces, materials) triples into one :class:`Mesh`."""
    vs, fs, ms, off = [], [], [], 0
    for v, f, m in parts:
        vs.append(np.asarray(v, float))
        fs.append(np.asarray(f, np.int64) + off)
        ms.append(np.asarray(m, np.int64))
        off += len(v)
    if not vs:
        raise ValueError("merge: no parts")
    return Mesh(np.concatenate(vs), np.concatenate(fs), np.concatenate(ms))


def _intervals_minus(lo: float, hi: float, holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """[lo, hi] minus a set of intervals; pieces shorter than 0.5 m are dropped."""
    pieces = [(lo, hi)]
    for a, b in holes:
        nxt = []
        for p0, p1 in pieces:
            if b <= p0 or a >= p1:
                nxt.append((p0, p1))
                continue
            if a > p0:
                nxt.append((p0, a))
            if b < p1:
                nxt.append((b, p1))
        pieces = nxt
    return [(a, b) for a, b in pieces if b - a >= 0.5]


# ---- materials ----------------------------------------------------------------------------------------------

_GROUND = {"grass": ("terrain", (0.14, 0.17, 0.04), "grass"), "dirt": ("terrain", (0.2, 0.13, 0.07), "noise"),
           "gravel": ("terrain", (0.3, 0.28, 0.25), "noise"), "concrete": ("ground", (0.4, 0.4, 0.38), "noise"),
           "asphalt": ("ground", (0.1, 0.1, 0.1), "asphalt")}


#: sidewalk surfaces (``road.sidewalk_surface``)
_SIDEWALK = {
    "paving": Material("paving", base_color=(0.35, 0.33, 0.31), roughness=0.85, texture="paving", texture_scale=1.0),
    # large pale concrete slabs (plazas, campuses, newer city centres): lighter and smoother than pavers
    "flagstones": Material("flagstones", base_color=(0.46, 0.45, 0.43), roughness=0.8, texture="flagstones",
                           texture_scale=1.0),
    "asphalt": Material("footway_asphalt", base_color=(0.12, 0.12, 0.12), roughness=0.9, texture="asphalt",
                        texture_scale=1.0),
}


def road_material(wetness: float, texture: str = "asphalt", wear: float = 0.0) -> Material:
    """The road surface: wetter is darker and smoother (roughness 0.9 dry .. 0.15 soaked); ``wear`` 0..1 adds
    patches, cracks, tyre tracks and stains to the asphalt texture (manhole covers are always there)."""
    w = float(np.clip(wetness, 0.0, 1.0))
    return Material("asphalt", base_color=(0.08 * (1 - 0.4 * w),) * 3, roughness=0.9 - 0.75 * w,
                    texture=texture, texture_scale=1.0, reflective=w > 0.5,  # type: ignore[arg-type]
                    wear=float(np.clip(wear, 0.0, 1.0)))


def _marking_material(wear: float = 0.0) -> Material:
    """Road paint. ``wear`` 0..1: the paint is patchy and faded towards the asphalt colour (0 = fresh). Worn
    paint keeps its label: the marking is still there, as annotators of real streets label it."""
    return Material("lane_paint", base_color=(0.85, 0.85, 0.82), roughness=0.6, texture="paint", texture_scale=1.0,
                    wear=float(np.clip(wear, 0.0, 1.0)))


def glass_material(reflectivity: float) -> Material:
    """Shop-window glass: clear (transmission 1); more reflective = higher IOR and smoother."""
    r = float(np.clip(reflectivity, 0.0, 1.0))
    return Material("shop_glass", base_color=(0.9, 0.95, 1.0), roughness=0.15 * (1 - r), transmission=1.0,
                    ior=1.3 + 0.5 * r, reflective=True)


# ---- the builder --------------------------------------------------------------------------------------------

def _default_facades(p: RoadParams, rng: np.random.Generator, arms: list[int], jx: float) -> list[Facade]:
    out = []
    for side_name in ("left", "right"):
        if side_name not in p.building_sides:
            continue
        sign = 1.0 if side_name == "left" else -1.0
        x = 0.0
        while x + p.building_width <= p.length + 1e-9:
            x0, x1 = x, x + p.building_width
            x = x1
            if sign in arms and x1 > jx - p.half_width - p.sidewalk_width and x0 < jx + p.half_width + p.sidewalk_width:
                continue
            k = min(p.shop_windows_per_building, int(p.building_width // (p.window_width + 0.5)))
            xs = tuple(x0 + p.building_width * (j + 0.5) / k for j in range(k)) if k > 0 else ()
            tint = float(rng.uniform(0.75, 1.15))
            out.append(Facade(side_name, x0, x1, sign * (p.half_width + p.sidewalk_width + p.setback),
                              float(rng.uniform(*p.building_height)), (0.42 * tint, 0.2 * tint, 0.14 * tint),
                              "brick", xs))
    return out


def build_layout(params: RoadParams, rng: np.random.Generator) -> Layout:
    """Build the stuff geometry and regions of a road layout.

    ``rng`` is used only when ``params.facades`` is None (building heights and tints).
    """
    p = params
    if p.layout not in ("straight", "t_junction", "intersection_4way"):
        raise LayoutError(f"unknown road layout '{p.layout}' (known: straight, t_junction, intersection_4way)")
    if p.lanes_per_direction < 1 or p.lane_width <= 0 or p.length <= 5 or p.sidewalk_width < 0:
        raise LayoutError("road: lanes_per_direction >= 1, lane_width > 0, length > 5 m, sidewalk_width >= 0")
    W = p.half_width
    L = p.length
    sw, ch = p.sidewalk_width, p.curb_height
    cw = min(p.curb_width, sw)
    outer = W + sw
    arms: list[int] = {"straight": [], "t_junction": [+1], "intersection_4way": [+1, -1]}[p.layout]
    jx = p.junction_x if p.junction_x is not None else 0.45 * L
    if arms and not (W + sw < jx < L - W - sw):
        raise LayoutError(f"road: junction_x_m = {jx:g} leaves no room for the cross road "
                          f"(needs {W + sw:g} < junction_x_m < {L - W - sw:g})")
    Ly = outer + max(p.cross_arm_length, 5.0)

    parts: list[StuffPart] = []
    regions: list[Region] = []
    road_surface: list[Region] = [Region("road/main", "road", (L / 2, 0.0), 0.0, L, 2 * W)]

    # road surface
    road_pieces = [_quad(0, L, -W, W, 0.0)]
    for s in arms:
        y0, y1 = (W, Ly) if s > 0 else (-Ly, -W)
        road_pieces.append(_quad(jx - W, jx + W, y0, y1, 0.0))
        road_surface.append(Region(f"road/cross_{'left' if s > 0 else 'right'}", "road",
                                   (jx, (y0 + y1) / 2), math.pi / 2, y1 - y0, 2 * W))
    parts.append(StuffPart("road", "road", merge(road_pieces), [road_material(p.wetness, p.surface_texture, p.surface_wear)]))

    def main_gaps(side: int) -> list[tuple[float, float]]:
        """x-interval of the main road's edge taken by a cross arm on ``side``."""
        return [(jx - W, jx + W)] if side in arms else []

    # terrain: a large plane below everything
    m = p.terrain_margin
    gclass, gcol, gtex = _GROUND.get(p.ground, _GROUND["grass"])
    parts.append(StuffPart("terrain", gclass, merge([_quad(-m, L + m, -m - Ly, m + Ly, TERRAIN_Z)]),
                           [Material(f"ground_{p.ground}", base_color=gcol, roughness=0.95,
                                     texture=gtex,  # type: ignore[arg-type]
                                     texture_scale=1.0)]))

    # curbs and sidewalks (the curb is the sidewalk's first cw metres)
    curb_mat = [Material("concrete_curb", base_color=(0.45, 0.45, 0.43), roughness=0.8, texture="kerb",
                         texture_scale=1.0)]
    side_mat = [replace(_SIDEWALK[p.sidewalk_surface])]
    facades = p.facades if p.facades is not None else _default_facades(p, rng, arms, jx)
    for side, side_name in ((+1, "left"), (-1, "right")):
        if sw <= 0:
            break
        curb_boxes, walk_boxes = [], []
        curb_iv = _intervals_minus(0, L, main_gaps(side))
        walk_iv = _intervals_minus(0, L, [(a - cw, b + cw) for a, b in main_gaps(side)])
        y_c, y_o = side * (W + cw), side * outer
        for a, b in curb_iv:
            curb_boxes.append(_box(a, b, min(side * W, y_c), max(side * W, y_c), 0, ch))
        for k, (a, b) in enumerate(walk_iv):
            walk_boxes.append(_box(a, b, min(y_c, y_o), max(y_c, y_o), 0, ch))
            regions.append(Region(f"sidewalk/main/{side_name}/{k}", "sidewalk",
                                  ((a + b) / 2, side * (W + cw + (sw - cw) / 2)), 0.0, b - a, sw - cw, ch,
                                  side_name, "main", None, True))
        if side in arms:
            ya, yb = sorted((side * (W + cw), side * Ly))
            yw0, yw1 = sorted((side * outer, side * Ly))
            for xs in (-1, +1):  # the two curbs / sidewalks of the cross arm
                xc0, xc1 = sorted((jx + xs * W, jx + xs * (W + cw)))
                curb_boxes.append(_box(xc0, xc1, ya, yb, 0, ch))
                xw0, xw1 = sorted((jx + xs * (W + cw), jx + xs * outer))
                walk_boxes.append(_box(xw0, xw1, yw0, yw1, 0, ch))
                regions.append(Region(f"sidewalk/cross_{side_name}/{'near' if xs < 0 else 'far'}", "sidewalk",
                                      ((xw0 + xw1) / 2, (yw0 + yw1) / 2), math.pi / 2, yw1 - yw0, xw1 - xw0, ch,
                                      side_name, f"cross_{side_name}", None, True))
        if curb_boxes:
            parts.append(StuffPart(f"curb_{side_name}", "curb", merge(curb_boxes), curb_mat))
        if walk_boxes:
            parts.append(StuffPart(f"sidewalk_{side_name}", "sidewalk", merge(walk_boxes), side_mat))

    # roadside: the verge beyond the sidewalk where there is room (no building on that side, or a setback of
    # at least 0.5 m); where buildings stand flush with the sidewalk, the sidewalk's curb-side furniture strip
    for side, side_name in ((+1, "left"), (-1, "right")):
        has_b = any(f.side == side_name for f in facades)
        width = p.setback if has_b else VERGE_WIDTH
        holes = [(a - sw, b + sw) for a, b in main_gaps(side)]
        if width >= 0.5:
            y_mid, z = side * (outer + width / 2), 0.0
        elif sw - cw >= 1.0:
            width = min(FURNITURE_STRIP, sw - cw - 0.5)
            y_mid, z = side * (W + cw + width / 2), ch
        else:
            continue
        for k, (a, b) in enumerate(_intervals_minus(0, L, holes)):
            regions.append(Region(f"roadside/main/{side_name}/{k}", "roadside", ((a + b) / 2, y_mid), 0.0, b - a,
                                  width, z, side_name, "main", None, True))

    # lanes and parking strips of the main road
    lw = p.lane_width
    for direction in (+1, -1):
        side_name = "right" if direction > 0 else "left"
        kind = "lane" if direction > 0 else "oncoming_lane"
        for i in range(p.lanes_per_direction):
            y = -direction * (i + 0.5) * lw
            regions.append(Region(f"{kind}/main/{i}", kind, (L / 2, y), 0.0 if direction > 0 else math.pi,
                                  L, lw, 0.0, side_name, "main", i))
        if p.parking_lane:  # no parking in the junction or on (or 1 m next to) a crosswalk
            ry = -direction * (W - lw / 2)
            holes = [(a - 1, b + 1) for a, b in main_gaps(-direction)]
            holes += [(x - extent / 2 - 1.0, x + extent / 2 + 1.0) for x, extent, _ in p.crosswalks]
            for k, (a, b) in enumerate(_intervals_minus(0, L, holes)):
                regions.append(Region(f"parking/main/{side_name}/{k}", "parking", ((a + b) / 2, ry),
                                      0.0 if direction > 0 else math.pi, b - a, lw, 0.0, side_name, "main"))
    for s in arms:
        arm = f"cross_{'left' if s > 0 else 'right'}"
        y0, y1 = sorted((s * W, s * Ly))
        for i in range(p.lanes_per_direction):
            for out in (+1, -1):
                heading = s * math.pi / 2 if out > 0 else -s * math.pi / 2
                # right-hand traffic: the lane lies right of the centre line x = jx seen along the heading
                x = jx + (i + 0.5) * lw * math.sin(heading)
                regions.append(Region(f"cross_lane/{arm}/{'out' if out > 0 else 'in'}/{i}", "cross_lane",
                                      (x, (y0 + y1) / 2), heading, y1 - y0, lw, 0.0,
                                      "left" if s > 0 else "right", arm, i))

    # crosswalks across the main road
    stripes = []
    cw_holes = []
    for k, (x, extent, stripe) in enumerate(p.crosswalks):
        y = -W + stripe / 2
        while y + stripe <= W - stripe / 2 + 1e-9:
            stripes.append(_quad(x - extent / 2, x + extent / 2, y, y + stripe, MARKING_Z))
            y += 2 * stripe
        regions.append(Region(f"crosswalk/main/{k}", "crosswalk", (x, 0.0), math.pi / 2, 2 * W, extent, 0.0,
                              None, "main", None, True))
        cw_holes.append((x - extent / 2 - 0.3, x + extent / 2 + 0.3))
    if stripes:
        parts.append(StuffPart("crosswalks", "crosswalk", merge(stripes), [_marking_material(p.marking_wear)]))

    # lane markings (none inside the junction box or on crossings)
    if p.marking_style != "none" or p.edge_lines:
        quads = []
        mw = p.marking_width
        gaps = [(jx - W, jx + W)] if arms else []
        pieces = _intervals_minus(0, L, gaps + cw_holes)

        def dashed(a, b, y):
            x = a
            while x < b:
                quads.append(_quad(x, min(x + p.dash_length, b), y - mw / 2, y + mw / 2, MARKING_Z))
                x += p.dash_length + p.gap_length

        for a, b in pieces:
            if p.marking_style == "dashed":
                dashed(a, b, 0.0)
            elif p.marking_style == "solid":
                quads.append(_quad(a, b, -mw / 2, mw / 2, MARKING_Z))
            elif p.marking_style == "double_solid":
                for yc in (-1.5 * mw, 1.5 * mw):
                    quads.append(_quad(a, b, yc - mw / 2, yc + mw / 2, MARKING_Z))
            for s in (-1, 1):
                for i in range(1, p.lanes_per_direction):
                    dashed(a, b, s * i * lw)
                if p.edge_lines:
                    ye = s * (p.lanes_per_direction * lw - mw)
                    quads.append(_quad(a, b, ye - mw / 2, ye + mw / 2, MARKING_Z))
        if p.marking_style != "none":
            for s in arms:
                y0, y1 = sorted((s * (W + 1.0), s * Ly))
                quads.append(_quad(jx - mw / 2, jx + mw / 2, y0, y1, MARKING_Z))
        if quads:
            parts.append(StuffPart("lane_markings", "lane_marking", merge(quads), [_marking_material(p.marking_wear)]))

    # buildings with shop windows
    windows: list[WindowInfo] = []
    shared: dict = {}
    for k, f in enumerate(facades):
        side = 1 if f.side == "left" else -1
        name = f"building_{f.side}_{k}"
        if f.detailed:
            mesh, mats, glass = detailed_building(f, side, p.building_depth, p, f.seed, p.night, shared, p.light_scale)
            for i, cx in enumerate(f.window_xs):
                info = _shop_window(p, name, i, side, f.side, cx, f.y, parts, regions)
                if info is not None:
                    windows.append(info)
            parts.append(StuffPart(name, "building", mesh, mats, {"facade": f.side, "material": f.material}))
            if glass is not None:
                parts.append(StuffPart(f"{name}_glass", "window", glass, [upper_glass_material()],
                                       {"building": name, "upper_storeys": True}))
            continue
        y0, y1 = sorted((f.y, f.y + side * p.building_depth))
        tex = f.texture if f.texture in ("none", "checker", "noise", "asphalt", "brick", "plaster", "concrete",
                                         "curtain_wall", "paving") else "brick"
        mats = [Material(f"{name}_facade", base_color=tuple(f.colour), roughness=0.85,
                         texture=tex,  # type: ignore[arg-type]
                         texture_scale=1.0),
                Material(f"{name}_shop_interior", base_color=(0.03, 0.03, 0.035), roughness=0.7,
                         emission_color=(1.0, 0.85, 0.6), emission_strength=3.0 if p.window_interior_light else 0.0)]
        boxes = [_box(f.x0, f.x1, y0, y1, 0.0, f.height)]
        for i, cx in enumerate(f.window_xs):
            info = _shop_window(p, name, i, side, f.side, cx, f.y, parts, regions)
            if info is None:
                continue
            windows.append(info)
            # dark shop interior panel just behind the pane (3 mm proud of the facade)
            ya, yb = sorted((f.y, f.y - side * 0.003))
            boxes.append(_box(cx - p.window_width / 2, cx + p.window_width / 2, ya, yb, info.center[2] -
                              p.window_height / 2, info.center[2] + p.window_height / 2, 1))
        parts.append(StuffPart(name, "building", merge(boxes), mats, {"facade": f.side}))

    return Layout(p, parts, regions, windows, road_surface)


def _shop_window(p: RoadParams, building: str, i: int, side: int, side_name: str, cx: float, facade_y: float,
                 parts: list[StuffPart], regions: list[Region]) -> WindowInfo | None:
    """A ground-floor glass pane (a box ``window_thickness`` thick, 5 mm in front of the facade) and the spot
    in front of it."""
    z0 = p.curb_height + p.window_sill
    t = p.window_thickness
    ya, yb = facade_y - side * 0.005, facade_y - side * (0.005 + t)  # yb: the street-side face
    wname = f"{building}_window_{i}"
    parts.append(StuffPart(wname, "window",
                           merge([_box(cx - p.window_width / 2, cx + p.window_width / 2, min(ya, yb), max(ya, yb),
                                       z0, z0 + p.window_height)]), [glass_material(p.window_reflectivity)],
                           {"building": building}))
    normal = (0.0, -float(side), 0.0)  # towards the street
    u = (-float(side), 0.0, 0.0)
    info = WindowInfo(wname, (cx, float(yb), z0 + p.window_height / 2), normal, u, p.window_width,
                      p.window_height, side_name)
    # the spot in front of the window, on the sidewalk (or the verge), facing the window
    available = abs(yb) - (p.half_width + min(p.curb_width, p.sidewalk_width))  # pane to the curb's inner edge
    depth = min(1.5, available - 0.25 - 0.1)
    if depth > 0.3:
        cy = yb - side * (0.25 + depth / 2)
        z = p.curb_height if abs(cy) < p.half_width + p.sidewalk_width else 0.0
        regions.append(Region(f"shop_window/{wname}", "shop_window", (cx, float(cy)), math.atan2(float(side), 0.0),
                              depth, p.window_width, z, side_name, "main", window=wname))
    return info
