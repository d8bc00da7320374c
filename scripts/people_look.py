#!/usr/bin/env python
"""Render people up close and put the picture beside a real street frame: ``docs/people.png``.

Renders frame 0 of ``scenes/people_closeup.yaml`` (default 640x480, 64 samples, day) with simgen's pipeline and
places it left of a frame of OpenCV's ``vtest.avi`` (a real pedestrian street, Debian ``opencv-doc``), both at
the same height. Needs bpy and the body bank (``scripts/setup.sh``).

    python scripts/people_look.py [--out docs/people.png] [--seed 0] [--samples 64] [--width 640 --height 480]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def real_frame(index: int, height: int, crop: tuple[int, int, int, int] | None) -> np.ndarray:
    """A BGR frame of vtest.avi (cropped to x, y, w, h) scaled to ``height`` rows."""
    cap = cv2.VideoCapture(str(VTEST))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, img = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"cannot read frame {index} of {VTEST} (install Debian's opencv-doc)")
    if crop is not None:
        x, y, w, h = crop
        img = img[y:y + h, x:x + w]
    return cv2.resize(img, (round(img.shape[1] * height / img.shape[0]), height), interpolation=cv2.INTER_AREA)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "people.png")
    ap.add_argument("--scene", type=Path, default=ROOT / "scenes" / "people_closeup.yaml")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--real-frame", type=int, default=600)
    ap.add_argument("--real-crop", type=int, nargs=4, default=(256, 192, 512, 384), metavar=("X", "Y", "W", "H"),
                    help="region of the real frame (its people at a similar size)")
    a = ap.parse_args()

    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    cfg = load_render_config("preview").model_copy(update={
        "width": a.width, "height": a.height, "samples": a.samples, "passes": ["rgb", "semantic", "instance"]})
    with tempfile.TemporaryDirectory() as tmp:
        render_scene(a.scene, Path(tmp), cfg=cfg, frames=1, seed=a.seed)
        rgb = cv2.imread(str(next(Path(tmp).rglob("000000.rgb.png"))))
    real = real_frame(a.real_frame, a.height, tuple(a.real_crop))
    gap = np.full((a.height, 8, 3), 255, np.uint8)
    sheet = np.concatenate([rgb, gap, real], axis=1)
    for text, x in (("simgen (people_closeup.yaml)", 8), (f"real: vtest.avi frame {a.real_frame}", rgb.shape[1] + 16)):
        cv2.putText(sheet, text, (x, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(sheet, text, (x, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), sheet)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
