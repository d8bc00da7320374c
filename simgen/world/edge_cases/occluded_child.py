"""A child partly hidden behind a parked vehicle (a car, or a van), running or walking out towards the road."""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw, project
from simgen.world.edge_cases.base import EdgeContext, box_corners
from simgen.world.edge_cases.registry import register


def _image_box(uv: np.ndarray) -> tuple[float, float, float, float]:
    return uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()


@register(S.OccludedChild, visible_as="direct")
def build(c: EdgeContext, p: S.OccludedChild) -> None:
    b = c.b
    occ = c.parked("occluder", p.occluder_class, c.target_x)
    olo, ohi = occ.mesh.bounds()
    uv_o, z_o = project(box_corners(olo, ohi, occ.poses[0]), b.K, b.view.world_from_camera)
    if np.any(z_o <= 0):
        c.fail("the occluding vehicle is behind the camera")
    ob = _image_box(uv_o)
    mesh, mats, bounds = c.asset("occluded_child", "child", animation=p.animation)
    clo, chi = bounds[0], bounds[1]
    target = float(p.visible_fraction)
    C = b.view.position
    best = None
    cx, cy = occ.poses[0][0, 3], occ.poses[0][1, 3]
    half_w = (ohi[1] - olo[1]) / 2
    for behind in (0.5, 0.8, 1.2, 1.6):
        for dx in np.linspace(-(ohi[0] - olo[0]) / 2 - 1.0, (ohi[0] - olo[0]) / 2 + 1.0, 25):
            x, y = cx + dx, cy + c.sign * (half_w + behind)
            start = pose_from_xyz_yaw(x, y, c.ground(x, y), -c.sign * math.pi / 2)  # facing the road
            uv_c, z_c = project(box_corners(clo, chi, start), b.K, b.view.world_from_camera)
            if np.any(z_c <= 0):
                continue
            cb = _image_box(uv_c)
            area = (cb[2] - cb[0]) * (cb[3] - cb[1])
            ix = max(0.0, min(cb[2], ob[2]) - max(cb[0], ob[0]))
            iy = max(0.0, min(cb[3], ob[3]) - max(cb[1], ob[1]))
            vis = 1.0 - ix * iy / area
            in_img = b.view.sees(start[:3, 3][None] + [0, 0, chi[2] / 2])[0]
            if not in_img or float(np.linalg.norm(start[:2, 3] - C[:2])) <= float(np.linalg.norm([cx, cy] - C[:2])):
                continue
            score = abs(vis - target)
            if best is None or score < best[0]:
                best = (score, start, vis)
    if best is None:
        c.fail(f"no spot behind the {p.occluder_class} (seen from the camera) for the child")
    _, start, vis = best
    obj = c.try_add("occluded_child", "child", mesh, mats, bounds, start, "constant_velocity", float(p.speed_mps),
                    attrs={"occluder": occ.name, "estimated_visible_fraction": round(float(vis), 3),
                           "target_visible_fraction": target, "animation": p.animation}, visible_as="direct")
    if obj is None:
        c.fail(f"the spot behind the {p.occluder_class} is taken by another object")
