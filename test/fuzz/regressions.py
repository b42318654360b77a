"""The CI slice of the differential fuzzer (test/e2e/run_difffuzz.py).

CI_CASES: cases of the run seeded CI_SEED that pass on this code (chosen by
running `diff_fuzz.py --seed CI_SEED --cases N --log FILE` and keeping the
passing ones; every spelling, dtype and context occurs among them).

REGRESSIONS: the minimized reproducer of every finding (FINDINGS.md,
docs/DiffFuzz.md), as generator specs. An entry with "known" still fails on
this code, in that pass, with that class: it prints a KNOWN FAILURE line,
and the slice fails when it passes (the fix landed: drop "known"). An entry
without "known" must pass every pass.
"""

CI_SEED = 2026
CI_CASES = []

REGRESSIONS = []
