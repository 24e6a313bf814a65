#!/usr/bin/env bash
# Tests the cuBLAS compatibility library without a GPU: builds a fake libcublas.so.13 and the
# library, checks SONAME and symbol versions with readelf, calls through it from C (and from
# Java via JCublas2 when a JDK and the JCuda jars are at hand), and loads JCublas2's real native
# library against it. Exits non-zero on the first failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-gcc}
JCUDA_VERSION=12.6.0
m2=${M2_REPO:-$HOME/.m2/repository}
natives_jar=$m2/org/jcuda/jcublas-natives/$JCUDA_VERSION/jcublas-natives-$JCUDA_VERSION-linux-x86_64.jar

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cublas-compat-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass() { echo "  ok    $*"; }
fail() { echo "  FAIL  $*" >&2; exit 1; }
trap 'echo "[selftest] FAILED: command at line $LINENO exited with status $?" >&2' ERR

echo "[selftest] building the fake libcublas.so.13 and the compatibility library in $tmp"
mkdir -p "$tmp/fake" "$tmp/shim" "$tmp/naive"
"$CC" -shared -fPIC -O1 -o "$tmp/fake/libcublas.so.13" "$here/selftest/fake_cublas13.c" \
  -Wl,-soname,libcublas.so.13 -Wl,--version-script,"$here/selftest/fake_cublas13.map"
"$here/build.sh" "$tmp/shim" >/dev/null
shim=$tmp/shim/libcublas.so.12

echo "[selftest] ELF checks"
soname=$(readelf -d "$shim" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libcublas.so.12 ] && pass "SONAME is libcublas.so.12" || fail "SONAME is '$soname'"
readelf -V "$shim" | grep -q 'Name: libcublas.so.12' && pass "defines version node libcublas.so.12" || fail "no version node libcublas.so.12"
readelf -d "$shim" | grep -q TEXTREL && fail "text relocations present" || pass "no text relocations"
grep -v '^#' "$here/symbols.txt" | grep -v '^[[:space:]]*$' | LC_ALL=C sort > "$tmp/wanted"
nm -D --defined-only "$shim" | awk '$2 == "T" {print $3}' | grep '@@libcublas\.so\.12$' | sed 's/@@.*//' | LC_ALL=C sort > "$tmp/exported"
if cmp -s "$tmp/wanted" "$tmp/exported"; then
  pass "all $(wc -l < "$tmp/wanted") functions of symbols.txt exported as NAME@@libcublas.so.12, nothing else"
else
  diff "$tmp/wanted" "$tmp/exported" | head -20 >&2
  fail "exported functions differ from symbols.txt"
fi

echo "[selftest] calling through the library from C"
"$CC" -O1 -o "$tmp/call_through" "$here/selftest/call_through.c" -L"$tmp/shim" -l:libcublas.so.12 -Wl,--no-as-needed
readelf -V "$tmp/call_through" | grep -q 'Name: libcublas.so.12' && pass "test program requires version libcublas.so.12" \
  || fail "test program does not import versioned symbols"
out=$(LD_LIBRARY_PATH="$tmp/shim:$tmp/fake" "$tmp/call_through" forward 2>"$tmp/forward.err") || { echo "$out"; cat "$tmp/forward.err" >&2; fail "forwarding to the fake"; }
pass "$out (create, version, 14-argument sgemm with stack arguments, status string)"
[ "$(grep -c 'cublasDgemm_v2 is not in' "$tmp/forward.err")" = 1 ] && pass "a missing function reports itself once and returns 15" \
  || { cat "$tmp/forward.err" >&2; fail "missing-function report"; }
REG4REC_CUBLAS_COMPAT_VERBOSE=1 LD_LIBRARY_PATH="$tmp/shim:$tmp/fake" "$tmp/call_through" forward >/dev/null 2>"$tmp/verbose.err"
verbose=$(sed -n 1p "$tmp/verbose.err")
echo "$verbose" | grep -q "5 of $(wc -l < "$tmp/wanted") functions resolved" && pass "verbose mode: $verbose" || fail "verbose line: $verbose"
out=$(REG4REC_CUBLAS13="$tmp/nonexistent/libcublas.so.13" LD_LIBRARY_PATH="$tmp/shim:$tmp/fake" "$tmp/call_through" unavailable 2>"$tmp/unavailable.err") \
  || { echo "$out"; cat "$tmp/unavailable.err" >&2; fail "behaviour without libcublas.so.13"; }
[ "$(grep -c 'cannot open libcublas.so.13' "$tmp/unavailable.err")" = 1 ] && pass "$out: without libcublas.so.13 one clear message, calls return 15" \
  || { cat "$tmp/unavailable.err" >&2; fail "no clear message when libcublas.so.13 is missing"; }

echo "[selftest] loading JCublas2's native library"
if [ ! -f "$natives_jar" ] && command -v mvn >/dev/null; then
  mvn -B -q dependency:get -Dartifact="org.jcuda:jcublas-natives:$JCUDA_VERSION:jar:linux-x86_64" -Dtransitive=false >/dev/null
fi
[ -f "$natives_jar" ] || fail "$natives_jar not found (needs Maven once)"
unzip -q -o "$natives_jar" 'lib/libJCublas2-*.so' -d "$tmp/jcublas"
jcublas2=$(ls "$tmp"/jcublas/lib/libJCublas2-*.so)
"$CC" -O1 -o "$tmp/load_library" "$here/selftest/load_library.c" -ldl
for mode in lazy now; do
  out=$(LD_LIBRARY_PATH="$tmp/shim:$tmp/fake" "$tmp/load_library" $mode "$jcublas2") && pass "RTLD_${mode^^} with the library: $out" \
    || fail "RTLD_${mode^^} load of $(basename "$jcublas2") with the library: $out"
done
# The two things the library replaces must indeed fail: no libcublas.so.12 at all, and
# CUDA 13's library merely renamed (its symbols carry the wrong version).
out=$(LD_LIBRARY_PATH="$tmp/fake" "$tmp/load_library" lazy "$jcublas2") && fail "loaded without any libcublas.so.12?" \
  || pass "without it the load fails as expected: ${out#dlopen failed: }"
ln -s "$tmp/fake/libcublas.so.13" "$tmp/naive/libcublas.so.12"
out=$(LD_LIBRARY_PATH="$tmp/naive" "$tmp/load_library" lazy "$jcublas2") && fail "loaded against a renamed libcublas.so.13?" \
  || pass "a renamed libcublas.so.13 fails as expected: ${out#dlopen failed: }"

jcuda_jar=$m2/org/jcuda/jcuda/$JCUDA_VERSION/jcuda-$JCUDA_VERSION.jar
jcublas_jar=$m2/org/jcuda/jcublas/$JCUDA_VERSION/jcublas-$JCUDA_VERSION.jar
if command -v javac >/dev/null && [ -f "$jcuda_jar" ] && [ -f "$jcublas_jar" ]; then
  echo "[selftest] Java -> JCublas2 -> library -> fake"
  cp="$jcuda_jar:$jcublas_jar:$natives_jar"
  javac -d "$tmp/java" --add-exports java.base/sun.nio.ch=ALL-UNNAMED -cp "$cp" "$here/selftest/JCublas2Probe.java" \
    >"$tmp/javac.log" 2>&1 || { cat "$tmp/javac.log" >&2; fail "compiling JCublas2Probe"; }
  out=$(LD_LIBRARY_PATH="$tmp/shim:$tmp/fake" java --add-exports java.base/sun.nio.ch=ALL-UNNAMED -Djava.io.tmpdir="$tmp" \
    -XX:ErrorFile="$tmp/hs_err_%p.log" -cp "$tmp/java:$cp" JCublas2Probe 2>"$tmp/java.err") \
    && pass "$out (JCublas2.cublasCreate / cublasGetVersion / cublasSgemm / missing cublasDgemm)" \
    || { echo "$out"; cat "$tmp/java.err" >&2; fail "JCublas2 from Java"; }
else
  echo "  skip  Java check (needs javac and the jcuda/jcublas jars in $m2)"
fi
echo "[selftest] cublas-compat: all checks passed"
