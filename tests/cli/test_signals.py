"""simgen.interrupt without Blender: SIGINT/SIGTERM reach the watcher thread; outside a render they interrupt the
main thread (exit 130 / 143 through simgen.cli.main), inside hard_stop() the process ends at once after the
cleanups, and never in the middle of a critical() section."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SOFT = r"""
import sys, time
from simgen import interrupt
interrupt.install()
from simgen.cli import app, main

@app.command("sleepy")
def sleepy():
    print("ready", flush=True)
    time.sleep(30)

sys.exit(main(["sleepy"]))
"""

HARD = r"""
import sys, time
from pathlib import Path
from simgen import interrupt
interrupt.install()
marker, staging = Path(sys.argv[1]), Path(sys.argv[2])
staging.mkdir()
(staging / "half.bin").write_bytes(b"x")
interrupt.on_stop(lambda: marker.write_text("cleaned"))
interrupt.remove_tree_on_stop(staging)
with interrupt.hard_stop():
    if sys.argv[3] == "critical":
        with interrupt.critical():
            print("ready", flush=True)
            time.sleep(1.5)
            Path(sys.argv[1] + ".commit").write_text("done")
    print("ready", flush=True)
    while True:  # a C call that ignores Python's signal handling would look the same to the watcher
        time.sleep(30)
"""


def _start(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout.readline().strip() == "ready"
    return p


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_soft_stop_outside_a_render(sig, code):
    p = _start(SOFT)
    t0 = time.monotonic()
    p.send_signal(sig)
    out, err = p.communicate(timeout=20)
    assert time.monotonic() - t0 < 5
    assert p.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_hard_stop_runs_cleanups_and_exits_at_once(tmp_path, sig):
    marker, staging = tmp_path / "marker", tmp_path / "staging"
    p = _start(HARD, str(marker), str(staging), "plain")
    t0 = time.monotonic()
    p.send_signal(sig)
    out, err = p.communicate(timeout=20)
    assert time.monotonic() - t0 < 2
    assert p.returncode == 128 + sig
    assert marker.read_text() == "cleaned" and not staging.exists()
    assert not list(tmp_path.glob("staging*"))
    assert f"interrupted ({signal.Signals(sig).name})" in err and "as it was" in err


def test_hard_stop_waits_for_a_critical_section(tmp_path):
    marker, staging = tmp_path / "marker", tmp_path / "staging"
    p = _start(HARD, str(marker), str(staging), "critical")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 130
    assert (tmp_path / "marker.commit").read_text() == "done"  # the commit was not cut short
    assert "right after the commit" in err
