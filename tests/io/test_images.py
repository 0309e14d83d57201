"""Robust image and mask reading: odd formats become H×W×3 uint8, bad files give clear errors."""

import numpy as np
import pytest
from PIL import Image

from occseg.errors import ImageReadError, MaskError, OccsegError
from occseg.io import atomic_write_json, read_image, read_label_map, read_mask, write_png
from occseg.io.images import check_same_size, decode_image


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)


def test_rgb_png_roundtrip(tmp_path, rgb):
    write_png(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = np.arange(54, dtype=np.uint8).reshape(6, 9)
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (6, 9, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 1], gray)


def test_rgba_drops_alpha(tmp_path, rgb):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)


def test_palette_is_expanded(tmp_path):
    img = Image.new("P", (4, 3))
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    img.putdata([0, 1, 2, 1] * 3)
    img.save(tmp_path / "p.png")
    out = read_image(tmp_path / "p.png")
    assert out.shape == (3, 4, 3)
    assert tuple(out[0, 1]) == (255, 0, 0) and tuple(out[0, 2]) == (0, 255, 0)


def test_16bit_is_rescaled(tmp_path):
    arr = np.array([[0, 65535], [257 * 100, 257 * 200]], np.uint16)
    Image.fromarray(arr).save(tmp_path / "d.png")
    out = read_image(tmp_path / "d.png")
    np.testing.assert_array_equal(out[..., 0], [[0, 255], [100, 200]])
    # Label maps keep the raw 16-bit values.
    np.testing.assert_array_equal(read_label_map(tmp_path / "d.png"), arr)


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((4, 8, 3), np.uint8)
    arr[0, 0] = 255  # top-left marker on a landscape image
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    img.save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=100)
    out = read_image(tmp_path / "r.jpg")
    assert out.shape == (8, 4, 3)
    assert out[0, -1].mean() > 200  # marker moved to the top-right corner


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), (b"not an image at all", "cannot read"), ("truncated", "damaged")],
)
def test_bad_files_raise_clear_errors(tmp_path, rgb, content, message):
    path = tmp_path / "bad.png"
    if content == "truncated":
        write_png(path, rgb)
        path.write_bytes(path.read_bytes()[:60])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError, match=message):
        read_image(path)


def test_huge_images_are_refused_before_decoding(tmp_path, rgb):
    write_png(tmp_path / "a.png", rgb)
    with pytest.raises(ImageReadError, match="megapixels"):
        read_image(tmp_path / "a.png", max_pixels=10)


def test_decode_bytes(rgb, tmp_path):
    write_png(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(decode_image((tmp_path / "a.png").read_bytes()), rgb)
    with pytest.raises(ImageReadError):
        decode_image(b"\x89PNG garbage")


def test_mask_conventions(tmp_path):
    arr = np.array([[0, 128, 255], [1, 0, 128]], np.uint8)
    Image.fromarray(arr).save(tmp_path / "m.png")
    mask, ignore = read_mask(tmp_path / "m.png")
    np.testing.assert_array_equal(mask, [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ignore, [[0, 1, 0], [0, 0, 1]])
    mask, ignore = read_mask(tmp_path / "m.png", ignore_value=None, threshold=128)
    np.testing.assert_array_equal(mask, [[0, 0, 1], [0, 0, 0]])
    assert not ignore.any()


def test_palette_mask_keeps_indices(tmp_path):
    img = Image.new("P", (3, 1))
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [224, 224, 192] * 253)
    img.putdata([0, 2, 255])
    img.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_label_map(tmp_path / "p.png"), [[0, 2, 255]])


def test_size_mismatch_is_a_mask_error(rgb):
    with pytest.raises(MaskError, match="must have its image's size"):
        check_same_size(rgb, np.zeros((2, 2), bool), image_name="a", mask_name="b")


def test_atomic_json_never_leaves_partial_files(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_json(path, {"a": 1})
    with pytest.raises(ValueError):
        atomic_write_json(path, {"a": float("nan")})
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_errors_share_one_base_class():
    assert issubclass(ImageReadError, OccsegError) and issubclass(MaskError, OccsegError)
