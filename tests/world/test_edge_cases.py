"""Edge cases: one module per kind behind a registry, typed parameters, every catalogue scene builds, clear
failures; the render-time visibility rule on synthetic labels."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.spec import load_scene, resolve
from simgen.spec import models as S
from simgen.spec.loader import load_scene_text
from simgen.world.build import build_world
from simgen.world.edge_cases import KINDS
from tests.conftest import REPO

CATALOGUE = sorted((REPO / "scenes" / "edge_cases").glob("*.yaml"))


def test_registry_has_one_module_per_kind_of_the_spec():
    assert set(KINDS) == set(S.EDGE_KINDS)
    modules = {inspect.getmodule(k.build).__name__ for k in KINDS.values()}
    assert len(modules) == len(KINDS)
    for kind, k in KINDS.items():
        assert k.spec.model_fields["kind"].annotation.__args__ == (kind,)
        # typed parameters: the builders read attributes, never dict lookups with their own defaults
        src = Path(inspect.getsourcefile(k.build)).read_text()
        assert "p.get(" not in src and "params[" not in src, kind


def test_resolved_parameters_are_the_spec_model_with_its_defaults():
    spec = load_scene_text("scene: {name: t}\nedge_cases:\n" + "".join(
        f"  - {{kind: {k}}}\n" for k in S.EDGE_KINDS), "t.yaml")
    r = resolve(spec, seed=3)
    for e in r.edge_cases:
        model = KINDS[e.kind].spec
        assert type(e.params) is model
        for name, f in model.model_fields.items():
            if name in ("name", "kind"):
                continue
            assert getattr(e.params, name) == f.default, (e.kind, name)
    # and it survives the resolved file's JSON round trip, typed
    again = type(r).model_validate_json(r.model_dump_json())
    assert [type(e.params) for e in again.edge_cases] == [type(e.params) for e in r.edge_cases]


def test_sampled_parameters_stay_typed_and_within_bounds():
    spec = load_scene_text("scene: {name: t}\nedge_cases:\n  - {kind: occluded_child, speed_mps: "
                           "{dist: uniform, low: 1, high: 3}, animation: {dist: choice, values: [running, walking]}}\n",
                           "t.yaml")
    p = resolve(spec, seed=1).edge_cases[0].params
    assert isinstance(p.speed_mps, float) and 1 <= p.speed_mps <= 3 and p.animation in ("running", "walking")


@pytest.mark.parametrize("path", CATALOGUE, ids=[p.stem for p in CATALOGUE])
def test_catalogue_scene_builds_with_an_actor_per_case(path):
    spec = load_scene(path)
    world = build_world(resolve(spec, seed=0), 96, 72)
    names = [e.name for e in resolve(spec, seed=0).edge_cases]
    actors = {e.attributes["edge_case_name"]: e for e in world.entities if e.attributes.get("edge_case_visible_as")}
    assert sorted(actors) == sorted(names)
    for a in actors.values():
        assert a.attributes["edge_case_visible_as"] == KINDS[a.attributes["edge_case_kind"]].visible_as
        assert a.instance_id > 0


def _world(body: str, road: str = "{sidewalk_width_m: 3.5, parking_lane: true}"):
    spec = load_scene_text(f"scene: {{name: t}}\nroad: {road}\n" + body, "t.yaml")
    return build_world(resolve(spec, seed=0), 96, 72)


@pytest.mark.parametrize("road,body,words", [
    ("{}", "edge_cases: [{kind: pedestrian_reflection_wet_road}]\n", ["weather.wetness = 0.00", "a mirror needs at most 0.3"]),
    ("{}", "weather: {wetness: 0.6}\nedge_cases: [{kind: pedestrian_reflection_wet_road}]\n",
     ["weather.wetness = 0.60", "roughness at 0.44"]),
    ("{length_m: 120}", "edge_cases: [{kind: distant_pedestrian, distance_m: 300}]\n",
     ["x = 300.0 m", "off the road", "120"]),
    ("{sidewalk_width_m: 1.5}", "edge_cases: [{kind: pedestrian_behind_glass_shelter}]\n",
     ["1.4 m deep", "1.5 m sidewalk"]),
])
def test_impossible_cases_fail_with_numbers(road, body, words):
    with pytest.raises(SimgenError) as err:
        _world(body, road)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_glass_shelter_panes_are_clear_glass_and_person_stands_inside():
    w = _world("edge_cases: [{kind: pedestrian_behind_glass_shelter, distance_m: 13}]\n")
    shelter = next(e for e in w.entities if e.name.endswith("_shelter"))
    person = next(e for e in w.entities if e.attributes.get("edge_case_visible_as") == "glass")
    glass = [m for m in shelter.materials if m.transmission >= 0.5]
    assert glass and not any(m.reflective for m in glass)  # seen through, never a mirror
    lo, hi = shelter.mesh.vertices.min(0), shelter.mesh.vertices.max(0)
    xy = person.poses[0][:2, 3]
    assert np.all(xy > lo[:2]) and np.all(xy < hi[:2])
    assert person.attributes["points_through_glass"] >= 3


def test_running_child_runs_towards_the_road_from_behind_the_van():
    w = _world("edge_cases: [{kind: occluded_child, occluder_class: van, speed_mps: 2.5, distance_m: 10}]\n"
               "frames: 4\n")
    child = next(e for e in w.entities if e.attributes.get("edge_case") == "occluded_child")
    assert child.attributes["animation"] == "running" and child.vertex_frames is not None
    dy = child.poses[-1][1, 3] - child.poses[0][1, 3]
    assert dy == pytest.approx(2.5 * 3 / 10.0, rel=1e-6)  # right side: towards +y, the road


# ---- the render-time rule, on synthetic labels ------------------------------------------------------------------

def test_sightings_count_pixels_by_how_the_actor_is_seen():
    from simgen.labels.edge_cases import frame_tags, sightings

    inst = np.zeros((10, 10), np.uint16)
    inst[:2, :2] = 5  # 4 pixels of the jaywalker
    inst[5, 5] = 6  # 1 pixel of the cyclist
    refl = np.zeros((10, 10, 3), np.float32)
    rid = np.zeros((10, 10), np.uint16)
    refl[8, 8, 1], rid[8, 8] = 1, 7  # the window's person, one mirror pixel
    refl[9, 9, 2], rid[9, 9] = 1, 9  # a person seen through glass whose case wants a mirror image
    actors = {"j": ("jaywalker", "direct", [5]), "c": ("cyclist", "direct", [6]),
              "w": ("pedestrian_reflection_window", "mirror", [7]), "p": ("pedestrian_reflection_car", "mirror", [9]),
              "s": ("pedestrian_behind_glass_shelter", "glass", [9])}
    seen = {s.name: s for s in sightings(actors, inst, refl, rid)}
    assert {n: s.pixels for n, s in seen.items()} == {"j": 4, "c": 1, "w": 1, "p": 0, "s": 1}
    assert {n for n, s in seen.items() if s.visible} == {"j", "w", "s"}
    shown, hidden, unchecked = frame_tags(list(seen.values()))
    assert shown == ["jaywalker", "pedestrian_behind_glass_shelter", "pedestrian_reflection_window"]
    assert hidden == ["cyclist", "pedestrian_reflection_car"] and unchecked == []
    # without reflection labels, mirror and glass cases cannot be checked: tagged, and listed as unchecked
    shown, hidden, unchecked = frame_tags(sightings(actors, inst))
    assert "pedestrian_reflection_car" in shown and unchecked == ["pedestrian_behind_glass_shelter",
                                                                  "pedestrian_reflection_car",
                                                                  "pedestrian_reflection_window"]
    assert hidden == ["cyclist"]
