"""End-to-end: render scenes/quickstart.yaml, then check every label against independent geometry.

The checks read the files a user gets (tests/e2e/readers.py, written from the format specs) and recompute the
expected values with their own projection code — never with the code that produced the labels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, needs_blender
from tests.e2e.readers import load_dataset, load_frame

pytestmark = [pytest.mark.blender, pytest.mark.slow]

CONFIG = REPO / "tests" / "e2e" / "e2e_render.yaml"


def _render(out: Path, seed: int = 0) -> None:
    needs_blender()
    from simgen.cli import main

    code = main(["render", str(REPO / "scenes" / "quickstart.yaml"), "--out", str(out), "--config", str(CONFIG),
                 "--seed", str(seed), "--device", "cpu", "--no-progress"])
    assert code == 0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quickstart") / "ds"
    _render(out)
    return out


@pytest.fixture(scope="module")
def frames(dataset):
    info, rows = load_dataset(dataset)
    rows = sorted(rows, key=lambda r: r["frame"])
    return info, [load_frame(dataset, r) for r in rows], rows


# ---- independent geometry -------------------------------------------------------------------------------

def _unproject(depth, K, world_from_camera):
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    z = np.where(np.isfinite(depth), depth, np.nan).astype(np.float64)
    pc = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], -1)
    return pc @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]


def _project(pts, K, world_from_camera):
    cam_from_world = np.linalg.inv(world_from_camera)
    pc = pts @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K[0, 0] * pc[..., 0] / pc[..., 2] + K[0, 2]
        v = K[1, 1] * pc[..., 1] / pc[..., 2] + K[1, 2]
    return np.stack([u, v], -1), pc[..., 2]


def _expected_flow(a: dict, b: dict):
    """Flow from frame a to frame b by reprojection, and the mask of pixels that stay visible in b."""
    ma, mb = a["meta"], b["meta"]
    K = np.array(ma["K"])
    pts = _unproject(a["depth"], K, np.array(ma["world_from_camera"]))
    inst = a["instance"].astype(np.int64)
    rigid = np.isfinite(a["depth"])
    objs_b = {o["instance_id"]: o for o in mb["objects"]}
    for o in ma["objects"]:
        sel = inst == o["instance_id"]
        if o.get("deforming"):
            rigid &= ~sel
            continue
        m = np.array(objs_b[o["instance_id"]]["world_from_object"]) @ np.linalg.inv(np.array(o["world_from_object"]))
        pts[sel] = pts[sel] @ m[:3, :3].T + m[:3, 3]
    uv, z = _project(pts, np.array(mb["K"]), np.array(mb["world_from_camera"]))
    h, w = a["depth"].shape
    v0, u0 = np.mgrid[0:h, 0:w].astype(np.float64)
    flow = uv - np.stack([u0, v0], -1)
    ui, vi = np.rint(uv[..., 0]), np.rint(uv[..., 1])
    inside = rigid & (z > 0) & (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    ui = np.clip(np.nan_to_num(ui), 0, w - 1).astype(int)
    vi = np.clip(np.nan_to_num(vi), 0, h - 1).astype(int)
    # visible in b: same instance there, and the surface depth around the landing pixel brackets the point's depth
    db = np.where(np.isfinite(b["depth"]), b["depth"], 1e10).astype(np.float32)
    lo = cv2.erode(db, np.ones((3, 3), np.uint8))[vi, ui]
    hi = cv2.dilate(db, np.ones((3, 3), np.uint8))[vi, ui]
    same = (b["instance"][vi, ui].astype(np.int64) == inst) & (z >= lo * (1 - 1e-3)) & (z <= hi * (1 + 1e-3))
    return flow, inside & same


def test_manifest_and_conventions(frames):
    info, fr, rows = frames
    assert len(rows) >= 3
    assert info["conventions"]
    assert [r["frame"] for r in rows] == list(range(len(rows)))
    assert "flow_fwd" not in rows[-1]["files"] and "flow_bwd" not in rows[0]["files"]
    assert all("flow_fwd" in r["files"] for r in rows[:-1]) and all("flow_bwd" in r["files"] for r in rows[1:])
    moving = [o for o in fr[0]["meta"]["objects"]
              if not np.allclose(o["world_from_object"], next(
                  p for p in fr[1]["meta"]["objects"] if p["instance_id"] == o["instance_id"])["world_from_object"])]
    assert moving, "quickstart must contain a moving object"
    assert not np.allclose(fr[0]["meta"]["world_from_camera"], fr[1]["meta"]["world_from_camera"]), "camera must move"


@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_flow_equals_reprojection(frames, direction):
    _, fr, _ = frames
    errors, moving_obj_px = [], 0
    pairs = [(t, t + 1) for t in range(len(fr) - 1)] if direction == "fwd" else [(t, t - 1) for t in range(1, len(fr))]
    for t, n in pairs:
        stored = fr[t][f"flow_{direction}"]
        expected, ok = _expected_flow(fr[t], fr[n])
        assert ok.sum() > 0.5 * np.isfinite(fr[t]["depth"]).sum(), "too few visible pixels to test"
        assert np.all(np.abs(stored[ok]) < 1e9), "visible pixels must have known flow"
        errors.append(np.linalg.norm(stored[ok] - expected[ok], axis=-1))
        ids = {o["instance_id"] for o in fr[t]["meta"]["objects"]}
        moving_obj_px += int((np.isin(fr[t]["instance"], list(ids)) & ok).sum())
        assert np.all(stored[~np.isfinite(fr[t]["depth"])] > 1e9), "background flow must be marked unknown"
    epe = np.concatenate(errors)
    assert np.median(epe) <= 1e-3, f"median EPE {np.median(epe):.2e} px"
    assert np.percentile(epe, 99) <= 1e-2, f"p99 EPE {np.percentile(epe, 99):.2e} px"
    assert moving_obj_px > 50, "object pixels must be part of the check"


def visible_objects(f: dict):
    """Check one loaded frame's ids against its objects: the instance map holds only their ids, each mask has the
    recorded ``visible_pixels``, and every visible pixel's surface point (depth unprojected with K and the pose)
    lies inside the object's 3D box. Yields ``(id, object, mask, K, world_from_camera, points)`` for each object
    with a non-empty mask, for further checks."""
    inst, meta = f["instance"], f["meta"]
    objs = {o["instance_id"]: o for o in meta["objects"]}
    assert set(np.unique(inst)) <= set(objs) | {0}
    K, pose = np.array(meta["K"]), np.array(meta["world_from_camera"])
    for iid, o in objs.items():
        mask = inst == iid
        assert mask.sum() == o["visible_pixels"]
        if not mask.any():
            continue
        b = o["box3d"]
        pts = _unproject(f["depth"], K, pose)[mask]
        local = (pts - np.array(b["center"])) @ np.array(b["rotation"])
        assert np.all(np.abs(local) <= np.array(b["size"]) / 2 + 1e-3), (iid, o["name"])
        yield iid, o, mask, K, pose, pts


def test_ids_exact_and_boxes_bound_masks(frames):
    info, fr, _ = frames
    cls_id = {c["name"]: c["id"] for c in info["classes"]}
    for f in fr:
        assert f["instance"].dtype == np.uint16 and f["semantic"].dtype == np.uint8
        for iid, o, mask, K, pose, _ in visible_objects(f):
            assert np.all(f["semantic"][mask] == cls_id[o["class"]])
            ys, xs = np.nonzero(mask)
            assert o["bbox_visible"] == [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            b = o["box3d"]
            signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * 0.5
            corners = np.array(b["center"]) + (signs * np.array(b["size"])) @ np.array(b["rotation"]).T
            uv, z = _project(corners, K, pose)
            if np.all(z > 0):
                assert xs.min() >= uv[:, 0].min() - 1 and xs.max() <= uv[:, 0].max() + 1, iid
                assert ys.min() >= uv[:, 1].min() - 1 and ys.max() <= uv[:, 1].max() + 1, iid


def test_projection_matches_opencv(frames):
    _, fr, _ = frames
    meta = fr[0]["meta"]
    K, pose = np.array(meta["K"]), np.array(meta["world_from_camera"])
    pts = np.array([o["box3d"]["center"] for o in meta["objects"]])
    cam_from_world = np.linalg.inv(pose)
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    uv_cv, _ = cv2.projectPoints(pts, rvec, cam_from_world[:3, 3], K, None)
    uv, _ = _project(pts, K, pose)
    assert np.allclose(uv_cv[:, 0], uv, atol=1e-6)
    # K follows the pixel-centre convention: an unshifted camera has cx = W/2 - 0.5
    assert K[0, 2] == pytest.approx(meta["width"] / 2 - 0.5) and K[1, 2] == pytest.approx(meta["height"] / 2 - 0.5)


def test_images_agree_with_flow(frames):
    """OpenCV's DIS flow on the rendered RGB pair agrees with the stored forward flow on textured pixels,
    and warping frame t+1 with the stored flow explains frame t better than no motion or the flipped flow."""
    _, fr, _ = frames
    medians = []
    for t in range(len(fr) - 1):
        g0 = cv2.cvtColor(fr[t]["rgb"], cv2.COLOR_RGB2GRAY)
        g1 = cv2.cvtColor(fr[t + 1]["rgb"], cv2.COLOR_RGB2GRAY)
        est = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(g0, g1, None)
        stored = fr[t]["flow_fwd"]
        _, ok = _expected_flow(fr[t], fr[t + 1])
        # "textured": strong gradient after a light blur (render noise alone is not texture)
        blurred = cv2.GaussianBlur(g0.astype(np.float32), (0, 0), 1.0)
        grad = cv2.magnitude(cv2.Sobel(blurred, cv2.CV_32F, 1, 0), cv2.Sobel(blurred, cv2.CV_32F, 0, 1))
        textured = ok & (grad > np.percentile(grad[ok], 50))
        textured = cv2.erode(textured.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert textured.sum() > 500
        medians.append(np.median(np.linalg.norm(est[textured] - stored[textured], axis=-1)))
        # the scene really moves, so agreement is not trivial; a flipped flow must disagree
        assert np.median(np.linalg.norm(stored[textured], axis=-1)) > 1.0
        assert np.median(np.linalg.norm(est[textured] + stored[textured], axis=-1)) > 2.0

        h, w = g0.shape
        v, u = np.mgrid[0:h, 0:w].astype(np.float32)

        # photometric residual on lightly blurred frames: the camera's sensor noise differs frame to frame and
        # is not motion
        s0 = cv2.GaussianBlur(g0.astype(np.float32), (0, 0), 1.0)
        s1 = cv2.GaussianBlur(g1.astype(np.float32), (0, 0), 1.0)

        def residual(flow):
            warped = cv2.remap(s1, u + flow[..., 0], v + flow[..., 1], cv2.INTER_LINEAR)
            return np.mean(np.abs(warped - s0)[textured])

        known = np.where(np.abs(stored) < 1e9, stored, 0).astype(np.float32)
        assert residual(known) < 0.5 * residual(np.zeros_like(known))
        assert residual(known) < 0.5 * residual(-known)
    assert max(medians) < 1.0, medians


def test_depth_is_planar_metres(frames):
    _, fr, _ = frames
    for f in fr:
        d = f["depth"]
        assert d.dtype == np.float32
        assert np.all((d > 0) | np.isinf(d)) and not np.isnan(d).any()
        assert np.isinf(d).any(), "quickstart has sky: background must be +inf"


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "dataset.json"}


def test_deterministic(dataset, tmp_path):
    again = tmp_path / "again"
    _render(again)
    assert _digest(dataset) == _digest(again)
