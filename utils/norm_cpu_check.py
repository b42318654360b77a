#!/usr/bin/env python3
"""CPU numerics of the norm ops: convert-norm-to-linalg, run, compare.

  norm_cpu_check.py gen CASE SEED > t.mlir       # norm + @main on random inputs
  norm-opt t.mlir --convert-norm-to-linalg | mlir-opt <to LLVM> | mlir-runner ... > out
  norm_cpu_check.py check CASE SEED < out        # float64 reference
  norm_cpu_check.py run --tools DIR --mlir-tools DIR --libs DIR CASE...   # all of it

CASE is KIND:DTYPE:SHAPE[:axis=A][:eps=E][:unit_offset][:noscale][:nobias]
[:skip_bias][:wdtype=T][:vrow=DIMS], e.g. `skip_layer_norm:bf16:3x8x64:skip_bias`; a dim written
dN is dynamic in the norm's type (N at run time). SHAPE is the shape of the
norm's input: for crms_norm the stored d - 1 entries of each row (the result
and the weights have d), for rms_scale the tensor whose rows give 1/RMS;
rms_scale's value has SHAPE's dims before the axis and DIMS from the axis on
(default SHAPE's). @main
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


KINDS = ("rms_norm", "layer_norm", "crms_norm", "skip_rms_norm", "skip_layer_norm", "rms_scale")


def parse_dims(text):
    """`4xd8` -> ([4, 8], [False, True]): sizes and which are dynamic in the norm's type."""
    dims = text.split("x")
    return [int(d.lstrip("d")) for d in dims], [d.startswith("d") for d in dims]


def parse_case(text):
    parts = text.split(":")
    if parts[0] not in KINDS:
        sys.exit(f"unknown kind {parts[0]}")
    shape, dynamic = parse_dims(parts[2])
    # crms_norm comes from a LayerNorm: it keeps the bias; rms_scale has no weights.
    weights = parts[0] != "rms_scale"
    case = {"kind": parts[0], "dtype": parts[1], "shape": shape, "dynamic": dynamic,
            "axis": None, "eps": 1e-5, "unit_offset": False, "scale": weights,
            "bias": parts[0].endswith("layer_norm") or parts[0] == "crms_norm",
            "skip_bias": False, "wdtype": parts[1], "vrow": None}
    for opt in parts[3:]:
        if opt.startswith("vrow=") and case["kind"] == "rms_scale":
            case["vrow"] = parse_dims(opt[5:])
        elif opt.startswith("axis=") and case["kind"] in ("rms_norm", "layer_norm", "rms_scale"):
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
    axis = case["axis"]
    # The operands' and the result's (sizes, dynamic flags).
    case["x"] = (shape, dynamic)
    if case["kind"] == "rms_scale":
        vrow = case["vrow"] or (shape[axis:], [False] * (rank - axis))
        if len(vrow[0]) != rank - axis:
            sys.exit(f"vrow must have the {rank - axis} dims from axis {axis} on")
        case["value"] = (shape[:axis] + vrow[0], dynamic[:axis] + vrow[1])
        case["out"] = case["value"]
    elif case["kind"] == "crms_norm":
        case["out"] = (shape[:-1] + [shape[-1] + 1], dynamic)
    else:
        case["out"] = case["x"]
    case["wshape"] = case["out"][0][axis:]
    return case


def inputs(case, seed):
    rng = np.random.default_rng(seed)
    shape, wshape = case["shape"], case["wshape"]
    if case["kind"] == "crms_norm":
        # The first d - 1 entries of zero-mean rows, as the residual stream
        # after norm-pre-ln-to-rms{compress=1} holds them.
        full = rng.normal(0.0, 1.5, case["out"][0])
        full -= full.mean(-1, keepdims=True)
        x = {"x": round_to(full[..., :-1], case["dtype"])}
    else:
        x = {"x": round_to(rng.normal(0.5, 1.5, shape), case["dtype"])}
    if case["kind"] == "rms_scale":
        x["value"] = round_to(rng.normal(0.0, 1.0, case["value"][0]), case["dtype"])
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
    # Each operand's type in the norm (dynamic dims as ?) and in @main (static).
    types = {"x": case["x"], "skip": case["x"], "value": case.get("value")}
    norm_types, main_types = {}, {}
    for name in ["value", "x", "skip", "scale", "bias", "skip_bias"]:
        if name not in ins:
            continue
        if name in types:
            norm_types[name] = ttype(types[name][0], dt, types[name][1])
            main_types[name] = ttype(types[name][0], dt)
        else:
            norm_types[name] = main_types[name] = ttype(case["wshape"], wdt)
    args = list(norm_types)
    t = norm_types["x"]
    rt = ttype(case["out"][0], dt, case["out"][1])  # the result (and the sum)
    lines = ["func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}"]
    sig = ", ".join(f"%{a}: {norm_types[a]}" for a in args)
    attrs = [f"epsilon = {case['eps']:e} : f32"]
    if case["unit_offset"]:
        attrs.append("unit_offset")
    if kind in ("rms_norm", "layer_norm", "rms_scale"):
        attrs.append(f"axis = {case['axis']} : i64")
    attrs = "{" + ", ".join(attrs) + "}"
    opt = "".join(f" {n}(%{n} : {norm_types[n]})" for n in ["scale", "bias", "skip_bias"] if n in ins)
    outs = 2 if kind.startswith("skip_") else 1
    lines.append(f"func.func @norm({sig}) -> ({', '.join([rt] * outs)}) {{")
    if kind.startswith("skip_"):
        lines.append(f"  %y, %sum = norm.{kind} %x, %skip{opt} {attrs} : {t}, {t} -> {t}, {t}")
    elif kind == "rms_scale":
        lines.append(f"  %y = norm.rms_scale %value by %x {attrs} : {norm_types['value']}, {t} -> {rt}")
    else:
        lines.append(f"  %y = norm.{kind} %x{opt} {attrs} : {t} -> {rt}")
    lines += [f"  return {'%y, %sum' if outs == 2 else '%y'} : {', '.join([rt] * outs)}", "}"]
    lines.append("func.func @main() {")
    names = []
    for a in args:
        ty, nty = main_types[a], norm_types[a]
        f32ty = ty.replace(dt + ">", "f32>").replace(wdt + ">", "f32>")
        if f32ty != ty:
            lines.append(f"  %{a}_f32 = arith.constant {dense(ins[a])} : {f32ty}")
            lines.append(f"  %{a} = arith.truncf %{a}_f32 : {f32ty} to {ty}")
        else:
            lines.append(f"  %{a} = arith.constant {dense(ins[a])} : {ty}")
        if nty != ty:
            lines.append(f"  %{a}_dyn = tensor.cast %{a} : {ty} to {nty}")
        names.append(f"%{a}_dyn" if nty != ty else f"%{a}")
    res = ", ".join(f"%r{i}" for i in range(outs))
    lines.append(f"  {res} = call @norm({', '.join(names)}) : "
                 f"({', '.join(norm_types[a] for a in args)}) -> ({', '.join([rt] * outs)})")
    st = ttype(case["out"][0], dt)
    f32t = ttype(case["out"][0], "f32")
    mt = f32t.replace("tensor", "memref")
    for i in range(outs):
        value = f"%r{i}"
        if st != rt:
            lines.append(f"  %s{i} = tensor.cast %r{i} : {rt} to {st}")
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
    if case["kind"] == "crms_norm":
        x = np.concatenate([x, -x.sum(-1, keepdims=True)], axis=-1)
    dims = tuple(range(axis, x.ndim))
    mean = x.mean(dims, keepdims=True) if "layer_norm" in case["kind"] else 0.0
    var = ((x - mean) ** 2).mean(dims, keepdims=True)
    if case["kind"] == "rms_scale":
        return [ins["value"].astype(np.float64) / np.sqrt(var + case["eps"])]
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
