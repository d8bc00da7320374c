"""How weather changes a surface, and which surfaces are mirrors for the reflection labels (no bpy).

The renderer's materials (:mod:`simgen.render.materials`) and its reflection-label materials
(:mod:`simgen.render.reflection`) both take a surface's colour and roughness from here, so the labels are
computed from the very roughness the picture is rendered with.

Roughness is Blender's principled ``Roughness`` (0 = perfect mirror, 1 = fully diffuse; the GGX width is its
square). A surface counts as a **reflector** for the labels where the roughness of its sharpest specular layer
is at most :data:`REFLECTION_MAX_ROUGHNESS`, or when its material says ``reflective`` (glass, water, car
paint: always a mirror). A reflector is a perfect mirror in the label renders: a pixel on it is a reflection of
the person its mirrored pixel-centre ray meets, however blurred the picture shows it.
"""

from __future__ import annotations

import numpy as np

from simgen.world.model import Material, Weather

#: Roughness (principled, 0..1) up to which a surface is a mirror in the reflection labels. At 0.3 the GGX
#: width is 0.09: the glossy lobe is about ±5° wide, so a person 1.7 m tall up to ~20 m away (≥ 5° tall) is
#: still a recognisable figure in the reflection, not a smear. Wet asphalt (0.9 dry) reaches it at wetness 0.78;
#: a soaked road (wetness 1) is at 0.135, wet road paint at 0.09. Puddles (0.02), shop and car glass (≤ 0.15),
#: the clear coat of car paint (0.03), glass curtain walls (0.06) and chrome (0.12) are all below it.
REFLECTION_MAX_ROUGHNESS = 0.3

#: roughness of the water film of procedural puddles (the renderer's noise puddles, worlds without puddle
#: entities only)
PUDDLE_FILM_ROUGHNESS = 0.02


def weathered(mat: Material, weather: Weather | None, wet_surface: bool) -> tuple[np.ndarray, float]:
    """(base colour (3,) float64 linear RGB, roughness 0..1) of ``mat`` under ``weather``.

    wet_surface: the surface's class gets wet (class-table fact ``wets``). Snow (0..1) whitens and roughens it;
    wetness w (0..1) darkens the base colour by 45 %·w and scales roughness by (1 − 0.85·w). Procedural puddles
    (:func:`procedural_puddles`) lower the roughness further where they lie: that part is a field, not a number.
    """
    base = np.asarray(mat.base_color, float)
    rough = float(mat.roughness)
    if weather is not None and wet_surface and weather.snow > 0:
        s = float(np.clip(weather.snow, 0.0, 1.0))
        base = base * (1.0 - s) + 0.85 * s
        rough = rough * (1.0 - s) + 0.9 * s
    elif weather is not None and wet_surface and weather.wetness > 0:
        w = float(np.clip(weather.wetness, 0.0, 1.0))
        base = base * (1.0 - 0.45 * w)
        rough = rough * (1.0 - 0.85 * w)
    return base, rough


def procedural_puddles(weather: Weather | None, wet_surface: bool) -> bool:
    """True when the renderer adds noise puddles to this surface (wet classes, coverage > 0, and the world
    has no puddle entities of its own). Their roughness field is built once, by
    :func:`simgen.render.materials.roughness_field`, for the picture and the labels alike."""
    return bool(weather is not None and wet_surface and weather.puddle_coverage > 0 and not weather.puddle_entities)


def specular_roughness(mat: Material, weather: Weather | None, wet_surface: bool) -> float:
    """Roughness of the sharpest specular layer of ``mat`` (outside procedural puddles): its weathered
    roughness, or the clear coat's when it has one and it is smoother."""
    rough = weathered(mat, weather, wet_surface)[1]
    if mat.coat > 0:
        rough = min(rough, float(mat.coat_roughness))
    return rough


def reflects(mat: Material, weather: Weather | None, wet_surface: bool) -> bool:
    """Whether ``mat`` is a mirror everywhere in the reflection labels: ``reflective``, or its specular
    roughness is at most :data:`REFLECTION_MAX_ROUGHNESS`. (A rougher wet surface with procedural puddles is a
    mirror only inside them: :func:`reflects_in_puddles`.)"""
    return bool(mat.reflective or specular_roughness(mat, weather, wet_surface) <= REFLECTION_MAX_ROUGHNESS)


def reflects_in_puddles(mat: Material, weather: Weather | None, wet_surface: bool) -> bool:
    """Whether ``mat`` is a mirror only where procedural puddles make it smooth enough (see :func:`reflects`)."""
    return (not reflects(mat, weather, wet_surface) and procedural_puddles(weather, wet_surface)
            and PUDDLE_FILM_ROUGHNESS <= REFLECTION_MAX_ROUGHNESS)
