#!/usr/bin/python3
"""onnxruntime CPU latency of an LN-free-style GPT-2 before and after
`norm-opt --norm-remove-ln`, and the norms' share of kernel time, in one run
(issue 14's benchmark).

The model is GPT-2-small-shaped by default (12 layers, d = 768, 12 heads,
vocab 50257), with every norm a fixed-sigma LayerNorm shipped the LN-free
way (eps = 1e12, gamma * 1e6 / sigma) and the tied LM head. The script
exports it with torch (opset 17), calibrates it (norm-instrument-stats run
in onnxruntime on two random samples), removes every norm with
`--norm-remove-ln=stats=FILE`, checks the outputs on another sample
(<= 1e-5), and times both models in one onnxruntime process: runs
interleaved, median of --runs (>= 30), onnxruntime's default optimization
level. The norms' share is the kernel time onnxruntime's profiler gives the
norm kernels (after its fusions) over all kernel time, one profiled run.

  benchmarks/remove_ln_latency.py [--layers 12 --d 768 --heads 12 --vocab 50257]
                                  [--batch 1 --seq 128 --runs 30 --threads 1]
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "e2e"))
import numpy as np  # noqa: E402

import e2e_common  # noqa: E402
import models  # noqa: E402
import norm_opt  # noqa: E402 (e2e_common puts python/ on the path)

# What a norm runs as in onnxruntime, fused or not. Pow is left out: the
# tanh GELU has one, and it is not a norm.
NORM_OPS = tuple(op for op in e2e_common.NORM_KERNEL_OPS if op != "Pow") + ("Sqrt",)


def main():
    p = e2e_common.latency_arguments(__doc__, layers=12, d=768, heads=12, vocab=50257)
    p.set_defaults(batch=1, runs=30)
    args = p.parse_args()
    e2e_common.check_runs(p, args)

    with tempfile.TemporaryDirectory(prefix="norm-opt-bench-") as tmp:
        model, inputs = models.instantiate(
            lambda: models.GPT2(vocab=args.vocab, positions=max(args.seq, 16), d=args.d,
                                heads=args.heads, layers=args.layers,
                                norm=models.LNFreeLayerNorm),
            models.token_inputs(args.batch, args.seq, args.vocab))
        models.make_ln_free(model, seed=7)
        original = os.path.join(tmp, "gpt2_lnfree.onnx")
        models.export_module(model, inputs, original, 17, ["logits"],
                             do_constant_folding=False)

        g = np.random.default_rng(0)
        samples = [{"input_ids": g.integers(0, args.vocab, (args.batch, args.seq))}
                   for _ in range(3)]
        stats = norm_opt.collect_statistics(original, samples[:2])
        stats_path = os.path.join(tmp, "stats.json")
        norm_opt.write_statistics(stats, stats_path)
        removed = os.path.join(tmp, "gpt2_lnfree.removed.onnx")
        report, error = e2e_common.optimize(original, removed, os.path.join(tmp, "report.json"),
                                            [f"--norm-remove-ln=stats={stats_path}"])
        if error:
            sys.exit(f"norm-opt failed: {error}")
        counts = report["counts"]

        err, times, kernels = e2e_common.check_and_time(
            tmp, original, removed, samples[2],
            [f"input_ids:int64:{args.batch}x{args.seq}:{args.vocab}"], args.runs,
            args.threads, NORM_OPS)

        def size_mb(path):
            return os.path.getsize(path) / 2**20

        def share(path):
            value = times[path].get("profiled_share")
            return "n/a" if value is None else f"{value * 100:.2f}%"

        t0 = times[original]["median_ms"]
        t1 = times[removed]["median_ms"]
        params = sum(p.numel() for p in model.parameters())
        worst_bound = max(s.max_statistic / (2 * s.epsilon) for s in stats.values())
        print(f"LN-free-style GPT-2: {args.layers} layers, d={args.d}, heads={args.heads}, "
              f"vocab={args.vocab}, {params / 1e6:.1f}M params, opset 17, tied head; "
              f"{len(stats)} norm sites, eps 1e12")
        print(f"input [{args.batch} x {args.seq}], onnxruntime {args.threads} thread(s), "
              f"default optimization level, median of {args.runs} interleaved runs")
        print(f"removed {counts.get('removed', 0)}, layer_norm left {counts.get('layer_norm', 0)};"
              f" calibrated bound on the normalized values' relative error {worst_bound:.1e}; "
              f"rel err of logits vs original on a held-out sample: {err:.3e}")
        print()
        print("| model | file (MiB) | median latency (ms) | norm kernels onnxruntime ran | "
              "norm share of kernel time |")
        print("|---|---|---|---|---|")
        print(f"| original (LayerNorm, eps 1e12) | {size_mb(original):.0f} | {t0:.1f} | "
              f"{kernels(original)} | {share(original)} |")
        print(f"| --norm-remove-ln | {size_mb(removed):.0f} | {t1:.1f} | {kernels(removed)} | "
              f"{share(removed)} |")
        print()
        print(f"speed-up: {t0 / t1:.3f}x (latency {(t1 / t0 - 1) * 100:+.1f}%)")
        if err > 1e-5 or counts.get("layer_norm", 0):
            print("FAIL: a norm is left or the outputs changed by more than 1e-5")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
