"""Write assets/ATTRIBUTION.md: every third-party asset of the built-in catalog (author, title, license, source).

Usage: python scripts/make_attribution.py   (tests/world/test_catalog.py checks the committed file is current)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simgen.io.attribution import attribution_markdown  # noqa: E402
from simgen.world.catalog import BUILTIN_CATALOG, read_catalog_file  # noqa: E402

OUT = ROOT / "assets" / "ATTRIBUTION.md"


def text() -> str:
    cat = read_catalog_file(BUILTIN_CATALOG)
    recs = sorted((a.credit() for a in cat.assets if a.third_party), key=lambda r: r["id"])
    return attribution_markdown(recs, intro="Third-party 3D assets named by simgen's built-in catalog "
                                            "(assets/catalog.yaml). Each is used under the license named.")


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT}")
