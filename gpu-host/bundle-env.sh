# Sourced by run-on-gpu.sh and run-java.sh (not run on its own): the bundle's Java runtime, its
# options and class path. Needs $bundle (the unpacked bundle), $work (a scratch folder) and $out
# (where crash logs go) set by the caller.
java=$bundle/runtime/bin/java
# A copy that lost its file modes (some transfers do) still runs.
[ -x "$java" ] || chmod +x "$bundle"/runtime/bin/* "$bundle"/runtime/lib/jspawnhelper 2>/dev/null
java_opts=(--add-modules jdk.incubator.vector,jdk.incubator.foreign --enable-native-access=ALL-UNNAMED -Xss4m -Djava.io.tmpdir="$work"
           -XX:ErrorFile="$out/hs_err_pid%p.log")
shopt -s nullglob
class_dirs=("$bundle"/classes/*)
test_dirs=("$bundle"/test-classes/*)
jars=("$bundle"/lib/*.jar)
junit_jar=("$bundle"/lib/junit/junit-platform-console-standalone-*.jar)
shopt -u nullglob
join() { local IFS=:; echo "$*"; }
classpath=$(join "${test_dirs[@]}" "${class_dirs[@]}" "${jars[@]}")
has_class() { [ -f "$bundle/classes/$1/$(echo "$2" | tr . /).class" ]; }
