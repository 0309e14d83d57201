"""Simulated FN / FP scribbles for interactive occlusion-boundary estimation.

Paper ``000`` (DNMMSI), Sec. 3.2 "Training & Testing" and "Scribble Simulation", Sec. 4.1
"Implementation Details":

1. **Error segments.** The predicted occlusion-boundary map is thinned by NMS and thresholded,
   then compared with the ground truth: ground-truth boundary pixels with no predicted pixel
   within the matching tolerance are false negatives (FN), predicted pixels with no ground-truth
   pixel within it are false positives (FP). Each error map is split into 8-connected boundary
   pieces, sorted by length (longest first); for evaluation every piece longer than 30 pixels is
   used (:func:`error_segments`), for training the first few (at most 5).
2. **Stage-1 training segments** (:func:`stage1_segments`): FN segments are random pieces of the
   ground-truth boundaries, FP segments random pieces of Canny edges absent from the ground truth.
3. **Scribble simulation** (:func:`scribbles_from_segments`): each segment is perturbed in length
   (randomly shortened or lengthened) and then each of its points is moved by an individual random
   offset of bounded extent (:func:`perturb_segment`); the point sets are dilated by a disk of
   radius 12 into the FN and FP interaction maps (:func:`scribble_map`).

A segment is an ``(N, 2)`` int64 array of ``(y, x)`` pixels ordered along the boundary piece.
Everything is NumPy / SciPy / OpenCV; every random choice takes a :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, sparse
from scipy.sparse.csgraph import shortest_path

from occseg.encode import SCRIBBLE_RADIUS, scribble_map
from occseg.occlusion.detectors import canny_boundaries
from occseg.occlusion.nms import edge_nms, thin

__all__ = [
    "EVAL_MIN_LENGTH",
    "TRAIN_MAX_SEGMENTS",
    "ErrorSegments",
    "ScribbleSimulation",
    "boundary_pieces",
    "error_segments",
    "far_from",
    "matching_tolerance",
    "perturb_segment",
    "scribbles_from_segments",
    "simulate_scribbles",
    "stage1_scribbles",
    "stage1_segments",
    "thinned_prediction",
]

#: Evaluation uses every error segment longer than this (paper ``000`` Sec. 4.1).
EVAL_MIN_LENGTH = 30
#: Maximum number of FN (and of FP) segments per image in training (paper ``000`` Sec. 4.1).
TRAIN_MAX_SEGMENTS = 5

Segment = NDArray[np.int64]
_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class ErrorSegments:
    """FN and FP boundary segments of one image, each list sorted longest first.

    Attributes
    ----------
    fn, fp
        Lists of ``(N, 2)`` int64 ``(y, x)`` arrays ordered along each piece.
    """

    fn: list[Segment]
    fp: list[Segment]


@dataclass(frozen=True)
class ScribbleSimulation:
    """The interaction maps of one image and the segments they were drawn from.

    Attributes
    ----------
    fn_map, fp_map
        ``H×W float32`` in ``{0, 1}``: the dilated FN / FP scribbles.
    segments
        The (unperturbed) error segments used, as counted by avgFN / avgFP
        (:mod:`occseg.eval.scribble_metrics`).
    """

    fn_map: NDArray[np.float32]
    fp_map: NDArray[np.float32]
    segments: ErrorSegments


# --------------------------------------------------------------------------------------------
# boundary pieces
# --------------------------------------------------------------------------------------------
def _order_piece(ys: NDArray[np.int64], xs: NDArray[np.int64]) -> Segment:
    """Order the pixels of one 8-connected piece along it.

    The start is an end of the piece (the pixel farthest, in 8-connected steps, from an arbitrary
    pixel); pixels are sorted by their step distance from it (stable, so ties keep raster order).
    """
    n = ys.size
    pts = np.stack([ys, xs], axis=1).astype(np.int64)
    if n <= 2:
        return pts
    y0, x0 = ys.min(), xs.min()
    h, w = ys.max() - y0 + 3, xs.max() - x0 + 3
    index = np.full((h, w), -1, dtype=np.int64)
    ly, lx = ys - y0 + 1, xs - x0 + 1  # one-pixel margin: neighbours never leave the box
    index[ly, lx] = np.arange(n)
    rows, cols = [], []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        nb = index[ly + dy, lx + dx]
        ok = nb >= 0
        rows.append(np.flatnonzero(ok))
        cols.append(nb[ok])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(r.size), (r, c)), shape=(n, n)).tocsr()
    first = shortest_path(graph, directed=False, unweighted=True, indices=0)
    start = int(np.argmax(np.where(np.isfinite(first), first, -1)))
    dist = shortest_path(graph, directed=False, unweighted=True, indices=start)
    return pts[np.argsort(dist, kind="stable")]


def boundary_pieces(
    mask: NDArray[np.bool_], *, min_length: int = 0, max_pieces: int | None = None
) -> list[Segment]:
    """Split a (thin) boundary map into 8-connected pieces, longest first.

    Paper ``000`` Sec. 3.2: FN / FP boundary segments are connected boundary pieces, "sorted by
    length"; the length of a piece is its number of pixels.

    Parameters
    ----------
    mask : (H, W) bool array
        Boundary pixels (one pixel wide for meaningful lengths).
    min_length : int
        Keep only pieces with strictly more pixels than this (30 in evaluation).
    max_pieces : int, optional
        Keep at most this many (the longest).

    Returns
    -------
    list of (N, 2) int64 arrays
        ``(y, x)`` pixels of each piece, ordered along it; ties in length keep raster order of
        the pieces' first pixels.

    Examples
    --------
    >>> m = np.zeros((5, 40), bool); m[1, :35] = True; m[3, :10] = True
    >>> [len(p) for p in boundary_pieces(m)], len(boundary_pieces(m, min_length=30))
    ([35, 10], 1)
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"boundary map must be 2-D, got shape {m.shape}")
    labels, n = ndimage.label(m, structure=_EIGHT)
    if n == 0:
        return []
    flat = labels.ravel()
    pixels = np.flatnonzero(flat)
    pixels = pixels[np.argsort(flat[pixels], kind="stable")]
    sizes = np.bincount(flat, minlength=n + 1)[1:]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    keep = np.flatnonzero(sizes > min_length)
    keep = keep[np.argsort(-sizes[keep], kind="stable")]
    if max_pieces is not None:
        keep = keep[: max(0, max_pieces)]
    w = m.shape[1]
    out = []
    for k in keep:
        idx = pixels[starts[k] : starts[k + 1]]
        out.append(_order_piece(idx // w, idx % w))
    return out


# --------------------------------------------------------------------------------------------
# error segments
# --------------------------------------------------------------------------------------------
def matching_tolerance(shape: tuple[int, ...], max_dist: float) -> float:
    """The boundary benchmark's matching tolerance in pixels: ``max_dist`` × image diagonal."""
    return max_dist * math.hypot(shape[0], shape[1])


def far_from(target: NDArray[np.bool_], tol: float) -> NDArray[np.bool_]:
    """Pixels farther than ``tol`` from every ``target`` pixel (all pixels if there is none)."""
    if not target.any():
        return np.ones(target.shape, dtype=bool)
    return ndimage.distance_transform_edt(~target) > tol


def thinned_prediction(
    prob: NDArray[np.floating], threshold: float, *, nms: bool = True
) -> NDArray[np.bool_]:
    """The one-pixel prediction: edge NMS of the soft map, threshold, morphological thinning.

    Paper ``000`` Sec. 3.2 "Overall Pipeline" (iv)-(v).
    """
    p = np.asarray(prob, dtype=np.float64)
    if nms:
        p = edge_nms(p)
    return thin(p >= threshold)


def error_segments(
    prob: NDArray[np.floating],
    gt: NDArray[np.bool_],
    *,
    threshold: float = 0.5,
    max_dist: float = 0.0075,
    min_length: int = EVAL_MIN_LENGTH,
    max_segments: int | None = None,
    nms: bool = True,
) -> ErrorSegments:
    """FN and FP boundary segments of a prediction (paper ``000`` Sec. 3.2, Sec. 4.1).

    The prediction is thinned (:func:`thinned_prediction`) and compared with the ground truth
    with a distance tolerance of ``max_dist`` × the image diagonal (the boundary benchmark's
    tolerance): FN pixels are thinned ground-truth pixels with no predicted pixel within the
    tolerance, FP pixels are predicted pixels with no ground-truth pixel within it. Both are split
    into 8-connected pieces, sorted longest first and filtered by length.

    Parameters
    ----------
    prob : (H, W) float array
        Predicted occlusion-boundary probabilities in ``[0, 1]``.
    gt : (H, W) bool array
        Ground-truth boundaries (for several annotators, pass their union).
    threshold : float
        Threshold applied after NMS.
    max_dist : float
        Matching tolerance as a fraction of the image diagonal.
    min_length : int
        Keep segments with more pixels than this (30 for evaluation).
    max_segments : int, optional
        Keep at most this many FN and this many FP segments (the longest; 5 in training).
    nms : bool
        Apply edge NMS before thresholding.

    Returns
    -------
    ErrorSegments

    Examples
    --------
    >>> gt = np.zeros((60, 60), bool); gt[10, 5:55] = True; gt[40, 5:55] = True
    >>> prob = np.zeros((60, 60)); prob[10, 5:55] = 1.0; prob[25, 5:55] = 1.0
    >>> seg = error_segments(prob, gt, nms=False)
    >>> [len(s) for s in seg.fn], [len(s) for s in seg.fp], int(seg.fn[0][0, 0])
    ([50], [50], 40)
    """
    g = np.asarray(gt, dtype=bool)
    p = np.asarray(prob)
    if p.shape != g.shape:
        raise ValueError(f"shape mismatch: prediction {p.shape} vs ground truth {g.shape}")
    pred = thinned_prediction(p, threshold, nms=nms)
    tol = matching_tolerance(g.shape, max_dist)
    fn = thin(g) & far_from(pred, tol)
    fp = pred & far_from(g, tol)
    return ErrorSegments(
        boundary_pieces(fn, min_length=min_length, max_pieces=max_segments),
        boundary_pieces(fp, min_length=min_length, max_pieces=max_segments),
    )


def _random_pieces(
    pieces: list[Segment], rng: np.random.Generator, count: int, min_length: int
) -> list[Segment]:
    """``count`` random pieces (without replacement), each cut to a random sub-piece."""
    count = min(count, len(pieces))
    out = []
    for i in rng.choice(len(pieces), size=count, replace=False):
        piece = pieces[int(i)]
        n = len(piece)
        length = int(rng.integers(min(min_length + 1, n), n + 1))
        start = int(rng.integers(0, n - length + 1))
        out.append(piece[start : start + length])
    out.sort(key=len, reverse=True)
    return out


def stage1_segments(
    image: NDArray[np.uint8],
    gt: NDArray[np.bool_],
    rng: np.random.Generator,
    *,
    max_segments: int = TRAIN_MAX_SEGMENTS,
    min_length: int = EVAL_MIN_LENGTH,
    max_dist: float = 0.0075,
    canny_level: float = 0.25,
) -> ErrorSegments:
    """Stage-1 training segments (paper ``000`` Sec. 3.2 "Training & Testing").

    FN segments are randomly selected from the ground-truth boundaries; FP segments from the
    pieces of Canny edges absent from the ground truth. The numbers of FN and of FP segments are
    each drawn uniformly from ``0 .. max_segments``; each chosen piece is cut to a random
    sub-piece longer than ``min_length`` (or kept whole when it is not longer).

    Parameters
    ----------
    image : (H, W, 3) uint8
        RGB image (for the Canny edges, :func:`occseg.occlusion.detectors.canny_boundaries`).
    gt : (H, W) bool
        Ground-truth boundaries.
    rng : numpy.random.Generator
    max_segments, min_length, max_dist
        As in :func:`error_segments`.
    canny_level : float
        A pixel is a Canny edge when at least this fraction of the soft-Canny runs keep it.

    Returns
    -------
    ErrorSegments
    """
    g = np.asarray(gt, dtype=bool)
    if np.asarray(image).shape[:2] != g.shape:
        raise ValueError(f"image {np.asarray(image).shape[:2]} and ground truth {g.shape} differ")
    gt_pieces = boundary_pieces(thin(g), min_length=min_length)
    edges = thin(canny_boundaries(image) >= canny_level)
    fp_pieces = boundary_pieces(
        edges & far_from(g, matching_tolerance(g.shape, max_dist)), min_length=min_length
    )
    n_fn = int(rng.integers(0, max_segments + 1))
    n_fp = int(rng.integers(0, max_segments + 1))
    return ErrorSegments(
        _random_pieces(gt_pieces, rng, n_fn, min_length),
        _random_pieces(fp_pieces, rng, n_fp, min_length),
    )


# --------------------------------------------------------------------------------------------
# perturbation and encoding
# --------------------------------------------------------------------------------------------
def _extend(end: NDArray[np.int64], inner: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    """``count`` points continuing the straight line from ``inner`` through ``end``."""
    d = (end - inner).astype(np.float64)
    norm = float(np.hypot(*d))
    if count <= 0 or norm == 0:
        return np.zeros((0, 2), dtype=np.int64)
    steps = np.arange(1, count + 1, dtype=np.float64)[:, None]
    return np.rint(end + steps * d / norm).astype(np.int64)


def perturb_segment(
    segment: Segment,
    rng: np.random.Generator,
    shape: tuple[int, int],
    *,
    length_jitter: float = 0.3,
    max_shift: int = 3,
) -> Segment:
    """Perturb a segment's length, then each point's position (paper ``000`` Sec. 3.2).

    The length is multiplied by a factor drawn uniformly from ``[1 - length_jitter,
    1 + length_jitter]``: a shorter segment is a random contiguous part of the piece, a longer one
    is extended at both ends (a random split of the extra points) along the direction of the
    piece's last few pixels. Then every point moves by its own offset drawn uniformly from
    ``-max_shift .. max_shift`` in ``y`` and in ``x``. Points outside the image are dropped.

    Parameters
    ----------
    segment : (N, 2) int array
        ``(y, x)`` points ordered along the piece.
    rng : numpy.random.Generator
    shape : (H, W)
        Image size.
    length_jitter : float
        Relative length change bound (``0`` keeps the length).
    max_shift : int
        Maximal per-point displacement in pixels along each axis (``0`` keeps the positions).

    Returns
    -------
    (M, 2) int64 array
    """
    pts = np.asarray(segment, dtype=np.int64).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return pts
    factor = rng.uniform(1.0 - length_jitter, 1.0 + length_jitter)
    target = max(1, round(n * factor))
    if target <= n:
        start = int(rng.integers(0, n - target + 1))
        pts = pts[start : start + target]
    else:
        extra = target - n
        head = int(rng.integers(0, extra + 1))
        k = min(5, n - 1)
        before = _extend(pts[0], pts[k], head)[::-1]
        after = _extend(pts[-1], pts[n - 1 - k], extra - head)
        pts = np.concatenate([before, pts, after])
    if max_shift > 0:
        pts = pts + rng.integers(-max_shift, max_shift + 1, size=pts.shape)
    h, w = shape
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < h) & (pts[:, 1] >= 0) & (pts[:, 1] < w)
    return pts[inside]


def scribbles_from_segments(
    segments: ErrorSegments,
    shape: tuple[int, int],
    *,
    rng: np.random.Generator | None = None,
    radius: int = SCRIBBLE_RADIUS,
    length_jitter: float = 0.3,
    max_shift: int = 3,
) -> ScribbleSimulation:
    """FN and FP interaction maps from error segments (paper ``000`` "Scribble Simulation").

    With ``rng`` every segment is perturbed (:func:`perturb_segment`) before the disk encoding
    (:func:`scribble_map`); without it the segments are encoded as they are (deterministic).
    """

    def encode(segs: list[Segment]) -> NDArray[np.float32]:
        if rng is not None:
            segs = [
                perturb_segment(s, rng, shape, length_jitter=length_jitter, max_shift=max_shift)
                for s in segs
            ]
        return scribble_map(segs, shape, radius=radius)

    return ScribbleSimulation(encode(segments.fn), encode(segments.fp), segments)


def simulate_scribbles(
    prob: NDArray[np.floating],
    gt: NDArray[np.bool_],
    *,
    threshold: float = 0.5,
    max_dist: float = 0.0075,
    min_length: int = EVAL_MIN_LENGTH,
    max_segments: int | None = None,
    nms: bool = True,
    rng: np.random.Generator | None = None,
    radius: int = SCRIBBLE_RADIUS,
    length_jitter: float = 0.3,
    max_shift: int = 3,
) -> ScribbleSimulation:
    """Simulated scribbles for a prediction: :func:`error_segments`, then the encoding.

    Evaluation (paper ``000`` Sec. 4.1): every segment longer than 30 pixels, no ``rng``.
    Stage-2 training (Sec. 3.2): ``max_segments=5`` on the model's own output, with ``rng`` for
    the perturbation.

    Examples
    --------
    >>> gt = np.zeros((64, 64), bool); gt[32, 4:60] = True
    >>> sim = simulate_scribbles(np.zeros((64, 64)), gt)
    >>> sim.fn_map.dtype, bool(sim.fn_map[32 + 12, 30]), float(sim.fp_map.max())
    (dtype('float32'), True, 0.0)
    """
    segs = error_segments(
        prob,
        gt,
        threshold=threshold,
        max_dist=max_dist,
        min_length=min_length,
        max_segments=max_segments,
        nms=nms,
    )
    shape = (int(np.shape(gt)[0]), int(np.shape(gt)[1]))
    return scribbles_from_segments(
        segs, shape, rng=rng, radius=radius, length_jitter=length_jitter, max_shift=max_shift
    )


def stage1_scribbles(
    image: NDArray[np.uint8],
    gt: NDArray[np.bool_],
    rng: np.random.Generator,
    *,
    max_segments: int = TRAIN_MAX_SEGMENTS,
    min_length: int = EVAL_MIN_LENGTH,
    max_dist: float = 0.0075,
    canny_level: float = 0.25,
    radius: int = SCRIBBLE_RADIUS,
    length_jitter: float = 0.3,
    max_shift: int = 3,
) -> ScribbleSimulation:
    """Stage-1 training scribbles: :func:`stage1_segments`, perturbed and encoded.

    Paper ``000`` Sec. 3.2: the network then sees these FN-FP maps with an all-zero previous
    output.
    """
    segs = stage1_segments(
        image,
        gt,
        rng,
        max_segments=max_segments,
        min_length=min_length,
        max_dist=max_dist,
        canny_level=canny_level,
    )
    shape = (int(np.shape(gt)[0]), int(np.shape(gt)[1]))
    return scribbles_from_segments(
        segs, shape, rng=rng, radius=radius, length_jitter=length_jitter, max_shift=max_shift
    )
