"""Edge cases: one module per kind behind a registry (:data:`KINDS`).

Each module registers a builder for one spec model of :data:`simgen.spec.models.EdgeCase`
(``@register(S.Jaywalker, visible_as="direct")``); the builder gets an :class:`EdgeContext` and the case's typed
parameters (the spec's model, every field a literal) and adds its objects to the world being built. The object
that must be seen for a frame to carry the case's tag (the *actor*) is marked with ``edge_case_visible_as``
(``direct``, ``mirror`` or ``glass``); :mod:`simgen.labels.edge_cases` counts its pixels at render time.
"""

from __future__ import annotations

from simgen.world.build import EdgeCaseError
from simgen.world.edge_cases.base import EdgeContext
from simgen.world.edge_cases.registry import KINDS, EdgeKind, register

# the kinds (importing a module registers it)
from simgen.world.edge_cases import (  # noqa: E402,F401  isort: skip
    reflection_window, reflection_puddle, reflection_car, reflection_wet_road, jaywalker, occluded_child,
    headlight_glare, glass_shelter, distant_pedestrian, cyclist, partly_hidden,
)


def build_edge_case(b, e) -> None:
    """Arrange one resolved edge case (:class:`simgen.spec.resolved.REdgeCase`) in the world ``b`` being built.
    Raises :class:`EdgeCaseError` when the scene leaves no way to arrange it."""
    k = KINDS.get(e.kind)
    if k is None:
        raise EdgeCaseError(f"edge_cases.{e.name}: unknown kind '{e.kind}' (known: {', '.join(KINDS)})")
    if not isinstance(e.params, k.spec):
        raise TypeError(f"edge_cases.{e.name}: parameters are {type(e.params).__name__}, not {k.spec.__name__}")
    k.build(EdgeContext(b, e), e.params)


__all__ = ["KINDS", "EdgeCaseError", "EdgeContext", "EdgeKind", "build_edge_case", "register"]
