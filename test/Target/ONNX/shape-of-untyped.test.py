"""Writes RMSNormalization (opset 23) -> Shape -> Cast, where nothing
declares the type of the RMSNormalization output."""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

scale = numpy_helper.from_array(np.array([1.5, 0.5, 2.0, 1.0], np.float32), "scale")
graph = helper.make_graph(
    [helper.make_node("RMSNormalization", ["x", "scale"], ["y"], name="norm", axis=-1),
     helper.make_node("Shape", ["y"], ["shape"], name="shape"),
     helper.make_node("Cast", ["shape"], ["shape_f"], name="cast", to=TensorProto.FLOAT)],
    "g",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
    [helper.make_tensor_value_info("shape_f", TensorProto.FLOAT, None)],
    [scale])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)], ir_version=10)
save(model, sys.argv[1])
