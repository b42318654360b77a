"""Models for run_robust.py: what exporters other than the team's own write
(issue 13). Each builder returns (onnx.ModelProto, {input name: array}).

  bert_postln_opset13_d192   torch.onnx.export of a Post-LN BERT at opset 13,
                             hidden 192, dynamic batch and sequence axes
  unsorted_fp16_cast         the float16 converter's layout: input Casts
                             appended after their readers (onnx.helper)
  llama_hf_fp16              Hugging Face RMSNorm in an fp16 graph with
                             fp32 statistics (Cast wrappers), onnx.helper
  llama_size_reader          torch export of a Llama block whose attention
                             reads `bsz, q_len, _ = hidden_states.size()` and
                             reshapes the norm output keeping the hidden axis
  svtr_opset9                paddle2onnx-style SVTR mixer (opset 9): weights
                             in Constant nodes, a Reshape to a computed shape,
                             Transpose/MatMul, decomposed Pre-LN LayerNorms,
                             a declared output shape that ONNX 1.12's
                             inference rejects (it then types nothing)
  if_subgraph_norms          a LayerNorm in each branch of an If, read by a
                             MatMul of an outer weight (onnx.helper)
"""
import io
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _torch_export(module, inputs, opset, outputs, dynamic_axes=None):
    import torch
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(inputs.values()), buffer, opset_version=opset,
                          input_names=list(inputs), output_names=outputs,
                          dynamic_axes=dynamic_axes)
    return onnx.load_from_string(buffer.getvalue())


def bert_postln_opset13_d192(seed=0):
    import torch
    import models
    torch.manual_seed(seed)
    model = models.Bert(d=192, heads=4, ffn=384).eval()
    models.set_nontrivial_norm_params(model, seed + 1)
    inputs = models.token_inputs(types=True)(torch.Generator().manual_seed(seed + 2))
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "token_type_ids": {0: "batch", 1: "seq"},
           "last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}}
    proto = _torch_export(model, inputs, 13, ["last_hidden_state", "pooler_output"], dyn)
    return proto, {k: v.numpy() for k, v in inputs.items()}


def _const(name, array):
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(np.asarray(array), name))


def _hf_rms_nodes(prefix, x, weight, out, eps=1e-6):
    """Hugging Face LlamaRMSNorm in an fp16 graph: x.to(fp32), pow, mean,
    add eps, rsqrt as 1/sqrt, x * r, .to(fp16), weight * ."""
    p = prefix
    return [
        helper.make_node("Cast", [x], [p + "xf"], name=p + "Cast", to=TensorProto.FLOAT),
        _const(p + "two", np.float32(2.0)),
        helper.make_node("Pow", [p + "xf", p + "two"], [p + "sq"], name=p + "Pow"),
        helper.make_node("ReduceMean", [p + "sq"], [p + "ms"], name=p + "ReduceMean", axes=[-1]),
        _const(p + "eps", np.float32(eps)),
        helper.make_node("Add", [p + "ms", p + "eps"], [p + "a"], name=p + "Add"),
        helper.make_node("Sqrt", [p + "a"], [p + "s"], name=p + "Sqrt"),
        _const(p + "one", np.float32(1.0)),
        helper.make_node("Div", [p + "one", p + "s"], [p + "r"], name=p + "Div"),
        helper.make_node("Mul", [p + "xf", p + "r"], [p + "n"], name=p + "Mul"),
        helper.make_node("Cast", [p + "n"], [p + "nh"], name=p + "Cast_1", to=TensorProto.FLOAT16),
        helper.make_node("Mul", [weight, p + "nh"], [out], name=p + "Mul_1"),
    ]


def llama_hf_fp16(d=64, ffn=96, seed=0):
    """Two RMSNorm -> MatMul blocks in fp16 with fp32 statistics."""
    rng = np.random.default_rng(seed)
    inits = []
    nodes = []
    x = "x"
    for i in range(2):
        w = f"norm{i}.weight"
        inits.append(numpy_helper.from_array((1 + 0.3 * rng.standard_normal(d)).astype(np.float16), w))
        nodes += _hf_rms_nodes(f"/norm{i}/", x, w, f"h{i}")
        m = f"mlp{i}.weight"
        inits.append(numpy_helper.from_array((rng.standard_normal((d, d)) / 8).astype(np.float16), m))
        nodes.append(helper.make_node("MatMul", [f"h{i}", m], [f"m{i}"], name=f"/mlp{i}/MatMul"))
        nodes.append(helper.make_node("Add", [x, f"m{i}"], [f"r{i}"], name=f"/res{i}/Add"))
        x = f"r{i}"
    graph = helper.make_graph(nodes, "llama_fp16",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 8, d])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT16, [2, 8, d])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model, {"x": rng.standard_normal((2, 8, d)).astype(np.float16)}


def unsorted_fp16_cast(d=32, seed=0):
    """What the float16 converter writes: the model computes in fp16, the
    fp32 graph input is cast by a node appended at the end of the list, and
    the graph output's Cast back to fp32 sits before its producer."""
    rng = np.random.default_rng(seed)
    g = (1 + 0.3 * rng.standard_normal(d)).astype(np.float16)
    b = (0.2 * rng.standard_normal(d)).astype(np.float16)
    w = (rng.standard_normal((d, 24)) / 6).astype(np.float16)
    nodes = [
        helper.make_node("Cast", ["y16"], ["y"], name="graph_output_cast_0", to=TensorProto.FLOAT),
        helper.make_node("LayerNormalization", ["x16", "g", "b"], ["n"], name="ln", axis=-1),
        helper.make_node("MatMul", ["n", "w"], ["y16"], name="proj"),
        helper.make_node("Cast", ["x"], ["x16"], name="graph_input_cast_0", to=TensorProto.FLOAT16),
    ]
    graph = helper.make_graph(
        nodes, "unsorted", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 24])],
        [numpy_helper.from_array(g, "g"), numpy_helper.from_array(b, "b"),
         numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, {"x": rng.standard_normal((2, 5, d)).astype(np.float32)}


def llama_size_reader(seed=0):
    """RMSNorm whose output is read by `.size()` (Shape) and by a Reshape
    that keeps the hidden axis, before the projections (Hugging Face
    attention), and a plain MLP norm."""
    import torch
    import torch.nn as nn
    import models

    class Block(nn.Module):
        def __init__(self, d=48, heads=4):
            super().__init__()
            self.heads = heads
            self.input_layernorm = models.RMSNorm(d, "plain")
            self.q = nn.Linear(d, d, bias=False)
            self.k = nn.Linear(d, d, bias=False)
            self.v = nn.Linear(d, d, bias=False)
            self.o = nn.Linear(d, d, bias=False)
            self.post_attention_layernorm = models.RMSNorm(d, "plain")
            self.up = nn.Linear(d, 2 * d, bias=False)
            self.down = nn.Linear(2 * d, d, bias=False)

        def forward(self, x):
            h = self.input_layernorm(x)
            bsz, q_len, _ = h.size()
            flat = h.reshape(bsz * q_len, -1)
            q = self.q(flat).view(bsz, q_len, self.heads, -1).transpose(1, 2)
            k = self.k(flat).view(bsz, q_len, self.heads, -1).transpose(1, 2)
            v = self.v(h).view(bsz, q_len, self.heads, -1).transpose(1, 2)
            a = torch.softmax(q @ k.transpose(2, 3) / 4.0, dim=-1) @ v
            x = x + self.o(a.transpose(1, 2).reshape(bsz, q_len, -1))
            return x + self.down(torch.relu(self.up(self.post_attention_layernorm(x))))

    torch.manual_seed(seed)
    model = Block().eval()
    models.set_nontrivial_norm_params(model, seed + 1)
    x = torch.randn(2, 6, 48, generator=torch.Generator().manual_seed(seed + 2))
    proto = _torch_export(model, {"x": x}, 14, ["y"])
    return proto, {"x": x.numpy()}


def _ln_chain(p, x, d, out, rng):
    """paddle2onnx's opset-9 LayerNorm: weights in Constant nodes."""
    g = (1 + 0.3 * rng.standard_normal(d)).astype(np.float32)
    b = (0.2 * rng.standard_normal(d)).astype(np.float32)
    return [
        helper.make_node("ReduceMean", [x], [p + "mean"], name=p + "mean", axes=[-1]),
        helper.make_node("Sub", [x, p + "mean"], [p + "d"], name=p + "sub"),
        _const(p + "two", np.float32(2.0)),
        helper.make_node("Pow", [p + "d", p + "two"], [p + "sq"], name=p + "pow"),
        helper.make_node("ReduceMean", [p + "sq"], [p + "var"], name=p + "var", axes=[-1]),
        _const(p + "eps", np.float32(1e-6)),
        helper.make_node("Add", [p + "var", p + "eps"], [p + "ve"], name=p + "add"),
        helper.make_node("Sqrt", [p + "ve"], [p + "std"], name=p + "sqrt"),
        helper.make_node("Div", [p + "d", p + "std"], [p + "n"], name=p + "div"),
        _const(p + "gamma", g),
        helper.make_node("Mul", [p + "n", p + "gamma"], [p + "ng"], name=p + "mul"),
        _const(p + "beta", b),
        helper.make_node("Add", [p + "ng", p + "beta"], [out], name=p + "add_1"),
    ]


def svtr_opset9(blocks=2, d=48, seed=0):
    """A paddle2onnx-style SVTR mixer at opset 9: patch embedding by Conv,
    a Reshape to a computed shape + Transpose to tokens, Pre-LN blocks
    (LayerNorm -> MatMul -> residual Add) and a final LayerNorm before the
    head. The weights are Constant nodes; the graph output declares a shape
    that contradicts the model (paddle2onnx writes its own), on which ONNX
    1.12's inference throws and types nothing."""
    rng = np.random.default_rng(seed)
    nodes = [
        _const("conv.w", (rng.standard_normal((d, 3, 4, 4)) / 8).astype(np.float32)),
        _const("conv.b", (0.1 * rng.standard_normal(d)).astype(np.float32)),
        helper.make_node("Conv", ["image", "conv.w", "conv.b"], ["patches"], name="patch",
                         kernel_shape=[4, 4], strides=[4, 4]),
        # flatten(start_axis=2) as paddle2onnx writes it: Reshape to a shape
        # computed from Shape(patches), which opset-9 inference cannot read.
        helper.make_node("Shape", ["patches"], ["patch_shape"], name="shape"),
        helper.make_node("Slice", ["patch_shape"], ["batch"], name="batch", starts=[0], ends=[1],
                         axes=[0]),
        _const("rest", np.array([d, -1], np.int64)),
        helper.make_node("Concat", ["batch", "rest"], ["shape3"], name="concat", axis=0),
        helper.make_node("Reshape", ["patches", "shape3"], ["tokens_t"], name="reshape"),
        helper.make_node("Transpose", ["tokens_t"], ["x0"], name="to_tokens", perm=[0, 2, 1]),
    ]
    x = "x0"
    for i in range(blocks):
        p = f"blocks.{i}."
        nodes += _ln_chain(p + "norm1.", x, d, p + "h", rng)
        nodes.append(_const(p + "mixer.w", (rng.standard_normal((d, d)) / 7).astype(np.float32)))
        nodes.append(helper.make_node("MatMul", [p + "h", p + "mixer.w"], [p + "m"], name=p + "mixer"))
        nodes.append(_const(p + "mixer.b", (0.1 * rng.standard_normal(d)).astype(np.float32)))
        nodes.append(helper.make_node("Add", [p + "m", p + "mixer.b"], [p + "mb"], name=p + "mixer_bias"))
        nodes.append(helper.make_node("Add", [x, p + "mb"], [p + "out"], name=p + "residual"))
        x = p + "out"
    nodes += _ln_chain("norm.", x, d, "final", rng)
    nodes.append(_const("head.w", (rng.standard_normal((d, 20)) / 7).astype(np.float32)))
    nodes.append(helper.make_node("MatMul", ["final", "head.w"], ["logits"], name="head"))
    graph = helper.make_graph(
        nodes, "svtr", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, 8, 32])],
        # paddle2onnx's declared output: wrong rank, which 1.12's inference
        # rejects (it then types no value at all).
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 20])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 5
    return model, {"image": rng.standard_normal((2, 3, 8, 32)).astype(np.float32)}


def if_subgraph_norms(d=32, seed=0):
    """y = If(cond, LN_a(x) W_a, LN_b(x) W_b): LayerNorms (opset 17 nodes)
    inside both branches, read by MatMuls of weights captured from the outer
    graph."""
    rng = np.random.default_rng(seed)
    inits = []

    def branch(tag):
        g = (1 + 0.3 * rng.standard_normal(d)).astype(np.float32)
        b = (0.2 * rng.standard_normal(d)).astype(np.float32)
        w = (rng.standard_normal((d, 16)) / 5).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w_{tag}"))
        nodes = [
            helper.make_node("LayerNormalization", ["x", f"g_{tag}", f"b_{tag}"], [f"n_{tag}"],
                             name=f"ln_{tag}", axis=-1),
            helper.make_node("MatMul", [f"n_{tag}", f"w_{tag}"], [f"y_{tag}"], name=f"proj_{tag}"),
        ]
        return helper.make_graph(
            nodes, f"branch_{tag}", [],
            [helper.make_tensor_value_info(f"y_{tag}", TensorProto.FLOAT, [2, 5, 16])],
            [numpy_helper.from_array(g, f"g_{tag}"), numpy_helper.from_array(b, f"b_{tag}")])

    then_g, else_g = branch("a"), branch("b")
    node = helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g,
                            else_branch=else_g)
    graph = helper.make_graph(
        [node], "if_norms",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 16])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = rng.standard_normal((2, 5, d)).astype(np.float32)
    return model, {"cond": np.array(True), "x": x}


MODELS = {
    "bert_postln_opset13_d192": bert_postln_opset13_d192,
    "unsorted_fp16_cast": unsorted_fp16_cast,
    "llama_hf_fp16": llama_hf_fp16,
    "llama_size_reader": llama_size_reader,
    "svtr_opset9": svtr_opset9,
    "if_subgraph_norms": if_subgraph_norms,
}

if __name__ == "__main__":
    name, path = sys.argv[1], sys.argv[2]
    model, _ = MODELS[name]()
    onnx.save(model, path)
