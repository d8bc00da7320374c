"""The environment: sky and sun, and the bounded fog volume."""

from __future__ import annotations

import math
import os

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


def environment_map_path(name: str) -> str:
    """The file of one of Blender's bundled CC0 image-lighting maps (datafiles/studiolights/world/<name>.exr)."""
    path = os.path.join(bpy.utils.system_resource("DATAFILES"), "studiolights", "world", f"{name}.exr")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"lighting.environment_map: no bundled map '{name}' ({path})")
    return path


def _overcast_dome(n: Nodes, sky_colour, cover: float):
    """The sky colour that lights the scene (diffuse rays) under ``cover`` (0..1): the cloudless sky mixed towards
    the grey-white of the clouds by the share of sky they hide (their mean density in :func:`_clouds`), without
    the cloud noise. An overcast day is lit by a grey dome, not by the blue sky above the clouds, so neutral
    surfaces stay neutral. Returns a colour socket."""
    lum = n.add("ShaderNodeRGBToBW")
    n.link(sky_colour, lum.inputs[0])
    grey = n.add("ShaderNodeCombineColor")
    for i, k in enumerate((0.97, 0.98, 1.0)):  # the clouds' tint and mean brightness (1.1 x the sky's)
        n.link(n.math("MULTIPLY", lum.outputs[0], 1.1 * k), grey.inputs[i])
    mix = n.add("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.inputs["Factor"].default_value = float(cover * (0.55 + 0.45 * cover))
    n.link(sky_colour, mix.inputs["A"])
    n.link(grey.outputs[0], mix.inputs["B"])
    return mix.outputs["Result"]


def _clouds(n: Nodes, sky_colour, cover: float):
    """The sky colour with procedural clouds: fBm noise on a cloud layer (ray direction projected onto a plane
    above the camera), thresholded so that ``cover`` (0..1) of the sky is cloud; clouds are grey-white versions
    of the local sky brightness with darker bases, and thin out towards the horizon. Returns a colour socket."""
    coords = n.add("ShaderNodeTexCoord").outputs["Generated"]  # world: the ray direction
    sep = n.add("ShaderNodeSeparateXYZ")
    n.link(coords, sep.inputs[0])
    z = n.math("MAXIMUM", sep.outputs["Z"], 0.03)
    comb = n.add("ShaderNodeCombineXYZ")
    n.link(n.math("DIVIDE", sep.outputs["X"], z), comb.inputs[0])
    n.link(n.math("DIVIDE", sep.outputs["Y"], z), comb.inputs[1])
    shape = n.add("ShaderNodeTexNoise", Scale=0.9, Detail=7.0, Roughness=0.58, Lacunarity=2.1)
    n.link(comb.outputs[0], shape.inputs["Vector"])
    base = n.add("ShaderNodeTexNoise", Scale=2.5, Detail=4.0)
    n.link(comb.outputs[0], base.inputs["Vector"])
    t = 0.68 - 0.38 * cover  # noise Fac is ~N(0.5, 0.1): the threshold that leaves ``cover`` of the sky
    dens = n.add("ShaderNodeMapRange", **{"From Min": t - 0.04, "From Max": t + 0.1})
    dens.interpolation_type = "SMOOTHSTEP"
    n.link(shape.outputs["Fac"], dens.inputs["Value"])
    horizon = n.add("ShaderNodeMapRange", **{"From Min": 0.02, "From Max": 0.12})
    n.link(sep.outputs["Z"], horizon.inputs["Value"])
    d = n.math("MULTIPLY", dens.outputs[0], horizon.outputs[0])
    d = n.math("MINIMUM", n.math("MULTIPLY", d, 0.55 + 0.45 * cover), 1.0)
    lum = n.add("ShaderNodeRGBToBW")
    n.link(sky_colour, lum.inputs[0])
    shade = n.math("MULTIPLY_ADD", base.outputs["Fac"], 0.9)
    shade.node.inputs[2].default_value = 0.75 - 0.45 * cover  # overcast: darker, greyer bases
    bright = n.math("MULTIPLY", lum.outputs[0], shade)
    bright = n.math("MULTIPLY", bright, 1.5)
    cloud = n.add("ShaderNodeCombineColor")
    for i, k in enumerate((0.97, 0.98, 1.0)):
        n.link(n.math("MULTIPLY", bright, k), cloud.inputs[i])
    mix = n.add("ShaderNodeMix")
    mix.data_type = "RGBA"
    n.link(d, mix.inputs["Factor"])
    n.link(sky_colour, mix.inputs["A"])
    n.link(cloud.outputs[0], mix.inputs["B"])
    return mix.outputs["Result"]


def sun_and_sky(scene, lighting: Lighting, light_coll) -> None:
    """The world shader (physical or uniform sky with clouds; night sky; optional environment-map light) and
    the sun lamp. Clouds are seen by camera and glossy rays; diffuse light comes from the cloudless sky (the sun
    is dimmed and softened by the cover instead, and the dome turns grey as the clouds hide the blue), which keeps
    the cloud noise off most shading points."""
    world = bpy.data.worlds.new("sky")
    scene.world = world
    n = Nodes(world.node_tree)
    out = n.add("ShaderNodeOutputWorld")
    bg = n.add("ShaderNodeBackground", Strength=float(lighting.sky_strength))
    surface = bg.outputs[0]
    e, a = float(lighting.sun_elevation_rad), float(lighting.sun_azimuth_rad)
    clouds = float(np.clip(lighting.cloud_cover, 0.0, 1.0))
    sky_col = None
    if lighting.night:
        bg.inputs["Color"].default_value = (0.002, 0.003, 0.008, 1.0)
    elif lighting.sky_model == "uniform":
        rgb = n.add("ShaderNodeRGB")
        rgb.outputs[0].default_value = (0.45, 0.6, 0.85, 1.0)
        sky_col = rgb.outputs[0]
    else:
        sky = n.add("ShaderNodeTexSky")
        sky.sky_type = _SKY_TYPES[lighting.sky_model]
        if hasattr(sky, "sun_disc"):
            sky.sun_disc = False  # the sun lamp below is the sun: disc or lamp, not both
        sky.sun_elevation = e
        sky.sun_rotation = a
        if sky.sky_type in ("PREETHAM", "HOSEK_WILKIE"):
            sky.sun_direction = (math.cos(e) * math.sin(a), math.cos(e) * math.cos(a), math.sin(e))
        sky_col = sky.outputs[0]
        bg.inputs["Strength"].default_value = float(lighting.sky_strength) * PHYSICAL_SKY_SCALE
    if sky_col is not None:
        n.link(_overcast_dome(n, sky_col, clouds) if clouds > 0 else sky_col, bg.inputs["Color"])
        if clouds > 0:
            cloudy = n.add("ShaderNodeBackground", Strength=bg.inputs["Strength"].default_value)
            n.link(_clouds(n, sky_col, clouds), cloudy.inputs["Color"])
            lp = n.add("ShaderNodeLightPath")
            seen = n.math("MAXIMUM", lp.outputs["Is Camera Ray"], lp.outputs["Is Glossy Ray"])
            mix = n.add("ShaderNodeMixShader")
            n.link(seen, mix.inputs["Fac"])
            n.link(bg.outputs[0], mix.inputs[1])
            n.link(cloudy.outputs[0], mix.inputs[2])
            surface = mix.outputs[0]
    env_name = getattr(lighting, "environment_map", "none")
    if env_name and env_name != "none":
        # image lighting: every ray but camera rays sees the map; the camera sees the procedural sky
        env = n.add("ShaderNodeTexEnvironment")
        env.image = bpy.data.images.load(environment_map_path(env_name), check_existing=True)
        rot = n.add("ShaderNodeMapping")
        rot.inputs["Rotation"].default_value = (0.0, 0.0, -float(lighting.sun_azimuth_rad))
        n.link(n.add("ShaderNodeTexCoord").outputs["Generated"], rot.inputs["Vector"])
        n.link(rot.outputs[0], env.inputs["Vector"])
        env_bg = n.add("ShaderNodeBackground", Strength=float(lighting.environment_strength))
        n.link(env.outputs["Color"], env_bg.inputs["Color"])
        mix = n.add("ShaderNodeMixShader")
        n.link(n.add("ShaderNodeLightPath").outputs["Is Camera Ray"], mix.inputs["Fac"])
        n.link(env_bg.outputs[0], mix.inputs[1])
        n.link(surface, mix.inputs[2])
        surface = mix.outputs[0]
    n.link(surface, out.inputs["Surface"])
    if lighting.night:
        return
    sun_data = bpy.data.lights.new("sun", "SUN")
    # the sun lamp fades out as the sun sets (no light from below the horizon at dusk)
    horizon = float(np.clip(e / math.radians(2.0), 0.0, 1.0))
    sun_data.energy = float(lighting.sun_strength) * (1.0 - 0.8 * clouds) * horizon
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


def fog_extent(world: World) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) corners (3,) of the fog box: the scene's bounds, its top at ``weather.fog_height_m`` above the
    road (z = 0) when that is given (a ground fog with clear air above)."""
    lo, hi = _world_bounds(world)
    if world.weather.fog_height_m is not None:
        hi = hi.copy()
        hi[2] = max(float(world.weather.fog_height_m), lo[2] + 0.05)
    return lo, hi


def fog_box(world: World, weather_coll) -> None:
    lo, hi = fog_extent(world)
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
