"""FN/FP scribbles as JSON: the file ``occseg boundaries --scribbles FILE`` reads.

Format (coordinates are pixels ``[y, x]``, origin top-left, like every coordinate in occseg)::

    {
      "fn": [[[12, 40], [12, 80], [30, 95]]],   # polylines over missed boundaries
      "fp": [[[100, 10], [104, 60]]]            # polylines over wrongly detected boundaries
    }

Each polyline is a list of at least one ``[y, x]`` point; consecutive points are joined by
straight lines. Both keys are optional (missing = no scribbles of that kind).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from occseg.errors import FileFormatError
from occseg.types import Scribble

__all__ = ["parse_scribbles", "read_scribbles", "scribbles_to_json"]

_KINDS = ("fn", "fp")


def _point(value: Any, where: str) -> tuple[int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise FileFormatError(f"{where}: a point must be [y, x] (two numbers), got {value!r}")
    return round(value[0]), round(value[1])


def parse_scribbles(data: Any, source: str = "scribbles") -> list[Scribble]:
    """Scribbles from a parsed JSON object of the format in the module docstring.

    Raises
    ------
    FileFormatError
        If the object does not follow the format (the message names the offending entry).
    """
    if not isinstance(data, dict):
        raise FileFormatError(f'{source}: expected an object {{"fn": [...], "fp": [...]}}')
    unknown = sorted(set(data) - set(_KINDS))
    if unknown:
        raise FileFormatError(f"{source}: unknown key(s) {unknown}; use 'fn' and 'fp'")
    out = []
    for kind in _KINDS:
        lines = data.get(kind, [])
        if not isinstance(lines, list):
            raise FileFormatError(f"{source}: '{kind}' must be a list of polylines")
        for i, line in enumerate(lines):
            where = f"{source}: {kind}[{i}]"
            if not isinstance(line, list) or not line:
                raise FileFormatError(f"{where}: a polyline is a non-empty list of [y, x] points")
            out.append(Scribble(tuple(_point(p, where) for p in line), kind))
    return out


def read_scribbles(path: str | os.PathLike) -> list[Scribble]:
    """Read a scribble JSON file (see the module docstring for the format).

    Raises
    ------
    FileFormatError
        If the file is missing, not JSON, or not of the format.

    Examples
    --------
    >>> parse_scribbles({"fn": [[[1, 2], [3, 4]]]})
    [Scribble(points=((1, 2), (3, 4)), kind='fn')]
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileFormatError(f"cannot read scribbles {path} ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path} is not valid JSON ({exc})") from None
    return parse_scribbles(data, str(path))


def scribbles_to_json(scribbles: list[Scribble]) -> dict[str, list[list[list[int]]]]:
    """The JSON object of a list of scribbles (inverse of :func:`parse_scribbles`)."""
    out: dict[str, list[list[list[int]]]] = {k: [] for k in _KINDS}
    for s in scribbles:
        out[s.kind].append([[int(y), int(x)] for y, x in s.points])
    return out
