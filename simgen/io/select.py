"""Choosing samples of a dataset: filters on tags, row fields and knobs; splits that keep sequences whole.

Filter expressions (``simgen export --filter``, :func:`parse_filter`):

- ``tag=night`` / ``tag!=night``: the row has (does not have) the tag;
- ``scene=...``, ``camera=...``, ``variant=...``, ``frame<10``: manifest row fields;
- anything else names a knob (``knobs`` of the row; ``knob.NAME`` also works): ``fog_density<0.2``,
  ``weather=rain``, ``night=true``. Operators: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``. Values compare as
  numbers when both sides are numbers, as booleans for ``true``/``false``, else as strings. A row without the
  knob does not match.

Splits (:func:`split_of`): a sequence (its folder ``<scene>/<sequence>``) goes wholly to one split, chosen by a hash of its name and
the split seed, so all frames of a sequence and all cameras of a rig stay on one side, and adding sequences never
moves the others.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from simgen.errors import SimgenError
from simgen.io.dataset import ManifestRow

_OPS = {"<=": operator.le, ">=": operator.ge, "!=": operator.ne, "=": operator.eq, "<": operator.lt, ">": operator.gt}
_EXPR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(<=|>=|!=|==|=|<|>)\s*(.*?)\s*$")
ROW_KEYS = ("scene", "camera", "variant", "frame", "seed", "sample_id")
DEFAULT_SPLITS = {"train": 0.8, "val": 0.1, "test": 0.1}


class SelectionError(SimgenError):
    """A filter or split that cannot be understood."""


def _value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class Filter:
    """One parsed filter expression (see the module docstring)."""

    key: str
    op: str
    value: object
    text: str

    def __call__(self, row: ManifestRow) -> bool:
        fn = _OPS[self.op]
        if self.key == "tag":
            if self.op not in ("=", "!="):
                raise SelectionError(f"filter {self.text!r}: tags take = or != only")
            has = str(self.value) in row.tags
            return has if self.op == "=" else not has
        if self.key in ROW_KEYS:
            have = getattr(row, self.key)
        else:
            name = self.key[5:] if self.key.startswith("knob.") else self.key
            if name not in row.knobs:
                return False
            have = row.knobs[name]
        return _compare(fn, have, self.value, self.op)


def _compare(fn, have, want, op) -> bool:
    if isinstance(have, str) and not isinstance(want, str):
        have = _value(have)
    if isinstance(want, bool) or isinstance(have, bool):  # booleans match only booleans, by = / !=
        same_kind = isinstance(want, bool) and isinstance(have, bool)
        if op not in ("=", "!="):
            return False
        return bool(fn(have, want)) if same_kind else op == "!="
    if isinstance(have, (int, float)) and isinstance(want, (int, float)):
        return bool(fn(have, want))
    if op in ("=", "!="):
        return bool(fn(str(have), str(want)))
    return False  # an order between a number and a word is not defined


def parse_filter(text: str) -> Filter:
    """``KEY OP VALUE`` -> :class:`Filter`; :class:`SelectionError` naming the expression when malformed."""
    m = _EXPR.match(text)
    if not m or not m.group(3):
        raise SelectionError(f"filter {text!r}: expected KEY OP VALUE, e.g. tag=night or fog_density<0.2 "
                             f"(operators: = != < <= > >=)")
    key, op, raw = m.groups()
    op = "=" if op == "==" else op
    if key == "tag" and op not in ("=", "!="):
        raise SelectionError(f"filter {text!r}: tags take = or != only")
    value = raw if key == "tag" else _value(raw)
    if op in ("<", "<=", ">", ">=") and (isinstance(value, (bool, str))):
        raise SelectionError(f"filter {text!r}: {op} needs a number, got {raw!r}")
    return Filter(key, op, value, text)


def parse_splits(text: str | None) -> dict[str, float]:
    """``train=0.8,val=0.1,test=0.1`` -> {name: share}; shares must be positive (they are normalised)."""
    if not text:
        return dict(DEFAULT_SPLITS)
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        try:
            value = float(share)
        except ValueError:
            raise SelectionError(f"split shares {text!r}: {part!r} is not NAME=SHARE") from None
        if not name.strip() or value <= 0:
            raise SelectionError(f"split shares {text!r}: {part!r} needs a name and a share > 0")
        out[name.strip()] = value
    return out


def split_of(sequence: str, shares: dict[str, float], seed: int = 0) -> str:
    """The split a sequence (its folder ``<scene>/<sequence>``) belongs to: a stable hash of (seed, sequence) in
    [0, 1) against the cumulative normalised shares (in the order given)."""
    digest = hashlib.sha256(f"{seed}\x00{sequence}".encode()).digest()
    x = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(shares.values())
    acc = 0.0
    names = list(shares)
    for name in names:
        acc += shares[name] / total
        if x < acc:
            return name
    return names[-1]


def select(rows: Iterable[ManifestRow], filters: Sequence[Filter | str] = (), split: str | Sequence[str] | None = None,
           shares: dict[str, float] | None = None, seed: int = 0) -> list[ManifestRow]:
    """Rows that pass every filter and (when ``split`` is given) belong to that split (or one of those splits)."""
    fs = [f if isinstance(f, Filter) else parse_filter(f) for f in filters]
    shares = shares or dict(DEFAULT_SPLITS)
    wanted = None if split is None else ({split} if isinstance(split, str) else set(split))
    if wanted is not None and not wanted <= set(shares):
        raise SelectionError(f"unknown split {sorted(wanted - set(shares))}; the splits are {', '.join(shares)}")
    out = []
    for r in rows:
        if wanted is not None and split_of(r.sequence, shares, seed) not in wanted:
            continue
        if all(f(r) for f in fs):
            out.append(r)
    return out
