"""open_dataset: KIND:PATH specs, the reader registry and option checking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from occseg.data import (
    READERS,
    Dataset,
    SampleRef,
    dataset_kinds,
    open_dataset,
    parse_dataset_spec,
    register_reader,
)
from occseg.errors import ConfigError, DatasetError
from occseg.types import Sample

KINDS = {"grabcut", "berkeley", "davis", "coco_mval", "sbd", "pascal_voc", "bsds500", "folder"}


def _coco(root: Path, fx) -> Path:
    fx.save(root / "img" / "a b.jpg", fx.rgb())
    fx.save(root / "gt" / "a b.png", np.full((6, 8), 255, np.uint8))
    return root


def test_all_kinds_registered():
    assert set(dataset_kinds()) >= KINDS


def test_parse_spec():
    assert parse_dataset_spec("coco_mval:/a/b") == ("coco_mval", Path("/a/b"))
    assert parse_dataset_spec("COCO-MVal:x:y") == ("coco_mval", Path("x:y"))  # ':' kept in path
    for bad in ("coco_mval", ":x", "coco_mval:", "  :  "):
        with pytest.raises(ConfigError, match="KIND:PATH"):
            parse_dataset_spec(bad)


def test_unknown_kind_lists_kinds():
    with pytest.raises(ConfigError, match="unknown dataset kind 'nope'") as e:
        open_dataset("nope:/tmp")
    assert all(k in str(e.value) for k in KINDS)


def test_missing_path(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        open_dataset(f"coco_mval:{tmp_path / 'absent'}")
    (tmp_path / "file").write_text("")
    with pytest.raises(DatasetError, match="is a file"):
        open_dataset(f"coco_mval:{tmp_path / 'file'}")


def test_open_and_options(tmp_path, fx):
    ds = open_dataset(f"coco_mval:{_coco(tmp_path, fx)}")
    assert isinstance(ds, Dataset) and ds.names == ["a b"] and ds[0].mask.all()
    with pytest.raises(ConfigError, match="no option 'split'"):
        open_dataset(f"coco_mval:{tmp_path}", split="val")
    with pytest.raises(DatasetError, match="inst"):
        open_dataset(f"sbd:{tmp_path}", split="train")


def test_wrong_layout_via_spec(tmp_path):
    with pytest.raises(DatasetError, match=r"img.*missing.*coco_mval layout"):
        open_dataset(f"coco_mval:{tmp_path}")


def _load_synthetic(ref: SampleRef) -> Sample:
    return Sample(ref.name, np.zeros((2, 2, 3), np.uint8), np.ones((2, 2), bool))


def _open_synthetic(root, n: int = 3) -> Dataset:
    refs = [SampleRef(f"s{i}", Path(root), Path(root)) for i in range(n)]
    return Dataset("synthetic", refs, _load_synthetic, Path(root))


def test_register_reader(tmp_path):
    try:
        register_reader("my-kind", _open_synthetic)
        assert "my_kind" in READERS
        ds = open_dataset(f"my_kind:{tmp_path}", n=2)
        assert ds.names == ["s0", "s1"] and ds[1].mask.all()
        with pytest.raises(ValueError, match="already"):
            register_reader("my_kind", _open_synthetic)
        register_reader("my_kind", _open_synthetic, replace=True)
    finally:
        READERS.pop("my_kind", None)
