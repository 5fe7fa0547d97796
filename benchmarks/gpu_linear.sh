#!/usr/bin/env bash
# The linear-state recurrence study on one GPU, from the repository root:
#
#   OUT=/path/to/out bash benchmarks/gpu_linear.sh          # the study (about 6 minutes on an H100)
#   QUICK=1 OUT=/path/to/out bash benchmarks/gpu_linear.sh  # a one-minute smoke of the same pipeline
#
# 1. installs the wheels in .whl/ (flash-linear-attention, fla-core, pydantic...) into /tmp/site
#    when present; without them gated_deltanet runs its plain-PyTorch form and says so;
# 2. tests/baselines/test_deltanet.py on the GPU: the fla kernel against the plain form, the
#    chunked form against the recurrence, generation against a full forward -> $OUT/kernel_tests.txt;
# 3. the state-tracking study (benchmarks/linear_study.py): gated_deltanet, its beta in (0, 1)
#    ablation and the transformer x parity, S3, S5, flip-flop x 3 test lengths x 3 seeds, every run
#    a harness run written to results/<task>/<method>/; runs share the GPU in WORKERS processes;
#    runs not started by STUDY_DEADLINE_S are cancelled (the summary then shows n < 3 where that
#    happened); STEPS overrides the optimizer steps per run (500);
# 4. generation memory and latency by context length (benchmarks/linear_generation.py);
# 5. the summary (results/studies/linear-state-tracking/summary.json, table.md, plots) and $OUT (8 files):
#    summary.json, table.md,
#    accuracy.svg, generation.json, generation.svg, kernel_tests.txt, log.txt and
#    linear_results.tar.gz (every result JSON and the study folder, to unpack at the repository root).
#
# Settings (environment): QUICK, OUT, WORKERS (8; 4 with QUICK), STEPS (500 per run),
# STUDY_DEADLINE_S (230; 45 with QUICK), DEVICE (cuda), WHEELS (.whl; "none" skips the install).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/linear-out}
mkdir -p "$OUT"
log="$OUT/log.txt"
: >"$log"
say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$log"; }
started=$(date +%s)

wheels=${WHEELS:-.whl}  # WHEELS=none skips the install (an environment that has its packages)
if ls "$wheels"/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$wheels"/*.whl \
    >>"$log" 2>&1 && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
if [ -d .git ] && [ -z "${LATENT_GIT_COMMIT:-}" ]; then
  LATENT_GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || true)
  export LATENT_GIT_COMMIT
fi
python3 - >>"$log" 2>&1 <<'EOF'
import importlib.util
import torch
from baselines.models.deltanet import kernel_status
triton = importlib.util.find_spec("triton") and __import__("triton").__version__
print("torch", torch.__version__, "triton", triton, "cuda", torch.cuda.is_available())
print("gated_deltanet trains with:", kernel_status("cuda" if torch.cuda.is_available() else "cpu"))
EOF
tail -n 2 "$log"

if [ -n "${QUICK:-}" ]; then
  quick=(--quick); results=/tmp/linear-quick/results; deadline=${STUDY_DEADLINE_S:-45}; workers=${WORKERS:-4}
else
  quick=(); results=results; deadline=${STUDY_DEADLINE_S:-230}; workers=${WORKERS:-8}
fi
study="$results/studies/linear-state-tracking"

say "kernel tests"
timeout 100 python3 -m pytest -q -rs -p no:cacheprovider tests/baselines/test_deltanet.py >"$OUT/kernel_tests.txt" 2>&1
say "kernel tests: $(tail -n 1 "$OUT/kernel_tests.txt")"

device=${DEVICE:-cuda}
say "study ($workers workers, deadline ${deadline}s)"
timeout $((deadline + 60)) python3 -m benchmarks.linear_study --device "$device" --workers "$workers" \
  --deadline-s "$deadline" ${STEPS:+--steps "$STEPS"} --results-dir "$results" --study-dir "$study" "${quick[@]}" >>"$log" 2>&1
say "study done"

say "generation benchmark"
timeout 90 python3 -m benchmarks.linear_generation --device "$device" --study-dir "$study" "${quick[@]}" >>"$log" 2>&1
say "generation benchmark done"

python3 -m benchmarks.linear_study --summarize-only --results-dir "$results" --study-dir "$study" "${quick[@]}" \
  >>"$log" 2>&1
for f in summary.json table.md accuracy.svg generation.json generation.svg; do
  [ -f "$study/$f" ] && cp "$study/$f" "$OUT/$f"
done
tar -czf "$OUT/linear_results.tar.gz" -C "$(dirname "$results")" \
  $(cd "$(dirname "$results")" && find "$(basename "$results")" -name '*.json' -path '*/gated_deltanet/*' -o \
    -name '*.json' -path '*/transformer/*' | grep -E 'state_parity|permutation|flipflop') \
  "$(basename "$results")/studies/linear-state-tracking" 2>>"$log"
say "done in $(( $(date +%s) - started ))s; $OUT holds: $(ls "$OUT" | tr '\n' ' ')"
