"""e2e difffuzz: the fixed-seed slice of the differential fuzzer.

Runs the CI cases of test/fuzz/diff_fuzz.py (CI_SEED, the indices in
test/fuzz/regressions.py that pass on this code) and every minimized
reproducer of test/fuzz/regressions.py: a fixed one must pass all its
passes, a known failure must still fail as listed (`KNOWN FAILURE:` lines;
one that passes now fails the suite, so that the list is kept honest).
Ends with `e2e difffuzz: N passed, N failed`. The long mode is
`test/fuzz/diff_fuzz.py --cases N --seed S` (docs/DiffFuzz.md).
"""
import argparse
import os
import sys
import time

FUZZ = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz")
sys.path.insert(0, FUZZ)
import diff_fuzz  # noqa: E402
import gen_models  # noqa: E402
import regressions  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="run only cases whose name contains this")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    # The fixed cases run in batches (diff_fuzz.run_batch), the regressions alone.
    items = [gen_models.random_spec(regressions.CI_SEED, i) for i in regressions.CI_CASES]
    for entry in regressions.REGRESSIONS:
        expect = None
        if entry.get("known"):
            known = entry["known"]
            expect = {label: (known["class"], f"{known['item']}: {known['reason']}")
                      for label in known["passes"]}
        items.append((entry["id"], entry["spec"], None, expect))
    items = [item for item in items
             if args.k in (item[0] if isinstance(item, tuple) else diff_fuzz.case_id(item))]
    start = time.time()
    tally = diff_fuzz.run_specs(items, args.jobs, args.verbose, batch=8)
    print(f"difffuzz: {tally.cases} cases in {time.time() - start:.0f} s, "
          f"{sum(tally.known.values())} known failures")
    print(f"e2e difffuzz: {tally.passed} passed, {len(tally.failed)} failed", flush=True)
    return 0 if not tally.failed else 1


if __name__ == "__main__":
    sys.exit(main())
