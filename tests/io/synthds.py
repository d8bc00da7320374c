"""A small native dataset written with DatasetWriter from analytic labels (the test ray caster plays the renderer).

Sequences: ``street`` variant 0 (one camera ``cam``, level, moving sideways; a road, a moving car, a standing
pedestrian, a bus — a class KITTI has no type for) and ``rig`` variant 1 (two cameras ``front`` and ``left``).
Every frame has flow; the RGB is a colour ramp plus the class colours, so crops and flips are visible in it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simgen.classes import class_table
from simgen.io import DatasetWriter
from simgen.labels import NeighbourView, compute_frame_labels
from simgen.world.conventions import intrinsics_from_hfov, look_at, pose_from_xyz_yaw
from simgen.world.model import Camera
from tests.labels.synth import box_mesh, entity, make_world, quad_mesh, render

HFOV = np.deg2rad(70)


def street_world(frames: int, cameras: list[str] | None = None):
    cams = None
    if cameras:
        cams = [Camera(name, HFOV, [look_at((0.25 * t + 2.0 * i, -9, 1.5), (2.0 * i, 0, 1.5)) for t in range(frames)])
                for i, name in enumerate(cameras)]
    ents = [entity("ground", "road", quad_mesh(40, 40), [np.eye(4)] * frames),
            entity("car", "car", box_mesh((4.0, 1.8, 1.5), (0, 0, 0.75)),
                   [pose_from_xyz_yaw(-1.0 + 0.3 * t, 0.0, 0, 0.35) for t in range(frames)], iid=3),
            entity("ped", "pedestrian", box_mesh((0.5, 0.5, 1.8), (0, 0, 0.9)),
                   [pose_from_xyz_yaw(2.5, -3.0, 0, 1.2)] * frames, iid=5),
            entity("bus", "bus", box_mesh((10, 2.5, 3.0), (0, 0, 1.5)),
                   [pose_from_xyz_yaw(-6.0, 6.0, 0, 0.0)] * frames, iid=7)]
    cam_poses = [look_at((0.25 * t, -9, 1.5), (0, 0, 1.5)) for t in range(frames)]
    return make_world(ents, cam_poses, hfov=HFOV, cameras=cams)


def frame_rgb(labels) -> np.ndarray:
    h, w = labels.semantic.shape
    rgb = class_table().palette()[labels.semantic].copy()
    rgb[..., 1] = np.clip(rgb[..., 1].astype(int) // 2 + np.arange(w)[None, :] * 127 // max(w - 1, 1), 0, 255)
    return rgb


def write_sequence(writer: DatasetWriter, scene: str, variant: int, frames: int, h: int, w: int,
                   cameras: list[str] | None = None, knobs: dict | None = None, tags=()) -> None:
    world = street_world(frames, cameras)
    names = cameras or ["cam"]
    writer.begin_sequence(scene, variant, cameras=names, resolved={"name": scene})
    K = intrinsics_from_hfov(HFOV, w, h)
    for cam in names:
        raws = [render(world, t, K, h, w, camera=cam if cameras else None) for t in range(frames)]
        for t in range(frames):
            nxt = NeighbourView.from_raw(raws[t + 1]) if t + 1 < frames else None
            prv = NeighbourView.from_raw(raws[t - 1]) if t > 0 else None
            lab = compute_frame_labels(raws[t], world, next_view=nxt, prev_view=prv)
            writer.write_frame(lab, frame_rgb(lab), scene=scene, variant=variant, seed=variant, tags=list(tags),
                               knobs=dict(knobs or {}))


def make_dataset(root: Path, h: int = 48, w: int = 64) -> Path:
    writer = DatasetWriter(root)
    write_sequence(writer, "street", 0, 3, h, w, knobs={"fog_density": 0.0, "weather": "clear", "night": False},
                   tags=["day", "city"])
    write_sequence(writer, "rig", 1, 2, h, w, cameras=["front", "left"],
                   knobs={"fog_density": 0.4, "weather": "fog", "night": True}, tags=["night"])
    return root
