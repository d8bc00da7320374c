"""The preprocessing contract: shapes, normalisation, rounding, antialiasing, crops/tiles, re-encoding, identity."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.gap.preprocess import IMAGENET_MEAN, IMAGENET_STD, Preprocess, PreprocessError, reencode


def _photo():
    import skimage.data

    return skimage.data.astronaut()  # (512, 512, 3) uint8 RGB


def test_constant_image_normalises_exactly_per_channel():
    img = np.empty((48, 64, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 10, 128, 250
    out = Preprocess(size=32).apply(img)
    assert out.shape == (3, 32, 32) and out.dtype == np.float32 and out.flags.c_contiguous
    want = (np.array([10, 128, 250]) / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(out.reshape(3, -1), np.repeat(want[:, None], 32 * 32, 1), atol=1e-5)
    # value_range maps [0, 1] -> [lo, hi]; no normalisation keeps [0, 1]
    r = Preprocess(size=(16, 24), mean=None, std=None, value_range=(-1.0, 127 / 128)).apply(img)
    assert r.shape == (3, 16, 24)
    np.testing.assert_allclose(r[:, 0, 0], (np.array([10, 128, 250]) - 128) / 128, atol=1e-6)
    raw = Preprocess(size=16, mean=None, std=None).apply(img)
    np.testing.assert_allclose(raw[:, 3, 3], np.array([10, 128, 250]) / 255, atol=1e-7)


def test_values_are_rounded_to_the_8bit_grid_only_when_asked():
    img = _photo()
    on = Preprocess(size=100, mean=None, std=None).apply(img) * 255
    off = Preprocess(size=100, mean=None, std=None, round_to_uint8=False).apply(img) * 255
    assert np.abs(on - np.round(on)).max() < 1e-3
    assert np.abs(off - np.round(off)).max() > 0.1  # genuinely off-grid without rounding
    assert np.abs(on - off).max() <= 0.5 + 1e-3
    assert on.min() >= 0 and on.max() <= 255  # bicubic overshoot is clamped


def test_antialias_bicubic_matches_the_reference_8bit_bicubic_resizer():
    from PIL import Image

    img = _photo()
    for resample, ok in (("antialias-bicubic", True), ("antialias-bilinear", False), ("bilinear", False)):
        pre = Preprocess(size=(200, 300), mean=None, std=None, resample=resample)
        ours = np.round(pre.apply(img) * 255).astype(int).transpose(1, 2, 0)
        ref = np.asarray(Image.fromarray(img).resize((300, 200), Image.BICUBIC)).astype(int)
        d = np.abs(ours - ref)
        # the reference rounds between its two separable passes: at most a level apart, almost everywhere
        assert ((d.mean() < 0.2) and ((d <= 1).mean() > 0.999)) == ok, (resample, d.mean())


def test_antialiasing_removes_a_fine_checkerboard_that_plain_bilinear_aliases():
    yy, xx = np.mgrid[:256, :256]
    board = (((yy + xx) % 2) * 255).astype(np.uint8)
    img = np.repeat(board[..., None], 3, 2)
    for resample in ("antialias-bicubic", "antialias-bilinear", "area"):
        out = Preprocess(size=61, mean=None, std=None, resample=resample).apply(img)
        assert abs(out.mean() - 0.5) < 0.01 and out.std() < 0.02, resample
    aliased = Preprocess(size=61, mean=None, std=None, resample="bilinear").apply(img)
    assert aliased.std() > 0.1


def test_center_crop_and_tiles_cover_the_right_windows():
    img = np.zeros((90, 160, 3), np.uint8)  # 16:9
    img[:, :10] = (255, 0, 0)  # red strip on the left
    img[:, -10:] = (0, 0, 255)  # blue strip on the right
    img[:, 70:90] = (0, 255, 0)  # green centre
    base = dict(size=32, mean=None, std=None)
    crop = Preprocess(mode="center_crop", **base)
    assert crop.windows(90, 160) == [(0, 35, 90, 90)]
    c = crop.apply(img)
    assert c[0].max() == 0 and c[2].max() == 0 and c[1].max() == 1.0  # no side strips, the centre stays
    assert Preprocess(mode="center_crop", crop_fraction=0.875, size=224).windows(256, 256) == [(16, 16, 224, 224)]
    tiles = Preprocess(mode="tiles", **base).apply(img)
    assert isinstance(tiles, list) and len(tiles) == 2 and all(t.shape == (3, 32, 32) for t in tiles)
    left, right = tiles
    assert left[0, :, 0].min() == 1.0 and left[2].max() == 0  # red left edge, no blue
    assert right[2, :, -1].min() == 1.0 and right[0].max() == 0  # blue right edge, no red
    assert Preprocess(mode="tiles", **base).windows(160, 90) == [(0, 0, 90, 90), (70, 0, 90, 90)]  # portrait
    assert len(Preprocess(mode="tiles", max_tiles=3, **base).windows(10, 100)) == 3
    assert len(Preprocess(mode="tiles", **base).windows(50, 50)) == 1


def test_reencode_is_deterministic_and_changes_pixels():
    img = _photo()
    a = reencode(img, "jpeg", 30)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a, reencode(img, "jpeg", 30))
    assert np.abs(a.astype(int) - img).mean() > 1.0  # quality 30 visibly changes the image
    assert np.abs(reencode(img, "jpeg", 95).astype(int) - img).mean() < np.abs(a.astype(int) - img).mean()
    p = Preprocess(size=64, reencode="jpeg:30")
    assert p.reencode == ("jpeg", 30)
    assert np.array_equal(p.apply(img), Preprocess(size=64).apply(a))
    # the form the pipeline uses (dataclasses.replace with a string) works too
    q = dataclasses.replace(Preprocess(size=64), reencode="jpg:30")
    assert q == p and q.key() == p.key()


def test_key_and_json_identify_the_contract():
    p = Preprocess()
    blob = json.dumps(p.to_json())
    assert Preprocess.from_json(json.loads(blob)) == p
    assert Preprocess.from_json(json.loads(blob)).key() == p.key()
    assert len(p.key()) == 12
    changed = [p.replace(size=256), p.replace(mode="center_crop"), p.replace(resample="area"),
               p.replace(round_to_uint8=False), p.replace(reencode=("jpeg", 90)), p.replace(mean=None, std=None),
               p.replace(crop_fraction=0.875), p.replace(version="2")]
    keys = {c.key() for c in changed}
    assert len(keys) == len(changed) and p.key() not in keys
    assert Preprocess(size=(50, 50)).size == 50 and Preprocess(size=(50, 50)).key() == Preprocess(size=50).key()


@pytest.mark.parametrize("kwargs", [
    {"mode": "squash"}, {"resample": "nearest"}, {"size": 4}, {"size": (1, 2, 3)}, {"mean": (0.5, 0.5)},
    {"mean": None}, {"value_range": (1, 0), "mean": None, "std": None}, {"value_range": (0, 1)},
    {"reencode": "png:3"}, {"reencode": "jpeg:0"}, {"reencode": "jpeg:x"}, {"crop_fraction": 0},
    {"max_tiles": 0}, {"std": (1, 0, 1)},
])
def test_invalid_contracts_raise_clear_errors(kwargs):
    with pytest.raises(PreprocessError):
        Preprocess(**kwargs)
    with pytest.raises(PreprocessError, match="unknown preprocessing field"):
        Preprocess.from_json({"sizee": 3})


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32),
                                 np.zeros((8, 8, 4), np.uint8), np.zeros((0, 8, 3), np.uint8), [[1, 2, 3]]])
def test_bad_images_raise(bad):
    with pytest.raises(SimgenError):
        Preprocess(size=16).apply(bad)
