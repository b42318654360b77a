"""make PATH: a MatMul + LayerNormalization model whose four weights (a
16 KiB matrix, three 256-byte vectors) are saved as external data beside
PATH.
compare IN OUT: checks OUT with the ONNX checker and prints whether its
weights equal IN's, and which of OUT's weights are stored externally."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

D = 64


def make(path):
    rng = np.random.default_rng(0)
    weights = {
        "W": rng.standard_normal((D, D)).astype(np.float32),
        "bias": rng.standard_normal(D).astype(np.float32),
        "gamma": (1 + 0.5 * rng.standard_normal(D)).astype(np.float32),
        "beta": (0.2 * rng.standard_normal(D)).astype(np.float32),
    }
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
         helper.make_node("Add", ["h", "bias"], ["hb"], name="add"),
         helper.make_node("LayerNormalization", ["hb", "gamma", "beta"], ["y"], name="ln")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, D])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, D])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=0)


def compare(original_path, out_path):
    onnx.checker.check_model(out_path)
    original = {t.name: numpy_helper.to_array(t, os.path.dirname(original_path))
                for t in onnx.load(original_path).graph.initializer}
    out_model = onnx.load(out_path, load_external_data=False)
    external = sorted(t.name for t in out_model.graph.initializer
                      if t.data_location == TensorProto.EXTERNAL)
    out = {t.name: numpy_helper.to_array(t, os.path.dirname(out_path))
           for t in onnx.load(out_path).graph.initializer}
    equal = [k for k in original if k in out and np.array_equal(original[k], out[k])]
    print(f"weights equal: {', '.join(equal)}; external: {', '.join(external) or 'none'}")


if __name__ == "__main__":
    {"make": make, "compare": compare}[sys.argv[1]](*sys.argv[2:])
