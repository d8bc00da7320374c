"""A child partly hidden behind a parked vehicle (a car, or a van), running or walking out towards the road."""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext
from simgen.world.edge_cases.registry import register


@register(S.OccludedChild, visible_as="direct")
def build(c: EdgeContext, p: S.OccludedChild) -> None:
    b = c.b
    occ = c.parked("occluder", p.occluder_class, c.target_x)
    olo, ohi = occ.mesh.bounds()
    import trimesh

    van = trimesh.Trimesh(occ.mesh.vertices @ occ.poses[0][:3, :3].T + occ.poses[0][:3, 3], occ.mesh.faces,
                          process=False)
    mesh, mats, bounds = c.asset("occluded_child", "child", animation=p.animation)
    clo, chi = bounds[0], bounds[1]
    target = float(p.visible_fraction)
    C = b.view.position
    spots = []
    cx, cy = occ.poses[0][0, 3], occ.poses[0][1, 3]
    half_w = (ohi[1] - olo[1]) / 2
    # points spread over the child's front (5 heights x 3 across): the share the camera sees past the vehicle
    grid = np.array([[0.0, s * 0.35 * (chi[1] - clo[1]), h * chi[2]] for h in (0.15, 0.35, 0.55, 0.75, 0.92)
                     for s in (-1.0, 0.0, 1.0)])
    # behind: metres from the vehicle's kerb-side flank out to the kerb (< 0: already out in front of its far end,
    # across the parking strip: a child running out shows there first)
    for behind in (0.5, 0.8, 1.2, 1.6, 0.0, -0.6, -1.2, -1.8, -2.4):
        # beside the vehicle, or up to 4 m beyond its far end (where it hides a child from a camera behind it)
        for dx in np.linspace(-(ohi[0] - olo[0]) / 2 - 1.0, (ohi[0] - olo[0]) / 2 + 4.0, 41):
            x, y = cx + dx, cy + c.sign * (half_w + behind)
            start = pose_from_xyz_yaw(x, y, c.ground(x, y), -c.sign * math.pi / 2)  # facing the road
            pts = grid @ start[:3, :3].T + start[:3, 3]
            if not b.view.sees(pts).any():
                continue
            if float(np.linalg.norm(start[:2, 3] - C[:2])) <= float(np.linalg.norm([cx, cy] - C[:2])):
                continue
            d = pts - C
            dist = np.linalg.norm(d, axis=1)
            loc, ray, _ = van.ray.intersects_location(np.repeat(C[None], len(d), 0), d / dist[:, None],
                                                        multiple_hits=False)
            blocked = np.zeros(len(d), bool)
            blocked[ray[np.linalg.norm(loc - C, axis=1) < dist[ray]]] = True
            vis = float((~blocked & b.view.sees(pts)).mean())
            spots.append((abs(vis - target), len(spots), start, vis))
    if not spots:
        c.fail(f"no spot behind the {p.occluder_class} (seen from the camera) for the child")
    # the best spots first; a running child's path towards the road must keep clear of the vehicle
    for _, _, start, vis in sorted(spots, key=lambda s: s[:2]):
        if c.try_add("occluded_child", "child", mesh, mats, bounds, start, "constant_velocity", float(p.speed_mps),
                     attrs={"occluder": occ.name, "estimated_visible_fraction": round(float(vis), 3),
                            "target_visible_fraction": target, "animation": p.animation},
                     visible_as="direct") is not None:
            return
    c.fail(f"every spot behind the {p.occluder_class} is taken by another object, or the child's path at "
           f"{float(p.speed_mps):.1f} m/s runs into it")
