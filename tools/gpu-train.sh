#!/usr/bin/env bash
# Train shipped models further on a lent GPU in one command (README, "Training on a lent GPU"):
# install the carried wheels, generate the synthetic scenes its config names on the machine's
# cores, time a short probe, train as many steps as fit the time left (BUDGET seconds when
# given), and write the half-precision model (KIND.pt, the hardware in its meta) and
# metrics.jsonl to $OUT. Training that would run past LIMIT seconds from the start (a probe that
# guessed low) is stopped and the last checkpoint exported instead, so a device call's time limit
# never loses the run. Runs unchanged on the CPU, only slowly. KIND is order
# (configs/ordernet-lite0-gpu.yaml) or clicks (configs/clicknet-lite0-gpu.yaml, BSDS500
# train+val carried in .gpu/data by tools/gpu-kit.sh). Given both kinds, the scenes are made
# once and the two trainings share the GPU side by side, each with its share of the cores as
# data-loading workers, each writing to $OUT/KIND (its log in $OUT/KIND.log).
# From the repository root:
#   OUT=DIR [BUDGET=seconds] [LIMIT=seconds] [SCENES=n] [ORDER_CONFIG=yaml] \
#       [CLICKS_CONFIG=yaml] [PYTHON=python3] [WHEELS=dir] \
#       bash tools/gpu-train.sh order|clicks [order|clicks]
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."
usage="usage: OUT=DIR bash tools/gpu-train.sh order|clicks [order|clicks]"
[ -n "${OUT:-}" ] || { echo "set OUT to the folder for the results; $usage" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] && [ "$1" != "${2:-}" ] || { echo "$usage" >&2; exit 2; }
for kind in "$@"; do
    case $kind in order | clicks) ;; *) echo "$usage" >&2; exit 2 ;; esac
done
config_of() {
    case $1 in
        order) echo "${ORDER_CONFIG:-configs/ordernet-lite0-gpu.yaml}" ;;
        clicks) echo "${CLICKS_CONFIG:-configs/clicknet-lite0-gpu.yaml}" ;;
    esac
}
PY=${PYTHON:-python3}
export START=${START:-$(date +%s)}  # the whole call's start, also for the kinds run beside
elapsed() { echo $(($(date +%s) - START)); }
LIMIT=${LIMIT:-570}     # seconds for everything (a device call may run 600)
SCENES=${SCENES:-1500}
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
# the synthetic-scene folders of the configs' data: an order config lists folders, a click
# config {kind: dataset, spec: "synth:FOLDER"} entries
for kind in "$@"; do
    for folder in $("$PY" - "$(config_of "$kind")" <<'PY'
import sys
import yaml
for entry in yaml.safe_load(open(sys.argv[1]))["data"]:
    if isinstance(entry, str):
        print(entry)
    elif entry.get("kind") == "dataset" and str(entry.get("spec", "")).startswith("synth:"):
        print(entry["spec"].split(":", 1)[1])
PY
    ); do
        [ -f "$folder/index.json" ] ||
            occseg synth --n "$SCENES" --size 320 --seed 1 --jobs "$(nproc)" --quiet --out "$folder"
    done
done
echo "data ready after $(elapsed) s"
if [ $# -gt 1 ]; then
    # the kinds side by side on the one GPU, the cores shared among their loading workers (one
    # thread each; two cores left for the training processes)
    export WORKERS=$(( ($(nproc) - 2) / $# > 0 ? ($(nproc) - 2) / $# : 0 )) OMP_NUM_THREADS=1
    kinds=("$@") pids=()
    for kind in "${kinds[@]}"; do
        OUT="$OUT/$kind" WHEELS=/nowhere bash "$self" "$kind" > "$OUT/$kind.log" 2>&1 &
        pids+=("$!")
    done
    status=0
    for i in "${!kinds[@]}"; do
        wait "${pids[$i]}" || { status=$?; echo "${kinds[$i]} failed:"; }
        tail -n 3 "$OUT/${kinds[$i]}.log"
    done
    exit "$status"
fi
KIND=$1
model=$([ "$KIND" = order ] && echo ordernet || echo clicknet)
CONFIG=$(config_of "$KIND")
if [ -n "${WORKERS:-}" ]; then  # the config with its share of the cores
    shared=$(mktemp --suffix .yaml)
    "$PY" - "$CONFIG" "$WORKERS" "$shared" <<'PY'
import sys
import yaml
config = yaml.safe_load(open(sys.argv[1]))
config["workers"] = int(sys.argv[2])
yaml.safe_dump(config, open(sys.argv[3], "w"))
PY
    CONFIG=$shared
fi
run=$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["out"])' "$CONFIG")
occseg train "$KIND" --config "$CONFIG" --out "$run-probe" --steps "$PROBE" --no-resume \
    --no-progress
# BUDGET seconds of training, else three quarters of what is left of LIMIT less a minute (the
# run's start and the export): on the H200, with the click model training beside it, the order
# model ran 1.32x slower than its probe, stopped before its rate decay and shipped without it
budget=${BUDGET:-$(((LIMIT - $(elapsed) - 60) * 3 / 4))}
steps=$("$PY" - "$run-probe/metrics.jsonl" "$budget" <<'PY'
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
left=$((LIMIT - $(elapsed) - 30))  # 30 s to export
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
echo "done after $(elapsed) s: $OUT/$model.pt"
