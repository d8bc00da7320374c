"""Turn located YAML data into a validated model, or one :class:`SpecError` listing every problem."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from simgen.spec.errors import Issue, SpecError, did_you_mean, format_path
from simgen.spec.yamlio import Located

M = TypeVar("M", bound=BaseModel)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_PLAIN = {
    **dict.fromkeys(("float_type", "float_parsing", "finite_number"), "expected a number"),
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "expected an integer"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "expected true or false"),
    **dict.fromkeys(("string_type",), "expected text"),
    **dict.fromkeys(("model_type", "dict_type", "model_attributes_type"), "expected a mapping (key: value lines)"),
    **dict.fromkeys(("list_type", "tuple_type"), "expected a list"),
}


def _walk(data: Any, loc: tuple) -> tuple[tuple, Any, Any]:
    """Follow a pydantic error location through the data, skipping union-branch tags.

    Returns (path that exists in the data, the value there, its parent container).
    """
    path: list = []
    cur, parent = data, None
    for el in loc:
        if isinstance(cur, dict) and isinstance(el, str) and el in cur:
            parent, cur = cur, cur[el]
            path.append(el)
        elif isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            parent, cur = cur, cur[el]
            path.append(el)
    return tuple(path), cur, parent


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text or "")


def issue_from_error(located: Located, err: dict, context: dict) -> Issue:
    loc = tuple(err["loc"])
    typ = err["type"]
    ctx = err.get("ctx") or {}
    path, value, parent = _walk(located.data, loc)
    hint = str(ctx.get("hint", "")) if isinstance(ctx, dict) else ""
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    at_key = False
    if typ == "extra_forbidden":
        key = path[-1] if path else loc[-1]
        holder = parent if path else located.data
        allowed = context.get("allowed", {}).get(id(holder), [])
        msg = f"unknown key '{key}'"
        hint = did_you_mean(str(key), allowed)
        at_key = True
    elif typ == "missing":
        msg = f"missing required field '{loc[-1]}'"
        path = (*path, loc[-1])
    elif typ == "literal_error":
        options = _quoted(ctx.get("expected", ""))
        msg = f"{_short(err.get('input'))} is not allowed; expected {ctx.get('expected', '')}"
        hint = did_you_mean(str(err.get("input")), options, listing=False)
    elif typ == "union_tag_invalid":
        disc = _quoted(ctx.get("discriminator", "")) or ["kind"]
        options = _quoted(ctx.get("expected_tags", ""))
        what = "distribution" if disc[0] == "dist" else disc[0]
        msg = f"unknown {what} '{ctx.get('tag')}'"
        hint = did_you_mean(str(ctx.get("tag")), options)
    elif typ == "union_tag_not_found":
        disc = _quoted(ctx.get("discriminator", "")) or ["kind"]
        msg = f"missing the '{disc[0]}' key"
        hint = "e.g. dist: uniform (or uniform/normal/log_uniform/choice/int_range)" if disc[0] == "dist" \
            else f"say which {disc[0]} this is"
    elif typ in ("string_pattern_mismatch",):
        msg = f"{_short(err.get('input'))} has the wrong form"
        if ":" in str(ctx.get("pattern", "")):
            hint = hint or "write the time as HH:MM between 00:00 and 24:00, e.g. '13:30'"
        else:
            hint = hint or "names use letters, digits, '_', '.' and '-' and start with a letter or digit"
    elif typ in _PLAIN:
        got = err.get("input")
        what = "a mapping" if isinstance(got, dict) else "a list" if isinstance(got, list) else _short(got)
        msg = f"{_PLAIN[typ]}, got {what}"
    elif not hint and "input" in err and not isinstance(err["input"], dict | list):
        msg = f"{msg}, got {_short(err['input'])}"
    return located.issue(path, msg, hint, at_key=at_key)


def validate(located: Located, model: type[M], extra_checks=None) -> M:
    """Validate ``located.data`` against ``model``; raise :class:`SpecError` with every problem.

    ``extra_checks(instance, located) -> list[Issue]`` runs on a valid instance (cross-field rules).
    """
    context: dict = {}
    issues = list(located.issues)
    seen_paths = {i.path for i in issues}
    try:
        obj = model.model_validate(located.data, context=context)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            iss = issue_from_error(located, err, context)
            if iss.path in seen_paths and iss.path:
                continue
            issues.append(iss)
        raise SpecError(issues) from None
    except RecursionError:
        issues.append(located.issue((), "document nests too deeply"))
        raise SpecError(issues) from None
    if extra_checks is not None:
        issues.extend(extra_checks(obj, located))
    if issues:
        raise SpecError(issues)
    return obj


__all__ = ["validate", "issue_from_error", "format_path"]
