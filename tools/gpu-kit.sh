#!/usr/bin/env bash
# Wheels for a lent GPU machine (README, "Training on a lent GPU"): the project's dependencies
# that its image lacks, for its Python 3.12, pinned to this checkout's .venv, into .gpu/whl
# (git-ignored; the device call carries it with carry: [".gpu"]). Run here, from anywhere:
#   bash tools/gpu-kit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
# what `occseg synth` and `occseg train order` import beyond that image (numpy, scipy,
# scikit-image, OpenCV, Pillow, rich, PyYAML and torch are there); no EfficientNet weights:
# the GPU recipes start from the shipped models. Then the click recipe's photographs, BSDS500
# train and val (never test: it is a development set), into .gpu/data (BSDS=folder to change
# where they come from).
NEEDED="PyMaxflow pycocotools pydantic pydantic_core annotated-types typing-inspection
        trimesh embreex manifold3d typer annotated-doc"
# shellcheck disable=SC2086
pins=$("$PY" -c 'import sys
from importlib.metadata import version
print(" ".join(f"{n}=={version(n)}" for n in sys.argv[1:]))' $NEEDED)
rm -rf .gpu/whl
platforms=""
for p in manylinux_2_17 manylinux2014 manylinux_2_24 manylinux_2_27 manylinux_2_28 \
         manylinux_2_31 manylinux_2_34 manylinux_2_35; do
    platforms="$platforms --platform ${p}_x86_64"
done
# shellcheck disable=SC2086
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp $platforms -d .gpu/whl $pins
BSDS=${BSDS:-../shared/data/bsds500}
rm -rf .gpu/data
for part in images groundTruth; do
    mkdir -p ".gpu/data/bsds500/$part"
    cp -r "$BSDS/$part/train" "$BSDS/$part/val" ".gpu/data/bsds500/$part/"
done
du -sh .gpu/whl .gpu/data
