#!/usr/bin/python3
"""onnxruntime CPU latency of the original model vs `norm-opt --norm-optimize`
(for these models: Pre-LN -> RMSNorm on GPT-2, then weight folding), for a
GPT-2-style and a Llama-style model, in one run.

The models are those of test/e2e/run_fold_weights.py at a larger size
(models.py): GPT-2-style with LayerNorm and the LM head tied to the token
embedding, exported by torch at opset 17 without constant folding; and the
Llama-style graph with opset-23 RMSNormalization nodes, SwiGLU and no biases.
A third variant is norm-opt's plain round trip (import, recognize, export,
no rewrite), so that what folding changes is told apart from what re-export
changes. Every norm must be folded and the outputs must agree within 1e-5
relative error. All six models are timed in one onnxruntime process
(benchmarks/ort_latency.js: the default optimization level, runs
interleaved model by model, median of --runs >= 30 after warm-up runs). The
load average is printed before and after the timing, and the share of the
kernel time that the norm kernels take in one profiled run of the original
and the optimized model (what any norm rewrite could save at most).

  benchmarks/fold_latency.py [--runs 50] [--batch 4 --seq 128 --threads 1]
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "e2e"))
import onnx  # noqa: E402

import e2e_common  # noqa: E402
import models  # noqa: E402


def main():
    p = e2e_common.latency_arguments(__doc__, layers=4, d=256, heads=4, vocab=2048)
    p.add_argument("--ffn", type=int, default=688, help="Llama MLP width")
    args = p.parse_args()
    e2e_common.check_runs(p, args)

    with tempfile.TemporaryDirectory(prefix="norm-opt-fold-bench-") as tmp:
        token_inputs = models.token_inputs(args.batch, args.seq, args.vocab)
        gpt2, inputs = models.instantiate(
            lambda: models.GPT2(vocab=args.vocab, positions=args.seq, d=args.d,
                                heads=args.heads, layers=args.layers), token_inputs)
        cases = [("GPT-2-style (LayerNorm, tied head)", os.path.join(tmp, "gpt2.onnx"))]
        models.export_module(gpt2, inputs, cases[0][1], 17, ["logits"],
                             do_constant_folding=False)
        cases.append(("Llama-style (RMSNormalization, SwiGLU)", os.path.join(tmp, "llama.onnx")))
        onnx.save(models.llama_rmsnorm23(vocab=args.vocab, d=args.d, ffn=args.ffn,
                                         layers=args.layers), cases[1][1])

        ort = e2e_common.OrtBatch(tmp)
        feeds = {k: v.numpy() for k, v in inputs.items()}
        variants, folded = [], {}
        for label, original in cases:
            roundtrip = original.replace(".onnx", ".roundtrip.onnx")
            optimized = original.replace(".onnx", ".optimized.onnx")
            _, error = e2e_common.optimize(original, roundtrip, roundtrip + ".json")
            if not error:
                report, error = e2e_common.optimize(original, optimized, optimized + ".json",
                                                    ["--norm-optimize"])
            if error:
                sys.exit(f"{label}: {error}")
            norms = report["norms"]
            folded[label] = (sum(n["action"] == "folded" for n in norms), len(norms))
            variants.append((label, [original, roundtrip, optimized],
                             [ort.add(path, feeds) for path in (original, optimized)]))
        results = ort.run()
        errors = {}
        for label, _, (ref_job, out_job) in variants:
            (ref, e1), (out, e2) = results[ref_job], results[out_job]
            if e1 or e2:
                sys.exit(f"{label}: {e1 or e2}")
            errors[label] = e2e_common.worst_rel_err(out, ref)

        load_before = os.getloadavg()
        times = e2e_common.ort_latency(
            [path for _, paths, _ in variants for path in paths],
            [f"input_ids:int64:{args.batch}x{args.seq}:{args.vocab}"], args.runs, args.threads,
            profile_ops=e2e_common.NORM_KERNEL_OPS)
        load_after = os.getloadavg()

    print(f"onnxruntime CPU, {args.threads} thread(s), default optimization level; input "
          f"[{args.batch} x {args.seq}]; hidden {args.d}, {args.layers} layers, vocabulary "
          f"{args.vocab}; median of {args.runs} interleaved runs")
    print("load average (1/5/15 min) before timing: {:.2f} {:.2f} {:.2f}, after: "
          "{:.2f} {:.2f} {:.2f}".format(*load_before, *load_after))
    print()
    print("| model | original (ms) | round trip (ms) | --norm-optimize (ms) | "
          "original / optimized | round trip / optimized | norm share of kernel time "
          "(original, optimized) | norms folded | rel err |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False

    def share(path):
        value = times[path].get("profiled_share")
        return "n/a" if value is None else f"{value * 100:.1f}%"

    for label, paths, _ in variants:
        t0, t1, t2 = (times[path]["median_ms"] for path in paths)
        done, total = folded[label]
        print(f"| {label} | {t0:.2f} | {t1:.2f} | {t2:.2f} | {t0 / t2:.3f}x | {t1 / t2:.3f}x | "
              f"{share(paths[0])}, {share(paths[2])} | {done}/{total} | {errors[label]:.2e} |")
        failed |= done != total or total == 0 or not errors[label] <= 1e-5
    if failed:
        print("FAIL: a norm was not folded, or the outputs changed by more than 1e-5")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
