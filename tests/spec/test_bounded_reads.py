"""Bounded reads and confined includes: check/resolve/render never read more than the cap, refuse FIFOs and
devices without blocking, keep ``extends:`` under the scene folder (or --include-root), and never echo a foreign
file's content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simgen.cli import main

REPO = Path(__file__).resolve().parents[2]
OK = "scene: {name: ok_scene}\n"
SECRET = "topsecret_value_4711"

_MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
r = subprocess.run([sys.executable, "-m", "simgen.cli", *sys.argv[1:]], capture_output=True, text=True, timeout=60)
dt = time.perf_counter() - t0
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": r.returncode, "seconds": dt, "err": r.stderr, "max_rss_mb": u.ru_maxrss / 1024,
                  "cpu_seconds": u.ru_utime + u.ru_stime}))
"""


def _measure(*args: str) -> dict:
    """Run ``simgen ARGS`` as the only child of a fresh process, so its peak memory is measured alone."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_check_dev_zero_is_refused_fast_and_small():
    r = _measure("check", "/dev/zero")
    assert r["rc"] == 1, r
    assert "character device" in r["err"] and "Traceback" not in r["err"]
    assert r["max_rss_mb"] < 100, r
    # CPU time, not wall time: the refusal costs no more than starting the CLI, however loaded the machine is
    assert r["cpu_seconds"] < 3.0, r


def test_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "scene.yaml"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    for cmd in (["check", str(fifo)], ["resolve", str(fifo), "--seed", "0"]):
        assert main(cmd) == 1
        err = capsys.readouterr().err
        assert "FIFO" in err and str(fifo) in err
    assert time.perf_counter() - t0 < 20  # a blocking open would hang forever


def test_render_refuses_a_device_before_touching_the_output(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["render", "/dev/null", "--out", str(out), "--no-progress"]) == 1
    assert "not a regular file" in capsys.readouterr().err
    assert not out.exists()


def test_oversized_file_is_refused_on_its_size(tmp_path, capsys, monkeypatch):
    import simgen.spec.yamlio as yamlio

    big = tmp_path / "big.yaml"
    big.write_text(OK + "# " + "x" * 5000 + "\n")
    monkeypatch.setattr(yamlio, "MAX_FILE_BYTES", 1000)
    reads = []
    real_read = os.read
    monkeypatch.setattr(yamlio.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    assert main(["check", "--kind", "scene", str(big)]) == 1
    assert "larger than" in capsys.readouterr().err
    assert not reads  # refused on its size, nothing read


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../../../etc/passwd", "OUTSIDE"])
def test_extends_stays_under_the_scene_folder(tmp_path, capsys, target):
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    outside = tmp_path / "outside.yaml"
    outside.write_text(f"{SECRET}\n")
    if target == "OUTSIDE":
        target = "../outside.yaml"
    (scenes / "a.yaml").write_text(f"extends: {target}\n{OK}")
    assert main(["check", str(scenes / "a.yaml")]) == 1
    err = capsys.readouterr().err
    assert "a.yaml:1:10:" in err and "leaves the scene folder" in err and "--include-root" in err
    assert SECRET not in err and "root:" not in err


def test_extends_through_a_symlink_out_is_refused(tmp_path, capsys):
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    (tmp_path / "base.yaml").write_text(f"{SECRET}: 1\n")
    (scenes / "base.yaml").symlink_to(tmp_path / "base.yaml")
    (scenes / "a.yaml").write_text(f"extends: base.yaml\n{OK}")
    assert main(["check", str(scenes / "a.yaml")]) == 1
    err = capsys.readouterr().err
    assert "leaves the scene folder" in err and SECRET not in err


def test_include_root_allows_a_shared_folder(tmp_path, capsys):
    shared, scenes = tmp_path / "shared", tmp_path / "scenes"
    shared.mkdir()
    scenes.mkdir()
    (shared / "base.yaml").write_text("scene: {name: base, tags: [shared]}\n")
    (scenes / "a.yaml").write_text(f"extends: ../shared/base.yaml\n{OK}")
    assert main(["check", str(scenes / "a.yaml")]) == 1
    capsys.readouterr()
    assert main(["check", str(scenes / "a.yaml"), "--include-root", str(shared)]) == 0
    assert main(["resolve", str(scenes / "a.yaml"), "--seed", "1", "--include-root", str(shared)]) == 0
    assert '"shared"' in capsys.readouterr().out
    # an allowed file that is not YAML is still reported without its content
    (shared / "base.yaml").write_text(f"{SECRET}\n")
    assert main(["check", str(scenes / "a.yaml"), "--include-root", str(shared)]) == 1
    assert SECRET not in capsys.readouterr().err


def test_a_root_marker_lets_sub_folders_share_a_base(tmp_path, capsys):
    scenes = tmp_path / "scenes"
    (scenes / "cams").mkdir(parents=True)
    (scenes / "base.yaml").write_text("scene: {name: base, tags: [shared]}\n")
    (scenes / "cams" / "a.yaml").write_text(f"extends: ../base.yaml\n{OK}")
    (tmp_path / "outside.yaml").write_text(f"{SECRET}: 1\n")
    (scenes / "cams" / "b.yaml").write_text(f"extends: ../../outside.yaml\n{OK}")
    assert main(["check", str(scenes / "cams" / "a.yaml")]) == 1  # no marker: the scene's own folder only
    assert "leaves the scene folder" in capsys.readouterr().err
    (scenes / ".simgen-root").write_text("")
    assert main(["check", str(scenes / "cams" / "a.yaml")]) == 0
    assert main(["check", str(scenes / "cams" / "b.yaml")]) == 1  # still nothing above the marked folder
    err = capsys.readouterr().err
    assert "leaves the scene folder" in err and SECRET not in err


def test_shipped_scenes_still_extend_their_base(capsys):
    files = sorted(p for p in (REPO / "scenes").rglob("*.yaml") if p.parent.name != "sweeps")
    assert len(files) > 5
    assert main(["check", "--quiet", *map(str, files), str(REPO / "scenes" / "sweeps" / "weather_time.yaml")]) == 0


def test_a_sweep_file_names_a_scene_under_its_root(tmp_path, capsys):
    (tmp_path / "outside.yaml").write_text(f"{SECRET}\n")
    sweeps = tmp_path / "scenes" / "sweeps"
    sweeps.mkdir(parents=True)
    (tmp_path / "scenes" / "s.yaml").write_text(OK)
    sweep = "sweep:\n  parameters:\n    - path: scene.tags\n      values: [[a], [b]]\n"
    (sweeps / "far.yaml").write_text("scene: ../../outside.yaml\n" + sweep)
    (sweeps / "near.yaml").write_text("scene: ../s.yaml\n" + sweep)
    assert main(["check", str(sweeps / "far.yaml")]) == 1
    err = capsys.readouterr().err
    assert "far.yaml:1:8: scene: scene file '../../outside.yaml' leaves the scene folder" in err
    assert SECRET not in err
    assert main(["check", str(sweeps / "near.yaml")]) == 1  # no marker: the sweep's own folder only
    (tmp_path / "scenes" / ".simgen-root").write_text("")
    assert main(["check", str(sweeps / "near.yaml")]) == 0
    assert main(["check", str(sweeps / "far.yaml"), "--include-root", str(tmp_path)]) == 1  # allowed, not YAML
    assert SECRET not in capsys.readouterr().err
