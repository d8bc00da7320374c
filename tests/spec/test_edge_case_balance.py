"""Balance: a sweep's ``edge_case_share`` sets the share of the sweep's frames whose scene holds each edge case."""

from __future__ import annotations

import pytest

from simgen.spec import SpecError, expand_sweep, resolve

SCENE = """scene: {name: bal}
frames: 5
edge_cases:
  - {kind: jaywalker, distance_m: {dist: uniform, low: 10, high: 20}}
  - {kind: distant_pedestrian, name: far, distance_m: 30}
  - {kind: cyclist, distance_m: 12}
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _frame_shares(variants):
    """kind -> share of all frames of the sweep whose resolved scene has a case of that kind."""
    total, with_kind = 0, {}
    for v in variants:
        r = resolve(v.spec, 0, v.index)
        total += r.frames
        for k in {e.kind for e in r.edge_cases}:
            with_kind[k] = with_kind.get(k, 0) + r.frames
    return {k: n / total for k, n in with_kind.items()}


@pytest.mark.parametrize("shares", [{"jaywalker": 0.25, "distant_pedestrian": 0.7}, {"jaywalker": 0.0},
                                    {"jaywalker": 1.0, "cyclist": 0.1}])
def test_shares_come_out_as_asked(tmp_path, shares):
    _write(tmp_path, "s.yaml", SCENE)
    body = "\n".join(f"    {k}: {v}" for k, v in shares.items())
    w = _write(tmp_path, "w.yaml", f"scene: s.yaml\nsweep:\n  replicas: 40\n  edge_case_share:\n{body}\n")
    vs = expand_sweep(w)
    assert len(vs) == 40
    got = _frame_shares(vs)
    for kind, share in shares.items():
        assert got.get(kind, 0.0) == pytest.approx(share, abs=1e-9), kind
        on = [v.labels[f"edge_cases.{kind}"] == "on" for v in vs]
        assert sum(on) == round(share * 40)
    # kinds not balanced stay in every variant
    assert got["cyclist" if "cyclist" not in shares else "distant_pedestrian"] == 1.0
    # which variants hold a case depends on the sweep's seed, not on the order of the file
    if 0 < shares["jaywalker"] < 1:
        w2 = _write(tmp_path, "w2.yaml", f"scene: s.yaml\nsweep:\n  replicas: 40\n  seed: 7\n  edge_case_share:\n{body}\n")
        assert [v.labels["edge_cases.jaywalker"] for v in expand_sweep(w2)] != [v.labels["edge_cases.jaywalker"]
                                                                               for v in vs]


def test_frames_weigh_when_variants_differ_in_length(tmp_path):
    """A sweep over ``frames``: shares count frames, not variants."""
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", """scene: s.yaml
sweep:
  parameters:
    - {path: frames, values: [2, 10]}
  replicas: 20
  edge_case_share: {jaywalker: 0.4}
""")
    vs = expand_sweep(w)
    got = _frame_shares(vs)
    # the closest share the greedy pick reaches is within half the longest variant of the asked one
    assert abs(got["jaywalker"] - 0.4) <= 0.5 * 10 / (20 * 2 + 20 * 10)


def test_cases_keep_their_names_and_values(tmp_path):
    """Dropping a case from a variant leaves the others' names, and so their random draws, as they were."""
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", "scene: s.yaml\nsweep:\n  replicas: 6\n  edge_case_share: {jaywalker: 0.5}\n")
    vs = expand_sweep(w)
    for v in vs:
        r = resolve(v.spec, 0, v.index)
        names = [e.name for e in r.edge_cases]
        assert names[-2:] == ["far", "cyclist_2"]
        if v.labels["edge_cases.jaywalker"] == "on":
            assert names[0] == "jaywalker_0"
            assert 10 <= r.edge_cases[0].distance_m <= 20
    on = [v for v in vs if v.labels["edge_cases.jaywalker"] == "on"]
    assert len(on) == 3
    # each variant's file locations follow its own cases (problems are reported at the right line)
    for v in vs:
        for j, e in enumerate(v.spec.edge_cases):
            node = v.located.nodes[("edge_cases", j, "kind")]
            assert node.value == e.kind and node.line == 4 + SCENE.splitlines()[3:].index(
                next(ln for ln in SCENE.splitlines()[3:] if f"kind: {e.kind}" in ln))


def test_kind_missing_from_the_scene_is_an_error_at_its_line(tmp_path):
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", "scene: s.yaml\nsweep:\n  replicas: 4\n  edge_case_share:\n"
                                   "    headlight_glare: 0.5\n")
    with pytest.raises(SpecError) as err:
        expand_sweep(w)
    text = str(err.value)
    assert "w.yaml:5" in text and "headlight_glare" in text and "no variant" in text


@pytest.mark.parametrize("body,what", [("    jaywalker: 1.5\n", "less than or equal to 1"),
                                       ("    jaywalkr: 0.5\n", "jaywalker")])
def test_bad_shares_are_refused(tmp_path, body, what):
    _write(tmp_path, "s.yaml", SCENE)
    w = _write(tmp_path, "w.yaml", "scene: s.yaml\nsweep:\n  replicas: 4\n  edge_case_share:\n" + body)
    with pytest.raises(SpecError) as err:
        expand_sweep(w)
    assert "w.yaml:5" in str(err.value) and what in str(err.value)
