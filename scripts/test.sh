#!/usr/bin/env bash
# scripts/test.sh: sets up and builds norm-opt, then runs every test suite:
#   lit      the IR tests (test/**/*.mlir, *.onnxtxt, *.test) with FileCheck
#   e2e      test/e2e: the libonnx-testdata norm tests and the torch-exported
#            models, with onnxruntime (npm) as the oracle; run_hostile.py,
#            the generated hostile inputs
#   fuzz     a short slice of the libFuzzer harnesses (fuzz/run.sh, ASan +
#            UBSan; NORM_OPT_FUZZ_SECONDS per harness, default 20, 0 skips;
#            the long mode is in docs/Fuzzing.md)
# and ends with one line `N passed, N failed` (the sum over all suites).
# Exits non-zero if anything failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3
LIT=/usr/lib/llvm-22/bin/lit

passed=0
failed=0
summary=()
add() {  # add SUITE PASSED FAILED
  passed=$((passed + $2))
  failed=$((failed + $3))
  summary+=("$1: $2 passed, $3 failed")
}
add_from_log() {  # add_from_log LOG LABEL-SUFFIX: adds its last `NAME: N passed, N failed`
  local line p f
  line=$(grep -E '^(e2e [a-z]+|fuzz): [0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
  [[ -n "$line" ]] || return 1
  read -r p f < <(sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line")
  add "${line%%:*} ($2)" "$p" "$f"
}

start=$SECONDS
if ! scripts/setup.sh; then
  echo "test: set-up or build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
echo "test: set-up and build took $((SECONDS - start)) s"

# lit, with its results as JSON (XFAIL counts as passed; UNSUPPORTED is
# neither and is listed).
start=$SECONDS
results="$ROOT/build/lit-results.json"
rm -f "$results"
"$LIT" -sv --no-progress-bar build/test -o "$results"
if [[ -f "$results" ]]; then
  read -r lp lf lu < <("$PY" - "$results" <<'PY'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
ok = sum(t["code"] in ("PASS", "XFAIL") for t in tests)
unsupported = [t["name"] for t in tests if t["code"] == "UNSUPPORTED"]
for name in unsupported:
    print(f"test: lit: unsupported here: {name}", file=sys.stderr)
print(ok, len(tests) - ok - len(unsupported), len(unsupported))
PY
  )
  add "lit ($((SECONDS - start)) s, ${lu} unsupported)" "$lp" "$lf"
else
  echo "test: lit produced no results" >&2
  add lit 0 1
fi

# The end-to-end drivers each close with `e2e NAME: N passed, N failed`.
for path in test/e2e/run_*.py; do
  driver=$(basename "$path")
  start=$SECONDS
  log="$ROOT/build/e2e-${driver%.py}.log"
  "$PY" "test/e2e/$driver" 2>&1 | tee "$log"
  if ! add_from_log "$log" "$((SECONDS - start)) s"; then
    echo "test: $driver ended without a summary (crashed?)" >&2
    add "e2e $driver" 0 1
  fi
done

# A short fuzzing slice: each harness on the generated seeds (the first run
# also compiles the sanitizer build in build-fuzz/, ccache-backed).
fuzz_seconds=${NORM_OPT_FUZZ_SECONDS:-20}
if ((fuzz_seconds > 0)); then
  start=$SECONDS
  log="$ROOT/build/fuzz.log"
  fuzz/run.sh "$fuzz_seconds" 2>&1 | tee "$log"
  if ! add_from_log "$log" "$((SECONDS - start)) s, ${fuzz_seconds} s each"; then
    echo "test: fuzz/run.sh ended without a summary (build failed?)" >&2
    add fuzz 0 1
  fi
fi

echo
for line in "${summary[@]}"; do echo "  $line"; done
echo "$passed passed, $failed failed"
((failed == 0))
