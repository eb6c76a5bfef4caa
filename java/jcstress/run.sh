#!/usr/bin/env bash
# Runs Ferry's jcstress tests (target/jcstress.jar, built by `mvn install`). Exits non-zero if any test
# failed (a FORBIDDEN outcome was observed) or errored (jcstress itself then ends with an AssertionError
# listing them), or if fewer results passed than were planned; prints the summary and whether the
# negative controls showed their forbidden-elsewhere outcomes.
#
#   java/jcstress/run.sh [jcstress options]      default options: -m quick -iters 1
#
# JAVA selects the java launcher (a JDK 22+; default: java on the PATH); FERRY_LIB the libferry.so the
# tests that run libferry's own code load (default: build/native/libferry.so, from make native). Output,
# the HTML report and the result blob go to java/jcstress/target/jcstress-run/. The negative controls
# SleepWakeWithoutFenceNegative and GoneVsStartWithoutFenceNegative are expected to show their
# ACCEPTABLE_INTERESTING outcomes; if one does not, this prints a warning (a short run may miss it) but
# does not fail. StopVsSleepWithoutFenceNegative must show its outcome: without it, this fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
jar=$here/target/jcstress.jar
java=${JAVA:-java}
if [ ! -f "$jar" ]; then
    echo "jcstress: $jar not found; build it first (mvn install)" >&2
    exit 2
fi
lib=${FERRY_LIB:-$here/../../build/native/libferry.so}
if [ ! -f "$lib" ]; then
    echo "jcstress: $lib not found; build it first (make native)" >&2
    exit 2
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
if [ $# -eq 0 ]; then
    set -- -m quick -iters 1
fi

out=$here/target/jcstress-run
rm -rf "$out"
mkdir -p "$out"
log=$out/output.txt
# The forked VMs load JNA (jcstress's CPU affinity) and libferry (TestEngine): allow native access there
# without the JDK's warning.
(cd "$out" && "$java" -jar "$jar" -jvmArgsPrepend "--enable-native-access=ALL-UNNAMED -Dferry.jcstress.lib=$lib" \
    -r report "$@") >"$log" 2>&1 \
    || { tail -50 "$log" >&2; echo "jcstress: FAILED (forbidden outcomes or errors above); see $log and $out/report/index.html" >&2; exit 1; }

summary=$(grep -E '^\(Results: ' "$log" | tail -1 || true)
echo "jcstress: ${summary:-no results line}"
fail=0
if ! grep -q '^  Failed tests: No matches\.' "$log"; then
    sed -n '/^  Failed tests:/,/^  Error tests:/p' "$log" | grep -E '^\S|^  Failed|\[FAILED\]|FORBIDDEN|Forbidden' >&2 || true
    echo "jcstress: FAILED tests (a forbidden outcome was observed); see $out/report/index.html" >&2
    fail=1
fi
if ! grep -q '^  Error tests: No matches\.' "$log"; then
    echo "jcstress: tests with errors; see $log" >&2
    fail=1
fi
if [[ $summary =~ ([0-9]+)\ planned\;\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ soft\ errs,\ ([0-9]+)\ hard\ errs ]]; then
    if [ "${BASH_REMATCH[1]}" != "${BASH_REMATCH[2]}" ] || [ "${BASH_REMATCH[1]}" = 0 ]; then
        echo "jcstress: ${BASH_REMATCH[2]} of ${BASH_REMATCH[1]} planned results passed" >&2
        fail=1
    fi
else
    echo "jcstress: no results summary in $log" >&2
    fail=1
fi
if grep -q 'No scheduling is possible' "$log"; then
    echo "jcstress: note: tests with more actors than CPUs were skipped (ClaimClaimClose needs 3 CPUs)"
fi
# Negative controls: each should show its ACCEPTABLE_INTERESTING outcome (absence only warns). Looked
# up in the summary at the end ("Interesting tests:" up to "Failed tests:"), not the per-fork tables.
#   negative <test> <result id, two values> <what the outcome is> [required]
negative() {
    local a=${2%%,*} b=${2#*, } seen
    seen=$(sed -n '/^  Interesting tests:/,/^  Failed tests:/p' "$log" \
        | sed -n "/$1/,\$p" \
        | awk -v a="$a," -v b="$b" '$1 == a && $2 == b && /Interesting/ { print $3 " samples (" $4 ")"; exit }')
    if [ -n "$seen" ]; then
        echo "jcstress: negative control $1 showed $3: $seen"
    elif [ "${4:-}" = required ]; then
        echo "jcstress: FAILED: the negative control $1 did not show $3: its test could not fail" >&2
        fail=1
    else
        echo "jcstress: warning: the negative control $1 did not show $3 in this run" >&2
    fi
}
negative SleepWakeWithoutFenceNegative "0, 0" "the lost wake-up"
negative GoneVsStartWithoutFenceNegative "1, 1" "a call told skipped that ran"
negative StopVsSleepWithoutFenceNegative "1, 1" "the lost stop" required
exit $fail
