#!/usr/bin/python3
"""Streams benchmark models for norm-opt's scale work to disk: Llama-style
fp16/bf16 decoders with external data, and a huge graph of tiny norms.

  benchmarks/llama_gen.py tiny|1b|3b|7b OUT.onnx [--dtype fp16|bf16]
      [--hf-cast] [--shape-read] [--tied] [--seed 0]
  benchmarks/llama_gen.py graph OUT.onnx [--norms 20000] [--nodes 100000]

Llama presets (vocabulary 32000 unless stated):

  tiny  2 layers, d 512, ffn 1376, vocabulary 2048 (17 MB fp16; for CI)
  1b    18 layers, d 2048, ffn 5632   (2.1 GB fp16)
  3b    24 layers, d 3072, ffn 8192   (5.8 GB fp16)
  7b    32 layers, d 4096, ffn 11008  (13.5 GB fp16)

The weights go to OUT.onnx.data tensor by tensor, each drawn in chunks from
its own seeded NumPy generator (numpy.random.default_rng([seed, index])), so
memory stays at one chunk (64 MB) whatever the model size, and a tensor's
values do not depend on the chunk size. Linear weights and the embedding are
N(0, 0.02); norm gains are 1 + N(0, 0.1). Tensors under 1024 bytes stay in
the .onnx file (onnx.external_data_helper's default threshold).

The graph is what torch.onnx.export writes for a Hugging Face Llama (opset
14, constant folding on, so nn.Linear weights are stored transposed, [in,
out], and read by MatMul):

  Gather(embed_tokens, input_ids)
  per layer: RMSNorm -> q/k/v MatMul -> single-head softmax attention
             (MatMul(q, Transpose(k)) / sqrt(d), Softmax, MatMul(., v); no
             mask) -> o_proj MatMul -> residual Add -> RMSNorm -> gate/up
             MatMul -> SiLU(gate) * up -> down MatMul -> residual Add
  RMSNorm -> lm_head MatMul -> logits

RMSNorm is spelled as torch exports x * rsqrt(mean(x^2) + eps) * w:
Pow(x, 2) -> ReduceMean -> Add(eps) -> Sqrt -> Div(1, .) -> Mul(x, .) ->
Mul(., weight), constants as Constant nodes. --hf-cast wraps it as Hugging
Face's LlamaRMSNorm does: Cast to fp32 first, the chain in fp32, Cast back to
the model's type, then Mul(weight, .). --shape-read adds the Shape read of the
norm output that Hugging Face attention does (hidden_states.size() ->
Gather -> Unsqueeze -> Concat -> the Reshape of the attention output).
--tied reads the LM head as Transpose(embed_tokens) (a tied head exported
without constant folding), so the embedding table has two readers.

The model's metadata_props record what the benchmark checks need:
norm_opt_bench.preset, .norms (the number of norms), .fold_readers (the
initializers a weight fold may change: the MatMul weights that read a norm,
comma-separated) and .norm_params (the norms' gains and biases).

The graph mode writes an opset-17 fp32 graph with --norms norms in a
residual chain, x <- x + MatMul(norm(x), W) with d = 16: LayerNormalization
nodes, decomposed LayerNorm chains (torch's opset-13 spelling) and
decomposed RMSNorm chains mixed so that the graph has about --nodes nodes.
"""
import argparse
import os
import sys

import numpy as np
from onnx import TensorProto, helper

PRESETS = {
    # name: (layers, d, ffn, vocab)
    "tiny": (2, 512, 1376, 2048),
    "1b": (18, 2048, 5632, 32000),
    "3b": (24, 3072, 8192, 32000),
    "7b": (32, 4096, 11008, 32000),
}
DTYPES = {"fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16,
          "fp32": TensorProto.FLOAT}
INLINE_BELOW = 1024  # bytes; onnx.external_data_helper's size_threshold
CHUNK = 16 << 20     # elements drawn per step
ALIGN = 64           # byte alignment of each tensor in the .data file


def to_bytes(values, dtype):
    """float32 `values` as little-endian bytes of `dtype` (bf16 rounds to
    nearest even, as torch's .to(torch.bfloat16) does)."""
    if dtype == "fp16":
        return values.astype("<f2").tobytes()
    if dtype == "bf16":
        bits = values.astype("<f4").view("<u4")
        rounded = (bits + (0x7FFF + ((bits >> 16) & 1))) >> 16
        return rounded.astype("<u2").tobytes()
    return values.astype("<f4").tobytes()


class StreamedModel:
    """A graph under construction whose large initializers are written to
    the .data file as they are created."""

    def __init__(self, path, dtype, seed):
        self.path = path
        self.dtype = dtype
        self.elem = DTYPES[dtype]
        self.width = {"fp16": 2, "bf16": 2, "fp32": 4}[dtype]
        self.seed = seed
        self.location = os.path.basename(path) + ".data"
        self.data = open(path + ".data", "wb")
        self.offset = 0
        self.index = 0
        self.nodes = []
        self.initializers = []
        self.names = set()

    def random(self, name, shape, std, mean=0.0):
        """An initializer of N(mean, std²) values, streamed in chunks."""
        count = int(np.prod(shape))
        rng = np.random.default_rng([self.seed, self.index])
        self.index += 1
        if count * self.width < INLINE_BELOW:
            values = mean + std * rng.standard_normal(count, dtype=np.float32)
            return self.inline(name, shape, to_bytes(values, self.dtype))
        pad = -self.offset % ALIGN
        self.data.write(b"\0" * pad)
        self.offset += pad
        start = self.offset
        for first in range(0, count, CHUNK):
            values = rng.standard_normal(min(CHUNK, count - first), dtype=np.float32)
            values *= np.float32(std)
            values += np.float32(mean)
            self.data.write(to_bytes(values, self.dtype))
        self.offset += count * self.width
        tensor = TensorProto(name=name, data_type=self.elem, dims=shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.location), ("offset", str(start)),
                           ("length", str(count * self.width))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        self.initializers.append(tensor)
        return name

    def inline(self, name, shape, raw):
        self.initializers.append(helper.make_tensor(name, self.elem, shape, raw, raw=True))
        return name

    def node(self, op, inputs, name, n_out=1, **attrs):
        assert name not in self.names, name
        self.names.add(name)
        outputs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if n_out == 1 else outputs

    def constant(self, name, value, elem):
        """A Constant node, as torch writes scalars and shapes."""
        if elem in (TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.FLOAT):
            dtype = {TensorProto.FLOAT16: "fp16", TensorProto.BFLOAT16: "bf16",
                     TensorProto.FLOAT: "fp32"}[elem]
            array = np.asarray(value, np.float32)
            tensor = helper.make_tensor(name, elem, array.shape,
                                        to_bytes(array.ravel(), dtype), raw=True)
        else:
            array = np.asarray(value, np.int64)
            tensor = helper.make_tensor(name, TensorProto.INT64, array.shape,
                                        array.ravel().tolist())
        return self.node("Constant", [], name, value=tensor)

    def save(self, inputs, outputs, metadata, opset):
        self.data.close()
        graph = helper.make_graph(self.nodes, "llama_bench", inputs, outputs,
                                  self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="norm-opt benchmarks/llama_gen.py")
        model.ir_version = 8
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = f"norm_opt_bench.{key}", str(value)
        with open(self.path, "wb") as f:
            f.write(model.SerializeToString())
        return model


class Llama:
    def __init__(self, m, args, layers, d, ffn, vocab):
        self.m, self.args = m, args
        self.layers, self.d, self.ffn, self.vocab = layers, d, ffn, vocab
        self.fold_readers = []
        self.gains = []

    def rms_norm(self, x, scope):
        m, low = self.m, self.m.elem
        gain = m.random(f"{scope}.weight", [self.d], 0.1, mean=1.0)
        self.gains.append(gain)
        s = f"/{scope.replace('model.', 'model/')}/"
        elem = TensorProto.FLOAT if self.args.hf_cast else low
        if self.args.hf_cast:
            x = m.node("Cast", [x], s + "Cast", to=TensorProto.FLOAT)
        square = m.node("Pow", [x, m.constant(s + "Constant", 2.0, elem)], s + "Pow")
        mean = m.node("ReduceMean", [square], s + "ReduceMean", axes=[-1], keepdims=1)
        var = m.node("Add", [mean, m.constant(s + "Constant_1", 1e-6, elem)], s + "Add")
        root = m.node("Sqrt", [var], s + "Sqrt")
        inv = m.node("Div", [m.constant(s + "Constant_2", 1.0, elem), root], s + "Div")
        y = m.node("Mul", [x, inv], s + "Mul")
        if self.args.hf_cast:
            y = m.node("Cast", [y], s + "Cast_1", to=low)
            return m.node("Mul", [gain, y], s + "Mul_1")
        return m.node("Mul", [y, gain], s + "Mul_1")

    def linear(self, x, scope, k, n, reads_norm):
        w = self.m.random(f"{scope}.weight", [k, n], 0.02)
        if reads_norm:
            self.fold_readers.append(w)
        return self.m.node("MatMul", [x, w], f"/{scope.replace('.', '/', 1)}/MatMul")

    def attention(self, h, scope):
        m, d = self.m, self.d
        s = f"/{scope.replace('model.', 'model/')}/"
        q, k, v = (self.linear(h, f"{scope}.self_attn.{p}_proj", d, d, True) for p in "qkv")
        kt = m.node("Transpose", [k], s + "Transpose", perm=[0, 2, 1])
        scores = m.node("MatMul", [q, kt], s + "MatMul")
        scores = m.node("Div", [scores, m.constant(s + "Constant", float(np.sqrt(d)), m.elem)],
                        s + "Div")
        probs = m.node("Softmax", [scores], s + "Softmax", axis=-1)
        y = m.node("MatMul", [probs, v], s + "MatMul_1")
        if self.args.shape_read:
            # bsz, q_len, _ = hidden_states.size(); ...reshape(bsz, q_len, d)
            shape = m.node("Shape", [h], s + "Shape")
            dims = []
            for i in (0, 1):
                g = m.node("Gather", [shape, m.constant(f"{s}Constant_{i + 1}", i, 7)],
                           f"{s}Gather_{i}", axis=0)
                dims.append(m.node("Unsqueeze", [g, m.constant(f"{s}Constant_{i + 3}", [0], 7)],
                                   f"{s}Unsqueeze_{i}"))
            target = m.node("Concat", dims + [m.constant(s + "Constant_5", [d], 7)],
                            s + "Concat", axis=0)
            y = m.node("Reshape", [y, target], s + "Reshape")
        return self.linear(y, f"{scope}.self_attn.o_proj", d, d, False)

    def build(self):
        m, d = self.m, self.d
        embed = m.random("model.embed_tokens.weight", [self.vocab, d], 0.02)
        x = m.node("Gather", [embed, "input_ids"], "/model/embed_tokens/Gather")
        for i in range(self.layers):
            scope = f"model.layers.{i}"
            s = f"/model/layers.{i}/"
            h = self.rms_norm(x, f"{scope}.input_layernorm")
            x = m.node("Add", [x, self.attention(h, scope)], s + "Add")
            h = self.rms_norm(x, f"{scope}.post_attention_layernorm")
            gate = self.linear(h, f"{scope}.mlp.gate_proj", d, self.ffn, True)
            up = self.linear(h, f"{scope}.mlp.up_proj", d, self.ffn, True)
            silu = m.node("Mul", [gate, m.node("Sigmoid", [gate], s + "mlp/Sigmoid")],
                          s + "mlp/Mul")
            glu = m.node("Mul", [silu, up], s + "mlp/Mul_1")
            x = m.node("Add", [x, self.linear(glu, f"{scope}.mlp.down_proj", self.ffn, d,
                                               False)], s + "Add_1")
        h = self.rms_norm(x, "model.norm")
        if self.args.tied:
            # The fold must leave embed_tokens as it is (the Gather reads it
            # too): it is no fold reader.
            head = m.node("Transpose", [embed], "/lm_head/Transpose", perm=[1, 0])
        else:
            head = m.random("lm_head.weight", [d, self.vocab], 0.02)
            self.fold_readers.append(head)
        m.nodes.append(helper.make_node("MatMul", [h, head], ["logits"], name="/lm_head/MatMul"))
        return m.save(
            [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
            [helper.make_tensor_value_info("logits", m.elem, ["batch", "seq", self.vocab])],
            {"preset": self.args.preset, "dtype": self.args.dtype, "norms": len(self.gains),
             "fold_readers": ",".join(self.fold_readers), "norm_params": ",".join(self.gains),
             "vocab": self.vocab},
            opset=14)


def norm_graph(args):
    """The graph-scale model: --norms norms in a residual chain."""
    d = 16
    m = StreamedModel(args.output, "fp32", args.seed)
    for name, value in (("two", 2.0), ("eps", 1e-5), ("one", 1.0)):
        m.inline(name, [], to_bytes(np.array([value], np.float32), "fp32"))
    # Nodes per unit (norm + MatMul + residual Add): LayerNormalization node 3,
    # RMSNorm chain 9, LayerNorm chain 11. Chains alternate RMS/LN (10 on
    # average); the share f of chains solving 3 + 7 f = nodes / norms.
    f = min(1.0, max(0.0, (args.nodes / args.norms - 3) / 7))
    x = "x"
    chains = 0
    fold_readers, gains = [], []
    for i in range(args.norms):
        s = f"/n{i}/"
        gamma = m.random(f"n{i}.weight", [d], 0.1, mean=1.0)
        gains.append(gamma)
        is_chain = int((i + 1) * f) > int(i * f)
        if not is_chain:
            beta = m.random(f"n{i}.bias", [d], 0.1)
            gains.append(beta)
            h = m.node("LayerNormalization", [x, gamma, beta], s + "LayerNormalization",
                       axis=-1, epsilon=1e-5)
        elif chains % 2 == 0:
            chains += 1
            ms = m.node("ReduceMean", [m.node("Pow", [x, "two"], s + "Pow")], s + "ReduceMean",
                        axes=[-1])
            inv = m.node("Div", ["one", m.node("Sqrt", [m.node("Add", [ms, "eps"], s + "Add")],
                                               s + "Sqrt")], s + "Div")
            h = m.node("Mul", [m.node("Mul", [x, inv], s + "Mul"), gamma], s + "Mul_1")
        else:
            chains += 1
            beta = m.random(f"n{i}.bias", [d], 0.1)
            gains.append(beta)
            c = m.node("Sub", [x, m.node("ReduceMean", [x], s + "ReduceMean", axes=[-1])],
                       s + "Sub")
            var = m.node("ReduceMean", [m.node("Pow", [c, "two"], s + "Pow")], s + "ReduceMean_1",
                         axes=[-1])
            std = m.node("Sqrt", [m.node("Add", [var, "eps"], s + "Add")], s + "Sqrt")
            h = m.node("Add", [m.node("Mul", [m.node("Div", [c, std], s + "Div"), gamma],
                                      s + "Mul"), beta], s + "Add_1")
        w = m.random(f"n{i}.proj", [d, d], 0.05)
        fold_readers.append(w)
        x = m.node("Add", [x, m.node("MatMul", [h, w], s + "MatMul")], s + "Residual")
    m.nodes[-1].output[0] = "y"
    return m.save([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", d])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", d])],
                  {"preset": "graph", "dtype": "fp32", "norms": args.norms,
                   "fold_readers": ",".join(fold_readers), "norm_params": ",".join(gains)},
                  opset=17)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=sorted(PRESETS) + ["graph"])
    parser.add_argument("output", help="the .onnx path; weights go to OUTPUT.data")
    parser.add_argument("--dtype", choices=["fp16", "bf16"], default="fp16")
    parser.add_argument("--hf-cast", action="store_true",
                        help="Hugging Face's RMSNorm: the chain in fp32 between Casts")
    parser.add_argument("--shape-read", action="store_true",
                        help="attention reads the Shape of the norm output (Hugging Face)")
    parser.add_argument("--tied", action="store_true",
                        help="the LM head is Transpose(embed_tokens): a tied embedding")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--norms", type=int, default=20000, help="graph: the number of norms")
    parser.add_argument("--nodes", type=int, default=100000,
                        help="graph: about this many nodes (at least 3 per norm)")
    args = parser.parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    if args.preset == "graph":
        model = norm_graph(args)
    else:
        layers, d, ffn, vocab = PRESETS[args.preset]
        model = Llama(StreamedModel(args.output, args.dtype, args.seed), args,
                      layers, d, ffn, vocab).build()
    size = os.path.getsize(args.output) + os.path.getsize(args.output + ".data")
    print(f"{args.output}: {args.preset}, {len(model.graph.node)} nodes, "
          f"{len(model.graph.initializer)} initializers, {size / 1e9:.3f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
