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
class ClassGroup:
    """A set of classes compared as one by the realism measurements (``groups:`` in classes.yaml).

    classes: member class names (the classes of the group's fact, in table order). coco: COCO class names (a
    real-photo detector's vocabulary) that count as this group.
    """

    name: str
    classes: tuple[str, ...]
    coco: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassTable:
    classes: tuple[SemanticClass, ...]
    #: fact name -> class names it holds for (``facts:`` in classes.yaml)
    facts: dict[str, frozenset[str]] = field(default_factory=dict)
    #: class groups of the realism measurements (``groups:`` in classes.yaml)
    groups: tuple[ClassGroup, ...] = ()
    #: export format -> {class name: the format's name for it} (``exports:`` in classes.yaml)
    exports: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [c.id for c in self.classes]
        names = [c.name for c in self.classes]
        if len(set(ids)) != len(ids) or len(set(names)) != len(names):
            raise ValueError("class table has duplicate ids or names")
        for fact, members in self.facts.items():
            unknown = sorted(set(members) - set(names))
            if unknown:
                raise ValueError(f"class table fact {fact!r} names unknown classes {unknown}")
        for fmt, mapping in self.exports.items():
            unknown = sorted(set(mapping) - set(names))
            if unknown:
                raise ValueError(f"class table exports.{fmt} names unknown classes {unknown}")
        members = [c for g in self.groups for c in g.classes]
        if len(set(members)) != len(members) or not set(members) <= set(names):
            raise ValueError("class groups must name known classes, each in at most one group")

    def group(self, name: str) -> ClassGroup:
        """The class group called ``name`` (KeyError naming the known groups otherwise)."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"unknown class group {name!r}; known: {', '.join(g.name for g in self.groups)}")

    def group_of(self, class_name: str) -> str | None:
        """Name of the group ``class_name`` belongs to, or None."""
        for g in self.groups:
            if class_name in g.classes:
                return g.name
        return None

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

    def export_names(self, fmt: str) -> dict[str, str]:
        """{class name: name in export format ``fmt``} for the formats with fixed class lists (e.g. ``"kitti"``)."""
        try:
            return self.exports[fmt]
        except KeyError:
            raise KeyError(f"no class names for export format {fmt!r}; known: {sorted(self.exports)}") from None

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
    order = [str(r["name"]) for r in rows]
    groups = tuple(
        ClassGroup(name=str(k), classes=tuple(n for n in order if n in facts[str(v["fact"])]),
                   coco=tuple(str(c) for c in v.get("coco", ())))
        for k, v in (data.get("groups") or {}).items()
    )
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
        exports={str(f): {str(k): str(v) for k, v in m.items()} for f, m in (data.get("exports") or {}).items()},
        groups=groups,
    )
