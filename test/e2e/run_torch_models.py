#!/usr/bin/python3
"""End-to-end suite over models exported by torch.onnx.export (models.py):
GPT-2-style Pre-LN (opsets 13 and 17, and with a LayerNorm written as
(x - mean) * (var + eps) ** -0.5), Llama-style RMSNorm in four spellings,
BERT-style Post-LN, and a small ViT with BatchNorm.

For each model, one case:
  norm-opt model.onnx -o out.onnx --report r.json   (and -o ir.mlir)
  - the report counts exactly the norms the model has (by kind);
  - the recognized IR keeps every node outside the norms: the op-type
    multiset of its non-norm ops equals that of the exported nodes outside
    the norm modules' scopes (torch names nodes `/h.0/ln_1/Sqrt`);
    `Constant` nodes are compared apart, since those private to a norm
    chain may go with it;
  - out.onnx keeps every node outside the norms by name, op type, attributes
    and output names; its remaining nodes are norm expansions only; graph
    inputs and outputs are unchanged;
  - norm-opt finds the same norms again in out.onnx (round trip);
  - onnx.checker (full check) accepts out.onnx;
  - onnxruntime outputs of model.onnx and out.onnx on the same random inputs
    agree within 1e-5 relative error (||out - ref|| / ||ref||, printed), and
    model.onnx agrees with PyTorch itself (sanity of the oracle);
  - onnxruntime's own optimizer (level extended) fuses as many norms of
    out.onnx into its normalization kernels as of model.onnx: what norm-opt
    writes must not run slower in onnxruntime than what it read.

Usage: run_torch_models.py [-k SUBSTRING]
"""
import collections
import os
import re
import sys

import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as e2e  # noqa: E402

TOLERANCE = 1e-5
# The kernels onnxruntime fuses normalization chains into.
ORT_NORM_OPS = {"LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
                "SkipSimplifiedLayerNormalization", "BatchNormalization"}
# The ops norm-opt expresses a norm in when writing ONNX (convert-norm-to-onnx).
NORM_EXPANSION_OPS = {
    "layer_norm": {"LayerNormalization", "ReduceMean", "Sub", "Mul", "Add", "Sqrt",
                   "Div", "Cast", "Constant", "Reciprocal", "Pow"},
    "rms_norm": {"RMSNormalization", "ReduceMean", "Mul", "Add", "Sqrt", "Div", "Cast",
                 "Constant", "Reciprocal", "Pow"},
    "batch_norm": {"BatchNormalization"},
}


def norm_scopes(model):
    """Node-name prefixes of the norm modules: torch joins the modules it
    calls with '/', and a ModuleList child keeps its dotted index
    (`h.0.ln_1` -> `/h.0/ln_1/`)."""
    import models
    return ["/" + re.sub(r"\.(?!\d)", "/", name) + "/" for name in models.norm_module_names(model)]


def in_norm(node, scopes):
    return any(node.name.startswith(s) for s in scopes)


def norm_internal(graph, scopes):
    """The output names of the nodes that compute the norms (protobuf nodes
    have no stable identity): those in a norm module's scope, except a node
    whose output both the norm and the rest of the model read (the Hugging
    Face RMSNorm's fp32 Cast of its input, which the residual Add reads too):
    that value is not the norm's to remove."""
    readers = collections.defaultdict(list)
    for node in graph.node:
        for name in node.input:
            readers[name].append(node)

    def shared(output):
        inside = [in_norm(r, scopes) for r in readers[output]]
        return any(inside) and not all(inside)

    return {tuple(n.output) for n in graph.node
            if in_norm(n, scopes) and not any(shared(o) for o in n.output)}


def attr_values(node):
    values = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.TENSOR:
            t = numpy_helper.to_array(a.t)
            values[a.name] = (str(t.dtype), t.shape, t.tobytes())
        else:
            values[a.name] = onnx.helper.get_attribute_value(a)
    return values


def check_case(name, work, ort):
    """Runs every check but the onnxruntime comparison; returns
    (problems, details, pending onnxruntime comparison or None)."""
    import models
    import torch

    problems, details = [], []
    case_dir = os.path.join(work, name)
    os.makedirs(case_dir, exist_ok=True)
    model_path = os.path.join(case_dir, "model.onnx")
    torch_model, inputs, expected = models.export(name, model_path)
    with torch.no_grad():
        torch_out = torch_model(*inputs.values())
    torch_out = [t.numpy() for t in (torch_out if isinstance(torch_out, tuple) else (torch_out,))]
    original = onnx.load(model_path)
    scopes = norm_scopes(torch_model)
    internal = norm_internal(original.graph, scopes)
    outside = [n for n in original.graph.node if tuple(n.output) not in internal]
    outside_types = e2e.op_types(onnx.helper.make_model(onnx.helper.make_graph(outside, "g", [], [])))

    # The norm-opt report.
    out_path = os.path.join(case_dir, "out.onnx")
    report, error = e2e.optimize(model_path, out_path, os.path.join(case_dir, "report.json"))
    if error:
        return [error], details, None
    counts = e2e.norm_counts(report)
    want = {k: expected.get(k, 0) for k in counts}
    if counts != want:
        problems.append(f"recognized {e2e.format_counter(counts)}, expected {e2e.format_counter(want)}")
    details.append("norms " + e2e.format_counter(counts))

    # The recognized IR keeps every node outside the norms.
    ir_path = os.path.join(case_dir, "ir.mlir")
    proc = e2e.run_norm_opt([model_path, "-o", ir_path])
    if proc.returncode != 0:
        problems.append(f"norm-opt -o ir.mlir failed: {proc.stderr.strip()[:300]}")
    else:
        with open(ir_path) as f:
            ir_types = e2e.mlir_op_types(f.read())
        non_norm = collections.Counter({k: v for k, v in ir_types.items()
                                        if not k.startswith("norm.") and k != "Constant"})
        want_non_norm = collections.Counter({k: v for k, v in outside_types.items()
                                             if k != "Constant"})
        if non_norm != want_non_norm:
            problems.append("IR nodes outside the norms differ: extra "
                            f"{e2e.format_counter(non_norm - want_non_norm)}, missing "
                            f"{e2e.format_counter(want_non_norm - non_norm)}")
        if ir_types["Constant"] < outside_types["Constant"]:
            problems.append(f"IR lost Constant nodes outside the norms "
                            f"({ir_types['Constant']} < {outside_types['Constant']})")

    # out.onnx: the checker, the kept nodes, and nothing else but norm expansions.
    checker_error = e2e.check_model(out_path)
    if checker_error:
        return problems + [checker_error], details, None
    out = onnx.load(out_path)
    by_name = {n.name: n for n in out.graph.node if n.name}
    kept_names = set()
    for node in outside:
        twin = by_name.get(node.name)
        if twin is None or twin.op_type != node.op_type:
            problems.append(f"node {node.name} ({node.op_type}) is missing from out.onnx")
        elif list(twin.output) != list(node.output) or len(twin.input) != len(node.input):
            problems.append(f"node {node.name} changed its outputs or arity")
        elif attr_values(twin) != attr_values(node):
            problems.append(f"node {node.name} changed its attributes")
        else:
            kept_names.add(node.name)
    allowed = set().union(*(NORM_EXPANSION_OPS[k] for k, v in want.items() if v))
    extra = collections.Counter(n.op_type for n in out.graph.node if n.name not in kept_names)
    if set(extra) - allowed:
        problems.append(f"out.onnx has new nodes that are no norm expansion: "
                        f"{e2e.format_counter(collections.Counter({k: v for k, v in extra.items() if k not in allowed}))}")
    for what in ("input", "output"):
        before = [(v.name, v.type.tensor_type.elem_type) for v in getattr(original.graph, what)]
        after = [(v.name, v.type.tensor_type.elem_type) for v in getattr(out.graph, what)]
        if before != after:
            problems.append(f"graph {what}s changed: {before} -> {after}")

    # Round trip: norm-opt finds the same norms in its own output.
    again, error = e2e.optimize(out_path, os.path.join(case_dir, "again.onnx"),
                                os.path.join(case_dir, "again.json"))
    if error:
        problems.append(f"re-reading out.onnx: {error}")
    elif e2e.norm_counts(again) != counts:
        problems.append(f"out.onnx re-reads as {e2e.format_counter(e2e.norm_counts(again))}")

    feeds = {k: v.numpy() for k, v in inputs.items()}
    fused = [os.path.join(case_dir, f"{stem}.ort.onnx") for stem in ("model", "out")]
    for path, fused_path in zip((model_path, out_path), fused):
        ort.add(path, None, opt_level="extended", optimized_model=fused_path)
    pending = (ort.add(model_path, feeds), ort.add(out_path, feeds), torch_out, fused)
    return problems, details, pending


def ort_norm_nodes(path):
    return sum(n.op_type in ORT_NORM_OPS for n in onnx.load(path).graph.node)


def main():
    import models
    args = e2e.argument_parser(__doc__).parse_args()
    suite = e2e.Suite("torch")
    work, ort = suite.work, suite.ort

    cases = []
    for name in models.MODELS:
        if args.k not in name:
            continue
        try:
            problems, details, pending = check_case(name, work, ort)
        except Exception as e:  # an exporter or tool crash fails this case only
            problems, details, pending = [f"{type(e).__name__}: {e}"], [], None
        cases.append((name, problems, details, pending))

    results = ort.run()
    for name, problems, details, pending in cases:
        if pending:
            before_job, after_job, torch_out, fused = pending
            (before, e1), (after, e2_) = results[before_job], results[after_job]
            if all(os.path.exists(p) for p in fused):
                n_before, n_after = (ort_norm_nodes(p) for p in fused)
                details.append(f"onnxruntime fuses {n_after} norms (original: {n_before})")
                if n_after < n_before:
                    problems.append(f"onnxruntime fuses only {n_after} norms of out.onnx, "
                                    f"{n_before} of model.onnx")
            else:
                problems.append("onnxruntime could not optimize model.onnx or out.onnx")
            if e1 or e2_:
                problems.append(e1 or e2_)
            else:
                for (out_name, ref), (_, got), expect in zip(before, after, torch_out):
                    oracle = e2e.rel_err(ref, expect)
                    if oracle > 1e-4:
                        problems.append(f"onnxruntime disagrees with torch on the original "
                                        f"{out_name} (rel. err {oracle:.1e})")
                    err = e2e.rel_err(got, ref)
                    details.append(f"{out_name} rel err {err:.1e}")
                    if not err <= TOLERANCE:
                        problems.append(f"{out_name}: rel. err {err:.2e} > {TOLERANCE:g}")
        suite.record(name, problems, ", ".join(details))
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
