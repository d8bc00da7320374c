"""resolve(): determinism, independence of named streams, distributions, derived values, JSON round-trip."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from simgen.spec import ResolvedScene, load_scene, load_scene_text, resolve, sun_position
from tests.conftest import REPO

RICH = """
scene: {name: rich, tags: [t]}
road:
  length_m: {dist: uniform, low: 80, high: 120}
  buildings: {height_m: {dist: normal, mean: 15, std: 4, clip: [6, 30]},
              facade_colour: {dist: choice, values: [brick, cream, [0.2, 0.3, 0.4]]}}
objects:
  - name: cars
    class: car
    count: {dist: int_range, low: 2, high: 6}
    placement: {region: parking, side: right, distance_m: {min: 5, max: {dist: uniform, low: 30, high: 60}}}
    colour: {dist: choice, values: [red, blue, white], weights: [1, 1, 2]}
    scale: {dist: log_uniform, low: 0.9, high: 1.1}
  - name: people
    class: pedestrian
    count: 5
    placement: {region: sidewalk, heading_deg: {dist: uniform, low: -180, high: 180}}
    motion: {kind: constant_velocity, speed_mps: {dist: normal, mean: 1.3, std: 0.3, clip: [0.5, 2]}}
cameras:
  - {name: left, hfov_deg: {dist: uniform, low: 60, high: 90}, mount: {y: 0.3}}
  - {name: right, focal_mm: 18, sensor_width_mm: 36, mount: {y: -0.3}}
lighting: {time_of_day: {dist: uniform, low: 7, high: 19}, cloud_cover: {dist: uniform, low: 0, high: 1}}
weather:
  fog_density: {dist: log_uniform, low: 0.001, high: 0.05}
  rain_intensity: {dist: choice, values: [0, 0.5, 1]}
edge_cases:
  - {kind: jaywalker, speed_mps: {dist: uniform, low: 1, high: 2}}
"""


def _spec(text: str = RICH):
    return load_scene_text(text, "rich.yaml")


def test_same_seed_gives_byte_identical_json():
    a = resolve(_spec(), 7).model_dump_json()
    b = resolve(_spec(), 7).model_dump_json()
    assert a == b
    c = resolve(load_scene(REPO / "scenes" / "rainy_night.yaml"), 3).model_dump_json()
    d = resolve(load_scene(REPO / "scenes" / "rainy_night.yaml"), 3).model_dump_json()
    assert c == d


def test_different_seeds_and_variants_differ():
    a, b = resolve(_spec(), 0), resolve(_spec(), 1)
    assert a.model_dump_json() != b.model_dump_json()
    assert a.weather.fog_density != b.weather.fog_density
    assert a.lighting.time_of_day != b.lighting.time_of_day
    v = resolve(_spec(), 0, variant=1)
    assert v.weather.fog_density != a.weather.fog_density and v.variant == 1


def test_seed_zero_is_a_seed():
    a = resolve(_spec(), 0)
    assert a.seed == 0
    assert a.model_dump_json() == resolve(_spec(), 0).model_dump_json()
    assert 0.001 <= a.weather.fog_density <= 0.05


def test_carries_hash_seed_version():
    from simgen import __version__

    r = resolve(_spec(), 11, 2)
    assert (r.seed, r.variant, r.simgen_version) == (11, 2, __version__)
    assert len(r.spec_hash) == 64
    other = resolve(_spec(RICH.replace("count: 5", "count: 6")), 11, 2)
    assert other.spec_hash != r.spec_hash
    assert resolve(_spec(), 0).spec_hash == r.spec_hash  # the hash describes the spec, not the draw


def test_json_round_trip():
    r = resolve(_spec(), 5)
    text = r.model_dump_json()
    back = ResolvedScene.model_validate_json(text)
    assert back == r
    assert back.model_dump_json() == text
    assert json.loads(text)["objects"][0]["class_name"] == "car"


def _flat(d, prefix=""):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = d
    return out


def test_adding_unrelated_random_field_changes_nothing_else():
    base = _flat(json.loads(resolve(_spec(), 42).model_dump_json()))
    more = RICH.replace("weather:\n", "weather:\n  snow: {dist: uniform, low: 0, high: 1}\n")
    more = more.replace("objects:\n", "objects:\n  - {name: extra, class: bench, count: 3, "
                                      "placement: {region: roadside}, scale: {dist: uniform, low: 1, high: 2}}\n")
    new = _flat(json.loads(resolve(_spec(more), 42).model_dump_json()))
    changed = {k for k in base if base[k] != new.get(k)}
    # only the hash, the snow value and the list positions of the groups (shifted by the new first group) move
    assert changed - {"spec_hash", "weather.snow"} <= {k for k in base if k.startswith("objects[")}
    assert new["weather.snow"] != base["weather.snow"]
    old_groups = json.loads(resolve(_spec(), 42).model_dump_json())["objects"]
    new_groups = {g["name"]: g for g in json.loads(resolve(_spec(more), 42).model_dump_json())["objects"]}
    for g in old_groups:
        assert new_groups[g["name"]] == g


def test_more_instances_keep_the_first_ones():
    a = resolve(_spec(), 3).objects[1]
    b = resolve(_spec(RICH.replace("count: 5", "count: 9")), 3).objects[1]
    assert [i.model_dump() for i in b.instances[:5]] == [i.model_dump() for i in a.instances]


def test_literals_pass_through_and_no_randomness_without_distributions():
    text = "scene: {name: fixed}\nweather: {fog_density: 0.02}\nlighting: {time_of_day: 12.5}\n"
    r0, r1 = resolve(_spec(text), 0), resolve(_spec(text), 99)
    assert r0.weather.fog_density == 0.02 and r0.lighting.time_of_day == 12.5
    d0, d1 = json.loads(r0.model_dump_json()), json.loads(r1.model_dump_json())
    d0.pop("seed"), d1.pop("seed")
    assert d0 == d1


def _many(field_yaml: str, n: int = 400):
    text = (f"scene: {{name: stats}}\nobjects:\n  - name: g\n    class: pedestrian\n    count: {n}\n"
            f"    placement: {{region: sidewalk}}\n{field_yaml}")
    return resolve(_spec(text), 1).objects[0].instances


def test_distributions_have_the_right_shape():
    uni = np.array([i.scale for i in _many("    scale: {dist: uniform, low: 0.5, high: 1.5}\n")])
    assert uni.min() >= 0.5 and uni.max() <= 1.5 and abs(uni.mean() - 1.0) < 0.05 and uni.std() > 0.25
    nor = np.array([i.speed_mps for i in _many(
        "    motion: {kind: constant_velocity, speed_mps: {dist: normal, mean: 1.0, std: 0.5, clip: [0.5, 2]}}\n")])
    assert nor.min() >= 0.5 and nor.max() <= 2 and (nor == 0.5).sum() > 20  # clipped mass at the low end
    log = np.array([i.scale for i in _many("    scale: {dist: log_uniform, low: 0.2, high: 5}\n")])
    assert log.min() >= 0.2 and log.max() <= 5 and abs(np.median(np.log(log))) < 0.3
    cols = [tuple(i.colour_rgb) for i in _many("    colour: {dist: choice, values: [red, blue], weights: [3, 1]}\n")]
    frac = cols.count(tuple(float(c) for c in (0.6, 0.03, 0.02))) / len(cols)
    assert 0.68 < frac < 0.82


def test_normal_without_clip_stays_inside_field_bounds():
    text = "scene: {name: n}\nweather: {snow: {dist: normal, mean: 0.95, std: 2}}\n"
    vals = [resolve(_spec(text), s).weather.snow for s in range(60)]
    assert min(vals) >= 0 and max(vals) <= 1 and 1.0 in vals and len(set(vals)) > 5


def test_int_range_includes_both_ends():
    text = "scene: {name: i}\nroad: {lanes_per_direction: {dist: int_range, low: 1, high: 3}}\n"
    seen = {resolve(_spec(text), s).road.lanes_per_direction for s in range(60)}
    assert seen == {1, 2, 3}


def test_camera_intrinsics_and_derived_road():
    r = resolve(_spec(), 0)
    left, right = r.cameras
    assert 60 <= left.hfov_deg <= 90
    assert right.hfov_deg == pytest.approx(90.0)  # 36 mm sensor, 18 mm lens
    assert r.road.lane_centres_y_m == [-1.75] and r.road.oncoming_lane_centres_y_m == [1.75]
    assert r.ego.start.y == -1.75 and r.ego.start.yaw_deg == 0
    heights = [f.height_m for f in r.road.buildings.facades]
    assert heights and min(heights) >= 6 and max(heights) <= 30 and len(set(heights)) > 1
    for f in r.road.buildings.facades:
        assert (f.y_m > 0) == (f.side == "left")
        assert f.x_start_m < f.x_end_m <= r.road.length_m + 1e-9
        assert all(f.x_start_m < x < f.x_end_m for x in f.window_centres_x_m)


def test_junction_leaves_room_for_the_cross_road():
    text = "scene: {name: j}\nroad: {layout: t_junction, junction_x_m: 60, length_m: 120}\n"
    r = resolve(_spec(text), 0)
    half = r.road.half_width_m + r.road.sidewalk_width_m
    for f in r.road.buildings.facades:
        if f.side == "left":
            assert f.x_end_m <= 60 - half or f.x_start_m >= 60 + half
    assert len([f for f in r.road.buildings.facades if f.side == "right"]) == 8  # 120 m / 15 m, no gap


def test_sun_position():
    el, az = sun_position(12.0, 48.0, 172, 90.0)
    assert el == pytest.approx(90 - 48 + 23.44, abs=0.2) and az == pytest.approx(180.0, abs=0.5)
    el_m, az_m = sun_position(8.0, 48.0, 172, 90.0)
    el_e, az_e = sun_position(16.0, 48.0, 172, 90.0)
    assert el_m == pytest.approx(el_e, abs=1e-6) and 0 < el_m < el
    assert 0 < az_m < 180 and az_e == pytest.approx(360 - az_m, abs=1e-6)  # morning sun east (+x), evening west
    assert sun_position(0.0, 48.0, 172, 90.0)[0] < -6
    _, az_rot = sun_position(12.0, 48.0, 172, 0.0)  # road running north: south is -x, world azimuth 270
    assert az_rot == pytest.approx(270.0, abs=0.5)


def test_night_and_auto_lights():
    night = resolve(_spec("scene: {name: n}\nlighting: {time_of_day: '23:30'}\n"), 0).lighting
    day = resolve(_spec("scene: {name: d}\nlighting: {time_of_day: 12}\n"), 0).lighting
    assert night.night and night.street_lights.enabled and night.headlights.enabled
    assert not day.night and not day.street_lights.enabled
    explicit = resolve(_spec("scene: {name: e}\nlighting: {sun_elevation_deg: 30, sun_azimuth_deg: 100}\n"), 0)
    assert explicit.lighting.sun_elevation_deg == 30 and explicit.lighting.time_of_day is None


def test_wetness_and_puddles_derive_from_rain():
    r = resolve(_spec("scene: {name: w}\nweather: {rain_intensity: 1.0, puddles: {coverage: 0.05}}\n"), 0).weather
    assert r.wetness == 1.0 and r.puddles.count > 0
    dry = resolve(_spec("scene: {name: w}\n"), 0).weather
    assert dry.wetness == 0 and dry.puddles.count == 0


def test_extends_deep_merges_and_lists_replace(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "scene: {name: base, tags: [a, b]}\nweather: {fog_density: 0.1, snow: 0.2}\n"
        "objects:\n  - {name: x, class: car, placement: {region: lane}}\n  - {name: y, class: van, "
        "placement: {region: lane}}\n")
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nscene: {name: child, tags: [c]}\nweather: {snow: 0.5}\n"
        "objects:\n  - {name: z, class: bus, placement: {region: lane}}\n")
    r = resolve(load_scene(tmp_path / "child.yaml"), 0)
    assert r.scene.tags == ["c"] and r.scene.name == "child"
    assert (r.weather.fog_density, r.weather.snow) == (0.1, 0.5)
    assert [g.name for g in r.objects] == ["z"]


def test_resolve_rejects_negative_seed():
    with pytest.raises(ValueError):
        resolve(_spec(), -1)


def test_cli_resolve_matches_library_and_other_process(capsys):
    from simgen.cli import main

    path = REPO / "scenes" / "city_street_noon.yaml"
    assert main(["resolve", str(path), "--seed", "4", "--variant", "2"]) == 0
    printed = capsys.readouterr().out
    lib = resolve(load_scene(path), 4, 2, source=str(path)).model_dump_json(indent=2)
    assert printed.strip() == lib
    other = subprocess.run([sys.executable, "-c", "import sys; from simgen.cli import main; "
                            f"sys.exit(main(['resolve', {str(path)!r}, '--seed', '4', '--variant', '2']))"],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
    assert other.returncode == 0 and other.stdout == printed


def test_every_example_resolves_for_several_seeds():
    for path in sorted((REPO / "scenes").glob("*.yaml")):
        spec = load_scene(path)
        for seed in (0, 1, 2**40):
            r = resolve(spec, seed)
            assert all(math.isfinite(g.instances[0].scale) for g in r.objects if g.instances)
