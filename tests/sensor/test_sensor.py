"""The sensor model, checked against its own stated physics: noise statistics on a flat grey card, auto-exposure
dynamics, determinism, optics and coding. No Blender."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from simgen.sensor import PRESETS, Sensor, preset_params, scene_streams
from simgen.sensor import isp, optics, raw
from simgen.sensor.pipeline import meter

FLAT_OPTICS = dict(lens_blur_px=0.0, vignetting=0.0, chromatic_aberration_px=0.0, bloom=0.0, lens_dirt=0.0)


def _sensor(w=64, h=48, fps=10.0, seed=0, camera="front", **kw) -> Sensor:
    base = kw.pop("preset", "automotive_front_hdr")
    return Sensor(preset_params(base, **kw), w, h, fps, scene_streams(seed, "test_scene", 0, camera))


def _card_level(s: Sensor, y_target: float) -> float:
    """Renderer linear value whose green raw signal is y_target at the sensor's manual exposure."""
    t, gain = s.next_exposure()
    return y_target / (s._k * t * gain)


@pytest.mark.parametrize("gain,read", [(1.0, 3.0), (4.0, 6.0)])
def test_flat_card_variance_follows_shot_plus_read_noise(gain, read):
    fw, bits = 10000.0, 14
    s = _sensor(256, 128, preset="ideal", exposure_mode="manual", exposure_time_s=0.01, iso=100.0 * gain,
                full_well_e=fw, read_noise_e=read, dark_current_e_s=0.0, adc_bits=bits, bayer=False, **FLAT_OPTICS)
    means, variances = [], []
    for k, y in enumerate(np.linspace(0.0, 0.8, 12)):
        card = np.full((128, 256, 3), _card_level(s, y), np.float32)
        g = s.capture_raw(card, k)[0][..., 1]  # green: raw response 1
        means.append(g.mean())
        variances.append(g.var(ddof=1))
    means, variances = np.array(means), np.array(variances)
    want = raw.expected_variance(means, gain, fw, read, bits)
    slope, icpt = np.polyfit(means, variances, 1, w=1.0 / want)  # weights 1/sigma of each variance estimate
    true_slope = gain / fw
    true_icpt = float(raw.expected_variance(0.0, gain, fw, read, bits))
    assert abs(slope / true_slope - 1) < 0.05, (slope, true_slope)
    assert abs(icpt / true_icpt - 1) < 0.05, (icpt, true_icpt)
    assert np.all(np.abs(variances / want - 1) < 0.05)


def test_fixed_pattern_noise_is_fixed_per_camera_and_cancels_between_frames():
    kw = dict(preset="ideal", exposure_mode="manual", exposure_time_s=0.01, iso=100.0, full_well_e=10000.0,
              read_noise_e=3.0, dark_current_e_s=0.0, adc_bits=14, bayer=False, row_noise_e=8.0,
              column_noise_e=8.0, prnu=0.0, **FLAT_OPTICS)
    s = _sensor(256, 128, **kw)
    card = np.full((128, 256, 3), _card_level(s, 0.01), np.float32)  # dim: the pattern dominates
    a, b = s.capture_raw(card, 0)[0][..., 1], s.capture_raw(card, 1)[0][..., 1]
    mean = 0.5 * (a.mean() + b.mean())
    temporal = np.var(a - b, ddof=1) / 2
    want = raw.expected_variance(mean, 1.0, 10000.0, 3.0, 14)
    assert abs(temporal / want - 1) < 0.05
    assert a.var() > 1.5 * want  # the row/column pattern adds spatial variance ...
    assert np.corrcoef(a.mean(1), b.mean(1))[0, 1] > 0.9  # ... that repeats frame to frame
    other = _sensor(256, 128, camera="left", **kw).capture_raw(card, 0)[0][..., 1]
    assert abs(np.corrcoef(other.mean(1), a.mean(1))[0, 1]) < 0.5  # another camera has its own pattern


def _street(h=96, w=128) -> np.ndarray:
    """A synthetic linear 'street' of flat patches (reflectances 0.05..0.6) under daylight (renderer units)."""
    img = np.zeros((h, w, 3), np.float32)
    refl = [0.05, 0.12, 0.3, 0.6]
    for i, r in enumerate(refl):
        img[:, i * w // 4:(i + 1) * w // 4] = r * np.array([1.0, 0.95, 0.9], np.float32)
    return img


@pytest.mark.parametrize("preset", ["automotive_front_hdr", "cheap_dashcam", "surround_fisheye", "roadside_cctv"])
def test_night_frames_are_noisier_than_day_frames(preset):
    day, night = _street(), _street() * 1e-4  # night: street lighting (~5 lux) instead of sun (~50 klux)
    out = {}
    for name, img in (("day", day), ("night", night)):
        s = _sensor(128, 96, preset=preset, jpeg_quality=0, **FLAT_OPTICS)
        rgb, info = s.process(img, 0)
        patch = rgb[20:76, 40:56].astype(np.float32)  # inside the 0.12 patch
        out[name] = (float(patch.std(axis=(0, 1)).mean()), float(patch.mean()), info)
    assert out["night"][2].exposure > 100 * out["day"][2].exposure  # longer exposure time and/or more gain
    assert out["night"][2].exposure_time_s > out["day"][2].exposure_time_s
    # noisier = lower signal-to-noise ratio (the auto exposure keeps night somewhat darker than day)
    assert out["night"][0] / out["night"][1] > 1.5 * out["day"][0] / out["day"][1], out
    assert out["night"][1] > 0.1 * out["day"][1]  # still exposed, not just black


def test_same_seed_same_image_other_seed_other_noise_and_frame_order_free():
    img = _street() * 0.01
    a = [_sensor(128, 96, seed=3).process(img, f)[0] for f in range(1)]
    b = [_sensor(128, 96, seed=3).process(img, f)[0] for f in range(1)]
    c = _sensor(128, 96, seed=4).process(img, 0)[0]
    assert np.array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c)
    # without auto exposure and auto white balance (the only state): frame 5 alone equals frame 5 after 0..4
    kw = dict(exposure_mode="manual", exposure_time_s=0.01, iso=400.0, white_balance="fixed")  # no state
    s1 = _sensor(128, 96, seed=3, **kw)
    seq = [s1.process(img, f)[0] for f in range(6)]
    alone = _sensor(128, 96, seed=3, **kw).process(img, 5)[0]
    assert np.array_equal(seq[5], alone)
    assert not np.array_equal(seq[4], seq[5])  # noise is drawn anew every frame


def test_auto_exposure_converges_with_its_time_constant():
    fps, tau = 20.0, 0.5
    s = _sensor(128, 96, fps=fps, ae_time_constant_s=tau, **FLAT_OPTICS)
    dim, bright = _street() * 0.01, _street() * 0.08
    for f in range(3):
        s.process(dim, f)
    x_dim = s.next_exposure()
    x0 = x_dim[0] * x_dim[1]
    target = s.target_exposure(meter(bright))
    logs = []
    for f in range(3, 3 + 60):
        s.process(bright, f)
        t, g = s.next_exposure()
        logs.append(math.log(t * g))
    logs = np.array(logs)
    remaining = (logs - math.log(target)) / (math.log(x0) - math.log(target))
    n = np.arange(1, len(logs) + 1)
    np.testing.assert_allclose(remaining, np.exp(-n / (fps * tau)), rtol=1e-6, atol=1e-9)
    k = int(fps * tau)  # one time constant: 1/e of the step left
    assert abs(remaining[k - 1] - math.exp(-1)) < 1e-6
    assert np.all(np.diff(logs) < 0)  # brighter scene: exposure falls monotonically
    assert abs(logs[-1] - math.log(target)) < 0.01


def test_auto_exposure_prefers_time_to_gain():
    s = _sensor(128, 96, fps=30.0)
    t, g = s.split(s.max_exposure_time_s * 0.5)
    assert g == 1.0 and t == pytest.approx(s.max_exposure_time_s * 0.5)
    t, g = s.split(s.max_exposure_time_s * 4)
    assert t == pytest.approx(1 / 30) and g == pytest.approx(4.0)
    t, g = s.split(1e3)
    assert g == s.params.max_iso / s.params.base_iso


def test_jpeg_option_changes_bytes_and_leaves_8x8_blocks():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random((96, 128, 3)).astype(np.float32), (0, 0), 3) * 0.05
    plain = _sensor(128, 96, preset="ideal", jpeg_quality=0).process(img, 0)[0]
    jpg = _sensor(128, 96, preset="ideal", jpeg_quality=30).process(img, 0)[0]
    assert plain.tobytes() != jpg.tobytes()
    d = np.abs(np.diff(jpg.astype(np.float32).mean(2), axis=1))  # horizontal steps, column j -> j+1
    d_plain = np.abs(np.diff(plain.astype(np.float32).mean(2), axis=1))
    at_edges = d[:, 7::8].mean() / d.mean()
    assert at_edges > 1.2 and at_edges > 1.1 * d_plain[:, 7::8].mean() / d_plain.mean()


def test_video_option_codes_an_inter_frame_from_the_previous_one():
    rng = np.random.default_rng(0)
    tex = cv2.GaussianBlur(rng.random((96, 160, 3)).astype(np.float32), (0, 0), 1.2) * 0.05
    frames = [np.roll(tex, 3 * f, axis=1) for f in range(3)]  # the picture pans 3 px per frame
    plain = _sensor(128, 96, preset="ideal", white_balance="fixed")
    coded = _sensor(128, 96, preset="ideal", white_balance="fixed", video_codec="mpeg4")
    a = [plain.process(f[:, :128], i)[0] for i, f in enumerate(frames)]
    b = [coded.process(f[:, :128], i)[0] for i, f in enumerate(frames)]
    for x, y in zip(a, b):
        err = np.abs(x.astype(np.float32) - y.astype(np.float32)).mean()
        assert 0.2 < err < 12.0  # coded, not destroyed
    assert cv2.PSNR(a[0], b[0]) > 20
    # the inter frame depends on the previous frame: the same picture after another one codes differently
    again = _sensor(128, 96, preset="ideal", white_balance="fixed", video_codec="mpeg4")
    alone = again.process(frames[2][:, :128], 2)[0]
    assert not np.array_equal(alone, b[2])


@pytest.mark.parametrize("algo", ["bilinear", "edge_aware"])
def test_bayer_roundtrip_keeps_a_flat_colour(algo):
    colour = np.array([0.2, 0.5, 0.8], np.float32)
    img = np.broadcast_to(colour, (16, 16, 3)).copy()
    dn = (raw.mosaic(img) * 1000).astype(np.uint16)
    out = cv2.demosaicing(dn, raw._DEMOSAIC[algo]).astype(np.float32) / 1000
    np.testing.assert_allclose(out[4:-4, 4:-4], np.broadcast_to(colour, (8, 8, 3)), atol=2e-3)


def test_optics_vignetting_glare_and_chromatic_aberration():
    v = optics.vignette_map(101, 81, 0.3)
    assert v[40, 50, 0] == pytest.approx(1.0, abs=1e-3)
    assert v[0, 0, 0] == pytest.approx(0.7, abs=1e-3)
    img = np.full((81, 101, 3), 0.1, np.float32)
    img[40, 50] = 500.0  # a headlight
    g = optics.glare(img, 0.05, 0.02, 0.0, None)
    assert g.sum() == pytest.approx(img.sum(), rel=0.02)  # energy conserved
    assert g[40, 60, 1] > 0.1 + 1e-3 and g[40, 50, 1] < 500.0  # halo around the light
    far = g[5, 5, 1]
    assert far == pytest.approx(0.1, abs=2e-3)  # far from the light: the background only
    # chromatic aberration: red image magnified about the centre (a corner dot moves outwards in red)
    dot = np.zeros((81, 101, 3), np.float32)
    dot[10, 12] = 1.0
    p = preset_params("ideal", chromatic_aberration_px=4.0)
    out = optics.apply_optics(dot, p, optics.make_lens_maps(101, 81, 0.0, 4.0, 0.0, np.random.default_rng(0)))
    yr, xr = np.unravel_index(np.argmax(out[..., 0]), out.shape[:2])
    yb, xb = np.unravel_index(np.argmax(out[..., 2]), out.shape[:2])
    yg, xg = np.unravel_index(np.argmax(out[..., 1]), out.shape[:2])
    assert (yg, xg) == (10, 12)
    assert xr < xg and yr < yg  # red further from the centre (50, 40)
    assert xb > xg and yb > yg


def test_tone_curves_keep_mid_grey():
    for curve in ("srgb", "filmic"):
        assert float(isp.tone(np.float32(isp.MID_GREY), curve, 2.2)) == pytest.approx(
            float(isp.srgb_oetf(np.float32(isp.MID_GREY))), abs=2e-3)
    # filmic rolls highlights off instead of clipping at 1
    hi = isp.tone(np.array([1.0, 2.0, 4.0], np.float32), "filmic", 2.2)
    assert np.all(np.diff(hi) > 0) and hi[-1] < 1.0


def test_contrast_s_curve_keeps_black_mid_white_and_spreads_the_rest():
    v = np.linspace(0, 1, 101, dtype=np.float32)
    for c in (0.3, 0.7, 1.0):
        out = isp.s_curve(v, c)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out[[0, 50, 100]], [0.0, 0.5, 1.0], atol=1e-6)
        assert np.all(np.diff(out) >= -1e-7)  # monotonic: no tone reversal
        assert np.all(out[1:50] < v[1:50]) and np.all(out[51:100] > v[51:100])  # darks darker, lights lighter
        slope = (out[51] - out[49]) / (v[51] - v[49])
        assert slope == pytest.approx(1 + c, rel=2e-3)
    np.testing.assert_array_equal(isp.s_curve(v, 0.0), v)


def test_white_balance_neutralises_a_grey_card_under_warm_light():
    warm = isp.planck_rgb(3000.0)
    assert warm[0] > 1 > warm[2]
    card = np.ones((32, 32, 3), np.float32) * 0.2 * raw.RAW_RESPONSE * warm
    fixed = isp.white_balance_gains(card, "fixed", 3000.0)
    np.testing.assert_allclose(card[0, 0] * fixed / (card[0, 0] * fixed)[1], 1.0, rtol=1e-5)
    auto = isp.white_balance_gains(card, "auto", 5500.0)
    balanced = card[0, 0] * auto
    assert balanced[0] / balanced[2] < warm[0] / warm[2]  # auto white balance removes most of the cast


def test_auto_white_balance_keeps_grey_grey_beside_a_lawn():
    """Half the frame is saturated green grass, half a grey pavement, under daylight: the pavement stays grey
    (plain grey world would tint it magenta: measured before the near-grey step, R/G and B/G 1.45)."""
    grass = np.array([0.03, 0.12, 0.02], np.float32)
    frame = np.empty((64, 64, 3), np.float32)
    frame[:, :40] = grass
    frame[:, 40:] = 0.3
    frame = frame * raw.RAW_RESPONSE
    gains = isp.white_balance_gains(frame, "auto", 5500.0)
    pavement = frame[0, 50] * gains
    np.testing.assert_allclose(pavement / pavement[1], 1.0, atol=0.02)
    # and a uniformly tinted scene is still balanced (the near-grey step starts from grey world)
    warm = isp.planck_rgb(3000.0)
    tinted = frame * warm
    g2 = isp.white_balance_gains(tinted, "auto", 5500.0)
    p2 = tinted[0, 50] * g2
    assert p2[0] / p2[2] < 0.55 * warm[0] / warm[2]  # as grey world alone did (0.52): the 0.5..2 limit binds


def test_presets_are_complete_and_valid():
    for name, values in PRESETS.items():
        p = preset_params(name)
        assert p.preset == name and set(values) == set(type(p).model_fields)
    assert preset_params("none") is None
    with pytest.raises(ValueError):
        preset_params("nope")


# ---- every sensor field changes the output --------------------------------------------------------------------

#: field -> (context overrides that make the field matter, scene light level, another value)
FIELD_CASES = {
    "exposure_mode": ({}, 1.0, "manual"),
    "exposure_time_s": ({"exposure_mode": "manual"}, 1.0, 0.0001),
    "iso": ({"exposure_mode": "manual"}, 1.0, 800.0),
    "f_number": ({}, 1.0, 4.0),
    "ae_target": ({}, 1.0, 0.1),
    "ae_time_constant_s": ({}, 1.0, 2.0),
    "ae_dark_bias": ({}, 0.01, 0.0),
    "min_exposure_time_s": ({}, 1000.0, 1e-3),
    "max_exposure_time_s": ({}, 1e-4, 1e-3),
    "max_iso": ({}, 1e-7, 400.0),
    "base_iso": ({}, 1.0, 400.0),
    "full_well_e": ({}, 1.0, 5000.0),
    "read_noise_e": ({}, 1e-3, 30.0),
    "dark_current_e_s": ({}, 1e-4, 5000.0),
    "row_noise_e": ({}, 1e-3, 20.0),
    "column_noise_e": ({}, 1e-3, 20.0),
    "prnu": ({}, 1.0, 0.05),
    "adc_bits": ({}, 1.0, 8),
    "bayer": ({}, 1.0, False),
    "demosaic": ({"bayer": True}, 1.0, "bilinear"),
    "white_balance": ({}, 1.0, "fixed"),
    "white_balance_k": ({"white_balance": "fixed"}, 1.0, 3000.0),
    "saturation": ({}, 1.0, 1.5),
    "tone_curve": ({}, 1.0, "srgb"),
    "gamma": ({"tone_curve": "gamma"}, 1.0, 1.8),
    "contrast": ({}, 1.0, 0.6),
    "sharpen": ({}, 1.0, 1.5),
    "chroma_denoise_px": ({}, 1.0, 3.0),
    "lens_blur_px": ({}, 1.0, 2.0),
    "vignetting": ({}, 1.0, 0.6),
    "chromatic_aberration_px": ({}, 1.0, 3.0),
    "bloom": ({}, 1.0, 0.1),
    "bloom_radius": ({"bloom": 0.05}, 1.0, 0.1),
    "lens_dirt": ({}, 1.0, 1.0),
    "jpeg_quality": ({}, 1.0, 40),
    "video_codec": ({}, 1.0, "mpeg4"),
}


def _walk_scene(level: float) -> list[np.ndarray]:
    """Three linear frames (48x64) of a textured street with a lamp; the light steps up 4x at frame 1."""
    rng = np.random.default_rng(1)
    base = cv2.GaussianBlur(rng.random((48, 64, 3)).astype(np.float32), (0, 0), 1.5) * 0.4
    base[:, :8] *= 0.05  # a dark strip
    base[10:13, 40:43] = 300.0  # a lamp
    return [base * level * k for k in (1.0, 4.0, 4.0)]




@pytest.mark.parametrize("field", sorted(FIELD_CASES))
def test_every_sensor_field_changes_the_output(field):
    from simgen.sensor.params import PARAM_FIELDS

    assert set(FIELD_CASES) == set(PARAM_FIELDS)  # a new field needs a case here
    context, level, other = FIELD_CASES[field]
    base = preset_params("automotive_front_hdr", **context)
    assert getattr(base, field) != other
    outs = []
    for p in (base, preset_params("automotive_front_hdr", **{**context, field: other})):
        s = Sensor(p, 64, 48, 10.0, scene_streams(0, "walk", 0, "front"))
        outs.append([(rgb.tobytes(), info.as_dict()) for rgb, info in
                     (s.process(img, f) for f, img in enumerate(_walk_scene(level)))])
    assert outs[0] != outs[1], f"sensor.{field} changed nothing"
