#!/usr/bin/python3
"""End-to-end suite of the Python package (python/norm_opt) on torch-exported
and onnx.helper models with non-trivial norm weights.

Cases (`python/<case>`):
  optimize/gpt2_preln_opset13   optimize() with the default --norm-optimize
      on decomposed LayerNorms: the typed report (kinds, actions, each norm's
      history: recognized -> converted -> folded) equals the JSON that
      `norm-opt --report` writes for the same run; the output file is
      written; verify() finds it within 1e-5 but not identical; random token
      ids span the embedding table (bound read from the Gather).
  optimize/modelproto-llama_rmsnorm23   an in-memory onnx.ModelProto,
      fold-weights + defer-scale, no output path: every norm deferred, the
      temporary output goes when the Result does; Result.verify() on given
      inputs (used as given).
  refusals/bert_postln_opset17   norm-pre-ln-to-rms refuses every LayerNorm of
      a Post-LN model: the report says why, and norm-opt's remarks name the
      same nodes in the same file.
  errors/*   a corrupt file, a node whose scale does not fit, a missing file,
      an unknown pass: NormOptError with norm-opt's message, the file and the
      node, and no output file; no norm-opt executable and no onnxruntime-node:
      their own exceptions.
  verify/detects-change   one LayerNorm gain changed by 1%: verify() fails it;
      models with different outputs: ValueError; a sample without a needed
      input: OnnxRuntimeError naming the model and the input.
  calibrate/rms_norm_linear_rms_norm23   the approximate
      norm-defer-scale=cancel-before-rms-norm is accepted on activations of
      mean square 9 and rejected at 1e-4 (its error grows as mean(x^2) falls
      below 1: docs/NormPasses.md), while the exact candidates pass both.
  cli/*   python3 -m norm_opt verify / calibrate: output and exit status.

Usage: run_python.py [-k SUBSTRING]
"""
import gc
import json
import os
import subprocess
import sys
import traceback

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402
import models  # noqa: E402

import norm_opt  # noqa: E402 (on sys.path through e2e_common)

NORM_OPT = None  # set in main()
CASES = []


def case(name):
    def register(fn):
        CASES.append((name, fn))
        return fn
    return register


class Checks:
    """Collects the problems of one case."""

    def __init__(self):
        self.problems = []

    def __call__(self, condition, message):
        if not condition:
            self.problems.append(message)
        return condition


def expect_raises(check, exception, fn):
    """Runs fn(); returns the exception if it raised `exception`, else
    records a problem and returns None."""
    try:
        fn()
    except exception as e:
        return e
    except Exception as e:  # the wrong exception is a failure, not a crash
        check(False, f"expected {exception.__name__}, got {type(e).__name__}: {e}")
        return None
    check(False, f"expected {exception.__name__}, nothing was raised")
    return None


_exports = {}


def torch_model(work, name):
    """models.MODELS[name] exported once into `work`."""
    if name not in _exports:
        path = os.path.join(work, name + ".onnx")
        _, inputs, _ = models.export(name, path)
        _exports[name] = (path, {k: v.numpy() for k, v in inputs.items()})
    return _exports[name]


@case("optimize/gpt2_preln_opset13")
def optimize_gpt2(work, check):
    path, _ = torch_model(work, "gpt2_preln_opset13")
    out = os.path.join(work, "gpt2.opt.onnx")
    result = norm_opt.optimize(path, out, norm_opt=NORM_OPT)
    check(result.output_path == out and os.path.isfile(out), f"no output at {out}")
    report = result.report
    check(report.kinds == {"layer_norm": 0, "rms_norm": 5, "batch_norm": 0},
          f"kinds {report.kinds}")
    check(report.actions == {"recognized": 5, "converted": 5, "folded": 5},
          f"actions {report.actions}")
    check(len(report) == 5 and len(report.rewritten) == 5 and not report.refused,
          f"{len(report)} norms, {len(report.rewritten)} rewritten, {len(report.refused)} refused")
    for n in report:
        steps = [(h.pass_name, h.action) for h in n.history]
        check(steps == [("norm-recognize", "recognized"), ("norm-pre-ln-to-rms", "converted"),
                        ("norm-fold-weights", "folded")], f"{n.name}: history {steps}")
        check(n.kind == "rms_norm" and n.action == "folded" and n.reason,
              f"{n.name}: {n.kind} {n.action} {n.reason!r}")
        check(n.spelling and "LayerNorm" in n.spelling, f"{n.name}: spelling {n.spelling!r}")
    check(report.norm("/ln_f/Add_1").kind == "rms_norm", "norm('/ln_f/Add_1')")
    check(isinstance(expect_raises(check, KeyError, lambda: report.norm("nope")), KeyError),
          "norm('nope')")
    # The same run through the executable: the typed report is its JSON.
    cli_out, cli_report = os.path.join(work, "gpt2.cli.onnx"), os.path.join(work, "gpt2.json")
    proc = e2e.run_norm_opt([path, "-o", cli_out, "--norm-optimize", "--report", cli_report])
    if check(proc.returncode == 0, f"norm-opt: {proc.stderr[-300:]}"):
        raw = json.load(open(cli_report))
        check(norm_opt.Report.from_dict(raw).norms == report.norms,
              "the typed report's norms differ from norm-opt --report's")
        check(raw["counts"] == dict(report.counts), f"counts {raw['counts']} vs {report.counts}")
    check(len(result.model.graph.node) > 0, "Result.model has no nodes")
    # onnxruntime: exact rewrites within 1e-5, yet not the same model.
    verification = result.verify(samples=2)
    check(verification.ok and 0 < verification.rel_err <= 1e-5,
          f"verify: rel err {verification.rel_err:.2e}")
    check([o.name for o in verification.outputs] == ["logits"] and
          verification.outputs[0].shape == (2, 8, 96), f"outputs {verification.outputs}")
    ids = np.concatenate([s["input_ids"].ravel() for s in verification.inputs])
    check(ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < 96 and ids.max() > 2,
          f"random token ids in [{ids.min()}, {ids.max()}], expected [0, 96) beyond [0, 2)")
    return f"5/5 norms converted and folded, rel err {verification.rel_err:.2e}"


@case("optimize/modelproto-llama_rmsnorm23")
def optimize_modelproto(work, check):
    model = models.llama_rmsnorm23()
    result = norm_opt.optimize(model, passes=("norm-fold-weights", "--norm-defer-scale"),
                               norm_opt=NORM_OPT)
    temp_output = result.output_path
    check(os.path.isfile(temp_output), "no temporary output")
    actions = [n.action for n in result.report]
    check(actions == ["deferred"] * 5, f"actions {actions}")
    check(result.report.kinds == {"layer_norm": 0, "rms_norm": 0, "batch_norm": 0},
          f"kinds {result.report.kinds} (every RMSNorm deferred into rms_scale)")
    ids = np.random.default_rng(5).integers(0, 96, (3, 8)).astype(np.int64)
    verification = result.verify({"input_ids": ids})
    check(verification.inputs[0]["input_ids"] is ids or
          np.array_equal(verification.inputs[0]["input_ids"], ids), "given inputs not used")
    check(verification.outputs[0].shape[0] == 3, f"shape {verification.outputs[0].shape}")
    check(verification.ok and verification.rel_err > 0, f"rel err {verification.rel_err:.2e}")
    del result
    gc.collect()
    check(not os.path.exists(temp_output), f"{temp_output} outlived its Result")
    return f"5/5 deferred, rel err {verification.rel_err:.2e}"


@case("refusals/bert_postln_opset17")
def refusals_bert(work, check):
    path, _ = torch_model(work, "bert_postln_opset17")
    result = norm_opt.optimize(path, os.path.join(work, "bert.opt.onnx"),
                               passes=("norm-pre-ln-to-rms",), norm_opt=NORM_OPT)
    refused = result.report.refused
    check(len(refused) == 5 and len(result.report) == 5, f"{len(refused)} of 5 refused")
    check(all(n.reason and n.history[-1].pass_name == "norm-pre-ln-to-rms" for n in refused),
          "a refusal without a reason")
    check(not result.report.rewritten and result.report.kinds["layer_norm"] == 5,
          f"kinds {result.report.kinds}")
    remarks = result.remarks
    check({d.node for d in remarks} == {n.name for n in refused},
          f"remarks name {sorted(d.node or '?' for d in remarks)}")
    check(all(d.file == path and "left unchanged" in d.message for d in remarks),
          f"remark {remarks[0] if remarks else None}")
    verification = result.verify()
    check([o.name for o in verification.outputs] == ["last_hidden_state", "pooler_output"]
          and verification.ok, f"verify {verification}")
    return f"5/5 refused: {refused[0].reason[:60]}..."


def assert_no_output(check, out):
    check(not os.path.exists(out), f"{out} was written")


@case("errors/corrupt-file")
def error_corrupt(work, check):
    bad, out = os.path.join(work, "corrupt.onnx"), os.path.join(work, "corrupt.out.onnx")
    with open(bad, "wb") as f:
        f.write(b"\x08\x07 this is not a protobuf")
    e = expect_raises(check, norm_opt.NormOptError,
                      lambda: norm_opt.optimize(bad, out, norm_opt=NORM_OPT))
    if e:
        check(e.file == bad and e.node is None, f"file {e.file!r} node {e.node!r}")
        check("not a valid ONNX model" in e.message, f"message {e.message!r}")
        check(str(e).startswith(f"norm-opt: error: {bad}: "), f"str {str(e)!r}")
        check(e.returncode == 1, f"returncode {e.returncode}")
    assert_no_output(check, out)
    return str(e) if e else ""


@case("errors/bad-node")
def error_bad_node(work, check):
    graph = helper.make_graph(
        [helper.make_node("LayerNormalization", ["X", "gamma", "beta"], ["Y"], name="ln0",
                          axis=-1)],
        "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(np.array([1.5, 0.5, 2.0], np.float32), "gamma"),
         numpy_helper.from_array(np.array([0.1, 0.2, 0.3], np.float32), "beta")])
    path, out = os.path.join(work, "bad-scale.onnx"), os.path.join(work, "bad-scale.out.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    e = expect_raises(check, norm_opt.NormOptError,
                      lambda: norm_opt.optimize(path, out, norm_opt=NORM_OPT))
    if e:
        check(e.file == path and e.node == "ln0", f"file {e.file!r} node {e.node!r}")
        check("scale shape [3] does not match the normalized shape [4]" in e.message,
              f"message {e.message!r}")
    assert_no_output(check, out)
    return str(e) if e else ""


@case("errors/missing-file-and-unknown-pass")
def error_missing(work, check):
    missing, out = os.path.join(work, "missing.onnx"), os.path.join(work, "missing.out.onnx")
    e = expect_raises(check, norm_opt.NormOptError,
                      lambda: norm_opt.optimize(missing, out, norm_opt=NORM_OPT))
    if e:
        check(e.file == missing and "cannot read" in e.message, f"{e.file!r}: {e.message!r}")
    path, _ = torch_model(work, "gpt2_preln_opset13")
    e2 = expect_raises(check, norm_opt.NormOptError,
                       lambda: norm_opt.optimize(path, out, passes=("norm-frobnicate",),
                                                 norm_opt=NORM_OPT))
    if e2:
        check("norm-frobnicate" in str(e2), f"unknown pass: {e2}")
    assert_no_output(check, out)
    return f"{e.message if e else ''}; {str(e2).splitlines()[0] if e2 else ''}"


@case("errors/no-tool-no-runtime")
def error_environment(work, check):
    path, _ = torch_model(work, "gpt2_preln_opset13")
    nowhere = os.path.join(work, "no-such-dir", "norm-opt")
    e = expect_raises(check, norm_opt.NormOptNotFoundError,
                      lambda: norm_opt.optimize(path, norm_opt=nowhere))
    if e:
        check(nowhere in str(e), f"message {e}")
    e2 = expect_raises(check, norm_opt.RuntimeUnavailableError,
                       lambda: norm_opt.verify(path, path,
                                               node_modules=os.path.join(work, "no-such-dir")))
    if e2:
        check("onnxruntime-node" in str(e2) and "npm install" in str(e2), f"message {e2}")
    return str(e2)[:80] if e2 else ""


@case("verify/detects-change")
def verify_detects(work, check):
    path, _ = torch_model(work, "gpt2_preln_opset13")
    model = onnx.load(path)
    # The final LayerNorm's gain (ln_f.weight), changed by 1%: verify must see it.
    gain = next((t for t in model.graph.initializer if t.name == "ln_f.weight"), None)
    if not check(gain is not None, "no initializer ln_f.weight"):
        return ""
    gain.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(gain) * 1.01, gain.name))
    changed = norm_opt.verify(path, model)
    check(not changed.ok and 1e-4 < changed.rel_err < 1, f"rel err {changed.rel_err:.2e}")
    renamed = onnx.load(path)
    renamed.graph.output[0].name = "other"
    renamed.graph.node[-1].output[0] = "other"
    e = expect_raises(check, ValueError, lambda: norm_opt.verify(path, renamed))
    # A list of samples is used as given: one without input_ids cannot run.
    e2 = expect_raises(check, norm_opt.OnnxRuntimeError,
                       lambda: norm_opt.verify(path, path, [{}]))
    if e2:
        check(path in str(e2) and "input_ids" in str(e2), f"onnxruntime error: {e2}")
    return f"1% gain change: rel err {changed.rel_err:.2e}; {e}; {e2}"


def rms_samples(scale, seed):
    rng = np.random.default_rng(seed)
    return [{"x": (scale * rng.standard_normal((2, 16, 64))).astype(np.float32)}
            for _ in range(2)]


CANCEL = "norm-optimize + norm-defer-scale (cancel-before-rms-norm)"


@case("calibrate/rms_norm_linear_rms_norm23")
def calibrate_cancel(work, check):
    model = models.rms_norm_linear_rms_norm23()
    labels = ("recognize only", "norm-fold-weights", "norm-optimize + norm-defer-scale", CANCEL)
    candidates = {k: norm_opt.DEFAULT_CANDIDATES[k] for k in labels}
    details = []
    for scale, cancel_ok in ((3.0, True), (0.01, False)):
        cal = norm_opt.calibrate(model, rms_samples(scale, 7), candidates=candidates,
                                 norm_opt=NORM_OPT)
        check([c.label for c in cal.candidates] == list(labels), "candidates out of order")
        for c in cal.candidates:
            exact = c.label != CANCEL
            check(c.error is None, f"x{scale}: {c.label}: {c.error}")
            if exact:
                check(c.ok and c.rel_err <= 1e-5, f"x{scale}: {c.label}: rel err {c.rel_err:.2e}")
        cancel = cal[CANCEL]
        check(cancel.ok == cancel_ok, f"x{scale}: cancel-before-rms-norm rel err "
              f"{cancel.rel_err:.2e}, accepted {cancel.ok}")
        if not cancel_ok:
            check(cancel.rel_err > 1e-4, f"x{scale}: cancel rel err only {cancel.rel_err:.2e}")
        check(cal["recognize only"].rel_err == 0 and cal["recognize only"].rewrites == 0,
              f"recognize only: {cal['recognize only'].rel_err}")
        check(cal["norm-fold-weights"].rewrites == 2 and cancel.rewrites == 4,
              f"rewrites {[c.rewrites for c in cal.candidates]}")
        check(cal.best is not None and cal.best.label == "norm-optimize + norm-defer-scale",
              f"x{scale}: best {cal.best.label if cal.best else None}")
        actions = cal.actions()
        check(len(actions) == 2 and all(a[CANCEL] == "deferred" and
                                        a["norm-fold-weights"] == "folded"
                                        for a in actions.values()), f"actions {actions}")
        details.append(f"x{scale}: cancel rel err {cancel.rel_err:.2e} "
                       f"({'accepted' if cancel.ok else 'rejected'})")
    return ", ".join(details)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "norm_opt", *args], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": os.path.join(
                              e2e.REPO_ROOT, "python"), "NORM_OPT": NORM_OPT})


@case("cli/verify-and-calibrate")
def cli(work, check):
    path, inputs = torch_model(work, "gpt2_preln_opset13")
    sample = os.path.join(work, "sample.npz")
    np.savez(sample, **inputs)
    best = os.path.join(work, "cli-best.onnx")
    proc = run_cli("calibrate", path, "--inputs", sample, "--passes", "norm-fold-weights",
                   "--passes", "norm-optimize", "-o", best)
    check(proc.returncode == 0 and "best: norm-optimize" in proc.stdout
          and os.path.isfile(best), f"calibrate: rc {proc.returncode}: {proc.stdout}{proc.stderr}")
    proc = run_cli("verify", path, best, "--inputs", sample)
    check(proc.returncode == 0 and proc.stdout.startswith("ok: "),
          f"verify: rc {proc.returncode}: {proc.stdout}{proc.stderr}")
    changed = onnx.load(path)
    gain = next(t for t in changed.graph.initializer if t.name == "ln_f.weight")
    gain.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(gain) * 1.01, gain.name))
    changed_path = os.path.join(work, "changed.onnx")
    onnx.save(changed, changed_path)
    proc = run_cli("verify", path, changed_path)
    check(proc.returncode == 1 and proc.stdout.startswith("FAILED: "),
          f"verify of a changed model: rc {proc.returncode}: {proc.stdout}{proc.stderr}")
    bad = os.path.join(work, "cli-corrupt.onnx")
    with open(bad, "wb") as f:
        f.write(b"garbage")
    proc = run_cli("calibrate", bad)
    check(proc.returncode == 2 and f"norm-opt: error: {bad}: not a valid ONNX model"
          in proc.stderr, f"calibrate of a corrupt file: rc {proc.returncode}: {proc.stderr}")
    return "exit status 0 / 1 / 2 as documented"


def main():
    global NORM_OPT
    args = e2e.argument_parser(__doc__).parse_args()
    suite = e2e.Suite("python")
    NORM_OPT = e2e.norm_opt_path()
    for name, fn in CASES:
        if args.k not in name:
            continue
        check = Checks()
        try:
            detail = fn(suite.work, check)
        except Exception as e:  # a crash fails this case only
            check(False, f"{type(e).__name__}: {e} "
                  f"({traceback.extract_tb(e.__traceback__)[-1].lineno})")
            detail = ""
        suite.record(name, check.problems, detail)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
