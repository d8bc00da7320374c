"""``index.html`` of a dataset: one card per rendered sequence, with its preview sheet, seed, tags and knobs.

Rewritten (atomically) after every sequence the pipeline adds, so opening ``OUT/index.html`` in a browser shows
what is in a dataset without reading the manifest. The page is self-contained apart from the preview PNGs it
links by relative path.
"""

from __future__ import annotations

import html
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

from simgen.io.atomic import atomic_write_text

INDEX_NAME = "index.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; background: #fafafa; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
.sub { color: #666; margin-bottom: 1.2rem; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.8rem; margin-bottom: 1.2rem; }
.card h2 { font-size: 1.1rem; margin: 0 0 0.4rem 0; }
.card img { max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
.tag { display: inline-block; background: #e8eefc; border-radius: 3px; padding: 0 0.4rem; margin-right: 0.3rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin-top: 0.5rem; }
td { padding: 0.1rem 0.8rem 0.1rem 0; vertical-align: top; }
td.k { color: #666; }
"""


def _sequences(root: Path) -> "OrderedDict[tuple[str, str], dict[str, Any]]":
    from simgen.io.dataset import MANIFEST, iter_manifest

    seqs: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
    # lenient: a page of what is there, whatever else is wrong with the manifest (the reader reports it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = list(iter_manifest(root / MANIFEST, errors=[]))
    for _, row in rows:
        if not isinstance(row, dict) or "scene" not in row:
            continue
        seq_rel = row.get("sequence")  # "<scene>/<sequence>" (simgen render); older rows: scene and variant
        key = (str(row["scene"]), str(seq_rel).split("/", 1)[-1] if seq_rel else str(row.get("variant", "")))
        seq = seqs.setdefault(key, {"rows": 0, "cameras": set(), "first": row})
        seq["rows"] += 1
        seq["cameras"].add(str(row.get("camera", "")))
    return seqs


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value) or "—"
    return str(value)


def _card(root: Path, scene: str, variant: str, seq: dict[str, Any]) -> str:
    first = seq["first"]
    rgb = str(first.get("files", {}).get("rgb", ""))
    folder = (root / rgb).parent if rgb else None
    previews = []
    if folder is not None:
        # several cameras: the frame files sit one level below the sequence folder, the previews beside them
        for d in (folder, folder.parent):
            previews = sorted(d.glob("preview*.png"))
            if previews:
                break
    e = html.escape
    imgs = "".join(
        f'<div><img src="{e(p.relative_to(root).as_posix(), quote=True)}" alt="preview of {e(scene)}"></div>'
        for p in previews) or "<p>(no preview)</p>"
    tags = "".join(f'<span class="tag">{e(str(t))}</span>' for t in first.get("tags", []))
    knobs = first.get("knobs", {}) or {}
    rows = "".join(f'<tr><td class="k">{e(str(k))}</td><td>{e(_fmt(v))}</td></tr>' for k, v in knobs.items()
                   if k not in ("scene", "variant"))
    frames = seq["rows"] // max(len(seq["cameras"]), 1)
    return (f'<div class="card"><h2>{e(scene)} / {e(variant)}</h2>'
            f'<div>seed {e(str(first.get("seed", "?")))} · {frames} frame(s) · '
            f'{len(seq["cameras"])} camera(s) · {e(str(first.get("width", "?")))}×{e(str(first.get("height", "?")))}'
            f' {tags}</div>{imgs}<table>{rows}</table></div>')


def write_index(root: str | Path) -> Path:
    """(Re)write ``root/index.html`` from the dataset's manifest; returns its path."""
    root = Path(root)
    seqs = _sequences(root)
    images = sum(s["rows"] for s in seqs.values())  # frames x cameras
    cards = "".join(_card(root, scene, variant, seq) for (scene, variant), seq in seqs.items())
    from simgen.batch.report import html_section  # "Batch run" section, when OUT/batch_report.json exists

    cards = html_section(root) + cards
    # nothing about where the dataset lies: the same renders give the same bytes wherever they are written
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>simgen dataset</title>"
            f"<style>{_STYLE}</style></head><body><h1>simgen dataset</h1>"
            f'<div class="sub">{len(seqs)} sequence(s), {images} image(s) · each picture: rgb, depth, flow, '
            f"(reflections,) semantic, instance, normals of the first frame</div>"
            f"{cards or '<p>No sequences yet.</p>'}</body></html>\n")
    path = root / INDEX_NAME
    atomic_write_text(path, page)
    return path
