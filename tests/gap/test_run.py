"""Pipeline pieces: slicing by manifest knobs/tags, ranking, option parsing, and run_gap on small real inputs."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.gap import slices as sl
from simgen.gap.run import parse_backbones, parse_reencode


def _by_label(slices):
    return {s.label: s.indices.tolist() for s in slices}


def test_group_by_scalar_knob_tags_and_nested():
    metas = [
        {"weather": "fog", "tags": ["night", "rain"], "knobs": {"time_of_day": "dusk"}},
        {"weather": "clear", "tags": ["night"], "knobs": {"time_of_day": "noon"}},
        {"weather": "fog", "tags": [], "knobs": {"time_of_day": "noon"}},
        {"tags": ["rain"]},  # no weather knob: in no weather slice
        None,
    ]
    slices, notes = sl.group_slices(metas, ["weather", "tag", "time_of_day", "sun"])
    got = _by_label(slices)
    assert got == {
        "weather=clear": [1], "weather=fog": [0, 2],
        "tag=night": [0, 1], "tag=rain": [0, 3],
        "time_of_day=dusk": [0], "time_of_day=noon": [1, 2],
    }
    assert len(notes) == 1 and "'sun'" in notes[0]


def test_dict_knob_expands_and_numeric_knob_is_binned():
    rng = np.random.default_rng(0)
    dens = rng.uniform(0, 1, 40)
    metas = [{"weather": {"kind": "fog" if i % 2 else "rain", "density": float(d)}} for i, d in enumerate(dens)]
    slices, _ = sl.group_slices(metas, ["weather"])
    kinds = {s.value: s.n for s in slices if s.key == "weather.kind"}
    assert kinds == {"fog": 20, "rain": 20}
    bins = [s for s in slices if s.key == "weather.density"]
    assert len(bins) == sl.NUMERIC_BINS
    # quantile bins partition the items, each about a quarter of them, and respect their edges
    all_idx = np.concatenate([b.indices for b in bins])
    assert sorted(all_idx.tolist()) == list(range(40))
    for b in bins:
        assert 8 <= b.n <= 12
        lo, hi = (float(x) for x in b.value.strip("[]()").split(","))
        assert np.all(dens[b.indices] >= lo - 1e-3) and np.all(dens[b.indices] <= hi + 1e-3)
    # few distinct numeric levels are kept as exact values
    few, _ = sl.group_slices([{"fog": v} for v in (0, 0.5, 0.5, 1)], ["fog"])
    assert _by_label(few) == {"fog=0": [0], "fog=0.5": [1, 2], "fog=1": [3]}


def test_dotted_key_and_bool_values():
    metas = [{"weather": {"rain": True}}, {"weather": {"rain": False}}, {"weather": {"rain": True}}]
    slices, _ = sl.group_slices(metas, ["weather.rain"])
    assert _by_label(slices) == {"weather.rain=false": [1], "weather.rain=true": [0, 2]}


def test_sweep_knobs_with_dots_in_their_names_slice():
    # simgen manifests store sweep levels flat under knobs, as "sweep.<path>"
    metas = [{"knobs": {"sweep.weather": w, "sweep.lighting.time_of_day": t}} for w, t in
             (("rain", "08:00"), ("clear", "08:00"), ("rain", "22:30"))]
    slices, _ = sl.group_slices(metas, ["sweep.weather", "sweep.lighting.time_of_day"])
    assert _by_label(slices) == {"sweep.weather=clear": [1], "sweep.weather=rain": [0, 2],
                                 "sweep.lighting.time_of_day=08:00": [0, 1],
                                 "sweep.lighting.time_of_day=22:30": [2]}
    assert sl.lookup({"a": {"b": {"c": 1}}}, "a.b.c") == 1 and sl.lookup({"a": 1}, "a.b") is None


def test_rank_slices_furthest_first_skips_skipped():
    def mk(v, ratio, skipped=False):
        s = sl.Slice("k", v, np.arange(3), skipped=skipped)
        s.metrics = [{"name": "fd", "ratio": ratio}]
        return s

    ranked = sl.rank_slices([mk("a", 1.2), mk("b", 5.0), mk("c", 9.0, skipped=True), mk("d", None), mk("e", 2.0)],
                            "fd")
    assert [r["value"] for r in ranked] == ["b", "e", "a"]


def test_parse_options():
    assert parse_backbones(None) == ["mobilenet_v2"]
    assert parse_backbones(["mobilenet_v2,lowlevel", "inception", "lowlevel"]) == ["mobilenet_v2", "lowlevel",
                                                                                   "inception"]
    assert sl.parse_slice_keys("weather, time_of_day,,tag") == ["weather", "time_of_day", "tag"]
    assert parse_reencode("jpeg:90") == ("jpeg", 90)
    assert parse_reencode("JPG") == ("jpeg", 90)
    assert parse_reencode(None) is None and parse_reencode("none") is None
    for bad in ("png:3", "webp:80", "jpeg:x", "jpeg:0", "jpeg:101"):
        with pytest.raises(SimgenError, match="reencode"):
            parse_reencode(bad)


def test_span_projection_keeps_fd_exactly():
    from simgen.gap import metrics as M
    from simgen.gap.run import span_projection

    rng = np.random.default_rng(3)
    d = 300
    a = rng.normal(size=(40, d)) @ rng.normal(size=(d, d)) * 0.1 + 2.0
    b = rng.normal(size=(50, d)) + rng.normal(size=d)
    pa, pb = span_projection(a, b)
    assert pa.shape == (40, 90) and pb.shape == (50, 90)
    full = M.fd(a, b)
    assert abs(M.fd(pa, pb) - full) <= 1e-8 * full
    # any subsample pair keeps its FD too (compare subsamples the projected rows)
    ia, ib = rng.choice(40, 20, replace=False), rng.choice(50, 20, replace=False)
    assert abs(M.fd(pa[ia], pb[ib]) - M.fd(a[ia], b[ib])) <= 1e-8 * M.fd(a[ia], b[ib])
    # distances are preserved as well
    assert np.allclose(np.linalg.norm(pa[0] - pb[0]), np.linalg.norm(a[0] - b[0]))
    # no gain when there are more rows than features
    assert span_projection(rng.normal(size=(20, 5)), rng.normal(size=(3, 5))) is None


def test_subsample_is_seeded_without_replacement_and_keeps_order():
    from simgen.gap.run import _subsample

    items = list(range(100))
    a = _subsample(items, 30, np.random.default_rng(0))
    b = _subsample(items, 30, np.random.default_rng(0))
    c = _subsample(items, 30, np.random.default_rng(1))
    assert a == b and a != c
    assert len(set(a)) == 30 and a == sorted(a)
    assert _subsample(items, None, np.random.default_rng(0)) == items
    assert _subsample(items, 200, np.random.default_rng(0)) == items


def test_parse_metrics():
    from simgen.gap.run import DEFAULT_METRICS, parse_metrics

    assert parse_metrics(None) == list(DEFAULT_METRICS)
    assert parse_metrics("kid,classifier") == ["fd", "kid", "classifier"]  # fd always ranks the slices
    with pytest.raises(SimgenError, match="'auc'"):
        parse_metrics("fd,auc")
