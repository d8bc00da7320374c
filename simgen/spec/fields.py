"""Field types of the scene language: literal-or-distribution numbers, categories and colours.

Every numeric or categorical field accepts either a literal or a *distribution* mapping tagged by ``dist``:

* ``{dist: uniform, low: 1, high: 2}``
* ``{dist: normal, mean: 0, std: 1, clip: [-2, 2]}`` (``clip`` optional; samples are also clipped to the
  field's own bounds)
* ``{dist: log_uniform, low: 0.01, high: 1}`` (``0 < low <= high``)
* ``{dist: choice, values: [a, b, c], weights: [1, 2, 1]}`` (weights optional, non-negative, not all zero)
* ``{dist: int_range, low: 1, high: 6}`` (integers, both ends included)

Integer fields accept ``int_range`` and ``choice``; categorical and colour fields accept ``choice`` only.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")

#: Tags of the literal-vs-distribution union (chosen so they never collide with a YAML key).
LIT = "literal"
DIST = "distribution"


class SpecModel(BaseModel):
    """Base of every spec model: strict types, unknown keys rejected, no NaN/inf."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _remember_keys(cls, data: Any, info: ValidationInfo) -> Any:
        # Lets the error mapper suggest the right key for a typo (see simgen.spec.validate).
        if isinstance(data, dict) and info.context is not None:
            names = [f.alias or n for n, f in cls.model_fields.items()]
            info.context.setdefault("allowed", {})[id(data)] = names
        return data


# ---------------------------------------------------------------------------------------------- distributions
class _LowHigh(SpecModel):
    """Shared by the distributions given by a closed range [low, high]: low must not exceed high."""

    @model_validator(mode="after")
    def _order(self):
        if self.low > self.high:
            raise PydanticCustomError("low_gt_high", "low ({low}) is greater than high ({high})",
                                      {"low": self.low, "high": self.high, "hint": "swap low and high"})
        return self

    def support(self) -> tuple[float, float]:
        return self.low, self.high


class Uniform(_LowHigh):
    """Uniform on [low, high]."""

    dist: Literal["uniform"] = Field(description="Distribution tag.")
    low: float = Field(description="Lower end (inclusive).")
    high: float = Field(description="Upper end; must be >= low.")


class Normal(SpecModel):
    """Normal(mean, std), optionally clipped to [clip[0], clip[1]]."""

    dist: Literal["normal"] = Field(description="Distribution tag.")
    mean: float = Field(description="Mean.")
    std: float = Field(ge=0, description="Standard deviation (>= 0).")
    clip: list[float] | None = Field(None, min_length=2, max_length=2,
                                     description="Optional [low, high]: samples are clipped into this range.")

    @model_validator(mode="after")
    def _order(self) -> Normal:
        if self.clip is not None and self.clip[0] > self.clip[1]:
            raise PydanticCustomError("low_gt_high", "clip low ({low}) is greater than clip high ({high})",
                                      {"low": self.clip[0], "high": self.clip[1], "hint": "swap the clip bounds"})
        return self

    def support(self) -> tuple[float, float]:
        if self.clip is not None:
            return self.clip[0], self.clip[1]
        return self.mean, self.mean  # only the mean is checked against the field's bounds; samples are clipped


class LogUniform(_LowHigh):
    """exp(Uniform(log low, log high)); 0 < low <= high."""

    dist: Literal["log_uniform"] = Field(description="Distribution tag.")
    low: float = Field(gt=0, description="Lower end (> 0).")
    high: float = Field(gt=0, description="Upper end; must be >= low.")


class IntRange(_LowHigh):
    """A uniformly chosen integer in [low, high], both ends included."""

    dist: Literal["int_range"] = Field(description="Distribution tag.")
    low: int = Field(description="Smallest value (inclusive).")
    high: int = Field(description="Largest value (inclusive); must be >= low.")


class Choice(SpecModel, Generic[T]):
    """One of ``values``, with optional relative ``weights``."""

    dist: Literal["choice"] = Field(description="Distribution tag.")
    values: list[T] = Field(min_length=1, max_length=10_000, description="The values to choose from.")
    weights: list[Annotated[float, Field(ge=0)]] | None = Field(
        None, description="Relative weights, one per value (non-negative, not all zero). Default: equal."
    )

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise PydanticCustomError(
                    "weights_len", "{n} weights for {m} values",
                    {"n": len(self.weights), "m": len(self.values), "hint": "give one weight per value"})
            if sum(self.weights) <= 0:
                raise PydanticCustomError("weights_zero", "weights sum to zero", {"hint": "give a positive weight"})
        return self

    def support(self) -> tuple[float, float] | None:
        nums = [v for v in self.values if isinstance(v, int | float) and not isinstance(v, bool)]
        return (min(nums), max(nums)) if nums and len(nums) == len(self.values) else None


def named_choice(name: str, item: Any) -> type[Choice]:
    """``Choice[item]`` under a readable class name (it names the JSON Schema definition)."""
    return create_model(name, __base__=Choice[item], __doc__=f"One of ``values`` ({name}), with optional weights.")


FloatChoice = named_choice("FloatChoice", float)
IntChoice = named_choice("IntChoice", int)
BoolChoice = named_choice("BoolChoice", bool)
FloatDist = Annotated[Union[Uniform, Normal, LogUniform, IntRange, FloatChoice], Field(discriminator="dist")]
IntDist = Annotated[Union[IntRange, IntChoice], Field(discriminator="dist")]
Distribution = FloatDist


def _is_mapping(value: Any) -> bool:
    # dicts when validating, distribution models when serialising
    return isinstance(value, dict | BaseModel)


def _which(value: Any) -> str:
    return DIST if _is_mapping(value) else LIT


def _bounds_check(ge: float | None, le: float | None, gt: float | None, lt: float | None):
    def check(v: Any) -> Any:
        if isinstance(v, BaseModel):
            sup = v.support()  # type: ignore[attr-defined]
            if sup is None:
                return v
            lo, hi = sup
            bad = []
            if ge is not None and lo < ge:
                bad.append(f">= {ge:g}")
            if gt is not None and lo <= gt:
                bad.append(f"> {gt:g}")
            if le is not None and hi > le:
                bad.append(f"<= {le:g}")
            if lt is not None and hi >= lt:
                bad.append(f"< {lt:g}")
            if bad:
                what = "mean" if isinstance(v, Normal) and v.clip is None else "range"
                raise PydanticCustomError(
                    "dist_out_of_bounds",
                    "the distribution's {what} [{lo}, {hi}] leaves this field's allowed range ({need})",
                    {"what": what, "lo": lo, "hi": hi, "need": ", ".join(bad),
                     "hint": "keep low/high (or clip) inside the allowed range"})
        return v

    check.bounds = (ge, le, gt, lt)  # type: ignore[attr-defined]
    return check


def field_bounds(field_info: Any) -> tuple[float | None, float | None, float | None, float | None]:
    """(ge, le, gt, lt) of a field declared with :func:`Num` / :func:`Int` (all None otherwise)."""
    for m in getattr(field_info, "metadata", []) or []:
        b = getattr(getattr(m, "func", None), "bounds", None)
        if b is not None:
            return b
    ann = getattr(field_info, "annotation", None)
    for m in getattr(ann, "__metadata__", ()) or ():
        b = getattr(getattr(m, "func", None), "bounds", None)
        if b is not None:
            return b
    return (None, None, None, None)


def _time_which(value: Any) -> str:
    if _is_mapping(value):
        return DIST
    return "hhmm" if isinstance(value, str) else LIT


#: Hours 0..24 (literal or distribution) or an "HH:MM" string.
TimeOfDay = Annotated[
    Union[Annotated[Annotated[float, Field(ge=0, le=24)], Tag(LIT)], Annotated[FloatDist, Tag(DIST)],
          Annotated[str, Field(pattern=r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$|^24:00$"), Tag("hhmm")]],
    Discriminator(_time_which),
    AfterValidator(_bounds_check(0, 24, None, None)),
]


def hours(value: float | str) -> float:
    """A literal time of day (hours or 'HH:MM') as float hours."""
    if isinstance(value, str):
        h, m = value.split(":")
        return int(h) + int(m) / 60.0
    return float(value)


def Num(*, ge: float | None = None, le: float | None = None, gt: float | None = None,
        lt: float | None = None) -> Any:
    """A float field (literal or any distribution) with optional bounds applied to literals and supports."""
    lit = Annotated[float, Field(ge=ge, le=le, gt=gt, lt=lt)]
    return Annotated[
        Union[Annotated[lit, Tag(LIT)], Annotated[FloatDist, Tag(DIST)]],
        Discriminator(_which),
        AfterValidator(_bounds_check(ge, le, gt, lt)),
    ]


def Int(*, ge: int | None = None, le: int | None = None) -> Any:
    """An integer field (literal, ``int_range`` or ``choice``) with optional bounds."""
    lit = Annotated[int, Field(ge=ge, le=le)]
    return Annotated[
        Union[Annotated[lit, Tag(LIT)], Annotated[IntDist, Tag(DIST)]],
        Discriminator(_which),
        AfterValidator(_bounds_check(ge, le, None, None)),
    ]


def Cat(literal: Any, name: str) -> Any:
    """A categorical field: one of the ``Literal`` values, or a ``choice`` among them (schema name ``name``)."""
    return Annotated[
        Union[Annotated[literal, Tag(LIT)], Annotated[named_choice(name, literal), Tag(DIST)]],
        Discriminator(_which),
    ]


Bool = Annotated[
    Union[Annotated[bool, Tag(LIT)], Annotated[BoolChoice, Tag(DIST)]],
    Discriminator(_which),
]

# ---------------------------------------------------------------------------------------------------- colours
#: Named colours, linear RGB in [0, 1].
COLOURS: dict[str, tuple[float, float, float]] = {
    "white": (0.85, 0.85, 0.85),
    "black": (0.02, 0.02, 0.02),
    "silver": (0.55, 0.56, 0.58),
    "grey": (0.25, 0.25, 0.25),
    "dark_grey": (0.08, 0.08, 0.09),
    "red": (0.6, 0.03, 0.02),
    "dark_red": (0.25, 0.01, 0.01),
    "blue": (0.03, 0.08, 0.45),
    "dark_blue": (0.01, 0.02, 0.12),
    "light_blue": (0.25, 0.45, 0.7),
    "green": (0.05, 0.3, 0.06),
    "dark_green": (0.01, 0.08, 0.02),
    "yellow": (0.8, 0.6, 0.02),
    "orange": (0.8, 0.2, 0.01),
    "brown": (0.2, 0.08, 0.03),
    "beige": (0.6, 0.5, 0.35),
    "cream": (0.75, 0.68, 0.5),
    "brick": (0.35, 0.08, 0.04),
    "sandstone": (0.55, 0.4, 0.22),
    "concrete": (0.4, 0.4, 0.38),
    "purple": (0.2, 0.03, 0.3),
    "pink": (0.8, 0.3, 0.4),
}
ColourName = Literal[tuple(COLOURS)]  # type: ignore[valid-type]
RGB = Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=3, max_length=3)]


def _colour_which(value: Any) -> str:
    if _is_mapping(value):
        return DIST
    return "rgb" if isinstance(value, list) else "name"


ColourLiteral = Annotated[
    Union[Annotated[ColourName, Tag("name")], Annotated[RGB, Tag("rgb")]], Discriminator(_colour_which)
]
Colour = Annotated[
    Union[Annotated[ColourName, Tag("name")], Annotated[RGB, Tag("rgb")],
          Annotated[named_choice("ColourChoice", ColourLiteral), Tag(DIST)]],
    Discriminator(_colour_which),
]


def colour_rgb(value: str | list[float]) -> list[float]:
    """A literal colour (name or [r, g, b]) as linear RGB floats."""
    if isinstance(value, str):
        return [float(c) for c in COLOURS[value]]
    return [float(c) for c in value]
