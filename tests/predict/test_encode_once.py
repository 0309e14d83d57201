"""An encode-once model behind ClickNetPredictor: one encoding per image, same answers."""

from __future__ import annotations

import numpy as np
import torch

from occseg.nn.clicknet import ClickNet, ClickNetConfig
from occseg.predict.clicknet import ClickNetPredictor
from occseg.types import Click


def _model() -> ClickNet:
    torch.manual_seed(0)
    cfg = ClickNetConfig(backbone="resnet18", width_mult=0.25, fusion="late", refine_window=32)
    model = ClickNet(cfg)
    with torch.no_grad():  # make the refiner do something
        for p in model.refiner.parameters():
            p.normal_(0, 0.1)
    return model.eval()


def test_one_encoding_per_image_and_the_same_probabilities() -> None:
    model = _model()
    calls = []
    encode = model.encode
    model.encode = lambda x: calls.append(x.shape) or encode(x)  # type: ignore[method-assign]
    image = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    clicks = [Click(30, 40, True), Click(10, 10, False), Click(50, 70, True)]
    cached = ClickNetPredictor(model, zoom_in=False, flip=False)
    cached.set_image(image)
    prev = None
    for k in range(1, len(clicks) + 1):
        prob = cached.predict(clicks[:k], prev)
        fresh = ClickNetPredictor(model, zoom_in=False, flip=False)
        fresh.set_image(image)
        assert np.array_equal(prob, fresh.predict(clicks[:k], prev))
        prev = prob
    assert len(calls) == 1 + len(clicks)  # once for the cached predictor, once per fresh one
    cached.set_image(image[::-1].copy())
    cached.predict(clicks[:1])
    assert len(calls) == 2 + len(clicks)  # a new image is encoded again
