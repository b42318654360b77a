#!/usr/bin/python3
"""End-to-end suite of norm-pre-ln-to-rms on torch exports (issue 3).

For each model (random, non-trivial norm weights: gamma != 1, beta != 0):
  norm-opt model.onnx -o out.onnx --norm-pre-ln-to-rms --report r.json
  - the report counts every converted and every refused norm as expected;
  - a convertible model keeps no LayerNorm (no LayerNormalization node and
    no norm.layer_norm left); a refused one keeps all of them;
  - onnx.checker (full check) accepts out.onnx;
  - onnxruntime outputs of model.onnx and out.onnx on the same random
    inputs agree within 1e-5 relative error (printed).

Models: GPT-2-style at opsets 13 (decomposed LayerNorm) and 17, exported
with and without constant folding (the tied head as a Transpose of the
embedding table, or as its own folded copy), without any linear bias,
GPT-J/Phi-style parallel blocks, a ViT with a conv patch embedding, class
token and position table, and BERT-style Post-LN (refused whole).

Usage: run_pre_ln_to_rms.py [-k SUBSTRING]
"""
import os
import sys

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402
import models  # noqa: E402

TOLERANCE = 1e-5


# name: (constructor, opset, input maker, outputs, constant folding,
#        expected {"converted": n, "refused": m})
# A name ending in `_compress` runs the pass with compress=1 (CRMSNorm) on
# the model of the name without it.
TOKENS, LOGITS = models.token_inputs(), ["logits"]
CASES = {
    "gpt2_opset17": (models.GPT2, 17, TOKENS, LOGITS, True, {"converted": 5, "refused": 0}),
    "gpt2_opset17_tied": (models.GPT2, 17, TOKENS, LOGITS, False,
                          {"converted": 5, "refused": 0}),
    "gpt2_opset13": (models.GPT2, 13, TOKENS, LOGITS, True, {"converted": 5, "refused": 0}),
    "gpt2_opset13_tied": (models.GPT2, 13, TOKENS, LOGITS, False,
                          {"converted": 5, "refused": 0}),
    "gpt2_nobias_opset17": (lambda: models.GPT2(bias=False), 17, TOKENS, LOGITS, True,
                            {"converted": 5, "refused": 0}),
    "gptj_parallel_opset17": (models.GPTJ, 17, TOKENS, LOGITS, True,
                              {"converted": 3, "refused": 0}),
    "vit_patch_opset17": (models.ViT, 17, models.image_inputs, LOGITS, True,
                          {"converted": 5, "refused": 0}),
    "bert_postln_opset17": (models.Bert, 17, models.token_inputs(types=True),
                            ["last_hidden_state", "pooler_output"], True,
                            {"converted": 0, "refused": 5}),
}
for _name in ("gpt2_opset17", "gpt2_opset17_tied", "gpt2_opset13", "gpt2_nobias_opset17",
              "gptj_parallel_opset17"):
    CASES[_name + "_compress"] = CASES[_name]


def export(name, path):
    ctor, opset, make_inputs, outputs, fold, _ = CASES[name]
    model, inputs = models.instantiate(ctor, make_inputs)
    models.export_module(model, inputs, path, opset, outputs, do_constant_folding=fold)
    return {k: v.numpy() for k, v in inputs.items()}


def check_case(name, work, ort):
    """Returns (problems, detail) for one case."""
    expected = CASES[name][-1]
    model_path = os.path.join(work, f"{name}.onnx")
    out_path = os.path.join(work, f"{name}.rms.onnx")
    inputs = export(name, model_path)
    compress = name.endswith("_compress")
    report, error = e2e.optimize(model_path, out_path, os.path.join(work, f"{name}.json"),
                                 ["--norm-pre-ln-to-rms=compress=1" if compress
                                  else "--norm-pre-ln-to-rms"])
    if error:
        return [error], ""
    counts = report["counts"]
    got = {k: counts.get(k, 0) for k in expected}
    detail = f"converted {got['converted']}, refused {got['refused']}"
    problems = []
    if got != expected:
        problems.append(f"report counts {got}, expected {expected}")
    kind = "crms_norm" if compress else "rms_norm"
    if counts.get(kind, 0) != expected["converted"]:
        problems.append(f"{counts.get(kind, 0)} {kind} ops, expected {expected['converted']}")
    if expected["refused"] == 0:
        if counts.get("layer_norm", 0):
            problems.append(f"{counts['layer_norm']} LayerNorm(s) left in the IR")
        if "LayerNormalization" in e2e.op_types(onnx.load(out_path)):
            problems.append("a LayerNormalization node is left in the output")
    checker_error = e2e.check_model(out_path)
    if checker_error:
        problems.append(checker_error)
    ref_job = ort.add(model_path, inputs)
    out_job = ort.add(out_path, inputs)
    results = ort.run()
    (ref, e1), (out, e2) = results[ref_job], results[out_job]
    if e1 or e2:
        return problems + [e1 or e2], detail
    worst = e2e.worst_rel_err(out, ref)
    detail += f", rel err {worst:.2e}"
    if worst > TOLERANCE:
        problems.append(f"rel err {worst:.2e} > {TOLERANCE}")
    return problems, detail


def main():
    args = e2e.argument_parser(__doc__).parse_args()
    suite = e2e.Suite("preln")
    for name in CASES:
        if args.k not in name:
            continue
        try:
            problems, detail = check_case(name, suite.work, suite.ort)
        except Exception as exc:  # a crash is a failure of this case only
            problems, detail = [f"{type(exc).__name__}: {exc}"], ""
        suite.record(name, problems, detail)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
