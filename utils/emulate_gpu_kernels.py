#!/usr/bin/env python3
"""Run the norm kernels of convert-norm-to-gpu on the CPU and check them.

CI has no GPU, so this is where the kernels' numerics are checked: a SIMT
emulator for the gpu-dialect IR that convert-norm-to-gpu writes (after
norm-lower-subgroup-reduce, so the butterfly shuffles are what runs), in
the generic printed form:

  norm-opt in.mlir --mlir-print-op-generic -o k.mlir \\
    --pass-pipeline="builtin.module(convert-norm-to-gpu,gpu.module(norm-lower-subgroup-reduce))"
  emulate_gpu_kernels.py k.mlir --rows 5

Every thread of the grid runs in lockstep (numpy arrays over threads);
`scf.if` runs each branch under a mask. Besides the float64 reference check
(relative L2 error under 1e-5 f32, 2e-3 f16, 1e-2 bf16; outputs poisoned
with NaN first, so an unwritten element fails), the emulator checks what a
lockstep run could otherwise hide:
  * every active global load/store is in bounds, and no element is stored
    twice (no two threads write the same output);
  * a shuffle runs with all 32 lanes of its warp active (the kernels use a
    full mask), and a barrier with all threads of its block;
  * a workgroup slot written by one warp is read by another only after a
    barrier, and one read by a warp is overwritten by another only after one.
It models fp32 arithmetic with numpy float32 and rounds f16/bf16 on
`arith.truncf`; it does not model the NVPTX backend (approximate rsqrt,
FMA contraction) or memory timing: the generated code's SASS and the run on
a real GPU (norm-gpu-runner) are separate checks.
"""

import argparse
import math
import re
import sys

import numpy as np

WARP = 32

# ----------------------------------------------------------------------------
# Parsing the generic form
# ----------------------------------------------------------------------------


class Op:
    def __init__(self, results, name, operands, props, attrs, types):
        self.results, self.name, self.operands = results, name, operands
        self.props, self.attrs, self.types = props, attrs, types
        self.regions = []  # list of (block args, [ops])


OP_RE = re.compile(r'^(?:(%[\w#]+)(?::(\d+))? = )?"([\w.]+)"\((.*?)\)(.*)$')


def parse(text):
    """Returns the top-level ops of the module body."""
    root = Op([], "root", [], "", "", "")
    root.regions.append(([], []))
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        if line.startswith("^bb"):
            args = re.findall(r"(%\w+): ((?:[^,<()]|<[^<>]*(?:<[^<>]*>[^<>]*)*>)+)", line[line.index("(") + 1:])
            region_args, ops = stack[-1].regions[-1]
            stack[-1].regions[-1] = ([(n, t.strip()) for n, t in args], ops)
            continue
        if line.startswith("}, {"):
            stack[-1].regions.append(([], []))
            continue
        if line.startswith("})"):
            op = stack.pop()
            rest = line[2:].strip()
            attrs, types = split_attrs_types(rest)
            op.attrs, op.types = attrs, types
            continue
        m = OP_RE.match(line)
        if not m:
            raise SyntaxError(f"cannot parse: {line[:120]}")
        res, count, name, operands, rest = m.groups()
        if res:
            results = [res] if not count else [f"{res}#{i}" for i in range(int(count))]
        else:
            results = []
        operand_list = [o.strip() for o in operands.split(",") if o.strip()]
        props = ""
        rest = rest.strip()
        if rest.startswith("<{"):
            depth, i = 0, 0
            while True:
                if rest[i] == "{":
                    depth += 1
                elif rest[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            props, rest = rest[2:i], rest[i + 2:].strip()
        op = Op(results, name, operand_list, props, "", "")
        stack[-1].regions[-1][1].append(op)
        if rest.startswith("({"):
            op.regions.append(([], []))
            stack.append(op)
        else:
            op.attrs, op.types = split_attrs_types(rest)
    return root.regions[0][1]


def split_attrs_types(rest):
    attrs = ""
    if rest.startswith("{"):
        depth = 0
        for i, ch in enumerate(rest):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                attrs, rest = rest[1:i], rest[i + 1:].strip()
                break
    types = rest[1:].strip() if rest.startswith(":") else ""
    return attrs, types


def result_type(op):
    return op.types.split("->")[-1].strip()


def elem_of(type_str):
    m = re.search(r"x?(f32|f16|bf16|index|i1|i32|i64)>?$", type_str.split(",")[0].strip())
    return m.group(1) if m else type_str


# ----------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------


def round_to(values, elem):
    values = np.asarray(values, dtype=np.float32)
    if elem == "f32":
        return values
    if elem == "f16":
        return values.astype(np.float16).astype(np.float32)
    if elem == "bf16":
        u = values.view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
        out = u.astype(np.uint32).view(np.float32)
        return np.where(np.isnan(values), values, out)
    raise ValueError(elem)


class Buffer:
    """A global memref: values (exactly representable in `elem`), shape."""

    def __init__(self, shape, elem, data):
        self.shape, self.elem = list(shape), elem
        self.data = np.asarray(data, dtype=np.float32).reshape(-1).copy()
        self.stored = np.zeros(self.data.size, dtype=bool)


class EmulationError(Exception):
    pass


CMP = {0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal, 4: np.greater,
       5: np.greater_equal, 6: np.less, 7: np.less_equal, 8: np.greater,
       9: np.greater_equal}


def parse_float(text):
    text = text.strip()
    if text.startswith("0x"):
        return float(np.array([int(text, 16)], dtype=np.uint32).view(np.float32)[0])
    return float(text)


class Machine:
    def __init__(self, threads, block_threads, slots):
        self.n = threads
        self.block_threads = block_threads
        tid = np.arange(threads)
        self.thread_id = tid % block_threads
        self.block_id = tid // block_threads
        blocks = threads // block_threads
        self.shared = np.zeros((blocks, max(slots, 1)), dtype=np.float32)
        self.shared_epoch = np.full((blocks, max(slots, 1)), -1)
        self.shared_warp = np.full((blocks, max(slots, 1)), -1)
        # Readers since the last barrier: warp id, or -2 for several warps.
        self.read_epoch = np.full((blocks, max(slots, 1)), -1)
        self.read_warp = np.full((blocks, max(slots, 1)), -1)
        self.epoch = 0

    def lanes_check(self, mask, group, what):
        groups = np.arange(self.n) // group
        active = np.bincount(groups, weights=mask, minlength=self.n // group)
        partial = (active > 0) & (active < group)
        if partial.any():
            raise EmulationError(f"{what} with a partially active "
                                 f"{'warp' if group == WARP else 'block'} "
                                 f"(group {int(np.argmax(partial))})")

    def run(self, ops, env, mask):
        for op in ops:
            self.step(op, env, mask)

    def step(self, op, env, mask):
        name = op.name
        get = lambda i: env[op.operands[i]]
        out = None
        if name == "arith.constant":
            m = re.match(r"value = (dense<)?([^>:]+?)>? : (.*)$", op.props)
            typ = m.group(3).strip()
            if typ in ("index", "i32", "i64"):
                out = np.full(self.n, int(m.group(2)), dtype=np.int64)
            elif typ == "i1":
                out = np.full(self.n, m.group(2).strip() == "true")
            else:
                val = np.float32(parse_float(m.group(2)))
                vm = re.match(r"vector<(\d+)x", typ)
                out = (np.full((self.n, int(vm.group(1))), val, dtype=np.float32) if vm
                       else np.full(self.n, val, dtype=np.float32))
        elif name == "gpu.thread_id":
            out = self.thread_id.astype(np.int64)
        elif name == "gpu.block_id":
            out = self.block_id.astype(np.int64)
        elif name == "memref.dim":
            buf, dim = get(0), get(1)
            out = np.full(self.n, buf.shape[int(dim[0])], dtype=np.int64)
        elif name in ("arith.addi", "arith.subi", "arith.muli"):
            out = {"arith.addi": np.add, "arith.subi": np.subtract,
                   "arith.muli": np.multiply}[name](get(0), get(1))
        elif name in ("arith.andi", "arith.ori"):
            out = (np.logical_and if name == "arith.andi" else np.logical_or)(get(0), get(1))
        elif name in ("arith.divui", "arith.remui", "arith.ceildivui"):
            a, b = get(0), np.where(get(1) == 0, 1, get(1))
            out = {"arith.divui": a // b, "arith.remui": a % b,
                   "arith.ceildivui": -(-a // b)}[name]
        elif name == "arith.cmpi":
            pred = int(re.search(r"predicate = (\d+)", op.props).group(1))
            out = CMP[pred](get(0), get(1))
        elif name in ("arith.addf", "arith.subf", "arith.mulf", "arith.divf"):
            a, b = get(0).astype(np.float32), get(1).astype(np.float32)
            with np.errstate(all="ignore"):
                out = {"arith.addf": a + b, "arith.subf": a - b, "arith.mulf": a * b,
                       "arith.divf": a / b}[name]
        elif name == "arith.negf":
            out = -get(0).astype(np.float32)
        elif name == "arith.select":
            cond, a, b = get(0), get(1), get(2)
            if a.ndim == 2 and cond.ndim == 1:
                cond = cond[:, None]
            out = np.where(cond, a, b)
        elif name == "arith.extf":
            out = get(0).astype(np.float32)
        elif name == "arith.truncf":
            out = round_to(get(0), elem_of(result_type(op)))
        elif name == "math.rsqrt":
            with np.errstate(all="ignore"):
                out = (np.float32(1) / np.sqrt(get(0).astype(np.float32))).astype(np.float32)
        elif name == "vector.broadcast":
            width = int(re.search(r"vector<(\d+)x", result_type(op)).group(1))
            out = np.repeat(get(0)[:, None], width, axis=1).astype(np.float32)
        elif name == "vector.reduction":
            if "kind = #vector.kind<add>" not in op.props:
                raise EmulationError(f"unsupported reduction {op.props}")
            v = get(0)
            out = np.zeros(self.n, dtype=np.float32)
            for i in range(v.shape[1]):  # ordered, as llvm.vector.reduce.fadd
                out = (out + v[:, i]).astype(np.float32)
        elif name in ("vector.load", "vector.store"):
            return self.global_access(op, env, mask)
        elif name == "memref.load" or name == "memref.store":
            # Workgroup attributions are None in env; a Buffer is global.
            buf = env[op.operands[1 if name == "memref.store" else 0]]
            if isinstance(buf, Buffer):
                return self.global_access(op, env, mask)
            return self.shared_access(op, env, mask)
        elif name == "gpu.barrier":
            self.lanes_check(mask, self.block_threads, "gpu.barrier")
            self.epoch += 1
            return
        elif name == "gpu.shuffle":
            if "xor" not in op.props:
                raise EmulationError(f"unsupported shuffle {op.props}")
            self.lanes_check(mask, WARP, "gpu.shuffle")
            value, offset, width = get(0), get(1), get(2)
            lane = np.arange(self.n) % WARP
            partner = lane ^ offset
            valid = partner < width
            src = np.arange(self.n) - lane + np.where(valid, partner, lane)
            env[op.results[0]] = value[src]
            env[op.results[1]] = valid
            return
        elif name == "scf.if":
            cond = get(0)
            then_mask, else_mask = mask & cond, mask & ~cond
            then_env = self.region(op, 0, env, then_mask)
            results = []
            if len(op.regions) > 1 and op.regions[1][1]:
                else_env = self.region(op, 1, env, else_mask)
            else:
                else_env = None
            for i, r in enumerate(op.results):
                t, e = then_env["__yield"][i], else_env["__yield"][i]
                c = cond[:, None] if t.ndim == 2 else cond
                env[r] = np.where(c, t, e)
            return
        elif name in ("scf.yield", "gpu.return"):
            env["__yield"] = [get(i) for i in range(len(op.operands))]
            return
        else:
            raise EmulationError(f"unsupported op {name}")
        env[op.results[0]] = out

    def region(self, op, index, env, mask):
        local = dict(env)
        self.run(op.regions[index][1], local, mask)
        # Stores and shared memory are side effects on shared objects; only
        # the yielded values come back.
        return local

    def flat_index(self, buf, indices, mask):
        idx = np.zeros(self.n, dtype=np.int64)
        stride = 1
        offsets = []
        for dim in reversed(range(len(buf.shape))):
            offsets.append((indices[dim], stride, buf.shape[dim]))
            stride *= buf.shape[dim]
        inside = np.ones(self.n, dtype=bool)
        for value, s, size in offsets:
            idx += value * s
            inside &= (value >= 0) & (value < size)
        return idx, inside

    def global_access(self, op, env, mask):
        """vector.load/store, or a scalar memref.load/store (width 1)."""
        store = op.name in ("vector.store", "memref.store")
        scalar = op.name.startswith("memref.")
        base = 1 if store else 0
        buf = env[op.operands[base]]
        indices = [env[o] for o in op.operands[base + 1:]]
        width = 1 if scalar else int(re.search(r"vector<(\d+)x", op.types).group(1))
        idx, inside = self.flat_index(buf, indices, mask)
        # The last index addresses `width` consecutive elements.
        last_ok = (indices[-1] + width <= buf.shape[-1]) & inside
        bad = mask & ~last_ok
        if bad.any():
            t = int(np.argmax(bad))
            raise EmulationError(f"{op.name} out of bounds by thread {t} "
                                 f"(indices {[int(i[t]) for i in indices]}, shape {buf.shape})")
        idx = np.where(mask, idx, 0)
        lanes = idx[:, None] + np.arange(width)[None, :]
        if not store:
            loaded = np.where(mask[:, None], buf.data[np.minimum(lanes, buf.data.size - 1)], 0)
            env[op.results[0]] = (loaded[:, 0] if scalar else loaded).astype(np.float32)
            return
        value = env[op.operands[0]]
        if scalar:
            value = value[:, None]
        written = lanes[mask].reshape(-1)
        if len(np.unique(written)) != written.size or buf.stored[written].any():
            raise EmulationError(f"{op.name}: an element is written twice")
        buf.stored[written] = True
        rounded = round_to(value[mask], buf.elem).reshape(-1)
        buf.data[written] = rounded

    def shared_access(self, op, env, mask):
        store = op.name == "memref.store"
        base = 1 if store else 0
        slot = env[op.operands[base + 1]]
        slots = self.shared.shape[1]
        bad = mask & ((slot < 0) | (slot >= slots))
        if bad.any():
            raise EmulationError(f"{op.name} out of bounds (slot {int(slot[np.argmax(bad)])})")
        block = self.block_id
        warp = self.thread_id // WARP
        active = np.nonzero(mask)[0]
        if store:
            value = env[op.operands[0]]
            for t in active:
                b, s = block[t], slot[t]
                if self.shared_epoch[b, s] == self.epoch and self.shared_warp[b, s] != warp[t]:
                    raise EmulationError("workgroup slot written by two warps between barriers")
                if self.read_epoch[b, s] == self.epoch and self.read_warp[b, s] != warp[t]:
                    raise EmulationError("workgroup slot overwritten after another warp read "
                                         "it, with no barrier between")
                self.shared[b, s] = value[t]
                self.shared_epoch[b, s] = self.epoch
                self.shared_warp[b, s] = warp[t]
            return
        out = np.zeros(self.n, dtype=np.float32)
        for t in active:
            b, s = block[t], slot[t]
            if self.shared_epoch[b, s] == self.epoch and self.shared_warp[b, s] != warp[t]:
                raise EmulationError("workgroup slot read by another warp before a barrier")
            if self.read_epoch[b, s] == self.epoch and self.read_warp[b, s] != warp[t]:
                self.read_warp[b, s] = -2
            else:
                self.read_epoch[b, s], self.read_warp[b, s] = self.epoch, warp[t]
            out[t] = self.shared[b, s]
        env[op.results[0]] = out


# ----------------------------------------------------------------------------
# Kernels, inputs, reference
# ----------------------------------------------------------------------------


def attr(op, key):
    m = re.search(key + r' = ("[^"]*"|\[[^\]]*\]|[^,]+?)(?:,|$)', op.attrs)
    return m.group(1).strip() if m else None


def memref_shape(type_str, rows):
    m = re.match(r"memref<([^>]*?)x?(f32|f16|bf16)", type_str)
    dims = [d for d in m.group(1).split("x") if d]
    return [rows if d == "?" else int(d) for d in dims], m.group(2)


TOL = {"f32": 1e-5, "f16": 2e-3, "bf16": 1e-2}


def reference(kind, inputs, eps, unit_offset, elem):
    if kind.startswith("rms_scale"):
        x = inputs["input"]
        factors = 1.0 / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
        return (factors if kind == "rms_scale_factors" else inputs["value"] * factors), None
    x = inputs["x"].astype(np.float64)
    if kind == "crms_norm":  # x holds d - 1 entries of a zero-mean row
        x = np.concatenate([x, -x.sum(-1, keepdims=True)], axis=-1)
    total = None
    if kind.startswith("skip_"):
        x = x + inputs["skip"]
        if "skip_bias" in inputs:
            x = x + inputs["skip_bias"]
        x = round_to(x.astype(np.float32), elem).astype(np.float64)
        total = x
    mean = x.mean(-1, keepdims=True) if "layer_norm" in kind else 0.0
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if "scale" in inputs:
        y = y * (inputs["scale"] + (1.0 if unit_offset else 0.0))
    if "bias" in inputs:
        y = y + inputs["bias"]
    return y, total


def rel_err(got, ref):
    return float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))


def execute(func, env, arg_count, grid, block):
    """Runs `func` over `grid` blocks of `block` threads; `env` binds its
    first `arg_count` arguments (the rest are workgroup attributions)."""
    block_args, body = func.regions[0]
    slots = 0
    for arg, typ in block_args[arg_count:]:
        slots = int(re.match(r"memref<(\d+)x", typ).group(1))
        env[arg] = None
    machine = Machine(grid * block, block, slots)
    machine.run(body, env, np.ones(machine.n, dtype=bool))


def run_kernel(func, rows, rng):
    name = attr(func, "sym_name").strip('"')
    kind = attr(func, "norm.kind").strip('"')
    arg_names = re.findall(r'"(\w+)"', attr(func, "norm.arguments"))
    eps = float(attr(func, "norm.epsilon").split(":")[0])
    unit_offset = re.search(r"norm\.unit_offset(,|$)", func.attrs) is not None
    threads_per_row = int(attr(func, "norm.threads_per_row").split(":")[0])
    rows_per_block = int(attr(func, "norm.rows_per_block").split(":")[0])
    block_threads = threads_per_row * rows_per_block
    block_args = func.regions[0][0]
    elem = None
    env, inputs, buffers = {}, {}, {}
    for (arg, typ), arg_name in zip(block_args, arg_names):
        shape, e = memref_shape(typ, rows)
        if arg_name in ("x", "value", "input"):
            elem = e
        if arg_name in ("out", "sum"):
            data = np.full(shape, np.nan, dtype=np.float32)  # poison
        else:
            gen = {"x": lambda: rng.normal(0.5, 1.5, shape),
                   "input": lambda: rng.normal(0.5, 1.5, shape),
                   "value": lambda: rng.normal(0.0, 2.0, shape),
                   "skip": lambda: rng.normal(0.0, 1.0, shape),
                   "scale": lambda: (rng.uniform(-0.5, 0.5, shape) if unit_offset
                                     else rng.uniform(0.5, 1.5, shape)),
                   "bias": lambda: rng.uniform(-0.5, 0.5, shape),
                   "skip_bias": lambda: rng.uniform(-0.5, 0.5, shape)}[arg_name]
            data = round_to(gen().astype(np.float32), e)
            inputs[arg_name] = data.astype(np.float64)
        buffers[arg_name] = env[arg] = Buffer(shape, e, data)
    execute(func, env, len(arg_names), -(-rows // rows_per_block), block_threads)

    ref, total = reference(kind, inputs, eps, unit_offset, elem)
    report, ok = [], True
    for out_name, expected in (("out", ref), ("sum", total)):
        if out_name not in buffers:
            continue
        got = buffers[out_name].data.reshape(expected.shape).astype(np.float64)
        nans = int(np.isnan(got).sum())
        err = rel_err(np.nan_to_num(got), expected)
        tol = TOL[buffers[out_name].elem]  # the output's type: f32 for rms_scale factors
        passed = nans == 0 and err < tol
        ok &= passed
        report.append(f"{out_name}: rel_err={err:.3e} (tol {tol:.0e}) unwritten_or_nan={nans}")
    return name, ok, " ".join(report)


RAW = {"f32": np.uint32, "f16": np.uint16, "bf16": np.uint16}


def raw_to_f32(raw, elem):
    if elem == "f32":
        return raw.view(np.float32).copy()
    if elem == "f16":
        return raw.view(np.float16).astype(np.float32)
    return (raw.astype(np.uint32) << 16).view(np.float32)


def f32_to_raw(values, elem):
    values = round_to(values, elem)
    if elem == "f32":
        return values.view(np.uint32)
    if elem == "f16":
        return values.astype(np.float16).view(np.uint16)
    return (values.view(np.uint32) >> 16).astype(np.uint16)


def launch(func, grid, block, buffer_specs):
    """Runs `func` on the given raw buffers, as a device would: the launch
    shape is the caller's, outputs keep the bytes of unwritten elements.
    `buffer_specs`: "PATH:d0xd1" per kernel argument, in order."""
    name = attr(func, "sym_name").strip('"')
    known = re.search(r"known_block_size = array<i32: (\d+)", func.attrs)
    if known and int(known.group(1)) != block:
        raise EmulationError(f"{name}: launched with {block} threads per block, "
                             f"known_block_size is {known.group(1)}")
    block_args = func.regions[0][0]
    arg_names = re.findall(r'"(\w+)"', attr(func, "norm.arguments"))
    if len(buffer_specs) != len(arg_names):
        raise EmulationError(f"{name}: {len(buffer_specs)} buffers for {len(arg_names)} arguments")
    env, files = {}, []
    for (arg, typ), spec in zip(block_args, buffer_specs):
        path, dims = spec.rsplit(":", 1)
        shape = [int(d) for d in dims.split("x")]
        static, elem = memref_shape(typ, shape[0])
        if static != shape:
            raise EmulationError(f"{name}: buffer of shape {shape} for an argument of type {typ}")
        # The file is the whole allocation, which may be larger.
        raw = np.fromfile(path, dtype=RAW[elem])
        needed = int(np.prod(shape))
        if raw.size < needed:
            raise EmulationError(f"{name}: {path} holds {raw.size} {elem} elements, "
                                 f"fewer than {shape} needs")
        env[arg] = Buffer(shape, elem, raw_to_f32(raw[:needed], elem))
        files.append((path, raw, env[arg]))
    execute(func, env, len(arg_names), grid, block)
    for path, raw, buf in files:
        if buf.stored.any():
            head = raw[:buf.stored.size]
            head[buf.stored] = f32_to_raw(buf.data[buf.stored], buf.elem)
            raw.tofile(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="generic-form MLIR after convert-norm-to-gpu")
    ap.add_argument("--rows", type=int, action="append",
                    help="row counts to run (repeatable; default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--launch", metavar="KERNEL",
                    help="run one kernel on the raw buffers of --buffer (for "
                         "utils/fake-cuda, an emulated CUDA driver)")
    ap.add_argument("--grid", type=int, default=1)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--buffer", action="append", default=[], metavar="PATH:SHAPE")
    ap.add_argument("--argument-ranks", metavar="KERNEL",
                    help="print the rank of each memref argument of KERNEL")
    args = ap.parse_args()
    with open(args.input) as f:
        ops = parse(f.read())
    module = ops[0]
    kernels = []
    for op in module.regions[0][1]:
        if op.name == "gpu.module":
            kernels += [k for k in op.regions[0][1] if k.name == "gpu.func"]
    if not kernels:
        sys.exit("emulate_gpu_kernels: no gpu.func in the input")
    by_name = {attr(k, "sym_name").strip('"'): k for k in kernels}
    if args.argument_ranks:
        func = by_name.get(args.argument_ranks)
        if func is None:
            sys.exit(f"emulate_gpu_kernels: no kernel {args.argument_ranks}")
        count = len(re.findall(r'"(\w+)"', attr(func, "norm.arguments")))
        print(" ".join(str(len(memref_shape(t, 0)[0])) for _, t in func.regions[0][0][:count]))
        return
    if args.launch:
        func = by_name.get(args.launch)
        if func is None:
            sys.exit(f"emulate_gpu_kernels: no kernel {args.launch}")
        try:
            launch(func, args.grid, args.block, args.buffer)
        except EmulationError as e:
            sys.exit(f"emulate_gpu_kernels: {e}")
        return
    rng = np.random.default_rng(args.seed)
    passed = failed = 0
    for rows in args.rows or [5]:
        for func in kernels:
            try:
                name, ok, report = run_kernel(func, rows, rng)
            except EmulationError as e:
                name, ok, report = attr(func, "sym_name"), False, f"error: {e}"
            print(f"{'PASS' if ok else 'FAIL'} {name.strip(chr(34))} rows={rows} {report}")
            passed += ok
            failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
