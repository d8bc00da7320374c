"""The environment: sky and sun, and the bounded fog volume."""

from __future__ import annotations

import math

import bpy
import numpy as np

from simgen.render.meshes import new_mesh
from simgen.render.nodes import Nodes
from simgen.world.model import Lighting, World

_SKY_TYPES = {
    "multiple_scattering": "MULTIPLE_SCATTERING",
    "single_scattering": "SINGLE_SCATTERING",
    "preetham": "PREETHAM",
    "hosek_wilkie": "HOSEK_WILKIE",
}
#: the physical sky models are ~10x brighter than a sun lamp of a few W/m²: sky_strength 1 = this factor,
#: which balances them so that exposure 0 gives a well exposed street with the Standard view transform
PHYSICAL_SKY_SCALE = 0.1


def sun_and_sky(scene, lighting: Lighting, light_coll) -> None:
    world = bpy.data.worlds.new("sky")
    scene.world = world
    n = Nodes(world.node_tree)
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


def fog_box(world: World, weather_coll) -> None:
    lo, hi = _world_bounds(world)
    v = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
    faces = np.array([[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]])
    me = new_mesh("fog", v, faces, np.zeros(6, np.int64))
    bm = bpy.data.materials.new("fog")
    n = Nodes(bm.node_tree)
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
