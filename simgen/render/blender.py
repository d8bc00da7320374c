"""The Blender adapter: a :class:`~simgen.world.model.World` in, :class:`~simgen.labels.raw.RawFrame` out.

The only module of simgen that imports ``bpy``. One factory reset per world; everything is built with the
data API (meshes through ``foreach_set``), motion is keyframed for every frame that moves, and Cycles renders
each (frame, camera) up to three times, each time one view layer of the same scene:

``beauty``      the configured samples / denoiser / colour management -> ``rgb`` (8-bit PNG written by
                Blender's own display transform, so it is exactly the display-referred image).
``labels``      1 spp, no denoiser, weather geometry and fog excluded -> ``Depth``, ``Object Index``,
                ``Position`` (sample 0, shot through the pixel centre), ``Vector`` and ``Normal`` (exact only
                at 1 spp). Taking the sample-0 passes from this render rather than from the beauty render
                gives the same numbers on a clear day (sample 0 does not depend on the seed or the sample
                count) and the right ones in rain or fog, where the beauty ray scatters in the fog or hits a
                streak.
``reflection``  only if asked: 1 spp with temporary materials that make pedestrians, children and cyclists
                emit key·(Is Camera Ray, (1 − camera)·Is Reflection Ray, (1 − camera)·Is Transmission Ray),
                key being the object's label key (its ``pass_index``), reflective surfaces perfect mirrors,
                glass a clear refraction, everything else black; no world, no lights, no clamping. Mirrors
                and clear glass pass radiance with a throughput of exactly 1, so each channel holds the label
                key of the person seen directly / via a reflection / through glass, or 0. Glass that is also
                reflective (shop windows) does both in reality; it is rendered once as clear glass and, when
                the world has any, once more as a mirror, and the two are merged (a reflected person wins
                over one seen through the pane in the index map). Each of these has a twin, the strength
                render: people emit 1 and every mirror / pane passes its real Fresnel reflectance /
                transmittance, so a pixel holds how much of the reflected person reaches the camera (Russian
                roulette is off for these renders: it would turn small throughputs into 0-or-boosted values).
                All reflection renders of a world are done first, in one go: swapping materials makes Cycles
                re-sync shaders and the sky, which must not happen per frame.

A ``RawFrame``'s depth / object index / position therefore come from the ``labels`` render (1 spp), not the
beauty render: the values are identical without weather and correct with it.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import bpy
import cv2
import numpy as np
import OpenEXR
from mathutils import Matrix

from simgen.labels.raw import RawFrame
from simgen.labels.reflection import merge_reflection_keys, merge_reflection_strength
from simgen.render.device import DeviceChoice, apply_device, select_device
from simgen.render.settings import RenderSettings
from simgen.world.conventions import intrinsics_from_hfov, opencv_camera_to_blender
from simgen.world.model import Lighting, Material, Mesh, Weather, World

log = logging.getLogger(__name__)

#: classes whose pixels, reflections and see-through views the reflection render labels
REFLECTION_TARGET_CLASSES = frozenset({"pedestrian", "child", "cyclist"})
#: surfaces that get wet (lower roughness, darker) and carry puddles, or turn white under snow
WET_CLASSES = frozenset({"road", "sidewalk", "crosswalk", "lane_marking", "curb", "puddle", "ground", "terrain"})
#: glass thinner than this is given this thickness (metres) when its mesh is an open sheet
GLASS_THICKNESS = 0.006
_VIEW_TRANSFORMS = {"standard": "Standard", "filmic": "Filmic", "agx": "AgX"}
_SKY_TYPES = {
    "multiple_scattering": "MULTIPLE_SCATTERING",
    "single_scattering": "SINGLE_SCATTERING",
    "preetham": "PREETHAM",
    "hosek_wilkie": "HOSEK_WILKIE",
}
#: the physical sky models are ~10x brighter than a sun lamp of a few W/m²: sky_strength 1 = this factor,
#: which balances them so that exposure 0 gives a well exposed street with the Standard view transform
PHYSICAL_SKY_SCALE = 0.1
#: pixel filter width of the label renders (pixels). Sample 0 goes through the pixel centre only up to the
#: resolution of the filter's importance table (~6e-4 px at the default 1.5 px width, which is a 1.8e-4
#: relative depth error at 40 m under a camera 1.7 m high); a near-zero width removes that offset.
LABEL_FILTER_WIDTH = 0.01
_LAYER_BEAUTY, _LAYER_LABELS, _LAYER_REFLECTION = "beauty", "labels", "reflection"
_WEATHER, _LIGHTS = "weather", "lights"


@dataclass
class BuiltScene:
    """Handles to what :func:`build_scene` made (Blender objects by role) and how long it took (seconds)."""

    scene: object
    objects: list  # one per World.entities, same order
    cameras: list  # one per World.cameras
    lights: list
    device: DeviceChoice
    build_seconds: float


# ---------------------------------------------------------------------------------------------------------
# meshes


def _is_closed(faces: np.ndarray) -> bool:
    """True when every edge of the (F, n) polygon list is shared by exactly two faces (a closed surface)."""
    if len(faces) == 0:
        return True
    edges = np.stack([faces, np.roll(faces, -1, axis=1)], -1).reshape(-1, 2)
    edges = np.sort(edges, axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


def thicken_open_glass(mesh: Mesh, glass: set[int], thickness: float = GLASS_THICKNESS):
    """Give open glass sheets a thickness, so a pane is a slab with two parallel faces.

    A single-sided glass sheet makes every ray that enters it "inside" the glass for good (total internal
    reflection beyond ~42° when its normal faces away from the camera). The glass faces of an open region
    are copied ``thickness`` metres behind themselves (against their normals, so the visible front stays
    where it was given), reversed, and joined by side walls along the region's boundary.

    Returns (vertices (V', 3) float64, polygons: list of int arrays, face_material (F',) int64).
    """
    verts, faces, fmat = mesh.vertices, mesh.faces, mesh.face_material
    polys = [f for f in faces]
    is_glass = np.isin(fmat, sorted(glass)) if glass else np.zeros(len(faces), bool)
    gfaces = faces[is_glass]
    if len(gfaces) == 0 or _is_closed(gfaces):
        return verts, polys, fmat.copy()
    # per-vertex normal averaged over the glass faces that use it
    a, b, c = verts[gfaces[:, 0]], verts[gfaces[:, 1]], verts[gfaces[:, 2]]
    fn = np.cross(b - a, c - a)
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-12)
    used = np.unique(gfaces)
    vn = np.zeros_like(verts)
    for k in range(gfaces.shape[1]):
        np.add.at(vn, gfaces[:, k], fn)
    vn[used] /= np.maximum(np.linalg.norm(vn[used], axis=1, keepdims=True), 1e-12)
    remap = np.full(len(verts), -1, np.int64)
    remap[used] = np.arange(len(used)) + len(verts)
    new_verts = np.concatenate([verts, verts[used] - thickness * vn[used]])
    out_polys = polys + [remap[f][::-1] for f in gfaces]
    out_mat = list(fmat) + list(fmat[is_glass])
    # boundary edges of the glass region (used once, in face order) get a side wall
    edges = np.stack([gfaces, np.roll(gfaces, -1, axis=1)], -1).reshape(-1, 2)
    emat = np.repeat(fmat[is_glass], gfaces.shape[1])
    key = np.sort(edges, axis=1)
    _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    boundary = counts[inv.ravel()] == 1
    for (i, j), m in zip(edges[boundary], emat[boundary]):
        out_polys.append(np.array([j, i, remap[i], remap[j]]))
        out_mat.append(m)
    return new_verts, out_polys, np.asarray(out_mat, np.int64)


def _new_mesh(name: str, verts: np.ndarray, polys, face_material: np.ndarray):
    """A Blender mesh from (V, 3) vertices and polygons ((F, n) array or list of index arrays), data API only."""
    me = bpy.data.meshes.new(name)
    if isinstance(polys, np.ndarray):
        flat = polys.reshape(-1)
        sizes = np.full(len(polys), polys.shape[1] if polys.ndim == 2 else 0, np.int64)
    else:
        sizes = np.array([len(p) for p in polys], np.int64)
        flat = np.concatenate(polys) if polys else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else np.zeros(0, np.int64)
    me.vertices.add(len(verts))
    me.vertices.foreach_set("co", np.asarray(verts, np.float32).ravel())
    me.loops.add(len(flat))
    me.loops.foreach_set("vertex_index", flat.astype(np.int32))
    me.polygons.add(len(sizes))
    me.polygons.foreach_set("loop_start", starts.astype(np.int32))
    me.polygons.foreach_set("material_index", np.asarray(face_material, np.int32))
    me.update(calc_edges=True)
    # flat shading: the shading normal is the face normal (smooth normals would bend refraction in thin
    # glass slabs and blur the Normal pass across box edges)
    me.shade_flat()
    return me


# ---------------------------------------------------------------------------------------------------------
# materials


class _Nodes:
    """Small helper around a node tree: add nodes with inputs set, link sockets."""

    def __init__(self, tree):
        self.tree = tree
        tree.nodes.clear()

    def add(self, kind: str, **inputs):
        node = self.tree.nodes.new(kind)
        for key, value in inputs.items():
            node.inputs[key].default_value = value
        return node

    def link(self, out_socket, in_socket) -> None:
        self.tree.links.new(out_socket, in_socket)

    def math(self, op: str, a, b=0.0, clamp: bool = False):
        node = self.tree.nodes.new("ShaderNodeMath")
        node.operation = op
        node.use_clamp = clamp
        for k, v in enumerate((a, b)):
            if isinstance(v, (int, float)):
                node.inputs[k].default_value = float(v)
            else:
                self.link(v, node.inputs[k])
        return node.outputs[0]


def _texture_factor(n: _Nodes, kind: str, scale: float):
    """A float socket around 1.0 that modulates the base colour with trackable procedural detail."""
    coords = n.add("ShaderNodeTexCoord").outputs["Object"]
    scaled = n.add("ShaderNodeVectorMath")
    scaled.operation = "SCALE"
    n.link(coords, scaled.inputs[0])
    scaled.inputs["Scale"].default_value = float(scale)
    vec = scaled.outputs[0]

    def noise(s: float, detail: float, rough: float = 0.6):
        node = n.add("ShaderNodeTexNoise", Scale=s, Detail=detail, Roughness=rough)
        n.link(vec, node.inputs["Vector"])
        return node.outputs["Fac"]

    fine = noise(25.0, 8.0, 0.65)  # fine grain everywhere, so no patch is flat
    if kind == "checker":
        chk = n.add("ShaderNodeTexChecker", Scale=1.0)
        n.link(vec, chk.inputs["Vector"])
        f = n.math("MULTIPLY_ADD", chk.outputs["Fac"], 0.6, )
        f.node.inputs[2].default_value = 0.4
        detail = n.math("MULTIPLY_ADD", fine, 0.6)
        detail.node.inputs[2].default_value = 0.7
        return n.math("MULTIPLY", f, detail)
    if kind == "noise":
        coarse = noise(3.0, 6.0, 0.6)
        f = n.math("MULTIPLY_ADD", coarse, 1.6)
        f.node.inputs[2].default_value = 0.2
        detail = n.math("MULTIPLY_ADD", fine, 0.5)
        detail.node.inputs[2].default_value = 0.75
        return n.math("MULTIPLY", f, detail)
    if kind == "asphalt":
        grain = noise(80.0, 12.0, 0.75)
        vor = n.add("ShaderNodeTexVoronoi", Scale=40.0)
        n.link(vec, vor.inputs["Vector"])
        f = n.math("MULTIPLY_ADD", grain, 1.4)
        f.node.inputs[2].default_value = 0.3
        speck = n.math("MULTIPLY_ADD", vor.outputs["Distance"], 0.6)
        speck.node.inputs[2].default_value = 0.7
        blotch = n.math("MULTIPLY_ADD", noise(1.5, 4.0), 0.5)
        blotch.node.inputs[2].default_value = 0.75
        return n.math("MULTIPLY", n.math("MULTIPLY", f, speck), blotch)
    if kind == "brick":
        brick = n.add("ShaderNodeTexBrick", Scale=1.0, Color1=(1, 1, 1, 1), Color2=(0.65, 0.65, 0.65, 1),
                      Mortar=(0.3, 0.3, 0.3, 1))
        n.link(vec, brick.inputs["Vector"])
        bw = n.add("ShaderNodeRGBToBW")
        n.link(brick.outputs["Color"], bw.inputs[0])
        detail = n.math("MULTIPLY_ADD", fine, 0.6)
        detail.node.inputs[2].default_value = 0.7
        return n.math("MULTIPLY", bw.outputs[0], detail)
    raise ValueError(f"unknown texture {kind!r}")


def _reflection_material(role: str, ior: float = 1.45, strength: bool = False, model: tuple = ()):
    """A stand-alone material holding the reflection-label shader of ``role`` (see :func:`_reflection_shader`)."""
    bm = bpy.data.materials.new(f"_reflection_{role}_{ior:g}_{'s' if strength else 'k'}_{model}")
    n = _Nodes(bm.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    n.link(_reflection_shader(n, role, ior, strength, model), out.inputs["Surface"])
    bm.cycles.emission_sampling = "NONE"
    return bm


def reflectance_model(mat: Material) -> tuple:
    """How much of a reflection a surface passes on, for the reflection-strength render (hashable).

    ``("dielectric", ior, weight)``: Fresnel reflectance of a smooth dielectric (glass, water, wet asphalt; the
    clear coat of car paint: IOR 1.5 weighted by the coat); ``("metal", f0)``: a bare metal reflects its base
    colour's mean, independent of angle."""
    if mat.transmission >= 0.5:
        return ("dielectric", round(float(mat.ior), 6), 1.0)
    if mat.coat > 0:
        return ("dielectric", 1.5, round(float(min(mat.coat, 1.0)), 6))
    if mat.metallic >= 0.5:
        return ("metal", round(float(np.mean(mat.base_color)), 6))
    return ("dielectric", round(float(mat.ior), 6), 1.0)


#: Cycles settings of the reflection renders: no clamping, no Russian roulette before the bounce limits
_REFLECTION_EXACT = {
    "sample_clamp_direct": 0.0,
    "sample_clamp_indirect": 0.0,
    "min_light_bounces": lambda c: c.max_bounces,
    "min_transparent_bounces": lambda c: c.transparent_max_bounces,
}


class _ReflectionMaterials:
    """Context: every entity's materials become reflection-label materials and the world goes; restored after.

    Done once per world (a material or world change makes Cycles re-sync shaders and the sky)."""

    def __init__(self, built: "BuiltScene", world: World, glass_mode: str = "clear", strength: bool = False):
        self.built, self.world, self.glass_mode, self.strength = built, world, glass_mode, strength
        self.cache: dict[tuple, object] = {}

    def _label(self, role: str, mat: Material):
        ior = float(mat.ior) if role == "clear" else 0.0
        model = reflectance_model(mat) if self.strength and role in ("mirror", "clear") else ()
        key = (role, ior, model)
        if key not in self.cache:
            self.cache[key] = _reflection_material(role, ior or 1.45, self.strength, model)
        return self.cache[key]

    def __enter__(self):
        scene = self.built.scene
        self.saved_world = scene.world
        scene.world = None
        # label keys are emitted as radiance: clamping would scale them; strengths are path throughputs, which
        # Russian roulette would turn into 0-or-boosted at 1 spp: no clamping, no early path termination
        c = scene.cycles
        self.saved_cycles = {k: getattr(c, k) for k in _REFLECTION_EXACT}
        for k, v in _REFLECTION_EXACT.items():
            setattr(c, k, v(c) if callable(v) else v)
        self.saved = []
        for ent, obj in zip(self.world.entities, self.built.objects):
            slots = obj.data.materials
            self.saved.append(list(slots))
            for i, m in enumerate(ent.materials):
                slots[i] = self._label(reflection_role(ent.class_name, m, self.glass_mode), m)
        return self

    def __exit__(self, *exc):
        self.built.scene.world = self.saved_world
        for k, v in self.saved_cycles.items():
            setattr(self.built.scene.cycles, k, v)
        for obj, mats in zip(self.built.objects, self.saved):
            for i, bm in enumerate(mats):
                obj.data.materials[i] = bm
        return False


def _reflection_shader(n: _Nodes, role: str, ior: float = 1.45, strength: bool = False, model: tuple = ()):
    """The reflection-label shader of a surface. role: 'target' | 'mirror' | 'clear' | 'black'.

    strength=False: people emit their label key, mirrors and glass pass everything (throughput 1).
    strength=True: people emit 1 and mirrors / glass pass what the surface really reflects / transmits for
    ``model`` (:func:`reflectance_model`): Fresnel reflectance F or, through glass, 1 − F per face. Every
    surface has a single perfectly sharp lobe, so one sample per pixel gives the exact product along the path.
    """
    if role == "target":
        # emission (Is Camera, (1 − camera)·Is Reflection, (1 − camera)·Is Transmission), strength 1, each
        # times key = the object's pass index (its label key) unless this is the strength render
        lp = n.add("ShaderNodeLightPath")
        cam = lp.outputs["Is Camera Ray"]
        not_cam = n.math("SUBTRACT", 1.0, cam)
        flags = (cam, n.math("MULTIPLY", not_cam, lp.outputs["Is Reflection Ray"]),
                 n.math("MULTIPLY", not_cam, lp.outputs["Is Transmission Ray"]))
        if not strength:
            key = n.add("ShaderNodeObjectInfo").outputs["Object Index"]
            flags = tuple(n.math("MULTIPLY", flag, key) for flag in flags)
        comb = n.add("ShaderNodeCombineColor")
        for i, flag in enumerate(flags):
            n.link(flag, comb.inputs[i])
        sh = n.add("ShaderNodeEmission", Strength=1.0)
        n.link(comb.outputs[0], sh.inputs["Color"])
    elif role == "mirror":
        sh = n.add("ShaderNodeBsdfGlossy", Color=(1, 1, 1, 1), Roughness=0.0)
        if strength:
            n.link(_reflectance(n, model), sh.inputs["Color"])
    elif role == "clear":
        sh = n.add("ShaderNodeBsdfRefraction", Color=(1, 1, 1, 1), Roughness=0.0, IOR=float(ior))
        if strength:
            n.link(n.math("SUBTRACT", 1.0, _reflectance(n, model)), sh.inputs["Color"])
    else:
        sh = n.add("ShaderNodeEmission", Color=(0, 0, 0, 1), Strength=0.0)
    return sh.outputs[0]


def _reflectance(n: _Nodes, model: tuple):
    """A float socket: the reflectance of ``model`` for the current ray (Fresnel node: shading normal, ray)."""
    if model[0] == "metal":
        return n.math("ADD", 0.0, float(model[1]))
    fresnel = n.add("ShaderNodeFresnel", IOR=float(model[1]))
    return n.math("MULTIPLY", fresnel.outputs["Fac"], float(model[2]))


def reflection_role(class_name: str, mat: Material, glass_mode: str = "clear") -> str:
    """How a surface behaves in the reflection-label render (see the module docstring).

    glass_mode: what reflective glass is in this render, ``"clear"`` or ``"mirror"``."""
    if class_name in REFLECTION_TARGET_CLASSES:
        return "target"
    if mat.transmission >= 0.5:
        return "mirror" if glass_mode == "mirror" and mat.reflective else "clear"
    if mat.reflective:
        return "mirror"
    return "black"


def reflection_glass_modes(world: World) -> list[str]:
    """The reflection renders a world needs: ``["clear"]``, plus ``"mirror"`` when it has reflective glass."""
    reflective_glass = any(m.transmission >= 0.5 and m.reflective for e in world.entities for m in e.materials)
    return ["clear", "mirror"] if reflective_glass else ["clear"]


def _principled_material(name: str, mat: Material, weather: Weather, wet_surface: bool):
    """A principled node tree for ``mat`` (wet/snowy when ``wet_surface`` and the weather says so)."""
    bm = bpy.data.materials.new(name)
    n = _Nodes(bm.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    bsdf = n.add("ShaderNodeBsdfPrincipled")
    n.link(bsdf.outputs["BSDF"], out.inputs["Surface"])
    base = np.asarray(mat.base_color, float)
    rough = float(mat.roughness)
    if wet_surface and weather.snow > 0:
        s = float(np.clip(weather.snow, 0.0, 1.0))
        base = base * (1.0 - s) + 0.85 * s
        rough = rough * (1.0 - s) + 0.9 * s
    elif wet_surface and weather.wetness > 0:
        w = float(np.clip(weather.wetness, 0.0, 1.0))
        base = base * (1.0 - 0.45 * w)
        rough = rough * (1.0 - 0.85 * w)
    bsdf.inputs["Base Color"].default_value = (*base, 1.0)
    bsdf.inputs["Metallic"].default_value = float(mat.metallic)
    bsdf.inputs["Transmission Weight"].default_value = float(mat.transmission)
    bsdf.inputs["IOR"].default_value = float(mat.ior)
    bsdf.inputs["Coat Weight"].default_value = float(mat.coat)
    bsdf.inputs["Coat Roughness"].default_value = float(mat.coat_roughness)
    bsdf.inputs["Emission Color"].default_value = (*mat.emission_color, 1.0)
    bsdf.inputs["Emission Strength"].default_value = float(mat.emission_strength)
    if mat.texture != "none":
        f = _texture_factor(n, mat.texture, mat.texture_scale)
        col = n.add("ShaderNodeVectorMath")
        col.operation = "SCALE"
        col.inputs[0].default_value = tuple(base)
        n.link(f, col.inputs["Scale"])
        n.link(col.outputs[0], bsdf.inputs["Base Color"])
    if wet_surface and weather.puddle_coverage > 0 and not weather.puddle_entities:
        # procedural puddles, only when the world has no labelled puddle entities: where a large-scale noise
        # exceeds a threshold the surface is a mirror-smooth film
        coords = n.add("ShaderNodeTexCoord").outputs["Object"]
        pn = n.add("ShaderNodeTexNoise", Scale=0.15, Detail=2.0)
        n.link(coords, pn.inputs["Vector"])
        c = float(np.clip(weather.puddle_coverage, 0.0, 1.0))
        t = 0.5 + 0.25 * (1.0 - 2.0 * c)
        mask = n.add("ShaderNodeMapRange")
        mask.inputs["From Min"].default_value = t - 0.02
        mask.inputs["From Max"].default_value = t + 0.02
        n.link(pn.outputs["Fac"], mask.inputs["Value"])
        mix = n.add("ShaderNodeMix")
        mix.data_type = "FLOAT"
        n.link(mask.outputs[0], mix.inputs["Factor"])
        mix.inputs["A"].default_value = rough
        mix.inputs["B"].default_value = 0.02
        n.link(mix.outputs["Result"], bsdf.inputs["Roughness"])
    else:
        bsdf.inputs["Roughness"].default_value = rough
    return bm


# ---------------------------------------------------------------------------------------------------------
# scene


def _shape_key_frames(obj, vertex_frames: np.ndarray) -> None:
    """Deform ``obj`` per frame: one shape key per frame holding its vertices, at weight 1 on its own frame and 0
    on the neighbouring ones (linear in between), so frame f shows exactly ``vertex_frames[f]``. Cycles takes
    the deformation at t ± 1 into the Vector pass, so flow of a deforming object is exact too."""
    obj.shape_key_add(name="rest", from_mix=False)
    n = len(vertex_frames)
    for f in range(n):
        kb = obj.shape_key_add(name=f"frame_{f}", from_mix=False)
        kb.data.foreach_set("co", np.ascontiguousarray(vertex_frames[f], np.float32).reshape(-1))
        kb.value = 0.0
    key = obj.data.shape_keys
    key.use_relative = True
    for f in range(n):
        kb = key.key_blocks[f"frame_{f}"]
        for g in (f - 1, f, f + 1):
            if 0 <= g < n:
                kb.value = 1.0 if g == f else 0.0
                kb.keyframe_insert("value", frame=g)
    _linear_keys(key.animation_data.action)


def _linear_keys(action) -> None:
    """Make every keyframe of ``action`` linear (no overshoot between frames)."""
    curves = getattr(action, "fcurves", None)
    if curves is None:  # layered actions (Blender 4.4+)
        curves = [fc for layer in action.layers for strip in layer.strips
                  for bag in strip.channelbags for fc in bag.fcurves]
    for fc in curves:
        for kp in fc.keyframe_points:
            kp.interpolation = "LINEAR"


def _keyframe(obj, poses: np.ndarray, to_blender=None) -> None:
    """Set ``obj``'s world matrix per frame; keyframe every frame when it moves (Vector pass needs keys)."""
    mats = poses if to_blender is None else np.stack([to_blender(p) for p in poses])
    obj.rotation_mode = "QUATERNION"
    obj.matrix_world = Matrix(mats[0].tolist())
    if len(mats) < 2 or np.array_equal(mats, np.broadcast_to(mats[0], mats.shape)):
        return
    for f, m in enumerate(mats):
        obj.matrix_world = Matrix(m.tolist())
        for path in ("location", "rotation_quaternion", "scale"):
            obj.keyframe_insert(path, frame=f)
    obj.matrix_world = Matrix(mats[0].tolist())


def _sun_and_sky(scene, lighting: Lighting, light_coll) -> None:
    world = bpy.data.worlds.new("sky")
    scene.world = world
    n = _Nodes(world.node_tree)
    out = n.add("ShaderNodeOutputWorld")
    bg = n.add("ShaderNodeBackground", Strength=float(lighting.sky_strength))
    n.link(bg.outputs[0], out.inputs["Surface"])
    e, a = float(lighting.sun_elevation_rad), float(lighting.sun_azimuth_rad)
    if lighting.night:
        bg.inputs["Color"].default_value = (0.002, 0.003, 0.008, 1.0)
        return
    if lighting.sky_model == "uniform":
        bg.inputs["Color"].default_value = (0.45, 0.6, 0.85, 1.0)
    else:
        sky = n.add("ShaderNodeTexSky")
        sky.sky_type = _SKY_TYPES[lighting.sky_model]
        if hasattr(sky, "sun_disc"):
            sky.sun_disc = False  # the sun lamp below is the sun: disc or lamp, not both
        sky.sun_elevation = e
        sky.sun_rotation = a
        if sky.sky_type in ("PREETHAM", "HOSEK_WILKIE"):
            sky.sun_direction = (math.cos(e) * math.sin(a), math.cos(e) * math.cos(a), math.sin(e))
        n.link(sky.outputs[0], bg.inputs["Color"])
        bg.inputs["Strength"].default_value = float(lighting.sky_strength) * PHYSICAL_SKY_SCALE
    clouds = float(np.clip(lighting.cloud_cover, 0.0, 1.0))
    sun_data = bpy.data.lights.new("sun", "SUN")
    sun_data.energy = float(lighting.sun_strength) * (1.0 - 0.8 * clouds)
    sun_data.angle = math.radians(0.53 + 20.0 * clouds)
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = (math.pi / 2 - e, 0.0, math.pi - a)
    light_coll.objects.link(sun)


def _world_bounds(world: World) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for e in world.entities:
        if not e.label_visible or len(e.mesh.vertices) == 0:
            continue
        mn, mx = e.mesh.bounds()
        corners = np.array([[x, y, z] for x in (mn[0], mx[0]) for y in (mn[1], mx[1]) for z in (mn[2], mx[2])])
        for pose in e.poses[[0, -1]]:
            pts = corners @ pose[:3, :3].T + pose[:3, 3]
            lo, hi = np.minimum(lo, pts.min(0)), np.maximum(hi, pts.max(0))
    for c in world.cameras:
        lo, hi = np.minimum(lo, c.poses[:, :3, 3].min(0)), np.maximum(hi, c.poses[:, :3, 3].max(0))
    centre = np.mean([c.poses[:, :3, 3].mean(0) for c in world.cameras], axis=0) if world.cameras else 0.5 * (lo + hi)
    lo = np.maximum(lo - 2.0, centre - 300.0)
    hi = np.minimum(hi + 2.0, centre + 300.0)
    return lo, hi


def _fog_airlight(lighting: Lighting) -> float:
    """Ambient radiance of fog (linear, before exposure): bright grey at high sun, dim at dusk, ~0 at night."""
    if lighting.night:
        return 0.01
    sun = float(np.clip(math.sin(lighting.sun_elevation_rad) / math.sin(math.radians(30.0)), 0.05, 1.0))
    clouds = float(np.clip(lighting.cloud_cover, 0.0, 1.0))
    return 0.8 * sun * (1.0 - 0.35 * clouds)


def _fog_box(world: World, weather_coll) -> None:
    lo, hi = _world_bounds(world)
    v = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
    faces = np.array([[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]])
    me = _new_mesh("fog", v, faces, np.zeros(6, np.int64))
    bm = bpy.data.materials.new("fog")
    n = _Nodes(bm.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    density = float(world.weather.fog_density)
    vol = n.add("ShaderNodeVolumePrincipled", Density=density)
    vol.inputs["Color"].default_value = (0.85, 0.87, 0.9, 1.0)
    # Airlight. Real fog looks bright because light scatters many times inside it; path tracing that costs many
    # volume bounces. Instead the volume emits the ambient fog radiance A per unit of extinction, which gives
    # Koschmieder's law along every ray: L = L0·exp(−σd) + A·(1 − exp(−σd)) — surfaces fade into a bright
    # fog colour by day and into darkness at night, while single scattering still makes halos around lamps.
    airlight = _fog_airlight(world.lighting)
    vol.inputs["Emission Color"].default_value = (0.85, 0.87, 0.9, 1.0)
    vol.inputs["Emission Strength"].default_value = density * airlight
    n.link(vol.outputs[0], out.inputs["Volume"])
    me.materials.append(bm)
    obj = bpy.data.objects.new("fog", me)
    weather_coll.objects.link(obj)


def _camera_object(cam_model, settings: RenderSettings, coll):
    data = bpy.data.cameras.new(cam_model.name)
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = 36.0
    data.lens = 18.0 / math.tan(cam_model.hfov_rad / 2.0)
    data.shift_x = data.shift_y = 0.0
    data.clip_start, data.clip_end = float(cam_model.clip_start), float(cam_model.clip_end)
    obj = bpy.data.objects.new(cam_model.name, data)
    coll.objects.link(obj)
    _keyframe(obj, cam_model.poses, opencv_camera_to_blender)
    return obj


def _light_object(light, coll):
    kind = {"point": "POINT", "spot": "SPOT", "area": "AREA"}[light.kind]
    data = bpy.data.lights.new(light.name, kind)
    data.energy = float(light.power_w)
    data.color = tuple(light.color)
    if kind == "SPOT":
        data.spot_size = float(np.clip(light.spot_angle_rad, math.radians(1.0), math.pi))
        data.shadow_soft_size = float(light.radius)
    elif kind == "AREA":
        data.size = 2.0 * float(light.radius)
    else:
        data.shadow_soft_size = float(light.radius)
    obj = bpy.data.objects.new(light.name, data)
    coll.objects.link(obj)
    _keyframe(obj, light.poses)
    return obj


def _configure(scene, world: World, settings: RenderSettings) -> DeviceChoice:
    r = scene.render
    r.engine = "CYCLES"
    r.resolution_x, r.resolution_y, r.resolution_percentage = settings.width, settings.height, 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    r.use_motion_blur = False  # a blurred render has an all-zero Vector pass
    r.use_persistent_data = bool(settings.persistent_data)
    r.dither_intensity = 0.0
    r.film_transparent = False
    if settings.threads > 0:
        r.threads_mode, r.threads = "FIXED", settings.threads
    else:
        r.threads_mode = "AUTO"
    r.fps = max(1, int(round(world.fps)))
    scene.frame_start, scene.frame_end = 0, max(0, world.frame_count - 1)
    c = scene.cycles
    c.samples = settings.samples
    c.seed = int(world.render_seed if settings.seed is None else settings.seed)
    c.use_animated_seed = False
    c.use_denoising = settings.denoiser == "oidn"
    if c.use_denoising:
        c.denoiser = "OPENIMAGEDENOISE"
    cycles_names = {"transparent_bounces": "transparent_max_bounces", "clamp_direct": "sample_clamp_direct",
                    "clamp_indirect": "sample_clamp_indirect"}
    for key, value in settings.light_paths.items():
        name = cycles_names.get(key, key)
        setattr(c, name, float(value) if key.startswith("clamp") else int(value))
    scene.display_settings.display_device = "sRGB"
    scene.view_settings.view_transform = _VIEW_TRANSFORMS[settings.view_transform]
    scene.view_settings.look = "None"
    scene.view_settings.exposure = float(world.lighting.exposure + settings.exposure)
    scene.view_settings.gamma = 1.0
    choice = select_device(settings.device, settings.gpu_index)
    apply_device(choice, scene)
    return choice


def _view_layers(scene, passes: set[str]) -> None:
    beauty = scene.view_layers[0]
    beauty.name = _LAYER_BEAUTY
    labels = scene.view_layers.new(_LAYER_LABELS)
    labels.samples = 1
    labels.cycles.use_denoising = False
    labels.use_pass_z = labels.use_pass_object_index = labels.use_pass_position = True
    labels.use_pass_vector = labels.use_pass_normal = True
    labels.layer_collection.children[_WEATHER].exclude = True
    layers = [beauty, labels]
    if "reflection" in passes:
        refl = scene.view_layers.new(_LAYER_REFLECTION)
        refl.samples = 1
        refl.cycles.use_denoising = False
        refl.layer_collection.children[_WEATHER].exclude = True
        refl.layer_collection.children[_LIGHTS].exclude = True
        layers.append(refl)
    for layer in layers:
        layer.use_pass_combined = True


def build_scene(world: World, settings: RenderSettings) -> BuiltScene:
    """Factory-reset Blender and build ``world`` in it (meshes, materials, keyframes, sky, device, passes)."""
    t0 = time.perf_counter()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    device = _configure(scene, world, settings)
    root = scene.collection
    main = bpy.data.collections.new("world")
    weather_coll = bpy.data.collections.new(_WEATHER)
    light_coll = bpy.data.collections.new(_LIGHTS)
    for coll in (main, weather_coll, light_coll):
        root.children.link(coll)

    cache: dict[tuple, object] = {}
    objects = []
    for key, ent in enumerate(world.entities, start=1):
        wet = ent.class_name in WET_CLASSES
        bmats = []
        for m in ent.materials:
            ck = (id(m), wet)
            if ck not in cache:
                cache[ck] = _principled_material(m.name, m, world.weather, wet)
            bmats.append(cache[ck])
        glass = {i for i, m in enumerate(ent.materials) if m.transmission > 0}
        verts, polys, fmat = thicken_open_glass(ent.mesh, glass) if glass else (
            ent.mesh.vertices, ent.mesh.faces, ent.mesh.face_material)
        me = _new_mesh(ent.name, verts, polys, fmat)
        for bm in bmats:
            me.materials.append(bm)
        obj = bpy.data.objects.new(ent.name, me)
        obj.pass_index = key  # label_key >= 1: index 0 is the sky
        (main if ent.label_visible else weather_coll).objects.link(obj)
        _keyframe(obj, ent.poses)
        if ent.vertex_frames is not None and not glass:
            _shape_key_frames(obj, ent.vertex_frames)
        objects.append(obj)

    cameras = [_camera_object(c, settings, main) for c in world.cameras]
    lights = [_light_object(lt, light_coll) for lt in world.lights]
    _sun_and_sky(scene, world.lighting, light_coll)
    if world.weather.fog_density > 0:
        _fog_box(world, weather_coll)
    _view_layers(scene, settings.passes)
    if cameras:
        scene.camera = cameras[0]
    return BuiltScene(scene, objects, cameras, lights, device, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------------------
# rendering and reading


def read_exr_passes(path: Path) -> dict[str, np.ndarray]:
    """Multi-part EXR -> {pass name: (H, W, C) float32}, channels in R,G,B,A / X,Y,Z,W order, rows top-down."""
    order = {c: i for i, c in enumerate("RGBAXYZW")}
    out: dict[str, dict[str, np.ndarray]] = {}
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            for name, ch in part.channels.items():
                stem, _, comp = name.rpartition(".")
                layer_pass = stem.split(".", 1)[-1] if "." in stem else stem
                out.setdefault(layer_pass, {})[comp] = np.asarray(ch.pixels, np.float32)
    return {
        p: np.stack([chans[c] for c in sorted(chans, key=lambda c: order.get(c, 99))], -1) for p, chans in out.items()
    }


def _use_only(scene, layer_name: str) -> None:
    for layer in scene.view_layers:
        layer.use = layer.name == layer_name


def _render_layer(scene, layer_name: str, exr: Path | None, png: Path | None = None, filter_width: float = 1.5) -> None:
    """Render one view layer; save its display-referred 8-bit PNG and/or its passes as a multilayer EXR."""
    _use_only(scene, layer_name)
    scene.cycles.filter_width = filter_width
    bpy.ops.render.render(write_still=False)
    img = bpy.data.images["Render Result"]
    fmt = scene.render.image_settings
    if png is not None:
        fmt.media_type = "IMAGE"
        fmt.file_format = "PNG"
        fmt.color_mode = "RGB"
        fmt.color_depth = "8"
        fmt.compression = 0
        img.save_render(str(png), scene=scene)
    if exr is not None:
        fmt.media_type = "MULTI_LAYER_IMAGE"
        fmt.color_depth = "32"
        fmt.exr_codec = "ZIP"
        img.save_render(str(exr), scene=scene)


def render_world(
    world: World,
    settings: RenderSettings,
    frames: list[int] | None = None,
    on_frame: Callable[[RawFrame], None] | None = None,
    on_reflection: Callable[[int, int], None] | None = None,
) -> Iterator[RawFrame]:
    """Render ``world``: yields one :class:`RawFrame` per (frame, camera), frames in the given order.

    frames: 0-based frame indices (default: all). on_frame: called with each RawFrame before it is yielded
    (progress reporting). on_reflection(done, total): called after each render of the reflection pre-pass,
    which renders the reflection labels of every frame before the first frame is yielded. Timings per frame
    (seconds): ``build`` (scene build, on the first frame yielded; 0 after), ``beauty``, ``labels`` (1-spp
    label render), ``reflection`` (if asked), ``io`` (writing and reading the temporary EXR/PNG files).
    Temporary files live in a directory removed when the generator finishes or is closed.
    """
    frames = list(range(world.frame_count)) if frames is None else [int(f) for f in frames]
    bad = [f for f in frames if not 0 <= f < world.frame_count]
    if bad:
        raise ValueError(f"frames {bad} outside 0..{world.frame_count - 1}")
    if not world.cameras:
        raise ValueError(f"world {world.name!r} has no camera")
    built = build_scene(world, settings)
    scene = built.scene
    build_seconds = built.build_seconds
    log.info("built %s: %d objects in %.3f s; %s", world.name, len(built.objects), build_seconds,
             built.device.message)
    reflection = "reflection" in settings.passes
    with tempfile.TemporaryDirectory(prefix="simgen-render-") as tmp:
        tmpdir = Path(tmp)
        refl_seconds: dict[tuple[int, int], float] = {}
        # (glass mode, what is emitted) of every reflection render a frame needs
        glass_modes = reflection_glass_modes(world) if reflection else []
        refl_renders = [(m, w) for m in glass_modes for w in ("keys", "strength")]
        refl_total, refl_done = len(refl_renders) * len(frames) * len(built.cameras), 0
        for mode, what in refl_renders:
            # All reflection renders first: switching to and from the reflection layer makes Cycles re-sync
            # the shaders and the sky, so it happens once per world and render kind instead of per frame.
            with _ReflectionMaterials(built, world, mode, strength=what == "strength"):
                for f in frames:
                    scene.frame_set(f)
                    for ci, cam_obj in enumerate(built.cameras):
                        scene.camera = cam_obj
                        t = time.perf_counter()
                        _render_layer(scene, _LAYER_REFLECTION, tmpdir / f"reflection-{mode}-{what}-{f}-{ci}.exr",
                                      filter_width=LABEL_FILTER_WIDTH)
                        refl_seconds[(f, ci)] = refl_seconds.get((f, ci), 0.0) + time.perf_counter() - t
                        refl_done += 1
                        if on_reflection is not None:
                            on_reflection(refl_done, refl_total)
        for f in frames:
            scene.frame_set(f)
            for ci, (cam_model, cam_obj) in enumerate(zip(world.cameras, built.cameras)):
                scene.camera = cam_obj
                timings = {"build": build_seconds}
                build_seconds = 0.0
                io = 0.0

                t = time.perf_counter()
                png = tmpdir / "beauty.png"
                _render_layer(scene, _LAYER_BEAUTY, None, png)
                timings["beauty"] = time.perf_counter() - t
                t = time.perf_counter()
                rgb = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                io += time.perf_counter() - t

                t = time.perf_counter()
                label_exr = tmpdir / "labels.exr"
                _render_layer(scene, _LAYER_LABELS, label_exr, filter_width=LABEL_FILTER_WIDTH)
                timings["labels"] = time.perf_counter() - t
                t = time.perf_counter()
                lab = read_exr_passes(label_exr)
                io += time.perf_counter() - t

                refl = refl_index = refl_strength = None
                if reflection:
                    timings["reflection"] = refl_seconds[(f, ci)]
                    t = time.perf_counter()
                    got = {}
                    for mode, what in refl_renders:
                        exr = tmpdir / f"reflection-{mode}-{what}-{f}-{ci}.exr"
                        got[mode, what] = read_exr_passes(exr)["Combined"][..., :3]
                        exr.unlink()
                    refl, refl_index = merge_reflection_keys(got["clear", "keys"], got.get(("mirror", "keys")))
                    refl_strength = merge_reflection_strength(
                        got["clear", "keys"], got.get(("mirror", "keys")),
                        got["clear", "strength"], got.get(("mirror", "strength")))
                    io += time.perf_counter() - t
                timings["io"] = io

                raw = RawFrame(
                    frame=f,
                    camera=cam_model.name,
                    rgb=np.ascontiguousarray(rgb),
                    depth=lab["Depth"][..., 0],
                    object_index=lab["Object Index"][..., 0],
                    position=lab["Position"][..., :3],
                    vector=lab["Vector"][..., :4],
                    normal=lab["Normal"][..., :3],
                    K=intrinsics_from_hfov(cam_model.hfov_rad, settings.width, settings.height),
                    world_from_camera=np.array(cam_model.poses[f], np.float64),
                    reflection=refl,
                    reflection_index=refl_index,
                    reflection_strength=refl_strength,
                    timings=timings,
                )
                if on_frame is not None:
                    on_frame(raw)
                yield raw
