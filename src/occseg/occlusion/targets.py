"""Training targets of the joint semantic / oriented-boundary network (paper 001, supplement 1.3).

With |D| = 4 the orientation of a boundary pixel ``p`` says which of its left, right, top and
bottom neighbours it occludes (the ``ob_occludes`` channel order of the synthetic scenes):

* :func:`occludes_from_instances` builds these flags from instance masks and the occlusion order
  ("we examine whether pixel p occludes any of its left, right, top, or bottom neighbor");
* :func:`instance_boundaries` keeps, of exact per-pixel flags (the synthetic scenes'
  ``ob_occludes``), the ones between different instances whose occluder is not the background:
  the boundaries instance masks show, with the pixel-exact side of mutually occluding pairs;
* :func:`self_occlusion_pixels` marks the self-occlusion flags (both pixels inside one object, a
  part of what :func:`instance_boundaries` drops) on both sides: hard negatives of ``B_p``;
* :func:`orientation_targets` turns them into ``B_p`` (the pixel occludes some neighbour) and
  ``E_p`` (the flags normalised to sum to 1, e.g. ``[0.5, 0, 0.5, 0]`` for left and top), with
  no orientation (a zero row, weight 0 in Eq. 4) where it is undefined, such as at the contact
  lines of synthetic scenes;
* :func:`semantic_targets` paints each instance with its class (0 = background);
  :func:`synth_classes` gives the classes of a synthetic scene's objects from their ``kind``.

NumPy only (no torch).

Example
-------
>>> inst = np.array([[1, 1, 2], [1, 1, 2]])
>>> occ = occludes_from_instances(inst, [(2, 1)])  # 2 in front of 1
>>> B, E = orientation_targets(occ)
>>> B.astype(int).tolist(), E[0, 2].tolist()
([[0, 0, 1], [0, 0, 1]], [1.0, 0.0, 0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from occseg.errors import DatasetError

__all__ = [
    "instance_boundaries",
    "occludes_from_instances",
    "orientation_targets",
    "self_occlusion_pixels",
    "semantic_targets",
    "synth_classes",
]


def occludes_from_instances(
    instances: np.ndarray, occlusions: Iterable[tuple[int, int]]
) -> np.ndarray:
    """``H×W×4 bool``: pixel occludes its left, right, top, bottom neighbour (supplement 1.3).

    Pixel ``p`` occludes its 4-neighbour ``q`` when their instances ``(id_p, id_q)`` are listed
    as ``(front, back)`` in ``occlusions``. Boundaries inside one instance (self-occlusion) are
    not visible in masks and are not produced; two instances listed both ways (mutual occlusion)
    mark both sides.

    Parameters
    ----------
    instances
        ``H×W`` int ids (the background may be an id too, e.g. 0).
    occlusions
        ``(front_id, back_id)`` pairs of the occlusion order.
    """
    ids = np.asarray(instances).astype(np.int64)
    pairs = np.array(sorted({(int(a), int(b)) for a, b in occlusions}), np.int64).reshape(-1, 2)
    h, w = ids.shape
    out = np.zeros((h, w, 4), bool)
    if not len(pairs):
        return out
    lut, inv = np.unique(np.concatenate([ids.ravel(), pairs.ravel()]), return_inverse=True)
    n = len(lut)
    dense = inv[: ids.size].reshape(h, w)
    front = np.zeros(n * n, bool)
    front[inv[ids.size :].reshape(-1, 2) @ np.array([n, 1])] = True

    def occ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return front[a * n + b]

    out[:, 1:, 0] = occ(dense[:, 1:], dense[:, :-1])
    out[:, :-1, 1] = occ(dense[:, :-1], dense[:, 1:])
    out[1:, :, 2] = occ(dense[1:], dense[:-1])
    out[:-1, :, 3] = occ(dense[:-1], dense[1:])
    return out


def _neighbour_ids(ids: np.ndarray) -> np.ndarray:
    """``H×W×4`` id of the left, right, top, bottom neighbour (-1 outside the image)."""
    pad = np.pad(ids, 1, constant_values=-1)
    return np.stack([pad[1:-1, :-2], pad[1:-1, 2:], pad[:-2, 1:-1], pad[2:, 1:-1]], axis=2)


def instance_boundaries(
    occludes: np.ndarray, instances: np.ndarray, *, background: int | None = 0
) -> np.ndarray:
    """Occlusion flags between different instances, the occluder not the ``background`` id.

    Drops self-occlusion flags (inside one instance, not boundaries of the instance masks that
    supplement 1.3 starts from) and flags of background pixels (label 0 occludes nothing,
    Sec. 3.2). Same ``H×W×4 bool`` layout as ``occludes``.
    """
    ids = np.asarray(instances).astype(np.int64)
    occ = np.asarray(occludes, bool)
    nb = _neighbour_ids(ids)
    keep = occ & (nb != ids[..., None]) & (nb >= 0)
    if background is not None:
        keep &= (ids != background)[..., None]
    return keep


def self_occlusion_pixels(
    occludes: np.ndarray, instances: np.ndarray, *, background: int | None = 0
) -> np.ndarray:
    """``H×W bool``: both pixels of every occlusion flag inside one instance (not the
    ``background`` id), i.e. the self-occlusion edges of an object (a chair's back over its seat),
    which :func:`instance_boundaries` drops (with the background's flags).

    Example: a flag of pixel ``(0, 1)`` over its left neighbour, both of instance 1, marks both.

    >>> occ = np.zeros((1, 3, 4), bool); occ[0, 1, 0] = True
    >>> self_occlusion_pixels(occ, np.array([[1, 1, 1]])).tolist()
    [[True, True, False]]
    """
    ids = np.asarray(instances).astype(np.int64)
    occ = np.asarray(occludes, bool) & (_neighbour_ids(ids) == ids[..., None])
    if background is not None:
        occ &= (ids != background)[..., None]
    out = occ.any(2)
    out[:, :-1] |= occ[:, 1:, 0]  # the left neighbour of a pixel that occludes it
    out[:, 1:] |= occ[:, :-1, 1]
    out[:-1, :] |= occ[1:, :, 2]
    out[1:, :] |= occ[:-1, :, 3]
    return out


def orientation_targets(
    occludes: np.ndarray, unoriented: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boundary target ``B_p`` and orientation target ``E_p`` (Eq. 4; supplement 1.3).

    Parameters
    ----------
    occludes
        ``H×W×4 bool`` (left, right, top, bottom).
    unoriented
        Optional ``H×W bool``: boundary pixels whose orientation is undefined, e.g. the contact
        pixels of a synthetic scene (``SynthSample.ob_contact``: two objects touching, the
        marked side flips with sub-pixel depth differences). They keep ``B_p`` and get a zero
        ``E_p`` row, which weighs 0 in the orientation term ``B_p CE(E_p | e_p)`` of Eq. 4
        (:func:`occseg.nn.losses.oosis_loss`).

    Returns
    -------
    (B, E)
        ``H×W bool`` boundary pixels (occluding at least one neighbour) and ``H×W×4 float32``
        orientation distributions (the flags over their count; zero off the boundary and on
        ``unoriented`` pixels).
    """
    occ = np.asarray(occludes, bool)
    if occ.ndim != 3 or occ.shape[2] != 4:
        raise ValueError(f"occludes must be H×W×4, got shape {occ.shape}")
    count = occ.sum(2, dtype=np.float32)
    boundary = count > 0
    e = occ.astype(np.float32) / np.maximum(count, 1.0)[..., None]
    if unoriented is not None:
        if np.shape(unoriented) != boundary.shape:
            raise ValueError(f"unoriented must be {boundary.shape}, got {np.shape(unoriented)}")
        e[np.asarray(unoriented, bool)] = 0.0
    return boundary, e


def semantic_targets(instances: np.ndarray, classes: Mapping[int, int]) -> np.ndarray:
    """``H×W int64`` class map: each instance id painted with ``classes[id]``, others 0."""
    ids = np.asarray(instances).astype(np.int64)
    lut = np.zeros(int(max(ids.max(initial=0), *classes, 0)) + 1, np.int64)
    for i, c in classes.items():
        if i >= 0:
            lut[i] = c
    return lut[np.clip(ids, 0, None)]


def synth_classes(meta: Mapping, class_names: Sequence[str]) -> dict[int, int]:
    """``{object id: class index}`` of a synthetic scene (``meta.json`` of ``occseg synth``).

    An object's class is the position of its ``kind`` in ``class_names``, whose first entry is
    the background (the room, id 0). With two names (background and one object class) every
    object is class 1.

    Raises
    ------
    DatasetError
        If an object's kind is not among ``class_names``.
    """
    names = list(class_names)
    out = {0: 0}
    for obj in meta.get("objects", []):
        kind = str(obj.get("kind", ""))
        if kind in names[1:]:
            out[int(obj["id"])] = names.index(kind)
        elif len(names) == 2:
            out[int(obj["id"])] = 1
        else:
            raise DatasetError(
                f"object kind {kind!r} is not one of the model's classes {names[1:]}; "
                "add it to model.class_names"
            )
    return out
