#!/usr/bin/env python
"""Realism measurements of simgen's content against real street video, in one table.

Renders (or takes, with --dataset) a busy 640x480 street (scenes/realism_street.yaml, several independent draws
via --variant) and compares it with the real frames of vtest.avi (Debian opencv-doc), using the project's own
validator (simgen.gap) with its default backbone:

* people crops vs real people crops (real boxes from NanoDet-m on the video frames);
* vehicle crops vs real vehicle crops (the same, vehicles; vtest.avi shows only a few parked vehicles, so this row
  has little real diversity: give --real-vehicles with more real street images/video when you have them);
* whole frames vs the real frames;
* the detector probe: NanoDet-m's recall of our labelled people and vehicles by size.

Prints one table (coverage, domain-classifier AUC, KID ratio, FD ratio, the headline metric; probe recall of
objects >= 20 px) and writes OUT/summary.json, OUT/summary.md and one gap report per row under OUT/.

    nice python scripts/measure_realism.py --out out/realism                 # render 5 draws x 3 frames, 16 spp
    nice python scripts/measure_realism.py --dataset out/realism/dataset     # re-measure an existing dataset
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def render(scene: Path, out: Path, variants: int, frames: int, width: int, height: int, samples: int,
           threads: int) -> Path:
    """Render ``variants`` independent draws of ``scene`` (``frames`` each) into the dataset ``out``; draws
    already in the dataset (same scene and variant in its manifest) are kept, so a run can be extended."""
    import yaml

    from simgen.pipeline import render_scene
    from simgen.spec import default_render_config

    doc = yaml.safe_load(scene.read_text(encoding="utf-8"))
    if isinstance(doc.get("scene"), str):  # a sweep file: its scene is a path relative to it
        doc = yaml.safe_load((scene.parent / doc["scene"]).read_text(encoding="utf-8"))
    name = (doc.get("scene") or {}).get("name")
    have = set()
    if (out / "manifest.jsonl").is_file():
        for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                have.add((row.get("scene"), row.get("variant")))

    cfg = default_render_config().model_copy(update={
        "width": width, "height": height, "samples": samples, "threads": threads,
        "passes": ["rgb", "depth", "semantic", "instance"],
    })
    for v in range(variants):
        if (name, v) in have:
            print(f"variant {v} is already in {out}", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        s = render_scene(scene, out, cfg=cfg, seed=0, variant=v, frames=frames)
        print(f"rendered variant {v}: {s.frames} frame(s) in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def _metric(rep, name: str) -> dict:
    try:
        return rep.metric(name)
    except KeyError:
        return {}


def row_of(label: str, rep) -> dict:
    """The table row of one gap report."""
    s = rep.data["summary"]
    cov, auc, kid, fd = (_metric(rep, k) for k in ("coverage", "classifier_auc", "kid", "fd"))
    return {
        "comparison": label,
        "n_synth": rep.data["inputs"]["synth"]["n_used"],
        "n_real": rep.data["inputs"]["real"]["n_used"],
        "n_per_side": fd.get("n_synth"),
        "coverage": cov.get("value"),
        "coverage_real_vs_real": cov.get("baseline"),
        "classifier_auc": auc.get("value"),
        "classifier_auc_real_vs_real": auc.get("baseline"),
        "kid_ratio": kid.get("ratio"),
        "fd_ratio": fd.get("ratio"),
        "headline_metric": s.get("metric"),
        "verdict": s.get("verdict"),
        "report": str(rep.html_path) if rep.html_path else None,
    }


def split_real_crops(people_out: Path, dest: Path) -> list[tuple[str, Path, Path]]:
    """Two spatial splits of the real people crops written by the people run (``people_out/crops/real.jsonl``):
    people left vs right of the median box centre, and far (above the median) vs near. Each
    side is a folder of links keeping the crops' groups (video blocks). Returns (label, side A, side B)."""
    rows = [json.loads(line) for line in (people_out / "crops" / "real.jsonl").read_text().splitlines() if line]
    if not rows:
        return []
    xs = sorted((r["box"][0] + r["box"][2]) / 2 for r in rows)
    ys = sorted((r["box"][1] + r["box"][3]) / 2 for r in rows)
    splits = [("real people: left vs right (box centre left / right of the median)",
               lambda r: (r["box"][0] + r["box"][2]) / 2 < xs[len(xs) // 2]),
              ("real people: far vs near (box centre above / below the median)",
               lambda r: (r["box"][1] + r["box"][3]) / 2 < ys[len(ys) // 2])]
    out = []
    for k, (label, first) in enumerate(splits):
        sides = (dest / f"split{k}" / "a", dest / f"split{k}" / "b")
        for r in rows:
            src = people_out / "crops" / "real" / r["crop"]
            link = sides[0 if first(r) else 1] / r["crop"]
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(src.resolve())
        out.append((label, *sides))
    return out


def fmt(x) -> str:
    """Numbers for the table: 3 decimals below 10, 1 below 100, none above; "-" for missing."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}" if abs(x) < 100 else f"{x:.0f}"
    return str(x)


def table(rows: list[dict], probe: dict | None) -> str:
    head = ["comparison", "N synth", "N real", "N/side", "coverage (real-real)", "classifier AUC (real-real)",
            "KID ratio", "FD ratio", "headline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['comparison']} | not computed: {r['error']} |")
            continue
        lines.append("| " + " | ".join([
            r["comparison"], fmt(r["n_synth"]), fmt(r["n_real"]), fmt(r["n_per_side"]),
            f"{fmt(r['coverage'])} ({fmt(r['coverage_real_vs_real'])})",
            f"{fmt(r['classifier_auc'])} ({fmt(r['classifier_auc_real_vs_real'])})",
            fmt(r["kid_ratio"]), fmt(r["fd_ratio"]), str(r["headline_metric"]),
        ]) + " |")
    if probe:
        for g, block in probe["groups"].items():
            a = block["all"]
            lines.append(f"\ndetector probe, {g} {a['label']}: recall {fmt(a['recall'])} "
                         f"[{fmt(a['ci_low'])}, {fmt(a['ci_high'])}] ({a['found']}/{a['n']}); by size: " + ", ".join(
                             f"{b['label']} {fmt(b['recall'])} ({b['found']}/{b['n']})" for b in block["bins"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/realism"), help="Output folder.")
    ap.add_argument("--dataset", type=Path, help="Measure this simgen dataset instead of rendering one.")
    ap.add_argument("--scene", type=Path, default=ROOT / "scenes" / "realism_street.yaml")
    ap.add_argument("--variants", type=int, default=5,
                    help="Independent draws of the scene (one sequence each; draws already rendered are kept).")
    ap.add_argument("--frames", type=int, default=3, help="Frames per draw.")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--samples", type=int, default=16, help="Path-tracing samples per pixel.")
    ap.add_argument("--threads", type=int, default=0, help="Render threads (0 = all cores).")
    ap.add_argument("--real", type=Path, default=VTEST, help="Real street video/images (default vtest.avi).")
    ap.add_argument("--real-vehicles", type=Path, help="Real images/video for the vehicle crops (default --real).")
    ap.add_argument("--frame-stride", type=int, default=8, help="Every k-th real video frame for whole frames.")
    ap.add_argument("--crop-stride", type=int, default=16,
                    help="Every k-th real video frame for object crops (few frames per 50-frame group keep the "
                         "subsamples spread over several groups).")
    ap.add_argument("--min-box-px", type=float, default=30, help="Smallest object cropped (box height, px).")
    ap.add_argument("--det-score", type=float, default=0.3,
                    help="Detector score from which a real detection is cropped (simgen gap's default 0.3; higher "
                         "keeps fewer false alarms, e.g. sign posts taken for people, in the real reference).")
    ap.add_argument("--match-size", action=argparse.BooleanOptionalAction, default=True,
                    help="Resample real crops down to the synthetic crops' pixel heights (default on), so the crop "
                         "comparison measures looks, not object size.")
    ap.add_argument("--site-check", action=argparse.BooleanOptionalAction, default=True,
                    help="Also compare real people crops of one half of the frame with the other (left / right, "
                         "far / near): what another place in the same real video scores.")
    ap.add_argument("--backbone", default="mobilenet_v2", help="Feature backbone (the project's default).")
    ap.add_argument("--reps", type=int, default=20, help="Subsampling repetitions for intervals and baselines.")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from simgen.errors import SimgenError
    from simgen.gap.objects import run_gap_with_objects

    if not args.real.exists():
        print(f"real input {args.real} is missing (Debian package opencv-doc ships vtest.avi)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        ds = args.dataset or render(args.scene, args.out / "dataset", args.variants, args.frames, args.width,
                                    args.height, args.samples, args.threads)
    except SimgenError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    common = dict(backbones=[args.backbone], reps=args.reps, seed=args.seed, progress=True)
    t0 = time.perf_counter()
    runs = [
        ("people crops", dict(real=args.real, out=args.out / "people", objects="people", probe=True,
                              min_box_px=args.min_box_px, video_stride=args.crop_stride, match_size=args.match_size,
                              score_threshold=args.det_score)),
        ("vehicle crops", dict(real=args.real_vehicles or args.real, out=args.out / "vehicles", objects="vehicles",
                               min_box_px=args.min_box_px, video_stride=args.crop_stride,
                               match_size=args.match_size, score_threshold=args.det_score)),
        ("whole frames", dict(real=args.real, out=args.out / "frames", video_stride=args.frame_stride)),
    ]
    rows: list[dict] = []
    reports = {}
    for label, kw in runs:
        try:
            reports[label] = rep = run_gap_with_objects(ds, kw.pop("real"), kw.pop("out"), **kw, **common)
            rows.append(row_of(label, rep))
        except SimgenError as err:  # one comparison failing must not hide the others
            print(f"error in {label}: {err}", file=sys.stderr)
            rows.append({"comparison": label, "error": str(err), **{k: None for k in (
                "n_synth", "n_real", "n_per_side", "coverage", "coverage_real_vs_real", "classifier_auc",
                "classifier_auc_real_vs_real", "kid_ratio", "fd_ratio", "headline_metric")}})
    # what "another place in the same real video" scores: the metrics between two spatial halves of the real
    # people crops (each half's own real-vs-real baseline), a reference for the people row above
    if "people crops" in reports and args.site_check:
        for label, a, b in split_real_crops(args.out / "people", args.out / "site_check"):
            try:
                rep = run_gap_with_objects(a, b, a.parent / "report", **common)
                rows.append(row_of(label, rep))
            except SimgenError as err:
                print(f"error in {label}: {err}", file=sys.stderr)
    probe = reports["people crops"].data.get("probe") if "people crops" in reports else None
    text = table(rows, probe)
    summary = {
        "dataset": str(ds), "real": str(args.real), "backbone": args.backbone, "rows": rows,
        "objects": {k: reports[lab].data["objects"] for k, lab in (("people", "people crops"),
                                                                     ("vehicles", "vehicle crops")) if lab in reports},
        "probe": probe, "seconds": time.perf_counter() - t0,
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    (args.out / "summary.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nreports: {args.out}/{{people,vehicles,frames}}/report.html; summary: {args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
