"""Training without masks (MIS, paper ``004``): the proposals source, the smoothness loss in the
click trainer, ``--images``."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import occseg.train.clicks as clicks_module
import occseg.train.sources as sources_module
from occseg.checkpoint import read_checkpoint
from occseg.cli import main
from occseg.errors import ConfigError, DatasetError
from occseg.nn.losses import smoothness_loss
from occseg.train.clicks import train_clicks
from occseg.train.config import TrainConfig, add_image_folders, load_config
from occseg.train.sources import ProposalSource, make_source

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = CONFIGS / "clicknet-tiny-test.yaml"
SIZE, STRIDE = 64, 8  # an 8×8 patch grid


def _write_images(folder: Path, n: int = 3) -> Path:
    """``n`` 64×64 PNGs: 2-3 flat coloured rectangles with noise on a gradient."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    for i in range(n):
        rgb = np.stack([yy * 2, xx * 2, np.full_like(yy, 90)], -1).astype(np.float64)
        for _ in range(int(rng.integers(2, 4))):
            y0, x0 = rng.integers(0, SIZE // 2, 2)
            h, w = rng.integers(12, SIZE // 2, 2)
            rgb[y0 : y0 + h, x0 : x0 + w] = rng.uniform(0, 255, 3)
        rgb += rng.normal(0, 4, rgb.shape)
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_images(tmp_path_factory.mktemp("photos"))


def _draws(source: ProposalSource, seed: int, n: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [source.get(k % len(source), rng).mask for k in range(n)]


@pytest.mark.parametrize("features", ["colour", "efficientnet"])
def test_targets_are_tree_regions_of_at_least_five_percent(folder: Path, features: str) -> None:
    source = ProposalSource(folder, features=features, stride=STRIDE)
    assert len(source) == 3
    rng = np.random.default_rng(0)
    seen = set()
    for k in range(30):
        index = k % 3
        target = source.get(index, rng)
        mask = target.mask
        assert target.image.shape == (SIZE, SIZE, 3) and mask.shape == (SIZE, SIZE)
        assert mask.dtype == bool and target.ignore is None and target.others is None
        assert 0.05 <= mask.mean() < 1.0
        cells = mask.reshape(SIZE // STRIDE, STRIDE, SIZE // STRIDE, STRIDE)
        assert (cells == cells[:, :1, :, :1]).all()  # a union of 8×8 patches
        tree = source.tree(index, target.image)
        nodes = range(2 * tree.n_leaves - 2)  # the root (whole image) is never a target
        assert any(np.array_equal(mask, tree.pixel_mask(v, mask.shape)) for v in nodes)
        seen.add((index, mask.tobytes()))
    assert len(seen) > 6  # several granularities per image


def test_draws_are_deterministic_given_the_seed(folder: Path) -> None:
    first = _draws(ProposalSource(folder), seed=3)
    again = _draws(ProposalSource(folder), seed=3)  # a fresh cache builds the same trees
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = _draws(ProposalSource(folder), seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_each_tree_is_built_once_and_kept_compact(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    build = sources_module.image_tree

    def counting(image: np.ndarray, **options: object):
        calls.append(image.shape[0])
        return build(image, **options)

    monkeypatch.setattr(sources_module, "image_tree", counting)
    source = ProposalSource(folder)
    before = _draws(source, seed=5)
    assert len(calls) == 3  # 12 draws over 3 images
    stored = source._trees[0]
    assert stored.children.dtype == np.int32 and stored.costs.dtype == np.float32
    assert "_layout" not in vars(stored)  # the per-draw layout is not kept
    clone = pickle.loads(pickle.dumps(source))  # what a spawned worker receives
    assert all(np.array_equal(a, b) for a, b in zip(before, _draws(clone, 5), strict=True))


def test_options_and_errors(folder: Path, tmp_path: Path) -> None:
    mixed = make_source([{"kind": "proposals", "images": [str(folder), str(folder)]}])
    assert len(mixed) == 6
    with pytest.raises(DatasetError, match="not a folder of images"):
        make_source([{"kind": "proposals", "images": str(tmp_path / "none")}])
    with pytest.raises(ConfigError, match="unknown features"):
        make_source([{"kind": "proposals", "images": str(folder), "features": "dino"}])
    with pytest.raises(ConfigError, match="alpha and min_area"):
        make_source([{"kind": "proposals", "images": str(folder), "alpha": 1.5}])
    with pytest.raises(ConfigError, match="no usable images"):
        make_source([{"kind": "proposals", "images": str(tmp_path)}])
    with pytest.raises(ConfigError, match=r"kind 'proposals'.*images"):
        make_source([{"kind": "proposals"}])


def test_min_area_follows_the_option(folder: Path) -> None:
    small = [m.mean() for m in _draws(ProposalSource(folder, min_area=0.0), seed=1, n=30)]
    assert min(small) < 0.3
    large = [m.mean() for m in _draws(ProposalSource(folder, min_area=0.3), seed=1, n=30)]
    assert min(large) >= 0.3


def _tiny(folder: Path, out: Path, **overrides: object) -> TrainConfig:
    options: dict[str, object] = {
        "data": [{"kind": "proposals", "images": str(folder)}],
        "crop_size": [48, 48],
        "batch_size": 2,
        "steps": 2,
        "log_every": 1,
        "loss": "bce",
        "out": str(out),
    }
    options.update(overrides)
    cfg = load_config("clicks", TINY, **options)
    assert isinstance(cfg, TrainConfig)
    return cfg


def test_smoothness_loss_is_off_by_default_and_adds_lambda_times_eq7(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    torch.set_num_threads(1)
    assert TrainConfig().smoothness_weight == 0.0
    assert load_config("clicks", CONFIGS / "mis-lite0-late.yaml").smoothness_weight == 10.0

    def never(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("the smoothness loss must stay out at weight 0")

    monkeypatch.setattr(clicks_module, "smoothness_loss", never)
    train_clicks(_tiny(folder, tmp_path / "plain"), progress=False)

    values: list[float] = []

    def recording(logits: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        assert logits.shape[1:] == (1, 48, 48) and image.shape[1:] == (3, 48, 48)
        value = smoothness_loss(logits, image)
        values.append(float(value.detach()))
        return value

    monkeypatch.setattr(clicks_module, "smoothness_loss", recording)
    out = tmp_path / "smooth"
    train_clicks(_tiny(folder, out, smoothness_weight=10.0), progress=False)
    assert len(values) == 2 and all(v > 0 for v in values)
    plain = [json.loads(x) for x in (tmp_path / "plain" / "metrics.jsonl").read_text().splitlines()]
    smooth = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # step 1 sees the same weights and batch in both runs: the loss differs by λ · L_smooth
    assert smooth[0]["loss"] == pytest.approx(plain[0]["loss"] + 10.0 * values[0], rel=1e-5)
    assert read_checkpoint(out / "model.pt")["step"] == 2
    assert read_checkpoint(out / "last.pt")["train_config"]["smoothness_weight"] == 10.0


def test_images_option_adds_a_proposals_entry(folder: Path, tmp_path: Path) -> None:
    cfg = load_config("clicks", CONFIGS / "mis-lite0-late.yaml")
    more = add_image_folders(cfg, [folder])
    assert more.data[:-1] == cfg.data
    entry = more.data[-1]
    assert entry["images"] == [str(folder)] and entry["features"] == "efficientnet"
    plain = add_image_folders(load_config("clicks", TINY), [folder])
    assert plain.data[-1] == {"kind": "proposals", "images": [str(folder)]}
    with pytest.raises(ConfigError, match="--images"):
        add_image_folders(load_config("boundaries", CONFIGS / "obnet-cpu.yaml"), [folder])


def test_the_command_trains_on_a_folder(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main(["train", "clicks", "--config", str(TINY), "--steps", "1", "--out", str(out),
                 "--images", str(folder), "--no-progress"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "config.json").read_text())["data"]
    assert data[-1] == {"kind": "proposals", "images": [str(folder)]}
