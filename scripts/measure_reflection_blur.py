"""How visible is a person's mirror image on a dark, rough ground? The measurement behind the reflection labels'
roughness threshold (docs/reflections.md).

Usage: .venv/bin/python scripts/measure_reflection_blur.py [--samples 64]

A white, self-lit person-sized box (0.5 × 0.3 × 1.75 m) stands 6 m and 15 m in front of a camera 1.45 m high,
on a dark dielectric ground (IOR 1.45, like wet asphalt) of roughness 0 .. 0.6, at night with no other light.
For each roughness it prints, relative to the person's directly seen brightness: the mean brightness inside
the geometric mirror image (the reflection label of the same ground as a perfect mirror), on a 3-pixel ring
around it, and far from it. The label counts a pixel as a reflection up to ``REFLECTION_MAX_ROUGHNESS``; above
it the mirror image fades into a smear (inside / ring falls towards 1).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simgen.render.blender import render_world  # noqa: E402
from simgen.render.settings import RenderSettings  # noqa: E402
from simgen.world.conventions import look_at, pose_from_xyz_yaw  # noqa: E402
from simgen.world.model import Camera, Entity, Lighting, Material, Mesh, World  # noqa: E402
from simgen.world.surfaces import REFLECTION_MAX_ROUGHNESS  # noqa: E402

W, H = 160, 120


def _box(sx, sy, sz) -> Mesh:
    v = np.array([[x, y, z] for z in (0.0, sz) for y in (-sy / 2, sy / 2) for x in (-sx / 2, sx / 2)])
    return Mesh(v, [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]])


def _render(dist: float, rough: float, samples: int):
    static = lambda p=None: (np.eye(4) if p is None else p)[None].copy()  # noqa: E731
    # the ground is class "wall" (not a wet class): its roughness is exactly ``rough``; a perfect mirror at 0
    ground = Entity("ground", "wall", Mesh([(-30, -10, 0), (30, -10, 0), (30, 60, 0), (-30, 60, 0)], [(0, 1, 2, 3)]),
                    [Material("ground", (0.03, 0.03, 0.03), roughness=rough, ior=1.45)], static())
    person = Entity("person", "pedestrian", _box(0.5, 0.3, 1.75),
                    [Material("lit", (0.0, 0.0, 0.0), roughness=1.0, emission_color=(1, 1, 1), emission_strength=1.0)],
                    static(pose_from_xyz_yaw(0.0, dist, 0.0, 0.0)), instance_id=1)
    eye = np.array([0.0, 0.0, 1.45])
    cam = Camera("cam", math.radians(50.0), static(look_at(eye, (0.0, dist, 0.3))))
    world = World("blur", 1, 10.0, [ground, person], [cam], lighting=Lighting(night=True, sky_strength=0.0))
    settings = RenderSettings(width=W, height=H, samples=samples, device="cpu", view_transform="standard",
                              passes={"rgb", "reflection"})
    (raw,) = list(render_world(world, settings))
    c = raw.rgb.astype(np.float64).mean(-1) / 255.0
    return raw, np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=64)
    args = ap.parse_args()
    print(f"label threshold: roughness <= {REFLECTION_MAX_ROUGHNESS}")
    print("dist_m  roughness  inside  ring_3px  far     inside/ring")
    k = np.ones((3, 3), np.uint8)
    for dist in (6.0, 15.0):
        mask = None
        for rough in (0.0, 0.15, 0.3, 0.4, 0.5, 0.6):
            raw, lin = _render(dist, rough, args.samples)
            if mask is None:  # the geometric mirror image: the label of the perfect mirror
                mask = raw.reflection[..., 1] == 1
            ground = raw.object_index.astype(int) == 1
            ring = cv2.dilate(mask.astype(np.uint8), k, iterations=3).astype(bool) & ~mask & ground
            far = ground & ~cv2.dilate(mask.astype(np.uint8), k, iterations=12).astype(bool)
            direct = lin[raw.reflection[..., 0] == 1].mean()
            inside, around, rest = lin[mask].mean() / direct, lin[ring].mean() / direct, lin[far].mean() / direct
            print(f"{dist:6.1f}  {rough:9.2f}  {inside:.4f}  {around:.4f}    {rest:.4f}  {inside / around:6.2f}")


if __name__ == "__main__":
    main()
