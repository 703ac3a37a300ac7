#!/usr/bin/env bash
# Issue 17's GPU figures in one short run, for a lent CUDA machine (or any machine: it runs on CPU too).
#
#   bench/gpu_figures.sh OUT DATA [SECONDS]
#
# OUT gets seven files: env.txt; data_parallel.txt (bench/data_parallel.py across the GPUs, where there are several); throughput.txt (bench/train_throughput.py: like_vgg and baseline against
# the plain PyTorch loops); precision.txt (bench/precision.py: mixed_bfloat16 against float32); pipeline.txt
# (bench/input_pipeline.py: does the input pipeline keep the GPU busy); runs.tar.gz and accuracy.txt (real
# runs of like_vgg_adamw and sketch_resnet at both precisions on DATA, seed 0, in parallel: one line a run in
# accuracy.txt; runs.tar.gz holds their folders without models or events, their logs and the GPU's load each second). The benchmarks run alone, one after the other; the four runs share the GPU after
# them. SECONDS (default 540) bounds the whole script: runs still going then are stopped, and their
# finished epochs stay in runs.tar.gz, so the figures come back within a device lease.
#
# QUICK=1 shrinks every step (a smoke test on a CPU: a few steps, one epoch, two classes).
set -u
OUT=${1:?usage: bench/gpu_figures.sh OUT DATA [SECONDS]}
DATA=${2:?usage: bench/gpu_figures.sh OUT DATA [SECONDS]}
BUDGET=${3:-540}
PY=${PYTHON:-python3}
export KERAS_BACKEND=torch PYTHONUNBUFFERED=1
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }
WORK=$(mktemp -d)
mkdir -p "$OUT"
# The GPU's load through the whole script, one line a second (nothing on a machine without nvidia-smi).
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 1 >"$WORK/gpu_load.csv" 2>/dev/null &
LOAD=$!

if [ "${QUICK:-0}" = 1 ]; then
  STEPS=4 ROUNDS=1 BATCHES=10 RUN_ARGS=(--classes 2 --max-per-class 200 --epochs 1)
else
  STEPS=100 ROUNDS=5 BATCHES=300 RUN_ARGS=()
fi

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "no nvidia-smi"
  nproc
  "$PY" -c "import torch, keras, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'keras', keras.__version__, 'numpy', numpy.__version__)"
} >"$OUT/env.txt" 2>&1

# The benchmarks, each alone on the machine, each bounded so that the runs keep most of the time.
timeout 100 "$PY" bench/train_throughput.py --models like_vgg,baseline --steps "$STEPS" --rounds "$ROUNDS" --no-jit \
  >"$OUT/throughput.txt" 2>&1 || echo "exit $?" >>"$OUT/throughput.txt"
timeout 90 "$PY" bench/precision.py --steps "$((STEPS / 2))" --rounds "$((ROUNDS > 3 ? 3 : ROUNDS))" \
  >"$OUT/precision.txt" 2>&1 || echo "exit $?" >>"$OUT/precision.txt"
timeout 90 "$PY" bench/input_pipeline.py --data "$DATA" --batches "$((BATCHES / 3))" --steps "$((STEPS / 2))" --rounds 1 \
  >"$OUT/pipeline.txt" 2>&1 || echo "exit $?" >>"$OUT/pipeline.txt"

# Data-parallel training across the GPUs (bench/data_parallel.py: 1 process against one per GPU, NCCL),
# where there are several; data_parallel.txt says so where there are not.
GPUS=$(nvidia-smi -L 2>/dev/null | wc -l)
if [ "$GPUS" -ge 2 ]; then
  timeout 120 "$PY" bench/data_parallel.py --nproc "$GPUS" --rounds 1 --epochs 3 \
    >"$OUT/data_parallel.txt" 2>&1 || echo "exit $?" >>"$OUT/data_parallel.txt"
else
  echo "$GPUS GPU(s): data-parallel figures need two or more" >"$OUT/data_parallel.txt"
fi

# The cache once, so that the four runs do not race to build it.
"$PY" -m kerasketch data prepare --data "$DATA" --cache-dir "$WORK/cache" "${RUN_ARGS[@]:0:4}" --quiet \
  >"$OUT/accuracy.txt" 2>&1
pids=()
for recipe in like_vgg_adamw sketch_resnet; do
  for precision in float32 mixed_bfloat16; do
    # Four processes share 16 cores: a few torch threads each leaves the GPU's feeders uncontended.
    OMP_NUM_THREADS=4 timeout "$(($(left) - 30))" "$PY" -m "kerasketch.recipes.$recipe" --data "$DATA" \
      --cache-dir "$WORK/cache" --runs-dir "$WORK/runs" --name "$recipe-$precision" --precision "$precision" \
      "${RUN_ARGS[@]}" >"$WORK/$recipe-$precision.log" 2>&1 &
    pids+=($!)
  done
done
for pid in "${pids[@]}"; do wait "$pid"; done
{
  echo "seconds used: $(($(date +%s) - START)) of $BUDGET"
  # One line a run: how far it got, its best validation and (if it finished) its test accuracy.
  "$PY" - "$WORK"/runs/* <<'PYEOF'
import sys
from kerasketch.runs import folders
for path in sys.argv[1:]:
    run = folders.load(path)
    print(f"{run.name}: {run.status}, {run.epochs_done} epochs, best val_acc {run.best_val_accuracy} "
          f"at epoch {run.best_epoch}, test {run.test_accuracy}, {run.seconds} s")
PYEOF
  for log in "$WORK"/*.log; do echo "== $log"; tail -n 25 "$log"; done
} >>"$OUT/accuracy.txt" 2>&1
kill "$LOAD" 2>/dev/null
tar -C "$WORK" -czf "$OUT/runs.tar.gz" --exclude='*.keras' --exclude='*.h5' --exclude=events.jsonl runs $(cd "$WORK" && ls ./*.log ./*.csv 2>/dev/null)
