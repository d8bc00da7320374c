"""Property test: random mutations of valid specs never produce a traceback — only SpecError or a valid scene.

Structural mutations (delete / replace / rename keys, swap in odd values and distributions) and raw text
mutations (inserted, deleted or replaced characters and bytes) are applied to valid scenes; whatever loads
must also resolve.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simgen.cli import main
from simgen.spec import SpecError, load_scene, resolve
from tests.conftest import REPO

QUICK = (REPO / "scenes" / "quickstart.yaml").read_text()
RICH = """
scene: {name: rich, tags: [t]}
road: {layout: t_junction, crosswalks: [{position_x_m: 30}], buildings: {height_m: {dist: uniform, low: 8, high: 20}}}
objects:
  - name: cars
    class: car
    count: {dist: int_range, low: 1, high: 4}
    placement: {region: parking, side: right, distance_m: {min: 5, max: 40}}
    colour: {dist: choice, values: [red, [0.1, 0.2, 0.3]], weights: [1, 2]}
  - name: walker
    class: pedestrian
    placement: {poses: [{x: 10, y: 4, yaw_deg: 90}]}
    motion: {kind: waypoints, speed_mps: 1.2, waypoints: [{x: 10, y: 4}, {x: 20, y: 4}]}
cameras: [{name: a, focal_mm: 24}, {name: b, hfov_deg: 70, mount: {y: -0.3}}]
lighting: {time_of_day: "19:45", street_lights: {enabled: true}}
weather: {fog_density: {dist: normal, mean: 0.01, std: 0.01, clip: [0, 0.05]}, puddles: {coverage: 0.1}}
edge_cases:
  - {kind: pedestrian_reflection_window, side: left}
  - {kind: headlight_glare, power_w: {dist: log_uniform, low: 50, high: 500}}
"""
BASES = [yaml.safe_load(QUICK), yaml.safe_load(RICH)]

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(-5, 5), max_size=4),
    st.sampled_from([{}, [], "", "a:b", "12:99", {"dist": "uniform", "low": 2, "high": 1},
                     {"dist": "choice", "values": []}, {"dist": "normal", "mean": 0, "std": 1},
                     {"dist": "int_range", "low": 0, "high": 3}, {"dist": "log_uniform", "low": -1, "high": 1},
                     {"dist": "choice", "values": ["red", "blue"], "weights": [0, 0]}, {"dist": "bogus"},
                     {"region": "lane"}, {"x": 1, "y": 2}, [1, 2, 3], [0.5, 0.5, 0.5]]),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutate(data, path, op, value, word):
    data = copy.deepcopy(data)
    if not path:
        return value if op == "replace" else data
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    if op == "delete":
        del parent[key]
    elif op == "replace":
        parent[key] = value
    elif op == "rename" and isinstance(parent, dict):
        parent[key[:-1] + word if len(key) > 1 else word] = parent.pop(key)
    elif op == "insert" and isinstance(parent[key], dict):
        parent[key][word or "x"] = value
    elif op == "insert" and isinstance(parent[key], list):
        parent[key].append(value)
    return data


def _load_and_resolve(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.yaml"
        p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            spec = load_scene(p)
        except SpecError as err:
            assert err.issues and all(i.line >= 1 and i.column >= 1 for i in err.issues)
            assert str(err).startswith(str(p))
            return
        r = resolve(spec, 0)
        type(r).model_validate_json(r.model_dump_json())


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(range(len(BASES))), data=st.data(),
       ops=st.lists(st.sampled_from(["delete", "replace", "rename", "insert"]), min_size=1, max_size=3))
def test_structural_mutations_never_crash(base, data, ops):
    doc = BASES[base]
    for op in ops:
        paths = list(_paths(doc))
        path = data.draw(st.sampled_from(paths))
        value = data.draw(ODD)
        word = data.draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6))
        doc = _mutate(doc, path, op, value, word)
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    _load_and_resolve(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([QUICK, RICH]), pos=st.floats(0, 1), cut=st.integers(0, 8),
       junk=st.one_of(st.text(max_size=6), st.binary(max_size=4).map(lambda b: b.decode("latin-1")),
                      st.sampled_from(["\t", ":", "- ", "{", "]", "!!python/object:os.system ", "&a ", "*a",
                                       "\n  ", "'", '"', "#", "---\n", "<<: ", ".nan", "\x00", "\ufeff"])))
def test_text_mutations_never_crash(base, pos, cut, junk):
    i = int(pos * len(base))
    _load_and_resolve(base[:i] + junk + base[i + cut:])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=64))
def test_cli_on_random_bytes_never_crashes(raw):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "r.yaml"
        p.write_bytes(raw)
        assert main(["check", "--quiet", str(p)]) in (0, 1)


PRESET_TEXT = (REPO / "render_configs" / "production.yaml").read_text()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=st.floats(0, 1), cut=st.integers(0, 6),
       junk=st.one_of(st.text(max_size=6), st.sampled_from(["\t", ": ", "- ", "{", "-1", "1e999", "auto", "\n  x: 1"])))
def test_render_config_mutations_never_crash(pos, cut, junk):
    from simgen.spec import load_render_config

    i = int(pos * len(PRESET_TEXT))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "rc.yaml"
        p.write_text(PRESET_TEXT[:i] + junk + PRESET_TEXT[i + cut:], encoding="utf-8", errors="surrogatepass")
        try:
            cfg = load_render_config(p)
        except SpecError as err:
            assert all(str(i).startswith(str(p)) for i in err.issues)
            return
        assert cfg.width >= 16 and cfg.height >= 16 and cfg.samples >= 1
