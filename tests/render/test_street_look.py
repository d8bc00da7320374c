"""The street's look fields reach the Blender scene and change the picture: paint wear, fog height, clouds,
environment-map lighting, and every facade / road texture kind builds and renders. Tiny renders."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgen.world.conventions import look_at
from simgen.world.model import Camera, Entity, Lighting, Material, Mesh, Weather, World

pytestmark = pytest.mark.blender

W, H = 48, 36


def _quad(half: float, z: float = 0.0) -> Mesh:
    uv = np.array([[[0, 0], [2 * half, 0], [2 * half, 2 * half], [0, 2 * half]]], np.float32)
    return Mesh([(-half, -half, z), (half, -half, z), (half, half, z), (-half, half, z)], [(0, 1, 2, 3)], uv=uv)


def _world(ents, cam_pose, lighting=None, weather=None):
    return World("t", 1, 10.0, ents, [Camera("front", math.radians(60), np.stack([cam_pose]))],
                 lighting=lighting or Lighting(sun_elevation_rad=0.8, exposure=-1.5), weather=weather or Weather())


def _rgb(world, samples: int = 4, width: int = W, height: int = H, denoise: bool = False) -> np.ndarray:
    from simgen.render.blender import render_world
    from simgen.render.settings import RenderSettings

    s = RenderSettings(width=width, height=height, samples=samples, device="cpu", passes={"rgb", "depth"}, seed=1,
                       denoiser="oidn" if denoise else "none")
    return next(iter(render_world(world, s))).rgb.astype(np.float64)


def _down():
    return look_at((0.0, 0.0, 4.0), (0.0, 0.01, 0.0))


def test_marking_wear_fades_the_paint(bpy_module):
    """A camera looking down at a painted area: worn paint (asphalt showing through, faded) is darker."""
    def paint(wear):
        return Entity("paint", "lane_marking", _quad(20.0),
                      [Material("lane_paint", (0.85, 0.85, 0.82), 0.6, texture="paint", wear=wear)],
                      np.eye(4)[None])

    fresh = _rgb(_world([paint(0.0)], _down()))
    worn = _rgb(_world([paint(0.9)], _down()))
    assert worn.mean() < 0.8 * fresh.mean()
    assert worn.std() / worn.mean() > 1.2 * fresh.std() / fresh.mean()  # patchy


def test_road_wear_changes_the_asphalt(bpy_module):
    def road(wear):
        return Entity("road", "road", _quad(30.0), [Material("asphalt", (0.08,) * 3, 0.9, texture="asphalt",
                                                             wear=wear)], np.eye(4)[None])

    cam = look_at((0.0, -10.0, 6.0), (0.0, 10.0, 0.0))
    a, b = _rgb(_world([road(0.0)], cam)), _rgb(_world([road(1.0)], cam))
    assert np.abs(a - b).mean() > 1.0


def test_fog_height_bounds_the_fog_box(bpy_module):
    import bpy

    from simgen.render.scene import build_scene
    from simgen.render.settings import RenderSettings

    ground = Entity("road", "road", _quad(30.0), [Material("g")], np.eye(4)[None])
    tall = Entity("building", "building", _quad(5.0, 25.0), [Material("b")], np.eye(4)[None])
    cam = look_at((0.0, -10.0, 2.0), (0.0, 10.0, 1.0))
    s = RenderSettings(width=W, height=H, samples=1, device="cpu", passes={"rgb"})

    def fog_top(h):
        build_scene(_world([ground, tall], cam, weather=Weather(fog_density=0.05, fog_height_m=h)), s)
        fog = bpy.data.objects["fog"]
        return max((fog.matrix_world @ v.co).z for v in fog.data.vertices)

    assert fog_top(3.0) == pytest.approx(3.0)
    assert fog_top(None) > 25.0
    # and it changes the picture: a camera above a 3 m fog layer sees the ground through less fog
    high = look_at((0.0, -10.0, 12.0), (0.0, 10.0, 0.0))
    thick = _rgb(_world([ground], high, weather=Weather(fog_density=0.2)))
    thin = _rgb(_world([ground], high, weather=Weather(fog_density=0.2, fog_height_m=0.5)))
    assert np.abs(thick - thin).mean() > 5.0


def test_cloud_cover_puts_clouds_in_the_visible_sky(bpy_module):
    up = look_at((0.0, 0.0, 1.5), (0.0, 10.0, 6.0))
    clear = _rgb(_world([], up, Lighting(sun_elevation_rad=0.8, cloud_cover=0.0)))
    cloudy = _rgb(_world([], up, Lighting(sun_elevation_rad=0.8, cloud_cover=0.7)))
    # a clear sky is blue (blue > red); clouds are grey-white: less blue than red, more variation
    blueness = lambda im: (im[..., 2] - im[..., 0]).mean()  # noqa: E731
    assert blueness(cloudy) < 0.6 * blueness(clear)
    assert cloudy.std(axis=(0, 1)).mean() > clear.std(axis=(0, 1)).mean()


def test_an_overcast_sky_lights_a_grey_ground_grey(bpy_module):
    """Under a full cloud cover the light comes from a grey dome, not from the blue sky above the clouds: a grey
    ground looking down stays grey (blue / red within 6 %), while a clear sky's shade is clearly blue."""
    ground = Entity("ground", "road", _quad(30.0), [Material("g", (0.5, 0.5, 0.5))], np.eye(4)[None])

    def blue_over_red(cover, sun):
        im = _rgb(_world([ground], _down(), Lighting(sun_elevation_rad=0.8, cloud_cover=cover, sun_strength=sun,
                                                     exposure=-1.5)), samples=8)
        return im[..., 2].mean() / im[..., 0].mean()

    assert blue_over_red(1.0, 3.0) == pytest.approx(1.0, abs=0.06)
    assert blue_over_red(0.0, 0.0) > 1.2  # shade under a clear sky: blue light


def test_environment_map_lights_but_the_camera_sees_the_sky(bpy_module):
    import bpy

    from simgen.render.scene import build_scene
    from simgen.render.settings import RenderSettings

    ground = Entity("ground", "road", _quad(30.0), [Material("g", (0.5, 0.5, 0.5))], np.eye(4)[None])
    cam = look_at((0.0, -10.0, 3.0), (0.0, 10.0, 3.0))  # half sky, half ground
    base = Lighting(sun_elevation_rad=0.8, sun_strength=0.0, exposure=-1.5)
    env = Lighting(sun_elevation_rad=0.8, sun_strength=0.0, environment_map="city", environment_strength=0.4,
                   exposure=-1.5)
    s = RenderSettings(width=W, height=H, samples=1, device="cpu", passes={"rgb"})
    build_scene(_world([ground], cam, env), s)
    images = [n.image for n in bpy.data.worlds["sky"].node_tree.nodes if n.type == "TEX_ENVIRONMENT"]
    assert len(images) == 1 and tuple(images[0].size) == (1024, 512) and images[0].name == "city.exr"
    a, b = _rgb(_world([ground], cam, base)), _rgb(_world([ground], cam, env))
    sky_rows = slice(0, H // 4)
    ground_rows = slice(3 * H // 4, H)
    assert np.abs(a[sky_rows] - b[sky_rows]).mean() < 2.0, "the camera sees the same sky"
    assert np.abs(a[ground_rows] - b[ground_rows]).mean() > 5.0, "the map lights the ground"
    weak = Lighting(sun_elevation_rad=0.8, sun_strength=0.0, environment_map="city", environment_strength=0.1,
                    exposure=-1.5)
    c = _rgb(_world([ground], cam, weak))
    assert c[ground_rows].mean() < 0.8 * b[ground_rows].mean(), "environment_strength scales the light"


KINDS = ["brick", "plaster", "concrete", "curtain_wall", "paving", "flagstones", "kerb", "sign", "grass"]
SMALL = ("brick", "paving")  # patterns of a few cm: drawn 6.7x larger, as a close camera sees them


X0 = -len(KINDS) - 1.0  # the first wall's left edge: the walls (2 m each, "none" last) centred on x = 0


def test_texture_kinds_render_detail(bpy_module):
    """Each facade / street texture kind builds and puts visible detail on its own flat wall seen head-on (one
    render: the walls stand side by side, 2 m wide, each filling its own columns of the image)."""
    ents = []
    for i, kind in enumerate(KINDS + ["none"]):
        x0 = X0 + 2.0 * i
        uv = np.array([[[0, 0], [2, 0], [2, 4], [0, 4]]], np.float32) / (2.0 if kind == "sign" else 1.0)
        wall = Mesh([(x0, 0, 0), (x0 + 2, 0, 0), (x0 + 2, 0, 4), (x0, 0, 4)], [(0, 1, 2, 3)], uv=uv)
        coords = "uv"  # the pattern's xy (paving and kerbs are laid in the road plane's x, y)
        ents.append(Entity(f"wall_{kind}", "building", wall,
                           [Material(kind, (0.5, 0.4, 0.35), 0.8, texture=kind, texture_coords=coords,
                                     texture_scale=0.15 if kind in SMALL else 1.0)],
                           np.eye(4)[None]))
    cam = look_at((0.0, -20.0, 2.0), (0.0, 0.0, 2.0))  # hfov 60: 23.1 m wide at the walls
    w = 192
    img = _rgb(_world(ents, cam), samples=8, width=w, height=96, denoise=True)  # denoised: texture, not noise
    px_per_m = w / (2 * 20.0 * math.tan(math.radians(30)))

    def spread(i):
        c0 = int(round(w / 2 + (X0 + 2.0 * i) * px_per_m)) + 1
        c1 = int(round(w / 2 + (X0 + 2.0 + 2.0 * i) * px_per_m)) - 1
        return img[34:62, c0:c1].std()  # rows of z = 0.3 .. 3.7 m

    plain = spread(len(KINDS))  # the untextured wall: render noise only
    got = {kind: spread(i) for i, kind in enumerate(KINDS)}
    assert all(v > 1.5 * plain for v in got.values()), (plain, sorted(got.items()))
