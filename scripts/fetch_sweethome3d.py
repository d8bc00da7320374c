"""Install the Sweet Home 3D furniture pack (Debian ``sweethome3d-furniture`` 1.8-1) for simgen's asset catalog.

Usage: python scripts/fetch_sweethome3d.py [--deb FILE] [--all] [--force]

Gets the .deb (``--deb``, else ``$SIMGEN_DATA_DIR/downloads`` when it holds it, else ``apt-get download``, which
needs no root), and unpacks from its five ``.sh3f`` libraries (zip files) only the model folders that
``assets/catalog.yaml`` uses, plus each library's ``PluginFurnitureCatalog.properties`` and license files, into
``data_dir("sweethome3d")/<library>/``. ``--all`` unpacks every model (about 380 MB instead of about 45 MB).
Idempotent: a stamp file records what was unpacked; a second run with the same catalog does nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simgen.paths import data_dir  # noqa: E402

PACKAGE = "sweethome3d-furniture"
VERSION = "1.8-1"
DEB_NAME = f"{PACKAGE}_{VERSION}_all.deb"
LIBS_IN_DEB = "usr/share/sweethome3d/furniture"
#: models outside the catalog that the tests use as a "user asset" (added through a user catalog)
EXTRA = ["KatorLegaz/katorlegaz/classic-lamppost"]


def wanted_dirs(catalog: Path) -> list[str]:
    """'<library>/<model folder>' of every sweethome3d asset in the catalog, plus :data:`EXTRA`."""
    data = yaml.safe_load(catalog.read_text())
    out = set(EXTRA)
    for a in data.get("assets", []):
        if a.get("pack") == "sweethome3d" and a.get("source"):
            out.add(str(Path(a["source"]).parent))
    return sorted(out)


def get_deb(deb: str | None) -> Path:
    if deb:
        p = Path(deb)
        if not p.is_file():
            sys.exit(f"error: {p} not found")
        return p
    downloads = data_dir("downloads")
    p = downloads / DEB_NAME
    if p.is_file():
        return p
    downloads.mkdir(parents=True, exist_ok=True)
    print(f"[sweethome3d] apt-get download {PACKAGE}={VERSION} (120 MB)")
    r = subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=downloads, capture_output=True, text=True)
    if r.returncode != 0 or not p.is_file():
        sys.exit(f"error: apt-get download {PACKAGE} failed: {r.stderr.strip()[-400:]}")
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deb", help="the .deb file (default: download it)")
    ap.add_argument("--all", action="store_true", help="unpack every model, not only the catalog's")
    ap.add_argument("--force", action="store_true", help="unpack again")
    args = ap.parse_args(argv)
    dest = data_dir("sweethome3d")
    dirs = None if args.all else wanted_dirs(ROOT / "assets" / "catalog.yaml")
    want = hashlib.sha1(json.dumps([VERSION, dirs]).encode()).hexdigest()[:16]
    stamp = dest / ".simgen-pack"
    if not args.force and stamp.is_file() and stamp.read_text().strip() in (want, "all"):
        print(f"[sweethome3d] already installed in {dest}")
        return 0
    deb = get_deb(args.deb)
    tmp = Path(tempfile.mkdtemp(prefix="sh3d-"))
    try:
        r = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"error: dpkg-deb -x {deb} failed: {r.stderr.strip()[-400:]}")
        libs = sorted((tmp / LIBS_IN_DEB).glob("*.sh3f"))
        if not libs:
            sys.exit(f"error: no .sh3f libraries in {deb}")
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        n = 0
        for lib in libs:
            name = lib.stem
            with zipfile.ZipFile(lib) as z:
                for info in z.infolist():
                    member = info.filename
                    top = "/" not in member.rstrip("/")
                    keep = top and (member.startswith("PluginFurnitureCatalog.properties") or "LICENSE" in member)
                    if not keep:
                        keep = dirs is None or any(f"{name}/{member}".startswith(d + "/") for d in dirs)
                    if keep and not info.is_dir():
                        z.extract(info, staging / name)
                        n += 1
        (staging / ".simgen-pack").write_text("all" if dirs is None else want)
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
        size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        print(f"[sweethome3d] unpacked {n} files ({size / 1e6:.0f} MB) into {dest}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
