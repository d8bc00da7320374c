"""The scene build's shortcuts change nothing: a material copied from a template (other colour, seed, image)
has the node tree a from-scratch build gives, and a catalog mesh kept across builds (appended from the mesh
library) has the geometry, uv and shading a fresh build gives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgen.world.conventions import look_at
from simgen.world.model import Camera, Entity, Material, Mesh, Weather, World

pytestmark = pytest.mark.blender


def _tree_signature(bm) -> dict:
    """Every node (by name): type, operation-like settings, input values and image; plus the links."""
    out = {}
    for node in bm.node_tree.nodes:
        ins = []
        for sock in node.inputs:
            v = getattr(sock, "default_value", None)
            if v is None:
                ins.append(None)
            elif isinstance(v, (int, float, bool)):
                ins.append(round(float(v), 6))
            else:
                try:
                    ins.append(tuple(round(float(x), 6) for x in v))
                except TypeError:
                    ins.append(str(v))
        extra = tuple(str(getattr(node, a, None)) for a in ("operation", "data_type", "blend_type", "offset",
                                                              "feature", "uv_map", "interpolation_type"))
        image = getattr(node, "image", None)
        out[node.name] = (node.bl_idname, extra, tuple(ins), image.filepath if image is not None else None)
    links = sorted((lk.from_node.name, lk.from_socket.identifier, lk.to_node.name, lk.to_socket.identifier)
                   for lk in bm.node_tree.links)
    return {"nodes": out, "links": links}


def _materials(tmp_path):
    import cv2

    img_a, img_b = tmp_path / "a.png", tmp_path / "b.png"
    cv2.imwrite(str(img_a), np.full((4, 4, 3), 90, np.uint8))
    cv2.imwrite(str(img_b), np.full((4, 4, 3), 200, np.uint8))
    mats = []
    for kind in ("brick", "plaster", "concrete", "curtain_wall", "paving", "kerb", "noise", "checker", "fabric",
                 "denim", "skin", "paint", "sign", "none"):
        for colour, seed in (((0.5, 0.3, 0.2), 3.25), ((0.05, 0.1, 0.7), 71.5)):
            mats.append(Material(f"{kind}_{seed}", colour, 0.7, texture=kind, texture_scale=1.5, texture_seed=seed,
                                 texture_coords="uv", wear=0.3, emission_color=(1.0, 0.9, 0.8),
                                 emission_strength=0.2))
    for colour, img in (((1.0, 1.0, 1.0), img_a), ((0.4, 0.5, 0.6), img_b)):
        mats.append(Material(f"img_{img.stem}", colour, 0.5, image=str(img)))
        mats.append(Material(f"cut_{img.stem}", colour, 0.5, image=str(img), alpha_cutout=True))
    return mats


@pytest.mark.parametrize("weather", [Weather(), Weather(wetness=0.8, puddle_coverage=0.4), Weather(snow=0.6)],
                         ids=["dry", "wet", "snow"])
def test_material_copied_from_a_template_equals_a_fresh_build(bpy_module, tmp_path, weather):
    import bpy

    from simgen.render.materials import material_like, principled_material, template_key

    bpy.ops.wm.read_factory_settings(use_empty=True)
    mats = _materials(tmp_path)
    checked = 0
    for wet in (False, True):
        templates = {}
        for m in mats:
            key = template_key(m, wet)
            assert key is not None
            fresh = principled_material(m.name, m, weather, wet)
            if key in templates:
                copied = material_like(templates[key], m.name + "_copy", m, weather, wet)
                assert _tree_signature(copied) == _tree_signature(fresh), m.name
                checked += 1
            else:
                templates[key] = fresh
    assert checked == len(mats) // 2 * 2
    # the key tells structures apart: different kinds, cut-outs, emission or wear never share a template
    keys = {template_key(m, False) for m in mats}
    assert len(keys) == len(mats) // 2


def _asset_world(mesh: Mesh, n: int) -> World:
    ents = [Entity(f"tree_{i}", "tree", mesh, [Material("bark", (0.2, 0.1, 0.05), 0.9),
                                               Material("leaves", (0.1, 0.3 + 0.1 * i, 0.1), 0.7)],
                   np.eye(4)[None] @ np.diag([1.0, 1.0, 1.0, 1.0]), instance_id=i + 1) for i in range(n)]
    for i, e in enumerate(ents):
        e.poses = e.poses.copy()
        e.poses[0, 0, 3] = 3.0 * i
    cam = look_at((0.0, -8.0, 2.0), (0.0, 0.0, 1.0))
    return World("t", 1, 10.0, ents, [Camera("front", math.radians(60), cam[None])])


def test_kept_catalog_mesh_equals_a_fresh_build(bpy_module):
    """Two builds in one process: the second appends the keyed mesh from the library (no new mesh built), and
    it has the vertices, faces, materials per face, uv and smooth shading of the first."""
    from simgen.render import meshes as M
    from simgen.render.scene import build_scene
    from simgen.render.settings import RenderSettings

    rng = np.random.default_rng(0)
    v = rng.normal(size=(300, 3))
    f = rng.integers(0, 300, size=(200, 3))
    uv = rng.random((200, 3, 2)).astype(np.float32)
    mesh = Mesh(v, f, rng.integers(0, 2, 200), uv=uv, smooth=True, share_key="test:tree-a")
    for a in (mesh.vertices, mesh.faces, mesh.face_material, mesh.uv):
        a.setflags(write=False)
    settings = RenderSettings(width=32, height=24, samples=1, device="cpu", passes={"rgb"}, denoiser="none")

    def geometry(built):
        objs = built.objects
        assert len({o.data.name for o in objs}) == 1  # every instance shares one mesh
        me = objs[0].data
        co = np.zeros(len(me.vertices) * 3, np.float32)
        me.vertices.foreach_get("co", co)
        loops = np.zeros(len(me.loops), np.int32)
        me.loops.foreach_get("vertex_index", loops)
        mi = np.zeros(len(me.polygons), np.int32)
        me.polygons.foreach_get("material_index", mi)
        uvs = np.zeros(len(me.loops) * 2, np.float32)
        me.uv_layers["uv"].data.foreach_get("uv", uvs)
        smooth = np.zeros(len(me.polygons), bool)
        me.polygons.foreach_get("use_smooth", smooth)
        slots = [[s.material.name for s in o.material_slots] for o in objs]
        return co, loops, mi, uvs, smooth, slots

    M.MESH_LIBRARY.clear()
    made = []
    real_new_mesh = M.new_mesh

    def counting(*a, **k):
        made.append(a[0])
        return real_new_mesh(*a, **k)

    import simgen.render.scene as S

    S.new_mesh = counting
    try:
        first = geometry(build_scene(_asset_world(mesh, 3), settings))
        assert len(made) == 1
        second = geometry(build_scene(_asset_world(mesh, 2), settings))
        assert len(made) == 1  # appended, not built
    finally:
        S.new_mesh = real_new_mesh
    for a, b in zip(first[:5], second[:5]):
        np.testing.assert_array_equal(a, b)
    assert first[4].all()
    # each object keeps its own (object-linked) materials
    assert second[5] == [s for s in first[5][:2]]
    # a writeable mesh under the same key is never taken from the library
    loose = Mesh(v * 2.0, f, np.zeros(200, np.int64), share_key="test:tree-a")
    assert M.MeshLibrary.key(loose, set(), 2) is None
