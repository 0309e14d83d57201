"""``eval order`` with a network: the network sees each photo at most ``max_side`` long and the
instances are scored at the ground truth's size (:func:`occseg.eval.order_run.run_model`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from occseg.eval.order_run import run_model
from occseg.occlusion.pipeline import OrderMaps
from occseg.occlusion.targets import occludes_from_instances, orientation_targets
from occseg.types import Segmentation


def _scene() -> tuple[np.ndarray, Segmentation]:
    """Two overlapping squares on a 64×80 photo, the second in front."""
    instances = np.zeros((64, 80), np.int32)
    instances[8:40, 8:40] = 1
    instances[20:56, 36:72] = 2
    rgb = np.full((64, 80, 3), 40, np.uint8)
    rgb[instances == 1] = (200, 40, 40)
    rgb[instances == 2] = (40, 200, 40)
    return rgb, Segmentation(instances, classes={1: 0, 2: 0}, edges=[(2, 1)])


class MapsFromTruth:
    """Stage-1 maps drawn from the ground truth at the size of the image it is given."""

    class_names = ("background", "object")

    def __init__(self, truth: Segmentation) -> None:
        self.truth, self.seen = truth, []

    def predict_maps(self, image: np.ndarray) -> OrderMaps:
        h, w = image.shape[:2]
        self.seen.append((h, w))
        ids = cv2.resize(self.truth.instances, (w, h), interpolation=cv2.INTER_NEAREST_EXACT)
        occlusions = [*self.truth.edges, *((i, 0) for i in self.truth.ids)]
        boundary, orientation = orientation_targets(occludes_from_instances(ids, occlusions))
        fg = (ids > 0).astype(np.float32)
        semantic = np.stack([1 - fg, fg], -1)
        return OrderMaps(semantic, boundary.astype(np.float32), orientation, self.class_names)


@pytest.mark.parametrize(("max_side", "seen"), [(0, (64, 80)), (40, (32, 40)), (200, (64, 80))])
def test_the_network_sees_at_most_max_side_and_instances_are_scored_at_full_size(
    max_side: int, seen: tuple[int, int]
) -> None:
    rgb, truth = _scene()
    model = MapsFromTruth(truth)
    result = run_model([(rgb, truth, 0)], model, max_side=max_side, class_agnostic=True)
    assert model.seen == [seen]
    assert result.summary["max_side"] == max_side
    assert result.summary["n_pred_instances"] == 2
    assert result.summary["WC"] > 0.98  # brought back to 64×80 where they were found
