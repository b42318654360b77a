#!/usr/bin/env python3
"""Benchmark the generated norm kernels on an NVIDIA GPU (issue 6).

For [tokens x hidden] in {4096x4096, 16384x1024, 1x4096, 4096x8192} and
fp32/fp16/bf16, for RMSNorm, fused residual-add + RMSNorm, LayerNorm, fused
residual-add + LayerNorm and FlashNorm's deferred scale (`norm.rms_scale`,
here with a value row as wide as the input row):

  * our kernel: `norm-opt --emit=cubin` then `norm-gpu-runner --bench --json`
    (CUDA events, 10 warm-up launches, median of --iterations, inputs rotated
    over enough buffers that L2 cannot hold them; the runner also checks the
    output against a float64 reference first);
  * PyTorch eager and torch.compile of the same function, timed the same way;
  * achieved bandwidth (bytes read + written / time) as a fraction of a
    measured device-to-device copy.

Needs a machine with a GPU, the driver, a build of norm-opt and
norm-gpu-runner (--build), and for the comparison columns PyTorch with CUDA.
Nothing here has been run in CI (no GPU there): the table in docs/ must say
which device produced it.

  python3 benchmarks/gpu_norms.py --build build [--markdown docs/GPUBenchmarks.md]
  python3 benchmarks/gpu_norms.py --compile-only   # no GPU: compile and list
  python3 benchmarks/gpu_norms.py --emulate --sizes 3x1024   # no GPU: the whole
      script against utils/fake-cuda (kernels in the CPU emulator; the times
      and bandwidths it prints are meaningless and say so)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SIZES = [(4096, 4096), (16384, 1024), (1, 4096), (4096, 8192)]
DTYPES = ["f32", "f16", "bf16"]
KINDS = ["rms_norm", "skip_rms_norm", "layer_norm", "skip_layer_norm", "rms_scale"]
EPS = 1e-5


def mlir_for(hidden, dtype):
    t = f"tensor<?x{hidden}x{dtype}>"
    w = f"tensor<{hidden}x{dtype}>"
    return f"""func.func @h{hidden}_{dtype}(%x: {t}, %s: {t}, %g: {w}, %b: {w}) -> ({t}, {t}, {t}, {t}, {t}, {t}, {t}) {{
  %a = norm.rms_norm %x scale(%g : {w}) : {t} -> {t}
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : {w}) : {t}, {t} -> {t}, {t}
  %l = norm.layer_norm %x scale(%g : {w}) bias(%b : {w}) : {t} -> {t}
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : {w}) bias(%b : {w}) : {t}, {t} -> {t}, {t}
  %d = norm.rms_scale %s by %x : {t}, {t} -> {t}
  return %a, %y, %sum, %l, %y2, %sum2, %d : {t}, {t}, {t}, {t}, {t}, {t}, {t}
}}
"""


def compile_kernels(build, workdir, emulate=False):
    """Every benchmarked kernel in one cubin; returns its path and manifest.
    With `emulate`, PTX instead (the fake driver ignores the image) and the
    generic-form kernels the emulator runs."""
    src = os.path.join(workdir, "norms.mlir")
    with open(src, "w") as f:
        for hidden in sorted({h for _, h in SIZES}):
            for dtype in DTYPES:
                f.write(mlir_for(hidden, dtype))
    norm_opt = os.path.join(build, "bin", "norm-opt")
    cubin = os.path.join(workdir, "norms.cubin")
    subprocess.run([norm_opt, src, "--emit=ptx" if emulate else "--emit=cubin",
                    "-o", cubin, "--gpu-manifest=" + cubin + ".json"], check=True)
    if emulate:
        subprocess.run([norm_opt, src, "--mlir-print-op-generic", "-o",
                        os.path.join(workdir, "kernels.generic.mlir"),
                        "--pass-pipeline=builtin.module(convert-norm-to-gpu,"
                        "gpu.module(norm-lower-subgroup-reduce))"], check=True)
    with open(cubin + ".json") as f:
        manifest = json.load(f)["kernels"]
    missing = [(h, d, k) for h in {h for _, h in SIZES} for d in DTYPES for k in KINDS
               if not any(m["hidden"] == h and m["element_type"] == d and m["kind"] == k
                          for m in manifest)]
    if missing:
        sys.exit(f"gpu_norms: norm-opt did not lower {missing}")
    return cubin, manifest


def fake_driver_env(build, workdir):
    """The environment that makes norm-gpu-runner load utils/fake-cuda."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["LD_LIBRARY_PATH"] = os.path.join(os.path.abspath(build), "lib", "fake-cuda")
    env["NORM_FAKE_CUDA_KERNELS"] = os.path.join(workdir, "kernels.generic.mlir")
    env["NORM_FAKE_CUDA_EMULATOR"] = os.path.join(root, "utils", "emulate_gpu_kernels.py")
    env["NORM_FAKE_CUDA_PYTHON"] = sys.executable
    return env


def run_ours(build, workdir, iterations, emulate=False):
    cubin, manifest = compile_kernels(build, workdir, emulate)
    env = fake_driver_env(build, workdir) if emulate else None
    results, copy_gbps, device = {}, None, None
    for rows, hidden in SIZES:
        names = [k["name"] for k in manifest if k["hidden"] == hidden]
        cmd = [os.path.join(build, "bin", "norm-gpu-runner"), cubin, "--bench",
               "--json", f"--rows={rows}", f"--iterations={iterations}"]
        cmd += [f"--kernel={n}" for n in names]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode not in (0, 1):
            sys.exit(f"norm-gpu-runner failed:\n{out.stderr}")
        for line in out.stdout.splitlines():
            rec = json.loads(line)
            if "copy_gbps" in rec:
                copy_gbps, device = rec["copy_gbps"], rec["device"]
                continue
            k = next(k for k in manifest if k["name"] == rec["kernel"])
            results[(rows, hidden, k["element_type"], k["kind"])] = rec
    return results, copy_gbps, device


def run_torch(iterations):
    try:
        import torch
    except ImportError:
        return None, "PyTorch not installed"
    if not torch.cuda.is_available():
        return None, "PyTorch has no CUDA device"
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}

    def rms(x, g):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)).to(x.dtype) * g

    def skip_rms(x, s, g):
        h = x + s
        return rms(h, g), h

    def ln(x, g, b):
        return torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b, EPS)

    def skip_ln(x, s, g, b):
        h = x + s
        return ln(h, g, b), h

    def deferred_scale(v, x):
        xf = x.float()
        return (v.float() * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)).to(v.dtype)

    fns = {"rms_norm": rms, "skip_rms_norm": skip_rms, "layer_norm": ln,
           "skip_layer_norm": skip_ln, "rms_scale": deferred_scale}
    compiled = {}
    try:
        compiled = {k: torch.compile(f) for k, f in fns.items()}
    except Exception as e:  # torch.compile missing or broken
        print(f"torch.compile unavailable: {e}", file=sys.stderr)

    def time_fn(fn, argsets):
        for i in range(10):
            fn(*argsets[i % len(argsets)])
        torch.cuda.synchronize()
        times = []
        for i in range(iterations):
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
            start.record()
            fn(*argsets[i % len(argsets)])
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop) * 1000.0)
        return statistics.median(times)

    out = {}
    for rows, hidden in SIZES:
        for dtype in DTYPES:
            t = dt[dtype]
            per_set = rows * hidden * t.itemsize * 4
            copies = max(2, min(64, (256 << 20) // max(per_set, 1) + 1))
            g = torch.rand(hidden, device="cuda", dtype=t) + 0.5
            b = torch.rand(hidden, device="cuda", dtype=t) - 0.5
            xs = [torch.randn(rows, hidden, device="cuda", dtype=t) for _ in range(copies)]
            ss = [torch.randn(rows, hidden, device="cuda", dtype=t) for _ in range(copies)]
            args = {"rms_norm": [(x, g) for x in xs],
                    "skip_rms_norm": [(x, s, g) for x, s in zip(xs, ss)],
                    "layer_norm": [(x, g, b) for x in xs],
                    "skip_layer_norm": [(x, s, g, b) for x, s in zip(xs, ss)],
                    "rms_scale": [(s, x) for x, s in zip(xs, ss)]}
            for kind in KINDS:
                eager = time_fn(fns[kind], args[kind])
                comp = None
                if kind in compiled:
                    try:
                        comp = time_fn(compiled[kind], args[kind])
                    except Exception as e:
                        print(f"torch.compile failed for {kind}: {e}", file=sys.stderr)
                out[(rows, hidden, dtype, kind)] = (eager, comp)
            del xs, ss
            torch.cuda.empty_cache()
    return out, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="CMake build directory")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--compile-only", action="store_true",
                    help="only compile the kernels and list them (no GPU needed)")
    ap.add_argument("--emulate", action="store_true",
                    help="no GPU: run through the emulated driver utils/fake-cuda "
                         "(checks the script and the kernels' numerics, not speed)")
    ap.add_argument("--sizes", help="TOKENSxHIDDEN,... instead of the issue's four")
    args = ap.parse_args()
    if args.sizes:
        SIZES[:] = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]

    if args.compile_only:
        with tempfile.TemporaryDirectory() as workdir:
            _, manifest = compile_kernels(args.build, workdir)
        for k in manifest:
            print(f"{k['name']}: {k['block_threads']} threads, "
                  f"{k['elements_per_thread']} elements per thread")
        print(f"{len(manifest)} kernels")
        return

    with tempfile.TemporaryDirectory() as workdir:
        ours, copy_gbps, device = run_ours(args.build, workdir, args.iterations, args.emulate)
    theirs, why = (None, "not run with --emulate") if args.emulate else run_torch(args.iterations)

    lines = [f"Device: {device}; device-to-device copy: {copy_gbps:.0f} GB/s "
             f"(read + write). Median of {args.iterations} launches, inputs rotated.",
             *(["EMULATED: no GPU; the checks are real, every time and bandwidth "
                "below is meaningless."] if args.emulate else []),
             "",
             "| tokens x hidden | dtype | kernel | check | ours (us) | % of copy BW "
             "| eager (us) | torch.compile (us) | vs compile |",
             "|---|---|---|---|---|---|---|---|---|"]
    failed = 0
    for rows, hidden in SIZES:
        for dtype in DTYPES:
            for kind in KINDS:
                rec = ours.get((rows, hidden, dtype, kind))
                if rec is None:
                    failed += 1
                    lines.append(f"| {rows}x{hidden} | {dtype} | {kind} | NOT RUN | | | | | |")
                    continue
                failed += not rec["pass"]
                us = rec["median_us"]
                frac = 100.0 * rec["gbps"] / copy_gbps
                eager = comp = None
                if theirs:
                    eager, comp = theirs[(rows, hidden, dtype, kind)]
                fmt = lambda v: f"{v:.1f}" if v is not None else "n/a"
                speed = f"{comp / us:.2f}x" if comp else "n/a"
                lines.append(f"| {rows}x{hidden} | {dtype} | {kind} | "
                             f"{'pass' if rec['pass'] else 'FAIL'} | {us:.1f} | "
                             f"{frac:.0f}% | {fmt(eager)} | {fmt(comp)} | {speed} |")
    if why:
        lines += ["", f"PyTorch columns: {why}."]
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("# Generated norm kernels: GPU benchmark\n\n"
                    "Produced by `benchmarks/gpu_norms.py`.\n\n" + table + "\n")
    if failed:
        sys.exit(f"gpu_norms: {failed} kernel(s) failed their check or did not run")


if __name__ == "__main__":
    main()
