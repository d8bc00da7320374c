"""Audit of a synthetic simgen dataset: patterns a model could latch onto, from labels and pixels alone.

:func:`audit_dataset` reads a dataset in the native layout (``manifest.jsonl`` + per-frame ``meta`` JSON, ``rgb``
and ``instance`` PNGs; see the on-disk contract in README) and measures

* **class balance** — visible objects per class, normalised entropy, imbalance ratio (largest / smallest class);
* **per class** — bbox height (pixels), image position of bbox centres (2-D histogram, x right / y down, in
  fractions of the image), mean colour of the instance's visible pixels (sRGB mean, then HSV and CIE Lab),
  distance from the camera centre to the 3-D box centre (metres);
* **background diversity** — colour histograms of the pixels with no instance (instance id 0), how many distinct
  background "looks" there are, and how many scenes / variants the manifest names;
* **over-consistent attributes** — low normalised entropy of an attribute within a class (every pedestrian in one
  colour, one size, one place), and colour that almost determines the class (a cross-validated shallow tree
  telling class c from the other classes by mean Lab colour alone);
* **edge-case tags** — share of frames carrying each tag of the manifest rows;
* **reflections** (when the dataset has reflection labels) — share of frames that show a person in a reflection,
  their size and strength (share of light reflected), and frames tagged ``pedestrian_reflection`` in which no
  reflected person is visible at all (the edge case the scene promises is not in the picture);
* **near-duplicate frames** — 64-bit DCT perceptual hashes, Hamming distance at most a threshold.

:func:`nearest_real_neighbours` separately flags synthetic images whose features lie closer to a real image than
real images of different groups lie to each other (a low quantile of that distribution) — a sign of copied or
traced real content.

All results are JSON-serialisable through :meth:`AuditResult.to_json`; ``plots`` holds plain numbers the report
draws (label → number maps as bars, 2-D lists as heatmaps).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from simgen.errors import SimgenError
from simgen.jsonable import to_jsonable

__all__ = [
    "AuditError",
    "AuditConfig",
    "Finding",
    "AuditResult",
    "NearestRealResult",
    "audit_dataset",
    "nearest_real_neighbours",
    "colour_category",
    "COLOUR_CATEGORIES",
    "perceptual_hash",
    "hamming_pairs",
    "normalised_entropy",
]

SEVERITIES = ("info", "warn", "flag")

#: at most this many near-duplicate pairs are listed in the result (all are counted)
MAX_DUPLICATE_PAIRS = 1000

#: Coarse colour names used for colour entropy: 12 hue sectors of 30° for chromatic colours, then 3 achromatic.
COLOUR_CATEGORIES = (
    "red", "orange", "yellow", "chartreuse", "green", "spring", "cyan", "azure", "blue", "violet", "magenta", "rose",
    "black", "grey", "white",
)  # fmt: skip


class AuditError(SimgenError):
    """The dataset cannot be read as a simgen dataset (missing manifest, broken row, missing file)."""


@dataclass
class AuditConfig:
    """Thresholds of the audit (defaults are deliberately conservative: flags should be worth reading)."""

    #: minimum visible objects of a class before its attribute distributions are judged
    min_objects: int = 10
    #: objects with fewer visible pixels are counted but not used for colour
    min_colour_pixels: int = 20
    #: histogram bins for scalar attributes (size, distance, lightness...) and for the position grid (per axis)
    bins: int = 8
    #: normalised entropy below ``entropy_flag`` -> flag, below ``entropy_warn`` -> warn
    entropy_flag: float = 0.2
    entropy_warn: float = 0.4
    #: largest/smallest class count at or above these -> warn / flag
    imbalance_warn: float = 10.0
    imbalance_flag: float = 50.0
    #: one-vs-rest balanced accuracy of class-from-colour at or above these -> warn / flag
    colour_predicts_warn: float = 0.85
    colour_predicts_flag: float = 0.95
    #: a class whose own colour entropy is at least this is "varied": if colour still separates it, the cause is
    #: the other classes, so it gets a warning (the colour-consistent classes get the flag)
    colour_varied_entropy: float = 0.6
    #: classes whose colour should vary in real data (clothing, paint); colour checks apply to these only
    varied_colour_classes: tuple[str, ...] = (
        "pedestrian", "child", "cyclist", "car", "truck", "bus", "van", "bicycle", "motorcycle",
    )  # fmt: skip
    #: a tag on more than this share of frames -> warn ("rare cases everywhere")
    tag_share_warn: float = 0.5
    #: tags that should occur; absent ones -> warn ("rare cases nowhere")
    expected_tags: tuple[str, ...] = ()
    #: two frames with perceptual-hash Hamming distance <= this (of 64 bits) are near-duplicates
    duplicate_hamming: int = 4
    #: backgrounds whose colour histograms differ by less than this total-variation distance look the same
    background_tv: float = 0.15
    #: at most this many frames are read (None = all), spread evenly over the manifest
    max_frames: int | None = None


@dataclass
class Finding:
    """One audit statement: ``severity`` is ``info``, ``warn`` or ``flag`` (act on it); ``numbers`` backs it up."""

    severity: str
    code: str
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")


@dataclass
class AuditResult:
    """Everything the audit found. ``to_json()`` gives strict JSON (NaN -> null).

    ``class_balance``: ``counts`` (class -> visible objects), ``frames_with`` (class -> frames), ``entropy``
    (normalised, 0..1), ``imbalance_ratio``. ``per_class``: class -> summary numbers per attribute (count, mean,
    quantiles, normalised entropy) and histograms. ``background``: per-dataset diversity numbers. ``tags``: tag ->
    share of frames. ``near_duplicates``: list of ``{"a": sample_id, "b": sample_id, "hamming": int,
    "same_sequence": bool}`` (at most :data:`MAX_DUPLICATE_PAIRS`; ``near_duplicate_pairs`` counts them all).
    ``plots``: ready-to-draw data: ``{"class counts": {cls: n}, "position heatmap
    <cls>": 2-D list (rows = image y bins top-down, cols = x bins), "bbox height px <cls>": {bin: n},
    "colour <cls>": {colour name: n}, "tag share": {tag: share}, ...}``.
    """

    root: str
    n_frames: int
    n_objects: int
    findings: list[Finding] = field(default_factory=list)
    class_balance: dict[str, Any] = field(default_factory=dict)
    per_class: dict[str, Any] = field(default_factory=dict)
    background: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, float] = field(default_factory=dict)
    reflections: dict[str, Any] = field(default_factory=dict)
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)
    near_duplicate_pairs: int = 0
    plots: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def by_severity(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    @property
    def flags(self) -> list[Finding]:
        return self.by_severity("flag")

    def to_json(self) -> dict[str, Any]:
        return to_jsonable(asdict(self))


# --------------------------------------------------------------------------------------------------- small tools


def normalised_entropy(counts: Sequence[float] | np.ndarray, n_categories: int | None = None) -> float:
    """Shannon entropy of a histogram divided by its maximum ``log(min(n_categories, total count))``.

    0 = everything in one bin, 1 = as spread as the number of samples and bins allows. ``n_categories``
    defaults to ``len(counts)``. Returns NaN for fewer than 2 samples or fewer than 2 categories.
    """
    c = np.asarray(counts, dtype=np.float64).reshape(-1)
    total = c.sum()
    k = len(c) if n_categories is None else n_categories
    cap = min(k, total)
    if total < 2 or cap < 2:
        return float("nan")
    p = c[c > 0] / total
    return max(0.0, float(-(p * np.log(p)).sum() / math.log(cap)))


def colour_category(rgb: np.ndarray) -> np.ndarray:
    """Coarse colour name index (into :data:`COLOUR_CATEGORIES`) for sRGB colours ``(N, 3)`` in [0, 255].

    Colours with HSV saturation < 0.25 or value < 0.2 are achromatic: black (value < 0.2), grey, white
    (value > 0.8 and saturation < 0.25); others fall into 12 hue sectors of 30° centred on 0° (red), 30°, ...
    """
    hsv = rgb_to_hsv(rgb)
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    idx = (np.floor(((h + 15.0) % 360.0) / 30.0)).astype(np.int64)
    achrom = (s < 0.25) | (v < 0.2)
    idx = np.where(achrom & (v < 0.2), 12, idx)
    idx = np.where(achrom & (v >= 0.2) & (v <= 0.8), 13, idx)
    idx = np.where(achrom & (v > 0.8), 14, idx)
    return idx


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``(N, 3)`` in [0, 255] -> HSV ``(N, 3)`` float64: hue in degrees [0, 360), saturation, value in [0, 1]."""
    x = np.asarray(rgb, dtype=np.float32).reshape(1, -1, 3) / 255.0
    hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float64)
    return hsv


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``(N, 3)`` in [0, 255] -> CIE Lab ``(N, 3)`` float64 (D65; L in [0, 100])."""
    x = np.asarray(rgb, dtype=np.float32).reshape(1, -1, 3) / 255.0
    return cv2.cvtColor(x, cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float64)


def perceptual_hash(rgb: np.ndarray) -> np.ndarray:
    """64-bit DCT perceptual hash of an image ``(H, W, 3)`` or ``(H, W)`` uint8: ``(64,)`` bool.

    Grey image resized (area) to 32×32, 2-D DCT, the 8×8 lowest frequencies without the DC term are compared with
    their median. Robust to small noise, compression and exposure changes; different content differs in ~32 bits.
    """
    img = np.asarray(rgb)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    small = cv2.resize(grey.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA)
    coef = cv2.dct(small)[:8, :8].reshape(-1)
    low = coef[1:]
    med = np.median(low)
    bits = np.zeros(64, dtype=bool)
    bits[1:] = low > med
    # bit 0 (DC) carries no structure; keep it from the mean brightness so flat images still hash distinctly
    bits[0] = coef[0] > 32 * 32 * 127.5 / 32.0
    return bits


def hamming_pairs(
    hashes: np.ndarray, max_distance: int, max_pairs: int = 100_000
) -> tuple[list[tuple[int, int, int]], int]:
    """Pairs ``(i, j, distance)``, ``i < j``, of boolean hashes ``(N, B)`` differing in <= ``max_distance`` bits.

    Returns ``(pairs, total)``: at most ``max_pairs`` pairs (in row order) and the total number of such pairs.
    Memory stays O(N) per row chunk whatever N is.
    """
    h = np.asarray(hashes, dtype=np.float32) * 2.0 - 1.0  # ±1
    n, b = h.shape
    out: list[tuple[int, int, int]] = []
    total = 0
    step = max(1, (1 << 22) // max(1, n))
    for s in range(0, n, step):
        dots = h[s : s + step] @ h.T  # = b - 2 * hamming
        ham = np.rint((b - dots) / 2.0).astype(np.int64)
        ii, jj = np.nonzero(ham <= max_distance)
        upper = ii + s < jj
        ii, jj = ii[upper], jj[upper]
        total += len(ii)
        for i, j in zip(ii, jj):
            if len(out) >= max_pairs:
                break
            out.append((int(i + s), int(j), int(ham[i, j])))
    return out, total


# --------------------------------------------------------------------------------------------------- reading


def _read_manifest(root: Path) -> list[tuple[int, dict[str, Any]]]:
    path = root / "manifest.jsonl"
    if not path.is_file():
        raise AuditError(f"{path}: no manifest.jsonl here; is {root} a simgen dataset?")
    from simgen.io.dataset import DatasetError, iter_manifest

    rows = []
    try:
        parsed = list(iter_manifest(path))
    except DatasetError as e:
        if getattr(e, "line", None) is None:
            raise AuditError(str(e)) from None
        raise AuditError(f"{path}, line {e.line}: {e.reason}") from None
    for lineno, row in parsed:
        if not isinstance(row, dict) or not isinstance(row.get("files"), dict):
            raise AuditError(f"{path}, line {lineno}: a manifest row must be an object with a 'files' map")
        for key in ("rgb", "instance", "meta"):
            if key not in row["files"]:
                hint = "" if key == "meta" else f" (the audit needs it: render with '{key}' in the config's passes)"
                raise AuditError(f"{path}, line {lineno}: field files.{key} is missing{hint}")
        rows.append((lineno, row))
    if not rows:
        raise AuditError(f"{path}: the manifest has no rows")
    return rows


def _file(root: Path, row: Mapping[str, Any], key: str, lineno: int) -> Path:
    p = root / str(row["files"][key])
    if not p.is_file():
        raise AuditError(f"{root / 'manifest.jsonl'}, line {lineno}: files.{key} -> {p} does not exist")
    return p


def _imread(path: Path, flags: int, lineno: int, manifest: Path) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise AuditError(f"{manifest}, line {lineno}: cannot decode image {path}")
    return img


@dataclass
class _Obj:
    cls: str
    frame: int
    height_px: float
    cx: float  # fraction of width
    cy: float  # fraction of height
    distance: float
    rgb: np.ndarray | None  # (3,) mean sRGB of visible pixels


def _sample_id(row: Mapping[str, Any], lineno: int) -> str:
    sid = row.get("sample_id")
    return str(sid) if sid is not None else f"line{lineno}"


# --------------------------------------------------------------------------------------------------- analysis


def _hist_finding(
    cfg: AuditConfig, findings: list[Finding], cls: str, attr: str, ent: float, n: int, detail: str
) -> None:
    if not math.isfinite(ent):
        return
    if ent < cfg.entropy_flag:
        sev = "flag"
    elif ent < cfg.entropy_warn:
        sev = "warn"
    else:
        return
    findings.append(
        Finding(
            sev,
            f"low_entropy.{attr}",
            f"class '{cls}': {attr} is nearly constant (normalised entropy {ent:.2f} over {n} objects){detail}",
            {"class": cls, "attribute": attr, "normalised_entropy": ent, "n": n},
        )
    )


def _edges(values: np.ndarray, bins: int, log: bool = False) -> np.ndarray:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.linspace(0.0, 1.0, bins + 1)
    lo, hi = float(v.min()), float(v.max())
    if log and lo > 0:
        if hi <= lo:
            hi = lo * 1.01
        return np.geomspace(lo, hi * (1 + 1e-9), bins + 1)
    if hi <= lo:
        hi = lo + 1e-9 * max(1.0, abs(lo)) + 1e-12
    return np.linspace(lo, hi + 1e-9 * max(1.0, abs(hi)), bins + 1)


def _hist_dict(values: np.ndarray, edges: np.ndarray, fmt: str = "{:.3g}") -> dict[str, int]:
    h, _ = np.histogram(values[np.isfinite(values)], bins=edges)
    return {f"{fmt.format(edges[i])}–{fmt.format(edges[i + 1])}": int(h[i]) for i in range(len(h))}


def _colour_predicts(lab: np.ndarray, labels: np.ndarray, cls: str, seed: int) -> float | None:
    """Cross-validated balanced accuracy of telling ``cls`` from the other classes by mean Lab colour."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    y = (labels == cls).astype(int)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    folds = min(5, n_pos, n_neg)
    if folds < 2:
        return None
    clf = DecisionTreeClassifier(max_depth=3, class_weight="balanced", random_state=seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(clf, lab, y, cv=cv, scoring="balanced_accuracy").mean())


#: the tag of scenes whose point is a person seen in a reflection
REFLECTION_TAG = "pedestrian_reflection"


def _reflection_numbers(root: Path, row: Mapping[str, Any], lineno: int, tags: list[str]
                        ) -> tuple[int, float, list[str]]:
    from simgen.io import formats

    try:
        mirror = formats.read_reflection(_file(root, row, "reflection", lineno))[..., 1] > 0
        strength = float("nan")
        if "reflection_strength" in row["files"] and mirror.any():
            s = formats.read_reflection_strength(_file(root, row, "reflection_strength", lineno))[..., 0]
            strength = float(np.median(s[mirror]))
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        raise AuditError(f"{root / 'manifest.jsonl'}, line {lineno}: cannot read the reflection labels ({e})") from None
    return int(mirror.sum()), strength, tags


def _reflection_findings(frames: list[tuple[int, float, list[str]]], findings: list[Finding],
                         plots: dict[str, Any]) -> dict[str, Any]:
    """Summary of reflected people over the frames with reflection labels; appends findings and a plot."""
    if not frames:
        return {}
    px = np.array([f[0] for f in frames])
    strength = np.array([f[1] for f in frames], float)
    shown = px > 0
    out = {
        "frames": len(frames),
        "frames_with_reflected_person": int(shown.sum()),
        "share": float(shown.mean()),
        "median_pixels": float(np.median(px[shown])) if shown.any() else 0.0,
        "median_strength": float(np.nanmedian(strength[shown])) if np.isfinite(strength[shown]).any() else None,
    }
    plots["frames showing a reflected person"] = {"yes": int(shown.sum()), "no": int((~shown).sum())}
    msg = f"a person is seen in a reflection in {out['share']:.0%} of the {len(frames)} frames with reflection labels"
    if shown.any():
        msg += f" (median {out['median_pixels']:.0f} px"
        msg += f", median strength {out['median_strength']:.2f})" if out["median_strength"] is not None else ")"
    findings.append(Finding("info", "reflection_share", msg, dict(out)))
    tagged = np.array([REFLECTION_TAG in f[2] for f in frames])
    missing = tagged & ~shown
    out["tagged_without_reflection"] = int(missing.sum())
    if missing.any():
        findings.append(Finding(
            "warn", "reflection_tag_not_shown",
            f"{int(missing.sum())} of {int(tagged.sum())} frames tagged '{REFLECTION_TAG}' show no reflected person: "
            "the reflection the scene is about is out of view or hidden", {"frames": int(missing.sum()),
                                                                            "tagged": int(tagged.sum())}))
    return out


def audit_dataset(
    root: Path | str, config: AuditConfig | None = None, progress: bool = True, seed: int = 0
) -> AuditResult:
    """Audit the synthetic dataset at ``root`` (see module doc). ``seed`` fixes the cross-validation splits.

    Raises :class:`AuditError` for a missing manifest, a malformed row (with file and line), or missing files.
    """
    cfg = config or AuditConfig()
    root = Path(root)
    manifest = root / "manifest.jsonl"
    rows = _read_manifest(root)
    if cfg.max_frames is not None and len(rows) > cfg.max_frames:
        pick = np.unique(np.linspace(0, len(rows) - 1, cfg.max_frames).round().astype(int))
        rows = [rows[i] for i in pick]

    objs: list[_Obj] = []
    hashes: list[np.ndarray] = []
    bg_hists: list[np.ndarray] = []
    bg_lab: list[np.ndarray] = []
    frame_ids: list[str] = []
    sequences: list[tuple[str, str]] = []
    frame_tags: list[list[str]] = []
    frame_classes: list[set[str]] = []
    #: per frame with reflection labels: (reflected-person pixels, their median strength or NaN, tags)
    frame_reflections: list[tuple[int, float, list[str]]] = []
    skipped_objects = 0

    iterator: Any = rows
    if progress:
        from rich.progress import track

        iterator = track(rows, description="auditing frames", transient=True)
    for fi, (lineno, row) in enumerate(iterator):
        meta_path = _file(root, row, "meta", lineno)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise AuditError(f"{meta_path}: not valid JSON (line {e.lineno}: {e.msg})") from None
        rgb = _imread(_file(root, row, "rgb", lineno), cv2.IMREAD_COLOR, lineno, manifest)[:, :, ::-1]
        inst = _imread(_file(root, row, "instance", lineno), cv2.IMREAD_UNCHANGED, lineno, manifest)
        if inst.ndim != 2:
            raise AuditError(f"{manifest}, line {lineno}: instance image must have one channel, got {inst.shape}")
        if inst.shape != rgb.shape[:2]:
            raise AuditError(
                f"{manifest}, line {lineno}: instance image {inst.shape} and rgb {rgb.shape[:2]} differ in size"
            )
        h, w = inst.shape
        frame_ids.append(_sample_id(row, lineno))
        sequences.append((str(row.get("scene", "")), str(row.get("variant", ""))))
        tags = row.get("tags") or []
        frame_tags.append([str(t) for t in (tags if isinstance(tags, list) else [tags])])
        hashes.append(perceptual_hash(np.ascontiguousarray(rgb)))
        if "reflection" in row["files"]:
            frame_reflections.append(_reflection_numbers(root, row, lineno, frame_tags[-1]))

        # per-instance colour sums in one pass
        ids = inst.reshape(-1).astype(np.int64)
        flat = rgb.reshape(-1, 3).astype(np.float64)
        n_ids = int(ids.max()) + 1
        cnt = np.bincount(ids, minlength=n_ids)
        sums = np.stack([np.bincount(ids, weights=flat[:, c], minlength=n_ids) for c in range(3)], axis=1)

        bg = flat[ids == 0]
        if len(bg):
            cat = colour_category(bg)
            bg_hists.append(np.bincount(cat, minlength=len(COLOUR_CATEGORIES)) / len(bg))
            bg_lab.append(rgb_to_lab(bg.mean(0, keepdims=True))[0])

        cam = np.asarray(meta.get("world_from_camera", np.eye(4)), dtype=np.float64)
        cam_pos = cam[:3, 3] if cam.shape == (4, 4) else np.full(3, np.nan)
        classes_here: set[str] = set()
        for oi, ob in enumerate(meta.get("objects", []) or []):
            try:
                cls = str(ob["class"])
                iid = int(ob.get("instance_id", 0))
            except (KeyError, TypeError, ValueError):
                raise AuditError(f"{meta_path}: objects[{oi}] needs 'class' and 'instance_id'") from None
            vis = int(ob.get("visible_pixels", cnt[iid] if 0 < iid < n_ids else 0) or 0)
            box = ob.get("bbox_visible")
            if vis <= 0 or box is None:
                skipped_objects += 1
                continue
            x0, y0, x1, y1 = (float(v) for v in box)
            centre = (ob.get("box3d") or {}).get("center")
            dist = float("nan")
            if centre is not None:
                dist = float(np.linalg.norm(np.asarray(centre, dtype=np.float64) - cam_pos))
            colour = None
            if 0 < iid < n_ids and cnt[iid] >= cfg.min_colour_pixels:
                colour = sums[iid] / cnt[iid]
            objs.append(_Obj(cls, fi, y1 - y0, 0.5 * (x0 + x1) / w, 0.5 * (y0 + y1) / h, dist, colour))
            classes_here.add(cls)
        frame_classes.append(classes_here)

    findings: list[Finding] = []
    n_frames = len(frame_ids)
    plots: dict[str, Any] = {}

    # ---------------------------------------------------------------- class balance
    counts = Counter(o.cls for o in objs)
    frames_with = Counter(c for s in frame_classes for c in s)
    ent = normalised_entropy(list(counts.values())) if len(counts) >= 2 else float("nan")
    ratio = (max(counts.values()) / min(counts.values())) if counts else float("nan")
    class_balance = {
        "counts": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        "frames_with": dict(sorted(frames_with.items(), key=lambda kv: -kv[1])),
        "entropy": ent,
        "imbalance_ratio": ratio,
        "skipped_invisible_objects": skipped_objects,
    }
    plots["class counts"] = class_balance["counts"]
    if not counts:
        findings.append(Finding("warn", "no_objects", "no visible objects in any frame", {"frames": n_frames}))
    elif len(counts) == 1:
        only = next(iter(counts))
        findings.append(Finding("warn", "one_class", f"only one class has visible objects: '{only}'", {"class": only}))
    else:
        most = max(counts, key=counts.get)  # type: ignore[arg-type]
        least = min(counts, key=counts.get)  # type: ignore[arg-type]
        nums = {"imbalance_ratio": ratio, "largest": most, "smallest": least, "entropy": ent, "counts": dict(counts)}
        msg = (
            f"class imbalance {ratio:.1f}:1 ('{most}' {counts[most]} objects vs '{least}' {counts[least]}); "
            f"normalised entropy {ent:.2f}"
        )
        sev = "flag" if ratio >= cfg.imbalance_flag else "warn" if ratio >= cfg.imbalance_warn else "info"
        findings.append(Finding(sev, "class_imbalance", msg, nums))

    # ---------------------------------------------------------------- per class attributes
    heights = np.array([o.height_px for o in objs], dtype=np.float64)
    dists = np.array([o.distance for o in objs], dtype=np.float64)
    h_edges = _edges(heights, cfg.bins, log=True)
    d_edges = _edges(dists, cfg.bins, log=True)
    per_class: dict[str, Any] = {}
    labels = np.array([o.cls for o in objs], dtype=object)
    col_mask = np.array([o.rgb is not None for o in objs], dtype=bool)
    all_rgb = np.array([o.rgb for o in objs if o.rgb is not None], dtype=np.float64).reshape(-1, 3)
    all_lab = rgb_to_lab(all_rgb) if len(all_rgb) else np.zeros((0, 3))
    all_cat = colour_category(all_rgb) if len(all_rgb) else np.zeros(0, dtype=np.int64)
    col_labels = labels[col_mask]
    for cls in sorted(counts, key=lambda c: -counts[c]):
        sel = labels == cls
        n = int(sel.sum())
        info: dict[str, Any] = {"count": n}
        hs, ds = heights[sel], dists[sel]
        cx = np.array([o.cx for o in objs if o.cls == cls])
        cy = np.array([o.cy for o in objs if o.cls == cls])
        pos, _, _ = np.histogram2d(
            np.clip(cy, 0, 1 - 1e-9), np.clip(cx, 0, 1 - 1e-9), bins=cfg.bins, range=[[0, 1], [0, 1]]
        )
        h_hist, _ = np.histogram(hs, bins=h_edges)
        d_fin = ds[np.isfinite(ds)]
        d_hist, _ = np.histogram(d_fin, bins=d_edges)
        info["bbox_height_px"] = {
            "mean": float(hs.mean()), "p5": float(np.percentile(hs, 5)), "p50": float(np.median(hs)),
            "p95": float(np.percentile(hs, 95)), "entropy": normalised_entropy(h_hist, cfg.bins),
            "hist": h_hist.tolist(), "edges": h_edges.tolist(),
        }  # fmt: skip
        info["position"] = {
            "mean_x": float(cx.mean()), "mean_y": float(cy.mean()),
            "entropy": normalised_entropy(pos.reshape(-1), cfg.bins * cfg.bins), "heatmap": pos.tolist(),
        }  # fmt: skip
        info["distance_m"] = {
            "n": int(d_fin.size),
            "mean": float(d_fin.mean()) if d_fin.size else float("nan"),
            "p50": float(np.median(d_fin)) if d_fin.size else float("nan"),
            "entropy": normalised_entropy(d_hist, cfg.bins) if d_fin.size else float("nan"),
            "hist": d_hist.tolist(), "edges": d_edges.tolist(),
        }  # fmt: skip
        csel = col_labels == cls
        if csel.any():
            lab = all_lab[csel]
            cat_counts = np.bincount(all_cat[csel], minlength=len(COLOUR_CATEGORIES))
            hsv = rgb_to_hsv(all_rgb[csel])
            info["colour"] = {
                "n": int(csel.sum()),
                "mean_lab": lab.mean(0).tolist(),
                "std_lab": lab.std(0).tolist(),
                "hue_circular_spread": float(1.0 - abs(np.exp(1j * np.deg2rad(hsv[:, 0])).mean())),
                "categories": {COLOUR_CATEGORIES[i]: int(c) for i, c in enumerate(cat_counts) if c},
                "entropy": normalised_entropy(cat_counts, len(COLOUR_CATEGORIES)),
            }
            plots[f"colour {cls}"] = info["colour"]["categories"]
        per_class[cls] = info
        plots[f"position heatmap {cls}"] = pos.tolist()
        plots[f"bbox height px {cls}"] = _hist_dict(hs, h_edges)

        if n < cfg.min_objects:
            findings.append(
                Finding("info", "few_objects", f"class '{cls}': only {n} visible objects; distributions not judged",
                        {"class": cls, "n": n})
            )  # fmt: skip
            continue
        _hist_finding(cfg, findings, cls, "bbox_height", info["bbox_height_px"]["entropy"], n,
                      f" (median {info['bbox_height_px']['p50']:.0f} px)")  # fmt: skip
        _hist_finding(cfg, findings, cls, "position", info["position"]["entropy"], n,
                      f" (mean centre at x={info['position']['mean_x']:.2f}, y={info['position']['mean_y']:.2f} "
                      "of the image)")  # fmt: skip
        if d_fin.size >= cfg.min_objects:
            _hist_finding(cfg, findings, cls, "distance", info["distance_m"]["entropy"], int(d_fin.size),
                          f" (median {info['distance_m']['p50']:.1f} m)")  # fmt: skip
        if cls in cfg.varied_colour_classes and "colour" in info and info["colour"]["n"] >= cfg.min_objects:
            top = max(info["colour"]["categories"], key=info["colour"]["categories"].get)
            share = info["colour"]["categories"][top] / info["colour"]["n"]
            _hist_finding(cfg, findings, cls, "colour", info["colour"]["entropy"], info["colour"]["n"],
                          f" ({share:.0%} are {top})")  # fmt: skip
            n_other = int((col_labels != cls).sum())
            if n_other >= cfg.min_objects:
                acc = _colour_predicts(all_lab, col_labels, cls, seed)
                info["colour"]["predicts_class_balanced_accuracy"] = acc
                if acc is not None and acc >= cfg.colour_predicts_warn:
                    own_varied = info["colour"]["entropy"] >= cfg.colour_varied_entropy
                    sev = "flag" if acc >= cfg.colour_predicts_flag and not own_varied else "warn"
                    why = (
                        "its own colours vary, so the other classes must be colour-consistent"
                        if own_varied
                        else f"most are {top}"
                    )
                    findings.append(
                        Finding(
                            sev,
                            "colour_determines_class",
                            f"class '{cls}' can be told from the other classes by colour alone (balanced accuracy "
                            f"{acc:.2f}; {why}): a model may learn colour instead of shape",
                            {"class": cls, "balanced_accuracy": acc, "dominant_colour": top, "share": share,
                             "colour_entropy": info["colour"]["entropy"]},
                        )
                    )  # fmt: skip

    # ---------------------------------------------------------------- background diversity
    scenes = {s for s, _ in sequences}
    variants = set(sequences)
    background: dict[str, Any] = {"distinct_scenes": len(scenes), "distinct_sequences": len(variants)}
    if bg_hists:
        hist = np.array(bg_hists)
        labs = np.array(bg_lab)
        # greedy clustering of background colour histograms by total-variation distance
        reps: list[np.ndarray] = []
        for hv in hist:
            if not any(0.5 * np.abs(hv - r).sum() < cfg.background_tv for r in reps):
                reps.append(hv)
        if len(hist) >= 2:
            # mean pairwise distance on at most 400 frames (evenly spread): O(400^2) memory whatever the size
            sub = hist[np.unique(np.linspace(0, len(hist) - 1, min(len(hist), 400)).round().astype(int))]
            tv = 0.5 * np.abs(sub[:, None, :] - sub[None, :, :]).sum(-1)
            mean_tv = float(tv[np.triu_indices(len(sub), 1)].mean())
        else:
            mean_tv = float("nan")
        background.update(
            {
                "distinct_looks": len(reps),
                "mean_pairwise_tv": mean_tv,
                "lab_mean": labs.mean(0).tolist(),
                "lab_std": labs.std(0).tolist(),
                "colour_share": dict(zip(COLOUR_CATEGORIES, hist.mean(0).round(4).tolist())),
            }
        )
        plots["background colour share"] = background["colour_share"]
        if n_frames >= 10 and len(reps) <= 1:
            findings.append(
                Finding("flag", "one_background",
                        f"all {n_frames} frames share one background look (colour histograms within "
                        f"{cfg.background_tv} total variation)", {"distinct_looks": len(reps), "frames": n_frames})
            )  # fmt: skip
        elif n_frames >= 10 and len(reps) <= 2:
            findings.append(
                Finding("warn", "few_backgrounds", f"only {len(reps)} distinct background looks in {n_frames} frames",
                        {"distinct_looks": len(reps), "frames": n_frames})
            )  # fmt: skip
    if n_frames >= 10 and len(scenes) <= 1:
        findings.append(
            Finding("warn", "one_scene", f"all {n_frames} frames come from one scene ({next(iter(scenes)) or '?'})",
                    {"distinct_scenes": len(scenes), "distinct_sequences": len(variants)})
        )  # fmt: skip

    # ---------------------------------------------------------------- tags
    tag_counts = Counter(t for ts in frame_tags for t in set(ts))
    tag_share = {t: c / n_frames for t, c in sorted(tag_counts.items())}
    plots["tag share"] = tag_share
    if tag_share:
        findings.append(Finding("info", "tag_share", "share of frames per edge-case tag: " +
                                ", ".join(f"{t} {s:.0%}" for t, s in tag_share.items()), {"share": tag_share}))
        for t, s in tag_share.items():
            if s > cfg.tag_share_warn:
                findings.append(Finding("warn", "tag_everywhere",
                                        f"tag '{t}' is on {s:.0%} of frames: an edge case this common is the norm",
                                        {"tag": t, "share": s}))  # fmt: skip
    else:
        findings.append(Finding("info", "no_tags", "no frame carries an edge-case tag", {}))
    for t in cfg.expected_tags:
        if t not in tag_counts:
            findings.append(Finding("warn", "tag_missing", f"expected tag '{t}' is on no frame", {"tag": t}))

    # ---------------------------------------------------------------- reflections
    reflections = _reflection_findings(frame_reflections, findings, plots)

    # ---------------------------------------------------------------- near duplicates
    dups: list[dict[str, Any]] = []
    n_pairs = 0
    if len(hashes) >= 2:
        pairs, n_pairs = hamming_pairs(np.array(hashes), cfg.duplicate_hamming, max_pairs=MAX_DUPLICATE_PAIRS)
        for i, j, d in pairs:
            same = sequences[i] == sequences[j]
            dups.append({"a": frame_ids[i], "b": frame_ids[j], "hamming": d, "same_sequence": same})
    cross = [d for d in dups if not d["same_sequence"]]
    within = [d for d in dups if d["same_sequence"]]
    if n_pairs > len(dups):
        findings.append(Finding("warn", "near_duplicates_truncated",
                                f"{n_pairs} near-duplicate pairs in total; only the first {len(dups)} are listed",
                                {"total": n_pairs, "listed": len(dups)}))  # fmt: skip
    if cross:
        frames_in = {d["a"] for d in cross} | {d["b"] for d in cross}
        findings.append(
            Finding("flag", "near_duplicates",
                    f"{len(cross)} pair(s) of near-duplicate frames across different sequences "
                    f"({len(frames_in)} frames), e.g. {cross[0]['a']} ≈ {cross[0]['b']}",
                    {"pairs": len(cross), "frames": len(frames_in), "examples": cross[:10]})
        )  # fmt: skip
    if within:
        findings.append(
            Finding("info" if len(within) < max(1, n_frames // 2) else "warn", "near_duplicates_within_sequence",
                    f"{len(within)} pair(s) of near-duplicate frames within a sequence (slow or static camera?)",
                    {"pairs": len(within), "examples": within[:10]})
        )  # fmt: skip

    order = {"flag": 0, "warn": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return AuditResult(
        root=str(root),
        n_frames=n_frames,
        n_objects=len(objs),
        findings=findings,
        class_balance=class_balance,
        per_class=per_class,
        background=background,
        tags=tag_share,
        reflections=reflections,
        near_duplicates=dups,
        near_duplicate_pairs=n_pairs,
        plots=plots,
        config=asdict(cfg),
    )


# --------------------------------------------------------------------------------------------------- nearest real


@dataclass
class NearestRealResult:
    """Nearest real neighbour of every synthetic image in feature space.

    ``nn_index`` ``(Ns,)`` int64 index into the real set; ``nn_id`` the real ids; ``nn_distance`` ``(Ns,)``
    float64 Euclidean distance (feature units). ``threshold``: ``margin`` × the ``quantile`` of the
    real-vs-real nearest-neighbour distances (each real image to its nearest real image of a *different* group).
    ``suspicious``: synthetic ids closer than that, with their real neighbour and distance. ``findings`` as in
    the audit. Sorting ``nn_distance`` descending gives the least realistic synthetic images.
    """

    synth_ids: list[str]
    nn_index: np.ndarray
    nn_id: list[str]
    nn_distance: np.ndarray
    real_nn_distance: np.ndarray
    threshold: float
    quantile: float
    margin: float
    suspicious: list[dict[str, Any]]
    findings: list[Finding]

    def to_json(self) -> dict[str, Any]:
        return to_jsonable(asdict(self))


def _nearest(q: np.ndarray, ref: np.ndarray, exclude_same: np.ndarray | None = None,
             q_groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Index and distance of each query row's nearest reference row (optionally skipping the same group)."""
    rn = (ref * ref).sum(1)
    best_i = np.zeros(len(q), dtype=np.int64)
    best_d = np.full(len(q), np.inf)
    step = max(1, (1 << 22) // max(1, len(ref)))
    for s in range(0, len(q), step):
        qq = q[s : s + step]
        d2 = (qq * qq).sum(1)[:, None] + rn[None, :] - 2.0 * qq @ ref.T
        np.maximum(d2, 0.0, out=d2)
        if exclude_same is not None and q_groups is not None:
            d2[q_groups[s : s + step, None] == exclude_same[None, :]] = np.inf
        i = d2.argmin(1)
        best_i[s : s + step] = i
        best_d[s : s + step] = np.sqrt(d2[np.arange(len(qq)), i])
    return best_i, best_d


def nearest_real_neighbours(
    synth_feats: Any,
    real_feats: Any,
    synth_ids: Sequence[Any],
    real_ids: Sequence[Any],
    real_groups: Sequence[Any] | None = None,
    quantile: float = 0.01,
    margin: float = 0.5,
) -> NearestRealResult:
    """Flag synthetic images suspiciously close to a real one.

    ``synth_feats`` ``(Ns, D)``, ``real_feats`` ``(Nr, D)`` (same backbone and preprocessing; float),
    ``synth_ids`` (Ns) and ``real_ids`` (Nr) name the images. ``real_groups`` (Nr): group per real image (video /
    recording); the real-vs-real reference distance of a real image is to its nearest real image of another group,
    so neighbouring video frames do not make everything look "suspiciously close" (None: every image is its own
    group). A synthetic image is suspicious when its nearest real distance is below ``margin`` times the
    ``quantile`` of those reference distances (the margin keeps the estimate of a low quantile from a few hundred
    real images from flagging ordinary samples; copies and traced frames sit far below it). Needs Nr >= 2 and at
    least 2 real groups.
    """
    from simgen.gap.metrics import MetricInputError, _pair

    fn = "nearest_real_neighbours"
    s, r = _pair(synth_feats, real_feats, fn, min_n=1, names=("synth_feats", "real_feats"))
    if len(r) < 2:
        raise MetricInputError(f"{fn}: real_feats needs at least 2 samples (got {len(r)})")
    sids = [str(x) for x in synth_ids]
    rids = [str(x) for x in real_ids]
    if len(sids) != len(s) or len(rids) != len(r):
        raise MetricInputError(f"{fn}: {len(sids)} synth ids for {len(s)} rows, {len(rids)} real ids for {len(r)} rows")
    if not 0.0 < quantile < 1.0:
        raise MetricInputError(f"{fn}: quantile must be in (0, 1) (got {quantile})")
    g = np.arange(len(r)) if real_groups is None else np.asarray([str(x) for x in real_groups], dtype=object)
    if len(g) != len(r):
        raise MetricInputError(f"{fn}: real_groups has {len(g)} entries for {len(r)} rows")
    if len(set(g.tolist())) < 2:
        raise MetricInputError(f"{fn}: the real set needs at least 2 groups for a real-vs-real reference")
    _, rr_d = _nearest(r, r, exclude_same=g, q_groups=g)
    if not margin > 0:
        raise MetricInputError(f"{fn}: margin must be positive (got {margin})")
    threshold = margin * float(np.quantile(rr_d, quantile))
    idx, dist = _nearest(s, r)
    sus = [
        {"synth": sids[i], "real": rids[int(idx[i])], "distance": float(dist[i])}
        for i in np.argsort(dist)
        if dist[i] < threshold
    ]
    findings: list[Finding] = []
    if sus:
        findings.append(
            Finding("flag", "near_real_copy",
                    f"{len(sus)} synthetic image(s) lie closer to a real image than {margin:g} × the {quantile:.0%} "
                    f"quantile of real-to-real distances across groups (threshold {threshold:.4g}); "
                    f"e.g. {sus[0]['synth']} ≈ "
                    f"{sus[0]['real']}", {"count": len(sus), "threshold": threshold, "examples": sus[:10]})
        )  # fmt: skip
    else:
        findings.append(
            Finding("info", "near_real_copy", f"no synthetic image is closer to a real image than {margin:g} × the "
                    f"real-vs-real {quantile:.0%} quantile ({threshold:.4g})", {"threshold": threshold})
        )  # fmt: skip
    return NearestRealResult(
        synth_ids=sids, nn_index=idx, nn_id=[rids[int(i)] for i in idx], nn_distance=dist,
        real_nn_distance=rr_d, threshold=threshold, quantile=quantile, margin=margin, suspicious=sus, findings=findings,
    )  # fmt: skip
