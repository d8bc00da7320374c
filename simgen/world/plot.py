"""Top-down map of a world: stuff surfaces, placement regions, object footprints and paths, camera frustums.

For scene authors: ``save_map(world, "map.png", layout=layout)``. Uses matplotlib's object API with the Agg
canvas (no global pyplot state). x to the right, y up (the world's ground plane seen from above).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np

from simgen.classes import class_table
from simgen.world.model import World

_REGION_COLOURS = {"lane": "#1f77b4", "oncoming_lane": "#ff7f0e", "parking": "#9467bd", "sidewalk": "#2ca02c",
                   "crosswalk": "#d62728", "roadside": "#8c564b", "shop_window": "#17becf", "cross_lane": "#7f7f7f"}
_STUFF_ORDER = ["terrain", "ground", "road", "puddle", "lane_marking", "crosswalk", "curb", "sidewalk", "building",
                "window"]


def _rgb(class_name: str) -> tuple[float, float, float]:
    c = class_table().by_name(class_name).colour
    return (c[0] / 255, c[1] / 255, c[2] / 255)


def draw_map(ax, world: World, layout=None, frame: int = 0, frustum_m: float = 40.0,
             regions: bool = True) -> None:
    """Draw the map of ``world`` at ``frame`` onto a matplotlib Axes."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Polygon

    stuff = [e for e in world.entities if e.instance_id == 0 and e.label_visible]
    stuff.sort(key=lambda e: _STUFF_ORDER.index(e.class_name) if e.class_name in _STUFF_ORDER else 99)
    for e in stuff:
        if e.class_name in ("terrain", "ground"):
            continue
        pose = e.poses[frame]
        v = e.mesh.vertices @ pose[:3, :3].T + pose[:3, 3]
        tris = v[e.mesh.faces[:, :3]][:, :, :2]
        ax.add_collection(PolyCollection(tris, facecolors=[_rgb(e.class_name)], edgecolors="none", alpha=0.9,
                                         zorder=1 + (_STUFF_ORDER.index(e.class_name) if e.class_name in _STUFF_ORDER
                                                     else 10) * 0.01))
    if layout is not None and regions:
        seen = set()
        for r in layout.regions:
            col = _REGION_COLOURS.get(r.kind, "k")
            label = r.kind if r.kind not in seen else None
            seen.add(r.kind)
            ax.add_patch(Polygon(r.corners(), closed=True, fill=False, edgecolor=col, linestyle="--", linewidth=0.6,
                                 zorder=3, label=label))
    for e in world.entities:
        if e.instance_id == 0:
            continue
        lo, hi = e.mesh.bounds()
        rect = np.array([[lo[0], lo[1], 0, 1], [hi[0], lo[1], 0, 1], [hi[0], hi[1], 0, 1], [lo[0], hi[1], 0, 1]])
        pts = (e.poses[frame] @ rect.T).T[:, :2]
        ax.add_patch(Polygon(pts, closed=True, facecolor=_rgb(e.class_name), edgecolor="k", linewidth=0.5,
                             zorder=5))
        path = e.poses[:, :2, 3]
        if np.ptp(path, axis=0).max() > 1e-6:
            ax.plot(path[:, 0], path[:, 1], ":", color="k", linewidth=0.8, zorder=6)
        c = pts.mean(0)
        ax.text(c[0], c[1], str(e.instance_id), fontsize=5, ha="center", va="center", zorder=7, clip_on=True)
        fwd = e.poses[frame][:2, 0]
        ax.annotate("", c + 0.8 * fwd, c, arrowprops={"arrowstyle": "->", "linewidth": 0.6}, zorder=7)
    for cam in world.cameras:
        pose = cam.poses[frame]
        o = pose[:3, 3]
        z = pose[:3, 2]
        x = pose[:3, 0]
        half = cam.hfov_rad / 2
        d1 = z * math.cos(half) + x * math.sin(half)
        d2 = z * math.cos(half) - x * math.sin(half)
        s = frustum_m / max(math.cos(half), 1e-3)
        tri = np.array([o[:2], o[:2] + s * d1[:2], o[:2] + s * d2[:2]])
        ax.add_patch(Polygon(tri, closed=True, facecolor=(1, 1, 0, 0.15), edgecolor="orange", linewidth=0.8,
                             zorder=8))
        ax.plot(cam.poses[:, 0, 3], cam.poses[:, 1, 3], "-", color="orange", linewidth=1.2, zorder=8)
        ax.text(o[0], o[1], cam.name, fontsize=6, color="darkorange", zorder=9, clip_on=True)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"{world.name}, frame {frame}")
    ax.autoscale_view()


def save_map(world: World, path: str | Path, layout=None, frame: int = 0, xlim=None, ylim=None,
             size_inches: tuple[float, float] = (12.0, 5.0), dpi: int = 150) -> Path:
    """Render the top-down map to an image file (written to a temporary name, then renamed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size_inches, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    draw_map(ax, world, layout, frame)
    if layout is not None:
        p = layout.params
        ax.set_xlim(*(xlim or (-5.0, p.length + 5.0)))
        lim = p.half_width + p.sidewalk_width + 12.0
        ax.set_ylim(*(ylim or (-lim, lim)))
    elif xlim or ylim:
        ax.set_xlim(*xlim) if xlim else None
        ax.set_ylim(*ylim) if ylim else None
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, prefix=".map-", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
