"""A pedestrian reflected in the glossy body of a parked vehicle (a car, or the side of a bus)."""

from __future__ import annotations

import math

from simgen.spec import models as S
from simgen.world.build import _Obj
from simgen.world.conventions import pose_from_xyz_yaw
from simgen.world.edge_cases.base import EdgeContext, car_mirror_rays, mirror_rays_meeting, rgb_or_none
from simgen.world.edge_cases.registry import register
from simgen.world.model import Mesh


def car_spots(c: EdgeContext, car: _Obj, person: Mesh, gap: float) -> list:
    """Spots for the person beside ``car``, best first: (−mirror rays, order, start pose (4, 4))."""
    b = c.b
    lo, hi = car.mesh.bounds()
    cx, cy = car.poses[0][0, 3], car.poses[0][1, 3]
    rays = car_mirror_rays(b.view, car)
    spots = []
    # on the kerb side of the car (facing it and the road), or on its road side (at the driver's door)
    for out in (1.0, -1.0):
        for dx in (0.3, 0.0, 0.6, -0.3, 1.0, -0.6, 0.8, -0.8):
            x = cx + dx * (hi[0] - lo[0]) / 2
            y = cy + out * c.sign * ((hi[1] - lo[1]) / 2 + gap + 0.15)
            start = pose_from_xyz_yaw(x, y, c.ground(x, y), -out * c.sign * math.pi / 2)  # facing the car
            spots.append((-mirror_rays_meeting(rays, person, start), len(spots), start))
    return sorted(spots, key=lambda t: t[:2])


@register(S.ReflectionCar, visible_as="mirror")
def build(c: EdgeContext, p: S.ReflectionCar) -> None:
    b = c.b
    cls, colour = p.car_class, rgb_or_none(p.car_colour)
    mesh, mats, bounds = c.asset("reflected_pedestrian", p.person_class)
    gap = float(p.gap_to_car_m)
    # the body is curved: among the class's assets, take the one whose paint shows the person best
    # (camera rays mirrored off its reflective faces that meet the person, at the best spot)
    options = []
    for k, entry in enumerate(b.picker.candidates(cls) or [None]):
        made = b.make(cls, colour, 1.0, f"asset/edge/{c.name}/reflecting_car/{k}",
                      asset=None if entry is None else entry.id, where=f"edge_cases.{c.name}")
        lo, hi = made.mesh.bounds()
        y = c.kerb_y(float(hi[1] - lo[1]) / 2)
        probe = _Obj("probe", cls, made.mesh, made.materials,
                     pose_from_xyz_yaw(c.target_x, y, 0.0, 0.0 if c.sign < 0 else math.pi)[None], {})
        options.append((car_spots(c, probe, mesh, gap)[0][0], k, made))
    _, _, made = min(options, key=lambda t: t[:2])
    car = c.parked("reflecting_car", cls, c.target_x, asset=c.adopt(made))
    for hits, _, start in car_spots(c, car, mesh, gap):
        if c.try_add("reflected_pedestrian", p.person_class, mesh, mats, bounds, start, visible_as="mirror",
                     attrs={"mirror": car.name, "mirror_rays": int(-hits)}) is not None:
            return
    c.fail(f"no room for the person next to the parked {cls}")
