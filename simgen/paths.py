"""Where simgen keeps heavy content that ``scripts/setup.sh`` fetches or bakes (asset packs, body bank, weights).

One root for all of it, ``data_dir()``: ``$SIMGEN_DATA_DIR`` when set, else ``~/.cache/simgen``. Sub-folders
by kind (``data_dir("sweethome3d")``, ``data_dir("bodies")``, ``data_dir("nanodet")``). Nothing here downloads;
callers that find a folder empty fall back (with a one-line warning) or raise a clear error naming the setup step.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "SIMGEN_DATA_DIR"


def data_dir(*parts: str) -> Path:
    """The data root (or a sub-path of it); not created."""
    root = os.environ.get(ENV_VAR)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "simgen"
    return base.joinpath(*parts)
