#!/usr/bin/python3
"""Hostile input: norm-opt never crashes, never reads outside the model's
folder and never leaves a bad file (issue 12).

Every file is generated here (onnx.helper, byte edits, symlinks, FIFOs), none
is committed. A rejected input must give exit status 1, exactly one line on
stderr (`norm-opt: error: FILE: ...`, no control characters, no LLVM stack
dump), nothing on stdout, and no new file in the output folder. Truncated and
bit-flipped models may also be accepted (a flip can leave a valid model);
then the output must be complete. Cases that must succeed (a deep but valid
model, write-through outputs, a text round trip) check their output.

    test/e2e/run_hostile.py [-k SUBSTRING]
"""
import os
import random
import stat
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from e2e_common import Suite, argument_parser, norm_opt_path

F = TensorProto.FLOAT
TIMEOUT = 60


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def make_model(nodes, inputs, outputs, inits=(), opset=17, ir=8):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir
    return model


def save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def layer_norm_model(d=4):
    rng = np.random.default_rng(0)
    return make_model(
        [helper.make_node("LayerNormalization", ["X", "g", "b"], ["n"], name="ln", axis=-1),
         helper.make_node("MatMul", ["n", "W"], ["Y"], name="mm")],
        [vi("X", [2, d])], [vi("Y", [2, 3])],
        [numpy_helper.from_array(rng.standard_normal(d).astype(np.float32) + 1, "g"),
         numpy_helper.from_array(rng.standard_normal(d).astype(np.float32), "b"),
         numpy_helper.from_array(rng.standard_normal((d, 3)).astype(np.float32), "W")])


# The decomposed LayerNorm chain of issue 12, class 1.
CHAIN = [
    ("mean", "ReduceMean", ["X"], ["m"], {"axes": [-1]}),
    ("sub", "Sub", ["X", "m"], ["c"], {}),
    ("pow", "Pow", ["c", "two"], ["sq"], {}),
    ("var", "ReduceMean", ["sq"], ["v"], {"axes": [-1]}),
    ("eps_add", "Add", ["v", "eps"], ["ve"], {}),
    ("sqrt", "Sqrt", ["ve"], ["s"], {}),
    ("div", "Div", ["c", "s"], ["n"], {}),
    ("scale", "Mul", ["n", "g"], ["ng"], {}),
    ("bias_add", "Add", ["ng", "b"], ["Y"], {}),
]


def chain_model(cut=None, keep=None):
    """The chain, with node `cut` keeping only its first `keep` inputs."""
    nodes = []
    for name, op, inputs, outputs, attrs in CHAIN:
        if name == cut:
            inputs = inputs[:keep]
        nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
    inits = [numpy_helper.from_array(np.float32(2), "two"), numpy_helper.from_array(np.float32(1e-5), "eps"),
             numpy_helper.from_array(np.arange(1, 5, dtype=np.float32), "g"),
             numpy_helper.from_array(np.full(4, 0.5, np.float32), "b")]
    return make_model(nodes, [vi("X", [2, 4])], [vi("Y", [2, 4])], inits, opset=13, ir=7)


def external_model(entries, name="w"):
    """LayerNorm whose scale is external data with these key/value entries."""
    tensor = TensorProto(name=name, data_type=F, dims=[4], data_location=TensorProto.EXTERNAL)
    for key, value in entries:
        e = tensor.external_data.add()
        e.key, e.value = key, value
    return make_model([helper.make_node("LayerNormalization", ["X", name], ["Y"], name="ln")],
                      [vi("X", [2, 4])], [vi("Y", [2, 4])], [tensor])


def nested_if(depth):
    def graph(level):
        out = f"y{level}"
        if level == depth:
            return helper.make_graph([helper.make_node("Identity", ["x"], [out])], f"g{level}", [], [vi(out, [1])])
        leaf = helper.make_graph([helper.make_node("Identity", ["x"], [out])], f"e{level}", [], [vi(out, [1])])
        node = helper.make_node("If", ["c"], [out], then_branch=graph(level + 1), else_branch=leaf)
        return helper.make_graph([node], f"g{level}", [], [vi(out, [1])])
    top = graph(1)
    top.input.extend([vi("x", [1]), vi("c", [], TensorProto.BOOL)])
    return helper.make_model(top, opset_imports=[helper.make_opsetid("", 17)])


# Inputs the fuzzers reported, hex-encoded. fuzz-optimize crash-cb1fde4e: a
# mutated decomposed-LayerNorm chain (unknown op types, an UNDEFINED-typed
# attribute); ASan's use-after-poison there was a false positive of mixing
# instrumented LLVM headers with the uninstrumented libMLIR (docs/Fuzzing.md).
# The other three crashed ONNX 1.12's shape inference (convPoolShapeInference
# on a Conv with a mangled attribute, ParseData on a Constant whose data does
# not fit its shape) before the importer's checks ran.
FUZZ_FINDINGS = {
    "fuzz-optimize-crash-cb1fde4e": (
        "0808120d6e6f726d2d6f70742d66757a7a3aef020a390a015812016d220a52654d6564657500616e2a140a0461786573"
        "40ffffffffffffffffff01a001072a0f0a086b65657064696d731801a011020a0e0a01580a016d12016322035375000a"
        "110a01630a0374776f120273712203506f3d0a3a0a027371120176220aae9a9b8d63654d65616e2a140a046178657340"
        "ffffffffffffffffff01a001072a0a0a086b65657064696d731801a001020a110a01760a036570731202766c22034164"
        "640a0d0a0276651201732204537172740a0e0a01630a017312016e2203080a0208020a020804420412026e6722034d75"
        "6c0a0f0a026e670a016212015922034164641201672a0d1001420374776f4a04000000402a0d100142036570734a04ac"
        "c527312a19080410014201674a10fe2735bf55f9a1bfea8e1fbf6e45293d2a19080410014201624a104ecd14c0ec0a60"
        "be037a9fbfe0753bbf5a130a0158120e0a0c080112080a0208020a02080462130a0159120e0a0c080112080a0208020a"
        "02080442040a00100c"),
    "fuzz-optimize-crash-035aedad": (
        "0808120d6e6f726d2d6f70742d66757a7a3acb020a290a01580a01570a01421201632204436f6e762a150a0c6b65726e"
        "65525f736861706540014004a001070a3f0a01630a01730a0262620a046d65616e0a0376617212015922128761746368"
        "4e6f726d616c697a6174696f6e2a110a076570f3696c6f6e15acc52737a001011201672a270803080208010801100142"
        "01574a187b2493be3686c93f1b96ddbea2483cbfbdc77f3ea806843f2a15080310014201424a0cb2df243e38e515bf16"
        "adabbf2a15080310014201734a0c0465b3bfd3af003fd55d7d3f2a1608031001420262624a0cd73c28beca8489bfb17f"
        "5f3f2a180803100142046d65616e4a0cf3e3a362657461bf07fb1e3f2a170801100142037661724a0c500250408f74b1"
        "3f3573ca3f5a1b0a015812160a14087a12100a0208010a0208024a0208030a020803621b0a015912160a14080112100a"
        "0208010a0208030a0208030a02080342040a001011"),
    "fuzz-optimize-crash-8e4df454": (
        "0808120d6e6f726d2e6f70742d66757a7a3acb020a290a01580a01570a01421201632204436f6e762a150a0c6b65726e"
        "01655f736861706540014001a001070a3f0a01030a01730a0262620a046d65616e0a0376617212015922124261746368"
        "4e6f726d616c697a6174696f6e2a110a07657073696c6f6e15acc52737a001011201672a270803080208010801100142"
        "01574a187b2493be3686c93f1b96dda2be483cbfbdc77f3ea806843f2a15080310014201424a0cb2df243e38e515bf16"
        "adabbf2a15080310014201734a0c0465b3bfd3af003fd55d7d3f2a1608031001420262624a0cd73c28beca8489bfb17f"
        "5f3f2a180803100142046d65616e4a0cf3e3a3bfa18b33bf07fb1e3f2a170803100142037661724a0c500250408f74b1"
        "3f3573ca3f5a1b0a015812160a14080112100a0208090a0208023a0208030a020803621b0a015912160a14080112100a"
        "0208010a0208030a0208030a02080342040a001011"),
    "fuzz-import-binary-crash-3a3a8c49": (
        "0808120d6e6f726d2d6f70742d66757a7a3a89020a2712016b2208436f6e7374616e742a180a0576616c75652a0c0802"
        "10073a0202044a026b76a001040a120a01580a016b1201722207526573686170650a8a010a04636f6e64120159220249"
        "662a3c0a0b656c73655f6272616e6368322a0a0d0a015812036f5f6522034e656712016562160a0b6f5f65120f0a0d08"
        "0112090a0312014e0a020804a001052a3d0a0b7468656e5f627261406368322b0a0e0a015812036f5f34220452656c75"
        "12017462160a036f5f74120f0a0d080112090a0312014e0a020800a001051201675a140a0158120f0a0d080112090a03"
        "12014e0a0208045a0e0a04636f6e6412060a040809120062140a0159120f0a0d080112090a0312014e0a02080442040a"
        "001011"),
}


class Hostile:
    def __init__(self, suite, only):
        self.suite = suite
        self.only = only
        self.tool = norm_opt_path()

    def dir(self, case):
        path = os.path.join(self.suite.work, case)
        os.makedirs(path, exist_ok=True)
        return path

    def run(self, args, stdin=None):
        try:
            return subprocess.run([self.tool] + args, capture_output=True, timeout=TIMEOUT, stdin=stdin)
        except subprocess.TimeoutExpired:
            return None

    @staticmethod
    def line_problems(stderr, mention):
        """A rejection's stderr: one `norm-opt: error:` line naming `mention`."""
        problems = []
        text = stderr.decode("utf-8", "replace")
        lines = text.splitlines()
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr: {text[:400]!r}")
        if "PLEASE submit" in text or "Stack dump" in text or "LLVM ERROR" in text:
            problems.append("LLVM crash output")
        if lines and not lines[0].startswith("norm-opt: error: "):
            problems.append(f"not a norm-opt error: {lines[0][:200]!r}")
        if any(ord(c) < 0x20 and c != "\n" for c in text):
            problems.append("control characters in the message")
        if mention and mention not in text:
            problems.append(f"the message does not name {mention!r}")
        return problems

    def expect_error(self, case, model, args=None, contains=None, mention=None, out_dir=None):
        """norm-opt MODEL ARGS must fail cleanly and leave nothing new."""
        if self.only not in case:
            return
        d = out_dir or os.path.dirname(model)
        args = args if args is not None else ["-o", os.path.join(d, "out.onnx"), "--report",
                                              os.path.join(d, "report.json")]
        before = set(os.listdir(d))
        p = self.run([model] + args)
        if p is None:
            self.suite.record(case, [f"timed out after {TIMEOUT} s"])
            return
        problems = []
        if p.returncode != 1:
            problems.append(f"exit {p.returncode}, expected 1")
        problems += self.line_problems(p.stderr, mention if mention is not None else os.path.basename(model))
        if contains and contains not in p.stderr.decode("utf-8", "replace"):
            problems.append(f"no {contains!r} in the message")
        if p.stdout:
            problems.append(f"{len(p.stdout)} bytes on stdout")
        left = sorted(set(os.listdir(d)) - before)
        if left:
            problems.append(f"left behind: {left}")
        self.suite.record(case, problems, p.stderr.decode("utf-8", "replace").strip()[:160])

    def expect_clean(self, case, model):
        """A mutated model: accepted with a complete output, or rejected cleanly."""
        if self.only not in case:
            return
        d = os.path.dirname(model)
        out = os.path.join(d, "out.onnx")
        before = set(os.listdir(d))
        p = self.run([model, "-o", out, "--norm-optimize"])
        if p is None:
            self.suite.record(case, [f"timed out after {TIMEOUT} s"])
            return
        problems = []
        if p.returncode == 0:
            try:
                onnx.load(out)
            except Exception as e:  # noqa: BLE001 - any failure to read is the finding
                problems.append(f"accepted, but the output does not load: {e}")
            os.remove(out)
        elif p.returncode == 1:
            problems += self.line_problems(p.stderr, os.path.basename(model))
        else:
            problems.append(f"exit {p.returncode} (crash?): {p.stderr.decode('utf-8', 'replace')[-300:]!r}")
        left = sorted(set(os.listdir(d)) - before - {"out.onnx"})
        if left:
            problems.append(f"left behind: {left}")
        self.suite.record(case, problems)

    def expect_ok(self, case, args, check=None):
        if self.only not in case:
            return None
        p = self.run(args)
        problems = []
        if p is None:
            problems.append("timed out")
        elif p.returncode != 0:
            problems.append(f"exit {p.returncode}: {p.stderr.decode('utf-8', 'replace')[:300]!r}")
        elif check:
            problems += check(p)
        self.suite.record(case, problems)
        return p


def main():
    args = argument_parser(__doc__).parse_args()
    suite = Suite("hostile")
    h = Hostile(suite, args.k)
    rng = random.Random(12)

    # 1. Short operand lists in the decomposed chain: every binary node with
    # one input and with none, every unary one with none.
    for name, op, inputs, _, _ in CHAIN:
        for keep in range(len(inputs)):
            d = h.dir(f"chain-{name}-{keep}-inputs")
            path = save(chain_model(name, keep), os.path.join(d, "model.onnx"))
            h.expect_error(f"chain-{name}-{keep}-inputs", path, contains=f"node '{name}'")

    # 2. Sizes validated before anything is allocated.
    def typed(dims, field="float_data", values=(1.0,), dtype=F):
        t = TensorProto(name="w", data_type=dtype, dims=dims)
        getattr(t, field).extend(values)
        return make_model([helper.make_node("Add", ["X", "w"], ["Y"], name="add")],
                          [vi("X", [4])], [vi("Y", [4])], [t])
    for case, dims, field, values, dtype in [
            ("float-data-2^31", [2 ** 31], "float_data", [1.0], F),
            ("float-data-2^40", [2 ** 20, 2 ** 20], "float_data", [1.0], F),
            ("float-data-2^62x4", [2 ** 62, 4], "float_data", [1.0], F),
            ("float-data-negative-dim", [-4], "float_data", [1.0], F),
            ("int64-data-2^40", [2 ** 40], "int64_data", [1], TensorProto.INT64),
            ("double-data-2^33", [2 ** 33], "double_data", [1.0], TensorProto.DOUBLE),
            ("int32-data-fp16-2^34", [2 ** 34], "int32_data", [1], TensorProto.FLOAT16),
            ("raw-data-2^40", [2 ** 40], None, None, F)]:
        d = h.dir(case)
        model = typed(dims, field or "float_data", values or [], dtype)
        if field is None:
            model.graph.initializer[0].raw_data = b"\0" * 16
        h.expect_error(case, save(model, os.path.join(d, "model.onnx")), contains="tensor 'w'")
    for case, text in [
            ("text-2^31-elements", "<float[2147483648] w = {1.0}>"),
            ("text-negative-dim", "<float[-1] w = {1.0}>"),
            ("text-float-1e400", "<float[1] w = {1e400}>"),
            ("text-int64-2^63", "<int64[1] w = {9223372036854775808}>"),
            ("text-float-nan", "<float[1] w = {nan}>"),
            ("text-dim-2^63", "<float[9223372036854775808] w = {1.0}>")]:
        d = h.dir(case)
        path = os.path.join(d, "model.onnxtxt")
        with open(path, "w") as f:
            f.write('<ir_version: 8, opset_import: ["" : 17]>\ng (float[4] X) => (float[4] Y)\n'
                    f"{text}\n{{\n  Y = Add (X, w)\n}}\n")
        h.expect_error(case, path)

    # 3 and 4. External data: malformed and overflowing offsets and lengths.
    weights = struct.pack("<4f", 1, 2, 3, 4)
    for case, entries in [
            ("external-offset-letters", [("location", "w.bin"), ("offset", "abc")]),
            ("external-offset-empty", [("location", "w.bin"), ("offset", "")]),
            ("external-offset-2^70", [("location", "w.bin"), ("offset", "1180591620717411303424")]),
            ("external-offset-minus-32", [("location", "w.bin"), ("offset", "-32")]),
            ("external-offset-minus-1MiB", [("location", "w.bin"), ("offset", "-1048576")]),
            ("external-offset-wraps", [("location", "w.bin"), ("offset", str(2 ** 64 - 8))]),
            ("external-offset-past-end", [("location", "w.bin"), ("offset", "8")]),
            ("external-length-letters", [("location", "w.bin"), ("length", "16x")]),
            ("external-length-huge", [("location", "w.bin"), ("length", str(2 ** 64 - 1))]),
            ("external-length-plus", [("location", "w.bin"), ("length", "+16")]),
            ("external-location-empty", [("offset", "0")]),
            ("external-location-absolute", [("location", "/etc/passwd")]),
            ("external-location-dotdot", [("location", "../outside/w.bin")]),
            ("external-location-missing", [("location", "missing.bin")])]:
        d = h.dir(case)
        with open(os.path.join(d, "w.bin"), "wb") as f:
            f.write(weights)
        h.expect_error(case, save(external_model(entries), os.path.join(d, "model.onnx")), contains="tensor 'w'")

    # 5. External data may not leave the model's folder, nor be anything but
    # a regular file.
    outside = h.dir("outside")
    secret = os.path.join(outside, "secret.bin")
    with open(secret, "wb") as f:
        f.write(b"SECRET!!" * 2)
    links = [("external-symlink-out", "w.bin", secret),
             ("external-symlink-passwd", "w.bin", "/etc/passwd"),
             ("external-symlink-shadow", "w.bin", "/etc/shadow"),
             ("external-symlink-dev-zero", "w.bin", "/dev/zero"),
             ("external-symlink-dev-urandom", "w.bin", "/dev/urandom"),
             ("external-symlink-inside", "w.bin", "real.bin")]
    for case, name, target in links:
        d = h.dir(case)
        with open(os.path.join(d, "real.bin"), "wb") as f:
            f.write(weights)
        os.symlink(target, os.path.join(d, name))
        h.expect_error(case, save(external_model([("location", name)]), os.path.join(d, "model.onnx")),
                       contains="tensor 'w'")
    d = h.dir("external-symlinked-folder")
    os.symlink(outside, os.path.join(d, "sub"))
    h.expect_error("external-symlinked-folder",
                   save(external_model([("location", "sub/secret.bin")]), os.path.join(d, "model.onnx")),
                   contains="outside the model's folder")
    d = h.dir("external-fifo")
    os.mkfifo(os.path.join(d, "w.bin"))
    h.expect_error("external-fifo", save(external_model([("location", "w.bin")]), os.path.join(d, "model.onnx")),
                   contains="not a regular file")
    d = h.dir("external-directory")
    os.mkdir(os.path.join(d, "w.bin"))
    h.expect_error("external-directory", save(external_model([("location", "w.bin")]),
                                              os.path.join(d, "model.onnx")), contains="tensor 'w'")
    # A real folder reached through a symlinked model folder is fine: the
    # check is on real paths.
    d = h.dir("external-model-via-symlink")
    real = os.path.join(d, "real")
    os.mkdir(real)
    with open(os.path.join(real, "w.bin"), "wb") as f:
        f.write(weights)
    save(external_model([("location", "w.bin")]), os.path.join(real, "model.onnx"))
    os.symlink(real, os.path.join(d, "link"))
    h.expect_ok("external-model-via-symlink",
                [os.path.join(d, "link", "model.onnx"), "-o", os.path.join(d, "out.onnx")])

    # 6. Output paths.
    d = h.dir("outputs")
    model = save(layer_norm_model(), os.path.join(d, "model.onnx"))
    h.expect_error("report-is-input", model, ["-o", os.path.join(d, "o1.onnx"), "--report", model],
                   contains="input")
    h.expect_error("output-is-input", model, ["-o", model], contains="input")
    h.expect_error("report-is-output", model, ["-o", os.path.join(d, "o2.onnx"), "--report",
                                               os.path.join(d, "o2.onnx")], contains="same file", mention="o2.onnx")
    os.symlink("model.onnx", os.path.join(d, "alias.onnx"))
    h.expect_error("output-is-input-via-symlink", model, ["-o", os.path.join(d, "alias.onnx")],
                   contains="input", mention="alias.onnx")
    h.expect_error("report-folder-missing", model, ["-o", os.path.join(d, "o3.onnx"), "--report",
                                                    os.path.join(d, "missing", "r.json")], mention="r.json")
    h.expect_error("output-folder-missing", model, ["-o", os.path.join(d, "missing", "o.onnx")],
                   mention="o.onnx")
    os.mkdir(os.path.join(d, "adir"))
    h.expect_error("output-is-directory", model, ["-o", os.path.join(d, "adir")], mention="adir")
    # A full disk: /dev/full is written through and fails, for every format.
    for case, extra in [("full-disk-onnx", ["--emit=onnx"]), ("full-disk-mlir", ["--emit=mlir"]),
                        ("full-disk-text", ["--emit=onnx-text"])]:
        if os.path.exists("/dev/full"):
            h.expect_error(case, model, ["-o", "/dev/full"] + extra, mention="/dev/full", out_dir=d)
    # stdout on a full disk (the MLIR-in, MLIR-out path is mlir-opt's).
    mlir = os.path.join(d, "f.mlir")
    with open(mlir, "w") as f:
        f.write("func.func @f() {\n  return\n}\n")
    if os.path.exists("/dev/full") and h.only in "full-disk-stdout":
        with open("/dev/full", "w") as full:
            p = subprocess.run([h.tool, mlir], stdout=full, stderr=subprocess.PIPE, timeout=TIMEOUT)
        suite.record("full-disk-stdout", ([] if p.returncode == 1 else [f"exit {p.returncode}"]) +
                     h.line_problems(p.stderr, "stdout"))
    h.expect_error("full-disk-report", model, ["-o", os.path.join(d, "o4.onnx"), "--report", "/dev/full"],
                   mention="/dev/full")
    # Non-regular targets are written through and stay what they were.
    def still_char_device(path):
        return lambda p: [] if stat.S_ISCHR(os.stat(path).st_mode) else [f"{path} was replaced"]
    h.expect_ok("output-dev-null", [model, "-o", "/dev/null", "--emit=onnx"], still_char_device("/dev/null"))
    h.expect_error("output-dev-null-external-data", save(layer_norm_model(256), os.path.join(d, "big.onnx")),
                   ["-o", "/dev/null", "--emit=onnx", "--external-data=always"], mention="/dev/null",
                   contains="external data", out_dir="/dev")
    h.expect_ok("report-dev-null", [model, "-o", os.path.join(d, "o5.onnx"), "--report", "/dev/null"],
                still_char_device("/dev/null"))
    h.expect_ok("output-dev-stdout", [model, "-o", "/dev/stdout", "--emit=onnx"],
                lambda p: [] if onnx.load_from_string(p.stdout).graph.node else ["no model on stdout"])
    # A symlinked output: the file it names is replaced, the link stays.
    target = os.path.join(d, "target.onnx")
    with open(target, "wb") as f:
        f.write(b"old")
    os.symlink("target.onnx", os.path.join(d, "link.onnx"))
    h.expect_ok("output-symlink-kept", [model, "-o", os.path.join(d, "link.onnx")],
                lambda p: [] if os.path.islink(os.path.join(d, "link.onnx")) and
                onnx.load(target).graph.node else ["the symlink was replaced"])
    # A failing run leaves an existing output as it was.
    keep = os.path.join(d, "keep.onnx")
    with open(keep, "wb") as f:
        f.write(b"previous")
    h.expect_error("failed-run-keeps-old-output", save(chain_model("sub", 1), os.path.join(d, "bad.onnx")),
                   ["-o", keep])
    if h.only in "failed-run-keeps-old-output" and open(keep, "rb").read() != b"previous":
        suite.record("failed-run-keeps-old-output-content", ["the old output was changed"])

    # 7. Text output keeps the initializers and reads back.
    d = h.dir("text")
    model = save(layer_norm_model(), os.path.join(d, "model.onnx"))
    text = os.path.join(d, "model.onnxtxt")
    def text_round_trip(p):
        back = os.path.join(d, "back.onnx")
        q = h.run([text, "-o", back, "--recognize=false"])
        if q.returncode != 0:
            return [f"the text does not read back: {q.stderr[:300]!r}"]
        a = {t.name: numpy_helper.to_array(t) for t in onnx.load(model).graph.initializer}
        b = {t.name: numpy_helper.to_array(t) for t in onnx.load(back).graph.initializer}
        if a.keys() != b.keys() or any(not np.array_equal(a[k], b[k]) for k in a):
            return [f"initializers differ: {sorted(a)} vs {sorted(b)}"]
        return []
    h.expect_ok("text-keeps-initializers", [model, "-o", text, "--recognize=false"], text_round_trip)
    fp16 = make_model([helper.make_node("Add", ["X", "w"], ["Y"], name="add")],
                      [vi("X", [4], TensorProto.FLOAT16)], [vi("Y", [4], TensorProto.FLOAT16)],
                      [numpy_helper.from_array(np.ones(4, np.float16), "w")])
    h.expect_error("text-fp16-refused", save(fp16, os.path.join(d, "fp16.onnx")),
                   ["-o", os.path.join(d, "fp16.onnxtxt")], contains="text format")
    nan = make_model([helper.make_node("Add", ["X", "w"], ["Y"], name="add")], [vi("X", [2])], [vi("Y", [2])],
                     [numpy_helper.from_array(np.array([np.nan, 1], np.float32), "w")])
    h.expect_error("text-nan-refused", save(nan, os.path.join(d, "nan.onnx")),
                   ["-o", os.path.join(d, "nan.onnxtxt")], contains="NaN")

    # 8. Invalid models the ONNX checker rejects.
    d = h.dir("invalid")
    dup = make_model([helper.make_node("Relu", ["X"], ["T"], name="r1"),
                      helper.make_node("Neg", ["X"], ["T"], name="r2"),
                      helper.make_node("Identity", ["T"], ["Y"], name="id")], [vi("X", [4])], [vi("Y", [4])])
    h.expect_error("duplicate-value-name", save(dup, os.path.join(d, "dup.onnx")), contains="'T'")
    dup_init = make_model([helper.make_node("Add", ["X", "w"], ["Y"], name="add")], [vi("X", [4])], [vi("Y", [4])],
                          [numpy_helper.from_array(np.ones(4, np.float32), "w"),
                           numpy_helper.from_array(np.zeros(4, np.float32), "w")])
    h.expect_error("duplicate-initializer", save(dup_init, os.path.join(d, "dupinit.onnx")), contains="'w'")
    ln = make_model([helper.make_node("LayerNormalization", ["X", "g", "b", "X", "X"], ["Y", "m", "s", "z"],
                                      name="ln")], [vi("X", [2, 4])], [vi("Y", [2, 4])],
                    [numpy_helper.from_array(np.ones(4, np.float32), "g"),
                     numpy_helper.from_array(np.zeros(4, np.float32), "b")])
    h.expect_error("layer-norm-5-inputs", save(ln, os.path.join(d, "ln5.onnx")), contains="node 'ln'")
    ln1 = make_model([helper.make_node("LayerNormalization", ["X", "g"], ["Y"], name="ln")],
                     [vi("X", [2, 4])], [vi("Y", [2, 4])], [numpy_helper.from_array(np.ones(4, np.float32), "g")],
                     opset=1, ir=3)
    h.expect_error("layer-norm-opset-1", save(ln1, os.path.join(d, "ln1.onnx")), contains="opset")
    bad_attr = make_model([helper.make_node("Relu", ["X"], ["Y"], name="r", alpha=2.0)],
                          [vi("X", [4])], [vi("Y", [4])])
    h.expect_error("unknown-attribute", save(bad_attr, os.path.join(d, "attr.onnx")), contains="node 'r'")

    # 9. Messages.
    d = h.dir("messages")
    deep = os.path.join(d, "nested32.onnx")
    save(nested_if(32), deep)
    h.expect_ok("nested-if-32-loads", [deep, "-o", os.path.join(d, "n32.onnx")])
    save(nested_if(100), os.path.join(d, "nested100.onnx"))
    h.expect_ok("nested-if-100-loads", [os.path.join(d, "nested100.onnx"), "-o", os.path.join(d, "n100.onnx")])
    save(nested_if(400), os.path.join(d, "nested400.onnx"))
    h.expect_error("nested-if-400-too-deep", os.path.join(d, "nested400.onnx"), contains="nests")
    weird = make_model([helper.make_node("Relu", ["X"], ["T"], name="evil\nname\x1b[31m"),
                        helper.make_node("Add", ["T", "Missing\r\n"], ["Y"], name="add\tx")],
                       [vi("X", [4])], [vi("Y", [4])])
    h.expect_error("control-characters-escaped", save(weird, os.path.join(d, "weird.onnx")),
                   contains="\\t")
    elem = make_model([helper.make_node("Relu", ["X"], ["Y"], name="r")], [vi("X", [4], 65)], [vi("Y", [4])])
    h.expect_error("unsupported-element-type-once", save(elem, os.path.join(d, "elem.onnx")), contains="65")
    mismatch = make_model([helper.make_node("Relu", ["X"], ["T"], name="r")],
                          [vi("X", [4]), vi("Z", [4], TensorProto.INT64)], [vi("Z", [4])])
    mismatch.graph.output[0].type.tensor_type.elem_type = F
    h.expect_error("output-type-mismatch", save(mismatch, os.path.join(d, "mismatch.onnx")), contains="output 'Z'")

    # Truncated and bit-flipped models, and random bytes.
    d = h.dir("mutated")
    base = chain_model().SerializeToString()
    ln_bytes = layer_norm_model().SerializeToString()
    for i, cut in enumerate(sorted(rng.sample(range(1, len(base)), 12))):
        path = os.path.join(d, f"truncated{i}.onnx")
        with open(path, "wb") as f:
            f.write(base[:cut])
        h.expect_clean(f"truncated-{cut}-of-{len(base)}", path)
    for i in range(40):
        data = bytearray(base if i % 2 else ln_bytes)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8)
        path = os.path.join(d, f"flipped{i}.onnx")
        with open(path, "wb") as f:
            f.write(bytes(data))
        h.expect_clean(f"bit-flipped-{i}", path)
    # The fuzzers' findings (docs/Fuzzing.md), as they were found.
    for name, hexbytes in FUZZ_FINDINGS.items():
        path = os.path.join(d, name + ".onnx")
        with open(path, "wb") as f:
            f.write(bytes.fromhex(hexbytes))
        h.expect_clean(name, path)
    for i in range(4):
        path = os.path.join(d, f"random{i}.onnx")
        with open(path, "wb") as f:
            f.write(bytes(rng.randrange(256) for _ in range(rng.randint(1, 400))))
        h.expect_clean(f"random-bytes-{i}", path)

    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
