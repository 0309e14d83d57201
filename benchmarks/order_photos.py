"""Occlusion-order instances on photographs: the best instance's IoU with annotated objects.

For every ``--every``-th object of each data set, runs :func:`occseg.occlusion.pipeline.order_image`
(the default instances, at most 400 px) with each model and reports the mean over objects of
the largest IoU of an instance with the object's mask (0 where the model calls the object
background). A measurement, not a test.

    python benchmarks/order_photos.py [MODEL ...] [--coco ../shared/data/coco_mval_dev]
        [--bsds ../shared/data/bsds500] [--every-coco 1] [--every-bsds 4]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from occseg.data import open_dataset
from occseg.occlusion.pipeline import order_image
from occseg.predict.ordernet import load_order_model


def best_instance_iou(instances: np.ndarray, mask: np.ndarray) -> float:
    """The largest IoU of an instance (ids > 0 of ``instances``) with the boolean ``mask``."""
    best = 0.0
    for k in np.unique(instances[mask]):
        if k > 0:
            inst = instances == k
            best = max(best, float((inst & mask).sum() / (inst | mask).sum()))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["ordernet"])
    parser.add_argument("--coco", default="../shared/data/coco_mval_dev")
    parser.add_argument("--bsds", default="../shared/data/bsds500")
    parser.add_argument("--every-coco", type=int, default=1)
    parser.add_argument("--every-bsds", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(2)
    sets = {
        "COCO-MVal dev": (open_dataset(f"coco_mval:{args.coco}"), args.every_coco),
        "BSDS500 test objects": (open_dataset(f"bsds500_objects:{args.bsds}"), args.every_bsds),
    }
    for name in args.models:
        model = load_order_model(name)
        scores = []
        for data, every in sets.values():
            ious = [
                best_instance_iou(order_image(s.image, model).instances.instances, s.mask)
                for s in (data[i] for i in range(0, len(data), every))
            ]
            scores.append(f"{np.mean(ious):.3f} ({len(ious)} objects)")
        print(name, " | ".join(f"{k}: {v}" for k, v in zip(sets, scores, strict=True)))


if __name__ == "__main__":
    main()
