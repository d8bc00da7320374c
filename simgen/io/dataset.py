"""Native dataset writer and reader (torch-free).

See :mod:`simgen.io.layout` for the layout. :class:`DatasetWriter` writes every file of a frame under a
temporary name, renames them all into place, and only then appends the frame's row to ``manifest.jsonl`` —
so a crash never leaves a half file under a final name and the manifest never references a missing file.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import simgen
from simgen.classes import class_table
from simgen.errors import OutputError, SimgenError
from simgen.io import formats
from simgen.io.atomic import staged_files
from simgen.io.layout import (
    CONVENTIONS,
    CONVENTIONS_VERSION,
    FORMAT_NAME,
    FORMAT_VERSION,
    OCCLUSION_CODES,
    frame_file,
    safe_component,
    variant_dir,
)
from simgen.labels.frame import FrameLabels

MANIFEST = "manifest.jsonl"
DATASET_JSON = "dataset.json"


def frame_meta(labels: FrameLabels, extra: dict | None = None) -> dict:
    """The per-frame meta JSON: width, height, K, camera_model, D, world_from_camera, camera, frame, fps,
    timestamp, objects (see :class:`simgen.labels.objects.ObjectRecord`), the camera record and the conventions
    version."""
    meta = {
        "conventions_version": CONVENTIONS_VERSION,
        "frame": int(labels.frame),
        "camera": labels.camera,
        "width": int(labels.width),
        "height": int(labels.height),
        "K": np.asarray(labels.K, float).tolist(),
        "camera_model": "pinhole" if labels.lens is None else labels.lens.model,
        "D": [] if labels.lens is None else list(labels.lens.D),
        "world_from_camera": np.asarray(labels.world_from_camera, float).tolist(),
        "fps": float(labels.fps),
        "timestamp": float(labels.timestamp),
        "camera_record": labels.camera_record(),
        "objects": [o.to_json() for o in labels.objects],
    }
    if extra:
        meta.update(extra)
    return meta


def occlusion_codes(valid: np.ndarray, occluded: np.ndarray, out_of_view: np.ndarray) -> np.ndarray:
    """(H, W) uint8: 0 visible, 1 occluded, 2 out of view, 3 no flow (see ``layout.OCCLUSION_CODES``)."""
    code = np.full(valid.shape, OCCLUSION_CODES["no_flow"], np.uint8)
    code[valid] = OCCLUSION_CODES["visible"]
    code[valid & occluded] = OCCLUSION_CODES["occluded"]
    code[valid & out_of_view] = OCCLUSION_CODES["out_of_view"]
    return code


class DatasetWriter:
    """Writes a native dataset under ``root``.

    Creates ``root`` (raises :class:`OutputError` naming the path when that is impossible) and
    ``dataset.json`` (kept if it already exists with the same format version, so batches can add to a dataset).
    Call :meth:`begin_sequence` once per (scene, variant), then :meth:`write_frame` per frame and camera.
    Several processes may append to the same dataset: each manifest row is one ``O_APPEND`` write.
    """

    def __init__(self, root: str | Path, *, blender_version: str | None = None, extra_info: dict | None = None):
        self.root = Path(root)
        try:
            if self.root.exists() and not self.root.is_dir():
                raise OutputError(f"output path {self.root} exists and is not a folder")
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OutputError:
            raise
        except OSError as err:
            raise OutputError(f"cannot write to output folder {self.root}: {err.strerror or err}") from err
        self._sequences: dict[tuple[str, str], list[str]] = {}
        self._folders: dict[tuple[str, str], str] = {}
        info = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "simgen_version": simgen.__version__,
            "blender_version": blender_version,
            "classes": class_table().to_json(),
            "conventions": CONVENTIONS,
            "modalities": {
                "rgb": "8-bit sRGB PNG: the camera's sensor model (exposure, noise, ISP; knobs sensor.*) developed "
                       "it from the linear render, or Blender's view transform for sensor preset none",
                "depth": "float32 OpenEXR, channel Z, metres, +inf = no surface: planar (camera z) for "
                         "camera_model pinhole and opencv, range along the pixel's ray for fisheye",
                "disparity": "float32 OpenEXR, channel D (left camera of a stereo rig): f*B/Z pixels, "
                             "u_left - u_right in the rectified pair, NaN = no surface",
                "flow_fwd": "Middlebury .flo, float32 (u right, v down) pixels to frame t+1; > 1e9 = unknown",
                "flow_bwd": "Middlebury .flo, float32 (u right, v down) pixels to frame t-1; > 1e9 = unknown",
                "flow_fwd_occlusion": "8-bit PNG: 0 visible, 1 occluded, 2 out of view, 3 no flow",
                "flow_bwd_occlusion": "8-bit PNG: 0 visible, 1 occluded, 2 out of view, 3 no flow",
                "semantic": "8-bit PNG, class ids of `classes`",
                "instance": "16-bit PNG, instance ids, 0 = none",
                "normal": "float32 OpenEXR, channels X Y Z, OpenCV camera frame, 0 = no surface",
                "reflection": "float32 OpenEXR, channels direct mirror glass, 0 or 1: a person seen directly, "
                              "via a reflection, through glass",
                "reflection_semantic": "8-bit PNG, class id of the person seen via a reflection, else through "
                                       "glass, 0 = none",
                "reflection_instance": "16-bit PNG, instance id of the person seen via a reflection, else through "
                                       "glass, 0 = none",
                "reflection_strength": "float32 OpenEXR, channels mirror glass in [0, 1]: share of the reflected / "
                                       "see-through person's light reaching the camera (surface Fresnel)",
                "meta": "JSON: width, height, K, world_from_camera, camera, frame, fps, timestamp, objects; "
                        "camera_record.camera_model (pinhole | opencv | fisheye), D (OpenCV order: opencv "
                        "k1 k2 p1 p2 k3 as cv2.projectPoints, fisheye k1 k2 k3 k4 as cv2.fisheye.projectPoints "
                        "with theta = atan2(sqrt(x^2+y^2), z) beyond 90 deg; empty for pinhole), fov_deg "
                        "(fisheye), depth (planar | range), stereo (rig cameras: R, T, R1, R2, P1, P2, Q as "
                        "cv2.stereoRectify gives); sensor (exposure_time_s, iso, gain, wb_gains, metered) for a "
                        "camera with a sensor model",
            },
            **(extra_info or {}),
        }
        path = self.root / DATASET_JSON
        if path.exists():
            try:
                old = formats.read_json(path)
            except (OSError, json.JSONDecodeError) as err:
                raise OutputError(f"{path} exists but is not readable JSON: {err}") from err
            if old.get("format") != FORMAT_NAME or str(old.get("format_version", "")).split(".")[0] != FORMAT_VERSION.split(".")[0]:
                raise OutputError(f"{path} belongs to another format ({old.get('format')} {old.get('format_version')})")
        else:
            formats.write_json(path, info)
        self.info = info
        self._repair_manifest()

    # -- manifest -------------------------------------------------------------------------------------------
    def _repair_manifest(self) -> None:
        """Drop a trailing partial line left by a crash during an append."""
        path = self.root / MANIFEST
        if not path.exists():
            return
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            with open(path, "r+b") as f:
                f.truncate(len(keep))
                f.flush()
                os.fsync(f.fileno())

    def _append_row(self, row: dict) -> None:
        line = (json.dumps(formats.to_jsonable(row), allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.root / MANIFEST, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- sequences ------------------------------------------------------------------------------------------
    def sequence_dir(self, scene: str, variant: int | str) -> Path:
        folder = self._folders.get((scene, variant_dir(variant)), variant_dir(variant))
        return self.root / safe_component(scene, "scene") / folder

    def begin_sequence(self, scene: str, variant: int | str, cameras: Sequence[str], resolved: dict | None = None,
                       *, name: str | None = None) -> Path:
        """Create ``<scene>/<name>/`` and write ``scene.resolved.json`` (the resolved scene, plain data).

        name: the sequence folder (default: the zero-padded variant, ``0003``; ``simgen render`` names it after
        variant, seed and sweep point, see :mod:`simgen.io.layout`). cameras: the sequence's camera names; with
        more than one, frames go to ``<scene>/<name>/<camera>/``. Returns the sequence folder.
        """
        if not cameras:
            raise ValueError("a sequence needs at least one camera")
        if name is not None:
            self._folders[(scene, variant_dir(variant))] = safe_component(name, "sequence")
        d = self.sequence_dir(scene, variant)
        for c in cameras:
            safe_component(c, "camera")
        try:
            d.mkdir(parents=True, exist_ok=True)
            if resolved is not None:
                formats.write_json(d / "scene.resolved.json", resolved)
        except OSError as err:
            raise OutputError(f"cannot write to {d}: {err.strerror or err}") from err
        self._sequences[(scene, variant_dir(variant))] = list(cameras)
        return d

    def frame_dir(self, scene: str, variant: int | str, camera: str) -> Path:
        key = (scene, variant_dir(variant))
        if key not in self._sequences:
            raise ValueError(f"call begin_sequence({scene!r}, {variant!r}, ...) before writing its frames")
        cams = self._sequences[key]
        if camera not in cams:
            raise ValueError(f"camera {camera!r} is not one of the sequence's cameras {cams}")
        d = self.sequence_dir(scene, variant)
        return d / safe_component(camera, "camera") if len(cams) > 1 else d

    # -- frames ---------------------------------------------------------------------------------------------
    def write_frame(
        self,
        labels: FrameLabels,
        rgb: np.ndarray,
        *,
        scene: str,
        variant: int | str,
        seed: int,
        tags: Sequence[str] = (),
        knobs: dict | None = None,
        meta_extra: dict | None = None,
        passes: Collection[str] | None = None,
        row_extra: dict | None = None,
    ) -> dict:
        """Write every modality of one frame, then append its manifest row; returns the row.

        passes: the outputs to keep (the render config's ``passes``: rgb, depth, flow, semantic, instance,
        normal, reflection); a modality is kept when the part of its name before the first ``_`` is listed
        (``flow_fwd_occlusion`` belongs to ``flow``). ``meta`` is always written. None = everything.

        rgb: (H, W, 3) uint8 sRGB. knobs: free-form values for slicing (weather, time of day, ...). row_extra:
        more row fields (``simgen render`` adds ``sequence``, ``source``, ``commit`` and ``sweep``).
        Modalities written: rgb, depth, semantic, instance, normal, meta; flow_fwd/flow_bwd when present (not on
        the last/first frame), their occlusion PNGs when computed, reflection (+ reflection_semantic/_instance)
        when present.
        """
        d = self.frame_dir(scene, variant, labels.camera)
        rel = d.relative_to(self.root)
        t = labels.frame
        writers = {
            "rgb": lambda p: formats.write_rgb(p, rgb, atomic=False),
            "depth": lambda p: formats.write_depth(p, labels.depth, atomic=False),
            "semantic": lambda p: formats.write_semantic(p, labels.semantic, atomic=False),
            "instance": lambda p: formats.write_instance(p, labels.instance, atomic=False),
            "normal": lambda p: formats.write_normal(p, labels.normal, atomic=False),
        }
        for direction in ("fwd", "bwd"):
            flow = getattr(labels, f"flow_{direction}")
            if flow is None:
                continue
            valid = getattr(labels, f"flow_{direction}_valid")
            writers[f"flow_{direction}"] = lambda p, f=flow, v=valid: formats.write_flo(p, f, v, atomic=False)
            occ = getattr(labels, f"occluded_{direction}")
            if occ is not None:
                codes = occlusion_codes(valid, occ, getattr(labels, f"out_of_view_{direction}"))
                writers[f"flow_{direction}_occlusion"] = lambda p, c=codes: formats.write_png(p, c, atomic=False)
        if labels.reflection is not None:
            writers["reflection"] = lambda p: formats.write_reflection(p, labels.reflection, atomic=False)
        if labels.reflection_semantic is not None:
            writers["reflection_semantic"] = lambda p: formats.write_semantic(p, labels.reflection_semantic, atomic=False)
        if labels.reflection_instance is not None:
            writers["reflection_instance"] = lambda p: formats.write_instance(p, labels.reflection_instance, atomic=False)
        if labels.reflection_strength is not None:
            writers["reflection_strength"] = lambda p: formats.write_reflection_strength(
                p, labels.reflection_strength, atomic=False)
        if labels.disparity is not None:
            writers["disparity"] = lambda p: formats.write_exr(p, {"D": labels.disparity}, atomic=False)
        if passes is not None:
            keep = set(passes) | ({"disparity"} if "depth" in passes else set())
            writers = {m: w for m, w in writers.items() if m.split("_")[0] in keep}
        meta = frame_meta(labels, meta_extra)
        writers["meta"] = lambda p: formats.write_json(p, meta, atomic=False)

        files = {}
        try:
            d.mkdir(parents=True, exist_ok=True)
            with staged_files() as group:
                for modality, write in writers.items():
                    name = frame_file(t, modality)
                    # staged under a temp name; all of the frame's files are renamed only once every one is written
                    group.add(d / name, write)
                    files[modality] = f"{rel.as_posix()}/{name}"
        except OSError as err:
            raise OutputError(f"cannot write frame {t} to {d}: {err.strerror or err}") from err
        camera_part = f"/{labels.camera}" if len(self._sequences[(scene, variant_dir(variant))]) > 1 else ""
        seq_rel = self.sequence_dir(scene, variant).relative_to(self.root).as_posix()
        row = {
            "sample_id": f"{seq_rel}{camera_part}/{t:06d}",
            "scene": scene,
            "variant": variant,
            "camera": labels.camera,
            "frame": int(t),
            "seed": int(seed),
            "timestamp": float(labels.timestamp),
            "width": int(labels.width),
            "height": int(labels.height),
            "tags": list(tags),
            "knobs": dict(knobs or {}),
            "files": files,
            **(row_extra or {}),
        }
        self._append_row(row)
        return row


class DatasetError(SimgenError):
    """A dataset file is missing, unreadable or breaks the layout; the message names the file (and manifest line)."""


#: manifest row fields every row must carry, with their types
ROW_FIELDS = {"sample_id": str, "scene": str, "frame": int, "files": dict}


@dataclass(frozen=True)
class ManifestRow:
    """One manifest row (one frame of one camera), typed.

    ``line`` is the 1-based line in ``manifest.jsonl``; ``raw`` the row as stored. ``files`` maps modality ->
    path relative to the dataset root. ``sequence`` = the sequence folder ``<scene>/<sequence>``
    (:func:`simgen.io.commit.sequence_of`): all frames and all cameras of a rig share it.
    """

    sample_id: str
    scene: str
    variant: int | str
    camera: str
    frame: int
    seed: int | None
    timestamp: float | None
    width: int | None
    height: int | None
    tags: tuple[str, ...]
    knobs: dict
    files: dict
    line: int
    raw: dict

    @property
    def sequence(self) -> str:
        from simgen.io.commit import sequence_of

        seq = sequence_of(self.raw)
        if seq:
            return seq
        return f"{self.scene}/{variant_dir(self.variant) if isinstance(self.variant, int) else self.variant}"

    @classmethod
    def parse(cls, row: object, line: int, where: str) -> "ManifestRow":
        """Check and type a decoded row; raises :class:`DatasetError` naming ``where`` (file:line) and the field."""
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: a row must be a JSON object, got {type(row).__name__}")
        for key, typ in ROW_FIELDS.items():
            if key not in row:
                raise DatasetError(f"{where}: row has no '{key}'")
            value = row[key]
            if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
                raise DatasetError(f"{where}: field '{key}' must be {typ.__name__}, got {value!r:.60}")
        if not row["files"]:
            raise DatasetError(f"{where}: row {row['sample_id']!r} lists no files")
        bad = [m for m, rel in row["files"].items() if not isinstance(rel, str) or not rel]
        if bad:
            raise DatasetError(f"{where}: files.{bad[0]} is not a path")
        variant = row.get("variant", 0)
        tags = row.get("tags") or []
        knobs = row.get("knobs") or {}
        if not isinstance(tags, list) or not isinstance(knobs, dict):
            raise DatasetError(f"{where}: 'tags' must be a list and 'knobs' an object")
        return cls(
            sample_id=row["sample_id"], scene=row["scene"], variant=variant, camera=str(row.get("camera", "")),
            frame=row["frame"], seed=row.get("seed"), timestamp=row.get("timestamp"), width=row.get("width"),
            height=row.get("height"), tags=tuple(str(t) for t in tags), knobs=dict(knobs), files=dict(row["files"]),
            line=line, raw=row,
        )


@dataclass(frozen=True)
class ObjectMeta:
    """One object of a frame's meta (see :class:`simgen.labels.objects.ObjectRecord` for the meaning).

    box_center: (3,) float64 world metres; box_size: (3,) float64 extents along the box axes (x = the object's
    length/forward axis, y = width, z = height/up); box_rotation: (3, 3) float64 world_from_box. bbox_visible:
    [x0, y0, x1, y1] int pixel-edge coordinates, exclusive end, or None; bbox_amodal likewise float or None.
    """

    instance_id: int
    class_name: str
    class_id: int
    name: str
    box_center: np.ndarray
    box_size: np.ndarray
    box_rotation: np.ndarray
    bbox_visible: list[int] | None
    bbox_amodal: list[float] | None
    visible_pixels: int
    truncation: float
    occlusion: float | None
    raw: dict


@dataclass(frozen=True)
class FrameMeta:
    """A frame's meta JSON, typed. K: (3, 3) float64 OpenCV intrinsics (pixel-centre origin);
    world_from_camera: (4, 4) float64 OpenCV camera-to-world (x right, y down, z forward), metres."""

    width: int
    height: int
    K: np.ndarray
    world_from_camera: np.ndarray
    camera: str
    frame: int
    fps: float | None
    timestamp: float | None
    objects: tuple[ObjectMeta, ...]
    raw: dict
    #: pinhole | opencv | fisheye; D: distortion in OpenCV's order (empty for pinhole)
    camera_model: str = "pinhole"
    D: tuple[float, ...] = ()

    @property
    def is_pinhole(self) -> bool:
        """True when the image is an undistorted perspective projection by K (pinhole, or opencv with D = 0)."""
        return self.camera_model == "pinhole" or (self.camera_model == "opencv" and not any(self.D))

    @classmethod
    def parse(cls, meta: object, where: str) -> "FrameMeta":
        try:
            if not isinstance(meta, dict):
                raise TypeError("not a JSON object")
            objects = []
            for i, o in enumerate(meta.get("objects") or []):
                try:
                    box = o["box3d"]
                    objects.append(ObjectMeta(
                        instance_id=int(o["instance_id"]), class_name=str(o["class"]), class_id=int(o["class_id"]),
                        name=str(o.get("name", "")), box_center=np.asarray(box["center"], np.float64).reshape(3),
                        box_size=np.asarray(box["size"], np.float64).reshape(3),
                        box_rotation=np.asarray(box["rotation"], np.float64).reshape(3, 3),
                        bbox_visible=o.get("bbox_visible"), bbox_amodal=o.get("bbox_amodal"),
                        visible_pixels=int(o.get("visible_pixels", 0)), truncation=float(o.get("truncation", 0.0)),
                        occlusion=None if o.get("occlusion") is None else float(o["occlusion"]), raw=o))
                except (KeyError, TypeError, ValueError) as err:
                    raise ValueError(f"objects[{i}]: {err!r}") from None
            return cls(width=int(meta["width"]), height=int(meta["height"]),
                       K=np.asarray(meta["K"], np.float64).reshape(3, 3),
                       world_from_camera=np.asarray(meta["world_from_camera"], np.float64).reshape(4, 4),
                       camera=str(meta.get("camera", "")), frame=int(meta["frame"]), fps=meta.get("fps"),
                       timestamp=meta.get("timestamp"), objects=tuple(objects), raw=meta,
                       camera_model=str(meta.get("camera_model", "pinhole")),
                       D=tuple(float(v) for v in meta.get("D") or ()))
        except KeyError as err:
            raise DatasetError(f"{where}: meta has no field {err}") from None
        except (TypeError, ValueError) as err:
            raise DatasetError(f"{where}: bad meta ({err})") from None


_EXR_READERS = {"depth": "read_depth", "normal": "read_normal", "reflection": "read_reflection",
                "reflection_strength": "read_reflection_strength"}
_PNG_KINDS = {"rgb": (3, np.uint8), "semantic": (2, np.uint8), "instance": (2, np.uint16)}


def decode_modality(data: bytes, modality: str, name: str):
    """Decode one stored modality from its file bytes (as in :meth:`DatasetReader.read`); ``name`` (the file or
    archive member) is used in error messages. Raises :class:`simgen.io.formats.FormatError`."""
    if modality == "meta":
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise formats.FormatError(f"{name}: not valid JSON ({err})") from None
    if modality in _EXR_READERS:
        try:
            return getattr(formats, _EXR_READERS[modality])(io.BytesIO(data))
        except formats.FormatError as err:
            raise formats.FormatError(f"{name}: {str(err).split(': ', 1)[-1]}") from None
        except KeyError as err:
            raise formats.FormatError(f"{name}: missing channel {err}") from None
    if modality == "disparity":
        try:
            ch = formats.read_exr(io.BytesIO(data))
        except formats.FormatError as err:
            raise formats.FormatError(f"{name}: {str(err).split(': ', 1)[-1]}") from None
        if "D" not in ch:
            raise formats.FormatError(f"{name}: no channel 'D' (has {sorted(ch)})")
        return ch["D"].astype(np.float32, copy=False)
    if modality in ("flow_fwd", "flow_bwd"):
        return formats.decode_flo(data, name)
    img = formats.decode_png(data, name)
    expect = _PNG_KINDS.get(modality)
    if expect and (img.ndim != expect[0] or img.dtype != expect[1]):
        raise formats.FormatError(f"{name}: {modality} must be a {expect[0]}-D {np.dtype(expect[1]).name} PNG, "
                                  f"got {img.shape} {img.dtype}")
    return img


def iter_manifest(path: str | Path, errors: list | None = None) -> Iterator[tuple[int, object]]:
    """(1-based line number, decoded JSON value) of every non-empty line of a ``manifest.jsonl``.

    The one place that parses the manifest. A missing file yields nothing. A torn last line (an append cut short
    by a crash) is skipped with a warning. Any other line that is not JSON raises :class:`DatasetError`
    (``path:line: not valid JSON``; the error has ``.path``, ``.line`` and ``.reason``) — or, when ``errors`` is a list, is
    appended to it and skipped. Rows are not checked here: :meth:`ManifestRow.parse` does that.
    """
    path = Path(path)
    if not path.exists():
        return
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror or err})") from None
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if i == len(lines) - 1:  # an append cut short by a crash
                warnings.warn(f"{path}: ignoring a truncated last line", stacklevel=2)
                continue
            reason = f"not valid JSON ({getattr(err, 'msg', err)})"
            exc = DatasetError(f"{path}:{i + 1}: {reason}")
            exc.path, exc.line, exc.reason = path, i + 1, reason
            if errors is None:
                raise exc from None
            errors.append(exc)
            continue
        yield i + 1, row


class DatasetReader:
    """The one reader of a native dataset (see :mod:`simgen.io.layout`): ``dataset.json``, ``manifest.jsonl``,
    per-frame meta and every modality, read lazily.

    ``entries`` are the typed manifest rows (:class:`ManifestRow`), ``rows`` the same rows as stored (dicts);
    ``len(reader)``, ``reader[i]`` -> sample dict. A sample holds numpy arrays (``rgb`` (H, W, 3) uint8 RGB,
    ``depth`` (H, W) float32 metres +inf = none (planar, or the range along the ray when ``meta["camera_model"]``
    is ``fisheye``), optional ``disparity`` (H, W) float32 (left camera of a stereo rig), ``semantic`` (H, W)
    uint8, ``instance`` (H, W) uint16, ``normal`` (H, W, 3) float32, ``flow_fwd`` / ``flow_bwd`` (H, W, 2)
    float32 with NaN where unknown plus ``flow_*_valid`` (H, W) bool, optional ``flow_*_occlusion`` (H, W)
    uint8 codes and ``reflection``), ``meta`` (dict) and ``row`` (the manifest row).

    strict: a manifest row that breaks the layout (not JSON, missing fields, no files) raises
    :class:`DatasetError` naming the manifest line; with ``strict=False`` such rows are left out and described
    in ``problems``. A torn last line (an append cut short by a crash) is always ignored with a warning.
    Missing or corrupt files raise :class:`DatasetError` naming the file when they are read.
    """

    def __init__(self, root: str | Path, *, strict: bool = True):
        self.root = Path(root)
        info = self.root / DATASET_JSON
        if not info.is_file():
            raise DatasetError(f"{self.root} is not a simgen dataset (no {DATASET_JSON})")
        try:
            self.info = formats.read_json(info)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DatasetError(f"{info}: not readable JSON ({err})") from None
        self.strict = strict
        self.problems: list[str] = []
        self.entries: list[ManifestRow] = list(self._read_rows())
        self.rows: list[dict] = [e.raw for e in self.entries]

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def _read_rows(self) -> Iterator[ManifestRow]:
        if self.strict:  # every unreadable line at once, as the integrity check reports them
            from simgen.io.commit import ManifestError, read_manifest

            m = read_manifest(self.root)
            if m.bad:
                raise ManifestError(m.problem())
        errors: list[DatasetError] | None = None if self.strict else []
        for line, row in iter_manifest(self.root / MANIFEST, errors):
            try:
                yield ManifestRow.parse(row, line, f"{self.root / MANIFEST}:{line}")
            except DatasetError as err:
                if self.strict:
                    raise
                self.problems.append(str(err))
        self.problems[:0] = [str(e) for e in errors or []]

    def verify(self) -> list[str]:
        """The integrity check (empty = sound): every row's files exist, every sequence folder has rows, no
        unfinished commit (see :func:`simgen.io.commit.verify`; ``simgen repair`` fixes what it lists)."""
        from simgen.io.commit import verify

        return verify(self.root)

    def sequences(self) -> dict[str, list[dict]]:
        """Rows grouped by sequence folder (``<scene>/<sequence>``), in manifest order."""
        from simgen.io.commit import sequence_of

        out: dict[str, list[dict]] = {}
        for row in self.rows:
            out.setdefault(sequence_of(row) or "", []).append(row)
        return out

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        for row in self.rows:
            yield self.load(row)

    def __getitem__(self, index: int) -> dict:
        return self.load(self.rows[index])

    def _entry(self, row: dict | ManifestRow) -> ManifestRow:
        if isinstance(row, ManifestRow):
            return row
        return ManifestRow.parse(row, 0, str(self.root / MANIFEST))

    def path(self, row: dict | ManifestRow, modality: str) -> Path:
        """Absolute path of ``modality`` of a row; :class:`DatasetError` when the row does not list it."""
        files = row.files if isinstance(row, ManifestRow) else row["files"]
        if modality not in files:
            sid = row.sample_id if isinstance(row, ManifestRow) else row.get("sample_id")
            raise DatasetError(f"{self.root / MANIFEST}: sample {sid!r} has no {modality!r} "
                               f"(it has {', '.join(sorted(files))})")
        return self.root / files[modality]

    def has(self, row: dict | ManifestRow, modality: str) -> bool:
        files = row.files if isinstance(row, ManifestRow) else row["files"]
        return modality in files

    def read(self, row: dict | ManifestRow, modality: str):
        """One modality of a row, as stored: arrays as in the class docstring except that flow keeps its stored
        unknown values (> 1e9; see :func:`simgen.io.formats.flo_valid`) and ``meta`` is the plain dict.
        Raises :class:`DatasetError` naming the file when it is missing or corrupt."""
        p = self.path(row, modality)
        if not p.is_file():
            line = row.line if isinstance(row, ManifestRow) else None
            at = f" (manifest line {line})" if line else ""
            raise DatasetError(f"{p}: missing file ({modality}){at}")
        try:
            return decode_modality(p.read_bytes(), modality, str(p))
        except formats.FormatError as err:
            raise DatasetError(str(err)) from None
        except (OSError, ValueError, UnicodeDecodeError) as err:
            raise DatasetError(f"{p}: cannot read {modality} ({err})") from None

    def meta(self, row: dict | ManifestRow) -> FrameMeta:
        """The typed meta of a row (see :class:`FrameMeta`)."""
        return FrameMeta.parse(self.read(row, "meta"), str(self.path(row, "meta")))

    def rgb(self, row: dict | ManifestRow) -> np.ndarray:
        """(H, W, 3) uint8 sRGB, RGB order."""
        return self.read(row, "rgb")

    def depth(self, row: dict | ManifestRow) -> np.ndarray:
        """(H, W) float32 planar depth, metres, +inf = no surface."""
        return self.read(row, "depth")

    def semantic(self, row: dict | ManifestRow) -> np.ndarray:
        """(H, W) uint8 class ids of ``dataset.json`` classes."""
        return self.read(row, "semantic")

    def instance(self, row: dict | ManifestRow) -> np.ndarray:
        """(H, W) uint16 instance ids, 0 = none."""
        return self.read(row, "instance")

    def flow(self, row: dict | ManifestRow, direction: str = "fwd") -> tuple[np.ndarray, np.ndarray]:
        """(flow (H, W, 2) float32 pixels (u right, v down), NaN where unknown; valid (H, W) bool)."""
        flow = self.read(row, f"flow_{direction}")
        valid = formats.flo_valid(flow)
        flow[~valid] = np.nan
        return flow, valid

    def check(self, row: dict | ManifestRow) -> list[str]:
        """Every listed file of a row that is missing (one message per file); does not decode them."""
        files = row.files if isinstance(row, ManifestRow) else row["files"]
        return [f"{self.root / rel}: missing file ({m})" for m, rel in files.items() if not (self.root / rel).is_file()]

    def find(self, sequence: str, camera: str, frame: int) -> ManifestRow | None:
        """The row of one frame of one camera of a sequence (``<scene>/<sequence>``), or None."""
        if not hasattr(self, "_index"):
            self._index = {(e.sequence, e.camera, e.frame): e for e in self.entries}
        return self._index.get((sequence, camera, int(frame)))

    def load(self, row: dict | ManifestRow, modalities: Collection[str] | None = None) -> dict:
        """Load the modalities listed in the row (only ``modalities`` when given; absent ones are left out)."""
        entry = row if isinstance(row, ManifestRow) else None
        raw = row.raw if isinstance(row, ManifestRow) else row
        out: dict = {"row": raw}
        for modality in raw["files"]:
            if modalities is not None and modality not in modalities:
                continue
            if modality in ("flow_fwd", "flow_bwd"):
                out[modality], out[f"{modality}_valid"] = self.flow(entry or raw, modality.split("_")[1])
            else:
                out[modality] = self.read(entry or raw, modality)
        return out
