"""Cars placed on the "roadside" stand wholly on the verge beyond the sidewalk, never half on it."""

from __future__ import annotations

import pytest

from simgen.spec import load_scene_text, resolve
from simgen.world.build import build_world_with_layout
from simgen.world.placement import PlacementError


def _scene(buildings: str, cls: str = "car", count: int = 3) -> str:
    return f"""scene: {{name: rs}}
road: {{length_m: 60, buildings: {{detailed: false{buildings}}}}}
objects:
  - {{name: parked, class: {cls}, count: {count}, placement: {{region: roadside, side: right}}}}
frames: 1
"""


@pytest.mark.parametrize("buildings", [", setback_m: 2.5", ", sides: left"])
def test_cars_stand_beyond_the_sidewalk(buildings):
    world, layout = build_world_with_layout(resolve(load_scene_text(_scene(buildings)), 0), 64, 48)
    p = layout.params
    outer = p.half_width + p.sidewalk_width  # |y| of the sidewalk's outer edge
    facades = [f.y for f in layout.params.facades or () if f.side == "right"]
    cars = [e for e in world.entities if e.attributes.get("group") == "parked"]
    assert len(cars) == 3
    for e in cars:
        v = e.mesh.vertices @ e.poses[0][:3, :3].T + e.poses[0][:3, 3]
        assert v[:, 1].max() <= -outer + 1e-6, (e.name, v[:, 1].max(), -outer)  # clear of the sidewalk
        if facades:
            assert v[:, 1].min() >= facades[0] - 1e-6  # and in front of the building
        assert abs(e.poses[0][2, 3]) < 1e-9  # at road level, not on the curb


def test_cars_are_refused_where_buildings_stand_flush_and_bicycles_are_not():
    with pytest.raises(PlacementError, match=r"furniture strip \(0\.8 m wide"):
        build_world_with_layout(resolve(load_scene_text(_scene("")), 0), 64, 48)
    with pytest.raises(PlacementError, match=r"1\.0 m wide; the object is 1\.\d m across"):
        build_world_with_layout(resolve(load_scene_text(_scene(", setback_m: 1.0")), 0), 64, 48)
    world, _ = build_world_with_layout(resolve(load_scene_text(_scene("", "bicycle", 2)), 0), 64, 48)
    assert sum(e.attributes.get("group") == "parked" for e in world.entities) == 2
