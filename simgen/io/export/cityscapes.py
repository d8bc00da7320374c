"""Cityscapes-style segmentation export (the file names and encodings cityscapesScripts reads).

```
OUT/leftImg8bit/<split>/<city>/<city>_<seq:06d>_<frame:06d>_leftImg8bit.png
OUT/gtFine/<split>/<city>/<city>_<seq:06d>_<frame:06d>_gtFine_labelIds.png       uint8 Cityscapes label ids
OUT/gtFine/<split>/<city>/<city>_<seq:06d>_<frame:06d>_gtFine_labelTrainIds.png  uint8 train ids, 255 = ignore
OUT/gtFine/<split>/<city>/<city>_<seq:06d>_<frame:06d>_gtFine_instanceIds.png    uint16: id·1000 + k on pixels of
                                                       instance classes with an instance, else the label id
OUT/gtFine/<split>/<city>/<city>_<seq:06d>_<frame:06d>_gtFine_color.png          RGB colours of the label ids
```
``<split>`` is the --split name (``train`` when none is given); ``<city>`` is ``<scene>-<camera>`` with every
character other than letters, digits and ``-`` replaced by ``-`` (Cityscapes names split on ``_``); ``<seq>``
is a 6-digit number of the sequence folder (:func:`file_stem`). Our class -> Cityscapes id and train id come from the class table (``cityscapes_id``,
``cityscapes_train_id``); names, colours and which ids have instances from ``simgen/data/cityscapes_labels.yaml``
(the official label table). k counts the instances of one Cityscapes class in one image (0, 1, ...) in order
of our instance ids.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from simgen.classes import class_table
from simgen.io import formats
from simgen.io.dataset import ManifestRow
from simgen.io.export import Exporter
from simgen.io.export.kitti import write_files


@lru_cache(maxsize=1)
def cityscapes_labels() -> dict[int, dict]:
    """Cityscapes label id -> {name, train_id, instances, colour} (the official table)."""
    data = yaml.safe_load(resources.files("simgen").joinpath("data/cityscapes_labels.yaml").read_text())
    return {int(r["id"]): {"name": r["name"], "train_id": int(r["train_id"]), "instances": bool(r["instances"]),
                           "colour": tuple(int(v) for v in r["colour"])} for r in data["labels"]}


@lru_cache(maxsize=1)
def lookup_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(256,) uint8 our class id -> label id; (256,) uint8 -> train id; (256,) bool label id has instances;
    (256, 3) uint8 label id -> colour. Unknown class ids map to 0 (unlabeled) / 255."""
    labels = cityscapes_labels()
    to_label = np.zeros(256, np.uint8)
    to_train = np.full(256, 255, np.uint8)
    for c in class_table().classes:
        to_label[c.id] = c.cityscapes_id
        to_train[c.id] = c.cityscapes_train_id
    has_inst = np.zeros(256, bool)
    colour = np.zeros((256, 3), np.uint8)
    for i, lab in labels.items():
        has_inst[i] = lab["instances"]
        colour[i] = lab["colour"]
    return to_label, to_train, has_inst, colour


def encode(semantic: np.ndarray, instance: np.ndarray) -> dict[str, np.ndarray]:
    """(H, W) uint8 class ids + (H, W) uint16 instance ids -> labelIds, labelTrainIds (uint8), instanceIds
    (uint16) and color ((H, W, 3) uint8)."""
    to_label, to_train, has_inst, colour = lookup_tables()
    label = to_label[semantic]
    inst = label.astype(np.uint16)
    with_inst = has_inst[label] & (instance > 0)
    for cs_id in np.unique(label[with_inst]):
        sel = with_inst & (label == cs_id)
        for k, iid in enumerate(np.unique(instance[sel])):
            inst[sel & (instance == iid)] = int(cs_id) * 1000 + k
    return {"labelIds": label, "labelTrainIds": to_train[semantic], "instanceIds": inst, "color": colour[label]}


def _city(text: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in text)


def file_stem(row: ManifestRow) -> str:
    """``<city>_<seq:06d>_<frame:06d>``: city = ``<scene>-<camera>``; seq = CRC-32 of the sequence folder mod 10^6
    (distinct sequences of one scene get distinct numbers with overwhelming probability)."""
    seq = zlib.crc32(row.sequence.encode()) % 10**6
    return f"{_city(f'{row.scene}-{row.camera}')}_{seq:06d}_{row.frame:06d}"


class CityscapesExporter(Exporter):
    name = "cityscapes"

    def write(self, row: ManifestRow, index: int) -> tuple[list[dict], list[str]]:
        r = self.reader
        r.rgb(row)
        maps = encode(r.semantic(row), r.instance(row))
        split = self.options.get("split_name")
        split = "train" if split in (None, "all") else split
        city = _city(f"{row.scene}-{row.camera}")
        stem = file_stem(row)
        files: dict[str, object] = {f"leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png": r.path(row, "rgb")}
        for kind, img in maps.items():
            files[f"gtFine/{split}/{city}/{stem}_gtFine_{kind}.png"] = formats.encode_png(img)
        write_files(self.out, files)
        return [{"index": index, "sample_id": row.sample_id, "outputs": sorted(files)}], []
