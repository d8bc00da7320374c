"""A person standing at the edge of a wet road, mirrored in the asphalt between them and the camera.

Needs a road wet enough to count as a mirror for the reflection labels (:func:`simgen.world.surfaces.reflects`:
the wet asphalt's roughness at most ``REFLECTION_MAX_ROUGHNESS``; about wetness 0.78 for plain asphalt)."""

from __future__ import annotations

import math

import numpy as np

from simgen.spec import models as S
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext, ground_mirror_points, person_points, rgb_or_none
from simgen.world.edge_cases.registry import register
from simgen.world.layout import road_material
from simgen.world.model import Weather
from simgen.world.surfaces import REFLECTION_MAX_ROUGHNESS, reflects, specular_roughness


@register(S.ReflectionWetRoad, visible_as="mirror")
def build(c: EdgeContext, p: S.ReflectionWetRoad) -> None:
    b = c.b
    w = b.r.weather
    wet = float(w.wetness)
    lp = b.layout.params
    road = road_material(0.0, lp.surface_texture, lp.surface_wear)  # the renderer wets it with the weather
    weather = Weather(wetness=wet, snow=float(w.snow))
    if not reflects(road, weather, True):
        c.fail(f"the road is not wet enough to mirror the person: weather.wetness = {wet:.2f} leaves the asphalt's "
               f"roughness at {specular_roughness(road, weather, True):.2f}, a mirror needs at most "
               f"{REFLECTION_MAX_ROUGHNESS} (wetness about 0.8 or more, and no snow)")
    mesh, mats, bounds = c.asset("reflected_pedestrian", p.person_class, rgb_or_none(p.colour),
                                 animation=p.animation)
    height = float(bounds[1][2])
    C = b.view.position
    y = c.road_edge_y(float(p.kerb_offset_m))
    tried = []
    for dx in (0.0, 1.5, -1.5, 3.0, -3.0, 5.0, 8.0):
        x = c.target_x + dx
        zg = c.ground(x, y)
        d = C[:2] - np.array([x, y])
        start = pose_from_xyz_yaw(x, y, zg, math.atan2(d[1], d[0]))  # facing the camera
        pts = person_points(start, height)
        ok, ground = ground_mirror_points(C, pts, zg)
        ok &= b.layout.on_road(ground)
        ok &= b.view.sees(np.c_[ground, np.full(len(ground), zg)])
        tried.append((x, int(ok.sum())))
        if ok.sum() < 3:
            continue
        if c.try_add("reflected_pedestrian", p.person_class, mesh, mats, bounds, start, visible_as="mirror",
                     attrs={"mirror_points_on_road": int(ok.sum()), "animation": p.animation,
                            "wetness": wet}) is not None:
            return
    c.fail("no spot near x = {:.1f} m shows the person's mirror image on the road in view (points of the "
           "person mirrored onto the road in view, of 5: {})".format(
               c.target_x, ", ".join(f"x = {x:.1f} m: {n}" for x, n in tried)))
