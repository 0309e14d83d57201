"""Reading MATLAB ``.mat`` annotation files (SBD, BSDS500) whatever ``loadmat``'s nesting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from occseg.errors import FileFormatError


def load_mat(path: str | os.PathLike, variable: str) -> Any:
    """Load ``variable`` from a MATLAB v4-v7.2 file, raising :class:`FileFormatError` on failure."""
    path = Path(path)
    try:
        contents = scipy.io.loadmat(str(path), variable_names=[variable])
    except FileNotFoundError:
        raise FileFormatError(f"annotation file not found: {path}") from None
    except NotImplementedError:
        raise FileFormatError(
            f"{path} is a MATLAB v7.3 (HDF5) file; re-save it with MATLAB's -v7 option"
        ) from None
    except Exception as exc:  # scipy raises many types (MatReadError, ValueError, OSError, ...)
        raise FileFormatError(
            f"cannot read {path} as a MATLAB file ({exc}); re-export it"
        ) from None
    if variable not in contents:
        raise FileFormatError(f"{path} has no variable {variable!r}; is it the right file?")
    return contents[variable]


def unwrap(value: Any) -> Any:
    """Strip the 1×1 object-array wrappers ``loadmat`` puts around cells and struct fields."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    return value


def cell_items(value: Any) -> list[Any]:
    """The entries of a MATLAB cell array (or a 1×N struct array), in MATLAB order."""
    if isinstance(value, np.ndarray) and (value.dtype == object or value.dtype.names):
        return [unwrap(v) for v in value.ravel(order="F")]
    if isinstance(value, (list, tuple)):
        return [unwrap(v) for v in value]
    return [unwrap(value)]


def struct_field(struct: Any, name: str, path: str | os.PathLike) -> Any:
    """Return field ``name`` of a MATLAB struct as ``loadmat`` returned it (record or object)."""
    struct = unwrap(struct)
    names: tuple[str, ...] = ()
    if isinstance(struct, (np.ndarray, np.void)) and struct.dtype.names:
        names = struct.dtype.names
        if isinstance(struct, np.ndarray):
            struct = struct.flat[0]
    elif isinstance(struct, dict):
        names = tuple(struct)
    elif hasattr(struct, "_fieldnames"):  # scipy's mat_struct (struct_as_record=False)
        names = tuple(struct._fieldnames)
    if name not in names:
        raise FileFormatError(
            f"{path}: expected a MATLAB struct with a field {name!r}, found fields {list(names)}"
        )
    value = struct[name] if not hasattr(struct, "_fieldnames") else getattr(struct, name)
    return unwrap(value)


def label_array(value: Any, what: str, path: str | os.PathLike) -> np.ndarray:
    """Check that ``value`` is a 2-D integer array (integral floats are converted) and return it."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        if np.issubdtype(value.dtype, np.integer):
            return value
        if value.dtype == bool:
            return value.astype(np.uint8)
        if np.issubdtype(value.dtype, np.floating) and np.all(np.mod(value, 1) == 0):
            return value.astype(np.int32)
    desc = (
        f"{value.dtype} array of shape {value.shape}"
        if isinstance(value, np.ndarray)
        else type(value).__name__
    )
    raise FileFormatError(f"{path}: {what} should be a 2-D integer array, got {desc}")
