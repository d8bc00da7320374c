"""KITTI layouts, as the official devkits read them (one camera: ours is KITTI's left colour camera ``image_2``).

```
OUT/object/training/image_2/<i:06d>.png   the frame (copied PNG)
OUT/object/training/label_2/<i:06d>.txt   one line per visible object of a class with a KITTI type
OUT/object/training/calib/<i:06d>.txt     P0..P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo
OUT/flow/training/image_2/<i:06d>_10.png, <i:06d>_11.png      frame t and t+1
OUT/flow/training/flow_occ/<i:06d>_10.png                     forward flow t -> t+1, all known pixels
OUT/flow/training/flow_noc/<i:06d>_10.png                     the same, only pixels visible in t+1
OUT/depth/<drive>/proj_depth/groundtruth/image_02/<frame:010d>.png   depth (depth-completion layout)
OUT/depth/<drive>/image_02/data/<frame:010d>.png                     the frame (raw-data layout)
```
``<i>`` is the sample's index in ``simgen_samples.jsonl``; ``<drive>`` is ``<scene>_<sequence folder name>_<camera>``.

Encodings (devkit readmes):
- label_2: ``type truncated occluded alpha left top right bottom h w l x y z rotation_y``. type from the class
  table's ``exports.kitti``; truncated = our truncation (0..1); occluded = 0 (occlusion < 0.1), 1 (< 0.5),
  2 (>= 0.5), 3 (unknown); the 2D box is the visible (mask) box as 0-based pixel indices, right/bottom
  inclusive; h w l = the box's extents along its z, y, x axes (metres); x y z = bottom centre of the 3D box in
  camera coordinates (metres); rotation_y = angle about the camera y axis of the box's x (length) axis
  projected onto the camera x-z plane, in [-pi, pi] (exact for a level camera); alpha = rotation_y -
  atan2(x, z), wrapped to [-pi, pi].
- calib: ``P0``..``P3`` = K [I | 0] (3x4, one camera, no stereo baseline); ``R0_rect`` = I; ``Tr_velo_to_cam`` maps
  a KITTI-LiDAR-style frame attached to the camera (x forward, y left, z up) to the camera frame (x right, y down,
  z forward): x_img = P2 · R0_rect · Tr_velo_to_cam · X_velo. ``Tr_imu_to_velo`` = [I | 0].
- depth: uint16 PNG, round(metres x 256), 0 = invalid (no surface, or beyond 65535/256 m).
- flow: 16-bit 3-channel PNG; R = u·64 + 2^15, G = v·64 + 2^15, B = valid (1/0); |u|, |v| > 511.98 px invalid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import numpy as np

from simgen.classes import class_table
from simgen.errors import OutputError
from simgen.io import formats
from simgen.io.atomic import temp_path_for
from simgen.io.dataset import FrameMeta, ManifestRow
from simgen.io.export import Exporter, SkipSample

#: KITTI-LiDAR-style frame (x forward, y left, z up) -> OpenCV camera frame (x right, y down, z forward)
CAM_FROM_VELO = np.array([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
FLOW_SCALE = 64.0
FLOW_OFFSET = 2**15
DEPTH_SCALE = 256.0


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def occluded_level(occlusion: float | None) -> int:
    """KITTI occlusion state from an occluded share: 0 < 0.1 <= 1 < 0.5 <= 2; None -> 3 (unknown)."""
    if occlusion is None:
        return 3
    return 0 if occlusion < 0.1 else 1 if occlusion < 0.5 else 2


def camera_from_world(world_from_camera: np.ndarray) -> np.ndarray:
    """(4, 4) inverse of a rigid camera-to-world pose (R^T, -R^T t)."""
    m = np.asarray(world_from_camera, np.float64)
    out = np.eye(4)
    out[:3, :3] = m[:3, :3].T
    out[:3, 3] = -m[:3, :3].T @ m[:3, 3]
    return out


def box_in_camera(obj, cam_from_world: np.ndarray) -> tuple[float, float, float, np.ndarray, float]:
    """(h, w, l, location (3,) bottom centre in camera metres, rotation_y) of an object's 3D box;
    cam_from_world: (4, 4) world-to-camera transform."""
    rot = cam_from_world[:3, :3] @ obj.box_rotation
    centre = cam_from_world[:3, :3] @ obj.box_center + cam_from_world[:3, 3]
    l, w, h = (float(v) for v in obj.box_size)
    bottom = centre - rot[:, 2] * h / 2.0
    ry = _wrap(np.arctan2(-rot[2, 0], rot[0, 0]))
    return h, w, l, bottom, ry


def label_lines(meta: FrameMeta) -> tuple[list[str], list[str]]:
    """(label_2 lines, notes) of a frame's objects (visible ones of classes with a KITTI type)."""
    names = class_table().export_names("kitti")
    lines, notes = [], []
    cam_from_world = camera_from_world(meta.world_from_camera)
    for obj in meta.objects:
        if obj.visible_pixels <= 0 or obj.bbox_visible is None:
            continue
        kitti_type = names.get(obj.class_name)
        if kitti_type is None:
            notes.append(f"kitti object: class {obj.class_name!r} has no KITTI type")
            continue
        h, w, l, loc, ry = box_in_camera(obj, cam_from_world)
        if loc[2] <= 0:
            notes.append("kitti object: 3D box centre behind the camera")
            continue
        alpha = _wrap(ry - np.arctan2(loc[0], loc[2]))
        x0, y0, x1, y1 = obj.bbox_visible
        lines.append(f"{kitti_type} {obj.truncation:.2f} {occluded_level(obj.occlusion)} {alpha:.2f} "
                     f"{x0:.2f} {y0:.2f} {x1 - 1:.2f} {y1 - 1:.2f} {h:.2f} {w:.2f} {l:.2f} "
                     f"{loc[0]:.2f} {loc[1]:.2f} {loc[2]:.2f} {ry:.2f}")
    return lines, notes


def calib_text(K: np.ndarray) -> str:
    """The calib file of a frame with intrinsics K (3, 3)."""
    P = np.hstack([np.asarray(K, np.float64), np.zeros((3, 1))])

    def fmt(m):
        return " ".join(f"{v:.12e}" for v in np.asarray(m, np.float64).ravel())

    lines = [f"P{i}: {fmt(P)}" for i in range(4)]
    lines += [f"R0_rect: {fmt(np.eye(3))}", f"Tr_velo_to_cam: {fmt(CAM_FROM_VELO[:3])}",
              f"Tr_imu_to_velo: {fmt(np.hstack([np.eye(3), np.zeros((3, 1))]))}"]
    return "\n".join(lines) + "\n"


def encode_depth(depth: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W) float32 metres (+inf = none) -> ((H, W) uint16 round(d·256), 0 invalid; count of pixels beyond range)."""
    d = np.asarray(depth, np.float64)
    ok = np.isfinite(d) & (d > 0)
    q = np.zeros(d.shape, np.float64)
    q[ok] = np.round(d[ok] * DEPTH_SCALE)
    far = ok & (q > 65535)
    q[far] = 0
    return q.astype(np.uint16), int(far.sum())


def encode_flow(flow: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(H, W, 2) float32 pixels + (H, W) bool -> (H, W, 3) uint16 (u·64+2^15, v·64+2^15, valid), RGB order."""
    f = np.nan_to_num(np.asarray(flow, np.float64))
    q = np.round(f * FLOW_SCALE + FLOW_OFFSET)
    ok = np.asarray(valid, bool) & np.all((q >= 0) & (q <= 65535), -1)
    out = np.zeros(f.shape[:2] + (3,), np.uint16)
    out[..., :2][ok] = q[ok].astype(np.uint16)
    out[..., 2] = ok
    return out


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in str(text))


def drive_name(row: ManifestRow) -> str:
    """``<scene>_<sequence>_<camera>`` (sequence = the sequence folder's name), for the depth layout."""
    return f"{_safe(row.scene)}_{_safe(row.sequence.rsplit('/', 1)[-1])}_{_safe(row.camera)}"


class KittiExporter(Exporter):
    name = "kitti"

    def write(self, row: ManifestRow, index: int) -> tuple[list[dict], list[str]]:
        r = self.reader
        meta = r.meta(row)
        if not meta.is_pinhole:
            raise SkipSample(f"{r.path(row, 'meta')}: camera_model {meta.camera_model!r} with distortion; KITTI "
                             f"needs undistorted pinhole images")
        rgb_src = r.path(row, "rgb")
        r.rgb(row)  # decode once: a corrupt frame is skipped, not copied
        lines, notes = label_lines(meta)
        depth_png, far = encode_depth(r.depth(row)) if r.has(row, "depth") else (None, 0)
        if far:
            notes.append("kitti depth: pixels beyond 255.99 m written as invalid")
        if depth_png is None:
            notes.append("kitti depth: sample has no depth")
        flow = None
        if r.has(row, "flow_fwd"):
            nxt = r.find(row.sequence, row.camera, row.frame + 1)
            if nxt is None or not r.has(nxt, "rgb"):
                notes.append("kitti flow: the next frame is not in the dataset")
            else:
                f, valid = r.flow(row, "fwd")
                occ = r.read(row, "flow_fwd_occlusion") if r.has(row, "flow_fwd_occlusion") else None
                r.rgb(nxt)
                flow = (f, valid, occ, r.path(nxt, "rgb"))
                if occ is None:
                    notes.append("kitti flow: no occlusion codes, flow_noc not written")
        else:
            notes.append("kitti flow: no forward flow (last frame of its sequence)")

        stem = f"{index:06d}"
        drive = drive_name(row)
        files: dict[str, object] = {
            f"object/training/image_2/{stem}.png": rgb_src,
            f"object/training/label_2/{stem}.txt": ("\n".join(lines) + "\n" if lines else "").encode(),
            f"object/training/calib/{stem}.txt": calib_text(meta.K).encode(),
        }
        if depth_png is not None:
            files[f"depth/{drive}/proj_depth/groundtruth/image_02/{row.frame:010d}.png"] = formats.encode_png(depth_png)
            files[f"depth/{drive}/image_02/data/{row.frame:010d}.png"] = rgb_src
        if flow is not None:
            f, valid, occ, next_rgb = flow
            files[f"flow/training/image_2/{stem}_10.png"] = rgb_src
            files[f"flow/training/image_2/{stem}_11.png"] = next_rgb
            files[f"flow/training/flow_occ/{stem}_10.png"] = formats.encode_png(encode_flow(f, valid))
            if occ is not None:
                files[f"flow/training/flow_noc/{stem}_10.png"] = formats.encode_png(encode_flow(f, valid & (occ == 0)))
        write_files(self.out, files)
        return [{"index": index, "sample_id": row.sample_id, "outputs": sorted(files)}], notes


def write_files(out: Path, files: dict[str, object]) -> None:
    """Write every file of one sample or none: values are bytes or a source Path to copy. Each file is written
    under a temporary name and all are renamed once all are written (no fsync: an interrupted process leaves no
    partial file under a final name; the ledger line that follows is what marks the sample done)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for rel, content in files.items():
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_path_for(dest)
            staged.append((tmp, dest))
            if isinstance(content, Path):
                shutil.copyfile(content, tmp)
            else:
                tmp.write_bytes(content)
    except BaseException as err:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {err.filename or out}: {err.strerror or err}") from None
        raise
    for tmp, dest in staged:
        os.replace(tmp, dest)
