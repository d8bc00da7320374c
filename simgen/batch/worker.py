"""A batch worker: renders jobs with :func:`simgen.pipeline.render_scene`, the code path of ``simgen render``.

:func:`run_job` renders one job into its job folder and records checksums (used by both backends). Run as
``python -m simgen.batch.worker --events FD --parent PID`` it is a local-backend worker process: the driver
starts it with its device already pinned in the environment (``CUDA_VISIBLE_DEVICES``), the worker imports
Blender once, then reads job messages (JSON lines) on stdin and writes events (JSON lines) to file descriptor
FD: ``ready``, ``progress``, ``done``, ``error``. Its stdout and stderr (Blender's log included) go to a log
file whose tail becomes part of a failure record. It dies with its driver (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc; 0 where unknown)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def run_job(job: dict, out: str | Path, cfg: dict, *, frames: int | None = None, device: str | None = None,
            attempt: int = 1, faults: str = "", on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Render ``job`` (:meth:`Job.to_json`) into ``out/.job-<id>/`` and write its checksums; returns a small row:
    job, sequence, frames (rows written), seconds, device, per_stage (seconds), rss_mb.

    cfg: the render config as JSON (``RenderConfig.model_dump``). on_progress(done, total): after every frame.
    faults: :mod:`simgen.batch.faults` spec (tests). Raises what ``render_scene`` raises."""
    from simgen.batch import faults as F
    from simgen.batch.store import job_dir, write_checksums
    from simgen.pipeline import render_scene
    from simgen.spec import RenderConfig

    t0 = time.perf_counter()
    kinds = F.kinds_for(faults, job["id"], job["sequence"], attempt) if faults else set()
    if "fail" in kinds:
        raise F.InjectedFault(f"injected failure ({F.ENV}) for job {job['id']} attempt {attempt}")
    jd = job_dir(Path(out), job["id"])
    shutil.rmtree(jd, ignore_errors=True)

    def on_frame(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(done, total)
        if done == 1 and kinds:
            F.after_first_frame(kinds)

    def on_reflection(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(0, 0)  # alive: the reflection pre-pass is progress too

    summary = render_scene(job["scene_file"], jd, cfg=RenderConfig.model_validate(cfg), seed=job["seed"],
                           variant=job["variant"], frames=frames, device=device, on_frame=on_frame,
                           on_reflection=on_reflection)
    if summary.sequence != job["sequence"]:
        raise RuntimeError(f"job {job['id']} rendered {summary.sequence}, expected {job['sequence']}")
    write_checksums(jd, summary.sequence, job["id"])
    per_stage = dict(summary.per_stage)
    return {"job": job["id"], "sequence": summary.sequence, "frames": summary.frames * summary.cameras,
            "seconds": time.perf_counter() - t0, "render_seconds": summary.seconds, "device": summary.device,
            "per_stage": per_stage, "rss_mb": rss_mb(), "pid": os.getpid()}


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the driver's stdin EOF still ends the loop
        pass
    if os.getppid() != parent:  # the driver died before prctl
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    t_main = time.time()
    ap = argparse.ArgumentParser(prog="simgen.batch.worker")
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--parent", type=int, required=True)
    args = ap.parse_args(argv)
    if hasattr(signal, "pthread_sigmask"):  # the driver blocks these for its signal thread; children inherit that
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _die_with_parent(args.parent)
    events = os.fdopen(args.events, "w", buffering=1, encoding="utf-8")

    def emit(**ev) -> None:
        events.write(json.dumps(ev, separators=(",", ":")) + "\n")
        events.flush()

    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr,
                        force=True)
    t = time.perf_counter()
    import simgen.render.blender  # noqa: F401  - Blender once per worker, before the first job

    bpy_seconds = time.perf_counter() - t
    emit(ev="ready", pid=os.getpid(), started=t_main, bpy_import=bpy_seconds, rss_mb=rss_mb(),
         cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
    init: dict = {}
    for line in sys.stdin:
        msg = json.loads(line)
        if msg.get("op") == "init":
            init = msg
            continue
        if msg.get("op") == "exit":
            break
        job, attempt = msg["job"], int(msg.get("attempt", 1))
        print(f"=== job {job['id']} {job['sequence']} attempt {attempt} ===", file=sys.stderr, flush=True)
        sys.stdout.flush()

        def progress(done: int, total: int, _id: str = job["id"]) -> None:
            emit(ev="progress", job=_id, done=done, total=total)

        try:
            row = run_job(job, init["out"], init["cfg"], frames=init.get("frames"), device=init.get("device"),
                          attempt=attempt, faults=init.get("faults", ""), on_progress=progress)
        except BaseException as err:  # noqa: BLE001 - reported to the driver, which retries or records it
            from simgen.errors import SimgenError

            tb = traceback.format_exc()
            print(tb, file=sys.stderr, flush=True)
            emit(ev="error", job=job["id"], error=f"{type(err).__name__}: {' '.join(str(err).split())[:500]}",
                 permanent=isinstance(err, SimgenError), rss_mb=rss_mb())
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                break
            continue
        emit(ev="done", **row)
    events.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip Blender's exit-time report


if __name__ == "__main__":
    sys.exit(main())
