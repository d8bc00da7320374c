"""Every field of cameras[].lens reaches the built camera's Lens (size, K, D, field of view)."""

from __future__ import annotations

import math

import pytest

from simgen.spec.loader import load_scene_text
from simgen.spec.models import LensSpec
from simgen.spec.resolve import resolve
from simgen.world.build import build_world

BASE = {"model": "opencv", "k1": -0.1}


def _lens(default=False, **lens):
    text = "scene: {name: l}\ncameras:\n  - name: c\n    hfov_deg: 80\n    lens: {" + ", ".join(
        f"{k}: {v}" for k, v in lens.items()) + "}\n"
    cam = build_world(resolve(load_scene_text(text), seed=0, variant=0), 96, 72).cameras[0]
    return cam.lens_at(96, 72) if default else cam.lens


@pytest.mark.parametrize("field", sorted(LensSpec.model_fields))
def test_every_lens_field_changes_the_lens(field):
    base = {"model": "fisheye", "k1": 0.01} if field in ("k4", "fov_deg") else dict(BASE)
    ref = _lens(**base)
    value = {"model": "pinhole", "width": 128, "height": 40, "fx_px": 55.5, "fy_px": 61.0, "cx_offset_px": 2.5,
             "cy_offset_px": -1.5, "k1": -0.05, "k2": 0.02, "k3": 0.01, "k4": 0.003, "p1": 0.001, "p2": -0.002,
             "fov_deg": 200}[field]
    if field == "model":
        base.pop("k1")
    got = _lens(True, **{**base, field: value})
    assert ref is not None
    assert (got.model, got.width, got.height, got.K.tolist(), got.D, got.fov_deg) != \
        (ref.model, ref.width, ref.height, ref.K.tolist(), ref.D, ref.fov_deg), field


def test_defaults_and_opencv_conventions():
    dflt = _lens()  # no lens section: the default pinhole at the render size, computed once by the world
    assert dflt.model == "pinhole" and (dflt.width, dflt.height) == (96, 72) and dflt.D == ()
    assert dflt.K[0, 0] == pytest.approx(48 / math.tan(math.radians(40))) and dflt.K[1, 2] == 72 / 2 - 0.5
    ln = _lens(model="opencv", k1=-0.1, p1=0.001, k3=0.002, width=160, height=120, cx_offset_px=3)
    assert ln.D == (-0.1, 0.0, 0.001, 0.0, 0.002)  # OpenCV order k1 k2 p1 p2 k3
    assert ln.K[0, 0] == pytest.approx(80 / math.tan(math.radians(40)))
    assert ln.K[0, 2] == 160 / 2 - 0.5 + 3 and ln.K[1, 2] == 120 / 2 - 0.5
    fe = _lens(model="fisheye", fov_deg=190, k1=0.01, width=100, height=80)
    th = math.radians(95)
    assert fe.K[0, 0] * th * (1 + 0.01 * th**2) == pytest.approx(50)  # the 190° circle spans the width
    assert fe.D == (0.01, 0.0, 0.0, 0.0) and fe.depth_kind == "range"


def test_bad_lens_input_is_a_clear_error():
    from simgen.errors import SimgenError

    with pytest.raises(SimgenError, match="p1"):
        load_scene_text("scene: {name: l}\ncameras:\n  - {name: c, lens: {model: fisheye, p1: 0.1}}\n")
    with pytest.raises(SimgenError, match="camera 'c'.*folds over"):
        _lens(model="opencv", k1=-0.9)
