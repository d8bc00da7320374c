"""Weather geometry: puddles (flat reflective 'puddle' entities on the road) and rain streaks.

Rain is one entity of thin vertical quads (class ``unlabeled``, ``label_visible=False``: hidden from every label
pass) inside a box that covers the first camera's view over the sequence; it falls at a constant speed.
Randomness: streams ``weather/puddles`` and ``weather/rain``.
"""

from __future__ import annotations

import math

import numpy as np

from simgen.world.model import Entity, Material, Mesh

#: height of random puddles above the road (edge-case puddles lie 1 mm higher)
PUDDLE_Z = 0.002
#: rain streaks per unit of rain intensity
RAIN_STREAKS = 3000
RAIN_SPEED = 8.0  # m/s, falling
STREAK_WIDTH = 0.004
STREAK_LENGTH = (0.3, 0.6)


def _polygon(centre: np.ndarray, r: float, rng: np.random.Generator, k: int = 12) -> np.ndarray:
    """(k, 2) convex CCW polygon: an ellipse with radii r*(1, 0.5..1), random orientation."""
    ang = np.linspace(0, 2 * np.pi, k + 1)[:-1]
    ry = r * rng.uniform(0.5, 1.0)
    rot = rng.uniform(0, np.pi)
    c, s = math.cos(rot), math.sin(rot)
    pts = np.c_[r * np.cos(ang), ry * np.sin(ang)] @ np.array([[c, s], [-s, c]])
    return centre + pts


def puddles(layout, spec, rng: np.random.Generator, avoid: list[np.ndarray], frame_count: int) -> list[Entity]:
    """One 'puddle' entity holding ``spec.count`` non-overlapping puddles on the road surface (main road).

    avoid: (K, 2) polygons (e.g. edge-case puddles) that the puddles keep clear of (by bounding circles).
    """
    n = int(spec.count)
    if n <= 0:
        return []
    p = layout.params
    W, L = p.half_width, p.length
    circles = [(poly.mean(0), float(np.linalg.norm(poly - poly.mean(0), axis=1).max())) for poly in avoid]
    polys = []
    for _ in range(n * 20):
        if len(polys) >= n:
            break
        r = float(rng.uniform(spec.min_radius_m, spec.max_radius_m))
        if 2 * r > 2 * W - 0.2:
            r = W - 0.2
        centre = np.array([rng.uniform(r, L - r), rng.uniform(-W + r + 0.05, W - r - 0.05)])
        if any(np.linalg.norm(centre - c) < r + cr + 0.2 for c, cr in circles):
            continue
        poly = _polygon(centre, r, rng)
        if not layout.on_road(poly).all():
            continue
        circles.append((centre, r))
        polys.append(poly)
    if not polys:
        return []
    vs, fs, off = [], [], 0
    for poly in polys:
        k = len(poly)
        vs.append(np.concatenate([[[*poly.mean(0), PUDDLE_Z]], np.c_[poly, np.full(k, PUDDLE_Z)]]))
        fs.append(np.array([[0, 1 + i, 1 + (i + 1) % k] for i in range(k)]) + off)
        off += k + 1
    mesh = Mesh(np.concatenate(vs), np.concatenate(fs))
    mat = Material("water", base_color=(0.02, 0.025, 0.03), roughness=0.02, ior=1.33, reflective=True)
    return [Entity("puddles", "puddle", mesh, [mat], np.repeat(np.eye(4)[None], frame_count, 0), 0,
                   attributes={"count": len(polys), "polygons": [q.tolist() for q in polys], "z": PUDDLE_Z})]


def rain(intensity: float, camera_poses: np.ndarray, times: np.ndarray, rng: np.random.Generator) -> list[Entity]:
    """Rain streaks in front of the first camera (poses (T, 4, 4) OpenCV world_from_camera)."""
    n = int(round(RAIN_STREAKS * float(np.clip(intensity, 0.0, 1.0))))
    if n <= 0:
        return []
    T = len(times)
    pos = camera_poses[:, :3, 3]
    fwd = camera_poses[0, :3, 2]
    heading = math.atan2(fwd[1], fwd[0])
    # a box along the camera path, from 5 m behind the start to 40 m beyond the end, 30 m wide
    a = np.array([math.cos(heading), math.sin(heading)])
    b = np.array([-a[1], a[0]])
    along = rng.uniform(-5.0, float(np.linalg.norm(pos[-1, :2] - pos[0, :2])) + 40.0, n)
    across = rng.uniform(-15.0, 15.0, n)
    fall = RAIN_SPEED * float(times[-1] - times[0]) if T > 1 else 0.0
    z = rng.uniform(0.0, 12.0, n) + fall
    xy = pos[0, :2] + along[:, None] * a + across[:, None] * b
    length = rng.uniform(*STREAK_LENGTH, n)
    # each streak: a vertical quad facing the camera's forward direction
    w = STREAK_WIDTH / 2 * b
    v = np.empty((n, 4, 3))
    v[:, 0, :2], v[:, 1, :2] = xy - w, xy + w
    v[:, 2, :2], v[:, 3, :2] = xy + w, xy - w
    v[:, 0, 2] = v[:, 1, 2] = z
    v[:, 2, 2] = v[:, 3, 2] = z + length
    f = (np.arange(n)[:, None] * 4 + np.array([0, 1, 2, 3])).astype(np.int64)
    mesh = Mesh(v.reshape(-1, 3), f)
    poses = np.repeat(np.eye(4)[None], T, 0)
    poses[:, 2, 3] = -RAIN_SPEED * (times - times[0])
    mat = Material("rain", base_color=(0.8, 0.85, 0.9), roughness=0.1, transmission=0.9, ior=1.33)
    return [Entity("rain", "unlabeled", mesh, [mat], poses, 0, label_visible=False,
                   attributes={"streaks": n, "fall_speed_mps": RAIN_SPEED})]


def weather_entities(build, weather) -> list[Entity]:
    """Puddles and rain for a world being built (``build``: the builder, ``weather``: resolved weather)."""
    avoid = [np.array(e.attributes["polygon"]) for e in build.extra_stuff if e.class_name == "puddle"]
    out = puddles(build.layout, weather.puddles, build.rng("weather/puddles"), avoid, build.T)
    out += rain(weather.rain_intensity, build.cameras[0].poses, build.times, build.rng("weather/rain"))
    return out
