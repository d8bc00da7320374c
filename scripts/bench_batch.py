#!/usr/bin/env python
"""Benchmark of ``simgen batch`` on the CPU at test resolution.

Measures (printed, and written as JSON with --json):

1. frames per second with 1 and 2 local workers (each CPU worker gets cores // workers render threads);
2. the per-job overhead as a share of render time: process start, Blender (bpy) import, scene preparation
   (resolve + world build), of which asset loading (cold: first job of a worker; warm: later jobs, memoised),
   and the Blender scene build — against the render itself (beauty, label passes, label post-processing,
   sensor model, writing);
3. the resident memory of one worker over N jobs (``--rss-jobs``; growth per job by a least-squares line over
   the jobs after the first five).

Usage: ``python scripts/bench_batch.py [--jobs 6] [--rss-jobs 200] [--config tests/batch/tiny_render.yaml]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RENDER_STAGES = ("beauty", "labels", "labels_post", "sensor", "write", "io", "reflection")


def _run(scene: Path, cfg, out: Path, seeds: str, workers: int, frames: int | None, jobs_per_worker: int) -> dict:
    from simgen.batch.api import run_batch
    from simgen.batch.jobs import expand_jobs
    from simgen.batch.runner import Options

    jobs = expand_jobs([scene], cfg=cfg, seeds=seeds, frames=frames)
    opts = Options(out=out, cfg=cfg, frames=frames, device="cpu", retries=0, watchdog=600,
                   jobs_per_worker=jobs_per_worker, progress=False)
    t = time.perf_counter()
    rep = run_batch(jobs, opts, workers=workers, gpus=[])
    rep["wall"] = time.perf_counter() - t
    assert rep["exit_code"] == 0, rep["failures"]
    return rep


def _asset_loading(scene: Path, cfg) -> dict:
    """Scene preparation in this process, cold then warm, with the time spent loading catalog meshes."""
    import simgen.world.objects as objects
    from simgen.pipeline import prepare

    spent = [0.0]
    real = objects.load_asset

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t

    objects.load_asset = timed
    out = {}
    try:
        for phase, seed in (("cold", 0), ("warm", 1)):
            spent[0] = 0.0
            t = time.perf_counter()
            prepare(scene, seed=seed, variant=0, cfg=cfg)
            out[phase] = {"prepare_s": time.perf_counter() - t, "asset_loading_s": spent[0]}
    finally:
        objects.load_asset = real
    return out


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return statistics.fmean(xs) if xs else 0.0


def _slope(ys: list[float]) -> float:
    n = len(ys)
    if n < 2:
        return 0.0
    xs = list(range(n))
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def _overheads(res: dict, one: dict, args, cfg) -> None:
    w = one["workers"][0]
    start = _mean([s - b for s, b in zip(w["start_s"], w["bpy_import_s"])])
    bpy = _mean(w["bpy_import_s"])
    st = [j["stages"] for j in one["jobs"]]
    render = _mean([sum(s.get(k, 0.0) for k in RENDER_STAGES) for s in st])
    prep = _mean([s.get("prepare", 0.0) for s in st])
    build = _mean([s.get("build", 0.0) for s in st])
    total = _mean([s.get("job_total", 0.0) for s in st])
    assets = _asset_loading(args.scene, cfg)
    res["per_job"] = {
        "render_s": render, "job_total_s": total, "process_start_s": start, "bpy_import_s": bpy,
        "prepare_s": prep, "blender_build_s": build, "asset_loading_cold_s": assets["cold"]["asset_loading_s"],
        "asset_loading_warm_s": assets["warm"]["asset_loading_s"], "prepare_cold_s": assets["cold"]["prepare_s"],
        "prepare_warm_s": assets["warm"]["prepare_s"],
        "other_s": max(0.0, total - render - prep - build),
    }
    pj = res["per_job"]
    res["share_of_render"] = {k: (pj[v] / render if render else None) for k, v in (
        ("process_start", "process_start_s"), ("bpy_import", "bpy_import_s"), ("scene_prepare", "prepare_s"),
        ("asset_loading_cold", "asset_loading_cold_s"), ("asset_loading_warm", "asset_loading_warm_s"),
        ("blender_scene_build", "blender_build_s"), ("other", "other_s"))}
    # a worker starts once per --jobs-per-worker jobs (default 50): its start-up spread over them
    res["share_of_render"]["worker_start_per_job_at_50_jobs_per_worker"] = (
        (pj["process_start_s"] + pj["bpy_import_s"]) / 50 / render if render else None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", type=Path, default=REPO / "scenes" / "quickstart.yaml")
    ap.add_argument("--config", default=str(REPO / "tests" / "batch" / "tiny_render.yaml"))
    ap.add_argument("--jobs", type=int, default=6, help="jobs (seeds) for the frames-per-second runs (0: skip them)")
    ap.add_argument("--frames", type=int, default=None, help="frames per job in the fps runs (default: all)")
    ap.add_argument("--rss-jobs", type=int, default=200, help="jobs for the memory run (one worker)")
    ap.add_argument("--rss-frames", type=int, default=1, help="frames per job in the memory run")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    from simgen.spec import load_render_config

    cfg = load_render_config(args.config)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="simgen-bench-batch-"))
    res: dict = {"config": cfg.name, "width": cfg.width, "height": cfg.height, "samples": cfg.samples,
                 "cpus": os.cpu_count(), "load_average": os.getloadavg()}

    # 1. frames per second, 1 and 2 workers
    for n in ((1, 2) if args.jobs > 0 else ()):
        rep = _run(args.scene, cfg, work / f"fps{n}", f"0-{args.jobs - 1}", n, args.frames, 1000)
        res[f"workers_{n}"] = {"frames": rep["counts"]["frames"], "seconds": rep["seconds"],
                               "frames_per_second": rep["frames_per_second"]}
        if n == 1:
            one = rep
    # 2. overhead shares (one worker: every job after the first is warm)
    if args.jobs > 0:
        _overheads(res, one, args, cfg)
    # 3. memory of one worker over N jobs
    if args.rss_jobs > 0:
        rep = _run(args.scene, cfg, work / "rss", f"0-{args.rss_jobs - 1}", 1, args.rss_frames, args.rss_jobs + 1)
        rss = [j["rss_mb"] for j in rep["jobs"]]
        tail = rss[5:] if len(rss) > 10 else rss
        res["rss"] = {"jobs": len(rss), "first_mb": rss[0], "after_5_mb": rss[min(5, len(rss) - 1)],
                      "last_mb": rss[-1], "max_mb": max(rss), "growth_mb_per_job": _slope(tail),
                      "processes": rep["workers"][0]["processes"], "seconds": rep["seconds"],
                      "frames_per_second": rep["frames_per_second"], "rss_mb_by_job": [round(x, 2) for x in rss]}
    print(json.dumps(res, indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
