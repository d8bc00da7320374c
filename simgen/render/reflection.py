"""The reflection-label renders: temporary materials that make people emit their label key (or 1) and turn
reflective surfaces into exact mirrors / clear glass (see :mod:`simgen.render.blender` for the render order)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy
import numpy as np

from simgen.classes import class_table
from simgen.render.materials import WET_CLASSES, roughness_field
from simgen.render.nodes import Nodes
from simgen.world.model import Material, Weather, World
from simgen.world.surfaces import REFLECTION_MAX_ROUGHNESS, reflects, reflects_in_puddles

if TYPE_CHECKING:
    from simgen.render.scene import BuiltScene

#: classes whose pixels, reflections and see-through views the reflection render labels (class table fact)
REFLECTION_TARGET_CLASSES = class_table().with_fact("reflection_target")


def _reflection_material(role: str, ior: float = 1.45, strength: bool = False, model: tuple = (),
                         field: tuple | None = None):
    """A stand-alone material holding the reflection-label shader of ``role`` (see :func:`_reflection_shader`).

    field: for role ``"puddle_mirror"``, (material, weather) whose roughness field (procedural puddles) decides
    where the surface is a mirror: where the field is at most :data:`REFLECTION_MAX_ROUGHNESS`."""
    bm = bpy.data.materials.new(f"_reflection_{role}_{ior:g}_{'s' if strength else 'k'}_{model}")
    n = Nodes(bm.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    if role == "puddle_mirror":
        mat, weather = field
        rough = roughness_field(n, mat, weather, True)
        mix = n.add("ShaderNodeMixShader")
        # factor 1 (mirror) where the picture's roughness is at most the threshold, else 0 (black)
        n.link(n.math("LESS_THAN", rough, REFLECTION_MAX_ROUGHNESS + 1e-6), mix.inputs["Fac"])
        n.link(_reflection_shader(n, "black"), mix.inputs[1])
        n.link(_reflection_shader(n, "mirror", ior, strength, model), mix.inputs[2])
        sh = mix.outputs[0]
    else:
        sh = _reflection_shader(n, role, ior, strength, model)
    n.link(sh, out.inputs["Surface"])
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


class ReflectionMaterials:
    """Context: every entity's materials become reflection-label materials and the world goes; restored after.

    Done once per world (a material or world change makes Cycles re-sync shaders and the sky)."""

    def __init__(self, built: BuiltScene, world: World, glass_mode: str = "clear", strength: bool = False):
        self.built, self.world, self.glass_mode, self.strength = built, world, glass_mode, strength
        self.cache: dict[tuple, object] = {}

    def _label(self, role: str, mat: Material):
        ior = float(mat.ior) if role == "clear" else 0.0
        model = reflectance_model(mat) if self.strength and role in ("mirror", "clear", "puddle_mirror") else ()
        field = (mat, self.world.weather) if role == "puddle_mirror" else None
        key = (role, ior, model, repr(mat) if field else "")
        if key not in self.cache:
            self.cache[key] = _reflection_material(role, ior or 1.45, self.strength, model, field)
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
            # material slots, not mesh materials: objects sharing a mesh carry their own (object-linked) slots
            slots = obj.material_slots
            self.saved.append([s.material for s in slots])
            for i, m in enumerate(ent.materials):
                slots[i].material = self._label(
                    reflection_role(ent.class_name, m, self.glass_mode, self.world.weather), m)
        return self

    def __exit__(self, *exc):
        self.built.scene.world = self.saved_world
        for k, v in self.saved_cycles.items():
            setattr(self.built.scene.cycles, k, v)
        for obj, mats in zip(self.built.objects, self.saved):
            for i, bm in enumerate(mats):
                obj.material_slots[i].material = bm
        return False


def _reflection_shader(n: Nodes, role: str, ior: float = 1.45, strength: bool = False, model: tuple = ()):
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


def _reflectance(n: Nodes, model: tuple):
    """A float socket: the reflectance of ``model`` for the current ray (Fresnel node: shading normal, ray)."""
    if model[0] == "metal":
        return n.math("ADD", 0.0, float(model[1]))
    fresnel = n.add("ShaderNodeFresnel", IOR=float(model[1]))
    return n.math("MULTIPLY", fresnel.outputs["Fac"], float(model[2]))


def reflection_role(class_name: str, mat: Material, glass_mode: str = "clear", weather: Weather | None = None) -> str:
    """How a surface behaves in the reflection-label render: ``"target"`` (a person), ``"mirror"``, ``"clear"``
    (glass seen through), ``"puddle_mirror"`` (a mirror only inside procedural puddles) or ``"black"``.

    A surface is a mirror where :func:`simgen.world.surfaces.reflects` says so: ``reflective`` materials, and
    any whose roughness under ``weather`` (wet classes get smoother) is at most
    :data:`~simgen.world.surfaces.REFLECTION_MAX_ROUGHNESS` — wet asphalt and road paint included.
    glass_mode: what reflecting glass is in this render, ``"clear"`` or ``"mirror"``."""
    if class_name in REFLECTION_TARGET_CLASSES:
        return "target"
    wet = class_name in WET_CLASSES
    if mat.transmission >= 0.5:
        return "mirror" if glass_mode == "mirror" and reflects(mat, weather, wet) else "clear"
    if reflects(mat, weather, wet):
        return "mirror"
    if reflects_in_puddles(mat, weather, wet):
        return "puddle_mirror"
    return "black"


def reflection_glass_modes(world: World) -> list[str]:
    """The reflection renders a world needs: ``["clear"]``, plus ``"mirror"`` when it has glass that reflects."""
    reflective_glass = any(m.transmission >= 0.5 and reflects(m, world.weather, e.class_name in WET_CLASSES)
                           for e in world.entities if e.label_visible for m in e.materials)
    return ["clear", "mirror"] if reflective_glass else ["clear"]
