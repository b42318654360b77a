#!/usr/bin/env python3
"""CPU numerics of the norm ops: convert-norm-to-linalg, run, compare.

  norm_cpu_check.py gen CASE SEED > t.mlir       # norm + @main on random inputs
  norm-opt t.mlir --convert-norm-to-linalg | mlir-opt <to LLVM> | mlir-runner ... > out
  norm_cpu_check.py check CASE SEED < out        # float64 reference
  norm_cpu_check.py run --tools DIR --mlir-tools DIR --libs DIR CASE...   # all of it

CASE is KIND:DTYPE:SHAPE[:axis=A][:eps=E][:unit_offset][:noscale][:nobias]
[:skip_bias][:wdtype=T], e.g. `skip_layer_norm:bf16:3x8x64:skip_bias`; a dim written dN is dynamic
in the norm's type (N at run time). @main
builds the inputs (values exactly representable in DTYPE, gamma != 1,
beta != 0), calls the norm and prints each result with printMemrefF32;
`check` rebuilds the same inputs from the seed, computes the norm in float64
and requires the relative L2 error under 1e-5 (f32), 2e-3 (f16), 1e-2 (bf16),
with no NaN.
"""

import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulate_gpu_kernels import round_to  # noqa: E402  (one rounding for both checks)

TOL = {"f32": 1e-5, "f16": 2e-3, "bf16": 1e-2}


def parse_case(text):
    parts = text.split(":")
    case = {"kind": parts[0], "dtype": parts[1],
            "shape": [int(d.lstrip("d")) for d in parts[2].split("x")],
            "dynamic": [d.startswith("d") for d in parts[2].split("x")], "axis": None, "eps": 1e-5,
            "unit_offset": False, "scale": True, "bias": parts[0].endswith("layer_norm"),
            "skip_bias": False, "wdtype": parts[1]}
    for opt in parts[3:]:
        if opt.startswith("axis="):
            case["axis"] = int(opt[5:])
        elif opt.startswith("eps="):
            case["eps"] = float(opt[4:])
        elif opt.startswith("wdtype="):
            case["wdtype"] = opt[7:]
        elif opt == "unit_offset":
            case["unit_offset"] = True
        elif opt == "noscale":
            case["scale"] = False
        elif opt == "nobias":
            case["bias"] = False
        elif opt == "skip_bias":
            case["skip_bias"] = True
        else:
            sys.exit(f"unknown option {opt}")
    rank = len(case["shape"])
    if case["axis"] is None:
        case["axis"] = rank - 1
    return case


def inputs(case, seed):
    rng = np.random.default_rng(seed)
    shape, axis = case["shape"], case["axis"]
    wshape = shape[axis:]
    x = {"x": round_to(rng.normal(0.5, 1.5, shape), case["dtype"])}
    if case["kind"].startswith("skip_"):
        x["skip"] = round_to(rng.normal(0.0, 1.0, shape), case["dtype"])
    if case["scale"]:
        g = rng.uniform(-0.5, 0.5, wshape) if case["unit_offset"] else rng.uniform(0.5, 1.5, wshape)
        x["scale"] = round_to(g, case["wdtype"])
    if case["bias"]:
        x["bias"] = round_to(rng.uniform(-0.5, 0.5, wshape), case["wdtype"])
    if case["skip_bias"]:
        x["skip_bias"] = round_to(rng.uniform(-0.5, 0.5, wshape), case["wdtype"])
    return x


def ttype(shape, dtype, dynamic=None):
    dims = [("?" if dynamic and dynamic[i] else str(d)) for i, d in enumerate(shape)]
    return "tensor<" + "x".join(dims) + "x" + dtype + ">"


def dense(values):
    return "dense<" + np.array2string(np.asarray(values, dtype=np.float64), separator=", ",
                                      threshold=1 << 30, floatmode="unique",
                                      max_line_width=1 << 30) + ">"


def gen(case, seed):
    ins = inputs(case, seed)
    kind, dt, wdt = case["kind"], case["dtype"], case["wdtype"]
    t = ttype(case["shape"], dt, case["dynamic"])
    st = ttype(case["shape"], dt)  # the static type of @main's tensors
    wt = ttype(case["shape"][case["axis"]:], wdt)
    lines = ["func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}"]
    args, types = [], []
    for name in ["x", "skip", "scale", "bias", "skip_bias"]:
        if name in ins:
            args.append(name)
            types.append(t if name in ("x", "skip") else wt)
    sig = ", ".join(f"%{a}: {ty}" for a, ty in zip(args, types))
    attrs = [f"epsilon = {case['eps']:e} : f32"]
    if case["unit_offset"]:
        attrs.append("unit_offset")
    if not kind.startswith("skip_"):
        attrs.append(f"axis = {case['axis']} : i64")
    opt = "".join(f" {n}(%{n} : {wt})" for n in ["scale", "bias", "skip_bias"] if n in ins)
    if kind.startswith("skip_"):
        lines += [f"func.func @norm({sig}) -> ({t}, {t}) {{",
                  f"  %y, %sum = norm.{kind} %x, %skip{opt} {{{', '.join(attrs)}}} : {t}, {t} -> {t}, {t}",
                  f"  return %y, %sum : {t}, {t}", "}"]
        outs = 2
    else:
        lines += [f"func.func @norm({sig}) -> {t} {{",
                  f"  %y = norm.{kind} %x{opt} {{{', '.join(attrs)}}} : {t} -> {t}",
                  f"  return %y : {t}", "}"]
        outs = 1
    lines.append("func.func @main() {")
    for a, ty in zip(args, types):
        ty = st if ty == t else ty
        f32ty = ty.replace(dt + ">", "f32>").replace(wdt + ">", "f32>")
        if f32ty != ty:
            lines.append(f"  %{a}_f32 = arith.constant {dense(ins[a])} : {f32ty}")
            lines.append(f"  %{a} = arith.truncf %{a}_f32 : {f32ty} to {ty}")
        else:
            lines.append(f"  %{a} = arith.constant {dense(ins[a])} : {ty}")
        if ty == st and st != t:
            lines.append(f"  %{a}_dyn = tensor.cast %{a} : {st} to {t}")
    res = ", ".join(f"%r{i}" for i in range(outs))
    names = [f"%{a}_dyn" if ty == t and st != t else f"%{a}" for a, ty in zip(args, types)]
    lines.append(f"  {res} = call @norm({', '.join(names)}) : "
                 f"({', '.join(types)}) -> ({', '.join([t] * outs)})")
    f32t = ttype(case["shape"], "f32")
    mt = f32t.replace("tensor", "memref")
    for i in range(outs):
        value = f"%r{i}"
        if st != t:
            lines.append(f"  %s{i} = tensor.cast %r{i} : {t} to {st}")
            value = f"%s{i}"
        if dt != "f32":
            lines.append(f"  %e{i} = arith.extf {value} : {st} to {f32t}")
            value = f"%e{i}"
        lines.append(f"  %m{i} = bufferization.to_buffer {value} : {f32t} to {mt}")
        lines.append(f"  %u{i} = memref.cast %m{i} : {mt} to memref<*xf32>")
        lines.append(f"  call @printMemrefF32(%u{i}) : (memref<*xf32>) -> ()")
    lines += ["  return", "}"]
    print("\n".join(lines))


def reference(case, ins):
    axis = case["axis"]
    x = ins["x"].astype(np.float64)
    total = None
    if case["kind"].startswith("skip_"):
        x = x + ins["skip"]
        if "skip_bias" in ins:
            x = x + ins["skip_bias"]
        x = round_to(x.astype(np.float32), case["dtype"]).astype(np.float64)
        total = x
    dims = tuple(range(axis, x.ndim))
    mean = x.mean(dims, keepdims=True) if "layer_norm" in case["kind"] else 0.0
    var = ((x - mean) ** 2).mean(dims, keepdims=True)
    y = (x - mean) / np.sqrt(var + case["eps"])
    if "scale" in ins:
        y = y * (ins["scale"] + (1.0 if case["unit_offset"] else 0.0))
    if "bias" in ins:
        y = y + ins["bias"]
    return [y] if total is None else [y, total]


def check(case, seed, text):
    refs = reference(case, inputs(case, seed))
    blocks = re.findall(r"data =\s*(\[.*?\])\s*(?=Unranked|$)", text, re.S)
    if len(blocks) != len(refs):
        print(f"FAIL expected {len(refs)} printed results, got {len(blocks)}")
        return 1
    tol = TOL[case["dtype"]]
    failed = 0
    for name, block, ref in zip(["out", "sum"], blocks, refs):
        got = np.array([float(v) for v in re.findall(r"[-+]?(?:nan|inf|[0-9.]+(?:e[-+]?\d+)?)", block)])
        if got.size != ref.size:
            print(f"FAIL {name}: {got.size} values, expected {ref.size}")
            failed += 1
            continue
        got = got.reshape(ref.shape)
        err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
        nans = int(np.isnan(got).sum())
        ok = nans == 0 and err < tol
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: rel_err={err:.3e} (tol {tol:.0e}) nan={nans}")
    return 1 if failed else 0


LOWER_TO_LLVM = [
    "--convert-elementwise-to-linalg", "--one-shot-bufferize=bufferize-function-boundaries",
    "--convert-linalg-to-loops", "--convert-scf-to-cf", "--expand-strided-metadata",
    "--lower-affine", "--convert-math-to-llvm", "--convert-arith-to-llvm",
    "--finalize-memref-to-llvm", "--convert-func-to-llvm", "--convert-cf-to-llvm",
    "--reconcile-unrealized-casts"]


def run(argv):
    """gen | norm-opt --convert-norm-to-linalg | mlir-opt | mlir-runner | check."""
    import argparse
    import contextlib
    import io
    import os
    import subprocess
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True, help="directory of norm-opt")
    ap.add_argument("--mlir-tools", required=True, help="directory of mlir-opt, mlir-runner")
    ap.add_argument("--libs", required=True, help="directory of libmlir_*runner_utils.so")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args(argv)
    libs = ",".join(os.path.join(args.libs, f"lib{n}.so")
                    for n in ("mlir_runner_utils", "mlir_c_runner_utils"))
    passed = failed = 0
    for text in args.cases:
        case = parse_case(text)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            gen(case, args.seed)
        steps = [[os.path.join(args.tools, "norm-opt"), "-", "--convert-norm-to-linalg"],
                 [os.path.join(args.mlir_tools, "mlir-opt"), "-"] + LOWER_TO_LLVM,
                 [os.path.join(args.mlir_tools, "mlir-runner"), "-e", "main",
                  "-entry-point-result=void", "-shared-libs=" + libs]]
        data, error = buf.getvalue(), None
        for cmd in steps:
            proc = subprocess.run(cmd, input=data, capture_output=True, text=True)
            if proc.returncode != 0:
                error = f"{os.path.basename(cmd[0])} failed: {proc.stderr.strip()[:500]}"
                break
            data = proc.stdout
        if error:
            print(f"FAIL {text}: {error}")
            failed += 1
            continue
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            status = check(case, args.seed, data)
        for line in buf.getvalue().splitlines():
            print(f"{text}: {line}")
        passed += status == 0
        failed += status != 0
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2:]))
    if len(sys.argv) != 4 or sys.argv[1] not in ("gen", "check"):
        sys.exit(__doc__)
    case, seed = parse_case(sys.argv[2]), int(sys.argv[3])
    if sys.argv[1] == "gen":
        gen(case, seed)
    else:
        sys.exit(check(case, seed, sys.stdin.read()))


if __name__ == "__main__":
    main()
