"""gen_models: a seeded generator of small ONNX models, each holding one
normalization layer in one of the spellings exporters write, placed in the
contexts real exporters put it in (docs/DiffFuzz.md).

A case is a *spec*, a flat dict of choices (random_spec draws one from a
seed), and build(spec) turns it into a model deterministically: the same
spec always gives the same graph, weights and inputs. The minimizer
(minimize.py) shrinks failing cases by resetting spec entries to DEFAULTS.

Spellings (spec["spelling"]):
  ln17          LayerNormalization (opset >= 17)
  rms23         RMSNormalization (opset 23; onnx 1.12 has no schema for it)
  simplified    SimplifiedLayerNormalization (onnxruntime's, default domain)
  skip_ln       com.microsoft SkipLayerNormalization
  skip_rms      com.microsoft SkipSimplifiedLayerNormalization
  ln_torch      torch's decomposed LayerNorm: ReduceMean, Sub, Pow 2, ReduceMean,
                Add eps, Sqrt, Div, Mul gamma, Add beta
  ln_torch_pow  the same with the inverse root as Pow(var + eps, -0.5) and Mul
  ln_function   the ONNX LayerNormalization-17 function body inlined (Flatten,
                E[x^2] - E[x]^2, Reshape back)
  rms_plain     x * Div(1, Sqrt(mean(x^2) + eps)) * w   (torch rsqrt)
  rms_hf        Hugging Face: Cast to fp32, Pow, ReduceMean, Add, Sqrt, Div(1, .),
                Mul, Cast back, w * x
  rms_div       x / Sqrt(mean(x * x) + eps) * w
  rms_pow       x * Pow(mean(x^2) + eps, -0.5) * w
  rms_recip     x * Reciprocal(Sqrt(mean(x^2) + eps)) * w
  rms_gemma     as rms_plain with the gain (1 + w) computed by an Add node
  bn            inference BatchNormalization over N x C x spatial (1-3 D) or N x C
  prepbn        SLAB's PRepBN at inference: Transpose, BN(t) + eta * t, Transpose

Run `python3 test/fuzz/gen_models.py --seed S --index I -o model.onnx` to
write one case (and its spec on stdout).
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LN_SPELLINGS = ("ln17", "skip_ln", "ln_torch", "ln_torch_pow", "ln_function")
RMS_SPELLINGS = ("rms23", "simplified", "skip_rms", "rms_plain", "rms_hf", "rms_div",
                 "rms_pow", "rms_recip", "rms_gemma")
BN_SPELLINGS = ("bn", "prepbn")
SPELLINGS = LN_SPELLINGS + RMS_SPELLINGS + BN_SPELLINGS

# The lowest opset each spelling can be written at (ONNX op versions, and
# Cast to bfloat16 from Cast-13).
MIN_OPSET = {"ln17": 17, "rms23": 23, "ln_function": 17, "simplified": 9, "skip_ln": 9,
             "skip_rms": 9}

# Readers of a LayerNorm/RMSNorm output (each adds what reads the norm and
# ends in a graph output). "gemm*" need a 2-D norm, "*batched" a 3-D one.
NORM_READERS = ("matmul", "matmul_bias", "matmul_batched", "gemm", "shape", "size",
                "reshape_keep", "reshape_split", "transpose_keep", "transpose_move", "cast",
                "relu", "tied", "conv1d")
BN_READERS = ("relu", "conv", "shape", "matmul", "output")
BN_PRODUCERS = ("input", "conv", "conv_transpose", "gemm", "matmul", "shared_conv")

# The value each spec entry is reset to by the minimizer (the simplest case).
DEFAULTS = {
    "dtype": "float32", "weights": "initializer", "linear_weights": "initializer",
    "consts": "initializer", "producer": "input", "subgraph": "none", "shuffle": False,
    "value_info": False, "graph_output": False, "beta": True, "fp32_casts": False,
    "bn_dims": 2, "groups": 1, "conv_bias": True, "same_channels": False, "kernel": 1,
    "gemm_transA": 0, "gemm_transB": 0, "gemm_alpha": 1.0, "gemm_beta": 1.0,
    "gemm_bias": "none", "skip_bias": False, "eps_input": False, "rank": 3,
    "layers": 1, "bf16_activations": False, "eps": 1e-5, "hidden": 8, "readers": [],
    "channels": 4, "tokens": 3,
}

ONNX_DTYPE = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16,
              "bfloat16": TensorProto.BFLOAT16}


def ir_version_for(opset):
    """The IR version that came with an ONNX opset (onnx's VERSION_TABLE),
    so that onnxruntime accepts the model as an exporter of that release
    would have written it."""
    for top, ir in ((10, 5), (11, 6), (13, 7), (15, 8), (18, 8), (20, 9), (23, 10)):
        if opset <= top:
            return ir
    return 10


def to_bfloat16_bits(array):
    """float32 -> bfloat16 bit patterns (round to nearest even), as uint16."""
    bits = np.asarray(array, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def round_to(array, dtype):
    """The values of `array` (float32) as `dtype` would store them, in float32."""
    if dtype == "float16":
        return np.asarray(array, np.float32).astype(np.float16).astype(np.float32)
    if dtype == "bfloat16":
        return (to_bfloat16_bits(array).astype(np.uint32) << 16).view(np.float32)
    return np.asarray(array, np.float32)


# --- drawing a spec -------------------------------------------------------------


def random_spec(seed, index):
    """The spec of case `index` of the run seeded `seed` (independent of the
    other cases, so any case can be regenerated alone)."""
    rng = np.random.default_rng([seed, index])

    def pick(options, p=None):
        return options[rng.choice(len(options), p=p)]

    def chance(p):
        return bool(rng.random() < p)

    spelling = pick(SPELLINGS)
    low = MIN_OPSET.get(spelling, 9)
    spec = {"spelling": spelling, "seed": [seed, index]}
    spec["dtype"] = pick(("float32", "float16", "bfloat16"), p=(0.6, 0.25, 0.15))
    if spec["dtype"] == "bfloat16":
        low = max(low, 13)  # Cast to bfloat16 is Cast-13
    spec["opset"] = 23 if spelling == "rms23" else int(rng.integers(low, 24))
    spec["weights"] = pick(("initializer", "constant", "input", "overridable"),
                           p=(0.6, 0.2, 0.1, 0.1))
    spec["linear_weights"] = pick(("initializer", "constant", "input"), p=(0.75, 0.15, 0.1))
    spec["consts"] = pick(("initializer", "constant"))
    spec["subgraph"] = pick(("none", "if", "loop"), p=(0.8, 0.1, 0.1))
    spec["shuffle"] = chance(0.1)
    spec["value_info"] = chance(0.3)
    spec["eps"] = float(pick((1e-5, 1e-6, 1e-12, 1e-3)))
    spec["eps_input"] = chance(0.05)  # eps as a graph input: not a constant
    spec["graph_output"] = chance(0.15)
    if spelling in BN_SPELLINGS:
        spec["channels"] = int(pick((3, 4, 6, 8)))
        if spelling == "bn":
            spec["producer"] = pick(BN_PRODUCERS)
            spec["bn_dims"] = (0 if spec["producer"] in ("gemm", "matmul")
                               else int(pick((1, 2, 3))))
            if spec["producer"] in ("conv", "conv_transpose", "shared_conv"):
                spec["same_channels"] = chance(0.3)
                spec["in_channels"] = (spec["channels"] if spec["same_channels"]
                                       else int(pick((2, 3, 4, 6, 12))))
                common = int(np.gcd(spec["in_channels"], spec["channels"]))
                divisors = [g for g in (1, 2, 3, 4, 6) if common % g == 0]
                spec["groups"] = int(pick(divisors))
                spec["conv_bias"] = chance(0.6)
                spec["kernel"] = int(pick((1, 2, 3)))
            else:
                spec["in_channels"] = int(pick((3, 5, 8)))
            readers = [r for r in BN_READERS if r != "matmul" or spec["bn_dims"] == 0]
        else:
            spec["producer"] = pick(("input", "matmul"))
            spec["tokens"] = int(pick((1, 3, 5)))
            readers = ("relu", "matmul", "shape", "output")
        count = int(rng.integers(1, 3))
        spec["readers"] = [str(r) for r in rng.choice(readers, size=count, replace=False)]
        if spec["dtype"] == "bfloat16":
            spec["bf16_activations"] = chance(0.5)
        return spec

    spec["hidden"] = int(pick((4, 6, 8, 12, 16, 24)))
    spec["beta"] = chance(0.8)
    gemm_ok = spelling not in ("skip_ln", "skip_rms")
    spec["rank"] = 2 if gemm_ok and chance(0.25) else 3
    skip = spelling in ("skip_ln", "skip_rms")
    spec["producer"] = (pick(("input", "matmul")) if skip
                        else pick(("input", "matmul", "stream"), p=(0.4, 0.3, 0.3)))
    spec["layers"] = int(rng.integers(1, 3)) if spec["producer"] == "stream" else 1
    readers = [r for r in NORM_READERS
               if not (r.startswith("gemm") and spec["rank"] != 2)
               and not (r in ("matmul_batched", "conv1d", "transpose_move", "reshape_split")
                        and spec["rank"] != 3)]
    count = int(rng.integers(1, 4))
    spec["readers"] = [str(r) for r in rng.choice(readers, size=count, replace=False)]
    if "gemm" in spec["readers"]:
        spec["gemm_transA"] = int(chance(0.2))
        spec["gemm_transB"] = int(chance(0.5))
        spec["gemm_alpha"] = float(pick((1.0, 0.5, 2.0)))
        spec["gemm_beta"] = float(pick((1.0, 0.25)))
        spec["gemm_bias"] = pick(("none", "vector", "row", "full"))
    if "conv1d" in spec["readers"]:
        spec["kernel"] = int(pick((1, 3)))
    if spelling in ("skip_ln", "skip_rms"):
        spec["skip_bias"] = chance(0.5)
    if spelling == "rms_hf" or spelling.startswith("ln_"):
        spec["fp32_casts"] = spec["dtype"] == "float16" or chance(0.2)
    if spec["dtype"] == "bfloat16":
        spec["bf16_activations"] = chance(0.5)
    return spec


def normalized_spec(spec):
    """`spec` with every entry it leaves out at its DEFAULTS value."""
    full = dict(DEFAULTS)
    full.update(spec)
    return full


# --- building -------------------------------------------------------------------


class Graph:
    """One ONNX graph (the main graph or a subgraph body) under construction."""

    def __init__(self, name):
        self.name = name
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []


class Builder:
    """Builds the model of one spec. Weights are drawn from a generator
    seeded by the spec's seed, in an order that depends only on the
    graph's structure, so the 16-bit case and its float32 twin (same
    spec, `twin=True`) get the same values."""

    def __init__(self, spec, twin=False, prefix=""):
        self.spec = normalized_spec(spec)
        self.prefix = prefix
        self.rng = np.random.default_rng(self.spec["seed"] + [7])
        self.dtype = "float32" if twin else self.spec["dtype"]
        # Activations: fp16 models compute in fp16; bf16 ones in fp32 (onnxruntime's
        # CPU kernels have no bf16 arithmetic) with bf16 weights cast up.
        self.act = "float16" if self.dtype == "float16" else "float32"
        self.store = self.spec["dtype"]  # the precision weights are rounded to
        self.twin = twin
        self.opset = self.spec["opset"]
        self.counter = 0
        self.main = Graph("fuzz")
        self.graph = self.main
        self.feeds = {}
        self.value_info = []
        self.microsoft = False

    # -- names and nodes --

    def fresh(self, base):
        self.counter += 1
        return f"{self.prefix}{base}_{self.counter}"

    def node(self, op, inputs, base=None, outputs=1, domain="", **attrs):
        base = base or op.lower()
        names = [self.fresh(base) for _ in range(outputs)] if isinstance(outputs, int) else outputs
        node = helper.make_node(op, list(inputs), names, name=self.fresh("n_" + base),
                                domain=domain, **attrs)
        if domain == "com.microsoft":
            self.microsoft = True
        self.graph.nodes.append(node)
        return names[0] if len(names) == 1 else names

    # -- tensors --

    def elem(self, dtype=None):
        return ONNX_DTYPE[dtype or self.act]

    def tensor(self, name, array, dtype):
        array = np.asarray(array, np.float32)
        if dtype == "bfloat16":
            tensor = TensorProto(name=name, data_type=TensorProto.BFLOAT16,
                                 dims=list(array.shape))
            tensor.raw_data = to_bfloat16_bits(array).tobytes()
            return tensor
        return numpy_helper.from_array(array.astype(np.float16 if dtype == "float16"
                                                    else np.float32), name)

    def constant(self, base, array, source=None, dtype=None, as_float=True):
        """A constant of the activation type (rounded to the stored
        precision), as `source` says: initializer, a Constant node, a graph
        input fed at run time, or an initializer that is also a graph input
        (an overridable default). bf16 weights are stored as bf16 and Cast
        to float32 by a node, as mixed-precision exports do."""
        source = source or self.spec["consts"]
        array = np.asarray(array, np.float32)
        if as_float:
            array = round_to(array, self.store)
        stored = dtype or (self.store if as_float else "float32")
        # bf16 weights are Cast up by a node (a no-op Cast in the twin); a bf16
        # graph input cannot be fed to onnxruntime, so those are float32.
        cast_up = stored == "bfloat16" and source != "input"
        if self.twin or stored == "bfloat16" and source == "input":
            stored = "float32" if stored == "bfloat16" else stored
        if stored == "float16" and self.act == "float32" and dtype is None:
            stored = "float32"
        name = self.fresh(base)
        if source == "input":
            self.graph_input(name, stored, list(array.shape))
            self.feeds[name] = array.astype(np.float16 if stored == "float16" else np.float32)
        elif source == "constant":
            self.node("Constant", [], outputs=[name], value=self.tensor(name + "_value", array,
                                                                         stored))
        else:
            self.graph.initializers.append(self.tensor(name, array, stored))
            if source == "overridable":
                self.graph_input(name, stored, list(array.shape))
        if cast_up:
            return self.node("Cast", [name], base + "_f32", to=self.elem())
        return name

    def int_constant(self, base, values):
        name = self.fresh(base)
        tensor = numpy_helper.from_array(np.asarray(values, np.int64), name)
        if self.spec["consts"] == "constant":
            tensor.name = name + "_value"
            self.node("Constant", [], outputs=[name], value=tensor)
        else:
            self.graph.initializers.append(tensor)
        return name

    def scalar(self, base, value):
        # Rounded as the 16-bit model stores it, in the float32 twin too.
        value = round_to(np.array(value, np.float32),
                         "float16" if self.spec["dtype"] == "float16" else "float32")
        return self.constant(base, value, source=self.spec["consts"],
                             dtype=self.act if self.act == "float16" else "float32",
                             as_float=False)

    def weight(self, base, shape, scale=1.0, offset=0.0, role="norm"):
        values = offset + scale * self.rng.standard_normal(shape)
        source = self.spec["weights"] if role == "norm" else self.spec["linear_weights"]
        return self.constant(base, values, source=source)

    def graph_input(self, name, dtype, shape):
        self.graph.inputs.append(helper.make_tensor_value_info(name, ONNX_DTYPE[dtype]
                                                               if dtype in ONNX_DTYPE
                                                               else dtype, shape))

    def data_input(self, base, shape, offset=0.5):
        """A float graph input fed N(0, 1) plus a per-row offset (so that a
        LayerNorm's input is not zero-mean), rounded to the model's precision."""
        name = self.fresh(base)
        values = self.rng.standard_normal(shape) + offset * self.rng.standard_normal(
            list(shape[:-1]) + [1])
        values = round_to(values, "float16" if self.act == "float16" else self.store)
        self.graph_input(name, self.act, list(shape))
        self.feeds[name] = values.astype(np.float16 if self.act == "float16" else np.float32)
        if self.spec["bf16_activations"] and self.store == "bfloat16":
            # bf16 activations: rounded by a Cast pair (a no-op pair in the twin).
            name = self.node("Cast", [name], "to_bf16",
                             to=TensorProto.FLOAT if self.twin else TensorProto.BFLOAT16)
            return self.node("Cast", [name], "from_bf16", to=self.elem())
        return name

    def reduce_mean(self, x, axes):
        if self.opset >= 18:
            return self.node("ReduceMean", [x, self.int_constant("axes", axes)], keepdims=1)
        return self.node("ReduceMean", [x], axes=list(axes), keepdims=1)

    def output(self, value, dtype=None, shape=None):
        self.graph.outputs.append(helper.make_tensor_value_info(
            value, ONNX_DTYPE.get(dtype, dtype) if dtype else self.elem(), shape))

    # -- linear layers --

    def matmul(self, x, k, n, bias=False, batched=None, weight=None):
        w = weight or self.weight("w", ([batched] if batched else []) + [k, n], k ** -0.5,
                                  role="linear")
        y = self.node("MatMul", [x, w])
        if bias:
            b = self.weight("b", [n], 0.3, role="linear")
            y = self.node("Add", [b, y] if self.rng.random() < 0.3 else [y, b])
        return y


# --- the norm spellings ------------------------------------------------------------


def build_norm(b, x, d, skip=None):
    """Writes the spec's norm over the last dim (size d) of x; returns the
    normalized value (and for the skip forms, (normalized, sum))."""
    spec = b.spec
    spelling = spec["spelling"]
    eps = spec["eps"]
    gamma = b.weight("gamma", [d], 0.5, 1.0)
    beta = b.weight("beta", [d], 0.3) if spec["beta"] else None

    def eps_value():
        if spec["eps_input"]:
            name = b.fresh("eps")
            b.graph_input(name, b.act, [])
            b.feeds[name] = np.array(eps, np.float16 if b.act == "float16" else np.float32)
            return name
        return b.scalar("eps", eps)

    if spelling == "ln17":
        inputs = [x, gamma] + ([beta] if beta else [])
        return b.node("LayerNormalization", inputs, "ln", axis=-1, epsilon=eps)
    if spelling == "rms23":
        return b.node("RMSNormalization", [x, gamma], "rms", axis=-1, epsilon=eps)
    if spelling == "simplified":
        return b.node("SimplifiedLayerNormalization", [x, gamma], "simplified", axis=-1,
                      epsilon=eps)
    if spelling in ("skip_ln", "skip_rms"):
        inputs = [x, skip, gamma]
        if spelling == "skip_ln":
            inputs.append(beta or "")
        if spec["skip_bias"]:
            inputs.append(b.weight("skip_bias", [d], 0.3))
        while inputs and inputs[-1] == "":
            inputs.pop()
        op = "SkipLayerNormalization" if spelling == "skip_ln" else "SkipSimplifiedLayerNormalization"
        y, total = b.fresh("skip_norm"), b.fresh("skip_sum")
        b.node(op, inputs, outputs=[y, "", "", total], domain="com.microsoft", epsilon=eps)
        return y, total

    casts = spec["fp32_casts"]
    compute = x
    if casts:
        compute = b.node("Cast", [x], "to_fp32", to=TensorProto.FLOAT)

    def scalar32(base, value):
        # Constants that meet fp32-cast values are fp32.
        if casts:
            return b.constant(base, np.array(value, np.float32), source=spec["consts"],
                              dtype="float32", as_float=False)
        return b.scalar(base, value)

    def back(v):
        return b.node("Cast", [v], "to_input", to=b.elem()) if casts else v

    def mean_plus_eps(v):
        mean = b.reduce_mean(v, [-1])
        return b.node("Add", [mean, scalar32("eps", eps) if not spec["eps_input"] or casts
                              else eps_value()])

    if spelling in ("ln_torch", "ln_torch_pow"):
        mean = b.reduce_mean(compute, [-1])
        centered = b.node("Sub", [compute, mean])
        square = b.node("Pow", [centered, scalar32("two", 2.0)])
        var_eps = mean_plus_eps(square)
        if spelling == "ln_torch":
            normed = b.node("Div", [centered, b.node("Sqrt", [var_eps])])
        else:
            normed = b.node("Mul", [centered, b.node("Pow", [var_eps,
                                                               scalar32("neg_half", -0.5)])])
        y = b.node("Mul", [back(normed), gamma])
        return b.node("Add", [y, beta]) if beta else y
    if spelling == "ln_function":
        return ln_function_body(b, x, gamma, beta, eps)

    # RMSNorm chains.
    if spelling == "rms_div":
        square = b.node("Mul", [compute, compute])
    else:
        square = b.node("Pow", [compute, scalar32("two", 2.0)])
    ms_eps = mean_plus_eps(square)
    if spelling == "rms_div":
        normed = b.node("Div", [compute, b.node("Sqrt", [ms_eps])])
    elif spelling == "rms_pow":
        normed = b.node("Mul", [compute, b.node("Pow", [ms_eps, scalar32("neg_half", -0.5)])])
    elif spelling == "rms_recip":
        normed = b.node("Mul", [compute, b.node("Reciprocal", [b.node("Sqrt", [ms_eps])])])
    else:  # rms_plain, rms_hf, rms_gemma: torch's rsqrt is Div(1, Sqrt(.))
        inv = b.node("Div", [scalar32("one", 1.0), b.node("Sqrt", [ms_eps])])
        normed = b.node("Mul", [compute, inv])
    normed = back(normed)
    if spelling == "rms_gemma":
        gain = b.node("Add", [b.scalar("one", 1.0), gamma])
        return b.node("Mul", [normed, gain])
    if spelling == "rms_hf":
        return b.node("Mul", [gamma, normed])
    return b.node("Mul", [normed, gamma])


def ln_function_body(b, x, gamma, beta, eps):
    """The body of the ONNX LayerNormalization-17 function (axis -1,
    stash_type float), node for node as onnx expands it, Y output only."""
    f32 = TensorProto.FLOAT
    epsilon = b.node("Cast", [b.node("Constant", [], "FloatEpsilon",
                                     value=helper.make_tensor("eps_v", f32, [], [eps]))],
                     "Epsilon", to=f32)
    shape = b.node("Shape", [x], "XShape")
    x2d = b.node("Flatten", [x], "X2D", axis=-1)
    xu = b.node("Cast", [x2d], "XU", to=f32)
    mean = b.reduce_mean(xu, [1])
    square = b.node("Mul", [xu, xu], "Square")
    mean_square = b.reduce_mean(square, [1])
    square_mean = b.node("Mul", [mean, mean], "SquareOfMean")
    var = b.node("Sub", [mean_square, square_mean], "Var")
    std = b.node("Sqrt", [b.node("Add", [var, epsilon], "VarPlusEpsilon")], "StdDev")
    deviation = b.node("Sub", [xu, mean], "Deviation")
    normalized = b.node("Cast", [b.node("Div", [deviation, std], "Normalized")],
                        "NormalizedT", to=b.elem())
    scaled = b.node("Mul", [normalized, b.node("Flatten", [gamma], "Scale2D", axis=0)],
                    "Scaled")
    if beta:
        scaled = b.node("Add", [scaled, b.node("Flatten", [beta], "B2D", axis=0)], "Biased")
    return b.node("Reshape", [scaled, shape], "Y")


# --- contexts -------------------------------------------------------------------------


def norm_case(b):
    """A LayerNorm/RMSNorm spelling: producer -> norm -> readers."""
    spec = b.spec
    d = spec["hidden"]
    rows = [2, 3] if spec["rank"] == 3 else [5]
    outs = []

    if spec["producer"] == "stream":
        # A Pre-LN residual stream: token embedding (+ positions), blocks of
        # x + W2 relu(W1 norm(x) + b1) + b2, then the norm under test.
        vocab = 7
        ids = b.fresh("ids")
        b.graph_input(ids, TensorProto.INT64, rows)
        b.feeds[ids] = b.rng.integers(0, vocab, rows).astype(np.int64)
        x = b.node("Gather", [b.weight("embed", [vocab, d], 1.0, role="linear"), ids])
        x = b.node("Add", [x, b.weight("pos", [d], 0.5, role="linear")])
        for _ in range(spec["layers"]):
            h = single_norm(b, x, d)
            a = b.node("Relu", [b.matmul(h, d, 2 * d, bias=True)])
            x = b.node("Add", [x, b.matmul(a, 2 * d, d, bias=True)])
    elif spec["producer"] == "matmul":
        x = b.matmul(b.data_input("x", rows + [d + 2]), d + 2, d, bias=True)
    else:
        x = b.data_input("x", rows + [d])

    if spec["spelling"] in ("skip_ln", "skip_rms"):
        skip = b.data_input("skip", rows + [d])
        y, total = build_norm(b, x, d, skip)
        outs.append((b.node("Relu", [total]), None))
    else:
        y = build_norm(b, x, d)
    if spec["graph_output"]:
        outs.append((y, None))
    for reader in spec["readers"]:
        outs.extend(norm_reader(b, reader, y, d, rows))
    if not outs:
        outs.append((y, None))
    return outs


def single_norm(b, x, d):
    y = build_norm(b, x, d)
    return y[0] if isinstance(y, tuple) else y


def norm_reader(b, reader, y, d, rows):
    """Adds one reader of the norm output y; returns [(graph output, dtype)]."""
    spec = b.spec
    n = d + 3
    if reader == "matmul":
        return [(b.matmul(y, d, n), None)]
    if reader == "matmul_bias":
        return [(b.matmul(y, d, n, bias=True), None)]
    if reader == "matmul_batched":
        return [(b.matmul(y, d, n, batched=rows[0]), None)]
    if reader == "tied":
        # One weight read by the norm's reader and by another MatMul.
        w = b.weight("tied_w", [d, n], d ** -0.5, role="linear")
        other = b.data_input("z", rows + [d])
        return [(b.matmul(y, d, n, weight=w), None), (b.matmul(other, d, n, weight=w), None)]
    if reader == "gemm":
        count = rows[0]
        a_shape_k = count if spec["gemm_transA"] else d
        attrs = {"transA": spec["gemm_transA"], "transB": spec["gemm_transB"]}
        if spec["gemm_alpha"] != 1.0:
            attrs["alpha"] = spec["gemm_alpha"]
        if spec["gemm_beta"] != 1.0:
            attrs["beta"] = spec["gemm_beta"]
        m = d if spec["gemm_transA"] else count
        shape = [n, a_shape_k] if spec["gemm_transB"] else [a_shape_k, n]
        inputs = [y, b.weight("gemm_w", shape, a_shape_k ** -0.5, role="linear")]
        c_shape = {"none": None, "vector": [n], "row": [1, n], "full": [m, n]}[spec["gemm_bias"]]
        if c_shape:
            inputs.append(b.weight("gemm_c", c_shape, 0.3, role="linear"))
        elif b.opset < 11:  # C is required before Gemm-11
            inputs.append(b.constant("gemm_c0", np.zeros([n], np.float32), source="initializer"))
        return [(b.node("Gemm", inputs, **attrs), None)]
    if reader == "shape":
        # Hugging Face: bsz, q_len = hidden.size()[:2], used to reshape a product.
        dims = b.node("Gather", [b.node("Shape", [y]), b.int_constant("first", list(
            range(len(rows))))], axis=0)
        target = b.node("Concat", [dims, b.int_constant("split", [n, 1])], axis=0)
        return [(b.node("Reshape", [b.matmul(y, d, n), target]), None)]
    if reader == "size":
        return [(b.node("Size", [y]), TensorProto.INT64)]
    if reader == "reshape_keep":
        flat = b.node("Reshape", [y, b.int_constant("rows", [-1, d])])
        return [(b.matmul(flat, d, n), None)]
    if reader == "reshape_split":
        if d % 2:
            return [(b.node("Relu", [y]), None)]
        heads = b.node("Reshape", [y, b.int_constant("heads", rows + [2, d // 2])])
        return [(b.node("Transpose", [heads], perm=[0, 2, 1, 3]), None)]
    if reader == "transpose_keep":
        perm = [1, 0, 2] if len(rows) == 2 else [0, 1]
        if len(rows) == 1:
            return [(b.matmul(b.node("Identity", [y]), d, n), None)]
        return [(b.matmul(b.node("Transpose", [y], perm=perm), d, n), None)]
    if reader == "transpose_move":
        return [(b.node("Transpose", [y], perm=[0, 2, 1]), None)]
    if reader == "cast":
        other = "float32" if spec["dtype"] == "float16" else "float16"
        cast = b.node("Cast", [y], to=ONNX_DTYPE[other])
        w = b.constant("cast_w", b.rng.standard_normal([d, n]) * d ** -0.5,
                       source=spec["linear_weights"] if spec["linear_weights"] != "input"
                       else "initializer", dtype=other)
        return [(b.node("MatMul", [cast, w]), ONNX_DTYPE[other])]
    if reader == "relu":
        return [(b.node("Relu", [y]), None)]
    if reader == "conv1d":
        # Conformer-style: the hidden dim becomes Conv1d's channel dim.
        k = spec["kernel"]
        t = b.node("Transpose", [y], perm=[0, 2, 1])
        w = b.weight("conv_w", [n, d, k], (d * k) ** -0.5, role="linear")
        return [(b.node("Conv", [t, w, b.weight("conv_b", [n], 0.3, role="linear")],
                        kernel_shape=[k], pads=[k // 2, k // 2]), None)]
    raise ValueError(reader)


def bn_case(b):
    """BatchNormalization over the channel dim 1, after its producer."""
    spec = b.spec
    c = spec["channels"]
    cin = spec.get("in_channels", c)
    outs = []
    if spec["spelling"] == "prepbn":
        tokens = [2, spec["tokens"]]
        x = (b.matmul(b.data_input("x", tokens + [cin]), cin, c, bias=True)
             if spec["producer"] == "matmul" else b.data_input("x", tokens + [c]))
        t = b.node("Transpose", [x], perm=[0, 2, 1])
        normed = b.node("Add", [bn_node(b, t, c), b.node("Mul", [t, b.scalar("eta", 0.7)])])
        y = b.node("Transpose", [normed], perm=[0, 2, 1])
        feature_shape = tokens + [c]
    else:
        dims = spec["bn_dims"]
        spatial = [4, 3, 2][:dims]
        if spec["producer"] in ("gemm", "matmul"):
            x = b.data_input("x", [4, cin])
            if spec["producer"] == "gemm":
                w = b.weight("gemm_w", [c, cin], cin ** -0.5, role="linear")
                x = b.node("Gemm", [x, w, b.weight("gemm_c", [c], 0.3, role="linear")],
                           transB=1)
            else:
                x = b.matmul(x, cin, c, bias=True)
        elif spec["producer"] == "input":
            x = b.data_input("x", [2, c] + spatial)
        else:
            x = conv_producer(b, spec, cin, c, spatial, outs)
        y = bn_node(b, x, c)
        feature_shape = None
    if spec["graph_output"]:
        outs.append((y, None))
    for reader in spec["readers"]:
        if reader == "relu":
            outs.append((b.node("Relu", [y]), None))
        elif reader == "output":
            outs.append((b.node("Identity", [y]), None))
        elif reader == "shape":
            outs.append((b.node("Shape", [y]), TensorProto.INT64))
        elif reader == "matmul":
            outs.append((b.matmul(y, c, c + 1, bias=True), None))
        elif reader == "conv":
            if feature_shape:  # tokens: the feature dim is last
                outs.append((b.matmul(y, c, c + 1), None))
                continue
            k = 3 if spec["bn_dims"] else 1
            w = b.weight("next_w", [c + 1, c] + [k] * spec["bn_dims"], c ** -0.5,
                         role="linear")
            if spec["bn_dims"] == 0:
                w = b.weight("next_w", [c, c + 1], c ** -0.5, role="linear")
                zero = b.constant("next_c", np.zeros([c + 1], np.float32), source="initializer")
                outs.append((b.node("Gemm", [y, w, zero]), None))
                continue
            outs.append((b.node("Conv", [y, w], pads=[1] * (2 * spec["bn_dims"])), None))
    if not outs:
        outs.append((y, None))
    return outs


def conv_producer(b, spec, cin, c, spatial, outs):
    dims, g, k = spec["bn_dims"], spec["groups"], spec["kernel"]
    if spec["producer"] == "conv_transpose":
        # weight [C_in, C_out / group, k...]; the output grows by k - 1.
        x = b.data_input("x", [2, cin] + [max(s - k + 1, 1) for s in spatial])
        w = b.weight("convt_w", [cin, c // g] + [k] * dims, (cin * k) ** -0.5, role="linear")
        inputs = [x, w] + ([b.weight("convt_b", [c], 0.3, role="linear")]
                           if spec["conv_bias"] else [])
        return b.node("ConvTranspose", inputs, group=g)
    x = b.data_input("x", [2, cin] + [s + k - 1 for s in spatial])
    w = b.weight("conv_w", [c, cin // g] + [k] * dims, (cin * k) ** -0.5, role="linear")
    inputs = [x, w] + ([b.weight("conv_b", [c], 0.3, role="linear")]
                       if spec["conv_bias"] else [])
    y = b.node("Conv", inputs, group=g)
    if spec["producer"] == "shared_conv":
        # The conv output has another reader: it cannot absorb the BN.
        outs.append((b.node("Relu", [y]), None))
    return y


def bn_node(b, x, c):
    spec = b.spec
    scale = b.weight("bn_scale", [c], 0.5, 1.0)
    bias = b.weight("bn_bias", [c], 0.3)
    mean = b.weight("bn_mean", [c], 0.5)
    var = b.constant("bn_var", 0.5 + b.rng.random([c]), source=spec["weights"])
    attrs = {"epsilon": spec["eps"] if spec["eps"] >= 1e-6 else 1e-5}
    if b.opset >= 14 and b.rng.random() < 0.5:
        attrs["training_mode"] = 0
    if b.rng.random() < 0.3:
        attrs["momentum"] = 0.9
    return b.node("BatchNormalization", [x, scale, bias, mean, var], "bn", **attrs)


# --- subgraphs, shuffling and the model ----------------------------------------------


def wrap_in_subgraph(b, body, kind):
    """Builds `body` inside an If (then branch; the else branch is a copy
    with its own weights) or a Loop (two iterations, scan outputs), the
    graph inputs and their data staying in the outer graph."""
    outer = b.graph

    def branch(name):
        b.graph = Graph(name)
        outs = body(b)
        graph = b.graph
        b.graph = outer
        # Inputs the body declared belong to the outer graph (with their
        # initializers, for overridable weights).
        declared = {i.name for i in graph.inputs}
        outer.inputs.extend(graph.inputs)
        outer.initializers.extend(t for t in graph.initializers if t.name in declared)
        graph.initializers = [t for t in graph.initializers if t.name not in declared]
        graph.inputs = []
        return graph, outs

    if kind == "if":
        then_graph, outs = branch("then_body")
        else_graph, else_outs = branch("else_body")
        for g, o in ((then_graph, outs), (else_graph, else_outs)):
            g.outputs = [helper.make_tensor_value_info(v, dt or b.elem(), None) for v, dt in o]
        cond = b.fresh("cond")
        b.graph_input(cond, TensorProto.BOOL, [])
        b.feeds[cond] = np.array(bool(b.rng.random() < 0.7))
        results = [b.fresh("if_out") for _ in outs]
        b.node("If", [cond], outputs=results,
               then_branch=make_graph(then_graph), else_branch=make_graph(else_graph))
        return [(r, dt) for r, (_, dt) in zip(results, outs)]

    body_graph, outs = branch("loop_body")
    # An iteration counter carried through the loop (Loop-1 needs one
    # loop-carried value), and the body's values as scan outputs.
    iteration, cond_in, count_in = b.fresh("iteration"), b.fresh("cond_in"), b.fresh("count_in")
    body_graph.inputs = [helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
                         helper.make_tensor_value_info(cond_in, TensorProto.BOOL, []),
                         helper.make_tensor_value_info(count_in, TensorProto.INT64, [])]
    cond_out, count_out = b.fresh("cond_out"), b.fresh("count_out")
    body_graph.nodes.append(helper.make_node("Identity", [cond_in], [cond_out],
                                             name=b.fresh("n_cond")))
    body_graph.nodes.append(helper.make_node("Identity", [iteration], [count_out],
                                             name=b.fresh("n_count")))
    body_graph.outputs = ([helper.make_tensor_value_info(cond_out, TensorProto.BOOL, []),
                           helper.make_tensor_value_info(count_out, TensorProto.INT64, [])]
                          + [helper.make_tensor_value_info(v, dt or b.elem(), None)
                             for v, dt in outs])
    trips, count = b.fresh("trips"), b.fresh("count")
    b.graph.initializers.append(numpy_helper.from_array(np.array(2, np.int64), trips))
    b.graph.initializers.append(numpy_helper.from_array(np.array(0, np.int64), count))
    results = [b.fresh("loop_out") for _ in outs]
    last = b.fresh("loop_count")
    b.node("Loop", [trips, "", count], outputs=[last] + results, body=make_graph(body_graph))
    return [(r, dt) for r, (_, dt) in zip(results, outs)]


def make_graph(g, value_info=()):
    return helper.make_graph(g.nodes, g.name, g.inputs, g.outputs, g.initializers,
                             value_info=list(value_info))


def build(spec, twin=False, prefix=""):
    """(model, feeds {input name: array}) of `spec`; with `twin`, the same
    model computed in float32 (weights and inputs keep their 16-bit
    values), the reference the 16-bit tolerance is measured against.
    Every name starts with `prefix` (to put several cases in one model)."""
    b = Builder(spec, twin=twin, prefix=prefix)
    s = b.spec
    body = bn_case if s["spelling"] in BN_SPELLINGS else norm_case
    if s["subgraph"] != "none":
        outs = wrap_in_subgraph(b, body, s["subgraph"])
    else:
        outs = body(b)
    seen = set()
    for value, dtype in outs:
        if value not in seen:
            seen.add(value)
            b.output(value, dtype)
    nodes = list(b.main.nodes)
    if s["shuffle"]:
        # What float16 converters do: nodes appended out of topological order.
        order = np.random.default_rng(s["seed"] + [11]).permutation(len(nodes))
        nodes = [nodes[i] for i in order]
    b.main.nodes = nodes
    opsets = [helper.make_opsetid("", s["opset"])]
    if b.microsoft:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    b.main.name = prefix + b.main.name
    model = helper.make_model(make_graph(b.main), opset_imports=opsets,
                              producer_name="norm-opt-difffuzz")
    model.ir_version = ir_version_for(s["opset"])
    if s["value_info"] and s["opset"] <= 17 and not b.microsoft and not s["shuffle"]:
        # Exporters that write intermediate types (torch does): onnx's own
        # inference, where it knows the ops.
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
            model.graph.value_info.extend(inferred.graph.value_info)
        except Exception:  # onnx gives up on some graphs; exporters then write none
            pass
    return model, b.feeds


def describe(spec):
    """A short one-line description of a spec for case lines."""
    s = normalized_spec(spec)
    parts = [s["spelling"], f"op{s['opset']}", s["dtype"], "+".join(s.get("readers", []))
             or "-", f"prod={s['producer']}"]
    for key in ("weights", "subgraph"):
        if s[key] != DEFAULTS[key]:
            parts.append(f"{key}={s[key]}")
    if s["shuffle"]:
        parts.append("shuffled")
    if s["graph_output"]:
        parts.append("graph-output")
    return " ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--spec", help="a spec as JSON instead of --seed/--index")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    spec = json.loads(args.spec) if args.spec else random_spec(args.seed, args.index)
    model, feeds = build(spec)
    onnx.save(model, args.output)
    for name, value in feeds.items():
        np.save(os.path.join(os.path.dirname(os.path.abspath(args.output)), name + ".npy"), value)
    json.dump(spec, sys.stdout)
    print()


if __name__ == "__main__":
    main()
