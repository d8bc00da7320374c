"""Camera sensor model: linear render -> 8-bit image (pure numpy/OpenCV, no Blender).

- :mod:`simgen.sensor.params` — :class:`SensorParams` and the presets.
- :mod:`simgen.sensor.pipeline` — :class:`Sensor`: exposure / auto exposure over a sequence, the whole chain.
- :mod:`simgen.sensor.optics` — glare, lens dirt, optical blur, chromatic aberration, vignetting.
- :mod:`simgen.sensor.raw` — photo-electrons, shot / read / fixed-pattern noise, ADC, Bayer mosaic.
- :mod:`simgen.sensor.isp` — white balance, tone curve, chroma denoise, sharpening, JPEG.

See docs/sensor.md.
"""

from simgen.sensor.params import DEFAULT_PRESET, PRESET_NAMES, PRESETS, SensorParams, preset_params

_PIPELINE = ("FrameInfo", "Sensor", "scene_streams")


def __getattr__(name: str):
    # the pipeline (OpenCV) loads on first use, so the spec (which only needs the parameters) stays light
    if name in _PIPELINE:
        from simgen.sensor import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'simgen.sensor' has no attribute {name!r}")

__all__ = ["DEFAULT_PRESET", "PRESETS", "PRESET_NAMES", "FrameInfo", "Sensor", "SensorParams", "preset_params",
           "scene_streams"]
