"""Two-stage training of the OB model (paper 000, Sec. 3.2) on tiny synthetic scenes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.checkpoint import load_obnet, read_checkpoint
from occseg.data.boundary_sample import BoundarySample
from occseg.errors import ConfigError
from occseg.nn.obnet import OBNet
from occseg.train.boundaries import (
    BoundarySource,
    BoundaryTrainSet,
    boundary_step,
    boundary_target,
    collate,
    negative_weights,
    source_slots,
    stage2_inputs,
    stage2_start,
    train_boundaries,
)
from occseg.train.config import BoundaryTrainConfig, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY_MODEL = {"width_mult": 0.25, "channels": 4, "boundary_channels": 4, "strip_kernel": 5}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from occseg.synth import generate_dataset

    root = tmp_path_factory.mktemp("synth") / "scenes"
    generate_dataset(root, n=3, width=64, height=64, seed=4, progress=False)
    return root


def _config(out: Path, scenes: Path, **overrides) -> BoundaryTrainConfig:
    options = {
        "model": TINY_MODEL,
        "data": [f"synth:{scenes}"],
        "crop_size": [48, 48],
        "batch_size": 2,
        "steps": 2,
        "stage2_step": 1,
        "log_every": 1,
        "checkpoint_every": 1,
        "threads": 1,
        "device": "cpu",  # the same on a machine with CUDA
        "out": str(out),
    }
    options.update(overrides)
    return BoundaryTrainConfig.from_dict(options)


def test_shipped_config_loads() -> None:
    cfg = load_config("boundaries", CONFIGS / "obnet-cpu.yaml")
    mc = cfg.model_config()
    assert mc.scribble_radius == 12 and mc.prev_threshold == 0.7 and not mc.binary_prev
    assert cfg.stage2_epoch == 5 and cfg.max_segments == 5 and cfg.threshold == 0.7


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option"):
        BoundaryTrainConfig.from_dict({"stepz": 1})
    with pytest.raises(ConfigError, match="model"):
        BoundaryTrainConfig.from_dict({"model": {"upsample": "nearest"}})
    with pytest.raises(ConfigError, match="KIND:PATH"):
        BoundaryTrainConfig.from_dict({"data": ["just/a/path"]})
    with pytest.raises(ConfigError, match="weight must be > 0"):
        BoundaryTrainConfig.from_dict({"data": [{"spec": "synth:x", "weight": 0}]})
    with pytest.raises(ConfigError, match="consensus must be in"):
        BoundaryTrainConfig.from_dict({"data": [{"spec": "synth:x", "consensus": 1.5}]})
    with pytest.raises(ConfigError, match="no training data"):
        train_boundaries(BoundaryTrainConfig.from_dict({"out": str(tmp_path)}), progress=False)


def test_negative_weights_rise_under_fp_scribbles_only() -> None:
    maps = torch.zeros(1, 2, 4, 4)
    maps[0, 0, 0] = 1  # FN scribble: no effect
    maps[0, 1, 3] = 1  # FP scribble
    lam = negative_weights(maps, BoundaryTrainConfig(neg_weight=2.0, fp_scribble_weight=10.0))
    assert lam.shape == (1, 1, 4, 4)
    assert torch.all(lam[0, 0, :3] == 2.0) and torch.all(lam[0, 0, 3] == 20.0)
    plain = negative_weights(maps, BoundaryTrainConfig(neg_weight=2.0))
    assert torch.all(plain == 2.0)


def test_source_slots_share_every_batch() -> None:
    assert source_slots([1.0], 4) == [0, 0, 0, 0]
    assert source_slots([3.0, 1.0], 8) == [0] * 6 + [1] * 2
    assert source_slots([1.0, 1.0, 1.0], 4) == [0, 0, 1, 2]
    assert source_slots([10.0, 1.0, 1.0], 3) == [0, 1, 2]  # every set keeps a slot
    with pytest.raises(ConfigError, match="batch_size"):
        source_slots([1.0, 1.0, 1.0], 2)


def test_consensus_target_is_rcf_rule() -> None:
    """RCF: boundary where more than η of the annotators agree, else ignored if marked."""
    a, b, c = (np.zeros((1, 6), np.uint8) for _ in range(3))
    a[0, :3] = 1  # votes on the exact pixel: 2 2 1 0 1 0 (of 3)
    b[0, :2] = 1
    c[0, 4] = 1
    sample = BoundarySample("s", np.zeros((1, 6, 3), np.uint8), (a, b, c))
    target, ignored = boundary_target(sample, 0.5)
    assert target.tolist() == [[True, True, False, False, False, False]]
    assert ignored.tolist() == [[False, False, True, False, True, False]]
    # within 1 px, b agrees with a at pixel 2; nobody comes within 1 px of c's pixel 4
    target, ignored = boundary_target(sample, 0.5, radius=1)
    assert target.tolist() == [[True, True, True, False, False, False]]
    assert ignored.tolist() == [[False, False, False, False, True, False]]
    union, none = boundary_target(sample, None)
    assert union.tolist() == [[True, True, True, False, True, False]] and not none.any()


def test_two_sources_in_every_batch_with_their_own_loss(scenes: Path, tmp_path: Path) -> None:
    from occseg.data.boundaries import open_boundary_dataset

    data = open_boundary_dataset(f"synth:{scenes}")
    cfg = _config(tmp_path, scenes, batch_size=4, stage2_step=5)
    ds = BoundaryTrainSet(
        [BoundarySource("synth", data), BoundarySource("other", data, 1.0, 0.5)], cfg, 5
    )
    batch = collate([ds[k] for k in range(4)])
    assert batch["source"].tolist() == [0, 0, 1, 1]
    torch.manual_seed(0)
    net = OBNet(cfg.model_config())
    stats = boundary_step(
        net,
        net,
        batch,
        torch.optim.SGD(net.parameters(), lr=0.0),
        cfg,
        np.random.default_rng(0),
        ["synth", "other"],
    )
    assert stats["loss_synth"] > 0 and stats["loss_other"] > 0
    assert stats["loss_synth"] != stats["loss_other"]
    mean = (stats["loss_synth"] + stats["loss_other"]) / 2  # the loss is a mean per image
    assert stats["fused_loss"] == pytest.approx(mean, rel=1e-5)


def test_stage2_start_in_epochs() -> None:
    cfg = BoundaryTrainConfig.from_dict({"batch_size": 4})
    assert stage2_start(cfg, n_images=10) == 4 * 3  # 3 steps per epoch, stage 2 from epoch 5
    assert stage2_start(cfg, n_images=10, world=2) == 4 * 2
    assert stage2_start(BoundaryTrainConfig(stage2_step=7), 10) == 7


def test_dataset_stages(scenes: Path, tmp_path: Path) -> None:
    from occseg.data.boundaries import open_boundary_dataset

    data = open_boundary_dataset(f"synth:{scenes}")
    cfg = _config(tmp_path, scenes, crop_size=[80, 64])
    ds = BoundaryTrainSet([BoundarySource("synth", data)], cfg, stage2_from=1)
    first, later = ds[0], ds[2]  # step 0 (stage 1) and step 1 (stage 2)
    assert first["stage"] == 1 and later["stage"] == 2
    assert first["image"].shape == (3, 80, 64) and first["gt"].shape == (80, 64)
    assert not first["valid"][64:].any() and first["valid"][:64].all()  # padded rows
    assert not later["maps"].any()  # stage-2 maps come from the model, in the step
    assert first["maps"][:, ~first["valid"]].max(initial=0) == 0
    again = ds[0]
    assert np.array_equal(again["maps"], first["maps"])  # seeded by the sample number


def test_stage2_inputs_from_the_model(scenes: Path, tmp_path: Path) -> None:
    from occseg.data.boundaries import open_boundary_dataset

    cfg = _config(tmp_path, scenes)
    data = open_boundary_dataset(f"synth:{scenes}")
    ds = BoundaryTrainSet([BoundarySource("synth", data)], cfg, stage2_from=0)
    batch = collate([ds[0], ds[1]])
    torch.manual_seed(0)
    net = OBNet(cfg.model_config()).train()
    # A known automatic output: a vertical ridge of probability 0.9 (column 20) between
    # shoulders of 0.6, and 0.05 elsewhere; the untrained network's output would say nothing.
    ridge = torch.full((2, 1, 48, 48), 0.05)
    ridge[..., 19], ridge[..., 20], ridge[..., 21] = 0.6, 0.9, 0.6
    net.forward = lambda image, maps, prev: torch.logit(ridge)  # type: ignore[method-assign]
    maps, prev = stage2_inputs(net, batch, cfg, np.random.default_rng(0))
    assert net.training  # restored after the no-gradient pass
    assert maps.shape == (2, 2, 48, 48) and prev.shape == (2, 1, 48, 48)
    valid = torch.from_numpy(np.asarray(batch["valid"]))[:, None].bool()
    kept = prev[prev > 0]
    assert kept.numel() > 0 and float(kept.min()) >= 0.7  # threshold T = 0.7
    assert float(kept.min()) < 1.0  # non-binary: the probability itself is fed back
    assert not prev[..., :18].any() and not prev[..., 23:].any()  # only the thinned ridge
    assert not prev[~valid.expand_as(prev)].any()  # padding gives no previous output


def test_two_step_smoke_run_and_reload(scenes: Path, tmp_path: Path) -> None:
    """Stage 1 then stage 2, finite losses, a checkpoint that rebuilds the same model."""
    cfg = _config(tmp_path / "run", scenes)
    summary = train_boundaries(cfg, progress=False)
    assert summary["stage2_start"] == 1 and summary["steps"] == 2
    log = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log] == [1.0, 2.0]
    assert all(np.isfinite(r["loss"]) for r in log)
    payload = read_checkpoint(tmp_path / "run" / "last.pt", "occseg.obnet")
    assert payload["step"] == 2 and payload["train_config"]["stage2_step"] == 1
    model = load_obnet(tmp_path / "run" / "model.pt")
    assert model.config == cfg.model_config()
    last = read_checkpoint(tmp_path / "run" / "last.pt", "occseg.obnet")["model"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, last[k]), k
    x, m = torch.rand(1, 3, 32, 32), torch.zeros(1, 2, 32, 32)
    again = load_obnet(tmp_path / "run" / "model.pt")
    with torch.no_grad():
        assert torch.equal(model(x, m), again(x, m))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_a_gpu_is_refused(scenes: Path, tmp_path: Path) -> None:
    """The trainer honours ``device`` (it trained on the CPU whatever that said)."""
    with pytest.raises(ConfigError, match="no CUDA device"):
        train_boundaries(_config(tmp_path / "run", scenes, device="cuda"), progress=False)
    assert not (tmp_path / "run" / "last.pt").exists()


def test_resume_continues_exactly(scenes: Path, tmp_path: Path) -> None:
    full = train_boundaries(_config(tmp_path / "full", scenes, steps=3), progress=False)
    train_boundaries(_config(tmp_path / "part", scenes, steps=2), progress=False)
    resumed = train_boundaries(_config(tmp_path / "part", scenes, steps=3), progress=False)
    assert full["start_step"] == 0 and resumed["start_step"] == 2
    a = read_checkpoint(tmp_path / "full" / "last.pt", "occseg.obnet")["model"]
    b = read_checkpoint(tmp_path / "part" / "last.pt", "occseg.obnet")["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=1e-5)


def test_click_checkpoint_is_not_an_ob_checkpoint(tmp_path: Path) -> None:
    from occseg.checkpoint import save_checkpoint
    from occseg.errors import FileFormatError
    from occseg.nn import ClickNet, ClickNetConfig

    save_checkpoint(
        tmp_path / "c.pt", ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.125))
    )
    with pytest.raises(FileFormatError, match="occseg train boundaries"):
        load_obnet(tmp_path / "c.pt")


def test_pretrained_lite_trunk_starts_from_the_imagenet_weights(tmp_path: Path, scenes: Path):
    from occseg.nn.backbones.efficientnet import imagenet_state_dict

    model = {"backbone": "efficientnet_lite0", "pretrained": True, **TINY_MODEL}
    cfg = _config(tmp_path, scenes, model=model, steps=1, lr=1e-5)
    train_boundaries(cfg, progress=False)
    net = load_obnet(tmp_path / "model.pt")
    assert net.config.pretrained
    state = imagenet_state_dict("efficientnet_lite0")
    got = net.backbone.state_dict()
    for key in ("_conv_stem.weight", "_blocks.15._project_conv.weight"):
        n = state[key].shape[1]  # the stem's RGB channels
        assert (got[key][:, :n] - state[key]).abs().max() < 1e-4  # one small Adam step away


def test_init_fine_tunes_a_checkpoint_with_its_options(scenes: Path, tmp_path: Path) -> None:
    from occseg.train.boundaries import initial_ob_model

    train_boundaries(_config(tmp_path / "first", scenes, steps=1), progress=False)
    start = load_obnet(tmp_path / "first" / "model.pt").state_dict()
    cfg = _config(tmp_path / "tuned", scenes, init=str(tmp_path / "first" / "model.pt"), lr=1e-6)
    net = initial_ob_model(cfg)
    assert net.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, start[k]), k
    train_boundaries(cfg, progress=False)
    tuned = load_obnet(tmp_path / "tuned" / "model.pt").state_dict()
    for k, v in start.items():
        if k.endswith("weight"):  # two Adam steps of 1e-6 from the checkpoint, not a new start
            assert (tuned[k] - v).abs().max() < 1e-5, k
    other = {**TINY_MODEL, "channels": 8}
    with pytest.raises(ConfigError, match="init checkpoint"):
        initial_ob_model(_config(tmp_path / "x", scenes, init=cfg.init, model=other))


def test_both_stages_under_bfloat16_autocast_as_on_cuda(
    scenes: Path, tmp_path: Path, cuda_autocast_on_cpu: Callable[[str], None]
) -> None:
    """The CUDA path (bfloat16 forward passes, float32 losses) run on the CPU, stage 2's
    automatic pass included: the losses match float32 to bfloat16's precision."""
    from occseg.data.boundaries import open_boundary_dataset

    cfg = _config(tmp_path, scenes, batch_size=2)
    data = open_boundary_dataset(f"synth:{scenes}")
    stats = []
    for bf16 in (False, True):
        if bf16:
            cuda_autocast_on_cpu("occseg.train.boundaries")
        for stage in (1, 2):
            ds = BoundaryTrainSet([BoundarySource("synth", data)], cfg, 0 if stage == 2 else 5)
            torch.manual_seed(0)
            net = OBNet(cfg.model_config())
            optimizer = torch.optim.SGD(net.parameters(), lr=0.0)
            batch = collate([ds[k] for k in range(2)])
            assert batch["stage"] == stage
            stats.append(boundary_step(net, net, batch, optimizer, cfg, np.random.default_rng(0)))
    for full, half in zip(stats[:2], stats[2:], strict=True):
        assert np.isfinite(half["loss"]) and half["loss"] == pytest.approx(full["loss"], rel=0.05)
