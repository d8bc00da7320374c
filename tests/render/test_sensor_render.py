"""The sensor model and motion blur in the Blender adapter, and every render-config field reaching Blender.

Motion blur must blur the beauty image only: the label passes (depth, ids, positions, Vector, normals) of a
blurred render are bit-identical to those of an unblurred one, so every label check made without blur holds
with it. The render-config walk changes one field at a time and shows that Blender's settings (or the output)
change.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from simgen.sensor import preset_params
from simgen.world.conventions import look_at, pose_from_xyz_yaw
from simgen.world.model import Camera, Entity, Lighting, Material, Mesh, World
from tests.labels.synth import box_mesh, quad_mesh

pytestmark = pytest.mark.blender

W, H, T = 96, 72, 2


def _quad(half: float) -> Mesh:
    return quad_mesh(half, half)


def _box(sx: float, sy: float, sz: float) -> Mesh:
    """A box standing on z = 0."""
    return box_mesh((sx, sy, sz), (0.0, 0.0, sz / 2))


def _world(sensor=None) -> World:
    """A static camera, a checkered box crossing the view fast (2 m per frame at 5 m), textured ground."""
    cam = look_at((0.0, 0.0, 1.5), (0.0, 10.0, 0.5))
    box = [pose_from_xyz_yaw(-1.5 + 2.0 * t, 5.0, 0.0, 0.0) for t in range(T)]
    ground = Entity("ground", "road", _quad(60.0), [Material("g", (0.4, 0.4, 0.4), texture="asphalt")],
                    np.stack([np.eye(4)] * T))
    car = Entity("car", "car", _box(1.2, 1.2, 1.6), [Material("c", (0.7, 0.2, 0.1), texture="checker",
                                                                 texture_scale=4.0)], np.stack(box), instance_id=7)
    return World("mb", T, 10.0, [ground, car], [Camera("cam", math.radians(70.0), np.stack([cam] * T),
                                                       sensor=sensor)], lighting=Lighting(sky_model="uniform"))


def _settings(**kw):
    from simgen.render.settings import RenderSettings

    base = dict(width=W, height=H, samples=16, device="cpu", passes={"rgb", "depth", "flow"})
    base.update(kw)
    return RenderSettings(**base)


def _render(world, settings):
    from simgen.render.blender import render_world

    return list(render_world(world, settings))


def _sharpness(rgb: np.ndarray, mask: np.ndarray) -> float:
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0))[mask].mean())


@pytest.mark.parametrize("sensor", [None, "ideal"])
def test_motion_blur_blurs_the_beauty_render_only(bpy_module, sensor):
    # half of the 0.1 s frame interval, stopped down to f/22 at ISO 25 to expose a sunlit street
    params = None if sensor is None else preset_params(sensor, exposure_mode="manual", exposure_time_s=0.05,
                                                       iso=25.0, f_number=22.0)
    world = _world(params)
    sharp = _render(world, _settings(motion_blur=False))
    blurred = _render(world, _settings(motion_blur=True))
    for a, b in zip(sharp, blurred):
        for name in ("depth", "object_index", "position", "vector", "normal"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name  # labels never blur
        assert np.abs(a.vector).max() > 1.0  # and the Vector pass is not zeroed by the blur
        car = cv2.dilate((a.object_index == 2).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert car.sum() > 100
        # the box moves 2 m per frame sideways: its checker edges smear horizontally in the blurred image
        assert _sharpness(b.rgb, car) < 0.7 * _sharpness(a.rgb, car)
        ground = (a.object_index == 1) & ~car
        assert abs(_sharpness(b.rgb, ground) - _sharpness(a.rgb, ground)) < 0.25 * _sharpness(a.rgb, ground) + 1
    if sensor is not None:
        assert blurred[0].sensor["exposure_time_s"] == pytest.approx(0.05)
        assert blurred[0].linear.dtype == np.float32 and blurred[0].linear.shape == (H, W, 3)


def test_sensor_noise_comes_after_the_denoiser(bpy_module):
    """With OIDN on, the linear beauty is smooth; the dashcam sensor at night puts noise back on top of it."""
    from simgen.gap.lowlevel import lowlevel_features, LOWLEVEL_FEATURE_NAMES

    world = _world(preset_params("cheap_dashcam", jpeg_quality=0, sharpen=0.0))
    world.lighting = Lighting(sky_model="uniform", sky_strength=2e-4, sun_strength=0.0)  # dim: high gain
    (noisy, _) = _render(world, _settings(denoiser="oidn"))
    world.cameras[0].sensor = preset_params("ideal")
    (clean, _) = _render(world, _settings(denoiser="oidn"))
    assert np.array_equal(noisy.linear, clean.linear)  # the same denoised render ...
    k = LOWLEVEL_FEATURE_NAMES.index("noise_sigma")
    n_noisy, n_clean = lowlevel_features(noisy.rgb)[k], lowlevel_features(clean.rgb)[k]
    assert noisy.sensor["gain"] > 1.5  # dim enough for analog gain
    assert n_noisy > 4 * n_clean, (n_noisy, n_clean)  # ... made noisy by the sensor


# ---- every render-config field changes Blender's settings or the output ----------------------------------------

#: fields that configure nothing in the renderer, and why
RECORDED_ONLY = {
    "name": "names the configuration (shown in logs); renders nothing",
    "rgb_format": "one allowed value (png): nothing to switch",
    "depth_format": "one allowed value (exr): nothing to switch",
    "flow_format": "one allowed value (flo): nothing to switch",
    "normal_format": "one allowed value (exr): nothing to switch",
}
#: fields the pipeline consumes (not Blender settings): checked on the output of a render below
PIPELINE_FIELDS = {"frames", "passes", "motion_blur"}
#: another value for each field that must change Blender's scene settings
OTHER = {
    "width": 64, "height": 40, "samples": 3, "adaptive_threshold": 0.05, "denoiser": "oidn", "device": "cuda",
    "threads": 1, "persistent_data": False, "seed_offset": 5, "view_transform": "filmic",
    "look": "Medium High Contrast", "exposure": 1.0, "gamma": 1.5, "tile_size": 256,
    "light_paths.max_bounces": 2, "light_paths.diffuse_bounces": 1, "light_paths.glossy_bounces": 1,
    "light_paths.transmission_bounces": 2, "light_paths.transparent_bounces": 2, "light_paths.clamp_indirect": 3.0,
}
BASE = {"width": 48, "height": 32, "samples": 2, "denoiser": "none", "device": "cpu", "view_transform": "agx",
        "passes": ["rgb", "depth", "flow", "semantic", "instance", "normal", "reflection"]}


def _snapshot(scene) -> dict:
    """Every plain property of the scene's render, Cycles, colour-management and view-layer settings."""
    structs = [("render", scene.render), ("cycles", scene.cycles), ("view", scene.view_settings),
               ("display", scene.display_settings)]
    for layer in scene.view_layers:
        structs += [(f"layer.{layer.name}", layer), (f"layer.{layer.name}.cycles", layer.cycles)]
    out = {"layers": tuple(sorted(layer.name for layer in scene.view_layers))}
    for prefix, st in structs:
        for p in st.bl_rna.properties:
            if p.type not in {"BOOLEAN", "INT", "FLOAT", "ENUM", "STRING"} or p.identifier == "rna_type":
                continue
            v = getattr(st, p.identifier)
            out[f"{prefix}.{p.identifier}"] = tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
    return out


def _leaf_fields() -> list[str]:
    from simgen.spec.render_config import LightPaths, RenderConfig

    names = [n for n in RenderConfig.model_fields if n != "light_paths"]
    return names + [f"light_paths.{n}" for n in LightPaths.model_fields]


def _config(**changes):
    from simgen.spec.render_config import RenderConfig

    data = {**BASE}
    for k, v in changes.items():
        if k.startswith("light_paths."):
            data.setdefault("light_paths", {})[k.split(".", 1)[1]] = v
        else:
            data[k] = v
    return RenderConfig.model_validate(data)


def test_every_render_config_field_is_classified():
    fields = set(_leaf_fields())
    assert fields == set(RECORDED_ONLY) | PIPELINE_FIELDS | set(OTHER), "classify the new render-config field"
    assert not set(RECORDED_ONLY) & (PIPELINE_FIELDS | set(OTHER))


@pytest.mark.parametrize("field", sorted(OTHER))
def test_render_config_field_changes_blender_settings(bpy_module, field):
    from simgen.errors import DeviceError
    from simgen.pipeline import settings_from_config
    from simgen.render.blender import build_scene

    world = _world()

    def snap(cfg):
        return _snapshot(build_scene(world, settings_from_config(cfg, seed=0)).scene)

    base = snap(_config())
    try:
        other = snap(_config(**{field: OTHER[field]}))
    except DeviceError:  # asking for a GPU backend this machine lacks is an error, never a silent CPU render
        assert field == "device"
        return
    changed = sorted(k for k in base if other.get(k) != base[k])
    assert changed, f"render config '{field}' changed no Blender setting"


def test_pipeline_fields_change_the_output(bpy_module, tmp_path):
    """frames and passes shape the dataset; motion_blur changes the picture but no label (see above)."""
    from simgen.pipeline import render_scene
    from tests.conftest import REPO

    scene = REPO / "scenes" / "quickstart.yaml"
    out = tmp_path / "ds"
    render_scene(scene, out, cfg=_config(frames=1, passes=["rgb"]), device="cpu")
    rows = (out / "manifest.jsonl").read_text().splitlines()
    assert len(rows) == 1  # the scene has 4 frames
    import json

    row = json.loads(rows[0])
    assert set(row["files"]) == {"rgb", "meta"}
    assert row["knobs"]["sensor.preset"] == "automotive_front_hdr"
    meta = json.loads((out / row["files"]["meta"]).read_text())
    assert meta["sensor"]["exposure_time_s"] > 0 and len(meta["sensor"]["wb_gains"]) == 3
    plain = tmp_path / "plain"
    render_scene(scene, plain, cfg=_config(frames=1, passes=["rgb"], motion_blur=True), device="cpu")
    a = cv2.imread(str(out / row["files"]["rgb"]))
    b = cv2.imread(str(plain / row["files"]["rgb"]))
    assert a.shape == b.shape and not np.array_equal(a, b)  # the ego moves at 6 m/s: the blurred picture differs
