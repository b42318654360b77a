#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus: small valid models built with onnx.helper
(binary, for fuzz-import-binary and fuzz-optimize) and ONNX text models (the
repository's *.onnxtxt tests plus a few written here, for fuzz-import-text).

    fuzz/make_corpus.py OUT_DIR      -> OUT_DIR/binary/*.onnx, OUT_DIR/text/*.onnxtxt

The models cover what the importer and the passes read: LayerNormalization,
the decomposed LayerNorm and RMSNorm chains, BatchNormalization after Conv,
Gemm/MatMul readers, an If subgraph, typed-field and raw_data tensors,
Constant nodes, dim_params. Small (a few hundred bytes) so that mutations
reach every field quickly.
"""
import glob
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F = TensorProto.FLOAT


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, array, typed=False):
    array = np.asarray(array)
    if typed:  # the typed field (float_data, int64_data) instead of raw_data
        return helper.make_tensor(name, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[array.dtype],
                                  array.shape, array.flatten().tolist())
    return numpy_helper.from_array(array, name)


def model(nodes, inputs, outputs, inits=(), opset=17, value_info=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits), value_info=list(value_info))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="norm-opt-fuzz")


def seeds():
    rng = np.random.default_rng(0)
    d = 4
    w = lambda *s: rng.standard_normal(s).astype(np.float32)
    x, y = vi("X", [2, d]), vi("Y", [2, d])
    yield "layer_norm", model(
        [helper.make_node("LayerNormalization", ["X", "g", "b"], ["Y"], name="ln", axis=-1, epsilon=1e-5)],
        [x], [y], [const("g", w(d)), const("b", w(d), typed=True)])
    # The decomposed LayerNorm chain (what PyTorch < 17 exports).
    chain = [
        helper.make_node("ReduceMean", ["X"], ["m"], axes=[-1], keepdims=1),
        helper.make_node("Sub", ["X", "m"], ["c"]),
        helper.make_node("Pow", ["c", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["v"], axes=[-1], keepdims=1),
        helper.make_node("Add", ["v", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Div", ["c", "s"], ["n"]),
        helper.make_node("Mul", ["n", "g"], ["ng"]),
        helper.make_node("Add", ["ng", "b"], ["Y"]),
    ]
    scalars = [const("two", np.float32(2)), const("eps", np.float32(1e-5))]
    yield "decomposed_layer_norm", model(chain, [x], [y], scalars + [const("g", w(d)), const("b", w(d))], opset=13)
    rms = [
        helper.make_node("Pow", ["X", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["v"], axes=[-1], keepdims=1),
        helper.make_node("Add", ["v", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Reciprocal", ["s"], ["r"]),
        helper.make_node("Mul", ["X", "r"], ["n"]),
        helper.make_node("Mul", ["n", "g"], ["Y"]),
    ]
    yield "decomposed_rms_norm", model(rms, [x], [y], scalars + [const("g", w(d))], opset=13)
    # LayerNorm feeding a linear layer (the weight fold).
    yield "layer_norm_matmul", model(
        [helper.make_node("LayerNormalization", ["X", "g", "b"], ["n"], axis=-1),
         helper.make_node("MatMul", ["n", "W"], ["mm"]),
         helper.make_node("Add", ["mm", "bias"], ["Y"])],
        [x], [vi("Y", [2, 3])], [const("g", w(d)), const("b", w(d)), const("W", w(d, 3)), const("bias", w(3))])
    yield "layer_norm_gemm", model(
        [helper.make_node("LayerNormalization", ["X", "g", "b"], ["n"], axis=-1),
         helper.make_node("Gemm", ["n", "W", "bias"], ["Y"], transB=1)],
        [x], [vi("Y", [2, 3])], [const("g", w(d)), const("b", w(d)), const("W", w(3, d)), const("bias", w(3))])
    # Pre-LN residual block: LayerNorm -> linear, the residual skipping it.
    yield "pre_ln", model(
        [helper.make_node("LayerNormalization", ["X", "g", "b"], ["n"], axis=-1),
         helper.make_node("MatMul", ["n", "W"], ["mm"]),
         helper.make_node("Add", ["X", "mm"], ["Y"])],
        [x], [y], [const("g", w(d)), const("b", w(d)), const("W", w(d, d))])
    # BatchNormalization after a Conv.
    yield "conv_batch_norm", model(
        [helper.make_node("Conv", ["X", "W", "B"], ["c"], kernel_shape=[1, 1]),
         helper.make_node("BatchNormalization", ["c", "s", "bb", "mean", "var"], ["Y"], epsilon=1e-5)],
        [vi("X", [1, 2, 3, 3])], [vi("Y", [1, 3, 3, 3])],
        [const("W", w(3, 2, 1, 1)), const("B", w(3)), const("s", w(3)), const("bb", w(3)),
         const("mean", w(3)), const("var", np.abs(w(3)) + 1)])
    # A subgraph, a Constant, dim_params, an int64 typed tensor.
    branch = lambda name, op: helper.make_graph(
        [helper.make_node(op, ["X"], ["o_" + name])], name, [], [vi("o_" + name, ["N", d])])
    yield "if_subgraph", model(
        [helper.make_node("Constant", [], ["k"], value=const("kv", np.array([2, d], np.int64), typed=True)),
         helper.make_node("Reshape", ["X", "k"], ["r"]),
         helper.make_node("If", ["cond"], ["Y"], then_branch=branch("t", "Relu"), else_branch=branch("e", "Neg"))],
        [vi("X", ["N", d]), vi("cond", [], TensorProto.BOOL)], [vi("Y", ["N", d])])
    yield "rms_norm_opset23", model(
        [helper.make_node("RMSNormalization", ["X", "g"], ["Y"], axis=-1, epsilon=1e-6)],
        [x], [y], [const("g", w(d))], opset=23)


TEXT = [
    """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4] X) => (float[2,4] Y)
<float[4] gamma = {1.0, 2.0, 3.0, 4.0}, float[4] beta = {0.5, 0.5, 0.5, 0.5}>
{
  Y = LayerNormalization <axis = -1, epsilon = 0.00001> (X, gamma, beta)
}
""",
    """<ir_version: 7, opset_import: ["" : 13]>
g (float[N,4] X) => (float[N,4] Y)
<float two = {2.0}, float eps = {0.00001}, float[4] g = {1.0, 2.0, 3.0, 4.0}>
{
  m = ReduceMean <axes = [-1]> (X)
  c = Sub (X, m)
  sq = Pow (c, two)
  v = ReduceMean <axes = [-1]> (sq)
  ve = Add (v, eps)
  s = Sqrt (ve)
  n = Div (c, s)
  Y = Mul (n, g)
}
""",
    """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4] X) => (float[2,3] Y)
<float[4,3] W = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0}, int64[2] shape = {2, 3}>
{
  n = LayerNormalization <axis = -1> (X)
  mm = MatMul (n, W)
  Y = Reshape (mm, shape)
}
""",
]


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "binary"), exist_ok=True)
    os.makedirs(os.path.join(out, "text"), exist_ok=True)
    for name, m in seeds():
        with open(os.path.join(out, "binary", name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())
    for i, text in enumerate(TEXT):
        with open(os.path.join(out, "text", f"seed{i}.onnxtxt"), "w") as f:
            f.write(text)
    for path in glob.glob(os.path.join(ROOT, "test", "**", "*.onnxtxt"), recursive=True):
        # lit RUN/CHECK comments are '#' lines the parser reads as comments.
        with open(path) as src, open(os.path.join(out, "text", os.path.basename(path)), "w") as f:
            f.write(src.read())


if __name__ == "__main__":
    main()
