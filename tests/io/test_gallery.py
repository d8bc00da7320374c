"""index.html of a dataset: a card per sequence with its preview, built from the manifest."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np

from simgen.io import DatasetWriter, formats
from simgen.io.gallery import write_index
from tests.io.test_dataset import _labels, _rgb, _world


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.headings, self.text, self._in_h2 = [], [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h2:
            self.headings.append(data)

    def handle_endtag(self, tag):
        self._in_h2 = False


def _sequence(w, scene, variant, labels, knobs):
    d = w.begin_sequence(scene, variant, cameras=["cam"])
    formats.write_rgb(d / "preview.png", np.zeros((4, 6, 3), np.uint8))
    for t, lab in enumerate(labels):
        w.write_frame(lab, _rgb(t), scene=scene, variant=variant, seed=7, tags=["night", "a<b"], knobs=knobs)


def test_index_shows_every_sequence_with_its_preview_and_knobs(tmp_path):
    labels = _labels(_world())
    w = DatasetWriter(tmp_path)
    _sequence(w, "street", 0, labels, {"scene": "street", "fog_density": 0.05, "sweep.weather": "rain & fog"})
    _sequence(w, "street", 3, labels[:2], {"time_of_day": "22:30"})
    page = _Page()
    page.feed(write_index(tmp_path).read_text())
    assert page.headings == ["street / 0", "street / 3"]
    assert page.images == ["street/0000/preview.png", "street/0003/preview.png"]
    assert all((tmp_path / src).is_file() for src in page.images)
    text = "".join(page.text)
    assert "2 sequence(s), 5 image(s)" in text and "3 frame(s)" in text and "2 frame(s)" in text
    # values are shown, and escaped: tags and knobs cannot inject markup
    assert "rain & fog" in text and "a<b" in text and "0.05" in text and "22:30" in text
    assert "<b" not in write_index(tmp_path).read_text().replace("<body", "")


def test_index_of_an_empty_or_torn_manifest(tmp_path):
    DatasetWriter(tmp_path)
    assert "No sequences yet" in write_index(tmp_path).read_text()
    (tmp_path / "manifest.jsonl").write_text('{"scene": "s", "variant": 0, "files": {}}\n{"scene": "s", "var')
    page = _Page()
    page.feed(write_index(tmp_path).read_text())
    assert page.headings == ["s / 0"] and "(no preview)" in "".join(page.text)
