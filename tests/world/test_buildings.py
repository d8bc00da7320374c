"""Detailed buildings and the street's surface fields: geometry checked with independent ray casts (trimesh), and
every new scene field shown to change the resolved world."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from simgen.spec.loader import load_scene_text
from simgen.spec.resolve import resolve
from simgen.world.build import build_world_with_layout
from simgen.world.buildings import BALCONY_DEPTH, LIT_ROOMS, OVERHANG_MIN_Z

BASE = """
scene: {name: street_fields}
road:
  length_m: 60
  lanes_per_direction: 1
  sidewalk_width_m: 3
  buildings: {sides: both, width_m: 14, height_m: 16, facade_material: MATERIAL, balconies: BALC,
              lit_windows: LIT, storey_height_m: STOREY, detailed: DETAILED}
  markings: {wear: PAINTWEAR}
  surface_wear: ROADWEAR
lighting: {environment_map: ENV, environment_strength: 2.0}
weather: {fog_density: 0.01, fog_height_m: FOGH}
frames: 1
"""
DEFAULTS = dict(MATERIAL="brick", BALC=0, LIT=0.25, STOREY=3.2, DETAILED="true", PAINTWEAR=0, ROADWEAR=0.4, ENV="none",
                FOGH=5)


def _build(seed: int = 0, **kw):
    text = BASE
    for k, v in {**DEFAULTS, **kw}.items():
        text = text.replace(k, str(v))
    r = resolve(load_scene_text(text), seed)
    return build_world_with_layout(r, 64, 48)


def _parts(layout, cls):
    return [p for p in layout.parts if p.class_name == cls]


@pytest.fixture(scope="module")
def street():
    return _build(MATERIAL="mixed", BALC=0.5)


def test_nothing_low_stands_in_front_of_a_facade(street):
    """Below OVERHANG_MIN_Z only the flush shop-window frames (no deeper than the panes) are in front of the
    facade plane, so the sidewalk stays free for people; balconies reach no further than BALCONY_DEPTH."""
    _, layout = street
    p = layout.params
    pane = 0.005 + p.window_thickness
    facades = {f"building_{f.side}_{k}": f for k, f in enumerate(layout.params.facades)}
    checked = 0
    for part in _parts(layout, "building"):
        f = facades[part.name]
        s = 1.0 if f.side == "left" else -1.0
        w = s * (part.mesh.vertices[:, 1] - f.y)  # depth behind the facade plane
        z = part.mesh.vertices[:, 2]
        low_front = (w < -1e-9) & (z < OVERHANG_MIN_Z)
        assert np.all(w[low_front] >= -pane - 1e-9), part.name
        assert w.min() >= -BALCONY_DEPTH - 1e-9
        checked += 1
    assert checked == len(facades) > 4


def test_no_ray_from_the_street_sees_through_a_building(street):
    """Rays from the sidewalk and the road to random points of every facade (glass ignored: it is clear) hit
    the building's own mesh: walls, window reveals or the rooms behind the glass - never the void inside."""
    _, layout = street
    rng = np.random.default_rng(1)
    for k, f in enumerate(layout.params.facades):
        part = [p for p in layout.parts if p.name == f"building_{f.side}_{k}"][0]
        tm = trimesh.Trimesh(part.mesh.vertices, part.mesh.faces, process=False)
        s = 1.0 if f.side == "left" else -1.0
        n = 300
        targets = np.stack([rng.uniform(f.x0 + 0.05, f.x1 - 0.05, n), np.full(n, f.y),
                            rng.uniform(0.2, f.height - 0.1, n)], 1)
        origins = np.stack([rng.uniform(f.x0 - 20, f.x1 + 20, n), f.y - s * rng.uniform(1.0, 12.0, n),
                            rng.uniform(0.3, 3.0, n)], 1)
        d = targets - origins
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        tri, ray, loc = tm.ray.intersects_id(origins, d, multiple_hits=False, return_locations=True)
        assert len(set(ray)) == n, f"{part.name}: {n - len(set(ray))} rays went through"
        depth = s * (loc[:, 1] - f.y)
        assert depth.max() <= 4.5 and depth.min() >= -BALCONY_DEPTH - 1e-6


def test_windows_have_rooms_glass_and_the_layout_has_storeys():
    _, layout = _build(STOREY=3.0)
    f = layout.params.facades[0]
    glass = [p for p in layout.parts if p.name == "building_left_0_glass"][0]
    assert glass.class_name == "window" and glass.materials[0].transmission == 1.0
    assert not glass.materials[0].reflective
    rows = np.unique(np.round(glass.mesh.vertices[:, 2].min(), 3))
    assert rows.size >= 1
    zs = np.unique(np.round(glass.mesh.vertices[:, 2], 3))
    _, layout2 = _build(STOREY=4.5)
    zs2 = np.unique(np.round([p for p in layout2.parts if p.name == "building_left_0_glass"][0]
                             .mesh.vertices[:, 2], 3))
    assert len(zs2) < len(zs), "taller storeys: fewer window rows"
    assert f.material == "brick"


def test_facade_material_sets_the_texture_and_glass_has_no_upper_windows():
    world, layout = _build(MATERIAL="glass")
    b = _parts(layout, "building")[0]
    assert b.materials[0].texture == "curtain_wall" and b.materials[0].texture_coords == "uv"
    assert not any(p.name.endswith("_glass") for p in layout.parts)
    _, layout = _build(MATERIAL="plaster")
    assert _parts(layout, "building")[0].materials[0].texture == "plaster"


def test_facade_texture_overrides_the_materials_texture():
    text = BASE
    for k, v in DEFAULTS.items():
        text = text.replace(k, str(v))
    text = text.replace("facade_material: brick,", "facade_material: brick, facade_texture: noise,")
    _, layout = build_world_with_layout(resolve(load_scene_text(text), 0), 64, 48)
    assert {p.materials[0].texture for p in _parts(layout, "building")} == {"noise"}
    _, layout = _build()
    assert {p.materials[0].texture for p in _parts(layout, "building")} == {"brick"}


def test_detailed_false_gives_plain_boxes():
    _, plain = _build(DETAILED="false")
    _, rich = _build()
    nb = sum(len(p.mesh.faces) for p in _parts(plain, "building"))
    nr = sum(len(p.mesh.faces) for p in _parts(rich, "building"))
    assert nr > 20 * nb
    assert not any(p.name.endswith("_glass") for p in plain.parts)


def test_balconies_reach_over_the_sidewalk():
    def reach(layout):
        out = 0.0
        for k, f in enumerate(layout.params.facades):
            part = [p for p in layout.parts if p.name == f"building_{f.side}_{k}"][0]
            s = 1.0 if f.side == "left" else -1.0
            out = max(out, -(s * (part.mesh.vertices[:, 1] - f.y)).min())
        return out

    assert reach(_build(BALC=1)[1]) == pytest.approx(BALCONY_DEPTH)
    assert reach(_build(BALC=0)[1]) < 0.5


def test_lit_windows_share():
    def lit_faces(layout):
        return sum(int(np.isin(p.mesh.face_material, LIT_ROOMS).sum()) for p in _parts(layout, "building"))

    assert lit_faces(_build(LIT=0)[1]) == 0
    assert lit_faces(_build(LIT=1)[1]) > lit_faces(_build(LIT=0.3)[1]) > 0


def test_buildings_vary_with_the_seed_and_repeat_with_it():
    _, a = _build(seed=0)
    _, b = _build(seed=0)
    _, c = _build(seed=5)
    va = np.concatenate([p.mesh.vertices for p in _parts(a, "building")])
    vb = np.concatenate([p.mesh.vertices for p in _parts(b, "building")])
    vc = np.concatenate([p.mesh.vertices for p in _parts(c, "building")])
    assert np.array_equal(va, vb)
    assert va.shape != vc.shape or not np.allclose(va, vc)


def test_wear_fields_reach_the_materials():
    w0, l0 = _build(PAINTWEAR=0, ROADWEAR=0)
    w1, l1 = _build(PAINTWEAR=0.7, ROADWEAR=0.9)
    paint0 = _parts(l0, "lane_marking")[0].materials[0]
    paint1 = _parts(l1, "lane_marking")[0].materials[0]
    assert paint0.wear == 0 and paint1.wear == pytest.approx(0.7) and paint1.texture == "paint"
    assert _parts(l0, "road")[0].materials[0].wear == 0
    assert _parts(l1, "road")[0].materials[0].wear == pytest.approx(0.9)


def test_environment_map_and_fog_height_reach_the_world():
    w, _ = _build(ENV="city", FOGH=3)
    assert w.lighting.environment_map == "city" and w.lighting.environment_strength == 2.0
    assert w.weather.fog_height_m == 3
    w, _ = _build()
    assert w.lighting.environment_map == "none"


def test_unknown_environment_map_is_refused():
    from simgen.errors import SimgenError

    with pytest.raises(SimgenError, match="environment_map"):
        _build(ENV="moon")


def test_side_walls_have_recessed_windows_and_stay_closed(street):
    """Rays at the side walls (from beyond each building's ends, at upper-storey heights) all hit the building's
    own mesh; a good share ends recessed in window openings (panes behind reveals), none deeper than the reveal
    plus a frame: the side walls are no longer plain, and no ray gets into the empty inside."""
    _, layout = street
    rng = np.random.default_rng(2)
    recessed = total = 0
    for k, f in enumerate(layout.params.facades):
        if f.material == "glass":
            continue
        part = [p for p in layout.parts if p.name == f"building_{f.side}_{k}"][0]
        tm = trimesh.Trimesh(part.mesh.vertices, part.mesh.faces, process=False)
        s = 1.0 if f.side == "left" else -1.0
        depth = layout.params.building_depth
        for x_end, out in ((f.x0, -1.0), (f.x1, 1.0)):
            n = 200
            targets = np.stack([np.full(n, x_end), f.y + s * rng.uniform(0.3, depth - 0.3, n),
                                rng.uniform(4.5, f.height - 0.6, n)], 1)
            origins = targets + np.stack([out * rng.uniform(3.0, 8.0, n), rng.uniform(-2, 2, n),
                                          rng.uniform(-1, 1, n)], 1)
            d = targets - origins
            d /= np.linalg.norm(d, axis=1, keepdims=True)
            _, ray, loc = tm.ray.intersects_id(origins, d, multiple_hits=False, return_locations=True)
            assert len(set(ray)) == n, f"{part.name}: rays went through the side wall"
            inside = -out * (loc[:, 0] - x_end)  # depth into the wall at the hit
            assert inside.max() <= 0.25
            recessed += int((inside > 0.05).sum())
            total += n
    assert total > 0 and recessed > 0.1 * total
