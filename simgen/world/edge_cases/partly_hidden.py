"""A person on the sidewalk partly hidden by a pole or a sign post standing in the line of sight."""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw, project
from simgen.world.edge_cases.base import EdgeContext, box_corners, rgb_or_none
from simgen.world.edge_cases.registry import register


def _hidden_share(c: EdgeContext, person_box, occluder_box) -> float:
    """Share of the person's projected box covered by the occluder's projected box (a rough estimate)."""
    (uv_p, _), (uv_o, _) = (project(x, c.b.K, c.b.view.world_from_camera) for x in (person_box, occluder_box))
    pb = uv_p.min(0), uv_p.max(0)
    ob = uv_o.min(0), uv_o.max(0)
    inter = np.clip(np.minimum(pb[1], ob[1]) - np.maximum(pb[0], ob[0]), 0, None)
    return float(inter.prod() / max(1e-9, (pb[1] - pb[0]).prod()))


@register(S.PartlyHiddenPerson, visible_as="direct")
def build(c: EdgeContext, p: S.PartlyHiddenPerson) -> None:
    b = c.b
    lp = b.layout.params
    if lp.sidewalk_width < 1.2:
        c.fail(f"the sidewalk is {lp.sidewalk_width:.1f} m wide; a person behind a {p.occluder_class} needs 1.2 m")
    mesh, mats, bounds = c.asset("partly_hidden_person", p.person_class, rgb_or_none(p.colour),
                                 animation=p.animation)
    omesh, omats, obounds = c.asset("occluder", p.occluder_class)
    C = b.view.position
    inner = lp.half_width + min(lp.curb_width, lp.sidewalk_width) + 0.3  # clear of the kerb stones
    outer = lp.half_width + lp.sidewalk_width - 0.3
    for dx in (0.0, 1.5, -1.5, 3.0, -3.0):
        for frac in (0.7, 0.5, 0.9):
            x, y = c.target_x + dx, c.sign * (inner + frac * (outer - inner))
            d = C[:2] - np.array([x, y])
            dist = float(np.linalg.norm(d))
            g = float(p.occluder_gap_m)
            if dist <= g + 1.0:
                continue
            ox, oy = np.array([x, y]) + d / dist * g  # on the line of sight, g metres nearer the camera
            if not inner - 0.2 <= abs(oy) <= outer + 0.2 or np.sign(oy) != c.sign:
                continue
            start = pose_from_xyz_yaw(x, y, c.ground(x, y), math.atan2(d[1], d[0]))  # facing the camera
            if not b.view.sees(start[:3, 3][None] + [0.0, 0.0, bounds[1][2] / 2])[0]:
                continue
            ostart = pose_from_xyz_yaw(ox, oy, c.ground(ox, oy), math.atan2(d[1], d[0]))  # plate faces the camera
            if not (c.is_clear(bounds, start) and c.is_clear(obounds, ostart)):
                continue
            occ = c.try_add("occluder", p.occluder_class, omesh, omats, obounds, ostart)
            hidden = _hidden_share(c, box_corners(bounds[0], bounds[1], start),
                                   box_corners(obounds[0], obounds[1], ostart))
            obj = c.try_add("partly_hidden_person", p.person_class, mesh, mats, bounds, start, visible_as="direct",
                            attrs={"occluder": occ.name, "animation": p.animation,
                                   "estimated_hidden_box_share": round(hidden, 3)})
            if obj is not None and occ is not None:
                return
            c.fail(f"the person or the {p.occluder_class} at x = {x:.1f} m overlap each other")
    c.fail(f"no spot on the {c.side} sidewalk near x = {c.target_x:.1f} m puts the person in view behind the "
           f"{p.occluder_class}")
