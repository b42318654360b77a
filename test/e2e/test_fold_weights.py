#!/usr/bin/env python3
"""End-to-end numerics of --norm-fold-weights, --norm-defer-scale and
--norm-optimize on transformer-shaped models with random, non-trivial norm
weights (gamma != 1, beta != 0).

For each model: export the original ONNX, run norm-opt with each pass, run the
original and every rewritten model in onnxruntime (the Node package
onnxruntime-node) on the same random inputs, and require

  * relative error ||out - ref|| / ||ref|| <= 1e-5 on every output, and
  * every norm of the model folded (the report's last action for each norm is
    "folded", or "deferred" after --norm-defer-scale).

Models:
  gpt2     PyTorch GPT-2-style: LayerNorm (opset 17 LayerNormalization),
           fused QKV with bias, GELU MLP, final norm into the LM head tied to
           the token embedding (exported with do_constant_folding=False, so
           the head reads Transpose(wte) and Gather reads wte).
  llama    Llama-style built with onnx.helper: opset-23 RMSNormalization
           nodes, separate Q/K/V, SwiGLU, no biases, untied head.
  gemma    The llama graph with every RMSNorm gain read as (1 + w) (the
           Gemma convention, norm.rms_norm unit_offset): the reference is
           norm-opt's own export of that graph.
  llama-torch-{plain,hf,divide}
           PyTorch Llama-style exports whose RMSNorm is a decomposed chain
           in three spellings. They need decomposed-RMSNorm recognition;
           when the build does not recognize them the case is reported as
           SKIP (not as a pass).

Usage: test_fold_weights.py [--norm-opt PATH] [--ort-node-modules DIR]
Exit status 0 when every case that ran passed.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOLERANCE = 1e-5

RUNNER_JS = r"""
// node runner.js spec.json: runs each model on raw input files, writes the
// outputs; with spec.runs > 0 also times the models, interleaved run by run
// so that a load change on the machine affects all of them alike.
const ort = require('onnxruntime-node');
const fs = require('fs');
const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
function load(input) {
  const buf = fs.readFileSync(input.file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = input.type === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
  return new ort.Tensor(input.type, data, input.dims);
}
(async () => {
  const opts = {intraOpNumThreads: spec.threads || 1, interOpNumThreads: 1,
                executionMode: 'sequential',
                graphOptimizationLevel: spec.opt_level || 'all'};
  const feeds = {};
  for (const input of spec.inputs) feeds[input.name] = load(input);
  const sessions = [];
  for (const model of spec.models)
    sessions.push(await ort.InferenceSession.create(model.path, opts));
  const result = {};
  for (const [i, model] of spec.models.entries()) {
    const out = await sessions[i].run(feeds);  // also the warm-up run
    const outputs = {};
    for (const name of sessions[i].outputNames) {
      const file = model.path + '.' + name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.out';
      fs.writeFileSync(file, Buffer.from(out[name].data.buffer, out[name].data.byteOffset,
                                         out[name].data.byteLength));
      outputs[name] = {file: file, dims: out[name].dims};
    }
    result[model.path] = {outputs: outputs, times_ms: []};
  }
  for (let r = 0; r < (spec.runs || 0); ++r)
    for (const [i, model] of spec.models.entries()) {
      const t0 = process.hrtime.bigint();
      await sessions[i].run(feeds);
      result[model.path].times_ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  fs.writeFileSync(spec.result, JSON.stringify(result));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def find_node_modules(given):
    for candidate in [given, os.environ.get("ORT_NODE_MODULES"),
                      os.path.join(ROOT, "node_modules"),
                      os.path.join(HERE, "node_modules"),
                      "/tmp/ortprobe/node_modules"]:
        if candidate and os.path.isdir(os.path.join(candidate, "onnxruntime-node")):
            return candidate
    sys.exit("onnxruntime-node not found: pass --ort-node-modules DIR (npm: "
             "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node)")


def run_ort(workdir, node_modules, models, inputs, runs=0, threads=1):
    """Runs each model in onnxruntime-node on `inputs` (name -> array);
    returns {model: {"outputs": {name: array}, "times_ms": [...]}}."""
    runner = os.path.join(workdir, "runner.js")
    with open(runner, "w") as f:
        f.write(RUNNER_JS)
    spec_inputs = []
    for name, value in inputs.items():
        path = os.path.join(workdir, "input_%s.bin" % re.sub(r"\W", "_", name))
        value.tofile(path)
        spec_inputs.append({"name": name, "file": path, "dims": list(value.shape),
                            "type": "int64" if value.dtype == np.int64 else "float32"})
    spec = {"models": [{"path": m} for m in models], "inputs": spec_inputs,
            "runs": runs, "threads": threads,
            "result": os.path.join(workdir, "ort_result.json")}
    spec_path = os.path.join(workdir, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env = dict(os.environ, NODE_PATH=node_modules)
    subprocess.run(["node", runner, spec_path], check=True, env=env)
    with open(spec["result"]) as f:
        result = json.load(f)
    for model in result.values():
        model["outputs"] = {
            name: np.fromfile(o["file"], dtype=np.float32).reshape(o["dims"])
            for name, o in model["outputs"].items()}
    return result


def norm_opt(tool, args, check=True):
    proc = subprocess.run([tool] + args, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError("norm-opt %s failed:\n%s" % (" ".join(args), proc.stderr))
    return proc


# --- Models ------------------------------------------------------------------

def randomize_norms(module, rng):
    """Non-trivial norm weights: gamma around 1 with spread, beta != 0."""
    import torch
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(torch.from_numpy(1 + 0.5 * rng.standard_normal(m.weight.shape)))
                m.bias.copy_(torch.from_numpy(0.3 * rng.standard_normal(m.bias.shape)))
            elif hasattr(m, "rms_weight"):
                m.rms_weight.copy_(torch.from_numpy(m.init_offset + 0.5 *
                                                    rng.standard_normal(m.rms_weight.shape)))


def gpt2_model(d=64, heads=4, layers=2, vocab=97, ctx=128):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.c_attn = nn.Linear(d, 3 * d)
            self.attn_proj = nn.Linear(d, d)
            self.ln_2 = nn.LayerNorm(d)
            self.c_fc = nn.Linear(d, 4 * d)
            self.mlp_proj = nn.Linear(4 * d, d)

        def forward(self, x, mask):
            b, t, c = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
            q = q.view(b, t, heads, c // heads).transpose(1, 2)
            k = k.view(b, t, heads, c // heads).transpose(1, 2)
            v = v.view(b, t, heads, c // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / (c // heads) ** 0.5) + mask
            y = F.softmax(att, dim=-1) @ v
            y = y.transpose(1, 2).reshape(b, t, c)
            x = x + self.attn_proj(y)
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))

    class GPT2(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(ctx, d)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(d)

        def forward(self, ids):
            t = ids.shape[1]
            mask = torch.triu(torch.full((t, t), -1e9), diagonal=1)
            x = self.wte(ids) + self.wpe(torch.arange(t))
            for block in self.blocks:
                x = block(x, mask)
            return F.linear(self.ln_f(x), self.wte.weight)  # tied LM head

    return GPT2()


def export_torch(model, path, batch, seq, vocab, constant_folding):
    import torch
    ids = torch.randint(0, vocab, (batch, seq))
    model.eval()
    torch.onnx.export(model, (ids,), path, opset_version=17,
                      do_constant_folding=constant_folding,
                      input_names=["ids"], output_names=["logits"])


class TorchRMSNorm:
    """Factory of RMSNorm modules in three exported spellings."""

    @staticmethod
    def make(d, spelling, eps=1e-6, unit_offset=False):
        import torch
        import torch.nn as nn

        class RMSNorm(nn.Module):
            def __init__(self):
                super().__init__()
                self.init_offset = 0.0 if unit_offset else 1.0
                self.rms_weight = nn.Parameter(torch.ones(d))

            def forward(self, x):
                w = (1 + self.rms_weight) if unit_offset else self.rms_weight
                if spelling == "plain":
                    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
                if spelling == "hf":
                    dtype = x.dtype
                    h = x.to(torch.float32)
                    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
                    return w * h.to(dtype)
                return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w

        return RMSNorm()


def llama_torch_model(spelling, d=64, ff=160, layers=2, vocab=97, unit_offset=False):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def norm():
        return TorchRMSNorm.make(d, spelling, unit_offset=unit_offset)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1 = norm()
            self.q = nn.Linear(d, d, bias=False)
            self.k = nn.Linear(d, d, bias=False)
            self.v = nn.Linear(d, d, bias=False)
            self.o = nn.Linear(d, d, bias=False)
            self.n2 = norm()
            self.gate = nn.Linear(d, ff, bias=False)
            self.up = nn.Linear(d, ff, bias=False)
            self.down = nn.Linear(ff, d, bias=False)

        def forward(self, x, mask):
            h = self.n1(x)
            att = self.q(h) @ self.k(h).transpose(-2, -1) * (d ** -0.5) + mask
            x = x + self.o(F.softmax(att, dim=-1) @ self.v(h))
            h = self.n2(x)
            return x + self.down(F.silu(self.gate(h)) * self.up(h))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.norm = norm()
            self.head = nn.Linear(d, vocab, bias=False)

        def forward(self, ids):
            t = ids.shape[1]
            mask = torch.triu(torch.full((t, t), -1e9), diagonal=1)
            x = self.embed(ids)
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.norm(x))

    return Llama()


def llama_onnx_model(path, rng, d=64, ff=160, layers=2, vocab=97, eps=1e-6,
                     gain_offset=1.0):
    """Llama-style graph with opset-23 RMSNormalization nodes. Norm gains are
    gain_offset + 0.5 N(0, 1) (gain_offset 0 for the Gemma (1 + w) form)."""
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def weight(name, shape, scale):
        inits.append(numpy_helper.from_array(
            (scale * rng.standard_normal(shape)).astype(np.float32), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def rms(x, name):
        g = weight(name + ".weight", [d], 0.5)
        inits[-1] = numpy_helper.from_array(
            (gain_offset + numpy_helper.to_array(inits[-1])).astype(np.float32), g)
        return node("RMSNormalization", [x, g], name, axis=-1, epsilon=eps)

    def linear(x, name, k, n):
        return node("MatMul", [x, weight(name + ".weight", [k, n], k ** -0.5)], name)

    x = node("Gather", [weight("embed", [vocab, d], 1.0), "ids"], "embed_out")
    scale = numpy_helper.from_array(np.array(d ** -0.5, np.float32), "att_scale")
    inits.append(scale)
    for i in range(layers):
        p = "l%d." % i
        h = rms(x, p + "n1")
        q = linear(h, p + "q", d, d)
        k = linear(h, p + "k", d, d)
        v = linear(h, p + "v", d, d)
        kt = node("Transpose", [k], p + "kt", perm=[0, 2, 1])
        s = node("MatMul", [q, kt], p + "scores")
        s = node("Mul", [s, "att_scale"], p + "scaled")
        s = node("Add", [s, "mask"], p + "masked")
        a = node("Softmax", [s], p + "probs", axis=-1)
        a = node("MatMul", [a, v], p + "attn")
        x = node("Add", [x, linear(a, p + "o", d, d)], p + "res1")
        h = rms(x, p + "n2")
        g = linear(h, p + "gate", d, ff)
        u = linear(h, p + "up", d, ff)
        sig = node("Sigmoid", [g], p + "sig")
        silu = node("Mul", [g, sig], p + "silu")
        m = node("Mul", [silu, u], p + "glu")
        x = node("Add", [x, linear(m, p + "down", ff, d)], p + "res2")
    h = rms(x, "final_norm")
    nodes.append(helper.make_node(
        "MatMul", [h, weight("head.weight", [d, vocab], d ** -0.5)], ["logits"],
        name="head"))
    graph = helper.make_graph(
        nodes, "llama",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B", "T"]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["T", "T"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", vocab])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 10
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def norm_linear_norm_model(path, rng, d=64, n=48, eps=1e-6):
    """x -> RMSNorm -> bias-free MatMul -> RMSNorm -> MatMul: the pattern the
    cancel-before-rms-norm option of --norm-defer-scale targets. Both norms
    count: the second one must be deferred too (its reader is linear)."""
    from onnx import TensorProto, helper, numpy_helper
    inits = [
        numpy_helper.from_array((1 + 0.5 * rng.standard_normal(d)).astype(np.float32), "g1"),
        numpy_helper.from_array((d ** -0.5 * rng.standard_normal((d, n))).astype(np.float32), "w1"),
        numpy_helper.from_array((1 + 0.5 * rng.standard_normal(n)).astype(np.float32), "g2"),
        numpy_helper.from_array((n ** -0.5 * rng.standard_normal((n, d))).astype(np.float32), "w2"),
    ]
    nodes = [
        helper.make_node("RMSNormalization", ["x", "g1"], ["n1"], name="n1", axis=-1,
                         epsilon=eps),
        helper.make_node("MatMul", ["n1", "w1"], ["p1"], name="p1"),
        helper.make_node("RMSNormalization", ["p1", "g2"], ["n2"], name="n2", axis=-1,
                         epsilon=eps),
        helper.make_node("MatMul", ["n2", "w2"], ["y"], name="p2"),
    ]
    graph = helper.make_graph(
        nodes, "norm_linear_norm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16, d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16, d])], inits,
        # onnx 1.12 cannot infer RMSNormalization (opset 23): declare the
        # intermediate types, as exporters that write value_info do.
        value_info=[helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 16, k])
                    for name, k in [("n1", d), ("p1", n), ("n2", n)]])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    model.ir_version = 10
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


# --- Checks ------------------------------------------------------------------

def rel_err(out, ref):
    return float(np.linalg.norm(out.astype(np.float64) - ref) /
                 max(np.linalg.norm(ref.astype(np.float64)), 1e-30))


def norms_done(report, expected_actions):
    """(all done, number of norms, summary) from a norm-opt report."""
    norms = report.get("norms", [])
    recognized = [n for n in norms if any(h["action"] == "recognized"
                                          for h in n["history"])]
    # Norms that came from an MLIR input have no "recognized" record.
    considered = recognized or norms
    not_done = [n for n in considered if n["action"] not in expected_actions]
    summary = "%d norm(s), %d %s" % (len(considered), len(considered) - len(not_done),
                                     "/".join(expected_actions))
    for n in not_done:
        summary += "\n      not done: %s (%s): %s - %s" % (
            n["name"], n["kind"], n["action"], n.get("reason", ""))
    return bool(considered) and not not_done, len(considered), summary


def make_inputs(rng, batch, seq, vocab, with_mask):
    inputs = {"ids": rng.integers(0, vocab, (batch, seq)).astype(np.int64)}
    if with_mask:
        inputs["mask"] = np.triu(np.full((seq, seq), -1e9, np.float32), k=1)
    return inputs


def run_case(name, tool, node_modules, workdir, original, variants, inputs,
             results, skip_if_unrecognized=False):
    """variants: list of (label, norm-opt args, expected final actions)."""
    models, reports = [original], {}
    for label, args, _ in variants:
        out = os.path.join(workdir, "%s.%s.onnx" % (name, label))
        report = out + ".json"
        norm_opt(tool, [original, "-o", out, "--report", report] + args)
        with open(report) as f:
            reports[label] = json.load(f)
        models.append(out)
    if skip_if_unrecognized:
        if not reports[variants[0][0]].get("norms"):
            results.append((name, "SKIP", "no norm recognized in this export "
                            "(needs decomposed-RMSNorm recognition)"))
            print("SKIP %s: no norm recognized" % name)
            return
    ort = run_ort(workdir, node_modules, models, inputs)
    ref = ort[original]["outputs"]
    for (label, args, expected), path in zip(variants, models[1:]):
        errs = {o: rel_err(ort[path]["outputs"][o], ref[o]) for o in ref}
        worst = max(errs.values())
        done, count, summary = norms_done(reports[label], expected)
        ok = worst <= TOLERANCE and done
        line = "%s %s [%s]: rel err %.3g; %s" % (
            "PASS" if ok else "FAIL", name, " ".join(args), worst, summary)
        print(line)
        results.append((name + " " + label, "PASS" if ok else "FAIL", line))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--norm-opt", default=os.path.join(ROOT, "build", "bin", "norm-opt"))
    parser.add_argument("--ort-node-modules", default=None)
    parser.add_argument("--keep", help="keep the models in this directory")
    args = parser.parse_args()
    tool = os.path.abspath(args.norm_opt)
    node_modules = find_node_modules(args.ort_node_modules)

    import torch
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    workdir = args.keep or tempfile.mkdtemp(prefix="fold_e2e_")
    os.makedirs(workdir, exist_ok=True)
    results = []
    batch, seq, vocab = 2, 16, 97

    fold = ("fold", ["--norm-fold-weights"], ["folded"])
    optimize = ("optimize", ["--norm-optimize"], ["folded"])
    defer = ("defer", ["--norm-fold-weights", "--norm-defer-scale"], ["deferred"])

    # GPT-2-style, tied head, no constant folding.
    gpt2 = gpt2_model(vocab=vocab)
    randomize_norms(gpt2, rng)
    gpt2_path = os.path.join(workdir, "gpt2.onnx")
    export_torch(gpt2, gpt2_path, batch, seq, vocab, constant_folding=False)
    run_case("gpt2", tool, node_modules, workdir, gpt2_path, [fold, optimize],
             make_inputs(rng, batch, seq, vocab, False), results)

    # Llama-style with explicit RMSNormalization (opset 23).
    llama_path = os.path.join(workdir, "llama.onnx")
    llama_onnx_model(llama_path, rng, vocab=vocab)
    llama_inputs = make_inputs(rng, batch, seq, vocab, True)
    run_case("llama", tool, node_modules, workdir, llama_path, [fold, optimize, defer],
             llama_inputs, results)

    # Gemma: the same graph with (1 + w) gains. norm-opt's MLIR of the model
    # gets unit_offset on every rms_norm; its plain export is the reference.
    gemma_onnx = os.path.join(workdir, "gemma_w.onnx")
    llama_onnx_model(gemma_onnx, rng, vocab=vocab, gain_offset=0.0)
    # Debug info keeps the node names (NameLocs) through the text form.
    mlir = norm_opt(tool, [gemma_onnx, "--emit=mlir", "-o", "-",
                           "--mlir-print-debuginfo"]).stdout
    mlir, n = re.subn(r"(norm\.rms_norm %\S+ scale\([^)]*\) \{)", r"\1unit_offset, ", mlir)
    assert n == 5, "expected 5 rms_norm ops, found %d" % n
    gemma_mlir = os.path.join(workdir, "gemma.mlir")
    with open(gemma_mlir, "w") as f:
        f.write(mlir)
    gemma_ref = os.path.join(workdir, "gemma.onnx")
    norm_opt(tool, [gemma_mlir, "-o", gemma_ref])
    gemma_variants = []
    models = [gemma_ref]
    reports = {}
    for label, pargs, expected in [fold, optimize, defer]:
        out = os.path.join(workdir, "gemma.%s.onnx" % label)
        norm_opt(tool, [gemma_mlir, "-o", out, "--report", out + ".json"] + pargs)
        with open(out + ".json") as f:
            reports[label] = json.load(f)
        models.append(out)
        gemma_variants.append((label, pargs, expected))
    ort = run_ort(workdir, node_modules, models, llama_inputs)
    ref = ort[gemma_ref]["outputs"]
    for (label, pargs, expected), path in zip(gemma_variants, models[1:]):
        worst = max(rel_err(ort[path]["outputs"][o], ref[o]) for o in ref)
        done, count, summary = norms_done(reports[label], expected)
        ok = worst <= TOLERANCE and done and count == 5
        line = "%s gemma [%s]: rel err %.3g; %s" % (
            "PASS" if ok else "FAIL", " ".join(pargs), worst, summary)
        print(line)
        results.append(("gemma " + label, "PASS" if ok else "FAIL", line))

    # RMSNorm -> linear -> RMSNorm: exact deferral, and the approximate
    # cancellation (its error is printed; the pass documents ~1e-6). The
    # input has mean(x^2) = 9, far from 1, which is what makes the first
    # norm's factor matter to the second norm's epsilon.
    nln_path = os.path.join(workdir, "norm_linear_norm.onnx")
    norm_linear_norm_model(nln_path, rng)
    nln_inputs = {"x": (3 * rng.standard_normal((2, 16, 64))).astype(np.float32)}
    cancel = ("cancel", ["--norm-fold-weights",
                         "--norm-defer-scale=cancel-before-rms-norm"], ["deferred"])
    run_case("norm-linear-norm", tool, node_modules, workdir, nln_path,
             [fold, defer, cancel], nln_inputs, results)

    # PyTorch Llama exports in three RMSNorm spellings (decomposed chains).
    for spelling in ["plain", "hf", "divide"]:
        model = llama_torch_model(spelling, vocab=vocab)
        randomize_norms(model, rng)
        path = os.path.join(workdir, "llama_torch_%s.onnx" % spelling)
        export_torch(model, path, batch, seq, vocab, constant_folding=True)
        run_case("llama-torch-" + spelling, tool, node_modules, workdir, path,
                 [fold, optimize], make_inputs(rng, batch, seq, vocab, False),
                 results, skip_if_unrecognized=True)

    passed = sum(1 for r in results if r[1] == "PASS")
    failed = sum(1 for r in results if r[1] == "FAIL")
    skipped = sum(1 for r in results if r[1] == "SKIP")
    print("%d passed, %d failed, %d skipped (models in %s)" % (passed, failed, skipped,
                                                              workdir))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
