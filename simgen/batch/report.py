"""The run report: ``OUT/batch_report.json`` (the last run; earlier runs in ``OUT/.batch/runs/``) and the
"Batch run" section of ``OUT/index.html`` (:func:`html_section`, called by :func:`simgen.io.gallery.write_index`).

Report fields: backend, started / finished (UTC ISO), seconds, exit_code, counts (jobs, done, skipped, failed,
frames), frames_per_second, workers (slot, gpu, threads, processes started, jobs), jobs (one row per job: job,
sequence, status done | skipped | failed, seconds, device, attempts, retries, worker, frames, rss_mb,
errors of failed attempts, stage seconds) and failures (job,
sequence, attempts, error, log_tail).
"""

from __future__ import annotations

import datetime
import html
import json
from pathlib import Path

from simgen.io.atomic import atomic_write_text

REPORT = "batch_report.json"


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_report(out: Path, report: dict) -> Path:
    out = Path(out)
    text = json.dumps(report, indent=1, sort_keys=False, default=str) + "\n"
    runs = out / ".batch" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = str(report.get("started", utc_now())).replace(":", "").replace("+0000", "Z")
    atomic_write_text(runs / f"{stamp}.json", text)
    path = out / REPORT
    atomic_write_text(path, text)
    return path


def read_report(out: Path) -> dict | None:
    try:
        return json.loads((Path(out) / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def html_section(out: Path, max_rows: int = 500) -> str:
    """The index page's "Batch run" section ('' when the dataset has no batch report)."""
    rep = read_report(out)
    if not isinstance(rep, dict):
        return ""
    e = html.escape
    c = rep.get("counts", {})
    head = (f"<div class='card'><h2>Batch run ({e(str(rep.get('backend', '?')))})</h2>"
            f"<div class='sub'>{e(str(rep.get('started', '')))} – {e(str(rep.get('finished', '')))}: "
            f"{c.get('done', 0)} job(s) rendered, {c.get('skipped', 0)} already complete, "
            f"<b>{c.get('failed', 0)} failed</b> of {c.get('jobs', 0)}; {c.get('frames', 0)} frame(s) in "
            f"{rep.get('seconds', 0):.0f} s ({rep.get('frames_per_second', 0):.2f} frames/s); exit code "
            f"{rep.get('exit_code')} · <code>{REPORT}</code></div>")
    fails = "".join(f"<tr><td>{e(f['sequence'])}</td><td>{e(f['job'])}</td><td>{f.get('attempts')}</td>"
                    f"<td>{e(str(f.get('error', '')))}</td></tr>" for f in rep.get("failures", []))
    if fails:
        fails = ("<h3>Failures</h3><table><tr><td class='k'>sequence</td><td class='k'>job</td>"
                 f"<td class='k'>attempts</td><td class='k'>error</td></tr>{fails}</table>")
    jobs = rep.get("jobs", [])
    rows = "".join(f"<tr><td>{e(j['sequence'])}</td><td>{e(j['status'])}</td><td>{j.get('frames', 0)}</td>"
                   f"<td>{(j.get('seconds') or 0):.1f}</td><td>{j.get('attempts', 0)}</td>"
                   f"<td>{e(str(j.get('worker') or ''))}</td><td>{e(str(j.get('device') or ''))}</td></tr>"
                   for j in jobs[:max_rows])
    more = f"<p>… and {len(jobs) - max_rows} more (see {REPORT})</p>" if len(jobs) > max_rows else ""
    table = ("<table><tr><td class='k'>sequence</td><td class='k'>status</td><td class='k'>frames</td>"
             "<td class='k'>seconds</td><td class='k'>attempts</td><td class='k'>worker</td>"
             f"<td class='k'>device</td></tr>{rows}</table>{more}")
    return head + fails + table + "</div>"
