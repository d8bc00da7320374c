"""One conversion of Python/numpy values to strict JSON values, shared by the dataset writer and the reports."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(obj: Any, *, lenient: bool = False) -> Any:
    """Recursively convert numpy scalars/arrays, tuples, sets, paths, dataclasses and pydantic models into JSON
    values. Non-finite floats become None (strict JSON). Objects with a ``to_json()`` method are converted
    through it. Anything else raises TypeError, or becomes ``str(obj)`` when ``lenient``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), lenient=lenient)
    if isinstance(obj, Path):
        return str(obj)
    if callable(getattr(obj, "to_json", None)) and not isinstance(obj, type):
        return to_jsonable(obj.to_json(), lenient=lenient)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj), lenient=lenient)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, lenient=lenient) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v, lenient=lenient) for v in obj]
    if hasattr(obj, "model_dump"):  # pydantic
        return to_jsonable(obj.model_dump(mode="json"), lenient=lenient)
    if lenient:
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in JSON")
