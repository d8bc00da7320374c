"""The contract between the renderer adapter (:mod:`simgen.render`) and label post-processing.

The renderer returns one :class:`RawFrame` per (frame, camera). All arrays are rows top-down (row 0 = top of
the image), as read from Blender's EXR files; nothing here is converted yet — :mod:`simgen.labels` does that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simgen.world.lens import Lens

#: Blender's depth value for "no surface"
BLENDER_BACKGROUND_DEPTH = 1e10


@dataclass
class RawFrame:
    """Raw render output for one frame of one camera.

    frame: 0-based frame index within the sequence; camera: camera name.
    rgb: (H, W, 3) uint8, sRGB display-referred beauty image.
    depth: (H, W) float32, Blender ``Depth.Z`` from the 1-spp label render (sample 0 at the pixel centre: the
        label render uses a 0.01 px filter, weather geometry and fog hidden): planar metres, 1e10 = none.
    object_index: (H, W) float32, Blender ``Object Index`` (the entity's ``label_key``; 0 = no object).
    position: (H, W, 3) float32, world position of the same hit (metres); undefined where depth is 1e10.
    vector: (H, W, 4) float32, Blender ``Vector`` pass from a 1-spp render, raster x right / y up:
        XY = p(t−1) − p(t), ZW = p(t) − p(t+1).
    normal: (H, W, 3) float32, world-space unit normals from the 1-spp pass.
    reflection: optional (H, W, 3) float32 0/1 masks from the reflection label render: channel 0 = a person
        (pedestrian, child, cyclist) seen directly, 1 = seen via a mirror-like reflection (car paint, puddles,
        shop-window glass), 2 = seen through glass.
    reflection_index: optional (H, W) float32 label_key of the person seen via a reflection at the pixel, else
        of the one seen through glass, else 0 (:func:`simgen.labels.reflection.merge_reflection_keys`).
    reflection_strength: optional (H, W, 2) float32 in [0, 1]: the share of the reflected (0) / see-through (1)
        person's light that reaches the camera (Fresnel; :func:`simgen.labels.reflection.merge_reflection_strength`).
    K: (3, 3) float64 OpenCV intrinsics; world_from_camera: (4, 4) float64 OpenCV camera-to-world pose.
    lens: the camera's :class:`~simgen.world.lens.Lens` (model, size, K, D); None = pinhole with ``K``. For a
    lens that is not a native perspective camera (``opencv``, ``fisheye``), ``depth`` is the **range** along
    the pixel's ray (Cycles' depth of custom cameras) and ``vector`` is not used (flow comes from geometry).
    timings: seconds spent per stage (``build``, ``beauty``, ``labels``), for the benchmark and summaries.
    linear: optional (H, W, 3) float32 scene-linear beauty render (the Combined pass, renderer units, before any
        view transform) of a camera with a sensor model; ``rgb`` is then that sensor's output.
    sensor: optional dict of what the camera's sensor did for this frame (exposure_time_s, iso, gain, wb_gains,
        metered; :class:`simgen.sensor.pipeline.FrameInfo`).
    """

    frame: int
    camera: str
    rgb: np.ndarray
    depth: np.ndarray
    object_index: np.ndarray
    position: np.ndarray
    vector: np.ndarray
    normal: np.ndarray
    K: np.ndarray
    world_from_camera: np.ndarray
    reflection: np.ndarray | None = None
    reflection_index: np.ndarray | None = None
    reflection_strength: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    lens: Lens | None = None
    linear: np.ndarray | None = None
    sensor: dict | None = None

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])
