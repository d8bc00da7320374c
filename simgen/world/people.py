"""People from a baked bank of ``anny`` bodies, posed with linear-blend skinning in numpy.

``scripts/bake_bodies.py`` (run by ``scripts/setup.sh``) writes ``data_dir("bodies")/bank.npz``: bodies of one
shared topology over a spread of age, gender, height and build, with skin weights, a reduced rig and a body-part
label per face. Nothing here imports anny or torch.

Object frame (as every simgen asset): +x forward, +y left, z up, metres; the origin is the centre of the feet on
the ground. A person is a :class:`Person`: its body (vertices blended from the bank and scaled to a sampled
stature), the clothing and hair chosen per face (materials), and props (a bag, a stroller, a bicycle) that move
rigidly with a bone or the root. :func:`animate` gives the (T, V, 3) vertices of a person at every frame of a
sequence for one of :data:`BEHAVIOURS`.

The rig: every bone j turns by a rotation ``Q_j`` (3, 3) about its rest head ``h_j``, expressed in the body's rest
axes and composed down the chain, so bone j moves by ``M_j(x) = M_parent(Q_j (x - h_j) + h_j)``. Gaits place the
feet: the stance foot's ankle (or, with the heel lifted, its toe tip) stays fixed on the ground while the body
moves on, and the phase advances with the ground covered (one cycle per stride), so the stance foot never slides.
Hip and knee angles come from two-bone inverse kinematics in the sagittal (x-z) plane.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from simgen.paths import data_dir
from simgen.world.primitives import BOX_F, BOX_V, bar

log = logging.getLogger(__name__)

BANK_FILE = "bank.npz"
#: the bank layout this code reads (scripts/bake_bodies.py writes it as ``version``)
BANK_VERSION = 1
#: behaviours (the scene's ``animation`` values for people): moving ones advance with the ground covered
BEHAVIOURS = ("none", "standing", "idle", "waiting", "walking", "running", "carrying", "stroller", "cycling")
#: per-gait (stride as a share of stature per full cycle, duty factor = share of the cycle a foot is on the ground,
#: foot lift (share of stature), arm swing (rad), elbow flexion (rad), forward lean (rad), cadence when the person
#: does not move (cycles per second))
GAIT = {
    "walking": (0.78, 0.62, 0.07, 0.35, 0.25, 0.03, 0.9),
    "running": (1.25, 0.38, 0.16, 0.7, 1.4, 0.16, 1.4),
}


#: behaviours that move along the ground
MOVING = ("walking", "running", "carrying", "stroller", "cycling")


def effective_behaviour(p: "Person", animation: str | None) -> str:
    """What person ``p`` does for a scene ``animation``: a rider always cycles; a stroller or bag only where the
    person was built with one (else walking)."""
    if p.bike is not None:
        return "cycling"
    a = animation or "none"
    if a == "stroller" and p.stroller_handle is None:
        return "walking"
    if a == "carrying" and not p.bag:
        return "walking"
    if a == "cycling":
        return "walking"
    return a


def bank_path() -> Path:
    """Where the bank lives (``$SIMGEN_DATA_DIR/bodies/bank.npz``, default ``~/.cache/simgen/bodies``)."""
    return data_dir("bodies", BANK_FILE)


@dataclass(frozen=True)
class Bank:
    """The baked bodies (see scripts/bake_bodies.py for every array's shape and meaning)."""

    vertices: np.ndarray  # (B, V, 3) float64 rest vertices
    faces: np.ndarray  # (F, 3) int64
    uv: np.ndarray  # (F, 3, 2) float32
    face_part: np.ndarray  # (F,) int64 index into part_names
    part_names: tuple[str, ...]
    weights: np.ndarray  # (V, 4)
    weight_bones: np.ndarray  # (V, 4) int64
    bone_names: tuple[str, ...]
    bone_parents: np.ndarray  # (J,) int64, -1 for the root
    bone_heads: np.ndarray  # (B, J, 3)
    params: np.ndarray  # (B, 5): age, gender, height, muscle, weight (anny units 0..1)
    stature: np.ndarray  # (B,)

    def bone(self, name: str) -> int:
        return self.bone_names.index(name)

    def part(self, name: str) -> int:
        return self.part_names.index(name)


@lru_cache(maxsize=4)
def _load(path: str) -> Bank | None:
    d = np.load(path)
    if "version" not in d.files or int(d["version"]) != BANK_VERSION:
        return None
    return Bank(
        vertices=d["vertices"].astype(np.float64), faces=d["faces"].astype(np.int64), uv=d["uv"],
        face_part=d["face_part"].astype(np.int64), part_names=tuple(str(s) for s in d["part_names"]),
        weights=d["weights"].astype(np.float64), weight_bones=d["weight_bones"].astype(np.int64),
        bone_names=tuple(str(s) for s in d["bone_names"]), bone_parents=d["bone_parents"].astype(np.int64),
        bone_heads=d["bone_heads"].astype(np.float64),
        params=np.stack([d[k] for k in ("age", "gender", "height", "muscle", "weight")], 1).astype(np.float64),
        stature=d["stature_m"].astype(np.float64),
    )


_warned: set[str] = set()


def load_bank(path: Path | None = None) -> Bank | None:
    """The bank (cached in-process), or None with one warning line naming the setup step when it is missing."""
    p = Path(path) if path is not None else bank_path()
    if not p.is_file():
        if str(p) not in _warned:
            _warned.add(str(p))
            log.warning("no body bank at %s: people fall back to block figures (run scripts/setup.sh, which runs "
                        "scripts/bake_bodies.py)", p)
        return None
    bank = _load(str(p))
    if bank is None and str(p) not in _warned:
        _warned.add(str(p))
        log.warning("the body bank at %s is from another version of simgen: people fall back to block figures "
                    "(rebake: python scripts/bake_bodies.py --force)", p)
    return bank



# ---- face and skin detail (a texture in the body's UVs) ---------------------------------------------------------

FACE_IMAGE = "face_detail_v1.png"


def _uv_positions(bank: Bank, body: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise the faces ``mask`` of the UV layout into a (size, size) image: the rest position (3,) of the body
    surface under each covered texel. Returns (size, size, 3) positions and a (size, size) coverage mask. Row 0
    is v = 1 (image rows run down, UVs up)."""
    pos = np.zeros((size, size, 3))
    hit = np.zeros((size, size), bool)
    # skip faces that straddle UV islands (their UV area is far out of proportion to their surface area)
    tri = body[bank.faces]
    a3 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    u = bank.uv.astype(float)
    a2 = np.abs(np.cross(u[:, 1] - u[:, 0], u[:, 2] - u[:, 0]))
    ratio = a2 / np.maximum(a3, 1e-12)
    ok = (ratio < 4 * np.median(ratio[mask])) & (ratio > 0.25 * np.median(ratio[mask]))
    for fi in np.nonzero(mask & ok)[0]:
        t = bank.uv[fi].astype(float) * [size, size]
        t[:, 1] = size - t[:, 1]
        x0, y0 = np.floor(t.min(0)).astype(int)
        x1, y1 = np.ceil(t.max(0)).astype(int)
        xs, ys = np.meshgrid(np.arange(max(x0, 0), min(x1 + 1, size)), np.arange(max(y0, 0), min(y1 + 1, size)))
        px = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1)
        a, b, c = t
        m = np.array([b - a, c - a]).T
        if abs(np.linalg.det(m)) < 1e-9:
            continue
        l12 = np.linalg.solve(m, (px - a).T).T
        lam = np.c_[1 - l12.sum(1), l12]
        inside = (lam > -0.02).all(1)
        if not inside.any():
            continue
        p3 = lam[inside] @ body[bank.faces[fi]]
        pos[ys.ravel()[inside], xs.ravel()[inside]] = p3
        hit[ys.ravel()[inside], xs.ravel()[inside]] = True
    return pos, hit


def face_detail(bank: Bank, size: int = 1024) -> np.ndarray:
    """(size, size, 3) float linear-RGB multipliers (1 = the skin's own colour) in the body's UV layout: eyebrows,
    eyelids and the shadow of the eye sockets, lips and the mouth line, the shading under nose and chin, cheeks,
    and darker nails... painted by position on an average adult (the topology is shared, so they sit on every
    body)."""
    adult = np.nonzero(bank.params[:, 0] >= 0.5)[0][0]
    body = bank.vertices[adult]
    fp = bank.face_part
    pos, hit = _uv_positions(bank, body, np.isin(fp, [bank.part("head"), bank.part("neck")]), size)
    eye_v = body[np.unique(bank.faces[fp == bank.part("eye")])]
    ex, ez = eye_v[:, 0].max(), eye_v[:, 2].mean()
    ey = np.abs(eye_v[:, 1]).mean()
    x, y, z = pos[..., 0], pos[..., 1], pos[..., 2]
    front = np.clip((x - (ex - 0.05)) / 0.03, 0, 1)  # on the face, not the sides of the head
    out = np.ones((size, size, 3))

    def blob(cy, cz, ry, rz, mult, power=2.0):
        d = ((np.abs(y) - cy) / ry) ** 2 + ((z - cz) / rz) ** 2 if cy is not None else (y / ry) ** 2 + ((z - cz) / rz) ** 2
        w = np.exp(-d ** (power / 2)) * front * hit
        for k in range(3):
            out[..., k] *= 1 - w * (1 - mult[k])

    blob(ey, ez, 0.026, 0.017, (0.62, 0.55, 0.55))  # eye sockets, lids and lashes
    blob(ey + 0.003, ez + 0.021, 0.022, 0.0045, (0.22, 0.2, 0.2), 4.0)  # eyebrows
    blob(None, ez - 0.077, 0.022, 0.006, (0.72, 0.45, 0.45), 4.0)  # lips
    blob(None, ez - 0.077, 0.02, 0.0018, (0.35, 0.3, 0.3), 4.0)  # the line between the lips
    blob(None, ez - 0.055, 0.012, 0.006, (0.55, 0.5, 0.5))  # under the nose: nostrils, shadow
    blob(None, ez - 0.105, 0.03, 0.01, (0.85, 0.82, 0.82))  # under the lower lip, over the chin
    blob(0.045, ez - 0.04, 0.02, 0.02, (1.0, 0.88, 0.86))  # cheeks
    return out


@lru_cache(maxsize=2)
def _face_image_at(bank_file: str) -> str | None:
    bank = load_bank(Path(bank_file))
    if bank is None:
        return None
    import tempfile

    for path in (Path(bank_file).with_name(FACE_IMAGE), Path(tempfile.gettempdir()) / f"simgen_{FACE_IMAGE}"):
        if path.is_file() and path.stat().st_mtime >= Path(bank_file).stat().st_mtime:  # not older than the bank
            return str(path)
        import cv2

        lin = face_detail(bank)
        srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.png")
        try:
            if cv2.imwrite(str(tmp), np.round(np.clip(srgb, 0, 1)[..., ::-1] * 255).astype(np.uint8)):
                tmp.replace(path)  # atomic: parallel workers never read half an image
                return str(path)
        except (OSError, cv2.error):
            pass
    log.warning("cannot write the face-detail image (beside %s or in the temp folder): faces stay plain", bank_file)
    return None


def _face_image() -> str | None:
    """Path of the face-detail image beside the bank (painted on first use and after a rebake, about a second;
    in the temp folder when the bank's folder is read-only), or None."""
    return _face_image_at(str(bank_path()))

# ---- choosing a body ----------------------------------------------------------------------------------------

@dataclass
class Look:
    """Sampled appearance of one person (recorded in the entity's attributes)."""

    skin: tuple[float, float, float]
    top: tuple[float, float, float]
    bottom: tuple[float, float, float]
    shoes: tuple[float, float, float]
    hair: tuple[float, float, float]
    sleeves: str  # "long" | "short"
    legwear: str  # "trousers" | "shorts" | "skirt"
    hair_style: str  # "short" | "cropped" | "bob" | "long" | "bun" | "bald"
    top_kind: str  # "shirt" | "sweater" | "jacket" | "coat"
    bottom_kind: str  # "denim" | "cloth"
    tights: tuple[float, float, float] | None = None
    #: the yoke (shoulders and upper arms) of a two-tone jacket
    top2: tuple[float, float, float] | None = None
    #: a knitted hat
    hat: tuple[float, float, float] | None = None

    def record(self) -> dict:
        r = lambda c: [round(float(x), 4) for x in c]  # noqa: E731
        return {"skin_rgb": r(self.skin), "top_rgb": r(self.top), "bottom_rgb": r(self.bottom),
                "shoes_rgb": r(self.shoes), "hair_rgb": r(self.hair), "sleeves": self.sleeves,
                "legwear": self.legwear, "hair_style": self.hair_style, "top_kind": self.top_kind,
                "bottom_kind": self.bottom_kind, "tights_rgb": None if self.tights is None else r(self.tights),
                "yoke_rgb": None if self.top2 is None else r(self.top2),
                "hat_rgb": None if self.hat is None else r(self.hat)}


@dataclass
class Person:
    """One posable person: body, clothing per face, and rigid props."""

    bank: Bank
    body: np.ndarray  # (V, 3) rest vertices (A-pose), object frame
    heads: np.ndarray  # (J, 3) rest bone heads
    phenotype: dict
    look: Look
    #: extra vertices: (P, 3) rest positions of hair shell, ponytail, bag (skinned by ``extra_bones``/weights)
    extra_vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    extra_weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    extra_bones: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int64))
    #: props that follow the root only (stroller, bicycle): (Q, 3) vertices in the object frame, moving parts
    props: list = field(default_factory=list)
    faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    face_material: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    materials: list = field(default_factory=list)
    behaviour: str = "standing"
    bag: bool = False
    #: set by the props: the stroller's handle (3,) and the bicycle's geometry
    stroller_handle: np.ndarray | None = None
    bike: dict | None = None
    #: applied by the asset builder: object scale (3,) and the height the rest shape was lowered by
    scale: np.ndarray = field(default_factory=lambda: np.ones(3))
    z_shift: float = 0.0
    #: (F', 3, 2) UVs of the first F' faces (body, hair and hat shells in the body's UV layout; zeros elsewhere)
    face_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 2), np.float32))
    #: how this person moves: arm swing (share of the gait's), stride (share of the gait's), head yaw and pitch
    #: (rad), hands in pockets
    style: dict = field(default_factory=lambda: {"arm_swing": 1.0, "stride": 1.0, "head_yaw": 0.0,
                                                 "head_pitch": 0.0, "pockets": False})
    #: what the person carries on the body: "backpack", "shoulder_bag" or None
    carried: str | None = None

    def record(self) -> dict:
        """The sampled person, for the entity's attributes (JSON)."""
        return {"phenotype": dict(self.phenotype), "look": self.look.record(), "bag": self.bag,
                "carried": self.carried, "style": {k: (round(float(v), 3) if isinstance(v, float) else v)
                                                   for k, v in self.style.items()},
                "stroller": self.stroller_handle is not None, "bicycle": self.bike is not None}

    @property
    def stature(self) -> float:
        return float(self.body[:, 2].max())

    def stride(self, gait: str) -> float:
        """Metres of ground covered per full gait cycle (``gait``: a key of :data:`GAIT`)."""
        return GAIT[gait][0] * float(self.style.get("stride", 1.0)) * self.stature


def _blend(bank: Bank, target: np.ndarray, pool: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-distance blend of the k bank bodies (within ``pool``) nearest ``target`` (5,) in parameter space."""
    d = np.linalg.norm((bank.params[pool] - target) * [2.0, 1.0, 1.0, 1.0, 1.0], axis=1)
    near = pool[np.argsort(d)[:k]]
    w = 1.0 / (np.sort(d)[:k] + 1e-3)
    w /= w.sum()
    return np.einsum("b,bvi->vi", w, bank.vertices[near]), np.einsum("b,bji->ji", w, bank.bone_heads[near])


#: realistic skin tones (linear RGB), light to dark; sampled between neighbours
SKIN_TONES = np.array([[0.87, 0.64, 0.52], [0.76, 0.52, 0.39], [0.63, 0.40, 0.28], [0.46, 0.27, 0.17],
                       [0.30, 0.17, 0.10], [0.17, 0.09, 0.05]])
HAIR = {"black": (0.012, 0.009, 0.007), "dark_brown": (0.04, 0.022, 0.012), "brown": (0.11, 0.06, 0.03),
        "blond": (0.45, 0.32, 0.16), "red": (0.25, 0.07, 0.02), "grey": (0.35, 0.34, 0.33),
        "white": (0.6, 0.6, 0.58)}
#: garment palettes (linear RGB) with their weights: what people wear in a city street in the cool half of the
#: year, as seen in street footage: mostly black, charcoal, navy, grey and brown; some beige, olive and burgundy;
#: a few bright colours (red, royal blue, yellow, pink, white)
OUTER = [  # jackets and coats
    ((0.012, 0.012, 0.014), 6.0), ((0.035, 0.035, 0.04), 4.0), ((0.018, 0.022, 0.05), 3.5),
    ((0.09, 0.09, 0.095), 2.0), ((0.05, 0.03, 0.018), 1.5), ((0.3, 0.21, 0.12), 1.0), ((0.07, 0.075, 0.035), 1.0),
    ((0.12, 0.015, 0.025), 0.8), ((0.45, 0.03, 0.03), 0.7), ((0.03, 0.07, 0.3), 0.7), ((0.2, 0.2, 0.21), 1.0),
    ((0.6, 0.42, 0.04), 0.3), ((0.55, 0.55, 0.53), 0.4), ((0.02, 0.12, 0.06), 0.4)]
INNER = [  # shirts, T-shirts, sweaters, hoodies
    ((0.015, 0.015, 0.017), 3.0), ((0.7, 0.7, 0.68), 2.5), ((0.25, 0.25, 0.26), 2.0), ((0.03, 0.04, 0.1), 2.0),
    ((0.35, 0.45, 0.62), 1.0), ((0.12, 0.02, 0.03), 0.8), ((0.5, 0.04, 0.04), 0.7), ((0.45, 0.35, 0.22), 0.8),
    ((0.06, 0.15, 0.07), 0.6), ((0.65, 0.3, 0.35), 0.5), ((0.7, 0.55, 0.1), 0.4), ((0.1, 0.2, 0.45), 0.8),
    ((0.08, 0.08, 0.09), 2.0)]
DENIM = [((0.04, 0.07, 0.16), 3.0), ((0.08, 0.13, 0.28), 3.0), ((0.02, 0.025, 0.05), 2.0),
         ((0.16, 0.22, 0.36), 2.0), ((0.04, 0.04, 0.045), 1.0)]
CLOTH = [((0.012, 0.012, 0.013), 4.0), ((0.06, 0.06, 0.065), 2.5), ((0.2, 0.2, 0.2), 1.0),
         ((0.02, 0.025, 0.05), 1.5), ((0.3, 0.24, 0.15), 0.8), ((0.08, 0.05, 0.03), 1.0), ((0.08, 0.08, 0.05), 0.6)]
#: shoes: black, white trainers, brown, grey, navy
SHOES = [((0.015, 0.015, 0.015), 4.0), ((0.72, 0.72, 0.7), 2.5), ((0.09, 0.045, 0.02), 1.5),
         ((0.2, 0.2, 0.21), 1.0), ((0.02, 0.03, 0.07), 0.7)]
#: knitted hats, backpacks and shoulder bags
KNIT = [((0.012, 0.012, 0.014), 3.0), ((0.09, 0.09, 0.1), 1.5), ((0.02, 0.025, 0.06), 1.5), ((0.3, 0.03, 0.03), 0.6),
        ((0.55, 0.5, 0.42), 0.6), ((0.05, 0.1, 0.05), 0.4)]
PACKS = [((0.01, 0.01, 0.012), 4.0), ((0.05, 0.05, 0.055), 1.5), ((0.02, 0.03, 0.08), 1.0),
         ((0.12, 0.06, 0.025), 1.0), ((0.25, 0.04, 0.04), 0.4), ((0.08, 0.1, 0.06), 0.5)]


def _pick(rng: np.random.Generator, palette, shade: bool = True) -> tuple[float, float, float]:
    """A colour from a weighted palette [(rgb, weight), ...], in one of three shades (so a crowd shares
    materials)."""
    w = np.array([p[1] for p in palette], float)
    c = palette[int(rng.choice(len(palette), p=w / w.sum()))][0]
    s = float(rng.choice([0.8, 1.0, 1.2])) if shade else 1.0
    return tuple(float(np.clip(x * s, 0, 1)) for x in c)


def sample_look(rng: np.random.Generator, age: float, female: float, top: tuple | None) -> Look:
    """Appearance drawn with ``rng``; ``top`` fixes the top colour (the scene's colour for the person)."""
    # colours come in steps (skin: 16 tones; garments: palette x 3 shades), so a crowd shares materials
    t = round(rng.uniform(0, len(SKIN_TONES) - 1) * 3) / 3
    i = min(int(t), len(SKIN_TONES) - 2)
    skin = tuple((1 - (t - i)) * SKIN_TONES[i] + (t - i) * SKIN_TONES[i + 1])
    dark_hair = t > 2.5
    if age > 0.88 and rng.random() < 0.7:
        hair = HAIR["grey" if rng.random() < 0.6 else "white"]
    elif dark_hair:
        hair = HAIR["black" if rng.random() < 0.7 else "dark_brown"]
    else:
        names = ["black", "dark_brown", "brown", "blond", "red"]
        hair = HAIR[names[int(rng.choice(5, p=[0.15, 0.35, 0.25, 0.2, 0.05]))]]
    hair = tuple(float(c) * float(rng.choice([0.85, 1.0, 1.15])) for c in hair)
    if female > 0.5:
        style = ["long", "bun", "short", "bob"][int(rng.choice(4, p=[0.45, 0.2, 0.15, 0.2]))]
    else:
        probs = [0.72, 0.08, 0.05, 0.15] if age < 0.85 else [0.45, 0.4, 0.05, 0.1]  # short, bald, long, cropped
        style = ["short", "bald", "long", "cropped"][int(rng.choice(4, p=probs))]
    top_kind = ["shirt", "sweater", "jacket", "coat"][int(rng.choice(4, p=[0.22, 0.13, 0.4, 0.25]))]
    if top is not None:  # the scene's colour, exactly
        top_rgb = tuple(float(c) for c in top)
    else:
        top_rgb = _pick(rng, OUTER if top_kind in ("jacket", "coat") else INNER)
    # two-tone jackets (a contrasting yoke over shoulders and upper arms), sometimes
    top2 = None
    if top_kind == "jacket" and rng.random() < 0.25:
        top2 = _pick(rng, OUTER)
    sleeves = "long" if top_kind != "shirt" or rng.random() < 0.4 else "short"
    legwear = "trousers"
    if female > 0.5 and rng.random() < 0.3:
        legwear = "skirt"
    elif rng.random() < 0.05:
        legwear = "shorts"
    denim = legwear != "skirt" and rng.random() < 0.55
    bottom = _pick(rng, DENIM if denim else CLOTH)
    shoes = _pick(rng, SHOES, shade=False)
    tights = None
    if legwear == "skirt" and rng.random() < 0.7:
        tights = tuple(float(c) for c in [(0.01, 0.01, 0.01), (0.03, 0.025, 0.02), (0.25, 0.18, 0.14)][
            int(rng.integers(3))])
    if legwear != "trousers" and top_kind == "coat":
        top_kind = "jacket"
    hat = _pick(rng, KNIT, shade=False) if rng.random() < (0.12 if age >= 0.5 else 0.2) else None
    return Look(skin, top_rgb, bottom, shoes, hair, sleeves, legwear, style, top_kind,
                "denim" if denim else "cloth", tights, top2, hat)


# materials of a person (indices into Person.materials)
SKIN, TOP, BOTTOM, SHOES_M, HAIR_M, EYES, TIGHTS, TOP2, HAT, SOLE = range(10)


def _materials(look: Look):
    from simgen.world.model import Material

    denim = look.bottom_kind == "denim"
    top_rough = {"shirt": 0.85, "sweater": 0.95, "jacket": 0.55, "coat": 0.8}[look.top_kind]
    top_tex = "knit" if look.top_kind == "sweater" else "fabric"
    white_shoes = min(look.shoes) > 0.5
    return [
        Material("skin", base_color=look.skin, roughness=0.5, texture="skin", texture_scale=40.0, subsurface=0.25,
                 image=_face_image()),
        Material("clothes_top", base_color=look.top, roughness=top_rough, texture=top_tex, texture_scale=900.0,
                 sheen=0.3),
        Material("clothes_bottom", base_color=look.bottom, roughness=0.9, texture="denim" if denim else "fabric",
                 texture_scale=700.0, sheen=0.2),
        Material("shoes", base_color=look.shoes, roughness=0.45 if not white_shoes else 0.7),
        Material("hair", base_color=look.hair, roughness=0.4, texture="hair", texture_scale=300.0, sheen=0.4),
        Material("eyes", base_color=(0.3, 0.28, 0.26), roughness=0.05),
        Material("tights", base_color=look.tights or (0.0, 0.0, 0.0), roughness=0.6),
        Material("clothes_yoke", base_color=look.top2 or look.top, roughness=top_rough, texture="fabric",
                 texture_scale=900.0, sheen=0.3),
        Material("hat", base_color=look.hat or (0.0, 0.0, 0.0), roughness=0.95, texture="knit",
                 texture_scale=900.0, sheen=0.4),
        Material("soles", base_color=(0.75, 0.74, 0.72) if not white_shoes else (0.6, 0.6, 0.6), roughness=0.8),
    ]


def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    idx = f.reshape(-1)
    rep = np.repeat(n, 3, axis=0)
    vn = np.stack([np.bincount(idx, rep[:, k], minlength=len(v)) for k in range(3)], 1)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def _shell(v: np.ndarray, n: np.ndarray, f: np.ndarray, inner: float, outer: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """A closed shell over a surface patch (vertices (N, 3), unit normals (N, 3), faces (F, 3)): the patch pushed
    out by ``outer`` and by ``inner`` (reversed), joined along the patch's boundary. Returns (2N, 3) vertices
    (outer first) and faces."""
    N = len(v)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    _, inv, cnt = np.unique(np.sort(e, 1), axis=0, return_inverse=True, return_counts=True)
    a, b = e[cnt[inv.ravel()] == 1].T
    side = np.concatenate([np.stack([b, a, a + N], 1), np.stack([b, a + N, b + N], 1)])
    return (np.concatenate([v + outer * n, v + inner * n]),
            np.concatenate([f, f[:, ::-1] + N, side]))


def _clothing(bank: Bank, body: np.ndarray, heads: np.ndarray, look: Look) -> np.ndarray:
    """(F,) material per body face from the body-part labels and the look."""
    fp = bank.face_part
    P = bank.part
    cen = body[bank.faces].mean(1)
    mat = np.full(len(fp), SKIN, np.int64)
    mat[fp == P("eye")] = EYES
    mat[fp == P("foot")] = SHOES_M
    mat[fp == P("upper_arm")] = TOP
    if look.sleeves == "long":
        mat[fp == P("forearm")] = TOP
    trunk = np.isin(fp, [P("torso"), P("hips")])
    waist_z = heads[bank.bone("spine04"), 2]  # the waistband runs level around the body
    mat[trunk & (cen[:, 2] >= waist_z)] = TOP
    mat[trunk & (cen[:, 2] < waist_z)] = BOTTOM
    knee_z = heads[bank.bone("lowerleg01.L"), 2]
    hip_z = heads[bank.bone("upperleg01.L"), 2]
    thigh = fp == P("thigh")
    shin = fp == P("shin")
    if look.legwear == "trousers":
        mat[thigh | shin] = BOTTOM
    elif look.legwear == "shorts":
        mat[thigh & (cen[:, 2] > knee_z + 0.3 * (hip_z - knee_z))] = BOTTOM
    else:  # skirt to just above the knee; tights or bare legs below
        if look.tights is not None:
            mat[thigh | shin] = TIGHTS
        mat[thigh & (cen[:, 2] > knee_z + 0.15 * (hip_z - knee_z))] = BOTTOM
    if look.top_kind == "coat":  # a coat reaches over the hips and the upper thighs
        mat[trunk | (thigh & (cen[:, 2] > knee_z + 0.5 * (hip_z - knee_z)))] = TOP
    if look.top2 is not None:  # a two-tone jacket: the yoke over shoulders, upper chest and upper arms
        yoke_z = heads[bank.bone("upperarm01.L"), 2] - 0.07
        mat[(mat == TOP) & ((cen[:, 2] > yoke_z) | (fp == P("upper_arm")))] = TOP2
    # soles: the lowest 2.5 cm of the shoes, in a contrasting colour (white trainers' soles, rubber soles)
    mat[(mat == SHOES_M) & (cen[:, 2] < body[:, 2].min() + 0.025)] = SOLE
    # hair: the head above the brow, and the back of the head down to the nape (long hair: to the neck)
    if look.hair_style != "bald":
        mat[_hair_mask(bank, look.hair_style in ("long", "bob"))] = HAIR_M
    return mat


_HAIR_CACHE: dict = {}


def _hair_mask(bank: Bank, long: bool | str) -> np.ndarray:
    """(F,) bool hair faces (``long``: True, False or "hat"): chosen once per bank and style on an average adult
    (the topology is shared)."""
    key = (id(bank), long)
    if key not in _HAIR_CACHE:
        adult = np.nonzero(bank.params[:, 0] >= 0.5)[0][0]
        style = "hat" if long == "hat" else ("long" if long else "short")
        _HAIR_CACHE[key] = _hair_faces(bank, bank.vertices[adult], bank.bone_heads[adult], style)
    return _HAIR_CACHE[key]


#: cloth thickness over the skin (m) by material and garment
def _thickness(look: Look) -> dict[int, float]:
    top = {"shirt": 0.008, "sweater": 0.016, "jacket": 0.032, "coat": 0.036}[look.top_kind]
    return {SKIN: 0.0, EYES: 0.0, HAIR_M: 0.0, TIGHTS: 0.001, SHOES_M: 0.008, SOLE: 0.008, HAT: 0.0,
            TOP: top, TOP2: top,
            BOTTOM: 0.012 if look.legwear == "skirt" else (0.011 if look.bottom_kind == "denim" else 0.016)}


_LIMB_CACHE: dict = {}


def _loosen(bank: Bank, body: np.ndarray, heads: np.ndarray, face_mat: np.ndarray, look: Look) -> np.ndarray:
    """Garments that hang as tubes instead of following the limb: trouser legs (straight below the knee, a
    little loose over the thigh) and the sleeves of jackets and coats. Each covered vertex of a limb segment
    moves out from the segment's axis towards a radius near the segment's widest (its 85th percentile), so the
    calf-to-ankle and forearm-to-wrist taper is filled in. Returns new (V, 3) vertices (topology kept)."""
    fp = bank.face_part
    out = body.copy()
    jobs = []  # (limb segment, its garment, the segment's bones from and to, share of the taper filled in)
    if look.legwear == "trousers":
        ease = 0.55 if look.bottom_kind == "denim" else 0.85
        jobs += [("shin", BOTTOM, "lowerleg01", "foot", ease), ("thigh", BOTTOM, "upperleg01", "lowerleg01", 0.4)]
    if look.top_kind in ("jacket", "coat") and look.sleeves == "long":
        jobs += [("forearm", TOP, "lowerarm01", "wrist", 0.7), ("upper_arm", TOP, "upperarm01", "lowerarm01", 0.3)]
    for part, m, b0, b1, ease in jobs:
        for side, sgn in (("L", 1.0), ("R", -1.0)):
            key = (id(bank), part, side)
            if key not in _LIMB_CACHE:  # the limb segment's vertices on one side (the topology is shared)
                idx = np.unique(bank.faces[fp == bank.part(part)])
                _LIMB_CACHE[key] = idx[np.sign(bank.vertices[0][idx, 1]) == sgn]
            vi = _LIMB_CACHE[key]
            if len(vi) < 8:
                continue
            a, b = heads[bank.bone(f"{b0}.{side}")], heads[bank.bone(f"{b1}.{side}")]
            d = (b - a) / np.linalg.norm(b - a)
            rel = body[vi] - a
            along = rel @ d
            radial = rel - along[:, None] * d
            r = np.linalg.norm(radial, axis=1)
            target = np.quantile(r, 0.85)
            new_r = np.maximum(r, r + ease * (target - r))
            out[vi] = a + along[:, None] * d + radial * (new_r / np.maximum(r, 1e-9))[:, None]
    return out


_ADJ_CACHE: dict = {}


def _mean_adjacency(bank: Bank):
    """(V, V) sparse matrix that averages each body vertex's neighbours (cached per bank)."""
    if id(bank) not in _ADJ_CACHE:
        import scipy.sparse as sp

        f = bank.faces
        V = len(bank.vertices[0])
        e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        deg = np.bincount(e[:, 0], minlength=V).astype(float)
        M = sp.csr_matrix((1.0 / np.maximum(deg, 1)[e[:, 0]], (e[:, 0], e[:, 1])), shape=(V, V))
        _ADJ_CACHE[id(bank)] = M
    return _ADJ_CACHE[id(bank)]


def _dress(bank: Bank, body: np.ndarray, face_mat: np.ndarray, look: Look) -> tuple[np.ndarray, np.ndarray]:
    """Body vertices pushed out along their normals by the thickness of what covers them (clothes, shoes),
    blended over a few rings of neighbours so hems are soft steps. Topology (and closedness) is kept. Returns
    the dressed vertices (V, 3) and the unit normals (V, 3) they were pushed along."""
    thick = _thickness(look)
    table = np.zeros(max(max(thick), int(face_mat.max())) + 1)
    for k, t in thick.items():
        table[k] = t
    ft = table[face_mat]
    f = bank.faces
    vt = np.zeros(len(body))
    for c in range(3):
        np.maximum.at(vt, f[:, c], ft)
    M = _mean_adjacency(bank)
    # shoes: no toes (the foot surface is smoothed into a shoe; the sole stays where it is)
    shoe = np.zeros(len(body), bool)
    shoe[f[np.isin(face_mat, [SHOES_M, SOLE])].reshape(-1)] = True
    sole = body[:, 2] < body[:, 2].min() + 0.015
    body = body.copy()
    move = shoe & ~sole
    for _ in range(6):
        body[move] = 0.5 * body[move] + 0.5 * (M @ body)[move]
    for _ in range(2):
        vt = 0.5 * vt + 0.5 * (M @ vt)
    n = _vertex_normals(body, f)
    out = body + vt[:, None] * n
    # thick garments drape: relax them (two Laplacian steps), so the normals' corners at the shoulders and
    # armpits do not stand out as ridges
    soft = vt > 0.015
    for _ in range(2):
        out[soft] = 0.5 * out[soft] + 0.5 * (M @ out)[soft]
    return out, n


def _skirt_tube(bank: Bank, body: np.ndarray, heads: np.ndarray, hem: float, flare: float, n: int = 28,
                rings: int = 6):
    """A closed tube from the waist down around both legs (a skirt, the skirt of a coat): vertices (N, 3),
    faces, skin weights (N, 4) and bones (N, 4). Each ring follows the outline of hips and thighs at its
    height (their radial extent per direction, plus a margin), flaring by ``flare`` metres at the hem; the hem
    sits ``hem`` of the way up from the knee to the hip. The tube's top follows the pelvis, its hem moves
    halfway with each thigh."""
    P = bank.part
    fp = bank.face_part
    leg_faces = np.isin(fp, [P("hips"), P("thigh")])
    vidx = np.unique(bank.faces[leg_faces])
    lv = body[vidx]
    waist = heads[bank.bone("spine04"), 2]
    knee = heads[bank.bone("lowerleg01.L"), 2]
    hip = heads[bank.bone("upperleg01.L"), 2]
    bottom = knee + hem * (hip - knee)
    c = np.array([lv[:, 0].mean(), 0.0])
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    dirs = np.stack([np.cos(ang), np.sin(ang)], 1)
    zs = np.linspace(waist, bottom, rings)
    verts = []
    for k, z in enumerate(zs):
        band = lv[np.abs(lv[:, 2] - z) < 0.04]
        rel = band[:, :2] - c
        # radial extent per direction: the largest projection of the band onto it (a convex outline)
        r = (rel @ dirs.T).max(0) + 0.012 + flare * (k / (rings - 1)) ** 1.5
        verts.append(np.c_[c + dirs * r[:, None], np.full(n, z)])
    v = np.concatenate(verts + [[[c[0], 0.0, zs[0]]], [[c[0], 0.0, zs[-1]]]])
    f = []
    for k in range(rings - 1):
        for i in range(n):
            a, b = k * n + i, k * n + (i + 1) % n
            f += [[a, a + n, b], [b, a + n, b + n]]
    top, bot = rings * n, rings * n + 1
    for i in range(n):
        f.append([top, i, (i + 1) % n])
        f.append([bot, (rings - 1) * n + (i + 1) % n, (rings - 1) * n + i])
    f = np.array(f, np.int64)
    # outward winding check (the tube's signed volume must be positive)
    tri = v[f]
    if np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() < 0:
        f = f[:, ::-1]
    depth = np.clip((waist - v[:, 2]) / max(waist - bottom, 1e-6), 0, 1)
    w = np.stack([1 - depth, depth / 2, depth / 2, np.zeros(len(v))], 1)
    b = np.tile([bank.bone("root"), bank.bone("upperleg01.L"), bank.bone("upperleg01.R"), 0], (len(v), 1))
    return v, f, w, b


def _hair_faces(bank: Bank, body: np.ndarray, heads: np.ndarray, style: str) -> np.ndarray:
    fp = bank.face_part
    head = fp == bank.part("head")
    cen = body[bank.faces].mean(1)
    hz = heads[bank.bone("head"), 2]
    hv = body[np.unique(bank.faces[head])]
    top = hv[:, 2].max()
    front = hv[:, 0].max()
    back = hv[:, 0].min()
    H = top - hz
    rel_x = (cen[:, 0] - back) / max(front - back, 1e-6)  # 0 back .. 1 face
    rel_z = (cen[:, 2] - hz) / max(H, 1e-6)
    if style == "hat":  # a knitted hat: the crown down to the brow and the tops of the ears
        mask = head & (rel_z > 0.78 - 0.22 * (1 - rel_x))
    else:
        crown = rel_z > 0.72 - 0.25 * (1 - rel_x)  # above the brow at the front, lower at the back
        nape = (rel_x < 0.45) & (rel_z > (0.05 if style == "long" else 0.25))
        sides = (rel_x < 0.62) & (rel_z > 0.45)
        mask = head & (crown | nape | sides)
    # no pinched corners: where the patch's boundary touches itself at a vertex, take in the faces around it
    faces = bank.faces
    for _ in range(8):
        f = faces[mask]
        e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        _, inv, cnt = np.unique(np.sort(e, 1), axis=0, return_inverse=True, return_counts=True)
        b = e[cnt[inv.ravel()] == 1]
        per_vertex = np.bincount(b.ravel(), minlength=len(body))
        bad = np.nonzero(per_vertex > 2)[0]
        if not len(bad):
            break
        mask |= np.isin(faces, bad).any(1) & (head | (fp == bank.part("neck")))
    return mask


def make_person(bank: Bank, rng: np.random.Generator, child: bool, top_colour=None, behaviour: str = "standing",
                bag: bool | None = None) -> Person:
    """Sample a person (body, look, props) from the bank with ``rng``.

    Adults: age, gender, height and build drawn from broad street-population ranges; children: ages of
    about 4 to 12. ``top_colour`` (linear RGB) fixes the top's colour.
    """
    gender = float(rng.random() < 0.5)
    if child:
        pool = np.nonzero(bank.params[:, 0] < 0.5)[0]
        age = rng.uniform(0.2, 0.44)
        stature_m = None
    else:
        pool = np.nonzero(bank.params[:, 0] >= 0.5)[0]
        age = rng.uniform(0.62, 0.98)
        # stature: normal per gender (anny's gender 0 is male, 1 female)
        stature_m = float(np.clip(rng.normal(1.76 if gender < 0.5 else 1.63, 0.07), 1.48, 2.0))
        if age > 0.9:
            stature_m -= 0.03
    target = np.array([age, gender, 0.4, rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.85)])
    body, heads = _blend(bank, target, pool)
    if stature_m is not None:
        s = stature_m / body[:, 2].max()
        body, heads = body * s, heads * s
    female = gender  # anny: gender 0 is male, 1 female
    look = sample_look(rng, age, female, top_colour)
    mats = _materials(look)
    face_mat = _clothing(bank, body, heads, look)
    body, vnormals = _dress(bank, _loosen(bank, body, heads, face_mat, look), face_mat, look)
    p = Person(bank, body, heads, {"age": round(float(age), 3), "gender": gender,
                                   "sex": "female" if female > 0.5 else "male",
                                   "stature_m": round(float(body[:, 2].max()), 3),
                                   "muscle": round(float(target[3]), 3), "weight": round(float(target[4]), 3)},
               look, materials=mats, behaviour=behaviour)
    faces = [bank.faces]
    fmats = [face_mat]
    uvs = [bank.uv]
    ev, ew, eb = [], [], []
    nb = len(body)

    def add(v, f, w, b, m, uv=None):
        nonlocal nb
        ev.append(v)
        ew.append(w)
        eb.append(b)
        faces.append(nb + f)
        fmats.append(np.full(len(f), m))
        uvs.append(np.zeros((len(f), 3, 2), np.float32) if uv is None else uv)
        nb += len(v)

    # garments with their own silhouette: a skirt, or the skirt of a coat, hangs as a tube around both legs
    if look.legwear == "skirt" or look.top_kind == "coat":
        hem = 0.25 if look.legwear == "skirt" else 0.45  # share of the hip-to-knee height left bare
        tv, tf, tw, tb = _skirt_tube(bank, body, heads, hem, 0.035 if look.legwear == "skirt" else 0.025)
        add(tv, tf, tw, tb, BOTTOM if look.legwear == "skirt" else TOP)

    def shell(mask, inner, outer, m):
        """A closed shell over the body faces ``mask`` (hair, a hat), its outer side in the body's UVs; ``outer``
        (m) is full on top of the head and 60 % of it on the sides."""
        hf = bank.faces[mask]
        idx, inv = np.unique(hf, return_inverse=True)
        vn = vnormals[idx]
        up = np.clip(vn[:, 2], 0.0, 1.0)[:, None]
        sv, sf = _shell(body[idx], vn, inv.reshape(-1, 3), inner, outer * (0.6 + 0.4 * up))
        k = int(mask.sum())
        uv = np.zeros((len(sf), 3, 2), np.float32)
        uv[:k] = bank.uv[mask]
        uv[k:2 * k] = bank.uv[mask][:, ::-1]
        add(sv, sf, np.tile(bank.weights[idx], (2, 1)), np.tile(bank.weight_bones[idx], (2, 1)), m, uv)

    # hair volume: a shell over the hair faces, thicker on top
    hair_thick = {"short": 0.02, "cropped": 0.008, "bob": 0.03, "long": 0.028, "bun": 0.018}.get(look.hair_style, 0)
    if look.hair_style != "bald":
        shell(face_mat == HAIR_M, 0.0015, hair_thick, HAIR_M)
        hv = body[np.unique(bank.faces[bank.face_part == bank.part("head")])]
        hz = heads[bank.bone("head"), 2]
        if look.hair_style == "long" and rng.random() < 0.6:  # hair falling over the nape and upper back
            v, f = _ellipsoid((hv[:, 0].min() + 0.03, 0.0, hz - 0.05), (0.05, 0.09, 0.15))
            add(v, f, np.tile([0.5, 0.5, 0, 0], (len(v), 1)),
                np.tile([bank.bone("head"), bank.bone("neck01"), 0, 0], (len(v), 1)), HAIR_M)
        elif look.hair_style == "bun" or (look.hair_style == "long" and rng.random() < 0.4):
            c = np.array([hv[:, 0].min() - 0.015, 0.0, hv[:, 2].max() - 0.06])
            if look.hair_style == "long":  # ponytail
                v, f = _ellipsoid(c + [-0.03, 0, -0.1], (0.04, 0.035, 0.11))
            else:
                v, f = _ellipsoid(c, (0.045, 0.045, 0.04))
            add(v, f, np.tile([1.0, 0, 0, 0], (len(v), 1)), np.tile([bank.bone("head"), 0, 0, 0], (len(v), 1)),
                HAIR_M)
    if look.hat is not None:  # a knitted hat over the hair
        shell(_hair_mask(bank, "hat"), 0.002, hair_thick + 0.014, HAT)
    # how the person moves (arm swing, stride, where they look) and what they carry
    p.style = {"arm_swing": float(rng.uniform(0.55, 1.3)), "stride": float(rng.uniform(0.9, 1.08)),
               "head_yaw": float(np.clip(rng.normal(0.0, 0.35), -0.7, 0.7)) if rng.random() < 0.35 else 0.0,
               "head_pitch": float(rng.uniform(-0.05, 0.25)),
               "pockets": bool(look.top_kind in ("jacket", "coat") and not child and rng.random() < 0.25)}
    # what people carry on the body: a backpack, or a bag on a shoulder strap at the hip
    carry = rng.random()
    if behaviour != "cycling" and carry < (0.22 if not child else 0.35):
        _add_backpack(p, add, rng, child)
    elif behaviour not in ("cycling", "carrying", "stroller") and not child and carry < 0.38:
        _add_shoulder_bag(p, add, rng)
    if bag is None:
        bag = behaviour == "carrying"
    if ev:
        p.extra_vertices = np.concatenate(ev)
        p.extra_weights = np.concatenate(ew)
        p.extra_bones = np.concatenate(eb).astype(np.int64)
    p.faces = np.concatenate(faces)
    p.face_material = np.concatenate(fmats)
    p.face_uv = np.concatenate(uvs).astype(np.float32)
    if bag:
        _add_bag(p, rng, child)
    if behaviour == "stroller" and not child:
        _add_stroller(p, rng)
    if behaviour == "cycling":
        _add_bicycle(p, rng)
    _compact_materials(p)
    return p


def _compact_materials(p: Person) -> None:
    """Drop materials no face uses (hair of a bald person) and renumber."""
    used = sorted(set(p.face_material.tolist()) | {prop.material for prop in p.props})
    new = {old: i for i, old in enumerate(used)}
    p.materials = [p.materials[i] for i in used]
    lut = np.zeros(max(used) + 1, np.int64)
    lut[used] = np.arange(len(used))
    p.face_material = lut[p.face_material]
    for prop in p.props:
        prop.material = new[prop.material]


def _rounded_box(c, half, power: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """A closed box with rounded edges centred at ``c`` (3,) with half-sizes ``half`` (3,) (a superellipsoid)."""
    v, f = _unit_sphere()
    return np.sign(v) * np.abs(v) ** power * np.asarray(half, float) + np.asarray(c, float), f.copy()


def _trunk_vertices(p: Person) -> np.ndarray:
    """Indices of the body vertices on the torso, hips and neck (what straps and bags rest on)."""
    bank = p.bank
    parts = [bank.part(n) for n in ("torso", "hips", "neck") if n in bank.part_names]
    return np.unique(bank.faces[np.isin(bank.face_part, parts)])


def _skin_like(p: Person, v: np.ndarray, among: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skin weights (N, 4) and bones (N, 4) of vertices ``v`` (N, 3): those of the nearest body vertex in
    ``among`` (indices), so a carried thing moves with the surface it rests on."""
    d = ((v[:, None, :] - p.body[among][None]) ** 2).sum(-1)
    near = among[np.argmin(d, 1)]
    return p.bank.weights[near], p.bank.weight_bones[near]


def _strap(p: Person, pts: list, width: float, among: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [_bar(a, b, width) for a, b in zip(pts[:-1], pts[1:])]


def _add_backpack(p: Person, add, rng: np.random.Generator, child: bool) -> None:
    """A backpack on the upper back with two shoulder straps, skinned like the back beneath it."""
    from simgen.world.model import Material

    bank, body, h = p.bank, p.body, p.heads
    p.materials.append(Material("backpack", base_color=_pick(rng, PACKS, shade=False), roughness=0.7,
                                texture="fabric", texture_scale=900.0, sheen=0.2))
    m = len(p.materials) - 1
    trunk = _trunk_vertices(p)
    tv = body[trunk]
    sh_z = h[bank.bone("upperarm01.L"), 2]
    waist_z = h[bank.bone("spine04"), 2]
    k = 0.8 if child else 1.0
    hh = 0.5 * (0.75 * (sh_z - waist_z) + 0.06) * rng.uniform(0.9, 1.1)
    half = np.array([0.065 * k, 0.15 * k * rng.uniform(0.9, 1.1), hh])
    top = sh_z - 0.03
    zc = top - hh
    band = tv[(tv[:, 2] > zc - hh) & (tv[:, 2] < top) & (np.abs(tv[:, 1]) < half[1])]
    back_x = band[:, 0].min()
    c = np.array([back_x - half[0] + 0.02, 0.0, zc])
    parts = [_rounded_box(c, half)]
    for s in (1.0, -1.0):  # straps: from the pack's top, over the shoulder, down the front of the chest
        y = s * 0.085 * k
        slab = tv[np.abs(tv[:, 1] - y) < 0.025]
        over = slab[slab[:, 2] < sh_z + 0.12]
        top_pt = over[np.argmax(over[:, 2])] + [0.0, 0.0, 0.01]
        fz = sh_z - 0.16
        front = slab[np.abs(slab[:, 2] - fz) < 0.03]
        fx = front[:, 0].max() + 0.006 if len(front) else top_pt[0] + 0.1
        pts = [np.array([back_x - 0.01, y, top - 0.02]), top_pt, np.array([fx, y, fz])]
        parts += _strap(p, pts, 0.014, trunk)
    for v, f in parts:
        w, b = _skin_like(p, v, trunk)
        add(v, f, w, b, m)
    p.carried = "backpack"


def _add_shoulder_bag(p: Person, add, rng: np.random.Generator) -> None:
    """A bag hanging at one hip (a little behind) on a strap over that shoulder, skinned like the body beneath."""
    from simgen.world.model import Material

    bank, body, h = p.bank, p.body, p.heads
    p.materials.append(Material("shoulder_bag", base_color=_pick(rng, PACKS, shade=False), roughness=0.5,
                                texture="noise", texture_scale=40.0))
    m = len(p.materials) - 1
    trunk = _trunk_vertices(p)
    tv = body[trunk]
    s = 1.0 if rng.random() < 0.5 else -1.0
    p.style["bag_side"] = "L" if s > 0 else "R"
    hip_z = h[bank.bone("upperleg01.L"), 2]
    sh_z = h[bank.bone("upperarm01.L"), 2]
    band = tv[np.abs(tv[:, 2] - (hip_z + 0.05)) < 0.04]
    side_y = np.abs(band[:, 1]).max()
    half = np.array([0.13, 0.04, 0.11]) * rng.uniform(0.85, 1.15)
    c = np.array([-0.07, s * (side_y + half[1] + 0.005), hip_z + 0.05])
    parts = [_rounded_box(c, half, 0.25)]
    y = s * 0.11
    slab = tv[np.abs(tv[:, 1] - y) < 0.025]
    over = slab[slab[:, 2] < sh_z + 0.12]
    top_pt = over[np.argmax(over[:, 2])] + [0.0, 0.0, 0.01]
    parts += _strap(p, [c + [0.0, 0.0, half[2] - 0.01], np.array([-0.09, s * (side_y - 0.02), sh_z - 0.1]),
                        top_pt], 0.014, trunk)
    for v, f in parts:
        w, b = _skin_like(p, v, trunk)
        add(v, f, w, b, m)
    p.carried = "shoulder_bag"


def _add_bag(p: Person, rng: np.random.Generator, child: bool) -> None:
    """A bag hanging from the right hand, skinned rigidly to the wrist (placed where the hand is when the arm
    hangs down, then carried back to the rest pose)."""
    from simgen.world.model import Material

    bank = p.bank
    colour = [(0.05, 0.03, 0.02), (0.02, 0.02, 0.02), (0.3, 0.15, 0.05), (0.5, 0.45, 0.35),
              (0.08, 0.1, 0.2)][int(rng.integers(5))]
    p.materials.append(Material("bag", base_color=colour, roughness=0.5, texture="noise", texture_scale=40.0))
    J = len(bank.bone_names)
    Q = np.tile(np.eye(3), (1, J, 1, 1))
    _arm(p, Q, "R", np.zeros(1), 0.35)
    A, t = forward_kinematics(bank.bone_parents, p.heads, Q, np.zeros((1, 3)))
    wj = bank.bone("wrist.R")
    hand = skin(p.body, bank.weights, bank.weight_bones, A, t)[0][
        (bank.weight_bones[:, 0] == wj) & (bank.weights[:, 0] > 0.9)]
    grip = np.array([hand[:, 0].mean(), hand[:, 1].mean(), hand[:, 2].min() + 0.02])
    size = np.array([0.11, 0.32, 0.26]) * (0.7 if child else 1.0) * rng.uniform(0.85, 1.15)
    size[2] = min(size[2], grip[2] - 0.12)  # clear of the ground
    lo = grip + [-size[0] / 2, -size[1] / 2 - 0.03, -0.05 - size[2]]
    v, f = _box(lo, lo + size)
    handle, hf = _bar(grip + [0, -0.03, -0.05], grip + [0, -0.03, 0.01], 0.02)
    v, f = np.concatenate([v, handle]), np.concatenate([f, hf + 8])
    rest = np.einsum("ji,vj->vi", A[0, wj], v - t[0, wj])  # A^T (v - t): back to the rest pose
    m = len(p.materials) - 1
    off = len(p.body) + len(p.extra_vertices)
    p.extra_vertices = np.concatenate([p.extra_vertices, rest])
    p.extra_weights = np.concatenate([p.extra_weights, np.tile([1.0, 0, 0, 0], (len(v), 1))])
    p.extra_bones = np.concatenate([p.extra_bones, np.tile([wj, 0, 0, 0], (len(v), 1))]).astype(np.int64)
    p.faces = np.concatenate([p.faces, f + off])
    p.face_material = np.concatenate([p.face_material, np.full(len(f), m)])
    p.bag = True


# ---- small closed meshes ------------------------------------------------------------------------------------

_BOX_V, _BOX_F = BOX_V, BOX_F


def _box(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return lo + _BOX_V * (hi - lo), _BOX_F.copy()


@lru_cache(maxsize=None)
def _unit_sphere() -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=2)
    return np.asarray(m.vertices, float), np.asarray(m.faces, np.int64)


def _ellipsoid(c, r) -> tuple[np.ndarray, np.ndarray]:
    v, f = _unit_sphere()
    return v * np.asarray(r, float) + np.asarray(c, float), f.copy()


_bar = bar


def _wheel(c, r, tube, n=16) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    m = trimesh.creation.torus(major_radius=r, minor_radius=tube, major_sections=n, minor_sections=6)
    v = np.asarray(m.vertices, float) @ np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]).T
    return v + np.asarray(c, float), np.asarray(m.faces, np.int64)


@dataclass
class Prop:
    """Rigid part of a person's entity: vertices (N, 3) in the object frame, faces into them, a material, and
    ``spin``: None (moves with the root) or (centre (3,), axis 'y', radians per metre travelled) for a wheel or
    crank."""

    vertices: np.ndarray
    faces: np.ndarray
    material: int
    spin: tuple | None = None


def _add_parts(p: Person, parts: list[tuple[np.ndarray, np.ndarray]], material: int, spin=None) -> None:
    vs, fs, off = [], [], 0
    for v, f in parts:
        vs.append(v)
        fs.append(f + off)
        off += len(v)
    p.props.append(Prop(np.concatenate(vs), np.concatenate(fs), material, spin))


def _add_stroller(p: Person, rng: np.random.Generator) -> None:
    from simgen.world.model import Material

    m0 = len(p.materials)
    fabric = [(0.02, 0.02, 0.03), (0.05, 0.1, 0.25), (0.25, 0.25, 0.27), (0.3, 0.05, 0.05)][int(rng.integers(4))]
    p.materials += [Material("stroller_fabric", base_color=fabric, roughness=0.85, texture="noise",
                             texture_scale=60.0),
                    Material("stroller_frame", base_color=(0.5, 0.5, 0.52), roughness=0.3, metallic=0.9),
                    Material("tyre", base_color=(0.015, 0.015, 0.015), roughness=0.9)]
    s = p.stature
    hand_z = 0.55 * s
    x0 = 0.3 * s / 1.7 + 0.04  # handle distance in front of the body (within the arms' reach)
    r = 0.1
    d = 0.2  # the pram body starts this far ahead of the handle, clear of the walker's feet
    frame = [_bar((x0, -0.32, hand_z), (x0, 0.32, hand_z), 0.03)]
    for y in (-0.22, 0.22):
        frame.append(_bar((x0 + 0.02, y, hand_z), (x0 + d + 0.35, y, 0.45), 0.025))
        frame.append(_bar((x0 + d + 0.3, y, 0.45), (x0 + d + 0.25, y, r), 0.025))
        frame.append(_bar((x0 + d + 0.3, y, 0.45), (x0 + d + 0.8, y, r), 0.025))
    _add_parts(p, frame, m0 + 1)
    _add_parts(p, [_box((x0 + d + 0.28, -0.24, 0.38), (x0 + d + 0.85, 0.24, 0.62)),
                   _ellipsoid((x0 + d + 0.4, 0, 0.72), (0.16, 0.25, 0.22))], m0)
    for x in (x0 + d + 0.25, x0 + d + 0.8):
        for y in (-0.25, 0.25):
            _add_parts(p, [_wheel((x, y, r), r - 0.015, 0.015, 12)], m0 + 2, spin=((x, y, r), 1.0 / r))
    p.stroller_handle = np.array([x0, 0.0, hand_z])


def _add_bicycle(p: Person, rng: np.random.Generator) -> None:
    from simgen.world.model import Material

    m0 = len(p.materials)
    colour = [(0.02, 0.02, 0.02), (0.55, 0.56, 0.58), (0.5, 0.03, 0.03), (0.03, 0.1, 0.45),
              (0.05, 0.25, 0.08), (0.8, 0.8, 0.8)][int(rng.integers(6))]
    p.materials += [Material("frame", base_color=colour, roughness=0.3, metallic=0.5),
                    Material("metal", base_color=(0.6, 0.6, 0.62), roughness=0.3, metallic=1.0),
                    Material("saddle", base_color=(0.02, 0.02, 0.02), roughness=0.6),
                    Material("tyre", base_color=(0.015, 0.015, 0.015), roughness=0.9)]
    bank, h = p.bank, p.heads
    leg = _leg_length(bank, h, "L")
    k = leg / 0.84  # a bicycle that fits the rider
    r = 0.34 * k
    wb = 0.52 * k
    bb = np.array([0.0, 0.0, 0.3 * k])
    crank_r = 0.17 * k
    az = h[bank.bone("foot.L"), 2]
    hip_x = -0.2 * k
    # hip joints where the leg is almost straight with the pedal at the bottom; the saddle under the sit bones
    hip_z = bb[2] - crank_r + az + math.sqrt((0.93 * leg) ** 2 - hip_x ** 2)
    seat = np.array([hip_x, 0.0, hip_z - 0.09 * k])
    head = np.array([0.42 * k, 0.0, seat[2] + 0.02])
    t = 0.035 * k
    below_seat = seat - [0, 0, 0.05]
    _add_parts(p, [_bar((-wb, 0, r), bb, t), _bar((-wb, 0, r), below_seat, t), _bar(bb, below_seat, t),
                   _bar(bb, head - [0, 0, 0.1], t), _bar(seat - [0, 0, 0.1], head - [0, 0, 0.02], t),
                   _bar((wb, 0, r), head + [0, 0, 0.1], t)], m0)
    bar_z = head[2] + 0.12
    _add_parts(p, [_bar(head + [-0.06, -0.28 * k, 0.12], head + [-0.06, 0.28 * k, 0.12], 0.03)], m0 + 1)
    _add_parts(p, [_box(seat + [-0.14, -0.07, -0.05], seat + [0.1, 0.07, 0.0])], m0 + 2)
    for x in (-wb, wb):
        _add_parts(p, [_wheel((x, 0, r), r - 0.02, 0.022, 20), _bar((x, -0.04, r), (x, 0.04, r), 0.06)], m0 + 3,
                   spin=((x, 0.0, r), 1.0 / r))
    crank = crank_r
    pedal_y = abs(h[bank.bone("foot.L"), 1])
    gear = 1.0 / (2.2 * 2 * math.pi * r)  # crank turns per metre (gear ratio 2.2)
    cparts = []
    for s_, ang in ((1, 0.0), (-1, math.pi)):
        pe = bb + [crank * math.cos(ang), s_ * pedal_y, -crank * math.sin(ang)]
        cparts.append(_bar(bb + [0, s_ * pedal_y, 0], pe, 0.025))
        pc = pe + [0.0, s_ * 0.01, 0.0]  # the pedal, just outside the crank
        cparts.append(_box(pc + [-0.05, -0.04, -0.012], pc + [0.05, 0.04, 0.012]))
    _add_parts(p, cparts, m0 + 1, spin=(tuple(bb), 2 * math.pi * gear))
    p.bike = {"bb": bb, "crank": crank, "seat": seat, "hip": np.array([hip_x, 0.0, hip_z]),
              "bar": np.array([head[0] - 0.06, 0.0, bar_z]), "bar_half": 0.24 * k, "gear": gear}


# ---- the rig -------------------------------------------------------------------------------------------------

def _rot(axis: str, a: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations by angles ``a`` (...) about a body axis."""
    a = np.asarray(a, float)
    c, s = np.cos(a), np.sin(a)
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    m = np.zeros((*a.shape, 3, 3))
    m[..., 3 - i - j, 3 - i - j] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = -s
    m[..., j, i] = s
    return m


def forward_kinematics(parents: np.ndarray, heads: np.ndarray, Q: np.ndarray, root_t: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Bone transforms ``x -> A_j x + t_j`` (A: (T, J, 3, 3), t: (T, J, 3)) from per-bone rotations Q (T, J, 3, 3)
    about rest heads (J, 3), composed down the chain, and a root translation root_t (T, 3)."""
    T, J = Q.shape[:2]
    A = np.empty((T, J, 3, 3))
    t = np.empty((T, J, 3))
    for j in range(J):  # bones are stored parents first
        p = parents[j]
        local_t = heads[j] - np.einsum("tik,k->ti", Q[:, j], heads[j])
        if p < 0:
            A[:, j] = Q[:, j]
            t[:, j] = local_t + root_t
        else:
            A[:, j] = A[:, p] @ Q[:, j]
            t[:, j] = np.einsum("tik,tk->ti", A[:, p], local_t) + t[:, p]
    return A, t


def skin(vertices: np.ndarray, weights: np.ndarray, bones: np.ndarray, A: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear-blend skinning: (T, V, 3) from rest vertices (V, 3), top-k weights/bones (V, k) and bone transforms."""
    T, J = A.shape[:2]
    V = len(vertices)
    if V == 0:
        return np.zeros((T, 0, 3))
    # the blend of the bone transforms per vertex (rotation and translation as 12 numbers), then applied
    M = np.concatenate([A.reshape(T, J, 9), t], -1)  # (T, J, 12)
    B = weights[None, :, 0, None] * M[:, bones[:, 0]]
    for k in range(1, bones.shape[1]):
        B += weights[None, :, k, None] * M[:, bones[:, k]]
    return np.einsum("tvij,vj->tvi", B[..., :9].reshape(T, V, 3, 3), vertices) + B[..., 9:]


def _leg_length(bank: Bank, heads: np.ndarray, side: str) -> float:
    h, k, a = (heads[bank.bone(f"{n}.{side}")] for n in ("upperleg01", "lowerleg01", "foot"))
    return float(np.linalg.norm((k - h)[[0, 2]]) + np.linalg.norm((a - k)[[0, 2]]))


def _ang(v: np.ndarray) -> np.ndarray:
    """Sagittal angle of (..., 2) (x, z) vectors: 0 straight down, positive pointing forward."""
    return np.arctan2(v[..., 0], -v[..., 1])


def _two_bone(root: np.ndarray, mid: np.ndarray, end: np.ndarray, target: np.ndarray, bend_forward: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    """Rotations about +y (T,) of the upper and lower bone so that ``end`` reaches ``target`` (T, 2) (x, z)
    relative to the posed ``root``; rest points (3,) in the body frame. The joint bends forward (knee) or back
    (elbow). Out-of-reach targets are reached as far as the limb goes."""
    u1, u2 = (mid - root)[[0, 2]], (end - mid)[[0, 2]]
    L1, L2 = np.linalg.norm(u1), np.linalg.norm(u2)
    D = np.clip(np.linalg.norm(target, axis=-1), abs(L1 - L2) + 1e-6, (L1 + L2) * 0.9999)
    delta = _ang(target)
    beta = np.arccos(np.clip((L1 ** 2 + D ** 2 - L2 ** 2) / (2 * L1 * D), -1, 1))
    a1 = delta + beta if bend_forward else delta - beta
    knee = L1 * np.stack([np.sin(a1), -np.cos(a1)], -1)
    tgt = target / np.linalg.norm(target, axis=-1, keepdims=True) * D[..., None]
    a2 = _ang(tgt - knee)
    th1 = -(a1 - _ang(u1))
    th2 = -(a2 - _ang(u2)) - th1
    return th1, th2


def _smooth01(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0, 1)
    return u * u * (3 - 2 * u)


def _feet(p: Person, gait: str, phase: np.ndarray, side: str, offset: float):
    """Targets of one foot at gait ``phase`` (T,) cycles: ankle (T, 2) (x, z) in the body frame, foot pitch (T,)
    (heel up > 0, about the body's y axis), and the stance mask (T,) (the foot is on the ground).

    Stance: first foot-flat (the ankle moves back at the body's speed, so the foot stays put in the world), then
    the heel lifts about the toe tip, which stays put. Swing: from toe-off to the next touchdown, lifted."""
    bank, h = p.bank, p.heads
    _, duty, lift_share, *_ = GAIT[gait]
    S = p.stride(gait)
    ank = h[bank.bone(f"foot.{side}")]
    fv = p.body[bank.weight_bones[:, 0] == bank.bone(f"foot.{side}")]
    ax, az = ank[0], ank[2]
    lt = float(fv[:, 0].max()) - ax  # toe tip ahead of the ankle (the toe tip is on the ground)
    q = np.mod(phase + offset, 1.0)
    stance = q < duty
    s = q / duty
    travel = duty * S
    x_land = ax + 0.42 * travel  # ankle ahead of its rest place at touchdown
    hs = 0.55  # share of stance after which the heel lifts
    psi_end = 0.6 if gait == "walking" else 0.8
    toe_fixed = x_land - hs * travel + lt  # the toe tip (body frame) when the heel starts to lift
    psi = psi_end * np.clip((s - hs) / (1 - hs), 0, 1)
    toe_x = toe_fixed - (s - hs) * travel  # the toe tip stays in the world, so it moves back in the body frame

    def pivot(tx, ps):  # ankle of a foot pitched heel-up by ps about its toe tip at (tx, 0)
        return tx - lt * np.cos(ps) + az * np.sin(ps), lt * np.sin(ps) + az * np.cos(ps)

    px, pz = pivot(toe_x, psi)
    st_x = np.where(s < hs, x_land - s * travel, px)
    st_z = np.where(s < hs, az, pz)
    st_pitch = np.where(s < hs, 0.0, psi)
    u = np.clip((q - duty) / (1 - duty), 0, 1)
    x_off, z_off = pivot(toe_fixed - (1 - hs) * travel, psi_end)
    e = _smooth01(u)
    sw_x = x_off + (x_land - x_off) * e
    if gait == "running":  # the heel swings up behind before the knee drives forward
        sw_x = sw_x - 0.1 * p.stature * np.sin(np.pi * np.clip(u * 1.6, 0, 1))
    sw_z = z_off + (az - z_off) * e + lift_share * p.stature * np.sin(np.pi * u) ** 1.5
    sw_pitch = psi_end * (1 - _smooth01(u * 1.8)) - 0.15 * np.sin(np.pi * u) * (u > 0.5)
    tgt = np.stack([np.where(stance, st_x, sw_x), np.where(stance, st_z, sw_z)], -1)
    return tgt, np.where(stance, st_pitch, sw_pitch), stance, u


def _pose_gait(p: Person, gait: str, phase: np.ndarray, Q: np.ndarray, root: np.ndarray) -> None:
    """Fill rotations Q (T, J, 3, 3) and root translation (T, 3) for a walk or run at ``phase`` (T,) cycles."""
    bank, h = p.bank, p.heads
    *_, arm_amp, elbow, lean, _ = GAIT[gait]
    feet = {side: _feet(p, gait, phase, side, off) for side, off in (("L", 0.0), ("R", 0.5))}
    # pelvis height: low enough that every planted foot is reached (a little short of a straight leg); a swing
    # foot's need fades in before touchdown and out after toe-off, so the pelvis moves smoothly
    drop = np.zeros(len(phase))
    for side, (tgt, pitch, stance, u) in feet.items():
        hip = h[bank.bone(f"upperleg01.{side}")]
        L = _leg_length(bank, h, side) * 0.985
        dx = tgt[:, 0] - hip[0]
        need = np.maximum((hip[2] - tgt[:, 1]) - np.sqrt(np.maximum(L ** 2 - dx ** 2, 0.0)), 0.0)
        w = np.where(stance, 1.0, np.maximum(1 - _smooth01(u / 0.3), _smooth01((u - 0.7) / 0.3)))
        drop = np.maximum(drop, w * need)
    root[:, 2] = -drop
    Q[:, bank.bone("spine05")] = _rot("y", np.full(len(phase), lean))  # the trunk leans forward
    for side, (tgt, pitch, stance, u) in feet.items():
        hip, knee, ank = (h[bank.bone(f"{n}.{side}")] for n in ("upperleg01", "lowerleg01", "foot"))
        rel = tgt - hip[[0, 2]] + np.stack([np.zeros_like(drop), drop], -1)
        th1, th2 = _two_bone(hip, knee, ank, rel, bend_forward=True)
        Q[:, bank.bone(f"upperleg01.{side}")] = _rot("y", th1)
        Q[:, bank.bone(f"lowerleg01.{side}")] = _rot("y", th2)
        Q[:, bank.bone(f"foot.{side}")] = _rot("y", pitch - (th1 + th2))
    # arms: down from anny's A-pose, swinging against the leg of the same side
    legs_fwd = np.cos(2 * np.pi * phase)  # +1: left foot far ahead
    arm_amp = arm_amp * float(p.style.get("arm_swing", 1.0))
    for side, sgn in (("L", -1.0), ("R", 1.0)):
        swing = arm_amp * sgn * legs_fwd
        bend = elbow + 0.3 * arm_amp * (1 + sgn * legs_fwd)
        if (side == "R" and p.bag) or (p.carried == "shoulder_bag" and side == p.style.get("bag_side")):
            swing = 0.2 * swing
        if p.style.get("pockets") and gait == "walking":  # hands in the pockets: little swing, elbows bent
            swing, bend = 0.12 * swing + 0.12, np.full_like(swing, 0.5)
        _arm(p, Q, side, swing, bend)
    # the shoulders counter-rotate the hips a little; the head stays level
    Q[:, bank.bone("spine02")] = _rot("z", 0.06 * (arm_amp / 0.35) * legs_fwd)
    Q[:, bank.bone("neck01")] = _rot("y", np.full(len(phase), -lean))


def _arm_down_angle(p: Person, side: str) -> float:
    """Rotation about +x that brings anny's A-pose upper arm to hang about 8 degrees out from the body."""
    bank, h = p.bank, p.heads
    s, e = h[bank.bone(f"upperarm01.{side}")], h[bank.bone(f"lowerarm01.{side}")]
    d = (e - s)[[1, 2]]  # (y, z)
    out = math.atan2(abs(d[0]), -d[1])  # angle out from straight down
    target = math.radians(7.0)
    return -(out - target) if side == "L" else (out - target)


def _arm_rest(p: Person, side: str):
    """Lowering rotation R (3, 3) and the rest shoulder, elbow, wrist after lowering (each (3,))."""
    h, bank = p.heads, p.bank
    R = _rot("x", _arm_down_angle(p, side))
    s, e, w = (h[bank.bone(f"{n}.{side}")] for n in ("upperarm01", "lowerarm01", "wrist"))
    return R, s, s + R @ (e - s), s + R @ (w - s)


def _set_arm(p: Person, Q: np.ndarray, side: str, th_upper: np.ndarray, th_lower: np.ndarray) -> None:
    """Upper arm: lowered, then turned by th_upper (T,) about y; forearm: th_lower (T,) about y in the lowered
    arm's frame (so the elbow bends in the sagittal plane)."""
    R = _rot("x", _arm_down_angle(p, side))
    T = Q.shape[0]
    Q[:, p.bank.bone(f"upperarm01.{side}")] = _rot("y", np.broadcast_to(th_upper, (T,))) @ R
    Q[:, p.bank.bone(f"lowerarm01.{side}")] = R.T @ _rot("y", np.broadcast_to(th_lower, (T,))) @ R


def _arm(p: Person, Q: np.ndarray, side: str, swing, elbow) -> None:
    """Arm hanging at the side, swung forward by ``swing`` (T,) rad, the elbow flexed by ``elbow`` rad."""
    _, s, e2, w2 = _arm_rest(p, side)
    e0 = _ang((w2 - e2)[[0, 2]]) - _ang((e2 - s)[[0, 2]])  # anny's rest elbow flexion
    _set_arm(p, Q, side, -np.asarray(swing, float), -(np.asarray(elbow, float) - e0))


def _pose_still(p: Person, behaviour: str, time: np.ndarray, Q: np.ndarray, root: np.ndarray,
                phase0: float) -> None:
    """Standing: feet planted at rest, arms down, a slow fore-aft sway; waiting: the head looks left and right."""
    bank, h = p.bank, p.heads
    T = len(time)
    sway = (0.012 if behaviour != "none" else 0.0) * np.sin(2 * np.pi * time / 4.5 + phase0)
    root[:, 0] = sway
    for side in ("L", "R"):
        hip, knee, ank = (h[bank.bone(f"{n}.{side}")] for n in ("upperleg01", "lowerleg01", "foot"))
        rel = np.stack([ank[0] - hip[0] - sway, np.full(T, ank[2] - hip[2])], -1)
        th1, th2 = _two_bone(hip, knee, ank, rel, bend_forward=True)
        Q[:, bank.bone(f"upperleg01.{side}")] = _rot("y", th1)
        Q[:, bank.bone(f"lowerleg01.{side}")] = _rot("y", th2)
        Q[:, bank.bone(f"foot.{side}")] = _rot("y", -(th1 + th2))
    for side in ("L", "R"):
        _arm(p, Q, side, np.full(T, 0.05), 0.25)
    if behaviour == "waiting":
        look = 0.6 * np.sin(2 * np.pi * time / 5.0 + phase0)
        Q[:, bank.bone("neck02")] = _rot("z", look)


def _pose_stroller(p: Person, Q: np.ndarray, root: np.ndarray) -> None:
    """Both hands on the stroller's handle (arms by two-bone IK in the sagittal plane)."""
    _reach(p, Q, root, p.stroller_handle + [-0.06, 0.0, 0.0], 0.18)


def _pose_cycling(p: Person, travelled: np.ndarray, Q: np.ndarray, root: np.ndarray, phase0: float) -> None:
    """Seated on the saddle, leaning to the handlebar, feet on the pedals (two-bone IK)."""
    bank, h, bike = p.bank, p.heads, p.bike
    T = len(travelled)
    crank = 2 * np.pi * bike["gear"] * travelled  # as the crank prop turns
    # put the hip joints just above and behind the saddle top
    hipL = h[bank.bone("upperleg01.L")]
    root[:] = bike["hip"] - np.array([hipL[0], 0.0, hipL[2]])
    # the back bends forward over three joints (a rounded, not a broken, back); the head looks ahead
    for bone, a in (("spine05", 0.3), ("spine03", 0.17), ("spine01", 0.1), ("neck01", -0.3), ("head", -0.2)):
        Q[:, bank.bone(bone)] = _rot("y", np.full(T, a))
    for side, off in (("L", 0.0), ("R", math.pi)):
        hip, knee, ank = (h[bank.bone(f"{n}.{side}")] for n in ("upperleg01", "lowerleg01", "foot"))
        a = crank + off
        pedal = bike["bb"][[0, 2]] + bike["crank"] * np.stack([np.cos(a), -np.sin(a)], -1)
        ank_t = pedal + [-0.02, ank[2] - 0.02]
        rel = ank_t - (hip[[0, 2]] + root[:, [0, 2]])
        th1, th2 = _two_bone(hip, knee, ank, rel, bend_forward=True)
        Q[:, bank.bone(f"upperleg01.{side}")] = _rot("y", th1)
        Q[:, bank.bone(f"lowerleg01.{side}")] = _rot("y", th2)
        Q[:, bank.bone(f"foot.{side}")] = _rot("y", -(th1 + th2) + 0.1 * np.sin(a))
    _reach(p, Q, root, bike["bar"], bike["bar_half"])


def _reach(p: Person, Q: np.ndarray, root: np.ndarray, grip: np.ndarray, half_width: float) -> None:
    """Both wrists to a bar at ``grip`` (3,) (object frame, ``half_width`` to each side): forward kinematics of
    the trunk as posed so far, then two-bone IK of each arm in its parent's frame (sagittal plane)."""
    bank = p.bank
    A, t = forward_kinematics(bank.bone_parents, p.heads, Q, root)
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        _, s, e2, w2 = _arm_rest(p, side)
        par = bank.bone_parents[bank.bone(f"upperarm01.{side}")]
        s_posed = np.einsum("tij,j->ti", A[:, par], s) + t[:, par]  # (T, 3)
        tgt = grip + [0.0, sgn * half_width, 0.0] - s_posed
        local = np.einsum("tji,tj->ti", A[:, par], tgt)  # into the parent's rest frame
        th1, th2 = _two_bone(s, e2, w2, local[:, [0, 2]], bend_forward=False)
        _set_arm(p, Q, side, th1, th2)


def animate(p: Person, behaviour: str, travelled: np.ndarray, time: np.ndarray, phase0: float = 0.0) -> np.ndarray:
    """(T, V, 3) object-frame vertices of person ``p`` at every frame.

    travelled: (T,) metres covered along the ground since frame 0 (the gait phase advances with it, so planted
    feet do not slide); time: (T,) seconds; phase0: starting phase (cycles for gaits, radians for sways).
    Vertex order: body, extra (hair, skirt, bag), then props in order (faces: :func:`person_faces`).
    """
    bank = p.bank
    T = len(time)
    J = len(bank.bone_names)
    Q = np.tile(np.eye(3), (T, J, 1, 1))
    root = np.zeros((T, 3))
    moving = travelled[-1] - travelled[0] > 1e-6 if T > 1 else False
    if behaviour in ("walking", "running", "carrying", "stroller"):
        gait = "running" if behaviour == "running" else "walking"
        if moving:  # one gait cycle per stride of ground covered
            _pose_gait(p, gait, phase0 + travelled / p.stride(gait), Q, root)
        else:  # walking on the spot would slide; a still "walker" stands
            _pose_still(p, "standing", time, Q, root, phase0)
        if behaviour == "stroller":
            _pose_stroller(p, Q, root)
    elif behaviour == "cycling":
        _pose_cycling(p, travelled, Q, root, phase0)
    else:
        _pose_still(p, behaviour, time, Q, root, phase0)
    yaw, pitch = float(p.style.get("head_yaw", 0.0)), float(p.style.get("head_pitch", 0.0))
    if behaviour != "cycling" and (yaw or pitch):  # where the person looks: a constant turn and tilt of the head
        Q[:, bank.bone("head")] = Q[:, bank.bone("head")] @ (_rot("z", yaw) @ _rot("y", pitch))
    A, t = forward_kinematics(bank.bone_parents, p.heads, Q, root)
    parts = [skin(p.body, bank.weights, bank.weight_bones, A, t)]
    if len(p.extra_vertices):
        parts.append(skin(p.extra_vertices, p.extra_weights, p.extra_bones, A, t))
    for prop in p.props:
        v = np.broadcast_to(prop.vertices, (T, *prop.vertices.shape))
        if prop.spin is not None:
            c, rate = np.asarray(prop.spin[0], float), prop.spin[1]
            ang = rate * travelled
            R = _rot("y", ang)
            v = np.einsum("tij,vj->tvi", R, prop.vertices - c) + c
        parts.append(np.array(v))
    return np.concatenate(parts, axis=1)


def entity_frames(mesh, poses: np.ndarray, times: np.ndarray, animation: str | None, phase0: float = 0.0
                  ) -> np.ndarray | None:
    """(T, V, 3) object-frame vertices of a bank person's entity (``mesh.rig`` set by
    :func:`simgen.world.assets.make_asset`) moving with world ``poses`` (T, 4, 4) at ``times`` (T,) seconds, or
    None when it keeps its shape (standing people, people who do not move, single frames). The gait phase
    advances with the ground covered, so planted feet stay put."""
    p = mesh.rig
    if len(poses) < 2:
        return None
    steps = np.linalg.norm(np.diff(poses[:, :2, 3], axis=0), axis=1)
    travelled = np.concatenate([[0.0], np.cumsum(steps)]) / float(p.scale[0])
    behaviour = effective_behaviour(p, animation)
    if behaviour in ("none", "standing") or (behaviour in MOVING and travelled[-1] < 1e-6):
        return None
    v = animate(p, behaviour, travelled, times, phase0)
    return (v - [0.0, 0.0, p.z_shift]) * p.scale


def person_faces(p: Person) -> tuple[np.ndarray, np.ndarray]:
    """(F, 3) faces and (F,) materials over the vertex order of :func:`animate`."""
    faces, mats = [p.faces], [p.face_material]
    off = len(p.body) + len(p.extra_vertices)
    for prop in p.props:
        faces.append(prop.faces + off)
        mats.append(np.full(len(prop.faces), prop.material))
        off += len(prop.vertices)
    return np.concatenate(faces), np.concatenate(mats)


def person_uv(p: Person) -> np.ndarray:
    """(F, 3, 2) float32 UVs per face corner (anny's UV layout on the body; zeros on hair, bag and props)."""
    f, _ = person_faces(p)
    uv = np.zeros((len(f), 3, 2), np.float32)
    uv[: len(p.face_uv)] = p.face_uv
    return uv
