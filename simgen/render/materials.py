"""Surface materials: a principled node tree per simgen :class:`~simgen.world.model.Material`, with wet and
snowy variants for the classes that get wet."""

from __future__ import annotations

import dataclasses

import bpy
import numpy as np

from simgen.classes import class_table
from simgen.render.nodes import UV_KINDS, Nodes, asphalt_wear, texture_factor, texture_vector
from simgen.world.model import Material, Weather
from simgen.world.surfaces import PUDDLE_FILM_ROUGHNESS, procedural_puddles, weathered

#: surfaces that get wet (lower roughness, darker) and carry puddles, or turn white under snow (class table fact)
WET_CLASSES = class_table().with_fact("wets")


def load_image(path: str):
    """The Blender image of ``path`` (loaded once per file; colour data in sRGB as stored)."""
    key = str(path)
    for img in bpy.data.images:
        if img.filepath == key:
            return img
    return bpy.data.images.load(key, check_existing=True)


def _sign_colour(n: Nodes, mat: Material, base: np.ndarray):
    """A generic shop sign (no text): the panel colour with a band of blocky pseudo-lettering in a contrasting
    colour, drawn in the sign's 0..1 uv. Returns a colour socket."""
    uv = texture_vector(n, "uv", 1.0, 0.0)
    sep = n.add("ShaderNodeSeparateXYZ")
    n.link(uv, sep.inputs[0])
    u, v = sep.outputs["X"], sep.outputs["Y"]
    letters = n.add("ShaderNodeTexBrick", Scale=1.0, Color1=(0, 0, 0, 1), Color2=(1, 1, 1, 1), Mortar=(0, 0, 0, 1))
    letters.name = "simgen_sign_letters"
    letters.inputs["Row Height"].default_value = 0.5
    letters.inputs["Mortar Size"].default_value = 0.012
    letters.offset = 0.0
    comb = n.add("ShaderNodeCombineXYZ")
    shift = n.math("ADD", u, 0.0)
    shift.node.name = "simgen_sign_shift"
    n.link(shift, comb.inputs[0])
    n.link(n.math("ADD", n.math("MULTIPLY", v, 0.35), 0.3), comb.inputs[1])
    n.link(comb.outputs[0], letters.inputs["Vector"])
    bw = n.add("ShaderNodeRGBToBW")
    n.link(letters.outputs["Color"], bw.inputs[0])
    glyph = n.math("GREATER_THAN", bw.outputs[0], 0.35)
    inside = n.math("MULTIPLY", n.math("MULTIPLY", n.math("GREATER_THAN", v, 0.3), n.math("LESS_THAN", v, 0.72)),
                    n.math("MULTIPLY", n.math("GREATER_THAN", u, 0.12), n.math("LESS_THAN", u, 0.88)))
    mask = n.math("MULTIPLY", glyph, inside)
    mix = n.add("ShaderNodeMix")
    mix.name = "simgen_sign_mix"
    mix.data_type = "RGBA"
    n.link(mask, mix.inputs["Factor"])
    _sign_values(n.tree.nodes, mat, base)
    return mix.outputs["Result"]


def _sign_values(nodes, mat: Material, base: np.ndarray) -> None:
    """The values of a sign's nodes that depend on its seed and colour (glyph width and shift, panel and ink)."""
    nodes["simgen_sign_letters"].inputs["Brick Width"].default_value = 0.045 + 0.02 * (mat.texture_seed % 1.0)
    nodes["simgen_sign_shift"].inputs[1].default_value = float(mat.texture_seed)
    lum = float(np.dot(base, (0.2126, 0.7152, 0.0722)))
    ink = (0.04, 0.04, 0.04) if lum > 0.35 else (0.85, 0.83, 0.78)
    nodes["simgen_sign_mix"].inputs["A"].default_value = (*base, 1.0)
    nodes["simgen_sign_mix"].inputs["B"].default_value = (*ink, 1.0)


#: node names of the values :func:`material_like` changes in a copy
_BASE_NODE, _SEED_NODE, _IMAGE_NODE, _TINT_NODE = "simgen_base", "simgen_seed", "simgen_image", "simgen_tint"


def template_key(mat: Material, wet_surface: bool) -> str | None:
    """Materials with equal keys differ only in name, base colour, texture seed and image, which are plain node
    values: the second one can be a copy of the first with those values changed (:func:`material_like`, ~0.1 ms
    instead of a few ms of node building). None: no such shortcut (the road's asphalt, whose wear nodes take the
    seed too; it is one material per world anyway)."""
    if mat.texture == "asphalt" or mat.emission_frames is not None:  # keyed lamps: built each (few of them)
        return None
    return repr((dataclasses.replace(mat, name="", base_color=(0.0, 0.0, 0.0), texture_seed=0.0,
                                     image="" if mat.image else None), wet_surface))


def material_like(template, name: str, mat: Material, weather: Weather, wet_surface: bool):
    """A copy of ``template`` (built by :func:`principled_material` for a material with the same
    :func:`template_key`) showing ``mat``: the same node tree as building it from scratch."""
    bm = template.copy()
    bm.name = name
    base = weathered(mat, weather, wet_surface)[0]
    nodes = bm.node_tree.nodes
    for node in nodes:
        if node.bl_idname == "ShaderNodeBsdfPrincipled":
            node.inputs["Base Color"].default_value = (*base, 1.0)
    if _BASE_NODE in nodes:
        nodes[_BASE_NODE].inputs[0].default_value = tuple(base)
    if _SEED_NODE in nodes:
        seed = float(mat.texture_seed)
        nodes[_SEED_NODE].inputs[2].default_value = (seed, 0.71 * seed, 0.37 * seed)
    if _IMAGE_NODE in nodes:
        nodes[_IMAGE_NODE].image = load_image(mat.image)
        nodes[_TINT_NODE].inputs["B"].default_value = (*base, 1.0)
    if "simgen_sign_mix" in nodes:
        _sign_values(nodes, mat, base)
    return bm


def _key_emission(bm, socket, frames) -> None:
    """Key the emission strength at every frame with constant interpolation (a lamp is on or off for the whole
    frame, never half-lit between frames)."""
    for f, value in enumerate(frames):
        socket.default_value = float(value)
        socket.keyframe_insert("default_value", frame=f)
    socket.default_value = float(frames[0])
    action = bm.node_tree.animation_data.action
    curves = getattr(action, "fcurves", None)
    if curves is None:  # layered actions (Blender 4.4+)
        curves = [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                  for fc in bag.fcurves]
    for fc in curves:
        for kp in fc.keyframe_points:
            kp.interpolation = "CONSTANT"


def principled_material(name: str, mat: Material, weather: Weather, wet_surface: bool):
    """A principled node tree for ``mat`` (wet/snowy when ``wet_surface`` and the weather says so)."""
    bm = bpy.data.materials.new(name)
    n = Nodes(bm.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    bsdf = n.add("ShaderNodeBsdfPrincipled")
    n.link(bsdf.outputs["BSDF"], out.inputs["Surface"])
    base = weathered(mat, weather, wet_surface)[0]
    bsdf.inputs["Base Color"].default_value = (*base, 1.0)
    bsdf.inputs["Metallic"].default_value = float(mat.metallic)
    bsdf.inputs["Transmission Weight"].default_value = float(mat.transmission)
    bsdf.inputs["IOR"].default_value = float(mat.ior)
    bsdf.inputs["Coat Weight"].default_value = float(mat.coat)
    bsdf.inputs["Coat Roughness"].default_value = float(mat.coat_roughness)
    bsdf.inputs["Emission Color"].default_value = (*mat.emission_color, 1.0)
    bsdf.inputs["Emission Strength"].default_value = float(mat.emission_strength)
    if mat.emission_frames is not None:
        _key_emission(bm, bsdf.inputs["Emission Strength"], mat.emission_frames)
    if mat.subsurface > 0:  # skin: millimetres of scattering, deepest in red
        bsdf.inputs["Subsurface Weight"].default_value = float(mat.subsurface)
        bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
        bsdf.inputs["Subsurface Scale"].default_value = 0.004
    if mat.sheen > 0:
        bsdf.inputs["Sheen Weight"].default_value = float(mat.sheen)
        bsdf.inputs["Sheen Roughness"].default_value = 0.5
    if mat.image:
        tex = n.add("ShaderNodeTexImage")
        tex.name = _IMAGE_NODE
        tex.image = load_image(mat.image)
        tex.interpolation = "Linear"
        uvmap = n.add("ShaderNodeUVMap")
        uvmap.uv_map = "uv"
        n.link(uvmap.outputs["UV"], tex.inputs["Vector"])
        tint = n.add("ShaderNodeMix")
        tint.name = _TINT_NODE
        tint.data_type = "RGBA"
        tint.blend_type = "MULTIPLY"
        tint.inputs["Factor"].default_value = 1.0
        n.link(tex.outputs["Color"], tint.inputs["A"])
        tint.inputs["B"].default_value = (*base, 1.0)
        n.link(tint.outputs["Result"], bsdf.inputs["Base Color"])
        if mat.emission_strength > 0:  # a lit lamp glows where its texture is bright (the lamp's own picture)
            glow = n.add("ShaderNodeMix")
            glow.data_type = "RGBA"
            glow.blend_type = "MULTIPLY"
            glow.inputs["Factor"].default_value = 1.0
            n.link(tex.outputs["Color"], glow.inputs["A"])
            glow.inputs["B"].default_value = (*mat.emission_color, 1.0)
            n.link(glow.outputs["Result"], bsdf.inputs["Emission Color"])
        if mat.alpha_cutout:
            # a binary cut-out (alpha >= 0.5 is there): the label passes use the same 0.5 threshold
            cut = n.math("GREATER_THAN", tex.outputs["Alpha"], 0.5)
            n.link(cut, bsdf.inputs["Alpha"])
    if mat.texture == "sign":
        n.link(_sign_colour(n, mat, base), bsdf.inputs["Base Color"])
    elif mat.texture != "none":
        f = texture_factor(n, mat.texture, mat.texture_scale, mat.texture_coords, mat.texture_seed, mat.wear)
        if mat.texture == "asphalt":
            f = n.math("MULTIPLY", f, asphalt_wear(n, mat.wear, 1.0, mat.texture_seed))
        col = n.add("ShaderNodeVectorMath")
        col.name = _BASE_NODE
        col.operation = "SCALE"
        col.inputs[0].default_value = tuple(base)
        if mat.image:  # the image (already times the base colour) times the texture
            n.link(tint.outputs["Result"], col.inputs[0])
        n.link(f, col.inputs["Scale"])
        n.link(col.outputs[0], bsdf.inputs["Base Color"])
        if mat.texture in UV_KINDS and mat.texture != "skin":  # cloth and hair: weave, folds, strands in relief
            bump = n.add("ShaderNodeBump", Strength=0.35, Distance=0.002)
            n.link(f, bump.inputs["Height"])
            n.link(bump.outputs["Normal"], bsdf.inputs["Normal"])
    rough = roughness_field(n, mat, weather, wet_surface)
    if isinstance(rough, float):
        bsdf.inputs["Roughness"].default_value = rough
    else:
        n.link(rough, bsdf.inputs["Roughness"])
    return bm


def roughness_field(n: Nodes, mat: Material, weather: Weather, wet_surface: bool):
    """The principled roughness of ``mat`` under ``weather``: a float, or a float socket where procedural
    puddles vary it (:func:`simgen.world.surfaces.procedural_puddles`: where a large-scale noise in object
    coordinates exceeds a threshold set by the coverage, the surface is a mirror-smooth water film). Built by the
    picture's material and by the reflection-label material alike, so both see the same field."""
    rough = weathered(mat, weather, wet_surface)[1]
    if not procedural_puddles(weather, wet_surface):
        return rough
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
    mix.inputs["B"].default_value = PUDDLE_FILM_ROUGHNESS
    return mix.outputs["Result"]
