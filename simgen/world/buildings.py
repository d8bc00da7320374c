"""Detailed building facades: storeys, recessed windows with frames, glass and rooms behind, doors, shop fronts
with sign panels and shop interiors, balconies, string courses and cornices.

Frame: world, z up, metres (see :mod:`simgen.world.conventions`). A facade lies in the plane y = ``facade.y``;
the building extends away from the road (``s = +1`` on the left side, y > 0; ``-1`` on the right). Local facade
coordinates: u = x (along the road), v = z (height), w = depth behind the facade plane (w < 0: in front of it,
towards the street).

What stands in front of the facade plane (w < 0) and where, so that placement on the sidewalk stays right:
- below :data:`OVERHANG_MIN_Z` only the shop windows' flush frames (w >= -pane depth, the same as the panes);
- above it sign panels, sills, string course, balconies (up to :data:`BALCONY_DEPTH`) and the cornice.

Every face carries texture coordinates in metres (u along the wall, v up; horizontal faces: world x, y), except
the sign panels' fronts, which run 0..1 over the panel (the sign shader draws its generic lettering in them).

Glass panes of the upper windows are one separate entity per building (class ``window``, clear glass that is not
labelled for reflections: a vertical pane keeps the sign of a ray's vertical direction, so a camera below a pane
cannot see anything lower than the pane in it, and people stand below every upper window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgen.world.model import Material, Mesh

#: nothing but flush shop-window frames stands in front of a facade below this height above the road (m)
OVERHANG_MIN_Z = 2.5
#: how far balconies reach over the sidewalk (m)
BALCONY_DEPTH = 0.9
#: depth of the rooms behind windows (m)
ROOM_DEPTH = 3.0
SHOP_DEPTH = 4.0

# material slots of a detailed building (index into the building entity's materials)
WALL, SHOP_ROOM, TRIM, FRAME, ROOM_DARK, ROOM_LIT, SIGN, DOOR, ROOF, BLIND, RAIL, GROUND, ROOM_LIT_COOL = range(13)
#: the slots of lit rooms (warm lamps, cooler ones)
LIT_ROOMS = (ROOM_LIT, ROOM_LIT_COOL)

_FRAME_COLOURS = [(0.8, 0.8, 0.78), (0.06, 0.06, 0.065), (0.22, 0.13, 0.07), (0.35, 0.36, 0.38)]
_SIGN_COLOURS = [(0.55, 0.06, 0.05), (0.05, 0.12, 0.35), (0.04, 0.22, 0.1), (0.75, 0.55, 0.08),
                 (0.08, 0.08, 0.08), (0.7, 0.7, 0.68), (0.35, 0.05, 0.25)]
_GLASS_TINTS = [(0.08, 0.11, 0.14), (0.06, 0.09, 0.09), (0.1, 0.1, 0.12), (0.07, 0.09, 0.13)]


def upper_glass_material() -> Material:
    """Clear window glass of the upper storeys (not a labelled reflector: see the module docstring)."""
    return Material("window_glass", base_color=(0.95, 0.97, 1.0), roughness=0.0, transmission=1.0, ior=1.45)


@dataclass
class FacadeLook:
    """The random choices of one building (from its seed)."""

    bay: float
    win_w: float
    win_h: float
    recess: float
    storey: float
    ground: float
    frame: tuple
    sign: tuple
    mullion: bool


class _Acc:
    """Accumulates quads (two triangles each) with material ids and per-corner uv (None = project from the face
    normal). Quads are stored as given; winding and triangles are worked out for all of them at once in
    :meth:`mesh`."""

    def __init__(self):
        self.c: list = []  # (4, 3) corners per quad
        self.n: list = []  # (3,) the side each quad faces
        self.uv: list = []  # (4, 2) or None per quad
        self.m: list[int] = []

    def quad(self, corners, mat: int, normal, uv=None) -> None:
        """corners (4, 3) around the quad (either winding); normal (3,): the side it faces."""
        self.c.append(corners)
        self.n.append(normal)
        self.uv.append(uv)
        self.m.append(mat)

    def box(self, lo, hi, mat: int, skip: tuple[str, ...] = ()) -> None:
        """Closed axis-aligned box (faces outward); ``skip`` names faces to leave out ('-x', '+y', ...)."""
        (x0, y0, z0), (x1, y1, z1) = lo, hi
        faces = {"-x": ([[x0, y0, z0], [x0, y1, z0], [x0, y1, z1], [x0, y0, z1]], (-1, 0, 0)),
                 "+x": ([[x1, y0, z0], [x1, y1, z0], [x1, y1, z1], [x1, y0, z1]], (1, 0, 0)),
                 "-y": ([[x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1]], (0, -1, 0)),
                 "+y": ([[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]], (0, 1, 0)),
                 "-z": ([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0]], (0, 0, -1)),
                 "+z": ([[x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], (0, 0, 1))}
        for key, (c, n) in faces.items():
            if key not in skip:
                self.quad(c, mat, n)

    def extend(self, other: "_Acc") -> None:
        """Append ``other``'s quads."""
        self.c += other.c
        self.n += other.n
        self.uv += other.uv
        self.m += other.m

    def mesh(self) -> Mesh:
        """The quads as a triangle mesh: vertices (3F, 3) float64 (three per triangle), faces (F, 3), per-corner
        uv (F, 3, 2) float32 in metres (the given uv, else the corners projected on the plane the face is most
        parallel to), face_material (F,) int64."""
        C = np.asarray(self.c, float).reshape(-1, 4, 3)
        N = np.asarray(self.n, float).reshape(-1, 3)
        flip = np.einsum("ij,ij->i", np.cross(C[:, 1] - C[:, 0], C[:, 2] - C[:, 0]), N) < 0
        C[flip] = C[flip][:, ::-1]
        tri_idx = np.array([[0, 1, 2], [0, 2, 3]])
        tris = C[:, tri_idx].reshape(-1, 3, 3)  # (2Q, 3, 3): quad q gives triangles 2q, 2q + 1
        n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        a = np.abs(n)
        uv = np.where((a[:, 2] >= a[:, 0]) & (a[:, 2] >= a[:, 1]), 0, np.where(a[:, 1] >= a[:, 0], 1, 2))
        proj = np.empty((len(tris), 3, 2))
        proj[uv == 0] = tris[uv == 0][:, :, [0, 1]]
        proj[uv == 1] = tris[uv == 1][:, :, [0, 2]]
        proj[uv == 2] = tris[uv == 2][:, :, [1, 2]]
        given = [q for q, g in enumerate(self.uv) if g is not None]
        if given:
            G = np.asarray([self.uv[q] for q in given], float).reshape(-1, 4, 2)
            gf = flip[given]
            G[gf] = G[gf][:, ::-1]
            g_tris = G[:, tri_idx]  # (k, 2, 3, 2)
            rows = (2 * np.asarray(given)[:, None] + np.arange(2)).reshape(-1)
            proj[rows] = g_tris.reshape(-1, 3, 2)
        verts = tris.reshape(-1, 3)
        faces = np.arange(len(verts)).reshape(-1, 3)
        return Mesh(verts, faces, np.repeat(np.asarray(self.m, np.int64), 2), uv=proj.astype(np.float32))


def facade_look(rng: np.random.Generator, material: str, storey: float, ground: float) -> FacadeLook:
    bay = float(rng.uniform(2.6, 3.6))
    win_w = float(min(rng.uniform(1.0, 1.6), bay - 0.8))
    win_h = float(min(rng.uniform(1.35, 1.9), storey - 1.05))
    return FacadeLook(bay, win_w, win_h, float(rng.uniform(0.1, 0.22)), storey, ground,
                      _FRAME_COLOURS[int(rng.integers(len(_FRAME_COLOURS)))],
                      _SIGN_COLOURS[int(rng.integers(len(_SIGN_COLOURS)))], bool(rng.random() < 0.6))


def building_materials(name: str, material: str, colour, texture: str, look: FacadeLook, rng, night: bool,
                       shop_light: bool, shared: dict, light_scale: float = 1.0) -> list[Material]:
    """The materials of a detailed building, by slot (see the slot constants). At night (and dusk) lit rooms,
    shops and signs glow at their night level times ``light_scale`` (simgen.world.photometry), never below the
    faint daytime glow."""
    col = tuple(float(c) for c in colour)
    seed = float(rng.uniform(0, 100))
    if material == "glass":
        tint = _GLASS_TINTS[int(rng.integers(len(_GLASS_TINTS)))]
        wall = Material(f"{name}_curtain_wall", base_color=tint, roughness=0.06, ior=1.6, texture=texture,
                        texture_scale=1.0, texture_coords="uv", texture_seed=seed)
    else:
        rough = {"brick": 0.88, "plaster": 0.8, "concrete": 0.85}.get(material, 0.85)
        wall = Material(f"{name}_{material}", base_color=col, roughness=rough, texture=texture,  # type: ignore
                        texture_scale=1.0, texture_coords="uv", texture_seed=seed)
    trim_col = (0.62, 0.6, 0.55) if rng.random() < 0.6 else tuple(min(1.0, 1.15 * c) for c in col)
    trim = Material(f"{name}_trim", base_color=trim_col, roughness=0.75, texture="concrete", texture_scale=1.0,
                    texture_coords="uv", texture_seed=seed + 7)
    ground_mat = trim if material != "brick" else Material(
        f"{name}_ground_floor", base_color=(0.3, 0.29, 0.27), roughness=0.7, texture="concrete",
        texture_scale=1.0, texture_coords="uv", texture_seed=seed + 3)
    frame = Material(f"frame_{look.frame}", base_color=look.frame, roughness=0.45)
    sign = Material(f"{name}_sign", base_color=look.sign, roughness=0.35, texture="sign", texture_scale=1.0,
                    texture_coords="uv", texture_seed=seed,
                    emission_color=(1.0, 0.9, 0.75), emission_strength=0.3 * light_scale if night else 0.0)
    if "room_dark" not in shared:
        lit = max(0.4 * light_scale, 0.06) if night else 0.06
        shared.update(
            room_lit_cool=Material("room_lit_cool", base_color=(0.5, 0.52, 0.55), roughness=0.9, texture="noise",
                                   texture_scale=2.0, emission_color=(0.85, 0.92, 1.0),
                                   emission_strength=0.6 * lit),
            room_dark=Material("room_dark", base_color=(0.09, 0.08, 0.07), roughness=0.9, texture="noise",
                               texture_scale=2.0),
            room_lit=Material("room_lit", base_color=(0.55, 0.5, 0.42), roughness=0.9, texture="noise",
                              texture_scale=2.0, emission_color=(1.0, 0.82, 0.6), emission_strength=lit),
            door=Material("door", base_color=(0.12, 0.08, 0.05), roughness=0.5, texture="noise", texture_scale=6.0),
            roof=Material("roof", base_color=(0.12, 0.12, 0.12), roughness=0.95, texture="noise", texture_scale=1.0),
            blind=Material("blind", base_color=(0.6, 0.58, 0.52), roughness=0.9),
            rail=Material("railing", base_color=(0.05, 0.05, 0.055), roughness=0.4, metallic=0.8),
        )
    shop = Material(f"{name}_shop_interior", base_color=(0.45, 0.42, 0.38), roughness=0.7, texture="noise",
                    texture_scale=3.0, emission_color=(1.0, 0.88, 0.7),
                    emission_strength=max(2.5 * light_scale, 0.4) if night and shop_light else (0.4 if shop_light else 0.0))
    return [wall, shop, trim, frame, shared["room_dark"], shared["room_lit"], sign, shared["door"], shared["roof"],
            shared["blind"], shared["rail"], ground_mat, shared["room_lit_cool"]]


def detailed_building(f, side: int, depth: float, p, seed: int, night: bool, shared: dict, light_scale: float = 1.0):
    """Geometry and materials of one detailed building.

    f: the :class:`~simgen.world.layout.Facade`; side: +1 left / -1 right; depth: building depth (m); p: the
    :class:`~simgen.world.layout.RoadParams` (shop-window sizes, curb height). Returns (building mesh, its
    materials, glass mesh or None): meshes in world coordinates."""
    rng = np.random.default_rng(seed)
    s = float(side)
    H = float(f.height)
    shop_top = p.curb_height + p.window_sill + p.window_height
    ground = max(4.0, shop_top + 1.1)
    storey = float(getattr(f, "storey_height", 3.2))
    look = facade_look(rng, f.material, storey, ground)
    mats = building_materials(f"building_{f.side}_{f.x0:g}", f.material, f.colour, f.texture, look, rng, night,
                              p.window_interior_light, shared, light_scale)
    acc, glass = _Acc(), _Acc()
    y0 = f.y

    def P(u, v, w):
        return [u, y0 + s * w, v]

    street = (0.0, -s, 0.0)
    n_up = max(0, int((H - ground - 0.7) // storey))
    roof_z = H
    x0, x1 = f.x0, f.x1
    openings: list[tuple[float, float, float, float]] = []

    # --- upper storeys: a grid of windows
    n_bays = max(1, int((x1 - x0 - 0.6) // look.bay))
    bay = (x1 - x0) / n_bays
    glass_building = f.material == "glass"
    for k in range(n_up):
        base = ground + k * storey
        balcony_row = f.balconies and not glass_building
        for j in range(n_bays):
            if glass_building:
                continue
            uc = x0 + (j + 0.5) * bay
            u0, u1 = uc - look.win_w / 2, uc + look.win_w / 2
            has_balcony = balcony_row and (j % 2 == 0 or n_bays <= 2)
            v0 = base + (0.1 if has_balcony else 0.9)
            v1 = min(base + storey - 0.35, v0 + (look.win_h + (0.8 if has_balcony else 0.0)))
            openings.append((u0, u1, v0, v1))
            _window(acc, glass, P, street, s, u0, u1, v0, v1, look, rng, base, base + storey, bay, f.lit_windows)
            if not has_balcony:  # sill
                acc.box(*_world_box(P, u0 - 0.06, u1 + 0.06, v0 - 0.07, v0, -0.06, look.recess), TRIM)
            else:
                _balcony(acc, P, u0 - 0.35, u1 + 0.35, base)
    # --- ground floor: shop fronts, a door, signs
    z0 = p.curb_height + p.window_sill
    shop_iv = []
    for cx in f.window_xs:
        u0, u1 = cx - p.window_width / 2, cx + p.window_width / 2
        openings.append((u0, u1, z0, z0 + p.window_height))
        shop_iv.append((u0 - 0.12, u1 + 0.12))
        _shop(acc, P, street, s, u0, u1, z0, z0 + p.window_height, p, rng)
        sv0 = z0 + p.window_height + 0.2
        sv1 = min(ground - 0.3, sv0 + 0.6)
        u_a, u_b = u0 - 0.1, u1 + 0.1
        acc.box(*_world_box(P, u_a, u_b, sv0, sv1, -0.08, 0.0), SIGN, )
        acc.quad([P(u_a, sv0, -0.0805), P(u_b, sv0, -0.0805), P(u_b, sv1, -0.0805), P(u_a, sv1, -0.0805)], SIGN,
                 street, uv=_sign_uv(s))
    door = _door_slot(x0, x1, shop_iv)
    if door is not None:
        d0, d1 = door
        dv0, dv1 = p.curb_height, p.curb_height + 2.25
        openings.append((d0, d1, dv0, dv1))
        _reveal(acc, P, d0, d1, dv0, dv1, 0.0, 0.25, TRIM)
        acc.quad([P(d0, dv0, 0.25), P(d1, dv0, 0.25), P(d1, dv1, 0.25), P(d0, dv1, 0.25)], DOOR, street)
    # --- the wall with its openings, the plain sides, back and roof
    _holed_wall(acc, P, street, x0, x1, 0.0, roof_z, openings, ground, glass_building)
    yb = y0 + s * depth
    lo, hi = (x0, min(y0, yb), 0.0), (x1, max(y0, yb), roof_z)
    acc.box(lo, hi, ROOF, skip=("-y", "+y", "-x", "+x", "-z"))
    tmp = _Acc()
    tmp.box(lo, hi, WALL, skip=tuple(k for k in ("-x", "-y", "+y", "-z", "+z", "+x") if k != ("+y" if s > 0 else "-y")))
    acc.extend(tmp)
    # the side walls: windows in the upper storeys (recessed, nothing stands out of the wall), plain otherwise
    for end, inward in ((x0, 1.0), (x1, -1.0)):
        _side_wall(acc, end, inward, y0, s, depth, roof_z, ground, storey, n_up,
                   None if glass_building else look, rng, f.lit_windows)
    # string course over the ground floor and the cornice at the top
    acc.box(*_world_box(P, x0, x1, ground - 0.18, ground, -0.08, 0.0), TRIM)
    acc.box(*_world_box(P, x0 - 0.0, x1 + 0.0, roof_z - 0.45, roof_z, -0.3, 0.0), TRIM)
    acc.box(*_world_box(P, x0, x1, roof_z, roof_z + 0.5, 0.0, 0.25), TRIM)  # parapet
    return acc.mesh(), mats, (glass.mesh() if glass.c else None)


def _world_box(P, u0, u1, v0, v1, w0, w1):
    a, b = np.array(P(u0, v0, w0)), np.array(P(u1, v1, w1))
    return tuple(np.minimum(a, b)), tuple(np.maximum(a, b))


def _sign_uv(s: float):
    """0..1 over the sign front, u left to right as seen from the street."""
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    if s < 0:  # right side: +x runs right to left for a viewer looking at the facade
        uv[:, 0] = 1 - uv[:, 0]
    return uv


def _reveal(acc: _Acc, P, u0, u1, v0, v1, w0, w1, mat) -> None:
    """The four inner sides of an opening from depth w0 to w1 (normals into the opening)."""
    acc.quad([P(u0, v0, w0), P(u0, v1, w0), P(u0, v1, w1), P(u0, v0, w1)], mat, (1, 0, 0))
    acc.quad([P(u1, v0, w0), P(u1, v1, w0), P(u1, v1, w1), P(u1, v0, w1)], mat, (-1, 0, 0))
    acc.quad([P(u0, v0, w0), P(u1, v0, w0), P(u1, v0, w1), P(u0, v0, w1)], mat, (0, 0, 1))
    acc.quad([P(u0, v1, w0), P(u1, v1, w0), P(u1, v1, w1), P(u0, v1, w1)], mat, (0, 0, -1))


def _room(acc: _Acc, P, s, u0, u1, v0, v1, w0, w1, mat) -> None:
    """An open-fronted room (back, floor, ceiling, sides) between depths w0 and w1, faces towards its inside."""
    inward = (0.0, s, 0.0)
    acc.quad([P(u0, v0, w1), P(u1, v0, w1), P(u1, v1, w1), P(u0, v1, w1)], mat, tuple(-c for c in inward))
    _reveal(acc, P, u0, u1, v0, v1, w0, w1, mat)


def _window(acc, glass, P, street, s, u0, u1, v0, v1, look: FacadeLook, rng, floor, ceil, bay, lit_share):
    r = look.recess
    _reveal(acc, P, u0, u1, v0, v1, 0.0, r, TRIM)
    # the frame: a border and (sometimes) a mullion and transom, 6 cm deep, in front of the pane
    fw, fd = 0.06, 0.06
    for a, b, c, d in ((u0, u1, v0, v0 + fw), (u0, u1, v1 - fw, v1), (u0, u0 + fw, v0, v1), (u1 - fw, u1, v0, v1)):
        acc.box(*_world_box(P, a, b, c, d, r - fd, r - 0.005), FRAME)
    if look.mullion and u1 - u0 > 1.1:
        um = 0.5 * (u0 + u1)
        acc.box(*_world_box(P, um - 0.03, um + 0.03, v0, v1, r - fd, r - 0.005), FRAME)
    if look.mullion and v1 - v0 > 1.5:
        vt = v1 - 0.45
        acc.box(*_world_box(P, u0, u1, vt - 0.03, vt + 0.03, r - fd, r - 0.005), FRAME)
    glass.quad([P(u0, v0, r), P(u1, v0, r), P(u1, v1, r), P(u0, v1, r)], 0, street)
    # the room behind (as wide as the bay allows), sometimes a blind behind the glass
    m = max(0.0, min(0.6, (bay - (u1 - u0)) / 2 - 0.05))
    room = (ROOM_LIT if rng.random() < 0.65 else ROOM_LIT_COOL) if rng.random() < lit_share else ROOM_DARK
    _room(acc, P, s, u0 - m, u1 + m, floor + 0.02, ceil - 0.2, r, r + ROOM_DEPTH, room)
    # close the gap between the recess and the larger room (faces towards the room)
    inward = (0.0, s, 0.0)
    w = r
    ring = [((u0 - m, u0), (floor + 0.02, ceil - 0.2)), ((u1, u1 + m), (floor + 0.02, ceil - 0.2)),
            ((u0, u1), (floor + 0.02, v0)), ((u0, u1), (v1, ceil - 0.2))]
    for (a, b), (c, d) in ring:
        if b - a > 1e-6 and d - c > 1e-6:
            acc.quad([P(a, c, w), P(b, c, w), P(b, d, w), P(a, d, w)], room, inward)
    if rng.random() < 0.4:
        drop = float(rng.uniform(0.15, 0.9))
        vb = v1 - drop * (v1 - v0)
        acc.quad([P(u0, vb, r + 0.05), P(u1, vb, r + 0.05), P(u1, v1, r + 0.05), P(u0, v1, r + 0.05)], BLIND,
                 street)


def _balcony(acc, P, u0, u1, base) -> None:
    d = BALCONY_DEPTH
    acc.box(*_world_box(P, u0, u1, base - 0.05, base + 0.1, -d, 0.0), TRIM)
    acc.box(*_world_box(P, u0, u1, base + 0.1, base + 1.0, -d, -d + 0.04), RAIL)
    for u in (u0, u1 - 0.04):
        acc.box(*_world_box(P, u, u + 0.04, base + 0.1, base + 1.0, -d + 0.04, 0.0), RAIL)


def _shop(acc, P, street, s, u0, u1, v0, v1, p, rng) -> None:
    """The opening behind a shop pane: a flush frame around the pane, a shallow reveal and the shop room with
    a counter and shelves."""
    t = 0.005 + p.window_thickness  # the pane's outer face is t in front of the facade
    fw = 0.08
    for a, b, c, d in ((u0 - fw, u1 + fw, v0 - fw, v0), (u0 - fw, u1 + fw, v1, v1 + fw),
                       (u0 - fw, u0, v0, v1), (u1, u1 + fw, v0, v1)):
        acc.box(*_world_box(P, a, b, c, d, -t, 0.0), FRAME)
    _reveal(acc, P, u0, u1, v0, v1, 0.0, 0.1, FRAME)
    floor = p.curb_height
    _room(acc, P, s, u0 - 0.3, u1 + 0.3, floor, v1 + 0.4, 0.1, SHOP_DEPTH, SHOP_ROOM)
    inward = (0.0, s, 0.0)
    for (a, b), (c, d) in (((u0 - 0.3, u0), (floor, v1 + 0.4)), ((u1, u1 + 0.3), (floor, v1 + 0.4)),
                           ((u0, u1), (floor, v0)), ((u0, u1), (v1, v1 + 0.4))):
        acc.quad([P(a, c, 0.1), P(b, c, 0.1), P(b, d, 0.1), P(a, d, 0.1)], SHOP_ROOM, inward)
    # display: a low counter and two shelves against the back wall
    acc.box(*_world_box(P, u0 + 0.2, u1 - 0.2, floor, v0 + 0.1, 0.6, 1.2), TRIM)
    for k in range(2):
        vv = floor + 0.9 + 0.6 * k
        acc.box(*_world_box(P, u0, u1, vv, vv + 0.04, SHOP_DEPTH - 0.45, SHOP_DEPTH - 0.01), FRAME)
        for j in range(int(rng.integers(2, 6))):
            ua = float(rng.uniform(u0, u1 - 0.3))
            acc.box(*_world_box(P, ua, ua + float(rng.uniform(0.1, 0.3)), vv + 0.04, vv + float(rng.uniform(0.12, 0.4)),
                                SHOP_DEPTH - 0.4, SHOP_DEPTH - 0.1), SIGN)


def _door_slot(x0, x1, taken) -> tuple[float, float] | None:
    """A 1.1 m door in the widest free stretch of the ground floor (None if no stretch is 1.6 m long)."""
    free, a = [], x0 + 0.3
    for t0, t1 in sorted(taken) + [(x1 - 0.3, x1 - 0.3)]:
        if t0 - a >= 1.6:
            free.append((a, t0))
        a = max(a, t1)
    if not free:
        return None
    a, b = max(free, key=lambda iv: iv[1] - iv[0])
    c = 0.5 * (a + b)
    return c - 0.55, c + 0.55


def _side_wall(acc: _Acc, x_end: float, inward: float, y0: float, s: float, depth: float, top: float,
               ground: float, storey: float, n_up: int, look: FacadeLook | None, rng, lit_share: float) -> None:
    """The side wall x = x_end of a building (``inward``: +1 when the building lies at larger x). Local
    coordinates: a = depth behind the facade (0..depth), b = height, w = depth into the wall (towards the
    building's inside). Upper storeys get a row of windows (``look`` None: none): an opening with reveals
    ``look.recess`` deep, a frame and a pane at its back showing a dark or lit room (lit share
    ``lit_share``); so rays into an opening end on the pane, never inside the empty building."""

    def Q(a, b, w):
        return [x_end + inward * w, y0 + s * a, b]

    out = (-inward, 0.0, 0.0)  # the wall faces away from the building
    openings = []
    if look is not None and depth > 4.0:
        n_bays = max(1, int((depth - 1.5) // look.bay))
        bay = (depth - 1.5) / n_bays
        ww = min(look.win_w, bay - 0.7)
        for k in range(n_up):
            base = ground + k * storey
            v0 = base + 0.9
            v1 = min(base + storey - 0.35, v0 + look.win_h)
            for j in range(n_bays):
                ac = 1.0 + (j + 0.5) * bay
                openings.append((ac - ww / 2, ac + ww / 2, v0, v1))
    # the wall: a grid of quads minus the openings
    xs = sorted({0.0, depth, *[o[0] for o in openings], *[o[1] for o in openings]})
    zs = sorted({0.0, top, ground, *[o[2] for o in openings], *[o[3] for o in openings]})
    ops = np.array(openings) if openings else np.zeros((0, 4))
    for a, b in zip(xs[:-1], xs[1:]):
        for c, d in zip(zs[:-1], zs[1:]):
            am, vm = 0.5 * (a + b), 0.5 * (c + d)
            if len(ops) and np.any((ops[:, 0] < am) & (am < ops[:, 1]) & (ops[:, 2] < vm) & (vm < ops[:, 3])):
                continue
            acc.quad([Q(a, c, 0.0), Q(b, c, 0.0), Q(b, d, 0.0), Q(a, d, 0.0)], GROUND if vm < ground else WALL,
                     out)
    if look is None:
        return
    r = look.recess
    da = np.array(Q(1.0, 0.0, 0.0)) - np.array(Q(0.0, 0.0, 0.0))  # +a direction in the world
    for a0, a1, v0, v1 in openings:
        # reveals (facing into the opening), the pane with the room's look at the back, a frame
        acc.quad([Q(a0, v0, 0), Q(a0, v1, 0), Q(a0, v1, r), Q(a0, v0, r)], TRIM, tuple(da))
        acc.quad([Q(a1, v0, 0), Q(a1, v1, 0), Q(a1, v1, r), Q(a1, v0, r)], TRIM, tuple(-da))
        acc.quad([Q(a0, v0, 0), Q(a1, v0, 0), Q(a1, v0, r), Q(a0, v0, r)], TRIM, (0, 0, 1))
        acc.quad([Q(a0, v1, 0), Q(a1, v1, 0), Q(a1, v1, r), Q(a0, v1, r)], TRIM, (0, 0, -1))
        room = (ROOM_LIT if rng.random() < 0.65 else ROOM_LIT_COOL) if rng.random() < lit_share else ROOM_DARK
        acc.quad([Q(a0, v0, r), Q(a1, v0, r), Q(a1, v1, r), Q(a0, v1, r)], room, out)
        fw, fd = 0.06, 0.05
        for p0, p1, q0, q1 in ((a0, a1, v0, v0 + fw), (a0, a1, v1 - fw, v1), (a0, a0 + fw, v0, v1),
                               (a1 - fw, a1, v0, v1)):
            c = [Q(p0, q0, r - fd), Q(p1, q1, r - 0.005)]
            acc.box(tuple(np.minimum(*c)), tuple(np.maximum(*c)), FRAME)
        if rng.random() < 0.4:  # a blind part-way down
            vb = v1 - float(rng.uniform(0.15, 0.8)) * (v1 - v0)
            acc.quad([Q(a0, vb, r - 0.01), Q(a1, vb, r - 0.01), Q(a1, v1, r - 0.01), Q(a0, v1, r - 0.01)], BLIND,
                     out)


def _holed_wall(acc, P, street, x0, x1, v0, v1, openings, ground, glass_building) -> None:
    """The facade plane between x0..x1, v0..v1 minus the openings (a grid of quads; the ground floor in its own
    material)."""
    xs = sorted({x0, x1, *[o[0] for o in openings], *[o[1] for o in openings]})
    zs = sorted({v0, v1, ground, *[o[2] for o in openings], *[o[3] for o in openings]})
    xs = [x for x in xs if x0 <= x <= x1]
    zs = [z for z in zs if v0 <= z <= v1]
    ops = np.array(openings) if openings else np.zeros((0, 4))
    for a, b in zip(xs[:-1], xs[1:]):
        for c, d in zip(zs[:-1], zs[1:]):
            um, vm = 0.5 * (a + b), 0.5 * (c + d)
            if len(ops) and np.any((ops[:, 0] < um) & (um < ops[:, 1]) & (ops[:, 2] < vm) & (vm < ops[:, 3])):
                continue
            mat = GROUND if vm < ground else WALL
            acc.quad([P(a, c, 0.0), P(b, c, 0.0), P(b, d, 0.0), P(a, d, 0.0)], mat, street)
