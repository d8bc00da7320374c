"""Benchmark the sensor model: post-processing cost per frame against the frame's render time.

Usage: .venv/bin/python scripts/bench_sensor.py [--width 640 --height 480 --frames 20 --frame-seconds 30]

Develops a linear street-like image (smooth texture, bright lamps, a dark band) through every preset for
``--frames`` frames (the auto exposure runs) and prints the median seconds per frame of the whole chain and of
its stages, and the share of a frame's render time (default 30 s: 640x480, 64 spp on a 2-core CPU; target
<= 3 %). The EXR write/read of the linear pass is measured too (it replaces the PNG of a camera without a
sensor). Targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simgen.sensor import PRESETS, Sensor, preset_params, scene_streams  # noqa: E402
from simgen.sensor import isp, optics, raw  # noqa: E402


def street_linear(width: int, height: int, level: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 2.0) * level
    img[: height // 3] = level * 2.0  # sky
    for x in range(width // 8, width, width // 4):  # lamps
        cv2.circle(img, (x, height // 3), max(2, width // 160), (300.0, 250.0, 180.0), -1)
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--frame-seconds", type=float, default=30.0, help="render time of one frame (s)")
    args = ap.parse_args()
    w, h = args.width, args.height
    img = street_linear(w, h)
    print(f"sensor post-processing at {w}x{h}, {args.frames} frames, vs a {args.frame_seconds:.0f} s frame")
    for name in PRESETS:
        p = preset_params(name)
        s = Sensor(p, w, h, 10.0, scene_streams(0, "bench", 0, "front"))
        s.process(img, 0)  # first frame: maps and fixed pattern already made; warm caches
        times = []
        for f in range(1, args.frames + 1):
            t = time.perf_counter()
            s.process(img * (1.0 + 0.05 * (f % 3)), f)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        # stage split on one frame
        stages = {}
        t = time.perf_counter()
        lens = optics.apply_optics(img, p, s._lens)
        stages["optics"] = time.perf_counter() - t
        t = time.perf_counter()
        y = raw.capture(lens * np.float32(1000.0), 1.0, 0.01, p, s._fpn, np.random.default_rng(0))
        stages["sensor"] = time.perf_counter() - t
        t = time.perf_counter()
        wb = isp.white_balance_gains(y, p.white_balance, p.white_balance_k)
        out = isp.quantise(isp.develop(y, p, wb))
        stages["isp"] = time.perf_counter() - t
        if p.jpeg_quality:
            t = time.perf_counter()
            isp.jpeg_roundtrip(out, p.jpeg_quality)
            stages["jpeg"] = time.perf_counter() - t
        split = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in stages.items())
        print(f"  {name:22s} {med * 1e3:6.1f} ms/frame = {100 * med / args.frame_seconds:.2f} % of the frame  "
              f"(ms: {split})")
    # the linear pass travels through a float EXR instead of an 8-bit PNG
    import OpenEXR

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "beauty.exr"
        rgba = np.dstack([img, np.ones((h, w, 1), np.float32)])
        t = time.perf_counter()
        hdr = {"compression": OpenEXR.NO_COMPRESSION, "type": OpenEXR.scanlineimage}
        with OpenEXR.File(hdr, {"RGBA": rgba}) as f:
            f.write(str(path))
        with OpenEXR.File(str(path), separate_channels=True) as f:
            _ = [np.asarray(c.pixels) for c in f.parts[0].channels.values()]
        print(f"  float EXR write + read of the linear pass: {(time.perf_counter() - t) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
