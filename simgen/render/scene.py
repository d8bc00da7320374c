"""Building the Blender scene of a :class:`~simgen.world.model.World`: objects, keyframes, cameras, lights,
render settings and view layers (one factory reset per world)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Matrix

from simgen.render.device import DeviceChoice, apply_device, select_device
from simgen.render.environment import fog_box, sun_and_sky
from simgen.render.lens import check_custom_camera_device, setup_camera_data
from simgen.render.materials import WET_CLASSES, material_like, principled_material, template_key
from simgen.render.meshes import MESH_LIBRARY, MeshLibrary, new_mesh, thicken_open_glass
from simgen.render.nodes import PIXEL_ANGLE_NODE
from simgen.render.settings import RenderSettings, blender_look
from simgen.world.conventions import opencv_camera_to_blender
from simgen.world.model import World

_VIEW_TRANSFORMS = {"standard": "Standard", "filmic": "Filmic", "agx": "AgX"}

LAYER_BEAUTY, LAYER_LABELS, LAYER_REFLECTION = "beauty", "labels", "reflection"
WEATHER, LIGHTS = "weather", "lights"


@dataclass
class BuiltScene:
    """Handles to what :func:`build_scene` made (Blender objects by role) and how long it took (seconds)."""

    scene: object
    objects: list  # one per World.entities, same order
    cameras: list  # one per World.cameras
    lights: list
    device: DeviceChoice
    build_seconds: float



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



def _set_pixel_angle(world: World, settings: RenderSettings, materials) -> None:
    """Give the textures the cameras' finest pixel angle (radians per pixel at the image centre), with which they
    fade detail smaller than a pixel (simgen.render.nodes.PIXEL_ANGLE_NODE)."""
    if not world.cameras:
        return
    angle = min(2.0 * math.tan(min(float(c.hfov_rad), math.radians(170.0)) / 2.0) / max(settings.width, 1)
                for c in world.cameras)
    for bm in materials:
        node = bm.node_tree.nodes.get(PIXEL_ANGLE_NODE) if bm.node_tree is not None else None
        if node is not None:
            node.inputs[1].default_value = angle


def _camera_object(cam_model, settings: RenderSettings, coll):
    data = bpy.data.cameras.new(cam_model.name)
    if cam_model.lens is not None:
        setup_camera_data(data, cam_model.lens)
    else:
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
    r.use_motion_blur = False  # a blurred render has an all-zero Vector pass: switched on for the beauty only
    r.motion_blur_position = "CENTER"  # labels are defined at the frame time = the shutter centre
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
    c.use_adaptive_sampling = settings.adaptive_threshold > 0
    if c.use_adaptive_sampling:
        c.adaptive_threshold = float(settings.adaptive_threshold)
    c.use_auto_tile = True
    c.tile_size = int(settings.tile_size)
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
    scene.view_settings.look = blender_look(settings.view_transform, settings.look)
    scene.view_settings.exposure = float(world.lighting.exposure + settings.exposure)
    scene.view_settings.gamma = float(settings.gamma)
    choice = select_device(settings.device, settings.gpu_index)
    apply_device(choice, scene)
    return choice


def _view_layers(scene, passes: set[str]) -> None:
    beauty = scene.view_layers[0]
    beauty.name = LAYER_BEAUTY
    labels = scene.view_layers.new(LAYER_LABELS)
    labels.samples = 1
    labels.cycles.use_denoising = False
    labels.use_pass_z = labels.use_pass_object_index = labels.use_pass_position = True
    labels.use_pass_vector = labels.use_pass_normal = True
    labels.layer_collection.children[WEATHER].exclude = True
    layers = [beauty, labels]
    if "reflection" in passes:
        refl = scene.view_layers.new(LAYER_REFLECTION)
        refl.samples = 1
        refl.cycles.use_denoising = False
        refl.layer_collection.children[WEATHER].exclude = True
        refl.layer_collection.children[LIGHTS].exclude = True
        layers.append(refl)
    for layer in layers:
        layer.use_pass_combined = True


def build_scene(world: World, settings: RenderSettings) -> BuiltScene:
    """Factory-reset Blender and build ``world`` in it (meshes, materials, keyframes, sky, device, passes)."""
    t0 = time.perf_counter()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    device = _configure(scene, world, settings)
    check_custom_camera_device(world, device)
    root = scene.collection
    main = bpy.data.collections.new("world")
    weather_coll = bpy.data.collections.new(WEATHER)
    light_coll = bpy.data.collections.new(LIGHTS)
    for coll in (main, weather_coll, light_coll):
        root.children.link(coll)

    cache: dict[tuple, object] = {}
    templates: dict[str, object] = {}
    #: rigid entities that share one simgen Mesh (catalog assets) share one Blender mesh; their materials are
    #: object-linked slots, so every instance keeps its own paint. Catalog meshes (keyed) come from the
    #: process's mesh library when an earlier build made them.
    meshes: dict[tuple, object] = {}
    glass_of = [{i for i, m in enumerate(ent.materials) if m.transmission > 0} for ent in world.entities]
    lib_keys = [MeshLibrary.key(ent.mesh, g, len(ent.materials)) if ent.vertex_frames is None else None
                for ent, g in zip(world.entities, glass_of)]
    kept = MESH_LIBRARY.load(k for k in lib_keys if k is not None)
    built_keyed: dict[tuple, object] = {}
    objects = []
    for key, (ent, glass, lib_key) in enumerate(zip(world.entities, glass_of, lib_keys), start=1):
        wet = ent.class_name in WET_CLASSES
        bmats = []
        for m in ent.materials:
            ck = (repr(m), wet)  # equal materials share one Blender material (a crowd's clothes)
            if ck not in cache:
                tk = template_key(m, wet)
                if tk is not None and tk in templates:  # differs only in colour and seed: a copy
                    cache[ck] = material_like(templates[tk], m.name, m, world.weather, wet)
                else:
                    cache[ck] = principled_material(m.name, m, world.weather, wet)
                    if tk is not None:
                        templates[tk] = cache[ck]
            bmats.append(cache[ck])
        shareable = ent.vertex_frames is None
        mk = (id(ent.mesh), frozenset(glass), len(bmats))
        me = meshes.get(mk) if shareable else None
        if me is None and lib_key is not None:
            me = kept.get(lib_key) or built_keyed.get(lib_key)
        if me is None:
            verts, polys, fmat = thicken_open_glass(ent.mesh, glass) if glass else (
                ent.mesh.vertices, ent.mesh.faces, ent.mesh.face_material)
            me = new_mesh(ent.name, verts, polys, fmat, ent.mesh.uv, ent.mesh.smooth)
            for bm in bmats:
                # a kept mesh has empty slots: its materials are the objects' (and not written with it)
                me.materials.append(None if lib_key is not None else bm)
            if lib_key is not None:
                built_keyed[lib_key] = me
        if shareable:
            meshes[mk] = me
        obj = bpy.data.objects.new(ent.name, me)
        if shareable:
            for i, bm in enumerate(bmats):
                slot = obj.material_slots[i]
                slot.link = "OBJECT"
                slot.material = bm
        obj.pass_index = key  # label_key >= 1: index 0 is the sky
        (main if ent.label_visible else weather_coll).objects.link(obj)
        _keyframe(obj, ent.poses)
        if ent.vertex_frames is not None and not glass:
            _shape_key_frames(obj, ent.vertex_frames)
        objects.append(obj)
    MESH_LIBRARY.keep(built_keyed)

    cameras = [_camera_object(c, settings, main) for c in world.cameras]
    _set_pixel_angle(world, settings, cache.values())
    lights = [_light_object(lt, light_coll) for lt in world.lights]
    sun_and_sky(scene, world.lighting, light_coll)
    if world.weather.fog_density > 0:
        fog_box(world, weather_coll)
    _view_layers(scene, settings.passes)
    if cameras:
        scene.camera = cameras[0]
    return BuiltScene(scene, objects, cameras, lights, device, time.perf_counter() - t0)
