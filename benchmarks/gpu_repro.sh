#!/usr/bin/env bash
# The reproduction suites on one GPU: every (suite, method, seed) as its own process, side by side.
#
#   LATENT_GIT_COMMIT=<commit> OUT=out SUITES="mult4-repro" SEEDS="0 1 2" bash benchmarks/gpu_repro.sh
#
# SUITES  suites to run (default: prosqa-repro); METHODS  a comma-separated subset (default: all
#         of each suite's methods)
# SEEDS   training seeds (default "0 1 2")
# STEPS   optimizer steps instead of the suite's budget (a shortened run: the result records its
#         steps and the site labels it as below its suite's budget); EXTRA  further options of
#         `latent bench run`, e.g. "--evals 1 --valid-n 64 --test-n 64" for a pace check
# DEADLINE_S  runs still going after this many seconds are stopped (default 540)
# STAGGER_S   seconds between process starts (default 1; CUDA contexts created at the same instant
#             were seen to fail)
# Result files go to $OUT/results/<task>/<method>/ and one log per run to $OUT/logs/, both packed at
# the end into $OUT/results.tgz and $OUT/logs.tgz; a table of what finished (accuracy, training
# time, steps per second, the failure of a failed run) to $OUT/summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build/gpu-repro-out}
. benchmarks/gpu_wheels.sh  # pydantic and the like from .whl/, when missing
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
SUITES=${SUITES:-prosqa-repro}
SEEDS=${SEEDS:-0 1 2}
DEADLINE_S=${DEADLINE_S:-540}
mkdir -p "$OUT/results" "$OUT/logs"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# the official files: $LATENT_DATA_DIR, else data/ (carried to a GPU machine), else the harness's ../shared/data
[ -z "${LATENT_DATA_DIR:-}" ] && [ -d data/coconut ] && export LATENT_DATA_DIR=$PWD/data
[ -n "${LATENT_GIT_COMMIT:-}" ] || echo "warning: LATENT_GIT_COMMIT is not set; results record the tree's .git" >&2
extra=()
[ -n "${STEPS:-}" ] && extra+=(--steps "$STEPS")
# shellcheck disable=SC2206
[ -n "${EXTRA:-}" ] && extra+=($EXTRA)
start=$(date +%s)
pids=()
names=()
for suite in $SUITES; do
  methods=${METHODS:-$("$PY" -c "from baselines.suites import suite_methods; print(','.join(suite_methods('$suite')))")}
  for method in ${methods//,/ }; do
    for seed in $SEEDS; do
      name="$suite-$method-s$seed"
      "$PY" -m scripts.latent bench run --suite "$suite" --method "$method" --seed "$seed" --device "$DEVICE" \
        --no-progress --results-dir "$OUT/results" --checkpoint-dir "/tmp/ckpt/$name" "${extra[@]}" \
        >"$OUT/logs/$name.log" 2>&1 &
      pids+=($!)
      names+=("$name")
      sleep "${STAGGER_S:-1}"
    done
  done
done
echo "started ${#pids[@]} runs in $(( $(date +%s) - start )) s"
( sleep "$DEADLINE_S"; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done ) </dev/null >/dev/null 2>&1 &  # no open pipe of ours: a caller waiting for our output ends with us
watchdog=$!
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"
  echo "${names[$i]} exit $? at +$(( $(date +%s) - start ))s" >>"$OUT/summary.txt"
done
pkill -P "$watchdog" 2>/dev/null; kill "$watchdog" 2>/dev/null  # its sleep too
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader >>"$OUT/summary.txt" 2>/dev/null
"$PY" - "$OUT/results" >>"$OUT/summary.txt" <<'EOF'
import json, sys
from pathlib import Path
rows = []
for f in sorted(Path(sys.argv[1]).rglob("*.json")):
    d = json.loads(f.read_text())
    t, steps = d.get("train") or {}, (d.get("budget") or {}).get("optimizer_steps") or 0
    secs = t.get("time_s") or 0
    acc = {m["split"]: m["accuracy"] for m in d.get("eval") or []}
    rows.append(f"{d.get('suite')}\t{d['method']}\ts{d.get('seed')}\t{d['status']}\tsteps {steps}\ttrain {secs:.0f}s\t"
                f"{steps / secs if secs else 0:.2f} step/s\tvalid {acc.get('valid')}\ttest {acc.get('test')}"
                + (f"\t{d['failure']}" if d.get("failure") else ""))
print("\n".join(rows) or "no result files")
EOF
grep -l "Traceback\|Error" "$OUT"/logs/*.log 2>/dev/null | head -5 | while read -r f; do echo "== $f"; tail -5 "$f"; done >>"$OUT/summary.txt"
echo "total: $(( $(date +%s) - start )) s" >>"$OUT/summary.txt"
# two archives instead of one file per run (what comes back from a GPU machine is limited in count)
tar czf "$OUT/results.tgz" -C "$OUT" results && tar czf "$OUT/logs.tgz" -C "$OUT" logs && rm -rf "$OUT/results" "$OUT/logs"
tail -n 80 "$OUT/summary.txt"
