"""Procedural assets: closed meshes, sane sizes and frames, materials, scaling, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from simgen.classes import class_table
from simgen.errors import SimgenError
from simgen.world.assets import COLOURS, PERSON_CLASSES, REGISTRY, AssetError, light_mounts, make_asset
from simgen.world.people import load_bank

THINGS = [c.name for c in class_table().classes if c.thing]
#: rough real-world sizes (length x, width y, height z), metres, with a tolerance factor
SIZES = {"car": (4.4, 1.8, 1.45), "van": (5.0, 2.0, 2.1), "truck": (8.0, 2.5, 3.6), "bus": (12.0, 2.55, 3.1),
         "pedestrian": (0.3, 0.55, 1.75), "child": (0.3, 0.45, 1.3), "cyclist": (1.8, 0.6, 1.75),
         "tree": (2.8, 2.8, 5.0), "street_light": (1.9, 0.3, 7.2), "traffic_light": (0.25, 0.32, 3.45)}


def _rng(k=0):
    return np.random.default_rng(k)


@pytest.fixture
def block_people(tmp_path, monkeypatch):
    """No body bank: people are the procedural block figures."""
    monkeypatch.setenv("SIMGEN_DATA_DIR", str(tmp_path))


def test_every_thing_class_has_an_asset():
    assert set(THINGS) <= set(REGISTRY), set(THINGS) - set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_asset_is_closed_grounded_and_lowpoly(name):
    mesh, mats = make_asset(name, None, 1.0, _rng())
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    assert tm.is_watertight, f"{name} is not closed"
    # every part winds outwards (positive signed volume per closed component)
    assert all(part.volume > 0 for part in tm.split(only_watertight=False)), f"{name} has inward faces"
    # people from the body bank: one ~4k-vertex body (plus hair, props); everything else is low-poly
    budget = 12000 if name in PERSON_CLASSES and load_bank() is not None else 2000
    assert len(mesh.faces) < budget, f"{name}: {len(mesh.faces)} triangles"
    lo, hi = mesh.bounds()
    assert lo[2] == pytest.approx(0.0, abs=1e-9), "ground contact at z = 0"
    # origin (ground contact centre) lies inside the footprint
    assert lo[0] < 0 < hi[0] and lo[1] < 0 < hi[1]
    assert mesh.face_material.min() >= 0 and mesh.face_material.max() < len(mats)
    assert len(set(mesh.face_material.tolist())) == len(mats), "every material is used"
    if name in SIZES:
        size = hi - lo
        assert np.all(size > 0.6 * np.array(SIZES[name])) and np.all(size < 1.4 * np.array(SIZES[name])), size


@pytest.mark.parametrize("name", ["car", "van", "truck", "bus"])
def test_vehicles_have_glass_and_reflective_paint(name):
    mesh, mats = make_asset(name, "red", 1.0, _rng())
    paint = [m for m in mats if m.name == "paint"][0]
    glass = [m for m in mats if m.transmission == 1.0]
    assert paint.reflective and paint.metallic > 0 and paint.base_color == COLOURS["red"]
    assert glass and all(g.reflective for g in glass)
    gi = [i for i, m in enumerate(mats) if m.transmission == 1.0]
    glass_faces = np.isin(mesh.face_material, gi)
    # panes are closed boxes (thickness), not single planes
    pane = trimesh.Trimesh(mesh.vertices, mesh.faces[glass_faces], process=True)
    assert pane.is_watertight and pane.volume > 0


def test_vehicle_faces_forward():
    """+x is forward: headlamps on the +x end, tail lamps on the -x end."""
    mesh, mats = make_asset("car", None, 1.0, _rng())
    v = mesh.vertices
    for mname, sign in (("headlamp", 1), ("taillamp", -1)):
        idx = [i for i, m in enumerate(mats) if m.name == mname][0]
        xs = v[np.unique(mesh.faces[mesh.face_material == idx])][:, 0]
        assert np.all(sign * xs > 1.5)


def test_scale_and_colour():
    m1, mats1 = make_asset("pedestrian", (0.1, 0.2, 0.3), 1.0, _rng(3))
    m2, mats2 = make_asset("pedestrian", (0.1, 0.2, 0.3), 2.0, _rng(3))
    np.testing.assert_allclose(m2.vertices, 2 * m1.vertices)
    assert mats1[1].base_color == (0.1, 0.2, 0.3)
    m3, _ = make_asset("car", None, (1.0, 1.0, 2.0), _rng(1))
    m4, _ = make_asset("car", None, 1.0, _rng(1))
    np.testing.assert_allclose(m3.vertices[:, 2], 2 * m4.vertices[:, 2])
    np.testing.assert_allclose(m3.vertices[:, :2], m4.vertices[:, :2])


def test_deterministic_per_rng():
    a, ma = make_asset("tree", None, 1.0, _rng(7))
    b, mb = make_asset("tree", None, 1.0, _rng(7))
    np.testing.assert_array_equal(a.vertices, b.vertices)
    assert ma == mb


@pytest.mark.parametrize("bad,what", [("dragon", "unknown"), ("road", "stuff"), ("building", "stuff")])
def test_unknown_class_is_a_clear_error(bad, what):
    with pytest.raises(SimgenError, match=f"'{bad}'.*{what}"):
        make_asset(bad, None, 1.0, _rng())


@pytest.mark.parametrize("colour,scale", [("octarine", 1.0), ((2.0, 0.0, 0.0), 1.0), ("red", 0.0), ("red", -1)])
def test_bad_colour_or_scale(colour, scale):
    with pytest.raises(SimgenError):
        make_asset("car", colour, scale, _rng())


def test_light_mounts_point_the_right_way():
    (lamp,) = light_mounts("street_light", 1.0)
    down = lamp.local_pose[:3, :3] @ [0, 0, -1.0]
    assert down == pytest.approx([0, 0, -1.0]) and lamp.local_pose[2, 3] > 6.0
    mesh, _ = make_asset("car", None, 1.0, _rng())
    heads = light_mounts("car", 1.0, mesh)
    assert len(heads) == 2
    for h in heads:
        d = h.local_pose[:3, :3] @ [0, 0, -1.0]
        assert d[0] > 0.99 and d[2] < 0  # forward, slightly down
        assert h.local_pose[0, 3] >= mesh.bounds()[1][0]
    assert light_mounts("tree") == []


def test_walking_person_swings_rigid_limbs_about_hips_and_shoulders(block_people):
    from simgen.world.assets import PERSON_BONES, gait_phases, person_pose_frames

    mesh, _ = make_asset("pedestrian", "red", 1.0, np.random.default_rng(3))
    g = mesh.vertex_group
    assert g is not None and set(np.unique(g)) == set(PERSON_BONES.values())
    phases = np.linspace(0.0, 2 * np.pi, 9)
    frames = person_pose_frames(mesh, phases, "walking")
    assert frames.shape == (9, len(mesh.vertices), 3)
    body = g == PERSON_BONES["body"]
    np.testing.assert_array_equal(frames[:, body], np.broadcast_to(mesh.vertices[body], frames[:, body].shape))
    for part in ("leg_left", "leg_right", "arm_left", "arm_right"):
        sel = g == PERSON_BONES[part]
        rest = mesh.vertices[sel]
        for f in frames[:, sel]:
            # a rigid turn: every pairwise distance within the limb is kept
            np.testing.assert_allclose(np.linalg.norm(f[:, None] - f[None], axis=-1),
                                       np.linalg.norm(rest[:, None] - rest[None], axis=-1), atol=1e-9)
            np.testing.assert_allclose(f[:, 1], rest[:, 1])  # the swing stays in the walking plane
    # legs swing in opposite directions; an arm against the leg on its side; phase 0 is the rest pose
    def foot(part, k):  # mean forward displacement of a limb at phase k
        sel = g == PERSON_BONES[part]
        return frames[k, sel, 0].mean() - mesh.vertices[sel, 0].mean()

    quarter = 2  # phase pi/2: largest swing
    assert foot("leg_left", quarter) * foot("leg_right", quarter) < 0
    assert foot("leg_left", quarter) * foot("arm_left", quarter) < 0
    assert abs(foot("leg_left", quarter)) > 0.1
    np.testing.assert_allclose(frames[0], mesh.vertices, atol=1e-12)
    # the phase follows the ground covered: one cycle per stride
    poses = np.stack([np.eye(4)] * 5)
    poses[:, 0, 3] = np.arange(5) * 0.35
    ph = gait_phases(poses, 10.0, 1.75, "walking")
    np.testing.assert_allclose(np.diff(ph), 2 * np.pi * 0.35 / (0.8 * 1.75))
    still = gait_phases(np.stack([np.eye(4)] * 5), 10.0, 1.75, "walking")
    np.testing.assert_allclose(np.diff(still), 2 * np.pi * 0.9 / 10.0)
    with pytest.raises(AssetError, match="rig"):
        person_pose_frames(make_asset("car", "red", 1.0, np.random.default_rng(0))[0], phases, "walking")
