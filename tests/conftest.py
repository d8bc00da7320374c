"""Shared test fixtures.

Blender tests use the ``bpy`` fixture (or ``needs_blender()``): they skip when bpy is missing on a developer
machine, but with SIMGEN_REQUIRE_BLENDER=1 (set by .ci/run) a missing bpy is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: real street video (Debian opencv-doc), the validator's and the detector's real frames
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def snapshot_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative POSIX path -> bytes): compare two to prove nothing changed."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def vtest_frame(index: int):
    """Frame ``index`` of vtest.avi as (576, 768, 3) uint8 RGB; skips the test when the video is missing."""
    import cv2

    if not VTEST.exists():
        pytest.skip(f"{VTEST} is missing (Debian package opencv-doc)")
    cap = cv2.VideoCapture(str(VTEST))
    for _ in range(index + 1):
        ok, frame = cap.read()
        assert ok
    cap.release()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def needs_blender():
    """Import bpy, or skip (fail under SIMGEN_REQUIRE_BLENDER=1)."""
    if os.environ.get("SIMGEN_REQUIRE_BLENDER") == "1":
        import bpy  # noqa: F401  - an ImportError fails the test

        return bpy
    return pytest.importorskip("bpy")


@pytest.fixture(scope="session")
def bpy_module():
    return needs_blender()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get("SIMGEN_REQUIRE_BLENDER") != "1":
        return
    skipped = terminalreporter.stats.get("skipped", [])
    bad = [r for r in skipped if "blender" in getattr(r, "keywords", {})]
    if bad:
        terminalreporter.write_line(f"FAIL: {len(bad)} Blender test(s) skipped under SIMGEN_REQUIRE_BLENDER=1")


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("SIMGEN_REQUIRE_BLENDER") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if any("blender" in getattr(r, "keywords", {}) for r in skipped):
        session.exitstatus = 1
