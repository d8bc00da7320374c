"""Discovery of images, videos and simgen datasets (ids, groups, meta) and decoding to RGB uint8."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.gap.data import VIDEO_GROUP_FRAMES, GapDataError, ImageItem, discover, load_rgb, video_info

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def _write_rgb(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _solid(h=24, w=32, rgb=(200, 30, 10)) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:] = rgb
    return img


def _video(path: Path, n: int, size=(64, 48)) -> Path:
    """MJPG video whose frame i is flat grey at level 2*i (readable back through compression)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 2 * i, np.uint8))
    w.release()
    return path


def test_image_folder_groups_by_subfolder_or_stem_prefix(tmp_path):
    _write_rgb(tmp_path / "seqA_0001.png", _solid())
    _write_rgb(tmp_path / "seqA_0002.png", _solid())
    _write_rgb(tmp_path / "seqB-17.jpg", _solid())
    _write_rgb(tmp_path / "0042.png", _solid())
    _write_rgb(tmp_path / "night" / "x_1.png", _solid())
    _write_rgb(tmp_path / "night" / "deep" / "y.bmp", _solid())
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"junk")
    items = discover(tmp_path)
    got = {it.id: it.group for it in items}
    assert got == {
        "0042.png": "0042", "night/deep/y.bmp": "night/deep", "night/x_1.png": "night",
        "seqA_0001.png": "seqA", "seqA_0002.png": "seqA", "seqB-17.jpg": "seqB",
    }
    assert [it.id for it in items] == sorted(got)  # deterministic order
    assert all(it.frame_index is None and Path(it.source).is_file() for it in items)
    assert items[1].meta == {"folder": "night/deep"}
    single = discover(tmp_path / "seqA_0002.png")
    assert [(i.id, i.group) for i in single] == [("seqA_0002.png", "seqA")]


def test_load_rgb_returns_rgb_uint8_for_various_files(tmp_path):
    rgb = _solid(rgb=(250, 20, 5))
    items = [ImageItem("a", str(_write_rgb(tmp_path / "a.png", rgb)))]
    items.append(ImageItem("b", str(_write_rgb(tmp_path / "b.jpg", rgb))))
    rgba = np.dstack([cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), np.full(rgb.shape[:2], 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "c.png"), rgba)
    items.append(ImageItem("c", str(tmp_path / "c.png")))
    cv2.imwrite(str(tmp_path / "d.png"), (cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257))  # 16 bit
    items.append(ImageItem("d", str(tmp_path / "d.png")))
    for it in items:
        out = load_rgb(it)
        assert out.shape == (24, 32, 3) and out.dtype == np.uint8, it.id
        assert np.abs(out.reshape(-1, 3).mean(0) - (250, 20, 5)).max() < 4, it.id  # R first, not B
    cv2.imwrite(str(tmp_path / "g.png"), np.full((5, 6), 99, np.uint8))
    grey = load_rgb(ImageItem("g", str(tmp_path / "g.png")))
    assert grey.shape == (5, 6, 3) and (grey == 99).all()


def test_video_frames_decode_in_any_order_and_group_by_time_block(tmp_path):
    vid = _video(tmp_path / "drive.avi", 120)
    info = video_info(vid)
    assert info["frames"] == 120 and (info["width"], info["height"]) == (64, 48) and info["fps"] == 10.0
    items = discover(vid)
    assert len(items) == 120
    assert items[7].id == "drive.avi@000007" and items[7].frame_index == 7 and items[7].meta["time_s"] == 0.7
    assert {it.group for it in items} == {"drive.avi#0000", "drive.avi#0001", "drive.avi#0002"}
    assert all(it.group == f"drive.avi#{it.frame_index // VIDEO_GROUP_FRAMES:04d}" for it in items)
    for i in [0, 1, 2, 60, 61, 5, 119, 3, 3]:  # forward, backward and repeated access
        frame = load_rgb(items[i])
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert abs(float(frame.mean()) - 2 * i) < 2.0, i
    strided = discover(vid, max_frames_per_video=5, video_stride=7)
    assert [it.frame_index for it in strided] == [0, 7, 14, 21, 28]
    assert abs(float(load_rgb(strided[4]).mean()) - 56) < 2.0


def test_folder_with_videos_and_images(tmp_path):
    (tmp_path / "cam1").mkdir()
    _video(tmp_path / "cam1" / "a.avi", 60)
    _write_rgb(tmp_path / "still.png", _solid())
    items = discover(tmp_path, video_stride=20)
    assert [it.id for it in items] == ["cam1/a.avi@000000", "cam1/a.avi@000020", "cam1/a.avi@000040", "still.png"]
    assert items[2].group == "cam1/a.avi#0000" and items[2].meta["video"] == "cam1/a.avi"


@pytest.mark.skipif(not VTEST.exists(), reason="vtest.avi comes with the Debian package opencv-doc")
def test_real_road_video_has_795_frames_in_16_time_blocks():
    items = discover(VTEST)
    assert len(items) == 795 and len({it.group for it in items}) == 16
    f = load_rgb(items[794])
    assert f.shape == (576, 768, 3) and f.dtype == np.uint8 and f.std() > 10


def _dataset(root: Path, rows: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for r in rows:
        rgb = r.get("files", {}).get("rgb")
        if rgb:
            _write_rgb(root / rgb, _solid())
    (root / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def _row(i, scene="city", variant=0, **extra):
    return {"sample_id": f"{scene}-{variant}-{i:04d}", "scene": scene, "variant": variant, "frame": i, "seed": 0,
            "tags": ["night"] if i % 2 else [], "knobs": {"weather": "fog", "sun_elevation": 10.0 * i},
            "files": {"rgb": f"{scene}/{variant}/{i:04d}.rgb.png", "depth": f"{scene}/{variant}/{i:04d}.depth.exr"},
            **extra}


def test_simgen_dataset_gives_sequence_groups_and_sliceable_meta(tmp_path):
    root = _dataset(tmp_path / "ds", [_row(0), _row(1), _row(0, variant=1), _row(0, scene="highway")])
    items = discover(root)
    assert [it.id for it in items] == ["city-0-0000", "city-0-0001", "city-1-0000", "highway-0-0000"]
    assert [it.group for it in items] == ["city/0", "city/0", "city/1", "highway/0"]
    m = items[1].meta
    assert m["tags"] == ["night"] and m["weather"] == "fog" and m["sun_elevation"] == 10.0
    assert m["knobs"] == {"weather": "fog", "sun_elevation": 10.0}
    assert (m["scene"], m["variant"], m["frame"], m["seed"]) == ("city", 0, 1, 0)
    assert items[0].source == str(root / "city/0/0000.rgb.png") and items[0].frame_index is None
    assert load_rgb(items[0]).shape == (24, 32, 3)
    assert [it.id for it in discover(root / "manifest.jsonl")] == [it.id for it in items]
    json.dumps([it.meta for it in items])  # meta stays JSON-serialisable


@pytest.mark.parametrize("mutate, match", [
    (lambda rows, root: (root / "manifest.jsonl").write_text(json.dumps(rows[0]) + "\n{oops\n"), r"manifest.jsonl:2"),
    (lambda rows, root: (root / rows[1]["files"]["rgb"]).unlink(), r"manifest.jsonl:2: files.rgb .* does not exist"),
    (lambda rows, root: (root / "manifest.jsonl").write_text(json.dumps({"sample_id": "x", "files": {}})),
     r"manifest.jsonl:1: row has no files.rgb"),
    (lambda rows, root: (root / "manifest.jsonl").write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[0])),
     r"manifest.jsonl:2: sample_id .* repeats line 1"),
    (lambda rows, root: (root / "manifest.jsonl").write_text("\n\n"), r"lists no frames"),
])
def test_broken_manifests_name_file_and_line(tmp_path, mutate, match):
    rows = [_row(0), _row(1)]
    root = _dataset(tmp_path / "ds", rows)
    mutate(rows, root)
    with pytest.raises(GapDataError, match=match):
        discover(root)


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(GapDataError, match="does not exist"):
        discover(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GapDataError, match="empty folder"):
        discover(tmp_path / "empty")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("x")
    with pytest.raises(GapDataError, match="no image"):
        discover(tmp_path / "docs")
    with pytest.raises(GapDataError, match="neither an image"):
        discover(tmp_path / "docs" / "readme.txt")
    (tmp_path / "broken.avi").write_bytes(b"\x00" * 1000)
    with pytest.raises(GapDataError, match="broken.avi"):
        discover(tmp_path / "broken.avi")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(GapDataError, match="cannot decode image .*broken.png"):
        load_rgb(ImageItem("b", str(tmp_path / "broken.png")))
    with pytest.raises(GapDataError, match="cannot read image"):
        load_rgb(ImageItem("m", str(tmp_path / "missing.png")))
    vid = _video(tmp_path / "short.avi", 3)
    with pytest.raises(GapDataError, match="ends before frame 10"):
        load_rgb(ImageItem("s", str(vid), frame_index=10))
    for kwargs in ({"video_stride": 0}, {"max_frames_per_video": 0}):
        with pytest.raises(SimgenError):
            discover(vid, **kwargs)
