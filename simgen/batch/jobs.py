"""Expand scene / sweep files x sweep points x seeds into jobs with stable ids (no Blender).

A job is one sequence of the dataset: ``(scene file, variant, seed)`` rendered with one render config. Its id is
a digest of what determines the output — the validated scene spec of that variant (``extends`` merged, sweep
overrides applied), the sweep labels, variant, seed, the render config and ``--frames`` — and not of where the
file lies, so the same job has the same id on any machine.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from simgen.errors import SimgenError, UsageError

#: bump when the meaning of a job id changes
JOB_ID_VERSION = 1


@dataclass(frozen=True)
class Job:
    """One sequence to render.

    id: 16 hex digits (see the module doc). scene_file: absolute path of the scene or sweep file. variant: the
    sweep point (plain scenes: another independent draw). seed: the sequence's seed (a sweep point that lists
    seeds fixes it). scene: ``scene.name``. sequence: the folder ``<scene>/<sequence>`` relative to the dataset
    (``quickstart/v0000-s0``, ``city_street_noon/weather_time-p0005-s1``). frames: rows the sequence will have
    (frames x cameras; the progress total). index: position in the run.
    """

    id: str
    scene_file: str
    variant: int
    seed: int
    scene: str
    sequence: str
    frames: int
    index: int = 0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Job":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def parse_int_list(text: str | None, option: str) -> list[int] | None:
    """``"0-3,7"`` -> [0, 1, 2, 3, 7]; None/``"all"`` -> None. Raises :class:`UsageError` naming ``option``."""
    if text is None or str(text).strip().lower() in ("", "all"):
        return None
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise UsageError(f"{option}: '{part}' is not a number or a range like 0-9 (got '{text}')")
        lo, hi = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
        if hi < lo:
            raise UsageError(f"{option}: the range '{part}' runs backwards")
        if hi - lo > 1_000_000:
            raise UsageError(f"{option}: the range '{part}' is too long")
        out.extend(range(lo, hi + 1))
    return list(dict.fromkeys(out))


def job_id(spec_json: dict, labels: dict, variant: int, seed: int, cfg_json: dict, frames: int | None) -> str:
    """The stable id: sha256 of the canonical JSON of everything that determines the sequence, 16 hex digits."""
    cfg = {k: v for k, v in cfg_json.items() if k != "threads"}  # thread count changes speed, not pixels
    blob = json.dumps({"v": JOB_ID_VERSION, "scene": spec_json, "sweep": labels, "variant": variant, "seed": seed,
                       "config": cfg, "frames": frames}, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def expand_jobs(files: list[str | Path], *, cfg, variants: str | None = None, seeds: str | None = None,
                frames: int | None = None) -> list[Job]:
    """Jobs of ``files`` x sweep points x seeds, in that order (duplicates removed).

    variants: ``"0-3,5"`` picks sweep points (plain scenes: independent draws); default every point of a sweep,
    variant 0 of a plain scene. seeds: ``"0-4"``; default ``0`` (a sweep that lists its own seeds keeps them).
    cfg: the :class:`~simgen.spec.RenderConfig`. Raises :class:`SpecError` for bad files (file:line:col),
    :class:`UsageError` for bad selections, :class:`SimgenError` when two files would fill the same sequence.
    """
    from simgen.io.layout import safe_component
    from simgen.pipeline import sequence_name, source_identity
    from simgen.spec.sweep import expand_sweep

    want_variants = parse_int_list(variants, "--variants")
    want_seeds = parse_int_list(seeds, "--seeds") or [0]
    cfg_json = cfg.model_dump(mode="json")
    jobs: list[Job] = []
    seen: set[str] = set()
    owner: dict[str, str] = {}  # scene name -> source file
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise SimgenError(f"scene file not found: {path}" if not path.exists()
                              else f"scene file {path} is not a regular file")
        vs = expand_sweep(path)
        sweep = not (len(vs) == 1 and not vs[0].overrides and vs[0].seed is None)
        if want_variants is None:
            points = list(range(len(vs))) if sweep else [0]
        else:
            points = want_variants
            if sweep:
                bad = [v for v in points if v >= len(vs)]
                if bad:
                    raise UsageError(f"--variants: {path} has sweep points 0..{len(vs) - 1}; {bad[0]} does not exist")
        source = source_identity(path)
        for v in points:
            var = vs[v] if sweep else vs[0]
            spec_json = var.spec.model_dump(mode="json")
            n_rows = int(var.spec.frames if frames is None else min(frames, var.spec.frames))
            if cfg.frames is not None:
                n_rows = min(n_rows, cfg.frames)
            n_rows *= max(1, len(var.spec.cameras))
            for s in want_seeds:
                seed = int(var.seed) if (sweep and var.seed is not None) else int(s)
                scene = safe_component(var.spec.scene.name, "scene")
                rel = f"{scene}/{sequence_name(v, seed, path if sweep else None)}"
                jid = job_id(spec_json, dict(var.labels), v, seed, cfg_json, frames)
                if owner.setdefault(scene, source) != source:
                    raise SimgenError(f"{path} and {owner[scene]} both name their scene '{scene}' (scene.name); "
                                      f"a dataset keeps one file per scene name: rename one of them")
                if rel in seen:
                    continue  # the same sequence twice (a sweep with its own seeds under several --seeds)
                seen.add(rel)
                jobs.append(Job(id=jid, scene_file=source, variant=v, seed=seed, scene=scene, sequence=rel,
                                frames=n_rows, index=len(jobs)))
    if not jobs:
        raise UsageError("no jobs: give at least one scene file")
    return jobs
