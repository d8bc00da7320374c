"""``simgen gap``: how far is a synthetic set from real images, and in which slices.

torch and the gap package are imported inside the command, so ``simgen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from simgen.cli import app


@app.command("gap")
def gap(
    synth: Path = typer.Argument(..., help="Synthetic images: a simgen dataset folder, a folder of images or videos."),
    real: Path = typer.Argument(..., help="Real images: a folder of images and/or videos (or one video file)."),
    out: Path = typer.Option(..., "--out", "-o", help="Report folder (report.json, report.html)."),
    backbone: list[str] = typer.Option(
        ["mobilenet_v2"], "--backbone", "-b",
        help="Feature backbone(s): inception, mobilenet_v2, efficientnet_lite0, lowlevel, checkpoint. "
             "Repeat the option or give a comma list; the first is the headline.",
    ),
    slice_by: str = typer.Option(
        "", "--slice-by", help="Comma list of manifest knobs/tags to slice the synthetic set by, e.g. "
                               "time_of_day,fog_density,tag (a sweep adds sweep.<path> knobs such as sweep.weather); "
                               "an unknown key is an error listing the keys present."
    ),
    max_images: int = typer.Option(None, "--max-images", min=1, help="At most this many images per side (seeded)."),
    seed: int = typer.Option(0, "--seed", help="Seed for subsampling, intervals and classifiers (0 is a seed)."),
    checkpoint: Path = typer.Option(
        None, "--checkpoint", help="TorchScript or state-dict file for --backbone checkpoint (added if missing)."
    ),
    reencode: str = typer.Option(None, "--reencode", help="Re-encode both sets identically first, e.g. jpeg:90."),
    cache: Path = typer.Option(None, "--cache", help="Feature cache folder (default: OUT/.cache)."),
    metrics: str = typer.Option(
        "", "--metrics", help="Comma list of metrics (default all): fd, kid, mmd, precision_recall, density_coverage, "
                              "classifier."
    ),
    reps: int = typer.Option(20, "--reps", min=2, help="Subsampling repetitions for intervals and baselines."),
    max_frames_per_video: int = typer.Option(None, "--max-frames-per-video", min=1, help="Frames decoded per video."),
    video_stride: int = typer.Option(1, "--video-stride", min=1, help="Decode every k-th video frame."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    objects: str = typer.Option(
        None, "--objects", help="Compare crops of one class group (people, vehicles; groups: in classes.yaml) "
                                "instead of whole frames. SYNTH must be a simgen dataset (its boxes are cropped)."
    ),
    real_boxes: Path = typer.Option(
        None, "--real-boxes", help="Boxes of the real objects for --objects: a COCO instances .json or a KITTI label "
                                   "folder (default: NanoDet-m detections)."
    ),
    min_box_px: float = typer.Option(30, "--min-box-px", min=1, help="Smallest object (box height, px) cropped."),
    match_size: bool = typer.Option(
        False, "--match-size", help="With --objects: resample each real crop down to a synthetic crop's pixel height "
                                    "(drawn from them), so the gap measures looks, not object size."
    ),
    probe: bool = typer.Option(
        False, "--probe", help="Also run the detector probe: NanoDet-m recall of our labelled people/vehicles by size."
    ),
    det_score: float = typer.Option(0.3, "--det-score", min=0.0, max=1.0, help="Detector score threshold."),
    group_by: str = typer.Option(
        "auto", "--group-by", help="How images of a folder form groups (kept on one side of every split): auto "
        "(sub-folder, else file name without its frame number), subfolder, pattern, pattern:REGEX (first capture "
        "group in the relative path) or runs (runs of consecutive frame numbers, in blocks of 50)."),
    max_bad: str = typer.Option(
        "5%", "--max-bad", help="Unreadable or tiny images are skipped and listed; fail when more than this many "
        "(a count, or a percentage of a side) are bad."),
) -> None:
    """Compare SYNTH with REAL: metrics with intervals against a real-vs-real baseline, slices, audit, report."""
    from simgen.errors import UsageError
    from simgen.gap.data import GapDataError, parse_group_by, parse_max_bad
    from simgen.gap.run import run_gap

    try:  # option values: usage errors (exit 2), before anything is read
        parse_group_by(group_by)
        parse_max_bad(max_bad, 100)
    except GapDataError as err:
        raise UsageError(str(err)) from None

    if checkpoint is not None and "checkpoint" not in ",".join(backbone):
        backbone = [*backbone, "checkpoint"]
    if objects or probe or real_boxes is not None:
        from simgen.gap.objects import run_gap_with_objects

        # crops are grouped by their source sequence/video block (sub-folders), so --group-by applies to frames only
        extra = {} if objects else {"group_by": group_by}
        report = run_gap_with_objects(
            synth, real, out, objects=objects, probe=probe, real_boxes=real_boxes, min_box_px=min_box_px,
            match_size=match_size,
            score_threshold=det_score, backbones=backbone, slice_by=slice_by or None,
            max_images=max_images, seed=seed, checkpoint=checkpoint, reencode=reencode, cache_dir=cache, reps=reps,
            metrics=metrics or None,
            max_frames_per_video=max_frames_per_video, video_stride=video_stride, progress=not quiet,
            max_bad=max_bad, **extra,
        )
    else:
        report = run_gap(
            synth, real, out, backbone, slice_by or None,
            max_images=max_images, seed=seed, checkpoint=checkpoint, reencode=reencode, cache_dir=cache, reps=reps,
            metrics=metrics or None,
            max_frames_per_video=max_frames_per_video, video_stride=video_stride, progress=not quiet,
            group_by=group_by, max_bad=max_bad,
        )
    s = report.data["summary"]
    ratio = s["ratio"]
    typer.echo(
        f"{s['backbone']} {s['metric']}: gap ratio {ratio:.3g} — {s['verdict']}" if ratio is not None
        else f"{s['backbone']}: {s['verdict']}"
    )
    if s.get("furthest_slice"):
        f = s["furthest_slice"]
        typer.echo(f"furthest slice: {f['label']} (ratio {f['ratio']:.3g}, n = {f['n']})")
    if report.data.get("probe"):
        from simgen.gap.probe import format_probe

        typer.echo(format_probe(report.data["probe"]))
    typer.echo(f"report: {report.html_path}")


@app.command("probe")
def probe_cmd(
    dataset: Path = typer.Argument(..., help="A simgen dataset folder (manifest.jsonl + per-frame meta)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write probe.json here (and cache detections)."),
    groups: str = typer.Option("people,vehicles", "--groups", help="Comma list of class groups."),
    det_score: float = typer.Option(0.3, "--det-score", min=0.0, max=1.0, help="Detector score threshold."),
    iou: float = typer.Option(0.5, "--iou", min=0.05, max=1.0, help="IoU for a detection to find a labelled box."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap intervals."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Detector probe: how many of our labelled people/vehicles a detector trained on real photos finds, by size."""
    import json

    from simgen.gap.probe import format_probe, run_probe

    names = [g.strip() for g in groups.split(",") if g.strip()]
    res = run_probe(dataset, names, score_threshold=det_score, iou=iou, seed=seed,
                    cache=(out / ".cache" / "detections.json") if out else None, progress=not quiet)
    typer.echo(format_probe(res))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "probe.json").write_text(json.dumps(res, indent=1), encoding="utf-8")
        typer.echo(f"wrote {out / 'probe.json'}")
