"""Native dataset IO: atomic writers/readers for every modality, the dataset writer/reader and manifest."""

from simgen.io.dataset import DatasetReader, DatasetWriter, frame_meta
from simgen.io.layout import CONVENTIONS, CONVENTIONS_VERSION, FORMAT_VERSION

__all__ = ["CONVENTIONS", "CONVENTIONS_VERSION", "DatasetReader", "DatasetWriter", "FORMAT_VERSION", "frame_meta"]
