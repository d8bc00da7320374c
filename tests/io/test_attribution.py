"""ATTRIBUTION.md / .json at a dataset's root: the union of its sequences' credits, each with its sequences."""

from __future__ import annotations

import json

from simgen.io.attribution import write_attribution, write_sequence_credits


def _credit(i: str, **kw) -> dict:
    return {"id": i, "class": "car", "title": f"T {i}", "author": "A | B", "license": "CC0-1.0", "url": "u",
            "pack": "p", **kw}


def test_root_attribution_is_the_union_of_sequences(tmp_path):
    (tmp_path / "s1" / "0000").mkdir(parents=True)
    (tmp_path / "s2" / "0003").mkdir(parents=True)
    (tmp_path / "s3" / "0000").mkdir(parents=True)
    write_sequence_credits(tmp_path / "s1" / "0000", [_credit("x/b"), _credit("x/a")])
    write_sequence_credits(tmp_path / "s2" / "0003", [_credit("x/b")])
    write_sequence_credits(tmp_path / "s3" / "0000", [])
    recs = write_attribution(tmp_path)
    assert [r["id"] for r in recs] == ["x/a", "x/b"]
    assert recs[1]["sequences"] == ["s1/0000", "s2/0003"]
    assert json.loads((tmp_path / "ATTRIBUTION.json").read_text()) == recs
    md = (tmp_path / "ATTRIBUTION.md").read_text()
    assert "`x/a`" in md and "T x/b" in md and "A \\| B" in md and md.count("| `x/") == 2


def test_no_third_party_assets_says_so(tmp_path):
    (tmp_path / "s" / "0000").mkdir(parents=True)
    write_sequence_credits(tmp_path / "s" / "0000", [])
    assert write_attribution(tmp_path) == []
    assert "no third-party assets" in (tmp_path / "ATTRIBUTION.md").read_text()
