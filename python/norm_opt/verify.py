"""norm_opt.verify: run two models on the same inputs and compare outputs."""
from __future__ import annotations

import dataclasses
import html
import math
import os
import tempfile
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import mapping

from .errors import OnnxRuntimeError
from .runtime import OrtBatch
from .tool import ModelLike, Result, model_file

__all__ = ["verify", "Verification", "OutputComparison", "random_inputs", "rel_err",
           "DEFAULT_TOLERANCE", "Inputs"]

#: The project's bar for exact rewrites (docs/Rationale.md, numerics policy):
#: fp32 outputs within 1e-5 relative error.
DEFAULT_TOLERANCE = 1e-5

#: Model inputs: {input name: array}, or a list of such samples.
Inputs = Union[Mapping[str, np.ndarray], Sequence[Mapping[str, np.ndarray]]]


def rel_err(actual, expected) -> float:
    """||actual - expected|| / ||expected|| (2-norms over all elements, in
    float64); the absolute error ||actual - expected|| when ||expected|| = 0.
    This is the relative error of the project's numerics policy."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise ValueError(f"shapes differ: {list(a.shape)} vs {list(e.shape)}")
    denom = np.linalg.norm(e.ravel())
    diff = np.linalg.norm((a - e).ravel())
    return float(diff / denom if denom > 0 else diff)


@dataclasses.dataclass(frozen=True)
class OutputComparison:
    """One graph output of the two models, over every sample.

    Attributes:
        name: the output's name.
        shape: its shape (of the first sample).
        rel_err: the largest ||optimized - original|| / ||original|| over the
            samples.
        max_abs_err: the largest elementwise |optimized - original|.
    """
    name: str
    shape: Tuple[int, ...]
    rel_err: float
    max_abs_err: float


@dataclasses.dataclass(frozen=True)
class Verification:
    """The result of verify().

    Attributes:
        outputs: one comparison per graph output, in the original's order.
        tolerance: the bound `ok` checks the relative errors against.
        inputs: the inputs used, one {name: array} per sample (random ones
            included, to reproduce a failure).
    """
    outputs: Tuple[OutputComparison, ...]
    tolerance: float
    inputs: Tuple[Dict[str, np.ndarray], ...] = dataclasses.field(repr=False)

    @property
    def rel_err(self) -> float:
        """The worst relative error over all outputs (NaN if any is NaN)."""
        errors = [o.rel_err for o in self.outputs]
        return float("nan") if any(math.isnan(e) for e in errors) else max(errors, default=0.0)

    @property
    def ok(self) -> bool:
        """Every output within the tolerance (False when an error is NaN)."""
        return all(o.rel_err <= self.tolerance for o in self.outputs)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        lines = [f"{'ok' if self.ok else 'FAILED'}: worst relative error {self.rel_err:.2e} "
                 f"(tolerance {self.tolerance:g}, {len(self.inputs)} sample(s))"]
        for o in self.outputs:
            lines.append(f"  {o.name} {list(o.shape)}: rel err {o.rel_err:.2e}, "
                         f"max abs err {o.max_abs_err:.2e}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # Jupyter
        rows = "".join(f"<tr><td><code>{html.escape(o.name)}</code></td><td>{list(o.shape)}</td>"
                       f"<td>{o.rel_err:.2e}</td><td>{o.max_abs_err:.2e}</td></tr>"
                       for o in self.outputs)
        return (f"<p><b>{'ok' if self.ok else 'FAILED'}</b>: worst relative error "
                f"{self.rel_err:.2e} (tolerance {self.tolerance:g})</p><table><tr><th>output"
                f"</th><th>shape</th><th>rel err</th><th>max abs err</th></tr>{rows}</table>")


def _index_bounds(graph: onnx.GraphProto) -> Dict[str, int]:
    """For graph inputs used as Gather indices into a constant table (token
    ids, position ids, token types): the table's size along the gathered
    axis, the smallest over all such uses."""
    shapes = {t.name: list(t.dims) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            shapes[node.output[0]] = list(node.attribute[0].t.dims)
    bounds: Dict[str, int] = {}
    for node in graph.node:
        if node.op_type != "Gather" or len(node.input) < 2 or node.input[0] not in shapes:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        dims = shapes[node.input[0]]
        if -len(dims) <= axis < len(dims):
            size = dims[axis]
            bounds[node.input[1]] = min(size, bounds.get(node.input[1], size))
    return bounds


def random_inputs(model: Union[ModelLike, onnx.GraphProto], *, seed: int = 0, samples: int = 1,
                  dims: Optional[Mapping[str, int]] = None, default_dim: int = 2,
                  int_high: int = 2, given: Optional[Mapping[str, np.ndarray]] = None
                  ) -> List[Dict[str, np.ndarray]]:
    """Random values for the graph inputs of `model` (those without an
    initializer), `samples` dicts {name: array}.

    Floats are standard normal. Integers that index a constant table through
    Gather (token ids) are uniform over the table's rows; other integers
    uniform in [0, int_high). Booleans are fair coin flips. A symbolic dim
    takes its value from `dims` ({dim_param: size}), else `default_dim`.
    Inputs in `given` are used as they are.
    """
    if isinstance(model, onnx.GraphProto):
        graph = model
    elif isinstance(model, onnx.ModelProto):
        graph = model.graph
    else:
        try:
            graph = onnx.load(os.fspath(model), load_external_data=False).graph
        except DecodeError:
            raise ValueError(f"{os.fspath(model)}: not a valid binary ONNX model") from None
    dims = dict(dims or {})
    given = dict(given or {})
    initializers = {t.name for t in graph.initializer}
    bounds = _index_bounds(graph)
    rng = np.random.default_rng(seed)
    result = []
    for _ in range(samples):
        sample = {}
        for value in graph.input:
            if value.name in initializers:
                continue
            if value.name in given:
                sample[value.name] = np.asarray(given[value.name])
                continue
            tensor = value.type.tensor_type
            if not value.type.HasField("tensor_type"):
                raise ValueError(f"graph input {value.name!r} is not a tensor; give it in inputs")
            dtype = np.dtype(mapping.TENSOR_TYPE_TO_NP_TYPE[tensor.elem_type])
            shape = []
            for d in tensor.shape.dim:
                if d.HasField("dim_value"):
                    shape.append(d.dim_value)
                else:
                    shape.append(dims.get(d.dim_param, default_dim))
            if dtype.kind == "f":
                array = rng.standard_normal(shape).astype(dtype)
            elif dtype.kind in "iu":
                high = bounds.get(value.name, int_high)
                array = rng.integers(0, max(high, 1), shape).astype(dtype)
            elif dtype.kind == "b":
                array = rng.integers(0, 2, shape).astype(bool)
            else:
                raise ValueError(f"cannot make random values of type {dtype} for graph input "
                                 f"{value.name!r}; give it in inputs")
            sample[value.name] = array
        result.append(sample)
    return result


def sample_inputs(model: str, inputs: Optional[Inputs], **random) -> List[Dict[str, np.ndarray]]:
    """The samples to run: `inputs` if it is a list of them, else random
    ones (see random_inputs) around the given {name: array}."""
    if inputs is None or isinstance(inputs, Mapping):
        return random_inputs(model, given=inputs, **random)
    feeds = [dict(s) for s in inputs]
    if not feeds:
        raise ValueError("inputs is an empty list")
    return feeds


def _worse(a: float, b: float) -> float:
    """The larger error, NaN counting as the largest."""
    if math.isnan(a) or math.isnan(b):
        return float("nan")
    return max(a, b)


def _as_path(model, directory: str, name: str, result_path: str) -> str:
    if isinstance(model, Result):
        return getattr(model, result_path)
    return model_file(model, directory, name)


def verify(original: Union[ModelLike, Result], optimized: Union[ModelLike, Result],
           inputs: Optional[Inputs] = None, *, tolerance: float = DEFAULT_TOLERANCE,
           samples: int = 1, seed: int = 0, dims: Optional[Mapping[str, int]] = None,
           node_modules: Optional[str] = None, opt_level: str = "disabled") -> Verification:
    """Runs `original` and `optimized` in onnxruntime on the same inputs and
    compares every graph output.

    Args:
        original, optimized: paths or onnx.ModelProto. A Result of
            optimize() stands for the model it read as `original` and for
            the model it wrote as `optimized`. Both models must have the
            same graph outputs.
        inputs: {name: array}, or a list of them (one run per sample).
            Inputs not given are random (see random_inputs), seeded by `seed`.
        tolerance: the relative error `ok` accepts (default 1e-5, the bar
            of exact rewrites).
        samples: how many random samples when `inputs` is not a list.
        dims: sizes of symbolic dims for random inputs ({dim_param: size}).
        node_modules: where onnxruntime-node is (see runtime.find_node_modules).
        opt_level: onnxruntime's graph optimization level; "disabled" (the
            default) runs the graphs as written.

    Returns:
        a Verification: per output, the relative error ||optimized - original||
        / ||original|| and the largest absolute error, worst over the samples.

    Raises:
        RuntimeUnavailableError: Node.js or onnxruntime-node is missing.
        OnnxRuntimeError: onnxruntime could not load or run a model.
        ValueError: the two models' outputs differ in names or shapes.
    """
    with tempfile.TemporaryDirectory(prefix="norm-opt-verify-") as work:
        original_path = _as_path(original, work, "original.onnx", "input_path")
        optimized_path = _as_path(optimized, work, "optimized.onnx", "output_path")
        feeds = sample_inputs(original_path, inputs, seed=seed, samples=samples, dims=dims)
        batch = OrtBatch(work, node_modules)
        jobs = [(batch.add(original_path, f, opt_level), batch.add(optimized_path, f, opt_level))
                for f in feeds]
        results = batch.run()
    for ref_job, got_job in jobs:
        if results[ref_job][1]:
            raise OnnxRuntimeError(f"{original_path}: {results[ref_job][1]}")
        if results[got_job][1]:
            raise OnnxRuntimeError(f"{optimized_path}: {results[got_job][1]}")
    return Verification(compare_outputs([(results[r][0], results[g][0]) for r, g in jobs]),
                        tolerance, tuple(feeds))


def compare_outputs(runs) -> Tuple[OutputComparison, ...]:
    """Per graph output, the worst errors over `runs`, a list of
    (original's outputs, optimized's outputs) as OrtBatch.run returns them.
    ValueError when the outputs differ in names or shapes."""
    worst: Dict[str, List[float]] = {}
    shapes: Dict[str, Tuple[int, ...]] = {}
    for ref, got in runs:
        got_by_name = dict(got)
        if set(got_by_name) != {n for n, _ in ref}:
            raise ValueError(f"the models' outputs differ: {[n for n, _ in ref]} vs "
                             f"{[n for n, _ in got]}")
        for name, expected in ref:
            actual = got_by_name[name]
            if actual.shape != expected.shape:
                raise ValueError(f"output {name!r}: shape {list(actual.shape)} in the optimized "
                                 f"model, {list(expected.shape)} in the original")
            diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
            errors = (rel_err(actual, expected), float(diff.max()) if diff.size else 0.0)
            shapes.setdefault(name, tuple(expected.shape))
            worst[name] = [_worse(e, w) for e, w in zip(errors, worst.get(name, (0.0, 0.0)))]
    return tuple(OutputComparison(n, shapes[n], worst[n][0], worst[n][1]) for n in worst)
