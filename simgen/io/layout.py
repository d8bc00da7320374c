"""The native on-disk format: version, conventions (in words and as fields), file naming.

```
ROOT/dataset.json                        format + simgen (+ Blender) versions, class table, conventions
ROOT/manifest.jsonl                      one JSON row per frame (rewritten atomically when a sequence is added)
ROOT/<scene>/<sequence>/scene.resolved.json
ROOT/<scene>/<sequence>/rows.jsonl       the sequence's own manifest rows (the manifest can be rebuilt from these)
ROOT/<scene>/<sequence>[/<camera>]/<frame:06d>.<modality>.<ext>
```
``<sequence>`` names what makes the sequence different: ``v<variant:04d>-s<seed>`` for a scene file,
``<sweep file stem>-p<point:04d>-s<seed>`` for a sweep point (``simgen render``; a writer used directly names it
``<variant:04d>`` unless told otherwise). Each row carries ``sequence`` (``<scene>/<sequence>``), ``source``
(the absolute path of the scene or sweep file), ``commit`` and, for sweep points, ``sweep`` (path -> label). The
``<camera>`` level exists only for sequences with more than one camera. Hidden entries (``.staging-*``,
``.commit-*.json``) belong to a commit under way or interrupted (``simgen repair`` finishes it).
"""

from __future__ import annotations

import re

from simgen.errors import OutputError
from simgen.world.surfaces import REFLECTION_MAX_ROUGHNESS

FORMAT_NAME = "simgen-native"
FORMAT_VERSION = "1.0"
CONVENTIONS_VERSION = 1

#: modality -> file extension
MODALITY_EXT = {
    "rgb": "png",
    "depth": "exr",
    "flow_fwd": "flo",
    "flow_bwd": "flo",
    "flow_fwd_occlusion": "png",
    "flow_bwd_occlusion": "png",
    "semantic": "png",
    "instance": "png",
    "normal": "exr",
    "disparity": "exr",
    "reflection": "exr",
    "reflection_semantic": "png",
    "reflection_instance": "png",
    "reflection_strength": "exr",
    "meta": "json",
}

#: values of the 8-bit ``flow_*_occlusion`` PNGs
OCCLUSION_CODES = {"visible": 0, "occluded": 1, "out_of_view": 2, "no_flow": 3}

CONVENTIONS = {
    "version": CONVENTIONS_VERSION,
    "world": {"handedness": "right", "up": "+z", "unit": "metre",
              "text": "World frame: right-handed, z up, metres."},
    "camera": {"x": "right", "y": "down", "z": "forward", "pose": "world_from_camera (4x4, camera-to-world)",
               "text": "Camera frame (OpenCV): x right, y down, z forward along the optical axis. world_from_camera "
                       "maps camera coordinates to world coordinates."},
    "pixels": {"origin": "centre of the top-left pixel", "pixel_centre": [0.0, 0.0], "row0": "top",
               "principal_point_unshifted": "cx = W/2 - 0.5, cy = H/2 - 0.5",
               "text": "The centre of pixel (col 0, row 0) is (0, 0); row 0 is the top row; K is OpenCV's. "
                       "Boxes [x0, y0, x1, y1] are in pixel-edge coordinates (column c spans [c, c+1)), exclusive end."},
    "depth": {"kind": "planar", "fisheye_kind": "range", "unit": "metre", "dtype": "float32", "background": "+inf",
              "channel": "Z",
              "text": "Depth is planar (distance along the optical axis, not along the ray), metres, float32; "
                      "+inf where there is no surface. Fisheye cameras (camera_model fisheye) store the range "
                      "along the pixel's ray instead (planar depth turns negative beyond 90 degrees)."},
    "lens": {"models": ["pinhole", "opencv", "fisheye"], "meta": "camera_model, K, D, width, height",
             "text": "Each frame's meta gives camera_model, K and D in OpenCV's order: pinhole (D empty), opencv "
                     "(k1 k2 p1 p2 k3, as cv2.projectPoints), fisheye (k1 k2 k3 k4, as cv2.fisheye.projectPoints; "
                     "beyond 90 degrees off-axis the same equidistant formula with theta = atan2(sqrt(x^2+y^2), z); "
                     "rays beyond camera_record.fov_deg/2 are not imaged)."},
    "flow": {"unit": "pixel", "u": "right", "v": "down", "dtype": "float32", "unknown": "> 1e9 (written as 1e10)",
             "forward": "frame t -> t+1, absent on the last frame", "backward": "frame t -> t-1, absent on the first frame",
             "text": "Optical flow is a motion field in pixels (u right, v down): pixel p of frame t moves to p + F(p) "
                     "in the neighbour frame. Values above 1e9 mean unknown (no surface)."},
    "normal": {"frame": "opencv_camera", "dtype": "float32", "background": [0.0, 0.0, 0.0], "channels": ["X", "Y", "Z"],
               "text": "Normals are unit vectors in the OpenCV camera frame; (0, 0, 0) where there is no surface."},
    "semantic": {"dtype": "uint8", "ids": "dataset.json classes", "unlabeled": 0},
    "instance": {"dtype": "uint16", "none": 0, "stable_over_sequence": True,
                 "text": "Instance ids are stable over a sequence; 0 = no instance (stuff)."},
    "reflection": {"channels": ["direct", "mirror", "glass"], "max_roughness": REFLECTION_MAX_ROUGHNESS,
                   "strength_channels": ["mirror", "glass"],
                   "text": "A surface is a mirror for the reflection labels where its roughness as rendered (Blender's "
                           "principled roughness, after wetness or snow) is at most max_roughness, or it is glass, "
                           "water or car paint; a pixel on it shows the person its pixel-centre ray, mirrored once "
                           "about the surface, meets. reflection_strength is the product of the Fresnel "
                           "reflectances / transmittances along the path."},
    "box3d": {"center": "world metres", "size": "extents along the object's own axes, metres",
              "rotation": "3x3 world_from_object rotation", "tight": "around the mesh at this frame"},
}

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def safe_component(value: str, what: str) -> str:
    """Check a path component (scene, variant, camera name): letters, digits, '_', '-', '.', not '..'."""
    s = str(value)
    if not _SAFE.match(s) or ".." in s:
        raise OutputError(f"{what} {s!r} is not usable as a folder name (letters, digits, _ - . only)")
    return s


def variant_dir(variant: int | str) -> str:
    """Folder name of a variant: integers are zero-padded to 4 digits (sorts correctly), strings kept."""
    if isinstance(variant, int):
        if variant < 0:
            raise OutputError(f"variant must be >= 0, got {variant}")
        return f"{variant:04d}"
    return safe_component(variant, "variant")


def frame_file(frame: int, modality: str) -> str:
    """``<frame:06d>.<modality>.<ext>``."""
    return f"{int(frame):06d}.{modality}.{MODALITY_EXT[modality]}"
