"""Over 100 seeds of a busy street (catalog vehicles, trees, street furniture, people), no two objects intersect
(exact mesh-mesh collision with FCL, at the first and last frame) and every object stands on the surface below it
(its lowest vertex within 1 cm of the road / sidewalk height at its footprint; people in their rest shape).

``SIMGEN_TEST_SEEDS`` lowers the number of seeds for a quick local run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simgen.spec import load_scene
from simgen.spec.resolve import resolve
from simgen.world.build import FOOTPRINT_HEIGHT, build_world_with_layout

fcl = pytest.importorskip("fcl")

REPO = Path(__file__).resolve().parents[2]
SEEDS = range(int(__import__("os").environ.get("SIMGEN_TEST_SEEDS", "100")))
TOL = 0.01


class _Bvh:
    """FCL BVH models of meshes, built once per mesh object (catalog meshes are shared between worlds)."""

    def __init__(self):
        self.cache: dict[int, tuple[object, object]] = {}

    def get(self, mesh):
        key = id(mesh.vertices)
        if key not in self.cache:
            faces = mesh.faces if mesh.faces.shape[1] == 3 else np.concatenate(
                [mesh.faces[:, [0, 1, 2]], mesh.faces[:, [0, 2, 3]]])
            m = fcl.BVHModel()
            m.beginModel(len(mesh.vertices), len(faces))
            m.addSubModel(np.asarray(mesh.vertices, float), np.asarray(faces, np.int32))
            m.endModel()
            self.cache[key] = (mesh.vertices, m)  # keep the array alive so its id stays unique
        return self.cache[key][1]


def _world_aabb(verts: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = verts @ pose[:3, :3].T + pose[:3, 3]
    return w.min(0), w.max(0)


def _intersections(world, bvh: _Bvh, frame: int) -> list[tuple[str, str]]:
    things = [e for e in world.entities if e.instance_id and e.label_visible]
    boxes = [_world_aabb(e.vertices_at(frame), e.poses[frame]) for e in things]
    hits = []
    for i in range(len(things)):
        for j in range(i + 1, len(things)):
            (alo, ahi), (blo, bhi) = boxes[i], boxes[j]
            if np.any(alo > bhi) or np.any(blo > ahi):
                continue
            a, b = things[i], things[j]
            if a.deforming or b.deforming:  # people: their swinging limbs at this frame
                ma = _deformed(a, frame)
                mb = _deformed(b, frame)
            else:
                ma, mb = a.mesh, b.mesh
            oa = fcl.CollisionObject(bvh.get(ma), fcl.Transform(a.poses[frame][:3, :3], a.poses[frame][:3, 3]))
            ob = fcl.CollisionObject(bvh.get(mb), fcl.Transform(b.poses[frame][:3, :3], b.poses[frame][:3, 3]))
            if fcl.collide(oa, ob, fcl.CollisionRequest(), fcl.CollisionResult()):
                hits.append((a.name, b.name))
    return hits


def _deformed(e, frame):
    from simgen.world.model import Mesh

    if not e.deforming:
        return e.mesh
    return Mesh(e.vertices_at(frame), e.mesh.faces, e.mesh.face_material)


def _standing(world, layout) -> list[str]:
    bad = []
    for e in world.entities:
        if not e.instance_id or not e.label_visible:
            continue
        # deforming people: their rest shape (gait swings lift and dip the feet; planted feet are the people
        # rig's own check)
        v = e.mesh.vertices
        pose = e.poses[0]
        w = v @ pose[:3, :3].T + pose[:3, 3]
        base = v[v[:, 2] <= FOOTPRINT_HEIGHT]
        lo, hi = base.min(0), base.max(0)
        corners = np.array([[x, y, 0.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])]) @ pose[:3, :3].T
        pts = np.vstack([pose[:2, 3][None], corners[:, :2] + pose[:2, 3]])
        ground = layout.ground_z(pts)
        if abs(w[:, 2].min() - ground[0]) > TOL or np.ptp(ground) > TOL:
            bad.append(f"{e.name}: lowest point {w[:, 2].min():.3f} m, ground {np.round(ground, 3).tolist()}")
    return bad


def test_busy_street_over_100_seeds_has_no_intersections_and_everything_stands():
    spec = load_scene(REPO / "scenes" / "busy_street.yaml")
    bvh = _Bvh()
    problems, counts = [], []
    for seed in SEEDS:
        r = resolve(spec, seed)
        r = r.model_copy(update={"frames": 3})
        world, layout = build_world_with_layout(r, 64, 48)
        things = [e for e in world.entities if e.instance_id]
        counts.append(len(things))
        for frame in (0, world.frame_count - 1):
            problems += [f"seed {seed} frame {frame}: {a} x {b}" for a, b in _intersections(world, bvh, frame)]
        problems += [f"seed {seed}: {m}" for m in _standing(world, layout)]
    assert not problems, "\n".join(problems[:30])
    assert min(counts) >= 40  # a busy street: vehicles, people, lamps and street furniture


def test_people_walking_side_by_side_never_touch():
    """The roadside scene puts a third of its walkers beside another (placement.together, 5 cm between their
    footprints): over 20 seeds, at every frame, their swinging arms and legs never intersect anything."""
    spec = load_scene(REPO / "scenes" / "roadside_camera.yaml")
    bvh = _Bvh()
    problems, pairs = [], 0
    for seed in range(min(20, len(SEEDS))):
        world, layout = build_world_with_layout(resolve(spec, seed), 64, 48)
        pairs += sum(1 for e in world.entities if "walks_with" in e.attributes)
        for frame in range(world.frame_count):
            problems += [f"seed {seed} frame {frame}: {a} x {b}" for a, b in _intersections(world, bvh, frame)]
        problems += [f"seed {seed}: {m}" for m in _standing(world, layout)]
    assert not problems, "\n".join(problems[:30])
    assert pairs >= 20  # side by side is common, so the check has teeth
