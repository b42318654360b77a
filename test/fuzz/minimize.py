"""minimize: shrinks a failing difffuzz case into a small reproducer.

    minimize.py --case s100-4 --pass roundtrip [--class roundtrip-changed] [-o DIR]
    minimize.py --spec '{...}' --pass fold-weights

Two stages, each keeping a change only when the same pass still fails with
the same class (and onnxruntime still runs the reduced original):
1. the spec: every entry is reset to its gen_models.DEFAULTS value, readers
   are dropped one by one, the hidden size and opset are lowered;
2. the graph (float32 cases): graph outputs are dropped (with the nodes only
   they needed), then nodes are bypassed one by one (their output replaced
   by an input of the same type) and attributes removed (delta debugging by
   single elements, repeated to a fixed point).
Prints the minimized spec (JSON, the reproducer the regression list holds)
and the minimized graph; -o writes both models and the spec.
"""
import argparse
import copy
import json
import os
import sys
import tempfile

import onnx

FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, FUZZ_DIR)
sys.path.insert(0, os.path.join(os.path.dirname(FUZZ_DIR), "e2e"))
import diff_fuzz  # noqa: E402
import gen_models  # noqa: E402
from e2e_common import prune_to_outputs  # noqa: E402


class Oracle:
    """Does a spec or model still fail `label` with `cls`?"""

    def __init__(self, label, cls, work):
        self.label, self.cls, self.work = label, cls, work
        self.ort = diff_fuzz.OrtWorker()
        self.norm_opt = os.environ.get("NORM_OPT") or os.path.join(
            diff_fuzz.REPO_ROOT, "build", "bin", "norm-opt")
        self.tries = 0

    def _check(self, runs, error):
        self.tries += 1
        if error:
            return False
        return any(r.label == self.label and r.cls == self.cls for r in runs)

    def spec_fails(self, spec):
        try:
            runs, error = diff_fuzz.run_case(spec, os.path.join(self.work, "spec"), self.ort,
                                             self.norm_opt, labels=[self.label])
        except Exception:  # an invalid combination of spec entries
            return False
        return self._check(runs, error)

    def model_fails(self, model, feeds):
        runs, error = diff_fuzz.run_model(model, feeds, None, "float32",
                                          os.path.join(self.work, "graph"), self.ort,
                                          self.norm_opt, [self.label])
        return self._check(runs, error)


def first_failure(spec, oracle_work):
    """(label, class) of the first failing run of spec."""
    ort = diff_fuzz.OrtWorker()
    norm_opt = os.environ.get("NORM_OPT") or os.path.join(diff_fuzz.REPO_ROOT, "build", "bin",
                                                          "norm-opt")
    runs, error = diff_fuzz.run_case(spec, oracle_work, ort, norm_opt)
    ort.close()
    if error:
        sys.exit(f"minimize: {error}")
    for r in runs:
        if r.cls:
            return r.label, r.cls
    sys.exit("minimize: the case passes")


def minimize_spec(spec, oracle):
    spec = copy.deepcopy(spec)
    changed = True
    while changed:
        changed = False
        for key in list(spec):
            if key in ("seed", "spelling", "readers", "opset"):
                continue
            default = gen_models.DEFAULTS.get(key)
            if key not in gen_models.DEFAULTS or spec[key] == default:
                continue
            trial = dict(spec, **{key: default})
            if oracle.spec_fails(trial):
                spec, changed = trial, True
        for reader in list(spec.get("readers", [])):
            trial = dict(spec, readers=[r for r in spec["readers"] if r != reader])
            if oracle.spec_fails(trial):
                spec, changed = trial, True
        for key, smaller in (("hidden", 4), ("channels", 3), ("in_channels", 2), ("tokens", 1)):
            if key in spec and spec[key] != smaller:
                trial = dict(spec, **{key: smaller})
                if key in ("channels", "in_channels"):
                    trial["groups"] = 1
                if oracle.spec_fails(trial):
                    spec, changed = trial, True
        low = max(gen_models.MIN_OPSET.get(spec["spelling"], 9),
                  13 if spec.get("dtype") == "bfloat16" else 9)
        if spec["opset"] > low:
            for opset in (low, 13, 17, 18):
                if low <= opset < spec["opset"]:
                    trial = dict(spec, opset=opset)
                    if oracle.spec_fails(trial):
                        spec, changed = trial, True
                        break
    return spec


def prune(model, keep):
    """`model` with only the graph outputs named in `keep`, what they need
    (e2e_common.prune_to_outputs) and the graph inputs still read."""
    m = prune_to_outputs(copy.deepcopy(model), keep)
    g = m.graph
    needed = {i for n in g.node for i in n.input} | {
        i for n in g.node for a in n.attribute if a.type == onnx.AttributeProto.GRAPH
        for x in a.g.node for i in x.input} | {o.name for o in g.output}
    inputs = [i for i in g.input if i.name in needed]
    del g.input[:]
    g.input.extend(inputs)
    return m


def bypass(model, index, source):
    """`model` with node `index` removed and its first output replaced by its
    input number `source` everywhere."""
    m = copy.deepcopy(model)
    g = m.graph
    node = g.node[index]
    old, new = node.output[0], node.input[source]
    del g.node[index]
    for n in g.node:
        for i, name in enumerate(n.input):
            if name == old:
                n.input[i] = new
    for o in g.output:
        if o.name == old:
            # An output must stay named: keep it with an Identity.
            g.node.append(onnx.helper.make_node("Identity", [new], [old], name="keep_" + old))
    return prune(m, [o.name for o in g.output])


def minimize_graph(model, feeds, oracle):
    changed = True
    while changed:
        changed = False
        names = [o.name for o in model.graph.output]
        for name in names:
            if len(model.graph.output) == 1:
                break
            trial = prune(model, [n for n in [o.name for o in model.graph.output] if n != name])
            used = {i.name for i in trial.graph.input}
            if oracle.model_fails(trial, {k: v for k, v in feeds.items() if k in used}):
                model, changed = trial, True
        i = 0
        while i < len(model.graph.node):
            node = model.graph.node[i]
            done = False
            if len(node.output) == 1 and node.op_type not in ("Constant",):
                for source in range(len(node.input)):
                    if not node.input[source]:
                        continue
                    trial = bypass(model, i, source)
                    used = {x.name for x in trial.graph.input}
                    if oracle.model_fails(trial, {k: v for k, v in feeds.items() if k in used}):
                        model, changed, done = trial, True, True
                        break
            for a in list(node.attribute) if not done else []:
                trial = copy.deepcopy(model)
                attrs = trial.graph.node[i].attribute
                for j, b in enumerate(attrs):
                    if b.name == a.name:
                        del attrs[j]
                        break
                if oracle.model_fails(trial, feeds):
                    model, changed = trial, True
            if not done:
                i += 1
    used = {x.name for x in model.graph.input}
    return model, {k: v for k, v in feeds.items() if k in used}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="sSEED-INDEX, a case of the long mode")
    parser.add_argument("--spec", help="the case's spec (JSON)")
    parser.add_argument("--pass", dest="label", help="the failing pass label")
    parser.add_argument("--class", dest="cls", help="the failure class to keep")
    parser.add_argument("--no-graph", action="store_true", help="only minimize the spec")
    parser.add_argument("-o", "--out", help="write model.onnx, minimized.onnx, spec.json here")
    args = parser.parse_args()
    if args.case:
        seed, index = args.case[1:].split("-")
        spec = gen_models.random_spec(int(seed), int(index))
    elif args.spec:
        spec = json.loads(args.spec)
    else:
        parser.error("give --case or --spec")
    work = tempfile.mkdtemp(prefix="norm-opt-minimize-")
    label, cls = args.label, args.cls
    if not label or not cls:
        first = first_failure(spec, os.path.join(work, "first"))
        label, cls = label or first[0], cls or first[1]
    oracle = Oracle(label, cls, work)
    if not oracle.spec_fails(spec):
        sys.exit(f"minimize: {label} does not fail as {cls}")
    spec = minimize_spec(spec, oracle)
    model, feeds = gen_models.build(spec)
    print(f"# {label}: {cls}; spec after {oracle.tries} tries:")
    print(json.dumps(spec))
    small = None
    if not args.no_graph and gen_models.normalized_spec(spec)["dtype"] == "float32":
        small, small_feeds = minimize_graph(model, feeds, oracle)
        print(f"# graph after {oracle.tries} tries: {len(small.graph.node)} nodes "
              f"(from {len(model.graph.node)})")
        print(onnx.helper.printable_graph(small.graph))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        onnx.save(model, os.path.join(args.out, "model.onnx"))
        if small is not None:
            onnx.save(small, os.path.join(args.out, "minimized.onnx"))
        with open(os.path.join(args.out, "spec.json"), "w") as f:
            json.dump({"pass": label, "class": cls, "spec": spec}, f)
    oracle.ort.close()


if __name__ == "__main__":
    main()
