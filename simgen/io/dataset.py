"""Native dataset writer and reader (torch-free).

See :mod:`simgen.io.layout` for the layout. :class:`DatasetWriter` writes every file of a frame under a
temporary name, renames them all into place, and only then appends the frame's row to ``manifest.jsonl`` —
so a crash never leaves a half file under a final name and the manifest never references a missing file.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Collection, Iterator, Sequence
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


class DatasetReader:
    """Reads a native dataset: ``rows`` (manifest rows), ``len(reader)``, ``reader[i]`` -> sample dict.

    A sample holds numpy arrays (``rgb`` (H, W, 3) uint8 RGB, ``depth`` (H, W) float32 metres +inf = none
    (planar, or the range along the ray when ``meta["camera_model"]`` is ``fisheye``), optional ``disparity``
    (H, W) float32 (left camera of a stereo rig),
    ``semantic`` (H, W) uint8, ``instance`` (H, W) uint16, ``normal`` (H, W, 3) float32, ``flow_fwd`` /
    ``flow_bwd`` (H, W, 2) float32 with NaN where unknown plus ``flow_*_valid`` (H, W) bool, optional
    ``flow_*_occlusion`` (H, W) uint8 codes and ``reflection``), ``meta`` (dict) and ``row`` (the manifest row).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        info = self.root / DATASET_JSON
        if not info.is_file():
            raise SimgenError(f"{self.root} is not a simgen dataset (no {DATASET_JSON})")
        self.info = formats.read_json(info)
        self.rows = list(self._read_rows())

    def _read_rows(self) -> Iterator[dict]:
        from simgen.io.commit import ManifestError, read_manifest

        m = read_manifest(self.root)
        if m.bad:
            raise ManifestError(m.problem())
        if m.truncated:  # an append cut short by a crash
            warnings.warn(f"{m.path}: ignoring a truncated last line", stacklevel=3)
        yield from m.rows

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

    def path(self, row: dict, modality: str) -> Path:
        return self.root / row["files"][modality]

    def load(self, row: dict) -> dict:
        """Load every modality listed in ``row["files"]``."""
        out: dict = {"row": row}
        for modality, rel in row["files"].items():
            p = self.root / rel
            if modality == "meta":
                out["meta"] = formats.read_json(p)
            elif modality == "depth":
                out["depth"] = formats.read_depth(p)
            elif modality == "normal":
                out["normal"] = formats.read_normal(p)
            elif modality == "disparity":
                out["disparity"] = formats.read_exr(p)["D"]
            elif modality == "reflection":
                out["reflection"] = formats.read_reflection(p)
            elif modality == "reflection_strength":
                out["reflection_strength"] = formats.read_reflection_strength(p)
            elif modality in ("flow_fwd", "flow_bwd"):
                flow = formats.read_flo(p)
                valid = formats.flo_valid(flow)
                flow[~valid] = np.nan
                out[modality], out[f"{modality}_valid"] = flow, valid
            else:  # PNGs: rgb, semantic, instance, occlusion codes
                out[modality] = formats.read_png(p)
        return out
