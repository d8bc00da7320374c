"""simgen export: each format read back with the ecosystem's own readers (PIL / OpenCV as the KITTI devkits read,
pycocotools, cityscapesscripts' label table, webdataset, pyarrow); resume; bad input."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from simgen.cli import main
from simgen.classes import class_table
from simgen.io import DatasetReader
from simgen.io.dataset import DatasetError
from simgen.io.export import ExportError, export_dataset, read_ledger
from simgen.io.select import SelectionError, parse_filter, select, split_of
from tests.io.synthds import make_dataset


@pytest.fixture(scope="module")
def ds(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("native") / "ds")


@pytest.fixture(scope="module")
def exported(ds, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("exports")
    out = {}
    for fmt in ("kitti", "coco", "cityscapes"):
        out[fmt] = (root / fmt, export_dataset(ds, fmt, root / fmt))
    out["shards"] = (root / "shards", export_dataset(ds, "shards", root / "shards", shard_samples=3, seed=1))
    return out


def _ledger_by_index(out: Path) -> dict[int, str]:
    return {int(r["index"]): r["sample_id"] for r in read_ledger(out).values()}


def _kitti_calib(path: Path) -> dict[str, np.ndarray]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, vals = line.partition(":")
        out[key] = np.array([float(v) for v in vals.split()])
    return out


# ---- KITTI ----------------------------------------------------------------------------------------------------

def test_kitti_depth_round_trip_with_the_devkit_reader(ds, exported):
    out, summary = exported["kitti"]
    reader = DatasetReader(ds)
    assert summary.exported == len(reader) and not summary.skipped
    for e in reader.entries:
        drive = f"{e.scene}_{e.sequence.split('/')[-1]}_{e.camera}"
        png = out / "depth" / drive / "proj_depth" / "groundtruth" / "image_02" / f"{e.frame:010d}.png"
        # depth-completion devkit (read_depth.py): np.array(Image.open(f), dtype=int) / 256, 0 = invalid
        raw = np.array(Image.open(png), dtype=int)
        assert raw.dtype == int and raw.max() > 255, "a 16-bit PNG"
        depth = raw.astype(float) / 256.0
        native = reader.depth(e)
        finite = np.isfinite(native)
        assert np.array_equal(raw > 0, finite)
        assert np.max(np.abs(depth[finite] - native[finite])) <= 1 / 256
        rgb = out / "depth" / drive / "image_02" / "data" / f"{e.frame:010d}.png"
        assert rgb.read_bytes() == reader.path(e, "rgb").read_bytes()


def test_kitti_flow_round_trip_as_the_devkit_reads_it(ds, exported):
    out, summary = exported["kitti"]
    reader = DatasetReader(ds)
    by_index = _ledger_by_index(out)
    flows = 0
    for index, sid in by_index.items():
        e = next(x for x in reader.entries if x.sample_id == sid)
        occ_png = out / "flow" / "training" / "flow_occ" / f"{index:06d}_10.png"
        if "flow_fwd" not in e.files:
            assert not occ_png.exists()
            continue
        flows += 1
        # KITTI flow devkit: R = u*64 + 2^15, G = v*64 + 2^15, B = valid; OpenCV reads BGR
        for name, noc in ((occ_png, False), (out / "flow" / "training" / "flow_noc" / f"{index:06d}_10.png", True)):
            img = cv2.imread(str(name), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
            assert img.dtype == np.uint16 and img.shape[2] == 3
            img = img[..., ::-1].astype(np.float64)
            flow, valid = (img[..., :2] - 2**15) / 64.0, img[..., 2] > 0
            native, nvalid = reader.flow(e, "fwd")
            if noc:
                nvalid = nvalid & (reader.read(e, "flow_fwd_occlusion") == 0)
            assert np.array_equal(valid, nvalid) and valid.any()
            assert np.max(np.abs(flow[valid] - native[valid])) <= 1 / 64
        nxt = reader.find(e.sequence, e.camera, e.frame + 1)
        assert (out / "flow/training/image_2" / f"{index:06d}_10.png").read_bytes() == reader.path(e, "rgb").read_bytes()
        assert (out / "flow/training/image_2" / f"{index:06d}_11.png").read_bytes() == reader.path(nxt, "rgb").read_bytes()
    assert flows == 4
    assert summary.notes["kitti flow: no forward flow (last frame of its sequence)"] == 3


def test_native_flo_is_read_exactly_by_opencv(ds):
    reader = DatasetReader(ds)
    for e in reader.entries:
        if "flow_fwd" in e.files:
            cv = cv2.readOpticalFlow(str(reader.path(e, "flow_fwd")))
            ours, valid = reader.flow(e, "fwd")
            assert cv.shape == ours.shape and np.array_equal(cv[valid], ours[valid])
            assert np.all(np.abs(cv[~valid]) > 1e9)


def _kitti_corners(h, w, l, loc, ry):
    """The object devkit's computeBox3D: corners in camera coordinates, (8, 3)."""
    x = [l / 2, l / 2, -l / 2, -l / 2, l / 2, l / 2, -l / 2, -l / 2]
    y = [0, 0, 0, 0, -h, -h, -h, -h]
    z = [w / 2, -w / 2, -w / 2, w / 2, w / 2, -w / 2, -w / 2, w / 2]
    R = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    return (R @ np.array([x, y, z])).T + np.asarray(loc)


def test_kitti_object_labels_and_calib(ds, exported):
    out, summary = exported["kitti"]
    reader = DatasetReader(ds)
    assert summary.notes["kitti object: class 'bus' has no KITTI type"] == len(reader)
    seen = set()
    for index, sid in _ledger_by_index(out).items():
        e = next(x for x in reader.entries if x.sample_id == sid)
        meta = reader.meta(e)
        instance = reader.instance(e)
        calib = _kitti_calib(out / "object/training/calib" / f"{index:06d}.txt")
        assert set(calib) == {"P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"}
        P2 = calib["P2"].reshape(3, 4)
        velo_to_cam = np.vstack([calib["Tr_velo_to_cam"].reshape(3, 4), [0, 0, 0, 1]])
        # documented: velo x forward, y left, z up
        assert np.allclose(velo_to_cam @ [10, 2, 1, 1], [-2, -1, 10, 1])
        assert np.allclose(P2[:, :3], meta.K) and np.allclose(calib["R0_rect"].reshape(3, 3), np.eye(3))
        cam_from_world = np.linalg.inv(meta.world_from_camera)
        lines = (out / "object/training/label_2" / f"{index:06d}.txt").read_text().splitlines()
        assert len(lines) == sum(o.visible_pixels > 0 and o.class_name in ("car", "pedestrian") for o in meta.objects)
        for line in lines:
            f = line.split()
            assert len(f) == 15
            kind, trunc, occl, alpha = f[0], float(f[1]), int(f[2]), float(f[3])
            x0, y0, x1, y1, h, w, l, x, y, z, ry = (float(v) for v in f[4:])
            seen.add(kind)
            obj = next(o for o in meta.objects if {"Car": "car", "Pedestrian": "pedestrian"}[kind] == o.class_name)
            mask = instance == obj.instance_id
            ys, xs = np.nonzero(mask)
            assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max(), ys.max())
            assert 0 <= trunc <= 1 and occl in (0, 1, 2)
            assert abs((alpha - (ry - np.arctan2(x, z)) + np.pi) % (2 * np.pi) - np.pi) < 0.02
            corners = _kitti_corners(h, w, l, (x, y, z), ry)
            world_corners = obj.box_center + (np.array([[sx, sy, sz] for sx in (-.5, .5) for sy in (-.5, .5)
                                                         for sz in (-.5, .5)]) * obj.box_size) @ obj.box_rotation.T
            cam_corners = world_corners @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
            # the same 8 corners (level camera: exact up to the 2-decimal text)
            d = np.linalg.norm(corners[:, None] - cam_corners[None], axis=-1)
            assert np.all(d.min(1) < 0.02) and np.all(d.min(0) < 0.02)
            # projected through P2 the box bounds the visible mask
            uvw = np.hstack([corners, np.ones((8, 1))]) @ P2.T
            uv = uvw[:, :2] / uvw[:, 2:]
            assert uv[:, 0].min() <= xs.min() + 0.5 and uv[:, 0].max() >= xs.max() - 0.5
            assert uv[:, 1].min() <= ys.min() + 0.5 and uv[:, 1].max() >= ys.max() - 0.5
    assert seen == {"Car", "Pedestrian"}


# ---- COCO -----------------------------------------------------------------------------------------------------

def test_coco_loads_in_pycocotools_and_scores_ap_one_against_itself(ds, exported, capsys):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    out, summary = exported["coco"]
    reader = DatasetReader(ds)
    gt = COCO(str(out / "annotations" / "instances_all.json"))
    cats = {c["id"]: c["name"] for c in gt.loadCats(gt.getCatIds())}
    table = class_table()
    assert cats == {c.id: c.name for c in table.classes if c.thing}
    assert len(gt.getImgIds()) == len(reader)
    n = 0
    for img in gt.loadImgs(gt.getImgIds()):
        e = next(x for x in reader.entries if x.sample_id == img["simgen_sample_id"])
        assert (img["width"], img["height"]) == (e.width, e.height) and img["frame"] == e.frame
        assert (out / "images" / img["file_name"]).read_bytes() == reader.path(e, "rgb").read_bytes()
        instance = reader.instance(e)
        anns = gt.loadAnns(gt.getAnnIds(imgIds=img["id"]))
        assert {a["simgen_instance_id"] for a in anns} == set(np.unique(instance)) - {0}
        for a in anns:
            n += 1
            m = gt.annToMask(a).astype(bool)
            assert np.array_equal(m, instance == a["simgen_instance_id"])
            assert a["area"] == m.sum() and a["iscrowd"] == 0 and isinstance(a["segmentation"]["counts"], str)
            assert np.allclose(a["bbox"], mask_utils.toBbox(a["segmentation"]))
            assert a["category_id"] == table.by_name(
                next(o.class_name for o in reader.meta(e).objects if o.instance_id == a["simgen_instance_id"])).id
    assert n > 0
    for iou in ("bbox", "segm"):
        dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                 "segmentation": a["segmentation"], "score": 1.0} for a in gt.loadAnns(gt.getAnnIds())]
        ev = COCOeval(gt, gt.loadRes(dets), iou)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0)
        # and the check can fail: shifted boxes / masks score below 1
        bad = [dict(d, bbox=[d["bbox"][0] + d["bbox"][2], d["bbox"][1], d["bbox"][2], d["bbox"][3]],
                    segmentation=mask_utils.encode(np.asfortranarray(np.roll(
                        mask_utils.decode(d["segmentation"]), 3, axis=1)))) for d in dets]
        for d in bad:
            d["segmentation"]["counts"] = d["segmentation"]["counts"].decode()
        ev = COCOeval(gt, gt.loadRes(bad), iou)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] < 0.9


# ---- Cityscapes -----------------------------------------------------------------------------------------------

def test_cityscapes_ids_agree_with_the_official_label_table(ds, exported):
    from cityscapesscripts.helpers.labels import id2label

    from simgen.io.export.cityscapes import cityscapes_labels

    # our copy of the label table is the official one
    for i, lab in cityscapes_labels().items():
        off = id2label[i]
        assert (lab["name"], lab["train_id"], lab["instances"], lab["colour"]) == \
            (off.name, off.trainId, off.hasInstances, tuple(off.color))
    # the class table's train ids are the official train ids of its label ids
    for c in class_table().classes:
        assert c.cityscapes_train_id == id2label[c.cityscapes_id].trainId, c.name

    out, summary = exported["cityscapes"]
    reader = DatasetReader(ds)
    files = sorted((out / "gtFine" / "train").rglob("*_gtFine_labelIds.png"))
    assert len(files) == len(reader) and summary.exported == len(reader)
    lut = {c.id: c.cityscapes_id for c in class_table().classes}
    for e in reader.entries:
        city = f"{e.scene}-{e.camera}"
        seq = zlib.crc32(e.sequence.encode()) % 10**6
        stem = out / "gtFine" / "train" / city / f"{city}_{seq:06d}_{e.frame:06d}_gtFine"
        sem, inst = reader.semantic(e), reader.instance(e)
        label = np.array(Image.open(f"{stem}_labelIds.png"))
        train = np.array(Image.open(f"{stem}_labelTrainIds.png"))
        colour = np.array(Image.open(f"{stem}_color.png").convert("RGB"))
        iids = np.array(Image.open(f"{stem}_instanceIds.png")).astype(np.int64)
        assert np.array_equal(label, np.vectorize(lut.get)(sem))
        assert np.array_equal(train, np.vectorize(lambda i: id2label[i].trainId)(label))
        assert np.array_equal(colour, np.array([id2label[i].color for i in label.ravel()]).reshape(colour.shape))
        has = np.vectorize(lambda i: id2label[i].hasInstances)(label) & (inst > 0)
        assert np.array_equal(iids[~has], label[~has].astype(np.int64))
        assert np.array_equal(iids[has] // 1000, label[has].astype(np.int64))
        pairs = set(zip(iids[has].tolist(), inst[has].tolist()))
        assert len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs}), "one id per instance"
        assert has.any() if e.scene == "street" else True
        left = out / "leftImg8bit" / "train" / city / f"{city}_{seq:06d}_{e.frame:06d}_leftImg8bit.png"
        assert left.read_bytes() == reader.path(e, "rgb").read_bytes()


# ---- shards ---------------------------------------------------------------------------------------------------

def test_webdataset_iterates_the_shards_and_pyarrow_filters_the_manifest(ds, exported):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import webdataset as wds

    from simgen.io.dataset import decode_modality

    out, summary = exported["shards"]
    reader = DatasetReader(ds)
    tars = sorted(out.glob("shard-*.tar"))
    assert len(tars) == 3, "7 samples, 3 per shard"
    by_id = {e.sample_id: e for e in reader.entries}
    keys = []
    for sample in wds.WebDataset([str(t) for t in tars], shardshuffle=False):
        keys.append(sample["__key__"])
        row = json.loads(sample["row.json"])
        e = by_id[row["sample_id"]]
        assert "." not in sample["__key__"]
        for modality, rel in e.files.items():
            ext = rel.rsplit(".", 1)[1]
            data = sample[f"{modality}.{ext}"]
            assert data == reader.path(e, modality).read_bytes(), "lossless"
        depth = decode_modality(sample["depth.exr"], "depth", "x")
        assert np.array_equal(depth, reader.depth(e))
        if "flow_fwd" in e.files:
            tmp = out.parent / "x.flo"
            tmp.write_bytes(sample["flow_fwd.flo"])
            assert np.array_equal(cv2.readOpticalFlow(str(tmp)), decode_modality(sample["flow_fwd.flo"], "flow_fwd", "x"))
    assert len(keys) == len(reader) == len(set(keys))
    order = [json.loads(s["row.json"])["sample_id"] for s in wds.WebDataset([str(t) for t in tars], shardshuffle=False)]
    assert order != [e.sample_id for e in reader.entries], "shuffled across sequences"

    table = pq.read_table(out / "manifest.parquet")
    assert table.num_rows == len(reader)
    foggy = pq.read_table(out / "manifest.parquet", filters=[("knob.fog_density", ">", 0.2)])
    assert set(foggy.column("scene").to_pylist()) == {"rig"} and foggy.num_rows == 4
    night = table.filter(pc.equal(table["knob.night"], True))
    assert night.num_rows == 4
    for rec in table.to_pylist():
        e = by_id[rec["sample_id"]]
        meta = reader.meta(e)
        assert rec["count.car"] == sum(o.class_name == "car" and o.visible_pixels > 0 for o in meta.objects)
        assert rec["shard"] in {t.name for t in tars} and f"{rec['key']}.rgb.png" in rec["members"]


# ---- driver: resume, bad input, selection ---------------------------------------------------------------------

def test_resume_completes_what_is_missing(ds, tmp_path, monkeypatch):
    from simgen.io.export.kitti import KittiExporter

    out = tmp_path / "k"
    real = KittiExporter.write
    calls = []

    def dying(self, row, index):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(row.sample_id)
        return real(self, row, index)

    monkeypatch.setattr(KittiExporter, "write", dying)
    with pytest.raises(KeyboardInterrupt):
        export_dataset(ds, "kitti", out)
    monkeypatch.setattr(KittiExporter, "write", real)
    assert len(read_ledger(out)) == 3
    s = export_dataset(ds, "kitti", out)
    assert (s.already, s.exported) == (3, 4)
    lost = out / "object/training/label_2/000001.txt"
    lost.unlink()
    s = export_dataset(ds, "kitti", out)
    assert (s.already, s.exported) == (6, 1) and lost.is_file()
    assert sorted(_ledger_by_index(out)) == list(range(7))
    with pytest.raises(ExportError, match="another export"):
        export_dataset(ds, "kitti", out, filters=["tag=night"])


def test_shards_resume_redoes_only_the_open_shard(ds, tmp_path, monkeypatch):
    from simgen.io.export.shards import ShardExporter

    out = tmp_path / "s"
    real = ShardExporter.write
    n = []

    def dying(self, row, index):
        if len(n) == 5:
            raise KeyboardInterrupt
        n.append(1)
        return real(self, row, index)

    monkeypatch.setattr(ShardExporter, "write", dying)
    with pytest.raises(KeyboardInterrupt):
        export_dataset(ds, "shards", out, shard_samples=2)
    monkeypatch.setattr(ShardExporter, "write", real)
    assert len(list(out.glob("shard-*.tar"))) == 2 and len(read_ledger(out)) == 4
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [], "no temporary shard left"
    s = export_dataset(ds, "shards", out, shard_samples=2)
    assert (s.already, s.exported) == (4, 3)
    import pyarrow.parquet as pq

    table = pq.read_table(out / "manifest.parquet")
    assert sorted(table.column("sample_id").to_pylist()) == sorted(e.sample_id for e in DatasetReader(ds).entries)
    assert len(list(out.glob("shard-*.tar"))) == 4


def test_bad_input_is_skipped_with_one_line_naming_the_file(ds, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(ds, bad)
    reader = DatasetReader(bad)
    e0, e1 = reader.entries[0], reader.entries[3]
    missing = reader.path(e0, "depth")
    missing.unlink()
    truncated = reader.path(e1, "rgb")
    truncated.write_bytes(truncated.read_bytes()[:60])
    broken_meta = reader.path(reader.entries[5], "meta")
    broken_meta.write_text('{"width": 64, "height": ')
    with open(bad / "manifest.jsonl", "a") as f:
        f.write(json.dumps({"sample_id": "x/0000/000000", "scene": "x", "variant": 0, "camera": "cam", "frame": 0,
                            "files": {}}) + "\n")
        f.write(json.dumps({"sample_id": "x/0000/000001", "scene": "x", "variant": 0, "camera": "cam", "frame": 1,
                            "files": {"rgb": "x/0000/000001.rgb.png"}}) + "\n")
    with pytest.raises(DatasetError, match=r"manifest.jsonl:8: row 'x/0000/000000' lists no files"):
        DatasetReader(bad)
    with pytest.raises(DatasetError, match=str(missing)):
        reader.depth(e0)
    with pytest.raises(DatasetError, match=str(truncated)):
        reader.rgb(e1)

    code = main(["export", str(bad), "--format", "kitti", "--out", str(tmp_path / "k"), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0
    assert "8 sample(s) selected, 4 exported, 0 already complete, 4 skipped" in text
    lines = [x for x in text.splitlines() if "skipped" in x and x.startswith("  ")]
    assert len(lines) == 5
    assert any(str(broken_meta) in x and "JSON" in x for x in lines)
    assert any(str(missing) in x and "missing" in x for x in lines)
    assert any(str(truncated) in x and "PNG" in x for x in lines)
    assert any("manifest.jsonl:8" in x and "no files" in x for x in lines)
    assert any("manifest.jsonl" in x and "'x/0000/000001' has no 'meta'" in x for x in lines)

    code = main(["export", str(bad), "--format", "yolo", "--out", str(tmp_path / "y"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.strip().count("\n") == 0 and "unknown export format 'yolo'" in err
    assert not (tmp_path / "y").exists()
    code = main(["export", str(tmp_path / "nothing"), "--format", "coco", "--out", str(tmp_path / "c"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "not a simgen dataset" in err and err.strip().count("\n") == 0


def test_filters_and_sequence_splits(ds):
    rows = DatasetReader(ds).entries
    assert {r.scene for r in select(rows, ["tag=night"])} == {"rig"}
    assert {r.scene for r in select(rows, ["tag!=night"])} == {"street"}
    assert {r.scene for r in select(rows, ["fog_density<0.2"])} == {"street"}
    assert {r.scene for r in select(rows, ["weather=fog", "camera=left"])} == {"rig"}
    assert len(select(rows, ["night=true"])) == 4 and len(select(rows, ["frame>=1"])) == 4
    assert select(rows, ["no_such_knob=1"]) == []
    for bad in ("fog_density", "fog_density<<", "tag<3", "weather<rain"):
        with pytest.raises(SelectionError, match="filter"):
            parse_filter(bad)
    # many sequences: every sequence (all its frames and cameras) lands in one split, shares roughly kept
    from dataclasses import replace

    fake = [replace(rows[0], scene=f"s{i}", camera=c, frame=t, sample_id=f"s{i}/{c}/{t}",
                    raw={**rows[0].raw, "sequence": f"s{i}/v0000-s0"})
            for i in range(300) for c in ("front", "left") for t in range(2)]
    shares = {"train": 0.8, "val": 0.1, "test": 0.1}
    parts = {name: select(fake, split=name, shares=shares) for name in shares}
    assert sum(len(p) for p in parts.values()) == len(fake)
    seqs = {name: {r.sequence for r in p} for name, p in parts.items()}
    assert not (seqs["train"] & seqs["val"]) and not (seqs["train"] & seqs["test"]) and not (seqs["val"] & seqs["test"])
    assert 0.7 < len(seqs["train"]) / 300 < 0.9
    assert split_of("s1/0000", shares, seed=0) == split_of("s1/0000", shares, seed=0)
    with pytest.raises(SelectionError, match="unknown split"):
        select(fake, split="dev", shares=shares)


def test_kitti_skips_frames_of_a_distorting_lens(ds, tmp_path):
    lens = tmp_path / "lens"
    shutil.copytree(ds, lens)
    reader = DatasetReader(lens)
    meta_path = reader.path(reader.entries[0], "meta")
    meta = json.loads(meta_path.read_text())
    meta.update(camera_model="fisheye", D=[0.1, 0.0, 0.0, 0.0])
    meta_path.write_text(json.dumps(meta))
    s = export_dataset(lens, "kitti", tmp_path / "k")
    assert s.exported == len(reader) - 1 and len(s.skipped) == 1
    assert str(meta_path) in s.skipped[0] and "fisheye" in s.skipped[0]
    assert export_dataset(lens, "coco", tmp_path / "c").exported == len(reader), "COCO holds any camera"
