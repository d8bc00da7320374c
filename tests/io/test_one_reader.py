"""Every part of simgen reads manifest.jsonl through simgen.io (iter_manifest / DatasetReader)."""

from __future__ import annotations

import json
import re
import warnings

import pytest

from simgen.io.dataset import DatasetError, iter_manifest
from tests.conftest import REPO


def _row(scene, variant, frame):
    return json.dumps({"sample_id": f"{scene}/{variant:04d}/{frame:06d}", "scene": scene, "variant": variant,
                       "camera": "cam", "frame": frame, "files": {"rgb": f"{scene}/{variant:04d}/{frame:06d}.rgb.png"}},
                      separators=(",", ":"))


def test_iter_manifest_names_file_and_line_and_skips_a_torn_last_line(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text(_row("a", 0, 0) + "\n\n{oops\n" + _row("a", 0, 1) + "\n" + '{"scene": "a", "var')
    with pytest.raises(DatasetError, match=re.escape(f"{path}:3: not valid JSON")) as err:
        list(iter_manifest(path))
    assert err.value.line == 3
    errors = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = list(iter_manifest(path, errors))
    assert [n for n, _ in rows] == [1, 4] and [e.line for e in errors] == [3]
    assert any("truncated last line" in str(w.message) for w in caught)
    assert list(iter_manifest(tmp_path / "absent.jsonl")) == []


def test_no_module_outside_simgen_io_parses_the_manifest():
    """A module that decodes JSON line by line outside simgen.io is a second manifest parser."""
    offenders = []
    for path in (REPO / "simgen").rglob("*.py"):
        if (REPO / "simgen" / "io") in path.parents:
            continue
        text = path.read_text()
        if "manifest" in text and re.search(r"json\.loads\((line|ln|raw|l)\b", text):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
