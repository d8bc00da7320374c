"""Render device selection.

:func:`choose_device` is pure logic (testable without a GPU or Blender); :func:`probe_devices` and
:func:`apply_device` talk to Cycles and import bpy only when called.

Backend names are Cycles' upper-case compute types: ``OPTIX``, ``CUDA``, ``HIP``, ``ONEAPI``, ``METAL``, and
``CPU`` for the processor.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

from simgen.errors import DeviceError

log = logging.getLogger(__name__)

GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
#: backends driven by the NVIDIA driver, which is what CUDA_VISIBLE_DEVICES governs
NVIDIA_BACKENDS = ("OPTIX", "CUDA")


@dataclass(frozen=True)
class DeviceChoice:
    """The device a render will use.

    backend: 'CPU' or a GPU backend name. devices: names of the devices used (for 'CPU': the processor's
    name, possibly empty). indices: positions of those devices in the backend's probed list (what
    :func:`apply_device` enables). message: one human-readable line saying what was picked and why.
    """

    backend: str
    devices: list[str] = field(default_factory=list)
    message: str = ""
    indices: tuple[int, ...] = ()

    @property
    def is_gpu(self) -> bool:
        return self.backend != "CPU"


def _visible(backend: str, names: list[str], cuda_visible_devices: str | None) -> tuple[list[int], str]:
    """Positions of ``names`` that CUDA_VISIBLE_DEVICES leaves visible, and a note for the log line."""
    positions = list(range(len(names)))
    if backend not in NVIDIA_BACKENDS or cuda_visible_devices is None:
        return positions, ""
    value = cuda_visible_devices.strip()
    if value == "":
        return [], "CUDA_VISIBLE_DEVICES is empty"
    tokens = [t.strip() for t in value.split(",") if t.strip()]
    wanted: list[int] = []
    for t in tokens:
        try:
            i = int(t)
        except ValueError:  # GPU-UUIDs / MIG names: the driver has applied them already
            return positions, f"CUDA_VISIBLE_DEVICES={value} (applied by the driver)"
        if i < 0:  # the driver stops enumerating at the first invalid index
            break
        wanted.append(i)
    # The driver applies the variable itself inside this process, so a probe made here usually lists exactly
    # the visible devices (renumbered from 0). Only filter when the list is longer than what the variable
    # allows, i.e. when it is an unfiltered list.
    if len(names) <= len(wanted):
        return positions, f"CUDA_VISIBLE_DEVICES={value}"
    kept = [i for i in wanted if i < len(names)]
    return sorted(set(kept), key=kept.index), f"CUDA_VISIBLE_DEVICES={value}"


def choose_device(
    requested: str,
    available: dict[str, list[str]],
    platform: str | None = None,
    cuda_visible_devices: str | None = None,
    gpu_index: int | None = None,
) -> DeviceChoice:
    """Pick the render device.

    requested: 'auto', 'cpu' or a backend ('cuda', 'optix', 'hip', 'oneapi', 'metal'; case-insensitive).
    available: backend name -> device names of that backend as probed (a 'CPU' entry is optional).
    platform: ``sys.platform`` value ('linux', 'darwin', 'win32'); METAL is only tried on 'darwin'.
    cuda_visible_devices: the CUDA_VISIBLE_DEVICES value (None = unset; '' = no NVIDIA device; '0,2' =
        those positions). gpu_index: use only the n-th visible device of the chosen backend.

    'auto' tries OPTIX, CUDA, HIP, ONEAPI (METAL first on macOS) and falls back to the CPU. An explicit GPU
    request that cannot be met raises :class:`DeviceError` naming what exists.
    """
    platform = sys.platform if platform is None else platform
    req = str(requested).strip().lower()
    avail = {k.upper(): list(v) for k, v in available.items()}
    cpu_names = avail.get("CPU", [])
    known = ("auto", "cpu", *[b.lower() for b in GPU_BACKENDS])
    if req not in known:
        raise DeviceError(f"unknown render device {requested!r}; choose one of: {', '.join(known)}")

    def summary() -> str:
        parts = []
        for b in GPU_BACKENDS:
            pos, note = _visible(b, avail.get(b, []), cuda_visible_devices)
            if avail.get(b):
                names = [avail[b][i] for i in pos]
                parts.append(f"{b}: {', '.join(names) if names else 'none visible'}" + (f" ({note})" if note else ""))
        return "; ".join(parts) if parts else "no GPU found"

    def pick(backend: str) -> tuple[list[int], str]:
        pos, note = _visible(backend, avail.get(backend, []), cuda_visible_devices)
        if gpu_index is not None:
            pos = [pos[gpu_index]] if gpu_index < len(pos) else []
            note = (note + "; " if note else "") + f"gpu_index={gpu_index}"
        return pos, note

    if req == "cpu":
        return DeviceChoice("CPU", cpu_names, "render device: CPU (requested)")

    if req == "auto":
        order = ["METAL", *[b for b in GPU_BACKENDS if b != "METAL"]] if platform == "darwin" else [
            b for b in GPU_BACKENDS if b != "METAL"
        ]
        for backend in order:
            pos, note = pick(backend)
            if pos:
                names = [avail[backend][i] for i in pos]
                msg = f"render device: {backend} ({', '.join(names)}) — first available of {', '.join(order)}"
                if note:
                    msg += f"; {note}"
                return DeviceChoice(backend, names, msg, tuple(pos))
        return DeviceChoice("CPU", cpu_names, f"render device: CPU — no usable GPU ({summary()})")

    backend = req.upper()
    if backend == "METAL" and platform != "darwin":
        raise DeviceError(f"render device 'metal' exists only on macOS (this is {platform}); found: {summary()}")
    pos, note = pick(backend)
    if not pos:
        why = f" ({note})" if note else ""
        raise DeviceError(
            f"render device {req!r} requested but no {backend} device is usable{why}; found: {summary()}. "
            "Use --device auto or --device cpu."
        )
    names = [avail[backend][i] for i in pos]
    msg = f"render device: {backend} ({', '.join(names)}) (requested)" + (f"; {note}" if note else "")
    return DeviceChoice(backend, names, msg, tuple(pos))


def _cycles_prefs():
    import bpy

    return bpy.context.preferences.addons["cycles"].preferences


def probe_devices() -> dict[str, list[str]]:
    """Ask Cycles which devices exist: backend -> device names ('CPU' always present). Imports bpy."""
    import bpy

    prefs = _cycles_prefs()
    old = prefs.compute_device_type
    found: dict[str, list[str]] = {"CPU": []}
    types = [t[0] for t in prefs.get_device_types(bpy.context)]
    for backend in GPU_BACKENDS:
        if backend not in types:
            continue
        try:
            prefs.compute_device_type = backend
        except TypeError:  # not compiled in on this platform
            continue
        prefs.refresh_devices()
        found[backend] = [d.name for d in prefs.devices if d.type == backend]
        found["CPU"] = [d.name for d in prefs.devices if d.type == "CPU"] or found["CPU"]
    try:
        prefs.compute_device_type = old
    except TypeError:
        pass
    return {k: v for k, v in found.items() if v or k == "CPU"}


def select_device(requested: str, gpu_index: int | None = None) -> DeviceChoice:
    """Probe, choose (honouring the process's CUDA_VISIBLE_DEVICES) and log one line. Imports bpy."""
    choice = choose_device(
        requested, probe_devices(), sys.platform, os.environ.get("CUDA_VISIBLE_DEVICES"), gpu_index
    )
    log.info(choice.message)
    return choice


def apply_device(choice: DeviceChoice, scene=None) -> None:
    """Configure Cycles (preferences + ``scene.cycles.device``) for ``choice``. Imports bpy.

    Raises DeviceError if a GPU choice ends up with no enabled GPU (Cycles would silently use the CPU).
    """
    import bpy

    scene = scene or bpy.context.scene
    prefs = _cycles_prefs()
    if not choice.is_gpu:
        scene.cycles.device = "CPU"
        return
    try:
        prefs.compute_device_type = choice.backend
    except TypeError as exc:
        raise DeviceError(f"this Blender build has no {choice.backend} support") from exc
    prefs.refresh_devices()
    position = 0
    for d in prefs.devices:
        if d.type == choice.backend:
            d.use = position in choice.indices
            position += 1
        else:
            d.use = False
    scene.cycles.device = "GPU"
    if prefs.get_num_gpu_devices() < 1 or not any(d.use for d in prefs.devices if d.type == choice.backend):
        raise DeviceError(f"no usable {choice.backend} device could be enabled (Cycles would fall back to the CPU)")
