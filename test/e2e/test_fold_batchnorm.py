#!/usr/bin/env python3
"""End-to-end numerics of --norm-fold-batchnorm (and --norm-optimize) on
BatchNorm and PRepBN models with random running statistics and affine weights.

For each model: run norm-opt, run the original and the rewritten model in
onnxruntime (the Node package onnxruntime-node) on the same random inputs,
and require

  * relative error ||out - ref|| / ||ref|| <= 1e-5 on every output,
  * no BatchNormalization node left in the rewritten model except the
    training-mode ones, which the report must list as refused, and
  * the report's last action for every other BatchNorm to be "folded" or,
    where the test says so, "decomposed" (a per-channel Mul + Add).

Models:
  cnn, cnn-constants
               PyTorch CNN exported with TrainingMode.PRESERVE in eval mode
               (the BatchNormalization nodes stay in the graph): Conv+BN+ReLU,
               grouped Conv+BN, depthwise Conv+BN, bias-free Conv+BN,
               ConvTranspose (grouped) + BN, Conv -> Reshape -> BatchNorm1d,
               BN after a residual Add (decomposed), Flatten -> Linear -> BN1d
               (Gemm), a token Linear -> Transpose -> BN1d (MatMul); the
               -constants copy holds every weight in a Constant node, as
               paddle2onnx exports do.
  repbn-vit-13 / repbn-vit-17
               A small ViT whose norms are SLAB's RepBN, BN(x) + eta x over
               the channels of [B, T, D] via transposes, at opset 13 and 17;
               the final RepBN feeds a mean pool (decomposed).
  onnx-node/*  Debian's libonnx-testdata BatchNormalization node tests
  torch-conv/* and pytorch-converted BatchNorm tests: the rewritten model is
               run against the shipped output_*.pb (training-mode tests must
               be refused and stay unchanged).

Usage: test_fold_batchnorm.py [--norm-opt PATH] [--ort-node-modules DIR]
Exit status 0 when every case passed.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOLERANCE = 1e-5
TESTDATA = "/usr/share/libonnx-testdata/data"

RUNNER_JS = r"""
// node runner.js spec.json: runs each model on raw input files and writes
// its outputs next to it.
const ort = require('onnxruntime-node');
const fs = require('fs');
const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
function load(input) {
  const buf = fs.readFileSync(input.file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return new ort.Tensor('float32', new Float32Array(ab), input.dims);
}
(async () => {
  const opts = {intraOpNumThreads: 1, interOpNumThreads: 1,
                executionMode: 'sequential', graphOptimizationLevel: 'disabled'};
  const feeds = {};
  for (const input of spec.inputs) feeds[input.name] = load(input);
  const result = {};
  for (const model of spec.models) {
    const session = await ort.InferenceSession.create(model, opts);
    const out = await session.run(feeds);
    const outputs = {};
    for (const name of session.outputNames) {
      const file = model + '.' + name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.out';
      const d = out[name].data;
      fs.writeFileSync(file, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      outputs[name] = {file: file, dims: out[name].dims};
    }
    result[model] = outputs;
  }
  fs.writeFileSync(spec.result, JSON.stringify(result));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def find_node_modules(given):
    for candidate in [given, os.environ.get("ORT_NODE_MODULES"),
                      os.path.join(ROOT, "node_modules"),
                      os.path.join(HERE, "node_modules"),
                      "/tmp/ortprobe/node_modules"]:
        if candidate and os.path.isdir(os.path.join(candidate, "onnxruntime-node")):
            return candidate
    sys.exit("onnxruntime-node not found: pass --ort-node-modules DIR (npm: "
             "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node)")


def run_ort(workdir, node_modules, models, inputs):
    """Runs each model on `inputs` (name -> float32 array); returns
    {model: {output name: array}}. ORT graph optimizations are disabled so
    that it does not fuse the original's BatchNorms itself."""
    runner = os.path.join(workdir, "runner.js")
    with open(runner, "w") as f:
        f.write(RUNNER_JS)
    spec_inputs = []
    for name, value in inputs.items():
        path = os.path.join(workdir, "input_%s.bin" % re.sub(r"\W", "_", name))
        np.ascontiguousarray(value, dtype=np.float32).tofile(path)
        spec_inputs.append({"name": name, "file": path, "dims": list(value.shape)})
    spec = {"models": models, "inputs": spec_inputs,
            "result": os.path.join(workdir, "ort_result.json")}
    spec_path = os.path.join(workdir, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    subprocess.run(["node", runner, spec_path], check=True,
                   env=dict(os.environ, NODE_PATH=node_modules))
    with open(spec["result"]) as f:
        result = json.load(f)
    return {model: {name: np.fromfile(o["file"], dtype=np.float32).reshape(o["dims"])
                    for name, o in outputs.items()}
            for model, outputs in result.items()}


def rel_err(out, ref):
    ref = ref.astype(np.float64)
    return float(np.linalg.norm(out.astype(np.float64) - ref) /
                 max(np.linalg.norm(ref), 1e-30))


def count_ops(path, op_type):
    import onnx
    model = onnx.load(path, load_external_data=False)
    return sum(1 for n in model.graph.node if n.op_type == op_type)


def count_batchnorms(path):
    return count_ops(path, "BatchNormalization")


# --- PyTorch models ----------------------------------------------------------

def randomize_batchnorms(module, rng):
    """Random running statistics and affine weights; eta of RepBN != 1."""
    import torch
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.weight.copy_(torch.from_numpy(1 + 0.5 * rng.standard_normal(c)))
                m.bias.copy_(torch.from_numpy(0.3 * rng.standard_normal(c)))
                m.running_mean.copy_(torch.from_numpy(0.5 * rng.standard_normal(c)))
                m.running_var.copy_(torch.from_numpy(rng.uniform(0.2, 3.0, c)))
            if hasattr(m, "eta"):
                m.eta.copy_(torch.from_numpy(rng.uniform(0.2, 1.5, 1)))


def cnn_model():
    import torch
    from torch import nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(16)
            self.grouped = nn.Conv2d(16, 16, 3, padding=1, groups=4)
            self.bn2 = nn.BatchNorm2d(16)
            self.depthwise = nn.Conv2d(16, 16, 3, padding=1, groups=16)
            self.bn3 = nn.BatchNorm2d(16)
            self.pointwise = nn.Conv2d(16, 16, 1, bias=False)
            self.bn4 = nn.BatchNorm2d(16)
            self.bn_residual = nn.BatchNorm2d(16)
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2, groups=2)
            self.bn5 = nn.BatchNorm2d(8)
            self.up_plain = nn.ConvTranspose2d(8, 6, 3, padding=1, bias=False)
            self.bn6 = nn.BatchNorm2d(6)
            self.squeeze = nn.Conv2d(6, 4, 1)
            self.bn_seq = nn.BatchNorm1d(4)
            self.fc = nn.Linear(4 * 256, 32)
            self.bn_fc = nn.BatchNorm1d(32)
            self.token = nn.Linear(6, 12)
            self.bn_token = nn.BatchNorm1d(12)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.bn2(self.grouped(x))
            x = torch.relu(self.bn3(self.depthwise(x)))
            y = self.bn4(self.pointwise(x))
            x = self.bn_residual(x + y)            # BN after an Add: Mul + Add
            x = torch.relu(self.bn5(self.up(x)))   # grouped ConvTranspose
            x = self.bn6(self.up_plain(x))
            s = self.squeeze(x)                    # [B, 4, 16, 16]
            s = self.bn_seq(s.reshape(s.shape[0], 4, 256))  # Conv -> Reshape -> BN1d
            f = self.bn_fc(self.fc(s.flatten(1)))  # Gemm -> BN1d
            t = x.flatten(2).transpose(1, 2)       # [B, 256, 6] tokens
            t = self.token(t).transpose(1, 2)      # MatMul -> Transpose -> BN1d
            t = self.bn_token(t)
            return torch.tanh(f), t

    return CNN(), [("x", (2, 3, 8, 8))]


def repbn_vit_model(d=48, heads=4, layers=2, patch=4, image=16, classes=10):
    import torch
    from torch import nn

    class RepBN(nn.Module):
        """SLAB's RepBN: BN over the channels of [B, T, D] plus eta x."""
        def __init__(self, channels):
            super().__init__()
            self.eta = nn.Parameter(torch.ones(1))
            self.bn = nn.BatchNorm1d(channels)

        def forward(self, x):
            x = x.transpose(1, 2)
            x = self.bn(x) + self.eta * x
            return x.transpose(1, 2)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = RepBN(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.norm2 = RepBN(d)
            self.fc1 = nn.Linear(d, 4 * d)
            self.fc2 = nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, heads, d // heads) \
                .permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) / (d // heads) ** 0.5, dim=-1)
            x = x + self.proj((a @ v).transpose(1, 2).reshape(b, t, d))
            return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x))))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, d, patch, stride=patch)
            self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2, d) * 0.1)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm = RepBN(d)
            self.head = nn.Linear(d, classes)

        def forward(self, x):
            x = self.patch(x).flatten(2).transpose(1, 2) + self.pos
            for block in self.blocks:
                x = block(x)
            return self.head(self.norm(x).mean(dim=1))

    return ViT(), [("x", (2, 3, image, image))]


def export_torch(model, shapes, path, opset, rng):
    import torch
    randomize_batchnorms(model, rng)
    model.eval()
    args = tuple(torch.from_numpy(rng.standard_normal(s).astype(np.float32))
                 for _, s in shapes)
    torch.onnx.export(model, args, path, opset_version=opset,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=[n for n, _ in shapes])
    return {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes}


# --- Cases -------------------------------------------------------------------

class Result:
    def __init__(self):
        self.failures = []
        self.lines = []

    def check(self, ok, message):
        self.lines.append(("PASS " if ok else "FAIL ") + message)
        if not ok:
            self.failures.append(message)


def norm_opt(tool, args):
    proc = subprocess.run([tool] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("norm-opt %s failed:\n%s" % (" ".join(args), proc.stderr))
    return proc


def last_actions(report):
    return {n["name"]: (n["action"], n.get("reason", "")) for n in report.get("norms", [])
            if n["kind"] == "batch_norm"}


def check_rewrite(result, name, tool, original, out, pipeline, expect):
    """Runs norm-opt; checks the report and the BatchNorms left. `expect`
    maps an action to the number of BatchNorms that must end with it."""
    report_path = out + ".json"
    norm_opt(tool, [original, "-o", out, "--report", report_path, pipeline])
    with open(report_path) as f:
        actions = last_actions(json.load(f))
    counts = {}
    for action, _ in actions.values():
        counts[action] = counts.get(action, 0) + 1
    result.check(counts == expect, "%s %s: BatchNorm actions %s (expected %s)"
                 % (name, pipeline, counts, expect))
    left = count_batchnorms(out)
    refused = counts.get("refused", 0)
    result.check(left == refused, "%s %s: %d BatchNormalization left, %d refused"
                 % (name, pipeline, left, refused))
    return actions


def initializers_to_constants(path):
    """Moves every initializer into a Constant node, as paddle2onnx stores
    weights."""
    import onnx
    from onnx import helper
    model = onnx.load(path)
    constants = [helper.make_node("Constant", [], [init.name], value=init,
                                  name="const_" + init.name)
                 for init in model.graph.initializer]
    nodes = constants + list(model.graph.node)
    del model.graph.initializer[:]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, path)


def run_torch_case(result, name, tool, node_modules, workdir, model, shapes, opset, expect,
                   rng, constants=False, removed=None):
    """`removed`: op type -> how many fewer of them the rewritten model must
    have (e.g. the Transpose pairs around a folded RepBN)."""
    original = os.path.join(workdir, name + ".onnx")
    inputs = export_torch(model, shapes, original, opset, rng)
    if constants:
        initializers_to_constants(original)
    result.check(count_batchnorms(original) == sum(expect.values()),
                 "%s: the export has %d BatchNormalization nodes"
                 % (name, count_batchnorms(original)))
    outs = []
    for pipeline in ["--norm-fold-batchnorm", "--norm-optimize"]:
        out = os.path.join(workdir, "%s.%s.onnx" % (name, pipeline.strip("-")))
        check_rewrite(result, name, tool, original, out, pipeline, expect)
        for op_type, count in (removed or {}).items():
            before, after = count_ops(original, op_type), count_ops(out, op_type)
            result.check(before - after == count, "%s %s: %d -> %d %s nodes (expected %d fewer)"
                         % (name, pipeline, before, after, op_type, count))
        outs.append(out)
    ran = run_ort(workdir, node_modules, [original] + outs, inputs)
    for out in outs:
        for output, ref in ran[original].items():
            err = rel_err(ran[out][output], ref)
            result.check(err <= TOLERANCE, "%s %s output %s: rel err %.3g"
                         % (name, os.path.basename(out), output, err))


def read_pb(path):
    import onnx
    from onnx import numpy_helper
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor.name, numpy_helper.to_array(tensor)


def run_testdata_case(result, name, tool, node_modules, workdir, test_dir):
    """A libonnx-testdata BatchNormalization test: the rewritten model must
    reproduce the shipped outputs. The pytorch-converted tests (IR 3) list
    their initializers as graph inputs, i.e. overridable at run time: the
    pass must refuse those; a copy with the initializers made fixed (what an
    IR >= 4 export means) is then folded and checked instead."""
    import onnx
    original = os.path.join(test_dir, "model.onnx")
    model = onnx.load(original)
    training = any(a.name == "training_mode" and a.i == 1
                   for n in model.graph.node for a in n.attribute)
    case_dir = os.path.join(workdir, name.replace("/", "_"))
    os.makedirs(case_dir, exist_ok=True)
    initializers = {i.name for i in model.graph.initializer}
    graph_inputs = [i.name for i in model.graph.input if i.name not in initializers]
    overridable = len(graph_inputs) < len(model.graph.input)
    if overridable:
        out = os.path.join(case_dir, "as_is.onnx")
        actions = check_rewrite(result, name + " (initializers are inputs)", tool, original,
                                out, "--norm-fold-batchnorm", {"refused": 1})
        reasons = [r for _, r in actions.values()]
        result.check(all("overridable graph input" in r for r in reasons),
                     "%s: refusal reason %s" % (name, reasons))
        fixed = onnx.load(original)
        kept = [i for i in fixed.graph.input if i.name not in initializers]
        del fixed.graph.input[:]
        fixed.graph.input.extend(kept)
        fixed.ir_version = max(fixed.ir_version, 4)
        # Opset 6 has no numpy broadcasting (the pass refuses the Mul + Add
        # there) and onnxruntime runs neither BatchNormalization-6 nor Mul-6:
        # check the numbers on the model moved to opset 9, where the single
        # BatchNormalization means the same without `is_test`.
        if fixed.opset_import[0].version < 7:
            assert [n.op_type for n in fixed.graph.node] == ["BatchNormalization"]
            node = fixed.graph.node[0]
            assert all(a.i == 1 for a in node.attribute if a.name in ("is_test", "spatial"))
            kept_attrs = [a for a in node.attribute if a.name in ("epsilon", "momentum")]
            del node.attribute[:]
            node.attribute.extend(kept_attrs)
            fixed.opset_import[0].version = 9
        original = os.path.join(case_dir, "fixed.onnx")
        onnx.save(fixed, original)
    # The node tests feed scale, bias, mean and var at run time: the pass
    # must refuse them; a copy with the test data as initializers is folded.
    from onnx import numpy_helper
    weight_inputs = [n for n in model.graph.node[0].input[1:] if n in graph_inputs]
    data_dirs = sorted(glob.glob(os.path.join(test_dir, "test_data_set_*")))
    if weight_inputs:
        out = os.path.join(case_dir, "as_is.onnx")
        actions = check_rewrite(result, name + " (weights are inputs)", tool, original, out,
                                "--norm-fold-batchnorm", {"refused": 1})
        reasons = [r for _, r in actions.values()]
        result.check(training or all("is not a constant" in r for r in reasons),
                     "%s: refusal reason %s" % (name, reasons))
        assert len(data_dirs) == 1
        fixed = onnx.load(original)
        pbs = sorted(glob.glob(os.path.join(data_dirs[0], "input_*.pb")))
        for i, pb in enumerate(pbs):
            if graph_inputs[i] in weight_inputs:
                fixed.graph.initializer.append(
                    numpy_helper.from_array(read_pb(pb)[1], graph_inputs[i]))
        kept = [i for i in fixed.graph.input if i.name not in weight_inputs]
        del fixed.graph.input[:]
        fixed.graph.input.extend(kept)
        original = os.path.join(case_dir, "fixed.onnx")
        onnx.save(fixed, original)
    # A lone BatchNorm reads a graph input (no producer) and its output is a
    # graph output (no reader): the rule that applies is the Mul + Add.
    expect = {"refused": 1} if training else {"decomposed": 1}
    out = os.path.join(case_dir, "folded.onnx")
    actions = check_rewrite(result, name, tool, original, out, "--norm-fold-batchnorm", expect)
    if training:
        reasons = [r for _, r in actions.values()]
        result.check(all("training_mode = 1" in r for r in reasons),
                     "%s: refusal reason %s" % (name, reasons))
    outputs = [o.name for o in model.graph.output]
    for data_dir in sorted(glob.glob(os.path.join(test_dir, "test_data_set_*"))):
        inputs = {}
        for i, pb in enumerate(sorted(glob.glob(os.path.join(data_dir, "input_*.pb")))):
            _, value = read_pb(pb)
            if graph_inputs[i] not in weight_inputs:
                inputs[graph_inputs[i]] = value
        ran = run_ort(case_dir, node_modules, [out], inputs)[out]
        for i, pb in enumerate(sorted(glob.glob(os.path.join(data_dir, "output_*.pb")))):
            _, ref = read_pb(pb)
            err = rel_err(ran[outputs[i]], ref)
            result.check(err <= TOLERANCE, "%s %s output %s vs shipped: rel err %.3g"
                         % (name, os.path.basename(data_dir), outputs[i], err))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--norm-opt", default=os.path.join(ROOT, "build", "bin", "norm-opt"))
    parser.add_argument("--ort-node-modules")
    parser.add_argument("--keep", help="directory to keep the models in")
    args = parser.parse_args()
    node_modules = find_node_modules(args.ort_node_modules)
    workdir = args.keep or tempfile.mkdtemp(prefix="fold_batchnorm_")
    os.makedirs(workdir, exist_ok=True)
    rng = np.random.default_rng(0)
    import torch
    torch.manual_seed(0)
    result = Result()

    model, shapes = cnn_model()
    # 10 BatchNorms: bn_residual reads an Add and feeds a ConvTranspose (Mul +
    # Add); the rest fold into their producers.
    run_torch_case(result, "cnn", args.norm_opt, node_modules, workdir, model, shapes, 13,
                   {"folded": 9, "decomposed": 1}, rng)
    # The same with every weight in a Constant node (the paddle2onnx layout).
    model, shapes = cnn_model()
    run_torch_case(result, "cnn-constants", args.norm_opt, node_modules, workdir, model,
                   shapes, 13, {"folded": 9, "decomposed": 1}, rng, constants=True)
    for opset in (13, 17):
        model, shapes = repbn_vit_model()
        # 2 RepBN per block fold forwards (their Transpose pairs, eta Mul and
        # Add go; the qkv/fc1 layers keep one bias Add); the final one feeds
        # a mean pool and becomes one Mul + Add.
        run_torch_case(result, "repbn-vit-%d" % opset, args.norm_opt, node_modules, workdir,
                       model, shapes, opset, {"folded": 4, "decomposed": 1}, rng,
                       removed={"Transpose": 8, "Mul": 4, "Add": 4})

    for test_dir in sorted(glob.glob(os.path.join(TESTDATA, "node", "test_batchnorm_*")) +
                           glob.glob(os.path.join(TESTDATA, "pytorch-converted",
                                                  "test_BatchNorm*"))):
        name = "/".join(test_dir.split("/")[-2:])
        run_testdata_case(result, name, args.norm_opt, node_modules, workdir, test_dir)

    for line in result.lines:
        print(line)
    print("%d checks, %d failed" % (len(result.lines), len(result.failures)))
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
