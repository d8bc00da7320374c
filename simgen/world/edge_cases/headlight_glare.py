"""An oncoming vehicle with bright headlights shining into the camera (lit whatever the scene's headlights)."""

from __future__ import annotations

import math

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext
from simgen.world.edge_cases.registry import register


@register(S.HeadlightGlare, visible_as="direct")
def build(c: EdgeContext, p: S.HeadlightGlare) -> None:
    lp = c.b.layout.params
    cls = p.vehicle_class
    mesh, mats, bounds = c.asset("glare_vehicle", cls)
    y = 0.5 * lp.lane_width  # innermost oncoming lane
    for dx in (0.0, 3.0, -3.0, 6.0, 9.0, 12.0):
        start = pose_from_xyz_yaw(c.target_x + dx, y, 0.0, math.pi)
        obj = c.try_add("glare_vehicle", cls, mesh, mats, bounds, start, "constant_velocity", float(p.speed_mps),
                        attrs={"headlight_power_w": float(p.power_w), "high_beam": bool(p.high_beam)},
                        visible_as="direct")
        if obj is not None:
            return
    c.fail(f"the oncoming lane is blocked near x = {c.target_x:.1f} m (distance_m)")
