"""Surface materials: a principled node tree per simgen :class:`~simgen.world.model.Material`, with wet and
snowy variants for the classes that get wet."""

from __future__ import annotations

import bpy
import numpy as np

from simgen.classes import class_table
from simgen.render.nodes import Nodes, texture_factor
from simgen.world.model import Material, Weather

#: surfaces that get wet (lower roughness, darker) and carry puddles, or turn white under snow (class table fact)
WET_CLASSES = class_table().with_fact("wets")


def load_image(path: str):
    """The Blender image of ``path`` (loaded once per file; colour data in sRGB as stored)."""
    key = str(path)
    for img in bpy.data.images:
        if img.filepath == key:
            return img
    return bpy.data.images.load(key, check_existing=True)


def principled_material(name: str, mat: Material, weather: Weather, wet_surface: bool):
    """A principled node tree for ``mat`` (wet/snowy when ``wet_surface`` and the weather says so)."""
    bm = bpy.data.materials.new(name)
    n = Nodes(bm.node_tree)
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
    if mat.subsurface > 0:  # skin: millimetres of scattering, deepest in red
        bsdf.inputs["Subsurface Weight"].default_value = float(mat.subsurface)
        bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
        bsdf.inputs["Subsurface Scale"].default_value = 0.004
    if mat.sheen > 0:
        bsdf.inputs["Sheen Weight"].default_value = float(mat.sheen)
        bsdf.inputs["Sheen Roughness"].default_value = 0.5
    if mat.image:
        tex = n.add("ShaderNodeTexImage")
        tex.image = load_image(mat.image)
        tex.interpolation = "Linear"
        uvmap = n.add("ShaderNodeUVMap")
        uvmap.uv_map = "uv"
        n.link(uvmap.outputs["UV"], tex.inputs["Vector"])
        tint = n.add("ShaderNodeMix")
        tint.data_type = "RGBA"
        tint.blend_type = "MULTIPLY"
        tint.inputs["Factor"].default_value = 1.0
        n.link(tex.outputs["Color"], tint.inputs["A"])
        tint.inputs["B"].default_value = (*base, 1.0)
        n.link(tint.outputs["Result"], bsdf.inputs["Base Color"])
        if mat.alpha_cutout:
            # a binary cut-out (alpha >= 0.5 is there): the label passes use the same 0.5 threshold
            cut = n.math("GREATER_THAN", tex.outputs["Alpha"], 0.5)
            n.link(cut, bsdf.inputs["Alpha"])
    if mat.texture != "none":
        f = texture_factor(n, mat.texture, mat.texture_scale)
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
