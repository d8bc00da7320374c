"""Spec problems: every issue carries its file, line, column and field path, and all are reported at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from simgen.errors import SimgenError


@dataclass(frozen=True)
class Issue:
    """One problem in a spec file. ``line`` and ``column`` are 1-based; ``path`` is dotted (``objects[0].count``)."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path or '(document)'}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class SpecError(SimgenError):
    """A scene, sweep or render-config file is invalid. ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues: list[Issue] = sorted(
            dict.fromkeys(issues), key=lambda i: (i.file, i.line, i.column, i.path, i.message)
        )
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)

    def __reduce__(self):  # survives pickling (worker processes report spec errors to the parent)
        return (type(self), (self.issues,))


def did_you_mean(word: str, options: Iterable[str], *, listing: bool = True) -> str:
    """A hint: the closest option (``did you mean 'weather'?``) or, failing that, the allowed options."""
    opts = sorted({str(o) for o in options})
    close = difflib.get_close_matches(str(word), opts, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if listing and opts:
        shown = ", ".join(opts[:25]) + (", ..." if len(opts) > 25 else "")
        return f"expected one of: {shown}"
    return ""


def format_path(parts: Sequence[str | int]) -> str:
    """``('objects', 0, 'count')`` -> ``objects[0].count``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out
