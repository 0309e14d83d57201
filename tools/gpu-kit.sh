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
# train (never test: it is a development set; val stays behind to keep the call under the
# device's 64 MiB), into .gpu/data (BSDS=folder to change where they come from).
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
    cp -r "$BSDS/$part/train" ".gpu/data/bsds500/$part/"
done
du -sh .gpu/whl .gpu/data
# what a device call sends: the checkout's tracked and unignored files, and .gpu
travels=$( (git ls-files -z; git ls-files -z --others --exclude-standard; find .gpu -type f -print0) |
    du -cb --files0-from=- | tail -n 1 | cut -f 1)
echo "a device call with carry [\".gpu\"] sends $((travels / 1048576)) MiB (at most 64)"
if [ "$travels" -gt $((64 * 1048576)) ]; then
    echo "over 64 MiB: for the call, untrack what training does not read (git rm --cached the" \
        "models it does not start from, listed in .git/info/exclude; git reset them after)"
fi
