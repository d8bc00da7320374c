"""Render device selection: pure logic against fake availability tables, plus a probe of this machine."""

from __future__ import annotations

import logging

import pytest

from simgen.errors import DeviceError, SimgenError
from simgen.render.device import choose_device
from simgen.render.settings import RenderSettings

CPU = {"CPU": ["Some CPU"]}
ALL = {
    "CPU": ["Some CPU"],
    "CUDA": ["RTX A", "RTX B"],
    "OPTIX": ["RTX A", "RTX B"],
    "HIP": ["Radeon"],
    "ONEAPI": ["Arc"],
}


def test_auto_without_gpu_picks_cpu_and_says_why():
    c = choose_device("auto", CPU, "linux", None)
    assert c.backend == "CPU" and not c.is_gpu
    assert "CPU" in c.message and "no usable GPU" in c.message


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        (ALL, "OPTIX"),
        ({**CPU, "CUDA": ["RTX A"], "HIP": ["Radeon"]}, "CUDA"),
        ({**CPU, "HIP": ["Radeon"], "ONEAPI": ["Arc"]}, "HIP"),
        ({**CPU, "ONEAPI": ["Arc"]}, "ONEAPI"),
        ({**CPU, "CUDA": [], "OPTIX": []}, "CPU"),
    ],
)
def test_auto_priority(available, expected):
    c = choose_device("auto", available, "linux", None)
    assert c.backend == expected
    assert expected in c.message


def test_auto_metal_only_on_macos():
    avail = {**CPU, "METAL": ["Apple M3"]}
    assert choose_device("auto", avail, "darwin", None).backend == "METAL"
    assert choose_device("auto", avail, "linux", None).backend == "CPU"
    with pytest.raises(DeviceError, match="macOS"):
        choose_device("metal", avail, "linux", None)


def test_explicit_cpu_even_with_gpus():
    c = choose_device("cpu", ALL, "linux", None)
    assert c.backend == "CPU" and c.devices == ["Some CPU"] and "requested" in c.message


def test_explicit_gpu_present():
    c = choose_device("CUDA", ALL, "linux", None)
    assert (c.backend, c.devices, c.indices) == ("CUDA", ["RTX A", "RTX B"], (0, 1))


@pytest.mark.parametrize("req", ["cuda", "optix", "hip", "oneapi"])
def test_explicit_gpu_absent_is_a_clear_error(req):
    other = {"CUDA": ["RTX A"]} if req == "hip" else {"HIP": ["Radeon"]}  # some other GPU exists
    with pytest.raises(DeviceError) as err:
        choose_device(req, {**CPU, **other}, "linux", None)
    msg = str(err.value)
    assert req in msg and req.upper() in msg and "found:" in msg
    assert isinstance(err.value, SimgenError)


def test_error_lists_what_exists():
    with pytest.raises(DeviceError, match="HIP: Radeon"):
        choose_device("cuda", {**CPU, "HIP": ["Radeon"]}, "linux", None)


def test_unknown_device_name():
    with pytest.raises(DeviceError, match="tpu"):
        choose_device("tpu", ALL, "linux", None)


def test_cuda_visible_devices_empty_hides_nvidia_only():
    c = choose_device("auto", ALL, "linux", "")
    assert c.backend == "HIP"
    assert choose_device("auto", {**CPU, "CUDA": ["RTX A"]}, "linux", "").backend == "CPU"
    with pytest.raises(DeviceError, match="CUDA_VISIBLE_DEVICES is empty"):
        choose_device("cuda", ALL, "linux", "")
    with pytest.raises(DeviceError, match="CUDA_VISIBLE_DEVICES is empty"):
        choose_device("optix", ALL, "linux", " ")


def test_cuda_visible_devices_filters_an_unfiltered_list():
    avail = {**CPU, "CUDA": ["G0", "G1", "G2", "G3"]}
    c = choose_device("cuda", avail, "linux", "2,0")
    assert c.devices == ["G2", "G0"] and c.indices == (2, 0)
    assert "CUDA_VISIBLE_DEVICES=2,0" in c.message


def test_cuda_visible_devices_already_applied_by_driver():
    # the driver renumbers visible devices from 0: a one-device list under "3" is that device
    c = choose_device("cuda", {**CPU, "CUDA": ["G3"]}, "linux", "3")
    assert c.devices == ["G3"]


def test_cuda_visible_devices_invalid_index_stops_enumeration():
    with pytest.raises(DeviceError):
        choose_device("cuda", {**CPU, "CUDA": ["G0", "G1"]}, "linux", "-1")


def test_cuda_visible_devices_does_not_touch_hip():
    c = choose_device("hip", ALL, "linux", "")
    assert c.backend == "HIP" and c.devices == ["Radeon"]


def test_gpu_index_selects_one_device():
    c = choose_device("auto", ALL, "linux", None, gpu_index=1)
    assert (c.backend, c.devices, c.indices) == ("OPTIX", ["RTX B"], (1,))
    # an index beyond the list: auto moves on to the next backend, explicit fails
    assert choose_device("auto", ALL, "linux", None, gpu_index=5).backend == "CPU"
    with pytest.raises(DeviceError, match="gpu_index=5"):
        choose_device("cuda", ALL, "linux", None, gpu_index=5)


def test_settings_reject_unknown_device_and_bad_values():
    with pytest.raises(DeviceError, match="tpu"):
        RenderSettings(device="tpu")
    with pytest.raises(SimgenError, match="unknown passes"):
        RenderSettings(passes={"rgb", "lidar"})
    with pytest.raises(SimgenError, match="samples"):
        RenderSettings(samples=0)
    with pytest.raises(SimgenError, match="light_paths"):
        RenderSettings(light_paths={"max_bounce": 4})
    assert RenderSettings(device="CUDA").device == "cuda"


@pytest.mark.blender
def test_probe_this_machine_is_cpu_only(bpy_module, monkeypatch, caplog):
    from simgen.render.device import probe_devices, select_device

    found = probe_devices()
    assert found["CPU"], "the processor is always listed"
    if any(found.get(b) for b in ("CUDA", "OPTIX", "HIP", "ONEAPI", "METAL")):
        pytest.skip("this machine has a GPU")  # pragma: no cover - GPU boxes only
    with caplog.at_level(logging.INFO, logger="simgen.render.device"):
        assert select_device("auto").backend == "CPU"
    assert any("render device: CPU" in r.getMessage() for r in caplog.records)
    for req in ("cuda", "optix", "hip"):
        with pytest.raises(DeviceError, match=req):
            select_device(req)


@pytest.mark.blender
def test_apply_device_refuses_a_gpu_that_is_not_there(bpy_module):
    import bpy

    from simgen.render.device import DeviceChoice, apply_device, probe_devices

    if probe_devices().get("CUDA"):
        pytest.skip("this machine has a CUDA device")  # pragma: no cover
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with pytest.raises(DeviceError):
        apply_device(DeviceChoice("CUDA", ["ghost"], "", (0,)))
    apply_device(DeviceChoice("CPU", [], ""))
    assert bpy.context.scene.cycles.device == "CPU"
