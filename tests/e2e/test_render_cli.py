"""`simgen render` on bad input: a clear message, exit code != 0, and nothing under final names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

QUICKSTART = REPO / "scenes" / "quickstart.yaml"
CONFIG = REPO / "tests" / "e2e" / "e2e_render.yaml"


def _run(args, capsys):
    from simgen.cli import main

    code = main(["render", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _final_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_missing_scene_file(tmp_path, capsys):
    code, text = _run([tmp_path / "nope.yaml", "--out", tmp_path / "o"], capsys)
    assert code != 0 and "nope.yaml" in text and "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_invalid_spec(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(QUICKSTART.read_text().replace("camera", "camrea", 1))
    code, text = _run([bad, "--out", tmp_path / "o"], capsys)
    assert code == 1 and "bad.yaml:" in text and "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, text = _run([QUICKSTART, "--out", blocker / "o", "--config", CONFIG, "--device", "cpu"], capsys)
    assert code == 1 and "Traceback" not in text and str(blocker) in text


def test_unknown_device(tmp_path, capsys):
    code, text = _run([QUICKSTART, "--out", tmp_path / "o", "--device", "tpu"], capsys)
    assert code != 0 and "tpu" in text and "Traceback" not in text
    assert _final_files(tmp_path / "o") == []


@pytest.mark.blender
def test_gpu_requested_but_absent(tmp_path, capsys, bpy_module):
    from simgen.render.device import probe_devices

    if any(devs for backend, devs in probe_devices().items() if backend.upper() == "CUDA"):
        pytest.skip("this machine has a CUDA device")  # pragma: no cover - GPU boxes only
    code, text = _run([QUICKSTART, "--out", tmp_path / "o", "--config", CONFIG, "--device", "cuda"], capsys)
    assert code == 1 and "cuda" in text.lower() and "Traceback" not in text
    assert _final_files(tmp_path / "o") == []
