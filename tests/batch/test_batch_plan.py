"""simgen batch without Blender: job expansion and ids, GPU detection and worker slots (mocked), fault specs,
the resume check against tampered files, the report section, usage errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from simgen.batch import faults as F
from simgen.batch.jobs import expand_jobs, parse_int_list
from simgen.batch.plan import WorkerSlot, detect_gpus, parse_gpus, plan_workers
from simgen.batch.store import verify_job, write_checksums
from simgen.errors import SimgenError, UsageError
from simgen.spec import load_render_config
from tests.conftest import REPO

SCENE = REPO / "scenes" / "quickstart.yaml"
SWEEP = REPO / "scenes" / "sweeps" / "weather_time.yaml"
CFG = REPO / "tests" / "batch" / "tiny_render.yaml"


def test_int_lists():
    assert parse_int_list("0-3,7,2", "--seeds") == [0, 1, 2, 3, 7]
    assert parse_int_list("all", "--variants") is None and parse_int_list(None, "--variants") is None
    for bad in ("a", "3-1", "1,,x", "-2"):
        with pytest.raises(UsageError, match="--seeds"):
            parse_int_list(bad, "--seeds")


def test_job_ids_stable_across_locations_and_sensitive_to_what_matters(tmp_path):
    cfg = load_render_config(str(CFG))
    jobs = expand_jobs([SCENE], cfg=cfg, seeds="0-2", variants="0,1")
    assert [j.sequence for j in jobs] == [f"quickstart/v{v:04d}-s{s}" for v in (0, 1) for s in (0, 1, 2)]
    assert len({j.id for j in jobs}) == 6 and all(len(j.id) == 16 for j in jobs)
    assert all(j.frames == 4 for j in jobs)  # 4 frames x 1 camera
    # the same file elsewhere (another machine, another checkout): the same ids
    other = tmp_path / "elsewhere" / "quickstart.yaml"
    other.parent.mkdir()
    shutil.copy(SCENE, other)
    assert [j.id for j in expand_jobs([other], cfg=cfg, seeds="0-2", variants="0,1")] == [j.id for j in jobs]
    # thread count: same pixels, same id; samples, frames or a scene edit: another id
    assert expand_jobs([SCENE], cfg=cfg.model_copy(update={"threads": 7}))[0].id == jobs[0].id
    assert expand_jobs([SCENE], cfg=cfg.model_copy(update={"samples": 2}))[0].id != jobs[0].id
    assert expand_jobs([SCENE], cfg=cfg, frames=2)[0].id != jobs[0].id
    assert expand_jobs([SCENE], cfg=cfg, frames=2)[0].frames == 2
    other.write_text(other.read_text().replace("speed_mps: 6.0", "speed_mps: 7.0"))
    assert expand_jobs([other], cfg=cfg)[0].id != jobs[0].id


def test_sweep_expansion_and_errors(tmp_path):
    cfg = load_render_config(str(CFG))
    from simgen.spec.sweep import expand_sweep

    jobs = expand_jobs([SWEEP], cfg=cfg, seeds="0-3")  # the sweep lists its own seeds: they win, no duplicates
    points = expand_sweep(SWEEP)
    assert len(jobs) == 18 and jobs[5].sequence == f"city_street_noon/weather_time-p0005-s{points[5].seed}"
    assert [j.variant for j in expand_jobs([SWEEP], cfg=cfg, variants="2-3")] == [2, 3]
    with pytest.raises(UsageError, match="--variants"):
        expand_jobs([SWEEP], cfg=cfg, variants="18")
    with pytest.raises(SimgenError, match="not found"):
        expand_jobs([tmp_path / "nope.yaml"], cfg=cfg)
    twin = tmp_path / "twin.yaml"
    shutil.copy(SCENE, twin)  # same scene.name from another file
    with pytest.raises(SimgenError, match="scene.name"):
        expand_jobs([SCENE, twin], cfg=cfg)


def test_gpu_detection_mocked():
    def smi(ok=True, text="GPU 0: A (UUID: GPU-1)\nGPU 1: B (UUID: GPU-2)\n"):
        return lambda *a, **k: subprocess.CompletedProcess(a, 0 if ok else 9, stdout=text, stderr="")

    assert detect_gpus({}, run=smi()) == ["0", "1"]
    assert detect_gpus({}, run=smi(ok=False)) == []
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}, run=smi()) == ["2", "3"]
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": ""}, run=smi()) == []
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": "1,-1,2"}, run=smi()) == ["1"]

    def missing(*a, **k):
        raise FileNotFoundError("nvidia-smi")

    assert detect_gpus({}, run=missing) == []


def test_worker_slots_pin_one_gpu_each_and_share_cpu_threads():
    slots = plan_workers(None, None, ["0", "1"], cpu_count=16)
    assert [(s.gpu, s.threads) for s in slots] == [("0", 8), ("1", 8)]
    env = slots[1].env({"PATH": "/bin", "CUDA_VISIBLE_DEVICES": "0,1"})
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["HIP_VISIBLE_DEVICES"] == "1" and env["PATH"] == "/bin"
    assert [s.gpu for s in plan_workers(3, None, ["0", "1"], 8)] == ["0", "1", "0"]
    assert [s.gpu for s in plan_workers(None, ["3"], ["0", "1"], 8)] == ["3"]
    cpu = plan_workers(2, None, [], cpu_count=8)
    assert [(s.gpu, s.threads) for s in cpu] == [(None, 4), (None, 4)]
    assert cpu[0].env({})["CUDA_VISIBLE_DEVICES"] == ""  # CPU workers see no GPU
    assert [(s.gpu, s.threads) for s in plan_workers(None, None, [], 2)] == [(None, 2)]
    assert [s.gpu for s in plan_workers(None, None, ["0"], 4, device="cpu")] == [None]
    assert plan_workers(4, None, [], 2)[0].threads == 1
    with pytest.raises(UsageError, match="GPU"):
        plan_workers(None, None, [], 4, device="cuda")
    assert parse_gpus("0,2") == ["0", "2"] and parse_gpus("none") == [] and parse_gpus(None) is None
    with pytest.raises(UsageError, match="--gpus"):
        parse_gpus("0,x")
    assert WorkerSlot(0, "1", 4).label == "w0 gpu1"


def test_fault_specs():
    spec = "quickstart/v0000-s1:crash@1;abcd:fail;quickstart/v0000-s3:hang@1,2"
    assert F.kinds_for(spec, "ffff", "quickstart/v0000-s1", 1) == {"crash"}
    assert F.kinds_for(spec, "ffff", "quickstart/v0000-s1", 2) == set()
    assert F.kinds_for(spec, "abcdef01", "x/y", 5) == {"fail"}
    assert F.kinds_for(spec, "ffff", "quickstart/v0000-s3", 2) == {"hang"}
    with pytest.raises(UsageError):
        F.parse("x:explode")


def _fake_sequence(root: Path, rel: str, job: str) -> list[dict]:
    seq = root / rel
    seq.mkdir(parents=True)
    rows = []
    for t in range(2):
        (seq / f"{t:06d}.depth.exr").write_bytes(bytes([t]) * 100)
        rows.append({"sample_id": f"{rel}/{t:06d}", "sequence": rel, "files": {"depth": f"{rel}/{t:06d}.depth.exr"}})
    (seq / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_checksums(root, rel, job)
    return rows


def test_resume_check_catches_every_kind_of_damage(tmp_path):
    rel = "quickstart/v0000-s0"
    rows = _fake_sequence(tmp_path, rel, "j1")
    assert verify_job(tmp_path, rel, "j1", rows) is None
    assert "another job" in verify_job(tmp_path, rel, "j2", rows)
    assert "1 of its 2 rows" in verify_job(tmp_path, rel, "j1", rows[:1])
    assert "rows" in verify_job(tmp_path, rel, "j1", rows + rows[:1])
    f = tmp_path / rel / "000001.depth.exr"
    f.write_bytes(bytes([9]) * 100)  # same size, other bytes
    assert "sha256" in verify_job(tmp_path, rel, "j1", rows)
    assert verify_job(tmp_path, rel, "j1", rows, hashes=False) is None
    f.write_bytes(b"short")
    assert "bytes" in verify_job(tmp_path, rel, "j1", rows, hashes=False)
    f.unlink()
    assert "missing" in verify_job(tmp_path, rel, "j1", rows)
    assert verify_job(tmp_path, "quickstart/v0009-s0", "j1", []) == "not rendered"


def test_report_section_in_index(tmp_path):
    from simgen.batch.report import REPORT, html_section, write_report
    from simgen.io.gallery import write_index

    assert html_section(tmp_path) == ""
    write_report(tmp_path, {"backend": "local", "started": "2026-01-01T00:00:00+00:00", "finished": "x",
                            "seconds": 3.0, "exit_code": 3, "frames_per_second": 2.0,
                            "counts": {"jobs": 2, "done": 1, "skipped": 0, "failed": 1, "frames": 4},
                            "jobs": [{"job": "a", "sequence": "q/v0000-s0", "status": "done", "frames": 4,
                                      "seconds": 1.5, "attempts": 1, "worker": "w0", "device": "CPU"}],
                            "failures": [{"job": "b", "sequence": "q/v0000-s1", "attempts": 3,
                                          "error": "InjectedFault: <boom>"}]})
    assert json.loads((tmp_path / REPORT).read_text())["exit_code"] == 3
    page = write_index(tmp_path).read_text()
    assert "Batch run (local)" in page and "q/v0000-s1" in page and "&lt;boom&gt;" in page
    assert list((tmp_path / ".batch" / "runs").glob("*.json"))


@pytest.mark.parametrize("args,needle", [
    (["--backend", "slurm"], "--backend"),
    (["--workers", "zero"], "--workers"),
    (["--gpus", "0,x"], "--gpus"),
    (["--seeds", "5-1"], "--seeds"),
    (["--address", "ray://h:10001"], "--address"),
    (["--verify", "maybe"], "--verify"),
])
def test_bad_options_are_one_line_exit_2(args, needle, tmp_path, capsys):
    from simgen.cli import main

    out = tmp_path / "OUT"
    code = main(["batch", str(SCENE), "--out", str(out), "--config", str(CFG), "--no-progress", *args])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2, err
    assert not out.exists()


def test_bad_scene_is_file_line_error(tmp_path, capsys):
    from simgen.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENE.read_text().replace("frames: 4", "frames: many"))
    code = main(["batch", str(bad), "--out", str(tmp_path / "OUT"), "--config", str(CFG), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "bad.yaml:" in err and "frames" in err and "Traceback" not in err
    assert not (tmp_path / "OUT").exists()


def test_retries_back_off_then_record_a_failure(tmp_path):
    from simgen.batch.runner import Options, Run

    cfg = load_render_config(str(CFG))
    jobs = expand_jobs([SCENE], cfg=cfg, seeds="0-1")
    run = Run(jobs, Options(out=tmp_path, cfg=cfg, retries=2, backoff=10.0), "local")
    a = run.next_job(now=0.0)
    assert a.job.sequence == "quickstart/v0000-s0" and a.attempts == 1 and a.status == "running"
    assert run.failed(a, "worker died (SIGKILL)", now=0.0)  # retried ...
    assert a.status == "pending" and a.not_before == 10.0
    b = run.next_job(now=0.0)
    assert b.job.sequence == "quickstart/v0000-s1"  # ... but not before its backoff has passed
    assert run.next_job(now=0.0) is None
    assert run.next_job(now=9.9) is None
    assert run.next_job(now=10.0) is a and a.attempts == 2
    assert run.failed(a, "boom", now=10.0) and a.not_before == 30.0  # doubled
    assert run.next_job(now=30.0) is a and a.attempts == 3
    assert not run.failed(a, "boom again", log_tail="tail", now=30.0) and a.status == "failed"
    rep = run.report(3)
    assert rep["failures"][0]["errors"] == ["worker died (SIGKILL)", "boom", "boom again"]
    assert rep["failures"][0]["attempts"] == 3 and rep["failures"][0]["log_tail"] == "tail"
    assert not run.failed(b, "SpecError: bad", permanent=True) and b.attempts == 1  # bad input: no retry


def test_scene_name_from_another_file_is_refused_before_any_render(tmp_path, capsys):
    from simgen.cli import main

    out = tmp_path / "ds"
    out.mkdir()
    (out / "manifest.jsonl").write_text(json.dumps({"sample_id": "quickstart/v0000-s0/000000", "scene": "quickstart",
                                                    "sequence": "quickstart/v0000-s0", "source": "/elsewhere/q.yaml",
                                                    "frame": 0, "files": {"meta": "x"}}) + "\n")
    code = main(["batch", str(SCENE), "--out", str(out), "--config", str(CFG), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "already in" in err and "/elsewhere/q.yaml" in err and "Traceback" not in err
    assert not list(out.glob(".job-*")) and not (out / ".batch" / "logs").exists()


def test_run_batch_uses_the_detected_gpus(tmp_path, monkeypatch):
    """Without --gpus the driver asks detect_gpus (mocked: two GPUs) and starts one pinned worker per GPU."""
    import simgen.batch.local as local
    import simgen.batch.plan as plan
    from simgen.batch.api import run_batch
    from simgen.batch.runner import Options

    seen = {}

    class FakeBackend:
        def __init__(self, run, slots):
            seen["slots"], self.run = slots, run

        def run_all(self):
            for st in self.run.states.values():
                st.status = "done"

    monkeypatch.setattr(plan, "detect_gpus", lambda env=None, run=None: ["0", "1"])
    monkeypatch.setattr(local, "LocalBackend", FakeBackend)
    cfg = load_render_config(str(CFG))
    jobs = expand_jobs([SCENE], cfg=cfg, seeds="0-2")
    rep = run_batch(jobs, Options(out=tmp_path / "ds", cfg=cfg, device="auto", progress=False))
    assert [(s.gpu, s.env({})["CUDA_VISIBLE_DEVICES"]) for s in seen["slots"]] == [("0", "0"), ("1", "1")]
    assert rep["exit_code"] == 0 and rep["counts"]["done"] == 3
    seen.clear()
    run_batch(jobs, Options(out=tmp_path / "ds2", cfg=cfg, device="cpu", progress=False), workers=2)
    assert [s.gpu for s in seen["slots"]] == [None, None]  # --device cpu: CPU workers, GPUs hidden


def test_a_commit_cut_short_by_a_dead_driver_is_completed_by_the_next_run(tmp_path):
    """The driver died between the journal and the manifest rewrite: the next run's prepare_output finishes the
    commit from the job folder, and the sequence then passes the resume check."""
    from simgen.batch.store import job_dir, prepare_output
    from simgen.io.commit import read_manifest

    out, rel = tmp_path / "ds", "quickstart/v0000-s0"
    out.mkdir()
    jd = job_dir(out, "feedfacefeedface")
    rows = _fake_sequence(jd, rel, "feedfacefeedface")
    rows = [{**r, "commit": "c0ffee"} for r in rows]
    (jd / rel / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_checksums(jd, rel, "feedfacefeedface")
    (out / ".job-0123456789abcdef").mkdir()  # an unfinished job of the dead run
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / f".commit-{dead.pid}.json").write_text(json.dumps({"sequence": rel, "staging": jd.name,
                                                                "commit": "c0ffee", "drop": []}))
    lines = prepare_output(out)
    assert any("completed the interrupted commit" in x for x in lines), lines
    assert [r["sample_id"] for r in read_manifest(out).rows] == [r["sample_id"] for r in rows]
    assert not list(out.glob(".job-*")) and not list(out.glob(".commit-*"))
    assert verify_job(out, rel, "feedfacefeedface", read_manifest(out).rows) is None
