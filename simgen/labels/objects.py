"""Per-object label records: pose, tight 3D box, visible/amodal 2D boxes, pixel counts, truncation, occlusion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simgen.classes import class_table
from simgen.labels.geometry import (
    Box3D,
    amodal_bbox,
    hull_truncation,
    project_mesh,
    rasterise_polygons,
    tight_box,
    triangulate,
)
from simgen.labels.lensgeom import amodal_bbox_lens, silhouette_lens
from simgen.world.lens import Lens
from simgen.world.model import Entity


@dataclass
class ObjectRecord:
    """Labels of one object (an entity with instance_id > 0) in one frame of one camera.

    world_from_object: (4, 4) float64 pose at this frame. box3d: tight box around the mesh along the object's
    axes. bbox_visible: [x0, y0, x1, y1] int, bounding box of the instance mask, exclusive end (pixel-edge
    coordinates: column c spans [c, c + 1)), None when no pixel is visible. bbox_amodal: [x0, y0, x1, y1]
    float in the same pixel-edge coordinates: the 3D box's corners projected after clipping the box against the
    near plane, then clipped to the image; None when entirely behind the camera or outside the image.
    visible_pixels: pixels of the instance mask. silhouette_pixels: in-image pixels of the object's full
    silhouette (its projected, near-clipped triangles rasterised with ``cv2.fillConvexPoly`` on a 7× finer
    canvas sampled at the pixel centres, ignoring every other object; see
    :func:`simgen.labels.geometry.rasterise_polygons`). truncation: share (0..1) of the object's unclipped image-plane extent (convex hull of its
    projected mesh) outside the image. occlusion: 1 − visible_pixels / silhouette_pixels clipped to [0, 1]
    (None when the silhouette is empty); pixel centres within ~1/7 px of the outline may be counted either way.
    Only the in-image part counts: the part outside the image is truncation, not occlusion.
    """

    instance_id: int
    class_name: str
    class_id: int
    name: str
    world_from_object: np.ndarray
    box3d: Box3D
    bbox_visible: list[int] | None
    bbox_amodal: list[float] | None
    visible_pixels: int
    silhouette_pixels: int
    truncation: float
    occlusion: float | None
    deforming: bool
    attributes: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "instance_id": int(self.instance_id),
            "class": self.class_name,
            "class_id": int(self.class_id),
            "name": self.name,
            "world_from_object": np.asarray(self.world_from_object, float).tolist(),
            "box3d": self.box3d.to_json(),
            "bbox_visible": self.bbox_visible,
            "bbox_amodal": self.bbox_amodal,
            "visible_pixels": int(self.visible_pixels),
            "silhouette_pixels": int(self.silhouette_pixels),
            "truncation": float(self.truncation),
            "occlusion": None if self.occlusion is None else float(self.occlusion),
            "deforming": bool(self.deforming),
            "attributes": self.attributes,
        }


def mask_bbox(mask: np.ndarray) -> list[int] | None:
    """[x0, y0, x1, y1] int bounding box of a (H, W) bool mask, exclusive end; None if the mask is empty."""
    rows = np.flatnonzero(mask.any(1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(0))
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def object_record(
    entity: Entity, frame: int, instance: np.ndarray, K: np.ndarray, world_from_camera: np.ndarray, near: float,
    lens: Lens | None = None,
) -> ObjectRecord:
    """Build the :class:`ObjectRecord` of ``entity`` at ``frame``.

    instance: (H, W) uint16 instance map of this frame; K: (3, 3) OpenCV intrinsics; world_from_camera: (4, 4)
    OpenCV camera-to-world; near: the camera's clip start (metres) — geometry closer than this is not rendered.
    lens: the camera's lens; a distorting one (not a native perspective camera) projects the box edges densely
    and splits the mesh's triangles before rasterising (:mod:`simgen.labels.lensgeom`).
    """
    h, w = instance.shape
    pose = np.asarray(entity.poses[frame], np.float64)
    verts = entity.vertices_at(frame)
    tris = triangulate(entity.mesh.faces)
    box = tight_box(verts, pose)
    mask = instance == entity.instance_id
    visible = int(mask.sum())
    distorted = lens is not None and not lens.native_perspective
    if distorted:
        sil, hull_pts = silhouette_lens(verts, tris, pose, world_from_camera, lens, near)
        silhouette = int(sil.sum())
        amodal = amodal_bbox_lens(box, world_from_camera, lens, near)
    else:
        tri2d, clipped = project_mesh(verts, tris, pose, world_from_camera, K, near)
        silhouette = int(rasterise_polygons(clipped, h, w, tris=tri2d).sum())
        amodal = amodal_bbox(box, world_from_camera, K, near, h, w)
        hull_pts = np.concatenate([tri2d.reshape(-1, 2), *clipped])
    occlusion = None if silhouette == 0 else float(np.clip(1.0 - visible / silhouette, 0.0, 1.0))
    return ObjectRecord(
        instance_id=int(entity.instance_id),
        class_name=entity.class_name,
        class_id=class_table().by_name(entity.class_name).id,
        name=entity.name,
        world_from_object=pose,
        box3d=box,
        bbox_visible=mask_bbox(mask),
        bbox_amodal=amodal,
        visible_pixels=visible,
        silhouette_pixels=silhouette,
        truncation=hull_truncation(hull_pts, h, w) if len(hull_pts) else 1.0,
        occlusion=occlusion,
        deforming=bool(entity.deforming),
        attributes=frame_attributes(entity.attributes, frame),
    )


def frame_attributes(attributes: dict, frame: int) -> dict:
    """An entity's attributes at ``frame``: the constant ones, and each per-frame one (``attributes["per_frame"]``:
    name -> list with one value per frame) as its value at this frame."""
    out = {k: v for k, v in attributes.items() if k != "per_frame"}
    for k, seq in attributes.get("per_frame", {}).items():
        out[k] = seq[frame]
    return out
