"""Label checks for batch outputs: the end-to-end checks of tests/e2e/test_quickstart_labels.py (independent
readers, reprojection, boxes against masks), applied to every sequence of a dataset."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.e2e import test_quickstart_labels as QL
from tests.e2e.readers import load_dataset, load_frame


def check_dataset(root: Path, expected: dict[str, int]) -> None:
    """expected: sequence -> frame count. Asserts: exactly these sequences and frames in the manifest, no
    duplicate sample ids, the folders' rows.jsonl equal the manifest rows, every label check passes."""
    info, rows = load_dataset(root)
    ids = Counter(r["sample_id"] for r in rows)
    assert not [k for k, n in ids.items() if n > 1], "duplicate manifest rows"
    by_seq: dict[str, list[dict]] = {}
    for r in rows:
        by_seq.setdefault(r["sequence"], []).append(r)
    assert {s: len(v) for s, v in by_seq.items()} == expected
    for seq, srows in by_seq.items():
        own = [json.loads(x) for x in (root / seq / "rows.jsonl").read_text().splitlines() if x.strip()]
        assert own == srows, seq
        srows = sorted(srows, key=lambda r: r["frame"])
        assert [r["frame"] for r in srows] == list(range(len(srows)))
        fr = [load_frame(root, r) for r in srows]
        frames = (info, fr, srows)
        QL.test_ids_exact_and_boxes_bound_masks(frames)
        QL.test_depth_is_planar_metres(frames)
        if len(fr) > 1:
            QL.test_flow_equals_reprojection(frames, "fwd")
            QL.test_flow_equals_reprojection(frames, "bwd")
