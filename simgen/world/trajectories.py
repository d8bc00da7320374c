"""Lane-relative trajectories with speed profiles: follow a lane, change lane, turn at the junction, cross at a
crosswalk; and the lamp states that follow the motion (brake lamps, indicators).

Frames and units: world right-handed, z up, metres, seconds; yaw counter-clockwise from +x. A trajectory is the
arc length ``s(t)`` covered along a reference line (:class:`Path`) plus, for a lane change, a lateral offset
``d(s)`` from it; poses are (T, 4, 4) world_from_object with the object's +x along its velocity.

Speed profiles (:class:`SpeedProfile`) are piecewise linear in time, so the speed is continuous and the
acceleration piecewise constant; the distance is their exact integral (piecewise quadratic).

Lamp rules (the labels record them per frame; the renderer lights the lamps from the same arrays):

* braking at frame f: the centred second difference of the distance covered,
  ``(s[f+1] − 2 s[f] + s[f−1]) / dt² < −BRAKE_DECEL_MPS2`` (the profile is evaluated beyond the sequence ends,
  so the first and last frames have neighbours too);
* indicator: signalling from ``SIGNAL_LEAD_S`` before a lane change until it ends, and from ``SIGNAL_LEAD_M``
  before a turn's arc until the arc ends; the lamp is lit in the first half of each ``1 / BLINK_HZ`` period,
  counted from the start of signalling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simgen.errors import SimgenError
from simgen.world.conventions import pose_from_xyz_yaw

#: a vehicle counts as braking from this deceleration on (m/s²)
BRAKE_DECEL_MPS2 = 0.3
#: indicator blink frequency (Hz; on for half of each period)
BLINK_HZ = 1.5
#: indicators start this long before a lane change (s) / this far before a turn's arc (m)
SIGNAL_LEAD_S = 1.0
SIGNAL_LEAD_M = 15.0
#: length of the straight run a path keeps after its last manoeuvre (m)
RUN_OUT_M = 1000.0


class TrajectoryError(SimgenError):
    """A lane-relative motion cannot be built here (no junction, starts past it, no target lane, ...)."""


# ---- speed ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpeedProfile:
    """Speed keys: times ``t`` (K,) seconds, increasing, and speeds ``v`` (K,) m/s; linear in between, constant
    outside."""

    t: np.ndarray
    v: np.ndarray

    @classmethod
    def constant(cls, speed: float) -> SpeedProfile:
        return cls(np.array([0.0]), np.array([float(speed)]))

    @classmethod
    def from_keys(cls, keys, default_speed: float) -> SpeedProfile:
        """From resolved keys (objects with ``t_s``, ``speed_mps``), or constant ``default_speed`` when empty."""
        if not keys:
            return cls.constant(default_speed)
        t = np.array([float(k.t_s) for k in keys])
        v = np.array([float(k.speed_mps) for k in keys])
        if np.any(np.diff(t) <= 0) or np.any(v < 0):
            raise TrajectoryError("speed_profile: keys need increasing t_s and speeds >= 0")
        return cls(t, v)

    def speed(self, times) -> np.ndarray:
        """(T,) m/s at ``times`` (T,) s."""
        return np.interp(np.asarray(times, float), self.t, self.v)

    def distance(self, times) -> np.ndarray:
        """(T,) metres covered from time 0 to ``times`` (negative before 0): the exact integral of :meth:`speed`."""
        times = np.asarray(times, float)
        # knots: the keys plus 0, so the integral is a sum of trapezoids between knots, then a partial one
        knots = np.union1d(self.t, [0.0])
        vk = self.speed(knots)
        cum = np.concatenate([[0.0], np.cumsum(np.diff(knots) * (vk[1:] + vk[:-1]) / 2)])
        cum -= np.interp(0.0, knots, cum)
        out = np.empty_like(times)
        for i, t in enumerate(times.reshape(-1)):
            if t <= knots[0]:
                out.flat[i] = cum[0] - (knots[0] - t) * vk[0]
            elif t >= knots[-1]:
                out.flat[i] = cum[-1] + (t - knots[-1]) * vk[-1]
            else:
                k = int(np.searchsorted(knots, t, side="right") - 1)
                vt = float(self.speed(t))
                out.flat[i] = cum[k] + (t - knots[k]) * (vk[k] + vt) / 2
        return out


def braking_frames(profile: SpeedProfile, times: np.ndarray) -> np.ndarray:
    """(T,) bool: the brake rule of the module docstring at frame ``times`` (T,) (uniform steps)."""
    times = np.asarray(times, float)
    if len(times) < 2:
        dt = 0.1
    else:
        dt = float(times[1] - times[0])
    s = profile.distance(np.concatenate([[times[0] - dt], times, [times[-1] + dt]]))
    acc = (s[2:] - 2 * s[1:-1] + s[:-2]) / dt**2
    return acc < -BRAKE_DECEL_MPS2


def blink(times: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(T,) bool: indicator lamp lit — ``active`` (T,) bool signalling, lit in the first half of each blink
    period counted from the start of each signalling run."""
    times = np.asarray(times, float)
    lit = np.zeros(len(times), bool)
    start = None
    for i, a in enumerate(active):
        if a and start is None:
            start = times[i]
        if not a:
            start = None
            continue
        lit[i] = ((times[i] - start) * BLINK_HZ) % 1.0 < 0.5
    return lit


# ---- paths ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Path:
    """A reference line: (K, 2) world xy points with the tangent heading (rad) at each point (continuous,
    unwrapped), and their arc lengths (K,)."""

    xy: np.ndarray
    heading: np.ndarray
    s: np.ndarray

    @classmethod
    def from_points(cls, xy: np.ndarray, heading: np.ndarray | None = None) -> Path:
        xy = np.asarray(xy, float)
        seg = np.diff(xy, axis=0)
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(seg, axis=1))])
        if heading is None:
            h = np.arctan2(seg[:, 1], seg[:, 0])
            heading = np.concatenate([h, h[-1:]])
        return cls(xy, np.unwrap(np.asarray(heading, float)), s)

    def at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) xy and (N,) heading at arc lengths ``s`` (N,) (clamped to the path)."""
        s = np.clip(np.asarray(s, float), 0.0, self.s[-1])
        x = np.interp(s, self.s, self.xy[:, 0])
        y = np.interp(s, self.s, self.xy[:, 1])
        return np.stack([x, y], -1), np.interp(s, self.s, self.heading)


def straight_path(start_xy, heading: float, length: float = RUN_OUT_M) -> Path:
    d = np.array([math.cos(heading), math.sin(heading)])
    p0 = np.asarray(start_xy, float)
    return Path.from_points(np.stack([p0, p0 + length * d]), np.array([heading, heading]))


def _rot(h: float) -> np.ndarray:
    return np.array([[math.cos(h), -math.sin(h)], [math.sin(h), math.cos(h)]])


def turn_path(start_xy, heading: float, junction_xy, half_width: float, lane_width: float, out_lane: int,
              direction: str, arc_points: int = 48) -> tuple[Path, float, float]:
    """A turn at a junction of two roads of half width ``half_width`` crossing at right angles at
    ``junction_xy``: straight along ``heading`` to the junction's edge, a quarter circle into lane ``out_lane``
    (0 = next to the centre line) of the road to the ``direction`` ("left" / "right"), then straight on.

    Returns (path, arc start s, arc end s). Right-hand traffic: the target lane's centre lies at
    (out_lane + 0.5) lane widths on the right of the new road's centre line."""
    R0 = _rot(heading)
    local0 = (np.asarray(start_xy, float) - np.asarray(junction_xy, float)) @ R0  # (along, left) of the start
    x0, y0 = float(local0[0]), float(local0[1])
    W = float(half_width)
    if x0 > -W + 0.5:
        raise TrajectoryError(f"turn: the object starts {x0 + W:.1f} m past the junction's edge (it must start "
                              "before the junction)")
    lane = (out_lane + 0.5) * lane_width
    if direction == "left":
        xe = lane  # new heading +left (local +y), lane on its right: x = +lane
        R = xe - (-W)
        centre = np.array([-W, y0 + R])
        ang = np.linspace(-math.pi / 2, 0.0, arc_points)
        arc = centre + R * np.stack([np.cos(ang), np.sin(ang)], -1)
        hd = ang + math.pi / 2
        end_dir = np.array([0.0, 1.0])
    elif direction == "right":
        xe = -lane
        R = xe - (-W)
        if R <= 0.5:
            raise TrajectoryError("turn: no room for a right turn into that lane")
        centre = np.array([-W, y0 - R])
        ang = np.linspace(math.pi / 2, 0.0, arc_points)
        arc = centre + R * np.stack([np.cos(ang), np.sin(ang)], -1)
        hd = ang - math.pi / 2
        end_dir = np.array([0.0, -1.0])
    else:
        raise TrajectoryError(f"turn: direction must be left or right, got '{direction}'")
    pts = np.concatenate([[[x0, y0]], arc, [arc[-1] + RUN_OUT_M * end_dir]])
    heads = np.concatenate([[0.0], hd, [hd[-1]]])
    world = pts @ R0.T + np.asarray(junction_xy, float)
    path = Path.from_points(world, heads + heading)
    return path, float(path.s[1]), float(path.s[arc_points])


def smoothstep5(u: np.ndarray) -> np.ndarray:
    """Quintic smoothstep on [0, 1] (zero first and second derivatives at both ends), clamped outside."""
    u = np.clip(np.asarray(u, float), 0.0, 1.0)
    return u**3 * (10 - 15 * u + 6 * u**2)


def smoothstep5_slope(u: np.ndarray) -> np.ndarray:
    u = np.asarray(u, float)
    inside = (u > 0) & (u < 1)
    return np.where(inside, 30 * u**2 * (1 - u) ** 2, 0.0)


# ---- the motions -----------------------------------------------------------------------------------------------

@dataclass
class Trajectory:
    """Poses (T, 4, 4) and the per-frame facts the labels record: ``brake`` (T,) bool, ``signal`` (T,) str
    (left / right / none), ``indicator`` (T,) bool (the signalling lamp lit), ``phase`` (T,) str or None."""

    poses: np.ndarray
    brake: np.ndarray
    signal: np.ndarray
    indicator: np.ndarray
    phase: np.ndarray | None = None


def _poses_on(path: Path, s: np.ndarray, z: np.ndarray, lateral: np.ndarray | None = None,
              lateral_slope: np.ndarray | None = None) -> np.ndarray:
    xy, h = path.at(s)
    if lateral is not None:
        n = np.stack([-np.sin(h), np.cos(h)], -1)
        xy = xy + lateral[:, None] * n
        h = h + np.arctan(lateral_slope)
    return np.stack([pose_from_xyz_yaw(p[0], p[1], zz, hh) for p, zz, hh in zip(xy, z, h)])


def follow_lane(start_xy, heading: float, profile: SpeedProfile, times: np.ndarray, z: float = 0.0) -> Trajectory:
    """Along a straight lane centre line through ``start_xy`` at ``heading`` (rad)."""
    path = straight_path(start_xy, heading)
    s = profile.distance(times)
    T = len(times)
    return Trajectory(_poses_on(path, s, np.full(T, z)), braking_frames(profile, times), np.full(T, "none"),
                      np.zeros(T, bool))


def change_lane(start_xy, heading: float, offset_m: float, profile: SpeedProfile, times: np.ndarray,
                t_start: float, duration: float, signals: bool = True, z: float = 0.0) -> Trajectory:
    """Along the lane through ``start_xy``, moving ``offset_m`` to the left (negative: right) while the clock runs
    from ``t_start`` to ``t_start + duration``: the lateral offset is a quintic smoothstep of the distance covered
    in that window, so a vehicle never slides sideways, and it ends on the target lane's centre line."""
    path = straight_path(start_xy, heading)
    times = np.asarray(times, float)
    s = profile.distance(times)
    s0, s1 = profile.distance(np.array([t_start, t_start + duration]))
    if s1 - s0 < 1.0:
        raise TrajectoryError(f"change_lane: the object covers {s1 - s0:.2f} m during the change (give it speed "
                              "between change_start_s and change_start_s + change_duration_s)")
    u = (s - s0) / (s1 - s0)
    lat = offset_m * smoothstep5(u)
    slope = offset_m * smoothstep5_slope(u) / (s1 - s0)
    T = len(times)
    active = (times >= t_start - SIGNAL_LEAD_S) & (times <= t_start + duration) & bool(signals)
    side = "left" if offset_m > 0 else "right"
    signal = np.where(active, side, "none")
    return Trajectory(_poses_on(path, s, np.full(T, z), lat, slope), braking_frames(profile, times), signal,
                      blink(times, active))


def turn(start_xy, heading: float, junction_xy, half_width: float, lane_width: float, out_lane: int, direction: str,
         profile: SpeedProfile, times: np.ndarray, signals: bool = True, z: float = 0.0) -> Trajectory:
    """Along the lane, then a quarter circle left or right at the junction (:func:`turn_path`)."""
    path, a0, a1 = turn_path(start_xy, heading, junction_xy, half_width, lane_width, out_lane, direction)
    times = np.asarray(times, float)
    s = profile.distance(times)
    T = len(times)
    active = (s >= a0 - SIGNAL_LEAD_M) & (s <= a1) & bool(signals)
    return Trajectory(_poses_on(path, s, np.full(T, z)), braking_frames(profile, times),
                      np.where(active, direction, "none"), blink(times, active))


def cross_walk(start_xy, heading: float, length: float, profile: SpeedProfile, times: np.ndarray, wait_s: float,
               ground_z) -> Trajectory:
    """A person waits at ``start_xy`` (the kerb) for ``wait_s`` seconds facing ``heading``, then walks ``length``
    metres along it (the crosswalk) with the profile's speeds (its clock starting when walking starts) and stops
    on the far side. ``ground_z(xy (N, 2)) -> (N,)`` gives the surface height. Phase per frame: waiting,
    crossing, crossed."""
    times = np.asarray(times, float)
    path = straight_path(start_xy, heading, length)
    s = np.clip(profile.distance(np.maximum(times - wait_s, 0.0)), 0.0, length)
    xy, _ = path.at(s)
    z = np.asarray(ground_z(xy), float)
    T = len(times)
    phase = np.where(times < wait_s, "waiting", np.where(s >= length - 1e-9, "crossed", "crossing"))
    return Trajectory(_poses_on(path, s, z), np.zeros(T, bool), np.full(T, "none"), np.zeros(T, bool), phase)


__all__ = ["SpeedProfile", "Path", "Trajectory", "TrajectoryError", "braking_frames", "blink", "follow_lane",
           "change_lane", "turn", "turn_path", "cross_walk", "BRAKE_DECEL_MPS2", "BLINK_HZ"]


#: stopping for a signal: braking starts when the deceleration needed to stop at the line reaches this (m/s²);
#: a vehicle that would need more than STOP_MAX_DECEL drives on (it cannot stop in time); it pulls away at
#: PULL_AWAY_ACCEL
STOP_START_DECEL = 1.5
STOP_MAX_DECEL = 6.0
PULL_AWAY_ACCEL = 2.0


def signal_profile(profile: SpeedProfile, stop_distance: float, red_at, duration: float,
                   dt: float = 0.01) -> SpeedProfile:
    """The speed profile of a vehicle that wants ``profile``'s speeds but stops ``stop_distance`` metres ahead
    (the stop line, measured from its reference point) while ``red_at(t) -> bool`` (not green), then pulls away.
    Simulated on a ``dt`` grid up to ``duration`` seconds; the result is piecewise linear on that grid."""
    n = int(math.ceil(duration / dt)) + 2
    t = np.arange(n) * dt
    v = np.empty(n)
    s, vel = 0.0, float(profile.speed(0.0))
    stopping = False
    for i, ti in enumerate(t):
        v[i] = vel
        want = float(profile.speed(ti))
        gap = stop_distance - s
        if red_at(ti) and gap > 0.02:
            need = vel * vel / (2.0 * gap)
            if stopping or (STOP_START_DECEL <= need <= STOP_MAX_DECEL):
                stopping = True
                a = -need
            elif need > STOP_MAX_DECEL:
                a = (want - vel) / dt
            else:
                a = float(np.clip((want - vel) / dt, -STOP_MAX_DECEL, PULL_AWAY_ACCEL))
        elif red_at(ti) and stopping:
            a, vel = 0.0, 0.0  # waiting at the line
        else:
            stopping = False
            a = float(np.clip((want - vel) / dt, -STOP_MAX_DECEL, PULL_AWAY_ACCEL))
        nv = max(0.0, vel + a * dt)
        s += (vel + nv) / 2 * dt
        vel = nv
    return SpeedProfile(t, v)
