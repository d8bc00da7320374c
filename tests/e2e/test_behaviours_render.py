"""End-to-end: the behaviour vocabulary in a tiny render (tests/e2e/behaviours_scene.yaml, 160x120, 6 frames).

* the traffic light's per-frame state label names the lamp that is lit in the rendered image (lamp centres projected
  with cv2.projectPoints; the lit lamp is read from the pixels, never from the label code);
* the lead car's brake lamps glow exactly in the frames where the car decelerates, with deceleration measured from
  its stored poses (centred second difference of the distance covered);
* the child placed with ``emerge_by_frame`` has no pixel in the instance map at frame 0 and shows by frame 5;
* the braking car's flow is still the reprojection of its stored poses;
* a parked van and the named sun position (dusk) are recorded as such;
* (tests/e2e/indicator_scene.yaml) a car changing to the right-hand lane blinks its right indicator exactly in the
  frames its ``indicator_lit`` label says, on the right of the car.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, needs_blender
from tests.e2e.readers import load_dataset, load_frame
from tests.e2e.test_quickstart_labels import _expected_flow

pytestmark = [pytest.mark.blender, pytest.mark.slow]

SCENE = REPO / "tests" / "e2e" / "behaviours_scene.yaml"
INDICATOR_SCENE = REPO / "tests" / "e2e" / "indicator_scene.yaml"
CONFIG = REPO / "tests" / "e2e" / "behaviours_render.yaml"
#: the lamps of a traffic light head (red top, amber, green bottom) and the state that lights each set
LIT = {"green": {2}, "amber": {1}, "red": {0}, "red_amber": {0, 1}}


def _render(scene: Path, out: Path):
    needs_blender()
    from simgen.cli import main

    code = main(["render", str(scene), "--out", str(out), "--config", str(CONFIG), "--seed", "0", "--device", "cpu",
                 "--no-progress"])
    assert code == 0
    _, rows = load_dataset(out)
    rows = sorted(rows, key=lambda r: r["frame"])
    return [load_frame(out, r) for r in rows], rows, out


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return _render(SCENE, tmp_path_factory.mktemp("behaviours") / "ds")


def _obj(frame: dict, name: str) -> dict:
    return next(o for o in frame["meta"]["objects"] if o["name"] == name)


def _lamp_centres_object_frame() -> dict[int, np.ndarray]:
    """Object-frame centres of the front faces of the head's three lamps (from the asset's geometry)."""
    from simgen.world.assets import make_asset

    mesh, mats = make_asset("traffic_light", "black", 1.0, np.random.default_rng(0))
    tri = mesh.vertices[mesh.faces]
    out = {}
    for i, m in enumerate(mats):
        if m.name.startswith("lamp_"):
            pts = tri[mesh.face_material == i].reshape(-1, 3)
            out[int(m.name[5:])] = pts[pts[:, 0] >= pts[:, 0].max() - 1e-6].mean(0)
    return out


def _project(points: np.ndarray, meta: dict) -> np.ndarray:
    K = np.array(meta["K"])
    cam_from_world = np.linalg.inv(np.array(meta["world_from_camera"]))
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    uv, _ = cv2.projectPoints(points.reshape(-1, 1, 3), rvec, cam_from_world[:3, 3], K, None)
    return uv.reshape(-1, 2)


def _brightness(rgb: np.ndarray, uv: np.ndarray, r: int = 0) -> float:
    """Peak of R + G + B (uint8 sums) in the (2r+1)^2 window around the pixel nearest ``uv`` (r = 0: that pixel;
    the lamps are about 2 px wide and 3.3 px apart here)."""
    u, v = int(round(uv[0])), int(round(uv[1]))
    win = rgb[max(v - r, 0):v + r + 1, max(u - r, 0):u + r + 1].astype(int).sum(-1)
    return float(win.max())


def test_traffic_light_label_matches_the_lit_lamp(frames):
    fr, _, _ = frames
    lamps = _lamp_centres_object_frame()
    assert sorted(lamps) == [0, 1, 2]
    values = np.zeros((len(fr), 3))
    states = []
    for f, frame in enumerate(fr):
        o = _obj(frame, "signal")
        states.append(o["attributes"]["traffic_light_state"])
        pose = np.array(o["world_from_object"])
        pts = np.array([pose[:3, :3] @ lamps[k] + pose[:3, 3] for k in range(3)])
        uv = _project(pts, frame["meta"])
        h, w = frame["rgb"].shape[:2]
        assert np.all((uv >= 1) & (uv < [w - 1, h - 1])), f"lamps outside the image at frame {f}: {uv}"
        assert np.all(np.abs(np.diff(uv[:, 1])) >= 3), "lamps too close to tell apart"
        values[f] = [_brightness(frame["rgb"], uv[k]) for k in range(3)]
    assert len(set(states)) >= 3, f"the cycle must show three states in the sequence, got {states}"
    for k in range(3):
        lit = np.array([k in LIT[s] for s in states])
        assert lit.any() and (~lit).any()
        # every frame where the label lights lamp k is brighter there than every frame where it does not
        assert values[lit, k].min() > values[~lit, k].max() + 60, (k, values[:, k], states)


def _distance_along(frame_objs: list[dict]) -> np.ndarray:
    p = np.array([np.array(o["world_from_object"])[:3, 3] for o in frame_objs])
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p[:, :2], axis=0), axis=1))])


def test_brake_lamps_glow_exactly_while_decelerating(frames):
    fr, _, _ = frames
    objs = [_obj(f, "lead_0") for f in fr]
    fps = fr[0]["meta"]["fps"]
    s = _distance_along(objs)
    acc = (s[2:] - 2 * s[1:-1] + s[:-2]) * fps**2  # interior frames 1..T-2
    decel = acc < -0.3
    label = np.array([o["attributes"]["brake_lights"] for o in objs])
    assert np.array_equal(label[1:-1], decel), (label, acc)
    assert label.any() and (~label).any()
    # brake glow from the pixels: bright red inside the car's instance mask, shrunk by a pixel: a silhouette pixel
    # mixes in what lies behind the car (a cross-traffic signal's red lamp right beside it at frame 0)
    glow = []
    for f, o in zip(fr, objs):
        own = (f["instance"] == o["instance_id"]).astype(np.uint8)
        mask = cv2.erode(own, np.ones((3, 3), np.uint8), borderValue=0) > 0
        r, g = f["rgb"][..., 0].astype(int), f["rgb"][..., 1].astype(int)
        glow.append(int((mask & (r >= 200) & (g <= 0.6 * r)).sum()))
    glow = np.array(glow)
    assert glow[label].min() >= 2 and glow[~label].max() == 0, (glow, label)


def test_child_hidden_at_first_frame_and_visible_by_frame_n(frames):
    fr, _, _ = frames
    child = [_obj(f, "child_0") for f in fr]
    iid = child[0]["instance_id"]
    assert (fr[0]["instance"] == iid).sum() == 0
    assert child[0]["silhouette_pixels"] > 0, "at frame 0 the child is in view, only hidden"
    n = 5
    assert (fr[n]["instance"] == iid).sum() >= min(12, math.ceil(0.5 * child[n]["silhouette_pixels"]))


@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_braking_car_flow_is_reprojection(frames, direction):
    fr, _, _ = frames
    pairs = [(t, t + 1) for t in range(len(fr) - 1)] if direction == "fwd" else [(t, t - 1) for t in range(1, len(fr))]
    car_px, errors = 0, []
    for t, n in pairs:
        stored = fr[t][f"flow_{direction}"]
        expected, ok = _expected_flow(fr[t], fr[n])
        sel = ok & (fr[t]["instance"] == _obj(fr[t], "lead_0")["instance_id"])
        car_px += int(sel.sum())
        errors.append(np.linalg.norm(stored[sel] - expected[sel], axis=-1))
    epe = np.concatenate(errors)
    assert car_px > 200
    assert np.median(epe) <= 1e-3 and np.percentile(epe, 99) <= 1e-2, (np.median(epe), np.percentile(epe, 99))


def test_parked_van_lights_off_and_named_sun(frames):
    fr, _, out = frames
    assert _obj(fr[0], "van_0")["attributes"]["lights"] == "off"
    import json

    resolved = json.loads(next(Path(out).rglob("scene.resolved.json")).read_text())
    assert resolved["lighting"]["sun_position"] == "dusk"
    assert resolved["lighting"]["sun_elevation_deg"] == pytest.approx(-5.0)


def test_indicator_blinks_on_the_right_exactly_when_labelled(tmp_path):
    fr, _, _ = _render(INDICATOR_SCENE, tmp_path / "ds")
    lit, bright, right_side = [], [], []
    for f in fr:
        o = _obj(f, "changer_0")
        assert o["attributes"]["turn_signal"] == "right"
        lit.append(o["attributes"]["indicator_lit"])
        car = f["instance"] == o["instance_id"]
        mask = cv2.dilate(car.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        glow = mask & (f["rgb"].astype(int).sum(-1) >= 600)
        bright.append(int(glow.sum()))
        if glow.any():
            cols = np.nonzero(car)[1]
            right_side.append(np.nonzero(glow)[1].mean() > (cols.min() + cols.max()) / 2)
    lit, bright = np.array(lit), np.array(bright)
    assert lit.any() and (~lit).any(), lit
    assert bright[lit].min() >= 1 and bright[~lit].max() == 0, (bright, lit)
    assert all(right_side), "the right-hand indicator blinks (seen from behind: on the image's right)"
