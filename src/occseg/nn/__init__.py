"""Torch modules: backbones, the interactive models of the papers, and their losses.

Nothing here reads files; checkpoints are read and written by :mod:`occseg.checkpoint`.
"""

from occseg.nn.clicknet import ClickNet, ClickNetConfig
from occseg.nn.losses import LOSSES, get_loss
from occseg.nn.obnet import OBNet, OBNetConfig

__all__ = ["LOSSES", "ClickNet", "ClickNetConfig", "OBNet", "OBNetConfig", "get_loss"]
