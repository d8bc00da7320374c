#!/usr/bin/env python
"""A sheet of real and synthetic people crops at the same pixel height: ``docs/people_crops.png``.

Reads the crop indexes that ``simgen gap --objects people`` (or ``scripts/measure_realism.py``) writes,
``GAP_DIR/crops/real.jsonl`` and ``GAP_DIR/crops/synth.jsonl``, cuts each crop's window out of its source image or
video frame at full resolution, scales it to ``--height`` rows (keeping its aspect) and lays out ``--n`` real crops
(top rows) above ``--n`` synthetic ones (bottom rows), drawn at random with ``--seed``.

    python scripts/people_crops.py OUT/people [--before OLD/people] [--out docs/people_crops.png] [--n 16]

``--before`` adds a row of synthetic crops from another gap run (the same scene rendered by an earlier version).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np


def _rows(path: Path) -> list[dict]:
    return [json.loads(s) for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]


def _frame(source: str, index: int | None, cache: dict) -> np.ndarray:
    key = (source, index)
    if key not in cache:
        if index is None:
            img = cv2.imread(source)
        else:
            cap = cv2.VideoCapture(source)
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, img = cap.read()
            cap.release()
            img = img if ok else None
        if img is None:
            raise SystemExit(f"cannot read {source}" + (f" frame {index}" if index is not None else ""))
        cache[key] = img
    return cache[key]


def crops(rows: list[dict], n: int, height: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` crops (BGR, ``height`` rows) of randomly drawn index rows."""
    cache: dict = {}
    pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
    out = []
    for i in sorted(pick):
        r = rows[int(i)]
        x0, y0, x1, y1 = (int(round(v)) for v in r["window"])
        img = _frame(r["source"], r.get("frame_index"), cache)[y0:y1, x0:x1]
        w = max(1, round(img.shape[1] * height / img.shape[0]))
        out.append(cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA if img.shape[0] > height
                              else cv2.INTER_CUBIC))
    return out


def strip(tiles: list[np.ndarray], width: int, height: int) -> np.ndarray:
    """Tiles left to right, wrapped into rows of ``width`` pixels (white background)."""
    rows, row, x = [], [], 0
    for t in tiles:
        if x + t.shape[1] > width and row:
            rows.append(row)
            row, x = [], 0
        row.append(t)
        x += t.shape[1] + 4
    if row:
        rows.append(row)
    out = np.full((len(rows) * (height + 4), width, 3), 255, np.uint8)
    for k, r in enumerate(rows):
        x = 0
        for t in r:
            out[k * (height + 4):k * (height + 4) + height, x:x + t.shape[1]] = t
            x += t.shape[1] + 4
    return out


def label(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((26, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gap_dir", type=Path, help="a gap output folder of the people group (holds crops/*.jsonl)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "people_crops.png")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--before", type=Path, help="another gap folder: a row of its synthetic crops, labelled before")
    ap.add_argument("--label", default="simgen (label boxes)", help="label of the synthetic row")
    ap.add_argument("--before-label", default="simgen before (label boxes)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    real = crops(_rows(a.gap_dir / "crops" / "real.jsonl"), a.n, a.height, rng)
    synth = crops(_rows(a.gap_dir / "crops" / "synth.jsonl"), a.n, a.height, rng)
    rows = [label(strip(real, a.width, a.height), "real: vtest.avi (NanoDet-m boxes)")]
    if a.before is not None:
        before = crops(_rows(a.before / "crops" / "synth.jsonl"), a.n, a.height, np.random.default_rng(a.seed + 1))
        rows.append(label(strip(before, a.width, a.height), a.before_label))
    rows.append(label(strip(synth, a.width, a.height), a.label))
    sheet = np.concatenate(rows, 0)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), sheet)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
