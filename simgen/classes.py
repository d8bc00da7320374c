"""The semantic class table (``simgen/data/classes.yaml``): ids, names, colours, Cityscapes mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml


@dataclass(frozen=True)
class SemanticClass:
    id: int
    name: str
    colour: tuple[int, int, int]
    thing: bool
    cityscapes_id: int
    cityscapes_train_id: int


@dataclass(frozen=True)
class ClassTable:
    classes: tuple[SemanticClass, ...]
    #: fact name -> class names it holds for (``facts:`` in classes.yaml)
    facts: dict[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [c.id for c in self.classes]
        names = [c.name for c in self.classes]
        if len(set(ids)) != len(ids) or len(set(names)) != len(names):
            raise ValueError("class table has duplicate ids or names")
        for fact, members in self.facts.items():
            unknown = sorted(set(members) - set(names))
            if unknown:
                raise ValueError(f"class table fact {fact!r} names unknown classes {unknown}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def by_name(self, name: str) -> SemanticClass:
        for c in self.classes:
            if c.name == name:
                return c
        raise KeyError(name)

    def by_id(self, class_id: int) -> SemanticClass:
        for c in self.classes:
            if c.id == class_id:
                return c
        raise KeyError(class_id)

    def with_fact(self, fact: str) -> frozenset[str]:
        """Names of the classes a fact holds for (e.g. ``"person"``, ``"vehicle"``, ``"wets"``)."""
        try:
            return self.facts[fact]
        except KeyError:
            raise KeyError(f"unknown class fact {fact!r}; known: {sorted(self.facts)}") from None

    def palette(self) -> np.ndarray:
        """(256, 3) uint8 colour lookup table indexed by class id (unused ids are black)."""
        lut = np.zeros((256, 3), np.uint8)
        for c in self.classes:
            lut[c.id] = c.colour
        return lut

    def to_json(self) -> list[dict]:
        return [
            {
                "id": c.id,
                "name": c.name,
                "colour": list(c.colour),
                "thing": c.thing,
                "cityscapes_id": c.cityscapes_id,
                "cityscapes_train_id": c.cityscapes_train_id,
            }
            for c in self.classes
        ]


@lru_cache(maxsize=1)
def class_table() -> ClassTable:
    """The built-in class table (cached; immutable)."""
    text = resources.files("simgen").joinpath("data/classes.yaml").read_text()
    data = yaml.safe_load(text)
    rows = data["classes"]
    facts = {str(k): frozenset(str(n) for n in v) for k, v in (data.get("facts") or {}).items()}
    return ClassTable(
        tuple(
            SemanticClass(
                id=int(r["id"]),
                name=str(r["name"]),
                colour=tuple(int(v) for v in r["colour"]),
                thing=bool(r["thing"]),
                cityscapes_id=int(r["cityscapes_id"]),
                cityscapes_train_id=int(r["cityscapes_train_id"]),
            )
            for r in rows
        ),
        facts,
    )
