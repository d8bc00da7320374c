"""Look check of the sensor presets: a city street by day and by night beside a real vtest.avi frame.

Usage: .venv/bin/python scripts/sensor_look.py [--out docs/sensor.png --width 640 --height 480 --samples 32
                                                --cache /tmp/simgen-sensor-look]

Renders scenes/city_street_noon.yaml by day and at 22:30 (street lights and headlights on) twice each: once
without a sensor model (Blender's view transform: the render config's default AgX) and once to take the linear
Combined pass, which is then developed through ``automotive_front_hdr`` and ``cheap_dashcam``. Writes a contact
sheet (rows: day, night; columns: none, automotive_front_hdr, cheap_dashcam, real vtest frame) and prints the
low-level statistics (simgen.gap.lowlevel) of each day variant next to the mean over 10 vtest frames, all at
640x480. Linear renders are cached (``--cache``) so that presets can be tuned without rendering again.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simgen.gap.lowlevel import SCALAR_FEATURE_NAMES, lowlevel_features  # noqa: E402
from simgen.sensor import Sensor, preset_params, scene_streams  # noqa: E402

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
PRESETS = ("automotive_front_hdr", "cheap_dashcam")
STATS = ("mean_brightness", "contrast", "saturation_mean", "colorfulness", "noise_sigma", "sharpness",
         "spectrum_slope", "edge_density")


def _scene(night: bool, tmp: Path) -> Path:
    if not night:
        return REPO / "scenes" / "city_street_noon.yaml"
    p = tmp / "city_street_night.yaml"
    p.write_text(f"extends: {REPO / 'scenes' / 'city_street_noon.yaml'}\n"
                 "scene: {name: city_street_night, tags: [city, night]}\n"
                 "lighting:\n  time_of_day: '22:30'\n  street_lights: {enabled: true}\n"
                 "  headlights: {enabled: true}\n")
    return p


def render(night: bool, args, tmp: Path) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(Blender AgX picture uint8, linear float32, fps, scene exposure) of frame 0; cached."""
    cache = Path(args.cache) / f"{'night' if night else 'day'}_{args.width}x{args.height}_{args.samples}.npz"
    if cache.exists():
        d = np.load(cache)
        return d["png"], d["linear"], float(d["fps"]), float(d["ev"])
    from simgen.pipeline import prepare, settings_from_config
    from simgen.render.blender import render_world
    from simgen.spec.render_config import RenderConfig

    cfg = RenderConfig.model_validate({"width": args.width, "height": args.height, "samples": args.samples,
                                       "denoiser": "oidn", "device": "cpu", "frames": 1,
                                       "passes": ["rgb", "depth"]})
    resolved, world = prepare(_scene(night, tmp), seed=args.seed, variant=0, cfg=cfg)
    settings = settings_from_config(cfg, seed=args.seed)
    world.cameras[0].sensor = None
    (plain,) = list(render_world(world, settings, frames=[0]))
    world.cameras[0].sensor = preset_params("ideal")
    (lin,) = list(render_world(world, settings, frames=[0]))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, png=plain.rgb, linear=lin.linear, fps=world.fps, ev=world.lighting.exposure)
    return plain.rgb, lin.linear, world.fps, world.lighting.exposure


def develop(linear: np.ndarray, preset: str, fps: float, ev: float) -> np.ndarray:
    h, w = linear.shape[:2]
    s = Sensor(preset_params(preset), w, h, fps, scene_streams(0, "look", 0, "front"), ev_bias=ev)
    return s.process(linear, 0)[0]


def vtest_frames(n: int = 10) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(VTEST))
    out = []
    for i in np.linspace(0, 780, n).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, f = cap.read()
        if ok:
            out.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    return out


def stats(img: np.ndarray) -> dict[str, float]:
    f = lowlevel_features(cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA))
    return {n: float(f[SCALAR_FEATURE_NAMES.index(n)]) for n in STATS}


def label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.rectangle(img, (0, 0), (8 + 9 * len(text), 22), (0, 0, 0), -1)
    cv2.putText(img, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "sensor.png"))
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "simgen-sensor-look"))
    ap.add_argument("--tile", type=int, default=480, help="tile width in the sheet (px)")
    args = ap.parse_args()
    real = vtest_frames()
    rows, table = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for night in (False, True):
            png, linear, fps, ev = render(night, args, Path(tmp))
            tiles = [("none (AgX view)", png)] + [(p, develop(linear, p, fps, ev)) for p in PRESETS]
            tiles.append(("real: vtest.avi", real[3]))
            if not night:
                table = {name: stats(img) for name, img in tiles[:-1]}
            tw = args.tile
            th = tw * 3 // 4
            rows.append(np.hstack([label(cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA),
                                         f"{'night' if night else 'day'}: {name}") for name, img in tiles]))
    sheet = np.vstack(rows)
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")
    rs = [stats(f) for f in real]
    table["real vtest (mean of 10)"] = {n: float(np.mean([r[n] for r in rs])) for n in STATS}
    print(f"{'day, 640x480':26s}" + "".join(f"{n[:14]:>15s}" for n in STATS))
    for name, st in table.items():
        print(f"{name:26s}" + "".join(f"{st[n]:15.3f}" for n in STATS))


if __name__ == "__main__":
    main()
