"""``simgen check``'s feasibility pass: a table of infeasible and implausible scenes.

Each scene marks the line the problem must be reported at with ``# <-``. Errors make ``check`` exit 1; warnings
are printed (``warning: file:line:col: ...``) with exit 0, and exit 1 with ``--strict``. Every message carries its
numbers; nothing prints a traceback.
"""

from __future__ import annotations

import re

import pytest

from simgen.cli import main

HEAD = """scene: {name: feas}
road: {length_m: 60, buildings: {sides: none}}
frames: 2
"""
STREET = """scene: {name: feas}
road: {length_m: 60, buildings: {sides: both, detailed: false}}
frames: 2
"""

#: (id, scene text, severity, substrings the message at the marked line must contain)
CASES = [
    ("count_cannot_fit", HEAD + """objects:
  - name: cars
    class: car
    count: 40  # <-
    placement: {region: lane}
""", "error", ["40 car objects cannot fit", "60 m long", "at most 1"]),
    ("parking_without_parking_lane", HEAD + """objects:
  - name: parkers
    class: car
    placement: {region: parking}  # <-
""", "error", ["region 'parking' does not exist", "road.parking_lane: true"]),
    ("shop_window_without_buildings", HEAD + """objects:
  - name: shoppers
    class: pedestrian
    placement: {region: shop_window}  # <-
""", "error", ["region 'shop_window' does not exist"]),
    ("crosswalk_without_crosswalks", HEAD + """objects:
  - name: crossers
    class: pedestrian
    placement: {region: crosswalk}  # <-
""", "error", ["region 'crosswalk' does not exist", "road.crosswalks"]),
    ("lane_index_beyond_the_lanes", HEAD + """objects:
  - name: cars
    class: car
    placement: {region: lane, lane_index: 3}  # <-
""", "error", ["region 'lane' does not exist", "1 lane(s) per direction"]),
    ("x_range_beyond_the_road", HEAD + """objects:
  - name: walkers
    class: pedestrian
    placement:
      region: sidewalk
      x_range_m: {min: 100, max: 120}  # <-
""", "error", ["x_range_m [100, 120]", "60 m"]),
    ("distance_beyond_the_road", HEAD + """objects:
  - name: walkers
    class: pedestrian
    placement: {region: sidewalk, distance_m: {min: 200, max: 300}}  # <-
""", "error", ["distance_m [200, 300]", "the region is 2 to 59 m from it"]),
    ("visible_from_a_camera_looking_back", HEAD + """cameras:
  - {name: front, mount: {yaw_deg: 180}}
objects:
  - name: walkers  # <-
    class: pedestrian
    placement: {region: sidewalk, x_range_m: {min: 20, max: 50}, visible: true}
""", "error", ["visible", "of 400 tries"]),
    ("jaywalker_beyond_the_road", HEAD + """edge_cases:
  - kind: jaywalker
    distance_m: 300  # <-
""", "error", ["jaywalker at 300 m", "road is 60 m long"]),
    ("occluded_child_beyond_the_road", HEAD + """edge_cases:
  - kind: occluded_child
    distance_m: 80  # <-
""", "error", ["occluded child at 80 m", "road is 60 m long"]),
    ("glare_beyond_the_road_from_a_late_start", HEAD + """ego: {start: {x: 50}}
edge_cases:
  - kind: headlight_glare
    distance_m: 20  # <-
""", "error", ["headlight glare at 70 m", "ego start x = 50 m", "road is 60 m long"]),
    ("jaywalker_outside_the_view", HEAD + """cameras:
  - {name: front, mount: {yaw_deg: 90}}
edge_cases:
  - kind: jaywalker  # <-
    between_parked_cars: false
""", "error", ["outside the view of camera 'front'", "x = 15.0 m"]),
    ("jaywalker_hidden_behind_a_bus", HEAD + """ego: {speed_mps: 0}
objects:
  - name: bus
    class: bus
    placement: {pose: {x: 8, y: -1.9}}
edge_cases:
  - kind: jaywalker  # <-
    distance_m: 16
    between_parked_cars: false
""", "error", ["hidden behind bus_0", "must be seen"]),
    ("window_reflection_without_windows", HEAD + """edge_cases:
  - kind: pedestrian_reflection_window  # <-
""", "error", ["no shop window on the right side"]),
    ("roadside_car_on_a_flush_street", STREET + """objects:
  - name: cars  # <-
    class: car
    placement: {region: roadside, side: right}
""", "error", ["vehicle cannot stand on the 'roadside'", "0.8 m wide"]),
    ("roadside_car_on_a_narrow_verge", STREET.replace("detailed: false", "detailed: false, setback_m: 1.0") + """objects:
  - name: cars  # <-
    class: car
    placement: {region: roadside, side: right}
""", "error", ["1.0 m wide", "1.8 m across"]),
    ("fov_in_radians", HEAD + """cameras:
  - {name: front, hfov_deg: 1.57}  # <-
""", "warning", ["1.57", "radians", "90°"]),
    ("fov_too_narrow", HEAD + """cameras:
  - {name: front, hfov_deg: 7.5}  # <-
""", "warning", ["7.5°", "under 10°"]),
    ("focal_length_too_long", HEAD + """cameras:
  - {name: front, focal_mm: 400}  # <-
""", "warning", ["5.15°", "under 10°"]),
    ("fisheye_fov_in_radians", HEAD + """cameras:
  - name: front
    lens: {model: fisheye, fov_deg: 3.3}  # <-
""", "warning", ["3.3", "radians", "189°"]),
    ("ego_speed_in_kmh", HEAD + """ego: {speed_mps: 50}  # <-
""", "warning", ["50 m/s", "180 km/h", "looks like km/h", "13.9 m/s"]),
    ("speed_over_70", HEAD + """objects:
  - name: racer
    class: car
    placement: {region: oncoming_lane}
    motion: {kind: constant_velocity, speed_mps: 75}  # <-
""", "warning", ["75 m/s", "over 70 m/s"]),
    ("pedestrian_speed_in_kmh", HEAD + """objects:
  - name: runner
    class: pedestrian
    placement: {region: sidewalk}
    animation: running
    motion: {kind: constant_velocity, speed_mps: {dist: uniform, low: 9, high: 12}}  # <-
""", "warning", ["12 m/s", "pedestrian", "3.3 m/s"]),
    ("giant_pedestrian", HEAD + """objects:
  - name: giants
    class: pedestrian
    placement: {region: sidewalk}
    scale: 1.6  # <-
""", "warning", ["m tall", "over 2.3 m"]),
    ("pose_beyond_the_road", HEAD + """objects:
  - name: far_car
    class: car
    placement: {pose: {x: 250, y: -1.75}}  # <-
""", "warning", ["x = 250 m", "beyond the road (x = 0 to 60 m)"]),
    ("jaywalker_walks_off_the_street", HEAD + """frames: 80
edge_cases:
  - kind: jaywalker  # <-
    speed_mps: 6
    between_parked_cars: false
""", "warning", ["leaves the street at frame", "|y| <="]),
]


def _marked_line(text: str) -> int:
    lines = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.rstrip().endswith("# <-")]
    assert len(lines) == 1
    return lines[0]


def test_the_table_is_large_enough():
    assert len(CASES) >= 20
    assert sum(c[2] == "error" for c in CASES) >= 12 and sum(c[2] == "warning" for c in CASES) >= 6


@pytest.mark.parametrize("name,text,severity,needles", CASES, ids=[c[0] for c in CASES])
def test_check_reports_at_the_line_with_numbers(name, text, severity, needles, tmp_path, capsys):
    text = text.replace("frames: 2\nframes: 80", "frames: 80")
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    line = _marked_line(text)
    rc = main(["check", "--seeds", "1", str(p)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    mine = [ln for ln in out.err.splitlines() if re.search(rf"{re.escape(str(p))}:{line}:\d+:", ln)]
    assert mine, f"nothing reported at line {line}:\n{out.err}"
    for needle in needles:
        assert any(needle in ln for ln in mine), f"{needle!r} not in {mine}"
    if severity == "error":
        assert rc == 1 and not any(ln.startswith("warning:") for ln in mine)
    else:
        assert rc == 0 and all(ln.startswith("warning:") for ln in mine), out.err
        assert main(["check", "--strict", "--seeds", "1", str(p)]) == 1
        strict = capsys.readouterr().err
        assert re.search(rf"^{re.escape(str(p))}:{line}:\d+:", strict, re.M), strict


def test_feasible_scene_passes_and_no_world_skips_the_pass(tmp_path, capsys):
    p = tmp_path / "ok.yaml"
    p.write_text(HEAD + "objects:\n  - {name: cars, class: car, count: 3, placement: {region: lane}}\n")
    assert main(["check", "--seeds", "2", str(p)]) == 0
    assert "feasible with seeds 0..1" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(CASES[0][1])
    assert main(["check", "--no-world", str(bad)]) == 0


def test_sweep_points_are_built_and_reported_at_the_sweep_line(tmp_path, capsys):
    """A sweep file: the points that take each swept level once are built; a level that cannot happen is
    reported at its line in the sweep file, an implausible one warns there."""
    (tmp_path / "s.yaml").write_text(HEAD + "objects:\n  - {name: cars, class: car, count: 2, placement: "
                                            "{region: lane}}\n")
    sweep = """scene: s.yaml
sweep:
  parameters:
    - {path: objects.cars.count, values: [1, 40]}
    - {path: ego.speed_mps, values: [5, 50]}
"""
    p = tmp_path / "w.yaml"
    p.write_text(sweep)
    assert main(["check", str(p)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(rf"^{re.escape(str(p))}:4:\d+: objects\[0\]\.count: sweep point 2: 40 car objects cannot fit",
                     err, re.M), err
    assert re.search(rf"^warning: {re.escape(str(p))}:5:\d+: ego\.speed_mps: sweep point 1: .*50 m/s", err, re.M), err
    p.write_text(sweep.replace("[1, 40]", "[1, 3]"))
    assert main(["check", str(p)]) == 0
    assert "3 point(s) built" in capsys.readouterr().out
    assert main(["check", "--strict", str(p)]) == 1


def test_sweep_points_cover_every_level():
    from types import SimpleNamespace as V

    from simgen.cli.spec_cmds import sweep_points_to_build

    vs = [V(index=i, overrides={"a": a, "b": b}) for i, (a, b) in enumerate((a, b) for a in (1, 2, 3) for b in "xy")]
    chosen = sweep_points_to_build(vs)
    assert {v.overrides["a"] for v in chosen} == {1, 2, 3} and {v.overrides["b"] for v in chosen} == {"x", "y"}
    assert len(chosen) <= 4


def test_render_refuses_an_edge_case_beyond_the_road(tmp_path):
    """The pipeline's world step (no Blender) refuses what check reports as beyond the road."""
    from simgen.errors import SimgenError
    from simgen.pipeline import prepare
    from simgen.spec.render_config import load_render_config

    p = tmp_path / "j.yaml"
    p.write_text(HEAD + "edge_cases:\n  - {kind: jaywalker, distance_m: 300}\n")
    with pytest.raises(SimgenError, match=r"jaywalker at 300 m .*road is 60 m long"):
        prepare(p, seed=0, variant=0, cfg=load_render_config("test"))
    p.write_text(HEAD + "edge_cases:\n  - {kind: jaywalker, distance_m: 20}\n")
    _, world = prepare(p, seed=0, variant=0, cfg=load_render_config("test"))
    assert any(e.attributes.get("edge_case") == "jaywalker" for e in world.entities)
