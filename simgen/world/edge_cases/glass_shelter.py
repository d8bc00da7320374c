"""A person waiting inside a glass bus shelter on the sidewalk, seen through the shelter's near side pane.

The shelter (posts, roof, a back pane and two side panes; open towards the road) is scenery of class
``building`` (Cityscapes counts bus shelters as buildings). Its panes are clear glass that does not count as a
mirror, so the person behind them is labelled as seen through glass (the ``glass`` channel of the reflection
labels), never as a reflection.
"""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.assets import _Builder
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext, person_points, rgb_or_none
from simgen.world.edge_cases.registry import register
from simgen.world.model import Entity, Material
from simgen.world.placement import Placed, ray_hits_rectangle

#: shelter dimensions (m): roof height, post and roof thickness, pane thickness, pane bottom above the ground
ROOF_Z, POST, ROOF_T, PANE_T, PANE_Z0 = 2.4, 0.08, 0.08, 0.012, 0.08


def shelter_glass() -> Material:
    """Clear glass of the shelter's panes (see-through; not a mirror for the labels)."""
    return Material("shelter_glass", base_color=(0.92, 0.95, 0.97), roughness=0.0, transmission=1.0, ior=1.5)


def shelter_mesh(x0: float, x1: float, y_front: float, y_back: float, z: float):
    """(mesh, materials, side panes) of a shelter between x0 < x1 and y_front (road side) .. y_back, standing on
    height z. Side panes: [(corner (3,), edge u (3,), edge v (3,))] of the near (x0) and far (x1) panes."""
    b = _Builder()
    ylo, yhi = min(y_front, y_back), max(y_front, y_back)
    for x in (x0, x1 - POST):
        for y in (ylo, yhi - POST):
            b.box(x, x + POST, y, y + POST, z, z + ROOF_Z, 0)
    b.box(x0 - 0.1, x1 + 0.1, ylo - 0.15, yhi + 0.1, z + ROOF_Z, z + ROOF_Z + ROOF_T, 0)
    yb = y_back - np.sign(y_back - y_front) * POST / 2  # back pane, between the back posts
    b.box(x0 + POST, x1 - POST, yb - PANE_T / 2, yb + PANE_T / 2, z + PANE_Z0, z + ROOF_Z - 0.05, 1)
    panes = []
    for x in (x0 + POST / 2, x1 - POST / 2):
        b.box(x - PANE_T / 2, x + PANE_T / 2, ylo + POST, yhi - POST, z + PANE_Z0, z + ROOF_Z - 0.05, 1)
        panes.append((np.array([x, ylo + POST, z + PANE_Z0]), np.array([0.0, yhi - ylo - 2 * POST, 0.0]),
                      np.array([0.0, 0.0, ROOF_Z - 0.05 - PANE_Z0])))
    frame = Material("shelter_frame", base_color=(0.25, 0.27, 0.3), roughness=0.4, metallic=0.8)
    return b.mesh(), [frame, shelter_glass()], panes


@register(S.BehindGlassShelter, visible_as="glass")
def build(c: EdgeContext, p: S.BehindGlassShelter) -> None:
    b = c.b
    lp = b.layout.params
    L, D = float(p.shelter_length_m), float(p.shelter_depth_m)
    inner = lp.half_width + min(lp.curb_width, lp.sidewalk_width) + 0.4
    if inner + D > lp.half_width + lp.sidewalk_width - 0.1:
        c.fail(f"a shelter {D:.1f} m deep does not fit on the {lp.sidewalk_width:.1f} m sidewalk (it needs "
               f"{inner + D + 0.1 - lp.half_width:.1f} m)")
    mesh, mats, bounds = c.asset("person_behind_glass", p.person_class, rgb_or_none(p.colour), animation=p.animation)
    height = float(bounds[1][2])
    C = b.view.position
    y_front, y_back = c.sign * inner, c.sign * (inner + D)
    best = None
    for dx in (0.0, -2.0, 2.0, -4.0, 4.0):
        x0 = c.target_x + dx
        if x0 - 0.2 <= float(C[0]):
            continue
        z = c.ground(x0 + L / 2, (y_front + y_back) / 2)
        rect = np.array([[x0 - 0.1, min(y_front, y_back) - 0.15], [x0 + L + 0.1, min(y_front, y_back) - 0.15],
                         [x0 + L + 0.1, max(y_front, y_back) + 0.1], [x0 - 0.1, max(y_front, y_back) + 0.1]])
        fp = np.repeat(rect[None], b.T, 0)
        if b.placer.clear_of_all(fp, c.name, 0.0, ignore=("ego",)) is not None:
            continue
        smesh, smats, panes = shelter_mesh(x0, x0 + L, y_front, y_back, z)
        corner, u, v = panes[0]
        # the person inside, near the near side pane: as many points of them as possible seen through it
        for px in (0.45, 0.6, 0.8, 1.0):
            for fy in (0.55, 0.35, 0.75):
                x, y = x0 + px, y_front + fy * (y_back - y_front)
                d = C[:2] - np.array([x, y])
                start = pose_from_xyz_yaw(x, y, z, math.atan2(d[1], d[0]))
                pts = person_points(start, height)
                side = pts + np.array([0.0, 0.2, 0.0]), pts - np.array([0.0, 0.2, 0.0])
                through = np.concatenate([ray_hits_rectangle(C, q, corner, u, v) for q in (pts, *side)])
                if not b.view.sees(pts[2:4]).all():
                    continue
                score = (-int(through.sum()), abs(dx), px)
                if best is None or score < best[0]:
                    best = (score, start, x0, fp, smesh, smats, int(through.sum()))
        if best is not None and best[0][0] <= -8:
            break
    if best is None or best[0][0] > -3:
        c.fail(f"no shelter near x = {c.target_x:.1f} m on the {c.side} sidewalk lets the camera see a person "
               "through its side pane (try another distance_m or side)")
    _, start, x0, fp, smesh, smats, n = best
    if c.try_add("person_behind_glass", p.person_class, mesh, mats, bounds, start, visible_as="glass",
                 attrs={"animation": p.animation, "shelter": f"{c.name}_shelter", "points_through_glass": n}) is None:
        c.fail(f"no room for the person inside the shelter at x = {x0:.1f} m")
    b.placer.add(Placed(f"{c.name}_shelter", f"{c.name}_shelter", np.repeat(np.eye(4)[None], b.T, 0), fp))
    b.extra_stuff.append(Entity(f"{c.name}_shelter", "building", smesh, smats, np.repeat(np.eye(4)[None], b.T, 0), 0,
                                attributes={"edge_case": "glass_shelter", "edge_case_name": c.name,
                                            "edge_case_kind": c.kind}))
