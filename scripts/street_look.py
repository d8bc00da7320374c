"""Render the city street under a few lights beside real street frames: regenerates ``docs/street.png``.

Usage: .venv/bin/python scripts/street_look.py [--width 640 --height 480 --samples 32 --out docs/street.png]
       [--real /usr/share/doc/opencv-doc/examples/data/vtest.avi] [--scenes city_street_noon city_street_dusk ...]

Each row: one rendered scene (frame 0, seed 0, CPU, OpenImageDenoise) on the left and a real frame of the video
on the right (scaled to the same size), labelled. Prints the render time of each frame.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_SCENES = ["city_street_noon", "city_street_dusk", "rainy_night"]
REAL = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def render(scene: str, width: int, height: int, samples: int, seed: int = 0) -> tuple[np.ndarray, float]:
    """(H, W, 3) uint8 RGB of frame 0 of ``scenes/<scene>.yaml`` and its render seconds."""
    from simgen.pipeline import prepare
    from simgen.render.blender import render_world
    from simgen.render.settings import RenderSettings
    from simgen.spec import load_render_config

    cfg = load_render_config("test").model_copy(update={"width": width, "height": height})
    _, world = prepare(REPO / "scenes" / f"{scene}.yaml", seed=seed, variant=0, cfg=cfg)
    settings = RenderSettings(width=width, height=height, samples=samples, device="cpu", denoiser="oidn",
                              passes={"rgb", "depth"})
    t0 = time.perf_counter()
    raw = next(iter(render_world(world, settings, frames=[0])))
    return raw.rgb, time.perf_counter() - t0


def real_frames(path: str, n: int, width: int, height: int) -> list[np.ndarray]:
    """``n`` RGB frames spread over the video, resized to width x height."""
    cap = cv2.VideoCapture(path)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
    out = []
    for k in range(n):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int((k + 0.5) * total / n))
        ok, frame = cap.read()
        if not ok:
            raise SystemExit(f"cannot read frames of {path}")
        out.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (width, height), interpolation=cv2.INTER_AREA))
    return out


def label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.rectangle(img, (0, 0), (11 * len(text) + 12, 26), (0, 0, 0), -1)
    cv2.putText(img, text, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--scenes", nargs="+", default=DEFAULT_SCENES)
    ap.add_argument("--real", default=REAL)
    ap.add_argument("--out", default=str(REPO / "docs" / "street.png"))
    args = ap.parse_args(argv)
    reals = real_frames(args.real, len(args.scenes), args.width, args.height)
    rows = []
    for scene, real in zip(args.scenes, reals):
        rgb, seconds = render(scene, args.width, args.height, args.samples)
        print(f"{scene}: {seconds:.1f} s ({args.width}x{args.height}, {args.samples} spp + OIDN)")
        rows.append(np.concatenate([label(rgb, f"simgen: {scene}"), label(real, "real: vtest.avi")], 1))
    sheet = np.concatenate(rows, 0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
