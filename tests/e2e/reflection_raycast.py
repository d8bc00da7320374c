"""Reflection labels re-derived without Blender: trimesh ray casting of a world's meshes.

Each pixel-centre ray is cast into the scene's geometry; where it first meets a reflector it is mirrored about
that face's normal and cast again. The person it then meets — or none — is what the reflection labels must
say. Which surfaces are reflectors is the labels' stated rule (:func:`simgen.world.surfaces.reflects`:
``reflective`` materials and any surface whose roughness under the weather is at most
``REFLECTION_MAX_ROUGHNESS``); everything else here is independent of the renderer.
"""

from __future__ import annotations

import numpy as np
import trimesh

PEOPLE = {"pedestrian", "child", "cyclist"}


def fresnel(cos_i, n):
    """Unpolarised Fresnel reflectance of a smooth dielectric of relative index n (the Fresnel equations)."""
    sin_t = np.sqrt(np.clip(1 - cos_i**2, 0, 1)) / n
    cos_t = np.sqrt(np.clip(1 - sin_t**2, 0, 1))
    rs = (cos_i - n * cos_t) / (cos_i + n * cos_t)
    rp = (n * cos_i - cos_t) / (n * cos_i + cos_t)
    return 0.5 * (rs**2 + rp**2)


def reflectance(mat, cos_i):
    """What a smooth reflective surface reflects: glass / water / wet asphalt by their IOR, car paint by its
    clear coat (IOR 1.5), a metal its mean base colour."""
    if mat.transmission < 0.5 and mat.coat > 0:
        return mat.coat * fresnel(cos_i, 1.5)
    if mat.transmission < 0.5 and mat.metallic >= 0.5:
        return np.full_like(cos_i, float(np.mean(mat.base_color)))
    return fresnel(cos_i, mat.ior)


def scene_mesh(world, frame: int = 0):
    """One trimesh of every labelled entity at ``frame``: (mesh, per-face entity index (F,), per-face mirror
    flag (F,), per-face material list)."""
    from simgen.classes import class_table
    from simgen.world.surfaces import reflects

    wets = class_table().with_fact("wets")
    verts, faces, ent_of, mirror_of, mat_of = [], [], [], [], []
    offset = 0
    for k, e in enumerate(world.entities):
        if not e.label_visible:
            continue
        f = np.asarray(e.mesh.faces)
        tris = f if f.shape[1] == 3 else np.concatenate([f[:, [0, 1, 2]], f[:, [0, 2, 3]]])
        fm = e.mesh.face_material if f.shape[1] == 3 else np.concatenate([e.mesh.face_material] * 2)
        v = e.vertices_at(frame) @ e.poses[frame][:3, :3].T + e.poses[frame][:3, 3]  # walkers deform
        verts.append(v)
        faces.append(tris + offset)
        offset += len(v)
        ent_of.append(np.full(len(tris), k))
        person = e.class_name in PEOPLE
        flags = [not person and reflects(m, world.weather, e.class_name in wets) for m in e.materials]
        mirror_of.append(np.array(flags, bool)[fm])
        mat_of.extend(e.materials[m] for m in fm)
    mesh = trimesh.Trimesh(np.concatenate(verts), np.concatenate(faces), process=False)
    return mesh, np.concatenate(ent_of), np.concatenate(mirror_of), mat_of


def first_hits(mesh, origins, dirs):
    """(N,) face index of the first hit of each ray (-1 = none) and (N, 3) hit points."""
    tri, ray, loc = mesh.ray.intersects_id(origins, dirs, multiple_hits=False, return_locations=True)
    face = np.full(len(origins), -1)
    pts = np.full((len(origins), 3), np.nan)
    face[ray], pts[ray] = tri, loc
    return face, pts


def pixel_rays(meta, H: int, W: int):
    """Unit pixel-centre rays (H·W, 3) in world coordinates of a pinhole frame's meta (K, world_from_camera)."""
    K, pose = np.array(meta["K"]), np.array(meta["world_from_camera"])
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1).reshape(-1, 3)
    d = d @ pose[:3, :3].T
    return d / np.linalg.norm(d, axis=1, keepdims=True), pose[:3, 3]


def expected_reflections(world, meta, H: int, W: int):
    """Ray-cast reflection labels of frame 0, each (H, W): the instance id of the person seen via one mirror
    bounce (0 = none), a mask of decidable pixels (False where the mirrored ray meets a second mirror: not
    modelled), the reflectance of that bounce (0 elsewhere), and the entity index of the first surface hit
    (-1 = sky)."""
    mesh, ent_of, mirror_of, mat_of = scene_mesh(world)
    d, eye = pixel_rays(meta, H, W)
    face, hit = first_hits(mesh, np.repeat(eye[None], len(d), 0), d)
    on_mirror = (face >= 0) & mirror_of[np.maximum(face, 0)]
    n = mesh.face_normals[face[on_mirror]]
    n *= -np.sign(np.einsum("ij,ij->i", n, d[on_mirror]))[:, None]  # the side facing the camera
    r = d[on_mirror] - 2 * np.einsum("ij,ij->i", d[on_mirror], n)[:, None] * n
    face2, _ = first_hits(mesh, hit[on_mirror] + 1e-4 * n, r)
    cos_i = np.abs(np.einsum("ij,ij->i", d[on_mirror], n))
    expected = np.zeros(len(d), np.int64)
    strength = np.zeros(len(d))
    decidable = np.ones(len(d), bool)
    ents = world.entities
    for i, f1, f2, c in zip(np.flatnonzero(on_mirror), face[on_mirror], face2, cos_i):
        if f2 < 0:
            continue
        if mirror_of[f2]:
            decidable[i] = False  # a second mirror bounce: not modelled here
        elif ents[ent_of[f2]].class_name in PEOPLE:
            expected[i] = ents[ent_of[f2]].instance_id
            strength[i] = reflectance(mat_of[f1], np.array([c]))[0]
    surface = np.where(face >= 0, ent_of[np.maximum(face, 0)], -1)
    return (expected.reshape(H, W), decidable.reshape(H, W), strength.reshape(H, W), surface.reshape(H, W))
