"""The registry of edge-case kinds: kind name -> (spec model, builder, how its actor must be seen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simgen.world.edge_cases.base import VISIBLE_AS


@dataclass(frozen=True)
class EdgeKind:
    """One kind: ``spec`` is its model in :mod:`simgen.spec.models`; ``build(ctx, params)`` arranges it in the
    world (``params`` an instance of ``spec``); ``visible_as``: how its actor is seen (``direct``, ``mirror``,
    ``glass``) — what the render-time check counts."""

    kind: str
    spec: type
    build: Callable[[Any, Any], None]
    visible_as: str


KINDS: dict[str, EdgeKind] = {}


def register(spec: type, visible_as: str):
    """Decorator: register ``build(ctx, params)`` for the kind of the spec model ``spec``."""
    kind = spec.model_fields["kind"].annotation.__args__[0]
    assert visible_as in VISIBLE_AS, visible_as

    def deco(fn):
        if kind in KINDS:
            raise ValueError(f"edge-case kind '{kind}' registered twice")
        KINDS[kind] = EdgeKind(kind, spec, fn, visible_as)
        return fn

    return deco
