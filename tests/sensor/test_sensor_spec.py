"""camera.sensor in the scene language: presets, overrides, distributions, resolve, knobs, errors."""

from __future__ import annotations

import typing

import pytest

from simgen.sensor.params import DEFAULT_PRESET, PARAM_FIELDS, PRESET_NAMES, PRESETS, SensorParams
from simgen.spec import SpecError, load_scene_text, resolve
from simgen.spec.sensor import SensorSpec


def test_spec_fields_match_the_parameters():
    assert set(SensorSpec.model_fields) - {"preset"} == set(PARAM_FIELDS)
    assert set(PRESET_NAMES) == set(PRESETS) | {"none"}
    assert set(typing.get_args(SensorParams.model_fields["exposure_mode"].annotation)) == {"auto", "manual"}


def test_default_camera_gets_the_default_preset():
    r = resolve(load_scene_text("scene: {name: s}"), seed=0)
    assert r.cameras[0].sensor == SensorParams(**PRESETS[DEFAULT_PRESET])
    assert r.camera_knobs("front")["sensor.preset"] == DEFAULT_PRESET


def test_overrides_and_distributions_are_sampled_per_camera_and_recorded():
    text = """
scene: {name: s}
cameras:
  - name: front
    sensor: {preset: cheap_dashcam, read_noise_e: {dist: uniform, low: 4, high: 9},
             jpeg_quality: {dist: int_range, low: 50, high: 90}, bayer: false, tone_curve: filmic}
  - name: rear
    sensor: {preset: none}
"""
    spec = load_scene_text(text)
    seen = set()
    for seed in range(6):
        r = resolve(spec, seed=seed)
        s = r.cameras[0].sensor
        assert 4 <= s.read_noise_e <= 9 and 50 <= s.jpeg_quality <= 90
        assert s.bayer is False and s.tone_curve == "filmic" and s.full_well_e == PRESETS["cheap_dashcam"]["full_well_e"]
        assert r.cameras[1].sensor is None
        k = r.camera_knobs("front")
        assert k["sensor.read_noise_e"] == s.read_noise_e and k["sensor.preset"] == "cheap_dashcam"
        assert set(k) == {"sensor.preset", *(f"sensor.{f}" for f in PARAM_FIELDS)}
        assert r.camera_knobs("rear") == {"sensor.preset": "none"}
        seen.add(s.read_noise_e)
        assert resolve(spec, seed=seed) == r  # deterministic
    assert len(seen) == 6


def test_preset_choice_and_none_rules():
    spec = load_scene_text("scene: {name: s}\ncameras: [{name: f, sensor: {preset: {dist: choice, "
                           "values: [none, cheap_dashcam]}, iso: 800}}]")
    got = {resolve(spec, seed=s).camera_knobs("f")["sensor.preset"] for s in range(12)}
    assert got == {"none", "cheap_dashcam"}
    with pytest.raises(SpecError, match="preset 'none'.*iso"):
        load_scene_text("scene: {name: s}\ncameras: [{name: f, sensor: {preset: none, iso: 800}}]")
    with pytest.raises(SpecError, match="isoo.*did you mean 'iso'"):
        load_scene_text("scene: {name: s}\ncameras: [{name: f, sensor: {isoo: 800}}]")
    with pytest.raises(SpecError, match="vignetting"):
        load_scene_text("scene: {name: s}\ncameras: [{name: f, sensor: {vignetting: 1.5}}]")


def test_render_config_look_must_exist_for_its_view_transform():
    from simgen.spec.render_config import RenderConfig
    from simgen.render.settings import blender_look

    assert blender_look("agx", "Punchy") == "AgX - Punchy"
    assert blender_look("standard", "medium high contrast") == "Medium High Contrast"
    assert blender_look("filmic", None) == "None"
    RenderConfig.model_validate({"view_transform": "agx", "look": "Punchy"})
    with pytest.raises(Exception, match="Punchy.*does not exist"):
        RenderConfig.model_validate({"view_transform": "standard", "look": "Punchy"})
