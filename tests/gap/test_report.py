"""report.json / report.html writing: strict JSON, self-contained HTML, every section, colour coding."""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.gap import report as rep


def _metric(name, value, lo, hi, base, blo, bhi, n=40):
    return {"name": name, "value": value, "ci_low": lo, "ci_high": hi, "n_synth": n, "n_real": n,
            "baseline": base, "baseline_ci_low": blo, "baseline_ci_high": bhi,
            "ratio": value / base if base else None, "note": ""}


def _jpeg_b64(colour) -> str:
    import cv2

    img = np.zeros((30, 40, 3), np.uint8)
    img[:] = colour
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def sample_report() -> dict:
    rng = np.random.default_rng(0)
    names = ["mean_r", "noise_sigma", "sharpness"]
    edges = np.linspace(0, 1, 11).tolist()
    slices = [
        {"key": "weather", "value": "fog", "label": "weather=fog", "n": 30, "skipped": False, "note": "",
         "metrics": [_metric("fd", 90.0, 80, 100, 10.0, 8, 12, 30)]},
        {"key": "weather", "value": "clear", "label": "weather=clear", "n": 30, "skipped": False, "note": "",
         "metrics": [_metric("fd", 11.0, 9, 13, 10.0, 8, 12, 30)]},
        {"key": "weather", "value": "snow", "label": "weather=snow", "n": 3, "skipped": True,
         "note": "only 3 image(s); a slice needs at least 10", "metrics": []},
    ]
    return {
        "simgen_version": "0.1.0", "created_utc": "2026-01-01T00:00:00Z", "seed": 0,
        "config": {"backbones": ["mobilenet_v2"]},
        "inputs": {"synth": {"path": "/s", "kind": "images", "n_found": 60, "n_used": 60, "n_groups": 6},
                   "real": {"path": "/r", "kind": "video", "n_found": 80, "n_used": 80, "n_groups": 8}},
        "primary_backbone": "mobilenet_v2",
        "backbones": [{"name": "mobilenet_v2", "dim": 1280, "version": "v1", "preprocess": {"size": 224},
                       "preprocess_key": "abc", "role": "requested"}],
        "metrics": {"mobilenet_v2": [_metric("fd", 50.0, 45, 55, 10.0, 8, 12),
                                     _metric("kid", 0.011, 0.0, 0.02, 0.01, 0.0, 0.02)]},
        "summary": {"backbone": "mobilenet_v2", "metric": "fd", "ratio": 5.0, "value": 50.0, "baseline": 10.0,
                    "verdict": "a large gap", "furthest_slice": {"label": "weather=fog", "ratio": 9.0, "n": 30}},
        "slices": {"keys": ["weather"], "notes": [], "min_images": 10, "by_backbone": {"mobilenet_v2": {
            "rank_metric": "fd", "metric_names": ["fd"], "slices": slices,
            "ranking": [{"label": "weather=fog", "n": 30, "ratio": 9.0}, {"label": "weather=clear", "n": 30,
                                                                          "ratio": 1.1}]}}},
        "lowlevel": {"names": names, "distance_columns": ["statistic", "wasserstein"],
                     "colour_histograms": {c: {"synth": [1 / 16] * 16, "real": [1 / 16] * 16} for c in "rgb"},
                     "distances": [{"statistic": n, "wasserstein": 0.1 * i} for i, n in enumerate(names)],
                     "histograms": {n: {"edges": edges, "synth": rng.integers(0, 9, 10).tolist(),
                                        "real": rng.integers(0, 9, 10).tolist(), "distance": 0.1,
                                        "distance_name": "wasserstein"} for n in names}},
        "audit": {"n_frames": 12, "n_objects": 40, "findings": [
            {"severity": "info", "code": "balance", "message": "class balance ok", "numbers": {}},
            {"severity": "flag", "code": "colour", "message": "all pedestrians are red", "numbers": {}}],
            "plots": {"position_heatmap": {"pedestrian": rng.random((8, 10)).tolist()},
                      "class_counts": {"car": 10, "pedestrian": 4}}},
        "audit_note": None,
        "nearest_real": {"description": "d", "threshold": 1.0,
                         "flagged": [{"synth_id": "synth:a", "real_id": "real:b", "distance": 0.1}]},
        "least_realistic": {"description": "d", "items": [
            {"id": "synth:a", "source": "a.png", "frame_index": None, "group": "g", "score": 3.0,
             "neighbours": [{"id": "real:b", "source": "b.avi", "frame_index": 3, "group": "b", "distance": 2.0}]}]},
        "notes": ["a note"],
        "timings_s": {"total": 1.5, "bad": float("nan")},
    }


def test_writes_strict_json_and_selfcontained_html(tmp_path):
    data = sample_report()
    thumbs = {"synth:a": _jpeg_b64((255, 0, 0)), "real:b": _jpeg_b64((0, 0, 255))}
    jpath, hpath = rep.write_report(data, tmp_path / "r", thumbs)
    # strict JSON: NaN became null and parsing with NaN rejection succeeds
    text = jpath.read_text()
    loaded = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert loaded["timings_s"]["bad"] is None
    assert loaded["metrics"]["mobilenet_v2"][0]["value"] == 50.0
    html = hpath.read_text()
    # self-contained: no external resources at all
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", html)
    assert "http://" not in html and "https://" not in html
    imgs = re.findall(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"', html)
    # slice bar chart + histogram grid + colour histograms + 2 audit plots; 2 thumbnails in each of 2 sections
    assert len([k for k, _ in imgs if k == "png"]) == 5
    assert len([k for k, _ in imgs if k == "jpeg"]) == 4
    for kind, b in imgs:  # every embedded image decodes
        raw = base64.b64decode(b)
        assert raw[:4] == (b"\x89PNG" if kind == "png" else b"\xff\xd8\xff\xe0"[:4]) or raw[:3] == b"\xff\xd8\xff"
    for sec in ("summary", "metrics", "slices", "lowlevel", "audit", "nearest-real", "least-realistic", "contract"):
        assert f'id="{sec}"' in html
    assert "all pedestrians are red" in html and "sev-flag" in html
    assert html.index("all pedestrians are red") < html.index("class balance ok")  # flags first
    assert "weather=fog" in html and "only 3 image(s)" in html
    assert not list((tmp_path / "r").glob("*.tmp"))


def test_metric_colour_classes():
    # interval overlapping the baseline interval -> ok, even with a ratio above 1.5
    assert rep.metric_class(_metric("kid", 0.02, 0.0, 0.03, 0.01, 0.0, 0.02)) == "ok"
    assert rep.metric_class(_metric("fd", 50.0, 45, 55, 10.0, 8, 12)) == "bad"
    assert rep.metric_class(_metric("fd", 25.0, 22, 28, 10.0, 8, 12)) == "warn"
    # separated intervals never give "ok", however small the ratio
    assert rep.metric_class(_metric("fd", 13.0, 12.5, 13.5, 10.0, 9.5, 10.5)) == "warn"
    # a (nearly) separable classifier is red even when a noisy baseline floors its ratio low
    auc = _metric("classifier_auc", 1.0, 1.0, 1.0, 0.3, 0.1, 0.5)
    auc["ratio"] = 2.4
    assert rep.metric_class(auc) == "bad"
    auc.update(value=0.8, ci_low=0.75, ci_high=0.85)
    assert rep.metric_class(auc) == "warn"
    row = _metric("fd", 1.0, 1, 1, 1.0, 1, 1)
    row["ratio"] = None
    row["ci_low"] = None
    assert rep.metric_class(row) == "na"


def test_to_jsonable_handles_numpy_and_nonfinite():
    out = rep.to_jsonable({"a": np.float32(1.5), "b": np.arange(3), "c": [np.inf, -np.inf, np.nan], 1: {2}})
    assert out == {"a": 1.5, "b": [0, 1, 2], "c": [None, None, None], "1": [2]}
    json.dumps(out, allow_nan=False)


def test_unwritable_output_is_a_simgen_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SimgenError, match=re.escape(str(blocker))):
        rep.write_report(sample_report(), blocker / "r")


def test_slice_plot_orders_and_skips_undefined():
    assert rep.plot_slice_ratios([{"label": "a", "n": 3, "ratio": None}], "fd") is None
    png = rep.plot_slice_ratios([{"label": "a", "n": 3, "ratio": 2.0}], "fd")
    assert base64.b64decode(png)[:4] == b"\x89PNG"
    assert math.isclose(len(rep._audit_plots({"x": [[1, 2], [3, 4]], "y": [1, 2, 3]})), 1)
