"""``TorchDataset``: a PyTorch map-style dataset over a native simgen dataset or over exported shards.

Importable without bpy or Ray (torch, numpy, OpenCV, OpenEXR; pyarrow for shards).

Tensors of one sample (``modalities`` chooses which; ``H``, ``W`` after augmentation):

========================  ===================  =======  ===============================================================
key                       shape                dtype    meaning
========================  ===================  =======  ===============================================================
rgb                       (3, H, W)            float32  sRGB in [0, 1]
depth                     (H, W)               float32  metres (planar; range along the ray for fisheye); 0 = none
depth_valid               (H, W)               bool     a surface was hit
disparity (+ _valid)      (H, W)               float32  stereo left camera: f*B/Z pixels; 0 where no surface
semantic                  (H, W)               int64    class ids of ``dataset.json`` classes
instance                  (H, W)               int64    instance ids, 0 = none
normal                    (3, H, W)            float32  unit normals, camera frame (x right, y down, z forward)
flow_fwd / flow_bwd       (2, H, W)            float32  pixels (u right, v down) to frame t+1 / t-1; 0 where unknown
flow_fwd_valid / _bwd_    (H, W)               bool     flow known (False everywhere when the frame has none)
flow_*_occlusion          (H, W)               int64    0 visible, 1 occluded, 2 out of view, 3 no flow
boxes                     (N, 4)               float32  visible boxes [x0, y0, x1, y1], pixel-edge coordinates
labels                    (N,)                 int64    class id of each box
instance_ids              (N,)                 int64    instance id of each box
K                         (3, 3)               float32  OpenCV intrinsics (pixel-centre origin) after augmentation
world_from_camera         (4, 4)               float32  camera-to-world (metres); x column negated after a flip
camera_model              -                    str      pinhole | opencv | fisheye (batched as a list)
D                         (5,)                 float32  distortion, OpenCV order, zero-padded (p2 negated by a flip)
sample_id, index          -                    str/int  the manifest sample id and the dataset index
========================  ===================  =======  ===============================================================

Boxes vary in number: batch with :func:`collate` (stacks the fixed-size tensors, keeps lists for the others).
``transform`` is a joint augmentation from :mod:`simgen.io.augment` (``t(sample, rng)``); each sample draws from
``numpy.random.default_rng((seed, epoch, index))`` — call :meth:`TorchDataset.set_epoch` for new draws.
Splits (``split=``) keep all frames of a sequence and all cameras of a rig on one side (see
:mod:`simgen.io.select`).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from torch.utils.data._utils.collate import default_collate

from simgen.io.dataset import DatasetError, DatasetReader, ManifestRow, decode_modality
from simgen.io.formats import FormatError, flo_valid
from simgen.io.select import select

DEFAULT_MODALITIES = ("rgb", "depth", "semantic", "instance", "flow_fwd", "boxes")
_STORED = {"rgb", "depth", "disparity", "semantic", "instance", "normal", "flow_fwd", "flow_bwd", "flow_fwd_occlusion",
           "flow_bwd_occlusion", "reflection", "reflection_semantic", "reflection_instance", "reflection_strength"}
_LISTS = ("boxes", "labels", "instance_ids", "sample_id", "camera_model")


class _ShardSource:
    """Samples of exported shards (``manifest.parquet`` + ``shard-*.tar``); tar files open lazily per process."""

    def __init__(self, root: Path):
        import pyarrow.parquet as pq

        self.root = root
        table = pq.read_table(root / "manifest.parquet", columns=["shard", "members", "row", "key"])
        self.shards = table.column("shard").to_pylist()
        self.members = table.column("members").to_pylist()
        rows = table.column("row").to_pylist()
        self.entries = [ManifestRow.parse(json.loads(r), i + 1, f"{root / 'manifest.parquet'} row {i + 1}")
                        for i, r in enumerate(rows)]
        self._where = {e.sample_id: i for i, e in enumerate(self.entries)}
        self._open: dict[str, tuple[tarfile.TarFile, dict[str, tarfile.TarInfo]]] = {}

    def __getstate__(self):  # DataLoader workers re-open the tars themselves
        state = dict(self.__dict__)
        state["_open"] = {}
        return state

    def read(self, row: ManifestRow, modality: str):
        i = self._where[row.sample_id]
        shard = self.shards[i]
        name = next((m for m in self.members[i] if m.split(".")[1] == modality), None)
        if name is None:
            raise DatasetError(f"{self.root / shard}: sample {row.sample_id!r} has no {modality!r}")
        opened = self._open.get(shard)
        if opened is None:
            try:
                tar = tarfile.open(self.root / shard, "r")
                opened = self._open[shard] = (tar, {m.name: m for m in tar.getmembers()})
            except (OSError, tarfile.TarError) as err:
                raise DatasetError(f"{self.root / shard}: cannot open shard ({err})") from None
        tar, index = opened
        if name not in index:
            raise DatasetError(f"{self.root / shard}: no member {name}")
        try:
            data = tar.extractfile(index[name]).read()
            return decode_modality(data, modality, f"{self.root / shard}:{name}")
        except FormatError as err:
            raise DatasetError(str(err)) from None

    def has(self, row: ManifestRow, modality: str) -> bool:
        return modality in row.files


class _NativeSource:
    def __init__(self, root: Path):
        self.reader = DatasetReader(root)
        self.entries = self.reader.entries

    def read(self, row: ManifestRow, modality: str):
        return self.reader.read(row, modality)

    def has(self, row: ManifestRow, modality: str) -> bool:
        return self.reader.has(row, modality)


class TorchDataset(Dataset):
    """Samples of a native dataset folder (``dataset.json``) or a shard folder (``manifest.parquet``); see the
    module docstring for the tensors.

    modalities: any of rgb, depth, semantic, instance, normal, flow_fwd, flow_bwd, flow_fwd_occlusion,
    flow_bwd_occlusion, reflection*, boxes (boxes + labels + instance_ids from the meta). K, world_from_camera,
    sample_id and index are always there. split / shares / split_seed / filters: see :mod:`simgen.io.select`.
    """

    def __init__(self, source: str | Path, modalities: Sequence[str] = DEFAULT_MODALITIES, *, transform=None,
                 split: str | Sequence[str] | None = None, shares: dict[str, float] | None = None,
                 split_seed: int = 0, filters: Sequence[str] = (), seed: int = 0):
        root = Path(source)
        if (root / "dataset.json").is_file():
            self.source = _NativeSource(root)
        elif (root / "manifest.parquet").is_file():
            self.source = _ShardSource(root)
        else:
            raise DatasetError(f"{root} is neither a simgen dataset (dataset.json) nor exported shards "
                               f"(manifest.parquet)")
        unknown = set(modalities) - _STORED - {"boxes"}
        if unknown:
            raise ValueError(f"unknown modalities {sorted(unknown)}; known: {sorted(_STORED | {'boxes'})}")
        self.modalities = tuple(modalities)
        self.entries: list[ManifestRow] = select(self.source.entries, filters, split, shares, split_seed)
        self.transform = transform
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.entries)

    def sample(self, index: int) -> dict:
        """The numpy sample (before augmentation and tensor conversion)."""
        row = self.entries[index]
        meta = self.source.read(row, "meta")
        s: dict = {"K": np.asarray(meta["K"], np.float64),
                   "world_from_camera": np.asarray(meta["world_from_camera"], np.float64),
                   "camera_model": str(meta.get("camera_model", "pinhole")),
                   "D": np.asarray(meta.get("D") or [], np.float64)}
        h, w = int(meta["height"]), int(meta["width"])
        for m in self.modalities:
            if m == "boxes":
                objs = [o for o in meta.get("objects", []) if o.get("bbox_visible") and o.get("visible_pixels", 0) > 0]
                s["boxes"] = np.asarray([o["bbox_visible"] for o in objs], np.float32).reshape(-1, 4)
                s["labels"] = np.asarray([o["class_id"] for o in objs], np.int64)
                s["instance_ids"] = np.asarray([o["instance_id"] for o in objs], np.int64)
            elif m in ("flow_fwd", "flow_bwd"):
                if self.source.has(row, m):
                    f = self.source.read(row, m)
                    valid = flo_valid(f)
                    f[~valid] = np.nan
                else:
                    f, valid = np.full((h, w, 2), np.nan, np.float32), np.zeros((h, w), bool)
                s[m], s[f"{m}_valid"] = f, valid
            elif m.endswith("_occlusion") and not self.source.has(row, m):
                s[m] = np.full((h, w), 3, np.uint8)
            else:
                s[m] = self.source.read(row, m)
        return s

    def __getitem__(self, index: int) -> dict:
        s = self.sample(index)
        if self.transform is not None:
            s = self.transform(s, np.random.default_rng((self.seed, self.epoch, index)))
        return to_tensors(s, self.entries[index].sample_id, index)


def to_tensors(s: dict, sample_id: str, index: int) -> dict:
    """numpy sample -> the tensors of the module docstring."""
    D = np.zeros(5, np.float32)
    D[: len(s["D"])] = s["D"]
    out: dict = {"sample_id": sample_id, "index": index,
                 "K": torch.as_tensor(s["K"], dtype=torch.float32),
                 "world_from_camera": torch.as_tensor(s["world_from_camera"], dtype=torch.float32),
                 "camera_model": s["camera_model"], "D": torch.from_numpy(D)}
    for k, a in s.items():
        if k in ("K", "world_from_camera", "camera_model", "D"):
            continue
        if k == "rgb":
            out[k] = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).float().div_(255.0)
        elif k == "depth":
            valid = np.isfinite(a) & (a > 0)
            out[k] = torch.from_numpy(np.where(valid, a, 0).astype(np.float32))
            out["depth_valid"] = torch.from_numpy(valid)
        elif k == "disparity":
            valid = np.isfinite(a)
            out[k] = torch.from_numpy(np.where(valid, a, 0).astype(np.float32))
            out["disparity_valid"] = torch.from_numpy(valid)
        elif k in ("flow_fwd", "flow_bwd"):
            out[k] = torch.from_numpy(np.nan_to_num(a, nan=0.0).transpose(2, 0, 1).astype(np.float32))
        elif k.endswith("_valid"):
            out[k] = torch.from_numpy(np.ascontiguousarray(a, bool))
        elif k in ("normal", "reflection", "reflection_strength"):
            out[k] = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), np.float32))
        elif k == "boxes":
            out[k] = torch.from_numpy(np.asarray(a, np.float32).reshape(-1, 4))
        else:  # ids and codes
            out[k] = torch.from_numpy(np.asarray(a).astype(np.int64))
    return out


def collate(batch: list[dict]) -> dict:
    """Batch samples: fixed-size tensors stacked (B, ...); boxes, labels, instance_ids and sample_id as lists."""
    out = {k: [b[k] for b in batch] for k in _LISTS if k in batch[0]}
    rest = [{k: v for k, v in b.items() if k not in _LISTS} for b in batch]
    out.update(default_collate(rest))
    return out
