#!/usr/bin/env bash
# Run several GPU studies side by side on one GPU and pack everything they wrote into one archive.
#
#   benchmarks/gpu_all.sh OUT_DIR SCRIPT [SCRIPT ...]
#
# Each SCRIPT (e.g. benchmarks/gpu_looped.sh) runs in its own process group with OUT set to a
# folder of its own (OUT_DIR/parts/<name>); its log goes to OUT_DIR/parts/<name>.log. Scripts
# start STAGGER_S seconds apart (default 20: their first seconds build data on the CPU) and are
# stopped after ALL_DEADLINE_S seconds (default 560). At the end OUT_DIR/all.tgz holds results/ and
# benchmarks/results/ (what the studies wrote there) plus every part's folder and log, and
# OUT_DIR/summary.txt the last lines of every log. Wheels in .whl/ (packages the GPU machine
# lacks, e.g. pydantic) are installed into /tmp/site first. The copied tree's .git may be stale:
# set LATENT_GIT_COMMIT to the commit of the tree you send, so that every result records it.
set -uo pipefail
out=${1:?usage: benchmarks/gpu_all.sh OUT_DIR SCRIPT [SCRIPT ...]}
shift
mkdir -p "$out/parts"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
[ -n "${LATENT_GIT_COMMIT:-}" ] || echo "warning: LATENT_GIT_COMMIT is not set; results record the copied tree's .git" >&2
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/summary.txt"
start=$(date +%s)
pids=()
for script in "$@"; do
  name=$(basename "$script" .sh)
  mkdir -p "$out/parts/$name"
  OUT="$out/parts/$name" setsid bash "$script" >"$out/parts/$name.log" 2>&1 &
  pids+=($!)
  echo "started $name (pid $!) at +$(( $(date +%s) - start ))s" | tee -a "$out/summary.txt"
  sleep "${STAGGER_S:-20}"
done
deadline=${ALL_DEADLINE_S:-560}
for i in "${!pids[@]}"; do
  left=$(( deadline - ($(date +%s) - start) ))
  pid=${pids[$i]}
  while kill -0 "$pid" 2>/dev/null && [ "$left" -gt 0 ]; do sleep 2; left=$(( deadline - ($(date +%s) - start) )); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "deadline: stopping $(basename "${@:$((i+1)):1}" .sh)" | tee -a "$out/summary.txt"
    kill -- -"$pid" 2>/dev/null
  fi
  wait "$pid"; echo "$(basename "${@:$((i+1)):1}" .sh) exit $? at +$(( $(date +%s) - start ))s" | tee -a "$out/summary.txt"
done
for log in "$out"/parts/*.log; do
  { echo "== $log"; tail -n 25 "$log"; } >>"$out/summary.txt"
done
tar czf "$out/all.tgz" results benchmarks/results -C "$out" parts 2>/dev/null
ls -la "$out" >>"$out/summary.txt"
tail -n 120 "$out/summary.txt"
