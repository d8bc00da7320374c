"""Reflection labels of the example edge-case scenes, re-derived by ray casting the world's meshes with trimesh.

Each pixel-centre ray is cast into the scene's geometry (built without Blender); where it first meets a
reflective surface (shop-window glass, a puddle, car paint) it is mirrored about that face's normal and cast
again. The person it then meets — or none — must be what the dataset's reflection labels say.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from tests.conftest import REPO

pytestmark = [pytest.mark.blender, pytest.mark.slow]

W, H = 160, 120
PEOPLE = {"pedestrian", "child", "cyclist"}


def _render(scene: str, out):
    from simgen.pipeline import prepare, render_scene
    from simgen.spec import load_render_config

    cfg = load_render_config("test").model_copy(update={
        "width": W, "height": H, "passes": ["rgb", "depth", "semantic", "instance", "reflection"]})
    progress = []
    render_scene(REPO / "scenes" / f"{scene}.yaml", out, cfg=cfg, frames=1,
                 on_reflection=lambda done, total: progress.append((done, total)))
    # key + strength renders, for clear glass and (all these scenes have shop windows) glass as a mirror
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    row = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
    _, world = prepare(REPO / "scenes" / f"{scene}.yaml", seed=row["seed"], variant=row["variant"], cfg=cfg)
    return row, world


def _fresnel(cos_i, n):
    """Unpolarised Fresnel reflectance of a smooth dielectric of relative index n (the Fresnel equations)."""
    sin_t = np.sqrt(np.clip(1 - cos_i**2, 0, 1)) / n
    cos_t = np.sqrt(np.clip(1 - sin_t**2, 0, 1))
    rs = (cos_i - n * cos_t) / (cos_i + n * cos_t)
    rp = (n * cos_i - cos_t) / (n * cos_i + cos_t)
    return 0.5 * (rs**2 + rp**2)


def _reflectance(mat, cos_i):
    """What a smooth reflective surface reflects: glass / water / wet asphalt by their IOR, car paint by its
    clear coat (IOR 1.5)."""
    if mat.transmission < 0.5 and mat.coat > 0:
        return mat.coat * _fresnel(cos_i, 1.5)
    return _fresnel(cos_i, mat.ior)


def _scene_mesh(world, frame: int = 0):
    """One trimesh of every labelled entity at ``frame``, with per-face entity index, reflectivity, material."""
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
        mirror_of.append(np.array([e.materials[m].reflective for m in fm], bool))
        mat_of.extend(e.materials[m] for m in fm)
    mesh = trimesh.Trimesh(np.concatenate(verts), np.concatenate(faces), process=False)
    return mesh, np.concatenate(ent_of), np.concatenate(mirror_of), mat_of


def _first_hits(mesh, origins, dirs):
    """(N,) face index of the first hit of each ray (-1 = none) and (N, 3) hit points."""
    tri, ray, loc = mesh.ray.intersects_id(origins, dirs, multiple_hits=False, return_locations=True)
    face = np.full(len(origins), -1)
    pts = np.full((len(origins), 3), np.nan)
    face[ray], pts[ray] = tri, loc
    return face, pts


def _expected_reflections(world, meta):
    """(H, W) instance id of the person seen via one mirror bounce (0 = none), a mask of decidable pixels and
    (H, W) the reflectance of that bounce (0 elsewhere)."""
    mesh, ent_of, mirror_of, mat_of = _scene_mesh(world)
    K, pose = np.array(meta["K"]), np.array(meta["world_from_camera"])
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1).reshape(-1, 3)
    d = d @ pose[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    face, hit = _first_hits(mesh, np.repeat(pose[None, :3, 3], len(d), 0), d)
    on_mirror = (face >= 0) & mirror_of[np.maximum(face, 0)]
    n = mesh.face_normals[face[on_mirror]]
    n *= -np.sign(np.einsum("ij,ij->i", n, d[on_mirror]))[:, None]  # the side facing the camera
    r = d[on_mirror] - 2 * np.einsum("ij,ij->i", d[on_mirror], n)[:, None] * n
    face2, _ = _first_hits(mesh, hit[on_mirror] + 1e-4 * n, r)
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
            strength[i] = _reflectance(mat_of[f1], c)
    return expected.reshape(H, W), decidable.reshape(H, W), strength.reshape(H, W)


@pytest.mark.parametrize("scene", ["pedestrian_reflection_window", "pedestrian_reflection_puddle",
                                   "pedestrian_reflection_car"])
def test_reflected_people_are_where_mirrored_rays_meet_them(scene, tmp_path, bpy_module):
    from simgen.io.dataset import DatasetReader

    row, world = _render(scene, tmp_path)
    sample = DatasetReader(tmp_path)[0]
    expected, decidable, expected_strength = _expected_reflections(world, sample["meta"])
    got = sample["reflection_instance"].astype(np.int64)
    via_mirror = sample["reflection"][..., 1] == 1
    assert (expected > 0).sum() >= 10, "the scene must show a reflected person"
    # reflected person in the label <=> the mirrored ray meets a person; the same person
    wrong = decidable & ((expected > 0) != via_mirror)
    assert wrong.sum() <= max(2, 0.05 * (expected > 0).sum()), f"{wrong.sum()} pixels disagree"
    both = decidable & via_mirror & (expected > 0)
    assert np.array_equal(got[both], expected[both])
    # a reflection is never a person in the direct labels: those pixels belong to the mirror surface
    people_ids = {o["instance_id"] for o in sample["meta"]["objects"] if o["class"] in PEOPLE}
    assert not np.isin(sample["instance"][via_mirror], sorted(people_ids)).any()
    assert set(np.unique(got[got > 0])) <= people_ids
    # every labelled reflection carries the share of light that reaches the camera (a product of Fresnel
    # reflectances: a few per cent off glass head-on, less after two bounces), never more than all of it
    strength = sample["reflection_strength"][..., 0]
    assert np.all((strength[via_mirror] > 0) & (strength[via_mirror] <= 1.0)) and not strength[~via_mirror].any()
    # single-bounce pixels: the Fresnel reflectance of the surface hit, from its normal and the ray
    single = both & (expected_strength > 0)
    assert single.sum() >= 10
    np.testing.assert_allclose(strength[single], expected_strength[single], atol=1e-5)
