"""Write a gap report: ``report.json`` (everything) and a self-contained ``report.html``.

The JSON is the record: every number, its N, interval and real-vs-real baseline, the preprocessing contract,
backbone versions, seeds, simgen version and timings. Non-finite floats are written as ``null`` so the file is
strict JSON. The HTML is rendered from that same dictionary with a jinja2 template; its plots are drawn with
matplotlib's Agg backend and embedded as base64 PNG, thumbnails as base64 JPEG, so the page needs no other file
and no network.

Both files are written to a temporary name in the report folder and renamed.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import OutputError
from simgen.io.atomic import atomic_write_bytes
from simgen.jsonable import to_jsonable

#: A domain-classifier AUC at or above this is coloured as a large gap whatever its ratio.
SEPARABLE_AUC = 0.9

#: Short explanations shown next to each metric in the HTML.
METRIC_HELP = {
    "fd": "Fréchet distance between Gaussian fits of the two feature sets (0 = identical; biased upward at small N).",
    "kid": "Kernel inception distance: unbiased squared MMD with a cubic polynomial kernel, averaged over subsets.",
    "mmd": "Squared MMD with a Gaussian (RBF) kernel, bandwidth fixed from the real set; permutation p-value.",
    "precision": "Share of synthetic samples inside the real k-NN manifold (fidelity).",
    "recall": "Share of real samples inside the synthetic k-NN manifold (diversity).",
    "density": "How densely synthetic samples fill real k-NN balls (≈1 for matching sets).",
    "coverage": "Share of real k-NN balls holding at least one synthetic sample.",
    "classifier_auc": "Domain-classifier ROC AUC with group-aware cross-validation (0.5 = indistinguishable).",
}


#: Display names of the per-statistic distance columns.
COLUMN_LABELS = {
    "mean_a": "mean synthetic", "mean_b": "mean real", "std_a": "std synthetic", "std_b": "std real",
    "mean_diff_in_real_std": "mean difference / real std", "ks": "KS statistic", "ks_pvalue": "KS p-value",
}


# --------------------------------------------------------------------------------------------------- JSON


# --------------------------------------------------------------------------------------------------- plots


def _png_b64(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


SYNTH_COLOUR = "#d9534f"
REAL_COLOUR = "#337ab7"


def plot_slice_ratios(rows: Sequence[Mapping[str, Any]], metric: str) -> str | None:
    """Horizontal bars of per-slice gap ratio (furthest from real on top); base64 PNG or None if no rows."""
    rows = [r for r in rows if r.get("ratio") is not None]
    if not rows:
        return None
    plt = _plt()
    labels = [f"{r['label']}  (n={r['n']})" for r in rows]
    ratios = np.array([r["ratio"] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.2))
    colours = [_severity_colour(_ratio_class(x)) for x in ratios]
    y = np.arange(len(rows))[::-1]
    ax.barh(y, ratios, color=colours, edgecolor="#444", linewidth=0.5)
    ax.set_yticks(y, labels, fontsize=9)
    ax.axvline(1.0, color="k", linestyle="--", linewidth=1)
    ax.text(1.0, y.max() + 0.6, " real-vs-real", fontsize=8, va="bottom")
    ax.set_xlabel(f"gap ratio ({metric}: slice vs real / real vs real at the same N)")
    ax.set_xlim(0, max(1.2, float(ratios.max()) * 1.1))
    ax.set_ylim(-0.6, y.max() + 1.2)
    ax.grid(axis="x", alpha=0.3)
    return _png_b64(fig)


def plot_histograms(hists: Mapping[str, Mapping[str, Any]], cols: int = 4) -> str | None:
    """Grid of per-statistic histograms, synthetic and real bars side by side per bin; base64 PNG."""
    names = [n for n, h in hists.items() if h.get("edges")]
    if not names:
        return None
    plt = _plt()
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.2 * rows), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        h = hists[name]
        edges = np.asarray(h["edges"], dtype=float)
        s = np.asarray(h["synth"], dtype=float)
        r = np.asarray(h["real"], dtype=float)
        s = s / max(s.sum(), 1.0)
        r = r / max(r.sum(), 1.0)
        centres = 0.5 * (edges[:-1] + edges[1:])
        w = np.diff(edges) * 0.45
        ax.bar(centres - w / 2, s, width=w, color=SYNTH_COLOUR, label="synthetic")
        ax.bar(centres + w / 2, r, width=w, color=REAL_COLOUR, label="real")
        title = name
        if h.get("distance") is not None:
            title += f"\n{h.get('distance_name', 'distance')} = {h['distance']:.3g}"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    axes.ravel()[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return _png_b64(fig)


def plot_colour_histograms(colour: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Mean per-channel colour histograms, synthetic (solid) vs real (dashed); base64 PNG."""
    chans = [c for c in "rgb" if c in colour]
    if not chans:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(chans), figsize=(3.2 * len(chans), 2.2), squeeze=False)
    names = {"r": "red", "g": "green", "b": "blue"}
    for ax, c in zip(axes[0], chans):
        s = np.asarray(colour[c]["synth"], dtype=float)
        r = np.asarray(colour[c]["real"], dtype=float)
        x = np.arange(len(s))
        w = 0.42
        ax.bar(x - w / 2, s, width=w, color=SYNTH_COLOUR, label="synthetic")
        ax.bar(x + w / 2, r, width=w, color=REAL_COLOUR, label="real")
        ax.set_title(f"{names[c]} channel (bins of 16 levels)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _png_b64(fig)


def plot_heatmap(data: Any, title: str) -> str | None:
    """One 2D array as an image with a colour bar (e.g. object-centre positions); base64 PNG."""
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 2 or arr.size == 0:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.2, 2.6))
    im = ax.imshow(arr, cmap="magma", interpolation="nearest", aspect="auto")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _png_b64(fig)


def plot_bars(counts: Mapping[str, Any], title: str) -> str | None:
    """A bar chart of label -> count (e.g. class balance); base64 PNG."""
    items = [(str(k), float(v)) for k, v in counts.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not items:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(3.2, 0.3 * len(items) + 1.5), 2.6))
    ax.bar(range(len(items)), [v for _, v in items], color="#5b8db8")
    ax.set_xticks(range(len(items)), [k for k, _ in items], rotation=60, ha="right", fontsize=7)
    ax.set_title(title, fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    return _png_b64(fig)


def _audit_plots(plots: Any, limit: int = 24) -> list[dict[str, str]]:
    """Render the audit's plot data: 2D numeric arrays as heatmaps, label->number maps as bar charts."""
    out: list[dict[str, str]] = []

    def visit(node: Any, title: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(node, Mapping):
            if node and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in node.values()):
                png = plot_bars(node, title)
                if png:
                    out.append({"title": title, "png": png})
                return
            for k, v in node.items():
                visit(v, f"{title} / {k}" if title else str(k))
            return
        if isinstance(node, (list, tuple, np.ndarray)):
            try:
                arr = np.asarray(node, dtype=float)
            except (TypeError, ValueError):
                return
            if arr.ndim == 2 and min(arr.shape) > 1:
                png = plot_heatmap(arr, title)
                if png:
                    out.append({"title": title, "png": png})

    visit(plots, "")
    return out


# --------------------------------------------------------------------------------------------------- colours


def _ratio_class(ratio: float | None) -> str:
    if ratio is None or not math.isfinite(ratio):
        return "na"
    if ratio <= 1.5:
        return "ok"
    if ratio <= 3.0:
        return "warn"
    return "bad"


def _severity_colour(cls: str) -> str:
    return {"ok": "#5cb85c", "warn": "#f0ad4e", "bad": "#d9534f"}.get(cls, "#999999")


def metric_class(m: Mapping[str, Any]) -> str:
    """Colour class of a metric row: ``ok`` when its interval overlaps the real-vs-real interval, else by ratio."""
    v_lo, v_hi = m.get("ci_low"), m.get("ci_high")
    b_lo, b_hi = m.get("baseline_ci_low"), m.get("baseline_ci_high")
    ratio = m.get("ratio")  # already oriented by simgen.gap.stats: > 1 is always "further than real-vs-real"
    if None not in (v_lo, v_hi, b_lo, b_hi) and v_lo <= b_hi and b_lo <= v_hi:
        return "ok"
    if m.get("name") == "classifier_auc" and m.get("value") is not None and m["value"] >= SEPARABLE_AUC:
        # nearly separable sets are a large gap, even when a noisy real-vs-real AUC makes the ratio's floor large
        return "bad"
    cls = _ratio_class(ratio)
    return "warn" if cls == "ok" else cls


# --------------------------------------------------------------------------------------------------- HTML


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(float(x)):
            return "–"
        return f"{float(x):.{digits}g}"
    return str(x)


def render_html(data: Mapping[str, Any], thumbnails: Mapping[str, str] | None = None) -> str:
    """The HTML page for a report dictionary (as written to report.json).

    ``thumbnails`` maps an image id to a base64 JPEG; ids without a thumbnail show a placeholder.
    """
    import jinja2

    thumbnails = dict(thumbnails or {})
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("simgen.gap", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["fmt"] = _fmt
    env.globals["metric_class"] = metric_class
    env.globals["ratio_class"] = _ratio_class
    env.globals["metric_help"] = METRIC_HELP
    env.globals["column_label"] = lambda k: COLUMN_LABELS.get(k, k.replace("_", " "))

    # plots
    slice_plots = []
    for bb, block in (data.get("slices") or {}).get("by_backbone", {}).items():
        png = plot_slice_ratios(block.get("ranking", []), block.get("rank_metric", ""))
        if png:
            slice_plots.append({"backbone": bb, "png": png})
    low = data.get("lowlevel") or {}
    hist_png = plot_histograms(low.get("histograms") or {})
    colour_png = plot_colour_histograms(low.get("colour_histograms") or {})
    audit = data.get("audit") or None
    audit_plots = _audit_plots(audit.get("plots")) if isinstance(audit, Mapping) and audit.get("plots") else []

    tables = []
    for bb, rows in (data.get("metrics") or {}).items():
        parts = [[p.strip() for p in str(m.get("note") or "").split(";") if p.strip()] for m in rows]
        common = [p for p in (parts[0] if parts else []) if len(parts) > 1 and all(p in q for q in parts)]
        tables.append({
            "backbone": bb,
            "rows": [{"m": m, "note": "; ".join(p for p in q if p not in common)} for m, q in zip(rows, parts)],
            "common_notes": common,
            "names": [m.get("name") for m in rows],
        })

    tpl = env.get_template("report.html.j2")
    return tpl.render(
        r=data,
        tables=tables,
        thumbs=thumbnails,
        slice_plots=slice_plots,
        hist_png=hist_png,
        colour_png=colour_png,
        audit_plots=audit_plots,
    )


def write_report(data: Mapping[str, Any], out_dir: str | Path, thumbnails: Mapping[str, str] | None = None
                 ) -> tuple[Path, Path]:
    """Write ``out_dir/report.json`` and ``out_dir/report.html``; returns both paths.

    Raises :class:`simgen.errors.OutputError` when ``out_dir`` cannot be created or written.
    """
    out = Path(out_dir)
    clean = to_jsonable(data, lenient=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
        jpath, hpath = out / "report.json", out / "report.html"
        atomic_write_bytes(jpath, json.dumps(clean, indent=2, allow_nan=False).encode("utf-8"))
        atomic_write_bytes(hpath, render_html(clean, thumbnails).encode("utf-8"))
    except (FileExistsError, NotADirectoryError, PermissionError, IsADirectoryError) as exc:
        raise OutputError(f"cannot write the report to {out}: {exc.strerror or exc}") from exc
    return jpath, hpath
