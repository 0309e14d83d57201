"""Robust reading and atomic writing of images, masks and JSON."""

from occseg.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from occseg.io.images import read_image, read_label_map, read_mask, write_png

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "read_image",
    "read_label_map",
    "read_mask",
    "write_png",
]
