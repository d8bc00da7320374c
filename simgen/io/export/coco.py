"""COCO instances JSON (the format pycocotools reads), with compressed RLE masks.

```
OUT/images/<i:06d>.png                     the frame (copied PNG)
OUT/annotations/instances_<split>.json     split = the --split name, or "all"
```
- ``categories``: every *thing* class of the class table: id = our class id, name, supercategory (``person``,
  ``vehicle`` from the class table's facts, else ``object``).
- ``images``: id = ledger index + 1, file_name, width, height, and our ids: ``simgen_sample_id``, ``scene``,
  ``variant``, ``camera``, ``frame``.
- ``annotations``: one per visible object: ``segmentation`` = compressed RLE of its instance mask
  (``pycocotools.mask.encode``, counts as text), ``area`` = mask pixels, ``bbox`` = [x, y, w, h] of the mask in
  COCO's pixel-edge coordinates, ``iscrowd`` 0, ``category_id``, and extra fields ``simgen_instance_id``,
  ``bbox_amodal`` ([x, y, w, h] of the projected 3D box clipped to the image, or null), ``truncation``,
  ``occlusion``.

Each sample's image entry and annotations are first written to ``OUT/.coco-parts/<i>.json``; the JSON file is
assembled from the parts at the end of every run (streamed, so memory holds one sample at a time).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from simgen.classes import class_table
from simgen.io.atomic import atomic_write
from simgen.io.dataset import ManifestRow
from simgen.io.export import Exporter
from simgen.io.export.kitti import write_files

PARTS = ".coco-parts"


def categories() -> list[dict]:
    table = class_table()
    people, vehicles = table.with_fact("person"), table.with_fact("vehicle")
    return [{"id": c.id, "name": c.name,
             "supercategory": "person" if c.name in people else "vehicle" if c.name in vehicles else "object"}
            for c in table.classes if c.thing]


def _xywh(box) -> list[float] | None:
    if box is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


class CocoExporter(Exporter):
    name = "coco"

    def write(self, row: ManifestRow, index: int) -> tuple[list[dict], list[str]]:
        r = self.reader
        meta = r.meta(row)
        r.rgb(row)
        instance = r.instance(row)
        things = {c.id for c in class_table().classes if c.thing}
        image = {"id": index + 1, "file_name": f"{index:06d}.png", "width": meta.width, "height": meta.height,
                 "simgen_sample_id": row.sample_id, "scene": row.scene, "variant": row.variant,
                 "camera": row.camera, "frame": row.frame}
        anns, notes = [], []
        for obj in meta.objects:
            if obj.visible_pixels <= 0:
                continue
            if obj.class_id not in things:
                notes.append(f"coco annotation: class {obj.class_name!r} is not a thing class")
                continue
            mask = instance == obj.instance_id
            if not mask.any():
                notes.append("coco annotation: object listed as visible has no pixels in the instance map")
                continue
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode("ascii")
            anns.append({"image_id": index + 1, "category_id": obj.class_id, "segmentation": rle,
                         "area": float(mask.sum()), "bbox": _xywh(obj.bbox_visible), "iscrowd": 0,
                         "simgen_instance_id": obj.instance_id, "bbox_amodal": _xywh(obj.bbox_amodal),
                         "truncation": obj.truncation, "occlusion": obj.occlusion})
        part = f"{PARTS}/{index:06d}.json"
        files = {f"images/{index:06d}.png": r.path(row, "rgb"),
                 part: json.dumps({"image": image, "annotations": anns}).encode()}
        write_files(self.out, files)
        return [{"index": index, "sample_id": row.sample_id, "outputs": sorted(files)}], notes

    def finish(self, records: list[dict]) -> None:
        dest = self.out / "annotations" / f"instances_{self.options.get('split_name') or 'all'}.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        info = {"description": "simgen export", "source": str(self.reader.root.resolve()),
                "simgen_format_version": self.reader.info.get("format_version")}

        def _write(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write('{"info": ' + json.dumps(info) + ', "licenses": [], "categories": '
                        + json.dumps(categories()) + ', "images": [')
                for i, rec in enumerate(records):
                    part = json.loads((self.out / PARTS / f"{int(rec['index']):06d}.json").read_text())
                    f.write((", " if i else "") + json.dumps(part["image"]))
                f.write('], "annotations": [')
                ann_id = 0
                for rec in records:
                    part = json.loads((self.out / PARTS / f"{int(rec['index']):06d}.json").read_text())
                    for ann in part["annotations"]:
                        ann_id += 1
                        f.write((", " if ann_id > 1 else "") + json.dumps({"id": ann_id, **ann}))
                f.write("]}\n")

        atomic_write(dest, _write)
