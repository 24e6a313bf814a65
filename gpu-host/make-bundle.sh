#!/usr/bin/env bash
# Builds dist/gpu-bundle/: everything needed to run the tests and benchmarks on the GPU host,
# which has CUDA 13, gcc and python3+torch but no Java, no Maven and no network.
#
#   runtime/          a jlink image of this machine's JDK 17 (bin/java)
#   classes/<module>/ and test-classes/<module>/   the project's compiled code and resources
#                     (kernels/ holds the fatbins nvcc built here)
#   lib/              runtime and test dependency jars; jcuda-natives slimmed to the driver
#                     and runtime bindings; the JUnit console launcher in lib/junit/
#   cublas-compat/    sources of the libcublas.so.12 -> .so.13 forwarding library (built there)
#   torch/            the PyTorch peer scripts;  run-on-gpu.sh, run-java.sh, bundle-env.sh,
#                     summarize_gemm.py, summarize_pairs.py
#   data/<name>/      with --data: S3Rec-style datasets (sequences.txt, item_attributes.json, items.tsv)
#
# Usage: gpu-host/make-bundle.sh [--data DIR]   (runs `mvn -DskipTests package` itself; nvcc here
#        builds the fatbins). --data DIR copies every dataset folder under DIR (e.g. ../shared/data/amazon).
# Fails if the bundle is larger than 60 MiB (64 MiB may be sent to the host in all).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bundle=$root/dist/gpu-bundle
limit_mib=60
JCUDA_VERSION=12.6.0
JUNIT_PLATFORM_VERSION=1.10.2
modules=(kernels engine autograd model train bench)

data_dir=
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data_dir=$(cd "${2:?--data needs a folder}" && pwd); shift ;;
    *) echo "make-bundle: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

cd "$root"
rm -rf "$bundle"
mkdir -p "$bundle"/{lib/junit,classes,test-classes}

echo "[bundle] mvn package (tests skipped) + dependency jars"
# One reactor invocation: sibling modules resolve to their fresh target/ output (the project is
# never installed into ~/.m2). JUnit itself comes from the console launcher jar, so its separate
# jars are left out (two copies of the Jupiter engine on one class path refuse to start).
mvn -B -q -DskipTests package dependency:copy-dependencies \
  -DincludeScope=test -DoutputDirectory="$bundle/lib" \
  -DexcludeGroupIds=io.reg4rec,org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
  -DexcludeArtifactIds=jmh-generator-annprocess
mvn -B -q -N dependency:copy \
  -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM_VERSION \
  -DoutputDirectory="$bundle/lib/junit"

echo "[bundle] project classes and test classes"
for m in "${modules[@]}"; do
  ls "$m"/target/"$m"-*.jar >/dev/null 2>&1 \
    || { echo "[bundle] $m was not built (no $m/target/$m-*.jar)" >&2; exit 1; }
  if [ -d "$m/target/classes" ]; then cp -r "$m/target/classes" "$bundle/classes/$m"; fi
  if [ -d "$m/target/test-classes" ]; then cp -r "$m/target/test-classes" "$bundle/test-classes/$m"; fi
done
if grep -q '^built=false' "$bundle/classes/kernels/io/reg4rec/kernels/index.properties" 2>/dev/null; then
  echo "[bundle] WARNING: the CUDA kernels were not built here (no nvcc); the bundle has no fatbins" >&2
fi

echo "[bundle] slimming jcuda-natives to the driver and runtime bindings"
natives=$bundle/lib/jcuda-natives-$JCUDA_VERSION-linux-x86_64.jar
[ -f "$natives" ] || { echo "[bundle] $natives missing" >&2; exit 1; }
slim=$(mktemp -d); trap 'rm -rf "$slim"' EXIT
# Same paths inside the jar, so JCuda's LibUtils finds them as usual. NVRTC (needs
# libnvrtc.so.12, absent there) and the 24 MB PTX compiler binding are left out.
unzip -q "$natives" "lib/libJCudaDriver-$JCUDA_VERSION-linux-x86_64.so" "lib/libJCudaRuntime-$JCUDA_VERSION-linux-x86_64.so" -d "$slim"
rm "$natives"
jar --create --file "$natives" --no-manifest -C "$slim" lib

echo "[bundle] jlink runtime image"
# Modules the code needs (jdeps over classes and jars), plus what the JCuda loader, JMH and
# the Vector API use reflectively or at run time (jdk.incubator.foreign: TensorMaps, TMA GEMM).
cp_jars=$(find "$bundle/lib" -name '*.jar' | sort | tr '\n' ':')
shopt -s nullglob
analysed=("$bundle"/classes/* "$bundle"/test-classes/* "$bundle"/lib/*.jar "$bundle"/lib/junit/*.jar)
shopt -u nullglob
found=$(jdeps --multi-release 17 --ignore-missing-deps --print-module-deps --class-path "$cp_jars" "${analysed[@]}" 2>/dev/null \
          | grep -E '^[A-Za-z0-9_.]+(,[A-Za-z0-9_.]+)*$' | tail -1 || true)
required=java.base,java.logging,java.xml,jdk.unsupported,java.management,jdk.incubator.vector,jdk.incubator.foreign
# java.xml: the JUnit console writes its XML reports with it (jdeps does not always report it).
# java.desktop is wanted by one commons-math3 class (geometry.euclidean.twod.Line, for
# java.awt.geom) that nothing here uses; it would add ~8 MB.
all_modules=$(echo "$required,$found" | tr ',' '\n' | grep -v -e '^$' -e '^java.desktop$' | sort -u | paste -sd, -)
echo "[bundle]   modules: $all_modules"
jlink --add-modules "$all_modules" --strip-debug --no-header-files --no-man-pages --compress=2 \
  --output "$bundle/runtime" 2>&1 | grep -v 'Using incubator modules' || true
[ -x "$bundle/runtime/bin/java" ] || { echo "[bundle] jlink failed" >&2; exit 1; }
# The JDK's shared libraries keep their symbol tables (libjvm.so alone ~4 MB of it).
if command -v strip >/dev/null; then
  find "$bundle/runtime" -name '*.so' -exec strip --strip-unneeded {} +
fi
"$bundle/runtime/bin/java" --add-modules jdk.incubator.vector,jdk.incubator.foreign -version >/dev/null 2>&1 \
  || { echo "[bundle] the runtime image does not start" >&2; exit 1; }

echo "[bundle] scripts"
mkdir -p "$bundle/cublas-compat" "$bundle/torch"
cp "$here/cublas-compat/"{build.sh,cublas_compat.c,symbols.txt,gen-symbols.sh,selftest.sh} "$bundle/cublas-compat/"
cp -r "$here/cublas-compat/selftest" "$bundle/cublas-compat/"
cp "$root"/bench/torch/*.py "$bundle/torch/"
cp "$here/run-on-gpu.sh" "$here/run-java.sh" "$here/run-pipelines.sh" "$here/bundle-env.sh" "$here/summarize_gemm.py" "$here/summarize_pairs.py" "$bundle/"
mkdir -p "$bundle/specs" && cp "$here"/specs/*.txt "$bundle/specs/"
if [ -n "$data_dir" ]; then
  echo "[bundle] datasets from $data_dir"
  for d in "$data_dir"/*/; do
    [ -f "$d/sequences.txt" ] || continue
    mkdir -p "$bundle/data/$(basename "$d")"
    cp "$d"/{sequences.txt,item_attributes.json,items.tsv} "$bundle/data/$(basename "$d")/" 2>/dev/null \
      || cp "$d"/sequences.txt "$d"/item_attributes.json "$bundle/data/$(basename "$d")/"
  done
fi
{
  echo "commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo '+dirty')"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "java=$("$bundle/runtime/bin/java" -version 2>&1 | head -1)"
  echo "modules=${modules[*]}"
} > "$bundle/BUNDLE-INFO"

size=$(du -sb "$bundle" | cut -f1)
size_mib=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }')
echo "[bundle] dist/gpu-bundle: $size_mib MiB"
du -sh "$bundle"/* | sort -h | tail -6 | sed 's/^/[bundle]   /'
if [ "$size" -gt $((limit_mib * 1024 * 1024)) ]; then
  echo "[bundle] FAIL: $size_mib MiB is over the $limit_mib MiB limit" >&2
  exit 1
fi
