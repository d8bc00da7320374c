"""A pedestrian next to a puddle on the road; the camera sees the mirror image in the water."""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import (
    PUDDLE_Z,
    EdgeContext,
    ground_mirror_hits,
    person_points,
    puddle_mesh,
    rgb_or_none,
    water_material,
)
from simgen.world.edge_cases.registry import register
from simgen.world.model import Entity
from simgen.world.placement import Placed


@register(S.ReflectionPuddle, visible_as="mirror")
def build(c: EdgeContext, p: S.ReflectionPuddle) -> None:
    b = c.b
    lp = b.layout.params
    mesh, mats, bounds = c.asset("reflected_pedestrian", p.person_class, rgb_or_none(p.colour),
                                 animation=p.animation)
    height = float(bounds[1][2])
    r = float(p.puddle_radius_m)
    gap = float(p.gap_to_puddle_m)
    C = b.view.position
    W = lp.half_width
    for dx in (0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 4.0, -4.0):
        x = c.target_x + dx
        if lp.sidewalk_width >= 0.8:
            y = c.sign * (W + min(lp.curb_width, lp.sidewalk_width) + 0.35)
        else:
            y = c.sign * (W - 0.4)
        Q = np.array([x, y])
        zg = float(b.layout.ground_z(Q)[0])
        d = C[:2] - Q
        dist = float(np.linalg.norm(d))
        if dist < gap + 2 * r + 0.5:
            continue
        centre = Q + d / dist * (gap + r)
        ang = np.linspace(0, 2 * np.pi, 17)[:-1]
        poly = centre + r * np.c_[np.cos(ang), np.sin(ang)]
        poly[:, 1] = np.clip(poly[:, 1], -W + 0.05, W - 0.05)
        poly[:, 0] = np.clip(poly[:, 0], 0.05, lp.length - 0.05)
        if not b.layout.on_road(poly).all() or np.ptp(poly[:, 1]) < 0.3:
            continue
        start = pose_from_xyz_yaw(x, y, zg, math.atan2(d[1], d[0]))  # facing the camera
        pts = person_points(start, height)
        hits = ground_mirror_hits(C, pts, poly, PUDDLE_Z)
        if not hits.any():
            continue
        rect = np.array([[poly[:, 0].min(), poly[:, 1].min()], [poly[:, 0].max(), poly[:, 1].min()],
                         [poly[:, 0].max(), poly[:, 1].max()], [poly[:, 0].min(), poly[:, 1].max()]])
        fp_p = np.repeat(rect[None], b.T, 0)
        if b.placer.clear_of_all(fp_p, c.name, 0.0, ignore=("ego",)) is not None:
            continue
        obj = c.try_add("reflected_pedestrian", p.person_class, mesh, mats, bounds, start, visible_as="mirror",
                        attrs={"mirror_hits": [bool(h) for h in hits], "animation": p.animation})
        if obj is None:
            continue
        b.placer.add(Placed(f"{c.name}_puddle", c.name, np.repeat(np.eye(4)[None], b.T, 0), fp_p))
        b.extra_stuff.append(Entity(f"{c.name}_puddle", "puddle", puddle_mesh(poly, PUDDLE_Z),
                                    [water_material()], np.repeat(np.eye(4)[None], b.T, 0), 0,
                                    attributes={"edge_case": "reflecting_puddle", "edge_case_name": c.name,
                                                "polygon": poly.tolist(), "z": PUDDLE_Z, "reflected": obj.name}))
        return
    c.fail("no puddle on the road between the camera and the person shows the person's mirror image "
           "(try a larger puddle_radius_m, a smaller gap_to_puddle_m or another distance_m)")
