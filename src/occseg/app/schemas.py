"""Request bodies of the app's JSON API (pydantic models; unknown fields are refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AdoptIn",
    "ClickIn",
    "ObjectIn",
    "ObjectPatch",
    "OrderIn",
    "ScribbleIn",
    "SettingsIn",
    "VersionIn",
]

_Coord = Field(ge=-(2**31), le=2**31)
MAX_SCRIBBLE_POINTS = 5000


class VersionIn(BaseModel):
    """Every change names the document version it was made against."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=0)


class ClickIn(VersionIn):
    """A click on object ``object_id`` (None: start a new object).

    ``kind`` ``"boundary"``: a boundary click on the object's intended boundary (needs a model
    with ``supports_boundary_clicks`` and an object that a first click has selected).
    """

    object_id: int | None = None
    y: int = _Coord
    x: int = _Coord
    positive: bool = True
    kind: Literal["click", "boundary"] = "click"
    label: str | None = Field(default=None, max_length=100)


class AdoptIn(VersionIn):
    """Adopt proposal ``rank`` (1 = best) of the proposals layer as a new object, clicked at
    ``(y, x)`` (a pixel inside the proposal)."""

    rank: int = Field(ge=1, le=10_000)
    y: int = _Coord
    x: int = _Coord
    label: str | None = Field(default=None, max_length=100)


class ObjectIn(VersionIn):
    """Names one object (undo / redo)."""

    object_id: int


class ObjectPatch(VersionIn):
    """Changes to an object's class label, colour, visibility or finished state."""

    label: str | None = Field(default=None, max_length=100)
    color: str | None = Field(default=None, max_length=7)
    visible: bool | None = None
    finished: bool | None = None


class OrderIn(VersionIn):
    """``add``: ``front`` occludes ``back``; ``remove``: forget that pair; ``clear``: all."""

    action: Literal["add", "remove", "clear"]
    front: int | None = None
    back: int | None = None


class ScribbleIn(VersionIn):
    """A boundary-mode scribble: FN (a missed boundary) or FP (a false one)."""

    kind: Literal["fn", "fp"]
    points: list[tuple[int, int]] = Field(min_length=1, max_length=MAX_SCRIBBLE_POINTS)


class SettingsIn(BaseModel):
    """Project-wide display settings."""

    model_config = ConfigDict(extra="forbid")
    boundary_threshold: float = Field(gt=0, lt=1)
