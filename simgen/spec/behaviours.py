"""The behaviour vocabulary of the scene language: speed profiles, lane-relative motion, crossings, traffic lights
and named sun positions (see docs/behaviours.md).

Kept apart from :mod:`simgen.spec.models`, which imports these types into ``Motion``, ``Placement``, ``Road`` and
``LightingSpec``. Units: seconds, metres, m/s, degrees.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from simgen.spec.fields import Bool, Cat, Int, Num, SpecModel

#: motion kinds that follow the road: the world stage builds the path from the lane the object stands in
LANE_MOTIONS = ("follow_lane", "change_lane", "turn")
#: every motion kind of the behaviour vocabulary (added to the basic static / constant_velocity / waypoints)
BEHAVIOUR_MOTIONS = (*LANE_MOTIONS, "cross_at_crosswalk")
SunPosition = Literal["dawn", "golden_hour", "dusk", "civil_twilight"]
LightState = Literal["green", "amber", "red", "red_amber"]
TurnDirection = Literal["left", "right"]


class SpeedKey(SpecModel):
    """One key of a speed profile: the speed at a time; speeds between keys change linearly (constant
    acceleration or braking), before the first key and after the last one they stay constant."""

    t_s: Num(ge=0, le=3600) = Field(description="Time (s after frame 0).")
    speed_mps: Num(ge=0, le=80) = Field(description="Speed at that time (m/s).")


class TrafficLightTiming(SpecModel):
    """The signal cycle: green -> amber -> red -> red_amber (if > 0) -> green ..."""

    green_s: Num(gt=0, le=600) = Field(10.0, description="Green phase (s).")
    amber_s: Num(gt=0, le=60) = Field(3.0, description="Amber phase (s).")
    red_s: Num(gt=0, le=600) = Field(10.0, description="Red phase (s).")
    red_amber_s: Num(ge=0, le=60) = Field(0.0, description="Red and amber together before green (s); 0 = none.")
    start: Cat(LightState, "LightStateChoice") = Field("green", description="The phase that begins at time "
                                                                             "-offset_s.")
    offset_s: Num(ge=0, le=3600) = Field(0.0, description="Time into the start phase at frame 0 (s).")


class TrafficLightSpec(SpecModel):
    """A traffic light on a pole at the kerb, facing the traffic it controls. Its state at every frame is a label
    of its instance (``attributes.traffic_light_state`` in the per-frame labels) and its lit lamp renders so."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$", max_length=100,
                             description="Unique name (default: 'traffic_light_<index>').")
    at: Cat(Literal["junction", "crosswalk", "x"], "TrafficLightAtChoice") = Field(
        "junction", description="junction: the stop line before the junction; crosswalk: before the first "
                                "crosswalk; x: at x_m.")
    x_m: Num(ge=0, le=5000) | None = Field(None, description="Stop line position along the road (m); at: x only.")
    controls: Cat(Literal["ego_direction", "oncoming"], "TrafficLightControlsChoice") = Field(
        "ego_direction", description="ego_direction: traffic along +x (the light stands on the right, facing -x); "
                                     "oncoming: traffic along -x (on the left, facing +x).")
    timing: TrafficLightTiming = Field(default_factory=TrafficLightTiming, description="Signal cycle.")

    @model_validator(mode="after")
    def _x(self) -> TrafficLightSpec:
        if self.at == "x" and self.x_m is None:
            raise PydanticCustomError("light_x", "at: x needs x_m", {"hint": "x_m: 40"})
        if self.at != "x" and self.x_m is not None:
            raise PydanticCustomError("light_x", "x_m is used with at: x only", {"hint": "set at: x"})
        return self


class MotionBehaviour(SpecModel):
    """Fields of ``motion`` for the behaviour kinds (mixed into :class:`simgen.spec.models.Motion`)."""

    speed_profile: list[SpeedKey] = Field(
        default_factory=list, max_length=100,
        description="Speed over time (keys sorted by t_s); replaces speed_mps. Vehicles light their brake lamps "
                    "while the speed falls.")
    target_lane_index: Int(ge=0, le=5) | None = Field(
        None, description="change_lane: the lane to move to (0 = innermost); default: the neighbouring lane.")
    change_start_s: Num(ge=0, le=3600) = Field(1.0, description="change_lane: when the move begins (s).")
    change_duration_s: Num(gt=0, le=60) = Field(3.0, description="change_lane: how long the move takes (s).")
    turn: Cat(TurnDirection, "TurnDirectionChoice") = Field("left", description="turn: left or right at the "
                                                                                "junction.")
    start_time_s: Num(ge=0, le=3600) = Field(
        0.0, description="cross_at_crosswalk: how long the person waits at the kerb before walking over (s).")
    signals: Bool = Field(True, description="Vehicles blink the indicator while changing lane or turning.")
    stop_at_signal: Bool = Field(
        False, description="follow_lane: brake to a stop before the stop line of the traffic light that controls "
                           "this direction while it is not green, and drive on when it turns green.")

    @model_validator(mode="after")
    def _profile_sorted(self):
        ts = [k.t_s for k in self.speed_profile]
        if any(not isinstance(t, float | int) for t in ts):
            return self
        if any(b <= a for a, b in zip(ts, ts[1:])):
            raise PydanticCustomError("profile_order", "speed_profile keys must have increasing t_s (got {ts})",
                                      {"ts": ts, "hint": "sort the keys by time"})
        return self


__all__ = ["SpeedKey", "TrafficLightSpec", "TrafficLightTiming", "MotionBehaviour", "SunPosition",
           "LANE_MOTIONS", "BEHAVIOUR_MOTIONS"]
