"""A pedestrian on the sidewalk whose mirror image shows in a shop window seen by the camera."""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext, person_points, rgb_or_none, window_mirror_hits
from simgen.world.edge_cases.registry import register
from simgen.world.layout import glass_material
from simgen.world.placement import footprints, local_footprint


@register(S.ReflectionWindow, visible_as="mirror")
def build(c: EdgeContext, p: S.ReflectionWindow) -> None:
    b = c.b
    windows = [w for w in b.layout.windows if w.side == c.side]
    if not windows:
        c.fail(f"no shop window on the {c.side} side (road.buildings.sides and shop_windows)")
    mesh, mats, bounds = c.asset("reflected_pedestrian", p.person_class, rgb_or_none(p.colour),
                                 animation=p.animation)
    height = float(bounds[1][2])
    C = b.view.position
    g = float(p.gap_to_window_m)
    want_hidden = not p.person_visible_directly
    windows.sort(key=lambda w: abs(w.center[0] - c.target_x))
    fracs = [0.5, 0.3, 0.7, 0.15, 0.85]
    best = None
    for w in windows[:12]:
        wc, n, u = np.array(w.center), np.array(w.normal), np.array(w.u)
        D = float((C - wc) @ n)
        if D <= 0.3:
            continue
        lam = (D + g) / D
        for frac in fracs:
            Xh = wc + (frac - 0.5) * w.width * u
            # the person's chest (0.6 h above its feet) must mirror onto the line camera -> X
            Qm_h = C[:2] + lam * (Xh[:2] - C[:2])
            Q_xy = Qm_h + 2 * g * n[:2]
            zg = float(b.layout.ground_z(Q_xy)[0])
            Xz = C[2] + (zg + 0.6 * height - C[2]) / lam
            if abs(Xz - wc[2]) > 0.4 * w.height:
                continue
            yaw = 0.0 if c.rng.random() < 0.5 else math.pi
            start = pose_from_xyz_yaw(Q_xy[0], Q_xy[1], zg, yaw)
            pts = person_points(start, height)
            hits = window_mirror_hits(C, pts, w)
            if not hits[2:4].all() or not b.view.sees(np.array([[Xh[0], Xh[1], Xz]]))[0]:
                continue
            if not any(r.contains(Q_xy[None])[0] for r in b.layout.regions_of("sidewalk", c.side)):
                continue
            fp = footprints(local_footprint(bounds[2], bounds[3]), start)
            if b.placer.clear_of_all(np.repeat(fp, b.T, 0), c.name, 0.1, ignore=("ego",)) is not None:
                continue
            direct = bool(b.view.sees(pts).any())
            score = (direct and want_hidden, abs(Q_xy[0] - c.target_x))
            if best is None or score < best[0]:
                best = (score, w, start, hits, direct)
    if best is None:
        c.fail("no position on the sidewalk puts the person's mirror image inside a shop window seen by "
               f"camera '{b.cameras[0].name}' at frame 0 (try another distance_m, a smaller gap_to_window_m,"
               " or larger windows)")
    _, w, start, hits, direct = best
    c.try_add("reflected_pedestrian", p.person_class, mesh, mats, bounds, start, visible_as="mirror",
              attrs={"window": w.name, "mirror_hits": [bool(h) for h in hits], "directly_visible": direct,
                     "animation": p.animation})
    b.window_overrides[w.name] = {
        "attributes": {"edge_case": "reflecting_window", "edge_case_name": c.name,
                       "reflected": f"{c.name}_reflected_pedestrian"},
        "material": glass_material(float(p.window_reflectivity))}
