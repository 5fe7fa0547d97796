#!/usr/bin/env bash
# Masked diffusion on one GPU: the cost of a denoising step (benchmarks/diffusion_step.py), then
# the MDM-vs-AR study (benchmarks/diffusion_study.py): sudoku and Countdown-4, MDM and the AR
# baseline (no_cot) at the same model size, 3 seeds each, all 12 runs at once (one process
# each), then the summary and plot under results/studies/mdm-vs-ar/.
#
#   bash benchmarks/gpu_diffusion.sh            # the study (sized for ~6-7 minutes on one H100)
#   QUICK=1 bash benchmarks/gpu_diffusion.sh    # the same pipeline in about a minute (under build/)
#
# Run from the repository root with a python3 that has torch (CUDA), transformers, tokenizers,
# pydantic and matplotlib. Result JSONs go to results/<task>/<method>/ (QUICK: build/diffusion-quick/);
# the summary, the plot, the step benchmark and the logs' tails are copied into $OUT (default
# build/diffusion-out). SUDOKU_STEPS / COUNTDOWN_STEPS override the optimizer steps;
# DEADLINE_S (default 310) stops training processes still running after that many seconds, so
# that the script ends in time (a stopped run writes no result; the summary then has fewer seeds).
# STEP_ARGS and RUN_ARGS are appended to the two scripts' arguments (e.g. a CPU check of the
# pipeline: QUICK=1 STEP_ARGS="--device cpu --model-size tiny" RUN_ARGS="--device cpu
# --model-size tiny --batch-size 8 --steps 2").
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build/diffusion-out}
. benchmarks/gpu_wheels.sh  # pydantic and the like from .whl/, when missing
quick=${QUICK:-0}
python=${PYTHON:-python3}
mkdir -p "$out"
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
flag=()
study=results/studies/mdm-vs-ar
logs=build/diffusion-study/logs
if [ "$quick" = 1 ]; then
  flag=(--quick)
  study=build/diffusion-quick/studies/mdm-vs-ar
  logs=build/diffusion-quick/logs
  rm -rf build/diffusion-quick/manifests
else
  rm -rf build/diffusion-study/manifests
fi
mkdir -p "$logs"
started=$(date +%s)

# 1. one denoising step, timed before the study's processes start
if [ "$quick" = 1 ]; then
  "$python" benchmarks/diffusion_step.py --batch-sizes 1,256 --repeat 2 --out "$out" --check ${STEP_ARGS:-} >"$logs/step.log" 2>&1
else
  "$python" benchmarks/diffusion_step.py --batch-sizes 1,64,256,512 --repeat 5 --out "$out" >"$logs/step.log" 2>&1
fi
echo "step benchmark: exit $? ($(( $(date +%s) - started )) s)"; tail -n 8 "$logs/step.log"

# 2. the study: 2 tasks x 2 methods x 3 seeds, in parallel
pids=()
for task in sudoku countdown; do
  steps=()
  if [ "$task" = sudoku ] && [ -n "${SUDOKU_STEPS:-}" ]; then steps=(--steps "$SUDOKU_STEPS"); fi
  if [ "$task" = countdown ] && [ -n "${COUNTDOWN_STEPS:-}" ]; then steps=(--steps "$COUNTDOWN_STEPS"); fi
  for method in mdm no_cot; do
    for seed in 0 1 2; do
      "$python" benchmarks/diffusion_study.py run --task "$task" --method "$method" --seed "$seed" --device cuda \
        "${flag[@]}" "${steps[@]}" ${RUN_ARGS:-} >"$logs/$task-$method-s$seed.log" 2>&1 &
      pids+=($!)
      sleep "${STAGGER_S:-2}"
    done
  done
done
( sleep "${DEADLINE_S:-310}"; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done ) </dev/null >/dev/null 2>&1 &  # no open pipe of ours: a caller waiting for our output ends with us
watchdog=$!
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
pkill -P "$watchdog" 2>/dev/null; kill "$watchdog" 2>/dev/null  # its sleep too
echo "study runs: ${#pids[@]} started, $failed failed or stopped ($(( $(date +%s) - started )) s)"
for log in "$logs"/*-s*.log; do echo "== $log"; tail -n 3 "$log"; done

# 3. summary, plot, and the files that come back
"$python" benchmarks/diffusion_study.py summarize "${flag[@]}" 2>&1 | tee "$logs/summary.log"
cp "$study"/summary.json "$study"/plot.svg "$study"/plot.png "$out"/ 2>/dev/null
tail -n 400 "$logs"/*.log >"$out/logs.txt" 2>/dev/null
echo "done in $(( $(date +%s) - started )) s; files in $out: $(ls "$out" | tr '\n' ' ')"
