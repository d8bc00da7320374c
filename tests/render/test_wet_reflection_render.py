"""Rough and wet reflectors in the reflection labels: the stated roughness threshold, tested in Blender.

A surface is a mirror for the labels where its roughness under the weather is at most
``REFLECTION_MAX_ROUGHNESS`` (0.3, :mod:`simgen.world.surfaces`). Expectations here come from ray/plane algebra
and from the picture's own material (the roughness Blender renders with), never from the label code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgen.world.conventions import look_at, pose_from_xyz_yaw
from simgen.world.model import Camera, Entity, Lighting, Material, Mesh, Weather, World
from tests.e2e.reflection_raycast import fresnel

pytestmark = pytest.mark.blender

W, H = 96, 72


def _settings(**kw):
    from simgen.render.settings import RenderSettings

    base = dict(width=W, height=H, samples=2, device="cpu", threads=0)
    base.update(kw)
    return RenderSettings(**base)


def _static(pose=None) -> np.ndarray:
    return (np.eye(4) if pose is None else pose)[None].copy()


def _rect(x0, x1, y0, y1, z=0.0) -> Mesh:
    return Mesh([(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)], [(0, 1, 2, 3)])


def _box(sx, sy, sz) -> Mesh:
    v = np.array([[x, y, z] for z in (0.0, sz) for y in (-sy / 2, sy / 2) for x in (-sx / 2, sx / 2)])
    return Mesh(v, [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]])


def _rays(hfov, pose):
    """(H, W, 3) unit world directions of the pixel-centre rays (cx = W/2 − 0.5)."""
    f = (W / 2) / math.tan(hfov / 2)
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    d = np.stack([(u - (W / 2 - 0.5)) / f, (v - (H / 2 - 0.5)) / f, np.ones_like(u)], -1) @ pose[:3, :3].T
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def test_surfaces_up_to_the_stated_roughness_are_mirrors(bpy_module):
    """Four ground strips side by side, just below and just above 0.3: two wet road strips (0.9 and 0.95 dry,
    wetness 0.8: 0.288 and 0.323 in the picture) and two dry wall strips (0.29, 0.31). A wide person stands
    beyond them; its mirror image is labelled on the strips at or below 0.3 and on no other."""
    import bpy

    from simgen.render.blender import build_scene, render_world
    from simgen.world.surfaces import REFLECTION_MAX_ROUGHNESS

    assert REFLECTION_MAX_ROUGHNESS == pytest.approx(0.3)
    weather = Weather(wetness=0.8)
    strips = [("road", 0.9, -2.0), ("road", 0.95, -1.0), ("wall", 0.29, 0.0), ("wall", 0.31, 1.0)]
    picture = [0.9 * (1 - 0.85 * 0.8), 0.95 * (1 - 0.85 * 0.8), 0.29, 0.31]
    ents = [Entity(f"s{i}", cls, _rect(x0, x0 + 1.0, -6.0, 6.0), [Material(f"m{i}", (0.1, 0.1, 0.1), roughness=r)],
                   _static()) for i, (cls, r, x0) in enumerate(strips)]
    slab_lo, slab_hi = np.array([-2.2, 6.0, 0.0]), np.array([2.2, 6.3, 2.0])
    ents.append(Entity("slab", "pedestrian", _box(4.4, 0.3, 2.0), [Material("p")],
                       _static(pose_from_xyz_yaw(0.0, 6.15, 0.0, 0.0)), instance_id=1))
    hfov = math.radians(60.0)
    eye = np.array([0.0, -5.0, 1.6])
    pose = look_at(eye, (0.0, 4.0, 0.0))
    world = World("strips", 1, 10.0, ents, [Camera("cam", hfov, _static(pose))], lighting=Lighting(),
                  weather=weather)

    # the roughness the picture is rendered with, read from the built Blender materials
    build_scene(world, _settings())
    for i, want in enumerate(picture):
        bsdf = next(n for n in bpy.data.objects[f"s{i}"].material_slots[0].material.node_tree.nodes
                    if n.bl_idname == "ShaderNodeBsdfPrincipled")
        assert not bsdf.inputs["Roughness"].is_linked
        assert bsdf.inputs["Roughness"].default_value == pytest.approx(want, abs=1e-6)
    assert [r <= REFLECTION_MAX_ROUGHNESS for r in picture] == [True, False, True, False]

    (raw,) = list(render_world(world, _settings(passes={"rgb", "reflection"})))
    idx = raw.object_index.astype(int)
    d = _rays(hfov, pose)
    t = -eye[2] / d[..., 2]
    hit = eye + t[..., None] * d
    r = d * [1, 1, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t0, t1 = (slab_lo - hit) / r, (slab_hi - hit) / r
    meets = np.nanmin(np.maximum(t0, t1), -1) >= np.maximum(np.nanmax(np.minimum(t0, t1), -1), 1e-6)
    via_mirror = raw.reflection[..., 1] == 1
    for i, want in enumerate(picture):
        on = idx == i + 1
        expect = on & meets
        if want <= REFLECTION_MAX_ROUGHNESS:
            assert expect.sum() >= 40
            assert np.sum(via_mirror[on] != expect[on]) <= 2, f"strip {i} at roughness {want:.3f}"
        else:
            assert expect.sum() >= 40 and not via_mirror[on].any(), f"strip {i} at roughness {want:.3f}"
    # the strength of a wet-asphalt reflection is its Fresnel reflectance (IOR 1.45 of the material)
    wet = via_mirror & (idx == 1)
    F = fresnel(-d[..., 2], 1.45)
    np.testing.assert_allclose(raw.reflection_strength[..., 0][wet], F[wet], atol=1e-4)


def test_procedural_puddles_are_mirrors_where_the_picture_is_smooth(bpy_module, monkeypatch):
    """A damp road (0.67 in the picture, not a mirror) with noise puddles (0.02 inside, a mirror), under a
    ceiling that is a person: the label's mirror pixels are where the picture's roughness field is at most 0.3.

    The field is read from the picture's own material: its Roughness input is rewired to an emission, so the
    beauty render shows the roughness each pixel is rendered with."""
    import bpy

    import simgen.render.scene as scene_mod
    from simgen.render.blender import render_world
    from simgen.world.surfaces import REFLECTION_MAX_ROUGHNESS

    weather = Weather(wetness=0.3, puddle_coverage=0.45)
    road = Entity("road", "road", _rect(-60, 60, -60, 60), [Material("asphalt", (0.1, 0.1, 0.1), roughness=0.9)],
                  _static())
    ceiling = Entity("ceiling", "pedestrian", Mesh([(-200, -200, 8), (-200, 200, 8), (200, 200, 8), (200, -200, 8)],
                                                   [(0, 1, 2, 3)]), [Material("p")], _static(), instance_id=1)
    hfov = math.radians(70.0)
    eye = np.array([0.0, 0.0, 4.0])
    pose = look_at(eye, (0.0, 5.0, 0.0))
    world = World("puddles", 1, 10.0, [road, ceiling], [Camera("cam", hfov, _static(pose))], lighting=Lighting(),
                  weather=weather)

    (labels,) = list(render_world(world, _settings(passes={"rgb", "reflection"})))

    original = scene_mod.principled_material

    def roughness_as_emission(name, mat, weather, wet_surface):
        bm = original(name, mat, weather, wet_surface)
        if wet_surface:
            tree = bm.node_tree
            bsdf = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
            out = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial")
            assert bsdf.inputs["Roughness"].is_linked  # the field, not a number
            em = tree.nodes.new("ShaderNodeEmission")
            tree.links.new(bsdf.inputs["Roughness"].links[0].from_socket, em.inputs["Color"])
            tree.links.new(em.outputs[0], out.inputs["Surface"])
        return bm

    monkeypatch.setattr(scene_mod, "principled_material", roughness_as_emission)
    (field,) = list(render_world(world, _settings(passes={"rgb"}, samples=1, view_transform="standard")))
    assert bpy.data.objects["road"]
    # 8-bit sRGB back to linear: the roughness in the picture
    c = field.rgb[..., 0].astype(np.float64) / 255.0
    rough = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    on_road = labels.object_index.astype(int) == 1
    assert on_road.mean() > 0.9
    smooth = on_road & (rough <= REFLECTION_MAX_ROUGHNESS - 0.05)
    rough_px = on_road & (rough >= REFLECTION_MAX_ROUGHNESS + 0.05)
    assert smooth.sum() >= 200 and rough_px.sum() >= 200, (smooth.sum(), rough_px.sum())
    via_mirror = labels.reflection[..., 1] == 1
    assert via_mirror[smooth].all() and not via_mirror[rough_px].any()
    # the few pixels in between lie on puddle rims, where the field crosses the threshold
    assert (on_road & ~smooth & ~rough_px).sum() <= 0.1 * on_road.sum()
