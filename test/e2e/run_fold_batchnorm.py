#!/usr/bin/python3
"""End-to-end suite of --norm-fold-batchnorm (and --norm-optimize) on
BatchNorm and RepBN models with non-trivial running statistics and affine
weights, and on the BatchNormalization tests of libonnx-testdata.

Torch models (models.py), exported with TrainingMode.PRESERVE in eval mode
so that the BatchNormalization nodes stay in the graph; one case per model
and pass, `bnfold/<model>/<pass>`:
  - the export has the expected number of BatchNormalization nodes;
  - the report's last action for the BatchNorms is counted exactly (e.g. 9
    `folded`, 1 `decomposed` into a per-channel Mul + Add), and as many
    BatchNormalization nodes are left as were refused;
  - where said, the rewrite removes a number of nodes of some op types (the
    Transpose pairs, eta Mul and Add of a folded RepBN);
  - onnxruntime outputs of the original and the rewrite agree within 1e-5
    relative error.
  batchnorm_cnn          models.BatchNormCNN (BatchNorm after Conv, grouped,
                         depthwise and bias-free Conv, ConvTranspose,
                         Reshape, Gemm and MatMul -> Transpose, and after a
                         residual Add)
  batchnorm_cnn_constants
                         the same with every weight in a Constant node, as
                         paddle2onnx exports
  repbn_vit_opset13/17   models.ViTBN with SLAB's RepBN token norms; the
                         final one feeds a mean pool (decomposed)

libonnx-testdata (node/test_batchnorm_*, pytorch-converted/test_BatchNorm*),
one case per test, `bnfold/<dir>/<test>`: the pass must refuse a BatchNorm
whose weights are graph inputs (overridable initializers of IR 3 models, or
the node tests' run-time inputs) with the reason; a copy with the weights
fixed is rewritten (decomposed: a lone norm has no producer or reader to
fold into; training mode refused) and reproduces the shipped outputs within
1e-5 relative error in onnxruntime.

Usage: run_fold_batchnorm.py [-k SUBSTRING]
"""
import collections
import glob
import os
import sys

import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402
import models  # noqa: E402

TOLERANCE = 1e-5
PASSES = {"fold-batchnorm": "--norm-fold-batchnorm", "optimize": "--norm-optimize"}

TorchModel = collections.namedtuple("TorchModel", "ctor input_shape opset expect removed "
                                    "constants")
BN_CNN = {"folded": 9, "decomposed": 1}  # bn_residual reads an Add and feeds a ConvTranspose
# Two RepBN per block fold forwards (their Transpose pairs, eta Mul and Add
# go); the final one feeds a mean pool and becomes one Mul + Add.
REPBN_VIT = {"folded": 4, "decomposed": 1}
REPBN_REMOVED = {"Transpose": 8, "Mul": 4, "Add": 4}
TORCH_MODELS = {
    "batchnorm_cnn": TorchModel(models.BatchNormCNN, (2, 3, 8, 8), 13, BN_CNN, {}, False),
    "batchnorm_cnn_constants": TorchModel(models.BatchNormCNN, (2, 3, 8, 8), 13, BN_CNN, {},
                                          True),
    "repbn_vit_opset13": TorchModel(lambda: models.ViTBN(d=48, norm=models.RepBN, stem=False),
                                    (2, 3, 16, 16), 13, REPBN_VIT, REPBN_REMOVED, False),
    "repbn_vit_opset17": TorchModel(lambda: models.ViTBN(d=48, norm=models.RepBN, stem=False),
                                    (2, 3, 16, 16), 17, REPBN_VIT, REPBN_REMOVED, False),
}


def count_ops(path, op_type):
    return e2e.op_types(onnx.load(path, load_external_data=False))[op_type]


def rewrite(original, out, pass_arg, expect):
    """Runs norm-opt; returns (problems, {norm name: (action, reason)} of the
    BatchNorms). `expect` maps an action to the number of BatchNorms that
    must end with it; as many BatchNormalization nodes must be left as were
    refused."""
    report, error = e2e.optimize(original, out, out + ".json", [pass_arg])
    if error:
        return [error], {}
    actions = {n["name"]: (n["action"], n.get("reason", "")) for n in report["norms"]
               if n["kind"] == "batch_norm"}
    counts = dict(collections.Counter(a for a, _ in actions.values()))
    problems = []
    if counts != expect:
        problems.append(f"BatchNorm actions {counts}, expected {expect}")
    left, refused = count_ops(out, "BatchNormalization"), counts.get("refused", 0)
    if left != refused:
        problems.append(f"{left} BatchNormalization left, {refused} refused")
    return problems, actions


def initializers_to_constants(path):
    """Moves every initializer into a Constant node, as paddle2onnx stores
    weights."""
    model = onnx.load(path)
    constants = [helper.make_node("Constant", [], [init.name], value=init,
                                  name="const_" + init.name)
                 for init in model.graph.initializer]
    nodes = constants + list(model.graph.node)
    del model.graph.initializer[:]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, path)


def prepare_torch(name, spec, passes, work, ort):
    """Exports the model and runs every check but the onnxruntime comparison;
    returns {pass: (problems, details, job)} and the original's job."""
    import torch
    model, inputs = models.instantiate(
        spec.ctor, lambda g: {"x": torch.randn(spec.input_shape, generator=g)})
    original = os.path.join(work, f"{name}.onnx")
    models.export_model(model, inputs, original, spec.opset, None, keep_batchnorm=True)
    if spec.constants:
        initializers_to_constants(original)
    feeds = {k: v.numpy() for k, v in inputs.items()}
    shared = []
    exported = count_ops(original, "BatchNormalization")
    if exported != sum(spec.expect.values()):
        shared.append(f"the export has {exported} BatchNormalization nodes, expected "
                      f"{sum(spec.expect.values())}")
    cases = {}
    for label in passes:
        out = os.path.join(work, f"{name}.{label}.onnx")
        problems, _ = rewrite(original, out, PASSES[label], spec.expect)
        for op_type, fewer in spec.removed.items():
            before, after = count_ops(original, op_type), count_ops(out, op_type)
            if before - after != fewer:
                problems.append(f"{before} -> {after} {op_type} nodes, expected {fewer} fewer")
        cases[label] = (shared + problems, [], ort.add(out, feeds))
    return cases, ort.add(original, feeds)


def refused_as_is(original, out, reason, allow):
    """The pass must refuse the model as it is, saying `reason` (unless
    `allow`, a training-mode norm refused for that instead)."""
    problems, actions = rewrite(original, out, "--norm-fold-batchnorm", {"refused": 1})
    reasons = [r for _, r in actions.values()]
    if not allow and not all(reason in r for r in reasons):
        problems.append(f"refusal reasons {reasons}, expected '{reason}'")
    return problems


def prepare_testdata(test_dir, case_dir, ort):
    """A libonnx-testdata BatchNormalization test; returns (problems,
    [(job, reference outputs)])."""
    os.makedirs(case_dir, exist_ok=True)
    original = os.path.join(test_dir, "model.onnx")
    model = onnx.load(original)
    training = any(a.name == "training_mode" and a.i == 1
                   for n in model.graph.node for a in n.attribute)
    initializers = {i.name for i in model.graph.initializer}
    graph_inputs = [i.name for i in model.graph.input if i.name not in initializers]
    problems = []
    if len(graph_inputs) < len(model.graph.input):
        # The pytorch-converted tests (IR 3) list their initializers as graph
        # inputs, i.e. overridable at run time: refused; then a copy with
        # fixed initializers (what IR >= 4 means) is folded.
        problems += refused_as_is(original, os.path.join(case_dir, "as_is.onnx"),
                                  "overridable graph input", False)
        fixed = onnx.load(original)
        kept = [i for i in fixed.graph.input if i.name not in initializers]
        del fixed.graph.input[:]
        fixed.graph.input.extend(kept)
        fixed.ir_version = max(fixed.ir_version, 4)
        # Opset 6 has no numpy broadcasting (the pass refuses the Mul + Add
        # there) and onnxruntime runs neither BatchNormalization-6 nor Mul-6:
        # the numbers are checked on the model moved to opset 9, where the
        # single BatchNormalization means the same without `is_test`.
        if fixed.opset_import[0].version < 7:
            node = fixed.graph.node[0]
            if ([n.op_type for n in fixed.graph.node] != ["BatchNormalization"]
                    or any(a.i != 1 for a in node.attribute if a.name in ("is_test", "spatial"))):
                return problems + ["an opset-6 test that is not one inference BatchNorm"], []
            kept_attrs = [a for a in node.attribute if a.name in ("epsilon", "momentum")]
            del node.attribute[:]
            node.attribute.extend(kept_attrs)
            fixed.opset_import[0].version = 9
        original = os.path.join(case_dir, "fixed.onnx")
        onnx.save(fixed, original)
    data_dirs = sorted(glob.glob(os.path.join(test_dir, "test_data_set_*")))
    weight_inputs = [n for n in model.graph.node[0].input[1:] if n in graph_inputs]
    if weight_inputs:
        # The node tests feed scale, bias, mean and var at run time: refused;
        # then a copy with the test data as initializers is folded.
        problems += refused_as_is(original, os.path.join(case_dir, "as_is.onnx"),
                                  "is not a constant", training)
        if len(data_dirs) != 1:
            return problems + [f"{len(data_dirs)} data sets to take the weights from"], []
        fixed = onnx.load(original)
        inputs, _ = e2e.load_data_set(model, data_dirs[0])
        fixed.graph.initializer.extend(numpy_helper.from_array(inputs[n], n)
                                       for n in weight_inputs)
        kept = [i for i in fixed.graph.input if i.name not in weight_inputs]
        del fixed.graph.input[:]
        fixed.graph.input.extend(kept)
        original = os.path.join(case_dir, "fixed.onnx")
        onnx.save(fixed, original)
    # A lone BatchNorm reads a graph input (no producer) and its output is a
    # graph output (no reader): the rule that applies is the Mul + Add.
    out = os.path.join(case_dir, "folded.onnx")
    more, actions = rewrite(original, out, "--norm-fold-batchnorm",
                            {"refused": 1} if training else {"decomposed": 1})
    problems += more
    reasons = [r for _, r in actions.values()]
    if training and not all("training_mode = 1" in r for r in reasons):
        problems.append(f"refusal reasons {reasons}, expected 'training_mode = 1'")
    jobs = []
    for data_dir in data_dirs:
        inputs, refs = e2e.load_data_set(model, data_dir)
        for name in weight_inputs:
            del inputs[name]
        jobs.append((ort.add(out, inputs), refs))
    return problems, jobs


def main():
    parser = e2e.argument_parser(__doc__)
    parser.add_argument("--data", default=e2e.TESTDATA)
    args = parser.parse_args()
    suite = e2e.Suite("bnfold")

    torch_cases = e2e.prepare_pass_cases(TORCH_MODELS, lambda spec: PASSES, prepare_torch,
                                         args.k, suite.work, suite.ort)
    testdata_cases = []
    for test_dir in e2e.testdata_dirs(args.data, *e2e.BATCHNORM_TESTS):
        name = "/".join(test_dir.split("/")[-2:])
        if args.k not in name:
            continue
        try:
            problems, jobs = prepare_testdata(test_dir, os.path.join(
                suite.work, name.replace("/", "_")), suite.ort)
        except Exception as e:  # a tool crash fails this case only
            problems, jobs = [f"{type(e).__name__}: {e}"], []
        testdata_cases.append((name, problems, jobs))

    results = suite.ort.run()
    e2e.record_pass_cases(suite, torch_cases, results, TOLERANCE)
    for name, problems, jobs in testdata_cases:
        details = []
        for job, refs in jobs:
            got, error = results[job]
            if error:
                problems.append(error)
                continue
            worst = max(e2e.rel_err(g, r) for (_, g), r in zip(got, refs))
            details.append(f"rel err {worst:.2e} vs shipped")
            if not worst <= TOLERANCE:
                problems.append(f"rel err {worst:.2e} > {TOLERANCE:g} vs the shipped outputs")
        suite.record(name, problems, ", ".join(details))
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
