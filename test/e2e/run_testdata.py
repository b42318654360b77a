#!/usr/bin/python3
"""End-to-end suite over the normalization node tests of Debian's
libonnx-testdata (the ONNX backend test models and their reference outputs).

For every test_layer_normalization_* (with the _expanded function bodies),
test_batchnorm_* and pytorch-converted/test_BatchNorm* directory:
  norm-opt model.onnx -o out.onnx --report r.json
  - the report recognizes exactly the norms that may be recognized;
  - onnx.checker (full check) accepts out.onnx;
  - onnxruntime on out.onnx reproduces every shipped output_*.pb within the
    backend-test tolerance (rtol 1e-3, atol 1e-7); the largest relative
    element error is printed;
  - a model in which nothing was recognized round-trips node for node.

The shipped LayerNormalization models also output Mean and InvStdDev, which a
norm op does not produce, so they must be left alone. Each LN directory is
therefore run a second time as `<name>/Y-only`: the same model reduced to its
Y output (and the nodes Y needs), in which the LayerNorm (the node, or the
decomposed function body of the _expanded models) must be recognized.

Training-mode BatchNormalization computes batch statistics: it must be left
unrecognized and still reproduce. onnxruntime has no BatchNormalization-6
kernel, so the opset-6 pytorch-converted outputs are run after
onnx.version_converter raises them to opset 7, and their is_test attribute
(the opset-6 inference/training switch, default training) is checked.

Usage: run_testdata.py [--data DIR] [-k SUBSTRING]
"""
import collections
import glob
import os
import sys

import numpy as np
import onnx
from onnx import version_converter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402

RTOL, ATOL = 1e-3, 1e-7


def node_attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def default_opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 0


def expected_counts(model, y_only):
    """The norms a correct norm-recognize finds, from the model's own nodes."""
    counts = collections.Counter()
    types = [n.op_type for n in model.graph.node]
    if y_only:
        # One LayerNorm (the node or its expanded body) computes Y.
        counts["layer_norm"] = 1
        return counts
    for node in model.graph.node:
        if node.op_type == "BatchNormalization":
            training = (node_attr(node, "training_mode", 0) == 1
                        or (default_opset(model) < 7 and node_attr(node, "is_test", 0) == 0)
                        or len([o for o in node.output if o]) > 1)
            if not training:
                counts["batch_norm"] += 1
    # LayerNormalization whose Mean/InvStdDev are graph outputs: not a norm op.
    assert "LayerNormalization" not in types or len(model.graph.output) == 3
    return counts


class Case:
    def __init__(self, name, model_path, data_sets, y_only):
        self.name = name
        self.model_path = model_path
        self.data_sets = data_sets
        self.y_only = y_only
        self.problems = []
        self.details = []


def main():
    parser = e2e.argument_parser(__doc__)
    parser.add_argument("--data", default=e2e.TESTDATA)
    args = parser.parse_args()
    suite = e2e.Suite("testdata")
    work, ort = suite.work, suite.ort

    dirs = e2e.testdata_dirs(args.data, "node/test_layer_normalization_*",
                             *e2e.BATCHNORM_TESTS)

    cases = []
    for d in dirs:
        base = os.path.basename(d)
        data_sets = sorted(glob.glob(os.path.join(d, "test_data_set_*")))
        cases.append(Case(base, os.path.join(d, "model.onnx"), data_sets, False))
        if base.startswith("test_layer_normalization"):
            cases.append(Case(base + "/Y-only", None, data_sets, True))
    cases = [c for c in cases if args.k in c.name]

    pending = []  # (case, job index, reference outputs)
    for case in cases:
        case_dir = os.path.join(work, case.name.replace("/", "_"))
        os.makedirs(case_dir, exist_ok=True)
        model = onnx.load(case.model_path or os.path.join(os.path.dirname(case.data_sets[0]),
                                                          "model.onnx"))
        if case.y_only:
            model = e2e.prune_to_outputs(model, {model.graph.output[0].name})
            case.model_path = os.path.join(case_dir, "model.onnx")
            onnx.save(model, case.model_path)
        expected = expected_counts(model, case.y_only)
        out_path = os.path.join(case_dir, "out.onnx")
        report, error = e2e.optimize(case.model_path, out_path,
                                     os.path.join(case_dir, "report.json"))
        if error:
            case.problems.append(error)
            continue
        counts = e2e.norm_counts(report)
        want = {k: expected.get(k, 0) for k in counts}
        if counts != want:
            case.problems.append(f"recognized {e2e.format_counter(counts)}, "
                                 f"expected {e2e.format_counter(want)}")
        checker_error = e2e.check_model(out_path)
        if checker_error:
            case.problems.append(checker_error)
            continue
        out_model = onnx.load(out_path)
        if not any(want.values()) and e2e.op_types(out_model) != e2e.op_types(model):
            case.problems.append(
                f"nothing recognized, yet the nodes changed: {e2e.format_counter(e2e.op_types(model))}"
                f" -> {e2e.format_counter(e2e.op_types(out_model))}")
        run_path = out_path
        if default_opset(out_model) < 7:
            # The opset-6 switch between inference and training mode.
            for before, after in zip([n for n in model.graph.node if n.op_type == "BatchNormalization"],
                                     [n for n in out_model.graph.node if n.op_type == "BatchNormalization"]):
                if node_attr(before, "is_test", 0) != node_attr(after, "is_test", 0):
                    case.problems.append(
                        f"BatchNormalization-6 is_test {node_attr(before, 'is_test', 0)} became "
                        f"{node_attr(after, 'is_test', 0)} (0, the default, is training mode)")
            run_path = os.path.join(case_dir, "out.opset7.onnx")
            onnx.save(version_converter.convert_version(out_model, 7), run_path)
            case.details.append("run at opset 7 (onnxruntime has no BatchNormalization-6)")
        for data_dir in case.data_sets:
            inputs, refs = e2e.load_data_set(model, data_dir)
            refs = [value for _, value in (refs[:1] if case.y_only else refs)]
            pending.append((case, ort.add(run_path, inputs), refs))

    results = ort.run()
    for case, index, refs in pending:
        outputs, error = results[index]
        if error:
            case.problems.append(error)
            continue
        if len(outputs) != len(refs):
            case.problems.append(f"{len(outputs)} outputs, expected {len(refs)}")
            continue
        for (name, got), ref in zip(outputs, refs):
            if got.shape != ref.shape or got.dtype != ref.dtype:
                case.problems.append(f"output {name}: {got.dtype}{list(got.shape)}, "
                                     f"expected {ref.dtype}{list(ref.shape)}")
                continue
            try:
                np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
            except AssertionError:
                case.problems.append(f"output {name} differs from the reference "
                                     f"(rel. err {e2e.rel_err(got, ref):.2e})")
            case.details.append(f"{name} rel err {e2e.rel_err(got, ref):.1e}")

    for case in cases:
        suite.record(case.name, case.problems, ", ".join(case.details))
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
