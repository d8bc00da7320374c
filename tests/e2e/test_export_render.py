"""A rendered dataset through every exporter and the TorchDataset (the synthetic-label tests are in tests/io)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO, needs_blender

pytestmark = [pytest.mark.blender, pytest.mark.slow]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    needs_blender()
    from simgen.cli import main

    out = tmp_path_factory.mktemp("render") / "ds"
    code = main(["render", str(REPO / "scenes" / "quickstart.yaml"), "--out", str(out), "--config", "test",
                 "--frames", "2", "--device", "cpu", "--no-progress"])
    assert code == 0
    return out


def test_rendered_dataset_round_trips_through_every_format(rendered, tmp_path, capsys):
    import webdataset as wds
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    from torch.utils.data import DataLoader

    from simgen.cli import main
    from simgen.io import DatasetReader, TorchDataset, collate
    from simgen.io.augment import HFlip

    reader = DatasetReader(rendered)
    assert len(reader) == 2
    for fmt in ("kitti", "coco", "cityscapes", "shards"):
        code = main(["export", str(rendered), "--format", fmt, "--out", str(tmp_path / fmt), "--no-progress"])
        assert code == 0
        assert "2 sample(s) selected, 2 exported, 0 already complete, 0 skipped" in capsys.readouterr().out

    e = reader.entries[0]
    drive = f"{e.scene}_{e.sequence.split('/')[-1]}_{e.camera}"
    depth = np.array(Image.open(tmp_path / "kitti/depth" / drive / "proj_depth/groundtruth/image_02/0000000000.png"),
                     dtype=int) / 256.0
    native = reader.depth(e)
    ok = np.isfinite(native) & (native < 255)
    assert ok.any() and np.max(np.abs(depth[ok] - native[ok])) <= 1 / 256

    gt = COCO(str(tmp_path / "coco/annotations/instances_all.json"))
    anns = gt.loadAnns(gt.getAnnIds())
    assert anns, "the quickstart scene has labelled objects in view"
    for a in anns:
        img = gt.loadImgs(a["image_id"])[0]
        row = next(x for x in reader.entries if x.sample_id == img["simgen_sample_id"])
        assert np.array_equal(gt.annToMask(a).astype(bool), reader.instance(row) == a["simgen_instance_id"])
    ev = COCOeval(gt, gt.loadRes([dict(a, score=1.0) for a in anns]), "segm")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)

    assert len(list((tmp_path / "cityscapes/gtFine/train").rglob("*_gtFine_labelIds.png"))) == 2
    assert sum(1 for _ in wds.WebDataset(sorted(str(p) for p in (tmp_path / "shards").glob("*.tar")),
                                         shardshuffle=False)) == 2
    for src in (rendered, tmp_path / "shards"):
        data = TorchDataset(src, ("rgb", "depth", "flow_fwd", "semantic", "instance", "boxes"), transform=HFlip(0.5))
        batches = list(DataLoader(data, batch_size=2, num_workers=2, collate_fn=collate))
        assert len(batches) == 1 and batches[0]["rgb"].shape == (2, 3, 60, 80)
