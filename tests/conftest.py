"""Shared test fixtures.

Blender tests use the ``bpy`` fixture (or ``needs_blender()``): they skip when bpy is missing on a developer
machine, but with SIMGEN_REQUIRE_BLENDER=1 (set by .ci/run) a missing bpy is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
