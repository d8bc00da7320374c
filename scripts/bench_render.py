"""Benchmark the Blender adapter: where the time of one frame goes, and how fast a scene is built.

Usage: .venv/bin/python scripts/bench_render.py [--width 640 --height 480 --samples 64 --frames 3 --objects 200
                                               --sensor automotive_front_hdr]

Renders a small street (asphalt road, textured buildings, moving cars, a moving camera, physical sky) on the
CPU and prints, per frame, the seconds for scene build, beauty render, label render, post-processing
(simgen.labels) and writing (simgen.io), the share of the frame time that is not the beauty render
(target <= 15 %), the time to build a scene of N boxes (target <= 1 s), and of walking people whose limbs
swing (one shape key per frame each), and the world + scene build of a busy street of about 100 catalog meshes
(vehicles, trees, street furniture; target <= 2 s once the asset cache is warm). Targets are reported, not
asserted.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simgen.rng import stream  # noqa: E402
from simgen.world.conventions import look_at, pose_from_xyz_yaw  # noqa: E402
from simgen.world.model import Camera, Entity, Lighting, Material, Mesh, World  # noqa: E402


def box_mesh(sx: float, sy: float, sz: float) -> Mesh:
    v = np.array([[x, y, z] for z in (0.0, sz) for y in (-sy / 2, sy / 2) for x in (-sx / 2, sx / 2)])
    faces = [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]]
    return Mesh(v, faces)


def street(n_objects: int, frames: int, seed: int = 0) -> World:
    """A road with buildings on both sides and cars, half of them driving; the camera drives too."""
    T = frames
    still = lambda pose: np.stack([pose] * T)  # noqa: E731
    road = Entity("road", "road", Mesh([(-8, -20, 0), (8, -20, 0), (8, 200, 0), (-8, 200, 0)], [(0, 1, 2, 3)]),
                  [Material("asphalt", (0.25, 0.25, 0.25), roughness=0.8, texture="asphalt")], still(np.eye(4)))
    ents = [road]
    rng = stream(seed, "bench", 0, "layout")
    paints = [Material(f"paint{i}", tuple(rng.uniform(0.05, 0.8, 3)), roughness=0.3, texture="noise",
                       reflective=True) for i in range(6)]
    brick = Material("brick", (0.55, 0.3, 0.2), texture="brick", texture_scale=2.0)
    for i in range(n_objects - 1):
        if i % 3 == 0:  # building
            side = -1 if (i // 3) % 2 else 1
            y = 5 + 12 * (i // 6)
            ents.append(Entity(f"bld{i}", "building", box_mesh(6, 10, rng.uniform(6, 15)), [brick],
                               still(pose_from_xyz_yaw(side * 12, y, 0, 0))))
        else:
            lane = -2.0 if i % 2 else 2.0
            y0 = 8 + 6 * (i // 2) % 120
            speed = 1.0 if i % 4 == 1 else 0.0
            poses = np.stack([pose_from_xyz_yaw(lane, y0 + speed * t, 0, math.pi / 2) for t in range(T)])
            ents.append(Entity(f"car{i}", "car", box_mesh(4.2, 1.8, 1.5), [paints[i % len(paints)]], poses,
                               instance_id=i + 1))
    cam_poses = np.stack([look_at((0.0, -6.0 + 0.8 * t, 1.6), (0.0, 40.0 + 0.8 * t, 1.0)) for t in range(T)])
    return World("bench", T, 10.0, ents, [Camera("front", math.radians(80), cam_poses)],
                 lighting=Lighting(sun_elevation_rad=0.7))


def walkers(n: int, frames: int) -> World:
    """``n`` people walking side by side (legs and arms swing: one shape key per frame each)."""
    from simgen.world.assets import gait_phases, make_asset, person_pose_frames
    from simgen.world.people import entity_frames

    ents = []
    for i in range(n):
        mesh, mats = make_asset("pedestrian", None, 1.0, stream(0, "bench", 0, f"walker/{i}"), "walking")
        poses = np.stack([pose_from_xyz_yaw(0.14 * t, 1.0 * i, 0.0, 0.0) for t in range(frames)])
        if mesh.rig is not None:  # a body from the bank
            vf = entity_frames(mesh, poses, np.arange(frames) / 10.0, "walking")
        else:  # the block figure
            vf = person_pose_frames(mesh, gait_phases(poses, 10.0, 1.75, "walking"), "walking")
        ents.append(Entity(f"walker_{i}", "pedestrian", mesh, mats, poses, instance_id=i + 1, vertex_frames=vf))
    cam = np.stack([look_at((-6.0, -6.0, 1.6), (0.0, 0.0, 1.0))] * frames)
    return World("walkers", frames, 10.0, ents, [Camera("front", math.radians(80), cam)])


BUSY_100 = """\
extends: {base}
scene: {{name: bench_busy_street}}
street_furniture: {{density: 0.9}}
frames: {frames}
"""


def catalog_street(settings, frames: int, seeds=(0, 1, 2, 3)) -> tuple[float, list[float], int, float]:
    """World + Blender scene build of scenes/busy_street.yaml with dense street furniture (catalog vehicles,
    trees and furniture; about 100 actors). Returns (first build s, later builds s, actors, median CPU s of the
    later builds)."""
    from simgen.render.blender import build_scene
    from simgen.spec import load_scene
    from simgen.spec.resolve import resolve
    from simgen.spec.yamlio import include_roots
    from simgen.world.build import build_world

    with tempfile.TemporaryDirectory(prefix="simgen-bench-") as tmp:
        scene = Path(tmp) / "busy.yaml"
        scene.write_text(BUSY_100.format(base=ROOT / "scenes" / "busy_street.yaml", frames=frames))
        with include_roots(ROOT / "scenes"):  # the temporary scene extends a scene of the project
            spec = load_scene(scene)
    times, cpu, actors = [], [], 0
    for seed in seeds:
        t0, c0 = time.perf_counter(), time.process_time()
        world = build_world(resolve(spec, seed), settings.width, settings.height)
        build_scene(world, settings)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        actors = max(actors, sum(1 for e in world.entities if e.instance_id))
    return times[0], times[1:], actors, statistics.median(cpu[1:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--scene-objects", type=int, default=60, help="objects in the rendered street")
    ap.add_argument("--objects", type=int, default=200, help="objects in the build-only benchmark")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--reflection", action="store_true", help="also render the reflection-label pass")
    ap.add_argument("--walkers", type=int, default=50, help="walking people in the deforming-build benchmark")
    ap.add_argument("--walker-frames", type=int, default=100, help="frames of the deforming-build benchmark")
    ap.add_argument("--catalog-only", action="store_true",
                    help="only the world + scene build of a ~100-actor street of catalog meshes")
    ap.add_argument("--sensor", default="none", help="sensor preset of the camera (its cost shows as sensor)")
    args = ap.parse_args(argv)

    from simgen.render.blender import build_scene, render_world
    from simgen.render.settings import RenderSettings

    try:
        from simgen.io.dataset import DatasetWriter
        from simgen.labels.frame import NeighbourView, compute_frame_labels
        have_post = True
    except ImportError as err:  # pragma: no cover - only before simgen.labels/io exist
        print(f"note: post-processing/writing not timed ({err})")
        have_post = False

    # --- scene build for N objects (build only, no render)
    settings = RenderSettings(width=args.width, height=args.height, samples=args.samples, device="cpu",
                              threads=args.threads, denoiser="none",
                              passes={"rgb", "depth", "flow", "normal"} | ({"reflection"} if args.reflection else set()))
    first, later, actors, cpu = catalog_street(settings, args.frames)
    catalog_line = (f"world + scene build, busy street of catalog meshes ({actors} actors): first {first:.2f} s "
                    f"(cold asset cache in this process), then {statistics.median(later):.2f} s wall, {cpu:.2f} s "
                    f"CPU (median of {len(later)}; target <= 2 s)")
    if args.catalog_only:
        print(catalog_line)
        return 0
    big = street(args.objects, args.frames)
    build_scene(big, settings)  # warm-up: first device probe / library loading
    builds = []
    for _ in range(3):
        builds.append(build_scene(big, settings).build_seconds)
    build_n = statistics.median(builds)
    walk = walkers(args.walkers, args.walker_frames)
    build_walk = statistics.median(build_scene(walk, settings).build_seconds for _ in range(3))

    # --- frame timings
    world = street(args.scene_objects, args.frames)
    if args.sensor != "none":
        from simgen.sensor import preset_params

        world.cameras[0].sensor = preset_params(args.sensor)
    raws, rows = [], []
    with tempfile.TemporaryDirectory(prefix="simgen-bench-") as tmp:
        writer = None
        if have_post:
            writer = DatasetWriter(Path(tmp) / "ds")
            writer.begin_sequence("bench", 0, [c.name for c in world.cameras])
        for raw in render_world(world, settings):
            raws.append(raw)
        for t, raw in enumerate(raws):
            post = write = float("nan")
            if have_post:
                t0 = time.perf_counter()
                labels = compute_frame_labels(
                    raw, world,
                    next_view=NeighbourView.from_raw(raws[t + 1]) if t + 1 < len(raws) else None,
                    prev_view=NeighbourView.from_raw(raws[t - 1]) if t > 0 else None,
                )
                t1 = time.perf_counter()
                writer.write_frame(labels, raw.rgb, scene="bench", variant=0, seed=0)
                t2 = time.perf_counter()
                post, write = t1 - t0, t2 - t1
            rows.append((raw.timings, post, write))

    print(f"frame timings at {args.width}x{args.height}, {args.samples} spp, CPU "
          f"({args.scene_objects} objects, {args.frames} frames):")
    print(f"{'frame':>5} {'build':>7} {'beauty':>8} {'labels':>7} {'refl':>6} {'io':>6} {'sensor':>6} {'post':>6} "
          f"{'write':>6} {'not-beauty':>11}")
    shares = []
    for t, (tm, post, write) in enumerate(rows):
        total = (tm["build"] + tm["beauty"] + tm["labels"] + tm.get("reflection", 0.0) + tm["io"]
                 + tm.get("sensor", 0.0) + (0 if math.isnan(post) else post + write))
        share = 1.0 - tm["beauty"] / total
        shares.append(share)
        print(f"{t:>5} {tm['build']:7.3f} {tm['beauty']:8.2f} {tm['labels']:7.3f} {tm.get('reflection', 0.0):6.3f} "
              f"{tm['io']:6.3f} {tm.get('sensor', 0.0):6.3f} {post:6.3f} "
              f"{write:6.3f} {100 * share:10.1f}%")
    steady = shares[1:] or shares
    print(f"share of frame time that is not the beauty render: first frame {100 * shares[0]:.1f}%, "
          f"later frames {100 * statistics.mean(steady):.1f}% (target <= 15%)")
    print(f"scene build, {args.objects} objects: {build_n:.3f} s (median of 3; target <= 1 s)")
    print(f"scene build, {args.walkers} walking (deforming) people x {args.walker_frames} frames: {build_walk:.3f} s "
          "(median of 3)")
    print(catalog_line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
