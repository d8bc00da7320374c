"""Walk the fields of a spec model: every leaf field with its dotted path (``objects[].placement.region``,
``edge_cases[jaywalker].gap_m``), for the field-coverage test."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from simgen.spec import fields as F


def _is_distribution(cls: type) -> bool:
    return issubclass(cls, (F.Uniform, F.Normal, F.LogUniform, F.IntRange, F.Choice))


def _models(tp: Any, out: list, in_list: list) -> None:
    """Spec models reachable in the type ``tp`` (distributions excluded); in_list[0] set when under a list."""
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if not _is_distribution(tp):
            out.append(tp)
        return
    if origin in (list, tuple):
        in_list[0] = True
    if origin is dict:
        return
    for a in typing.get_args(tp):
        _models(a, out, in_list)


@dataclass(frozen=True)
class Leaf:
    path: str
    model: type
    name: str


def leaves(model: type[BaseModel], prefix: str = "") -> list[Leaf]:
    """Every leaf field below ``model``: lists of models as ``name[]``, unions of tagged models as ``name[kind]``."""
    out: list[Leaf] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        found: list[type] = []
        in_list = [False]
        _models(info.annotation, found, in_list)
        path = f"{prefix}{key}"
        if not found:
            out.append(Leaf(path, model, name))
            continue
        if len(found) > 1:
            for m in found:
                kind = typing.get_args(m.model_fields["kind"].annotation)[0]
                out.extend(leaves(m, f"{path}[{kind}]."))
        else:
            out.extend(leaves(found[0], f"{path}[]." if in_list[0] else f"{path}."))
    return out
