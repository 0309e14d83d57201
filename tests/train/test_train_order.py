"""Training the OOSIS network (paper 001, Sec. 3.1) on tiny synthetic scenes: a smoke test."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.checkpoint import load_ordernet, read_checkpoint
from occseg.data.synth import SynthSample
from occseg.errors import ConfigError
from occseg.nn.losses import oosis_loss
from occseg.nn.ordernet import OrderNet
from occseg.train.config import OrderTrainConfig, load_config
from occseg.train.order import (
    OrderTrainSet,
    collate,
    rescale_targets,
    train_order,
    train_step,
    training_targets,
)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    from occseg.synth import generate_dataset

    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, n=2, width=64, height=64, seed=3, progress=False)
    return root


def _config(root: Path, out: Path, **kw) -> OrderTrainConfig:
    options = {
        "model": {"width_mult": 0.125, "pool_bins": [1, 2]},
        "data": [str(root)],
        "crop_size": [48, 48],
        "batch_size": 2,
        "steps": 2,
        "log_every": 1,
        "checkpoint_every": 1,
        "threads": 1,
        "device": "cpu",  # the same on a machine with CUDA
        "out": str(out),
        **kw,
    }
    return OrderTrainConfig.from_dict(options)


def test_targets_of_a_scene(scenes):
    cfg = _config(scenes, scenes / "unused")
    data = OrderTrainSet(cfg)
    sample = data.sets[0][0]
    semantic, boundary, orientation = training_targets(sample, cfg.model_config().class_names)
    assert semantic.shape == boundary.shape == sample.instances.shape
    assert (semantic[sample.instances == 0] == 0).all() and (semantic > 0).any()
    assert not boundary[sample.instances == 0].any()  # the room occludes nothing
    assert sample.ob_contact is not None  # data format 2
    np.testing.assert_allclose(orientation[boundary & ~sample.ob_contact].sum(1), 1.0)
    assert not orientation[sample.ob_contact].any()  # contacts: no orientation target
    item = data[5]
    assert item["image"].shape == (3, 48, 48) and item["orientation"].shape == (4, 48, 48)
    again = data[5]
    assert all((item[k] == again[k]).all() for k in item)  # seeded by the sample number


def _box(size, yaw: float = 0.4, at=(0.0, 0.0, 0.0)):
    """A box resting on ``z = at[2]``, turned by ``yaw`` about the vertical axis."""
    import trimesh

    box = trimesh.creation.box(size)
    box.apply_translation([0.0, 0.0, size[2] / 2])
    box.apply_transform(trimesh.transformations.rotation_matrix(yaw, [0, 0, 1]))
    box.apply_translation(at)
    return box


@pytest.fixture(scope="module")
def stacked() -> SynthSample:
    """A small box standing on a big one, both on the floor: contacts box-box and box-floor."""
    import trimesh

    from occseg.synth import Camera, intrinsics, look_at, render_scene

    floor = trimesh.creation.box([30.0, 30.0, 0.2])
    floor.apply_translation([0.0, 0.0, -0.1])
    boxes = [_box([1.2, 1.2, 0.6]), _box([0.5, 0.5, 0.5], yaw=1.0, at=(0.1, 0.0, 0.6))]
    cam = Camera(intrinsics(96, 72, 60), 96, 72, look_at([0.5, -4.0, 1.6], [0.0, 0.0, 0.4]))
    r = render_scene(boxes, cam, room=floor)
    meta = {"objects": [{"id": 1, "kind": "box"}, {"id": 2, "kind": "box"}]}
    return SynthSample(
        "stacked", r.rgb, r.depth, r.instances, r.ob_occludes, r.ob_angle, meta, r.ob_contact
    )


def test_contact_pixels_are_boundaries_without_orientation(stacked):
    names = ("background", "object")
    _, boundary, orientation = training_targets(stacked, names)
    _, boundary_v1, orientation_v1 = training_targets(replace(stacked, ob_contact=None), names)
    contact = stacked.ob_contact & boundary
    # the big box's foot on the floor and the small box's on the big one
    assert set(np.unique(stacked.instances[contact]).tolist()) == {1, 2}
    np.testing.assert_array_equal(boundary, boundary_v1)  # B_p keeps the contact pixels
    assert orientation_v1[contact].sum(1).min() == 1.0  # version 1: the flipping flags as E_p
    assert not orientation[contact].any()
    np.testing.assert_array_equal(orientation[~contact], orientation_v1[~contact])
    np.testing.assert_allclose(orientation[boundary & ~contact].sum(1), 1.0)
    # Eq. 4: contact pixels give the orientation head no gradient, other boundary pixels do
    e = torch.randn(1, 4, *boundary.shape, requires_grad=True)
    s = torch.zeros(1, 2, *boundary.shape)
    b = torch.zeros(1, 1, *boundary.shape)
    loss, _ = oosis_loss(
        s,
        b,
        e,
        torch.zeros(1, *boundary.shape, dtype=torch.int64),
        torch.from_numpy(boundary[None].astype(np.float32)),
        torch.from_numpy(orientation.transpose(2, 0, 1)[None].copy()),
    )
    loss.backward()
    grad = e.grad[0].abs().sum(0).numpy()
    assert not grad[contact].any() and (grad[boundary & ~contact] > 0).all()
    assert not grad[~boundary].any()


def test_two_steps_finite_loss_checkpoint_and_resume(scenes, tmp_path):
    summary = train_order(_config(scenes, tmp_path), progress=False)
    assert np.isfinite(summary["first_loss"]) and np.isfinite(summary["last_loss"])
    log = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    assert {"loss", "loss_s", "loss_b", "loss_e", "pixel_acc", "lr"} <= set(log[0])
    net = load_ordernet(tmp_path / "model.pt")
    assert net.config.class_names[0] == "background"
    payload = read_checkpoint(tmp_path / "last.pt", "occseg.ordernet")
    assert payload["step"] == 2 and tuple(payload["train_config"]["crop_size"]) == (48, 48)
    with torch.no_grad():
        out = net(torch.rand(1, 3, 40, 56))
    assert out.s.shape == (1, len(net.config.class_names), 40, 56)
    resumed = train_order(_config(scenes, tmp_path, steps=3), progress=False)
    assert resumed["start_step"] == 2
    assert read_checkpoint(tmp_path / "last.pt", "occseg.ordernet")["step"] == 3
    train_order(_config(scenes, tmp_path, steps=2), resume=False, progress=False)
    log = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]  # a fresh run replaces the old run's log


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_a_gpu_is_refused(scenes, tmp_path):
    """The trainer honours ``device`` (it trained on the CPU whatever that said)."""
    with pytest.raises(ConfigError, match="no CUDA device"):
        train_order(_config(scenes, tmp_path, device="cuda"), progress=False)
    assert not (tmp_path / "last.pt").exists()


def test_self_occlusion_hard_negatives(scenes, tmp_path):
    plain = OrderTrainSet(_config(scenes, tmp_path))
    data = OrderTrainSet(_config(scenes, tmp_path, self_occlusion_weight=0.9))
    assert "self_occlusion" not in plain[0]
    items = [data[k] for k in range(40)]
    for item, same in zip(items, (plain[k] for k in range(40)), strict=True):
        assert (item["boundary"] == same["boundary"]).all()  # the same crops and flips
        hard = item["self_occlusion"]
        assert not (hard & (item["boundary"] > 0)).any()
        assert (item["semantic"][hard] > 0).all()  # inside objects: cropped and flipped alike
    assert sum(int(it["self_occlusion"].sum()) for it in items) > 0
    batch = collate(items[:4])
    config = _config(scenes, tmp_path).model_config()
    losses = []
    for weight in (None, 0.9):
        torch.manual_seed(0)
        model = OrderNet(config).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        run = batch if weight else {k: v for k, v in batch.items() if k != "self_occlusion"}
        losses.append(train_step(model, run, optimizer, 0.9, weight)["loss_b"])
    assert losses[1] > losses[0]  # the hard negatives weigh 0.9 instead of 0.1
    with pytest.raises(ValueError, match="self_occlusion"):
        train_step(model, batch, optimizer, 0.9, None)
    summary = train_order(_config(scenes, tmp_path, self_occlusion_weight=0.9), progress=False)
    assert np.isfinite(summary["last_loss"])
    with pytest.raises(ConfigError, match="self_occlusion_weight"):
        _config(scenes, tmp_path, self_occlusion_weight=0)


def test_config_errors(tmp_path, scenes):
    with pytest.raises(ConfigError):
        OrderTrainConfig.from_dict({"data": [str(scenes)], "bogus": 1})
    with pytest.raises(ConfigError):
        OrderTrainConfig.from_dict({"data": [str(scenes)], "model": {"backbone": "vgg"}})
    with pytest.raises(ConfigError):
        OrderTrainConfig.from_dict({})
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {scenes}\nsteps: 5\n")
    assert load_config("order", path, steps=7).loop.steps == 7


def test_shipped_config_loads():
    cfg = load_config("order", Path(__file__).parents[2] / "configs" / "ordernet-cpu.yaml")
    assert cfg.model_config().backbone == "resnet18"


def test_pretrained_lite_trunk_starts_from_the_imagenet_weights(scenes, tmp_path):
    from occseg.nn.backbones.efficientnet import imagenet_state_dict

    model = {"backbone": "efficientnet_lite0", "pretrained": True, "width_mult": 0.125}
    train_order(_config(scenes, tmp_path, model=model, steps=1, lr=1e-5), progress=False)
    net = load_ordernet(tmp_path / "model.pt")
    assert net.config.pretrained
    state = imagenet_state_dict("efficientnet_lite0")
    got = net.trunk.state_dict()
    for key in ("_conv_stem.weight", "_blocks.15._project_conv.weight"):
        assert (got[key] - state[key]).abs().max() < 1e-4  # one small Adam step away


def test_init_starts_from_a_trained_model_and_keeps_new_modules_new(scenes, tmp_path):
    from occseg.train.order import initial_order_model

    train_order(_config(scenes, tmp_path / "first"), progress=False)
    first = load_ordernet(tmp_path / "first" / "model.pt")
    model = {"width_mult": 0.125, "pool_bins": [1, 2], "decoder_width": 8}
    grown = _config(
        scenes, tmp_path / "second", model=model, init=str(tmp_path / "first" / "model.pt")
    )
    torch.manual_seed(0)
    net = initial_order_model(grown)
    torch.manual_seed(0)
    fresh = initial_order_model(replace(grown, init=None))
    got, before, new = net.state_dict(), first.state_dict(), fresh.state_dict()
    for key in ("trunk.conv1.weight", "ppm.branches.0.0.weight", "fuse.0.0.weight"):
        torch.testing.assert_close(got[key], before[key])  # trained weights carried over
    for key in ("decoder.fuse.0.0.weight", "head_b.weight", "up_be.weight"):
        torch.testing.assert_close(got[key], new[key])  # absent or reshaped: as initialised
    assert not torch.equal(got["trunk.conv1.weight"], new["trunk.conv1.weight"])
    with pytest.raises(ConfigError, match="does not exist"):
        initial_order_model(replace(grown, init=str(tmp_path / "missing.pt")))
    lite = {"backbone": "efficientnet_lite0", "width_mult": 0.125, "pool_bins": [1, 2]}
    with pytest.raises(ConfigError, match="trunk"):
        initial_order_model(replace(grown, model=lite))


def test_a_step_under_bfloat16_autocast_as_on_cuda(scenes, tmp_path, cuda_autocast_on_cpu):
    """The CUDA path (bfloat16 forward, float32 loss) run on the CPU: the loss matches float32
    to bfloat16's precision and the weights stay float32."""
    batch = collate([OrderTrainSet(_config(scenes, tmp_path))[k] for k in range(2)])
    config = _config(scenes, tmp_path).model_config()
    losses = []
    for bf16 in (False, True):
        if bf16:
            cuda_autocast_on_cpu("occseg.train.order")
        torch.manual_seed(0)
        model = OrderNet(config).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        losses.append(train_step(model, batch, optimizer, 0.9, None)["loss"])
        assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert np.isfinite(losses[1]) and losses[1] == pytest.approx(losses[0], rel=0.05)


@pytest.mark.parametrize("scale", [0.75, 0.8, 1.25, 1.5])
def test_rescaled_targets_keep_their_lines_and_orientations(stacked, scale):
    semantic, boundary, orientation = training_targets(stacked, ("background", "object"))
    maps = {"semantic": semantic, "boundary": boundary}
    image, out, e = rescale_targets(stacked.rgb, maps, orientation, scale)
    h, w = round(72 * scale), round(96 * scale)
    assert image.shape == (h, w, 3) and image.dtype == np.uint8
    assert out["semantic"].shape == (h, w) and out["semantic"].dtype == semantic.dtype
    assert set(np.unique(out["semantic"])) == set(np.unique(semantic))
    # a line of one pixel stays a line: its length scales with the image, one or two pixels wide
    ratio = out["boundary"].sum() / boundary.sum()
    assert 0.9 * scale <= ratio <= 2.0 * scale
    # every boundary pixel lies on a border between instances (resampled as labels are)
    from scipy import ndimage

    inst = rescale_targets(stacked.rgb, {"semantic": stacked.instances}, orientation, scale)[1]

    def border(labels: np.ndarray, size: int) -> np.ndarray:
        return ndimage.maximum_filter(labels, size) != ndimage.minimum_filter(labels, size)

    assert border(stacked.instances, 3)[boundary].all()
    assert border(inst["semantic"], 5)[out["boundary"]].all()
    # orientation rows: distributions on the oriented boundary, zero elsewhere
    rows = e.sum(2)
    assert np.allclose(rows[rows > 0], 1.0, atol=1e-5) and not rows[~out["boundary"]].any()


@pytest.mark.parametrize("scale", [0.75, 0.8, 1.25, 1.5])
def test_rescaled_orientations_point_out_of_the_occluder(scale):
    """A square in front of everything: its outline occludes outwards, corners both ways."""
    from occseg.occlusion.targets import orientation_targets

    inst = np.zeros((72, 96), np.int64)
    inst[20:51, 30:71] = 1
    occludes = np.zeros((72, 96, 4), bool)  # left, right, top, bottom
    occludes[20:51, 30, 0] = occludes[20:51, 70, 1] = True
    occludes[20, 30:71, 2] = occludes[50, 30:71, 3] = True
    boundary, orientation = orientation_targets(occludes)
    maps = {"semantic": inst, "boundary": boundary}
    _, out, e = rescale_targets(np.zeros((72, 96, 3), np.uint8), maps, orientation, scale)
    ys, xs = np.nonzero(out["boundary"])
    assert (e[ys, xs].sum(1) > 0.99).all()  # every boundary pixel keeps an orientation
    # back in the original frame, each pixel's largest share names the side it lies on
    y, x = (ys + 0.5) / scale - 0.5, (xs + 0.5) / scale - 0.5
    distance = np.stack([abs(x - 30), abs(x - 70), abs(y - 20), abs(y - 50)])
    side = np.argmin(distance, axis=0)
    share = e[ys, xs][np.arange(ys.size), side]
    corner = np.sort(distance, axis=0)[1] < 2  # near two sides
    assert corner.sum() < 0.2 * ys.size and (share[~corner] > 0.99).all()


def test_scale_range_trains_and_is_checked(scenes, tmp_path):
    cfg = _config(scenes, tmp_path / "run", scale_range=[0.8, 1.25])
    assert cfg.scale_range == (0.8, 1.25)
    item = OrderTrainSet(cfg)[3]
    assert item["image"].shape == (3, 48, 48) and item["boundary"].shape == (48, 48)
    assert np.isfinite(train_order(cfg, progress=False)["last_loss"])
    for bad in ([1.25, 0.8], [0, 1], [1.0], ["a", "b"]):
        with pytest.raises(ConfigError, match="scale_range"):
            _config(scenes, tmp_path / "bad", scale_range=bad)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A BSDS500-layout train split of two 64×80 photos, two annotators who disagree on one
    boundary (a horizontal one at row 30 or 31: under consensus 0.5 both rows are disputed)."""
    import cv2
    import scipy.io

    root = tmp_path_factory.mktemp("bsds")
    rng = np.random.default_rng(0)
    for name in ("1", "2"):
        cell = np.empty((1, 2), object)
        for k, row in enumerate((30, 31)):
            seg = np.ones((64, 80), np.uint16)
            seg[row:] = 2
            seg[:, 50:] = 3
            edge = np.zeros(seg.shape, np.uint8)
            edge[:-1] |= seg[:-1] != seg[1:]
            edge[:, :-1] |= seg[:, :-1] != seg[:, 1:]
            cell[0, k] = {"Segmentation": seg, "Boundaries": edge}
        (root / "groundTruth" / "train").mkdir(parents=True, exist_ok=True)
        (root / "images" / "train").mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(root / "groundTruth" / "train" / f"{name}.mat", {"groundTruth": cell})
        image = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
        cv2.imwrite(str(root / "images" / "train" / f"{name}.jpg"), image)
    return root


def test_photographs_train_the_boundary_head_alone(scenes, photos, tmp_path):
    entry = {"spec": f"bsds500:{photos}", "split": "train", "weight": 1.0, "consensus": 0.5}
    cfg = _config(scenes, tmp_path, boundary_data=[entry], batch_size=4, flip=False)
    plain = OrderTrainSet(_config(scenes, tmp_path, batch_size=4, flip=False))
    data = OrderTrainSet(cfg)
    items = [data[k] for k in range(8)]
    assert [int(it["source"]) for it in items] == [0, 0, 1, 1] * 2  # weight 1 against 1
    for k, item in enumerate(items):
        if item["source"] == 0:  # the scenes' items are those of a run without photographs
            assert (item["boundary"] == plain[k]["boundary"]).all()
            assert not item["ignored"].any() and (item["semantic"] >= 0).all()
        else:
            assert (item["semantic"] == -100).all() and not item["orientation"].any()
            assert not (item["ignored"] & (item["boundary"] > 0)).any()
    photo = [it for it in items if it["source"] == 1]
    assert any(it["ignored"].any() for it in photo)  # the disputed rows
    assert any(it["boundary"].any() for it in photo)  # the agreed column at x = 49
    batch = collate(items[:4])
    torch.manual_seed(0)
    model = OrderNet(cfg.model_config()).train()
    torch.manual_seed(1)  # the same dropout in both steps
    stats = train_step(model, batch, torch.optim.SGD(model.parameters(), lr=0.0), 0.9)
    assert stats["loss_b_photo"] > 0 and stats["loss_b"] > 0 and 0 <= stats["pixel_acc"] <= 1
    # ignored pixels weigh nothing: marking them as boundaries changes no loss
    flipped = dict(batch, boundary=torch.where(batch["ignored"], 1.0, batch["boundary"]))
    torch.manual_seed(1)
    again = train_step(model, flipped, torch.optim.SGD(model.parameters(), lr=0.0), 0.9)
    assert again["loss"] == pytest.approx(stats["loss"], rel=1e-6)
    summary = train_order(cfg, progress=False)
    assert np.isfinite(summary["last_loss"])
    log = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert "loss_b_photo" in log[-1]
    with pytest.raises(ConfigError, match="boundary_data"):
        _config(scenes, tmp_path, boundary_data=[{"spec": f"bsds500:{photos}", "bogus": 1}])
    with pytest.raises(ConfigError, match="weight"):
        _config(scenes, tmp_path, boundary_data=[{"spec": f"bsds500:{photos}", "weight": 0}])
