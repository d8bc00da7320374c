#!/usr/bin/env python
"""Benchmark: validator features for N images of 640x480 (default 1000, MobileNetV2, 2 CPU threads).

Prints wall and CPU seconds of a cold extraction (no cache), images/s, a time breakdown (decode+preprocess vs
forward pass) measured on a sample, the time of a fully cached second run, and memory: peak resident set size
(``resource.getrusage``) and the peak of Python/numpy allocations while streaming (``tracemalloc``). The machine's
load average is printed too, because a shared box slows every number. Target: <= 60 s for 1000 images.

    .venv/bin/python scripts/bench_gap_features.py [--n 1000] [--threads 2] [--backbone mobilenet_v2]

The images are real road frames (``vtest.avi`` from Debian's opencv-doc, resized to 640x480 and varied by
flipping and shifting so each file is distinct) written as PNG, the format of simgen datasets; without the video,
textured synthetic images are used.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def make_images(folder: Path, n: int, size=(640, 480)) -> None:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    frames: list[np.ndarray] = []
    if VTEST.exists():
        cap = cv2.VideoCapture(str(VTEST))
        while len(frames) < 200:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
        cap.release()
    rng = np.random.default_rng(0)
    if not frames:
        yy, xx = np.mgrid[: size[1], : size[0]]
        for k in range(50):
            base = (np.sin(xx / (5 + k)) * 60 + np.cos(yy / (7 + k)) * 60 + 128)
            frames.append(np.clip(base[..., None] + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255)
                          .astype(np.uint8))
    for i in range(n):
        f = frames[i % len(frames)]
        if (i // len(frames)) % 2:
            f = f[:, ::-1]
        f = np.roll(f, i // (2 * len(frames)) * 7, axis=1)
        cv2.imwrite(str(folder / f"frame_{i:05d}.png"), np.ascontiguousarray(f))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--n", type=int, default=1000, help="number of images")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--backbone", default="mobilenet_v2")
    ap.add_argument("--workdir", type=Path, default=None, help="where to write images/cache (default: a temp dir)")
    args = ap.parse_args()

    import torch

    from simgen.gap.backbones import get_backbone
    from simgen.gap.data import discover, load_rgb
    from simgen.gap.features import extract_features

    work = args.workdir or Path(tempfile.mkdtemp(prefix="simgen-bench-gap-"))
    imgs = work / "images"
    print(f"load average before: {os.getloadavg()}  cores: {len(os.sched_getaffinity(0))}", flush=True)
    t = time.perf_counter()
    if not imgs.exists() or len(list(imgs.glob("*.png"))) != args.n:
        shutil.rmtree(imgs, ignore_errors=True)
        make_images(imgs, args.n)
    print(f"prepared {args.n} PNGs of 640x480 in {time.perf_counter() - t:.1f} s ({imgs})", flush=True)

    items = discover(imgs)
    bb = get_backbone(args.backbone)

    # breakdown on a sample
    torch.set_num_threads(args.threads)
    sample = items[: min(64, len(items))]
    t = time.perf_counter()
    batch = np.stack([bb.preprocess.apply(load_rgb(it)) for it in sample])
    t_prep = (time.perf_counter() - t) / len(sample)
    bb.features(torch.from_numpy(batch[:8]))  # warm-up
    t = time.perf_counter()
    bb.features(torch.from_numpy(batch))
    t_fwd = (time.perf_counter() - t) / len(sample)
    print(f"per image: decode+preprocess {1e3 * t_prep:.1f} ms, forward {1e3 * t_fwd:.1f} ms "
          f"(sample of {len(sample)})", flush=True)

    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    tracemalloc.start()
    cpu0 = time.process_time()
    t = time.perf_counter()
    info: dict = {}
    feats = extract_features(items, bb, cache, batch_size=args.batch_size, progress=False,
                             num_threads=args.threads, info=info)
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu0
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    from simgen.gap import features as features_mod

    features_mod._DIGESTS.clear()  # a new process would hash the files again: include that in the cached time
    t = time.perf_counter()
    info2: dict = {}
    again = extract_features(items, bb, cache, batch_size=args.batch_size, progress=False, info=info2)
    cached = time.perf_counter() - t
    assert np.array_equal(feats, again) and info2["computed"] == 0

    print(f"backbone {bb.name} ({bb.version}), dim {bb.dim}, threads {info['threads']}, batch {args.batch_size}")
    print(f"cold: {len(items)} images in {wall:.1f} s wall ({len(items) / wall:.1f} img/s), {cpu:.1f} s CPU; "
          f"computed {info['computed']}")
    print(f"extrapolated to 1000 images: {wall / len(items) * 1000:.1f} s wall (target <= 60 s); "
          f"{cpu / len(items) * 1000:.1f} s CPU, i.e. about {cpu / len(items) * 1000 / info['threads']:.1f} s wall "
          f"on {info['threads']} otherwise idle cores")
    print(f"cached re-run: {cached:.2f} s ({info2['cache_hits']} hits)")
    print(f"peak RSS {rss:.0f} MiB (whole process incl. torch and weights); "
          f"peak Python/numpy allocations while streaming {py_peak / 2**20:.1f} MiB; "
          f"result array {feats.nbytes / 2**20:.1f} MiB "
          f"(10k images: {feats.nbytes / len(items) * 1e4 / 2**20:.0f} MiB)")
    print(f"load average after: {os.getloadavg()}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
