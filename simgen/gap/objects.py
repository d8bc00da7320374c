"""Object-level gap: compare crops of one class group (people, vehicles) instead of whole frames.

Whole frames mix how objects look with where they are (scene layout, camera height, sky share); crops of one
class group remove most of that and ask how real our people and cars look. Steps of :func:`run_object_gap`:

1. **Synthetic boxes** from a simgen dataset's own labels (``meta`` JSON per frame): objects whose class is in the
   group (``groups:`` in ``simgen/data/classes.yaml``), with a visible box (``bbox_visible``), not truncated
   (``truncation <= MAX_TRUNCATION`` and the box off the image border), at most ``MAX_OCCLUSION`` occluded and at
   least ``min_box_px`` tall.
2. **Real boxes** from the user (a COCO instances JSON whose ``file_name`` s are relative to REAL, or a KITTI
   ``label_2`` folder whose ``<stem>.txt`` names an image under REAL) or, by default, from NanoDet-m
   (:mod:`simgen.gap.nanodet`, trained on real photos) run on every real image / decoded video frame, keeping
   the group's COCO classes at score >= ``score_threshold``, at least ``min_box_px`` tall and not touching the
   image border (cut by the frame, as truncated synthetic objects are left out).
3. **Crops**: the box grown by ``margin`` of its width/height on every side (clipped to the image), resized to
   ``CROP_SIZE`` x ``CROP_SIZE`` with the validator's resampling (:class:`simgen.gap.preprocess.Preprocess`,
   antialiased bicubic, rounded to 8 bits) and written as PNG under ``OUT/crops/{synth,real}/<group>/``, where
   ``<group>`` is the source item's group (rendered sequence, video block, sub-folder), so crops of one sequence
   never land on both sides of a split. ``OUT/crops/{synth,real}.jsonl`` lists every crop with its source, box,
   class and score.
4. The crop folders go through :func:`simgen.gap.run.run_gap` unchanged: same metrics, real-vs-real baseline,
   grouped intervals, headline and report; an ``objects`` block (group, sources, counts, size quantiles) is added.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError

#: Default minimum box height (pixels) of a crop.
DEFAULT_MIN_BOX_PX = 30
#: Context added on every side, as a fraction of the box's width (left/right) and height (top/bottom).
DEFAULT_MARGIN = 0.1
#: Side of the square crop images written (the default backbone's input size, so its resize is the identity).
CROP_SIZE = 224
#: Synthetic objects more occluded than this are not cropped.
MAX_OCCLUSION = 0.5
#: Synthetic objects truncated by more than this share (of their unclipped image extent) are not cropped.
MAX_TRUNCATION = 0.0
#: KITTI object types per class group (KITTI's ``label_2`` vocabulary).
KITTI_TYPES = {
    "people": ("pedestrian", "person_sitting", "cyclist"),
    "vehicles": ("car", "van", "truck", "tram"),
}


class ObjectGapError(SimgenError):
    """Bad input to the object-level gap: unknown group, unreadable label file, no object of the group found."""


@dataclass
class ObjectBox:
    """One object to crop. ``item``: the :class:`simgen.gap.data.ImageItem` holding its pixels. ``box``:
    ``[x0, y0, x1, y1]`` float pixel-edge coordinates (exclusive end). ``cls``: class name (ours, COCO's or KITTI's).
    ``score``: detector score (None for labels). ``instance_id``: our instance id (synthetic only)."""

    item: Any
    box: tuple[float, float, float, float]
    cls: str
    score: float | None = None
    instance_id: int | None = None

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


def class_group(name: str):
    """The :class:`simgen.classes.ClassGroup` called ``name``; ObjectGapError naming the known groups otherwise."""
    from simgen.classes import class_table

    try:
        return class_table().group(name)
    except KeyError as err:
        raise ObjectGapError(str(err.args[0])) from None


# ------------------------------------------------------------------------------------------------ synthetic


def _manifest_meta_paths(root: Path) -> dict[str, tuple[Path, str]]:
    """sample_id -> (meta JSON path, "manifest.jsonl:<line>") of a simgen dataset."""
    out: dict[str, tuple[Path, str]] = {}
    from simgen.io.dataset import DatasetError, iter_manifest

    manifest = root / "manifest.jsonl"
    try:
        rows = list(iter_manifest(manifest))
    except DatasetError as err:
        raise ObjectGapError(str(err)) from None
    for lineno, row in rows:
        if not isinstance(row, dict):
            raise ObjectGapError(f"{manifest}:{lineno}: a manifest row must be a JSON object")
        files = row.get("files") or {}
        sid = str(row.get("sample_id", files.get("rgb")))
        where = f"{manifest}:{lineno}"
        if not files.get("meta"):
            raise ObjectGapError(f"{where}: row {sid!r} has no files.meta, so its objects' boxes are unknown")
        out[sid] = (root / files["meta"], where)
    return out


def synthetic_boxes(root: str | Path, group: str, min_box_px: float = DEFAULT_MIN_BOX_PX,
                    items: list[Any] | None = None) -> list[ObjectBox]:
    """Boxes of the group's objects in a simgen dataset (see the module docstring for the eligibility rules).

    ``items``: the dataset's :class:`ImageItem` s (default: :func:`simgen.gap.data.discover` of ``root``).
    """
    from simgen.gap.data import discover

    root = Path(root)
    if not (root / "manifest.jsonl").is_file():
        raise ObjectGapError(f"synthetic input {root} is not a simgen dataset (no manifest.jsonl): object crops need "
                             "its labelled boxes")
    members = set(class_group(group).classes)
    items = list(items) if items is not None else discover(root)
    metas = _manifest_meta_paths(root)
    out: list[ObjectBox] = []
    for it in items:
        path, where = metas[it.id]
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ObjectGapError(f"{where}: cannot read the frame meta {path}: {err}") from None
        w, h = int(meta.get("width", 0)), int(meta.get("height", 0))
        for k, obj in enumerate(meta.get("objects") or []):
            if obj.get("class") not in members or not obj.get("bbox_visible"):
                continue
            x0, y0, x1, y1 = (float(v) for v in obj["bbox_visible"])
            occ = obj.get("occlusion")
            if float(obj.get("truncation") or 0.0) > MAX_TRUNCATION or (occ is not None and occ > MAX_OCCLUSION):
                continue
            if x0 <= 0 or y0 <= 0 or (w and x1 >= w) or (h and y1 >= h):  # touching the border: cut by the frame
                continue
            if y1 - y0 < min_box_px:
                continue
            out.append(ObjectBox(it, (x0, y0, x1, y1), str(obj["class"]), None, obj.get("instance_id")))
    return out


# ------------------------------------------------------------------------------------------------ real


def detector_boxes(items: list[Any], group: str, min_box_px: float = DEFAULT_MIN_BOX_PX,
                   score_threshold: float = 0.3, detector: Any = None, cache: str | Path | None = None,
                   progress: bool = False) -> list[ObjectBox]:
    """Boxes of the group's COCO classes that NanoDet-m finds in ``items`` (score >= ``score_threshold``).

    ``cache``: a JSON file of detections per item (keyed by source, frame, file size and mtime) reused across
    runs. Raises :class:`simgen.gap.nanodet.DetectorError` when the weights are missing.
    """
    from simgen.gap.nanodet import COCO_CLASSES

    wanted = [COCO_CLASSES.index(c) for c in class_group(group).coco]
    sizes: dict[str, tuple[int, int]] = {}
    out: list[ObjectBox] = []
    for it, det in zip(items, detect_items(items, detector=detector, cache=cache, progress=progress)):
        for box, score, cid in det:
            if cid in wanted and score >= score_threshold and box[3] - box[1] >= min_box_px:
                w, h = _frame_size(it, sizes)
                if at_border(box, w, h):  # cut by the frame: left out, as truncated synthetic objects are
                    continue
                out.append(ObjectBox(it, tuple(box), COCO_CLASSES[cid], float(score)))
    return out


#: A detection within this many pixels of the image edge is taken as cut by the frame (detector boxes are
#: clipped to the image, so a cut object's box ends on the edge, give or take the letterbox rounding).
BORDER_PX = 1.0


def at_border(box, width: int, height: int, tol: float = BORDER_PX) -> bool:
    """Whether ``box`` ``[x0, y0, x1, y1]`` touches the border of a ``width`` x ``height`` image (within ``tol``)."""
    x0, y0, x1, y1 = box
    return x0 <= tol or y0 <= tol or x1 >= width - tol or y1 >= height - tol


def _frame_size(it: Any, cache: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """(width, height) of an item's frames (videos: from the container; images: read once)."""
    if it.source not in cache:
        if it.frame_index is not None:
            from simgen.gap.data import video_info

            info = video_info(it.source)
            cache[it.source] = (info["width"], info["height"])
        else:
            from simgen.gap.data import load_rgb

            h, w = load_rgb(it).shape[:2]
            cache[it.source] = (w, h)
    return cache[it.source]


#: Score threshold at which detections are stored in the cache (lower thresholds are not cached).
CACHE_SCORE = 0.2


def _item_key(it: Any) -> str:
    p = Path(it.source)
    st = p.stat()
    return f"{p.resolve()}|{it.frame_index}|{st.st_size}|{int(st.st_mtime)}"


def detect_items(items: list[Any], detector: Any = None, cache: str | Path | None = None, progress: bool = False
                 ) -> list[list[tuple[list[float], float, int]]]:
    """NanoDet-m detections (score >= ``CACHE_SCORE``) of every item: per item a list of
    ``([x0, y0, x1, y1], score, coco_class_index)``. Uses and updates the JSON ``cache`` when given."""
    from simgen.gap.data import load_rgb
    from simgen.gap.nanodet import get_detector

    store: dict[str, Any] = {}
    cache = Path(cache) if cache is not None else None
    if cache is not None and cache.is_file():
        try:
            store = json.loads(cache.read_text(encoding="utf-8"))
        except ValueError:
            store = {}
    keys = [_item_key(it) for it in items]
    todo = [i for i, k in enumerate(keys) if k not in store]
    if todo:
        det = detector or get_detector()
        from rich.progress import Progress

        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("detector", total=len(todo))
            for i in todo:
                d = det.detect(load_rgb(items[i]), score_threshold=CACHE_SCORE)
                store[keys[i]] = [[[round(float(v), 2) for v in b], round(float(s), 4), int(c)]
                                  for b, s, c in zip(d.boxes, d.scores, d.class_ids)]
                bar.advance(task)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(store), encoding="utf-8")
            tmp.replace(cache)
    return [[(b, s, c) for b, s, c in store[k]] for k in keys]


def _items_by_relpath(items: list[Any], root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if it.frame_index is None:
            try:
                out[Path(it.source).resolve().relative_to(root.resolve()).as_posix()] = it
            except ValueError:
                out[Path(it.source).name] = it
    return out


def coco_boxes(path: str | Path, real_root: str | Path, items: list[Any], group: str,
               min_box_px: float = DEFAULT_MIN_BOX_PX) -> list[ObjectBox]:
    """Boxes of a COCO instances JSON (``images``, ``annotations`` with ``bbox`` = [x, y, w, h], ``categories``)
    whose category name is one of the group's COCO names or our class names; crowd boxes and boxes touching the
    image border (cut by the frame: COCO has no truncation flag) are skipped.
    ``file_name`` s are relative to ``real_root`` (or matched by file name)."""
    path, real_root = Path(path), Path(real_root)
    grp = class_group(group)
    names = {n.lower() for n in (*grp.coco, *grp.classes)}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        cats = {int(c["id"]): str(c["name"]).lower() for c in doc["categories"]}
        images = {int(im["id"]): str(im["file_name"]) for im in doc["images"]}
        anns = doc["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ObjectGapError(f"{path}: not a readable COCO instances file ({type(err).__name__}: {err})") from None
    by_rel = _items_by_relpath(items, real_root)
    by_name = {Path(k).name: v for k, v in by_rel.items()}
    sizes: dict[str, tuple[int, int]] = {}
    out: list[ObjectBox] = []
    for k, a in enumerate(anns):
        where = f"{path}: annotations[{k}]"
        try:
            name = cats[int(a["category_id"])]
            x, y, w, h = (float(v) for v in a["bbox"])
            fname = images[int(a["image_id"])]
        except (KeyError, ValueError, TypeError) as err:
            raise ObjectGapError(f"{where}: bad field ({type(err).__name__}: {err})") from None
        if name not in names or a.get("iscrowd") or h < min_box_px:
            continue
        it = by_rel.get(Path(fname).as_posix()) or by_name.get(Path(fname).name)
        if it is None:
            raise ObjectGapError(f"{where}: image {fname!r} is not among the real images under {real_root}")
        if at_border((x, y, x + w, y + h), *_frame_size(it, sizes)):
            continue
        out.append(ObjectBox(it, (x, y, x + w, y + h), name))
    return out


def kitti_boxes(label_dir: str | Path, items: list[Any], group: str, min_box_px: float = DEFAULT_MIN_BOX_PX
                ) -> list[ObjectBox]:
    """Boxes of a KITTI ``label_2`` folder (``<stem>.txt``: type truncated occluded alpha x1 y1 x2 y2 ...) for
    the real images with the same stem; types per group in :data:`KITTI_TYPES`; truncated (> 0.15) or
    largely occluded (level >= 2) objects are skipped, as KITTI's "moderate" difficulty does."""
    label_dir = Path(label_dir)
    types = set(KITTI_TYPES.get(group, ()))
    if not types:
        raise ObjectGapError(f"no KITTI types known for group {group!r}")
    by_stem: dict[str, Any] = {}
    for it in items:
        if it.frame_index is None:
            by_stem.setdefault(Path(it.source).stem, it)
    files = sorted(label_dir.glob("*.txt"))
    if not files:
        raise ObjectGapError(f"{label_dir}: no KITTI label files (*.txt)")
    out: list[ObjectBox] = []
    for f in files:
        it = by_stem.get(f.stem)
        if it is None:
            raise ObjectGapError(f"{f}: no real image named {f.stem}.* under the real input")
        for lineno, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                typ = parts[0].lower()
                trunc, occ = float(parts[1]), int(float(parts[2]))
                x0, y0, x1, y1 = (float(v) for v in parts[4:8])
            except (IndexError, ValueError):
                raise ObjectGapError(
                    f"{f}:{lineno}: expected 'type truncated occluded alpha x1 y1 x2 y2 ...'") from None
            if typ in types and trunc <= 0.15 and occ <= 1 and y1 - y0 >= min_box_px:
                out.append(ObjectBox(it, (x0, y0, x1, y1), typ))
    return out


# ------------------------------------------------------------------------------------------------ crops


def crop_box(shape: tuple[int, ...], box, margin: float = DEFAULT_MARGIN) -> tuple[int, int, int, int]:
    """Integer crop window ``(x0, y0, x1, y1)`` (exclusive end) of ``box`` grown by ``margin`` of its width and
    height on each side, clipped to an image of ``shape`` (H, W, ...); at least one pixel each way."""
    h, w = shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    cx0, cy0 = int(np.floor(max(0.0, x0 - mx))), int(np.floor(max(0.0, y0 - my)))
    cx1, cy1 = int(np.ceil(min(float(w), x1 + mx))), int(np.ceil(min(float(h), y1 + my)))
    return cx0, cy0, max(cx1, cx0 + 1), max(cy1, cy0 + 1)


def _safe(group: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", group).strip("_") or "group"


def write_crops(boxes: list[ObjectBox], dest: str | Path, margin: float = DEFAULT_MARGIN, size: int = CROP_SIZE,
                match_heights: np.ndarray | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Write one ``size`` x ``size`` PNG per box under ``dest/<source group>/``; returns the index rows
    (also written to ``dest.with_suffix('.jsonl')``). Existing crops in ``dest`` are removed first.

    match_heights: box heights (px) of the other side. Each box here then gets a height drawn from them (a
    seeded generator) and, when that is smaller than its own, its crop window is first resampled down by the
    ratio (area averaging), so both sides carry the same pixel detail per object before the common resize.
    Objects are never upsampled (detail cannot be added)."""
    import shutil

    import cv2

    from simgen.gap.data import load_rgb
    from simgen.gap.preprocess import Preprocess

    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    pre = Preprocess(size=size, mode="resize", resample="antialias-bicubic", round_to_uint8=True, mean=None,
                     std=None)
    rows: list[dict[str, Any]] = []
    dirs: dict[str, str] = {}
    last: tuple[Any, np.ndarray] | None = None
    rng = np.random.default_rng(seed)
    for k, b in enumerate(boxes):
        if last is None or last[0] is not b.item:
            last = (b.item, load_rgb(b.item))
        rgb = last[1]
        x0, y0, x1, y1 = crop_box(rgb.shape, b.box, margin)
        window = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        scale = 1.0
        if match_heights is not None and len(match_heights) and b.height > 0:
            scale = min(1.0, float(rng.choice(match_heights)) / b.height)
            if scale < 1.0:
                window = cv2.resize(window, (max(1, round(window.shape[1] * scale)),
                                             max(1, round(window.shape[0] * scale))), interpolation=cv2.INTER_AREA)
        small = pre.apply(window)
        img = np.round(small.transpose(1, 2, 0) * 255.0).astype(np.uint8)
        grp = str(getattr(b.item, "group", "") or "all")
        sub = dirs.setdefault(grp, f"{_safe(grp)}-{len(dirs):03d}")
        out = dest / sub / f"{k:06d}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise ObjectGapError(f"cannot write crop {out}")
        rows.append({"crop": out.relative_to(dest).as_posix(), "source": str(b.item.source),
                     "frame_index": b.item.frame_index, "item": b.item.id, "group": grp, "class": b.cls,
                     "score": b.score, "instance_id": b.instance_id, "box": [round(float(v), 2) for v in b.box],
                     "window": [x0, y0, x1, y1], "resampled": round(scale, 4)})
    dest.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows


def _size_stats(boxes: list[ObjectBox]) -> dict[str, Any]:
    h = np.array([b.height for b in boxes], dtype=np.float64)
    classes: dict[str, int] = {}
    for b in boxes:
        classes[b.cls] = classes.get(b.cls, 0) + 1
    return {
        "n": len(boxes),
        "n_images": len({(str(b.item.source), b.item.frame_index) for b in boxes}),
        "n_groups": len({str(b.item.group) for b in boxes}),
        "classes": classes,
        "height_px_quantiles": {q: float(np.quantile(h, q / 100)) for q in (5, 50, 95)} if len(h) else {},
    }


# ------------------------------------------------------------------------------------------------ pipeline


def run_object_gap(synth: str | Path, real: str | Path, out: str | Path, group: str, *,
                   real_boxes: str | Path | None = None, min_box_px: float = DEFAULT_MIN_BOX_PX,
                   margin: float = DEFAULT_MARGIN, score_threshold: float = 0.3,
                   max_frames_per_video: int | None = None, video_stride: int = 1, progress: bool = True,
                   write: bool = True, match_size: bool = False, **gap_kwargs: Any):
    """Crops of class group ``group`` from SYNTH (a simgen dataset) and REAL, compared by
    :func:`simgen.gap.run.run_gap` (``gap_kwargs``: its keyword arguments, e.g. ``backbones``, ``max_images``,
    ``seed``, ``metrics``, ``reps``). ``real_boxes``: a COCO instances ``.json`` or a KITTI label folder; None =
    NanoDet-m. ``match_size``: real crops are resampled down to the synthetic crops' pixel heights
    (:func:`write_crops`), so the comparison is about how objects look, not how many pixels they cover. Writes
    ``OUT/crops/...`` and (when ``write``) the report; returns the :class:`GapReport` with an ``objects`` block in
    ``data``.
    """
    from simgen.gap.data import discover
    from simgen.gap.run import GapInputError, run_gap

    synth, real, out = Path(synth), Path(real), Path(out)
    grp = class_group(group)
    if not real.exists():
        raise GapInputError(f"real input {real} does not exist")
    s_items = discover(synth)
    s_boxes = synthetic_boxes(synth, group, min_box_px, s_items)
    r_items = discover(real, max_frames_per_video=max_frames_per_video, video_stride=video_stride)
    if real_boxes is None:
        source = f"NanoDet-m detections (COCO {', '.join(grp.coco)}; score >= {score_threshold})"
        r_boxes = detector_boxes(r_items, group, min_box_px, score_threshold, cache=out / ".cache" / "detections.json",
                                 progress=progress)
    elif Path(real_boxes).is_dir():
        source = f"KITTI labels {real_boxes}"
        r_boxes = kitti_boxes(real_boxes, r_items, group, min_box_px)
    else:
        source = f"COCO instances {real_boxes}"
        r_boxes = coco_boxes(real_boxes, real, r_items, group, min_box_px)
    for role, boxes, path in (("synthetic", s_boxes, synth), ("real", r_boxes, real)):
        if not boxes:
            raise ObjectGapError(f"{role} input {path}: no {group} object at least {min_box_px:g} px tall "
                                 f"({'labels' if role == 'synthetic' else source})")
    crops = out / "crops"
    write_crops(s_boxes, crops / "synth", margin)
    write_crops(r_boxes, crops / "real", margin,
                match_heights=np.array([b.height for b in s_boxes]) if match_size else None,
                seed=int(gap_kwargs.get("seed", 0)))
    report = run_gap(crops / "synth", crops / "real", out, progress=progress, write=False, **gap_kwargs)
    report.data["objects"] = {
        "group": group,
        "classes": list(grp.classes),
        "description": (
            f"Crops of {group} ({', '.join(grp.classes)}) instead of whole frames: synthetic boxes from the dataset's "
            f"labels (visible box, not truncated, occlusion <= {MAX_OCCLUSION:g}, >= {min_box_px:g} px tall), real "
            f"boxes from {source}; each box grown by {margin:g} of its size per side, resized to "
            f"{CROP_SIZE}x{CROP_SIZE} (antialiased bicubic). Groups follow the source sequences/videos."
        ),
        "min_box_px": min_box_px,
        "match_size": match_size,
        "margin": margin,
        "crop_size": CROP_SIZE,
        "real_source": source,
        "synth": {"path": str(synth), **_size_stats(s_boxes), "index": str(crops / "synth.jsonl")},
        "real": {"path": str(real), **_size_stats(r_boxes), "index": str(crops / "real.jsonl")},
    }
    report.data["config"]["objects"] = group
    if write:
        from simgen.gap.report import write_report

        report.json_path, report.html_path = write_report(report.data, out, report.thumbnails)
    return report


def run_gap_with_objects(synth: str | Path, real: str | Path, out: str | Path, *, objects: str | None = None,
                         probe: bool = False, real_boxes: str | Path | None = None,
                         min_box_px: float = DEFAULT_MIN_BOX_PX, margin: float = DEFAULT_MARGIN,
                         score_threshold: float = 0.3, max_frames_per_video: int | None = None, video_stride: int = 1,
                         progress: bool = True, write: bool = True, match_size: bool = False, **gap_kwargs: Any):
    """``simgen gap`` with the realism extras: crops of class group ``objects`` instead of whole frames
    (:func:`run_object_gap`; None = whole frames, :func:`simgen.gap.run.run_gap`) and, with ``probe``, the
    detector probe on SYNTH (:func:`simgen.gap.probe.run_probe`, added as ``data["probe"]``)."""
    from simgen.gap.run import run_gap

    out = Path(out)
    if probe and not (Path(synth) / "manifest.jsonl").is_file():  # checked before any long work
        raise ObjectGapError(f"--probe needs a simgen dataset as SYNTH (its labelled boxes); {synth} has no "
                             "manifest.jsonl")
    if objects:
        class_group(objects)
        report = run_object_gap(synth, real, out, objects, real_boxes=real_boxes, min_box_px=min_box_px,
                                margin=margin, score_threshold=score_threshold,
                                max_frames_per_video=max_frames_per_video, video_stride=video_stride,
                                progress=progress, write=False, match_size=match_size, **gap_kwargs)
    else:
        if real_boxes is not None:
            raise ObjectGapError("--real-boxes needs --objects GROUP (the boxes are cropped for the object-level gap)")
        report = run_gap(synth, real, out, max_frames_per_video=max_frames_per_video, video_stride=video_stride,
                         progress=progress, write=False, **gap_kwargs)
    if probe:
        from simgen.gap.probe import run_probe

        report.data["probe"] = run_probe(synth, score_threshold=score_threshold,
                                         seed=int(gap_kwargs.get("seed", 0)),
                                         cache=out / ".cache" / "detections.json", progress=progress)
        report.data["config"]["probe"] = True
    if write:
        from simgen.gap.report import write_report

        report.json_path, report.html_path = write_report(report.data, out, report.thumbnails)
    return report


__all__ = ["ObjectBox", "run_gap_with_objects", "ObjectGapError", "class_group", "synthetic_boxes", "detector_boxes",
           "detect_items", "coco_boxes", "kitti_boxes", "crop_box", "write_crops", "run_object_gap",
           "DEFAULT_MIN_BOX_PX", "DEFAULT_MARGIN", "CROP_SIZE"]
