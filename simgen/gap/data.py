"""Finding and decoding the images the validator compares.

:func:`discover` turns a path into a list of :class:`ImageItem` (one per image or decoded video frame) and
:func:`load_rgb` decodes one item to an ``(H, W, 3)`` uint8 RGB array. Accepted inputs:

* a **simgen dataset** folder (it has ``manifest.jsonl``; one row per frame with ``sample_id``, ``scene``,
  ``variant``, ``frame``, ``seed``, optional ``tags`` and ``knobs``, and ``files.rgb`` relative to the folder):
  ``group`` is the row's ``sequence`` (``"<scene>/<sequence folder>"``, one rendered sequence; older rows:
  ``"<scene>/<variant>"``), ``meta`` carries scene, variant, frame, seed,
  tags and knobs (the knobs also directly at the top level of ``meta`` unless a name clashes) so results can be
  sliced by them;
* a **folder of images** (searched recursively; ``IMAGE_EXTENSIONS``): ``group`` is the sub-folder relative to
  the root, or for files directly in the root the file-name stem without its trailing frame number
  (``seqA_000123.png`` -> ``seqA``), so frames of one sequence share a group;
* a **video file** or videos inside a folder (``VIDEO_EXTENSIONS``, decoded with OpenCV): one item per
  ``video_stride``-th frame (at most ``max_frames_per_video``); ``group`` is the video plus a block of
  :data:`VIDEO_GROUP_FRAMES` consecutive frames (``"road.avi#0003"`` holds frames 150..199), so group-aware
  splits never put neighbouring frames on both sides;
* a single image file.

Groups matter: the real-vs-real baseline and every cross-validated test split by group.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
MANIFEST_NAME = "manifest.jsonl"
#: Consecutive video frames that share one group.
VIDEO_GROUP_FRAMES = 50
#: Open video decoders kept by :func:`load_rgb` (least recently used ones are closed).
MAX_OPEN_VIDEOS = 4


class GapDataError(SimgenError):
    """An input path holds nothing usable, or a file cannot be read or decoded."""


@dataclass
class ImageItem:
    """One image (or one decoded video frame) to compare.

    ``id``: unique within one :func:`discover` result (dataset ``sample_id``, path relative to the root, or
    ``"<video>@<frame>"``). ``source``: path of the file holding the pixels. ``frame_index``: 0-based frame
    number in a video, ``None`` for image files. ``group``: items sharing it are never split across train/test
    or baseline halves. ``meta``: knobs/tags/other descriptors used for slicing (JSON-serialisable).
    """

    id: str
    source: str
    frame_index: int | None = None
    group: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------- discover


def discover(path: str | Path, max_frames_per_video: int | None = None, video_stride: int = 1,
             bad: list[tuple[str, str]] | None = None) -> list[ImageItem]:
    """All images / video frames under ``path`` (see the module docstring), in a deterministic order.

    ``max_frames_per_video``: keep at most this many frames of each video (the first ones after striding);
    ``video_stride``: keep every ``video_stride``-th frame. Raises :class:`GapDataError` for a missing path, an
    empty folder, a folder without any image or video, a broken manifest or an undecodable video. ``bad``: when
    given, an undecodable video inside a folder is appended to it as (path, reason) and skipped instead.
    """
    path = Path(path)
    if video_stride < 1:
        raise GapDataError(f"video_stride must be >= 1, got {video_stride}")
    if max_frames_per_video is not None and max_frames_per_video < 1:
        raise GapDataError(f"max_frames_per_video must be >= 1, got {max_frames_per_video}")
    if not path.exists():
        raise GapDataError(f"{path} does not exist")
    if path.is_file():
        if path.name == MANIFEST_NAME:
            return _discover_dataset(path.parent)
        ext = path.suffix.lower()
        if ext in VIDEO_EXTENSIONS:
            return _video_items(path, path.name, max_frames_per_video, video_stride)
        if ext in IMAGE_EXTENSIONS:
            return [ImageItem(id=path.name, source=str(path), frame_index=None, group=_stem_group(path.stem),
                              meta={"folder": ""})]
        raise GapDataError(f"{path} is neither an image ({', '.join(IMAGE_EXTENSIONS)}), a video "
                           f"({', '.join(VIDEO_EXTENSIONS)}) nor a simgen {MANIFEST_NAME}")
    if (path / MANIFEST_NAME).is_file():
        return _discover_dataset(path)
    return _discover_folder(path, max_frames_per_video, video_stride, bad)


_TRAILING_NUMBER = re.compile(r"[\s._-]*\d+$")


def _stem_group(stem: str) -> str:
    """``"seqA_000123"`` -> ``"seqA"``; a stem that is only digits stays whole."""
    g = _TRAILING_NUMBER.sub("", stem)
    return g or stem


def _discover_folder(root: Path, max_frames: int | None, stride: int,
                     bad: list[tuple[str, str]] | None = None) -> list[ImageItem]:
    files = sorted((p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise GapDataError(f"{root} is an empty folder: expected images, videos or a simgen dataset")
    items: list[ImageItem] = []
    for p in files:
        rel = p.relative_to(root).as_posix()
        ext = p.suffix.lower()
        if ext in IMAGE_EXTENSIONS:
            folder = p.parent.relative_to(root).as_posix()
            folder = "" if folder == "." else folder
            group = folder if folder else _stem_group(p.stem)
            items.append(ImageItem(id=rel, source=str(p), frame_index=None, group=group, meta={"folder": folder}))
        elif ext in VIDEO_EXTENSIONS:
            try:
                items.extend(_video_items(p, rel, max_frames, stride))
            except GapDataError as err:
                if bad is None:
                    raise
                bad.append((str(p), str(err)))
    if not items:
        raise GapDataError(
            f"{root} holds no image ({', '.join(IMAGE_EXTENSIONS)}) or video ({', '.join(VIDEO_EXTENSIONS)}) "
            f"and no {MANIFEST_NAME}"
        )
    return items


def _open_capture(path: Path):
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise GapDataError(f"cannot open video {path} (unsupported container/codec or not a video)")
    return cap


def video_info(path: str | Path) -> dict[str, Any]:
    """``{"frames": int, "fps": float, "width": int, "height": int}`` of a video; checks the first frame decodes.

    The frame count comes from the container; when it reports none, frames are counted by grabbing them.
    """
    import cv2

    path = Path(path)
    cap = _open_capture(path)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        ok, frame = cap.read()
        if not ok or frame is None:
            raise GapDataError(f"cannot decode any frame of video {path}")
        h, w = frame.shape[:2]
        if n <= 0:
            n = 1
            while cap.grab():
                n += 1
    finally:
        cap.release()
    return {"frames": n, "fps": fps, "width": int(w), "height": int(h)}


def _video_items(path: Path, rel: str, max_frames: int | None, stride: int) -> list[ImageItem]:
    info = video_info(path)
    idx = list(range(0, info["frames"], stride))
    if max_frames is not None:
        idx = idx[:max_frames]
    fps = info["fps"]
    return [
        ImageItem(
            id=f"{rel}@{i:06d}",
            source=str(path),
            frame_index=i,
            group=f"{rel}#{i // VIDEO_GROUP_FRAMES:04d}",
            meta={"video": rel, "frame": i, **({"time_s": round(i / fps, 6)} if fps > 0 else {})},
        )
        for i in idx
    ]


def _discover_dataset(root: Path) -> list[ImageItem]:
    from simgen.io.dataset import DatasetError, iter_manifest

    manifest = root / MANIFEST_NAME
    items: list[ImageItem] = []
    seen: dict[str, int] = {}
    try:
        rows = list(iter_manifest(manifest))
    except DatasetError as err:
        raise GapDataError(str(err)) from None
    for lineno, row in rows:
        where = f"{manifest}:{lineno}"
        if not isinstance(row, dict):
            raise GapDataError(f"{where}: a manifest row must be a JSON object")
        files = row.get("files")
        rgb = files.get("rgb") if isinstance(files, dict) else None
        if not rgb:
            raise GapDataError(f"{where}: row has no files.rgb")
        sample_id = str(row.get("sample_id", rgb))
        if sample_id in seen:
            raise GapDataError(f"{where}: sample_id {sample_id!r} repeats line {seen[sample_id]}")
        seen[sample_id] = lineno
        src = (root / rgb)
        if not src.is_file():
            raise GapDataError(f"{where}: files.rgb {rgb!r} does not exist ({src})")
        scene = row.get("scene")
        variant = row.get("variant")
        tags = row.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        knobs = row.get("knobs") or {}
        if not isinstance(knobs, dict):
            raise GapDataError(f"{where}: knobs must be an object, got {type(knobs).__name__}")
        meta: dict[str, Any] = {k: v for k, v in knobs.items()}
        meta.update({"scene": scene, "variant": variant, "frame": row.get("frame"), "seed": row.get("seed"),
                     "tags": list(tags), "knobs": dict(knobs)})
        seq_rel = row.get("sequence")  # "<scene>/<sequence>": variant and seed (simgen render); older rows lack it
        group = (str(seq_rel) if seq_rel else f"{scene}/{variant}" if (scene is not None or variant is not None)
                 else _stem_group(Path(rgb).stem))
        items.append(ImageItem(id=sample_id, source=str(src), frame_index=None, group=group, meta=meta))
    if not items:
        raise GapDataError(f"{manifest} lists no frames")
    return items


# ----------------------------------------------------------------------------------------------------- decoding


class _VideoReader:
    """Sequential decoder of one video: forward jumps grab frames, backward jumps reopen the file.

    Only sequential decoding is used (no container seeking), so a frame's pixels never depend on access order.
    """

    def __init__(self, path: str):
        self.path = path
        self.cap = _open_capture(Path(path))
        self.next = 0  # index of the frame the next read() returns
        self.last: tuple[int, np.ndarray] | None = None

    def read(self, index: int) -> np.ndarray:
        if self.last is not None and self.last[0] == index:
            return self.last[1]
        if index < self.next:
            self.cap.release()
            self.cap = _open_capture(Path(self.path))
            self.next = 0
        while self.next < index:
            if not self.cap.grab():
                raise GapDataError(f"video {self.path} ends before frame {index} (has {self.next} frames)")
            self.next += 1
        ok, frame = self.cap.read()
        if not ok or frame is None:
            raise GapDataError(f"cannot decode frame {index} of video {self.path}")
        self.next += 1
        import cv2

        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        self.last = (index, rgb)
        return rgb

    def close(self) -> None:
        self.cap.release()


class _VideoPool:
    """A few open :class:`_VideoReader` s, least recently used closed first (thread-safe)."""

    def __init__(self, size: int):
        self.size = size
        self.readers: OrderedDict[str, _VideoReader] = OrderedDict()
        self.lock = threading.Lock()

    def frame(self, path: str, index: int) -> np.ndarray:
        with self.lock:
            reader = self.readers.pop(path, None)
            if reader is None:
                reader = _VideoReader(path)
            self.readers[path] = reader
            while len(self.readers) > self.size:
                _, old = self.readers.popitem(last=False)
                old.close()
            return reader.read(index).copy()

    def close(self) -> None:
        with self.lock:
            for r in self.readers.values():
                r.close()
            self.readers.clear()


_VIDEOS = _VideoPool(MAX_OPEN_VIDEOS)


def close_videos() -> None:
    """Release the video decoders kept open by :func:`load_rgb`."""
    _VIDEOS.close()


def load_rgb(item: ImageItem) -> np.ndarray:
    """Decode one item: ``(H, W, 3)`` uint8, RGB channel order, row 0 = top.

    Image files: 16-bit images are reduced to 8 bits, grey images expanded to three channels, alpha dropped.
    Video frames are decoded sequentially (cheap when items are visited in order, as
    :func:`discover` returns them). Raises :class:`GapDataError` for a missing or undecodable file.
    """
    import cv2

    src = str(item.source)
    if item.frame_index is not None:
        if not Path(src).is_file():
            raise GapDataError(f"video {src} does not exist")
        return _VIDEOS.frame(src, int(item.frame_index))
    try:
        data = np.fromfile(src, dtype=np.uint8)
    except OSError as err:
        raise GapDataError(f"cannot read image {src}: {err.strerror or err}") from None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise GapDataError(f"cannot decode image {src} (empty, truncated or not an image)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# ------------------------------------------------------------------------------------------------ input rules

#: ``--group-by`` modes for folders of images (a simgen dataset always groups by sequence, videos by frame blocks)
GROUP_BY_MODES = ("auto", "subfolder", "pattern", "runs")
#: Images smaller than this many pixels on a side are reported as bad (nothing to compare in them).
MIN_IMAGE_SIDE = 16
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def parse_group_by(spec: str | None) -> tuple[str, re.Pattern | None]:
    """``auto`` | ``subfolder`` | ``pattern`` | ``pattern:REGEX`` | ``runs`` -> (mode, compiled regex or None).
    Raises :class:`GapDataError` naming the allowed values."""
    spec = (spec or "auto").strip()
    mode, _, rx = spec.partition(":")
    if mode not in GROUP_BY_MODES or (rx and mode != "pattern"):
        raise GapDataError(f"--group-by must be one of {', '.join(GROUP_BY_MODES)} or pattern:REGEX; got '{spec}'")
    if not rx:
        return mode, None
    try:
        return mode, re.compile(rx)
    except re.error as err:
        raise GapDataError(f"--group-by pattern:{rx}: not a regular expression ({err})") from None


def regroup(items: list[ImageItem], spec: str | None) -> list[ImageItem]:
    """Re-assign the groups of image-file items from a folder (dataset rows and video frames keep theirs).

    subfolder: the sub-folder relative to the input (files directly in it share the group ``"."``).
    pattern: the file name without its trailing frame number (``cam2_000123.png`` -> ``cam2``); ``pattern:REGEX``:
    the first capture group (else the whole match) of REGEX searched in the relative path.
    runs: runs of consecutive frame numbers per name prefix (a gap in the numbering starts a new group), cut into
    blocks of at most :data:`VIDEO_GROUP_FRAMES` frames like videos, so one long recording in a flat folder still
    gives several groups. auto: sub-folder, else the ``pattern`` group (the default of :func:`discover`)."""
    mode, rx = parse_group_by(spec)
    if mode == "auto":
        return items
    files = [it for it in items if it.frame_index is None and "scene" not in it.meta]
    if mode == "subfolder":
        for it in files:
            it.group = it.meta.get("folder") or "."
    elif mode == "pattern":
        for it in files:
            if rx is None:
                it.group = f"{it.meta.get('folder', '')}/{_stem_group(Path(it.id).stem)}"
            else:
                m = rx.search(it.id)
                it.group = (m.group(1) if m.groups() else m.group(0)) if m else "(no match)"
    else:  # runs
        keyed = []
        for it in files:
            m = _NUMBERED.match(Path(it.id).stem)
            prefix = f"{it.meta.get('folder', '')}/{m.group(1) if m else Path(it.id).stem}"
            keyed.append((prefix, int(m.group(2)) if m else -1, it))
        keyed.sort(key=lambda k: (k[0], k[1]))
        run, start, last_prefix, last_num = 0, None, None, None
        for prefix, num, it in keyed:
            if prefix != last_prefix or num < 0 or last_num is None or num != last_num + 1 \
                    or num - start >= VIDEO_GROUP_FRAMES:
                run += 1
                start = num
            it.group = f"{prefix}~run{run:04d}"
            last_prefix, last_num = prefix, num
    return items


def parse_max_bad(spec: str | int | None, total: int) -> int:
    """``--max-bad``: a count (``3``) or a share of the images (``5%``) -> the most bad images tolerated."""
    text = str(spec if spec is not None else "5%").strip()
    try:
        if text.endswith("%"):
            share = float(text[:-1])
            if not 0 <= share <= 100:
                raise ValueError
            return int(total * share / 100)
        n = int(text)
        if n < 0:
            raise ValueError
        return n
    except ValueError:
        raise GapDataError(f"--max-bad must be a count (e.g. 3) or a percentage (e.g. 5%); got '{text}'") from None


def screen(items: list[ImageItem], role: str, max_bad: str | int | None = None, *, workers: int = 2,
           min_side: int = MIN_IMAGE_SIDE) -> tuple[list[ImageItem], list[tuple[str, str]]]:
    """Decode every image file once (video frames were checked when their video was opened) and set aside the
    unreadable ones and those smaller than ``min_side`` pixels on a side. Returns (good items, [(source,
    reason)]). Raises :class:`GapDataError` listing the first bad files when more than ``max_bad`` (a count or a
    percentage, default 5%) are bad."""
    from concurrent.futures import ThreadPoolExecutor

    def check(it: ImageItem) -> str | None:
        if it.frame_index is not None:
            return None
        try:
            img = load_rgb(it)
        except GapDataError as err:
            return str(err).replace(f" {it.source}", "")
        h, w = img.shape[:2]
        if min(h, w) < min_side:
            return f"{w}x{h} pixels is too small (at least {min_side} per side)"
        return None

    with ThreadPoolExecutor(max(1, workers)) as pool:
        reasons = list(pool.map(check, items))
    good = [it for it, r in zip(items, reasons) if r is None]
    bad = [(it.source, r) for it, r in zip(items, reasons) if r is not None]
    limit = parse_max_bad(max_bad, len(items))
    if len(bad) > limit:
        listed = "; ".join(f"{src}: {why}" for src, why in bad[:3]) + (" ..." if len(bad) > 3 else "")
        raise GapDataError(f"{role} input: {len(bad)} of {len(items)} image(s) are unreadable or too small, more "
                           f"than --max-bad allows ({limit}): {listed}")
    return good, bad


def slice_keys_present(items: list[ImageItem], sample: int = 2000) -> list[str]:
    """The slice keys the items carry (top-level meta keys, their knob names, and ``tag`` when tags exist)."""
    keys: set[str] = set()
    for it in items[:sample]:
        for k, v in it.meta.items():
            if k in ("knobs",) and isinstance(v, dict):
                keys.update(v)
            elif k == "tags":
                if v:
                    keys.add("tag")
            elif v is not None:
                keys.add(k)
    return sorted(keys)


def input_overlap(a: str | Path, b: str | Path, a_items: list[ImageItem], b_items: list[ImageItem]) -> str | None:
    """A warning when the two inputs are the same, one contains the other, or they share image files."""
    pa, pb = Path(a).resolve(), Path(b).resolve()
    if pa == pb:
        return f"the synthetic and real inputs are the same ({pa}): the gap is meaningless"
    if pa.is_relative_to(pb) or pb.is_relative_to(pa):
        inner, outer = (pa, pb) if pa.is_relative_to(pb) else (pb, pa)
        return f"{inner} lies inside {outer}: the two inputs overlap"
    sa = {str(Path(it.source).resolve()) for it in a_items if it.frame_index is None}
    shared = sum(1 for it in b_items if it.frame_index is None and str(Path(it.source).resolve()) in sa)
    if shared:
        return f"{shared} image file(s) are in both inputs"
    return None


__all__ = ["ImageItem", "GapDataError", "discover", "load_rgb", "video_info", "close_videos",
           "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "VIDEO_GROUP_FRAMES", "GROUP_BY_MODES", "regroup", "screen",
           "parse_group_by", "parse_max_bad", "slice_keys_present", "input_overlap"]
