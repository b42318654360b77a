#!/usr/bin/env python3
"""onnxruntime CPU latency of the original model vs the `--norm-optimize`
output, for a GPT-2-style and a Llama-style model (batch 4, sequence 128, one
thread, median of N >= 30 runs after one warm-up run), all in one run. The
models of one case are timed interleaved, run by run. A third column times
the plain round trip through norm-opt (no rewrite), so that the effect of
folding is told apart from the effect of re-exporting.

The models are the ones of test/e2e/test_fold_weights.py at a larger size
(hidden 256, 4 layers, vocabulary 2048). Both variants of a model run in the
same Node process, one after the other, on the same inputs; the relative
error of the optimized output is printed with the timings.

Usage: fold_latency.py [--norm-opt PATH] [--ort-node-modules DIR] [--runs N]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
import test_fold_weights as e2e  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--norm-opt", default=os.path.join(ROOT, "build", "bin", "norm-opt"))
    parser.add_argument("--ort-node-modules", default=None)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", help="keep the models in this directory")
    args = parser.parse_args()
    if args.runs < 30:
        sys.exit("--runs must be at least 30")
    tool = os.path.abspath(args.norm_opt)
    node_modules = e2e.find_node_modules(args.ort_node_modules)

    import torch
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    workdir = args.keep or tempfile.mkdtemp(prefix="fold_bench_")
    os.makedirs(workdir, exist_ok=True)
    batch, seq, d, layers, vocab = 4, 128, 256, 4, 2048

    cases = []
    gpt2 = e2e.gpt2_model(d=d, heads=4, layers=layers, vocab=vocab, ctx=seq)
    e2e.randomize_norms(gpt2, rng)
    path = os.path.join(workdir, "gpt2.onnx")
    e2e.export_torch(gpt2, path, batch, seq, vocab, constant_folding=False)
    cases.append(("GPT-2-style (LayerNorm, tied head)", path,
                  e2e.make_inputs(rng, batch, seq, vocab, False)))
    path = os.path.join(workdir, "llama.onnx")
    e2e.llama_onnx_model(path, rng, d=d, ff=688, layers=layers, vocab=vocab)
    cases.append(("Llama-style (RMSNorm, SwiGLU)", path,
                  e2e.make_inputs(rng, batch, seq, vocab, True)))

    print("onnxruntime-node CPU, 1 thread, batch %d, seq %d, hidden %d, %d layers, "
          "vocab %d; median of %d runs" % (batch, seq, d, layers, vocab, args.runs))
    print("%-36s %9s %10s %10s %9s %9s %9s" % (
        "model", "original", "round-trip", "optimized", "vs orig", "vs r-trip",
        "rel err"))
    for label, original, inputs in cases:
        # The round trip (import, recognize, export, no rewrite) separates
        # what the export changes from what folding changes.
        roundtrip = original.replace(".onnx", ".roundtrip.onnx")
        e2e.norm_opt(tool, [original, "-o", roundtrip])
        optimized = original.replace(".onnx", ".opt.onnx")
        e2e.norm_opt(tool, [original, "-o", optimized, "--norm-optimize",
                            "--report", optimized + ".json"])
        models = [original, roundtrip, optimized]
        result = e2e.run_ort(workdir, node_modules, models, inputs,
                             runs=args.runs, threads=1)
        t = [float(np.median(result[m]["times_ms"])) for m in models]
        ref = result[original]["outputs"]
        err = max(e2e.rel_err(result[optimized]["outputs"][o], ref[o]) for o in ref)
        print("%-36s %7.2fms %8.2fms %8.2fms %8.3fx %8.3fx %9.2e" % (
            label, t[0], t[1], t[2], t[0] / t[2], t[1] / t[2], err))


if __name__ == "__main__":
    main()
