"""Safe YAML reading that remembers where every value came from.

Files are *composed* (never constructed) with PyYAML's safe composer, then turned into :class:`Node` trees by
hand: only the standard scalar, sequence and mapping tags are accepted, so no YAML tag can ever build a Python
object. Every node keeps its file, line and column (1-based) so that later validation errors point at the
exact spot. Problems are collected, never raised one at a time.

``extends:`` (a path relative to the file) deep-merges the file over its base: mappings merge key by key,
everything else (lists included) is replaced by the extending file's value.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from simgen.spec.errors import Issue, SpecError, format_path

#: Largest accepted file (bytes) and number of values after alias expansion.
MAX_FILE_BYTES = 4_000_000
MAX_NODES = 200_000
#: Deepest chain of ``extends``.
MAX_EXTENDS_DEPTH = 16

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass
class Node:
    """A located YAML value. ``value`` is ``dict[str, Node]``, ``list[Node]`` or a plain scalar."""

    value: Any
    file: str
    line: int
    column: int
    #: location of the mapping key that holds this value (same as the value's for list items and the root)
    key_line: int = 0
    key_column: int = 0
    #: bookkeeping; a file's root carries ``issues``: problems found while reading that did not stop it
    extra: dict = field(default_factory=dict)

    def plain(self) -> Any:
        """The value as plain Python data (dicts, lists, scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


class Located:
    """Plain data plus a map from field path (tuple of keys / indices) to the :class:`Node` it came from."""

    def __init__(self, root: Node):
        self.root = root
        self.data = root.plain()
        self.nodes: dict[tuple, Node] = {}
        self._index(root, ())
        #: problems found while reading (duplicate keys, tags, NaN) that did not stop the reading
        self.issues: list[Issue] = list(root.extra.get("issues", []))

    def _index(self, node: Node, path: tuple) -> None:
        self.nodes[path] = node
        if isinstance(node.value, dict):
            for k, v in node.value.items():
                self._index(v, (*path, k))
        elif isinstance(node.value, list):
            for i, v in enumerate(node.value):
                self._index(v, (*path, i))

    def issue(self, path: tuple, message: str, hint: str = "", *, at_key: bool = False) -> Issue:
        """An :class:`Issue` at ``path``, or at its deepest existing ancestor."""
        p = tuple(path)
        while p not in self.nodes and p:
            p = p[:-1]
        node = self.nodes.get(p, self.root)
        if at_key and node.key_line:
            line, col = node.key_line, node.key_column
        else:
            line, col = node.line, node.column
        return Issue(node.file, line, col, format_path(path), message, hint)


def _binary_issue(raw: bytes, name: str) -> Issue | None:
    if b"\x00" in raw:
        off = raw.index(b"\x00")
    else:
        try:
            raw.decode("utf-8")
            return None
        except UnicodeDecodeError as exc:
            off = exc.start
    line = raw.count(b"\n", 0, off) + 1
    col = off - (raw.rfind(b"\n", 0, off) + 1) + 1
    return Issue(name, line, col, "", "this is not a text file (binary data or not UTF-8)",
                 "scene files are UTF-8 YAML text")


def _tab_issues(text: str, name: str) -> list[Issue]:
    issues = []
    for n, line in enumerate(text.splitlines(), 1):
        lead = re.match(r"[ \t]*", line).group(0)
        if "\t" in lead and line.strip() and not line.lstrip().startswith("#"):
            issues.append(Issue(name, n, lead.index("\t") + 1, "", "tab character in indentation",
                                "YAML indents with spaces only; replace tabs with spaces"))
    return issues


class _Builder:
    def __init__(self, name: str):
        self.name = name
        self.issues: list[Issue] = []
        self.count = 0
        self.ctor = SafeConstructor()

    def build(self, node: yaml.Node, path: tuple, key_mark=None) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig()
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        kl, kc = (key_mark.line + 1, key_mark.column + 1) if key_mark is not None else (line, col)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                self._bad_tag(node, path)
            out: dict[str, Node] = {}
            first: dict[str, int] = {}
            for knode, vnode in node.value:
                if knode.tag == _TAG + "merge":
                    self.issues.append(Issue(self.name, knode.start_mark.line + 1, knode.start_mark.column + 1,
                                             format_path(path), "merge keys ('<<') are not supported",
                                             "use 'extends: other.yaml' to share defaults"))
                    continue
                if not isinstance(knode, yaml.ScalarNode) or knode.tag not in (_TAG + "str",):
                    if isinstance(knode, yaml.ScalarNode) and knode.tag in _SCALAR_TAGS and knode.style is None \
                            and knode.tag != _TAG + "null":
                        key = str(knode.value)  # numbers as keys: keep their text
                    else:
                        self.issues.append(Issue(self.name, knode.start_mark.line + 1, knode.start_mark.column + 1,
                                                 format_path(path), "mapping keys must be plain strings",
                                                 "write the key as text, e.g. name: value"))
                        continue
                else:
                    key = knode.value
                if key in out:
                    self.issues.append(Issue(self.name, knode.start_mark.line + 1, knode.start_mark.column + 1,
                                             format_path((*path, key)), f"duplicate key '{key}'",
                                             f"first given on line {first[key]}; keep only one"))
                    continue
                first[key] = knode.start_mark.line + 1
                out[key] = self.build(vnode, (*path, key), knode.start_mark)
            return Node(out, self.name, line, col, kl, kc)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                self._bad_tag(node, path)
            items = [self.build(v, (*path, i)) for i, v in enumerate(node.value)]
            return Node(items, self.name, line, col, kl, kc)
        return Node(self._scalar(node, path), self.name, line, col, kl, kc)

    def _bad_tag(self, node: yaml.Node, path: tuple) -> None:
        tag = node.tag.replace(_TAG, "!!")
        unsafe = "python" in tag
        self.issues.append(Issue(self.name, node.start_mark.line + 1, node.start_mark.column + 1, format_path(path),
                                 f"{'unsafe' if unsafe else 'unsupported'} YAML tag '{tag}'",
                                 "only plain YAML values are allowed (no tags)"))

    def _scalar(self, node: yaml.ScalarNode, path: tuple) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            self._bad_tag(node, path)
            return node.value
        try:
            if tag == _TAG + "str" or tag == _TAG + "timestamp":
                return node.value
            if tag == _TAG + "null":
                return None
            if tag == _TAG + "bool":
                return self.ctor.construct_yaml_bool(node)
            if tag == _TAG + "int":
                if ":" in node.value:  # YAML 1.1 base-60 ("12:30"): keep the text, e.g. a time of day
                    return node.value
                return self.ctor.construct_yaml_int(node)
            value = self.ctor.construct_yaml_float(node)
        except (ConstructorError, ValueError) as exc:
            self.issues.append(Issue(self.name, node.start_mark.line + 1, node.start_mark.column + 1,
                                     format_path(path), f"cannot read value {node.value!r}: {exc}"))
            return node.value
        if ":" in node.value:
            return node.value
        if not math.isfinite(value):
            self.issues.append(Issue(self.name, node.start_mark.line + 1, node.start_mark.column + 1,
                                     format_path(path), f"{node.value} is not a finite number",
                                     "NaN and infinity are not allowed; give a finite number"))
        return value


class _TooBig(Exception):
    pass


def read_yaml(path: str | Path, display: str | None = None) -> Node:
    """Read one YAML file into a located :class:`Node` tree (mapping at the top). Raises :class:`SpecError`."""
    name = display or str(path)
    raw = read_capped(path, MAX_FILE_BYTES, name)
    return parse_yaml(raw, name)


def _kind_of(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def read_capped(path: str | Path, limit: int, name: str | None = None, *, head: bool = False) -> bytes:
    """Read at most ``limit`` bytes of a regular file. Raises :class:`SpecError` (naming ``name``) when the file is
    missing, unreadable, not a regular file (FIFO, device, socket, folder: refused without reading, and without
    blocking on a FIFO), or larger than ``limit`` (checked on the size before reading, and again while reading).

    head=True: return the first ``limit`` bytes of a larger file instead of refusing it."""
    name = name or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SpecError([Issue(name, 1, 1, "", "file not found")]) from None
    except IsADirectoryError:
        raise SpecError([Issue(name, 1, 1, "", "is a directory, not a YAML file")]) from None
    except OSError as exc:
        raise SpecError([Issue(name, 1, 1, "", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            what = _kind_of(st.st_mode)
            raise SpecError([Issue(name, 1, 1, "", f"is {what}, not a YAML file", "give a regular file")])
        if st.st_size > limit and not head:
            raise SpecError([Issue(name, 1, 1, "", f"file is larger than {limit // 1_000_000} MB "
                                                   f"({st.st_size} bytes)", "scene files are small YAML documents")])
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SpecError([Issue(name, 1, 1, "", f"cannot read file: {exc.strerror or exc}")]) from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    return raw[:limit] if head else raw


#: Folders (besides the top file's own folder) that ``extends:`` may reach; set with :func:`include_roots`.
_INCLUDE_ROOTS: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar("simgen_include_roots", default=())


def allowed_include_roots() -> tuple[Path, ...]:
    """The folders allowed by the enclosing :func:`include_roots` block (resolved)."""
    return _INCLUDE_ROOTS.get()


@contextlib.contextmanager
def include_roots(*roots: str | Path) -> Iterator[None]:
    """Allow ``extends:`` to reach files under ``roots`` too (the CLI's ``--include-root``) within the block."""
    token = _INCLUDE_ROOTS.set(tuple(Path(r).resolve() for r in roots))
    try:
        yield
    finally:
        _INCLUDE_ROOTS.reset(token)


def parse_yaml(raw: bytes | str, name: str) -> Node:
    """Parse YAML text (bytes or str) named ``name`` into a located mapping :class:`Node`."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError([Issue(name, 1, 1, "", f"file is larger than {MAX_FILE_BYTES // 1_000_000} MB",
                               "scene files are small YAML documents")])
    bad = _binary_issue(raw, name)
    if bad:
        raise SpecError([bad])
    text = raw.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    tabs = _tab_issues(text, name)
    if tabs:
        raise SpecError(tabs)
    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            msg += f" ({exc.context})"
        raise SpecError([Issue(name, line, col, "", msg, "check indentation, colons and quotes near here")]) from None
    except yaml.YAMLError as exc:  # reader errors (control characters)
        mark = getattr(exc, "problem_mark", None)
        line = getattr(exc, "line", None)
        raise SpecError([Issue(name, (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1, "",
                               f"YAML error: {exc}".splitlines()[0])]) from None
    except RecursionError:
        raise SpecError([Issue(name, 1, 1, "", "document nests too deeply")]) from None
    docs = [d for d in docs if d is not None]
    if not docs:
        raise SpecError([Issue(name, 1, 1, "", "file is empty", "a scene file needs at least 'scene: {name: ...}'")])
    if len(docs) > 1:
        m = docs[1].start_mark
        raise SpecError([Issue(name, m.line + 1, m.column + 1, "", "more than one YAML document ('---')",
                               "put one scene per file")])
    doc = docs[0]
    if isinstance(doc, yaml.ScalarNode) and doc.tag == _TAG + "null":
        raise SpecError([Issue(name, 1, 1, "", "file is empty", "a scene file needs at least 'scene: {name: ...}'")])
    b = _Builder(name)
    try:
        root = b.build(doc, ())
    except _TooBig:
        raise SpecError([Issue(name, 1, 1, "", f"document expands to more than {MAX_NODES} values",
                               "aliases expanding into huge documents are not allowed")]) from None
    except RecursionError:
        raise SpecError([Issue(name, 1, 1, "", "document nests too deeply")]) from None
    if not isinstance(root.value, dict):
        kind = "a list" if isinstance(root.value, list) else "a single value"  # never echo the content
        b.issues.append(Issue(name, root.line, root.column, "", f"the document must be a mapping, got {kind}",
                              "start with keys such as 'scene:'"))
        raise SpecError(b.issues)
    # Problems that leave a usable tree (duplicate keys, tags, NaN) travel with it, so that validation can
    # still report everything else in the same run.
    root.extra["issues"] = list(b.issues)
    return root


def merge(base: Node, over: Node) -> Node:
    """Deep merge: mappings merge key by key (``over`` wins), anything else is replaced by ``over``."""
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        out = dict(base.value)
        for k, v in over.value.items():
            out[k] = merge(out[k], v) if k in out else v
        return Node(out, over.file, over.line, over.column, over.key_line, over.key_column)
    return over


#: An (empty) file that makes its folder the ``extends:`` root of every scene file below it.
ROOT_MARKER = ".simgen-root"


def scene_root(path: str | Path) -> Path:
    """The folder ``extends:`` chains starting at ``path`` must stay in (see :func:`load_with_extends`)."""
    here = Path(path).resolve().parent
    for folder in (here, *here.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    return here


def load_with_extends(path: str | Path, *, _stack: tuple[Path, ...] = (), display: str | None = None,
                      _root: Path | None = None) -> Node:
    """Read ``path`` and resolve its ``extends:`` chain (cycles and missing files are :class:`SpecError`).

    Every extended file must lie under the root — the nearest folder above ``path`` (the file that starts the
    chain) holding a :data:`ROOT_MARKER` file (the project's ``scenes/`` has one, so ``scenes/cameras/x.yaml`` may
    extend ``../base/street.yaml``), else the folder of ``path`` itself — or under a folder allowed with
    :func:`include_roots`; symlinks are resolved first. A file outside is refused before it is opened, so no error
    message ever shows a foreign file's content."""
    p = Path(path)
    root = _root or scene_root(p)
    node = read_yaml(p, display)
    ext = node.value.get("extends")
    if ext is None:
        node.value.pop("extends", None)
        return node
    name = node.file

    def at(msg: str, hint: str = "") -> SpecError:
        return SpecError([Issue(name, ext.line, ext.column, "extends", msg, hint)])

    if not isinstance(ext.value, str) or not ext.value.strip():
        raise at("extends must be a file path (text)", "e.g. extends: base/street.yaml")
    target = (p.parent / ext.value).resolve()
    me = p.resolve()
    chain = (*_stack, me)
    if target in chain:
        cyc = " -> ".join(str(c.name) for c in (*chain[chain.index(target):], target))
        raise at(f"extends cycle: {cyc}", "a file may not extend itself, directly or through others")
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise at(f"extends chain deeper than {MAX_EXTENDS_DEPTH} files")
    allowed = (root, *_INCLUDE_ROOTS.get())
    if not any(target.is_relative_to(a) for a in allowed):
        raise at(f"extends '{ext.value}' leaves the scene folder {root}",
                 "extended files must be under the folder of the file you load (or of a folder above it holding "
                 f"a {ROOT_MARKER} file); pass --include-root FOLDER to allow another folder")
    if not target.is_file():
        raise at(f"extended file '{ext.value}' not found (looked for {target})",
                 "the path is relative to the file that extends it")
    base_display = str(Path(display or str(p)).parent / ext.value) if display else str(target)
    try:
        base = load_with_extends(target, _stack=chain, display=base_display, _root=root)
    except SpecError as err:
        # keep the base file's own problems, and say where it was pulled in
        raise SpecError([*err.issues, Issue(name, ext.line, ext.column, "extends",
                                            f"the extended file '{ext.value}' has problems (listed above)")]) from None
    node.value.pop("extends")
    merged = merge(base, node)
    merged.extra["issues"] = [*base.extra.get("issues", []), *node.extra.get("issues", [])]
    return merged
