"""Cameras of any :class:`~simgen.world.lens.Lens` in Cycles.

A ``pinhole`` lens with square pixels is Blender's own perspective camera (principal point offsets become
``shift_x`` / ``shift_y``), so its Vector pass holds the exact flow. Every other lens (``opencv``,
``fisheye``, pinholes with fx ≠ fy) is a Cycles *custom camera*: an OSL camera shader, generated per lens,
that turns the raster position into the ray of OpenCV's model — the distortion inverted by Newton's method in
the shader (float precision: reprojected ray hits land within ~3e-5 px of their pixel centre). Rays beyond a
fisheye's field of view get zero throughput (black, no hit). For such cameras Cycles' Vector pass is not the
motion through our projection: :mod:`simgen.labels` computes their flow from geometry instead.

Custom cameras need Blender's bundled ``oslquery`` module to register the shader; it ships inside the bpy
wheel but not on ``sys.path``, so this module adds its folder.
"""

from __future__ import annotations

import glob
import math
import os
import sys

import bpy

from simgen.world.lens import Lens


def _ensure_oslquery() -> None:
    try:
        import oslquery  # noqa: F401
        return
    except ImportError:
        pass
    # bpy/__init__.py lives in <bpy>/<version>/scripts/modules/bpy; oslquery in <bpy>/<version>/python/lib/...
    version_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(bpy.__file__))))
    for d in sorted(glob.glob(os.path.join(version_dir, "python", "lib", "python3*", "site-packages"))):
        if os.path.isdir(os.path.join(d, "oslquery")) and d not in sys.path:
            sys.path.append(d)
            return


def osl_source(lens: Lens) -> str:
    """OSL camera shader of ``lens``: raster (0..1, y up) -> pixel (u, v) in the pixel-centre convention ->
    OpenCV ray -> Blender camera space (x right, y up, z forward)."""
    fx, fy, cx, cy = lens.fx, lens.fy, lens.cx, lens.cy
    head = f"""shader simgen_lens(output point position = 0, output vector direction = 0, output color throughput = 1)
{{
    point r = camera_shader_raster_position();
    float pu = r[0] * {lens.width:d}.0 - 0.5;
    float pv = (1.0 - r[1]) * {lens.height:d}.0 - 0.5;
    float xd = (pu - ({cx!r})) / ({fx!r});
    float yd = (pv - ({cy!r})) / ({fy!r});
    vector d = vector(xd, yd, 1.0);
"""
    if lens.model == "pinhole":
        body = ""
    elif lens.model == "opencv":
        k1, k2, p1, p2, k3 = (repr(float(v)) for v in lens.D)
        body = f"""    float x = xd, y = yd;
    for (int i = 0; i < 20; i++) {{
        float r2 = x * x + y * y;
        float rad = 1.0 + r2 * ({k1} + r2 * ({k2} + r2 * {k3}));
        float drad = {k1} + r2 * (2.0 * {k2} + 3.0 * {k3} * r2);
        float ex = x * rad + 2.0 * {p1} * x * y + {p2} * (r2 + 2.0 * x * x) - xd;
        float ey = y * rad + {p1} * (r2 + 2.0 * y * y) + 2.0 * {p2} * x * y - yd;
        float a = rad + 2.0 * x * x * drad + 2.0 * {p1} * y + 6.0 * {p2} * x;
        float b = 2.0 * x * y * drad + 2.0 * {p1} * x + 2.0 * {p2} * y;
        float e = rad + 2.0 * y * y * drad + 6.0 * {p1} * y + 2.0 * {p2} * x;
        float det = a * e - b * b;
        x -= (e * ex - b * ey) / det;
        y -= (a * ey - b * ex) / det;
    }}
    d = vector(x, y, 1.0);
"""
    else:
        k1, k2, k3, k4 = (repr(float(v)) for v in lens.D)
        tmax = repr(math.radians(lens.fov_deg / 2))
        body = f"""    float td = sqrt(xd * xd + yd * yd);
    float th = td;
    for (int i = 0; i < 20; i++) {{
        float t2 = th * th;
        float f = th * (1.0 + t2 * ({k1} + t2 * ({k2} + t2 * ({k3} + t2 * {k4})))) - td;
        float df = 1.0 + t2 * (3.0 * {k1} + t2 * (5.0 * {k2} + t2 * (7.0 * {k3} + t2 * 9.0 * {k4})));
        th -= f / df;
    }}
    if (th > {tmax} || th < 0.0) {{
        throughput = 0;
    }}
    float s = 1.0;
    if (td > 0.0) {{
        s = sin(th) / td;
    }}
    d = vector(xd * s, yd * s, cos(th));
"""
    tail = """    direction = normalize(vector(d[0], -d[1], d[2]));
    position = point(0, 0, 0);
}
"""
    return head + body + tail


#: backends that run OSL, hence custom cameras (Blender manual: CPU and OptiX only)
OSL_BACKENDS = ("CPU", "OPTIX")


def check_custom_camera_device(world, device) -> None:
    """Raise :class:`~simgen.errors.DeviceError` when a camera needs a custom (OSL) camera and the chosen
    backend cannot run OSL (CUDA, HIP, oneAPI, Metal)."""
    needs = [c.name for c in world.cameras if c.lens is not None and not c.lens.native_perspective]
    if needs and device.backend.upper() not in OSL_BACKENDS:
        from simgen.errors import DeviceError

        raise DeviceError(f"cameras {needs} use a distorting lens (an OSL custom camera), which Cycles renders only "
                          f"on the CPU or with OptiX, not with {device.backend}; use --device cpu or optix")


def setup_camera_data(data, lens: Lens) -> None:
    """Configure a Blender camera datablock for ``lens`` (perspective or an OSL custom camera)."""
    if lens.native_perspective:
        data.type = "PERSP"
        data.sensor_fit = "HORIZONTAL"
        data.sensor_width = 36.0
        data.lens = 36.0 * lens.fx / lens.width
        data.shift_x = -(lens.cx - (lens.width / 2.0 - 0.5)) / lens.width
        data.shift_y = (lens.cy - (lens.height / 2.0 - 0.5)) / lens.width
        return
    _ensure_oslquery()
    text = bpy.data.texts.new(f"lens-{data.name}.osl")
    text.write(osl_source(lens))
    data.type = "CUSTOM"
    data.custom_mode = "INTERNAL"
    data.custom_shader = text  # compiles the shader (update callback)
    if not data.custom_bytecode:
        raise RuntimeError(f"the custom camera shader of {data.name!r} did not compile")
