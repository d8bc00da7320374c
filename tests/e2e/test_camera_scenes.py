"""End-to-end: the example scenes of scenes/cameras render at test resolution and their labels pass the checks,
read from the files a user gets and recomputed with OpenCV's own (un)projection — never simgen's lens code."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, needs_blender
from tests.e2e.readers import load_dataset, load_frame, read_exr_channels

pytestmark = [pytest.mark.blender, pytest.mark.slow]

CONFIG = REPO / "tests" / "e2e" / "cameras_render.yaml"
SCENES = ["front_brown_conrady", "surround_fisheye", "stereo_pair"]


@pytest.fixture(scope="module", params=SCENES)
def scene(request, tmp_path_factory):
    needs_blender()
    from simgen.cli import main

    out = tmp_path_factory.mktemp(request.param) / "ds"
    code = main(["render", str(REPO / "scenes" / "cameras" / f"{request.param}.yaml"), "--out", str(out),
                 "--config", str(CONFIG), "--device", "cpu", "--no-progress"])
    assert code == 0
    info, rows = load_dataset(out)
    return request.param, out, info, rows


def _rays(meta, h, w):
    """Unit ray per pixel centre from the stored K, D: cv2.undistortPointsIter (opencv), the equidistant model
    inverted by bisection (fisheye), K⁻¹ (pinhole). NaN outside a fisheye's field."""
    K, D, model = np.array(meta["K"]), np.array(meta["D"], np.float64), meta["camera_model"]
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    if model == "opencv":
        xy = cv2.undistortPointsIter(np.stack([u, v], -1).reshape(-1, 1, 2), K, D, None, None,
                                     (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)).reshape(h, w, 2)
        d = np.concatenate([xy, np.ones((h, w, 1))], -1)
    elif model == "fisheye":
        xd, yd = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
        td = np.hypot(xd, yd)
        lo, hi = np.zeros_like(td), np.full_like(td, math.pi)
        for _ in range(80):
            mid = (lo + hi) / 2
            big = mid * (1 + D[0] * mid**2 + D[1] * mid**4 + D[2] * mid**6 + D[3] * mid**8) > td
            hi, lo = np.where(big, mid, hi), np.where(big, lo, mid)
        th = (lo + hi) / 2
        d = np.stack([np.sin(th) * xd / td, np.sin(th) * yd / td, np.cos(th)], -1)
        d[th > math.radians(meta["camera_record"]["fov_deg"] / 2)] = np.nan
    else:
        d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _cv_project(pts, meta):
    K, D, model = np.array(meta["K"]), np.array(meta["D"], np.float64), meta["camera_model"]
    cam_from_world = np.linalg.inv(np.array(meta["world_from_camera"]))
    pc = pts @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    if model == "fisheye":
        uv, _ = cv2.fisheye.projectPoints(pts.reshape(-1, 1, 3), rvec.reshape(1, 1, 3),
                                          cam_from_world[:3, 3].reshape(1, 1, 3), K, D)
        uv = uv.reshape(-1, 2).astype(np.float64)
        back = pc[:, 2] <= 0  # beyond 90°: the same equidistant formula with θ = atan2(√(x²+y²), z)
        x, y, z = pc[back].T
        rho = np.hypot(x, y)
        th = np.arctan2(rho, z)
        td = th * (1 + D[0] * th**2 + D[1] * th**4 + D[2] * th**6 + D[3] * th**8)
        uv[back] = np.stack([K[0, 0] * td * x / rho + K[0, 2], K[1, 1] * td * y / rho + K[1, 2]], -1)
        return uv, np.ones(len(pts), bool)
    uv, _ = cv2.projectPoints(pts.reshape(-1, 1, 3), rvec, cam_from_world[:3, 3], K, D if model == "opencv" else None)
    return uv.reshape(-1, 2), pc[:, 2] > 0


def test_meta_carries_the_camera_model(scene):
    name, out, info, rows = scene
    assert "camera_model" in info["modalities"]["meta"] and "range" in info["modalities"]["depth"]
    models = {load_frame(out, r)["meta"]["camera_model"] for r in rows}
    assert models == {"front_brown_conrady": {"opencv"}, "surround_fisheye": {"fisheye"},
                      "stereo_pair": {"pinhole"}}[name]
    cams = {r["camera"] for r in rows}
    assert len(cams) == {"front_brown_conrady": 1, "surround_fisheye": 4, "stereo_pair": 2}[name]
    for r in rows:
        m = load_frame(out, r)["meta"]
        assert (m["width"], m["height"]) == {"front_brown_conrady": (160, 120), "surround_fisheye": (128, 96),
                                             "stereo_pair": (160, 120)}[name]
        assert len(m["D"]) == {"opencv": 5, "fisheye": 4, "pinhole": 0}[m["camera_model"]]
        # the manifest can be sliced by camera kind
        assert r["knobs"]["camera_model"] == m["camera_model"]
        assert r["knobs"]["rig"] == {"front_brown_conrady": None, "surround_fisheye": "surround",
                                     "stereo_pair": "stereo"}[name]


def test_flow_of_rigid_surfaces_is_cv2_reprojection(scene):
    name, out, info, rows = scene
    by = {(r["camera"], r["frame"]): r for r in rows}
    checked = 0
    for (cam, t), r in by.items():
        if (cam, t + 1) not in by:
            continue
        a, b = load_frame(out, r), load_frame(out, by[cam, t + 1])
        ma, mb = a["meta"], b["meta"]
        h, w = a["depth"].shape
        rays = _rays(ma, h, w)
        depth = a["depth"].astype(np.float64)
        scale = depth if ma["camera_model"] == "fisheye" else depth / rays[..., 2]  # range or planar
        pose = np.array(ma["world_from_camera"])
        with np.errstate(invalid="ignore"):  # NaN rays outside a fisheye's field
            pts = (rays * scale[..., None]) @ pose[:3, :3].T + pose[:3, 3]
        inst = a["instance"].astype(np.int64)
        rigid = np.isfinite(depth) & (np.abs(a["flow_fwd"][..., 0]) < 1e9)  # .flo: > 1e9 = unknown
        objs_b = {o["instance_id"]: o for o in mb["objects"]}
        for o in ma["objects"]:
            sel = inst == o["instance_id"]
            if o["deforming"]:
                rigid &= ~sel
                continue
            m = np.array(objs_b[o["instance_id"]]["world_from_object"]) @ np.linalg.inv(np.array(o["world_from_object"]))
            pts[sel] = pts[sel] @ m[:3, :3].T + m[:3, 3]
        uv, ok = _cv_project(pts[rigid], mb)
        v, u = np.mgrid[0:h, 0:w].astype(np.float64)
        expected = uv - np.stack([u[rigid], v[rigid]], -1)
        epe = np.linalg.norm(a["flow_fwd"][rigid].astype(np.float64) - expected, axis=-1)[ok]
        assert len(epe) > 0.3 * h * w
        assert np.median(epe) <= 1e-3 and np.percentile(epe, 99) <= 1e-2, (cam, np.median(epe), np.percentile(epe, 99))
        assert np.median(np.linalg.norm(expected, axis=-1)) > 0.1  # the ego moves
        checked += 1
    assert checked >= 2


def test_boxes_bound_masks_and_stereo_disparity(scene):
    name, out, info, rows = scene
    for r in rows:
        f = load_frame(out, r)
        for o in f["meta"]["objects"]:
            mask = f["instance"] == o["instance_id"]
            assert int(mask.sum()) == o["visible_pixels"]
            if o["visible_pixels"]:
                rows_, cols = np.nonzero(mask)
                assert o["bbox_visible"] == [cols.min(), rows_.min(), cols.max() + 1, rows_.max() + 1]
                a = o["bbox_amodal"]
                x0, y0, x1, y1 = o["bbox_visible"]
                assert a[0] <= x0 + 0.5 and a[1] <= y0 + 0.5 and a[2] >= x1 - 0.5 and a[3] >= y1 - 0.5
        if name == "stereo_pair" and r["camera"] == "stereo_left":
            st = f["meta"]["camera_record"]["stereo"]
            disp = read_exr_channels(out / r["files"]["disparity"])["D"]
            hit = np.isfinite(f["depth"])
            np.testing.assert_allclose(disp[hit], -st["P2"][0][3] / f["depth"][hit], rtol=1e-6)
            assert np.all(np.isnan(disp[~hit]))
            assert abs(st["baseline_m"] - 0.3) < 1e-6
