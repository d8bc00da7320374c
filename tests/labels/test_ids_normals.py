"""Semantic/instance maps and camera-frame normals."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.classes import class_table
from simgen.labels import LabelError, compute_frame_labels
from simgen.labels.ids import id_maps
from simgen.labels.normals import normals_to_camera
from simgen.world.conventions import intrinsics_from_hfov, look_at, pose_from_xyz_yaw
from tests.labels.synth import box_mesh, entity, make_world, quad_mesh, render

H, W = 48, 64
K = intrinsics_from_hfov(np.deg2rad(70), W, H)


def test_id_maps_exact():
    table = {1: (0, 1), 2: (300, 15), 3: (65535, 12)}
    oi = np.array([[0, 1, 2], [3, 2, 0]], np.float32)
    sem, inst = id_maps(oi, table)
    assert sem.dtype == np.uint8 and inst.dtype == np.uint16
    assert sem.tolist() == [[0, 1, 15], [12, 15, 0]]
    assert inst.tolist() == [[0, 0, 300], [65535, 300, 0]]


@pytest.mark.parametrize("bad", [1.5, 2.0001, 0.999, -1.0, np.nan])
def test_fractional_or_bad_object_index_raises(bad):
    oi = np.array([[0, 1], [2, bad]], np.float32)
    with pytest.raises(LabelError):
        id_maps(oi, {1: (1, 15), 2: (2, 15)})


def test_unknown_label_key_raises():
    with pytest.raises(LabelError, match=r"\[3\]"):
        id_maps(np.array([[1, 3]], np.float32), {1: (1, 15)})


def test_rendered_ids_match_entities():
    cam = [look_at((0, -8, 3), (0, 0, 0.5))]
    ents = [entity("g", "road", quad_mesh(40, 40), [np.eye(4)]),
            entity("car", "car", box_mesh((3, 1.6, 1.4), (0, 0, 0.7)), [pose_from_xyz_yaw(-1.5, 0, 0, 0.3)], iid=4),
            entity("ped", "pedestrian", box_mesh((0.5, 0.5, 1.8), (0, 0, 0.9)), [pose_from_xyz_yaw(2, -1, 0, 0)], iid=9)]
    world = make_world(ents, cam)
    raw = render(world, 0, K, H, W)
    lab = compute_frame_labels(raw, world)
    keys = raw.object_index.astype(int)
    table = class_table()
    assert np.array_equal(lab.instance == 4, keys == 2) and np.array_equal(lab.instance == 9, keys == 3)
    assert np.all(lab.semantic[keys == 1] == table.by_name("road").id)
    assert np.all(lab.semantic[keys == 2] == table.by_name("car").id)
    assert np.all(lab.semantic[keys == 3] == table.by_name("pedestrian").id)
    assert np.all(lab.semantic[keys == 0] == 0) and np.all(lab.instance[keys == 0] == 0)
    assert set(np.unique(lab.instance)) <= {0, 4, 9}
    assert {o.instance_id for o in lab.objects} == {4, 9}, "records only for instance ids > 0"


def test_ground_normal_seen_by_pitched_camera():
    """World up (0, 0, 1) seen by a level-heading camera pitched down by θ: in OpenCV camera axes
    (x right, y down, z forward) the normal is (0, −cos θ, −sin θ)."""
    pitch = np.deg2rad(25.0)
    eye = np.array([0.0, 0.0, 2.0])
    pose = look_at(eye, eye + [0.0, np.cos(pitch), -np.sin(pitch)])
    world = make_world([entity("g", "road", quad_mesh(100, 100), [np.eye(4)])], [pose])
    lab = compute_frame_labels(render(world, 0, K, H, W), world)
    hit = np.isfinite(lab.depth)
    assert hit.any() and (~hit).any()
    assert lab.normal.dtype == np.float32
    assert np.allclose(lab.normal[hit], [0.0, -np.cos(pitch), -np.sin(pitch)], atol=1e-6)
    assert np.all(lab.normal[~hit] == 0.0), "background normals are (0, 0, 0)"


def test_normals_with_yawed_camera_and_renormalised():
    """A camera looking along world +x: world −x (a wall facing the camera) becomes camera −z; world +y (to
    the camera's left) becomes camera −x; lengths are normalised."""
    pose = look_at((0, 0, 1), (5, 0, 1))
    n = np.zeros((2, 2, 3))
    n[0, 0] = (-2.0, 0, 0)
    n[0, 1] = (0, 0.5, 0)
    n[1, 0] = (0, 0, 3.0)
    valid = np.array([[True, True], [True, False]])
    out = normals_to_camera(n, pose, valid)
    assert np.allclose(out[0, 0], (0, 0, -1)) and np.allclose(out[0, 1], (-1, 0, 0))
    assert np.allclose(out[1, 0], (0, -1, 0)) and np.all(out[1, 1] == 0)
