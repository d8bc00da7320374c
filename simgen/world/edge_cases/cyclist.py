"""A cyclist riding ahead with the traffic of one side, near the outer edge of the traffic lanes."""

from __future__ import annotations

import math

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext, rgb_or_none
from simgen.world.edge_cases.registry import register


@register(S.Cyclist, visible_as="direct")
def build(c: EdgeContext, p: S.Cyclist) -> None:
    b = c.b
    lp = b.layout.params
    mesh, mats, bounds = c.asset("cyclist", "cyclist", rgb_or_none(p.colour), animation="cycling")
    # the outer edge of the traffic lanes: the kerb, or the parking lane's inner edge
    lanes_edge = lp.half_width - (lp.lane_width if lp.parking_lane else 0.0)
    y = c.sign * (lanes_edge - float(p.kerb_offset_m))
    yaw = 0.0 if c.sign < 0 else math.pi  # with the side's traffic
    for dx in (0.0, 2.0, -2.0, 4.0, 6.0, -4.0):
        x = c.target_x + dx
        start = pose_from_xyz_yaw(x, y, c.ground(x, y), yaw)
        if not c.b.view.sees(start[:3, 3][None] + [0.0, 0.0, 1.0])[0]:
            continue
        if c.try_add("cyclist", "cyclist", mesh, mats, bounds, start, "constant_velocity", float(p.speed_mps),
                     attrs={"animation": "cycling", "speed_mps": float(p.speed_mps)}, visible_as="direct") is not None:
            return
    c.fail(f"no free spot in view for the cyclist near x = {c.target_x:.1f} m, y = {y:.2f} m")
