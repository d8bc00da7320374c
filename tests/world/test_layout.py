"""Road layouts: stuff geometry where the conventions say, and regions that agree with it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from simgen.errors import SimgenError
from simgen.world.layout import MARKING_Z, LayoutError, RoadParams, build_layout

LAYOUTS = ["straight", "t_junction", "intersection_4way"]


def _layout(kind, **kw):
    p = RoadParams(layout=kind, length=120.0, lanes_per_direction=2, lane_width=3.25, parking_lane=True,
                   sidewalk_width=3.0, crosswalks=((30.0, 4.0, 0.5),), junction_x=60.0, **kw)
    return build_layout(p, np.random.default_rng(0))


def _parts(layout, cls):
    return [p for p in layout.parts if p.class_name == cls]


def _verts(parts):
    return np.concatenate([p.mesh.vertices for p in parts])


@pytest.fixture(scope="module", params=LAYOUTS)
def layout(request):
    return _layout(request.param)


def test_stuff_classes_and_one_object_each(layout):
    classes = {p.class_name for p in layout.parts}
    assert {"road", "lane_marking", "crosswalk", "curb", "sidewalk", "building", "window", "terrain"} <= classes
    names = [p.name for p in layout.parts]
    assert len(names) == len(set(names))
    ents = layout.entities(3)
    assert all(e.instance_id == 0 and e.poses.shape == (3, 4, 4) for e in ents)
    road = _parts(layout, "road")[0]
    assert road.materials[0].texture == "asphalt"
    assert all(p.materials[0].texture == "brick" for p in _parts(layout, "building"))


def test_road_surface_is_z0_and_markings_5mm_above(layout):
    road = _parts(layout, "road")[0]
    assert np.all(road.mesh.vertices[:, 2] == 0.0)
    mv = _verts(_parts(layout, "lane_marking") + _parts(layout, "crosswalk"))
    assert np.allclose(mv[:, 2], MARKING_Z)
    assert layout.on_road(mv[:, :2], slack=1e-6).all(), "markings lie on the road"
    # upward facing
    for p in _parts(layout, "lane_marking") + _parts(layout, "road"):
        v, f = p.mesh.vertices, p.mesh.faces
        n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        assert np.all(n[:, 2] > 0)


def test_closed_boxes_for_curbs_sidewalks_buildings_windows(layout):
    for cls in ("curb", "sidewalk", "building", "window"):
        for p in _parts(layout, cls):
            # boxes may touch each other: check each box as its own closed mesh
            tm = trimesh.Trimesh(p.mesh.vertices, p.mesh.faces, process=False)
            assert tm.is_watertight and tm.volume > 0, p.name
    for p in _parts(layout, "sidewalk"):
        assert p.mesh.vertices[:, 2].max() == pytest.approx(layout.params.curb_height)


def test_windows_are_thick_reflective_glass_facing_the_street(layout):
    assert layout.windows
    for w in layout.windows:
        part = [p for p in layout.parts if p.name == w.name][0]
        m = part.materials[0]
        assert m.transmission == 1.0 and m.reflective
        lo, hi = part.mesh.bounds()
        assert (hi - lo)[1] == pytest.approx(layout.params.window_thickness)
        # the outer face is the one nearer the road centre; normal points to the street
        assert abs(w.center[1]) == pytest.approx(min(abs(lo[1]), abs(hi[1])))
        assert np.sign(w.normal[1]) == -np.sign(w.center[1])
        assert w.corners()[:, 2].min() == pytest.approx(layout.params.curb_height + layout.params.window_sill)


def test_lane_regions_follow_traffic_rules(layout):
    lanes = layout.regions_of("lane")
    onc = layout.regions_of("oncoming_lane")
    assert len(lanes) == len(onc) == 2
    for r in lanes:
        assert r.center[1] < 0 and r.heading_rad == 0.0
    for r in onc:
        assert r.center[1] > 0 and math.cos(r.heading_rad) == pytest.approx(-1)
    assert [r.lane_index for r in sorted(lanes, key=lambda r: -r.center[1])] == [0, 1]
    for r in lanes + onc + layout.regions_of("parking") + layout.regions_of("crosswalk"):
        assert layout.on_road(r.corners(), slack=1e-6).all(), r.name
    p = layout.params
    assert max(abs(r.center[1]) + r.width / 2 for r in layout.regions_of("parking")) == pytest.approx(p.half_width)


def test_sidewalk_and_window_regions_are_on_the_sidewalk(layout):
    walks = _parts(layout, "sidewalk")
    boxes = []
    for part in walks:
        v = part.mesh.vertices.reshape(-1, 8, 3)
        boxes += [(b[:, 0].min(), b[:, 0].max(), b[:, 1].min(), b[:, 1].max()) for b in v]

    def on_walk(pts):
        return np.array([any(x0 - 1e-6 <= x <= x1 + 1e-6 and y0 - 1e-6 <= y <= y1 + 1e-6
                             for x0, x1, y0, y1 in boxes) for x, y in pts])

    for r in layout.regions_of("sidewalk") + layout.regions_of("shop_window"):
        assert on_walk(r.corners()).all(), r.name
        assert r.z == pytest.approx(layout.params.curb_height)
        assert layout.ground_z(np.array([r.center]))[0] == pytest.approx(layout.params.curb_height)
    for r in layout.regions_of("shop_window"):
        w = [w for w in layout.windows if w.name == r.window][0]
        to_window = np.array(w.center[:2]) - np.array(r.center)
        assert np.dot(to_window, r.axes[0]) > 0, "the region's heading faces its window"
        assert not layout.on_road(r.corners()).any()


def test_regions_keep_off_buildings(layout):
    bboxes = [p.mesh.bounds() for p in _parts(layout, "building")]
    for r in layout.regions:
        for lo, hi in bboxes:
            c = r.corners()
            inside = (c[:, 0] > lo[0] + 1e-6) & (c[:, 0] < hi[0] - 1e-6) & (c[:, 1] > lo[1] + 1e-6) & (
                c[:, 1] < hi[1] - 1e-6)
            assert not inside.any(), r.name


def test_crosswalk_stripes_inside_crosswalk_region(layout):
    cw = layout.regions_of("crosswalk")
    assert len(cw) == 1
    v = _verts(_parts(layout, "crosswalk"))[:, :2]
    assert cw[0].contains(v, slack=1e-6).all()
    # nobody parks on the crossing
    x0, x1 = cw[0].center[0] - cw[0].width / 2, cw[0].center[0] + cw[0].width / 2
    for r in layout.regions_of("parking"):
        c = r.corners()
        assert c[:, 0].max() <= x0 or c[:, 0].min() >= x1, r.name


def test_junction_arms():
    t = _layout("t_junction")
    x = _layout("intersection_4way")
    s = _layout("straight")
    assert len(s.road_surface) == 1 and len(t.road_surface) == 2 and len(x.road_surface) == 3
    assert t.on_road(np.array([[60.0, 20.0]]))[0] and not t.on_road(np.array([[60.0, -20.0]]))[0]
    assert x.on_road(np.array([[60.0, 20.0], [60.0, -20.0]])).all()
    assert not s.on_road(np.array([[60.0, 20.0]]))[0]


def test_roadside_verge_or_furniture_strip():
    flush = _layout("straight")
    for r in flush.regions_of("roadside"):
        assert r.z == pytest.approx(flush.params.curb_height)  # curb-side strip of the sidewalk
    open_ = build_layout(RoadParams(layout="straight", facades=[]), np.random.default_rng(0))
    rs = open_.regions_of("roadside")
    assert {r.side for r in rs} == {"left", "right"}
    for r in rs:
        assert abs(r.center[1]) - r.width / 2 == pytest.approx(open_.params.half_width + open_.params.sidewalk_width)


@pytest.mark.parametrize("kw", [{"layout": "roundabout"}, {"lanes_per_direction": 0},
                                {"layout": "t_junction", "junction_x": 2.0}])
def test_bad_parameters(kw):
    with pytest.raises(LayoutError) as e:
        build_layout(RoadParams(**kw), np.random.default_rng(0))
    assert isinstance(e.value, SimgenError)
