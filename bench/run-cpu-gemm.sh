#!/usr/bin/env bash
# Runs the CPU fp32 GEMM benchmark (JMH, our engine) and numpy's matmul at the same sizes, then
# prints GFLOP/s side by side. Usage: bench/run-cpu-gemm.sh [sizes...]  (default 256 1024 2048)
# Builds bench/target/benchmarks.jar first when it is missing (set REBUILD=1 to force).
# THREADS=1 compares single-threaded: numpy with OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1,
# our JVM with -XX:ActiveProcessorCount=1 (the CPU pool sizes itself from that).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(256 1024 2048)
jar=bench/target/benchmarks.jar
if [ ! -f "$jar" ] || [ "${REBUILD:-0}" = 1 ]; then
  mvn -B -q ${MVN_FLAGS:-} -pl bench -am package -DskipTests
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
size_list="$(IFS=,; echo "${sizes[*]}")"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== JMH: CpuGemmBenchmark (sizes $size_list)"
jvm_extra=()
if [ "${THREADS:-}" = 1 ]; then
  # replaces the @Fork jvmArgsAppend, so it repeats them
  jvm_extra=(-jvmArgsAppend "--add-modules=jdk.incubator.vector -Xmx4g -XX:ActiveProcessorCount=1")
  export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
fi
echo "== threads: ${THREADS:-all}"
java -jar "$jar" CpuGemmBenchmark -p size="$size_list" "${jvm_extra[@]}" -rf json -rff "$work/jmh.json" | grep -E "^(Benchmark|CpuGemm)" || true
echo "== numpy"
python3 bench/numpy_gemm.py "${sizes[@]}" | tee "$work/numpy.jsonl"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on these cores skew both columns)"
python3 - "$work/jmh.json" "$work/numpy.jsonl" <<'PY'
import json, sys
jmh = json.load(open(sys.argv[1]))
ours = {}
for r in jmh:
    n = int(r["params"]["size"])
    ms = r["primaryMetric"]["score"]
    raw = sorted(x for fork in r["primaryMetric"]["rawData"] for x in fork)
    med = raw[len(raw) // 2]
    ours[n] = (med, 2 * n ** 3 / (med * 1e-3) / 1e9)
numpy = {}
for line in open(sys.argv[2]):
    d = json.loads(line)
    numpy[d["size"]] = (d["median_ms"], d["gflops"])
print()
print(f"{'size':>6} | {'ours ms':>9} | {'ours GFLOP/s':>12} | {'numpy ms':>9} | {'numpy GFLOP/s':>13} | {'ratio':>6}")
print("-" * 70)
for n in sorted(ours):
    om, og = ours[n]
    nm, ng = numpy.get(n, (float("nan"), float("nan")))
    print(f"{n:>6} | {om:>9.3f} | {og:>12.1f} | {nm:>9.3f} | {ng:>13.1f} | {og / ng:>6.2f}")
PY
