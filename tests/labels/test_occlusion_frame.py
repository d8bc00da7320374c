"""Flow occlusion masks, whole-frame labels, and the pictures."""

from __future__ import annotations

import cv2
import numpy as np

from simgen.labels import NeighbourView, compute_frame_labels
from simgen.labels.visualize import (
    contact_sheet,
    depth_to_color,
    flow_legend,
    flow_to_color,
    instance_to_color,
    semantic_to_color,
)
from simgen.world.conventions import intrinsics_from_hfov, look_at, pose_from_xyz_yaw
from tests.labels.synth import box_mesh, entity, make_world, quad_mesh, render

H, W = 48, 64
K = intrinsics_from_hfov(np.deg2rad(70), W, H)


def _wall_pose(y):
    pose = np.eye(4)
    pose[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]
    pose[:3, 3] = (0, y, 0)
    return pose


def test_occlusion_by_moving_box_static_camera():
    """Static camera, a box sliding right in front of a wall. Forward: the wall pixels of frame t that the box
    covers at t+1 are occluded; backward: the wall pixels of frame t that the box covered at t−1. Exact except
    on the box's one-pixel outline, where the test is lenient by design."""
    T = 3
    cam = [look_at((0, 0, 1.0), (0, 10, 1.0))] * T
    wall = entity("wall", "building", quad_mesh(40, 40), [_wall_pose(8.0)] * T)
    box = entity("box", "car", box_mesh((1.5, 1.0, 1.5), (0, 0, 0)), [pose_from_xyz_yaw(-1.0 + 0.6 * t, 4.0, 1.0, 0) for t in range(T)], iid=1)
    world = make_world([wall, box], cam)
    raws = [render(world, t, K, H, W) for t in range(T)]
    lab = compute_frame_labels(raws[1], world, next_view=NeighbourView.from_raw(raws[2]),
                               prev_view=NeighbourView.from_raw(raws[0]))
    for occ, oov, other in ((lab.occluded_fwd, lab.out_of_view_fwd, 2), (lab.occluded_bwd, lab.out_of_view_bwd, 0)):
        box_there = raws[other].object_index == 2
        wall_here = raws[1].object_index == 1
        expected = wall_here & box_there
        assert expected.sum() > 20
        assert not oov.any(), "static camera: nothing leaves the view"
        assert not occ[raws[1].object_index == 2].any(), "the moving box itself stays visible"
        assert not (occ & ~expected).any(), "only wall pixels that the box covers in the other frame"
        inner = cv2.erode(box_there.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert occ[expected & inner].all(), "all covered wall pixels away from the box outline are occluded"


def test_out_of_view_when_camera_pans():
    """Camera translating right by d in front of a wall at Z: forward flow is −f·d/Z; pixel columns u with
    u − f·d/Z < −0.5 leave the image."""
    T, d, Z = 2, 0.5, 8.0
    cam = [look_at((d * t, 0, 1.0), (d * t, 10, 1.0)) for t in range(T)]
    world = make_world([entity("wall", "building", quad_mesh(60, 60), [_wall_pose(Z)] * T)], cam)
    raws = [render(world, t, K, H, W) for t in range(T)]
    lab = compute_frame_labels(raws[0], world, next_view=NeighbourView.from_raw(raws[1]))
    shift = K[0, 0] * d / Z
    u = np.arange(W)
    expected_cols = u - shift < -0.5
    assert 0 < expected_cols.sum() < W
    assert np.array_equal(lab.out_of_view_fwd, np.broadcast_to(expected_cols, (H, W)))
    assert not lab.occluded_fwd.any()
    assert lab.occluded_bwd is None and lab.flow_bwd is None


def test_deforming_object_uses_id_test():
    """A deforming object has no rigid 3D motion: its pixels are occluded iff no neighbouring pixel at the target
    carries its id. Here a static 'pedestrian' is hidden at t+1 by a box moving in front of it."""
    T = 2
    cam = [look_at((0, 0, 1.0), (0, 10, 1.0))] * T
    ped = entity("ped", "pedestrian", box_mesh((0.6, 0.6, 1.8), (0, 0, 0.9)), [pose_from_xyz_yaw(0, 6, 0, 0)] * T, iid=1,
                 deforming=True)
    blocker = entity("b", "car", box_mesh((0.8, 0.5, 3.0), (0, 0, 1.5)), [pose_from_xyz_yaw(-3.0 + 3.0 * t, 3, 0, 0) for t in range(T)],
                     iid=2)
    world = make_world([ped, blocker], cam)
    raws = [render(world, t, K, H, W) for t in range(T)]
    lab = compute_frame_labels(raws[0], world, next_view=NeighbourView.from_raw(raws[1]))
    ped_here = raws[0].object_index == 1
    ped_there = raws[1].object_index == 1
    assert ped_here.sum() > 20
    hidden = ped_here & ~cv2.dilate(ped_there.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert hidden.sum() > 5
    assert lab.occluded_fwd[hidden].all()
    assert not lab.occluded_fwd[ped_here & ped_there].any()


def test_frame_labels_camera_record_and_shapes():
    T = 2
    cam = [look_at((0, -6, 2), (0, 0, 0.5)) for _ in range(T)]
    ents = [entity("g", "road", quad_mesh(30, 30), [np.eye(4)] * T),
            entity("car", "car", box_mesh((3, 1.6, 1.4), (0, 0, 0.7)), [pose_from_xyz_yaw(0.3 * t, 0, 0, 0) for t in range(T)], iid=4)]
    world = make_world(ents, cam)
    lab = compute_frame_labels(render(world, 1, K, H, W), world)
    rec = lab.camera_record()
    assert rec["name"] == "cam" and rec["width"] == W and rec["height"] == H
    assert np.allclose(rec["K"], K) and np.allclose(rec["world_from_camera"], cam[1])
    assert rec["timestamp"] == 1 / world.fps
    assert lab.depth.shape == (H, W) and lab.normal.shape == (H, W, 3) and lab.flow_bwd.shape == (H, W, 2)
    (obj,) = lab.objects
    assert np.allclose(obj.world_from_object, ents[1].poses[1])
    js = obj.to_json()
    assert js["class"] == "car" and js["instance_id"] == 4 and js["deforming"] is False


def test_pictures():
    legend = flow_legend(101)
    assert legend.shape == (101, 101, 3) and legend.dtype == np.uint8
    c = 50
    # rightward flow is red, leftward cyan, downward yellow-ish, no motion white
    assert tuple(legend[c, c + 45]) [0] > 200 and legend[c, c + 45][2] < 100
    assert legend[c, c - 45][0] < 100 and legend[c, c - 45][2] > 200
    assert legend[c + 45, c][0] > 200 and legend[c + 45, c][1] > 200 and legend[c + 45, c][2] < 100
    assert np.all(legend[c, c] == 255)
    flow = np.zeros((4, 5, 2), np.float32)
    flow[0, 0] = np.nan
    flow[1, 1] = (3.0, 0.0)
    img = flow_to_color(flow)
    assert np.all(img[0, 0] == 0) and img[1, 1][0] > img[1, 1][2]
    depth = np.array([[1.0, 2.0, np.inf], [4.0, 8.0, 16.0]], np.float32)
    dimg = depth_to_color(depth)
    assert np.all(dimg[0, 2] == 0) and not np.all(dimg[0, 0] == dimg[1, 2])
    sem = semantic_to_color(np.array([[15, 1]], np.uint8))
    assert tuple(sem[0, 0]) == (0, 0, 142) and tuple(sem[0, 1]) == (128, 64, 128)
    inst = instance_to_color(np.array([[0, 3, 4, 3]], np.uint16))
    assert np.all(inst[0, 0] == 0) and np.all(inst[0, 1] == inst[0, 3]) and not np.all(inst[0, 1] == inst[0, 2])


def test_contact_sheet():
    T = 2
    cam = [look_at((0, -6, 2), (0, 0, 0.5)) for _ in range(T)]
    ents = [entity("g", "road", quad_mesh(30, 30), [np.eye(4)] * T),
            entity("car", "car", box_mesh((3, 1.6, 1.4), (0, 0, 0.7)), [pose_from_xyz_yaw(0.3 * t, 0, 0, 0) for t in range(T)], iid=4)]
    world = make_world(ents, cam)
    raw = render(world, 0, K, H, W)
    sheet = contact_sheet(compute_frame_labels(raw, world), np.full((H, W, 3), 90, np.uint8))
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * (H + 14), 3 * W, 3)
    # the semantic tile (second row, first column) shows the car's class colour
    tile = sheet[H + 14 + 14:, :W]
    assert (np.all(tile == (0, 0, 142), -1)).sum() == (raw.object_index == 2).sum()


def test_contact_sheet_shows_reflections_when_labelled():
    cam = [look_at((0, -6, 2), (0, 0, 0.5))]
    ents = [entity("g", "road", quad_mesh(30, 30), [np.eye(4)]),
            entity("p", "pedestrian", box_mesh((0.5, 0.5, 1.8), (0, 0, 0.9)), [np.eye(4)], iid=3)]
    world = make_world(ents, cam)
    raw = render(world, 0, K, H, W)
    mirror = np.zeros((H, W), bool)
    mirror[2:5, 3:9] = True
    raw.reflection = np.stack([raw.object_index == 2, mirror, np.zeros_like(mirror)], -1).astype(np.float32)
    raw.reflection_index = np.where(mirror, 2.0, 0.0).astype(np.float32)
    labels = compute_frame_labels(raw, world)
    np.testing.assert_array_equal(labels.reflection_instance, np.where(mirror, 3, 0))
    sheet = contact_sheet(labels, np.full((H, W, 3), 90, np.uint8))
    assert sheet.shape == (2 * (H + 14), 4 * W, 3)
    tile = sheet[14:H + 14, 3 * W:]  # top row, fourth column: the reflection overlay
    assert (np.all(tile == (255, 0, 255), -1)).sum() == mirror.sum()
    assert (np.all(tile == (60, 220, 60), -1)).sum() == (raw.object_index == 2).sum() > 0


def test_no_false_occlusion_on_slanted_ground_with_subpixel_motion():
    """Camera driving forward over an empty ground plane: every surface point stays visible (targets fall between
    pixel centres at different depths), so nothing may be flagged occluded; points near the image border leave it."""
    T = 2
    cam = [look_at((0, 0.37 * t, 1.6), (0, 20 + 0.37 * t, 0.0)) for t in range(T)]
    world = make_world([entity("g", "road", quad_mesh(400, 400), [np.eye(4)] * T)], cam)
    raws = [render(world, t, K, H, W) for t in range(T)]
    lab = compute_frame_labels(raws[0], world, next_view=NeighbourView.from_raw(raws[1]))
    valid = lab.flow_fwd_valid
    assert valid.sum() > 0.4 * valid.size
    frac = np.abs(lab.flow_fwd[valid] - np.rint(lab.flow_fwd[valid]))
    assert np.median(frac) > 0.1, "targets really fall between pixel centres"
    assert not lab.occluded_fwd.any()
    assert lab.out_of_view_fwd[valid].any() and not lab.out_of_view_fwd[H // 2 + 5, W // 2]
