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
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402
import models  # noqa: E402

TOLERANCE = 1e-5


class GPTJBlock(nn.Module):
    """GPT-J / Phi: attention and MLP read the same LayerNorm output and both
    write into the stream in one sum."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        h = self.ln(x)
        q, k, v = self.qkv(h).split(x.shape[-1], dim=-1)
        att = models.causal_self_attention(q, k, v, self.heads, causal=True)
        return x + self.proj(att) + self.fc2(F.gelu(self.fc(h)))


class GPTJ(models.GPT2):
    def __init__(self, **kw):
        super().__init__(**kw)
        d, heads = self.wte.weight.shape[1], 4
        self.h = nn.ModuleList(GPTJBlock(d, heads) for _ in range(len(self.h)))


def gpt2_without_biases():
    model = models.GPT2()
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.register_parameter("bias", None)
    return model


class ViTBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x):
        q, k, v = self.qkv(self.ln_1(x)).split(x.shape[-1], dim=-1)
        x = x + self.proj(models.causal_self_attention(q, k, v, self.heads, causal=False))
        return x + self.fc2(F.gelu(self.fc(self.ln_2(x))))


class ViT(nn.Module):
    """Pre-LN ViT: conv patch embedding, class token, learned positions."""

    def __init__(self, d=32, heads=4, layers=2, image=16, patch=4, classes=10):
        super().__init__()
        tokens = (image // patch) ** 2 + 1
        self.patch = nn.Conv2d(3, d, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, tokens, d))
        self.blocks = nn.ModuleList(ViTBlock(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, image):
        x = self.patch(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x)[:, 0])


def tokens(g):
    return {"input_ids": torch.randint(0, 96, (2, 8), generator=g)}


def images(g):
    return {"image": torch.randn(2, 3, 16, 16, generator=g)}


# name: (constructor, opset, inputs, outputs, constant folding,
#        expected {"converted": n, "refused": m})
# A name ending in `_compress` runs the pass with compress=1 (CRMSNorm) on
# the model of the name without it.
CASES = {
    "gpt2_opset17": (models.GPT2, 17, tokens, ["logits"], True, {"converted": 5, "refused": 0}),
    "gpt2_opset17_tied": (models.GPT2, 17, tokens, ["logits"], False, {"converted": 5, "refused": 0}),
    "gpt2_opset13": (models.GPT2, 13, tokens, ["logits"], True, {"converted": 5, "refused": 0}),
    "gpt2_opset13_tied": (models.GPT2, 13, tokens, ["logits"], False, {"converted": 5, "refused": 0}),
    "gpt2_nobias_opset17": (gpt2_without_biases, 17, tokens, ["logits"], True,
                            {"converted": 5, "refused": 0}),
    "gptj_parallel_opset17": (GPTJ, 17, tokens, ["logits"], True, {"converted": 3, "refused": 0}),
    "vit_patch_opset17": (ViT, 17, images, ["logits"], True, {"converted": 5, "refused": 0}),
    "bert_postln_opset17": (models.Bert, 17,
                            lambda g: models._token_inputs(types=True)(g),
                            ["last_hidden_state", "pooler_output"], True,
                            {"converted": 0, "refused": 5}),
}
for _name in ("gpt2_opset17", "gpt2_opset17_tied", "gpt2_opset13", "gpt2_nobias_opset17",
              "gptj_parallel_opset17"):
    CASES[_name + "_compress"] = CASES[_name]


def export(name, path):
    ctor, opset, make_inputs, outputs, fold, _ = CASES[name]
    torch.manual_seed(0)
    model = ctor().eval()
    models.set_nontrivial_norm_params(model, 1)
    inputs = make_inputs(torch.Generator().manual_seed(2))
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
    worst = max(e2e.rel_err(b, a) for (_, a), (_, b) in zip(ref, out))
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
