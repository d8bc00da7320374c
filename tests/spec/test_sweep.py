"""expand_sweep(): grid and random sweeps, labels, seeds, and errors that point at the sweep file."""

from __future__ import annotations

import pytest

from simgen.spec import SpecError, expand_sweep, resolve

SCENE = """scene: {name: sw}
objects:
  - {name: cars, class: car, count: 2, placement: {region: parking}}
  - {class: van, placement: {region: lane}}
cameras:
  - {name: front, hfov_deg: 80}
weather: {fog_density: 0.01}
"""

#: a sweep section: two weather levels x three seeds
WEATHER_SWEEP = """sweep:
  parameters:
    - path: weather
      values:
        clear: {fog_density: 0}
        rain: {rain_intensity: 0.8}
  seeds: [3, 4, 5]
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_grid_sweep_in_a_separate_file(tmp_path):
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", """scene: s.yaml
sweep:
  parameters:
    - {path: weather.fog_density, values: [0.0, 0.05]}
    - {path: objects.cars.count, values: [1, 3, 5]}
    - {path: cameras.front.hfov_deg, values: [60]}
    - {path: objects.1.count, values: [4]}
  replicas: 2
""")
    vs = expand_sweep(w)
    assert len(vs) == 2 * 3 * 2
    assert [v.index for v in vs] == list(range(12))
    assert vs[0].overrides == {"weather.fog_density": 0.0, "objects.cars.count": 1, "cameras.front.hfov_deg": 60,
                               "objects.1.count": 4}
    # last parameter fastest, replicas innermost
    assert [v.overrides["objects.cars.count"] for v in vs[:6]] == [1, 1, 3, 3, 5, 5]
    v = vs[-1]
    assert v.spec.weather.fog_density == 0.05 and v.spec.objects[0].count == 5 and v.spec.objects[1].count == 4
    assert v.spec.cameras[0].hfov_deg == 60 and v.seed is None
    assert vs[0].spec.weather.fog_density == 0.0
    r0, r1 = resolve(vs[0].spec, 0, vs[0].index), resolve(vs[1].spec, 0, vs[1].index)
    assert r0.objects[0].count == 1 and r0.variant == 0 and r1.variant == 1


def test_sweep_inside_a_scene_with_labels_and_seeds(tmp_path):
    p = _write(tmp_path, "s.yaml", SCENE + WEATHER_SWEEP)
    vs = expand_sweep(p)
    assert len(vs) == 6
    assert [(v.labels["weather"], v.seed) for v in vs] == [
        ("clear", 3), ("clear", 4), ("clear", 5), ("rain", 3), ("rain", 4), ("rain", 5)]
    rain = vs[3].spec.weather
    assert rain.rain_intensity == 0.8 and rain.fog_density == 0.01  # mappings merge into the section
    assert all(v.spec.sweep is None for v in vs)


def test_scene_without_sweep_is_one_variant(tmp_path):
    p = _write(tmp_path, "s.yaml", SCENE)
    (v,) = expand_sweep(p)
    assert v.index == 0 and v.overrides == {} and v.spec.scene.name == "sw"


def test_scene_variant_picks_the_point_its_seed_and_labels(tmp_path):
    from simgen.spec.sweep import scene_variant

    p = _write(tmp_path, "s.yaml", SCENE + WEATHER_SWEEP)
    spec, seed, labels = scene_variant(p, 4, seed=99)
    assert (seed, labels) == (4, {"weather": "rain"}) and spec.weather.rain_intensity == 0.8
    r = resolve(spec, seed, 4, sweep=labels)
    assert r.sweep == {"weather": "rain"} and r.knobs()["sweep.weather"] == "rain" and r.seed == 4
    with pytest.raises(SpecError, match=r"variant 6 does not exist.*0\.\.5"):
        scene_variant(p, 6, seed=0)
    # a plain scene: every variant is a fresh random stream, the seed is the caller's, no labels
    plain = _write(tmp_path, "plain.yaml", SCENE)
    spec, seed, labels = scene_variant(plain, 17, seed=99)
    assert (seed, labels) == (99, {}) and spec.scene.name == "sw"
    assert "sweep.weather" not in resolve(spec, seed, 17).knobs()


def test_condition_tags_follow_the_resolved_values(tmp_path):
    p = _write(tmp_path, "s.yaml", SCENE.replace("scene: {name: sw}", "scene: {name: sw, tags: [city, day, clear]}")
               + """sweep:
  parameters:
    - path: weather
      values:
        dry: {fog_density: 0.0}
        storm: {rain_intensity: 0.9, wetness: 1.0, fog_density: 0.03}
    - path: lighting.time_of_day
      values: ["12:00", "23:00"]
""")
    tags = {(v.labels["weather"], v.labels["lighting.time_of_day"]): resolve(v.spec, 0, v.index).dataset_tags()
            for v in expand_sweep(p)}
    assert tags[("dry", "12:00")] == ["city", "day", "clear"]
    assert tags[("storm", "23:00")] == ["city", "night", "rain", "fog", "wet"]
    assert tags[("dry", "23:00")] == ["city", "night", "clear"]


def test_random_sweep_is_deterministic_and_in_range(tmp_path):
    _write(tmp_path, "s.yaml", SCENE)
    text = """scene: s.yaml
sweep:
  mode: random
  samples: 20
  seed: 0
  parameters:
    - {path: weather.fog_density, dist: {dist: uniform, low: 0.0, high: 0.1}}
    - {path: lighting.time_of_day, values: ["08:00", "20:00"]}
"""
    w = _write(tmp_path, "w.yaml", text)
    a, b = expand_sweep(w), expand_sweep(w)
    fogs = [v.overrides["weather.fog_density"] for v in a]
    assert fogs == [v.overrides["weather.fog_density"] for v in b]
    assert len(a) == 20 and all(0 <= f <= 0.1 for f in fogs) and len(set(fogs)) == 20
    assert {v.overrides["lighting.time_of_day"] for v in a} == {"08:00", "20:00"}
    w2 = _write(tmp_path, "w2.yaml", text.replace("seed: 0", "seed: 1"))
    assert [v.overrides["weather.fog_density"] for v in expand_sweep(w2)] != fogs


def test_sweep_value_error_points_at_the_sweep_line(tmp_path):
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", "scene: s.yaml\nsweep:\n  parameters:\n"
                                   "    - path: objects.cars.count\n      values: [1, 100000]\n")
    with pytest.raises(SpecError) as ei:
        expand_sweep(w)
    (issue,) = ei.value.issues
    assert issue.file == str(w) and issue.line == 5 and issue.path == "objects[0].count"


def test_sweep_unknown_list_item(tmp_path):
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", "scene: s.yaml\nsweep:\n  parameters:\n"
                                   "    - path: cameras.rear.hfov_deg\n      values: [60]\n")
    with pytest.raises(SpecError, match="no list item 'rear'"):
        expand_sweep(w)


def test_sweep_limits(tmp_path):
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", "scene: s.yaml\nsweep:\n  replicas: 100000\n  seeds: [1, 2]\n  parameters: []\n")
    with pytest.raises(SpecError, match="limit"):
        expand_sweep(w)


def test_numeric_sweep_levels_stay_numbers(tmp_path):
    """Swept numbers are recorded as numbers (resolved JSON, knobs), labelled values by their label; random
    draws as the drawn number."""
    import json

    from simgen.spec.resolved import ResolvedScene
    from simgen.spec.sweep import scene_variant

    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", """scene: s.yaml
sweep:
  parameters:
    - {path: weather.fog_density, values: [0.0, 0.05]}
    - {path: objects.cars.count, values: [1, 3]}
    - {path: road.parking_lane, values: [true]}
    - {path: weather, values: {rain: {rain_intensity: 0.8}}}
""")
    spec, seed, labels = scene_variant(w, 3, seed=0)
    assert labels == {"weather.fog_density": 0.05, "objects.cars.count": 3, "road.parking_lane": True,
                      "weather": "rain"}
    assert isinstance(labels["objects.cars.count"], int) and isinstance(labels["weather.fog_density"], float)
    r = resolve(spec, seed, 3, sweep=labels)
    back = ResolvedScene.model_validate_json(r.model_dump_json())
    assert back.sweep == labels and type(back.sweep["objects.cars.count"]) is int
    assert json.loads(r.model_dump_json())["sweep"]["weather.fog_density"] == 0.05
    assert r.knobs()["sweep.weather.fog_density"] == 0.05 and r.knobs()["sweep.road.parking_lane"] is True
    rnd = _write(tmp_path, "r.yaml", """scene: s.yaml
sweep:
  mode: random
  samples: 2
  parameters:
    - {path: weather.fog_density, dist: {dist: uniform, low: 0.0, high: 0.1}}
""")
    _, _, lab = scene_variant(rnd, 1, seed=0)
    assert isinstance(lab["weather.fog_density"], float) and 0.0 <= lab["weather.fog_density"] <= 0.1
