#!/usr/bin/python3
"""onnxruntime CPU latency of a GPT-2-style Pre-LN model before and after
`norm-opt --norm-pre-ln-to-rms`, in one run (issue 3's benchmark).

Exports the model with torch at opset 17 (and 13 with --opset), rewrites it,
checks the rewrite numerically, and times both models in one onnxruntime
process: batch 4, sequence 128, 1 thread, runs interleaved, median of
--runs (>= 30). Both sessions use onnxruntime's default optimization level.
Also reports which norm kernels onnxruntime ended up running (from the
optimized graphs it saves), to show whether its fusions recognized the
exported RMSNorm.

  benchmarks/pre_ln_to_rms_latency.py [--layers 12 --d 768 --heads 12] [--runs 30]
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "e2e"))

import e2e_common  # noqa: E402
import models  # noqa: E402

NORM_OPS = e2e_common.NORM_KERNEL_OPS


def main():
    p = e2e_common.latency_arguments(__doc__, layers=12, d=768, heads=12, vocab=50257)
    p.add_argument("--opset", type=int, default=17)
    args = p.parse_args()
    e2e_common.check_runs(p, args)

    with tempfile.TemporaryDirectory(prefix="norm-opt-bench-") as tmp:
        model, inputs = models.instantiate(
            lambda: models.GPT2(vocab=args.vocab, positions=max(args.seq, 16), d=args.d,
                                heads=args.heads, layers=args.layers),
            models.token_inputs(args.batch, args.seq, args.vocab))
        original = os.path.join(tmp, "gpt2.onnx")
        models.export_module(model, inputs, original, args.opset, ["logits"])
        rewritten = os.path.join(tmp, "gpt2.rms.onnx")
        report, error = e2e_common.optimize(original, rewritten,
                                            os.path.join(tmp, "report.json"),
                                            ["--norm-pre-ln-to-rms"])
        if error:
            sys.exit(f"norm-opt failed: {error}")
        counts = e2e_common.norm_counts(report)

        feeds = {k: v.numpy() for k, v in inputs.items()}
        err, times, kernels = e2e_common.check_and_time(
            tmp, original, rewritten, feeds,
            [f"input_ids:int64:{args.batch}x{args.seq}:{args.vocab}"], args.runs,
            args.threads, NORM_OPS)

        t0 = times[original]["median_ms"]
        t1 = times[rewritten]["median_ms"]
        params = sum(p.numel() for p in model.parameters())
        print(f"GPT-2-style model: {args.layers} layers, d={args.d}, heads={args.heads}, "
              f"vocab={args.vocab}, {params / 1e6:.1f}M params, opset {args.opset}")
        print(f"input [{args.batch} x {args.seq}], onnxruntime {args.threads} thread(s), "
              f"default optimization level, median of {args.runs} interleaved runs")
        print(f"norms after the rewrite: {counts}; rel err of logits vs original: {err:.3e}")
        print()
        def share(path):
            value = times[path].get("profiled_share")
            return "n/a" if value is None else f"{value * 100:.2f}%"

        print("| model | median latency (ms) | norm kernels onnxruntime ran | "
              "norm share of kernel time |")
        print("|---|---|---|---|")
        print(f"| original (LayerNorm) | {t0:.1f} | {kernels(original)} | {share(original)} |")
        print(f"| --norm-pre-ln-to-rms | {t1:.1f} | {kernels(rewritten)} | {share(rewritten)} |")
        print()
        print(f"speed-up: {t0 / t1:.3f}x (latency {(t1 / t0 - 1) * 100:+.1f}%)")
        print("The norm share (one profiled run of each model) bounds what any norm "
              "rewrite can save.")
        if err > 1e-5:
            print("FAIL: the rewrite changed the outputs by more than 1e-5")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
