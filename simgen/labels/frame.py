"""All labels of one frame: :func:`compute_frame_labels` turns a :class:`RawFrame` into :class:`FrameLabels`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simgen.labels.depth import planar_depth, surface_mask
from simgen.labels.flow import flow_from_vector, flow_through_lens, occlusion_mask
from simgen.labels.geometry import invert_affine, locate_on_mesh, transform_points, triangulate
from simgen.labels.ids import LabelError, id_maps, label_keys
from simgen.labels.normals import normals_to_camera
from simgen.labels.objects import ObjectRecord, object_record
from simgen.labels.raw import RawFrame
from simgen.labels.stereo import disparity_from_depth, stereo_record
from simgen.world.conventions import unproject_depth
from simgen.world.lens import Lens
from simgen.world.model import World


@dataclass
class NeighbourView:
    """What occlusion needs from frame t±1 of the same camera.

    depth: (H, W) float planar depth in metres (raw Blender values >= 1e9 or inf = no surface).
    world_from_camera: (4, 4) OpenCV camera-to-world at t±1; K: (3, 3) intrinsics at t±1.
    object_index: optional (H, W) float object-index pass of t±1 (used for deforming objects).
    """

    depth: np.ndarray
    world_from_camera: np.ndarray
    K: np.ndarray
    object_index: np.ndarray | None = None
    lens: Lens | None = None

    @classmethod
    def from_raw(cls, raw: RawFrame) -> "NeighbourView":
        return cls(raw.depth, raw.world_from_camera, raw.K, raw.object_index, raw.lens)


@dataclass
class FrameLabels:
    """Labels of one frame of one camera, in the stored conventions (see ``dataset.json``).

    depth: (H, W) float32 planar metres, +inf = no surface.
    semantic: (H, W) uint8 class ids; instance: (H, W) uint16 instance ids (0 = none).
    normal: (H, W, 3) float32 unit normals, OpenCV camera frame, (0, 0, 0) where there is no surface.
    flow_fwd / flow_bwd: (H, W, 2) float32 pixels (u right, v down), NaN where invalid; None for the last /
    first frame of the sequence. *_valid: (H, W) bool. occluded_* / out_of_view_*: (H, W) bool, None unless the
    neighbour view was given.
    reflection: optional (H, W, 3) float32 in [0, 1] (direct, via mirror, via glass), passed through.
    reflection_semantic / reflection_instance: optional (H, W) uint8 / uint16 class and instance ids of the
    object seen via a reflection or through glass at each pixel (0 = none), when the renderer provides them.
    reflection_strength: optional (H, W, 2) float32 in [0, 1], share of the reflected / see-through person's light
    reaching the camera (surface Fresnel), passed through.
    K: (3, 3) float64 OpenCV intrinsics; world_from_camera: (4, 4) float64 OpenCV camera-to-world.
    lens: the camera's lens (model, K, D, size); for ``fisheye`` ``depth`` is the range along each pixel's ray.
    disparity: optional (H, W) float32 (left camera of a stereo rig): f·B / Z in pixels, NaN where no surface.
    stereo: optional dict (cameras of a stereo rig): R, T, R1, R2, P1, P2, Q as ``cv2.stereoRectify`` gives.
    """

    frame: int
    camera: str
    width: int
    height: int
    K: np.ndarray
    world_from_camera: np.ndarray
    fps: float
    clip_start: float
    clip_end: float
    depth: np.ndarray
    semantic: np.ndarray
    instance: np.ndarray
    normal: np.ndarray
    objects: list[ObjectRecord]
    flow_fwd: np.ndarray | None = None
    flow_fwd_valid: np.ndarray | None = None
    flow_bwd: np.ndarray | None = None
    flow_bwd_valid: np.ndarray | None = None
    occluded_fwd: np.ndarray | None = None
    out_of_view_fwd: np.ndarray | None = None
    occluded_bwd: np.ndarray | None = None
    out_of_view_bwd: np.ndarray | None = None
    reflection: np.ndarray | None = None
    reflection_semantic: np.ndarray | None = None
    reflection_instance: np.ndarray | None = None
    reflection_strength: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    lens: Lens | None = None
    disparity: np.ndarray | None = None
    stereo: dict | None = None

    @property
    def timestamp(self) -> float:
        """Seconds since frame 0 (frame / fps)."""
        return self.frame / self.fps

    def camera_record(self) -> dict:
        """JSON-ready camera record: name, camera_model, width, height, K, D, depth kind, world_from_camera, clip
        range, fps, timestamp (and fov_deg for fisheye, the stereo rectification for a stereo rig)."""
        lens = self.lens if self.lens is not None else Lens("pinhole", self.width, self.height, self.K)
        extra = {k: v for k, v in lens.record().items() if k not in ("width", "height", "K")}
        if self.stereo is not None:
            extra["stereo"] = self.stereo
        return {
            "name": self.camera,
            "width": self.width,
            "height": self.height,
            **extra,
            "K": np.asarray(self.K, float).tolist(),
            "world_from_camera": np.asarray(self.world_from_camera, float).tolist(),
            "clip_start": float(self.clip_start),
            "clip_end": float(self.clip_end),
            "fps": float(self.fps),
            "timestamp": self.timestamp,
        }


def _points_at(world: World, keys: np.ndarray, points: np.ndarray, frame: int, other: int) -> np.ndarray:
    """Move the world points seen at ``frame`` (H, W, 3) to where they are at ``other`` (rigid motion of the
    entity each pixel belongs to). Deforming entities and background become NaN. Returns (H, W, 3) float64."""
    n = len(world.entities)
    deltas = np.full((n + 1, 3, 4), np.nan)
    for i, ent in enumerate(world.entities, start=1):
        if not ent.deforming:
            deltas[i] = (ent.poses[other] @ invert_affine(ent.poses[frame]))[:3]
    out = np.full(points.shape, np.nan)
    sel = np.nonzero(keys > 0)
    d = deltas[keys[sel]]
    p = points[sel]
    out[sel] = np.einsum("nij,nj->ni", d[:, :, :3], p) + d[:, :, 3]
    return out


def _deformed_points(ent, points: np.ndarray, frame: int, other: int) -> np.ndarray:
    """World points (N, 3) on deforming entity ``ent`` at ``frame`` -> where the same surface points are at
    ``other``: the triangle each point lies on (of the frame's mesh: smallest distance to the triangle's plane
    plus distance outside its edges) keeps its barycentric coordinates while its vertices move.
    Returns (N, 3) float64."""
    tris = triangulate(ent.mesh.faces)
    local = transform_points(invert_affine(ent.poses[frame]), points)
    tri_id, bary = locate_on_mesh(ent.vertices_at(frame), tris, local)
    moved = np.einsum("nk,nkj->nj", bary, ent.vertices_at(other)[tris[tri_id]])
    return transform_points(ent.poses[other], moved)


def _points_at_exact(world: World, keys: np.ndarray, points: np.ndarray, frame: int, other: int) -> np.ndarray:
    """Like :func:`_points_at`, deforming entities included (barycentric tracking on their mesh)."""
    out = _points_at(world, keys, points, frame, other)
    for i, ent in enumerate(world.entities, start=1):
        if ent.deforming:
            sel = np.nonzero((keys == i) & np.isfinite(points[..., 0]))
            if sel[0].size:
                out[sel] = _deformed_points(ent, points[sel], frame, other)
    return out


def stored_depth(raw_depth: np.ndarray, lens: Lens | None) -> np.ndarray:
    """Raw Blender depth -> stored depth (H, W) float32 metres, +inf = none. Native perspective cameras give
    planar depth directly; custom (distorting) cameras give the range along the ray, kept for ``fisheye`` and
    turned into planar depth (range · ray z) for ``opencv``; pixels outside the lens's field are +inf."""
    d = planar_depth(raw_depth)
    if lens is None or lens.native_perspective:
        return d
    rays = lens.pixel_rays()
    d = np.where(np.isfinite(rays[..., 0]), d, np.inf)
    if lens.depth_kind == "planar":
        d = d.astype(np.float64) * rays[..., 2]
    return d.astype(np.float32)


def compute_frame_labels(
    raw: RawFrame,
    world: World,
    next_view: NeighbourView | None = None,
    prev_view: NeighbourView | None = None,
    frame_count: int | None = None,
) -> FrameLabels:
    """Turn the renderer's raw passes for one frame/camera into labels.

    raw: the :class:`RawFrame` of ``raw.frame`` for camera ``raw.camera`` (a camera of ``world``).
    world: the sequence's world (entities, poses, cameras, frame count, fps).
    next_view / prev_view: optional neighbour frames (t+1 / t−1) of the same camera; when given, the occlusion
    masks of the forward / backward flow are computed.
    frame_count: frames of the output sequence when only the first N of the world's frames are kept (``--frames
    N``; default: all of ``world.frame_count``). Forward flow is None on the last frame of the sequence (frame
    N−1: its neighbour is not in the dataset) and backward flow None on the first frame.
    Object records are made for every entity with ``instance_id > 0`` and ``label_visible`` (also when it is not
    in view: then ``visible_pixels`` is 0 and the 2D boxes are None). Raises :class:`LabelError` when the raw
    passes break the contract (fractional or unknown ids, mismatched shapes, unknown camera or frame).
    """
    cams = {c.name: c for c in world.cameras}
    if raw.camera not in cams:
        raise LabelError(f"raw frame camera {raw.camera!r} is not a camera of world {world.name!r}")
    cam = cams[raw.camera]
    t = int(raw.frame)
    if not 0 <= t < world.frame_count:
        raise LabelError(f"frame {t} outside 0..{world.frame_count - 1}")
    h, w = raw.height, raw.width
    for name in ("object_index", "vector", "normal"):
        arr = getattr(raw, name)
        if arr.shape[:2] != (h, w):
            raise LabelError(f"raw.{name} is {arr.shape}, depth is {(h, w)}")
    K = np.asarray(raw.K, np.float64)
    pose = np.asarray(raw.world_from_camera, np.float64)
    lens = raw.lens
    distorted = lens is not None and not lens.native_perspective
    if lens is not None and (lens.width, lens.height) != (w, h):
        raise LabelError(f"raw frame is {w}x{h}, its lens {lens.width}x{lens.height}")

    surface = surface_mask(raw.depth)
    depth = stored_depth(raw.depth, lens)
    if distorted:
        surface &= np.isfinite(depth)
    semantic, instance = id_maps(raw.object_index, world.label_table())
    keys = label_keys(raw.object_index)
    normal = normals_to_camera(raw.normal, pose, surface)

    labels = FrameLabels(
        frame=t, camera=cam.name, width=w, height=h, K=K, world_from_camera=pose, fps=float(world.fps),
        clip_start=float(cam.clip_start), clip_end=float(cam.clip_end), depth=depth, semantic=semantic,
        instance=instance, normal=normal, objects=[],
        reflection=None if raw.reflection is None else np.asarray(raw.reflection, np.float32),
        reflection_strength=None if raw.reflection_strength is None else np.asarray(raw.reflection_strength,
                                                                                     np.float32),
        lens=lens,
    )

    if raw.reflection_index is not None:
        labels.reflection_semantic, labels.reflection_instance = id_maps(raw.reflection_index, world.label_table())

    points = None
    n_frames = world.frame_count if frame_count is None else min(int(frame_count), world.frame_count)
    if distorted:  # custom camera: no usable Vector pass; each pixel's surface point, exactly, in float64
        rng = planar_depth(raw.depth).astype(np.float64)
        pc = lens.pixel_rays() * np.where(surface, rng, np.nan)[..., None]
        points = pc @ pose[:3, :3].T + pose[:3, 3]
    for direction, other, view in (("fwd", t + 1, next_view), ("bwd", t - 1, prev_view)):
        if not 0 <= other < n_frames:
            continue
        if distorted:
            moved = _points_at_exact(world, keys, points, t, other)
            flow, valid = flow_through_lens(moved, lens, cam.poses[other], surface)
        else:
            flow, valid = flow_from_vector(raw.vector, surface, direction)
        setattr(labels, f"flow_{direction}", flow)
        setattr(labels, f"flow_{direction}_valid", valid)
        if view is None:
            continue
        if points is None:
            points = unproject_depth(np.where(surface, depth, np.nan), K, pose)
        if not distorted:
            moved = _points_at(world, keys, points, t, other)
        nkeys = None if view.object_index is None else label_keys(view.object_index)
        occ, oov = occlusion_mask(moved, flow, valid, stored_depth(view.depth, view.lens), view.K,
                                  view.world_from_camera, keys=keys, neighbour_keys=nkeys,
                                  lens=view.lens if distorted else None)
        setattr(labels, f"occluded_{direction}", occ)
        setattr(labels, f"out_of_view_{direction}", oov)

    labels.stereo = stereo_record(world, cam.name, t, w, h) if cam.rig else None
    if labels.stereo is not None and labels.stereo["role"] == "left" and (lens is None or lens.depth_kind == "planar"):
        labels.disparity = disparity_from_depth(depth, labels.stereo)
    labels.objects = [
        object_record(e, t, instance, K, pose, cam.clip_start, lens)
        for e in world.entities
        if e.instance_id > 0 and e.label_visible
    ]
    return labels
