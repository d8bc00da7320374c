"""What people wear and carry: street palettes, hats, bags, hair in the body's UVs, the painted face, loose
trouser legs, and the vectorised skinning against the textbook formula."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from simgen.world import people
from simgen.world.assets import make_asset


@pytest.fixture(scope="module")
def bank():
    b = people.load_bank()
    if b is None:
        pytest.fail(f"no body bank at {people.bank_path()}: run scripts/setup.sh (scripts/bake_bodies.py)")
    return b


@pytest.fixture(scope="module")
def crowd(bank):
    return [make_asset("pedestrian", None, 1.0, np.random.default_rng(k), "walking")[:2] for k in range(60)]


def _lum(rgb) -> float:
    return float(np.dot(rgb, (0.2126, 0.7152, 0.0722)))


def test_street_palette_is_mostly_dark_with_a_few_bright(crowd):
    tops = [_lum(m.rig.look.top) for m, _ in crowd]
    assert np.median(tops) < 0.1, "street clothing is mostly dark"
    assert max(tops) > 0.3, "a few light or bright tops"
    kinds = {m.rig.look.top_kind for m, _ in crowd}
    assert {"jacket", "coat"} <= kinds and len(kinds) >= 3
    shoes = [_lum(m.rig.look.shoes) for m, _ in crowd]
    assert 0.1 < np.mean(np.array(shoes) > 0.5) < 0.6, "some white trainers, mostly dark shoes"


def test_hats_bags_and_two_tone_jackets_appear_and_are_recorded(crowd):
    rec = [m.rig.record() for m, _ in crowd]
    assert any(r["look"]["hat_rgb"] is not None for r in rec)
    assert any(r["look"]["yoke_rgb"] is not None for r in rec)
    carried = [r["carried"] for r in rec]
    assert carried.count("backpack") >= 3 and carried.count("shoulder_bag") >= 2 and carried.count(None) >= 20
    for (m, mats), r in zip(crowd, rec):
        names = {x.name for x in mats}
        assert (r["carried"] == "backpack") == ("backpack" in names)
        assert (r["look"]["hat_rgb"] is not None) == ("hat" in names)
        assert len(set(m.face_material.tolist())) == len(mats), "every material is used"
    assert len({r["style"]["arm_swing"] for r in rec}) > 20, "arm swing varies per person"


def test_backpack_rides_on_the_back_through_the_gait(bank, crowd):
    m = next(m for m, _ in crowd if m.rig.carried == "backpack")
    p = m.rig
    faces, fm = people.person_faces(p)
    pack = np.unique(faces[fm == [x.name for x in p.materials].index("backpack")])
    d = np.linspace(0, 2.5, 20)
    # standing, then running (the trunk leans forward over the hips and counter-rotates)
    v = np.concatenate([people.animate(p, "standing", d[:2], d[:2]),
                        people.animate(p, "running", d, d / 3.0)])
    body = v[:, : len(p.body)]
    trunk = np.unique(bank.faces[np.isin(bank.face_part, [bank.part("torso"), bank.part("hips")])])
    chest = body[:, bank.weight_bones[:, 0] == bank.bone("spine02")]
    gaps = []
    for t in range(len(v)):
        # behind the chest (−x), and every point of it within the pack's depth of the trunk's surface
        gaps.append(np.linalg.norm(v[t, pack][:, None, :] - body[t, trunk][None], axis=2).min(1))
        assert gaps[-1].max() < 0.2
        assert np.median(v[t, pack, 0]) < np.median(chest[t, :, 0])
    # it rides with the back: each point keeps its distance to the body within 3 cm through the cycle
    assert np.ptp(np.array(gaps), axis=0).max() < 0.03


def test_hair_shell_carries_the_body_uvs(crowd):
    m = next(m for m, _ in crowd if m.rig.look.hair_style not in ("bald",))
    p = m.rig
    uv = people.person_uv(p)
    faces, fm = people.person_faces(p)
    hair = [x.name for x in p.materials].index("hair")
    shell = np.nonzero(fm == hair)[0]
    shell = shell[shell >= len(p.bank.faces)]
    assert len(shell) and (np.abs(uv[shell]).sum((1, 2)) > 0).mean() > 0.6, "hair strands follow the scalp"


def test_face_detail_darkens_brows_and_lips_not_the_back_of_the_head(bank):
    path = people._face_image()
    img = cv2.imread(path)[..., ::-1].astype(float) / 255.0
    H, W = img.shape[:2]
    adult = np.nonzero(bank.params[:, 0] >= 0.5)[0][0]
    body = bank.vertices[adult]
    head = bank.face_part == bank.part("head")
    # sample the image at each head face's corners' UVs (independently of how it was painted)
    uv = bank.uv[head].reshape(-1, 2)
    pos = body[bank.faces[head]].reshape(-1, 3)
    px = np.clip((uv[:, 0] * W).astype(int), 0, W - 1)
    py = np.clip(((1 - uv[:, 1]) * H).astype(int), 0, H - 1)
    srgb = img[py, px].mean(1)
    val = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)  # linear multiplier
    eye = body[np.unique(bank.faces[bank.face_part == bank.part("eye")])]
    eye_z, face_x = eye[:, 2].mean(), eye[:, 0].max()
    brows = (np.abs(pos[:, 2] - (eye_z + 0.021)) < 0.006) & (np.abs(np.abs(pos[:, 1]) - 0.033) < 0.012) & \
        (pos[:, 0] > face_x - 0.03)
    forehead = (pos[:, 2] > eye_z + 0.05) & (pos[:, 2] < eye_z + 0.07) & (np.abs(pos[:, 1]) < 0.03) & \
        (pos[:, 0] > face_x - 0.03)
    back = pos[:, 0] < face_x - 0.12
    assert brows.sum() >= 2 and forehead.sum() >= 2 and back.sum() > 20
    assert val[brows].mean() < 0.7 and val[forehead].min() > 0.9 and val[back].min() > 0.97


def test_trouser_legs_hang_straight_below_the_knee(bank):
    ratios = []
    for k in range(40):
        look = people.sample_look(np.random.default_rng(k), 0.7, 0.0, None)
        if look.legwear != "trousers" or look.bottom_kind != "cloth":
            continue
        adult = np.nonzero(bank.params[:, 0] >= 0.5)[0][0]
        body, heads = bank.vertices[adult], bank.bone_heads[adult]
        fm = people._clothing(bank, body, heads, look)
        loose = people._loosen(bank, body, heads, fm, look)
        knee, ank = heads[bank.bone("lowerleg01.L")], heads[bank.bone("foot.L")]
        shin = np.unique(bank.faces[(bank.face_part == bank.part("shin")) & (fm == people.BOTTOM)])
        shin = shin[body[shin, 1] > 0]
        z = body[shin, 2]
        low = shin[z < ank[2] + 0.25 * (knee[2] - ank[2])]
        high = shin[z > ank[2] + 0.75 * (knee[2] - ank[2])]

        axis = (ank - knee) / np.linalg.norm(ank - knee)

        def r(v, i):  # mean distance from the knee-ankle axis
            rel = v[i] - knee
            return np.linalg.norm(rel - (rel @ axis)[:, None] * axis, axis=1).mean()

        ratios.append((r(body, low) / r(body, high), r(loose, low) / r(loose, high)))
    assert ratios
    for bare, dressed in ratios:
        assert dressed > bare + 0.1 and dressed > 0.8, (bare, dressed)


def test_skinning_matches_the_textbook_formula():
    rng = np.random.default_rng(0)
    V, J, T = 400, 36, 3
    w = rng.random((V, 4))
    w /= w.sum(1, keepdims=True)
    b = rng.integers(0, J, (V, 4))
    b[:, 3] = b[:, 2]  # repeated bones add up
    A = rng.normal(size=(T, J, 3, 3))
    t = rng.normal(size=(T, J, 3))
    v = rng.normal(size=(V, 3))
    ref = np.zeros((T, V, 3))
    for ti in range(T):
        for i in range(V):
            for k in range(4):
                ref[ti, i] += w[i, k] * (A[ti, b[i, k]] @ v[i] + t[ti, b[i, k]])
    np.testing.assert_allclose(people.skin(v, w, b, A, t), ref, atol=1e-12)
