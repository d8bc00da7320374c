"""Benchmark ``simgen export`` and the TorchDataset on a dataset of N test-resolution (80x60) frames.

Usage: .venv/bin/python scripts/bench_export.py [--frames 1000] [--work DIR]

Builds a native dataset from analytic labels (the test suite's ray caster plays the renderer: a road, a moving
car, a pedestrian, a bus; 50-frame sequences with different names and knobs), then, each in a fresh process:
exports it to kitti, coco, cityscapes and shards (seconds, peak resident memory; also for a quarter of the
frames, to show that memory does not grow with the dataset), and iterates ``TorchDataset`` over the native
layout and over the shards with a DataLoader of 0 and 2 workers (samples/s). Targets (peak <= 500 MB) are
reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEQ_FRAMES = 50

EXPORT_CHILD = """
import json, resource, sys, time
from simgen.io.export import export_dataset
src, fmt, out, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = time.perf_counter()
s = export_dataset(src, fmt, out, filters=[f"seq<{limit}"] if limit else [])
print(json.dumps({"seconds": time.perf_counter() - t, "exported": s.exported, "skipped": len(s.skipped),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

LOADER_CHILD = """
import json, resource, sys, time
import torch
from torch.utils.data import DataLoader
from simgen.io import TorchDataset, collate
from simgen.io.augment import HFlip
torch.set_num_threads(1)
src, workers = sys.argv[1], int(sys.argv[2])
data = TorchDataset(src, ("rgb", "depth", "semantic", "instance", "flow_fwd", "boxes"), transform=HFlip(0.5))
loader = DataLoader(data, batch_size=16, num_workers=workers, collate_fn=collate)
t = time.perf_counter()
n = sum(b["rgb"].shape[0] for b in loader)
dt = time.perf_counter() - t
print(json.dumps({"samples": n, "seconds": dt, "per_second": n / dt,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build(root: Path, frames: int) -> None:
    from simgen.io import DatasetWriter
    from simgen.labels import NeighbourView, compute_frame_labels
    from simgen.world.conventions import intrinsics_from_hfov
    from tests.io.synthds import HFOV, frame_rgb, street_world
    from tests.labels.synth import render

    h, w = 60, 80
    world = street_world(SEQ_FRAMES)
    K = intrinsics_from_hfov(HFOV, w, h)
    raws = [render(world, t, K, h, w) for t in range(SEQ_FRAMES)]
    labels = []
    for t in range(SEQ_FRAMES):
        nxt = NeighbourView.from_raw(raws[t + 1]) if t + 1 < SEQ_FRAMES else None
        prv = NeighbourView.from_raw(raws[t - 1]) if t > 0 else None
        labels.append(compute_frame_labels(raws[t], world, next_view=nxt, prev_view=prv))
    writer = DatasetWriter(root)
    seqs = (frames + SEQ_FRAMES - 1) // SEQ_FRAMES
    written = 0
    for s in range(seqs):
        writer.begin_sequence(f"street{s:03d}", s, cameras=["cam"])
        for lab in labels[: min(SEQ_FRAMES, frames - written)]:
            writer.write_frame(lab, frame_rgb(lab), scene=f"street{s:03d}", variant=s, seed=s, tags=["bench"],
                               knobs={"seq": s, "fog_density": (s % 5) / 10})
            written += 1


def child(code: str, *args) -> dict:
    res = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=REPO, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--work", type=Path, default=None, help="Working folder (default: a temporary one, removed).")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="simgen-bench-export-"))
    src = work / "native"
    try:
        if not (src / "manifest.jsonl").is_file():
            t = time.perf_counter()
            build(src, args.frames)
            print(f"built {args.frames} frames (80x60) in {time.perf_counter() - t:.1f} s")
        size = sum(p.stat().st_size for p in src.rglob("*") if p.is_file()) / 1e6
        print(f"native dataset: {size:.1f} MB")
        seqs = (args.frames + SEQ_FRAMES - 1) // SEQ_FRAMES
        print(f"\n{'format':<11} {'frames':>6} {'seconds':>8} {'frames/s':>9} {'peak MB':>8}")
        for fmt in ("kitti", "coco", "cityscapes", "shards"):
            for limit in (max(1, seqs // 4), 0):
                out = work / f"{fmt}-{limit}"
                shutil.rmtree(out, ignore_errors=True)
                r = child(EXPORT_CHILD, src, fmt, out, limit)
                print(f"{fmt:<11} {r['exported']:>6} {r['seconds']:>8.1f} {r['exported'] / r['seconds']:>9.1f} "
                      f"{r['peak_mb']:>8.0f}")
        print(f"\n{'TorchDataset':<22} {'workers':>7} {'samples/s':>10} {'peak MB':>8}")
        for name, path in (("native", src), ("shards", work / "shards-0")):
            for workers in (0, 2):
                r = child(LOADER_CHILD, path, workers)
                print(f"{name:<22} {workers:>7} {r['per_second']:>10.0f} {r['peak_mb']:>8.0f}")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
