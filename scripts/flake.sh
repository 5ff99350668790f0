#!/usr/bin/env bash
# deno task flake: the core suite RUNS times in a row (default 5), pinned to one core with a
# CPU-bound process on the same core, so a test that leans on timing or on the machine being
# idle shows up here rather than on someone else's machine. Exits non-zero if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
core=${CORE:-0}
command -v taskset >/dev/null || { echo "flake: taskset (util-linux) is needed"; exit 2; }

taskset -c "$core" sh -c 'while :; do :; done' &
hog=$!
trap 'kill "$hog" 2>/dev/null' EXIT

failed=0
for i in $(seq 1 "$runs"); do
  log=$(mktemp)
  start=$(date +%s)
  NO_COLOR=1 taskset -c "$core" deno task test:core >"$log" 2>&1
  rc=$?
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
  echo "run $i/$runs: ${summary:-no summary} in $(($(date +%s) - start)) s (exit $rc)"
  if [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
    grep -E '^[^ ].* => |FAILED|AssertionError' "$log" | head -20
  fi
  rm -f "$log"
done
echo "flake: $((runs - failed)) of $runs runs passed on one core beside a busy process"
[ "$failed" -eq 0 ]
