"""Feature extraction: row order, content-keyed cache (hits skip compute, misses on changes), tiles, videos,
determinism, errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from simgen.errors import SimgenError
from simgen.gap.backbones import Backbone, get_backbone
from simgen.gap.data import GapDataError, ImageItem, discover
from simgen.gap.features import FeatureCacheError, cache_folder, extract_features, item_key
from simgen.gap.preprocess import Preprocess


class MeanColour(Backbone):
    """Per-channel mean of the [0, 1] input: dim 3, easy to predict. Counts the images it sees."""

    def __init__(self, preprocess=None, version="1"):
        super().__init__("meancolour", 3, version, preprocess or Preprocess(size=16, mean=None, std=None))
        self.seen = 0

    def features(self, batch):
        self.seen += batch.shape[0]
        return batch.mean((2, 3))


def _img(path: Path, rgb) -> Path:
    a = np.empty((30, 40, 3), np.uint8)
    a[:] = rgb
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(a, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    for i in range(11):
        _img(root / f"f_{i:03d}.png", (10 * i, 255 - 10 * i, 7))
    return root


def test_rows_follow_items_and_batches_do_not_matter(folder):
    items = discover(folder)
    bb = MeanColour()
    want = np.array([[10 * i, 255 - 10 * i, 7] for i in range(11)], np.float32) / 255
    for bs in (1, 4, 32):
        got = extract_features(items, bb, None, batch_size=bs, progress=False)
        assert got.shape == (11, 3) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, atol=1e-6)
    rev = extract_features(items[::-1], bb, None, progress=False)
    np.testing.assert_array_equal(rev, extract_features(items, bb, None, progress=False)[::-1])
    assert extract_features([], bb, None, progress=False).shape == (0, 3)


def test_cache_hit_is_identical_and_skips_compute(folder, tmp_path):
    items = discover(folder)
    cache = tmp_path / "cache"
    bb = MeanColour()
    info: dict = {}
    first = extract_features(items, bb, cache, batch_size=4, progress=False, info=info)
    assert bb.seen == 11 and info["computed"] == 11 and info["cache_hits"] == 0
    assert len(list(cache_folder(cache, bb).glob("shard-*.npz"))) == 1
    again = extract_features(items, bb, cache, batch_size=4, progress=True, info=info)
    assert bb.seen == 11 and info["cache_hits"] == 11 and info["computed"] == 0
    np.testing.assert_array_equal(first, again)
    # content-keyed: renamed files still hit; an edited file misses alone
    (folder / "f_000.png").rename(folder / "renamed.png")
    _img(folder / "f_005.png", (1, 2, 3))
    third = extract_features(discover(folder), bb, cache, progress=False, info=info)
    assert bb.seen == 12 and info["computed"] == 1 and info["cache_hits"] == 10
    ids = [it.id for it in discover(folder)]
    np.testing.assert_allclose(third[ids.index("f_005.png")], np.array([1, 2, 3]) / 255, atol=1e-6)
    np.testing.assert_array_equal(third[ids.index("renamed.png")], first[0])


def test_cache_misses_when_backbone_version_or_preprocessing_changes(folder, tmp_path):
    items = discover(folder)[:3]
    cache = tmp_path / "cache"
    for bb in (MeanColour(), MeanColour(version="2"), MeanColour(Preprocess(size=8, mean=None, std=None)),
               MeanColour(Preprocess(size=16, mean=None, std=None, reencode=("jpeg", 50)))):
        extract_features(items, bb, cache, progress=False)
        assert bb.seen == 3
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 4


def test_duplicate_content_is_computed_once(folder):
    items = discover(folder)
    dup = items + [ImageItem("copy", items[3].source, None, "g", {})]
    bb = MeanColour()
    out = extract_features(dup, bb, None, progress=False)
    assert bb.seen == 11
    np.testing.assert_array_equal(out[-1], out[3])


def test_tiles_average_the_tile_features(tmp_path):
    img = np.zeros((20, 50, 3), np.uint8)
    img[:, :25] = (200, 0, 0)
    img[:, 25:] = (0, 0, 100)
    p = tmp_path / "wide.png"
    cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    pre = Preprocess(size=10, mode="tiles", mean=None, std=None, resample="area")
    bb = MeanColour(pre)
    got = extract_features([ImageItem("w", str(p))], bb, None, progress=False)
    tiles = pre.apply(img)
    assert len(tiles) == 3 and bb.seen == 3
    np.testing.assert_allclose(got[0], np.mean([t.mean((1, 2)) for t in tiles], axis=0), atol=1e-6)


def test_video_frames_have_their_own_keys(tmp_path):
    path = tmp_path / "v.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    for i in range(6):
        w.write(np.full((24, 32, 3), 40 * i, np.uint8))
    w.release()
    items = discover(path)
    keys = [item_key(it) for it in items]
    assert len(set(keys)) == 6 and all(k.endswith(f":f{i}") for i, k in enumerate(keys))
    bb = MeanColour()
    out = extract_features(items, bb, tmp_path / "c", batch_size=4, progress=False)
    assert np.all(np.diff(out.mean(1)) > 0.1)  # frame i is brighter than frame i-1: frames are not mixed up


def test_real_backbone_is_deterministic_and_cached(tmp_path):
    import skimage.data

    paths = []
    for name in ("chelsea", "coffee", "astronaut"):
        p = tmp_path / "real" / f"{name}.png"
        p.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(p), cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR))
        paths.append(p)
    items = discover(tmp_path / "real")
    bb = get_backbone("mobilenet_v2")
    threads = torch.get_num_threads()
    a = extract_features(items, bb, tmp_path / "c", batch_size=2, progress=False)
    b = extract_features(items, bb, None, batch_size=2, progress=False, num_threads=1)
    assert torch.get_num_threads() == threads  # restored
    assert a.shape == (3, 1280) and np.isfinite(a).all() and (a >= 0).all()  # pooled ReLU6 features
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(a, extract_features(items, bb, tmp_path / "c", progress=False))
    assert np.linalg.norm(a[0] - a[1]) > 1.0  # different photos, different features


def test_errors_are_clear(folder, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    with pytest.raises(GapDataError, match="bad.png"):
        extract_features([ImageItem("bad", str(bad))], MeanColour(), None, progress=False)
    with pytest.raises(GapDataError, match="missing.png"):
        extract_features([ImageItem("m", str(tmp_path / "missing.png"))], MeanColour(), None, progress=False)
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    with pytest.raises(FeatureCacheError, match="cache"):
        extract_features(discover(folder)[:2], MeanColour(), blocker, progress=False)
    with pytest.raises(SimgenError, match="batch_size"):
        extract_features(discover(folder)[:2], MeanColour(), None, batch_size=0, progress=False)


def test_foreign_or_broken_cache_shards_are_ignored(folder, tmp_path):
    items = discover(folder)[:4]
    bb = MeanColour()
    cache = tmp_path / "cache"
    first = extract_features(items, bb, cache, progress=False)
    (cache_folder(cache, bb) / "shard-broken.npz").write_bytes(b"not a zip")
    out = extract_features(items, bb, cache, progress=False)
    assert bb.seen == 4
    np.testing.assert_array_equal(first, out)
