"""A digest of a built World: one hash per component (entities by name, cameras, lights, lighting, weather, ...),
so a test can tell whether two worlds differ and where."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
from pydantic import BaseModel


def _feed(h, obj, skip=("rig",)) -> None:
    if isinstance(obj, np.ndarray):
        a = np.asarray(obj)
        h.update(repr((a.shape, str(a.dtype))).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    elif isinstance(obj, BaseModel):
        _feed(h, obj.model_dump())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__name__.encode())
        for f in dataclasses.fields(obj):
            if f.name not in skip:
                h.update(f.name.encode())
                _feed(h, getattr(obj, f.name))
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _feed(h, obj[k])
    elif isinstance(obj, list | tuple):
        h.update(f"[{len(obj)}".encode())
        for x in obj:
            _feed(h, x)
    elif isinstance(obj, float):
        h.update(repr(round(obj, 9) + 0.0).encode())
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        _feed(h, {k: v for k, v in vars(obj).items() if not k.startswith("_")})
    else:
        h.update(repr(obj).encode())


def digest(obj) -> str:
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()[:16]


def world_digest(world) -> dict[str, str]:
    """component -> hash: ``entity:<name>`` for every entity, ``camera:<name>``, ``lights``, ``lighting``,
    ``weather``, ``credits``, ``timing`` (frames, fps, render seed)."""
    out = {f"entity:{e.name}": digest(e) for e in world.entities}
    out.update({f"camera:{c.name}": digest(c) for c in world.cameras})
    out["lights"] = digest(world.lights)
    out["lighting"] = digest(world.lighting)
    out["weather"] = digest(world.weather)
    out["credits"] = digest(world.credits)
    out["timing"] = digest((world.frame_count, world.fps, world.render_seed))
    return out


def changed(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Components that differ (added, removed or changed)."""
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
