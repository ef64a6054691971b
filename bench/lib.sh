# Shared by the bench scripts: a JDK, the compiled test classes and their classpath.
find_jdk() {
  local c v
  for c in ${JAVA_HOME:-} /usr/lib/jvm/*; do
    [[ -n "$c" && -r "$c/release" && -x "$c/bin/javac" ]] || continue
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$c/release")
    if [[ -n "$v" && "$v" -ge 21 ]]; then echo "$c"; return 0; fi
  done
  echo "no JDK 21+ found" >&2; return 1
}

bench_java() {
  export JAVA_HOME=$(find_jdk)
  ./mvnw -q -B -ntp test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath >&2
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
    -cp "target/test-classes:target/classes:$(cat target/bench.classpath)" "$@"
}
