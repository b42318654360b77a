#!/usr/bin/python3
"""End-to-end suite of norm-remove-ln and norm_opt.remove_layernorm (issue 14).

LN-free checkpoints (`lnfree_*`): a GPT-2-style torch model whose norms are
fixed-sigma LayerNorms exported the way LN-free checkpoints ship
(LayerNorm with eps = 1e12 and gamma * 1e6 / sigma; non-trivial gamma and
beta), with the tied LM head (a Transpose of the embedding table), at
opsets 17 (LayerNormalization) and 13 (decomposed chain):
  - without statistics every site is refused (fp32 activations prove no
    bound);
  - calibrated with norm-instrument-stats in onnxruntime, then
    `norm-opt --norm-remove-ln=stats=FILE`: every site is `removed` with its
    bound, no LayerNorm op or node and no ReduceMean/Sqrt is left,
    onnx.checker accepts the result, and onnxruntime outputs agree with the
    original's within 1e-5;
  - both converted to fp16 (every float tensor and type): the original
    overflows (its gamma * 1e6 / sigma exceeds 65504; non-finite outputs),
    the removed model runs with finite outputs within 1e-2 of fp32.

Ordinary models (`budget_*`; GPT-2 Pre-LN at opset 17, Llama RMSNorm at
opset 14), norm_opt.remove_layernorm on calibration and held-out inputs:
  - with a budget, every site is reported with its cost and held-out error;
    at least one is removed and one kept, the error stays within the budget,
    the error measured again on the result (norm_opt.verify) equals the one
    reported, and norm-opt's report records each removed site with it;
  - with a budget of 0, nothing is removed.

First position (`first_position_outlier`): on a GPT-2 whose first
position has an outlier norm, rescaling it by its own calibrated std (one
Mul) must at least halve each site's cost against one sigma for all.

The command line (`cli_two_commands`): `python3 -m norm_opt remove-ln`
then `norm-opt --norm-remove-ln=stats=FILE` give the model the first chose.

Usage: run_remove_ln.py [-k SUBSTRING]
"""
import dataclasses
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402
import models  # noqa: E402
import norm_opt  # noqa: E402 (e2e_common puts python/ on the path)

TOLERANCE = 1e-5
FP16_TOLERANCE = 1e-2
VOCAB = 96


def token_samples(seed, count, batch=2, seq=8):
    g = np.random.default_rng(seed)
    return [{"input_ids": g.integers(0, VOCAB, (batch, seq))} for _ in range(count)]


def export_ln_free(path, opset):
    model, inputs = models.instantiate(lambda: models.GPT2(norm=models.LNFreeLayerNorm),
                                       models.token_inputs())
    sigmas = models.make_ln_free(model, seed=7)
    # No constant folding: the tied head stays a Transpose of the table.
    models.export_module(model, inputs, path, opset, ["logits"], do_constant_folding=False)
    return sigmas


def to_fp16(model):
    """Every float32 tensor, Constant, Cast target and graph type as float16,
    the way a plain fp16 conversion does it (values past 65504 become inf)."""
    def convert(tensor):
        if tensor.data_type == TensorProto.FLOAT:
            with np.errstate(over="ignore"):
                array = numpy_helper.to_array(tensor).astype(np.float16)
            tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))

    for tensor in model.graph.initializer:
        convert(tensor)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                convert(attr.t)
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
    for value in list(model.graph.input) + list(model.graph.output):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16
    del model.graph.value_info[:]
    return model


def check_ln_free(name, opset, work, ort):
    problems, details = [], []
    model_path = os.path.join(work, f"{name}.onnx")
    export_ln_free(model_path, opset)
    samples = token_samples(1, 3)

    # Without statistics: refused, the fp32 bound needs calibration.
    report, error = e2e.optimize(model_path, os.path.join(work, f"{name}.nostats.onnx"),
                                 os.path.join(work, f"{name}.nostats.json"), ["--norm-remove-ln"])
    if error:
        return [error], ""
    if report["counts"].get("refused", 0) != 5 or report["counts"].get("removed", 0):
        problems.append(f"without statistics: counts {report['counts']}, expected 5 refused")

    stats = norm_opt.collect_statistics(model_path, samples)
    stats_path = os.path.join(work, f"{name}.stats.json")
    norm_opt.write_statistics(stats, stats_path)
    if stats:
        details.append("max variance {:.2e} (bound {:.1e})".format(
            max(s.max_statistic for s in stats.values()),
            max(s.max_statistic / (2 * s.epsilon) for s in stats.values())))
    if len(stats) != 5 or not all(s.bound_holds() for s in stats.values()):
        problems.append(f"statistics: {len(stats)} site(s), bound holds for "
                        f"{sum(s.bound_holds() for s in stats.values())}")
    out_path = os.path.join(work, f"{name}.removed.onnx")
    report, error = e2e.optimize(model_path, out_path, os.path.join(work, f"{name}.json"),
                                 [f"--norm-remove-ln=stats={stats_path}"])
    if error:
        return problems + [error], ""
    counts = report["counts"]
    details.append(f"removed {counts.get('removed', 0)}")
    if counts.get("removed", 0) != 5 or counts.get("layer_norm", 0):
        problems.append(f"counts {counts}, expected 5 removed and no layer_norm left")
    ops = e2e.op_types(onnx.load(out_path))
    left = {op: ops[op] for op in ("LayerNormalization", "ReduceMean", "Sqrt") if ops[op]}
    if left:
        problems.append(f"normalization left in the output: {left}")
    if not all("dominates on calibration" in n.get("reason", "") for n in report["norms"]):
        problems.append("a site's record does not state the calibrated bound")
    checker_error = e2e.check_model(out_path)
    if checker_error:
        problems.append(checker_error)

    fp16_original = os.path.join(work, f"{name}.fp16.onnx")
    fp16_removed = os.path.join(work, f"{name}.removed.fp16.onnx")
    onnx.save(to_fp16(onnx.load(model_path)), fp16_original)
    onnx.save(to_fp16(onnx.load(out_path)), fp16_removed)
    feed = token_samples(2, 1)[0]
    jobs = [ort.add(p, feed) for p in (model_path, out_path, fp16_original, fp16_removed)]
    results = ort.run()
    (ref, e1), (got, e2), (half_orig, e3), (half, e4) = (results[j] for j in jobs)
    if e1 or e2 or e4:
        return problems + [e1 or e2 or e4], ", ".join(details)
    worst = e2e.worst_rel_err(got, ref)
    details.append(f"fp32 rel err {worst:.2e}")
    if not worst <= TOLERANCE:
        problems.append(f"rel err {worst:.2e} > {TOLERANCE}")
    if e3:
        details.append("fp16 original fails to run")
    elif all(np.isfinite(v).all() for _, v in half_orig):
        problems.append("the fp16 original does not overflow")
    else:
        details.append("fp16 original overflows")
    if not all(np.isfinite(v).all() for _, v in half):
        problems.append("the fp16 removed model overflows")
    else:
        half_err = e2e.worst_rel_err(half, ref)
        details.append(f"fp16 removed rel err {half_err:.2e}")
        if not half_err <= FP16_TOLERANCE:
            problems.append(f"fp16 removed rel err {half_err:.2e} > {FP16_TOLERANCE}")
    return problems, ", ".join(details)


ORDINARY = {
    "gpt2_opset17": (models.GPT2, 17, 0.05),
    "llama_opset14": (lambda: models.Llama("hf"), 14, 0.05),
}


def check_budget(name, work, budget_zero):
    ctor, opset, budget = ORDINARY[name]
    if budget_zero:
        budget = 0.0
    model_path = os.path.join(work, f"{name}.onnx")
    model, inputs = models.instantiate(ctor, models.token_inputs())
    models.export_module(model, inputs, model_path, opset, ["logits"])
    calibration, heldout = token_samples(10, 4), token_samples(11, 2)
    result = norm_opt.remove_layernorm(model_path, calibration, heldout, budget=budget,
                                       output=os.path.join(work, f"{name}.{budget}.onnx"))
    problems = []
    removed = result.removed
    details = [f"budget {budget:g}: removed {len(removed)} of {len(result.sites)}, "
               f"held-out error {result.error:.2e}"]
    if len(result.sites) != 5:
        problems.append(f"{len(result.sites)} site(s) reported, expected 5")
    if any(s.cost is None or not s.cost > 0 for s in result.sites):
        problems.append("a site has no measured cost")
    records = {n.name: n for n in result.result.report.norms}
    if budget == 0:
        if removed:
            problems.append(f"budget 0 removed {list(removed)}")
        if any(n.action == "removed" for n in records.values()):
            problems.append("budget 0: norm-opt's report has a removed site")
        return problems, ", ".join(details)
    if not removed or len(removed) == len(result.sites):
        problems.append(f"expected some sites removed and some kept at budget {budget}: "
                        f"{list(removed)}")
    if not result.error <= budget:
        problems.append(f"error {result.error:.2e} > budget {budget}")
    last = [s for s in result.sites if s.removed][-1] if removed else None
    if last and last.error != result.error:
        problems.append(f"the result's error {result.error:.3e} is not the last accepted "
                        f"step's {last.error:.3e}")
    check = result.result.verify(heldout, tolerance=budget)
    details.append(f"verify {check.rel_err:.2e}")
    if abs(check.rel_err - result.error) > 1e-9 * max(result.error, 1e-30):
        problems.append(f"measured again: {check.rel_err:.3e}, reported {result.error:.3e}")
    kept_in_ir = result.result.report.counts.get("layer_norm", 0) + \
        result.result.report.counts.get("rms_norm", 0)
    if kept_in_ir != len(result.sites) - len(removed):
        problems.append(f"{kept_in_ir} norm(s) left in the output, expected "
                        f"{len(result.sites) - len(removed)}")
    for site in result.sites:
        record = records.get(site.name)
        if site.removed and (record is None or record.action != "removed"
                             or f"measured held-out error {site.error:.2e}" not in record.reason):
            problems.append(f"{site.name}: norm-opt's report does not say removed with "
                            f"error {site.error:.2e}")
    return problems, ", ".join(details)


def check_first_position(work):
    """A GPT-2 whose first position carries an outlier norm (its position
    embedding 10x the others', the way causal LMs' first token stands out):
    each site removed alone with the first position divided by its own
    calibrated std (one Mul) must cost less than half of what it costs with
    one sigma for every position (first_std left out of the file)."""
    import torch
    model_path = os.path.join(work, "outlier_gpt2.onnx")
    model, inputs = models.instantiate(models.GPT2, models.token_inputs())
    with torch.no_grad():
        model.wpe.weight[0] *= 10
    models.export_module(model, inputs, model_path, 17, ["logits"])
    stats = norm_opt.collect_statistics(model_path, token_samples(30, 3))
    heldout = token_samples(31, 2)
    problems, details = [], []
    for name in stats:
        errors = []
        for first in (True, False):
            site_stats = {n: s if first else dataclasses.replace(s, first_std=None)
                          for n, s in stats.items()}
            path = os.path.join(work, "outlier.stats.json")
            norm_opt.write_statistics(site_stats, path, {n: n == name for n in stats})
            result = norm_opt.optimize(model_path, os.path.join(work, "outlier.out.onnx"),
                                       (f"norm-remove-ln=stats={path}",))
            errors.append(result.verify(heldout, tolerance=1.0).rel_err)
        details.append(f"{'/'.join(name.split('/')[1:3])} {errors[0]:.1e} vs {errors[1]:.1e}")
        if not errors[0] < 0.5 * errors[1]:
            problems.append(f"{name}: with the first position apart {errors[0]:.2e}, "
                            f"without {errors[1]:.2e}")
    return problems, "error with/without first position apart: " + ", ".join(details)


def check_cli(work):
    """The two-command workflow: `python3 -m norm_opt remove-ln` chooses and
    writes the statistics file, `norm-opt --norm-remove-ln=stats=` applies
    it, giving the very model the first command chose; bad usage exits 2."""
    import subprocess
    model_path = os.path.join(work, "cli_gpt2.onnx")
    model, inputs = models.instantiate(models.GPT2, models.token_inputs())
    models.export_module(model, inputs, model_path, 17, ["logits"])
    samples = []
    for i, sample in enumerate(token_samples(20, 3)):
        samples.append(os.path.join(work, f"cli_{i}.npz"))
        np.savez(samples[-1], **sample)
    stats_path, chosen = os.path.join(work, "cli.stats.json"), os.path.join(work, "cli.a.onnx")
    env = dict(os.environ, PYTHONPATH=os.path.join(e2e.REPO_ROOT, "python"))
    command = [sys.executable, "-m", "norm_opt", "remove-ln", model_path, "--inputs", samples[0],
               "--inputs", samples[1], "--heldout", samples[2], "--budget", "0.05",
               "-o", stats_path, "--model-output", chosen]
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return [f"remove-ln exited {proc.returncode}: {proc.stderr.strip()[-300:]}"], ""
    problems = []
    table_removed = sum(1 for line in proc.stdout.splitlines() if "  yes  " in line)
    applied = os.path.join(work, "cli.b.onnx")
    report, error = e2e.optimize(model_path, applied, os.path.join(work, "cli.json"),
                                 [f"--norm-remove-ln=stats={stats_path}"])
    if error:
        return [error], ""
    removed = report["counts"].get("removed", 0)
    if not removed or removed != table_removed:
        problems.append(f"norm-opt removed {removed}, the table says {table_removed}")
    with open(chosen, "rb") as a, open(applied, "rb") as b:
        if a.read() != b.read():
            problems.append("the second command's model differs from the one the first chose")
    bad = subprocess.run(command[:7] + ["--budget", "0.05", "-o", stats_path],
                         capture_output=True, text=True, env=env)
    if bad.returncode != 2 or "go together" not in bad.stderr:
        problems.append(f"--budget without --heldout: exit {bad.returncode}, {bad.stderr[-200:]}")
    return problems, f"removed {removed} in both commands"


def main():
    args = e2e.argument_parser(__doc__).parse_args()
    suite = e2e.Suite("removeln")
    cases = [(f"lnfree_gpt2_opset{o}", lambda w, o=o, n=f"lnfree_gpt2_opset{o}":
              check_ln_free(n, o, w, suite.ort)) for o in (17, 13)]
    for name in ORDINARY:
        for zero in (False, True):
            label = f"budget_{name}" + ("_zero" if zero else "")
            cases.append((label, lambda w, n=name, z=zero: check_budget(n, w, z)))
    cases.append(("first_position_outlier", check_first_position))
    cases.append(("cli_two_commands", check_cli))
    for name, run in cases:
        if args.k not in name:
            continue
        try:
            problems, detail = run(suite.work)
        except Exception as exc:  # a crash fails this case only
            problems, detail = [f"{type(exc).__name__}: {exc}"], ""
        suite.record(name, problems, detail)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
