#!/usr/bin/env bash
# SQLite from many Java threads: Ferry against sqlite-jdbc (xerial) and a direct, locked FFM call
# (io.ferry.bench.sqlite.SqliteBench; the method is described there and in SQLITE.md).
#
#   bench/sqlite-bench.sh           full run, ~8 min on 2 vCPUs: writes bench/SQLITE.md and
#                                   bench/results/sqlite-full.json
#   bench/sqlite-bench.sh --quick   quick run, under 2 min: bench/results/sqlite-quick.json, table on stdout
#
# Extra arguments go to SqliteBench (--rounds N, --slice S, --only TEXT, --configs a,b, --wait-quiet S, ...).
# Needs bench/target/benchmarks.jar: run `make java` at the root first (JAR=/path/to/benchmarks.jar to run
# a copy, e.g. while the build may rewrite target/). JAVA=/path/to/bin/java picks the JDK (22 or newer); by
# default $JAVA_HOME, else the newest JDK >= 22 under /usr/lib/jvm. Waits up to 120 s for other processes
# to go quiet first, and runs again any round they disturbed: the numbers mean little on a busy machine.
set -euo pipefail
cd "$(dirname "$0")"

jdk_ok() { [ -x "$1/bin/java" ] && v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 |
  sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p') && [ -n "$v" ] && [ "$v" -ge 22 ]; }
if [ -z "${JAVA:-}" ]; then
  if [ -n "${JAVA_HOME:-}" ] && jdk_ok "$JAVA_HOME"; then JAVA="$JAVA_HOME/bin/java"; else
    for d in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sed 's:/$::' | sort -V -r); do
      if jdk_ok "$d"; then JAVA="$d/bin/java"; break; fi
    done
  fi
fi
[ -n "${JAVA:-}" ] || { echo "error: no JDK 22 or newer found; set JAVA=/path/to/bin/java" >&2; exit 1; }
JAR=${JAR:-target/benchmarks.jar}
[ -f "$JAR" ] || { echo "error: $JAR is missing; build it first with 'make java' at the root" >&2; exit 1; }

mode=full
args=()
for a in "$@"; do [ "$a" = --quick ] && mode=quick; args+=("$a"); done
mkdir -p results
if [ "$mode" = quick ]; then
  out=(--json results/sqlite-quick.json)
else
  out=(--md SQLITE.md --json results/sqlite-full.json)
fi
jvm=(--enable-native-access=ALL-UNNAMED -Xms1g -Xmx1g)
case "$JAR" in /*) shown="$JAR" ;; *) shown="bench/$JAR" ;; esac
cmd="bench/sqlite-bench.sh${*:+ $*}, i.e. java ${jvm[*]} -cp $shown io.ferry.bench.sqlite.SqliteBench${*:+ $*}"
"$JAVA" "${jvm[@]}" -cp "$JAR" io.ferry.bench.sqlite.SqliteBench "${args[@]}" "${out[@]}" --command "$cmd"

# Cross-check the pinning counts with the JDK's own jfr tool.
JFR="$(dirname "$JAVA")/jfr"
if [ -x "$JFR" ]; then
  echo "jfr print --events jdk.VirtualThreadPinned, per recording:"
  for f in target/sqlite-jfr/pinned-*.jfr; do
    [ -f "$f" ] || continue
    printf '  %-48s %s events\n' "$f" "$("$JFR" print --events jdk.VirtualThreadPinned "$f" | grep -c '^jdk.VirtualThreadPinned' || true)"
  done
fi
