#!/usr/bin/env bash
# Runs several Pipeline configurations at once on the GPU host's one GPU, within a deadline:
#
#   run-pipelines.sh SPEC DEADLINE_S
#
# SPEC has one run per line, "NAME ARGS...", ARGS being Pipeline options (relative paths from the
# current folder; --device cuda, --no-progress and --out are added); blank and # lines are skipped.
# Every run writes $RUNS/NAME/ and $RUNS/NAME.log (RUNS default /tmp/reg4rec-runs). Runs still
# training DEADLINE_S seconds after the start are stopped (checkpoints are written atomically, so
# best.safetensors is whole); then every run folder holding REG4Rec's best.safetensors is
# evaluated on the test split at each d of MISMATCHES (default "1 0"; four evaluations at a time). Ends with one line
# per run (state, epochs, best validation N@10, test metrics at d = 1 and d = 0) and writes
# $OUT/pipelines.tar.gz (logs, results.json, metrics.jsonl, evaluation JSON) when OUT is set.
set -euo pipefail
bundle=$(cd "$(dirname "$0")" && pwd)
spec=${1:?usage: run-pipelines.sh SPEC DEADLINE_S}
deadline=${2:?usage: run-pipelines.sh SPEC DEADLINE_S}
runs=${RUNS:-/tmp/reg4rec-runs}
mkdir -p "$runs"
work=${TMPDIR:-/tmp}/reg4rec-java
# build the compatibility library once, before the runs race to build it
[ -f "$work/cublas-compat/libcublas.so.12" ] || bash "$bundle/cublas-compat/build.sh" "$work/cublas-compat" >&2

start=$(date +%s)
declare -A pids
names=()
while read -r name args; do
  case "$name" in ''|'#'*) continue ;; esac
  names+=("$name")
  # shellcheck disable=SC2086  # ARGS is a list of words on purpose
  bash "$bundle/run-java.sh" io.reg4rec.train.Pipeline $args --device cuda --no-progress --out "$runs/$name" > "$runs/$name.log" 2>&1 &
  pids[$name]=$!
  echo "[pipelines] $name: pid ${pids[$name]}: $args" >&2
done < "$spec"

declare -A state
for name in "${names[@]}"; do state[$name]=running; done
while :; do
  left=0
  for name in "${names[@]}"; do
    [ "${state[$name]}" = running ] || continue
    if kill -0 "${pids[$name]}" 2>/dev/null; then left=$((left + 1)); else
      wait "${pids[$name]}" && state[$name]=done || state[$name]="failed($?)"
      echo "[pipelines] $name ${state[$name]} after $(( $(date +%s) - start )) s" >&2
    fi
  done
  [ "$left" -gt 0 ] || break
  if [ $(( $(date +%s) - start )) -ge "$deadline" ]; then
    for name in "${names[@]}"; do
      if [ "${state[$name]}" = running ]; then
        pkill -TERM -P "${pids[$name]}" 2>/dev/null || true
        kill -TERM "${pids[$name]}" 2>/dev/null || true
        state[$name]=stopped
        echo "[pipelines] $name stopped at the deadline" >&2
      fi
    done
    sleep 3
    break
  fi
  sleep 5
done

evaluate() {   # NAME D DATA
  local name=$1 d=$2 data=$3
  bash "$bundle/run-java.sh" io.reg4rec.train.Evaluate --run "$runs/$name" ${data:+--data "$data"} --device cuda --mismatches "$d" \
    --no-progress --out "$runs/$name-test-d$d.json" > "$runs/$name-test-d$d.log" 2>&1 || echo "[pipelines] evaluation of $name at d = $d failed" >&2
}
jobs_running() { jobs -rp | wc -l; }
for name in "${names[@]}"; do
  [ -f "$runs/$name/reg4rec/best.safetensors" ] || continue
  data=$(awk -v n="$name" '$1 == n { for (i = 2; i < NF; i++) if ($i == "--data") print $(i + 1) }' "$spec")
  for d in ${MISMATCHES:-1 0}; do
    while [ "$(jobs_running)" -ge 4 ]; do sleep 1; done
    evaluate "$name" "$d" "$data" &
  done
done
wait

printf '%-18s %-10s %7s %8s | %-27s | %-27s\n' run state "epochs" "val N@10" "test d=1 R@5 N@5 R@10 N@10" "test d=0 R@5 N@5 R@10 N@10"
for name in "${names[@]}"; do
  python3 - "$runs" "$name" "${state[$name]}" <<'EOF'
import json, os, sys
runs, name, state = sys.argv[1:4]
epochs, best = 0, float("nan")
metrics = os.path.join(runs, name, "reg4rec", "metrics.jsonl")
if os.path.exists(metrics):
    for line in open(metrics):
        e = json.loads(line)
        if e.get("event") == "epoch":
            epochs = e["epoch"]
            if e.get("best"): best = e["validation"]["ndcg@10"]
def test(d):
    f = os.path.join(runs, f"{name}-test-d{d}.json")
    if not os.path.exists(f): return "-"
    r = json.load(open(f))
    return " ".join(f"{r[k]:.4f}" for k in ("recall@5", "ndcg@5", "recall@10", "ndcg@10"))
print(f"{name:<18} {state:<10} {epochs:>7} {best:>8.4f} | {test(1):<27} | {test(0):<27}")
EOF
done
if [ -n "${OUT:-}" ]; then
  (cd "$runs" && tar -czf "$OUT/pipelines.tar.gz" --exclude='*.safetensors' .)
fi
