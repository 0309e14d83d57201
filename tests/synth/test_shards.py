"""Synthetic data sets made in shards (one folder or several) merge into the bytes of one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from occseg.errors import ConfigError, DatasetError, FileFormatError
from occseg.parallel import Shard
from occseg.synth.dataset import generate_dataset, merge_dataset

ARGS = {"n": 3, "width": 64, "height": 48, "seed": 4, "progress": False}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("shard-")
    }


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("whole")
    generate_dataset(out, **ARGS)
    return _files(out)


def test_shards_in_one_folder_merge_into_the_unsharded_bytes(tmp_path: Path, whole) -> None:
    out = tmp_path / "d"
    second = generate_dataset(out, **ARGS, shard=Shard(2, 2))
    assert [r["folder"] for r in second] == ["000001"]  # global index, name and seed
    assert not (out / "index.json").exists()
    generate_dataset(out, **ARGS, shard=Shard(1, 2), jobs=2)
    merged = merge_dataset(out)
    assert [r["folder"] for r in merged] == ["000000", "000001", "000002"]
    assert _files(out) == whole
    merge_dataset(out)  # again: the same result
    assert _files(out) == whole


def test_shards_in_other_folders_are_copied_into_the_merge(tmp_path: Path, whole) -> None:
    parts = [tmp_path / f"machine{k}" for k in (1, 2, 3)]
    for k, folder in enumerate(parts, start=1):
        generate_dataset(folder, **ARGS, shard=Shard(k, 3))
    merge_dataset(tmp_path / "all", parts)
    assert _files(tmp_path / "all") == whole


def test_merge_refuses_missing_or_foreign_shards(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no shard"):
        merge_dataset(tmp_path / "empty")
    generate_dataset(tmp_path / "a", **ARGS, shard=Shard(1, 2))
    with pytest.raises(ConfigError, match="2/2 missing"):
        merge_dataset(tmp_path / "a")
    generate_dataset(tmp_path / "b", **{**ARGS, "seed": 5}, shard=Shard(2, 2))
    with pytest.raises(ConfigError, match="different runs"):
        merge_dataset(tmp_path / "a", [tmp_path / "b"])
    (tmp_path / "b" / "shard-2-of-2.json").write_text(json.dumps({"shard": "x"}))
    with pytest.raises(FileFormatError, match=r"shard-2-of-2\.json"):
        merge_dataset(tmp_path / "a", [tmp_path / "b"])
