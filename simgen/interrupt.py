"""Ctrl-C (SIGINT) and SIGTERM that stop simgen promptly, even inside a Blender render.

Blender renders in C threads and swallows a ``KeyboardInterrupt`` raised in its Python callbacks, so Python's
own signal handling cannot stop a render: the signal would wait until the render returns. Instead,
:func:`install` (called by the ``simgen`` command before anything starts a thread) blocks SIGINT and SIGTERM in
every thread and starts one watcher thread that receives them with :func:`signal.sigwait`. The watcher gets the
GIL while Blender renders (the render releases it), so it reacts within milliseconds in every phase.

What the watcher does depends on the main thread:

- inside :func:`hard_stop` (``simgen render``): it waits for any :func:`critical` section (the dataset commit)
  to end, runs the registered cleanups (:func:`on_stop`: the staging folder, Blender's temporary folder), prints
  one line and ends the process with :func:`os._exit` (code 130 for SIGINT, 143 for SIGTERM). Nothing was
  committed, so the dataset is exactly as it was; ``os._exit`` also skips Blender's exit-time memory report.
- elsewhere: it raises ``KeyboardInterrupt`` in the main thread (the usual Ctrl-C behaviour; the CLI prints
  "interrupted" and exits 130, or 143 for SIGTERM). If the main thread does not stop within
  :data:`SOFT_GRACE_SECONDS` (stuck in native code), the process ends as above.
A second signal always ends the process at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

#: seconds the main thread gets to act on a KeyboardInterrupt before the process is ended
SOFT_GRACE_SECONDS = 5.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_lock = threading.RLock()  # guards the state below
_critical = threading.RLock()  # held by the main thread while committing
_cleanups: dict[int, Callable[[], None]] = {}
_hard_depth = 0
_received: int | None = None
_installed = False
_commits_done = 0


def received() -> int | None:
    """The signal number received (SIGINT 2, SIGTERM 15), or None."""
    return _received


def exit_code(signum: int | None = None) -> int:
    """Shell convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum or _received or signal.SIGINT)


def install() -> bool:
    """Route SIGINT/SIGTERM to a watcher thread. Call from the main thread before any other thread starts (threads
    inherit the blocked mask; one started earlier could take the signal instead). Returns False where it cannot
    (not the main thread, no ``pthread_sigmask``): Python's default handling stays."""
    global _installed
    if _installed:
        return True
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, set(_SIGNALS))
    if hasattr(signal, "SIGUSR2"):  # the watcher's way to raise KeyboardInterrupt in the main thread
        signal.signal(signal.SIGUSR2, _raise_in_main)
    threading.Thread(target=_watch, name="simgen-signal-watcher", daemon=True).start()
    _installed = True
    return True


def on_stop(cleanup: Callable[[], None]) -> Callable[[], None]:
    """Register ``cleanup`` to run if the process is stopped by a signal; returns a function that unregisters it."""
    key = id(cleanup)
    with _lock:
        _cleanups[key] = cleanup

    def remove() -> None:
        with _lock:
            _cleanups.pop(key, None)

    return remove


def remove_tree_on_stop(path: str | Path) -> Callable[[], None]:
    """Register the removal of folder ``path`` (moved aside first, so writes still under way cannot recreate it)."""
    path = Path(path)

    def cleanup() -> None:
        target = path
        trash = path.with_name(f"{path.name}.stopped")
        with contextlib.suppress(OSError):
            os.replace(path, trash)
            target = trash
        for _ in range(5):  # a write in flight may add a file while the tree is removed
            shutil.rmtree(target, ignore_errors=True)
            if not target.exists():
                break

    return on_stop(cleanup)


@contextlib.contextmanager
def hard_stop() -> Iterator[None]:
    """Within the block, a signal ends the process right away (after the cleanups), whatever the main thread is
    doing: for long native work such as Blender renders. Combine with :func:`critical` for steps that must not
    be cut short."""
    global _hard_depth
    with _lock:
        _hard_depth += 1
    try:
        yield
    finally:
        with _lock:
            _hard_depth -= 1


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A section a signal must not cut (the commit): the watcher waits until it ends before stopping the process."""
    global _commits_done
    with _critical:
        yield
        _commits_done += 1


def _say(msg: str) -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        os.write(2, (msg + "\n").encode())


def _stop_now(signum: int) -> None:
    before = _commits_done
    with _critical:  # never in the middle of a commit
        with _lock:
            cleanups = list(_cleanups.values())
        for c in reversed(cleanups):
            with contextlib.suppress(Exception):
                c()
        name = signal.Signals(signum).name
        if _hard_depth == 0:
            _say(f"interrupted ({name}): stopped")
        elif _commits_done == before:
            _say(f"interrupted ({name}): stopped; the dataset is as it was before this run")
        else:
            _say(f"interrupted ({name}): stopped right after the commit it had begun")
        os._exit(exit_code(signum))


def _raise_in_main(*_) -> None:
    if _received is not None:
        raise KeyboardInterrupt


def _watch() -> None:
    global _received
    signum = signal.sigwait(set(_SIGNALS))
    _received = signum
    with _lock:
        hard = _hard_depth > 0
    if hard:
        _stop_now(signum)
    # KeyboardInterrupt in the main thread: SIGUSR2 also wakes it from a blocking call (sleep, read); SIGINT's own
    # Python handler may be SIG_IGN (a background job), so it is not relied on
    if hasattr(signal, "SIGUSR2"):
        with contextlib.suppress(Exception):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR2)
    else:  # pragma: no cover
        import _thread

        _thread.interrupt_main()
    done = threading.Event()
    threading.Thread(target=lambda: (signal.sigwait(set(_SIGNALS)), done.set()), daemon=True).start()
    done.wait(SOFT_GRACE_SECONDS)  # a second signal, or the grace period
    _stop_now(signum)
