"""NanoDet-m on torch CPU (simgen.gap.nanodet): real people in a real frame, the GFL decoding, NMS, missing weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simgen.gap import nanodet as nd
from tests.conftest import vtest_frame

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def _weights_or_skip() -> nd.NanoDet:
    try:
        return nd.get_detector()
    except nd.DetectorError as err:
        pytest.skip(str(err))


_vtest_frame = vtest_frame


def test_finds_people_and_vehicles_in_a_real_frame():
    det = _weights_or_skip()
    rgb = _vtest_frame(99)
    d = det.detect(rgb, score_threshold=0.3)
    names = d.names()
    people = d.select(d.class_ids == 0)
    assert (people.scores > 0.3).sum() >= 5, list(zip(names, d.scores))
    assert people.scores.max() > 0.6
    # the parked van/car at the top right of the frame (x > 640, y < 110)
    veh = d.select(np.isin(d.class_ids, [2, 5, 7]))
    assert any(b[0] > 600 and b[3] < 120 for b in veh.boxes), list(zip(names, d.boxes))
    # boxes are in original pixels, inside the image, and people are upright (taller than wide)
    h, w = rgb.shape[:2]
    assert (d.boxes[:, 0] >= 0).all() and (d.boxes[:, 2] <= w).all() and (d.boxes[:, 3] <= h).all()
    ph = people.boxes[:, 3] - people.boxes[:, 1]
    pw = people.boxes[:, 2] - people.boxes[:, 0]
    assert np.median(ph / pw) > 1.5
    # a person near (357, 235) in frame 99: one box must hold that point tightly
    assert any(b[0] < 357 < b[2] and b[1] < 235 < b[3] and 40 < b[3] - b[1] < 110 for b in people.boxes)
    assert list(d.scores) == sorted(d.scores, reverse=True)


def test_blank_image_has_no_confident_detection():
    det = _weights_or_skip()
    d = det.detect(np.full((240, 320, 3), 128, np.uint8), score_threshold=0.3)
    assert len(d) == 0


def test_missing_weights_name_the_setup_step(tmp_path):
    with pytest.raises(nd.DetectorError, match=r"nanodet\.json.*setup\.sh"):
        nd.NanoDet(tmp_path)
    (tmp_path / "nanodet.json").write_text("{not json")
    (tmp_path / "nanodet.bin").write_bytes(b"")
    with pytest.raises(nd.DetectorError, match="setup.sh"):
        nd.NanoDet(tmp_path)


def test_missing_weights_via_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMGEN_DATA_DIR", str(tmp_path))
    with pytest.raises(nd.DetectorError, match=str(tmp_path / "nanodet")):
        nd.NanoDet()


def test_gfl_decoding_puts_a_peaked_box_where_its_bins_say():
    n = [(nd.INPUT_SIZE // s) ** 2 for s in nd.STRIDES]
    cls = [np.zeros((k, 80), np.float32) for k in n]
    reg = [np.full((k, 44), -50.0, np.float32) for k in n]
    for r in reg:
        r[:, 0::11] = 50.0  # all sides at bin 0
    # stride 16 grid is 26 wide: anchor (col 5, row 3), centre (88, 56); left 2 bins, top 3, right 4, bottom 10
    a = 3 * 26 + 5
    reg[1][a] = -50.0
    for side, b in enumerate((2, 3, 4, 10)):
        reg[1][a, side * 11 + b] = 50.0
    cls[1][a, 7] = 0.9
    boxes, scores = nd.decode_gfl(cls, reg)
    i = int(np.argmax(scores[:, 7]))
    np.testing.assert_allclose(boxes[i], [88 - 32, 56 - 48, 88 + 64, 56 + 160], atol=1e-3)
    # an even split between bins 1 and 2 gives 1.5 bins
    reg[0][0] = -50.0
    reg[0][0, [1, 2, 12, 13, 23, 24, 34, 35]] = 50.0
    boxes, _ = nd.decode_gfl(cls, reg)
    np.testing.assert_allclose(boxes[0], [4 - 12, 4 - 12, 4 + 12, 4 + 12], atol=1e-3)


def test_nms_is_per_class():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    cls = np.array([0, 0, 2, 0])
    keep = nd.nms(boxes, scores, cls, 0.5)
    assert keep.tolist() == [0, 2, 3]
