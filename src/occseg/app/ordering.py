"""Occlusion order of annotated objects: cycles and relative depth from "A in front of B" edges.

The logic is the library's occlusion graph (:mod:`occseg.occlusion.graph`); this module keeps
the names the app imports.

>>> find_cycles([1, 2, 3], [(1, 2), (2, 3), (3, 1)])
[[1, 2, 3]]
>>> relative_depth([1, 2, 3, 4], [(1, 2), (2, 3)])
{1: 0, 2: 1, 3: 2, 4: 0}
"""

from __future__ import annotations

from occseg.occlusion.graph import find_cycles, relative_depth, strongly_connected

__all__ = ["find_cycles", "relative_depth", "strongly_connected"]
