"""Object-level gap (simgen.gap.objects) and detector probe (simgen.gap.probe).

The matching/recall maths is checked on hand-made boxes; the end-to-end tests use real vtest.avi frames (people
the detector must find, a labelled "person" on an empty lawn it must not) and block figures drawn in numpy
against real people crops.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from simgen.gap import objects as ob
from simgen.gap import probe as pb
from tests.conftest import vtest_frame

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


# ------------------------------------------------------------------------------------------------ maths


def test_iou_matrix_known_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 20]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    m = pb.iou_matrix(a, b)
    np.testing.assert_allclose(m[0], [50 / 150, 0.0, 1.0])
    np.testing.assert_allclose(m[1], [50 / 250, 0.0, 0.5])


def test_match_is_greedy_by_score_and_one_to_one():
    gt = np.array([[0, 0, 10, 20], [12, 0, 22, 20], [100, 100, 110, 120]], float)
    # det 0 (low score) fits gt 0 perfectly; det 1 (high score) overlaps gt 0 at IoU 0.6 and gt 1 less
    det = np.array([[0, 0, 10, 20], [0, 0, 12, 20], [50, 50, 60, 60]], float)
    found = pb.match(gt, det, np.array([0.4, 0.9, 0.8]), iou=0.5)
    assert found.tolist() == [True, False, False]  # det 1 takes gt 0, det 0 then has nothing left >= 0.5
    # a duplicate detection cannot find a second object; IoU just below the threshold does not count
    found = pb.match(gt[:1], np.array([[0, 0, 10, 20], [0, 0, 10, 20]]), np.array([0.9, 0.8]))
    assert found.tolist() == [True]
    assert not pb.match(gt[:1], np.array([[0, 0, 10, 9.9]]), np.array([0.9]), iou=0.5)[0]
    assert pb.match(gt[:1], np.array([[0, 0, 10, 10]]), np.array([0.9]), iou=0.5)[0]  # IoU exactly 0.5
    assert pb.match(np.zeros((0, 4)), det, np.ones(3)).shape == (0,)


def test_recall_by_size_bins_and_grouped_interval():
    heights = np.array([25, 30, 50, 60, 70, 90, 200, 10])
    found = np.array([1, 0, 1, 1, 0, 1, 1, 1], bool)
    groups = np.array(["a", "b", "a", "b", "c", "c", "a", "a"])
    res = pb.recall_by_size(heights, found, groups, rng=np.random.default_rng(0))
    got = [(r["label"], r["n"], r["found"]) for r in res["bins"]]
    assert got == [("20-40 px", 2, 1), ("40-80 px", 3, 2), (">= 80 px", 2, 2)]
    assert res["all"]["n"] == 7 and res["all"]["found"] == 5  # the 10 px object is below every bin
    assert math.isclose(res["all"]["recall"], 5 / 7)
    a = res["all"]
    assert a["ci_low"] <= a["recall"] <= a["ci_high"] and a["ci_high"] - a["ci_low"] > 0.05
    assert "3 sequences" in a["interval"]
    # all objects in one sequence: Wilson interval, which for 5/7 is about [0.36, 0.92]
    one = pb.recall_with_interval(found[:7], np.zeros(7))
    assert "Wilson" in one["interval"] and 0.3 < one["ci_low"] < 0.4 and 0.9 < one["ci_high"] < 0.95
    # cluster bootstrap: a sequence that is all found and one all missed give a wide interval
    two = pb.recall_with_interval(np.array([1] * 10 + [0] * 10, bool), np.array([0] * 10 + [1] * 10), reps=400,
                                  rng=np.random.default_rng(1))
    assert two["ci_low"] == 0.0 and two["ci_high"] == 1.0
    assert pb.recall_with_interval(np.zeros(0, bool), np.zeros(0))["recall"] is None


def test_crop_box_margin_and_clipping():
    assert ob.crop_box((100, 200, 3), (50, 20, 60, 70), 0.1) == (49, 15, 61, 75)
    assert ob.crop_box((100, 200, 3), (0, 0, 10, 100), 0.2) == (0, 0, 12, 100)


# ------------------------------------------------------------------------------------------------ fixtures


def _write_dataset(root: Path, frames: list[tuple[str, np.ndarray, list[dict]]]) -> Path:
    """A minimal simgen dataset: manifest rows with files.rgb + files.meta; frames = (sequence, rgb, objects)."""
    import cv2

    rows = []
    counters: dict[str, int] = {}
    for seq, rgb, objs in frames:
        t = counters.get(seq, 0)
        counters[seq] = t + 1
        d = root / "street" / seq
        d.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(d / f"{t:06d}.rgb.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        meta = {"width": rgb.shape[1], "height": rgb.shape[0], "objects": objs}
        (d / f"{t:06d}.meta.json").write_text(json.dumps(meta))
        rows.append({"sample_id": f"street/{seq}/{t:06d}", "scene": "street", "variant": seq, "frame": t, "seed": 0,
                     "files": {"rgb": f"street/{seq}/{t:06d}.rgb.png", "meta": f"street/{seq}/{t:06d}.meta.json"}})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _obj(cls: str, box, iid: int, occlusion: float = 0.0, truncation: float = 0.0) -> dict:
    return {"instance_id": iid, "class": cls, "bbox_visible": list(box), "truncation": truncation,
            "occlusion": occlusion}


_vtest_frame = vtest_frame


def _detector_or_skip():
    from simgen.gap.nanodet import DetectorError, get_detector

    try:
        return get_detector()
    except DetectorError as err:
        pytest.skip(str(err))


# Boxes of frame 99 of vtest.avi, drawn by hand around what is there (checked on the image).
PEOPLE_99 = [(343, 199, 372, 272), (378, 178, 410, 257), (588, 157, 616, 239), (225, 59, 239, 95)]
LAWN = (100, 330, 125, 400)  # empty grass: a "pedestrian" here must not be found
VAN_99 = (651, 44, 727, 101)
CAR_AT_BORDER = (734, 52, 768, 95)  # touches the right edge: truncated by the frame, not a label to test


def _labels_99() -> list[dict]:
    objs = [_obj("pedestrian", b, i + 1) for i, b in enumerate(PEOPLE_99)]
    objs += [_obj("pedestrian", LAWN, 10), _obj("van", VAN_99, 11), _obj("car", CAR_AT_BORDER, 12)]
    objs += [_obj("pedestrian", (400, 300, 420, 360), 13, occlusion=0.8)]  # mostly hidden: not a label to test
    return objs


def test_synthetic_boxes_follow_the_eligibility_rules(tmp_path):
    rgb = np.zeros((576, 768, 3), np.uint8)
    root = _write_dataset(tmp_path / "ds", [("a", rgb, _labels_99())])
    people = ob.synthetic_boxes(root, "people", min_box_px=30)
    assert sorted(b.instance_id for b in people) == [1, 2, 3, 4, 10]  # 225,59 is 36 tall; occluded one dropped
    assert sorted(b.instance_id for b in ob.synthetic_boxes(root, "people", min_box_px=40)) == [1, 2, 3, 10]
    assert [b.instance_id for b in ob.synthetic_boxes(root, "vehicles", min_box_px=30)] == [11]  # border car out
    with pytest.raises(ob.ObjectGapError, match="unknown class group 'animals'"):
        ob.synthetic_boxes(root, "animals")
    with pytest.raises(ob.ObjectGapError, match="not a simgen dataset"):
        ob.synthetic_boxes(tmp_path, "people")


def test_probe_end_to_end_on_a_real_frame(tmp_path):
    _detector_or_skip()
    rgb = _vtest_frame(99)
    root = _write_dataset(tmp_path / "ds", [("a", rgb, _labels_99()), ("b", rgb, _labels_99())])
    res = pb.run_probe(root, cache=tmp_path / "det.json")
    people, veh = res["groups"]["people"], res["groups"]["vehicles"]
    assert res["n_frames"] == 2 and res["n_sequences"] == 2
    assert (people["all"]["n"], people["all"]["found"]) == (10, 8)  # the lawn "pedestrian" is missed twice
    by = {r["label"]: (r["n"], r["found"]) for r in people["bins"]}
    assert by == {"20-40 px": (2, 2), "40-80 px": (6, 4), ">= 80 px": (2, 2)}
    assert (veh["all"]["n"], veh["all"]["found"]) == (2, 2)
    assert (tmp_path / "det.json").is_file()
    # the cache gives the same answer without running the detector
    again = pb.run_probe(root, cache=tmp_path / "det.json", detector=object())
    assert again["groups"] == res["groups"]
    text = pb.format_probe(res)
    assert "people" in text and "0.80" in text


def _block_figure(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """A grey street with 3-4 flat-coloured box-and-ball people (what simgen's mannequins looked like)."""
    import cv2

    img = np.full((h, w, 3), 110, np.uint8)
    img[h // 2:] = 90
    objs = []
    for i in range(int(rng.integers(3, 5))):
        ph = int(rng.integers(60, 120))
        x = int(rng.integers(20, w - 60))
        y = int(rng.integers(h // 3, h - ph - 10))
        col = tuple(int(c) for c in rng.integers(40, 220, 3))
        pw = ph // 3
        cv2.rectangle(img, (x, y + ph // 5), (x + pw, y + ph * 3 // 5), col, -1)
        cv2.rectangle(img, (x + 2, y + ph * 3 // 5), (x + pw - 2, y + ph), col, -1)
        cv2.circle(img, (x + pw // 2, y + ph // 10), ph // 10, col, -1)
        objs.append(_obj("pedestrian", (x, y, x + pw + 1, y + ph + 1), i + 1))
    return img, objs


def test_object_gap_block_figures_vs_real_people(tmp_path):
    _detector_or_skip()
    if not VTEST.exists():
        pytest.skip(f"{VTEST} is missing (Debian package opencv-doc)")
    rng = np.random.default_rng(0)
    frames = []
    for k in range(24):
        img, objs = _block_figure(288, 384, rng)
        frames.append((f"seq{k % 6}", img, objs))
    synth = _write_dataset(tmp_path / "ds", frames)
    out = tmp_path / "report"
    rep = ob.run_gap_with_objects(
        synth, VTEST, out, objects="people", probe=True, backbones=["mobilenet_v2"], metrics="fd,kid,classifier",
        reps=4, max_images=120, max_frames_per_video=40, video_stride=20, progress=False,
    )
    o = rep.data["objects"]
    assert o["group"] == "people" and o["synth"]["n"] >= 70 and o["real"]["n"] >= 200
    assert o["real"]["n_groups"] >= 10 and o["synth"]["n_groups"] == 6
    assert o["real"]["classes"] == {"person": o["real"]["n"]}
    # the comparison ran on the crops: their counts are the report's inputs
    assert rep.data["inputs"]["synth"]["n_found"] == o["synth"]["n"]
    assert rep.data["inputs"]["real"]["n_found"] == o["real"]["n"]
    index = [json.loads(x) for x in (out / "crops" / "real.jsonl").read_text().splitlines()]
    assert all(r["score"] >= 0.3 and r["box"][3] - r["box"][1] >= 30 for r in index)
    # block figures are not people to a classifier that has seen real ones
    s = rep.data["summary"]
    assert s["classifier_auc"] > 0.9 and s["metric"] in ("kid", "classifier_auc")
    assert "headline metric" in s["verdict"]
    assert rep.data["probe"]["groups"]["people"]["all"]["recall"] < 0.5  # nor to the detector
    # the probe ran on the same dataset and is in both report files
    assert rep.data["probe"]["groups"]["people"]["all"]["n"] == o["synth"]["n"] + sum(
        1 for _, _, objs in frames for x in objs if 20 <= x["bbox_visible"][3] - x["bbox_visible"][1] < 30)
    html = (out / "report.html").read_text()
    assert 'id="objects"' in html and 'id="probe"' in html
    assert json.loads((out / "report.json").read_text())["objects"]["group"] == "people"


def test_real_boxes_from_coco_and_kitti(tmp_path):
    import cv2

    from simgen.gap.data import discover

    real = tmp_path / "real"
    (real / "seq").mkdir(parents=True)
    img = np.zeros((100, 120, 3), np.uint8)
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(real / "seq" / name), img)
    items = discover(real)
    coco = {
        "images": [{"id": 1, "file_name": "seq/a.png"}, {"id": 2, "file_name": "b.png"}],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        "annotations": [
            {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 50]},
            {"image_id": 2, "category_id": 1, "bbox": [10, 10, 20, 20]},  # too small
            {"image_id": 2, "category_id": 3, "bbox": [50, 30, 60, 40]},
            {"image_id": 1, "category_id": 1, "bbox": [0, 0, 50, 50], "iscrowd": 1},
            {"image_id": 1, "category_id": 1, "bbox": [0, 20, 20, 50]},  # cut by the left edge
            {"image_id": 1, "category_id": 1, "bbox": [80, 40, 20, 60]},  # ends on the bottom edge (y = 100)
        ],
    }
    (tmp_path / "inst.json").write_text(json.dumps(coco))
    people = ob.coco_boxes(tmp_path / "inst.json", real, items, "people")
    assert [(b.item.id, b.box) for b in people] == [("seq/a.png", (10.0, 10.0, 30.0, 60.0))]
    cars = ob.coco_boxes(tmp_path / "inst.json", real, items, "vehicles")
    assert [(b.item.id, b.cls) for b in cars] == [("seq/b.png", "car")]
    coco["annotations"].append({"image_id": 9, "category_id": 1, "bbox": [0, 0, 40, 40]})
    (tmp_path / "bad.json").write_text(json.dumps(coco))
    with pytest.raises(ob.ObjectGapError, match=r"annotations\[6\]"):
        ob.coco_boxes(tmp_path / "bad.json", real, items, "people")

    labels = tmp_path / "label_2"
    labels.mkdir()
    (labels / "a.txt").write_text(
        "Pedestrian 0.00 0 -0.2 10 10 30 60 1.7 0.6 0.8 1 1 10 0\n"
        "Car 0.00 0 -0.2 50 30 110 70 1.5 1.6 4 1 1 10 0\n"
        "Pedestrian 0.50 0 -0.2 0 10 20 60 1.7 0.6 0.8 1 1 10 0\n"  # truncated
        "DontCare -1 -1 -10 0 0 5 5 -1 -1 -1 -1000 -1000 -1000 -10\n")
    assert [b.box for b in ob.kitti_boxes(labels, items, "people")] == [(10.0, 10.0, 30.0, 60.0)]
    assert [b.cls for b in ob.kitti_boxes(labels, items, "vehicles")] == ["car"]
    (labels / "zzz.txt").write_text("Car 0 0 0 1 2\n")
    with pytest.raises(ob.ObjectGapError, match="zzz"):
        ob.kitti_boxes(labels, items, "vehicles")


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_probe_and_bad_inputs(tmp_path, capsys):
    from simgen.cli import main

    _detector_or_skip()
    rgb = _vtest_frame(99)
    root = _write_dataset(tmp_path / "ds", [("a", rgb, _labels_99())])
    assert main(["probe", str(root), "--out", str(tmp_path / "p"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"people\s+>= 20 px: 0\.80 \[.*\] \(4/5\)", out), out
    res = json.loads((tmp_path / "p" / "probe.json").read_text())
    assert res["groups"]["vehicles"]["all"]["found"] == 1
    # clean errors, no tracebacks
    import cv2

    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.png"), rgb)
    assert main(["gap", str(tmp_path / "imgs"), str(VTEST), "--out", str(tmp_path / "r"), "--probe", "-q"]) == 1
    assert "--probe needs a simgen dataset" in capsys.readouterr().err
    assert main(["gap", str(root), str(VTEST), "--out", str(tmp_path / "r"), "--objects", "animals", "-q"]) == 1
    assert "unknown class group 'animals'" in capsys.readouterr().err
    assert main(["gap", str(root), str(VTEST), "--out", str(tmp_path / "r"), "--real-boxes",
                 str(tmp_path / "x.json"), "-q"]) == 1
    assert "--real-boxes needs --objects" in capsys.readouterr().err
    assert main(["probe", str(tmp_path / "p"), "-q"]) == 1
    assert "not a simgen dataset" in capsys.readouterr().err


def test_match_size_resamples_real_crops_down_to_the_synthetic_heights(tmp_path):
    """A sharp 100 px object matched to 25 px synthetic objects loses its fine detail (as a 25 px object has none);
    an object already smaller than every synthetic one is left as it is (never upsampled)."""
    import cv2

    from simgen.gap.data import ImageItem
    from simgen.gap.objects import ObjectBox, write_crops

    rng = np.random.default_rng(0)
    img = (rng.random((200, 200, 3)) * 255).astype(np.uint8)  # white noise: all detail is fine detail
    path = tmp_path / "real.png"
    cv2.imwrite(str(path), img)
    item = ImageItem(id="real.png", source=str(path))
    big, small = ObjectBox(item, (50, 50, 100, 150), "person"), ObjectBox(item, (10, 10, 20, 30), "person")

    def detail(rows, dest):
        crop = cv2.imread(str(dest / rows[0]["crop"]), cv2.IMREAD_GRAYSCALE).astype(float)
        return cv2.Laplacian(crop, cv2.CV_64F).var()

    plain = write_crops([big], tmp_path / "plain")
    matched = write_crops([big], tmp_path / "matched", match_heights=np.array([25.0]))
    assert plain[0]["resampled"] == 1.0 and matched[0]["resampled"] == 0.25
    assert detail(matched, tmp_path / "matched") < 0.5 * detail(plain, tmp_path / "plain")
    untouched = write_crops([small], tmp_path / "small", match_heights=np.array([25.0, 40.0]))
    assert untouched[0]["resampled"] == 1.0


def test_detections_cut_by_the_frame_are_left_out(tmp_path):
    """Real crops follow the synthetic rule: a detection whose box touches the image border (an object cut by the
    frame, or a false alarm on something half outside) is not cropped; boxes inside the image are."""
    import types

    import cv2

    from simgen.gap.data import discover

    (tmp_path / "real").mkdir()
    cv2.imwrite(str(tmp_path / "real" / "a.png"), np.zeros((120, 160, 3), np.uint8))
    boxes = [[40.0, 20.0, 60.0, 80.0],     # inside
             [140.0, 20.0, 160.0, 80.0],   # ends on the right edge
             [0.5, 30.0, 20.0, 90.0],      # starts on the left edge
             [70.0, 60.0, 90.0, 120.0],    # ends on the bottom edge
             [100.0, 2.0, 120.0, 60.0]]    # 2 px below the top: inside

    class Det:
        def detect(self, rgb, score_threshold=0.0):
            return types.SimpleNamespace(boxes=np.array(boxes), scores=np.full(len(boxes), 0.9),
                                         class_ids=np.zeros(len(boxes), int))

    got = ob.detector_boxes(discover(tmp_path / "real"), "people", min_box_px=30, detector=Det())
    assert [b.box for b in got] == [tuple(boxes[0]), tuple(boxes[4])]
