#!/usr/bin/env bash
# Runs one main class of the project ON the GPU host from an unpacked bundle, with the
# libcublas.so.12 compatibility library built (once per boot, under $TMPDIR) and on the library
# path: e.g.  run-java.sh io.reg4rec.train.Pipeline --device cuda --data data/beauty
# Relative paths in the arguments are resolved from the current folder. Crash logs go to $OUT
# when set. Extra JVM options: JAVA_OPTS (a list of words).
set -euo pipefail
bundle=$(cd "$(dirname "$0")" && pwd)
main=${1:?usage: run-java.sh MAIN_CLASS [ARGS...]}; shift
work=${TMPDIR:-/tmp}/reg4rec-java
out=${OUT:-$work}
mkdir -p "$work" "$out"
shim_dir=$work/cublas-compat
if [ ! -f "$shim_dir/libcublas.so.12" ]; then
  bash "$bundle/cublas-compat/build.sh" "$shim_dir" >&2 || echo "run-java: the compatibility library did not build; JCublas will not load" >&2
fi
export LD_LIBRARY_PATH="$shim_dir:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# shellcheck source=bundle-env.sh
. "$bundle/bundle-env.sh"
# shellcheck disable=SC2086  # JAVA_OPTS is a list of words on purpose
exec "$java" "${java_opts[@]}" ${JAVA_OPTS:-} -cp "$classpath" "$main" "$@"
