#!/usr/bin/python3
"""End-to-end suite of --norm-fold-weights, --norm-defer-scale and
--norm-optimize on transformer-shaped models with non-trivial norm weights
(gamma != 1, beta != 0).

For each model and each pass, one case `fold/<model>/<pass>`:
  norm-opt model.onnx -o out.onnx <pass> --report r.json
  - the report names every norm of the model (by count) as recognized, and
    its last action for each is `folded` (`deferred` after
    --norm-defer-scale): no norm is left behind;
  - onnx.checker (full check) accepts out.onnx whenever it accepts
    model.onnx (onnx 1.12 knows no opset 23);
  - onnxruntime outputs of model.onnx and out.onnx on the same random
    inputs agree within 1e-5 relative error (printed).

Models (models.py):
  gpt2_tied_opset17     GPT-2-style, LayerNorm, fused QKV with biases, the
                        LM head tied to the token embedding, exported without
                        constant folding (weights read through Transpose; the
                        embedding read by Gather and by the head)
  llama_rmsnorm23       Llama-style with opset-23 RMSNormalization nodes
                        (onnx.helper), SwiGLU, no biases, untied head
  llama_rmsnorm_*       PyTorch Llama-style exports, RMSNorm decomposed in
                        the plain, Hugging Face, divide and ** -0.5
                        spellings
  gemma_rmsnorm_plain_opset17
                        the Llama export with Gemma's (1 + w) gains, without
                        constant folding, so that the (1 + w) stays in the
                        graph; every recognized norm must carry unit_offset
  rms_norm_linear_rms_norm23
                        RMSNorm -> linear -> RMSNorm -> linear, with
                        --norm-defer-scale and its cancel-before-rms-norm
                        option (on inputs with mean(x^2) = 9, so that the
                        cancelled factor matters to the second norm's eps)
  skip_rms_norm_swiglu  com.microsoft SkipSimplifiedLayerNormalization (one
                        with a skip bias) before SwiGLU MLPs and an LM head,
                        the residual stream carried by the skip sum output

Usage: run_fold_weights.py [-k SUBSTRING]
"""
import collections
import os
import sys

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402
import models  # noqa: E402

TOLERANCE = 1e-5

# name: (norm-opt arguments, the last action every norm must have)
PASSES = {
    "fold-weights": (["--norm-fold-weights"], "folded"),
    "optimize": (["--norm-optimize"], "folded"),
    "defer-scale": (["--norm-fold-weights", "--norm-defer-scale"], "deferred"),
    "defer-scale-cancel": (["--norm-fold-weights",
                            "--norm-defer-scale=cancel-before-rms-norm"], "deferred"),
}
DECOMPOSED = ("its RMSNorms are decomposed chains (Pow, ReduceMean, Add, Sqrt, Div/Mul), "
              "which this norm-opt's norm-recognize does not match yet")

Model = collections.namedtuple("Model", "write norms passes unit_offset note")


def torch_catalogue(name, constant_folding=True):
    """models.MODELS[name], exported."""
    def write(path):
        _, inputs, _ = models.export(name, path, constant_folding=constant_folding)
        return {k: v.numpy() for k, v in inputs.items()}
    return write


def gemma(path):
    model, inputs = models.instantiate(lambda: models.Llama("plain", unit_offset=True),
                                       models.token_inputs())
    models.export_module(model, inputs, path, 17, ["logits"], do_constant_folding=False)
    return {k: v.numpy() for k, v in inputs.items()}


def helper_graph(build, make_inputs):
    def write(path):
        onnx.save(build(), path)
        return make_inputs(np.random.default_rng(2))
    return write


def token_ids(rng, batch=2, seq=8, vocab=96):
    return {"input_ids": rng.integers(0, vocab, (batch, seq)).astype(np.int64)}


ALL = ["fold-weights", "optimize", "defer-scale"]
CASES = {
    "gpt2_tied_opset17": Model(torch_catalogue("gpt2_preln_opset17", constant_folding=False),
                               5, ["fold-weights", "optimize"], 0, None),
    "llama_rmsnorm23": Model(helper_graph(models.llama_rmsnorm23, token_ids), 5, ALL, 0, None),
    "llama_rmsnorm_plain_opset13": Model(torch_catalogue("llama_rmsnorm_plain_opset13"),
                                         5, ALL, 0, DECOMPOSED),
    "llama_rmsnorm_hf_opset14": Model(torch_catalogue("llama_rmsnorm_hf_opset14"),
                                      5, ALL, 0, DECOMPOSED),
    "llama_rmsnorm_div_opset17": Model(torch_catalogue("llama_rmsnorm_div_opset17"),
                                       5, ALL, 0, DECOMPOSED),
    "llama_rmsnorm_pow_opset17": Model(torch_catalogue("llama_rmsnorm_pow_opset17"),
                                       5, ALL, 0, DECOMPOSED),
    "gemma_rmsnorm_plain_opset17": Model(gemma, 5, ALL, 5, DECOMPOSED),
    "rms_norm_linear_rms_norm23": Model(
        helper_graph(models.rms_norm_linear_rms_norm23,
                     lambda rng: {"x": (3 * rng.standard_normal((2, 16, 64))).astype(np.float32)}),
        2, ["fold-weights", "defer-scale", "defer-scale-cancel"], 0, None),
    "skip_rms_norm_swiglu": Model(
        helper_graph(models.skip_rms_norm_swiglu,
                     lambda rng: {k: rng.standard_normal((2, 16, 64)).astype(np.float32)
                                  for k in ("x", "r")}),
        3, ["fold-weights", "defer-scale"], 0, None),
}


def norms_done(report, expected_count, action):
    """Problems with the report's norms: how many were recognized, and which
    do not end in `action`; and a detail string."""
    recognized = [n for n in report.get("norms", [])
                  if any(h["action"] == "recognized" for h in n["history"])]
    done = [n for n in recognized if n["action"] == action]
    problems = []
    if len(recognized) != expected_count:
        problems.append(f"norm-recognize found {len(recognized)} of {expected_count} norms")
    for n in recognized:
        if n["action"] != action:
            problems.append(f"{n['name']} ({n['kind']}) {n['action']}"
                            + (f": {n['reason']}" if n.get("reason") else ""))
    return problems, f"{len(done)}/{expected_count} norms {action}"


def unit_offset_count(model_path):
    """How many norm.rms_norm ops of the recognized IR have unit_offset."""
    proc = e2e.run_norm_opt([model_path, "--emit=mlir", "-o", "-"])
    if proc.returncode != 0:
        return None
    text = e2e.strip_original_spellings(proc.stdout)
    return sum("unit_offset" in line for line in text.splitlines()
               if "norm.rms_norm" in line)


def prepare(name, spec, passes, work, ort):
    """Writes the model, runs every pass and every check but the onnxruntime
    comparison; returns {pass: (problems, details, job or None)} and the
    original's job."""
    case_dir = os.path.join(work, name)
    os.makedirs(case_dir, exist_ok=True)
    model_path = os.path.join(case_dir, "model.onnx")
    feeds = spec.write(model_path)
    original_checks = e2e.check_model(model_path) is None
    shared = []
    if spec.unit_offset:
        found = unit_offset_count(model_path)
        if found != spec.unit_offset:
            shared.append(f"{found} rms_norm ops with unit_offset (Gemma's 1 + w), "
                          f"expected {spec.unit_offset}")
    cases = {}
    for label in passes:
        args, action = PASSES[label]
        out_path = os.path.join(case_dir, f"{label}.onnx")
        report, error = e2e.optimize(model_path, out_path,
                                     os.path.join(case_dir, f"{label}.json"), args)
        if error:
            cases[label] = (shared + [error], [], None)
            continue
        problems, detail = norms_done(report, spec.norms, action)
        problems = shared + problems
        if problems and spec.note:
            problems.append(f"note: {spec.note}")
        if original_checks:
            checker_error = e2e.check_model(out_path)
            if checker_error:
                problems.append(checker_error)
        cases[label] = (problems, [detail], ort.add(out_path, feeds))
    return cases, ort.add(model_path, feeds)


def main():
    args = e2e.argument_parser(__doc__).parse_args()
    suite = e2e.Suite("fold")

    pending = e2e.prepare_pass_cases(CASES, lambda spec: spec.passes, prepare, args.k,
                                     suite.work, suite.ort)
    e2e.record_pass_cases(suite, pending, suite.ort.run(), TOLERANCE)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
