"""python3 -m norm_opt: what the norm-opt executable cannot do alone, run a
model in onnxruntime.

  python3 -m norm_opt verify ORIGINAL.onnx OPTIMIZED.onnx [--inputs S.npz]...
      runs both models on the same inputs; prints the relative error of
      every output; exit status 1 when one exceeds --tolerance.
  python3 -m norm_opt calibrate MODEL.onnx [--inputs S.npz]... [--passes P,Q]...
      runs every candidate pipeline (or the given ones) and the original on
      the inputs; prints per candidate the rewrites and the error, and the
      best one within --tolerance; -o OUT writes the best one's model.
  python3 -m norm_opt remove-ln MODEL.onnx --inputs C.npz... [--heldout H.npz...
                                 --budget B] -o STATS.json
      calibrates every LayerNorm/RMSNorm on the --inputs samples and writes
      the statistics file of `norm-opt --norm-remove-ln=stats=STATS.json`;
      with --heldout and --budget, also chooses the sites to remove (greedy,
      cheapest first, within the budget of held-out error) and prints the
      per-site table; --model-output OUT.onnx writes the chosen model.
      Without --budget, the file removes only the sites whose epsilon
      dominates on the statistics (LN-free checkpoints). docs/LNRemoval.md.

Each --inputs file is one sample, an .npz of {graph input name: array}
(np.savez("s.npz", input_ids=ids)); inputs not given are random, with
symbolic dims from --dim NAME=SIZE. Optimizing itself is `norm-opt`'s job:
`norm-opt model.onnx -o out.onnx --norm-optimize --summary`.
"""
import argparse
import sys

import numpy as np

from . import calibrate, collect_statistics, optimize, remove_layernorm, verify, write_statistics
from .calibrate import DEFAULT_CANDIDATES
from .errors import NormOptError, OnnxRuntimeError, RuntimeUnavailableError
from .verify import DEFAULT_TOLERANCE


def _samples(paths):
    if not paths:
        return None
    samples = []
    for path in paths:
        with np.load(path) as data:
            samples.append({k: data[k] for k in data.files})
    return samples


def _dims(specs, parser):
    dims = {}
    for spec in specs:
        name, _, size = spec.partition("=")
        if not name or not size.isdigit():
            parser.error(f"--dim {spec!r}: expected NAME=SIZE")
        dims[name] = int(size)
    return dims


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m norm_opt",
                                     description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--inputs", action="append", default=[], metavar="SAMPLE.npz",
                        help="one sample of inputs (repeat for more)")
    common.add_argument("--samples", type=int, default=2,
                        help="random samples when no --inputs (default 2)")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                        help="size of a symbolic dim for random inputs")
    common.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    common.add_argument("--node-modules", help="folder holding onnxruntime-node")
    v = sub.add_parser("verify", parents=[common], help="compare two models' outputs")
    v.add_argument("original")
    v.add_argument("optimized")
    c = sub.add_parser("calibrate", parents=[common], help="try pipelines on sample inputs")
    c.add_argument("model")
    c.add_argument("--passes", action="append", default=[], metavar="P,Q",
                   help="a candidate pipeline, comma-separated pass names (repeat for more; "
                        "default: " + "; ".join(f"{k}" for k in DEFAULT_CANDIDATES) + ")")
    c.add_argument("--norm-opt", help="the norm-opt executable")
    c.add_argument("-o", "--output", help="write the best candidate's model here")
    r = sub.add_parser("remove-ln", help="calibrate norms and choose which to remove")
    r.add_argument("model")
    r.add_argument("--inputs", action="append", default=[], metavar="SAMPLE.npz", required=True,
                   help="one calibration sample (repeat for more)")
    r.add_argument("--heldout", action="append", default=[], metavar="SAMPLE.npz",
                   help="one held-out sample to measure the error on (repeat for more)")
    r.add_argument("--budget", type=float,
                   help="largest held-out relative error of the outputs; needs --heldout")
    r.add_argument("-o", "--output", required=True, help="the statistics file to write")
    r.add_argument("--model-output", help="with --budget: write the chosen model here")
    r.add_argument("--norm-opt", help="the norm-opt executable")
    r.add_argument("--node-modules", help="folder holding onnxruntime-node")
    args = parser.parse_args(argv)
    if args.command == "remove-ln":
        return _remove_ln(args, parser)
    inputs = _samples(args.inputs)
    dims = _dims(args.dim, parser)
    try:
        if args.command == "verify":
            result = verify(args.original, args.optimized, inputs, tolerance=args.tolerance,
                            samples=args.samples, seed=args.seed, dims=dims,
                            node_modules=args.node_modules)
            print(result)
            return 0 if result.ok else 1
        candidates = None
        if args.passes:
            candidates = {p: tuple(x for x in p.split(",") if x) for p in args.passes}
        result = calibrate(args.model, inputs, candidates=candidates, tolerance=args.tolerance,
                           samples=args.samples, seed=args.seed, dims=dims,
                           norm_opt=args.norm_opt, node_modules=args.node_modules)
        print(result)
        best = result.best
        if best is None:
            return 1
        if args.output:
            # Run again rather than copy: the output may have external data.
            optimize(args.model, args.output, best.passes, norm_opt=args.norm_opt)
            print(f"wrote {args.output} ({best.label})")
        return 0
    except (NormOptError, RuntimeUnavailableError, OnnxRuntimeError, ValueError,
            OSError) as e:  # OSError: a missing file, NormOptNotFoundError
        print(f"norm_opt: {e}", file=sys.stderr)
        return 2


def _remove_ln(args, parser) -> int:
    if (args.budget is None) != (not args.heldout):
        parser.error("--budget and --heldout go together")
    if args.model_output and args.budget is None:
        parser.error("--model-output needs --budget")
    try:
        calibration = _samples(args.inputs)
        if args.budget is None:
            statistics = collect_statistics(args.model, calibration, norm_opt=args.norm_opt,
                                            node_modules=args.node_modules)
            write_statistics(statistics, args.output)
            for s in statistics.values():
                print(f"{s.name}: {s.kind}, epsilon {s.epsilon:.3e}, max statistic "
                      f"{s.max_statistic:.3e} over {s.tokens} tokens, sigma {s.mean_std:.4e}, "
                      f"epsilon dominates: {'yes' if s.bound_holds() else 'no'}")
        else:
            result = remove_layernorm(args.model, calibration, _samples(args.heldout),
                                      args.budget, output=args.model_output,
                                      stats_output=args.output, norm_opt=args.norm_opt,
                                      node_modules=args.node_modules)
            print(result)
            if args.model_output:
                print(f"wrote {args.model_output}")
        print(f"wrote {args.output}; next: norm-opt {args.model} -o OUT.onnx "
              f"--norm-remove-ln=stats={args.output} --summary")
        return 0
    except (NormOptError, RuntimeUnavailableError, OnnxRuntimeError, ValueError,
            OSError) as e:
        print(f"norm_opt: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
