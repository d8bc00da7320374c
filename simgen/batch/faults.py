"""Fault injection for the batch tests and drills (never set it in production).

``SIMGEN_BATCH_FAULT`` (read by the driver and handed to every worker) lists faults separated by ``;``, each
``SELECTOR:KIND[@ATTEMPTS]``:

- SELECTOR: a job id (or a prefix of one) or a sequence (``quickstart/v0002-s0``);
- KIND: ``fail`` (the job raises before rendering), ``crash`` (the worker kills itself with SIGKILL after the
  job's first frame), ``hang`` (the worker stops making progress after the first frame);
- ATTEMPTS: the attempts it fires on, ``1`` or ``1,2`` (default: every attempt).
"""

from __future__ import annotations

import os
import signal
import time

from simgen.errors import UsageError

ENV = "SIMGEN_BATCH_FAULT"
KINDS = ("fail", "crash", "hang")


class InjectedFault(RuntimeError):
    """The error a ``fail`` fault raises."""


def parse(text: str | None) -> list[tuple[str, str, set[int] | None]]:
    """[(selector, kind, attempts or None = all)]; raises :class:`UsageError` for a malformed value."""
    out = []
    for item in (text or "").split(";"):
        item = item.strip()
        if not item:
            continue
        sel, _, rest = item.rpartition(":")
        kind, _, att = rest.partition("@")
        if not sel or kind not in KINDS:
            raise UsageError(f"{ENV}: '{item}' is not SELECTOR:{'|'.join(KINDS)}[@ATTEMPTS]")
        try:
            attempts = {int(a) for a in att.split(",")} if att else None
        except ValueError:
            raise UsageError(f"{ENV}: bad attempt list in '{item}'") from None
        out.append((sel, kind, attempts))
    return out


def from_env() -> str:
    return os.environ.get(ENV, "")


def kinds_for(spec: str, job_id: str, sequence: str, attempt: int) -> set[str]:
    """The fault kinds that fire for this job attempt."""
    hit = set()
    for sel, kind, attempts in parse(spec):
        if (job_id.startswith(sel) or sel == sequence) and (attempts is None or attempt in attempts):
            hit.add(kind)
    return hit


def after_first_frame(kinds: set[str]) -> None:
    """Apply ``crash`` / ``hang`` (called once the job's first frame is written)."""
    if "crash" in kinds:
        os.kill(os.getpid(), signal.SIGKILL)
    if "hang" in kinds:
        while True:  # no progress from here on: the watchdog must end this process
            time.sleep(3600)
