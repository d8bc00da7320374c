"""Catalog assets as world meshes: read a file with trimesh, put it in the object frame, give its materials roles.

Object frame (as every simgen asset): +x forward, +y left, z up, metres; the origin is the centre of the
footprint at the lowest point (z = 0). The file's axes (``up``, ``forward``), an optional ``rotation`` and the
target size from the catalog entry take it there.

:func:`load_asset` returns a :class:`LoadedAsset`: one :class:`~simgen.world.model.Mesh` (vertices (V, 3)
float64 metres, faces (F, 3) int64, per-corner ``uv`` (F, 3, 2) float32 when the file has texture coordinates,
``face_material`` (F,) int64) and one :class:`SourceMaterial` per material slot (name, role, MTL colour,
texture path). Loads are cached in-process and on disk (``data_dir("asset_cache")``, one ``.npz`` per file and
transform), so a second process loads a large tree in milliseconds. Edited textures (logos inpainted, plates
replaced) are written next to the cache files.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simgen.paths import data_dir
from simgen.world.catalog import AssetEntry, Catalog, CatalogError
from simgen.world.model import Material, Mesh

#: bump when the cached arrays change meaning
CACHE_VERSION = 10
CACHE_ENV = "SIMGEN_ASSET_CACHE"


@dataclass(frozen=True)
class SourceMaterial:
    """A material slot of a loaded file: its name, the role the catalog gives it, and the file's own look."""

    name: str
    role: str
    colour: tuple[float, float, float]
    #: texture image path (absolute; an edited copy when the catalog edits it), or None
    image: str | None
    #: the image has an alpha channel used as a cut-out (MTL map_d or an RGBA map_Kd)
    alpha: bool
    #: MTL dissolve (1 = opaque)
    opacity: float


@dataclass(frozen=True)
class LoadedAsset:
    entry_id: str
    mesh: Mesh
    materials: tuple[SourceMaterial, ...]
    #: (3,) object-frame centre of each lamp role's faces: {"headlight": (k, 3) array, "taillight": ...}
    lamp_centres: dict


_AXES = {"+x": (0, 1.0), "-x": (0, -1.0), "+y": (1, 1.0), "-y": (1, -1.0), "+z": (2, 1.0), "-z": (2, -1.0)}


def axes_matrix(up: str, forward: str) -> np.ndarray:
    """(3, 3) rotation taking file coordinates to the object frame (forward -> +x, up -> +z, left -> +y)."""
    (ui, us), (fi, fs) = _AXES[up], _AXES[forward]
    if ui == fi:
        raise CatalogError(f"up ({up}) and forward ({forward}) must be different axes")
    f = np.zeros(3)
    f[fi] = fs
    u = np.zeros(3)
    u[ui] = us
    left = np.cross(u, f)
    return np.stack([f, left, u])  # rows: object x, y, z in file coordinates


# ---- MTL ----------------------------------------------------------------------------------------------------

def parse_mtl(path: Path) -> dict[str, dict]:
    """name -> {"Kd": (3,), "d": float, "map_Kd": abs path | None, "map_d": abs path | None} of an MTL file."""
    out: dict[str, dict] = {}
    cur = None
    for raw in path.read_text(encoding="latin-1").splitlines():
        parts = raw.strip().split()
        if not parts:
            continue
        key = parts[0]
        if key == "newmtl":
            cur = {"Kd": (0.8, 0.8, 0.8), "d": 1.0, "map_Kd": None, "map_d": None}
            out[" ".join(parts[1:])] = cur
        elif cur is None:
            continue
        elif key == "Kd" and len(parts) >= 4:
            cur["Kd"] = tuple(float(x) for x in parts[1:4])
        elif key == "d" and len(parts) >= 2:
            cur["d"] = float(parts[1])
        elif key == "Tr" and len(parts) >= 2:
            cur["d"] = 1.0 - float(parts[1])
        elif key in ("map_Kd", "map_d") and len(parts) >= 2:
            cur[key] = str((path.parent / parts[-1]).resolve())
    return out


def _mtllibs(obj: Path) -> list[Path]:
    libs = []
    with open(obj, "rb") as f:
        for line in f:
            if line.startswith(b"mtllib"):
                libs.append(obj.parent / line.split(None, 1)[1].decode("latin-1").strip())
    return libs


# ---- texture edits ------------------------------------------------------------------------------------------

def _plate_text(seed: str) -> str:
    h = hashlib.sha1(seed.encode()).digest()
    letters = "ABCDEFGHJKLMNPRSTUVWXZ"
    return f"{letters[h[0] % 22]}{letters[h[1] % 22]} {h[2] % 10}{h[3] % 10}{h[4] % 10} {letters[h[5] % 22]}" \
           f"{letters[h[6] % 22]}"


def edited_texture(src: str, edits: list, cache: Path, seed: str) -> str:
    """A copy of ``src`` with logos inpainted and plates replaced by a plain plate (written once to ``cache``)."""
    import cv2

    key = hashlib.sha1(json.dumps([CACHE_VERSION, src, os.path.getmtime(src), [e.model_dump() for e in edits]],
                                  sort_keys=True).encode()).hexdigest()[:16]
    out = cache / f"tex-{key}.png"
    if out.exists():
        return str(out)
    img = cv2.imread(src, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CatalogError(f"cannot read texture {src}")
    h, w = img.shape[:2]
    colour = img[..., :3].copy()
    mask = np.zeros((h, w), np.uint8)
    for e in edits:
        x0, y0, x1, y1 = (int(round(e.rect[0] * w)), int(round(e.rect[1] * h)), int(round(e.rect[2] * w)),
                          int(round(e.rect[3] * h)))
        if e.fill == "inpaint":
            mask[y0:y1, x0:x1] = 255
        else:  # a plain white plate with a thin dark border and random characters, no flag, no logo
            plate = np.full((y1 - y0, x1 - x0, 3), 235, np.uint8)  # drawn apart: nothing spills outside the rect
            ph, pw = plate.shape[:2]
            border = max(1, ph // 12)
            cv2.rectangle(plate, (border // 2, border // 2), (pw - 1 - border // 2, ph - 1 - border // 2),
                          (30, 30, 30), border)
            text = _plate_text(seed)
            scale = ph / 40.0
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(2 * scale)))
            scale *= min(1.0, 0.9 * pw / max(tw, 1))
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(2 * scale)))
            cv2.putText(plate, text, ((pw - tw) // 2, (ph + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        (20, 20, 20), max(1, int(2 * scale)), cv2.LINE_AA)
            colour[y0:y1, x0:x1] = plate
    if mask.any():
        colour = cv2.inpaint(colour, mask, 5, cv2.INPAINT_TELEA)
    if img.ndim == 3 and img.shape[2] == 4:
        colour = np.dstack([colour, img[..., 3]])
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}.png")
    cv2.imwrite(str(tmp), colour)
    os.replace(tmp, out)
    return str(out)


def _has_alpha(path: str) -> bool:
    import cv2

    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    return img is not None and img.ndim == 3 and img.shape[2] == 4 and int(img[..., 3].min()) < 128


# ---- loading ------------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else data_dir("asset_cache")


def _role(name: str, rules) -> str:
    low = name.lower()
    for r in rules:
        if any(fnmatch.fnmatchcase(low, pat.lower()) for pat in r.match):
            return r.role
    return "keep"


def _read_file(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, list[str]]:
    """(vertices (V, 3), faces (F, 3), corner uv (F, 3, 2) or None, face slot (F,), slot names) of a mesh file."""
    import trimesh

    try:
        scene = trimesh.load(str(path), force="scene", process=False)
    except Exception as err:  # trimesh raises many kinds for a bad file
        raise CatalogError(f"cannot read mesh {path}: {type(err).__name__}: {err}") from None
    verts, faces, uvs, slots, names = [], [], [], [], []
    any_uv = False
    offset = 0
    for node in scene.graph.nodes_geometry:
        transform, gname = scene.graph[node]
        g = scene.geometry[gname]
        if not hasattr(g, "faces") or len(g.faces) == 0:
            continue
        v = np.asarray(g.vertices, np.float64)
        v = v @ np.asarray(transform)[:3, :3].T + np.asarray(transform)[:3, 3]
        f = np.asarray(g.faces, np.int64)
        mat = getattr(getattr(g, "visual", None), "material", None)
        mname = getattr(mat, "name", None) or str(gname)
        if mname not in names:
            names.append(mname)
        uv = getattr(g.visual, "uv", None) if hasattr(g, "visual") else None
        if uv is not None and len(uv) == len(v):
            uvs.append(np.asarray(uv, np.float32)[f])
            any_uv = True
        else:
            uvs.append(np.zeros((len(f), 3, 2), np.float32))
        verts.append(v)
        faces.append(f + offset)
        slots.append(np.full(len(f), names.index(mname), np.int64))
        offset += len(v)
    if not faces:
        raise CatalogError(f"mesh {path} has no faces")
    V, F = np.concatenate(verts), np.concatenate(faces)
    if not np.all(np.isfinite(V)):
        raise CatalogError(f"mesh {path} has non-finite vertex coordinates")
    return V, F, (np.concatenate(uvs) if any_uv else None), np.concatenate(slots), names


def _transform(entry: AssetEntry, catalog: Catalog, V: np.ndarray) -> np.ndarray:
    up, fwd = catalog.axes(entry)
    R = axes_matrix(up, fwd)
    if entry.rotation is not None:
        R = R @ np.asarray(entry.rotation, float)
    V = V @ R.T
    lo, hi = V.min(0), V.max(0)
    if entry.height_m is not None:
        s = entry.height_m / max(hi[2] - lo[2], 1e-9)
    elif entry.length_m is not None:
        s = entry.length_m / max(hi[0] - lo[0], 1e-9)
    else:
        s = entry.scale or 1.0
    centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
    return (V - centre) * s


#: a connected piece of a 'leaves' or 'bark' slot with at most this many triangles is a leaf or twig (thinnable)
SMALL_PART_FACES = 64
#: kept leaves grow by 1 / sqrt(kept share) (their area makes up for the dropped ones), at most this much
MAX_LEAF_GROWTH = 1.6
#: twigs are kept at this fraction of the leaves' kept share (the leaves make the crown's look)
TWIG_FACTOR = 0.4
#: share of ``max_faces`` the large bark pieces (trunk, branches) may keep; beyond it they are simplified
BARK_SHARE = 0.4


def _simplify(V: np.ndarray, F: np.ndarray, UV: np.ndarray | None, keep: float):
    """Quadric-simplify the triangles F (k, 3) of V to about ``keep`` of them (fast-simplification). Returns
    (vertices (n, 3), faces (k', 3) indexing them, corner uv (k', 3, 2) or None: each new vertex takes the uv of
    one of the vertices merged into it)."""
    import fast_simplification

    used = np.unique(F)
    remap = np.full(len(V), -1, np.int64)
    remap[used] = np.arange(len(used))
    pts, tri = V[used], remap[F]
    _, _, collapses = fast_simplification.simplify(pts, tri, target_reduction=float(1.0 - keep),
                                                   return_collapses=True)
    new_v, new_f, mapping = fast_simplification.replay_simplification(pts, tri.astype(np.int64), collapses)
    new_uv = None
    if UV is not None:
        vuv = np.zeros((len(pts), 2), np.float32)
        vuv[tri.ravel()] = UV.reshape(-1, 2)
        src = np.zeros(len(new_v), np.int64)
        src[mapping] = np.arange(len(mapping))
        new_uv = vuv[src][new_f]
    return np.asarray(new_v, np.float64), np.asarray(new_f, np.int64), new_uv


def thin_small_parts(V: np.ndarray, F: np.ndarray, S: np.ndarray, UV: np.ndarray | None, roles: list[str],
                     max_faces: int, seed: str):
    """Make a vegetation mesh about ``max_faces`` triangles, keeping its look.

    V (N, 3) float64, F (M, 3) int, S (M,) slot of each face, UV (M, 3, 2) or None, roles: the role of each slot.
    Pieces are connected parts (sharing vertices) of one slot. Small pieces (at most :data:`SMALL_PART_FACES`
    triangles) of 'leaves' and 'bark' slots are leaves and twigs; larger 'bark' pieces are the trunk and branches.
    1. When the trunk and branches have more than :data:`BARK_SHARE` of the budget they are quadric-simplified
       to it (texture coordinates follow the merged vertices).
    2. One kept share k of the leaves (and :data:`TWIG_FACTOR` k of the twigs) is drawn to fill the rest of the
       budget (seeded by ``seed``: the same file always thins the same way); kept leaves are scaled about their own centroid by
       min(1 / sqrt(k), :data:`MAX_LEAF_GROWTH`), so the crown keeps its density and outline.
    Returns (V, F, S, UV) with unused vertices removed; unchanged when the mesh is small enough already."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    if len(F) <= max_faces:
        return V, F, S, UV
    F = np.asarray(F, np.int64)
    roles_a = np.array(list(roles) + ["keep"])
    cand = np.flatnonzero(np.isin(roles_a[S], ("leaves", "bark")))
    if len(cand) == 0:
        return V, F, S, UV
    # pieces within each slot (faces sharing a vertex and a slot)
    Fc = F[cand]
    vkey = Fc + (S[cand].astype(np.int64) * len(V))[:, None]  # vertex ids per slot, so slots never join
    _, vid = np.unique(vkey.ravel(), return_inverse=True)
    vid = vid.reshape(-1, 3)
    rows = np.repeat(np.arange(len(cand)), 3)
    inc = sp.coo_matrix((np.ones(len(rows), np.int8), (rows, vid.ravel())), shape=(len(cand), vid.max() + 1)).tocsr()
    _, part = connected_components(inc @ inc.T, directed=False)
    size = np.bincount(part)
    small = size[part] <= SMALL_PART_FACES
    big_bark = ~small & (roles_a[S[cand]] == "bark")
    V = V.copy()
    drop = np.zeros(len(F), bool)
    add_v, add_f, add_s, add_uv = [], [], [], []
    n_big = int(big_bark.sum())
    bark_budget = int(BARK_SHARE * max_faces)
    if n_big > bark_budget:  # simplify the trunk and branches, slot by slot
        keep_share = bark_budget / n_big
        offset = len(V)
        for slot in np.unique(S[cand[big_bark]]):
            rows_s = cand[big_bark & (S[cand] == slot)]
            nv, nf, nuv = _simplify(V, F[rows_s], None if UV is None else UV[rows_s], keep_share)
            drop[rows_s] = True
            add_v.append(nv)
            add_f.append(nf + offset)
            add_s.append(np.full(len(nf), slot, S.dtype))
            if UV is not None:
                add_uv.append(nuv.astype(UV.dtype))
            offset += len(nv)
    fixed = len(F) - int(drop.sum()) - int(small.sum()) + sum(len(f) for f in add_f)
    n_small = int(small.sum())
    if n_small and fixed < max_faces:
        is_leaf = roles_a[S[cand]] == "leaves"
        n_leaf = int((small & is_leaf).sum())
        k = float(np.clip((max_faces - fixed) / (n_leaf + TWIG_FACTOR * (n_small - n_leaf)), 0.05, 1.0))
        part_leaf = np.zeros(len(size), bool)
        part_leaf[part[is_leaf]] = True
        rng = np.random.default_rng(int(hashlib.sha1(seed.encode()).hexdigest()[:12], 16))
        keep_part = rng.random(len(size)) < np.where(part_leaf, k, TWIG_FACTOR * k)
        drop[cand[small & ~keep_part[part]]] = True
        # grow the kept leaves about their centroids (a vertex belongs to one piece: pieces are vertex-connected)
        grow = min(1.0 / np.sqrt(k), MAX_LEAF_GROWTH)
        sel = small & keep_part[part] & is_leaf
        if sel.any() and grow > 1.0:
            verts = Fc[sel]
            uniq, first = np.unique(verts.ravel(), return_index=True)
            vpart = np.repeat(part[sel], 3)[first]
            cnt = np.bincount(vpart, minlength=len(size)).astype(float)
            cen = np.stack([np.bincount(vpart, V[uniq, d], minlength=len(size)) for d in range(3)], 1)
            cen /= np.maximum(cnt, 1)[:, None]
            V[uniq] = cen[vpart] + grow * (V[uniq] - cen[vpart])
    keep = ~drop
    V = np.concatenate([V] + add_v)
    F = np.concatenate([F[keep]] + add_f)
    S = np.concatenate([S[keep]] + add_s)
    UV = None if UV is None else np.concatenate([UV[keep]] + add_uv)
    used = np.unique(F)
    remap = np.full(len(V), -1, np.int64)
    remap[used] = np.arange(len(used))
    return V[used], remap[F], S, UV


def _texture_lamps(entry: AssetEntry, V: np.ndarray, F: np.ndarray, S: np.ndarray, UV: np.ndarray,
                   slots: list[dict], file_images: list[str | None]) -> np.ndarray:
    """Move the faces whose uv centroid lies in a ``texture_lamps`` rect of their slot's texture into a new slot
    (one per source slot and role: the same texture, the lamp role). Only faces in the front (headlights) or
    rear (taillights) quarter of the object's length qualify (the same picture may be mapped elsewhere too).
    V: object-frame vertices (+x forward). Appends to ``slots``; returns the new S."""
    S = S.copy()
    cx = V[F].mean(1)[:, 0]
    lo, hi = float(V[:, 0].min()), float(V[:, 0].max())
    quarter = 0.25 * (hi - lo)
    cu = UV.mean(1)  # (F, 2) uv centroid, v up
    x, y = np.mod(cu[:, 0], 1.0), 1.0 - np.mod(cu[:, 1], 1.0)  # image fractions, top-left origin
    n0 = len(slots)
    for lamp in entry.texture_lamps:
        x0, y0, x1, y1 = lamp.rect
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        inside &= (cx > hi - quarter) if lamp.role == "headlight" else (cx < lo + quarter)
        for i in range(n0):
            if file_images[i] != lamp.image or slots[i]["role"] in ("hide", "headlight", "taillight"):
                continue
            sel = inside & (S == i)
            if not sel.any():
                continue
            name = f"{slots[i]['name']}:{lamp.role}"
            j = next((k for k, sl in enumerate(slots) if sl["name"] == name), None)
            if j is None:
                slots.append({**slots[i], "name": name, "role": lamp.role})
                j = len(slots) - 1
            S[sel] = j
    return S


def _rear_white_lamps(V: np.ndarray, F: np.ndarray, S: np.ndarray, slots: list[dict]) -> np.ndarray:
    """Headlight-role faces outside the front quarter of the object (white reversing lamps sharing the head
    lamps' material) move to a slot of role 'reverse_light': the same look, but they do not glow with the
    headlights. Appends to ``slots``; returns the new S."""
    head = [i for i, sl in enumerate(slots) if sl["role"] == "headlight"]
    if not head:
        return S
    cx = V[F].mean(1)[:, 0]
    lo, hi = float(V[:, 0].min()), float(V[:, 0].max())
    S = S.copy()
    for i in head:
        sel = (S == i) & (cx <= hi - 0.25 * (hi - lo))
        if sel.any():
            slots.append({**slots[i], "name": f"{slots[i]['name']}:rear", "role": "reverse_light"})
            S[sel] = len(slots) - 1
    return S


_MEMO: dict[str, LoadedAsset] = {}
_LOCK = threading.Lock()


def _key(entry: AssetEntry, path: Path, up: str, fwd: str) -> str:
    st = path.stat()
    blob = json.dumps([CACHE_VERSION, str(path), st.st_size, st.st_mtime_ns, up, fwd,
                       entry.model_dump(mode="json", by_alias=True)], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


def load_asset(entry: AssetEntry, catalog: Catalog) -> LoadedAsset:
    """The mesh and material slots of a file asset, in the object frame at its catalog size (cached).

    Raises :class:`CatalogError` naming the entry, its catalog and the file when the file is missing or unreadable.
    The returned mesh's arrays are read-only and shared by every caller."""
    path = catalog.source_path(entry)
    where = f"asset '{entry.id}' ({entry.catalog_file})"
    if not path.is_file():
        raise CatalogError(f"{where}: mesh file not found: {path}")
    up, fwd = catalog.axes(entry)
    key = _key(entry, path, up, fwd)
    with _LOCK:
        if key in _MEMO:
            return _MEMO[key]
    cdir = cache_dir()
    npz = cdir / f"{key}.npz"
    arrays = None
    if npz.is_file():
        try:
            with np.load(npz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(str(arrays["meta"]))
            if any(sl["image"] and not os.path.isfile(sl["image"]) for sl in meta["slots"]):
                arrays = None  # a texture (e.g. an edited copy) went missing: load again
        except (OSError, ValueError, KeyError):
            arrays = None
    if arrays is None:
        try:
            V, F, UV, S, names = _read_file(path)
        except CatalogError as err:
            raise CatalogError(f"{where}: {err}") from None
        V = _transform(entry, catalog, V)
        rules = catalog.material_rules(entry)
        mtl: dict[str, dict] = {}
        if path.suffix.lower() == ".obj":
            for lib in _mtllibs(path):
                if lib.is_file():
                    mtl.update(parse_mtl(lib))
        slots = []
        file_images = []  # the texture file name each slot has in the file (before edits)
        for n in names:
            m = mtl.get(n, {})
            image = m.get("map_Kd")
            if image is not None and not os.path.isfile(image):
                image = None
            file_images.append(Path(image).name if image else None)
            alpha = bool(image and (m.get("map_d") or (image.lower().endswith(".png") and _has_alpha(image))))
            edits = [e for e in entry.texture_edits if image and Path(image).name == e.image]
            if edits:
                image = edited_texture(image, edits, cdir, entry.id)
            slots.append({"name": n, "role": _role(n, rules), "colour": list(m.get("Kd", (0.8, 0.8, 0.8))),
                          "image": image, "alpha": alpha, "opacity": float(m.get("d", 1.0))})
        if entry.texture_lamps and UV is not None:
            S = _texture_lamps(entry, V, F, S, UV, slots, file_images)
        S = _rear_white_lamps(V, F, S, slots)
        # drop hidden slots
        hide = np.array([s["role"] == "hide" for s in slots] + [False])
        keep = ~hide[S]
        F, S = F[keep], S[keep]
        UV = None if UV is None else UV[keep]
        if entry.max_faces is not None:
            V, F, S, UV = thin_small_parts(V, F, S, UV, [sl["role"] for sl in slots], entry.max_faces, entry.id)
            V = V - np.array([0.0, 0.0, V[:, 2].min()])  # simplification may move the base: stand on z = 0 again
        meta = {"slots": slots, "entry": entry.id}
        arrays = {"V": V, "F": F.astype(np.int32), "S": S.astype(np.int32), "meta": np.array(json.dumps(meta))}
        if UV is not None:
            arrays["UV"] = UV.astype(np.float32)
        try:
            cdir.mkdir(parents=True, exist_ok=True)
            tmp = cdir / f"{key}.tmp{os.getpid()}.npz"
            np.savez(tmp, **arrays)
            os.replace(tmp, npz)
        except OSError:
            pass  # a read-only cache only costs time
    slots = meta["slots"]
    smooth = entry.smooth if entry.smooth is not None else not any(s["role"] in ("paint", "glass") for s in slots)
    mesh = Mesh(arrays["V"], arrays["F"].astype(np.int64), arrays["S"].astype(np.int64),
                uv=arrays.get("UV"), smooth=smooth, share_key=f"asset:{key}")
    for a in (mesh.vertices, mesh.faces, mesh.face_material) + ((mesh.uv,) if mesh.uv is not None else ()):
        a.setflags(write=False)
    mats = tuple(SourceMaterial(s["name"], s["role"], tuple(s["colour"]), s["image"], bool(s["alpha"]),
                                float(s["opacity"])) for s in slots)
    lamps = {}
    for role in ("headlight", "taillight", "lamp"):
        idx = [i for i, s in enumerate(mats) if s.role == role]
        if idx:
            sel = np.isin(mesh.face_material, idx)
            c = mesh.vertices[mesh.faces[sel]].mean(1)
            lamps[role] = c
    out = LoadedAsset(entry.id, mesh, mats, lamps)
    with _LOCK:
        _MEMO[key] = out
    return out


# ---- materials ----------------------------------------------------------------------------------------------

def _srgb_to_linear(c) -> tuple[float, float, float]:
    c = np.clip(np.asarray(c, float), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return tuple(float(x) for x in lin)  # type: ignore[return-value]


#: material names the world builder switches on with the lights (see simgen.world.build: headlamp, taillamp,
#: lamp_lens glow when headlights / street lights are on)
LAMP_NAMES = {"headlight": "headlamp", "taillight": "taillamp", "lamp": "lamp_lens"}


def material_for(src: SourceMaterial, paint: tuple[float, float, float]) -> Material:
    """The simgen material of a source slot with its role. ``paint``: the instance's paint colour (linear RGB).
    Lamps are dark here; the world builder lights them by name (:data:`LAMP_NAMES`)."""
    n, role = src.name, src.role
    kd = _srgb_to_linear(src.colour)
    if role == "paint":
        return Material(f"paint:{n}", paint, roughness=0.35, metallic=0.4, reflective=True, coat=1.0,
                        coat_roughness=0.03)
    if role == "glass":
        return Material(f"glass:{n}", (0.85, 0.88, 0.9), roughness=0.02, transmission=1.0, ior=1.5, reflective=True)
    if role in ("tyre", "rubber"):
        return Material(f"{role}:{n}", (0.02, 0.02, 0.02), roughness=0.85)
    if role == "chrome":
        return Material(f"chrome:{n}", (0.8, 0.8, 0.8), roughness=0.12, metallic=1.0, image=src.image)
    if role == "metal":
        return Material(f"metal:{n}", kd, roughness=0.4, metallic=0.8, image=src.image)
    if role == "plastic":
        return Material(f"plastic:{n}", kd, roughness=0.5, image=src.image)
    if role == "interior":
        return Material(f"interior:{n}", (0.03, 0.03, 0.03), roughness=0.8)
    if role == "headlight":
        return Material("headlamp", (0.9, 0.9, 0.9), roughness=0.05, metallic=0.3, image=src.image,
                        emission_color=(1.0, 0.95, 0.85))
    if role == "reverse_light":  # looks like a head lamp, stays dark with the headlights
        return Material(f"reverse:{n}", (0.9, 0.9, 0.9), roughness=0.05, metallic=0.3, image=src.image)
    if role == "taillight":
        return Material("taillamp", (0.6, 0.01, 0.01), roughness=0.1, image=src.image,
                        emission_color=(1.0, 0.02, 0.01))
    if role == "indicator":
        return Material(f"indicator:{n}", (0.8, 0.3, 0.0), roughness=0.1, image=src.image)
    if role == "lamp":
        return Material("lamp_lens", (0.9, 0.88, 0.8), roughness=0.2, emission_color=(1.0, 0.8, 0.55))
    if role == "plate":
        return Material(f"plate:{n}", (1.0, 1.0, 1.0) if src.image else (0.85, 0.85, 0.85), roughness=0.4,
                        image=src.image)
    if role == "leaves":
        return Material(f"leaves:{n}", (1.0, 1.0, 1.0) if src.image else kd, roughness=0.7, image=src.image,
                        alpha_cutout=src.alpha)
    if role == "bark":
        return Material(f"bark:{n}", (1.0, 1.0, 1.0) if src.image else (0.12, 0.08, 0.05), roughness=0.9,
                        image=src.image)
    if role in ("wood", "concrete"):
        return Material(f"{role}:{n}", kd, roughness=0.8, image=src.image)
    # keep: the file's own look (a textured slot shows its texture unmodulated)
    if src.image:
        return Material(f"keep:{n}", (1.0, 1.0, 1.0), roughness=0.5, image=src.image, alpha_cutout=src.alpha)
    return Material(f"keep:{n}", kd, roughness=0.5)


__all__ = ["LoadedAsset", "SourceMaterial", "load_asset", "material_for", "axes_matrix", "parse_mtl",
           "edited_texture", "cache_dir"]
