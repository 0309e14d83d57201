"""Checkpoints that rebuild their model alone (the model config travels with the weights).

A checkpoint is a ``torch.save`` of a dict::

    {"format": "occseg.clicknet" | "occseg.obnet" | "occseg.ordernet" | "occseg.twoinone",
     "version": 1,
     "model_config": {...}, "model": state_dict, "optimizer": state_dict | None, "step": int,
     "train_config": {...} | None, "meta": {...}}

The format names the model class (:data:`MODEL_FORMATS`). It is written atomically
(``torch.save`` into memory, then :func:`occseg.io.atomic_write_bytes`), so an interrupted run
leaves the previous checkpoint intact, and read with ``weights_only=True`` (no code runs when a
checkpoint is opened).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from occseg.errors import ConfigError, FileFormatError
from occseg.io import atomic_write_bytes
from occseg.nn.clicknet import ClickNet, ClickNetConfig
from occseg.nn.obnet import OBNet, OBNetConfig
from occseg.nn.ordernet import OrderNet, OrderNetConfig
from occseg.nn.twoinone import TwoInOne, TwoInOneConfig

FORMAT = "occseg.clicknet"
OB_FORMAT = "occseg.obnet"
ORDER_FORMAT = "occseg.ordernet"
TWOINONE_FORMAT = "occseg.twoinone"
VERSION = 1

#: format → (config class, model class, what the file is called in messages, the verb writing it)
MODEL_FORMATS: dict[str, tuple[type, type[nn.Module], str, str]] = {
    FORMAT: (ClickNetConfig, ClickNet, "click-model", "occseg train clicks"),
    OB_FORMAT: (OBNetConfig, OBNet, "occlusion-boundary-model", "occseg train boundaries"),
    ORDER_FORMAT: (OrderNetConfig, OrderNet, "occlusion-order-model", "occseg train order"),
    TWOINONE_FORMAT: (TwoInOneConfig, TwoInOne, "two-in-one-model", "occseg train twoinone"),
}


def _format_of(model: nn.Module) -> str:
    for name, (_, cls, _, _) in MODEL_FORMATS.items():
        if isinstance(model, cls):
            return name
    raise TypeError(f"no checkpoint format for {type(model).__name__}")


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    step: int = 0,
    train_config: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Write ``model`` (and optionally the optimizer state) to ``path`` atomically.

    Parameters
    ----------
    half
        Store floating-point weights as float16 (halves the size of a shipped model; they are
        cast back to float32 on loading). Use only for weights-only checkpoints.
    """
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    payload = {
        "format": _format_of(model),
        "version": VERSION,
        "model_config": cast(Any, model).config.to_dict(),
        "model": state,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": int(step),
        "train_config": train_config,
        "meta": meta or {},
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def read_checkpoint(path: str | os.PathLike, model_format: str = FORMAT) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` holding a ``model_format`` model.

    Raises
    ------
    ConfigError
        If the file does not exist.
    FileFormatError
        If it is not an occseg checkpoint of that format.
    """
    path = Path(path)
    _, _, what, verb = MODEL_FORMATS[model_format]
    if not path.is_file():
        raise ConfigError(f"checkpoint {path} does not exist; give the path of a .pt file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of many kinds; torch's text is a paragraph
        raise FileFormatError(
            f"{path} is not a readable torch checkpoint ({type(exc).__name__}); give the "
            f"model.pt or last.pt written by `{verb}`"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != model_format:
        raise FileFormatError(
            f"{path} is not an occseg {what} checkpoint (no format={model_format!r} field); "
            f"checkpoints are written by `{verb}`"
        )
    if int(payload.get("version", 0)) > VERSION:
        raise FileFormatError(f"{path} has checkpoint version {payload['version']}; upgrade occseg")
    return payload


def checkpoint_format(path: str | os.PathLike) -> str | None:
    """The ``format`` field of an occseg checkpoint (e.g. ``"occseg.twoinone"``), or None when
    ``path`` is not a readable occseg checkpoint. The tensors are memory-mapped, not read."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # pickle/zip/OS errors of many kinds: not a checkpoint we can read
        return None
    found = payload.get("format") if isinstance(payload, dict) else None
    return found if isinstance(found, str) else None


def model_from_payload(payload: dict[str, Any]) -> Any:
    """Rebuild the model of a checkpoint payload (in eval mode), by its ``format``."""
    try:
        config_cls, model_cls, _, _ = MODEL_FORMATS[payload["format"]]
        config = config_cls.from_dict(payload["model_config"])  # type: ignore[attr-defined]
        model = model_cls(config)
        model.load_state_dict(payload["model"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise FileFormatError(f"checkpoint does not match its model config: {exc}") from None
    return model.eval()


def load_clicknet(path: str | os.PathLike) -> ClickNet:
    """Load a :class:`~occseg.nn.ClickNet` from a checkpoint file alone (eval mode)."""
    return model_from_payload(read_checkpoint(path))


def load_obnet(path: str | os.PathLike) -> OBNet:
    """Load an :class:`~occseg.nn.OBNet` from a checkpoint file alone (eval mode)."""
    return model_from_payload(read_checkpoint(path, OB_FORMAT))


def load_ordernet(path: str | os.PathLike) -> OrderNet:
    """Load an :class:`~occseg.nn.ordernet.OrderNet` from a checkpoint file alone (eval mode)."""
    return model_from_payload(read_checkpoint(path, ORDER_FORMAT))


def load_twoinone(path: str | os.PathLike) -> TwoInOne:
    """Load a :class:`~occseg.nn.twoinone.TwoInOne` from a checkpoint file alone (eval mode)."""
    return model_from_payload(read_checkpoint(path, TWOINONE_FORMAT))
