"""End-to-end: a mesh of the Debian furniture package that the built-in catalog does not list is added with a few
lines of a user catalog, rendered, and labelled with its class; the dataset's ATTRIBUTION lists exactly the
third-party assets of the world (the user's included)."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from simgen.paths import data_dir
from tests.conftest import needs_blender
from tests.e2e.readers import load_dataset, load_frame

pytestmark = [pytest.mark.blender, pytest.mark.slow]

LAMPPOST = data_dir("sweethome3d", "KatorLegaz", "katorlegaz", "classic-lamppost", "classic-lamppost.obj")


def _project(pts, K, world_from_camera):
    cam_from_world = np.linalg.inv(world_from_camera)
    pc = pts @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    return (pc[:, :2] / pc[:, 2:3]) @ K[:2, :2].T + K[:2, 2], pc[:, 2]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    needs_blender()
    if not LAMPPOST.is_file():
        pytest.skip("sweethome3d pack not installed (scripts/setup.sh)")
    d = tmp_path_factory.mktemp("user_asset")
    # the user's catalog: five lines for a mesh of their own
    (d / "my_assets.yaml").write_text(textwrap.dedent(f"""\
        assets:
          - {{id: mine/lamppost, class: street_light, source: {LAMPPOST}, height_m: 3.5, up: "+y", forward: "+z",
              license: CC-BY-3.0-US, author: Kator Legaz, title: Classic lamppost}}
        """))
    (d / "scene.yaml").write_text(textwrap.dedent("""\
        scene: {name: user_asset}
        road: {length_m: 40, sidewalk_width_m: 2.5, buildings: {sides: none}}
        asset_catalogs: [my_assets.yaml]
        cameras: [{name: front, hfov_deg: 60, mount: {x: 0, z: 1.5, yaw_deg: -12}}]
        frames: 2
        objects:
          - {name: lamp, class: street_light, asset: mine/lamppost, placement: {pose: {x: 9, y: -4.6, yaw_deg: 90}}}
          - {name: car, class: car, asset: sweethome3d/concept_sedan_01a, placement: {pose: {x: 14, y: -1.75}}}
        lighting: {time_of_day: "11:00"}
        """))
    (d / "cfg.yaml").write_text(textwrap.dedent("""\
        name: tiny
        width: 160
        height: 120
        samples: 4
        denoiser: none
        device: cpu
        passes: [rgb, depth, semantic, instance]
        """))
    from simgen.cli import main

    out = d / "ds"
    assert main(["render", str(d / "scene.yaml"), "--out", str(out), "--config", str(d / "cfg.yaml"),
                 "--device", "cpu", "--no-progress"]) == 0
    return out


def test_user_asset_is_rendered_and_labelled_with_its_class(rendered):
    info, rows = load_dataset(rendered)
    f = load_frame(rendered, sorted(rows, key=lambda r: r["frame"])[0])
    cls_id = {c["name"]: c["id"] for c in info["classes"]}
    meta = f["meta"]
    (lamp,) = [o for o in meta["objects"] if o["attributes"].get("asset") == "mine/lamppost"]
    assert lamp["class"] == "street_light"
    mask = f["instance"] == lamp["instance_id"]
    assert mask.sum() > 30, "the user's lamppost must be visible"
    assert np.all(f["semantic"][mask] == cls_id["street_light"])
    ys, xs = np.nonzero(mask)
    b = lamp["box3d"]
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * 0.5
    corners = np.array(b["center"]) + (signs * np.array(b["size"])) @ np.array(b["rotation"]).T
    uv, z = _project(corners, np.array(meta["K"]), np.array(meta["world_from_camera"]))
    assert np.all(z > 0)
    assert xs.min() >= uv[:, 0].min() - 1 and xs.max() <= uv[:, 0].max() + 1
    assert ys.min() >= uv[:, 1].min() - 1 and ys.max() <= uv[:, 1].max() + 1
    assert b["size"][2] == pytest.approx(3.5, abs=1e-3) and max(b["size"][:2]) < 1.0  # upright, 3.5 m tall


def test_attribution_lists_exactly_the_third_party_assets(rendered):
    recs = json.loads((rendered / "ATTRIBUTION.json").read_text())
    assert {r["id"] for r in recs} == {"mine/lamppost", "sweethome3d/concept_sedan_01a"}
    (lamp,) = [r for r in recs if r["id"] == "mine/lamppost"]
    assert (lamp["author"], lamp["title"], lamp["license"]) == ("Kator Legaz", "Classic lamppost", "CC-BY-3.0-US")
    assert lamp["sequences"] == ["user_asset/00000"] or len(lamp["sequences"]) == 1
    md = (rendered / "ATTRIBUTION.md").read_text()
    assert "Classic lamppost" in md and "Kator Legaz" in md and "CC-BY-3.0-US" in md and "Concept Sedan 01" in md
