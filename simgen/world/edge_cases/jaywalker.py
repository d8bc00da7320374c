"""A person stepping onto the road, mid-block, from the gap between two parked cars."""

from __future__ import annotations

import math

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext
from simgen.world.edge_cases.registry import register


@register(S.Jaywalker, visible_as="direct")
def build(c: EdgeContext, p: S.Jaywalker) -> None:
    lp = c.b.layout.params
    gap = float(p.gap_m)
    x_gap = c.target_x
    if p.between_parked_cars:
        rear, front = c.asset("parked_rear", "car"), c.asset("parked_front", "car")
        (rlo, rhi), (flo, fhi) = rear[2][:2], front[2][:2]
        if c.sign < 0:  # facing +x: world x extent = x + [lo, hi]
            xr, xf = x_gap - gap / 2 - rhi[0], x_gap + gap / 2 - flo[0]
        else:  # facing -x: world x extent = x - [hi, lo]
            xr, xf = x_gap - gap / 2 + rlo[0], x_gap + gap / 2 + fhi[0]
        c.parked("parked_rear", "car", float(xr), asset=rear)
        c.parked("parked_front", "car", float(xf), asset=front)
    angle = math.radians(float(p.crossing_angle_deg))
    yaw = angle if c.sign < 0 else -angle  # right side walks towards +y, left side towards -y
    y = c.sign * (lp.half_width - 0.45)
    mesh, mats, bounds = c.asset("jaywalker", p.person_class, animation=p.animation)
    start = pose_from_xyz_yaw(x_gap, y, 0.0, yaw)
    if c.try_add("jaywalker", p.person_class, mesh, mats, bounds, start, "constant_velocity", float(p.speed_mps),
                 float(p.start_time_s), attrs={"animation": p.animation}, visible_as="direct") is None:
        c.fail(f"no room for the person at x = {x_gap:.1f} m (another object stands there)")
