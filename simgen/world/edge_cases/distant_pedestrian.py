"""A person far ahead at the edge of the road, facing the camera: with fog, the pedestrian seen late."""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext, person_points, rgb_or_none
from simgen.world.edge_cases.registry import register


@register(S.DistantPedestrian, visible_as="direct")
def build(c: EdgeContext, p: S.DistantPedestrian) -> None:
    b = c.b
    mesh, mats, bounds = c.asset("distant_pedestrian", p.person_class, rgb_or_none(p.colour), animation=p.animation)
    height = float(bounds[1][2])
    C = b.view.position
    y = c.road_edge_y(float(p.kerb_offset_m))
    length = b.layout.params.length
    if not 0.0 <= c.target_x <= length:
        c.fail(f"the person at x = {c.target_x:.1f} m is off the road (the road runs from x = 0 to {length:.0f} m)")
    seen = 0
    for dx in (0.0, 1.0, -1.0, 2.0, -2.0, 4.0):
        x = c.target_x + dx
        d = C[:2] - np.array([x, y])
        start = pose_from_xyz_yaw(x, y, c.ground(x, y), math.atan2(d[1], d[0]))  # facing the camera
        if not b.view.sees(person_points(start, height)).all():
            continue
        seen += 1
        if c.try_add("distant_pedestrian", p.person_class, mesh, mats, bounds, start, visible_as="direct",
                     attrs={"animation": p.animation, "distance_to_camera_m": round(float(np.linalg.norm(d)), 2)}
                     ) is not None:
            return
    if not seen:
        c.fail(f"the person at x = {c.target_x:.1f} m, y = {y:.2f} m is outside the view of camera "
               f"'{b.cameras[0].name}' at frame 0")
    c.fail(f"no room for the person near x = {c.target_x:.1f} m (other objects stand there)")
