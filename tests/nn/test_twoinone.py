"""Two-in-One networks (paper ``002``, Sec. 3.1-3.2): shapes, gradients, RoIAlign, checkpoints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from occseg.checkpoint import load_twoinone, read_checkpoint, save_checkpoint
from occseg.errors import FileFormatError
from occseg.nn import ClickNet, ClickNetConfig
from occseg.nn.backbones.efficientnet import imagenet_state_dict
from occseg.nn.twoinone import RefinementNet, SelectionNet, TwoInOne, TwoInOneConfig, roi_align

torch.set_num_threads(1)

SMALL = TwoInOneConfig(width_mult=0.25, crop_size=12)


def _inputs(b: int = 2, h: int = 48, w: int = 64) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    boxes = torch.tensor([[4.0, 40.0, 8.0, 60.0], [0.0, 48.0, 0.0, 64.0]])[:b]
    return torch.rand(b, 3, h, w), torch.rand(b, 1, h, w), torch.rand(b, 1, h, w), boxes


def test_shapes() -> None:
    model = TwoInOne(SMALL)
    image, guidance, clicks, boxes = _inputs()
    logits, features = model.select(image, guidance)
    assert logits.shape == (2, 1, 48, 64)
    assert features.shape == (2, model.selection.out_channels, 12, 16)
    refined = model.refine(features, clicks, boxes, (48, 64))
    assert refined.shape == (2, 1, 12, 12)
    out = model(image, guidance, clicks, boxes)
    assert out.refined is not None and out.refined.shape == (2, 1, 12, 12)
    assert model(image, guidance).refined is None


def test_gradients_reach_both_networks_and_the_shared_backbone() -> None:
    model = TwoInOne(SMALL)
    image, guidance, clicks, boxes = _inputs()
    out = model(image, guidance, clicks, boxes)
    assert out.refined is not None
    out.refined.mean().backward()  # the refinement loss alone ...
    stem = model.selection.body.backbone._conv_stem.weight
    assert stem.grad is not None and stem.grad.abs().sum() > 0  # ... trains the shared features
    assert all(p.grad is not None for p in model.refinement.parameters())
    assert model.selection.head.weight.grad is None  # the selection head is not on its path
    model.zero_grad()
    out = model(image, guidance, clicks, boxes)
    out.selection.mean().backward()
    assert model.selection.head.weight.grad is not None
    assert stem.grad is not None and stem.grad[:, 3].abs().sum() > 0  # the guidance channel


def test_refinement_widths_follow_eq4() -> None:
    """At the paper's 512 feature channels: C1(513, 512) → C2(512, 256) → C3(256, 256) → 1×1."""
    convs = [m for m in RefinementNet(512).modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (513, 512, (3, 3)),
        (512, 256, (3, 3)),
        (256, 256, (3, 3)),
        (256, 1, (1, 1)),
    ]
    bns = [m for m in RefinementNet(512).modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 3
    # scaled to EfficientNet-Lite + FPN at width 1.0 (96 channels)
    convs = [m for m in RefinementNet(96).modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (97, 96),
        (96, 48),
        (48, 48),
        (48, 1),
    ]


def test_features_are_normalised_per_channel() -> None:
    net = RefinementNet(8).eval()
    torch.manual_seed(1)
    feats, clicks = torch.randn(2, 8, 10, 10), torch.rand(2, 1, 10, 10)
    scale = torch.rand(1, 8, 1, 1) * 5 + 0.5
    shift = torch.randn(1, 8, 1, 1) * 10
    torch.testing.assert_close(net(feats * scale + shift, clicks), net(feats, clicks))
    # the click channel is not normalised: scaling it changes the output
    assert not torch.allclose(net(feats, clicks * 3), net(feats, clicks))


def test_roi_align_reads_the_box() -> None:
    x = torch.arange(64.0).view(1, 1, 8, 8)
    # full resolution, one sample per cell at the pixel centres: the plain crop
    out = roi_align(x, torch.tensor([[2.0, 6.0, 3.0, 7.0]]), (8, 8), 4, sampling_ratio=1)
    torch.testing.assert_close(out[0, 0], x[0, 0, 2:6, 3:7])
    # features at 1/4 of a 32×32 image: the box (8, 24, 4, 20) covers cells 2..5 × 1..4
    out = roi_align(x, torch.tensor([[8.0, 24.0, 4.0, 20.0]]), (32, 32), 4, sampling_ratio=1)
    torch.testing.assert_close(out[0, 0], x[0, 0, 2:6, 1:5])
    # averaging 2×2 samples per cell of a linear map gives the value at the cell centre
    out = roi_align(x, torch.tensor([[2.0, 6.0, 3.0, 7.0]]), (8, 8), 2, sampling_ratio=2)
    torch.testing.assert_close(out[0, 0], x[0, 0, 2:6, 3:7].view(2, 2, 2, 2).mean((1, 3)))
    feats = torch.rand(1, 3, 8, 8, requires_grad=True)
    roi_align(feats, torch.tensor([[1.0, 5.0, 1.0, 5.0]]), (8, 8), 3).sum().backward()
    assert feats.grad is not None and feats.grad[:, :, 1:5, 1:5].sum() > 0


def test_roi_align_places_the_points_in_float32_for_bfloat16_features() -> None:
    """Under bf16 autocast the features are bf16; the sample points must not be rounded to it."""
    torch.manual_seed(0)
    x = torch.rand(1, 2, 128, 128).bfloat16()
    box = torch.tensor([[301.3, 477.9, 2.0, 500.0]])
    out = roi_align(x, box, (512, 512), 16)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, roi_align(x.float(), box, (512, 512), 16), atol=0, rtol=0)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=8, sigma=7.5))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    image, guidance, clicks, boxes = _inputs()
    out = model(image, guidance, clicks, boxes)
    assert out.refined is not None
    (out.selection.mean() + out.refined.mean()).backward()
    opt.step()  # BN running statistics and weights differ from a fresh model
    model.eval()
    path = tmp_path / "twoinone.pt"
    save_checkpoint(path, model, optimizer=opt, step=3)
    loaded = load_twoinone(path)
    assert isinstance(loaded, TwoInOne) and not loaded.training
    assert loaded.config == model.config
    for (ka, a), (kb, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(a, b)
    with torch.no_grad():
        a, b = model(image, guidance, clicks, boxes), loaded(image, guidance, clicks, boxes)
    torch.testing.assert_close(b.selection, a.selection, atol=0, rtol=0)
    assert a.refined is not None and b.refined is not None
    torch.testing.assert_close(b.refined, a.refined, atol=0, rtol=0)
    assert read_checkpoint(path, "occseg.twoinone")["step"] == 3
    with pytest.raises(FileFormatError, match="not an occseg two-in-one-model"):
        load_twoinone(_clicknet_checkpoint(tmp_path))


def test_an_untrained_residual_refinement_returns_the_selection() -> None:
    """Ours (``residual``): the correction's head starts at zero, so the refined crop equals the
    cropped selection logits until training moves it, and the head is on the loss's path."""
    model = TwoInOne(replace(SMALL, residual=True))
    image, guidance, clicks, boxes = _inputs()
    out = model(image, guidance, clicks, boxes)
    assert out.refined is not None
    cropped = roi_align(out.selection, boxes, (48, 64), SMALL.crop_size, SMALL.sampling_ratio)
    torch.testing.assert_close(out.refined, cropped, atol=0, rtol=0)
    assert model.refinement.blocks[0][0].in_channels == model.selection.out_channels + 2
    out.refined.mean().backward()
    head = model.refinement.head.weight.grad
    assert head is not None and head.abs().sum() > 0
    with pytest.raises(ValueError, match="selection logits"):
        model.refine(out.features, clicks, boxes, (48, 64))


@pytest.mark.parametrize(("dilations", "reach"), [((1, 1, 1), 3), ((1, 2, 4), 7)])
def test_dilations_widen_the_refinement_receptive_field(
    dilations: tuple[int, int, int], reach: int
) -> None:
    """A click at one grid cell changes the output up to ``d1 + d2 + d3`` cells away, no further
    (three 3×3 convolutions; the 1×1 head adds nothing)."""
    torch.manual_seed(0)
    net = RefinementNet(8, dilations=dilations).eval()
    features = torch.rand(1, 8, 33, 33)
    clicks = torch.zeros(1, 1, 33, 33)
    poked = clicks.clone()
    poked[0, 0, 16, 16] = 1.0
    with torch.no_grad():
        changed = (net(features, poked) - net(features, clicks)).abs()[0, 0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert int((rows - 16).abs().max()) == reach and int((cols - 16).abs().max()) == reach
    config = TwoInOneConfig.from_dict({"dilations": list(dilations)})  # YAML gives lists
    assert config.dilations == dilations and TwoInOneConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="dilations"):
        TwoInOneConfig(dilations=(1, 0, 1))


def _clicknet_checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "clicknet.pt"
    save_checkpoint(path, ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.125)))
    return path


def test_config() -> None:
    config = TwoInOneConfig(backbone="efficientnet_lite1", crop_size=64)
    assert TwoInOneConfig.from_dict(config.to_dict()) == config
    assert TwoInOneConfig().sigma == 10.0  # Sec. 3: Gaussians of standard deviation 10 pixels
    with pytest.raises(ValueError, match="unknown model option"):
        TwoInOneConfig.from_dict({"crop": 3})
    with pytest.raises(ValueError, match="backbone"):
        TwoInOneConfig(backbone="resnet18")
    with pytest.raises(ValueError, match="refinement_clicks"):
        TwoInOneConfig(refinement_clicks="scribbles")


def test_load_pretrained() -> None:
    model = TwoInOne(TwoInOneConfig(pretrained=True))
    model.load_pretrained()
    stem = model.selection.body.backbone._conv_stem.weight
    assert torch.equal(stem[:, :3], imagenet_state_dict("efficientnet_lite0")["_conv_stem.weight"])
    assert not stem[:, 3].any()  # the guidance channel starts at zero


LATE = TwoInOneConfig(width_mult=0.25, crop_size=12, fusion="late", decoder_width=8)


def _click_model(decoder_width: int = 8) -> ClickNet:
    torch.manual_seed(1)
    config = ClickNetConfig(
        backbone="efficientnet_lite0", width_mult=0.25, fusion="late", decoder_width=decoder_width
    )
    return ClickNet(config).eval()


def test_late_fusion_encodes_the_image_alone() -> None:
    model = TwoInOne(LATE).eval()
    image, guidance, clicks, boxes = _inputs()
    logits, features = model.select(image, guidance)
    assert features.shape == (2, 8, 12, 16) and model.selection.out_channels == 8
    with torch.no_grad():  # the image's features do not depend on the click; the logits do
        encoded = model.selection.encode(image)
        moved = model.selection.decode(encoded, image, guidance.flip(-1))[0]
    assert not torch.allclose(moved, logits)
    assert encoded.shape == (2, model.selection.body.out_channels, 12, 16)
    assert model.refine(features, clicks, boxes, (48, 64)).shape == (2, 1, 12, 12)
    assert model.selection.body.backbone._conv_stem.in_channels == 3
    with pytest.raises(ValueError, match="early fusion"):
        TwoInOne(SMALL).selection.encode(image)
    with pytest.raises(ValueError, match="fusion"):
        TwoInOneConfig(fusion="middle")
    with pytest.raises(ValueError, match="fusion"):
        SelectionNet(fusion="middle")


def test_a_click_model_starts_both_fusions() -> None:
    clicknet = _click_model()
    image, guidance, _, _ = _inputs()
    assert clicknet.decoder is not None
    with torch.no_grad():
        encoded = clicknet.encode(image)
        early = TwoInOne(SMALL).eval()
        early.load_click_model(clicknet.body, clicknet.decoder)
        # the zero guidance channel: the selection body computes the click model's features
        features, _ = early.selection.body(
            torch.cat([early.selection.normalize(image), guidance], dim=1)
        )
        torch.testing.assert_close(features, encoded)
        late = TwoInOne(LATE).eval()
        late.load_click_model(clicknet.body, clicknet.decoder)
        _, mixed = late.select(image, guidance)
        # the guidance takes the positive-click channel; negatives and previous mask are empty
        maps = torch.cat([guidance, torch.zeros_like(guidance), torch.zeros_like(guidance)], 1)
        torch.testing.assert_close(mixed, clicknet.decoder.mix(encoded, maps))
    with pytest.raises(ValueError, match="16 channels wide"):
        TwoInOne(replace(LATE, decoder_width=16)).load_click_model(clicknet.body, clicknet.decoder)
    with pytest.raises(ValueError, match="feature pyramid"):
        TwoInOne(replace(LATE, width_mult=0.5)).load_click_model(clicknet.body, clicknet.decoder)
