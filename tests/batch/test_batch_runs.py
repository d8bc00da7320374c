"""simgen batch end to end (tiny renders): the driver kill -9'd mid-run then --resume; a worker killed, a job that
always fails and a hung worker in one run; GPU pinning of worker processes (mocked GPUs); Ray and local
backends give byte-identical files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.checks import check_dataset
from tests.conftest import REPO, needs_blender

pytestmark = [pytest.mark.blender, pytest.mark.slow]

SCENE = REPO / "scenes" / "quickstart.yaml"
CFG = REPO / "tests" / "batch" / "tiny_render.yaml"
SEQ = "quickstart/v0000-s{}"


def _rows(out: Path) -> list[dict]:
    path = out / "manifest.jsonl"
    try:
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    except (OSError, ValueError):
        return []


def _workers_of(pid: int) -> list[int]:
    """Live batch worker processes started by driver ``pid``."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"simgen.batch.worker" in cmd and str(pid).encode() in cmd:
            try:
                state = next(x for x in (d / "status").read_text().splitlines() if x.startswith("State:"))
            except (OSError, StopIteration):
                continue
            if "zombie" not in state:
                found.append(int(d.name))
    return found


def test_driver_killed_mid_run_then_resume(tmp_path):
    needs_blender()
    out = tmp_path / "ds"
    argv = [sys.executable, "-m", "simgen.cli", "batch", str(SCENE), "--seeds", "0-4", "--out", str(out),
            "--config", str(CFG), "--workers", "2", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SIMGEN_BATCH_FAULT", None)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(_rows(out)) >= 4 and _workers_of(proc.pid):  # a sequence is committed, others under way
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        workers = _workers_of(proc.pid)
        assert workers
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    t = time.monotonic()
    while _workers_of(proc.pid) and time.monotonic() - t < 10:  # workers die with their driver
        time.sleep(0.1)
    assert not _workers_of(proc.pid)
    committed = sorted({r["sequence"] for r in _rows(out)})
    assert 1 <= len(committed) < 5
    before = {s: (out / s / "checksums.json").read_bytes() for s in committed}
    stamps = {s: (out / s / "000000.depth.exr").stat().st_mtime_ns for s in committed}

    from simgen.cli import main

    # --max-rss-mb below a Blender worker's size: every worker is replaced after each job
    code = main(["batch", str(SCENE), "--seeds", "0-4", "--out", str(out), "--config", str(CFG), "--workers", "2",
                 "--resume", "--max-rss-mb", "64", "--no-progress"])
    assert code == 0
    rep = json.loads((out / "batch_report.json").read_text())
    assert rep["counts"]["skipped"] == len(committed) and rep["counts"]["done"] == 5 - len(committed)
    assert all(w["processes"] == w["jobs"] for w in rep["workers"])  # recycled above the memory limit
    assert sum(w["jobs"] for w in rep["workers"]) == 5 - len(committed)
    for s in committed:  # complete sequences were verified and kept, not rendered again
        assert (out / s / "checksums.json").read_bytes() == before[s]
        assert (out / s / "000000.depth.exr").stat().st_mtime_ns == stamps[s]
    check_dataset(out, {SEQ.format(i): 4 for i in range(5)})  # 20 frames, each valid, no duplicate rows
    assert not list(out.glob(".job-*")) and not list(out.glob(".staging-*")) and not list(out.glob(".commit-*"))
    from simgen.io.dataset import DatasetReader

    assert DatasetReader(out).verify() == []


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    """seed 1: its worker is SIGKILLed on attempt 1; seed 2: always fails; seed 3: hangs on attempt 1. Two workers
    pinned to (mock) GPUs 0 and 1, recycled after 2 jobs."""
    needs_blender()
    from simgen.cli import main

    out = tmp_path_factory.mktemp("faulty") / "ds"
    old = os.environ.get("SIMGEN_BATCH_FAULT")
    os.environ["SIMGEN_BATCH_FAULT"] = f"{SEQ.format(1)}:crash@1;{SEQ.format(2)}:fail;{SEQ.format(3)}:hang@1"
    try:
        t = time.monotonic()
        code = main(["batch", str(SCENE), "--seeds", "0-3", "--frames", "2", "--out", str(out), "--config", str(CFG),
                     "--gpus", "0,1", "--device", "auto", "--retries", "1", "--backoff", "0.2", "--watchdog", "20",
                     "--jobs-per-worker", "2", "--no-progress"])
        seconds = time.monotonic() - t
    finally:
        if old is None:
            os.environ.pop("SIMGEN_BATCH_FAULT", None)
        else:
            os.environ["SIMGEN_BATCH_FAULT"] = old
    return out, code, json.loads((out / "batch_report.json").read_text()), seconds


def test_failures_are_retried_recorded_and_the_rest_completes(faulty_run):
    out, code, rep, _ = faulty_run
    assert code == 3  # a job failed: non-zero exit
    jobs = {j["sequence"]: j for j in rep["jobs"]}
    assert jobs[SEQ.format(0)]["status"] == "done" and jobs[SEQ.format(0)]["attempts"] == 1
    # the worker killed mid-job: its job ran again on a new worker
    assert jobs[SEQ.format(1)]["status"] == "done" and jobs[SEQ.format(1)]["attempts"] == 2
    # the hung worker: killed by the watchdog, its job retried
    assert jobs[SEQ.format(3)]["status"] == "done" and jobs[SEQ.format(3)]["attempts"] == 2
    # the job that always fails: a failure record (job, error, log tail), after 1 + 1 retry attempts
    assert jobs[SEQ.format(2)]["status"] == "failed"
    (fail,) = rep["failures"]
    assert fail["sequence"] == SEQ.format(2) and fail["attempts"] == 2 and len(fail["job"]) == 16
    assert "InjectedFault" in fail["error"] and "Traceback" in fail["log_tail"] and "InjectedFault" in fail["log_tail"]
    runs = list((out / ".batch" / "runs").glob("*.json"))
    assert runs
    page = (out / "index.html").read_text()
    assert "Batch run (local)" in page and SEQ.format(2) in page


def test_failure_causes_are_named(faulty_run):
    out, _, rep, _ = faulty_run
    jobs = {j["sequence"]: j for j in rep["jobs"]}
    assert jobs[SEQ.format(0)]["errors"] == []
    assert jobs[SEQ.format(1)]["errors"] == ["worker died (SIGKILL)"]
    assert len(jobs[SEQ.format(3)]["errors"]) == 1 and jobs[SEQ.format(3)]["errors"][0].startswith("watchdog")
    assert len(jobs[SEQ.format(2)]["errors"]) == 2
    # each attempt is marked in the worker logs
    logs = "".join(p.read_text(errors="replace") for p in (out / ".batch" / "logs").glob("*.log"))
    assert f"{SEQ.format(1)} attempt 1" in logs and f"{SEQ.format(1)} attempt 2" in logs
    assert f"{SEQ.format(3)} attempt 1" in logs and f"{SEQ.format(3)} attempt 2" in logs


def test_dataset_after_failures_is_exact(faulty_run):
    out, *_ = faulty_run
    check_dataset(out, {SEQ.format(i): 2 for i in (0, 1, 3)})  # nothing of the failed job, nothing twice
    assert not list(out.glob(".job-*")) and not (out / SEQ.format(2)).exists()
    from simgen.io.dataset import DatasetReader

    assert DatasetReader(out).verify() == []


def test_workers_pinned_to_one_gpu_each_and_recycled(faulty_run):
    _, _, rep, _ = faulty_run
    ws = {w["gpu"]: w for w in rep["workers"]}
    assert set(ws) == {"0", "1"}
    for gpu, w in ws.items():  # what the worker process saw in its environment before Blender started
        assert w["cuda_visible_devices"] == gpu
    # 4 jobs + 3 retries over 2 workers recycled every 2 jobs, plus the 2 killed ones: several processes
    assert sum(w["processes"] for w in rep["workers"]) >= 4


def test_ray_and_local_give_identical_files(faulty_run, tmp_path):
    needs_blender()
    ray = pytest.importorskip("ray") if os.environ.get("SIMGEN_REQUIRE_BLENDER") != "1" else __import__("ray")
    from simgen.cli import main

    local, *_ = faulty_run
    out = tmp_path / "ray"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    os.environ["SIMGEN_BATCH_FAULT"] = f"{SEQ.format(1)}:crash@1"  # a Ray worker dies mid-task: retried
    try:
        code = main(["batch", str(SCENE), "--seeds", "1", "--frames", "2", "--out", str(out), "--config", str(CFG),
                     "--backend", "ray", "--backoff", "0.2", "--no-progress"])
    finally:
        os.environ.pop("SIMGEN_BATCH_FAULT", None)
        ray.shutdown()
    assert code == 0
    rep = json.loads((out / "batch_report.json").read_text())
    assert rep["backend"] == "ray" and rep["counts"]["done"] == 1
    (job,) = rep["jobs"]
    assert job["sequence"] == SEQ.format(1) and job["attempts"] == 2 and job["errors"][0].startswith("worker died")
    local_rep = json.loads((local / "batch_report.json").read_text())
    ids = {j["sequence"]: j["job"] for j in local_rep["jobs"]}
    for j in rep["jobs"]:
        assert ids[j["sequence"]] == j["job"]  # the same jobs
    for i in (1,):
        seq = SEQ.format(i)
        names = sorted(p.name for p in (out / seq).iterdir())
        assert names == sorted(p.name for p in (local / seq).iterdir())
        labels = [n for n in names if any(n.endswith(f".{m}.{e}") for m, e in (
            ("depth", "exr"), ("semantic", "png"), ("instance", "png"), ("normal", "exr"), ("meta", "json"),
            ("flow_fwd", "flo"), ("flow_bwd", "flo"), ("flow_fwd_occlusion", "png"), ("flow_bwd_occlusion", "png")))]
        assert len(labels) >= 12
        for n in labels:
            assert (out / seq / n).read_bytes() == (local / seq / n).read_bytes(), f"{seq}/{n}"
    check_dataset(out, {SEQ.format(1): 2})


def test_sigterm_stops_the_run_and_leaves_only_whole_sequences(tmp_path):
    needs_blender()
    out = tmp_path / "ds"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SIMGEN_BATCH_FAULT", None)
    proc = subprocess.Popen([sys.executable, "-m", "simgen.cli", "batch", str(SCENE), "--seeds", "0-3", "--out",
                             str(out), "--config", str(CFG), "--workers", "2", "--no-progress"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(d.is_dir() and any(d.rglob("*.depth.exr")) for d in out.glob(".job-*")):  # frames under way
            break
        time.sleep(0.1)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    assert code == 143, err
    assert "interrupted" in err and "Traceback" not in err
    t = time.monotonic()
    while _workers_of(proc.pid) and time.monotonic() - t < 10:
        time.sleep(0.1)
    assert not _workers_of(proc.pid)
    assert not list(out.glob(".job-*"))  # unfinished jobs leave nothing behind
    rep = json.loads((out / "batch_report.json").read_text())
    assert rep["interrupted"] and rep["exit_code"] == 143
    done = {r["sequence"] for r in _rows(out)}
    if done:  # sequences committed before the signal stay, whole
        check_dataset(out, {s: 4 for s in done})
    assert sorted(p.parent.name + "/" + p.name for p in out.glob("*/v*")) == sorted(done)
    from simgen.io.dataset import DatasetReader

    assert DatasetReader(out).verify() == []
