#!/usr/bin/env bash
# The short GPU runs of the baselines: every method on ProsQA (suite prosqa-short) and the
# token-level methods on 4x4 multiplication (suite mult4-short), trained from scratch.
#
# The runs are small (a 6-layer model), so one GPU runs them all at once, one process each;
# wall-clock latencies in these results are therefore measured under contention and are not
# comparable to a run alone on the GPU (accuracy, FLOPs, forward passes and tokens are).
#
#   scripts/gpu_short_runs.sh OUT_DIR [PROSQA_STEPS] [MULT_STEPS]
# writes OUT_DIR/results/<task>/<method>/*.json and OUT_DIR/logs/<task>-<method>.log.
# PROSQA_METHODS and MULT_METHODS (space-separated) pick a subset; processes start a few seconds
# apart (STAGGER_S), since a dozen CUDA contexts created at the same instant were seen to fail.
set -uo pipefail
out=${1:?usage: scripts/gpu_short_runs.sh OUT_DIR [PROSQA_STEPS] [MULT_STEPS]}
prosqa_steps=${2:-3000}
mult_steps=${3:-4000}
deadline=${DEADLINE_S:-540}
mkdir -p "$out/results" "$out/logs"
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
latent=(python3 -m scripts.latent bench run --device cuda --no-progress --results-dir "$out/results")
pids=()
for m in ${PROSQA_METHODS-no_cot cot pause icot coconut coconut_no_curriculum coconut_no_thought coconut_pause_as_thought codi}; do
  "${latent[@]}" --suite prosqa-short --method "$m" --steps "$prosqa_steps" >"$out/logs/prosqa-$m.log" 2>&1 &
  pids+=($!)
  sleep "${STAGGER_S:-5}"
done
for m in ${MULT_METHODS-no_cot cot icot}; do
  "${latent[@]}" --suite mult4-short --method "$m" --steps "$mult_steps" >"$out/logs/mult4-$m.log" 2>&1 &
  pids+=($!)
  sleep "${STAGGER_S:-5}"
done
( sleep "$deadline"; kill "${pids[@]}" 2>/dev/null ) &
watchdog=$!
for pid in "${pids[@]}"; do wait "$pid"; done
kill "$watchdog" 2>/dev/null
tail -n 3 "$out"/logs/*.log
