"""The local backend: fresh worker processes on this machine, one per GPU or CPU workers sharing the cores.

Each worker is a new interpreter (``python -m simgen.batch.worker``; spawned, never forked from a process that
imported Blender) whose device is pinned in its environment before Blender starts. It imports Blender once and
renders several jobs; the driver replaces it after ``jobs_per_worker`` jobs or above ``max_rss_mb``, kills it
when it makes no progress for ``watchdog`` seconds, and retries the job of a worker that died or failed.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from simgen.batch.plan import WorkerSlot
from simgen.batch.runner import Display, JobState, Run, simgen_pythonpath
from simgen.batch.store import STATE_DIR
from simgen.errors import SimgenError

log = logging.getLogger("simgen.batch")

#: a slot whose worker dies this many times in a row before taking a job stops the run
MAX_START_FAILURES = 3


def proc_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def tail(path: Path, offset: int, lines: int = 40) -> str:
    """The last ``lines`` lines of ``path`` written after byte ``offset``."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()[-65536:]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


@dataclass
class Worker:
    slot: WorkerSlot
    proc: subprocess.Popen
    fd: int
    log_path: Path
    started: float
    state: str = "starting"  # starting | idle | busy | exiting
    job: JobState | None = None
    jobs_done: int = 0
    last_progress: float = 0.0
    log_offset: int = 0
    buf: bytes = b""
    rss: float | None = None
    info: dict = field(default_factory=dict)
    killed_by_watchdog: bool = False

    @property
    def name(self) -> str:
        return f"{self.slot.label} pid {self.proc.pid}"

    def send(self, msg: dict) -> bool:
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False


class LocalBackend:
    def __init__(self, run: Run, slots: list[WorkerSlot]):
        self.run, self.slots = run, slots
        self.workers: dict[int, Worker] = {}
        self.sel = selectors.DefaultSelector()
        self.logs = run.opts.out / STATE_DIR / "logs"
        self.spawned: dict[int, int] = {s.index: 0 for s in slots}
        self.start_failures: dict[int, int] = {s.index: 0 for s in slots}
        self.stats = {s.index: {"slot": s.label, "gpu": s.gpu, "threads": s.threads, "processes": 0, "jobs": 0,
                                "bpy_import_s": [], "start_s": []} for s in slots}
        run.workers = list(self.stats.values())

    # -- processes ----------------------------------------------------------------------------------------
    def spawn(self, slot: WorkerSlot) -> Worker:
        o = self.run.opts
        self.logs.mkdir(parents=True, exist_ok=True)
        n = self.spawned[slot.index] = self.spawned[slot.index] + 1
        log_path = self.logs / f"w{slot.index}-{n}.log"
        r, w = os.pipe()
        env = slot.env(os.environ)
        env["PYTHONPATH"] = simgen_pythonpath(env)
        with open(log_path, "ab") as logf:
            proc = subprocess.Popen([sys.executable, "-m", "simgen.batch.worker", "--events", str(w), "--parent",
                                     str(os.getpid())], stdin=subprocess.PIPE, stdout=logf, stderr=subprocess.STDOUT,
                                    pass_fds=(w,), env=env, start_new_session=True, close_fds=True)
        os.close(w)
        os.set_blocking(r, False)
        wk = Worker(slot, proc, r, log_path, time.perf_counter(), last_progress=time.monotonic())
        cfg = o.cfg.model_copy(update={"threads": slot.threads}).model_dump(mode="json")
        wk.send({"op": "init", "out": str(o.out), "cfg": cfg, "frames": o.frames, "device": o.device,
                 "faults": o.faults})
        self.sel.register(r, selectors.EVENT_READ, wk)
        self.workers[slot.index] = wk
        self.stats[slot.index]["processes"] += 1
        return wk

    def _forget(self, wk: Worker) -> None:
        try:
            self.sel.unregister(wk.fd)
        except (KeyError, ValueError):
            pass
        try:
            os.close(wk.fd)
        except OSError:
            pass
        if self.workers.get(wk.slot.index) is wk:
            del self.workers[wk.slot.index]

    def kill(self, wk: Worker) -> None:
        try:
            os.killpg(wk.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                wk.proc.kill()
            except OSError:
                pass

    # -- events -------------------------------------------------------------------------------------------
    def _read(self, wk: Worker) -> list[dict]:
        out = []
        while True:
            try:
                chunk = os.read(wk.fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                break
            wk.buf += chunk
        *lines, wk.buf = wk.buf.split(b"\n")
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def _event(self, wk: Worker, ev: dict, display: Display) -> None:
        now = time.monotonic()
        kind = ev.get("ev")
        if kind == "ready":
            wk.state, wk.last_progress, wk.info = "idle", now, ev
            st = self.stats[wk.slot.index]
            st["bpy_import_s"].append(round(ev.get("bpy_import", 0.0), 3))
            st["start_s"].append(round(time.perf_counter() - wk.started, 3))
            st["cuda_visible_devices"] = ev.get("cuda_visible_devices")
            self.start_failures[wk.slot.index] = 0
        elif kind == "progress" and wk.job is not None and ev.get("job") == wk.job.job.id:
            wk.last_progress = now
            if ev.get("total"):
                wk.job.frames_done = int(ev.get("done", 0))
        elif kind in ("done", "error") and wk.job is not None and ev.get("job") == wk.job.job.id:
            st, wk.job = wk.job, None
            wk.state, wk.last_progress, wk.rss = "idle", now, ev.get("rss_mb")
            wk.jobs_done += 1
            self.stats[wk.slot.index]["jobs"] += 1
            if kind == "done":
                try:
                    self.run.succeeded(st, ev, wk.slot.label)
                    if not display.enabled:
                        display.say(f"done {st.job.sequence} ({st.frames_done} frames, {st.seconds:.1f} s, "
                                    f"{wk.slot.label})")
                except SimgenError as err:
                    self.run.failed(st, f"commit: {err}", worker=wk.slot.label)
            else:
                self.run.failed(st, ev.get("error", "error"), log_tail=tail(wk.log_path, wk.log_offset),
                                permanent=bool(ev.get("permanent")), worker=wk.slot.label)
                if not display.enabled:
                    display.say(f"failed {st.job.sequence} attempt {st.attempts}: {ev.get('error')}")
            o = self.run.opts
            rss = proc_rss_mb(wk.proc.pid) or wk.rss or 0.0
            if wk.jobs_done >= o.jobs_per_worker or rss > o.max_rss_mb:
                log.info("recycling %s after %d job(s), %.0f MiB", wk.name, wk.jobs_done, rss)
                wk.send({"op": "exit"})
                wk.state = "exiting"

    def _exited(self, wk: Worker, code: int) -> None:
        self._forget(wk)
        if wk.job is not None:
            st, wk.job = wk.job, None
            if wk.killed_by_watchdog:
                why = f"watchdog: no progress for {self.run.opts.watchdog:g} s; worker killed"
            elif code < 0:
                why = f"worker died ({signal.Signals(-code).name})"
            else:
                why = f"worker exited with code {code}"
            self.run.failed(st, why, log_tail=tail(wk.log_path, wk.log_offset), worker=wk.slot.label)
        elif wk.state == "starting":
            self.start_failures[wk.slot.index] += 1
            if self.start_failures[wk.slot.index] >= MAX_START_FAILURES:
                raise SimgenError(f"batch worker {wk.slot.label} failed to start {MAX_START_FAILURES} times "
                                  f"(exit code {code}); see {wk.log_path}:\n{tail(wk.log_path, 0, 8)}")

    # -- main loop ----------------------------------------------------------------------------------------
    def lines(self) -> list[str]:
        out = []
        for s in self.slots:
            wk = self.workers.get(s.index)
            if wk is None:
                out.append(f"  {s.label}: stopped")
                continue
            idle = time.monotonic() - wk.last_progress
            if wk.job is not None:
                j = wk.job
                out.append(f"  {s.label}: {j.job.sequence} frame {j.frames_done}/{j.job.frames} "
                           f"(attempt {j.attempts}, {idle:.0f} s since progress)")
            else:
                out.append(f"  {s.label}: {wk.state} ({wk.jobs_done} job(s), pid {wk.proc.pid})")
        return out

    def run_all(self) -> None:
        run, o = self.run, self.run.opts
        with Display(run, o.progress) as display:
            try:
                while run.unfinished():
                    now = time.monotonic()
                    # start workers for work that no live worker can take
                    waiting = len(run.pending())
                    free = sum(1 for w in self.workers.values() if w.state in ("starting", "idle"))
                    for s in self.slots:
                        if waiting <= free:
                            break
                        if s.index not in self.workers:
                            self.spawn(s)
                            free += 1
                    for wk in list(self.workers.values()):
                        if wk.state == "idle":
                            st = run.next_job(now)
                            if st is None:
                                break
                            wk.log_offset = wk.log_path.stat().st_size if wk.log_path.exists() else 0
                            if wk.send({"op": "job", "job": st.job.to_json(), "attempt": st.attempts}):
                                wk.job, wk.state, wk.last_progress = st, "busy", now
                            else:
                                st.status, st.attempts = "pending", st.attempts - 1
                    for key, _ in self.sel.select(timeout=0.25):
                        wk = key.data
                        for ev in self._read(wk):
                            self._event(wk, ev, display)
                    now = time.monotonic()
                    for wk in list(self.workers.values()):
                        code = wk.proc.poll()
                        if code is not None:
                            for ev in self._read(wk):  # what it said before it ended
                                self._event(wk, ev, display)
                            self._exited(wk, code)
                            continue
                        if wk.state in ("starting", "busy") and now - wk.last_progress > o.watchdog:
                            log.warning("watchdog: %s made no progress for %.0f s; killing it", wk.name,
                                        now - wk.last_progress)
                            wk.killed_by_watchdog = True
                            self.kill(wk)
                    display.update(self.lines())
            finally:
                self.shutdown()

    def shutdown(self) -> None:
        for wk in list(self.workers.values()):
            wk.send({"op": "exit"})
            try:
                wk.proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + 10
        for wk in list(self.workers.values()):
            if wk.job is not None:  # interrupted mid-job: do not wait for it
                self.kill(wk)
            try:
                wk.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(wk)
                wk.proc.wait()
            self._forget(wk)
        self.run.abandon_running()
