"""Is an edge case visible in a frame? Pixel counts of each case's actor, from the frame's own labels.

Every edge case marks the object that must be seen for a frame to carry the case's tag (its *actor*,
:mod:`simgen.world.edge_cases`) with ``edge_case_visible_as``:

- ``direct``: pixels of the actor's instance id in the instance mask;
- ``mirror``: pixels whose reflection label shows the actor as a mirror image (``reflection`` channel 1 set and
  ``reflection_instance`` = the actor's id);
- ``glass``: pixels that show the actor through glass (``reflection`` channel 2 set and ``reflection_instance`` =
  the actor's id).

A case is visible when its actor has at least :data:`MIN_PIXELS` such pixels. Mirror and glass cases cannot be
checked without the reflection labels: they are then *unchecked* (tagged, and listed as such).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgen.world.model import World

#: pixels an actor needs for its case to count as visible, by how it is seen (a reflection needs only to be there)
MIN_PIXELS = {"direct": 4, "mirror": 1, "glass": 1}


@dataclass(frozen=True)
class Sighting:
    """One edge case in one frame: ``pixels`` of its actor seen as ``visible_as``; ``checked`` False when the
    labels needed to count them were not rendered (then ``pixels`` is -1 and the case counts as visible)."""

    name: str
    kind: str
    visible_as: str
    pixels: int
    needed: int
    checked: bool = True

    @property
    def visible(self) -> bool:
        return not self.checked or self.pixels >= self.needed


def edge_case_actors(world: World) -> dict[str, tuple[str, str, list[int]]]:
    """name -> (kind, visible_as, instance ids of its actors) of every edge case with an actor in ``world``."""
    out: dict[str, tuple[str, str, list[int]]] = {}
    for e in world.entities:
        a = e.attributes
        how = a.get("edge_case_visible_as")
        if how is None or not e.instance_id:
            continue
        kind, _, ids = out.setdefault(a["edge_case_name"], (a["edge_case_kind"], how, []))
        ids.append(int(e.instance_id))
    return out


def sightings(actors: dict[str, tuple[str, str, list[int]]], instance: np.ndarray,
              reflection: np.ndarray | None = None, reflection_instance: np.ndarray | None = None,
              min_pixels: dict[str, int] | None = None) -> list[Sighting]:
    """Every edge case's :class:`Sighting` in one frame.

    actors: from :func:`edge_case_actors`. instance: (H, W) uint16 instance ids. reflection: optional (H, W, 3)
    float (direct, mirror, glass in {0, 1}); reflection_instance: optional (H, W) uint16 id of the person seen
    via a mirror or through glass."""
    need = {**MIN_PIXELS, **(min_pixels or {})}
    out = []
    for name, (kind, how, ids) in sorted(actors.items()):
        if how == "direct":
            n = int(np.isin(instance, ids).sum())
        elif reflection is None or reflection_instance is None:
            out.append(Sighting(name, kind, how, -1, need[how], checked=False))
            continue
        else:
            channel = reflection[..., 1 if how == "mirror" else 2] > 0.5
            n = int((channel & np.isin(reflection_instance, ids)).sum())
        out.append(Sighting(name, kind, how, n, need[how]))
    return out


def frame_tags(seen: list[Sighting]) -> tuple[list[str], list[str], list[str]]:
    """(kinds to tag: some case of the kind is visible, kinds not visible at all, kinds left unchecked), sorted."""
    visible = {s.kind for s in seen if s.visible}
    return (sorted(visible), sorted({s.kind for s in seen} - visible),
            sorted({s.kind for s in seen if not s.checked}))
