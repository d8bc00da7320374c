"""Traffic-sign faces as images: generic shapes and symbols drawn with OpenCV (no copied artwork), cached on disk.

:func:`sign_face(kind)` returns (face PNG path, mask PNG path): the face is RGBA (sRGB colours, alpha 0 outside
the sign's shape), the mask is white with the same alpha (for the metal back of the plate). Images are square,
256 px; u right, v up when mapped on the plate's front face.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from simgen.paths import data_dir

#: sign kinds (European-style generic signs)
KINDS = ("speed_30", "speed_50", "no_entry", "no_parking", "give_way", "warning", "parking", "crossing")
SIZE = 256
VERSION = 1


def _cache() -> Path:
    env = os.environ.get("SIMGEN_ASSET_CACHE")
    return (Path(env).expanduser() if env else data_dir("asset_cache")) / "signs"


def _draw(kind: str) -> np.ndarray:
    """(SIZE, SIZE, 4) uint8 BGRA face of ``kind``."""
    import cv2

    s = SIZE
    c = s // 2
    img = np.zeros((s, s, 4), np.uint8)
    red, white, blue, black = (30, 30, 200, 255), (240, 240, 240, 255), (160, 70, 0, 255), \
        (20, 20, 20, 255)
    aa = cv2.LINE_AA
    if kind in ("speed_30", "speed_50", "no_parking", "no_entry"):
        if kind == "no_entry":
            cv2.circle(img, (c, c), c - 4, red, -1, aa)
            cv2.rectangle(img, (int(s * 0.18), int(s * 0.42)), (int(s * 0.82), int(s * 0.58)), white, -1)
        elif kind == "no_parking":
            cv2.circle(img, (c, c), c - 4, red, -1, aa)
            cv2.circle(img, (c, c), int(c * 0.72), blue, -1, aa)
            cv2.line(img, (int(s * 0.25), int(s * 0.25)), (int(s * 0.75), int(s * 0.75)), red, int(s * 0.09), aa)
        else:
            cv2.circle(img, (c, c), c - 4, red, -1, aa)
            cv2.circle(img, (c, c), int(c * 0.74), white, -1, aa)
            text = kind.split("_")[1]
            scale = s / 95
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, int(s / 28))
            cv2.putText(img, text, (c - tw // 2, c + th // 2), cv2.FONT_HERSHEY_DUPLEX, scale, black, int(s / 28), aa)
    elif kind in ("give_way", "warning"):
        down = kind == "give_way"
        pts = np.array([[c, s - 6], [6, 16], [s - 6, 16]] if down else [[c, 6], [6, s - 16], [s - 6, s - 16]],
                       np.int32)
        cv2.fillPoly(img, [pts], red, aa)
        inner = ((pts - pts.mean(0)) * 0.72 + pts.mean(0)).astype(np.int32)
        cv2.fillPoly(img, [inner], white, aa)
        if kind == "warning":
            cv2.rectangle(img, (c - 9, int(s * 0.38)), (c + 9, int(s * 0.66)), black, -1)
            cv2.circle(img, (c, int(s * 0.74)), 11, black, -1, aa)
    else:  # square blue signs
        cv2.rectangle(img, (6, 6), (s - 7, s - 7), white, -1)
        cv2.rectangle(img, (14, 14), (s - 15, s - 15), blue, -1)
        if kind == "parking":
            scale = s / 60
            (tw, th), _ = cv2.getTextSize("P", cv2.FONT_HERSHEY_DUPLEX, scale, int(s / 18))
            cv2.putText(img, "P", (c - tw // 2, c + th // 2), cv2.FONT_HERSHEY_DUPLEX, scale, white, int(s / 18), aa)
        else:  # pedestrian crossing: a white triangle with a walking figure
            pts = np.array([[c, 36], [36, s - 40], [s - 36, s - 40]], np.int32)
            cv2.fillPoly(img, [pts], white, aa)
            cv2.circle(img, (c + 4, 100), 12, black, -1, aa)
            cv2.line(img, (c, 115), (c - 8, 160), black, 10, aa)
            cv2.line(img, (c - 8, 160), (c - 28, 195), black, 9, aa)
            cv2.line(img, (c - 8, 160), (c + 16, 195), black, 9, aa)
            cv2.line(img, (c - 2, 125), (c - 26, 150), black, 8, aa)
            cv2.line(img, (c - 2, 125), (c + 22, 145), black, 8, aa)
    return img


def sign_face(kind: str) -> tuple[str, str]:
    """(face path, mask path) of sign ``kind`` (one of :data:`KINDS`), written once to the asset cache."""
    import cv2

    if kind not in KINDS:
        raise ValueError(f"unknown sign kind '{kind}' (known: {', '.join(KINDS)})")
    d = _cache()
    face, mask = d / f"v{VERSION}-{kind}.png", d / f"v{VERSION}-{kind}-mask.png"
    if not (face.is_file() and mask.is_file()):
        d.mkdir(parents=True, exist_ok=True)
        img = _draw(kind)
        m = np.full_like(img, 255)
        m[..., 3] = img[..., 3]
        for path, data in ((face, img), (mask, m)):
            tmp = path.with_suffix(f".tmp{os.getpid()}.png")
            cv2.imwrite(str(tmp), data)
            os.replace(tmp, path)
    return str(face), str(mask)
