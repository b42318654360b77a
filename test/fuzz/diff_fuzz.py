"""diff_fuzz: differential fuzzing of norm-opt's rewrites against onnxruntime.

Each case is a small model from gen_models.py (one norm spelling in one
exporter context). norm-opt runs on it with no pass (a round trip), with
every pass alone and with --norm-optimize; onnxruntime runs the original
and every result on the same inputs. A run fails, in one of these classes:

  crash                 norm-opt died (signal, assertion, LLVM ERROR, timeout)
  rejected-valid-model  norm-opt exited with an error on a model onnxruntime runs
  invalid-output        onnxruntime cannot load or run norm-opt's output
  wrong-numbers         outputs differ: rel. error > 1e-5 (fp32), or above the
                        16-bit bound (docs/DiffFuzz.md); a round trip must be
                        bit-exact
  roundtrip-changed     a round trip changed the graph (nodes, attributes,
                        names, initializers, inputs or outputs)
  refusal-without-reason  a refused record with no reason, or a pass that left a
                        norm of its kind without any record

    diff_fuzz.py --cases N --seed S [-j J]     the long mode
    diff_fuzz.py --ci                          the fixed slice scripts/test.sh runs
    diff_fuzz.py --spec '{...}'                one case from its spec (JSON)

Known failures (KNOWN_FAILURES) are reported as `KNOWN FAILURE:` lines and
do not count as failed; one that no longer fails counts as failed (the list
must be updated). docs/DiffFuzz.md has the findings.
"""
import argparse
import collections
import concurrent.futures
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import onnx

FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(FUZZ_DIR))
sys.path.insert(0, FUZZ_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, "python"))
import gen_models  # noqa: E402
from norm_opt.runtime import ORT_RUN, check_onnxruntime, find_node_modules  # noqa: E402
from norm_opt.verify import rel_err  # noqa: E402

# (label, norm-opt flags, the norm kinds the pass must leave a record on)
PASSES = (
    ("roundtrip", [], ()),
    ("fold-weights", ["--norm-fold-weights"],
     ("layer_norm", "rms_norm", "skip_layer_norm", "skip_rms_norm")),
    ("pre-ln-to-rms", ["--norm-pre-ln-to-rms"], ("layer_norm",)),
    ("pre-ln-to-rms-compress", ["--norm-pre-ln-to-rms=compress=1"], ("layer_norm",)),
    ("fold-batchnorm", ["--norm-fold-batchnorm"], ("batch_norm",)),
    ("defer-scale", ["--norm-defer-scale"], ("rms_norm", "skip_rms_norm")),
    ("optimize", ["--norm-optimize"], ()),
)
CLASSES = ("crash", "rejected-valid-model", "invalid-output", "wrong-numbers",
           "roundtrip-changed", "refusal-without-reason")

FP32_TOLERANCE = 1e-5
# 16-bit: unit roundoffs; the bound is explained in docs/DiffFuzz.md.
UNIT_ROUNDOFF = {"float16": 2.0 ** -11, "bfloat16": 2.0 ** -8}
CRASH_MARKERS = ("Stack dump", "LLVM ERROR", "Assertion", "PLEASE submit a bug report",
                 "Segmentation fault", "terminate called")


# The passes that act on each family of spellings (the others leave its norm
# alone, so they are a round trip for it).
RELEVANT = {
    "ln": ("roundtrip", "fold-weights", "pre-ln-to-rms", "pre-ln-to-rms-compress", "optimize"),
    "rms": ("roundtrip", "fold-weights", "defer-scale", "optimize"),
    "bn": ("roundtrip", "fold-batchnorm", "optimize"),
}
ALL_PASSES = False  # --all-passes


def applicable_passes(spec):
    """Pass labels run on a spec: with --all-passes every pass (the
    CRMSNorm mode only where there is a LayerNorm spelling), else those that
    act on its norm's family (RELEVANT), the round trip and --norm-optimize."""
    spelling = spec["spelling"]
    family = ("ln" if spelling in gen_models.LN_SPELLINGS else
              "bn" if spelling in gen_models.BN_SPELLINGS else "rms")
    labels = [p[0] for p in PASSES]
    if family != "ln":
        labels.remove("pre-ln-to-rms-compress")
    return labels if ALL_PASSES else [l for l in labels if l in RELEVANT[family]]


# --- onnxruntime worker -----------------------------------------------------------------


class OrtWorker:
    """One long-lived `node ort_run.js --serve`: loads onnxruntime once, then
    runs one model per request. Restarted if it dies."""

    def __init__(self):
        self.proc = None
        self.env = dict(os.environ)
        modules = find_node_modules()
        if modules:
            self.env["ORT_NODE_MODULES"] = os.path.abspath(modules)

    def _start(self):
        self.proc = subprocess.Popen(["node", ORT_RUN, "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=self.env, bufsize=1)

    def run(self, model, feeds, out_dir):
        """(outputs [(name, array)], None) or (None, error)."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        os.makedirs(out_dir, exist_ok=True)
        files = {}
        for i, (name, value) in enumerate(feeds.items()):
            path = os.path.join(out_dir, f"input_{i}.npy")
            np.save(path, np.ascontiguousarray(value))
            files[name] = path
        job = {"model": os.path.abspath(model), "inputs": files, "out_dir": out_dir}
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            self.close()
            return None, "onnxruntime worker died"
        answer = json.loads(line)
        if not answer["ok"]:
            return None, f"onnxruntime: {answer['error'][:400]}"
        with open(os.path.join(out_dir, "outputs.json")) as f:
            listing = json.load(f)
        return [(o["name"], np.load(os.path.join(out_dir, o["file"]))) for o in listing], None

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
            self.proc = None


# --- comparing graphs ------------------------------------------------------------------


def canonical_attribute(attr):
    if attr.type == onnx.AttributeProto.GRAPH:
        return (attr.name, canonical_graph(attr.g))
    if attr.type == onnx.AttributeProto.TENSOR:
        return (attr.name, canonical_tensor(attr.t))
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, list):
        value = tuple(value)
    return (attr.name, value)


def canonical_tensor(tensor):
    array = onnx.numpy_helper.to_array(tensor)
    return (tensor.data_type, tuple(array.shape), array.tobytes())


def canonical_graph(graph):
    """What a faithful round trip keeps: nodes (as a multiset: order may be
    fixed), their names, attributes and wiring, initializers, graph inputs
    and outputs."""
    nodes = collections.Counter(
        (n.domain, n.op_type, n.name, tuple(n.input), tuple(n.output),
         tuple(sorted(canonical_attribute(a) for a in n.attribute)))
        for n in graph.node)
    inits = {t.name: canonical_tensor(t) for t in graph.initializer}
    ios = (tuple(i.name for i in graph.input), tuple(o.name for o in graph.output))
    return (tuple(sorted(nodes.items())), tuple(sorted(inits.items())), ios)


def graph_difference(original, result):
    """None if the graphs are the same (canonical_graph), else what differs."""
    a, b = original.graph, result.graph
    if canonical_graph(a) == canonical_graph(b):
        return None
    ops_a = collections.Counter(n.op_type for n in a.node)
    ops_b = collections.Counter(n.op_type for n in b.node)
    if ops_a != ops_b:
        delta = {k: ops_b[k] - ops_a[k] for k in set(ops_a) | set(ops_b) if ops_a[k] != ops_b[k]}
        return "op histogram changed: " + ", ".join(f"{k}{v:+d}" for k, v in sorted(delta.items()))
    nodes_a = {(n.name, n.op_type): n for n in a.node}
    for n in b.node:
        m = nodes_a.get((n.name, n.op_type))
        if m is None:
            return f"node '{n.name}' ({n.op_type}) is new or renamed"
        if list(m.input) != list(n.input) or list(m.output) != list(n.output):
            return f"node '{n.name}' ({n.op_type}) rewired"
        if sorted(canonical_attribute(x) for x in m.attribute) != sorted(
                canonical_attribute(x) for x in n.attribute):
            return f"node '{n.name}' ({n.op_type}) attributes changed"
    init_a = {t.name: canonical_tensor(t) for t in a.initializer}
    init_b = {t.name: canonical_tensor(t) for t in b.initializer}
    if set(init_a) != set(init_b):
        gone, new = sorted(set(init_a) - set(init_b)), sorted(set(init_b) - set(init_a))
        return f"initializers changed (removed {gone[:3]}, added {new[:3]})"
    for name in init_a:
        if init_a[name] != init_b[name]:
            return f"initializer '{name}' changed"
    return "graph inputs or outputs changed"


# --- one case -------------------------------------------------------------------------------


class Run:
    """The outcome of one norm-opt invocation on a case."""

    def __init__(self, label, cls=None, detail=""):
        self.label, self.cls, self.detail = label, cls, detail

    def __repr__(self):
        return f"{self.label}: {self.cls or 'ok'} {self.detail}"


def compare_outputs(got, ref, exact, bound):
    """A problem string or None; bound(name, ours) -> the allowed rel. err."""
    if [n for n, _ in got] != [n for n, _ in ref]:
        return f"output names {[n for n, _ in got]} != {[n for n, _ in ref]}"
    worst = 0.0
    for (name, a), (_, e) in zip(got, ref):
        if a.shape != e.shape:
            return f"output '{name}' shape {list(a.shape)} != {list(e.shape)}"
        if exact or not np.issubdtype(e.dtype, np.floating):
            if a.dtype != e.dtype or not np.array_equal(a, e, equal_nan=True):
                return f"output '{name}' not bit-identical (rel err {rel_err(a, e):.2e})"
            continue
        err = rel_err(a, e)
        if math.isnan(err) and not np.isnan(e).any():
            return f"output '{name}' has NaN"
        limit = bound(name, a)
        if not err <= limit:
            return f"output '{name}' rel err {err:.2e} > {limit:.2e}"
        worst = max(worst, err)
    return None


def check_report(report, label, kinds):
    """refusal-without-reason problems of a norm-opt report."""
    pass_name = dict((p[0], p[1][0].lstrip("-").split("=")[0]) for p in PASSES if p[1])
    for norm in report.get("norms", []):
        for record in norm.get("history", []):
            if record.get("action") == "refused" and not record.get("reason", "").strip():
                return f"norm '{norm.get('name')}': {record.get('pass')} refused without a reason"
        if norm.get("kind") in kinds:
            passes = {r.get("pass") for r in norm.get("history", [])}
            recognized = any(r.get("action") == "recognized" for r in norm.get("history", []))
            if recognized and pass_name[label] not in passes:
                return (f"norm '{norm.get('name')}' ({norm.get('kind')}): {pass_name[label]} "
                        "left no record (neither done nor refused with a reason)")
    return None


def run_case(spec, work, ort, norm_opt, labels=None):
    """Runs every applicable pass (or those of `labels`) on `spec` in `work`;
    returns (runs, setup error or None). Each Run has cls None when it
    passed."""
    model, feeds = gen_models.build(spec)
    dtype = gen_models.normalized_spec(spec)["dtype"]
    twin = gen_models.build(spec, twin=True) if dtype != "float32" else None
    labels = [l for l in applicable_passes(spec) if labels is None or l in labels]
    return run_model(model, feeds, twin, dtype, work, ort, norm_opt, labels)


def run_model(model, feeds, twin, dtype, work, ort, norm_opt, labels):
    """run_case on a given model, its feeds and (for 16-bit models) its
    float32 twin (model, feeds)."""
    os.makedirs(work, exist_ok=True)
    original = os.path.join(work, "model.onnx")
    onnx.save(model, original)
    ref, error = ort.run(original, feeds, os.path.join(work, "ort_model"))
    if error:
        return [], f"the generated model does not run: {error}"
    twin_ref = None
    if twin is not None:
        twin_model, twin_feeds = twin
        twin = os.path.join(work, "twin.onnx")
        onnx.save(twin_model, twin)
        twin_ref, error = ort.run(twin, twin_feeds, os.path.join(work, "ort_twin"))
        if error:
            return [], f"the float32 twin does not run: {error}"
    twin_outputs = dict(twin_ref or [])
    ref_outputs = dict(ref)

    def bound(name, ours):
        if twin_ref is None:
            return FP32_TOLERANCE
        # 16-bit: the rewrite may not be farther from the float32 twin than
        # the original is, plus a few roundings (docs/DiffFuzz.md); expressed
        # as a bound on the distance to the original.
        u = UNIT_ROUNDOFF[dtype]
        base = rel_err(ref_outputs[name], twin_outputs[name])
        return max(FP32_TOLERANCE, 3 * base + 8 * u)

    runs = []
    for label, flags, kinds in PASSES:
        if label not in labels:
            continue
        out = os.path.join(work, f"{label}.onnx")
        report_path = os.path.join(work, f"{label}.json")
        command = [norm_opt, original, "-o", out, "--report", report_path] + flags
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            runs.append(Run(label, "crash", "timed out after 120 s"))
            continue
        stderr = proc.stderr.strip()
        if proc.returncode < 0 or any(m in stderr for m in CRASH_MARKERS):
            first = next((l for l in stderr.splitlines() if any(m in l for m in CRASH_MARKERS)),
                         stderr[:200])
            runs.append(Run(label, "crash", f"exit {proc.returncode}: {first[:300]}"))
            continue
        if proc.returncode != 0:
            left = " (and left an output file)" if os.path.exists(out) else ""
            runs.append(Run(label, "rejected-valid-model",
                            stderr.splitlines()[0][:300] + left if stderr else
                            f"exit {proc.returncode}"))
            continue
        got, error = ort.run(out, feeds, os.path.join(work, f"ort_{label}"))
        if error:
            runs.append(Run(label, "invalid-output", error))
            continue
        problem = compare_outputs(got, ref, exact=(label == "roundtrip"), bound=bound)
        if problem:
            runs.append(Run(label, "wrong-numbers", problem))
            continue
        if label == "roundtrip":
            diff = graph_difference(model, onnx.load(out))
            if diff:
                runs.append(Run(label, "roundtrip-changed", diff))
                continue
        with open(report_path) as f:
            report = json.load(f)
        problem = check_report(report, label, kinds)
        if problem:
            runs.append(Run(label, "refusal-without-reason", problem))
            continue
        runs.append(Run(label))
    return runs, None


# --- the driver -----------------------------------------------------------------------------


def case_id(spec):
    seed, index = spec["seed"]
    return f"s{seed}-{index}"


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.cases = 0
        self.passed = 0
        self.failed = []  # (case, label, cls, detail)
        self.known = collections.Counter()
        self.by_class = collections.Counter()
        self.setup_errors = 0
        self.log = None

    def record(self, spec, runs, setup_error, verbose, expect=None, name=None):
        """Prints and counts one case. `expect` maps a pass label to the
        (class, reason) of a known failure: such a run is a `KNOWN FAILURE`
        line when it fails that way, and a failure when it does not."""
        cid = name or case_id(spec)
        desc = gen_models.describe(spec)
        expect = expect or {}
        lines, failed = [], False
        if setup_error:
            failed = True
            self.setup_errors += 1
            lines.append(f"FAIL: difffuzz/{cid}: generator: {setup_error} [{desc}]")
        for run in runs:
            known = expect.get(run.label)
            if known and run.cls == known[0]:
                lines.append(f"KNOWN FAILURE: difffuzz/{cid}/{run.label}: {run.cls}: "
                             f"{run.detail} -- {known[1]}")
                self.known[cid] += 1
            elif known:
                failed = True
                what = ("passes now: update the known failures" if run.cls is None
                        else f"fails as {run.cls} ({run.detail})")
                lines.append(f"FAIL: difffuzz/{cid}/{run.label}: known failure "
                             f"(expected {known[0]}) {what} [{desc}]")
                self.by_class[run.cls or "known-failure-passes"] += 1
            elif run.cls:
                failed = True
                lines.append(f"FAIL: difffuzz/{cid}/{run.label}: {run.cls}: {run.detail} "
                             f"[{desc}]")
                self.by_class[run.cls] += 1
        with self.lock:
            self.cases += 1
            if failed:
                self.failed.append(cid)
            else:
                self.passed += 1
                if verbose:
                    lines.append(f"PASS: difffuzz/{cid} ({len(runs)} runs) [{desc}]")
            for line in lines:
                print(line, flush=True)
            if self.log:
                self.log.write(json.dumps({
                    "case": cid, "spec": spec, "setup_error": setup_error,
                    "runs": [{"pass": r.label, "class": r.cls, "detail": r.detail}
                             for r in runs]}) + "\n")
                self.log.flush()


def run_specs(specs, jobs, verbose, keep=None, log=None):
    """Runs the cases `specs`: specs, or (name, spec, labels or None, expect)
    tuples (see Tally.record); returns the Tally."""
    norm_opt = os.environ.get("NORM_OPT") or os.path.join(REPO_ROOT, "build", "bin", "norm-opt")
    if not os.access(norm_opt, os.X_OK):
        sys.exit(f"difffuzz: norm-opt not found at {norm_opt} (build it, or set NORM_OPT)")
    check_onnxruntime()
    tally = Tally()
    tally.log = open(log, "a") if log else None
    root = keep or tempfile.mkdtemp(prefix="norm-opt-difffuzz-")
    workers = [OrtWorker() for _ in range(jobs)]
    free = list(workers)
    free_lock = threading.Lock()

    def one(item):
        name, spec, labels, expect = item if isinstance(item, tuple) else (
            case_id(item), item, None, None)
        with free_lock:
            ort = free.pop()
        work = os.path.join(root, name)
        try:
            try:
                runs, error = run_case(spec, work, ort, norm_opt, labels)
            except Exception as e:  # a generator bug must not stop the run
                runs, error = [], f"{type(e).__name__}: {e}"
            tally.record(spec, runs, error, verbose, expect, name)
            if not keep and not any(r.cls for r in runs) and not error:
                shutil.rmtree(work, ignore_errors=True)
        finally:
            with free_lock:
                free.append(ort)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for _ in pool.map(one, specs):
                pass
    finally:
        for w in workers:
            w.close()
        if tally.log:
            tally.log.close()
    if not keep:
        print(f"difffuzz: failing cases are kept under {root}" if tally.failed else "",
              end="\n" if tally.failed else "")
        if not tally.failed:
            shutil.rmtree(root, ignore_errors=True)
    return tally


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="number of cases")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="cases run in parallel")
    parser.add_argument("--spec", help="run one case given as a JSON spec")
    parser.add_argument("--keep", help="keep every case's files under this folder")
    parser.add_argument("--log", help="append one JSON line per case to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    parser.add_argument("--all-passes", action="store_true",
                        help="run every pass on every case, not only those acting on its norm")
    args = parser.parse_args()
    global ALL_PASSES
    ALL_PASSES = args.all_passes
    if args.spec:
        specs = [json.loads(args.spec)]
    else:
        specs = [gen_models.random_spec(args.seed, i)
                 for i in range(args.start, args.start + args.cases)]
    start = time.time()
    tally = run_specs(specs, args.jobs, args.verbose, args.keep, args.log)
    print(f"difffuzz: {tally.cases} cases in {time.time() - start:.0f} s; failures by class: "
          + (", ".join(f"{k}={v}" for k, v in sorted(tally.by_class.items())) or "none")
          + "; known failures: "
          + (", ".join(f"{k}={v}" for k, v in sorted(tally.known.items())) or "none"))
    print(f"e2e difffuzz: {tally.passed} passed, {len(tally.failed)} failed", flush=True)
    return 0 if not tally.failed else 1


if __name__ == "__main__":
    sys.exit(main())
