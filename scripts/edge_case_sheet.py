"""Regenerate docs/edge_cases.jpg: one thumbnail per scene of the edge-case catalogue (scenes/edge_cases/).

    .venv/bin/python scripts/edge_case_sheet.py                                   # 320x240, 16 spp
    .venv/bin/python scripts/edge_case_sheet.py --size 160x120 --samples 4 --out /tmp/sheet.jpg

Each tile is frame 0 of the scene (seed 0) with the case's actor outlined where the labels see it: yellow where it
is seen directly (instance mask), cyan where it is seen as a mirror image or through glass (reflection labels).
The renders land in ``--work`` (default: a temporary folder) as a normal simgen dataset.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _outline(img: np.ndarray, mask: np.ndarray, colour) -> None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, contours, -1, colour, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "edge_cases.jpg")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--cols", type=int, default=4)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from simgen.io.dataset import DatasetReader
    from simgen.pipeline import render_scene
    from simgen.spec import load_render_config

    w, h = (int(v) for v in args.size.split("x"))
    cfg = load_render_config("preview").model_copy(update={
        "width": w, "height": h, "samples": args.samples, "device": "cpu",
        "passes": ["rgb", "depth", "semantic", "instance", "reflection"]})
    work = args.work or Path(tempfile.mkdtemp(prefix="edge_sheet_"))
    tiles = []
    for path in sorted((ROOT / "scenes" / "edge_cases").glob("*.yaml")):
        render_scene(path, work, cfg=cfg, frames=1, replace=True)
    reader = DatasetReader(work)
    for i in range(len(reader)):
        s = reader[i]
        img = np.ascontiguousarray(s["rgb"].copy())
        refl_id = s.get("reflection_instance")
        for o in s["meta"]["objects"]:
            how = o["attributes"].get("edge_case_visible_as")
            if how is None:
                continue
            if how == "direct":
                _outline(img, s["instance"] == o["instance_id"], (255, 220, 0))
            elif refl_id is not None:
                _outline(img, refl_id == o["instance_id"], (0, 230, 255))
                _outline(img, s["instance"] == o["instance_id"], (255, 220, 0))
        name = s["row"]["scene"]
        tiles.append((name, img))
    tiles.sort(key=lambda t: t[0])
    out_tiles = []
    for name, img in tiles:
        t = img.copy()
        cv2.rectangle(t, (0, 0), (t.shape[1], 16), (0, 0, 0), -1)
        cv2.putText(t, name, (4, 12), FONT, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
        out_tiles.append(t)
    while len(out_tiles) % args.cols:
        out_tiles.append(np.zeros_like(out_tiles[0]))
    rows = [np.concatenate(out_tiles[r:r + args.cols], 1) for r in range(0, len(out_tiles), args.cols)]
    sheet = np.concatenate(rows, 0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(json.dumps({"out": str(args.out), "tiles": len(tiles), "work": str(work)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
