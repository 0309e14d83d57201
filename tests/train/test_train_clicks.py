"""Training: config, sources, augmentation, resume, and 2-process data-parallel training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from occseg.checkpoint import load_clicknet, read_checkpoint
from occseg.errors import ConfigError
from occseg.train.augment import augment
from occseg.train.clicks import train_clicks
from occseg.train.config import AugmentConfig, LoopConfig, TrainConfig, load_config
from occseg.train.loop import StepSampler, learning_rate_factor, make_optimizer
from occseg.train.sources import (
    CocoSource,
    SampleSource,
    SyntheticShapesSource,
    TargetSource,
    TrainTarget,
    coco_lvis_keep,
    make_source,
)
from occseg.types import Sample

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = CONFIGS / "clicknet-tiny-test.yaml"


def test_shipped_configs_load() -> None:
    for path in sorted(CONFIGS.glob("clicknet-*.yaml")):
        cfg = load_config("clicks", path)
        assert cfg.model_config().backbone
    cfg = load_config("clicks", CONFIGS / "clicknet-hrnet18s-cpu.yaml")
    assert cfg.max_iters == 3 and 256 <= min(cfg.crop_size) <= 320


def test_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stepz: 3\n")
    with pytest.raises(ConfigError, match="unknown option"):
        load_config("clicks", bad)
    bad.write_text("model: {backbone: vgg}\n")
    with pytest.raises(ConfigError, match="backbone"):
        load_config("clicks", bad)
    bad.write_text("augment: {flipp: true}\n")
    with pytest.raises(ConfigError, match=r"augment\.flipp"):
        load_config("clicks", bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("clicks", tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match="unknown data kind"):
        make_source([{"kind": "imagenet"}])


def test_augment_shapes_and_object_kept() -> None:
    rng = np.random.default_rng(0)
    src = SyntheticShapesSource(n=8, size=40)
    for i in range(8):
        t = augment(src.get(i, rng), (56, 48), rng, AugmentConfig(min_object_pixels=10))
        assert t.image.shape == (56, 48, 3) and t.image.dtype == np.uint8
        assert t.mask.shape == (56, 48) and t.mask.any()
        assert t.ignore is not None and t.ignore.any()  # 40 px scaled ≤ 1.4 → padded
        assert not (t.mask & t.ignore).any()


def test_augment_adds_pixel_noise_of_the_given_sigma() -> None:
    flat = TrainTarget(np.full((64, 64, 3), 100, np.uint8), np.ones((64, 64), bool))
    plain = AugmentConfig(scale_range=(1.0, 1.0), flip=False, brightness=0, contrast=0, rgb_shift=0)
    assert (augment(flat, (64, 64), np.random.default_rng(0), plain).image == 100).all()
    noisy = augment(flat, (64, 64), np.random.default_rng(0), replace(plain, noise=2.0)).image
    assert abs(noisy.astype(float).std() - 2.0) < 0.15 and abs(noisy.mean() - 100) < 0.1
    with pytest.raises(ConfigError, match="noise"):
        AugmentConfig(noise=-1)


def test_sources() -> None:
    rng = np.random.default_rng(0)
    src = SyntheticShapesSource(n=4, size=32)
    assert isinstance(src, TargetSource)
    a, b = src.get(1, np.random.default_rng(5)), src.get(1, np.random.default_rng(5))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert a.others is not None and not (a.others & a.mask).any()
    flat = SyntheticShapesSource(n=4, size=32, noise=0).get(1, np.random.default_rng(5))
    assert np.array_equal(flat.mask, a.mask)  # the same scene, without the noise
    assert len(np.unique(flat.image[flat.mask].reshape(-1, 3), axis=0)) == 1
    assert len(np.unique(a.image[a.mask].reshape(-1, 3), axis=0)) > 1
    with pytest.raises(ConfigError, match="noise"):
        SyntheticShapesSource(noise=-1)
    img = np.zeros((8, 8, 3), np.uint8)
    mask = np.eye(8, dtype=bool)
    t = SampleSource([Sample("s", img, mask)]).get(0, rng)
    assert isinstance(t, TrainTarget) and np.array_equal(t.mask, mask)


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


def test_coco_lvis_merge_rule() -> None:
    """RITM Sec. 4.2: a COCO mask is dropped iff its IoU with some LVIS mask exceeds 0.8."""
    a = np.zeros((20, 20), bool)
    a[0:10, 0:10] = True  # 100 px
    near = np.zeros_like(a)
    near[0:10, 0:9] = True  # IoU 0.9 with a
    far = np.zeros_like(a)
    far[0:10, 0:7] = True  # IoU 0.7 with a
    other = np.zeros_like(a)
    other[15:20, 15:20] = True
    keep = coco_lvis_keep([_rle(a), _rle(other)], [_rle(near)])
    assert keep.tolist() == [False, True]
    assert coco_lvis_keep([_rle(a)], [_rle(far)]).tolist() == [True]
    assert coco_lvis_keep([_rle(a)], []).tolist() == [True]


def test_coco_source_with_lvis(tmp_path: Path) -> None:
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(tmp_path / "im.png")
    image = {"id": 1, "file_name": "im.png", "height": 20, "width": 30}
    poly = [[2, 2, 12, 2, 12, 12, 2, 12]]  # x, y pairs: a 10×10 square
    coco = {
        "images": [image],
        "annotations": [
            {"id": 1, "image_id": 1, "segmentation": poly, "area": 100, "iscrowd": 0},
            {
                "id": 2,
                "image_id": 1,
                "segmentation": [[20, 2, 28, 2, 28, 10, 20, 10]],
                "area": 64,
                "iscrowd": 0,
            },
        ],
    }
    lvis = {
        "images": [image],
        "annotations": [{"id": 9, "image_id": 1, "segmentation": poly, "area": 100}],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    (tmp_path / "lvis.json").write_text(json.dumps(lvis))
    src = CocoSource(tmp_path / "coco.json", tmp_path, lvis=tmp_path / "lvis.json", min_area=10)
    masks, ignore = src.masks(1)
    assert len(masks) == 2 and ignore is None  # duplicate COCO square dropped, LVIS kept
    t = src.get(0, np.random.default_rng(0))
    assert t.image.shape == (20, 30, 3) and t.mask.any() and t.others is not None


def test_lr_schedule_and_param_groups() -> None:
    cfg = LoopConfig(steps=100, lr=1.0, lr_milestones=(0.5, 0.9), lr_gamma=0.1)
    assert [learning_rate_factor(s, cfg) for s in (0, 49, 50, 89, 90)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01]
    )
    from occseg.nn import ClickNet, ClickNetConfig

    opt = make_optimizer(
        ClickNet(ClickNetConfig(width_mult=0.125)), TrainConfig.from_dict({"lr": 1e-3}).loop
    )
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 1e-3])


def test_step_sampler_partitions_samples() -> None:
    r0 = list(StepSampler(1, 3, 2, rank=0, world=2))
    r1 = list(StepSampler(1, 3, 2, rank=1, world=2))
    assert r0 == [4, 5, 8, 9] and r1 == [6, 7, 10, 11]


def _tiny(tmp_path: Path, **overrides) -> TrainConfig:
    options = {"out": str(tmp_path), "crop_size": [32, 32], "batch_size": 2, "steps": 6}
    options.update(log_every=1, checkpoint_every=3, device="cpu")  # the same where CUDA is
    options.update(overrides)
    return load_config("clicks", TINY, **options)


def test_resume_continues_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    torch.set_num_threads(1)
    full = train_clicks(_tiny(tmp_path / "full"), progress=False)
    train_clicks(_tiny(tmp_path / "part", steps=3), progress=False)
    (tmp_path / "part" / "model.pt").unlink()
    with (tmp_path / "part" / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 4, "loss": 9.0}) + "\n")  # logged after the checkpoint
    resumed = train_clicks(_tiny(tmp_path / "part"), progress=False)
    assert full["start_step"] == 0 and resumed["start_step"] == 3
    a = read_checkpoint(tmp_path / "full" / "last.pt")
    b = read_checkpoint(tmp_path / "part" / "last.pt")
    assert a["step"] == b["step"] == 6
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], atol=1e-6, rtol=1e-5)
    log = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    part = [json.loads(x) for x in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in part] == [1, 2, 3, 4, 5, 6] and part[3]["loss"] != 9.0
    model = load_clicknet(tmp_path / "full" / "model.pt")
    assert model.config == _tiny(tmp_path).model_config()


def test_two_process_gloo_training_loss_falls(tmp_path: Path) -> None:
    """torchrun, 2 processes, gloo: the loss falls on a tiny generated set."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "occseg", "train", "clicks", "--config", str(TINY), "--out", str(tmp_path)]
    cmd += ["--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(log) == 12 and log[-1]["step"] == 120
    first = np.mean([r["loss"] for r in log[:3]])
    last = np.mean([r["loss"] for r in log[-4:]])
    assert last < first - 0.03, [r["loss"] for r in log]
    assert np.mean([r["iou"] for r in log[-4:]]) > np.mean([r["iou"] for r in log[:3]]) + 0.2
    payload = read_checkpoint(tmp_path / "last.pt")
    assert payload["step"] == 120 and payload["train_config"]["batch_size"] == 4
    load_clicknet(tmp_path / "model.pt")


def test_bsds_image_fraction_is_a_fixed_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    from occseg.train.sources import BSDSRegionSource

    pairs = [(Path(f"{i}.jpg"), Path(f"{i}.mat")) for i in range(20)]
    monkeypatch.setattr("occseg.data.list_bsds500", lambda root, split: pairs)
    full = BSDSRegionSource("root", splits=("train",))
    tenth = BSDSRegionSource("root", splits=("train",), image_fraction=0.1)
    assert len(full) == 20 and len(tenth) == 2 and set(tenth.pairs) <= set(pairs)
    again = BSDSRegionSource("root", splits=("train",), image_fraction=0.1)
    assert again.pairs == tenth.pairs  # drawn once, the same every time
    other = [BSDSRegionSource("root", ("train",), 1.0 / 100, 0.1, seed) for seed in (1, 2)]
    assert any(o.pairs != tenth.pairs for o in other)
    assert len(BSDSRegionSource("root", ("train",), image_fraction=0.01)) == 1  # at least one
    with pytest.raises(ConfigError, match="image_fraction"):
        BSDSRegionSource("root", image_fraction=0.0)


def test_init_starts_from_a_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    torch.set_num_threads(1)
    train_clicks(_tiny(tmp_path / "first", steps=2), progress=False)
    start = tmp_path / "first" / "model.pt"
    cfg = _tiny(tmp_path / "tuned", steps=1, lr=1e-12, init=str(start))  # Adam moves ~lr
    train_clicks(cfg, progress=False)
    before, after = read_checkpoint(start), read_checkpoint(tmp_path / "tuned" / "model.pt")
    for k, v in before["model"].items():
        if v.is_floating_point() and "running" not in k:  # BN statistics move regardless
            torch.testing.assert_close(after["model"][k], v)
    other = {**_tiny(tmp_path).model, "width_mult": 0.25}
    bad = _tiny(tmp_path / "bad", init=str(start), model=other)
    with pytest.raises(ConfigError, match="init checkpoint"):
        train_clicks(bad, progress=False)
    # a fine-tuning may add the predictor's input dither: preprocessing, not a weight
    model = {**_tiny(tmp_path).model, "input_dither": 1.0}
    train_clicks(
        _tiny(tmp_path / "dithered", steps=1, init=str(start), model=model), progress=False
    )
    assert load_clicknet(tmp_path / "dithered" / "model.pt").config.input_dither == 1.0
