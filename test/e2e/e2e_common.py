"""Shared helpers of the end-to-end drivers: running norm-opt and onnxruntime,
reading tensors, comparing outputs, and reporting one line per case.

onnxruntime runs through the norm_opt package's runner (python/norm_opt:
OrtBatch, ort_run.js) and errors are measured with its rel_err, so that the
tests and the package's verify() measure the same thing the same way.

Run with Debian's /usr/bin/python3 (numpy, onnx, torch).
"""
import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import onnx
from onnx import numpy_helper

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(E2E_DIR))
sys.path.insert(0, os.path.join(REPO_ROOT, "python"))
from norm_opt.errors import RuntimeUnavailableError  # noqa: E402
# OrtBatch and ORT_RUN (python/norm_opt/ort_run.js) are re-exported for the
# drivers and benchmarks.
from norm_opt.runtime import ORT_RUN, OrtBatch, check_onnxruntime, find_node_modules  # noqa: E402,F401
from norm_opt.verify import rel_err  # noqa: E402,F401 (re-exported)

# ort_run.js and benchmarks/ort_latency.js load onnxruntime-node from
# $ORT_NODE_MODULES: point the scripts the drivers and benchmarks start at the
# same folder the package uses (by default this checkout's test/e2e/node_modules).
if find_node_modules():
    os.environ.setdefault("ORT_NODE_MODULES", find_node_modules())


def norm_opt_path():
    """norm-opt from $NORM_OPT, else the build tree (build/bin/norm-opt)."""
    path = os.environ.get("NORM_OPT") or os.path.join(REPO_ROOT, "build", "bin", "norm-opt")
    if not os.access(path, os.X_OK):
        sys.exit(f"e2e: norm-opt not found at {path} (build it, or set NORM_OPT)")
    return path


def run_norm_opt(args, timeout=300):
    """Runs norm-opt with `args`; returns the CompletedProcess."""
    return subprocess.run([norm_opt_path()] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def optimize(model_path, out_path, report_path, extra=()):
    """`norm-opt model -o out --report report`; returns (report dict or None, error)."""
    proc = run_norm_opt([model_path, "-o", out_path, "--report", report_path, *extra])
    if proc.returncode != 0:
        return None, f"norm-opt exited {proc.returncode}: {proc.stderr.strip()[:500]}"
    with open(report_path) as f:
        return json.load(f), None


def norm_counts(report):
    counts = report.get("counts", {})
    return {k: counts.get(k, 0) for k in
            ("layer_norm", "rms_norm", "batch_norm", "skip_layer_norm", "skip_rms_norm")}


# --- onnxruntime through Node: norm_opt.runtime.OrtBatch ------------------------

def latency_arguments(doc, layers, d, heads, vocab):
    """A latency benchmark's command line: the model size (--layers, --d,
    --heads, --vocab, with these defaults) and the timing (--batch 4, --seq
    128, --runs 50, at least 30, --threads 1). Returns the parser, to add to;
    check_runs(args) after parsing."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in (("layers", layers), ("d", d), ("heads", heads), ("vocab", vocab),
                          ("batch", 4), ("seq", 128), ("runs", 50), ("threads", 1)):
        parser.add_argument("--" + name, type=int, default=default)
    return parser


def check_runs(parser, args):
    if args.runs < 30:
        parser.error("--runs must be at least 30 (a median of fewer runs is noise here)")


# The op types onnxruntime runs normalization as, once it has fused the
# chains (and the parts of an unfused one), for the benchmarks' profiles.
NORM_KERNEL_OPS = ("LayerNormalization", "SimplifiedLayerNormalization",
                   "SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
                   "RMSNormalization", "ReduceMean", "Pow")


def ort_latency(models, inputs, runs, threads=1, opt_dir=None, profile_ops=None):
    """Times `models` in one onnxruntime process with benchmarks/ort_latency.js
    (interleaved run by run, after warm-up runs); `inputs` are its
    `name:type:dims:bound` specs. Returns {model: {"median_ms", "runs_ms"}},
    with "profiled_share" of the kernel time spent in `profile_ops` when
    given."""
    command = ["node", os.path.join(REPO_ROOT, "benchmarks", "ort_latency.js"),
               "--runs", str(runs), "--threads", str(threads)]
    for spec in inputs:
        command += ["--input", spec]
    if opt_dir:
        command += ["--opt-dir", opt_dir]
    if profile_ops:
        command += ["--profile-ops", ",".join(profile_ops)]
    proc = subprocess.run(command + list(models), capture_output=True, text=True, cwd=E2E_DIR)
    if proc.returncode != 0:
        sys.exit(f"timing failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def check_and_time(work, original, rewritten, feeds, input_specs, runs, threads, profile_ops):
    """A latency benchmark's measurement of `rewritten` against `original`:
    the worst relative error of its outputs on `feeds` ({name: array}), then
    both timed in one onnxruntime process (ort_latency, profiling
    `profile_ops`). Returns (error, times as ort_latency gives them,
    kernels), where kernels(path) lists the `profile_ops` nodes of the graph
    onnxruntime optimized `path` into, e.g. "LayerNormalization 4"."""
    batch = OrtBatch(work)
    batch.add(original, feeds)
    batch.add(rewritten, feeds)
    (ref, e1), (out, e2) = batch.run()
    if e1 or e2:
        sys.exit(f"onnxruntime failed: {e1 or e2}")
    err = worst_rel_err(out, ref)
    opt_dir = os.path.join(work, "ort-opt")
    os.makedirs(opt_dir, exist_ok=True)
    times = ort_latency([original, rewritten], input_specs, runs, threads, opt_dir,
                        profile_ops=profile_ops)

    def kernels(path):
        name = os.path.basename(path)[:-len(".onnx")] + ".ort-opt.onnx"
        graph = onnx.load(os.path.join(opt_dir, name), load_external_data=False).graph
        found = collections.Counter(n.op_type for n in graph.node if n.op_type in profile_ops)
        return ", ".join(f"{k} {v}" for k, v in sorted(found.items())) or "none"

    return err, times, kernels


def check_ort_available():
    try:
        check_onnxruntime()
    except RuntimeUnavailableError as e:
        sys.exit(f"e2e: {e}")


# --- tensors and comparisons -------------------------------------------------

def load_pb(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor.name, numpy_helper.to_array(tensor)


TESTDATA = "/usr/share/libonnx-testdata/data"
BATCHNORM_TESTS = ("node/test_batchnorm_*", "pytorch-converted/test_BatchNorm*")


def testdata_dirs(data, *patterns):
    """The test directories of libonnx-testdata matching `patterns`, sorted."""
    dirs = sorted(d for p in patterns for d in glob.glob(os.path.join(data, p)))
    if not dirs:
        sys.exit(f"e2e: no {', '.join(patterns)} tests under {data} (install libonnx-testdata)")
    return dirs


def load_data_set(model, data_dir):
    """({input name: array}, [reference outputs (name, array)]) of one
    test_data_set_* directory of `model`; unnamed inputs take the names of
    the model's graph inputs that are no initializers, in order."""
    graph_inputs = [i.name for i in model.graph.input
                    if i.name not in {t.name for t in model.graph.initializer}]

    def numbered(pattern):
        return sorted(glob.glob(os.path.join(data_dir, pattern)),
                      key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
    inputs = {}
    for i, path in enumerate(numbered("input_*.pb")):
        name, value = load_pb(path)
        inputs[name or graph_inputs[i]] = value
    return inputs, [load_pb(path) for path in numbered("output_*.pb")]


def worst_rel_err(outputs, references):
    """The largest rel_err over paired OrtBatch output lists [(name, array)]."""
    return max(rel_err(got, ref) for (_, got), (_, ref) in zip(outputs, references))


def check_model(path):
    """onnx.checker with full checking; returns an error string or None."""
    try:
        onnx.checker.check_model(path, full_check=True)
    except Exception as e:  # checker raises several exception types
        return f"onnx.checker: {str(e).strip().splitlines()[0][:300]}"
    return None


# --- graphs ------------------------------------------------------------------

MLIR_OP = re.compile(r'=\s*(onnx|norm)\.(\w+)(?:\s+"([^"]+)")?')
NOT_NODES = {"initializer", "none", "yield"}


def strip_original_spellings(text):
    """The MLIR text without the `original { ... }` regions in which
    recognized norms keep the nodes they replaced (they are not in the graph
    while the norm op is)."""
    kept, depth = [], 0
    for line in text.splitlines():
        if depth:
            depth += line.count("{") - line.count("}")
            continue
        if line.rstrip().endswith("original {"):
            depth = 1
            line = line.rstrip()[:-len("original {")]
        kept.append(line)
    return "\n".join(kept)


def mlir_op_types(text):
    """Counter of the ONNX op types (and `norm.<op>`) of an MLIR graph, the
    nodes kept by recognized norms not counted."""
    ops = collections.Counter()
    for dialect, name, op_type in MLIR_OP.findall(strip_original_spellings(text)):
        if dialect == "norm":
            ops["norm." + name] += 1
        elif name == "node":
            ops[op_type] += 1
        elif name not in NOT_NODES:
            ops[name] += 1
    return ops


def op_types(model):
    return collections.Counter(n.op_type for n in model.graph.node)


def format_counter(counter):
    return "{" + ", ".join(f"{k}:{v}" for k, v in sorted(counter.items()) if v) + "}"


def prune_to_outputs(model, keep_outputs):
    """Keeps only graph outputs in `keep_outputs` and the nodes they need."""
    graph = model.graph
    kept = [o for o in graph.output if o.name in keep_outputs]
    del graph.output[:]
    graph.output.extend(kept)
    needed = set(keep_outputs)
    live = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            live.append(node)
            needed.update(i for i in node.input if i)
    live.reverse()
    del graph.node[:]
    graph.node.extend(live)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    return model


# --- reporting -----------------------------------------------------------------

def prepare_pass_cases(specs, passes_of, prepare, k, *args):
    """For the model suites whose cases are `<model>/<pass>`: for every model
    of `specs` ({name: spec}) with passes (passes_of(spec)) matching `k`,
    prepare(name, spec, passes, *args) returns ({pass: (problems, details,
    OrtBatch job or None)}, the original's job). A crash fails that model's
    cases only. Returns what record_pass_cases takes."""
    pending = []
    for name, spec in specs.items():
        passes = [p for p in passes_of(spec) if k in f"{name}/{p}"]
        if not passes:
            continue
        try:
            cases, reference = prepare(name, spec, passes, *args)
        except Exception as e:  # an exporter or tool crash
            cases, reference = {p: ([f"{type(e).__name__}: {e}"], [], None) for p in passes}, None
        pending.append((name, cases, reference))
    return pending


def record_pass_cases(suite, pending, results, tolerance=1e-5):
    """Records each prepared case, with the worst relative error of its
    onnxruntime outputs against the original's (`results` of OrtBatch.run)."""
    for name, cases, reference in pending:
        for label, (problems, details, job) in cases.items():
            if job is not None:
                (ref, ref_error), (got, error) = results[reference], results[job]
                if ref_error or error:
                    problems.append(ref_error or error)
                else:
                    worst = worst_rel_err(got, ref)
                    details.append(f"rel err {worst:.2e}")
                    if not worst <= tolerance:
                        problems.append(f"rel err {worst:.2e} > {tolerance:g}")
            suite.record(f"{name}/{label}", problems, ", ".join(details))


def argument_parser(doc):
    """The drivers' command line: the first line of `doc` as description and
    `-k SUBSTRING`; add a driver's own options before parse_args()."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("-k", default="", help="run only cases whose name contains this")
    return parser


class Suite:
    """Prints one line per case and a closing `N passed, N failed` summary.
    Owns the suite's scratch directory `work` (kept under $E2E_KEEP, else
    removed by finish()) and an onnxruntime batch `ort` working in it."""

    def __init__(self, name):
        check_ort_available()
        self.name = name
        self.passed = 0
        self.failed = []
        self.work = workdir(name)
        self.ort = OrtBatch(self.work)

    def record(self, case, problems, detail=""):
        if problems:
            self.failed.append(case)
            print(f"FAIL: {self.name}/{case}: " + "; ".join(problems)
                  + (f" [{detail}]" if detail else ""), flush=True)
        else:
            self.passed += 1
            print(f"PASS: {self.name}/{case}" + (f": {detail}" if detail else ""), flush=True)

    def finish(self):
        print(f"e2e {self.name}: {self.passed} passed, {len(self.failed)} failed", flush=True)
        if not os.environ.get("E2E_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)
        return 0 if not self.failed else 1


def workdir(prefix):
    keep = os.environ.get("E2E_KEEP")
    if keep:
        path = os.path.join(keep, prefix)
        os.makedirs(path, exist_ok=True)
        return path
    return tempfile.mkdtemp(prefix=f"norm-opt-{prefix}-")
