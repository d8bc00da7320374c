"""Per-modality files: bit-exact round trips, and agreement with independent encoders/decoders."""

from __future__ import annotations

import struct

import numpy as np
import OpenEXR
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from simgen.io import formats


def _independent_flo_bytes(flow: np.ndarray) -> bytes:
    """A .flo encoder written from the Middlebury description with struct (not simgen's)."""
    h, w = flow.shape[:2]
    out = [struct.pack("<f", 202021.25), struct.pack("<ii", w, h)]
    for r in range(h):
        for c in range(w):
            out.append(struct.pack("<ff", float(flow[r, c, 0]), float(flow[r, c, 1])))
    return b"".join(out)


def test_flo_round_trip_bit_exact_with_unknown(tmp_path):
    rng = np.random.default_rng(0)
    flow = rng.normal(0, 20, (7, 9, 2)).astype(np.float32)
    flow[0, 0] = np.nan
    valid = np.ones((7, 9), bool)
    valid[3, 4] = False
    p = tmp_path / "a.flo"
    formats.write_flo(p, flow, valid)
    back = formats.read_flo(p)
    assert back.dtype == np.float32 and back.shape == (7, 9, 2)
    ok = formats.flo_valid(back)
    assert not ok[0, 0] and not ok[3, 4] and ok.sum() == 7 * 9 - 2
    assert np.all(back[~ok] == np.float32(1e10))
    assert np.array_equal(back[ok].view(np.uint32), flow[ok].view(np.uint32)), "bit-exact"
    # an independent struct decoder reads the same numbers
    raw = p.read_bytes()
    magic, w, h = struct.unpack("<fii", raw[:12])
    assert magic == np.float32(202021.25) and (w, h) == (9, 7) and len(raw) == 12 + 8 * w * h
    u, v = struct.unpack("<ff", raw[12 + 8 * (2 * 9 + 5): 12 + 8 * (2 * 9 + 5) + 8])
    assert (np.float32(u), np.float32(v)) == (flow[2, 5, 0], flow[2, 5, 1])


def test_read_flo_from_independent_encoder(tmp_path):
    flow = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2) - 4.5
    flow[1, 2] = (1e10, 1e10)
    p = tmp_path / "ind.flo"
    p.write_bytes(_independent_flo_bytes(flow))
    back = formats.read_flo(p)
    assert np.array_equal(back, flow)
    assert formats.flo_valid(back).tolist() == [[True, True, True], [True, True, False]]


@pytest.mark.parametrize("damage", ["magic", "truncated"])
def test_bad_flo_raises(tmp_path, damage):
    data = bytearray(_independent_flo_bytes(np.zeros((2, 2, 2), np.float32)))
    if damage == "magic":
        data[0] ^= 0xFF
    else:
        data = data[:-3]
    p = tmp_path / "bad.flo"
    p.write_bytes(bytes(data))
    with pytest.raises(formats.FormatError):
        formats.read_flo(p)


def test_depth_exr_round_trip_bit_exact(tmp_path):
    rng = np.random.default_rng(1)
    depth = rng.uniform(0.1, 300, (13, 17)).astype(np.float32)
    depth[2, 3] = np.inf
    depth[5] = np.float32(1e-7)
    p = tmp_path / "d.exr"
    formats.write_depth(p, depth)
    back = formats.read_depth(p)
    assert back.dtype == np.float32 and np.array_equal(back.view(np.uint32), depth.view(np.uint32))
    # independent read with the OpenEXR package: one FLOAT channel named Z, rows top-down
    with OpenEXR.File(str(p), separate_channels=True) as f:
        chans = f.channels()
        assert list(chans) == ["Z"]
        px = chans["Z"].pixels
        assert px.dtype == np.float32 and np.array_equal(px, depth)


def test_normal_exr_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    n = rng.normal(size=(6, 8, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[0, 0] = 0
    p = tmp_path / "n.exr"
    formats.write_normal(p, n)
    assert np.array_equal(formats.read_normal(p), n)
    with OpenEXR.File(str(p), separate_channels=True) as f:
        chans = f.channels()
        assert sorted(chans) == ["X", "Y", "Z"]
        assert np.array_equal(chans["Y"].pixels, n[..., 1])


def test_pngs_round_trip_and_channel_order(tmp_path):
    inst = np.array([[0, 1, 255, 256], [1000, 32768, 65534, 65535]], np.uint16)
    formats.write_instance(tmp_path / "i.png", inst)
    back = formats.read_png(tmp_path / "i.png")
    assert back.dtype == np.uint16 and np.array_equal(back, inst)
    assert np.array_equal(np.array(Image.open(tmp_path / "i.png")), inst), "an independent reader agrees"
    sem = np.array([[0, 15, 29]], np.uint8)
    formats.write_semantic(tmp_path / "s.png", sem)
    assert np.array_equal(formats.read_png(tmp_path / "s.png"), sem)
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)  # red
    rgb[1, 2] = (0, 0, 200)  # blue
    formats.write_rgb(tmp_path / "c.png", rgb)
    pil = np.array(Image.open(tmp_path / "c.png").convert("RGB"))
    assert np.array_equal(pil, rgb), "PNG holds RGB, not BGR"
    assert np.array_equal(formats.read_png(tmp_path / "c.png"), rgb)
    with pytest.raises(ValueError):
        formats.write_instance(tmp_path / "x.png", inst.astype(np.int32))
    with pytest.raises(ValueError):
        formats.write_semantic(tmp_path / "x.png", inst)


def test_json_is_strict(tmp_path):
    formats.write_json(tmp_path / "m.json", {"a": np.float32(1.5), "b": np.arange(3), "c": float("nan"), "d": (1, 2)})
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text
    assert formats.read_json(tmp_path / "m.json") == {"a": 1.5, "b": [0, 1, 2], "c": None, "d": [1, 2]}


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 5), st.just(2)),
              elements=st.floats(width=32, allow_nan=True, allow_infinity=True)))
def test_flo_encode_decode_property(flow):
    back = formats.decode_flo(formats.encode_flo(flow))
    known = np.all(np.isfinite(flow) & (np.abs(flow) <= 1e9), -1)
    assert np.array_equal(formats.flo_valid(back), known)
    assert np.array_equal(back[known].view(np.uint32), flow[known].view(np.uint32))
    assert np.all(back[~known] == np.float32(1e10))
