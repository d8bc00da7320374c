"""Ctrl-C / SIGTERM stop ``simgen render`` within seconds in every phase (beauty render, label render,
reflection pre-pass, writing): exit code 130 / 143, the dataset exactly as it was, no Blender memory report, no
traceback, no temporary folder left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, snapshot_files

pytestmark = [pytest.mark.blender, pytest.mark.slow]
SCENE = REPO / "scenes" / "pedestrian_reflection_window.yaml"
DRIVER = Path(__file__).with_name("sigint_driver.py")
# beauty renders that keep Cycles busy for seconds; every label pass, reflections included
CONFIG = """name: sigtest
width: 96
height: 72
samples: {samples}
denoiser: none
device: cpu
threads: 1
passes: [rgb, depth, flow, semantic, instance, normal, reflection]
"""


_snapshot = snapshot_files


@pytest.fixture
def dataset(tmp_path):
    """A dataset that already holds a sequence."""
    from simgen.io.commit import ROWS, commit_sequence
    from simgen.io.dataset import DatasetWriter

    root = tmp_path / "ds"
    DatasetWriter(root)
    staging = root / ".staging-1"
    seq = staging / "s" / "v0000-s0"
    seq.mkdir(parents=True)
    (seq / "000000.rgb.png").write_bytes(b"x")
    row = {"sample_id": "s/v0000-s0/000000", "scene": "s", "variant": 0, "frame": 0, "sequence": "s/v0000-s0",
           "commit": "c1", "files": {"rgb": "s/v0000-s0/000000.rgb.png"}}
    (seq / ROWS).write_text(json.dumps(row) + "\n")
    commit_sequence(root, staging, "s/v0000-s0")
    shutil.rmtree(staging)  # as the pipeline does after a commit
    return root


@pytest.mark.parametrize("phase,sig", [
    ("beauty", signal.SIGINT),
    ("labels", signal.SIGINT),
    ("reflection", signal.SIGINT),
    ("writing", signal.SIGINT),
    ("beauty", signal.SIGTERM),
])
def test_signal_stops_render_in_every_phase(tmp_path, dataset, bpy_module, phase, sig):
    cfg = tmp_path / "sigtest.yaml"
    cfg.write_text(CONFIG.format(samples=256 if phase == "beauty" else 8))  # later phases: a short beauty
    phases = tmp_path / "phases.txt"
    tmp_root = tmp_path / "tmp"
    tmp_root.mkdir()
    before = _snapshot(dataset)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_root)}
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(phases), phase if phase != "beauty" else "none", "render", str(SCENE),
         "--out", str(dataset), "--config", str(cfg), "--frames", "1", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            seen = phases.read_text().split() if phases.exists() else []
            if seen and seen[-1] == phase:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before phase {phase}: {phases.read_text()}"
        if phase == "beauty":
            time.sleep(0.5)  # well inside the Cycles render
        assert (phases.read_text().split() or ["?"])[-1] == phase
        proc.send_signal(sig)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=30)
        stop_seconds = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"{phase} {signal.Signals(sig).name}: stopped in {stop_seconds:.2f} s")
    assert stop_seconds < 5, stop_seconds
    assert proc.returncode == 128 + sig, (proc.returncode, err[-2000:])
    assert "Not freed memory" not in err + out and "Traceback" not in err + out, err[-2000:]
    assert f"interrupted ({signal.Signals(sig).name})" in err
    assert _snapshot(dataset) == before, "the dataset must be exactly as it was"
    assert not [p for p in dataset.iterdir() if p.name.startswith(".")]
    assert not list(tmp_root.glob("simgen-render-*")), "Blender's temporary folder is removed"
