"""The committed examples, schemas and render configs: valid, fresh, and usable from the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from simgen.cli import main
from simgen.spec import (
    PRESETS,
    default_render_config,
    expand_sweep,
    load_render_config,
    load_scene,
    resolve,
)
from simgen.spec.schema import FILES, schema_text
from tests.conftest import REPO

SCENES = sorted((REPO / "scenes").glob("*.yaml"))
BASES = sorted((REPO / "scenes" / "base").glob("*.yaml"))
SWEEPS = sorted((REPO / "scenes" / "sweeps").glob("*.yaml"))
CAMERA_SCENES = sorted((REPO / "scenes" / "cameras").glob("*.yaml"))
CONFIGS = sorted((REPO / "render_configs").glob("*.yaml"))
SIMGEN = REPO / ".venv" / "bin" / "simgen"
REQUIRED_SCENES = {"quickstart", "city_street_noon", "rainy_night", "dense_fog", "pedestrian_reflection_window",
                   "pedestrian_reflection_puddle", "jaywalker"}


def test_required_examples_exist():
    assert REQUIRED_SCENES <= {p.stem for p in SCENES}
    assert SWEEPS and BASES
    assert {"test", "preview", "production"} <= {p.stem for p in CONFIGS}
    assert {"front_brown_conrady", "surround_fisheye", "stereo_pair"} <= {p.stem for p in CAMERA_SCENES}


def test_check_all_examples_exits_0(capsys):
    """Every example is valid and feasible (seed 0's world builds, no warnings)."""
    assert main(["check", "--seeds", "1", *map(str, SCENES + BASES + SWEEPS + CONFIGS + CAMERA_SCENES)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.count(": ok") == len(SCENES + BASES + SWEEPS + CONFIGS + CAMERA_SCENES)


@pytest.mark.parametrize("kind", sorted(FILES))
def test_committed_schema_is_fresh(kind, capsys):
    assert main(["schema", "--kind", kind]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_text(kind)
    committed = (REPO / "schemas" / FILES[kind]).read_text()
    assert committed == printed, f"schemas/{FILES[kind]} is stale: run simgen schema --kind {kind} > schemas/{FILES[kind]}"
    jsonschema.Draft202012Validator.check_schema(json.loads(committed))


def _kind_of(path: Path) -> str:
    if path.parent.name == "render_configs":
        return "render-config"
    return "sweep" if path.parent.name == "sweeps" else "scene"


@pytest.mark.parametrize("path", SCENES + BASES + SWEEPS + CONFIGS + CAMERA_SCENES,
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_header_and_jsonschema(path):
    kind = _kind_of(path)
    first = path.read_text().splitlines()[0]
    rel = Path(first.split("$schema=", 1)[1])
    assert first.startswith("# yaml-language-server: $schema=")
    assert (path.parent / rel).resolve() == (REPO / "schemas" / FILES[kind]).resolve()
    schema = json.loads((path.parent / rel).read_text())
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(path.read_text()))


def test_jsonschema_rejects_what_the_loader_rejects():
    schema = json.loads((REPO / "schemas" / "scene.schema.json").read_text())
    v = jsonschema.Draft202012Validator(schema)
    assert v.is_valid({"scene": {"name": "a"}})
    for bad in ({"scene": {"name": "a"}, "weahter": {}}, {"scene": {"name": "a"}, "weather": {"fog_density": -1}},
                {"scene": {"name": "a"}, "cameras": [{"hfov_deg": 180}]},
                {"scene": {"name": "a"}, "weather": {"fog_density": {"dist": "gauss"}}}, {"frames": 3}):
        assert not v.is_valid(bad), bad


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_files_equal_embedded_presets(name):
    assert load_render_config(REPO / "render_configs" / f"{name}.yaml") == load_render_config(name)


def test_preset_contents():
    t, p, prod, d = (load_render_config(n) for n in ("test", "preview", "production", "default"))
    assert 64 <= t.width <= 96 and 48 <= t.height <= 72 and t.samples <= 4
    assert prod.width >= 1920 and prod.height >= 1080 and prod.device not in ("cpu", "auto")
    assert p.device == "auto"
    assert d == default_render_config()
    assert (d.width, d.height) == (320, 240) and d.samples <= 16 and d.denoiser != "none"
    assert d.threads == 0 and d.device == "auto" and set(d.passes) == {
        "rgb", "depth", "flow", "semantic", "instance", "normal", "reflection"}


def test_unknown_preset_gets_hint():
    from simgen.spec import SpecError

    with pytest.raises(SpecError, match="did you mean 'preview'"):
        load_render_config("previwe")


def test_quickstart_is_small_and_moving():
    spec = load_scene(REPO / "scenes" / "quickstart.yaml")
    r = resolve(spec, 0)
    assert r.frames >= 3
    assert sum(g.count for g in r.objects) < 15
    assert r.ego.speed_mps > 0
    assert any(g.motion.kind == "constant_velocity" and g.class_name == "car" and
               all(i.speed_mps > 0 for i in g.instances) for g in r.objects)
    assert any(i.texture != "none" for g in r.objects for i in g.instances)
    assert r.road.layout == "straight" and not r.lighting.night


def test_edge_case_examples_carry_their_edge_case():
    kinds = {
        "pedestrian_reflection_window": "pedestrian_reflection_window",
        "pedestrian_reflection_puddle": "pedestrian_reflection_puddle",
        "jaywalker": "jaywalker",
    }
    for scene, kind in kinds.items():
        r = resolve(load_scene(REPO / "scenes" / f"{scene}.yaml"), 1)
        assert kind in {e.kind for e in r.edge_cases}
        assert "pedestrian_reflection" in r.scene.tags or kind == "jaywalker"
    night = resolve(load_scene(REPO / "scenes" / "rainy_night.yaml"), 0)
    assert night.lighting.night and night.weather.rain_intensity >= 0.5 and night.lighting.street_lights.enabled
    fog = resolve(load_scene(REPO / "scenes" / "dense_fog.yaml"), 0)
    assert fog.weather.fog_density >= 0.05


def test_sweep_example_is_weather_x_time_x_seeds():
    (path,) = [p for p in SWEEPS if p.stem == "weather_time"]
    variants = expand_sweep(path)
    assert len(variants) == 18
    combos = {(v.labels["weather"], v.labels["lighting.time_of_day"], v.seed) for v in variants}
    assert len(combos) == 18
    assert [v.index for v in variants] == list(range(18))


def _run(*args: str) -> subprocess.CompletedProcess:
    exe = str(SIMGEN) if SIMGEN.exists() else None
    cmd = [exe, *args] if exe else [sys.executable, "-c", "from simgen.cli import run; run()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)


def test_console_script_check_ok_and_bad(tmp_path):
    ok = _run("check", "scenes/quickstart.yaml")
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("scene:\n  name: b\nweather:\n  fog_density: -1\n")
    res = _run("check", str(bad))
    assert res.returncode == 1
    assert f"{bad}:4:16: weather.fog_density" in res.stderr and "Traceback" not in res.stderr + res.stdout


def test_console_script_resolve_and_schema():
    res = _run("resolve", "scenes/quickstart.yaml", "--seed", "0")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["seed"] == 0 and data["scene"]["name"] == "quickstart"
    sch = _run("schema", "--kind", "render-config")
    assert sch.returncode == 0 and json.loads(sch.stdout)["title"] == "RenderConfig"


def test_docs_mention_every_scene_field():
    from simgen.spec import models as S
    from simgen.spec.sensor import SensorSpec

    doc = (REPO / "docs" / "spec.md").read_text()
    missing = []
    for model in (S.SceneSpec, S.SceneInfo, S.Road, S.LaneMarkings, S.Crosswalk, S.Buildings, S.ShopWindows,
                  S.ObjectGroup, S.Placement, S.Motion, S.Pose, S.Ego, S.EgoStart, S.CameraSpec, S.Mount,
                  S.LightingSpec, S.StreetLights, S.Headlights, S.WeatherSpec, S.Puddles, SensorSpec,
                  S.StreetFurniture):
        for name, f in model.model_fields.items():
            if f"`{f.alias or name}`" not in doc:
                missing.append(f"{model.__name__}.{f.alias or name}")
    assert not missing, missing
