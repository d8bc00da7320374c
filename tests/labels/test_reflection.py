"""Merging the renderer's label-key reflection renders (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.labels.ids import LabelError
from simgen.labels.reflection import merge_reflection_keys


def _render(direct=(), mirror=(), glass=(), shape=(2, 3)):
    """(H, W, 3) keys; each argument a list of ((row, col), key)."""
    r = np.zeros((*shape, 3), np.float32)
    for ch, entries in enumerate((direct, mirror, glass)):
        for (v, u), key in entries:
            r[v, u, ch] = key
    return r


def test_clear_render_alone_gives_masks_and_index():
    clear = _render(direct=[((0, 0), 5)], mirror=[((0, 1), 7)], glass=[((1, 2), 9)])
    masks, index = merge_reflection_keys(clear, None)
    assert masks.dtype == np.float32 and masks.shape == (2, 3, 3)
    np.testing.assert_array_equal(masks[..., 0], [[1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(masks[..., 1], [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(masks[..., 2], [[0, 0, 0], [0, 0, 1]])
    # the index names people seen indirectly only: the directly seen one is in the instance map already
    np.testing.assert_array_equal(index, [[0, 7, 0], [0, 0, 9]])


def test_mirror_render_adds_window_reflections_and_wins_the_index():
    # pixel (1, 0): the clear render sees person 9 through a shop window, the mirror render person 4 in it
    clear = _render(glass=[((1, 0), 9), ((1, 1), 9)])
    mirror = _render(mirror=[((1, 0), 4), ((0, 2), 4)], glass=[((0, 0), 6)])
    masks, index = merge_reflection_keys(clear, mirror)
    np.testing.assert_array_equal(masks[..., 1], [[0, 0, 1], [1, 0, 0]])
    # through-glass pixels from both renders (the mirror render still sees through non-reflective glass)
    np.testing.assert_array_equal(masks[..., 2], [[1, 0, 0], [1, 1, 0]])
    np.testing.assert_array_equal(index, [[6, 0, 4], [4, 9, 0]])


def test_blended_keys_are_refused_not_rounded():
    clear = _render(mirror=[((0, 1), 6.5)])
    with pytest.raises(LabelError, match="not integral"):
        merge_reflection_keys(clear, None)
    with pytest.raises(LabelError, match=r"\(H, W, 3\)"):
        merge_reflection_keys(np.zeros((2, 3)), None)
    with pytest.raises(LabelError, match="differ in shape"):
        merge_reflection_keys(_render(), _render(shape=(3, 3)))


def test_strength_follows_the_render_each_channel_came_from():
    from simgen.labels.reflection import merge_reflection_strength

    # (1, 0): seen through the pane in the clear render, reflected in it in the mirror render
    clear = _render(mirror=[((0, 1), 7)], glass=[((1, 0), 9), ((1, 1), 9)])
    mirror = _render(mirror=[((0, 1), 7), ((1, 0), 4)], glass=[((0, 0), 6)])
    cs = np.zeros((2, 3, 3), np.float32)
    cs[0, 1, 1], cs[1, 0, 2], cs[1, 1, 2] = 0.5, 0.9, 0.8
    cs[0, 2, 1] = 0.7  # strength without a key (cannot happen): ignored
    ms = np.zeros((2, 3, 3), np.float32)
    ms[0, 1, 1], ms[1, 0, 1], ms[0, 0, 2] = 0.25, 0.06, 0.95
    out = merge_reflection_strength(clear, mirror, cs, ms)
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], [[0, 0.25, 0], [0.06, 0, 0]])
    np.testing.assert_allclose(out[..., 1], [[0.95, 0, 0], [0.9, 0.8, 0]])
    # without reflective glass only the clear render counts
    np.testing.assert_allclose(merge_reflection_strength(clear, None, cs, None)[..., 0], [[0, 0.5, 0], [0, 0, 0]])
    with pytest.raises(LabelError, match="strength render"):
        merge_reflection_strength(clear, mirror, cs, None)
    with pytest.raises(LabelError, match="shape"):
        merge_reflection_strength(clear, None, cs[:1], None)
