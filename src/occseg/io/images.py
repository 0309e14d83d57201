"""Reading images and masks of any common kind; writing PNGs atomically.

Images become ``H×W×3 uint8 RGB`` whatever they were on disk: grayscale, palette, RGBA, 16-bit or
float, with the EXIF orientation applied. Label maps keep their raw values (palette indices, 16-bit
instance ids). Every failure a user can cause raises an :class:`~occseg.errors.OccsegError`.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from occseg.errors import ImageReadError, MaskError
from occseg.io.atomic import atomic_write_bytes

#: Default largest image accepted, in pixels (a 10000×10000 image). Larger ones are refused before
#: decoding so a stray panorama cannot exhaust memory; pass ``max_pixels`` to change it.
MAX_PIXELS = 100_000_000


def _open(path: str | os.PathLike, max_pixels: int, what: str) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{what} not found: {path} (check the path)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w * h > max_pixels:
                raise ImageReadError(
                    f"{what} {path} is {w}×{h} = {w * h / 1e6:.0f} megapixels, above the limit of "
                    f"{max_pixels / 1e6:.0f}; downscale it first or raise max_pixels"
                )
            img.load()
    except ImageReadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ImageReadError(
            f"cannot read {path} as an {what} ({exc.__class__.__name__}); "
            "save it as PNG, JPEG, TIFF, BMP or WebP"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(
            f"{what} {path} is damaged or truncated ({exc}); re-export or re-download it"
        ) from None
    return img


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale integer or float pixel values of any depth to uint8."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if finite.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(np.rint(finite * scale), 0, 255).astype(np.uint8)
    # Integer data wider than 8 bits: 16-bit images use the full 0..65535 range.
    top = 65535 if arr.max(initial=0) > 255 else 255
    return np.clip(np.rint(arr.astype(np.float64) * (255.0 / top)), 0, 255).astype(np.uint8)


def image_to_rgb(img: Image.Image) -> np.ndarray:
    """Convert a decoded PIL image (any mode) to ``H×W×3 uint8`` RGB, EXIF orientation applied.

    Alpha is dropped (the colour channels are kept as stored); palettes are expanded; 16-bit and
    float images are rescaled to 0..255.
    """
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        gray = _to_uint8(np.asarray(img))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode != "RGB":
        if img.mode == "P" and "transparency" in img.info:
            img = img.convert("RGBA")
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def read_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read any common image file as ``H×W×3 uint8`` RGB.

    Grayscale, palette, RGBA, 16-bit and float images are converted; EXIF orientation is applied.

    Raises
    ------
    ImageReadError
        If the file is missing, not an image, damaged, or larger than ``max_pixels``.
    """
    return image_to_rgb(_open(path, max_pixels, "image"))


def decode_image(data: bytes, *, max_pixels: int = MAX_PIXELS, name: str = "upload") -> np.ndarray:
    """Decode image bytes (e.g. an upload) to ``H×W×3 uint8`` RGB; see :func:`read_image`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.size[0] * img.size[1] > max_pixels:
                raise ImageReadError(
                    f"{name} is {img.size[0]}×{img.size[1]} pixels, above the limit of "
                    f"{max_pixels / 1e6:.0f} megapixels; downscale it first"
                )
            img.load()
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageReadError(f"{name} is not a readable image; send PNG, JPEG or WebP") from None
    return image_to_rgb(img)


def read_label_map(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a label image keeping raw values, as an ``H×W`` integer array.

    Palette PNGs give their palette indices, 16-bit PNGs their 16-bit values, grayscale images
    their gray levels. Colour images whose channels are equal give that channel; other colour
    images are converted to gray with ITU-R 601 weights (as OpenCV's ``COLOR_RGB2GRAY``), which is
    how the field reads colour-coded masks.
    """
    img = _open(path, max_pixels, "mask")
    img = ImageOps.exif_transpose(img)
    if img.mode in ("P", "L", "1", "I", "I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(img)
        if arr.dtype == bool:
            arr = arr.astype(np.uint8)
        return arr.astype(np.int32) if arr.dtype.itemsize > 2 else arr
    if img.mode == "F":
        raise MaskError(f"mask {path} holds floating-point values; save it as an 8/16-bit PNG")
    rgb = np.asarray(img.convert("RGB"))
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return np.ascontiguousarray(rgb[..., 0])
    gray = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.rint(gray).astype(np.uint8)


def read_mask(
    path: str | os.PathLike,
    *,
    ignore_value: int | None = 128,
    threshold: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a binary object mask and its ignore region.

    Parameters
    ----------
    path
        A binary (0/1, 0/255), 0/128/255 or palette mask image.
    ignore_value
        The value that marks pixels to ignore (128 in the GrabCut convention); None for none.
    threshold
        Pixels with a value strictly greater than this (and not ``ignore_value``) are the object.

    Returns
    -------
    mask, ignore
        Two ``H×W bool`` arrays.
    """
    labels = read_label_map(path)
    ignore = labels == ignore_value if ignore_value is not None else np.zeros(labels.shape, bool)
    return (labels > threshold) & ~ignore, ignore


def check_same_size(
    image: np.ndarray, mask: np.ndarray, *, image_name: str, mask_name: str
) -> None:
    """Raise :class:`MaskError` if ``mask`` is not the same height and width as ``image``."""
    if image.shape[:2] != mask.shape[:2]:
        raise MaskError(
            f"mask {mask_name} is {mask.shape[1]}×{mask.shape[0]} but image {image_name} is "
            f"{image.shape[1]}×{image.shape[0]}; each mask must have its image's size"
        )


#: The longest image side the click and boundary networks see by default (the app's and
#: ``occseg boundaries``' ``--max-side``): larger photos are shrunk for them (a 12-megapixel
#: photo at full size took the OB network 147 s and 14.7 GB on 2 cores).
NETWORK_MAX_SIDE = 1280


def shrink_to_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` (``H×W`` or ``H×W×C``) shrunk by area interpolation so that its longer side is
    at most ``max_side`` pixels; the same array when it already is or ``max_side <= 0``.

    >>> shrink_to_side(np.zeros((300, 400, 3), np.uint8), 200).shape
    (150, 200, 3)
    """
    h, w = image.shape[:2]
    if max_side <= 0 or max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def encode_png(array: np.ndarray) -> bytes:
    """Encode ``H×W`` (uint8/uint16/bool) or ``H×W×3|4`` uint8 as PNG bytes (deterministic)."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG needs uint8 or uint16 data, got {array.dtype}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_png(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as a PNG atomically; see :func:`encode_png`."""
    atomic_write_bytes(path, encode_png(array))
