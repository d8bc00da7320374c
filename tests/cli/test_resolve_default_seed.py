"""``simgen resolve`` without ``--seed`` resolves seed 0 (as ``simgen render`` does), no traceback."""

from __future__ import annotations

import json
from pathlib import Path

from simgen.cli import main

SCENE = str(Path(__file__).resolve().parents[2] / "scenes" / "quickstart.yaml")


def test_resolve_without_seed_is_seed_0(capsys):
    assert main(["resolve", SCENE]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    plain = json.loads(out.out)
    assert main(["resolve", SCENE, "--seed", "0"]) == 0
    assert json.loads(capsys.readouterr().out) == plain and plain["seed"] == 0
    assert main(["resolve", SCENE, "--seed", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 5
    assert main(["resolve", SCENE, "--seed", "-1"]) == 2  # a usage error, not a traceback
    assert "Traceback" not in capsys.readouterr().err
