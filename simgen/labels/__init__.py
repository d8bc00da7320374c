"""Pure-numpy label post-processing: raw render passes -> labels in the stored conventions.

Entry point: :func:`compute_frame_labels` (a :class:`RawFrame` and the :class:`~simgen.world.model.World`
-> :class:`FrameLabels`). No bpy here.
"""

from simgen.labels.frame import FrameLabels, NeighbourView, compute_frame_labels
from simgen.labels.ids import LabelError
from simgen.labels.objects import ObjectRecord
from simgen.labels.raw import RawFrame

__all__ = ["FrameLabels", "LabelError", "NeighbourView", "ObjectRecord", "RawFrame", "compute_frame_labels"]
