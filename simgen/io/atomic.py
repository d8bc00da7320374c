"""Crash-safe file writes: write under a temporary name in the target directory, fsync, then ``os.replace``.

A reader never sees a half-written file under a final name: either the old file (or none) or the complete new
one. Temporary names start with ``.`` and contain ``.tmp-`` so that they are easy to recognise and ignore.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_MARK = ".tmp-"


def temp_path_for(final: Path) -> Path:
    """A fresh temporary path next to ``final`` (same directory, so the rename is atomic), keeping its suffix."""
    final = Path(final)
    return final.with_name(f".{final.stem}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}{final.suffix}")


def is_temp_name(path: Path) -> bool:
    return Path(path).name.startswith(".") and TMP_MARK in Path(path).name


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """fsync a directory so that renames inside it are durable (best effort where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stage(final: Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a temporary path next to ``final`` and fsync the result; returns the temp path.

    The temp file is removed if ``write`` fails. Call :func:`commit` to move it into place.
    """
    tmp = temp_path_for(final)
    try:
        write(tmp)
        if not tmp.exists():
            raise OSError(f"writer produced no file for {final}")
        fsync_file(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def commit(tmp: Path, final: Path) -> None:
    """Atomically rename a staged temp file onto its final name."""
    os.replace(tmp, final)


def atomic_write(final: Path, write: Callable[[Path], None]) -> None:
    """Write ``final`` atomically: ``write(tmp)`` then fsync and rename; the directory is fsynced afterwards."""
    final = Path(final)
    commit(stage(final, write), final)
    fsync_dir(final.parent)


def atomic_write_bytes(final: Path, data: bytes) -> None:
    """Write ``data`` to ``final`` atomically."""
    atomic_write(final, lambda p: Path(p).write_bytes(data))


def atomic_write_text(final: Path, text: str) -> None:
    atomic_write_bytes(final, text.encode("utf-8"))


@contextlib.contextmanager
def staged_files() -> Iterator["StagedFiles"]:
    """Stage several files and rename them all into place only if the block finishes without an exception;
    otherwise every staged temp file is removed."""
    group = StagedFiles()
    try:
        yield group
    except BaseException:
        group.discard()
        raise
    group.commit_all()


class StagedFiles:
    """A group of staged writes (see :func:`staged_files`)."""

    def __init__(self) -> None:
        self._items: list[tuple[Path, Path]] = []

    def add(self, final: Path, write: Callable[[Path], None]) -> None:
        final = Path(final)
        self._items.append((stage(final, write), final))

    def discard(self) -> None:
        for tmp, _ in self._items:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._items.clear()

    def commit_all(self) -> None:
        dirs = set()
        for tmp, final in self._items:
            commit(tmp, final)
            dirs.add(final.parent)
        for d in dirs:
            fsync_dir(d)
        self._items.clear()
