"""Native dataset IO: atomic writers/readers for every modality, the dataset writer/reader and manifest,
exporters (:mod:`simgen.io.export`) and the training-side ``TorchDataset`` (imported lazily: torch only then)."""

from simgen.io.dataset import DatasetError, DatasetReader, DatasetWriter, FrameMeta, ManifestRow, ObjectMeta, frame_meta
from simgen.io.layout import CONVENTIONS, CONVENTIONS_VERSION, FORMAT_VERSION

__all__ = ["CONVENTIONS", "CONVENTIONS_VERSION", "DatasetError", "DatasetReader", "DatasetWriter", "FORMAT_VERSION",
           "FrameMeta", "ManifestRow", "ObjectMeta", "TorchDataset", "collate", "frame_meta"]


def __getattr__(name: str):
    if name in ("TorchDataset", "collate"):
        from simgen.io import torch_dataset

        return getattr(torch_dataset, name)
    raise AttributeError(f"module 'simgen.io' has no attribute {name!r}")
