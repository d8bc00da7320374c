"""Traffic lights with signal timing: where they stand, their state at every frame, and lamps lit to match.

The state at time t (s after frame 0) follows the cycle green -> amber -> red -> red_amber (when its duration is
> 0) -> green, beginning with ``timing.start`` at time ``-timing.offset_s``. Lamps (the procedural head of
:func:`simgen.world.assets.make_asset`): ``lamp_0`` red (top), ``lamp_1`` amber, ``lamp_2`` green (bottom), on the
head's +x face. Lit lamps emit :data:`LIT_STRENGTH`, dark ones nothing; the emission is keyed per frame
(:attr:`simgen.world.model.Material.emission_frames`) and the state is a per-frame label of the instance
(``attributes.per_frame.traffic_light_state``, written as ``attributes.traffic_light_state`` in each frame's
labels).
"""

from __future__ import annotations

import math

import numpy as np

from simgen.errors import SimgenError
from simgen.world.model import Material, Mesh

STATES = ("green", "amber", "red", "red_amber")
#: which lamps (0 red, 1 amber, 2 green) each state lights
LIT_LAMPS = {"green": (2,), "amber": (1,), "red": (0,), "red_amber": (0, 1)}
#: emission strength of a lit lamp (renderer units, as Material.emission_strength)
LIT_STRENGTH = 12.0
#: how far the light stands before the stop line / the junction's edge (m)
SETBACK_M = 1.0


class TrafficLightError(SimgenError):
    """A traffic light cannot stand where the scene asks."""


def states_at(timing, times: np.ndarray) -> list[str]:
    """The state at each of ``times`` (T,) seconds (see the module docstring). ``timing``: an object with
    green_s, amber_s, red_s, red_amber_s, start, offset_s."""
    order = [("green", timing.green_s), ("amber", timing.amber_s), ("red", timing.red_s)]
    if timing.red_amber_s > 0:
        order.append(("red_amber", timing.red_amber_s))
    names = [n for n, _ in order]
    if timing.start not in names:
        raise TrafficLightError(f"timing.start '{timing.start}' is not in the cycle ({', '.join(names)})")
    k = names.index(timing.start)
    order = order[k:] + order[:k]
    bounds = np.cumsum([d for _, d in order])
    cycle = float(bounds[-1])
    out = []
    for t in np.asarray(times, float):
        tau = (t + float(timing.offset_s)) % cycle
        out.append(order[int(np.searchsorted(bounds, tau, side="right"))][0])
    return out


def lamp_emission(states: list[str]) -> dict[int, tuple[float, ...]]:
    """lamp index (0 red, 1 amber, 2 green) -> per-frame emission strengths."""
    return {k: tuple(LIT_STRENGTH if k in LIT_LAMPS[s] else 0.0 for s in states) for k in range(3)}


def light_pose_xy(light, layout) -> tuple[float, float, float]:
    """(x, y, yaw rad) of a light's pole: on the kerb side of the sidewalk, before the stop line of the traffic it
    controls, facing that traffic (the lamps on the head's +x face look at the approaching vehicles)."""
    p = layout.params
    if p.sidewalk_width < 0.6:
        raise TrafficLightError(f"road.traffic_lights.{light.name}: needs a sidewalk (road.sidewalk_width_m >= 0.6)")
    sign = -1.0 if light.controls == "ego_direction" else 1.0  # -1: along +x, standing on the right
    if light.at == "junction":
        if p.junction_x is None or p.layout == "straight":
            raise TrafficLightError(f"road.traffic_lights.{light.name}: at: junction needs a junction layout "
                                    "(road.layout: t_junction or intersection_4way)")
        edge = p.junction_x + sign * (p.half_width + SETBACK_M)
    elif light.at == "crosswalk":
        if not p.crosswalks:
            raise TrafficLightError(f"road.traffic_lights.{light.name}: at: crosswalk needs road.crosswalks")
        x, extent, _ = p.crosswalks[0]
        edge = x + sign * (extent / 2 + SETBACK_M)
    else:
        edge = float(light.x_m)
    if not (0.0 < edge < p.length):
        raise TrafficLightError(f"road.traffic_lights.{light.name}: its stop line at x = {edge:.1f} m is off the "
                                f"road (0..{p.length:g} m)")
    y = sign * (p.half_width + min(p.curb_width, p.sidewalk_width) + 0.35)
    side = "right" if sign < 0 else "left"
    if not any(r.contains(np.array([[edge, y]]))[0] for r in layout.regions_of("sidewalk", side, "main")):
        raise TrafficLightError(f"road.traffic_lights.{light.name}: no sidewalk at x = {edge:.1f} m on the {side} "
                                "(inside a junction's cross road?)")
    yaw = math.pi if sign < 0 else 0.0
    return float(edge), float(y), yaw


def lamp_centres(mesh: Mesh, materials: list[Material]) -> dict[int, np.ndarray]:
    """lamp index -> (3,) object-frame centre of its front (largest x) face."""
    out = {}
    tri = mesh.vertices[mesh.faces]
    for i, m in enumerate(materials):
        if not m.name.startswith("lamp_"):
            continue
        k = int(m.name.split("_")[1])
        sel = tri[mesh.face_material == i].reshape(-1, 3)
        front = sel[sel[:, 0] >= sel[:, 0].max() - 1e-6]
        out[k] = front.mean(0)
    return out


def lit_materials(materials: list[Material], states: list[str]) -> list[Material]:
    """The head's materials with each lamp's emission keyed per frame to ``states``."""
    em = lamp_emission(states)
    out = []
    for m in materials:
        if m.name.startswith("lamp_"):
            frames = em[int(m.name.split("_")[1])]
            m = Material(**{**m.__dict__, "emission_strength": frames[0], "emission_frames": frames})
        out.append(m)
    return out


__all__ = ["states_at", "lamp_emission", "light_pose_xy", "lamp_centres", "lit_materials", "STATES", "LIT_LAMPS",
           "LIT_STRENGTH", "TrafficLightError"]
