"""What both backends share: the run's job states, retries with backoff, commits, progress and the report."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from simgen.batch.jobs import Job

log = logging.getLogger("simgen.batch")


@dataclass
class Options:
    """How a run behaves.

    retries: attempts after the first for a job that fails (worker death, watchdog, error). backoff: seconds
    before the first retry, doubled for each further one. watchdog: seconds without progress (a frame, the
    worker's start) before a worker is killed. jobs_per_worker: a worker process is replaced after this many
    jobs; max_rss_mb: ... or when its resident memory exceeds this (MiB). hashes: ``--resume`` compares sha256
    (else sizes only). faults: :mod:`simgen.batch.faults` spec (tests).
    """

    out: Path
    cfg: object  # RenderConfig
    frames: int | None = None
    device: str | None = None
    retries: int = 2
    backoff: float = 5.0
    watchdog: float = 1800.0
    jobs_per_worker: int = 50
    max_rss_mb: float = 16384.0
    resume: bool = False
    hashes: bool = True
    progress: bool = True
    faults: str = ""


@dataclass
class JobState:
    job: Job
    status: str = "pending"  # pending | running | done | skipped | failed
    attempts: int = 0
    not_before: float = 0.0
    seconds: float | None = None
    device: str | None = None
    worker: str | None = None
    frames_done: int = 0
    errors: list[str] = field(default_factory=list)
    log_tail: str = ""
    rss_mb: float | None = None
    stages: dict | None = None

    def row(self) -> dict:
        return {"job": self.job.id, "sequence": self.job.sequence, "status": self.status,
                "frames": self.job.frames if self.status in ("done", "skipped") else self.frames_done,
                "seconds": None if self.seconds is None else round(self.seconds, 3), "device": self.device,
                "attempts": self.attempts, "retries": max(0, self.attempts - 1), "worker": self.worker, "rss_mb": self.rss_mb,
                "errors": list(self.errors), "stages": self.stages}


class Run:
    """Job bookkeeping for one batch run (the driver process)."""

    def __init__(self, jobs: list[Job], opts: Options, backend: str):
        self.opts, self.backend = opts, backend
        self.states = {j.id: JobState(j) for j in jobs}
        self.order = [j.id for j in jobs]
        self.started_wall = time.time()
        self.started = time.perf_counter()
        self.frames_rendered = 0
        self.workers: list[dict] = []
        self.notes: list[str] = []

    # -- setup --------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create / check the dataset, finish interrupted commits, refuse name clashes, mark verified jobs
        (``--resume``) as skipped. Call under the run lock."""
        from simgen.batch.store import prepare_output, verify_job
        from simgen.io.commit import require_readable_manifest, sequence_of
        from simgen.io.dataset import DatasetWriter
        from simgen.errors import SimgenError
        from simgen.pipeline import _blender_version

        out = self.opts.out
        for line in prepare_output(out):
            log.warning("%s: %s", out, line)
        DatasetWriter(out, blender_version=_blender_version())
        rows = require_readable_manifest(out).rows
        by_seq: dict[str, list[dict]] = {}
        sources: dict[str, set[str]] = {}  # scene name -> scene files it was rendered from
        for r in rows:
            by_seq.setdefault(sequence_of(r) or "", []).append(r)
            if r.get("source") is not None:
                sources.setdefault(str(r.get("scene")), set()).add(str(r["source"]))
        for st in self.states.values():
            j = st.job
            other = sorted(sources.get(j.scene, set()) - {j.scene_file})
            if other:  # the rule of simgen render: one scene file per scene name in a dataset
                raise SimgenError(f"scene name '{j.scene}' is already in {out} from another file ({other[0]}); "
                                  f"rename the scene (scene.name) in {j.scene_file}")
            if self.opts.resume:
                why = verify_job(out, j.sequence, j.id, by_seq.get(j.sequence), hashes=self.opts.hashes)
                if why is None:
                    st.status = "skipped"
                elif j.sequence in by_seq or (out / j.sequence).exists():
                    self.notes.append(f"{j.sequence}: redone ({why})")
        for n in self.notes:
            log.warning("%s", n)

    # -- scheduling ---------------------------------------------------------------------------------------
    def pending(self) -> list[JobState]:
        return [self.states[i] for i in self.order if self.states[i].status == "pending"]

    def next_job(self, now: float | None = None) -> JobState | None:
        now = time.monotonic() if now is None else now
        ready = [s for s in self.pending() if s.not_before <= now]
        if not ready:
            return None
        st = min(ready, key=lambda s: (s.not_before, s.job.index))
        st.status, st.attempts, st.frames_done = "running", st.attempts + 1, 0
        return st

    def unfinished(self) -> bool:
        return any(s.status in ("pending", "running") for s in self.states.values())

    def succeeded(self, st: JobState, row: dict, worker: str) -> None:
        """Commit the job folder into the dataset (the driver is the only writer)."""
        from simgen.batch.store import commit_job

        n = commit_job(self.opts.out, st.job.id, st.job.sequence)
        st.status, st.seconds, st.device, st.worker = "done", row.get("seconds"), row.get("device"), worker
        st.rss_mb = row.get("rss_mb")
        st.stages = {k: round(v, 4) for k, v in (row.get("per_stage") or {}).items()}
        st.stages["job_total"] = round(float(row.get("seconds") or 0.0), 4)
        st.frames_done = n
        self.frames_rendered += n

    def failed(self, st: JobState, error: str, *, log_tail: str = "", permanent: bool = False,
               worker: str | None = None, now: float | None = None) -> bool:
        """Record a failed attempt; requeue with backoff unless attempts are used up. Returns True if retried."""
        from simgen.batch.store import job_dir

        import shutil

        shutil.rmtree(job_dir(self.opts.out, st.job.id), ignore_errors=True)
        st.errors.append(error)
        st.log_tail, st.worker, st.frames_done = log_tail, worker, 0
        if not permanent and st.attempts <= self.opts.retries:
            st.status = "pending"
            now = time.monotonic() if now is None else now
            st.not_before = now + self.opts.backoff * 2 ** (st.attempts - 1)
            log.warning("%s attempt %d failed (%s); retrying in %.0f s", st.job.sequence, st.attempts, error,
                        self.opts.backoff * 2 ** (st.attempts - 1))
            return True
        st.status = "failed"
        log.error("%s failed after %d attempt(s): %s", st.job.sequence, st.attempts, error)
        return False

    def abandon_running(self) -> None:
        """After the workers are stopped: jobs under way go back to pending and their folders (never committed,
        so never part of the dataset) are removed."""
        import shutil

        from simgen.batch.store import job_dir

        for st in self.states.values():
            if st.status == "running":
                st.status, st.frames_done = "pending", 0
                shutil.rmtree(job_dir(self.opts.out, st.job.id), ignore_errors=True)

    # -- numbers ------------------------------------------------------------------------------------------
    def totals(self) -> tuple[int, int, int]:
        """(frames done in this run incl. running jobs' frames, frames to render in this run, failed jobs)."""
        todo = [s for s in self.states.values() if s.status != "skipped"]
        total = sum(s.job.frames for s in todo)
        done = sum(s.job.frames if s.status == "done" else s.frames_done for s in todo if s.status != "failed")
        return done, total, sum(1 for s in todo if s.status == "failed")

    def report(self, exit_code: int, interrupted: bool = False) -> dict:
        from simgen.batch.report import utc_now

        secs = time.perf_counter() - self.started
        sts = [self.states[i] for i in self.order]
        counts = {k: sum(1 for s in sts if s.status == k) for k in ("done", "skipped", "failed")}
        counts.update(jobs=len(sts), frames=self.frames_rendered)
        import datetime

        return {
            "backend": self.backend, "out": str(self.opts.out),
            "started": datetime.datetime.fromtimestamp(self.started_wall, datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "finished": utc_now(), "seconds": round(secs, 3), "exit_code": exit_code, "interrupted": interrupted,
            "counts": counts, "frames_per_second": round(self.frames_rendered / secs, 4) if secs > 0 else 0.0,
            "config": getattr(self.opts.cfg, "name", None), "workers": self.workers,
            "jobs": [s.row() for s in sts],
            "failures": [{"job": s.job.id, "sequence": s.job.sequence, "attempts": s.attempts,
                          "error": s.errors[-1] if s.errors else "", "errors": s.errors, "log_tail": s.log_tail}
                         for s in sts if s.status == "failed"],
            "notes": self.notes,
        }

    def finish(self, exit_code: int, interrupted: bool = False) -> dict:
        """Write the report, ATTRIBUTION and index.html; returns the report."""
        from simgen.batch.report import write_report
        from simgen.io.attribution import write_attribution
        from simgen.io.gallery import write_index

        rep = self.report(exit_code, interrupted)
        try:
            write_report(self.opts.out, rep)
            write_attribution(self.opts.out)
            write_index(self.opts.out)
        except OSError as err:
            log.warning("could not write the run report: %s", err)
        return rep


class Display:
    """One overall bar (frames done / total, frames per second, ETA, failures) and a line per worker."""

    def __init__(self, run: Run, enabled: bool):
        from rich.console import Console

        self.run, self.enabled = run, enabled
        self.console = Console(stderr=True)
        self.live = None

    def __enter__(self) -> "Display":
        if not self.enabled:
            return self
        from rich.console import Group
        from rich.live import Live
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn
        from rich.text import Text

        self.bar = Progress(TextColumn("[bold]batch[/] frames"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[fps]:.2f} frames/s"), TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(), TextColumn("[red]{task.fields[failed]} failed"),
                            console=self.console)
        done, total, failed = self.run.totals()
        self.task = self.bar.add_task("frames", total=max(total, 1), completed=done, fps=0.0, failed=failed)
        self.lines = Text("")
        self.live = Live(Group(self.bar, self.lines), console=self.console, refresh_per_second=4, transient=False)
        self.live.__enter__()
        return self

    def update(self, worker_lines: list[str]) -> None:
        if self.live is None:
            return
        from rich.text import Text

        done, total, failed = self.run.totals()
        secs = max(1e-6, time.perf_counter() - self.run.started)
        self.bar.update(self.task, completed=done, total=max(total, 1), fps=done / secs, failed=failed)
        self.live.update(self._group(Text("\n".join(worker_lines))))

    def _group(self, lines):
        from rich.console import Group

        return Group(self.bar, lines)

    def say(self, msg: str) -> None:
        self.console.print(msg, highlight=False)

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            self.live = None
            if not self.console.is_terminal:  # a log file: end the last worker line
                self.console.line()


def simgen_pythonpath(env: dict[str, str]) -> str:
    """PYTHONPATH that makes child processes import this very simgen package."""
    import simgen

    root = str(Path(simgen.__file__).resolve().parents[1])
    old = env.get("PYTHONPATH", "")
    return root + (os.pathsep + old if old else "")
