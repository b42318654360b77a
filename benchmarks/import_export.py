#!/usr/bin/python3
"""Import/export benchmark: norm-opt against onnxruntime's offline optimizer
on a GPT-2-small-sized model (124M parameters, fp32, 12 layers, d = 768,
vocabulary 50257, 1024 positions, tied LM head).

The ONNX graph is built directly with onnx.helper and random numpy weights
and written once to a temporary directory. Then, each --repeat times:
  norm-opt model.onnx -o out.onnx
  onnxruntime (Node): InferenceSession.create(model.onnx,
      {graphOptimizationLevel: 'all', optimizedModelFilePath: ...})
measuring the wall time and peak RSS of each child process (os.wait4), and
prints a side-by-side table of the best time and the largest peak RSS, with
ratios and the file size. The model file is read from the page cache (it was
just written). --verify also checks that onnxruntime computes the same
logits from model.onnx and out.onnx.

  benchmarks/import_export.py [--opset 13|17] [--repeat 3] [--verify]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
import e2e_common as e2e  # noqa: E402

LAYERS, D, HEADS, VOCAB, POSITIONS = 12, 768, 12, 50257, 1024


class GraphBuilder:
    def __init__(self, opset, seed):
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.params = 0
        self.count = 0

    def weight(self, name, shape, scale=0.02, offset=0.0):
        w = (offset + scale * self.rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
        self.params += w.size
        self.inits.append(numpy_helper.from_array(w, name))
        return name

    def const(self, name, value, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
        return name

    def node(self, op, inputs, scope, n_out=1, **attrs):
        self.count += 1
        name = f"{scope}/{op}_{self.count}"
        outs = [f"{name}_out{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def layer_norm(self, x, scope):
        gamma = self.weight(f"{scope}.weight", [D], 0.1, 1.0)
        beta = self.weight(f"{scope}.bias", [D], 0.1)
        if self.opset >= 17:
            return self.node("LayerNormalization", [x, gamma, beta], scope, axis=-1,
                             epsilon=1e-5)
        # The chain torch.onnx.export writes at opsets 13/14.
        mean = self.node("ReduceMean", [x], scope, axes=[-1])
        centered = self.node("Sub", [x, mean], scope)
        square = self.node("Pow", [centered, "two"], scope)
        var = self.node("ReduceMean", [square], scope, axes=[-1])
        std = self.node("Sqrt", [self.node("Add", [var, "ln_eps"], scope)], scope)
        normalized = self.node("Div", [centered, std], scope)
        return self.node("Add", [self.node("Mul", [normalized, gamma], scope), beta], scope)

    def linear(self, x, scope, d_in, d_out):
        w = self.weight(f"{scope}.weight", [d_in, d_out])
        b = self.weight(f"{scope}.bias", [d_out])
        return self.node("Add", [self.node("MatMul", [x, w], scope), b], scope)

    def gelu(self, x, scope):
        cube = self.node("Pow", [x, "three"], scope)
        inner = self.node("Add", [x, self.node("Mul", [cube, "gelu_c"], scope)], scope)
        t = self.node("Tanh", [self.node("Mul", [inner, "gelu_s"], scope)], scope)
        return self.node("Mul", [self.node("Mul", [x, "half"], scope),
                                 self.node("Add", [t, "one"], scope)], scope)

    def attention(self, x, scope):
        qkv = self.linear(x, f"{scope}.c_attn", D, 3 * D)
        q, k, v = self.node("Split", [qkv, "split3"], scope, n_out=3, axis=-1)
        heads = []
        for z, perm in ((q, [0, 2, 1, 3]), (k, [0, 2, 3, 1]), (v, [0, 2, 1, 3])):
            z = self.node("Reshape", [z, "heads_shape"], scope)
            heads.append(self.node("Transpose", [z], scope, perm=perm))
        q, k, v = heads
        scores = self.node("Div", [self.node("MatMul", [q, k], scope), "sqrt_dh"], scope)
        probs = self.node("Softmax", [self.node("Add", [scores, "causal_mask"], scope)],
                          scope, axis=-1)
        y = self.node("Transpose", [self.node("MatMul", [probs, v], scope)], scope,
                      perm=[0, 2, 1, 3])
        y = self.node("Reshape", [y, "model_shape"], scope)
        return self.linear(y, f"{scope}.c_proj", D, D)

    def build(self):
        self.const("two", 2.0)
        self.const("three", 3.0)
        self.const("half", 0.5)
        self.const("one", 1.0)
        self.const("gelu_c", 0.044715)
        self.const("gelu_s", np.sqrt(2 / np.pi))
        self.const("ln_eps", 1e-5)
        self.const("sqrt_dh", np.sqrt(D // HEADS))
        self.const("split3", [D, D, D], np.int64)
        self.const("heads_shape", [0, 0, HEADS, D // HEADS], np.int64)
        self.const("model_shape", [0, 0, D], np.int64)
        wte = self.weight("wte", [VOCAB, D])
        wpe = self.weight("wpe", [POSITIONS, D], 0.01)
        x = self.node("Add", [self.node("Gather", ["wte", "input_ids"], "embed"),
                              self.node("Gather", [wpe, "position_ids"], "embed")], "embed")
        for i in range(LAYERS):
            s = f"h.{i}"
            x = self.node("Add", [x, self.attention(self.layer_norm(x, f"{s}.ln_1"),
                                                    f"{s}.attn")], s)
            h = self.linear(self.layer_norm(x, f"{s}.ln_2"), f"{s}.mlp.c_fc", D, 4 * D)
            x = self.node("Add", [x, self.linear(self.gelu(h, s), f"{s}.mlp.c_proj", 4 * D, D)], s)
        x = self.layer_norm(x, "ln_f")
        # Tied LM head: the embedding table, transposed.
        wte_t = self.node("Transpose", [wte], "lm_head", perm=[1, 0])
        self.nodes.append(helper.make_node("MatMul", [x, wte_t], ["logits"], name="lm_head"))
        graph = helper.make_graph(
            self.nodes, "gpt2_small",
            [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
             helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "seq"]),
             helper.make_tensor_value_info("causal_mask", TensorProto.FLOAT, ["seq", "seq"])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", VOCAB])],
            self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 producer_name="norm-opt benchmark")


# Runs argv and prints "wall_seconds peak_rss_kib exit_code". Linux carries
# the RSS high-water mark of a process over exec(), so a child forked from
# this (large) Python process would report at least our own peak: the tool
# is forked from this small `python3 -S` instead.
MEASURE = """
import os, sys, time, subprocess
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
err = proc.stderr.read().decode(errors="replace")
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
sys.stdout.write(err[-800:])
"""


def measure(argv, cwd=None):
    """(wall s, CPU s, peak RSS bytes) of one run of argv; raises on failure."""
    proc = subprocess.run([sys.executable, "-S", "-c", MEASURE, *argv], cwd=cwd,
                          capture_output=True, text=True, check=True)
    first, _, rest = proc.stdout.partition("\n")
    wall, cpu, rss_kib, code = first.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({code}): {rest}")
    return float(wall), float(cpu), int(rss_kib) * 1024


def mb(n):
    return f"{n / 1e6:,.0f} MB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opset", type=int, default=13, choices=[13, 17],
                        help="13: LayerNorm as the decomposed chain torch writes; "
                             "17: LayerNormalization nodes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verify", action="store_true",
                        help="also compare onnxruntime logits of model.onnx and out.onnx")
    parser.add_argument("--keep", help="directory to keep the files in (default: a temp dir)")
    args = parser.parse_args()
    norm_opt = e2e.norm_opt_path()

    work = args.keep or tempfile.mkdtemp(prefix="norm-opt-bench-")
    os.makedirs(work, exist_ok=True)
    model_path = os.path.join(work, "gpt2_small.onnx")
    t0 = time.perf_counter()
    builder = GraphBuilder(args.opset, seed=0)
    model = builder.build()
    onnx.save(model, model_path)
    n_nodes = len(model.graph.node)
    del model
    size = os.path.getsize(model_path)
    print(f"model: GPT-2 small, {builder.params / 1e6:.1f}M parameters, {n_nodes} nodes, "
          f"opset {args.opset}, {mb(size)} ({time.perf_counter() - t0:.1f} s to generate)")

    out_path = os.path.join(work, "out.onnx")
    ort_out = os.path.join(work, "ort_optimized.onnx")
    tools = {
        "norm-opt": [norm_opt, model_path, "-o", out_path],
        "onnxruntime": ["node", e2e.ORT_RUN, model_path, "--opt-level", "all",
                        "--optimized-model", ort_out, "--no-run"],
        "node + onnxruntime, no model": ["node", "-e", "require('onnxruntime-node')"],
    }
    results = {name: [] for name in tools}
    for _ in range(args.repeat):
        for name, argv in tools.items():
            results[name].append(measure(argv, cwd=e2e.E2E_DIR))
    best = {name: (min(w for w, _, _ in runs), min(c for _, c, _ in runs),
                   max(r for _, _, r in runs))
            for name, runs in results.items()}

    print(f"\n{args.repeat} runs each; wall and CPU (user + sys) time = best, "
          f"peak RSS = largest; file {mb(size)}\n")
    header = (f"| {'':32} | {'wall time':>10} | {'CPU time':>10} | {'peak RSS':>10} "
              f"| {'RSS / file':>10} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, (wall, cpu, rss) in best.items():
        print(f"| {name:32} | {wall:9.2f}s | {cpu:9.2f}s | {mb(rss):>10} | {rss / size:9.2f}x |")
    (nw, nc, nr), (ow, oc, orss) = best["norm-opt"], best["onnxruntime"]
    print(f"| {'norm-opt / onnxruntime':32} | {nw / ow:9.2f}x | {nc / oc:9.2f}x "
          f"| {nr / orss:9.2f}x | {'':>10} |")
    print(f"\noutput sizes: norm-opt {mb(os.path.getsize(out_path))}, "
          f"onnxruntime {mb(os.path.getsize(ort_out))}")
    targets = [("norm-opt wall time < 3 s", nw < 3.0),
               ("norm-opt peak RSS < 2x file size", nr < 2 * size),
               ("norm-opt faster than onnxruntime", nw < ow)]
    for text, ok in targets:
        print(f"target: {text}: {'met' if ok else 'MISSED'}")

    status = 0 if all(ok for _, ok in targets) else 1
    if args.verify:
        rng = np.random.default_rng(1)
        seq = 16
        feeds = {"input_ids": rng.integers(0, VOCAB, (1, seq), dtype=np.int64),
                 "position_ids": np.arange(seq, dtype=np.int64)[None],
                 "causal_mask": np.triu(np.full((seq, seq), -1e4, np.float32), 1)}
        ort = e2e.OrtBatch(work)
        ort.add(model_path, feeds)
        ort.add(out_path, feeds)
        (before, e1), (after, e2_) = ort.run()
        if e1 or e2_:
            print(f"verify: {e1 or e2_}")
            status = 1
        else:
            err = e2e.rel_err(after[0][1], before[0][1])
            print(f"verify: logits of out.onnx vs model.onnx: relative error {err:.1e}")
            status |= 0 if err <= 1e-5 else 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
