#!/usr/bin/env bash
# Train a shipped model further on a lent GPU in one command (README, "Training on a lent GPU"):
# install the carried wheels, generate the synthetic scenes its config names on the machine's
# cores, time a short probe, train as many steps as fit BUDGET seconds, and write the
# half-precision model (KIND.pt, the hardware in its meta) and metrics.jsonl to $OUT. Training
# that would run past LIMIT seconds from the start (a probe that guessed low) is stopped and the
# last checkpoint exported instead, so a device call's time limit never loses the run. Runs
# unchanged on the CPU, only slowly. KIND is order (configs/ordernet-lite0-gpu.yaml) or clicks
# (configs/clicknet-lite0-gpu.yaml, BSDS500 train+val carried in .gpu/data by tools/gpu-kit.sh).
# From the repository root:
#   OUT=DIR [BUDGET=seconds] [LIMIT=seconds] [SCENES=n] [CONFIG=yaml] [PYTHON=python3] \
#       [WHEELS=dir] bash tools/gpu-train.sh order|clicks
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:-}
case $KIND in
    order) default_config=configs/ordernet-lite0-gpu.yaml; model=ordernet ;;
    clicks) default_config=configs/clicknet-lite0-gpu.yaml; model=clicknet ;;
    *) echo "usage: OUT=DIR bash tools/gpu-train.sh order|clicks" >&2; exit 2 ;;
esac
: "${OUT:?set OUT to the folder for the results}"
PY=${PYTHON:-python3}
BUDGET=${BUDGET:-300}   # seconds of training after the probe
LIMIT=${LIMIT:-570}     # seconds for everything (a device call may run 600)
SCENES=${SCENES:-1500}
CONFIG=${CONFIG:-$default_config}
PROBE=${PROBE:-30}      # steps timed to size the run (the configs log every 10)
WHEELS=${WHEELS:-.gpu/whl}  # tools/gpu-kit.sh; installed when there
if compgen -G "$WHEELS/*.whl" > /dev/null; then
    "$PY" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
occseg() { "$PY" -m occseg "$@"; }
mkdir -p "$OUT"
"$PY" -c 'import torch
cuda = torch.cuda.is_available()
print("torch", torch.__version__, torch.cuda.get_device_name() if cuda else "no CUDA: CPU")'
# the synthetic-scene folders of the config's data: an order config lists folders, a click
# config {kind: dataset, spec: "synth:FOLDER"} entries
scenes=$("$PY" - "$CONFIG" <<'PY'
import sys
import yaml
for entry in yaml.safe_load(open(sys.argv[1]))["data"]:
    if isinstance(entry, str):
        print(entry)
    elif entry.get("kind") == "dataset" and str(entry.get("spec", "")).startswith("synth:"):
        print(entry["spec"].split(":", 1)[1])
PY
)
run=$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["out"])' "$CONFIG")
for folder in $scenes; do
    [ -f "$folder/index.json" ] ||
        occseg synth --n "$SCENES" --size 320 --seed 1 --jobs "$(nproc)" --quiet --out "$folder"
done
echo "data ready after $SECONDS s"
occseg train "$KIND" --config "$CONFIG" --out "$run-probe" --steps "$PROBE" --no-resume \
    --no-progress
steps=$("$PY" - "$run-probe/metrics.jsonl" "$BUDGET" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
if len(rows) < 2:
    sys.exit("the probe logged fewer than two lines: give PROBE at least twice log_every")
first, last = rows[(len(rows) - 1) // 2], rows[-1]  # the second half: workers and kernels warm
per_step = (last["seconds"] - first["seconds"]) / (last["step"] - first["step"])
print(f"{per_step:.3f} s a step", file=sys.stderr)
print(max(1, int(float(sys.argv[2]) / per_step)))
PY
)
echo "training $steps steps"
left=$((LIMIT - SECONDS - 30))  # 30 s to export
[ "$left" -gt 0 ] || { echo "no time left to train within LIMIT=$LIMIT s" >&2; exit 1; }
rm -f "$run/last.pt" "$run/model.pt"  # never export an earlier run's
status=0
timeout "$left" "$PY" -m occseg train "$KIND" --config "$CONFIG" --steps "$steps" --no-resume \
    --no-progress || status=$?
case $status in
    0) checkpoint=model.pt ;;
    124) checkpoint=last.pt; echo "stopped at LIMIT=$LIMIT s: exporting the last checkpoint"
        [ -f "$run/$checkpoint" ] || { echo "stopped before the first checkpoint" >&2; exit 1; } ;;
    *) exit "$status" ;;
esac
"$PY" - "$run/$checkpoint" "$OUT/$model.pt" "$KIND" <<'PY'
import sys
from pathlib import Path

import torch

from occseg.checkpoint import (
    FORMAT, ORDER_FORMAT, model_from_payload, read_checkpoint, save_checkpoint,
)

checkpoint, out = Path(sys.argv[1]), Path(sys.argv[2])
payload = read_checkpoint(checkpoint, {"order": ORDER_FORMAT, "clicks": FORMAT}[sys.argv[3]])
on_gpu = torch.cuda.is_available() and payload["train_config"]["device"] != "cpu"
save_checkpoint(
    out, model_from_payload(payload), step=payload["step"],
    train_config=payload["train_config"],
    meta={"hardware": torch.cuda.get_device_name() if on_gpu else "CPU"}, half=True,
)
print(f"exported step {payload['step']}")
PY
cp "$run/metrics.jsonl" "$OUT/"
echo "done after $SECONDS s: $OUT/$model.pt"
