"""People from the baked body bank: closed bodies, planted feet, phase from ground covered, looks, fallback."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import trimesh

from simgen.world import people
from simgen.world.assets import make_asset
from tests.conftest import REPO

FPS = 30.0
SPEED = {"walking": 1.4, "carrying": 1.3, "stroller": 1.1, "running": 3.2, "cycling": 5.0}


@pytest.fixture(scope="module")
def bank():
    b = people.load_bank()
    if b is None:
        pytest.fail(f"no body bank at {people.bank_path()}: run scripts/setup.sh (scripts/bake_bodies.py)")
    return b


def _walk(behaviour: str, seed: int, T: int = 45, cls: str = "pedestrian"):
    mesh, mats = make_asset("cyclist" if behaviour == "cycling" else cls, None, 1.0, np.random.default_rng(seed),
                            behaviour)
    p = mesh.rig
    t = np.arange(T) / FPS
    travelled = SPEED[behaviour] * t
    v = (people.animate(p, behaviour, travelled, t, 0.37) - [0, 0, p.z_shift]) * p.scale
    world = v.copy()
    world[..., 0] += travelled[:, None]  # walking along +x
    return mesh, p, v, world


def test_bank_is_consistent(bank):
    B, V, _ = bank.vertices.shape
    assert B >= 40 and 2500 <= V <= 6000
    np.testing.assert_allclose(bank.weights.sum(1), 1.0, atol=1e-5)
    assert bank.weight_bones.max() < len(bank.bone_names)
    assert np.all(bank.bone_parents[1:] < np.arange(1, len(bank.bone_names)))  # parents first
    tm = trimesh.Trimesh(bank.vertices[0], bank.faces, process=False)
    assert tm.is_watertight and tm.is_winding_consistent and tm.volume > 0
    # a spread of bodies: children to adults, both genders
    assert bank.stature.min() < 1.2 and bank.stature.max() > 1.8
    assert set(np.unique(bank.params[:, 1])) == {0.0, 1.0}
    parts = {bank.part_names[i] for i in np.unique(bank.face_part)}
    assert {"head", "hand", "foot", "torso", "thigh", "shin", "upper_arm", "forearm"} <= parts


@pytest.mark.parametrize("behaviour", ["walking", "carrying", "stroller", "running"])
def test_stance_feet_stay_planted_and_on_the_ground(bank, behaviour):
    mesh, p, v, world = _walk(behaviour, 1)
    nb = len(p.body)
    step = SPEED[behaviour] / FPS
    feet = np.isin(bank.weight_bones[:, 0], [bank.bone("foot.L"), bank.bone("foot.R")])
    fw = world[:, :nb][:, feet]
    slides = []
    for t in range(len(v) - 1):
        on = (fw[t, :, 2] < 0.003) & (fw[t + 1, :, 2] < 0.003)
        if on.sum() >= 3:
            slides.append(np.linalg.norm(fw[t + 1, on] - fw[t, on], axis=1).max())
    assert len(slides) > 0.5 * (len(v) - 1) if behaviour != "running" else len(slides) > 0.2 * (len(v) - 1)
    # a foot on the ground moves less than a tenth of what the body covers per frame
    assert max(slides) < 0.1 * step, (max(slides), step)
    low = v[..., 2].min(1)
    assert low.min() > -0.01, "nothing sinks into the ground"
    if behaviour == "running":
        assert (low < 0.01).mean() > 0.3 and low.max() > 0.02  # stance phases and a flight phase
    else:
        assert low.max() < 0.01, "a walker always has a foot on the ground (±1 cm)"


def test_phase_follows_ground_covered_not_time(bank):
    mesh, _ = make_asset("pedestrian", None, 1.0, np.random.default_rng(2), "walking")[:2], None
    p = mesh[0].rig
    d = np.linspace(0.0, 2.0, 9)
    a = people.animate(p, "walking", d, np.linspace(0, 1.4, 9), 0.2)
    b = people.animate(p, "walking", d, np.linspace(0, 3.0, 9), 0.2)  # same path, slower clock
    np.testing.assert_allclose(a, b, atol=1e-12)
    # one full stride later the pose repeats
    S = p.stride("walking")
    c = people.animate(p, "walking", d + S, np.linspace(0, 1.4, 9), 0.2)
    np.testing.assert_allclose(a, c, atol=1e-9)
    # knees bend: the leg is not a rigid pendulum (ankle-to-hip distance changes through the cycle)
    hip, ank = (p.heads[bank.bone(n)] for n in ("upperleg01.L", "foot.L"))
    assert np.ptp(a[:, :, 2].max(1)) > 0.005  # the head bobs


def test_cyclist_pedals_with_the_crank(bank):
    mesh, p, v, world = _walk("cycling", 3, T=40)  # about 1.4 crank turns
    nb = len(p.body)
    foot = bank.weight_bones[:nb, 0] == bank.bone("foot.L")
    ankles = v[:, :nb][:, foot].mean(1)[:, [0, 2]]  # (T, 2) x, z
    centre = (ankles.min(0) + ankles.max(0)) / 2
    r = np.linalg.norm(ankles - centre, axis=1)
    crank = p.bike["crank"] * p.scale[0]
    # the foot goes round a circle of the crank's radius, near the bottom bracket
    assert abs(r.mean() - crank) < 0.03 and np.ptp(r) < 0.05, (r.mean(), crank, np.ptp(r))
    bb = (p.bike["bb"] - [0, 0, p.z_shift])[[0, 2]]
    assert np.linalg.norm(centre - bb) < 0.12
    assert v[..., 2].min() > -0.01


def test_looks_vary_and_are_recorded(bank):
    skins, tops, styles = [], [], set()
    for k in range(30):
        mesh, mats = make_asset("pedestrian", None, 1.0, np.random.default_rng(k), "walking")
        rec = mesh.rig.record()
        skins.append(np.mean(rec["look"]["skin_rgb"]))
        tops.append(tuple(rec["look"]["top_rgb"]))
        styles.add(rec["look"]["hair_style"])
        names = [m.name for m in mats]
        assert {"skin", "clothes_top", "clothes_bottom", "shoes", "hair"} <= set(names) or \
            rec["look"]["hair_style"] == "bald"
        assert len(set(mesh.face_material.tolist())) == len(mats), "every material is used"
        assert 1.4 < rec["phenotype"]["stature_m"] < 2.05
    assert max(skins) > 2.5 * min(skins), "skin tones from light to dark"
    assert len(set(tops)) > 10 and len(styles) >= 3
    child, _ = make_asset("child", None, 1.0, np.random.default_rng(0), "walking")
    assert child.vertices[:, 2].max() < 1.6


def test_missing_bank_falls_back_to_block_figures_with_one_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SIMGEN_DATA_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        m1, _ = make_asset("pedestrian", None, 1.0, np.random.default_rng(0), "walking")
        m2, _ = make_asset("cyclist", None, 1.0, np.random.default_rng(0), "cycling")
    assert m1.rig is None and m1.vertex_group is not None and m2.rig is None
    lines = [r.getMessage() for r in caplog.records if "body bank" in r.getMessage()]
    assert len(lines) == 1 and "scripts/setup.sh" in lines[0]


def _world_box(v: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = v @ pose[:3, :3].T + pose[:3, 3]
    return w.min(0), w.max(0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_people_scene_feet_on_ground_and_no_intersections(bank, seed):
    """Every person of the close-up scene: the lowest point within ±1 cm of the ground at every frame (runners:
    never below), and no vertex of a person inside another object's closed mesh (trimesh, ray tests)."""
    from simgen.spec import load_scene, resolve
    from simgen.world.build import build_world

    r = resolve(load_scene(REPO / "scenes" / "people_closeup.yaml"), seed)
    world = build_world(r, 160, 120)
    persons = [e for e in world.entities if e.class_name in ("pedestrian", "child", "cyclist")]
    assert len(persons) >= 8 and all(e.mesh.rig is not None for e in persons)
    kinds = {e.attributes["animation"] for e in persons}
    assert {"walking", "running", "carrying", "stroller", "cycling", "waiting"} <= kinds
    things = [e for e in world.entities if e.instance_id and e.label_visible]
    for e in persons:
        lows = np.array([e.vertices_at(f)[:, 2].min() for f in range(world.frame_count)])
        assert lows.min() > -0.01, e.name
        if e.attributes["animation"] != "running":
            assert lows.max() < 0.01, (e.name, lows)
        assert e.deforming is (e.attributes["animation"] != "standing")
    for f in range(world.frame_count):
        for a in persons:
            va = a.vertices_at(f) @ a.poses[f][:3, :3].T + a.poses[f][:3, 3]
            for b in things:
                if b is a:
                    continue
                lo, hi = _world_box(b.vertices_at(f), b.poses[f])
                near = np.all((va >= lo) & (va <= hi), axis=1)
                if not near.any():
                    continue
                vb = b.vertices_at(f) @ b.poses[f][:3, :3].T + b.poses[f][:3, 3]
                tb = trimesh.Trimesh(vb, b.mesh.faces, process=False)
                assert tb.is_watertight, b.name
                inside = tb.contains(va[near])
                assert not inside.any(), (a.name, b.name, f, int(inside.sum()))


@pytest.mark.parametrize("behaviour", ["stroller", "cycling"])
def test_hands_hold_the_handle_or_the_handlebar(bank, behaviour):
    mesh, p, v, _ = _walk(behaviour, 4, T=10)
    grip = (p.stroller_handle if behaviour == "stroller" else p.bike["bar"]) - [0.0, 0.0, p.z_shift]
    nb = len(p.body)
    for side in ("L", "R"):
        hand = (bank.weight_bones[:nb, 0] == bank.bone(f"wrist.{side}")) & (bank.weights[:nb, 0] > 0.9)
        # some part of the hand touches the bar (side view, x-z) at every frame
        gap = np.linalg.norm((v[:, :nb][:, hand] - grip)[..., [0, 2]], axis=-1).min(1)  # (T,)
        assert gap.max() < 0.04, (side, gap.max())
