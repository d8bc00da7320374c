"""Worker slots: which GPU each worker gets, or how many CPU threads (pure logic + a cheap GPU probe).

GPUs are detected without Blender (the driver process never imports bpy): ``CUDA_VISIBLE_DEVICES`` when set,
else ``nvidia-smi -L``. Other vendors' GPUs are used through ``--gpus`` (the ids are then passed to each
worker as ``CUDA_VISIBLE_DEVICES`` and ``HIP_VISIBLE_DEVICES``).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from simgen.errors import UsageError


@dataclass(frozen=True)
class WorkerSlot:
    """One worker process. gpu: the device id given to it as CUDA_VISIBLE_DEVICES (None: a CPU worker, which
    sees no GPU). threads: Cycles CPU threads for its renders (>= 1)."""

    index: int
    gpu: str | None
    threads: int

    @property
    def label(self) -> str:
        return f"w{self.index} " + (f"gpu{self.gpu}" if self.gpu is not None else f"cpu×{self.threads}")

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """The worker's environment: the device pinned before Blender starts."""
        env = dict(base)
        visible = "" if self.gpu is None else str(self.gpu)
        env["CUDA_VISIBLE_DEVICES"] = visible
        env["HIP_VISIBLE_DEVICES"] = visible
        env["OMP_NUM_THREADS"] = str(self.threads)
        return env


def detect_gpus(env: dict[str, str] | None = None,
                run: Callable[..., subprocess.CompletedProcess] | None = None) -> list[str]:
    """NVIDIA GPU ids usable by this process: the entries of CUDA_VISIBLE_DEVICES when it is set (empty = none),
    else the indices ``nvidia-smi -L`` lists (none when it is missing or fails)."""
    env = os.environ if env is None else env
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        ids = []
        for tok in (t.strip() for t in value.split(",")):
            if not tok:
                continue
            if tok.lstrip("-").isdigit() and int(tok) < 0:
                break  # the driver stops at the first invalid index
            ids.append(tok)
        return ids
    run = run or subprocess.run
    try:
        res = run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    if res.returncode != 0:
        return []
    return [m.group(1) for m in re.finditer(r"^GPU (\d+):", res.stdout or "", re.M)]


def parse_gpus(text: str | None) -> list[str] | None:
    """``--gpus 0,1`` -> ['0', '1'] (ids or GPU UUIDs); None when not given; ``none`` -> []."""
    if text is None:
        return None
    if text.strip().lower() in ("none", ""):
        return []
    ids = [t.strip() for t in text.split(",") if t.strip()]
    for t in ids:
        if not re.fullmatch(r"\d+|(GPU|MIG)-[0-9A-Za-z/\-]+", t):
            raise UsageError(f"--gpus: '{t}' is not a GPU index or UUID (e.g. --gpus 0,1)")
    if len(set(ids)) != len(ids):
        raise UsageError(f"--gpus: a GPU is listed twice ({text})")
    return ids


def parse_workers(text: str | None) -> int | None:
    """``--workers N|auto`` -> N or None (auto)."""
    if text is None or text.strip().lower() == "auto":
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise UsageError(f"--workers must be a positive number or 'auto'; got '{text}'")
    if int(text) > 256:
        raise UsageError(f"--workers {text} is more than 256")
    return int(text)


def plan_workers(workers: int | None, gpus: list[str] | None, detected: list[str], cpu_count: int,
                 device: str = "auto") -> list[WorkerSlot]:
    """The worker slots of a run.

    workers: ``--workers`` (None = auto). gpus: ``--gpus`` (None = the detected ones). detected: what
    :func:`detect_gpus` found. device: the render device (``cpu`` uses no GPU; a GPU device with no GPU is an
    error). With GPUs: one worker per GPU (``--workers N`` > GPUs shares them round-robin; fewer uses the first
    N). Without: CPU workers (auto: one) sharing the cores, each with ``cpu_count // workers`` threads (>= 1).
    """
    cpu_count = max(1, int(cpu_count))
    use = [] if device == "cpu" else (list(detected) if gpus is None else list(gpus))
    if device not in ("auto", "cpu") and not use:
        raise UsageError(f"--device {device} needs a GPU, and none was found (CUDA_VISIBLE_DEVICES / nvidia-smi); "
                         f"pass --gpus IDS or --device cpu")
    if use:
        n = len(use) if workers is None else workers
        threads = max(1, cpu_count // n)
        return [WorkerSlot(i, use[i % len(use)], threads) for i in range(n)]
    n = 1 if workers is None else workers
    threads = max(1, cpu_count // n)
    return [WorkerSlot(i, None, threads) for i in range(n)]
