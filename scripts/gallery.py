"""Regenerate docs/gallery.png: the same street under times of day x weathers, close-ups, and real frames beside.

    .venv/bin/python scripts/gallery.py                      # 640x480, 32 spp (several minutes on 2 cores)
    .venv/bin/python scripts/gallery.py --size 320x240 --samples 16 --out /tmp/gallery.png   # quick look

Rows of the grid: the times of day of the sweep ``scenes/sweeps/weather_time.yaml``; columns: its weathers (first
listed seed; first frame of each point). Below: crops of the people and vehicles simgen labels in those frames
(their visible 2D boxes, taller than ``--min-box-px`` and not truncated), then real frames of ``vtest.avi`` and
real people crops from it (OpenCV's HOG people detector), so the two can be compared at a glance.
The renders land in ``--work`` (default: a temporary folder) as a normal simgen dataset.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
TILE = (320, 240)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), FONT, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _fit(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Letterbox ``img`` (RGB) into ``size`` = (w, h) on black."""
    w, h = size
    s = min(w / img.shape[1], h / img.shape[0])
    r = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
                   interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - r.shape[0]) // 2, (w - r.shape[1]) // 2
    out[y:y + r.shape[0], x:x + r.shape[1]] = r
    return out


def _row(tiles: list[np.ndarray], width: int) -> np.ndarray:
    h = max(t.shape[0] for t in tiles)
    row = np.zeros((h, width, 3), np.uint8)
    x = 0
    for t in tiles:
        if x + t.shape[1] > width:
            break
        row[:t.shape[0], x:x + t.shape[1]] = t
        x += t.shape[1]
    return row


def _banner(text: str, width: int) -> np.ndarray:
    b = np.full((26, width, 3), 40, np.uint8)
    cv2.putText(b, text, (6, 18), FONT, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return b


def render_grid(work: Path, size: tuple[int, int], samples: int) -> list[dict]:
    """Render frame 0 of every sweep point of the first seed; returns the dataset's samples of those frames."""
    from simgen.io.dataset import DatasetReader
    from simgen.pipeline import render_scene
    from simgen.spec import default_render_config
    from simgen.spec.sweep import expand_sweep

    sweep = ROOT / "scenes/sweeps/weather_time.yaml"
    variants = expand_sweep(sweep)
    first_seed = variants[0].seed
    points = [v for v in variants if v.seed == first_seed]
    cfg = default_render_config().model_copy(update={
        "width": size[0], "height": size[1], "samples": samples, "frames": 1,
        "passes": ["rgb", "semantic", "instance", "depth"]})
    for i, v in enumerate(points, 1):
        print(f"[gallery] rendering {i}/{len(points)}: {v.labels}", flush=True)
        render_scene(sweep, work, cfg=cfg, variant=v.index)
    reader = DatasetReader(work)
    out = []
    for row in reader.rows:
        if row["frame"] == 0:
            sample = reader.load(row)
            sample["labels"] = next(v.labels for v in points if v.index == int(row["variant"]))
            out.append(sample)
    return out


def synthetic_crops(samples: list[dict], classes: set[str], min_px: int, limit: int) -> list[np.ndarray]:
    """Crops (RGB) of objects of ``classes`` from their visible boxes, largest first."""
    found = []
    for s in samples:
        for obj in s["meta"].get("objects", []):
            box = obj.get("bbox_visible")
            if obj.get("class") not in classes or not box or obj.get("truncation", 1.0) > 0.0:
                continue
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            if y1 - y0 < min_px or (obj.get("occlusion") or 0.0) > 0.3:
                continue
            found.append((y1 - y0, s["rgb"], (x0, y0, x1, y1)))
    found.sort(key=lambda t: -t[0])
    crops = []
    for _, rgb, (x0, y0, x1, y1) in found[:limit]:
        m = max(2, (y1 - y0) // 10)
        crops.append(rgb[max(0, y0 - m):y1 + m, max(0, x0 - m):x1 + m])
    return crops


def real_frames(count: int) -> list[np.ndarray]:
    if not VTEST.is_file():
        return []
    cap = cv2.VideoCapture(str(VTEST))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 795
    frames = []
    for idx in np.linspace(0, n - 1, count + 2)[1:-1].astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(idx))
        ok, bgr = cap.read()
        if ok:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return frames


def real_people(frames: list[np.ndarray], limit: int) -> list[np.ndarray]:
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    crops = []
    for f in frames:
        boxes, weights = hog.detectMultiScale(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), winStride=(8, 8), scale=1.05)
        for (x, y, w, h), wt in sorted(zip(boxes, np.ravel(weights)), key=lambda t: -t[1])[:3]:
            crops.append(f[y:y + h, x:x + w])
    return crops[:limit]


def compose(samples: list[dict], min_px: int) -> np.ndarray:
    weathers = list(dict.fromkeys(s["labels"].get("weather", "?") for s in samples))
    times = list(dict.fromkeys(s["labels"].get("lighting.time_of_day", "?") for s in samples))
    width = TILE[0] * max(3, len(weathers))
    parts = [_banner("simgen: one street, times of day (rows) x weathers (columns)", width)]
    for t in times:
        tiles = []
        for w in weathers:
            s = next((s for s in samples if s["labels"].get("weather", "?") == w
                      and s["labels"].get("lighting.time_of_day", "?") == t), None)
            img = np.zeros((TILE[1], TILE[0], 3), np.uint8) if s is None else _fit(s["rgb"], TILE)
            tiles.append(_caption(img, f"{t}  {w}"))
        parts.append(_row(tiles, width))
    person = (96, 192)
    people = synthetic_crops(samples, {"pedestrian", "child", "cyclist"}, min_px, width // person[0])
    vehicles = synthetic_crops(samples, {"car", "van", "truck", "bus", "motorcycle"}, min_px, width // 192)
    parts.append(_banner("simgen close-ups: people and vehicles as labelled (visible boxes)", width))
    if people:
        parts.append(_row([_fit(c, person) for c in people], width))
    if vehicles:
        parts.append(_row([_fit(c, (192, 128)) for c in vehicles], width))
    frames = real_frames(width // TILE[0])
    if frames:
        parts.append(_banner("real: vtest.avi frames and people in them (HOG detector)", width))
        parts.append(_row([_fit(f, TILE) for f in frames], width))
        rp = real_people(frames, width // person[0])
        if rp:
            parts.append(_row([_fit(c, person) for c in rp], width))
    return np.concatenate(parts, 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs/gallery.png")
    ap.add_argument("--size", default="640x480", help="render size WxH (default 640x480)")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--min-box-px", type=int, default=30, help="smallest close-up (box height, pixels)")
    ap.add_argument("--work", type=Path, default=None, help="dataset folder for the renders (kept)")
    a = ap.parse_args(argv)
    size = tuple(int(v) for v in a.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="simgen-gallery-") as tmp:
        work = a.work or Path(tmp) / "dataset"
        samples = render_grid(work, size, a.samples)
        sheet = compose(samples, a.min_box_px)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"[gallery] wrote {a.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
