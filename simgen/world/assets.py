"""Procedural, low-poly assets for every thing class of the class table.

Each asset is composed of closed trimesh primitives (boxes, cylinders, spheres, tori) without booleans, so the
combined mesh is closed (every edge shared by exactly two faces) even where parts overlap.

Object frame (all assets): +x forward, +y left, z up, metres; the origin is the centre of the ground contact
(the footprint's centre at z = 0). ``make_asset(class_name, colour, scale, rng) -> (Mesh, materials)``; local
lights (street-light lamps, headlights) come from :func:`light_mounts`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import trimesh

from simgen.classes import class_table
from simgen.errors import SimgenError
from simgen.world.model import Material, Mesh
from simgen.world.primitives import BOX_F, BOX_V, bar

RGB = tuple[float, float, float]


class AssetError(SimgenError):
    """An object class or colour that has no procedural asset."""


#: named colours, linear RGB in [0, 1]
COLOURS: dict[str, RGB] = {
    "white": (0.8, 0.8, 0.8), "black": (0.02, 0.02, 0.02), "silver": (0.55, 0.56, 0.58),
    "grey": (0.25, 0.25, 0.25), "gray": (0.25, 0.25, 0.25), "red": (0.6, 0.03, 0.03),
    "dark_red": (0.25, 0.01, 0.01), "blue": (0.03, 0.1, 0.5), "navy": (0.01, 0.02, 0.15),
    "green": (0.05, 0.3, 0.05), "dark_green": (0.02, 0.1, 0.03), "yellow": (0.8, 0.6, 0.02),
    "orange": (0.8, 0.25, 0.02), "brown": (0.2, 0.08, 0.03), "beige": (0.6, 0.5, 0.35),
    "purple": (0.2, 0.03, 0.3), "pink": (0.8, 0.3, 0.4),
}
_DEFAULT_PALETTE = {
    "car": ["white", "black", "silver", "grey", "red", "blue", "dark_red", "navy"],
    "van": ["white", "silver", "grey", "blue"],
    "truck": ["white", "red", "blue", "orange", "grey"],
    "bus": ["yellow", "red", "white", "blue"],
    "pedestrian": ["red", "blue", "green", "black", "white", "yellow", "purple", "beige", "navy", "brown"],
    "child": ["red", "blue", "yellow", "pink", "green", "orange"],
    "cyclist": ["red", "blue", "yellow", "black", "white", "green"],
    "bicycle": ["black", "red", "blue", "silver"],
    "motorcycle": ["black", "red", "blue", "silver"],
    "sign": ["blue", "red", "white", "yellow"],
    "tree": ["green", "dark_green"],
    "bench": ["brown", "dark_green", "grey"],
    "trash_can": ["dark_green", "grey", "black"],
    "traffic_light": ["grey", "black"],
    "pole": ["grey", "silver"],
    "street_light": ["grey", "silver"],
    "hydrant": ["red", "yellow", "dark_green"],
    "bollard": ["grey", "black", "dark_green"],
    "cone": ["orange"],
    "vegetation": ["green", "dark_green"],
    "bicycle_rack": ["silver", "grey", "black"],
}


def resolve_colour(colour: str | RGB | None, class_name: str, rng: np.random.Generator) -> RGB:
    """A colour name, an (r, g, b) in [0, 1] (linear) or None (drawn from the class's palette with ``rng``)."""
    if colour is None:
        names = _DEFAULT_PALETTE.get(class_name, ["grey"])
        return COLOURS[names[int(rng.integers(len(names)))]]
    if isinstance(colour, str):
        key = colour.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in COLOURS:
            raise AssetError(f"unknown colour '{colour}' for a {class_name} (known: {', '.join(sorted(COLOURS))}, "
                             f"or [r, g, b] in 0..1)")
        return COLOURS[key]
    rgb = tuple(float(c) for c in colour)
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise AssetError(f"colour {colour!r} for a {class_name} must be three numbers in 0..1")
    return rgb  # type: ignore[return-value]


@dataclass(frozen=True)
class LightMount:
    """A light attached to an object. local_pose: (4, 4) object_from_light; a spot shines along its local −z."""

    name: str
    kind: str
    local_pose: np.ndarray
    color: RGB
    power_w: float
    spot_angle_rad: float = 1.2
    radius: float = 0.05


# ---- composition helpers ------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _unit(kind: str, a: int = 0, b: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Cached closed unit primitives from trimesh: (vertices (V, 3), faces (F, 3)), read-only."""
    if kind == "cylinder":  # radius 1, height 1, axis z, centred
        m = trimesh.creation.cylinder(radius=1.0, height=1.0, sections=a)
    elif kind == "sphere":  # radius 1
        m = trimesh.creation.icosphere(subdivisions=a, radius=1.0)
    elif kind == "torus":  # major radius 1, minor radius b, axis z
        m = trimesh.creation.torus(major_radius=1.0, minor_radius=b, major_sections=14, minor_sections=4)
    else:  # pragma: no cover
        raise ValueError(kind)
    v, f = np.asarray(m.vertices, float), np.asarray(m.faces, np.int64)
    v.setflags(write=False)
    f.setflags(write=False)
    return v, f


_BOX_V, _BOX_F = BOX_V, BOX_F
_TO_X = np.array([[0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]])  # rotation taking +z to +x
_TO_Y = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # rotation taking +z to -y (axis along y)


class _Builder:
    """Collects closed parts as (vertices, faces, material) arrays."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, int]] = []
        self.groups: list[int] = []
        #: rig part of the parts added next (people: :data:`PERSON_BONES`)
        self.group = 0

    def add(self, v: np.ndarray, f: np.ndarray, mat: int) -> None:
        self.parts.append((np.asarray(v, float), np.asarray(f, np.int64), mat))
        self.groups.append(self.group)

    def box(self, x0, x1, y0, y1, z0, z1, mat: int) -> None:
        lo = np.array([min(x0, x1), min(y0, y1), min(z0, z1)])
        hi = np.array([max(x0, x1), max(y0, y1), max(z0, z1)])
        self.add(lo + _BOX_V * (hi - lo), _BOX_F, mat)

    def cyl(self, center, radius, height, axis: str, mat: int, sections: int = 12) -> None:
        v, f = _unit("cylinder", sections)
        v = v * [radius, radius, height]
        if axis == "x":
            v = v @ _TO_X.T
        elif axis == "y":
            v = v @ _TO_Y.T
        self.add(v + np.asarray(center, float), f, mat)

    def sphere(self, center, radius, mat: int, scale=(1.0, 1.0, 1.0), subdivisions: int = 1) -> None:
        v, f = _unit("sphere", subdivisions)
        self.add(v * radius * np.asarray(scale, float) + np.asarray(center, float), f, mat)

    def ring(self, center, radius, tube, mat: int) -> None:
        """A wheel rim (torus) in the x-z plane (axis along y)."""
        v, f = _unit("torus", 0, round(tube / radius, 6))
        self.add((v * radius) @ _TO_Y.T + np.asarray(center, float), f, mat)

    def bar(self, p0, p1, thickness: float, mat: int) -> None:
        """A square-section box from point p0 to p1 (a limb, a frame tube)."""
        self.add(*bar(p0, p1, thickness), mat)

    def mesh(self) -> Mesh:
        vs, fs, ms, gs, off = [], [], [], [], 0
        for (v, f, mat), g in zip(self.parts, self.groups):
            vs.append(v)
            fs.append(f + off)
            ms.append(np.full(len(f), mat, np.int64))
            gs.append(np.full(len(v), g, np.int64))
            off += len(v)
        groups = np.concatenate(gs)
        return Mesh(np.concatenate(vs), np.concatenate(fs), np.concatenate(ms),
                    vertex_group=groups if groups.any() else None)


def _mat(name: str, rgb: RGB, **kw) -> Material:
    return Material(name, base_color=tuple(float(c) for c in rgb), **kw)  # type: ignore[arg-type]


def _glass() -> Material:
    return Material("glass", base_color=(0.85, 0.9, 0.95), roughness=0.0, transmission=1.0, ior=1.5,
                    reflective=True)


def _vehicle_materials(colour: RGB) -> list[Material]:
    return [
        _mat("paint", colour, roughness=0.35, metallic=0.6, reflective=True, coat=1.0),
        _glass(),
        _mat("trim", (0.02, 0.02, 0.02), roughness=0.5),
        _mat("tyre", (0.015, 0.015, 0.015), roughness=0.9, texture="noise", texture_scale=30.0),
        _mat("headlamp", (0.9, 0.9, 0.85), roughness=0.1, emission_color=(1.0, 0.95, 0.85), emission_strength=0.0),
        _mat("taillamp", (0.5, 0.02, 0.02), roughness=0.2, emission_color=(1.0, 0.05, 0.02), emission_strength=0.0),
        _mat("indicator_left", (0.6, 0.3, 0.02), roughness=0.2, emission_color=(1.0, 0.45, 0.0)),
        _mat("indicator_right", (0.6, 0.3, 0.02), roughness=0.2, emission_color=(1.0, 0.45, 0.0)),
    ]


PAINT, GLASS, TRIM, TYRE, HEADLAMP, TAILLAMP, INDICATOR_L, INDICATOR_R = range(8)


# ---- vehicles -----------------------------------------------------------------------------------------------

def _wheels(b: _Builder, xs, half_track: float, radius: float, width: float) -> None:
    for x in xs:
        for s in (-1, 1):
            b.cyl((x, s * (half_track - width / 2), radius), radius, width, "y", TYRE)


def _lamps(b: _Builder, x_front: float, x_rear: float, half_w: float, z0: float, z1: float) -> None:
    for s in (-1, 1):
        y0, y1 = sorted((s * (half_w - 0.35), s * (half_w - 0.08)))
        b.box(x_front - 0.01, x_front + 0.015, y0, y1, z0, z1, HEADLAMP)
        b.box(x_rear - 0.015, x_rear + 0.01, y0, y1, z0, z1, TAILLAMP)
        # indicators at the outer corners, front and rear (left = +y)
        i0, i1 = sorted((s * (half_w - 0.08), s * half_w))
        for x0, x1 in ((x_front - 0.01, x_front + 0.015), (x_rear - 0.015, x_rear + 0.01)):
            b.box(x0, x1, i0, i1, z0, z1, INDICATOR_L if s > 0 else INDICATOR_R)


def _panes(b: _Builder, x0: float, x1: float, hw: float, z0: float, z1: float, front=True, rear=True) -> None:
    """Glass panes (1 cm thick boxes) just outside a cabin box [x0, x1] x [-hw, hw] x [z0, z1]."""
    m = 0.06
    t = 0.01
    if front:
        b.box(x1, x1 + t, -hw + m, hw - m, z0 + m, z1 - m, GLASS)
    if rear:
        b.box(x0 - t, x0, -hw + m, hw - m, z0 + m, z1 - m, GLASS)
    for s in (-1, 1):
        y0, y1 = sorted((s * hw, s * (hw + t)))
        b.box(x0 + m, x1 - m, y0, y1, z0 + m, z1 - m, GLASS)


def _car(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    L, W = 4.4 * rng.uniform(0.95, 1.05), 1.8
    hl, hw = L / 2, W / 2
    b.box(-hl, hl, -hw, hw, 0.28, 0.95, PAINT)
    c0, c1 = -hl + 1.0, hl - 1.3
    b.box(c0, c1, -hw + 0.1, hw - 0.1, 0.95, 1.38, TRIM)
    b.box(c0 + 0.05, c1 - 0.05, -hw + 0.12, hw - 0.12, 1.38, 1.45, PAINT)
    _panes(b, c0, c1, hw - 0.1, 0.95, 1.38)
    _wheels(b, (-hl + 0.85, hl - 0.85), hw + 0.01, 0.32, 0.22)
    _lamps(b, hl, -hl, hw, 0.72, 0.84)
    return b.mesh(), _vehicle_materials(colour)


def _van(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    L, W = 5.0 * rng.uniform(0.96, 1.06), 2.0
    hl, hw = L / 2, W / 2
    b.box(-hl, hl - 0.9, -hw, hw, 0.3, 2.1, PAINT)  # box body
    b.box(hl - 0.9, hl, -hw, hw, 0.3, 1.1, PAINT)  # bonnet
    b.box(hl - 0.9, hl - 0.2, -hw + 0.05, hw - 0.05, 1.1, 2.0, TRIM)  # cab glass housing
    _panes(b, hl - 0.9, hl - 0.2, hw - 0.05, 1.1, 2.0, rear=False)
    _wheels(b, (-hl + 0.9, hl - 0.95), hw + 0.01, 0.34, 0.24)
    _lamps(b, hl, -hl, hw, 0.8, 0.95)
    return b.mesh(), _vehicle_materials(colour)


def _truck(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    L, W = 8.0 * rng.uniform(0.9, 1.15), 2.5
    hl, hw = L / 2, W / 2
    b.box(-hl, hl - 2.2, -hw, hw, 0.9, 3.6, PAINT)  # cargo box
    b.box(-hl, hl, -hw + 0.3, hw - 0.3, 0.5, 0.9, TRIM)  # chassis
    b.box(hl - 2.1, hl, -hw, hw, 0.6, 2.0, PAINT)  # cab lower
    b.box(hl - 2.1, hl - 0.15, -hw + 0.05, hw - 0.05, 2.0, 3.0, TRIM)  # cab upper
    _panes(b, hl - 2.1, hl - 0.15, hw - 0.05, 2.0, 3.0, rear=False)
    _wheels(b, (-hl + 1.2, -hl + 2.3, hl - 1.3), hw, 0.5, 0.3)
    _lamps(b, hl, -hl, hw, 0.75, 0.95)
    return b.mesh(), _vehicle_materials(colour)


def _bus(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    L, W = 12.0 * rng.uniform(0.95, 1.05), 2.55
    hl, hw = L / 2, W / 2
    b.box(-hl, hl, -hw, hw, 0.35, 1.3, PAINT)
    b.box(-hl, hl, -hw + 0.02, hw - 0.02, 1.3, 2.6, TRIM)  # window band (dark interior)
    b.box(-hl, hl, -hw, hw, 2.6, 3.1, PAINT)
    _panes(b, -hl, hl, hw - 0.02, 1.3, 2.6)
    _wheels(b, (-hl + 2.8, hl - 2.4), hw, 0.5, 0.3)
    _lamps(b, hl, -hl, hw, 0.6, 0.8)
    return b.mesh(), _vehicle_materials(colour)


# ---- people and bicycles ------------------------------------------------------------------------------------

SKIN, TOP, BOTTOM, SHOES, HAIR = range(5)


def _person_materials(colour: RGB, rng: np.random.Generator) -> list[Material]:
    skin = [(0.75, 0.55, 0.42), (0.55, 0.36, 0.24), (0.32, 0.2, 0.12), (0.85, 0.68, 0.55)][int(rng.integers(4))]
    trousers = [(0.05, 0.06, 0.12), (0.15, 0.15, 0.15), (0.3, 0.25, 0.18), (0.02, 0.02, 0.02)][int(rng.integers(4))]
    hair = [(0.02, 0.015, 0.01), (0.25, 0.15, 0.06), (0.5, 0.4, 0.2), (0.3, 0.3, 0.3)][int(rng.integers(4))]
    return [
        _mat("skin", skin, roughness=0.6),
        _mat("clothes_top", colour, roughness=0.8, texture="noise", texture_scale=25.0),
        _mat("clothes_bottom", trousers, roughness=0.8, texture="noise", texture_scale=25.0),
        _mat("shoes", (0.03, 0.03, 0.03), roughness=0.5),
        _mat("hair", hair, roughness=0.7),
    ]


#: rig parts of a person's vertices (``Mesh.vertex_group``): the body, then legs and arms on the +y / −y side
PERSON_BONES = {"body": 0, "leg_left": 1, "leg_right": 2, "arm_left": 3, "arm_right": 4}


def _person_parts(b: _Builder, height: float, child: bool) -> None:
    """A standing person of ``height`` metres facing +x, arms down; legs and arms tagged as rig parts."""
    h = height
    head_r = (0.085 if not child else 0.095) * h / (1.75 if not child else 1.15)
    leg = 0.47 * h
    hip_w = 0.1 * h
    for s in (-1, 1):
        b.group = PERSON_BONES["leg_left" if s > 0 else "leg_right"]
        b.box(-0.06 * h, 0.09 * h, s * hip_w / 2 - 0.05 * h, s * hip_w / 2 + 0.05 * h, 0.0, 0.04 * h, SHOES)
        b.box(-0.04 * h, 0.04 * h, s * hip_w / 2 - 0.04 * h, s * hip_w / 2 + 0.04 * h, 0.04 * h, leg, BOTTOM)
    b.group = PERSON_BONES["body"]
    torso_top = leg + 0.31 * h
    b.box(-0.07 * h, 0.07 * h, -0.12 * h, 0.12 * h, leg, torso_top, TOP)
    for s in (-1, 1):
        b.group = PERSON_BONES["arm_left" if s > 0 else "arm_right"]
        y0, y1 = sorted((s * 0.125 * h, s * 0.165 * h))
        b.box(-0.03 * h, 0.03 * h, y0, y1, leg + 0.02 * h, torso_top - 0.01 * h, TOP)
        b.box(-0.025 * h, 0.025 * h, y0, y1, leg - 0.03 * h, leg + 0.02 * h, SKIN)  # hands
    b.group = PERSON_BONES["body"]
    b.cyl((0, 0, torso_top + 0.02 * h), 0.03 * h, 0.04 * h, "z", SKIN, sections=8)
    hc = h - head_r
    b.sphere((0, 0, hc), head_r, SKIN)
    b.sphere((-0.01 * h, 0, hc + 0.25 * head_r), head_r * 1.05, HAIR, scale=(1.0, 1.0, 0.8))


def _pedestrian(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    _person_parts(b, 1.75 * rng.uniform(0.92, 1.07), child=False)
    return b.mesh(), _person_materials(colour, rng)


def _child(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    _person_parts(b, 1.15 * rng.uniform(0.88, 1.12), child=True)
    return b.mesh(), _person_materials(colour, rng)


FRAME, RIM, SADDLE = 5, 6, 7


def _bicycle_parts(b: _Builder, frame_mat: int, rim_mat: int, saddle_mat: int, tyre_mat: int) -> None:
    r = 0.34
    wb = 0.52
    for x in (-wb, wb):
        b.ring((x, 0, r), r, 0.025, tyre_mat)
        b.cyl((x, 0, r), 0.03, 0.08, "y", rim_mat, sections=8)  # hub
    bb = np.array([0.0, 0, 0.32])  # bottom bracket
    seat = np.array([-0.18, 0, 0.82])
    head = np.array([0.42, 0, 0.85])
    t = 0.035
    b.bar((-wb, 0, r), bb, t, frame_mat)  # chain stay
    b.bar((-wb, 0, r), seat, t, frame_mat)  # seat stay
    b.bar(bb, seat, t, frame_mat)  # seat tube
    b.bar(bb, head - [0, 0, 0.08], t, frame_mat)  # down tube
    b.bar(seat, head, t, frame_mat)  # top tube
    b.bar((wb, 0, r), head + [0, 0, 0.12], t, frame_mat)  # fork + stem
    b.bar(head + [-0.05, -0.28, 0.14], head + [-0.05, 0.28, 0.14], 0.03, rim_mat)  # handlebar
    b.box(seat[0] - 0.12, seat[0] + 0.1, -0.07, 0.07, seat[2] + 0.02, seat[2] + 0.07, saddle_mat)


def _bicycle_materials(colour: RGB) -> list[Material]:
    return [
        _mat("frame", colour, roughness=0.3, metallic=0.5),
        _mat("metal", (0.6, 0.6, 0.62), roughness=0.3, metallic=1.0),
        _mat("saddle", (0.02, 0.02, 0.02), roughness=0.6),
        _mat("tyre", (0.015, 0.015, 0.015), roughness=0.9),
    ]


def _bicycle(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    _bicycle_parts(b, 0, 1, 2, 3)
    return b.mesh(), _bicycle_materials(colour)


def _cyclist(colour: RGB, rng: np.random.Generator):
    """A rider (clothes in ``colour``) on a bicycle, one rigid entity."""
    b = _Builder()
    bike_colour = COLOURS[["black", "silver", "red", "blue"][int(rng.integers(4))]]
    mats = _person_materials(colour, rng) + _bicycle_materials(bike_colour)
    _bicycle_parts(b, FRAME, RIM, SADDLE, FRAME + 3)
    h = 1.75 * rng.uniform(0.93, 1.06)
    hip = np.array([-0.2, 0.0, 0.9])
    shoulder = np.array([0.12, 0.0, 0.9 + 0.3 * h])
    for s in (-1, 1):
        knee = np.array([0.2, s * 0.12, 0.68 + 0.05 * s])
        foot = np.array([0.05 + 0.1 * s, s * 0.14, 0.22 + 0.1 * s])
        b.bar(hip + [0, s * 0.1, 0], knee, 0.11, BOTTOM)
        b.bar(knee, foot, 0.09, BOTTOM)
        b.box(foot[0] - 0.05, foot[0] + 0.12, foot[1] - 0.045, foot[1] + 0.045, foot[2] - 0.04, foot[2] + 0.02,
              SHOES)
        b.bar(shoulder + [0, s * 0.18, -0.02], np.array([0.37, s * 0.26, 0.99]), 0.07, TOP)
    b.bar(hip, shoulder, 0.3, TOP)  # torso, leaning forward
    head_r = 0.11
    hc = shoulder + [0.08, 0, 0.07 + head_r]
    b.sphere(hc, head_r, SKIN)
    b.sphere(hc + [-0.01, 0, 0.03], head_r * 1.12, HAIR, scale=(1.1, 1.0, 0.75))  # helmet
    return b.mesh(), mats


def _motorcycle(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    mats = [_mat("paint", colour, roughness=0.35, metallic=0.6, reflective=True, coat=1.0),
            _mat("metal", (0.6, 0.6, 0.62), roughness=0.3, metallic=1.0),
            _mat("seat", (0.02, 0.02, 0.02), roughness=0.6),
            _mat("tyre", (0.015, 0.015, 0.015), roughness=0.9)]
    for x in (-0.7, 0.7):
        b.cyl((x, 0, 0.31), 0.31, 0.12, "y", 3, sections=14)
    b.box(-0.5, 0.45, -0.15, 0.15, 0.4, 0.75, 1)  # engine block
    b.box(-0.1, 0.45, -0.17, 0.17, 0.75, 0.95, 0)  # tank
    b.box(-0.75, -0.1, -0.14, 0.14, 0.75, 0.88, 2)  # seat
    b.bar((0.7, 0, 0.31), (0.55, 0, 1.05), 0.05, 1)
    b.bar((0.5, -0.33, 1.05), (0.5, 0.33, 1.05), 0.03, 1)
    return b.mesh(), mats


# ---- street furniture ---------------------------------------------------------------------------------------

def _metal(colour: RGB) -> Material:
    return _mat("metal", colour, roughness=0.4, metallic=0.8)


def _pole(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    b.cyl((0, 0, 2.0), 0.08, 4.0, "z", 0, sections=10)
    return b.mesh(), [_metal(colour)]


def _sign(colour: RGB, rng: np.random.Generator):
    """A post with a generic traffic sign (:mod:`simgen.world.signs`) facing +x; the plate's outline is the
    sign's shape (an alpha cut-out, in the picture and every label)."""
    from simgen.world.signs import KINDS, sign_face

    b = _Builder()
    b.cyl((0, 0, 1.3), 0.04, 2.6, "z", 1, sections=8)
    # plate faces +x (towards oncoming traffic when the sign's heading points at it)
    y0, y1, z0, z1 = -0.32, 0.32, 2.0, 2.64
    b.box(0.045, 0.075, y0, y1, z0, z1, 2)
    mesh = b.mesh()
    face_path, mask_path = sign_face(KINDS[int(rng.integers(len(KINDS)))])
    v = mesh.vertices[mesh.faces]  # (F, 3, 3)
    on_plate = mesh.face_material == 2
    front = on_plate & np.all(np.isclose(v[:, :, 0], 0.075), axis=1)
    back = on_plate & np.all(np.isclose(v[:, :, 0], 0.045), axis=1)
    uv = np.zeros((len(mesh.faces), 3, 2), np.float32)
    # seen from the front (looking along -x), image u runs along -y; from the back along +y
    uv[front, :, 0] = (y1 - v[front, :, 1]) / (y1 - y0)
    uv[back, :, 0] = (y1 - v[back, :, 1]) / (y1 - y0)  # the mask is symmetric enough for the back
    uv[on_plate, :, 1] = (v[on_plate, :, 2] - z0) / (z1 - z0)
    uv[on_plate & ~front & ~back] = 0.0  # plate edges: the transparent corner texel (thin, not drawn)
    fmat = mesh.face_material.copy()
    fmat[front] = 0
    mats = [_mat("sign_face", (1.0, 1.0, 1.0), roughness=0.35, image=face_path, alpha_cutout=True),
            _metal((0.5, 0.5, 0.5)),
            _mat("sign_back", (0.45, 0.45, 0.47), roughness=0.5, metallic=0.6, image=mask_path, alpha_cutout=True)]
    return Mesh(mesh.vertices, mesh.faces, fmat, uv=uv), mats


def _traffic_light(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    state = int(rng.integers(3))  # 0 red, 1 amber, 2 green lit
    b.cyl((0, 0, 1.7), 0.07, 3.4, "z", 0, sections=10)
    b.box(-0.1, 0.12, -0.16, 0.16, 2.55, 3.45, 0)
    lamps = [((1.0, 0.05, 0.02), 3.25), ((1.0, 0.5, 0.02), 3.0), ((0.1, 1.0, 0.3), 2.75)]
    mats = [_metal(colour)]
    for k, (rgb, z) in enumerate(lamps):
        on = k == state
        mats.append(_mat(f"lamp_{k}", tuple(0.3 * c for c in rgb), roughness=0.2, emission_color=rgb,
                         emission_strength=8.0 if on else 0.0))
        b.cyl((0.13, 0, z), 0.1, 0.03, "x", 1 + k, sections=10)
    return b.mesh(), mats


def _street_light(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    b.cyl((0, 0, 3.5), 0.09, 7.0, "z", 0, sections=10)
    b.bar((0, 0, 6.9), (1.5, 0, 7.15), 0.07, 0)  # arm over the road (+x)
    b.box(1.25, 1.85, -0.15, 0.15, 7.0, 7.18, 0)  # lamp head
    b.box(1.3, 1.8, -0.12, 0.12, 6.97, 7.0, 1)  # emitting lens
    return b.mesh(), [_metal(colour), _mat("lamp_lens", (0.9, 0.85, 0.7), roughness=0.2,
                                         emission_color=(1.0, 0.8, 0.55), emission_strength=0.0)]


def _tree(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    trunk_h = 2.4 * rng.uniform(0.85, 1.2)
    crown_r = 1.4 * rng.uniform(0.8, 1.2)
    b.cyl((0, 0, trunk_h / 2 + 0.3), 0.14, trunk_h + 0.6, "z", 0, sections=8)
    b.sphere((0, 0, trunk_h + crown_r * 0.9), crown_r, 1, scale=(1.0, 1.0, 1.2))
    return b.mesh(), [_mat("bark", (0.12, 0.07, 0.04), roughness=0.9, texture="noise", texture_scale=12.0),
                      _mat("leaves", colour, roughness=0.8, texture="noise", texture_scale=6.0)]


def _bench(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    b.box(-0.22, 0.22, -0.8, 0.8, 0.42, 0.47, 0)  # seat
    b.box(-0.24, -0.19, -0.8, 0.8, 0.55, 0.9, 0)  # backrest (sitter faces +x)
    for x in (-0.18, 0.18):
        for y in (-0.7, 0.7):
            b.box(x - 0.03, x + 0.03, y - 0.03, y + 0.03, 0.0, 0.42, 1)
    b.bar((-0.21, -0.7, 0.42), (-0.21, -0.7, 0.6), 0.05, 1)
    b.bar((-0.21, 0.7, 0.42), (-0.21, 0.7, 0.6), 0.05, 1)
    return b.mesh(), [_mat("wood", colour, roughness=0.7, texture="noise", texture_scale=15.0),
                      _metal((0.1, 0.1, 0.1))]


def _trash_can(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    b.cyl((0, 0, 0.45), 0.28, 0.9, "z", 0, sections=12)
    b.cyl((0, 0, 0.93), 0.3, 0.06, "z", 1, sections=12)
    return b.mesh(), [_mat("bin", colour, roughness=0.5, texture="noise", texture_scale=20.0),
                      _metal((0.2, 0.2, 0.2))]


def _hydrant(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    b.cyl((0, 0, 0.03), 0.16, 0.06, "z", 0, sections=12)  # base flange
    b.cyl((0, 0, 0.36), 0.11, 0.6, "z", 0, sections=12)  # barrel
    b.sphere((0, 0, 0.66), 0.11, 0, scale=(1.0, 1.0, 0.7))  # bonnet
    b.cyl((0, 0, 0.45), 0.05, 0.34, "y", 1, sections=8)  # side outlets
    b.cyl((0.13, 0, 0.42), 0.06, 0.1, "x", 1, sections=8)  # pumper outlet
    return b.mesh(), [_mat("paint", colour, roughness=0.4, coat=0.5), _metal((0.5, 0.5, 0.5))]


def _bollard(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    h = 0.9 * rng.uniform(0.9, 1.1)
    b.cyl((0, 0, h / 2), 0.07, h, "z", 0, sections=14)
    b.cyl((0, 0, h - 0.12), 0.072, 0.06, "z", 1, sections=14)  # reflective band
    b.sphere((0, 0, h), 0.07, 0, scale=(1.0, 1.0, 0.4))
    return b.mesh(), [_metal(colour), _mat("band", (0.8, 0.8, 0.8), roughness=0.2)]


def _cone(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    b.box(-0.19, 0.19, -0.19, 0.19, 0.0, 0.03, 1)
    for k, (z0, z1) in enumerate([(0.03, 0.2), (0.2, 0.32), (0.32, 0.5), (0.5, 0.7)]):
        r = 0.15 * (1 - (z0 + z1) / 2 / 0.75)
        b.cyl((0, 0, (z0 + z1) / 2), r + 0.02, z1 - z0, "z", 0 if k % 2 == 0 else 2, sections=12)
    return b.mesh(), [_mat("orange", (0.8, 0.15, 0.01), roughness=0.5), _mat("base", (0.02, 0.02, 0.02)),
                      _mat("white", (0.8, 0.8, 0.8), roughness=0.3)]


def _vegetation(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    length, depth, h = 1.5 * rng.uniform(0.8, 1.2), 0.7, 1.0 * rng.uniform(0.8, 1.2)
    b.box(-length / 2, length / 2, -depth / 2, depth / 2, 0.0, h, 0)
    return b.mesh(), [_mat("leaves", colour, roughness=0.85, texture="noise", texture_scale=8.0)]


def _bicycle_rack(colour: RGB, rng: np.random.Generator):
    b = _Builder()
    for x in (-0.9, -0.3, 0.3, 0.9):  # inverted-U hoops across the rack (bicycles park along x)
        b.bar((x, -0.35, 0.0), (x, -0.35, 0.75), 0.05, 0)
        b.bar((x, 0.35, 0.0), (x, 0.35, 0.75), 0.05, 0)
        b.bar((x, -0.35, 0.75), (x, 0.35, 0.75), 0.05, 0)
    return b.mesh(), [_metal(colour)]


Builder = Callable[[RGB, np.random.Generator], tuple[Mesh, list[Material]]]

#: class name -> procedural builder (unit scale)
REGISTRY: dict[str, Builder] = {
    "car": _car, "van": _van, "truck": _truck, "bus": _bus,
    "pedestrian": _pedestrian, "child": _child, "cyclist": _cyclist, "bicycle": _bicycle,
    "motorcycle": _motorcycle, "traffic_light": _traffic_light, "sign": _sign, "pole": _pole,
    "street_light": _street_light, "tree": _tree, "bench": _bench, "trash_can": _trash_can,
    "hydrant": _hydrant, "bollard": _bollard, "cone": _cone, "vegetation": _vegetation,
    "bicycle_rack": _bicycle_rack,
}

#: classes that carry headlights
VEHICLES = ("car", "van", "truck", "bus", "motorcycle")
#: people (walk at pedestrian speed; rigid unless animated)
PEOPLE = ("pedestrian", "child")
#: classes built from the body bank when it is installed
PERSON_CLASSES = ("pedestrian", "child", "cyclist")


def _scale_vector(scale) -> np.ndarray:
    s = np.broadcast_to(np.asarray(scale, float), (3,)).copy() if np.ndim(scale) else np.full(3, float(scale))
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise AssetError(f"object scale must be positive, got {scale!r}")
    return s


def _person_from_bank(class_name: str, colour: str | RGB | None, scale: np.ndarray, rng: np.random.Generator,
                      animation: str | None) -> tuple[Mesh, list[Material]] | None:
    """A person from the baked body bank (:mod:`simgen.world.people`), or None when there is no bank (one warning
    line names the setup step; the caller then builds a block figure)."""
    from simgen.world import people

    bank = people.load_bank()
    if bank is None:
        return None
    top = None if colour is None else resolve_colour(colour, class_name, rng)
    behaviour = "cycling" if class_name == "cyclist" else (animation or "none")
    p = people.make_person(bank, rng, child=class_name == "child", top_colour=top, behaviour=behaviour)
    # the rest shape: mid-stride for people that move (so footprints cover the stride), else standing
    v = people.animate(p, people.effective_behaviour(p, behaviour), np.array([0.0, 0.01]), np.array([0.0, 1 / 30]))[0]
    faces, face_mat = people.person_faces(p)
    z0 = float(v[:, 2].min())
    p.scale = scale
    p.z_shift = z0
    mesh = Mesh((v - [0.0, 0.0, z0]) * scale, faces, face_mat, uv=people.person_uv(p), smooth=True, rig=p)
    return mesh, p.materials


def make_asset(class_name: str, colour: str | RGB | None, scale, rng: np.random.Generator,
               animation: str | None = None) -> tuple[Mesh, list[Material]]:
    """Build one object of ``class_name``.

    colour: a name of :data:`COLOURS`, an (r, g, b) triple in [0, 1] (linear), or None (drawn from a palette;
    people: the top's colour). scale: a positive float or (sx, sy, sz), applied in the object frame (the ground
    contact stays at z = 0). animation: the behaviour of a person (a value of the scene's ``animation``): people
    from the body bank carry a bag or push a stroller when asked, and are shaped mid-stride when they move.
    Returns a :class:`Mesh` (vertices (V, 3) float64 metres in the object frame) and its materials. People
    (pedestrian, child, cyclist) come from the baked body bank with a rig (``Mesh.rig``) when it is installed,
    else they are block figures. Raises :class:`AssetError` for a class without an asset.
    """
    if class_name in PERSON_CLASSES:
        got = _person_from_bank(class_name, colour, _scale_vector(scale), rng, animation)
        if got is not None:
            return got
    if class_name not in REGISTRY:
        table = class_table()
        known = ", ".join(sorted(REGISTRY))
        what = "a stuff class" if class_name in table.names and not table.by_name(class_name).thing else "unknown"
        raise AssetError(f"no procedural asset for class '{class_name}' ({what}); object classes: {known}")
    rgb = resolve_colour(colour, class_name, rng)
    mesh, mats = REGISTRY[class_name](rgb, rng)
    s = _scale_vector(scale)
    # builders author the ground contact at the origin; put the lowest point exactly on z = 0
    lo, _ = mesh.bounds()
    v = mesh.vertices - [0.0, 0.0, lo[2]]
    return Mesh(v * s, mesh.faces, mesh.face_material, vertex_group=mesh.vertex_group, uv=mesh.uv,
                smooth=mesh.smooth), mats


#: gait of people (``animation``): leg swing and arm swing amplitudes (radians), stride as a share of the
#: person's height (metres moved per full gait cycle), cadence when standing still (cycles per second)
GAITS = {"walking": (0.42, 0.35, 0.8, 0.9), "running": (0.7, 0.6, 1.3, 1.4)}


def person_pose_frames(mesh: Mesh, phases: np.ndarray, gait: str) -> np.ndarray:
    """(T, V, 3) vertices of a person mesh swinging legs and arms at the gait ``phases`` (T,) radians.

    Each leg turns about its hip (the top centre of its vertices) around the lateral y axis by
    ``±leg · sin(phase)``, each arm about its shoulder against the leg on its side; the body stays put. Parts are
    rotated rigidly, so limb lengths are kept exactly. Raises :class:`AssetError` for a mesh without a person rig
    or an unknown gait.
    """
    if gait not in GAITS:
        raise AssetError(f"unknown gait '{gait}' (known: {', '.join(GAITS)})")
    if mesh.vertex_group is None:
        raise AssetError("this mesh has no person rig (vertex_group)")
    leg_amp, arm_amp, _, _ = GAITS[gait]
    out = np.repeat(mesh.vertices[None], len(phases), axis=0)
    swing = {"leg_left": leg_amp, "leg_right": -leg_amp, "arm_left": -arm_amp, "arm_right": arm_amp}
    for part, amp in swing.items():
        sel = mesh.vertex_group == PERSON_BONES[part]
        if not sel.any():
            continue
        v = mesh.vertices[sel]
        pivot = np.array([v[:, 0].mean(), v[:, 1].mean(), v[:, 2].max()])
        for t, phase in enumerate(phases):
            a = amp * math.sin(float(phase))
            c, s_ = math.cos(a), math.sin(a)
            rot = np.array([[c, 0.0, s_], [0.0, 1.0, 0.0], [-s_, 0.0, c]])  # a turn about +y
            out[t, sel] = (v - pivot) @ rot.T + pivot
    return out


def gait_phases(poses: np.ndarray, fps: float, height: float, gait: str, phase0: float = 0.0) -> np.ndarray:
    """(T,) gait phase of a person with world poses (T, 4, 4): one cycle per stride of ground travelled, or the
    standing cadence when the person does not move."""
    _, _, stride_share, cadence = GAITS[gait]
    steps = np.linalg.norm(np.diff(poses[:, :2, 3], axis=0), axis=1)
    travelled = np.concatenate([[0.0], np.cumsum(steps)])
    if travelled[-1] < 1e-6:
        return phase0 + 2 * math.pi * cadence * np.arange(len(poses)) / fps
    return phase0 + 2 * math.pi * travelled / (stride_share * height)


def light_mounts(class_name: str, scale=1.0, mesh: Mesh | None = None, lamps: dict | None = None
                 ) -> list[LightMount]:
    """Lights carried by an object: street-light lamp (spot pointing down), vehicle headlights (spots along +x,
    tilted 5° down). Positions follow ``mesh`` bounds when given (front face of the vehicle), or the lamp faces of
    a catalog mesh (``lamps``: role -> (k, 3) object-frame face centres, already scaled) when they sit where
    lamps belong."""
    s = _scale_vector(scale)
    lamps = lamps or {}
    if class_name == "street_light":
        pose = np.eye(4)
        if "lamp" in lamps and len(lamps["lamp"]):
            c = np.asarray(lamps["lamp"], float)
            pose[:3, 3] = [float(np.median(c[:, 0])), float(np.median(c[:, 1])), float(c[:, 2].min()) - 0.05]
        else:
            pose[:3, 3] = np.array([1.55, 0.0, 6.95]) * s
        return [LightMount("lamp", "spot", pose, (1.0, 0.8, 0.55), 800.0, spot_angle_rad=math.radians(120),
                           radius=0.15)]
    if class_name in VEHICLES:
        front = None
        if mesh is not None and "headlight" in lamps and len(lamps["headlight"]):
            lo, hi = mesh.bounds()
            c = np.asarray(lamps["headlight"], float)
            c = c[c[:, 0] > hi[0] - 0.2 * (hi[0] - lo[0])]  # faces in the front fifth only
            if len(c) >= 2:
                front = (float(hi[0]) + 0.05, float(np.percentile(np.abs(c[:, 1]), 75)), float(np.median(c[:, 2])))
        if front is not None:
            x, hw, z = front
        elif mesh is not None:
            lo, hi = mesh.bounds()
            x, hw, z = hi[0] + 0.05, 0.7 * hi[1], 0.35 * (hi[2] - lo[2]) + lo[2]
        else:
            x, hw, z = 2.25 * s[0], 0.65 * s[1], 0.78 * s[2]
        th = math.radians(-85.0)  # local -z -> +x, 5 degrees down
        R = np.array([[math.cos(th), 0, math.sin(th)], [0, 1, 0], [-math.sin(th), 0, math.cos(th)]])
        out = []
        ys = [0.0] if class_name == "motorcycle" else [hw, -hw]
        for k, y in enumerate(ys):
            pose = np.eye(4)
            pose[:3, :3] = R
            pose[:3, 3] = (x, y, z)
            out.append(LightMount(f"headlight_{k}", "spot", pose, (1.0, 0.95, 0.85), 60.0,
                                  spot_angle_rad=math.radians(50), radius=0.05))
        return out
    return []
