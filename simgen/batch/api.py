"""``run_batch``: expand, lock the dataset, check it, run the jobs on a backend, write the report."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from simgen.batch.jobs import Job
from simgen.batch.runner import Options, Run
from simgen.errors import OutputError

log = logging.getLogger("simgen.batch")

#: exit code of a run in which a job finally failed (the others completed)
EXIT_FAILED_JOBS = 3


def run_batch(jobs: list[Job], opts: Options, *, backend: str = "local", workers: int | None = None,
              gpus: list[str] | None = None, address: str | None = None) -> dict:
    """Render ``jobs`` into ``opts.out``; returns the run report (``report['exit_code']``: 0, or
    :data:`EXIT_FAILED_JOBS` when a job failed after its retries). Raises :class:`SimgenError` for problems found
    before any job starts (bad output folder, a scene name from another file, another batch running)."""
    from simgen.batch.store import RunLock

    slots = None
    if backend != "ray":  # plan the workers first: a usage mistake must not leave an output folder behind
        from simgen.batch.plan import detect_gpus, plan_workers

        detected = [] if (opts.device == "cpu" or gpus is not None) else detect_gpus()
        slots = plan_workers(workers, gpus, detected, os.cpu_count() or 1,
                             (opts.device or getattr(opts.cfg, "device", "auto")))
    out = Path(opts.out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create output folder {out}: {err.strerror or err}") from err
    run = Run(jobs, opts, backend)
    with RunLock(out):
        run.prepare()
        try:
            if backend == "ray":
                from simgen.batch.ray_backend import RayBackend

                RayBackend(run, address=address, workers=workers).run_all()
            else:
                from simgen.batch.local import LocalBackend

                log.info("workers: %s", ", ".join(s.label for s in slots))
                LocalBackend(run, slots).run_all()
        except BaseException as err:  # Ctrl-C, SIGTERM or an error of the driver: report what was done, then stop
            from simgen import interrupt

            stopped = interrupt.received() is not None or isinstance(err, KeyboardInterrupt)
            run.finish(interrupt.exit_code() if stopped else 1, interrupted=stopped)
            raise
        code = EXIT_FAILED_JOBS if any(s.status == "failed" for s in run.states.values()) else 0
        return run.finish(code)
