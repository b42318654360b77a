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

    diff_fuzz.py --cases N --seed S [-j J] [--log F]   the long mode
    diff_fuzz.py --spec '{...}' -v                     one case from its spec (JSON)

The CI slice is test/e2e/run_difffuzz.py (fixed cases and the minimized
regressions of regressions.py, with their known failures);
docs/DiffFuzz.md describes the generator, the checks and the findings.
"""
import argparse
import collections
import concurrent.futures
import json
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


def compare_outputs(got, ref, exact, check):
    """A problem string or None. `check(name, got, ref)` says what is wrong
    with one float output (None if it is within tolerance); with `exact`
    (the round trip) every output must be bit-identical."""
    if [n for n, _ in got] != [n for n, _ in ref]:
        return f"output names {[n for n, _ in got]} != {[n for n, _ in ref]}"
    for (name, a), (_, e) in zip(got, ref):
        if a.shape != e.shape:
            return f"output '{name}' shape {list(a.shape)} != {list(e.shape)}"
        if exact or not np.issubdtype(e.dtype, np.floating):
            if a.dtype != e.dtype or not np.array_equal(a, e, equal_nan=True):
                return f"output '{name}' not bit-identical (rel err {rel_err(a, e):.2e})"
            continue
        if np.isnan(a).any() and not np.isnan(e).any():
            return f"output '{name}' has NaN"
        problem = check(name, a, e)
        if problem:
            return problem
    return None


def tolerance_check(model_dtype, ref, twin_ref):
    """The numeric criterion of a rewrite (docs/DiffFuzz.md, tolerances):
    - fp32 model, fp32 output: rel. err to the original <= 1e-5;
    - fp32 model, 16-bit output (a Cast to fp16 after the norm): 1e-5 plus
      two units of roundoff, since any change before a rounding to 16 bits
      can move an element by one ulp;
    - 16-bit model: either within 1e-5 of the original, or its distance to
      the float32 twin (same weights and inputs, computed in fp32) at most
      twice the original's plus four units of roundoff: the rewrite may not
      make the model less accurate than its own 16-bit arithmetic does."""
    twin_outputs = dict(twin_ref or [])

    def check(name, got, expected):
        err = rel_err(got, expected)
        if err <= FP32_TOLERANCE:
            return None
        output_dtype = {np.dtype(np.float16): "float16"}.get(got.dtype, "float32")
        if twin_ref is None:
            if output_dtype == "float32":
                return f"output '{name}' rel err {err:.2e} > {FP32_TOLERANCE:g}"
            limit = FP32_TOLERANCE + 2 * UNIT_ROUNDOFF[output_dtype]
            return None if err <= limit else f"output '{name}' rel err {err:.2e} > {limit:.2e}"
        u = UNIT_ROUNDOFF[model_dtype]
        twin = twin_outputs[name]
        base, ours = rel_err(expected, twin), rel_err(got, twin)
        limit = 2 * base + 4 * u
        if ours <= limit:
            return None
        return (f"output '{name}' rel err to the fp32 twin {ours:.2e} > 2 x {base:.2e} + 4u "
                f"(original vs result {err:.2e})")

    return check


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
    check = tolerance_check(dtype, ref, twin_ref)

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
            lines = stderr.splitlines()
            error = next((l for l in lines if "error" in l), lines[0] if lines else "")
            runs.append(Run(label, "rejected-valid-model",
                            (error[:300] or f"exit {proc.returncode}") + left))
            continue
        got, error = ort.run(out, feeds, os.path.join(work, f"ort_{label}"))
        if error:
            runs.append(Run(label, "invalid-output", error))
            continue
        problem = compare_outputs(got, ref, exact=(label == "roundtrip"), check=check)
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


# --- batches: several cases in one model ---------------------------------------------------
# norm-opt's start-up (loading the MLIR and LLVM libraries) costs more than a
# small case, so the long mode puts K cases of one opset and norm family in
# one model (disjoint graphs, every name prefixed `c<i>_`), runs each pass
# once on it and checks every case on its own outputs, nodes and report
# entries. A case that does not pass in its batch (or a batch that crashes
# or is rejected) is run again alone, and only that run is recorded.


def family(spec):
    spelling = spec["spelling"]
    return ("ln" if spelling in gen_models.LN_SPELLINGS else
            "bn" if spelling in gen_models.BN_SPELLINGS else "rms")


def merge_models(models, name="fuzz_batch"):
    """One model holding the graphs of `models` side by side (same opset)."""
    graph = onnx.helper.make_graph([], name, [], [])
    opsets = {}
    for m in models:
        graph.node.extend(m.graph.node)
        graph.initializer.extend(m.graph.initializer)
        graph.input.extend(m.graph.input)
        graph.output.extend(m.graph.output)
        graph.value_info.extend(m.graph.value_info)
        for o in m.opset_import:
            opsets[o.domain] = max(o.version, opsets.get(o.domain, 0))
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid(d, v) for d, v in opsets.items()],
        producer_name="norm-opt-difffuzz")
    model.ir_version = models[0].ir_version
    return model


def case_part(model, prefix):
    """The part of a batch model that belongs to the case named `prefix`."""
    mine = lambda name: name.startswith(prefix)  # noqa: E731
    part = onnx.ModelProto()
    part.CopyFrom(model)
    g = part.graph
    nodes = [n for n in g.node if mine(n.name) or any(mine(o) for o in n.output)]
    inits = [t for t in g.initializer if mine(t.name)]
    inputs = [i for i in g.input if mine(i.name)]
    outputs = [o for o in g.output if mine(o.name)]
    for field, kept in ((g.node, nodes), (g.initializer, inits), (g.input, inputs),
                        (g.output, outputs)):
        items = list(kept)
        del field[:]
        field.extend(items)
    return part


def run_batch(specs, work, ort, norm_opt):
    """Runs the cases `specs` (one opset, one family) as one model; returns,
    per case, its runs if it passed everything, else None (run it alone)."""
    os.makedirs(work, exist_ok=True)
    prefixes = [f"c{i}_" for i in range(len(specs))]
    built = [gen_models.build(s, prefix=p) for s, p in zip(specs, prefixes)]
    dtypes = [gen_models.normalized_spec(s)["dtype"] for s in specs]
    model = merge_models([m for m, _ in built])
    feeds = {k: v for _, f in built for k, v in f.items()}
    original = os.path.join(work, "model.onnx")
    onnx.save(model, original)
    ref, error = ort.run(original, feeds, os.path.join(work, "ort_model"))
    if error:
        return [None] * len(specs)
    twin_outputs = {}
    sixteen = [i for i, d in enumerate(dtypes) if d != "float32"]
    if sixteen:
        twins = [gen_models.build(specs[i], twin=True, prefix=prefixes[i]) for i in sixteen]
        twin_path = os.path.join(work, "twin.onnx")
        onnx.save(merge_models([m for m, _ in twins]), twin_path)
        twin_ref, error = ort.run(twin_path, {k: v for _, f in twins for k, v in f.items()},
                                  os.path.join(work, "ort_twin"))
        if error:
            return [None] * len(specs)
        twin_outputs = dict(twin_ref)

    def split(outputs, prefix):
        return [(n, a) for n, a in outputs if n.startswith(prefix)]

    runs = [[] for _ in specs]
    passing = [True] * len(specs)
    labels = applicable_passes(specs[0])
    for label, flags, kinds in PASSES:
        if label not in labels:
            continue
        out = os.path.join(work, f"{label}.onnx")
        report_path = os.path.join(work, f"{label}.json")
        try:
            proc = subprocess.run([norm_opt, original, "-o", out, "--report", report_path]
                                  + flags, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return [None] * len(specs)
        if proc.returncode != 0:
            return [None] * len(specs)
        got, error = ort.run(out, feeds, os.path.join(work, f"ort_{label}"))
        if error:
            return [None] * len(specs)
        result = onnx.load(out) if label == "roundtrip" else None
        with open(report_path) as f:
            report = json.load(f)
        for i, prefix in enumerate(prefixes):
            if not passing[i]:
                continue
            mine = split(ref, prefix)
            twin = split(twin_outputs.items(), prefix) if dtypes[i] != "float32" else None
            check = tolerance_check(dtypes[i], mine, twin)
            problem = compare_outputs(split(got, prefix), mine, exact=(label == "roundtrip"),
                                      check=check)
            if not problem and result is not None:
                problem = graph_difference(case_part(model, prefix), case_part(result, prefix))
            if not problem:
                own = {"norms": [n for n in report.get("norms", [])
                                 if str(n.get("name", "")).startswith(prefix)]}
                problem = check_report(own, label, kinds)
            if problem:
                passing[i] = False
            else:
                runs[i].append(Run(label))
    return [r if ok else None for r, ok in zip(runs, passing)]


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


def run_specs(specs, jobs, verbose, keep=None, log=None, batch=1):
    """Runs the cases `specs`: specs, or (name, spec, labels or None, expect)
    tuples (see Tally.record); returns the Tally. With `batch` > 1, plain
    specs run `batch` at a time in one model (run_batch)."""
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

    def group(chunk):
        with free_lock:
            ort = free.pop()
        work = os.path.join(root, "batch-" + case_id(chunk[0]))
        try:
            try:
                results = run_batch(chunk, work, ort, norm_opt)
            except Exception:  # the cases alone will say what is wrong
                results = [None] * len(chunk)
            shutil.rmtree(work, ignore_errors=True)
        finally:
            with free_lock:
                free.append(ort)
        for spec, runs in zip(chunk, results):
            if runs is None:
                one(spec)
            else:
                tally.record(spec, runs, None, verbose)

    tasks = []
    if batch > 1:
        groups = collections.defaultdict(list)
        for item in specs:
            if isinstance(item, tuple):
                tasks.append((one, item))
                continue
            key = (item["opset"], family(item))
            groups[key].append(item)
            if len(groups[key]) == batch:
                tasks.append((group, groups.pop(key)))
        tasks.extend((group, chunk) for chunk in groups.values())
    else:
        tasks = [(one, item) for item in specs]
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for _ in pool.map(lambda task: task[0](task[1]), tasks):
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
    parser.add_argument("--batch", type=int, default=8,
                        help="cases per model (a failing case is run again alone; 1: no batches)")
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
    tally = run_specs(specs, args.jobs, args.verbose, args.keep, args.log, args.batch)
    print(f"difffuzz: {tally.cases} cases in {time.time() - start:.0f} s; failures by class: "
          + (", ".join(f"{k}={v}" for k, v in sorted(tally.by_class.items())) or "none")
          + "; known failures: "
          + (", ".join(f"{k}={v}" for k, v in sorted(tally.known.items())) or "none"))
    print(f"e2e difffuzz: {tally.passed} passed, {len(tally.failed)} failed", flush=True)
    return 0 if not tally.failed else 1


if __name__ == "__main__":
    sys.exit(main())
