"""The bad-input matrix: every command-line mistake is one line on stderr and exit status 2.

Each case runs ``occseg`` in-process on a mistake of one verb (unknown option, missing option,
bad or out-of-range value, unknown command, bad data set spec, missing or unreadable file, an
output path of the wrong kind, ...). It must exit with 2, print exactly one non-empty line on
stderr (``error: ...``), never a traceback, and create nothing at the output path it was given
(options and paths are checked before any work).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from occseg import __version__
from occseg.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Files and folders the cases point at (``{name}`` in a case's arguments)."""
    from occseg.checkpoint import save_checkpoint
    from occseg.nn.ordernet import OrderNet, OrderNetConfig

    root = tmp_path_factory.mktemp("bad-input")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(image).save(root / "img.png")
    Image.fromarray(image[:1, :1]).save(root / "one.png")
    (root / "garbage.png").write_bytes(b"this is not an image")
    (root / "exists.txt").write_text("saved work\n")
    (root / "full").mkdir()
    (root / "full" / "keep.txt").write_text("saved work\n")
    (root / "empty").mkdir()
    (root / "bad.json").write_text("{half a file")
    (root / "bad.yaml").write_text("steps: [1, 2\n")
    (root / "unknown.yaml").write_text("stepz: 3\n")
    (root / "order.yaml").write_text(f"data: [{root / 'full'}]\n")
    (root / "refine.yaml").write_text("stage: refinement\n")
    (root / "word_n.yaml").write_text("data: [{kind: synthetic_shapes, n: abc}]\n")
    (root / "zero_weight.yaml").write_text("data: [{kind: synthetic_shapes, weight: 0}]\n")
    data = root / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    mask = np.zeros((40, 48), np.uint8)
    mask[10:30, 12:36] = 255
    Image.fromarray(image).save(data / "images" / "a.png")
    Image.fromarray(mask).save(data / "masks" / "a.png")
    torch.manual_seed(0)
    save_checkpoint(root / "order.pt", OrderNet(OrderNetConfig(width_mult=0.125, pool_bins=(1, 2))))
    names = ["img.png", "one.png", "garbage.png", "exists.txt", "full", "empty", "bad.json"]
    names += ["bad.yaml", "unknown.yaml", "order.yaml", "refine.yaml", "data", "order.pt"]
    names += ["word_n.yaml", "zero_weight.yaml"]
    found = {n.replace(".", "_"): str(root / n) for n in names}
    found["missing"] = str(root / "no" / "such" / "thing")
    found["tiny"] = str(CONFIGS / "clicknet-tiny-test.yaml")
    return found


# (id, arguments); {new} is a fresh path that must still not exist after the mistake
CASES = [
    # the command itself
    ("unknown option", ["--nope"]),
    ("unknown command", ["frob"]),
    ("unknown eval command", ["eval", "frob"]),
    ("unknown export command", ["export", "frob"]),
    ("unknown merge kind", ["merge", "frob"]),
    ("version takes no value", ["--version=3"]),
    # eval clicks
    ("clicks: missing --dataset", ["eval", "clicks", "--out", "{new}"]),
    ("clicks: missing --out", ["eval", "clicks", "--dataset", "folder:{data}"]),
    ("clicks: --jobs 0", ["eval", "clicks", "--dataset", "folder:{data}", "--out", "{new}",
                          "--jobs", "0"]),
    ("clicks: --max-clicks 0", ["eval", "clicks", "--dataset", "folder:{data}", "--out", "{new}",
                                "--max-clicks", "0"]),
    ("clicks: --max-clicks abc", ["eval", "clicks", "--dataset", "folder:{data}", "--out",
                                  "{new}", "--max-clicks", "abc"]),
    ("clicks: --limit -1", ["eval", "clicks", "--dataset", "folder:{data}", "--out", "{new}",
                            "--limit", "-1"]),
    ("clicks: --every 0", ["eval", "clicks", "--dataset", "folder:{data}", "--out", "{new}",
                           "--every", "0"]),
    ("clicks: unknown data set kind", ["eval", "clicks", "--dataset", "nosuchkind:{data}",
                                       "--out", "{new}"]),
    ("clicks: spec without kind", ["eval", "clicks", "--dataset", "{data}", "--out", "{new}"]),
    ("clicks: missing data set", ["eval", "clicks", "--dataset", "folder:{missing}",
                                  "--out", "{new}"]),
    ("clicks: unknown method", ["eval", "clicks", "--dataset", "folder:{data}", "--out", "{new}",
                                "--method", "nosuchmethod"]),
    ("clicks: option without =", ["eval", "clicks", "--dataset", "folder:{data}", "--out",
                                  "{new}", "--option", "refine"]),
    ("clicks: unknown predictor option", ["eval", "clicks", "--dataset", "folder:{data}",
                                          "--out", "{new}", "--option", "nosuch=1"]),
    ("clicks: word for a number", ["eval", "clicks", "--dataset", "folder:{data}", "--out",
                                   "{new}", "--method", "clicknet", "--option", "refine.band=abc"]),
    ("clicks: word for threads", ["eval", "clicks", "--dataset", "folder:{data}", "--out",
                                  "{new}", "--method", "clicknet", "--option", "threads=abc"]),
    ("clicks: word for zoom_in", ["eval", "clicks", "--dataset", "folder:{data}", "--out",
                                  "{new}", "--method", "clicknet", "--option", "zoom_in=abc"]),
    ("clicks: bad coarse neighbourhood", ["eval", "clicks", "--dataset", "folder:{data}",
                                          "--out", "{new}", "--method", "clicknet", "--option",
                                          "refine.coarse_connectivity=four"]),
    ("clicks: --out is a file", ["eval", "clicks", "--dataset", "folder:{data}", "--out",
                                 "{exists_txt}"]),
    ("clicks: bad --shard", ["eval", "clicks", "--dataset", "folder:{data}", "--out", "{new}",
                             "--shard", "3/2"]),
    ("clicks: unknown option", ["eval", "clicks", "--dataset", "folder:{data}", "--out", "{new}",
                                "--nope"]),
    ("clicks: unknown --interaction", ["eval", "clicks", "--dataset", "folder:{data}", "--out",
                                       "{new}", "--interaction", "taps"]),
    ("clicks: boundary clicks for graphcut", ["eval", "clicks", "--dataset", "folder:{data}",
                                              "--out", "{new}", "--interaction", "boundary"]),
    # eval selection
    ("selection: missing --dataset", ["eval", "selection", "--out", "{new}"]),
    ("selection: --pads abc", ["eval", "selection", "--dataset", "folder:{data}", "--out",
                               "{new}", "--pads", "abc"]),
    ("selection: negative pad", ["eval", "selection", "--dataset", "folder:{data}", "--out",
                                 "{new}", "--pads", "0,-5"]),
    ("selection: empty --pads", ["eval", "selection", "--dataset", "folder:{data}", "--out",
                                 "{new}", "--pads", ""]),
    ("selection: --limit -1", ["eval", "selection", "--dataset", "folder:{data}", "--out",
                               "{new}", "--limit", "-1"]),
    ("selection: --jobs 0", ["eval", "selection", "--dataset", "folder:{data}", "--out",
                             "{new}", "--jobs", "0"]),
    ("selection: missing data set", ["eval", "selection", "--dataset", "folder:{missing}",
                                     "--out", "{new}", "--method", "graphcut"]),
    ("selection: --out is a file", ["eval", "selection", "--dataset", "folder:{data}", "--out",
                                    "{exists_txt}", "--method", "graphcut"]),
    ("selection: unknown method", ["eval", "selection", "--dataset", "folder:{data}", "--out",
                                   "{new}", "--method", "nosuchmethod"]),
    ("selection: not a two-in-one method", ["eval", "selection", "--dataset", "folder:{data}",
                                            "--out", "{new}", "--method", "graphcut"]),
    ("selection: checkpoint of another kind", ["eval", "selection", "--dataset",
                                               "folder:{data}", "--out", "{new}", "--method",
                                               "{order_pt}"]),
    # eval boundaries
    ("boundaries: missing data set", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                      "--out", "{new}"]),
    ("boundaries: unknown method", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                    "--out", "{new}", "--method", "nope"]),
    ("boundaries: misspelt obnet", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                    "--out", "{new}", "--method", "obnets"]),
    ("boundaries: missing model", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                   "--out", "{new}", "--method", "{missing}"]),
    ("boundaries: --threshold 1.5", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                     "--out", "{new}", "--threshold", "1.5"]),
    ("boundaries: --max-dist 0", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                  "--out", "{new}", "--max-dist", "0"]),
    ("boundaries: --n-thresholds 0", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                      "--out", "{new}", "--n-thresholds", "0"]),
    ("boundaries: --jobs -2", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                               "--out", "{new}", "--jobs", "-2"]),
    ("boundaries: --interactive with a detector", ["eval", "boundaries", "--dataset",
                                                   "bsds500:{missing}", "--out", "{new}",
                                                   "--interactive"]),
    ("boundaries: --oracle alone", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                    "--out", "{new}", "--oracle"]),
    ("boundaries: --flip with a detector", ["eval", "boundaries", "--dataset",
                                            "bsds500:{missing}", "--out", "{new}", "--flip"]),
    ("boundaries: --flip with an order model", ["eval", "boundaries", "--dataset",
                                                "bsds500:{missing}", "--out", "{new}",
                                                "--method", "{order_pt}", "--flip"]),
    ("boundaries: --out is a file", ["eval", "boundaries", "--dataset", "bsds500:{missing}",
                                     "--out", "{exists_txt}"]),
    ("boundaries: --interactive with an order model", ["eval", "boundaries", "--dataset",
                                                        "bsds500:{missing}", "--out", "{new}",
                                                        "--method", "{order_pt}",
                                                        "--interactive"]),
    ("boundaries: model is not a checkpoint", ["eval", "boundaries", "--dataset",
                                               "bsds500:{missing}", "--out", "{new}",
                                               "--method", "{exists_txt}"]),
    # eval order
    ("order eval: no inputs", ["eval", "order", "--dataset", "synth:{full}", "--out", "{new}"]),
    ("order eval: GT inputs of COCOA", ["eval", "order", "--dataset", "cocoa:{full}",
                                        "--gt-inputs", "--out", "{new}"]),
    ("order eval: --max-gap 2", ["eval", "order", "--dataset", "synth:{full}", "--gt-inputs",
                                 "--out", "{new}", "--max-gap", "2"]),
    ("order eval: --mutual sometimes", ["eval", "order", "--dataset", "synth:{full}",
                                        "--gt-inputs", "--out", "{new}", "--mutual",
                                        "sometimes"]),
    ("order eval: not a data set", ["eval", "order", "--dataset", "synth:{full}",
                                    "--gt-inputs", "--out", "{new}"]),
    ("order eval: --score best", ["eval", "order", "--dataset", "synth:{full}", "--gt-inputs",
                                  "--out", "{new}", "--score", "best"]),
    ("order eval: --instances with GT inputs", ["eval", "order", "--dataset", "synth:{full}",
                                                "--gt-inputs", "--out", "{new}", "--instances",
                                                "regions"]),
    ("order eval: --no-merge-regions with GT inputs", ["eval", "order", "--dataset",
                                                       "synth:{full}", "--gt-inputs", "--out",
                                                       "{new}", "--no-merge-regions"]),
    ("order eval: --no-merge-regions with the CRF", ["eval", "order", "--dataset", "synth:{full}",
                                                     "--model", "{order_pt}", "--out", "{new}",
                                                     "--instances", "crf", "--no-merge-regions"]),
    ("order eval: --max-side with GT inputs", ["eval", "order", "--dataset", "synth:{full}",
                                               "--gt-inputs", "--out", "{new}", "--max-side",
                                               "400"]),
    ("order eval: --max-side 16", ["eval", "order", "--dataset", "synth:{full}", "--model",
                                   "{order_pt}", "--out", "{new}", "--max-side", "16"]),
    ("order eval: --instances blobs", ["eval", "order", "--dataset", "synth:{full}", "--model",
                                       "{order_pt}", "--out", "{new}", "--instances", "blobs"]),
    ("order eval: misspelt ordernet", ["eval", "order", "--dataset", "synth:{full}", "--model",
                                       "ordernets", "--out", "{new}"]),
    ("order eval: missing model", ["eval", "order", "--dataset", "synth:{full}", "--model",
                                   "{missing}", "--out", "{new}"]),
    # boundaries IMAGE
    ("boundaries: missing image", ["boundaries", "{missing}", "--out", "{new}"]),
    ("boundaries: unreadable image", ["boundaries", "{garbage_png}", "--out", "{new}"]),
    ("boundaries: --max-side 8", ["boundaries", "{img_png}", "--out", "{new}", "--max-side",
                                  "8"]),
    ("boundaries: --out is a folder", ["boundaries", "{img_png}", "--out", "{full}"]),
    ("boundaries: --out exists", ["boundaries", "{img_png}", "--out", "{exists_txt}"]),
    ("boundaries: --out under a file", ["boundaries", "{img_png}", "--out", "{exists_txt}/x.png"]),
    ("boundaries: --threshold -0.5", ["boundaries", "{img_png}", "--out", "{new}", "--threshold",
                                      "-0.5"]),
    ("boundaries: --threshold 1", ["boundaries", "{img_png}", "--out", "{new}", "--threshold",
                                   "1"]),
    ("boundaries: missing model", ["boundaries", "{img_png}", "--out", "{new}", "--model",
                                   "{missing}"]),
    ("boundaries: model is not a checkpoint", ["boundaries", "{img_png}", "--out", "{new}",
                                               "--model", "{exists_txt}"]),
    ("boundaries: missing scribbles", ["boundaries", "{img_png}", "--out", "{new}", "--scribbles",
                                       "{missing}"]),
    ("boundaries: malformed scribbles", ["boundaries", "{img_png}", "--out", "{new}",
                                         "--scribbles", "{bad_json}"]),
    # order IMAGE
    ("order: misspelt ordernet", ["order", "{img_png}", "--model", "ordernets", "--out",
                                  "{new}"]),
    ("order: missing model", ["order", "{img_png}", "--model", "{missing}", "--out", "{new}"]),
    ("order: --instances blobs", ["order", "{img_png}", "--model", "{order_pt}", "--out",
                                  "{new}", "--instances", "blobs"]),
    ("order: --no-merge-regions with the CRF", ["order", "{img_png}", "--model", "{order_pt}",
                                                "--out", "{new}", "--instances", "crf",
                                                "--no-merge-regions"]),
    ("order: 1x1 image", ["order", "{one_png}", "--model", "{order_pt}", "--out", "{new}"]),
    ("order: --max-side -1", ["order", "{img_png}", "--model", "{order_pt}", "--out", "{new}",
                              "--max-side", "-1"]),
    ("order: --lam -1", ["order", "{img_png}", "--model", "{order_pt}", "--out", "{new}", "--lam",
                         "-1"]),
    ("order: --mu -5", ["order", "{img_png}", "--model", "{order_pt}", "--out", "{new}", "--mu",
                        "-5"]),
    ("order: --threshold -0.1", ["order", "{img_png}", "--model", "{order_pt}", "--out", "{new}",
                                 "--threshold", "-0.1"]),
    ("order: --out is a file", ["order", "{img_png}", "--model", "{order_pt}", "--out",
                                "{exists_txt}"]),
    ("order: missing image", ["order", "{missing}", "--model", "{order_pt}", "--out", "{new}"]),
    ("order: model is not a checkpoint", ["order", "{img_png}", "--model", "{exists_txt}", "--out",
                                          "{new}"]),
    # proposals IMAGE
    ("proposals: missing --out", ["proposals", "{img_png}"]),
    ("proposals: missing image", ["proposals", "{missing}", "--out", "{new}"]),
    ("proposals: unreadable image", ["proposals", "{garbage_png}", "--out", "{new}"]),
    ("proposals: --out is a file", ["proposals", "{img_png}", "--out", "{exists_txt}"]),
    ("proposals: --out holds other files", ["proposals", "{img_png}", "--out", "{full}"]),
    ("proposals: --k 0", ["proposals", "{img_png}", "--out", "{new}", "--k", "0"]),
    ("proposals: --k many", ["proposals", "{img_png}", "--out", "{new}", "--k", "many"]),
    ("proposals: unknown --features", ["proposals", "{img_png}", "--out", "{new}", "--features",
                                       "dino"]),
    ("proposals: --stride 4", ["proposals", "{img_png}", "--out", "{new}", "--stride", "4"]),
    ("proposals: --min-area 2", ["proposals", "{img_png}", "--out", "{new}", "--min-area", "2"]),
    ("proposals: 1x1 image", ["proposals", "{one_png}", "--out", "{new}", "--features",
                              "colour"]),
    # synth
    ("synth: --n 0", ["synth", "--out", "{new}", "--n", "0"]),
    ("synth: --n -3", ["synth", "--out", "{new}", "--n", "-3"]),
    ("synth: --jobs 0", ["synth", "--out", "{new}", "--jobs", "0"]),
    ("synth: --seed -1", ["synth", "--out", "{new}", "--seed", "-1"]),
    ("synth: --size huge", ["synth", "--out", "{new}", "--size", "huge"]),
    ("synth: --size 0", ["synth", "--out", "{new}", "--size", "0"]),
    ("synth: --out is a file", ["synth", "--out", "{exists_txt}", "--n", "1"]),
    ("synth: --out holds other files", ["synth", "--out", "{full}", "--n", "1"]),
    ("synth: bad --shard", ["synth", "--out", "{new}", "--shard", "two of three"]),
    ("synth: --shard with --preview", ["synth", "--out", "{new}", "--shard", "1/2",
                                       "--preview"]),
    ("synth: missing mesh", ["synth", "--out", "{new}", "--n", "1", "--mesh", "{missing}"]),
    ("synth: malformed scene", ["synth", "--out", "{new}", "--scene", "{bad_json}"]),
    # annotate (each mistake is found before the server starts)
    ("annotate: --port 70000", ["annotate", "{img_png}", "--out", "{new}", "--port", "70000"]),
    ("annotate: --port -1", ["annotate", "{img_png}", "--out", "{new}", "--port", "-1"]),
    ("annotate: --max-side -5", ["annotate", "--out", "{new}", "--max-side", "-5"]),
    ("annotate: --max-side 10", ["annotate", "--out", "{new}", "--max-side", "10"]),
    ("annotate: --out is a file", ["annotate", "--out", "{exists_txt}"]),
    ("annotate: missing folder", ["annotate", "{missing}", "--out", "{new}"]),
    ("annotate: unknown model", ["annotate", "--out", "{new}", "--model", "nosuchmodel"]),
    ("annotate: missing --boundary-model", ["annotate", "--out", "{new}", "--boundary-model",
                                            "{missing}", "--order-model", "none"]),
    ("annotate: --boundary-model of another kind", ["annotate", "--out", "{new}",
                                                    "--boundary-model", "{order_pt}",
                                                    "--order-model", "none"]),
    ("annotate: missing --order-model", ["annotate", "--out", "{new}", "--boundary-model",
                                         "none", "--order-model", "{missing}"]),
    ("annotate: --order-model not a checkpoint", ["annotate", "--out", "{new}",
                                                  "--boundary-model", "none", "--order-model",
                                                  "{exists_txt}"]),
    # export
    ("export coco: missing --project", ["export", "coco", "--out", "{new}"]),
    ("export coco: not a project", ["export", "coco", "--project", "{full}", "--out", "{new}"]),
    ("export coco: --out is a file", ["export", "coco", "--project", "{full}", "--out",
                                      "{exists_txt}"]),
    ("export coco: unknown --format", ["export", "coco", "--project", "{full}", "--format",
                                       "shapes"]),
    ("export onnx: missing checkpoint", ["export", "onnx", "{missing}", "{new}"]),
    ("export onnx: not a checkpoint", ["export", "onnx", "{exists_txt}", "{new}"]),
    ("export onnx: OUT is a folder", ["export", "onnx", "{order_pt}", "{full}"]),
    ("export onnx: --height 2", ["export", "onnx", "{order_pt}", "{new}", "--height", "2"]),
    # train
    ("train: missing kind", ["train", "--config", "{tiny}"]),
    ("train: missing --config", ["train", "clicks"]),
    ("train: unknown kind", ["train", "frob", "--config", "{tiny}"]),
    ("train: missing config", ["train", "clicks", "--config", "{missing}"]),
    ("train: invalid YAML", ["train", "clicks", "--config", "{bad_yaml}"]),
    ("train: unknown config key", ["train", "clicks", "--config", "{unknown_yaml}"]),
    ("train: word for a data option", ["train", "clicks", "--config", "{word_n_yaml}", "--out",
                                       "{new}"]),
    ("train: data weight 0", ["train", "clicks", "--config", "{zero_weight_yaml}", "--out",
                              "{new}"]),
    ("train: --steps 0", ["train", "clicks", "--config", "{tiny}", "--steps", "0",
                          "--out", "{new}"]),
    ("train: --out is a file", ["train", "order", "--config", "{order_yaml}", "--out",
                                "{exists_txt}"]),
    ("train: twoinone refinement without init", ["train", "twoinone", "--config",
                                                 "{refine_yaml}", "--out", "{new}"]),
    # demo
    ("demo: --n 0", ["demo", "--n", "0", "--out", "{new}"]),
    ("demo: --n -1", ["demo", "--n", "-1", "--out", "{new}"]),
    ("demo: --out is a file", ["demo", "--out", "{exists_txt}"]),
    ("demo: unknown method", ["demo", "--method", "nosuchmethod", "--out", "{new}"]),
    # merge
    ("merge clicks: no parts", ["merge", "clicks", "--out", "{new}"]),
    ("merge clicks: not a report", ["merge", "clicks", "--out", "{new}", "{full}"]),
    ("merge boundaries: not a report", ["merge", "boundaries", "--out", "{new}", "{full}"]),
    ("merge synth: no shards", ["merge", "synth", "--out", "{empty}"]),
]  # fmt: skip


@pytest.mark.parametrize("args", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_a_mistake_is_one_line_and_exit_2(paths, tmp_path, capsys, args):
    new = tmp_path / "new-output"
    argv = [a.format(new=new, **paths) for a in args]
    code = main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert not new.exists()  # checked before any work


def test_selection_without_the_shipped_two_in_one_model(paths, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("occseg.predict.registry.DEFAULT_TWOINONE", Path(paths["missing"]))
    new = tmp_path / "new-output"
    argv = ["eval", "selection", "--dataset", f"folder:{paths['data']}", "--out", str(new)]
    assert main(argv) == 2  # --method twoinone is the default
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "two-in-one model is not installed" in lines[0], lines
    assert not new.exists()


@pytest.mark.parametrize(
    "args", [["--help"], ["eval", "--help"], ["eval", "clicks", "--help"], ["train", "--help"],
             ["merge", "synth", "--help"], ["synth", "--help"], ["proposals", "--help"]],
)  # fmt: skip
def test_help_exits_0(capsys, args):
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "Usage" in out and "Traceback" not in out + err


def test_version(capsys):
    assert main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"occseg {__version__}" and not err


@pytest.mark.parametrize("args", [[], ["eval"], ["export"], ["merge"]])
def test_no_arguments_show_the_usage(capsys, args):
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "Usage" in out + err and "Traceback" not in out + err


def test_the_module_entry_point(tmp_path):
    """``python -m occseg`` (the form torchrun runs): real exit status and stderr."""

    def run(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "occseg", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    bad = run("eval", "clicks", "--nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"occseg {__version__}"
    assert run().returncode == 2


def test_saved_work_is_replaced_only_when_asked(paths, tmp_path, capsys):
    out = tmp_path / "map.png"
    out.write_bytes(b"saved work")
    assert main(["boundaries", paths["img_png"], "--out", str(out)]) == 2
    assert out.read_bytes() == b"saved work"
    assert main(["boundaries", paths["img_png"], "--out", str(out), "--overwrite"]) == 0
    assert Image.open(out).size == (48, 40)
    capsys.readouterr()


def test_an_order_folder_with_saved_work_is_written_into_only_when_asked(paths, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "graph.json").write_text("saved work")
    args = ["order", paths["img_png"], "--model", paths["order_pt"], "--out", str(out)]
    assert main(args) == 2
    assert (out / "graph.json").read_text() == "saved work"
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert json.loads((out / "graph.json").read_text())["width"] == 48


# ------------------------------------------------------------------------------------------
# odd but valid images
# ------------------------------------------------------------------------------------------
def _odd_image(kind: str, path: Path) -> tuple[int, int]:
    """Write an odd-but-valid image of ``kind``; return the (width, height) it shows."""
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)
    rgb[8:24, 10:30] = (200, 60, 40)
    if kind == "rgba.png":
        alpha = np.full((32, 40, 1), 128, np.uint8)
        Image.fromarray(np.concatenate([rgb, alpha], 2), "RGBA").save(path)
    elif kind == "16bit.png":
        Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(path)
        assert Image.open(path).mode.startswith("I")
    elif kind == "gray.jpg":
        Image.fromarray(rgb[..., 1]).save(path, quality=90)
        assert Image.open(path).mode == "L"
    elif kind == "palette.png":
        Image.fromarray(rgb).convert("P").save(path)
    elif kind == "exif-rotated.jpg":  # stored 40×32, shown rotated by 90°: 32×40
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(rgb).save(path, exif=exif, quality=90)
        return 32, 40
    return 40, 32


ODD = ["rgba.png", "16bit.png", "gray.jpg", "palette.png", "exif-rotated.jpg"]


@pytest.mark.parametrize("kind", ODD)
def test_odd_images_get_boundaries(tmp_path, capsys, kind):
    size = _odd_image(kind, tmp_path / kind)
    out = tmp_path / "ob.png"
    assert main(["boundaries", str(tmp_path / kind), "--out", str(out)]) == 0, capsys.readouterr()
    assert Image.open(out).size == size


@pytest.mark.parametrize("kind", ODD)
def test_odd_images_get_an_order(paths, tmp_path, capsys, kind):
    size = _odd_image(kind, tmp_path / kind)
    args = [
        "order",
        str(tmp_path / kind),
        "--model",
        paths["order_pt"],
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(args) == 0, capsys.readouterr()
    assert Image.open(tmp_path / "o" / "instances.png").size == size
    graph = json.loads((tmp_path / "o" / "graph.json").read_text())
    assert (graph["width"], graph["height"]) == size


@pytest.mark.parametrize("kind", ODD)
def test_odd_images_get_proposals(tmp_path, capsys, kind):
    size = _odd_image(kind, tmp_path / kind)
    out = tmp_path / "p"
    args = ["proposals", str(tmp_path / kind), "--out", str(out), "--features", "colour"]
    assert main([*args, "--k", "3"]) == 0, capsys.readouterr()
    listing = json.loads((out / "proposals.json").read_text())["proposals"]
    assert 1 <= len(listing) <= 3
    for item in listing:
        assert Image.open(out / item["file"]).size == size
