#!/usr/bin/env bash
# Runs the project's GPU tests and benchmarks ON the GPU host, from an unpacked bundle made by
# gpu-host/make-bundle.sh. The host needs gcc, CUDA 13 under /usr/local/cuda and python3 with
# torch; no Java, Maven or network (the bundle brings its own Java runtime and jars).
#
# Stages: build the libcublas.so.12 compatibility library, list the GPUs, the engine check
# (CUDA vs CPU), the JUnit tests tagged gpu, the engine's GEMM benchmark (GpuBench, when the
# bundle has it), the PyTorch peer, and a table joining the two benchmarks.
#
# Usage: run-on-gpu.sh [--tests-only | --bench-only] [--all-tests] [--sanitize] [--tag TAG] [--benches LIST]
#   --tests-only   engine check and tests, no benchmarks
#   --bench-only   benchmarks only
#   --all-tests    every test, not only those tagged gpu (the CPU ones too)
#   --sanitize     run the tests under compute-sanitizer (memcheck); much slower
#   --tag TAG      run the tests tagged TAG instead of gpu
#   --classes RE   only test classes whose fully qualified name matches the regular expression RE
#   --benches LIST comma-separated benchmarks to run (default all): gemm, train, and the kernel
#                  families attention, quant, fused, owngemm, topk (each ours + its PyTorch peer)
# Logs and results go to $OUT when set (files there come back from the host), else ./gpu-results.
# Exit status: non-zero when a stage failed (tests, engine check, benchmark or shim build).
set -uo pipefail

bundle=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
out=$(cd "$out" && pwd)

run_tests=1 run_bench=1 all_tests=0 sanitize=0 tag=gpu classes= benches=gemm,train,attention,quant,fused,owngemm,topk
while [ $# -gt 0 ]; do
  case "$1" in
    --tests-only) run_bench=0 ;;
    --bench-only) run_tests=0 ;;
    --all-tests) all_tests=1 ;;
    --sanitize) sanitize=1 ;;
    --tag) tag=${2:?--tag needs a value}; shift ;;
    --classes) classes=${2:?--classes needs a regular expression}; shift ;;
    --benches) benches=${2:?--benches needs a value}; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-on-gpu: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

exec > >(tee "$out/run.log") 2>&1
tee_pid=$!
declare -A status=()
stage_order=()
record() { status[$1]=$2; stage_order+=("$1"); }
banner() { echo; echo "=== $* ==="; }

work=$(mktemp -d "${TMPDIR:-/tmp}/reg4rec-gpu.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "bundle: $bundle"; cat "$bundle/BUNDLE-INFO" 2>/dev/null; echo "results: $out"

banner "cuBLAS compatibility library (libcublas.so.12 -> libcublas.so.13)"
shim_dir=$work/cublas-compat
if bash "$bundle/cublas-compat/build.sh" "$shim_dir"; then
  record shim 0
else
  record shim 1
  echo "run-on-gpu: the compatibility library did not build; JCublas will not load" >&2
fi
export LD_LIBRARY_PATH="$shim_dir:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Load it once on its own to report what libcublas.so.13 lacks of what JCublas2 imports.
if [ -f "$shim_dir/libcublas.so.12" ] && command -v python3 >/dev/null; then
  REG4REC_CUBLAS_COMPAT_VERBOSE=1 python3 -c "import ctypes; ctypes.CDLL('$shim_dir/libcublas.so.12')" \
    > "$out/cublas-compat.txt" 2>&1
  head -1 "$out/cublas-compat.txt"
  echo "(full list of unresolved functions: cublas-compat.txt)"
fi

banner "GPUs"
nvidia-smi -L || echo "nvidia-smi failed"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null

# shellcheck source=bundle-env.sh
. "$bundle/bundle-env.sh"
java_opts+=(-Dreg4rec.device=cuda)
"$java" --add-modules jdk.incubator.vector,jdk.incubator.foreign -version 2>&1 | grep -v incubator | head -1

if [ "$run_tests" = 1 ]; then
  if has_class train io.reg4rec.train.EngineCheck; then
    banner "engine check on cuda (compared with the CPU backend)"
    "$java" "${java_opts[@]}" -cp "$classpath" io.reg4rec.train.EngineCheck --device cuda 2>&1 | tee "$out/engine-check.txt"
    record engine-check "${PIPESTATUS[0]}"
  fi

  banner "JUnit tests ($([ "$all_tests" = 1 ] && echo all || echo "tag $tag")$([ "$sanitize" = 1 ] && echo ', under compute-sanitizer'))"
  if [ ${#test_dirs[@]} -eq 0 ]; then
    echo "run-on-gpu: the bundle has no test classes"
    record tests 1
  else
    filter=()
    [ "$all_tests" = 1 ] || filter=(--include-tag "$tag")
    [ -z "$classes" ] || filter+=(--include-classname "$classes")
    launcher=("$java" "${java_opts[@]}" -cp "$(join "${junit_jar[@]}"):$classpath"
              org.junit.platform.console.ConsoleLauncher execute --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests
              --scan-class-path "$(join "${test_dirs[@]}")" "${filter[@]}" --reports-dir "$out/junit-reports")
    if [ "$sanitize" = 1 ]; then
      sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
      # The JVM itself is not CUDA code; only CUDA API and kernel errors are of interest.
      "$sanitizer" --tool memcheck --target-processes all --error-exitcode 86 \
        --log-file "$out/compute-sanitizer.log" "${launcher[@]}" 2>&1 | tee "$out/tests.txt"
      rc=${PIPESTATUS[0]}
      [ "$rc" = 86 ] && echo "compute-sanitizer reported errors: see compute-sanitizer.log"
      tail -5 "$out/compute-sanitizer.log" 2>/dev/null
    else
      "${launcher[@]}" 2>&1 | tee "$out/tests.txt"
      rc=${PIPESTATUS[0]}
    fi
    record tests "$rc"
  fi
fi

wants() { [ "$run_bench" = 1 ] && [[ ",$benches," == *",$1,"* ]]; }

if wants gemm; then
  banner "engine GEMM benchmark (io.reg4rec.bench.gpu.GpuBench)"
  if has_class bench io.reg4rec.bench.gpu.GpuBench; then
    # shellcheck disable=SC2086  # GPUBENCH_ARGS is a list of words on purpose
    "$java" "${java_opts[@]}" -cp "$classpath" io.reg4rec.bench.gpu.GpuBench ${GPUBENCH_ARGS:-} \
      2> "$out/gpubench.err" | tee "$out/gpubench.jsonl"
    record gpubench "${PIPESTATUS[0]}"
    cat "$out/gpubench.err"
  else
    echo "not in this bundle: skipped"
  fi

  banner "PyTorch peer (bench/torch/gemm_peer.py)"
  python3 "$bundle/torch/gemm_peer.py" 2> "$out/torch-gemm.err" | tee "$out/torch-gemm.jsonl"
  record torch-peer "${PIPESTATUS[0]}"
  cat "$out/torch-gemm.err"

  banner "GEMM: ours vs torch (torch/ours > 1: ours faster)"
  python3 "$bundle/summarize_gemm.py" "$out/gpubench.jsonl" "$out/torch-gemm.jsonl" | tee "$out/gemm-summary.txt"
fi

# Kernel families: our launcher and its PyTorch peer print JSON lines with the same keys;
# summarize_pairs.py joins them on every key that is not a measurement.
for family in attention:AttentionBench:attention_peer quant:QuantBench:quant_peer \
              fused:FusedOpsBench:fused_peer owngemm:OwnGemmBench:own_gemm_peer topk:TopKBench:topk_peer; do
  IFS=: read -r name launcher peer <<< "$family"
  wants "$name" || continue
  banner "$name kernels: ours ($launcher) vs PyTorch ($peer.py)"
  if ! has_class bench "io.reg4rec.bench.gpu.$launcher"; then echo "not in this bundle: skipped"; continue; fi
  "$java" "${java_opts[@]}" -cp "$classpath" "io.reg4rec.bench.gpu.$launcher" \
    2> "$out/$name.err" | tee "$out/$name.jsonl"
  record "$name-bench" "${PIPESTATUS[0]}"
  tail -5 "$out/$name.err"
  if [ -f "$bundle/torch/$peer.py" ]; then
    python3 "$bundle/torch/$peer.py" 2> "$out/torch-$name.err" | tee "$out/torch-$name.jsonl"
    record "$name-peer" "${PIPESTATUS[0]}"
    tail -5 "$out/torch-$name.err"
    python3 "$bundle/summarize_pairs.py" "$out/$name.jsonl" "$out/torch-$name.jsonl" | tee "$out/$name-summary.txt"
  fi
done

if wants train; then
  banner "training step of the paper-sized encoder-decoder: ours vs PyTorch eager"
  if has_class bench io.reg4rec.bench.model.TrainStepBench; then
    "$java" "${java_opts[@]}" -cp "$classpath" io.reg4rec.bench.model.TrainStepBench --device cuda \
      2> "$out/train-step.err" | tee "$out/train-step.jsonl"
    record train-step "${PIPESTATUS[0]}"
    tail -3 "$out/train-step.err"
    python3 "$bundle/torch/train_step_peer.py" --device cuda 2> "$out/torch-train-step.err" | tee -a "$out/train-step.jsonl"
    record torch-train-step "${PIPESTATUS[0]}"
    tail -3 "$out/torch-train-step.err"
  else
    echo "not in this bundle: skipped"
  fi
fi

if [ "$run_tests" = 1 ] && has_class model io.reg4rec.model.io.SafeTensorsSample; then
  banner "safetensors: a file written by the engine, read by Python's safetensors"
  sample="$work/sample.safetensors"
  "$java" "${java_opts[@]}" -cp "$classpath" io.reg4rec.model.io.SafeTensorsSample "$sample" \
    && "$java" "${java_opts[@]}" -cp "$classpath" io.reg4rec.model.io.SafeTensorsDump "$sample" 2>/dev/null > "$out/safetensors-java.txt" \
    && python3 "$bundle/torch/check_safetensors.py" "$sample" > "$out/safetensors-python.txt" \
    && diff "$out/safetensors-java.txt" "$out/safetensors-python.txt" && echo "identical: $(wc -l < "$out/safetensors-java.txt") lines"
  record safetensors "$?"
fi

banner "summary"
failed=0
for s in "${stage_order[@]}"; do
  printf '  %-14s %s\n' "$s" "$([ "${status[$s]}" = 0 ] && echo ok || echo "FAILED (exit ${status[$s]})")"
  [ "${status[$s]}" = 0 ] || failed=1
done
echo "logs: $out"
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null
exit $failed
