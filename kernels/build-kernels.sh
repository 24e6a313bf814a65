#!/usr/bin/env bash
# Compiles every kernels/src/main/cuda/*.cu into a fatbin (sm_80 + sm_90 SASS, compute_90 PTX)
# and writes index.properties, which the engine reads to learn which kernels were built.
# A file whose first line is `// nvcc-arch: sm_90a` (architecture-specific features such as
# wgmma) is compiled for that architecture alone (SASS, no PTX); the engine loads such a module
# only on a matching device.
# Without nvcc the build still succeeds: the index then says built=false.
set -euo pipefail
shopt -s nullglob
src=${1:?source dir}; out=${2:?output dir}
mkdir -p "$out"
index="$out/index.properties"
NVCC=${NVCC:-$(command -v nvcc || true)}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -z "$NVCC" ]; then
  echo "[kernels] nvcc not found: CUDA kernels were NOT built (the CPU backend still works)." >&2
  printf 'built=false\nreason=nvcc not found at build time\n' > "$index"
  exit 0
fi
gencode="-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90"
compile() {  # compile CU OUT_FATBIN
  local cu=$1 fatbin=$2 codes=$gencode arch
  arch=$(head -1 "$cu" | sed -n 's|^// nvcc-arch: *\(sm_[0-9]*[a-z]*\) *$|\1|p')
  [ -n "$arch" ] && codes="-gencode=arch=compute_${arch#sm_},code=$arch"
  echo "[kernels] nvcc $(basename "$cu")${arch:+ ($arch only)}"
  # Compressed fatbins (the driver inflates them at load) keep the jar and the GPU bundle small.
  # shellcheck disable=SC2086  # codes is a list of flags
  "$NVCC" -fatbin -O3 -std=c++17 --expt-relaxed-constexpr -Xfatbin=-compress-all $codes -I "$src" -o "$fatbin.tmp" "$cu" \
    && mv "$fatbin.tmp" "$fatbin"
}
names=() pids=()
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu)
  names+=("$name")
  fatbin="$out/$name.fatbin"
  # Rebuild when the source, a shared header or this script is newer than the fatbin.
  if [ -f "$fatbin" ] && [ "$fatbin" -nt "$cu" ] && [ "$fatbin" -nt "$0" ] && ! find "$src" -name '*.cuh' -newer "$fatbin" | grep -q .; then
    continue
  fi
  # One nvcc per core at a time.
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  compile "$cu" "$fatbin" &
  pids+=($!)
done
failed=0
for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { echo "[kernels] nvcc failed (see above)" >&2; exit 1; }
{
  echo "built=true"
  echo "nvcc=$("$NVCC" --version | tail -1)"
  echo "modules=$(IFS=,; echo "${names[*]}")"
} > "$index"
echo "[kernels] ${#names[@]} fatbins in $out"
