"""The Ray backend: the same jobs as Ray tasks on an existing cluster (or a local Ray instance).

Each task runs :func:`simgen.batch.worker.run_job` (``render_scene``, the path of ``simgen render``) into the job
folder ``OUT/.job-<id>`` of the shared output directory and returns a small row; the driver commits the folder
(:func:`simgen.batch.store.commit_job`), so the manifest has one writer. A task asks for ``num_gpus=1`` when the
cluster has GPUs (Ray sets its ``CUDA_VISIBLE_DEVICES``; GPU tasks get a fresh worker process each), else
``num_cpus`` = the config's ``threads`` (1 when 0). A task whose worker dies, that raises, or whose heartbeat
(``OUT/.job-<id>.heartbeat``, touched at every frame) is older than the watchdog (then it is cancelled with
``force=True``) is retried by the driver with backoff, like the local backend.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from simgen.batch.runner import Display, JobState, Run, simgen_pythonpath
from simgen.errors import SimgenError, UsageError

log = logging.getLogger("simgen.batch")
HEARTBEAT = ".heartbeat"


def heartbeat_path(out: Path, job_id: str) -> Path:
    """``OUT/.job-<id>.heartbeat``: "<frames done> <total>", rewritten at the task's start and every frame."""
    from simgen.batch.store import JOB_PREFIX

    return Path(out) / f"{JOB_PREFIX}{job_id}{HEARTBEAT}"


def ray_job(job: dict, out: str, cfg: dict, frames: int | None, device: str | None, attempt: int,
            faults: str) -> dict:
    """The task body (runs on a Ray worker)."""
    import socket

    from simgen.batch.worker import run_job

    beat = heartbeat_path(Path(out), job["id"])

    def progress(done: int, total: int) -> None:
        try:
            beat.write_text(f"{done} {total}")
        except OSError:
            pass

    progress(0, 0)
    row = run_job(job, out, cfg, frames=frames, device=device, attempt=attempt, faults=faults, on_progress=progress)
    row["worker"] = f"{socket.gethostname()} pid {os.getpid()}"
    row["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    return row


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--backend ray needs Ray: pip install 'simgen[distributed]' (ray>=2.9)") from None
    return ray


class RayBackend:
    def __init__(self, run: Run, address: str | None = None, workers: int | None = None):
        self.run, self.address, self.max_inflight = run, address, workers

    def _connect(self):
        ray = _import_ray()
        if not ray.is_initialized():
            kw: dict = {"log_to_driver": False, "include_dashboard": False}
            address = self.address or os.environ.get("RAY_ADDRESS")
            if not address:  # a local instance: make its workers import this simgen
                kw["runtime_env"] = {"env_vars": {"PYTHONPATH": simgen_pythonpath(dict(os.environ))}}
            try:
                ray.init(address=address, **kw)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise SimgenError(f"cannot connect to the Ray cluster at {address or 'a new local instance'}: "
                                  f"{' '.join(str(err).split())[:300]}") from None
        return ray

    def run_all(self) -> None:
        ray = self._connect()
        run, o = self.run, self.run.opts
        gpus = float(ray.cluster_resources().get("GPU", 0)) if o.device != "cpu" else 0.0
        threads = int(getattr(o.cfg, "threads", 0) or 1)
        cfg = o.cfg.model_copy(update={"threads": threads}).model_dump(mode="json")
        task = ray.remote(ray_job)
        opts = {"num_gpus": 1, "num_cpus": 1} if gpus > 0 else {"num_cpus": threads}
        opts.update(max_retries=0, retry_exceptions=False)  # the driver retries, with backoff and a record
        run.workers = [{"slot": "ray", "gpu": "per task" if gpus else None, "threads": threads,
                        "cluster": {k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU")}}]
        inflight: dict = {}  # ObjectRef -> [JobState, submitted, killed]
        limit = self.max_inflight or 10**9
        with Display(run, o.progress) as display:
            try:
                while run.unfinished():
                    now = time.monotonic()
                    while len(inflight) < limit:
                        st = run.next_job(now)
                        if st is None:
                            break
                        ref = task.options(**opts).remote(st.job.to_json(), str(o.out), cfg, o.frames, o.device,
                                                          st.attempts, o.faults)
                        inflight[ref] = [st, now, False]
                    if not inflight:
                        time.sleep(0.2)
                        continue
                    ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                    for ref in ready:
                        st, _t, killed = inflight.pop(ref)
                        self._finish(ray, ref, st, killed, display)
                    now = time.monotonic()
                    for ref, entry in inflight.items():
                        st, submitted, killed = entry
                        beat = heartbeat_path(o.out, st.job.id)
                        try:
                            mtime = beat.stat().st_mtime
                            parts = beat.read_text().split()
                            if len(parts) == 2 and int(parts[1]):
                                st.frames_done = int(parts[0])
                        except (OSError, ValueError):
                            continue  # not started yet (queued in Ray)
                        if not killed and time.time() - mtime > o.watchdog:
                            log.warning("watchdog: %s made no progress for %.0f s; cancelling its task",
                                        st.job.sequence, time.time() - mtime)
                            entry[2] = True
                            ray.cancel(ref, force=True)
                    display.update([f"  ray: {len(inflight)} task(s) in flight"] +
                                   [f"  {e[0].job.sequence} frame {e[0].frames_done}/{e[0].job.frames}"
                                    for e in list(inflight.values())[:8]])
            except BaseException:
                for ref in inflight:
                    try:
                        ray.cancel(ref, force=True)
                    except Exception:  # noqa: BLE001 - best effort on the way out
                        pass
                for st, _t, _k in inflight.values():
                    heartbeat_path(o.out, st.job.id).unlink(missing_ok=True)
                self.run.abandon_running()
                raise

    def _finish(self, ray, ref, st: JobState, killed: bool, display: Display) -> None:
        from ray.exceptions import RayTaskError

        heartbeat_path(self.run.opts.out, st.job.id).unlink(missing_ok=True)
        try:
            row = ray.get(ref)
        except RayTaskError as err:
            cause = getattr(err, "cause", None)
            msg = f"{type(cause).__name__}: {' '.join(str(cause).split())[:500]}" if cause is not None else \
                " ".join(str(err).split())[:500]
            tail = "\n".join(str(err).splitlines()[-40:])
            self.run.failed(st, msg, log_tail=tail, permanent=isinstance(cause, SimgenError), worker="ray")
            return
        except Exception as err:  # noqa: BLE001 - worker died, task cancelled, node lost
            why = (f"watchdog: no progress for {self.run.opts.watchdog:g} s; task cancelled" if killed else
                   f"worker died ({type(err).__name__}: {' '.join(str(err).split())[:300]})")
            self.run.failed(st, why, worker="ray")
            return
        try:
            self.run.succeeded(st, row, row.get("worker", "ray"))
        except SimgenError as err:
            self.run.failed(st, f"commit: {err}", worker="ray")
            return
        if not display.enabled:
            display.say(f"done {st.job.sequence} ({st.frames_done} frames, {st.seconds:.1f} s, {row.get('worker')})")
