"""The asset catalog: validation with located errors, clean errors for missing / unreadable files, the one-line
fallback warning, user catalogs, scale and axes of loaded meshes, and the attribution records."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.spec import load_scene
from simgen.spec.errors import SpecError
from simgen.spec.resolve import resolve
from simgen.world import catalog as C
from simgen.world.build import build_world
from simgen.world.catalog import Catalog, CatalogError, catalog_for, read_catalog_file
from simgen.world.meshload import axes_matrix, load_asset

REPO = Path(__file__).resolve().parents[2]
PACK = C.data_dir("sweethome3d")
#: a model of the Debian package that the built-in catalog does not list (scripts/fetch_sweethome3d.py EXTRA)
LAMPPOST = PACK / "KatorLegaz" / "katorlegaz" / "classic-lamppost" / "classic-lamppost.obj"
needs_pack = pytest.mark.skipif(not LAMPPOST.is_file(), reason="sweethome3d pack not installed (scripts/setup.sh)")


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_builtin_catalog_is_valid_and_credits_every_file_asset():
    cat = read_catalog_file(C.BUILTIN_CATALOG)
    files = [a for a in cat.assets if a.source]
    assert len(files) >= 20
    for a in files:
        assert a.license and a.author and a.title, a.id
    classes = {a.class_ for a in files}
    assert {"car", "van", "bus", "truck", "bicycle", "motorcycle", "tree", "vegetation", "bench", "trash_can",
            "hydrant", "cone", "street_light"} <= classes


def test_catalog_errors_are_located(tmp_path):
    bad = _write(tmp_path / "bad.yaml", """\
        packs:
          mine: {root: ./meshes}
        assets:
          - id: mine/one
            class: car
            source: one.obj
            pack: mine
            license: CC0-1.0
            author: me
            title: One
            colour: red
          - id: mine/two
            class: carr
            generator: procedural
          - id: mine/three
            class: car
            source: three.obj
          - id: mine/one
            class: van
            generator: procedural
        """)
    with pytest.raises(SpecError) as ei:
        read_catalog_file(bad)
    issues = {(i.line, i.path): i for i in ei.value.issues}
    text = str(ei.value)
    assert all(i.file == str(bad) for i in ei.value.issues)
    assert (11, "assets[0].colour") in issues and "unknown key 'colour'" in text
    assert (13, "assets[1].class") in issues and "did you mean 'car'" in text
    assert any(line == 15 and "license, author and title" in i.message for (line, _), i in issues.items())


def test_duplicate_asset_id_is_located(tmp_path):
    bad = _write(tmp_path / "dup.yaml", """\
        assets:
          - {id: mine/one, class: car, generator: procedural}
          - {id: mine/one, class: van, generator: procedural}
        """)
    with pytest.raises(SpecError) as ei:
        read_catalog_file(bad)
    (issue,) = ei.value.issues
    assert (issue.line, issue.path) == (3, "assets[1].id") and "duplicate asset id 'mine/one'" in issue.message


def test_axes_matrix_is_a_rotation_taking_forward_and_up():
    for up, fwd in [("+y", "+z"), ("+z", "+x"), ("-y", "-x"), ("+x", "-z")]:
        R = axes_matrix(up, fwd)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
        f, u = np.zeros(3), np.zeros(3)
        f["xyz".index(fwd[1])] = 1.0 if fwd[0] == "+" else -1.0
        u["xyz".index(up[1])] = 1.0 if up[0] == "+" else -1.0
        np.testing.assert_allclose(R @ f, [1, 0, 0], atol=1e-12)
        np.testing.assert_allclose(R @ u, [0, 0, 1], atol=1e-12)
    with pytest.raises(CatalogError):
        axes_matrix("+y", "-y")


def _user_catalog(tmp_path: Path, source: str, **extra) -> Path:
    lines = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    return _write(tmp_path / "user_assets.yaml", f"""\
assets:
  - id: user/thing
    class: street_light
    source: {source}
    height_m: 3.5
    up: "+y"
    forward: "+z"
    license: CC-BY-3.0-US
    author: Kator Legaz
    title: Classic lamppost
{lines}""")


def _scene(tmp_path: Path, extra: str = "", asset: str = "user/thing") -> Path:
    return _write(tmp_path / "scene.yaml", f"""\
        scene: {{name: user_asset}}
        road: {{length_m: 40, sidewalk_width_m: 2.5, buildings: {{sides: none}}}}
        asset_catalogs: [user_assets.yaml]
        cameras: [{{name: front, hfov_deg: 60, mount: {{x: 0, z: 1.5, yaw_deg: -20}}}}]
        frames: 2
        objects:
          - name: lamp
            class: street_light
            asset: {asset}
            placement: {{pose: {{x: 8, y: -4.6, yaw_deg: 90}}}}
        {extra}""")


def test_missing_user_file_is_a_clean_located_error(tmp_path):
    _user_catalog(tmp_path, "meshes/nothere.obj")
    spec = load_scene(_scene(tmp_path))
    with pytest.raises(CatalogError) as ei:
        build_world(resolve(spec, 0), 64, 48)
    msg = str(ei.value)
    assert "objects.lamp" in msg and "user/thing" in msg and "user_assets.yaml" in msg
    assert str(tmp_path / "meshes" / "nothere.obj") in msg and "not found" in msg
    assert isinstance(ei.value, SimgenError)


@pytest.mark.parametrize("name,data", [("broken.glb", b"glTF\x02\x00\x00\x00garbage-not-a-gltf"),
                                       ("empty.obj", b"# nothing here\n")])
def test_unreadable_mesh_is_a_clean_error(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    _user_catalog(tmp_path, name)
    spec = load_scene(_scene(tmp_path))
    with pytest.raises(CatalogError) as ei:
        build_world(resolve(spec, 0), 64, 48)
    msg = str(ei.value)
    assert "user/thing" in msg and name in msg and ("cannot read" in msg or "no faces" in msg)


def test_unknown_asset_in_a_scene_is_located(tmp_path):
    _user_catalog(tmp_path, "x.obj")
    with pytest.raises(SpecError) as ei:
        load_scene(_scene(tmp_path, asset="user/thinng"))
    (issue,) = ei.value.issues
    assert issue.path == "objects[0].asset" and issue.line == 9 and "did you mean 'user/thing'" in str(ei.value)


def test_missing_pack_falls_back_with_one_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SIMGEN_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(C, "_WARNED", set())
    spec = load_scene(REPO / "scenes" / "busy_street.yaml")
    with caplog.at_level(logging.WARNING, logger="simgen.assets"):
        w1 = build_world(resolve(spec, 0), 64, 48)
        w2 = build_world(resolve(spec, 1), 64, 48)
    warnings = [r for r in caplog.records if r.name == "simgen.assets"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    msg = warnings[0].getMessage()
    assert "sweethome3d" in msg and "scripts/setup.sh" in msg and str(tmp_path / "empty") in msg
    for w in (w1, w2):
        cars = [e for e in w.entities if e.class_name == "car"]
        assert cars and all(e.attributes.get("asset") is None for e in cars)
        assert w.credits == []


@needs_pack
def test_loaded_vehicle_has_catalog_size_and_faces_forward():
    cat = catalog_for()
    a = cat.get("sweethome3d/concept_sedan_01a")
    la = load_asset(a, cat)
    lo, hi = la.mesh.bounds()
    assert hi[2] - lo[2] == pytest.approx(1.47, abs=1e-9) and lo[2] == pytest.approx(0.0, abs=1e-12)
    assert 4.0 < hi[0] - lo[0] < 5.0 and 1.6 < hi[1] - lo[1] < 2.1  # a sedan: long along x
    np.testing.assert_allclose([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2], 0.0, atol=1e-9)
    # headlights at the front (+x), tail lights at the back
    assert la.lamp_centres["headlight"][:, 0].mean() > 1.5 > -1.5 > la.lamp_centres["taillight"][:, 0].mean()
    assert la.mesh.uv is None or la.mesh.uv.shape == (*la.mesh.faces.shape, 2)
    assert load_asset(a, cat) is la  # in-process cache


@needs_pack
def test_user_asset_enters_the_world_with_its_credit(tmp_path):
    _user_catalog(tmp_path, str(LAMPPOST))
    w = build_world(resolve(load_scene(_scene(tmp_path)), 0), 64, 48)
    (lamp,) = [e for e in w.entities if e.name == "lamp_0"]
    assert lamp.class_name == "street_light" and lamp.attributes["asset"] == "user/thing"
    lo, hi = lamp.mesh.bounds()
    assert hi[2] == pytest.approx(3.5) and lo[2] == pytest.approx(0.0) and max(hi[:2] - lo[:2]) < 1.0  # upright
    ids = {c["id"] for c in w.credits}
    used = {e.attributes["asset"] for e in w.entities if e.attributes.get("asset")}
    assert ids == {i for i in used if not i.startswith("procedural/")} and "user/thing" in ids


def test_procedural_ids_exist_for_every_builder():
    from simgen.world.assets import REGISTRY

    cat = catalog_for()
    for cls in REGISTRY:
        assert cat.get(f"procedural/{cls}").generator == "procedural"
    assert isinstance(cat, Catalog)


def test_committed_tool_attribution_is_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_attribution", REPO / "scripts" / "make_attribution.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = mod.text()
    assert (REPO / "assets" / "ATTRIBUTION.md").read_text() == text, "run python scripts/make_attribution.py"
    for a in read_catalog_file(C.BUILTIN_CATALOG).assets:
        if a.source:
            assert a.title in text and a.author in text


@needs_pack
def test_vehicle_materials_paint_glass_lamps_and_plates():
    from simgen.world.assets import light_mounts
    from simgen.world.objects import AssetPicker

    cat = catalog_for()
    picker = AssetPicker(cat)
    paints = set()
    for seed in range(12):
        made = picker.make("car", None, 1.0, np.random.default_rng(seed), asset="sweethome3d/suv")
        by_name = {m.name.split(":")[0]: m for m in made.materials}
        paint, glass = by_name["paint"], by_name["glass"]
        assert paint.reflective and paint.coat > 0 and glass.transmission == 1.0 and glass.reflective
        paints.add(paint.base_color)
        assert made.credit["id"] == "sweethome3d/suv" and made.credit["license"] == "CC-BY-3.0"
    assert len(paints) >= 4  # paint drawn from the asset's palette per instance
    # head lamps of a catalog sedan: at its front, both sides, at lamp height
    made = picker.make("car", "red", 1.0, np.random.default_rng(0), asset="sweethome3d/concept_sedan_01a")
    lo, hi = made.mesh.bounds()
    mounts = light_mounts("car", 1.0, made.mesh, made.lamps)
    xs = [m.local_pose[0, 3] for m in mounts]
    ys = sorted(m.local_pose[1, 3] for m in mounts)
    assert len(mounts) == 2 and all(abs(x - hi[0]) < 0.1 for x in xs) and ys[0] < -0.3 and ys[1] > 0.3
    assert all(0.3 < m.local_pose[2, 3] < 1.0 for m in mounts)


@needs_pack
def test_badges_are_inpainted_and_plates_replaced():
    import cv2

    cat = catalog_for()
    entry = cat.get("sweethome3d/van")
    la = load_asset(entry, cat)
    (tex,) = {m.image for m in la.materials if m.image and "tex-" in Path(m.image).name}
    src = cv2.imread(str(cat.source_path(entry).parent / "texture-van.png"))
    out = cv2.imread(tex)
    h, w = src.shape[:2]
    for e in entry.texture_edits:
        x0, y0, x1, y1 = (round(e.rect[0] * w), round(e.rect[1] * h), round(e.rect[2] * w), round(e.rect[3] * h))
        assert np.abs(out[y0:y1, x0:x1].astype(int) - src[y0:y1, x0:x1]).mean() > 5, e
    keep = np.ones((h, w), bool)
    for e in entry.texture_edits:
        keep[round(e.rect[1] * h):round(e.rect[3] * h), round(e.rect[0] * w):round(e.rect[2] * w)] = False
    assert np.array_equal(out[keep], src[keep])  # nothing else changes


@needs_pack
def test_every_catalog_vehicle_has_head_and_tail_lamps():
    """Sedans name their lamp materials; the SUV, van, buses and truck have them painted in a texture
    (``texture_lamps``): either way head lamps sit in the front quarter and tail lamps in the rear quarter, on
    both sides, and the headlight spots go to the front at lamp height. Lit, they glow (emission)."""
    from simgen.world.assets import light_mounts
    from simgen.world.objects import AssetPicker

    cat = catalog_for()
    picker = AssetPicker(cat)
    for cls in ("car", "van", "bus", "truck"):
        for entry in cat.for_class(cls):
            made = picker.make(cls, None, 1.0, np.random.default_rng(0), asset=entry.id)
            lo, hi = made.mesh.bounds()
            length = hi[0] - lo[0]
            head, tail = made.lamps.get("headlight"), made.lamps.get("taillight")
            assert head is not None and tail is not None, entry.id
            assert np.all(head[:, 0] > hi[0] - 0.25 * length), entry.id
            assert np.all(tail[:, 0] < lo[0] + 0.25 * length), entry.id
            for c in (head, tail):
                assert c[:, 1].min() < -0.2 and c[:, 1].max() > 0.2, entry.id  # both sides
            mounts = light_mounts(cls, 1.0, made.mesh, made.lamps)
            assert len(mounts) == 2 and all(m.local_pose[0, 3] > hi[0] - 0.1 for m in mounts), entry.id
            names = {m.name for m in made.materials}
            assert {"headlamp", "taillamp"} <= names, entry.id
