"""User-facing errors.

Every failure a user can cause raises a subclass of :class:`OccsegError` whose message says what is
wrong and what to do. The CLI prints the message on one line and exits with status 2.
"""

from __future__ import annotations


class OccsegError(Exception):
    """Base class of every error a user can cause and fix."""


class ImageReadError(OccsegError):
    """An image file is missing, unreadable, or of an unsupported kind."""


class MaskError(OccsegError):
    """A mask is unreadable, or does not fit its image."""


class DatasetError(OccsegError):
    """A dataset folder does not have the layout its kind requires."""


class InteractionError(OccsegError):
    """A click, scribble or other interaction is invalid (e.g. outside the image)."""


class ConfigError(OccsegError):
    """A configuration, option value or method name is invalid."""


class FileFormatError(OccsegError):
    """A JSON/MAT/NPY file is malformed or lacks the expected fields."""
