#!/usr/bin/env bash
# The looped family on one GPU: the depth-ladder and adaptive-depth studies (scripts/depth_ladder.py,
# 42 harness runs in SHARDS parallel processes), their summaries and plots, then the looped-step
# benchmark (benchmarks/looped_step.py). Run from the repository root:
#
#   OUT=/some/folder benchmarks/gpu_looped.sh            # the whole study, about 6 minutes on an H100
#   QUICK=1 OUT=/some/folder benchmarks/gpu_looped.sh    # a ~1 minute smoke of the same pipeline
#
# Writes every Result JSON under results/studies/<study>/runs/ (QUICK: build/studies-quick/),
# results/studies/<study>/summary.json + plots, benchmarks/results/looped_step.json, and copies into
# $OUT (8 files): both summaries, both plots (SVG and PNG), the benchmark result, and
# looped-runs.tar.gz (both studies' folders: every run's Result JSON, summaries and plots; the logs;
# the benchmark result): `tar xzf looped-runs.tar.gz` in the repository root puts them in place.
# Timings are taken while other work may
# share the GPU: the benchmark's ratios compare runs made side by side, its absolute times may be high.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/gpu-looped-out}
. benchmarks/gpu_wheels.sh  # pydantic and the like from .whl/, when missing
PY=${PYTHON:-python3}
SHARDS=${SHARDS:-8}
DEVICE=${DEVICE:-cuda}  # cpu: a check of the script itself
DEADLINE_S=${DEADLINE_S:-300}  # the studies' workers are stopped after this; summaries use what finished
quick=()
root=results/studies
if [ "${QUICK:-0}" = 1 ]; then quick=(--quick); root=build/studies-quick; DEADLINE_S=${QUICK_DEADLINE_S:-100}; fi
logs=build/looped-logs
mkdir -p "$OUT" "$logs"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=2 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)
"$PY" -m scripts.depth_ladder plan "${quick[@]}" | tail -1
pids=()
for ((i = 0; i < SHARDS; i++)); do
  "$PY" -m scripts.depth_ladder run "${quick[@]}" --device "$DEVICE" --shard "$i" --shards "$SHARDS" >"$logs/shard-$i.log" 2>&1 &
  pids+=($!)
  sleep 2  # CUDA contexts created at the same instant were seen to fail
done
( sleep "$DEADLINE_S"; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done ) </dev/null >/dev/null 2>&1 &  # no open pipe of ours: a caller waiting for our output ends with us
watchdog=$!
for p in "${pids[@]}"; do wait "$p"; done
pkill -P "$watchdog" 2>/dev/null; kill "$watchdog" 2>/dev/null  # its sleep too
echo "studies: $(( $(date +%s) - start )) s"
grep -h "FAILED\|Traceback" "$logs"/shard-*.log | head -20
"$PY" -m scripts.depth_ladder summarize "${quick[@]}" --out "$OUT/summaries" 2>&1 | tee "$logs/summary.log"
bench=(--repeat 20 --device "$DEVICE")
bench_json=benchmarks/results/looped_step.json
if [ "${QUICK:-0}" = 1 ]; then bench=(--quick --device "$DEVICE" --out build/looped-bench); bench_json=build/looped-bench/looped_step.json; fi
"$PY" benchmarks/looped_step.py "${bench[@]}" 2>&1 | tee "$logs/looped_step.log" | tail -12
echo "total: $(( $(date +%s) - start )) s"
# the 8 files that come back
cp "$OUT"/summaries/depth-ladder-summary.json "$OUT"/summaries/depth-ladder-ladder.svg \
   "$OUT"/summaries/depth-ladder-ladder.png "$OUT"/summaries/adaptive-depth-summary.json \
   "$OUT"/summaries/adaptive-depth-adaptive.svg "$OUT"/summaries/adaptive-depth-adaptive.png "$OUT"/ 2>/dev/null
cp "$bench_json" "$OUT"/ 2>/dev/null
rm -rf "$OUT/summaries"
tar czf "$OUT/looped-runs.tar.gz" "$root/depth-ladder" "$root/adaptive-depth" "$logs" "$bench_json" 2>/dev/null
ls -la "$OUT"
