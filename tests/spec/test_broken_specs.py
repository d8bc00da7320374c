"""Table of broken specs: each must exit 1 with `file:line:` in the message, the right words, no traceback."""

from __future__ import annotations


import pytest

from simgen.cli import main

OK = "scene:\n  name: ok\n"

# (id, files {name: text or bytes}, file to check, expected "name:line:" prefix, expected words in the output)
CASES: list[tuple[str, dict, str, str, list[str]]] = [
    ("syntax_error", {"s.yaml": "scene:\n  name: [a, b\nroad: {}\n"}, "s.yaml", "s.yaml:3:", ["YAML syntax error"]),
    ("unclosed_quote", {"s.yaml": 'scene:\n  name: "abc\n'}, "s.yaml", "s.yaml:", ["YAML syntax error"]),
    ("tab_indent", {"s.yaml": "scene:\n\tname: a\n"}, "s.yaml", "s.yaml:2:1:", ["tab character"]),
    ("duplicate_key", {"s.yaml": "scene:\n  name: a\n  name: b\n"}, "s.yaml", "s.yaml:3:3:",
     ["duplicate key 'name'", "line 2"]),
    ("typo_top_key", {"s.yaml": OK + "weahter:\n  fog_density: 0.1\n"}, "s.yaml", "s.yaml:3:1:",
     ["unknown key 'weahter'", "did you mean 'weather'"]),
    ("typo_nested_key", {"s.yaml": OK + "weather:\n  fog_densty: 0.1\n"}, "s.yaml", "s.yaml:4:3:",
     ["unknown key 'fog_densty'", "did you mean 'fog_density'"]),
    ("wrong_type", {"s.yaml": OK + "frames: ten\n"}, "s.yaml", "s.yaml:3:9:", ["frames: expected an integer, got 'ten'"]),
    ("bool_for_number", {"s.yaml": OK + "weather: {fog_density: yes}\n"}, "s.yaml", "s.yaml:3:", ["expected a number, got True"]),
    ("negative_fog", {"s.yaml": OK + "weather:\n  fog_density: -0.2\n"}, "s.yaml", "s.yaml:4:16:",
     ["weather.fog_density", "greater than or equal to 0"]),
    ("fov_180", {"s.yaml": OK + "cameras:\n  - name: c\n    hfov_deg: 180\n"}, "s.yaml", "s.yaml:5:15:",
     ["cameras[0].hfov_deg", "less than 180"]),
    ("fov_dist_out_of_range", {"s.yaml": OK + "cameras:\n  - hfov_deg: {dist: uniform, low: 60, high: 200}\n"},
     "s.yaml", "s.yaml:4:", ["allowed range"]),
    ("unknown_class", {"s.yaml": OK + "objects:\n  - class: pedestrain\n    placement: {region: sidewalk}\n"},
     "s.yaml", "s.yaml:4:12:", ["unknown class 'pedestrain'", "did you mean 'pedestrian'"]),
    ("stuff_class", {"s.yaml": OK + "objects:\n  - class: road\n    placement: {region: sidewalk}\n"},
     "s.yaml", "s.yaml:4:", ["scenery"]),
    ("unknown_distribution", {"s.yaml": OK + "weather:\n  fog_density: {dist: gauss, mean: 0.1}\n"}, "s.yaml",
     "s.yaml:4:", ["unknown distribution 'gauss'"]),
    ("missing_dist_tag", {"s.yaml": OK + "weather:\n  fog_density: {low: 0, high: 0.1}\n"}, "s.yaml", "s.yaml:4:",
     ["missing the 'dist' key"]),
    ("low_gt_high", {"s.yaml": OK + "weather:\n  rain_intensity: {dist: uniform, low: 0.9, high: 0.1}\n"},
     "s.yaml", "s.yaml:4:", ["low (0.9) is greater than high (0.1)"]),
    ("int_field_float_dist", {"s.yaml": OK + "objects:\n  - class: car\n    count: {dist: uniform, low: 1, high: 3}\n"
                                              "    placement: {region: parking}\n"},
     "s.yaml", "s.yaml:5:", ["unknown distribution 'uniform'", "int_range"]),
    ("choice_weights_len", {"s.yaml": OK + "road:\n  layout: {dist: choice, values: [straight], weights: [1, 2]}\n"},
     "s.yaml", "s.yaml:4:", ["2 weights for 1 values"]),
    ("normal_negative_std", {"s.yaml": OK + "weather:\n  snow: {dist: normal, mean: 0.5, std: -1}\n"}, "s.yaml",
     "s.yaml:4:", ["greater than or equal to 0"]),
    ("log_uniform_zero", {"s.yaml": OK + "weather:\n  fog_density: {dist: log_uniform, low: 0, high: 0.1}\n"},
     "s.yaml", "s.yaml:4:", ["greater than 0"]),
    ("missing_required", {"s.yaml": "scene:\n  description: no name\n"}, "s.yaml", "s.yaml:2:",
     ["missing required field 'name'"]),
    ("missing_scene_section", {"s.yaml": "frames: 3\n"}, "s.yaml", "s.yaml:1:", ["missing required field 'scene'"]),
    ("unsafe_tag", {"s.yaml": OK + "frames: !!python/object/apply:os.system ['echo hi']\n"}, "s.yaml",
     "s.yaml:3:9:", ["unsafe YAML tag"]),
    ("custom_tag", {"s.yaml": OK + "frames: !include other.yaml\n"}, "s.yaml", "s.yaml:3:9:",
     ["unsupported YAML tag"]),
    ("merge_key", {"s.yaml": "base: &b {fps: 5}\nscene:\n  name: a\n  <<: *b\n"}, "s.yaml", "s.yaml:4:3:",
     ["merge keys"]),
    ("extends_cycle", {"a.yaml": "extends: b.yaml\n" + OK, "b.yaml": "extends: a.yaml\n" + OK}, "a.yaml",
     "b.yaml:1:10:", ["extends cycle"]),
    ("extends_self", {"a.yaml": "extends: a.yaml\n" + OK}, "a.yaml", "a.yaml:1:10:", ["extends cycle"]),
    ("extends_missing", {"a.yaml": "extends: nowhere/base.yaml\n" + OK}, "a.yaml", "a.yaml:1:10:",
     ["not found"]),
    ("extends_base_invalid", {"a.yaml": "extends: b.yaml\n" + OK, "b.yaml": OK + "weather: {fog_density: -1}\n"},
     "a.yaml", "b.yaml:3:", ["greater than or equal to 0"]),
    ("empty_file", {"s.yaml": ""}, "s.yaml", "s.yaml:1:1:", ["file is empty"]),
    ("only_comments", {"s.yaml": "# nothing here\n\n"}, "s.yaml", "s.yaml:1:1:", ["file is empty"]),
    ("binary_garbage", {"s.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"}, "s.yaml", "s.yaml:3:1:",
     ["not a text file"]),
    ("latin1_bytes", {"s.yaml": b"scene:\n  name: caf\xe9\n"}, "s.yaml", "s.yaml:2:", ["not a text file"]),
    ("nan", {"s.yaml": OK + "weather:\n  fog_density: .nan\n"}, "s.yaml", "s.yaml:4:16:", ["not a finite number"]),
    ("inf", {"s.yaml": OK + "road:\n  length_m: .inf\n"}, "s.yaml", "s.yaml:4:13:", ["not a finite number"]),
    ("absurd_count", {"s.yaml": OK + "objects:\n  - class: car\n    count: 1000000000\n"
                                      "    placement: {region: parking}\n"}, "s.yaml", "s.yaml:5:12:",
     ["less than or equal to 500"]),
    ("absurd_total", {"s.yaml": OK + "objects:\n" + "".join(
        f"  - {{name: g{i}, class: car, count: 500, placement: {{region: lane}}}}\n" for i in range(5))},
     "s.yaml", "s.yaml:4:", ["limit is 2000"]),
    ("absurd_frames", {"s.yaml": OK + "frames: 99999999\n"}, "s.yaml", "s.yaml:3:9:", ["less than or equal to"]),
    ("bad_literal", {"s.yaml": OK + "road:\n  layout: intersection_4wya\n"}, "s.yaml", "s.yaml:4:11:",
     ["is not allowed", "did you mean 'intersection_4way'"]),
    ("unknown_edge_case", {"s.yaml": OK + "edge_cases:\n  - kind: jaywalk\n"}, "s.yaml", "s.yaml:4:",
     ["unknown kind 'jaywalk'", "did you mean 'jaywalker'"]),
    ("placement_two_kinds", {"s.yaml": OK + "objects:\n  - class: car\n"
                                             "    placement: {region: lane, pose: {x: 1, y: 2}}\n"},
     "s.yaml", "s.yaml:5:16:", ["exactly one of pose, poses or region"]),
    ("pose_count_mismatch", {"s.yaml": OK + "objects:\n  - class: car\n    count: 3\n"
                                             "    placement: {poses: [{x: 1, y: 2}]}\n"},
     "s.yaml", "s.yaml:4:", ["1 poses for count 3"]),
    ("hfov_and_focal", {"s.yaml": OK + "cameras:\n  - {name: c, hfov_deg: 60, focal_mm: 35}\n"}, "s.yaml",
     "s.yaml:4:", ["not both"]),
    ("duplicate_group_names", {"s.yaml": OK + "objects:\n  - {name: a, class: car, placement: {region: lane}}\n"
                                               "  - {name: a, class: van, placement: {region: lane}}\n"},
     "s.yaml", "s.yaml:5:", ["duplicate object name 'a'"]),
    ("crosswalk_beyond_road", {"s.yaml": OK + "road:\n  length_m: 50\n  crosswalks: [{position_x_m: 80}]\n"},
     "s.yaml", "s.yaml:5:", ["beyond the road's end"]),
    ("rgb_out_of_range", {"s.yaml": OK + "objects:\n  - class: car\n    colour: [0.1, 2, 0.3]\n"
                                          "    placement: {region: lane}\n"}, "s.yaml", "s.yaml:5:", ["less than or equal to 1"]),
    ("bad_time_of_day", {"s.yaml": OK + "lighting:\n  time_of_day: '25:61'\n"}, "s.yaml", "s.yaml:4:",
     ["wrong form", "HH:MM"]),
    ("sun_half_given", {"s.yaml": OK + "lighting:\n  sun_elevation_deg: 20\n"}, "s.yaml", "s.yaml:4:",
     ["both sun_elevation_deg and sun_azimuth_deg"]),
    ("waypoints_too_few", {"s.yaml": OK + "ego:\n  path: waypoints\n  waypoints: [{x: 0, y: 0}]\n"}, "s.yaml",
     "s.yaml:4:", ["at least 2 waypoints"]),
    ("document_is_list", {"s.yaml": "- a\n- b\n"}, "s.yaml", "s.yaml:1:1:", ["must be a mapping"]),
    ("two_documents", {"s.yaml": OK + "---\n" + OK}, "s.yaml", "s.yaml:4:", ["more than one YAML document"]),
    ("non_string_key", {"s.yaml": OK + "weather:\n  [a, b]: 1\n"}, "s.yaml", "s.yaml:4:3:", ["keys must be plain"]),
    ("bad_scene_name", {"s.yaml": "scene:\n  name: 'my scene/../x'\n"}, "s.yaml", "s.yaml:2:9:", ["wrong form"]),
    ("render_config_device", {"r.yaml": "width: 64\nheight: 48\ndevice: cdua\n"}, "r.yaml", "r.yaml:3:9:",
     ["'cdua' is not allowed", "did you mean 'cuda'"]),
    ("render_config_pass", {"r.yaml": "width: 64\npasses: [rgb, dpeth]\n"}, "r.yaml", "r.yaml:2:15:",
     ["did you mean 'depth'"]),
    ("render_config_zero_width", {"r.yaml": "width: 0\nheight: 48\n"}, "r.yaml", "r.yaml:1:8:",
     ["greater than or equal to 16"]),
    ("sweep_bad_path", {"s.yaml": OK, "w.yaml": "scene: s.yaml\nsweep:\n  parameters:\n"
                                                "    - path: weahter.fog_density\n      values: [0, 0.1]\n"},
     "w.yaml", "w.yaml:4:", ["'weahter' is not a scene field", "did you mean 'weather'"]),
    ("sweep_bad_value", {"s.yaml": OK, "w.yaml": "scene: s.yaml\nsweep:\n  parameters:\n"
                                                 "    - path: weather.fog_density\n      values: [0, -3]\n"},
     "w.yaml", "w.yaml:5:", ["greater than or equal to 0"]),
    ("sweep_missing_scene", {"w.yaml": "scene: gone.yaml\nsweep:\n  parameters: []\n"}, "w.yaml", "w.yaml:1:",
     ["not found"]),
    ("missing_file", {}, "nope.yaml", "nope.yaml:1:1:", ["file not found"]),
]


def test_table_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize(("files", "target", "prefix", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_spec(tmp_path, capsys, monkeypatch, files, target, prefix, words):
    for name, text in files.items():
        p = tmp_path / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
    monkeypatch.chdir(tmp_path)
    code = main(["check", target])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 1, text
    assert "Traceback" not in text
    assert any(line.startswith(prefix) for line in out.err.splitlines()), f"no line starts with {prefix!r}:\n{text}"
    for w in words:
        assert w in out.err, f"{w!r} missing from:\n{out.err}"


def test_every_problem_reported_at_once(tmp_path, capsys):
    p = tmp_path / "many.yaml"
    p.write_text(OK + "weahter: {}\nframes: -1\nweather:\n  fog_density: -1\n  snow: 2\n"
                 "objects:\n  - class: pedestrain\n    placement: {region: sidewalk}\n")
    assert main(["check", str(p)]) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith(str(p))]
    assert len(lines) == 5, err
    assert [int(ln[len(str(p)) + 1:].split(":")[0]) for ln in lines] == [3, 4, 6, 7, 9]


def test_duplicate_key_and_type_error_together(tmp_path, capsys):
    p = tmp_path / "d.yaml"
    p.write_text(OK + "fps: 10\nfps: 20\nframes: x\n")
    assert main(["check", str(p)]) == 1
    err = capsys.readouterr().err
    assert f"{p}:4:1:" in err and f"{p}:5:9:" in err


def test_spec_error_carries_issues(tmp_path):
    from simgen.spec import SpecError, load_scene

    p = tmp_path / "e.yaml"
    p.write_text(OK + "weather:\n  fog_density: -1\n")
    with pytest.raises(SpecError) as ei:
        load_scene(p)
    (issue,) = ei.value.issues
    assert (issue.file, issue.line, issue.column, issue.path) == (str(p), 4, 16, "weather.fog_density")
    assert str(issue).startswith(f"{p}:4:16: weather.fog_density: ")
    assert str(ei.value) == str(issue)


def test_huge_alias_expansion_is_refused(tmp_path, capsys):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    p = tmp_path / "bomb.yaml"
    p.write_text(OK + "\n".join(lines) + "\n")
    assert main(["check", str(p)]) == 1
    assert "more than" in capsys.readouterr().err


def test_directory_is_an_error(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 1
    assert "directory" in capsys.readouterr().err


def test_spec_error_pickles(tmp_path):
    import pickle

    from simgen.errors import SimgenError
    from simgen.spec import SpecError, load_scene

    p = tmp_path / "e.yaml"
    p.write_text(OK + "frames: 0\nfps: -1\n")
    with pytest.raises(SpecError) as ei:
        load_scene(p)
    back = pickle.loads(pickle.dumps(ei.value))
    assert isinstance(back, SimgenError) and back.issues == ei.value.issues and len(back.issues) == 2
    assert str(back) == str(ei.value)
