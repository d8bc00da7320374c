"""Attribution of third-party assets: every dataset lists the meshes made by others that appear in it.

Each sequence folder holds ``attribution.json``: the credits of the assets its world uses (a list of records
``{id, class, title, author, license, url, pack}``, see :meth:`simgen.world.catalog.AssetEntry.credit`). The
dataset root holds ``ATTRIBUTION.md`` (for people) and ``ATTRIBUTION.json`` (for tools): every asset used by any
sequence, once, with the sequences that use it. Both are rewritten from the sequence files after each sequence is
committed, atomically, so they always match the sequences present.
"""

from __future__ import annotations

import json
from pathlib import Path

from simgen.io.atomic import atomic_write_text

SEQUENCE_FILE = "attribution.json"
ROOT_MD = "ATTRIBUTION.md"
ROOT_JSON = "ATTRIBUTION.json"
_FIELDS = ("id", "class", "title", "author", "license", "url", "pack")


def write_sequence_credits(seq_dir: Path, credits: list[dict]) -> Path:
    """Write ``<seq_dir>/attribution.json`` (the records sorted by id). Returns its path."""
    recs = sorted(({k: c.get(k) for k in _FIELDS} for c in credits), key=lambda c: str(c["id"]))
    path = Path(seq_dir) / SEQUENCE_FILE
    atomic_write_text(path, json.dumps(recs, indent=1, ensure_ascii=False) + "\n")
    return path


def collect(root: Path) -> list[dict]:
    """Every asset credited by a sequence under ``root`` (``<scene>/<variant>/attribution.json``), once, with
    ``sequences``: the ``scene/variant`` folders that use it; sorted by id."""
    by_id: dict[str, dict] = {}
    for f in sorted(Path(root).glob(f"*/*/{SEQUENCE_FILE}")):
        seq = f"{f.parent.parent.name}/{f.parent.name}"
        for c in json.loads(f.read_text(encoding="utf-8")):
            rec = by_id.setdefault(c["id"], {**{k: c.get(k) for k in _FIELDS}, "sequences": []})
            rec["sequences"].append(seq)
    return [by_id[k] for k in sorted(by_id)]


DATASET_INTRO = ("Third-party 3D assets that appear in this dataset. Each is used under the license named; the "
                 "sequences that contain it are listed in ATTRIBUTION.json.")


def attribution_markdown(records: list[dict], intro: str = DATASET_INTRO) -> str:
    """A Markdown table of attribution records (id, class, title, author, license, url, pack)."""
    return _md(records, intro)


def _md(records: list[dict], intro: str = DATASET_INTRO) -> str:
    lines = ["# Attribution", "", intro, ""]
    if not records:
        lines.append("This dataset contains no third-party assets (all objects are procedural).")
        return "\n".join(lines) + "\n"
    lines += ["| asset | class | title | author | license | source |", "|---|---|---|---|---|---|"]
    for r in records:
        cells = [f"`{r['id']}`", r["class"] or "", r["title"] or "", r["author"] or "", r["license"] or "",
                 r["url"] or (r["pack"] or "")]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    packs = sorted({r["pack"] for r in records if r.get("pack")})
    if packs:
        lines += ["", "Packs: " + ", ".join(packs) + " (installed by scripts/setup.sh; see assets/catalog.yaml)."]
    return "\n".join(lines) + "\n"


def write_attribution(root: Path) -> list[dict]:
    """Rewrite ``ATTRIBUTION.md`` and ``ATTRIBUTION.json`` at the dataset ``root`` from its sequences' credits.
    Returns the records written."""
    records = collect(root)
    root = Path(root)
    atomic_write_text(root / ROOT_JSON, json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(root / ROOT_MD, _md(records))
    return records


__all__ = ["write_sequence_credits", "write_attribution", "attribution_markdown", "collect", "SEQUENCE_FILE", "ROOT_MD", "ROOT_JSON"]
