#!/usr/bin/python3
"""End-to-end suite of norm-fold-batchnorm (BatchNorm and PRepBN folding),
alone and within --norm-optimize.

For each torch model (non-trivial weights: gamma != 1, beta != 0, running
statistics != 0/1, RepBN eta != 1), exported with TrainingMode.PRESERVE in
eval mode so that the BatchNormalization nodes stay in the graph, and each
pipeline (`fold-batchnorm`, `optimize`):
  norm-opt model.onnx -o out.onnx PIPELINE --report r.json
  - the export has the expected number of BatchNormalization nodes;
  - the report's last action for the BatchNorms is `folded` into a producer
    or reader, or `decomposed` (a per-channel Mul + Add), as many times as
    expected;
  - no BatchNormalization node is left except refused ones;
  - where given, the Transpose, Mul and Add nodes a folded RepBN leaves are
    gone;
  - onnx.checker (full check) accepts out.onnx;
  - onnxruntime outputs of model.onnx and out.onnx on the same random inputs
    agree within 1e-5 relative error (printed).

Models (test/e2e/models.py):
  cnn            BatchNormCNN at opset 13: Conv+BN (plain, grouped,
                 depthwise, bias-free), grouped and bias-free ConvTranspose
                 + BN, Conv -> Reshape -> BN1d, Gemm -> BN1d, MatMul ->
                 Transpose -> BN1d (all folded) and BN after a residual Add
                 (decomposed);
  cnn_constants  the same with every initializer in a Constant node, as
                 paddle2onnx stores weights;
  repbn_vit_13, repbn_vit_17
                 RepBNViT: four RepBN (BN + eta x over the channels of
                 [B, T, D], between Transposes) fold forwards into their
                 linear readers, taking their 2 Transposes, eta Mul and Add
                 with them; the last one feeds a mean pool (decomposed).

And Debian's libonnx-testdata BatchNormalization tests (node/test_batchnorm_*,
pytorch-converted/test_BatchNorm*): a lone BatchNorm between a graph input
and a graph output is decomposed (or, in training mode, refused with its
reason and left alone), and onnxruntime on the rewritten model reproduces the
shipped output_*.pb within 1e-5 relative error. Their weights are graph
inputs (fed by the test data) or, in the IR 3 pytorch-converted models,
initializers listed as graph inputs (overridable): those models themselves
must be refused with that reason (cases `.../weights_as_inputs`,
`.../initializers_as_inputs`), and their patched copies, with the test data
as initializers or the initializers made fixed (opset 6 raised to 9, which
onnxruntime runs), are folded and checked.

Usage: run_fold_batchnorm.py [-k SUBSTRING]
"""
import collections
import glob
import os
import sys

import onnx
from onnx import helper, numpy_helper
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402
import models  # noqa: E402

TOLERANCE = 1e-5
PIPELINES = {"fold_batchnorm": "--norm-fold-batchnorm", "optimize": "--norm-optimize"}


def images(size):
    return lambda g: {"pixel_values": torch.randn(2, 3, size, size, generator=g)}


# name: (constructor, opset, inputs, outputs, weights in Constant nodes,
#        expected BatchNorm actions, {op type: how many fewer in out.onnx})
TORCH_MODELS = {
    "cnn": (models.BatchNormCNN, 13, images(8), ["features", "tokens"], False,
            {"folded": 9, "decomposed": 1}, {}),
    "cnn_constants": (models.BatchNormCNN, 13, images(8), ["features", "tokens"], True,
                      {"folded": 9, "decomposed": 1}, {}),
    "repbn_vit_13": (models.RepBNViT, 13, images(16), ["logits"], False,
                     {"folded": 4, "decomposed": 1}, {"Transpose": 8, "Mul": 4, "Add": 4}),
    "repbn_vit_17": (models.RepBNViT, 17, images(16), ["logits"], False,
                     {"folded": 4, "decomposed": 1}, {"Transpose": 8, "Mul": 4, "Add": 4}),
}


class Case:
    def __init__(self, name):
        self.name = name
        self.problems = []
        self.details = []
        self.comparisons = []  # (onnxruntime job, reference job or [(name, array)])


def initializers_to_constants(path):
    """Moves every initializer into a Constant node (the paddle2onnx layout)."""
    model = onnx.load(path)
    constants = [helper.make_node("Constant", [], [init.name], value=init,
                                  name="const_" + init.name)
                 for init in model.graph.initializer]
    nodes = constants + list(model.graph.node)
    del model.graph.initializer[:]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, path)


def export(name, path):
    """Exports TORCH_MODELS[name] keeping its BatchNorms; returns the inputs."""
    ctor, opset, make_inputs, outputs, constants, _, _ = TORCH_MODELS[name]
    model, inputs = models.instantiate(ctor, make_inputs)
    models.export_module(model, inputs, path, opset, outputs,
                         training=torch.onnx.TrainingMode.PRESERVE)
    if constants:
        initializers_to_constants(path)
    return {k: v.numpy() for k, v in inputs.items()}


def ops_of(path):
    return e2e.op_types(onnx.load(path, load_external_data=False))


def check_rewrite(case, model_path, out_path, flag, expect):
    """Runs norm-opt FLAG; checks the BatchNorms' last actions against
    `expect` ({action: count}), that only refused ones are left as
    BatchNormalization nodes, and the checker. Returns {name: (action,
    reason)} of the BatchNorms, or None if norm-opt failed."""
    report, error = e2e.optimize(model_path, out_path, out_path + ".json", [flag])
    if error:
        case.problems.append(error)
        return None
    actions = {n["name"]: (n["action"], n.get("reason", "")) for n in report["norms"]
               if n["kind"] == "batch_norm"}
    counts = collections.Counter(action for action, _ in actions.values())
    if counts != collections.Counter(expect):
        case.problems.append(f"BatchNorm actions {e2e.format_counter(counts)}, "
                             f"expected {e2e.format_counter(expect)}")
    left = ops_of(out_path)["BatchNormalization"]
    if left != counts["refused"]:
        case.problems.append(f"{left} BatchNormalization left, {counts['refused']} refused")
    checker_error = e2e.check_model(out_path)
    if checker_error:
        case.problems.append(checker_error)
    case.details.append(e2e.format_counter(counts))
    return actions


def check_reasons(case, actions, text):
    reasons = [reason for _, reason in (actions or {}).values()]
    if not all(text in reason for reason in reasons):
        case.problems.append(f"refusal reasons {reasons}, expected '{text}'")


def torch_cases(name, work, ort):
    _, _, _, _, _, expect, removed = TORCH_MODELS[name]
    cases = [Case(f"{name}/{label}") for label in PIPELINES]
    model_path = os.path.join(work, f"{name}.onnx")
    inputs = export(name, model_path)
    before = ops_of(model_path)
    ref_job = ort.add(model_path, inputs)
    for case, flag in zip(cases, PIPELINES.values()):
        if before["BatchNormalization"] != sum(expect.values()):
            case.problems.append(f"the export has {before['BatchNormalization']} "
                                 f"BatchNormalization nodes, expected {sum(expect.values())}")
        out_path = os.path.join(work, f"{case.name.replace('/', '.')}.onnx")
        if check_rewrite(case, model_path, out_path, flag, expect) is None:
            continue
        after = ops_of(out_path)
        for op_type, fewer in removed.items():
            if before[op_type] - after[op_type] != fewer:
                case.problems.append(f"{before[op_type]} -> {after[op_type]} {op_type} nodes, "
                                     f"expected {fewer} fewer")
        case.comparisons.append((ort.add(out_path, inputs), ref_job))
    return cases


def testdata_cases(test_dir, name, work, ort):
    """The test's model must be refused while its weights can be overridden
    at run time; its patched copy is folded and reproduces the shipped
    outputs."""
    case_dir = os.path.join(work, name.replace("/", "_"))
    os.makedirs(case_dir, exist_ok=True)
    model = onnx.load(os.path.join(test_dir, "model.onnx"))
    training = any(a.name == "training_mode" and a.i == 1
                   for n in model.graph.node for a in n.attribute)
    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [i.name for i in model.graph.input if i.name not in initializers]
    weight_inputs = [n for n in model.graph.node[0].input[1:] if n in graph_inputs]
    sets = [e2e.load_data_set(model, data_dir)
            for data_dir in sorted(glob.glob(os.path.join(test_dir, "test_data_set_*")))]
    cases = []
    fixed = onnx.load(os.path.join(test_dir, "model.onnx"))

    if len(graph_inputs) < len(model.graph.input):
        # IR 3 lists the initializers as graph inputs: overridable.
        case = Case(f"{name}/initializers_as_inputs")
        cases.append(case)
        actions = check_rewrite(case, os.path.join(test_dir, "model.onnx"),
                                os.path.join(case_dir, "as_is.onnx"),
                                "--norm-fold-batchnorm", {"refused": 1})
        check_reasons(case, actions, "overridable graph input")
        kept = [i for i in fixed.graph.input if i.name not in initializers]
        del fixed.graph.input[:]
        fixed.graph.input.extend(kept)
        fixed.ir_version = max(fixed.ir_version, 4)
        # onnxruntime runs neither BatchNormalization-6 nor Mul-6 (and opset 6
        # has no numpy broadcasting for the Mul + Add): at opset 9, a single
        # BatchNormalization without is_test means the same.
        if fixed.opset_import[0].version < 7:
            node = fixed.graph.node[0]
            if [n.op_type for n in fixed.graph.node] != ["BatchNormalization"] or any(
                    a.i != 1 for a in node.attribute if a.name in ("is_test", "spatial")):
                case.problems.append("not a lone inference BatchNormalization-6: "
                                     "cannot be raised to opset 9")
                return cases
            kept_attrs = [a for a in node.attribute if a.name in ("epsilon", "momentum")]
            del node.attribute[:]
            node.attribute.extend(kept_attrs)
            fixed.opset_import[0].version = 9

    if weight_inputs:
        # The node tests feed scale, bias, mean and var at run time.
        case = Case(f"{name}/weights_as_inputs")
        cases.append(case)
        as_is = os.path.join(case_dir, "as_is.onnx")
        actions = check_rewrite(case, os.path.join(test_dir, "model.onnx"), as_is,
                                "--norm-fold-batchnorm", {"refused": 1})
        check_reasons(case, actions, "training_mode = 1" if training else "is not a constant")
        if actions is not None:
            for inputs, refs in sets:
                case.comparisons.append((ort.add(as_is, inputs), refs))
        if len(sets) != 1:
            case.problems.append(f"{len(sets)} test data sets; the weights of one "
                                 "are made initializers")
            return cases
        for weight in weight_inputs:
            fixed.graph.initializer.append(numpy_helper.from_array(sets[0][0][weight], weight))
        kept = [i for i in fixed.graph.input if i.name not in weight_inputs]
        del fixed.graph.input[:]
        fixed.graph.input.extend(kept)

    # A lone BatchNorm reads a graph input (no producer) and its output is a
    # graph output (no reader): the rule that applies is the Mul + Add.
    case = Case(name)
    cases.append(case)
    fixed_path = os.path.join(case_dir, "fixed.onnx")
    onnx.save(fixed, fixed_path)
    out_path = os.path.join(case_dir, "folded.onnx")
    actions = check_rewrite(case, fixed_path, out_path, "--norm-fold-batchnorm",
                            {"refused": 1} if training else {"decomposed": 1})
    if training:
        check_reasons(case, actions, "training_mode = 1")
    if actions is not None:
        for inputs, refs in sets:
            feeds = {k: v for k, v in inputs.items() if k not in weight_inputs}
            case.comparisons.append((ort.add(out_path, feeds), refs))
    return cases


def guarded(name, make_cases, *args):
    """make_cases(*args), or one failed case `name` if it raises (an exporter
    or tool crash fails this model's or test's cases only)."""
    try:
        return make_cases(*args)
    except Exception as exc:
        case = Case(name)
        case.problems.append(f"{type(exc).__name__}: {exc}")
        return [case]


def compare(case, results):
    worst = 0.0
    for job, ref in case.comparisons:
        got, error = results[job]
        expected, ref_error = results[ref] if isinstance(ref, int) else (ref, None)
        if error or ref_error:
            case.problems.append(error or ref_error)
            continue
        if len(got) != len(expected):
            case.problems.append(f"{len(got)} outputs, expected {len(expected)}")
            continue
        for (name, value), (_, reference) in zip(got, expected):
            if value.shape != reference.shape:
                case.problems.append(f"output {name}: shape {list(value.shape)}, "
                                     f"expected {list(reference.shape)}")
                continue
            err = e2e.rel_err(value, reference)
            worst = max(worst, err)
            if err > TOLERANCE:
                case.problems.append(f"output {name}: rel err {err:.2e} > {TOLERANCE}")
    if case.comparisons:
        case.details.append(f"rel err {worst:.1e}")


def main():
    args = e2e.argument_parser(__doc__).parse_args()
    suite = e2e.Suite("foldbn")
    work, ort = suite.work, suite.ort
    test_dirs = e2e.testdata_dirs(e2e.TESTDATA, *e2e.BATCHNORM_TESTS)

    cases = []
    for name in TORCH_MODELS:
        if any(args.k in f"{name}/{label}" for label in PIPELINES):
            cases += guarded(name, torch_cases, name, work, ort)
    for test_dir in test_dirs:
        name = "/".join(test_dir.split("/")[-2:])
        if not any(args.k in name + suffix
                   for suffix in ("", "/weights_as_inputs", "/initializers_as_inputs")):
            continue
        cases += guarded(name, testdata_cases, test_dir, name, work, ort)
    results = ort.run()
    for case in cases:
        if args.k in case.name:
            compare(case, results)
            suite.record(case.name, case.problems, ", ".join(case.details))
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
