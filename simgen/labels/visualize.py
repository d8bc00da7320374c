"""Pictures of labels: flow colour wheel, depth colour map, semantic/instance colouring, normals, contact sheet.

Every function returns an (H, W, 3) uint8 **RGB** image (convert to BGR yourself before ``cv2.imwrite``).
"""

from __future__ import annotations

import cv2
import numpy as np

from simgen.classes import class_table


def _colour_wheel() -> np.ndarray:
    """(55, 3) float64 RGB in [0, 255]: the Middlebury/Baker et al. colour wheel (red, yellow, green, cyan, blue,
    magenta segments of 15, 6, 4, 11, 13, 6 steps)."""
    segments = [(15, (255, 0, 0), (255, 255, 0)), (6, (255, 255, 0), (0, 255, 0)), (4, (0, 255, 0), (0, 255, 255)),
                (11, (0, 255, 255), (0, 0, 255)), (13, (0, 0, 255), (255, 0, 255)), (6, (255, 0, 255), (255, 0, 0))]
    rows = []
    for n, a, b in segments:
        t = np.arange(n)[:, None] / n
        rows.append((1 - t) * np.array(a, float) + t * np.array(b, float))
    return np.concatenate(rows)


COLOUR_WHEEL = _colour_wheel()


def flow_to_color(flow: np.ndarray, valid: np.ndarray | None = None, max_flow: float | None = None) -> np.ndarray:
    """Colour-code a flow field (H, W, 2) (pixels, u right, v down).

    Hue = direction on the Middlebury wheel (rightward flow red, downward yellow, leftward cyan, upward
    blue-violet; see :func:`flow_legend`), saturation = magnitude / max_flow (white = no motion; magnitudes above max_flow are
    darkened). max_flow defaults to the 99th percentile of valid magnitudes. Invalid pixels (``valid`` False or
    non-finite / > 1e9) are black. Returns (H, W, 3) uint8 RGB.
    """
    f = np.asarray(flow, np.float64)
    ok = np.all(np.isfinite(f) & (np.abs(f) <= 1e9), -1)
    if valid is not None:
        ok &= np.asarray(valid, bool)
    u = np.where(ok, f[..., 0], 0.0)
    v = np.where(ok, f[..., 1], 0.0)
    mag = np.hypot(u, v)
    if max_flow is None:
        max_flow = float(np.percentile(mag[ok], 99)) if ok.any() else 1.0
    max_flow = max(max_flow, 1e-9)
    rad = mag / max_flow
    n = len(COLOUR_WHEEL)
    a = np.arctan2(-v, -u) / np.pi
    fk = (a + 1) / 2 * (n - 1)
    k0 = np.floor(fk).astype(int)
    k1 = (k0 + 1) % n
    w = (fk - k0)[..., None]
    col = ((1 - w) * COLOUR_WHEEL[k0] + w * COLOUR_WHEEL[k1]) / 255.0
    inside = (rad <= 1)[..., None]
    col = np.where(inside, 1 - rad[..., None] * (1 - col), col * 0.75)
    out = np.floor(255 * np.clip(col, 0, 1)).astype(np.uint8)
    out[~ok] = 0
    return out


def flow_legend(size: int = 101) -> np.ndarray:
    """(size, size, 3) uint8 RGB legend: the colour of flow (u, v) = (x, y) − centre, with radius = max_flow at
    the circle's edge; outside the circle is white. Image y points down, like v."""
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(float)
    flow = np.stack([x - c, y - c], -1)
    img = flow_to_color(flow, max_flow=c)
    img[np.hypot(x - c, y - c) > c] = 255
    return img


def depth_to_color(depth: np.ndarray, lo_pct: float = 2.0, hi_pct: float = 98.0) -> np.ndarray:
    """Colour-code planar depth (H, W) metres via inverse depth: near = bright/warm, far = dark/cool.

    Inverse depth is scaled between its ``lo_pct`` and ``hi_pct`` percentiles over valid pixels (robust to a few
    extreme values) and mapped with the TURBO colour map; +inf / non-positive / NaN depth is black.
    """
    d = np.asarray(depth, np.float64)
    ok = np.isfinite(d) & (d > 0)
    inv = np.zeros_like(d)
    inv[ok] = 1.0 / d[ok]
    if ok.any():
        lo, hi = np.percentile(inv[ok], [lo_pct, hi_pct])
    else:
        lo, hi = 0.0, 1.0
    s = np.clip((inv - lo) / max(hi - lo, 1e-12), 0, 1)
    bgr = cv2.applyColorMap(np.rint(s * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    out = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    out[~ok] = 0
    return out


def semantic_to_color(semantic: np.ndarray) -> np.ndarray:
    """(H, W) uint8 class ids -> (H, W, 3) uint8 RGB with the class table's colours (unknown ids black)."""
    return class_table().palette()[np.asarray(semantic, np.uint8)]


def instance_to_color(instance: np.ndarray) -> np.ndarray:
    """(H, W) int instance ids -> (H, W, 3) uint8 RGB; id 0 black, others a fixed, well-spread colour per id
    (golden-ratio hue steps, so a given id has the same colour in every frame)."""
    inst = np.asarray(instance, np.int64)
    ids = np.unique(inst)
    out = np.zeros(inst.shape + (3,), np.uint8)
    for i in ids[ids > 0]:
        h = (i * 0.618033988749895) % 1.0
        s = 0.55 + 0.45 * ((i * 7) % 3) / 2
        hsv = np.array([[[h * 180, s * 255, 255]]], np.float32)
        rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0]
        out[inst == i] = rgb
    return out


def normals_to_color(normal: np.ndarray) -> np.ndarray:
    """(H, W, 3) camera-frame unit normals -> RGB = (n + 1) / 2 · 255; zero-length (background) normals black."""
    n = np.asarray(normal, np.float64)
    ok = np.linalg.norm(n, axis=-1) > 0.5
    out = np.rint(np.clip((n + 1) / 2, 0, 1) * 255).astype(np.uint8)
    out[~ok] = 0
    return out


def _caption(tile: np.ndarray, text: str, band: int = 14) -> np.ndarray:
    h, w = tile.shape[:2]
    out = np.zeros((h + band, w, 3), np.uint8)
    out[band:] = tile
    scale = max(0.3, min(0.45, w / 400))
    cv2.putText(out, text, (3, band - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


#: overlay colours of the reflection channels: seen directly, via a reflection, through glass
REFLECTION_COLOURS = ((60, 220, 60), (255, 0, 255), (0, 200, 255))


def reflection_overlay(rgb: np.ndarray, reflection: np.ndarray) -> np.ndarray:
    """The image dimmed, with people seen directly in green, via a reflection in magenta, through glass in cyan.

    rgb: (H, W, 3) uint8; reflection: (H, W, 3) 0/1 masks (direct, mirror, glass). Returns (H, W, 3) uint8."""
    out = (np.asarray(rgb, np.float32) * 0.45).astype(np.uint8)
    for ch, colour in enumerate(REFLECTION_COLOURS):
        out[np.asarray(reflection)[..., ch] > 0] = colour
    return out


def contact_sheet(labels, rgb: np.ndarray) -> np.ndarray:
    """One picture of a frame's labels: rgb | depth | flow fwd (top), semantic | instance | normals (bottom),
    each with a small caption; with reflection labels a fourth column shows the reflection masks over the
    image (top) and the instance ids of reflected people (bottom). labels:
    :class:`simgen.labels.frame.FrameLabels`; rgb: (H, W, 3) uint8. Returns (2·(H + 14), C·W, 3) uint8 RGB,
    C = 3 or 4. Without forward flow (last frame) the backward flow is shown."""
    if labels.flow_fwd is not None:
        flow_img, flow_cap = flow_to_color(labels.flow_fwd, labels.flow_fwd_valid), "flow fwd"
    elif labels.flow_bwd is not None:
        flow_img, flow_cap = flow_to_color(labels.flow_bwd, labels.flow_bwd_valid), "flow bwd"
    else:
        flow_img, flow_cap = np.full_like(rgb, 64), "no flow"
    tiles = [
        (np.asarray(rgb, np.uint8), "rgb"),
        (depth_to_color(labels.depth),
         "depth (1/range)" if labels.lens is not None and labels.lens.depth_kind == "range" else "depth (1/z)"),
        (flow_img, flow_cap),
        (semantic_to_color(labels.semantic), "semantic"),
        (instance_to_color(labels.instance), "instance"),
        (normals_to_color(labels.normal), "normals (cam)"),
    ]
    if labels.reflection is not None:
        tiles.insert(3, (reflection_overlay(rgb, labels.reflection), "reflections"))
        refl_inst = labels.reflection_instance
        tiles.append((instance_to_color(np.zeros(labels.instance.shape, np.uint16) if refl_inst is None
                                        else refl_inst), "refl. instance"))
    tiles = [_caption(t, c) for t, c in tiles]
    cols = len(tiles) // 2
    return np.concatenate([np.concatenate(tiles[:cols], 1), np.concatenate(tiles[cols:], 1)], 0)
