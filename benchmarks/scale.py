#!/usr/bin/python3
"""Scale benchmark: norm-opt on one large model against a `cp` of its files,
in one run, with checks of the outputs.

  benchmarks/scale.py MODEL.onnx [--each-pass] [--verify] [--markdown FILE]
      [--label TEXT] [--work DIR] [--timeout S] [--mem-limit BYTES]
      [--json FILE] [--norm-opt PATH]

Rows, each a child process measured on its own:

  cp              `cp MODEL.onnx MODEL.onnx.data... DIR/`: the floor
  round trip      `norm-opt MODEL.onnx -o DIR/out.onnx`
  --norm-optimize `norm-opt MODEL.onnx -o DIR/out.onnx --norm-optimize
                   --report DIR/report.json`
  --norm-<pass>   with --each-pass: each pass of the pipeline alone

For each: wall time, CPU time (user + sys of the child, from wait4), peak RSS
(ru_maxrss from wait4: exact) and peak RssAnon, the anonymous (heap) part of
the RSS, which is SAMPLED: /proc/PID/status every 5 ms, the largest value
seen (a peak shorter than 5 ms can be missed). The children are started from
a small `python3 -S` process, not from this one (Linux carries ru_maxrss
across exec).

Page cache policy, the same for every row: before each row the input files
are read once (untimed), so every row starts from a warm cache (as far as
memory allows: on a 24 GB machine a 7B model and its copy do not both fit);
outputs are written to a fresh folder and never synced, and each row's
output is deleted (untimed) before the next row starts.

Checks, which decide the exit status (1 if any fails):
  - every norm-opt row exits 0;
  - round trip: every initializer comes out with the same name, type, shape
    and bytes (the round trip gives the model back as it came);
  - --norm-optimize: onnx.checker (full) on the output path (external data);
    the report has every norm of the model (metadata norm_opt_bench.norms,
    written by benchmarks/llama_gen.py) ending `folded`; every initializer
    that no fold may change (all but the norm gains and biases and the weights of the
    MatMuls that read a norm, metadata norm_opt_bench.fold_readers) comes
    out byte-identical;
  - the input files are unchanged by every run (SHA-256 before and after
    when they total at most --hash-limit bytes, else size and mtime);
  - --verify: onnxruntime (onnxruntime-node, CPU) runs the original and the
    --norm-optimize output on the same random input; the relative error of
    the outputs (||a - b|| / ||b||) must be within the stated tolerance:
    fp32 1e-5 (an exact rewrite); fp16/bf16 2 * sqrt(2/3) * u * sqrt(n)
    with u the unit roundoff (2^-11, 2^-8) and n the number of folded
    weights. Why: a fold rounds each folded weight once (relative error <=
    u, about uniform, rms u/sqrt(3)) where the original rounded the norm
    output times its gain once per element; the two roundings are
    independent, so each folded linear's output moves by about
    sqrt(2/3) u of its rms; n such changes on separate residual branches
    add at most in quadrature (sqrt(n)); the factor 2 is the margin.

Targets (issue 11), from the model's metadata preset, on every row that
runs passes (--norm-optimize and each pass alone); reported, they do not
change the exit status:
  7b     wall <= 2x cp, peak RssAnon <= 1 GB (1e9 bytes)
  1b     wall <= 3x round trip, peak RssAnon <= 512 MB (512e6 bytes)
  graph  wall <= 60 s, peak RSS <= 2 GB (2e9 bytes)

The --norm-optimize row also prints the wall time of each stage from its
report (`stages`: read, each pass, write), where norm-opt records them.

--markdown FILE appends the table, the command, the checks and targets to
FILE (docs/Benchmarks.md).
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
import e2e_common as e2e  # noqa: E402

PASSES = ["norm-recognize", "norm-pre-ln-to-rms", "norm-fold-batchnorm", "norm-fold-weights"]
TARGETS = {
    "7b": [("wall <= 2x cp", lambda r, t: r["wall"] <= 2 * t["cp"]["wall"]),
           ("peak RssAnon <= 1 GB", lambda r, t: r["anon"] <= 1e9)],
    "1b": [("wall <= 3x round trip", lambda r, t: r["wall"] <= 3 * t["round trip"]["wall"]),
           ("peak RssAnon <= 512 MB", lambda r, t: r["anon"] <= 512e6)],
    "graph": [("wall <= 60 s", lambda r, t: r["wall"] <= 60),
              ("peak RSS <= 2 GB", lambda r, t: r["rss"] <= 2e9)],
}
UNIT_ROUNDOFF = {TensorProto.FLOAT16: 2.0 ** -11, TensorProto.BFLOAT16: 2.0 ** -8}

# Runs argv (stdout to /dev/null, stderr to a file), polls the child's
# RssAnon every 5 ms, and prints one JSON line: wall, CPU, ru_maxrss, the
# sampled RssAnon peak, the exit code, whether it was killed on timeout.
MEASURE = r"""
import json, os, resource, signal, sys, time
limit_as, timeout, err_path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
argv = sys.argv[4:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        if limit_as > 0:
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
        null = os.open(os.devnull, os.O_WRONLY)
        err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(null, 1)
        os.dup2(err, 2)
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
anon = samples = 0
killed = False
status_path = f"/proc/{pid}/status"
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = max(anon, int(line.split()[1]) * 1024)
                    samples += 1
                    break
    except OSError:
        pass
    if timeout > 0 and not killed and time.perf_counter() - start > timeout:
        os.kill(pid, signal.SIGKILL)
        killed = True
    time.sleep(0.005)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss": usage.ru_maxrss * 1024, "anon": anon, "samples": samples,
                  "code": os.waitstatus_to_exitcode(status), "killed": killed}))
"""


def measure(argv, err_path, limit_as=0, timeout=0):
    proc = subprocess.run([sys.executable, "-S", "-c", MEASURE, str(limit_as), str(timeout),
                           err_path, *argv], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    with open(err_path, errors="replace") as f:
        result["stderr"] = f.read()
    return result


def model_files(path):
    """The model file and the external data files it names."""
    model = onnx.load(path, load_external_data=False)
    folder = os.path.dirname(os.path.abspath(path))
    files = [os.path.abspath(path)]
    for tensor in model.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            location = os.path.join(folder, external(tensor)["location"])
            if location not in files:
                files.append(location)
    return model, files


def external(tensor):
    return {entry.key: entry.value for entry in tensor.external_data}


def warm(files):
    """Reads the files once, so that they are in the page cache."""
    for path in files:
        with open(path, "rb", buffering=0) as f:
            while f.read(64 << 20):
                pass


def fingerprint(files, hash_limit):
    if sum(os.path.getsize(p) for p in files) <= hash_limit:
        out = []
        for path in files:
            digest = hashlib.sha256()
            with open(path, "rb", buffering=0) as f:
                while chunk := f.read(64 << 20):
                    digest.update(chunk)
            out.append((path, digest.hexdigest()))
        return "SHA-256", out
    return "size and mtime", [(p, os.path.getsize(p), os.stat(p).st_mtime_ns) for p in files]


def tensor_chunks(model_dir, tensor, chunk=64 << 20):
    """The raw little-endian bytes of an initializer, in chunks, without
    loading a whole external tensor."""
    if tensor.data_location == TensorProto.EXTERNAL:
        info = external(tensor)
        offset, length = int(info.get("offset", 0)), int(info["length"])
        with open(os.path.join(model_dir, info["location"]), "rb", buffering=0) as f:
            f.seek(offset)
            while length > 0:
                data = f.read(min(chunk, length))
                if not data:
                    raise ValueError(f"{tensor.name}: external data ends early")
                length -= len(data)
                yield data
    elif tensor.HasField("raw_data"):
        yield tensor.raw_data
    else:
        yield onnx.numpy_helper.to_array(tensor).astype(
            onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[tensor.data_type].newbyteorder("<")).tobytes()


def same_bytes(dir_a, a, dir_b, b):
    if a.data_type != b.data_type or list(a.dims) != list(b.dims):
        return False
    stream_b = tensor_chunks(dir_b, b)
    pending = b""
    for data in tensor_chunks(dir_a, a):
        while len(pending) < len(data):
            more = next(stream_b, None)
            if more is None:
                return False
            pending += more
        if pending[:len(data)] != data:
            return False
        pending = pending[len(data):]
    return not pending and next(stream_b, None) is None


def compare_initializers(model_path, model, out_path, skip=()):
    """Problems with the output's copy of every input initializer not in
    `skip`: missing, or not byte-identical. Returns (problems, compared)."""
    out = onnx.load(out_path, load_external_data=False)
    out_inits = {t.name: t for t in out.graph.initializer}
    # A constant only rewritten norms' own nodes read (a shared epsilon or
    # exponent 2) is erased with them rather than left orphaned: gone, not
    # changed, when none of the nodes that read it is in the output.
    out_nodes = {n.name for n in out.graph.node}
    readers = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node.name)
    missing = changed = 0
    dir_a, dir_b = (os.path.dirname(os.path.abspath(p)) for p in (model_path, out_path))
    problems, compared = [], 0
    for tensor in model.graph.initializer:
        if tensor.name in skip:
            continue
        compared += 1
        other = out_inits.get(tensor.name)
        if other is None and readers.get(tensor.name) and not any(
                r and r in out_nodes for r in readers[tensor.name]):
            continue
        if other is None:
            missing += 1
            if len(problems) < 5:
                problems.append(f"'{tensor.name}' is missing from the output")
        elif not same_bytes(dir_a, tensor, dir_b, other):
            changed += 1
            if len(problems) < 5:
                problems.append(f"'{tensor.name}' changed")
    if missing + changed > len(problems):
        problems.append(f"{missing} missing and {changed} changed in all")
    return problems, compared


def metadata(model):
    return {p.key[len("norm_opt_bench."):]: p.value for p in model.metadata_props
            if p.key.startswith("norm_opt_bench.")}


def check_report(report_path, expected):
    with open(report_path) as f:
        report = json.load(f)
    norms = report.get("norms", [])
    folded = sum(n.get("action") == "folded" for n in norms)
    actions = {k: v for k, v in report.get("counts", {}).items()}
    detail = f"{folded} of {len(norms)} norms folded (expected {expected}); counts {actions}"
    problems = [] if folded == len(norms) == expected else [detail]
    for n in norms:
        if n.get("action") != "folded" and len(problems) < 4:
            problems.append(f"{n.get('name')}: {n.get('action')} - {n.get('reason', '')}")
    return problems, detail


def report_stages(report_path):
    """[(stage, seconds)] from the report's `stages`, when it has them."""
    with open(report_path) as f:
        return [(s["stage"], s["seconds"]) for s in json.load(f).get("stages", [])]


def tolerance(model, meta):
    elem = model.graph.output[0].type.tensor_type.elem_type
    if elem not in UNIT_ROUNDOFF:
        return 1e-5, "fp32: exact rewrite"
    n = len([r for r in meta.get("fold_readers", "").split(",") if r]) or 1
    u = UNIT_ROUNDOFF[elem]
    return (2 * math.sqrt(2 / 3) * u * math.sqrt(n),
            f"2 * sqrt(2/3) * u * sqrt(n), u = 2^{round(math.log2(u))}, n = {n} folded weights")


def verify(model_path, model, out_path, meta, work):
    """onnxruntime on the original and the output; (problems, detail)."""
    rng = np.random.default_rng(1)
    if "vocab" in meta:
        feeds = {"input_ids": rng.integers(0, int(meta["vocab"]), (1, 16), dtype=np.int64)}
    else:
        d = model.graph.input[0].type.tensor_type.shape.dim[-1].dim_value
        feeds = {model.graph.input[0].name: rng.standard_normal((1, 16, d)).astype(np.float32)}
    ort = e2e.OrtBatch(os.path.join(work, "ort"))
    ort.add(model_path, feeds)
    ort.add(out_path, feeds)
    (before, error_a), (after, error_b) = ort.run()
    if error_a or error_b:
        return [f"onnxruntime: {error_a or error_b}"], ""
    err = e2e.worst_rel_err(after, before)
    tol, why = tolerance(model, meta)
    detail = f"relative error {err:.2e}, tolerance {tol:.2e} ({why})"
    return ([] if err <= tol else [detail]), detail


def human(n):
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--norm-opt", default=None, help="default: $NORM_OPT or build/bin/norm-opt")
    parser.add_argument("--each-pass", action="store_true", help="also time each pass alone")
    parser.add_argument("--verify", action="store_true", help="compare onnxruntime outputs")
    parser.add_argument("--markdown", help="append the results to this file")
    parser.add_argument("--label", default="", help="a title for the markdown section")
    parser.add_argument("--json", help="write the rows and checks as JSON here")
    parser.add_argument("--work", help="folder for the outputs (default: a temporary one "
                                       "next to the model)")
    parser.add_argument("--keep", action="store_true", help="keep the last output")
    parser.add_argument("--timeout", type=float, default=0, help="kill a row after S seconds")
    parser.add_argument("--mem-limit", type=int, default=0,
                        help="RLIMIT_AS of the norm-opt rows, in bytes")
    parser.add_argument("--hash-limit", type=float, default=4e9,
                        help="hash the input files when they total at most this many bytes")
    args = parser.parse_args(argv)
    if args.norm_opt:
        os.environ["NORM_OPT"] = os.path.abspath(args.norm_opt)
    norm_opt = e2e.norm_opt_path()
    model_path = os.path.abspath(args.model)
    model, files = model_files(model_path)
    meta = metadata(model)
    size = sum(os.path.getsize(p) for p in files)
    work = args.work or tempfile.mkdtemp(prefix="scale-", dir=os.path.dirname(model_path))
    os.makedirs(work, exist_ok=True)
    out_dir = os.path.join(work, "out")
    out_path = os.path.join(out_dir, "out.onnx")
    command = " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    load = os.getloadavg()
    print(f"model: {model_path} ({len(files)} files, {human(size)}, "
          f"{len(model.graph.node)} nodes, preset {meta.get('preset', '?')})")
    print(f"norm-opt: {norm_opt}; load average {load[0]:.2f} at the start")

    fingerprint_kind, before = fingerprint(files, args.hash_limit)
    rows = [("cp", ["cp", *files, out_dir + "/"], False)]
    rows.append(("round trip", [norm_opt, model_path, "-o", out_path], False))
    rows.append(("--norm-optimize", [norm_opt, model_path, "-o", out_path, "--norm-optimize",
                                     "--report", os.path.join(out_dir, "report.json")], True))
    if args.each_pass:
        rows += [(f"--{p}", [norm_opt, model_path, "-o", out_path, f"--{p}"], True)
                 for p in PASSES]

    results, checks = {}, []

    def check(name, problems, detail=""):
        checks.append({"check": name, "ok": not problems, "detail": detail,
                       "problems": problems})
        print(f"check {'PASS' if not problems else 'FAIL'}: {name}"
              + (f": {detail}" if detail and not problems else "")
              + "".join(f"\n    {p}" for p in problems), flush=True)

    for name, argv_row, passes in rows:
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        warm(files)
        is_tool = argv_row[0] == norm_opt
        r = measure(argv_row, os.path.join(work, "stderr.txt"),
                    args.mem_limit if is_tool else 0, args.timeout)
        r["passes"] = passes
        results[name] = r
        state = ("killed after timeout" if r["killed"] else
                 f"exit {r['code']}" if r["code"] else "ok")
        print(f"{name}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, peak RSS {human(r['rss'])}, "
              f"peak RssAnon {human(r['anon'])} ({r['samples']} samples): {state}", flush=True)
        if r["code"] or r["killed"]:
            lines = r["stderr"].strip().splitlines()
            errors = [ln for ln in lines if "error" in ln.lower()]
            check(f"{name} runs", [state] + (errors[:2] or lines[-3:]))
            continue
        if name == "round trip":
            problems, n = compare_initializers(model_path, model, out_path)
            check("round trip: every initializer byte-identical", problems,
                  f"{n} initializers")
        if name == "--norm-optimize":
            check("--norm-optimize: onnx.checker on the output path",
                  [e] if (e := e2e.check_model(out_path)) else [])
            stages = report_stages(os.path.join(out_dir, "report.json"))
            if stages:
                r["stages"] = stages
                print("  stages (the report's wall times): "
                      + ", ".join(f"{k} {v:.2f} s" for k, v in stages), flush=True)
            if "norms" in meta:
                problems, detail = check_report(os.path.join(out_dir, "report.json"),
                                                int(meta["norms"]))
                check("--norm-optimize: the report has every norm folded", problems, detail)
            skip = {n for key in ("fold_readers", "norm_params")
                    for n in meta.get(key, "").split(",") if n}
            problems, n = compare_initializers(model_path, model, out_path, skip)
            check("--norm-optimize: unchanged initializers byte-identical", problems,
                  f"{n} initializers")
            if args.verify:
                problems, detail = verify(model_path, model, out_path, meta, work)
                check("--norm-optimize: onnxruntime outputs match the original", problems, detail)
    _, after = fingerprint(files, args.hash_limit)
    check(f"the input files are unchanged ({fingerprint_kind})",
          [] if before == after else ["an input file changed"])
    if not args.keep:
        shutil.rmtree(out_dir, ignore_errors=True)

    # The table.
    cp, rt = results.get("cp"), results.get("round trip")
    header = ("| step | wall | CPU (user+sys) | peak RSS | peak RssAnon (sampled) "
              "| wall / cp | wall / round trip |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        if r["killed"] or r["code"]:
            state = "killed (timeout)" if r["killed"] else f"failed (exit {r['code']})"
            lines.append(f"| {name} | {r['wall']:.2f} s, {state} | {r['cpu']:.2f} s "
                         f"| {human(r['rss'])} | {human(r['anon'])} | | |")
            continue
        ratio_cp = f"{r['wall'] / cp['wall']:.2f}x" if cp and not cp["code"] else ""
        ratio_rt = f"{r['wall'] / rt['wall']:.2f}x" if rt and not rt["code"] else ""
        lines.append(f"| {name} | {r['wall']:.2f} s | {r['cpu']:.2f} s | {human(r['rss'])} "
                     f"| {human(r['anon'])} | {ratio_cp} | {ratio_rt} |")
    target_lines = []
    preset = meta.get("preset")
    for name, r in results.items():
        if not r["passes"] or preset not in TARGETS:
            continue
        verdicts = []
        for text, test in TARGETS[preset]:
            ok = not r["code"] and not r["killed"] and test(r, results)
            verdicts.append(f"{text}: {'PASS' if ok else 'FAIL'}")
        target_lines.append(f"target ({preset}) {name}: " + ", ".join(verdicts))
    load_end = os.getloadavg()
    print()
    print("\n".join(lines))
    print("\n".join(target_lines))
    failed = [c for c in checks if not c["ok"]]
    print(f"checks: {len(checks) - len(failed)} passed, {len(failed)} failed")

    if args.markdown:
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        with open(args.markdown, "a") as f:
            f.write(f"\n#### {args.label or os.path.basename(model_path)}\n\n")
            f.write(f"{date}; model {os.path.basename(model_path)}, {human(size)}, "
                    f"{len(model.graph.node)} nodes; load average {load[0]:.2f} at the start, "
                    f"{load_end[0]:.2f} at the end (2 cores shared with other work).\n\n")
            f.write(f"```sh\n{command}\n```\n\n")
            f.write("\n".join(lines) + "\n\n")
            if results.get("--norm-optimize", {}).get("stages"):
                f.write("- `--norm-optimize` stages (the report's wall times): " + ", ".join(
                    f"{k} {v:.2f} s" for k, v in results["--norm-optimize"]["stages"]) + "\n")
            for line in target_lines:
                f.write(f"- {line}\n")
            for c in checks:
                f.write(f"- check {'PASS' if c['ok'] else 'FAIL'}: {c['check']}"
                        + (f" ({c['detail']})" if c["detail"] else "")
                        + "".join(f"; {p}" for p in c["problems"][:3]) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": results, "checks": checks, "targets": target_lines,
                       "size": size}, f, indent=1)
    if not args.work and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
