#!/usr/bin/python3
"""End-to-end test of the scale benchmark's models and checks at CI size:
benchmarks/llama_gen.py writes small models with external data and
benchmarks/scale.py runs cp, the round trip and --norm-optimize on each,
with its correctness checks (no timing assertions: the timings are the
benchmark's table, docs/Benchmarks.md).

Cases (each scale.py check is one case, `<model>/<check>`):
  tiny_fp16         the tiny Llama preset, fp16, RMSNorm as torch exports it
  tiny_fp16_hf      the same with Hugging Face's Cast-to-fp32 wrapper
  tiny_fp16_tied    Hugging Face spelling and a tied LM head
                    (Transpose(embed_tokens)): the final norm's fold must
                    write a new tensor, never the embedding table in place,
                    which the Gather still reads
  tiny_bf16         bf16 (onnxruntime's CPU provider has no bf16 kernels:
                    no numeric comparison, the other checks only)
  graph             1000 norms in a 5000-node residual chain (LayerNorm
                    nodes, LayerNorm and RMSNorm chains), fp32

For every model: the round trip gives every initializer back byte-identical;
--norm-optimize's output passes onnx.checker on its path, its report has
every norm folded, every initializer no fold may change comes out
byte-identical, onnxruntime gives the original's outputs within the stated
tolerance (scale.py's docstring justifies it); the input files are
byte-identical after all runs (SHA-256). The tied case also checks that the
output's LM head reads a tensor other than the embedding table.
"""
import json
import os
import subprocess
import sys

import onnx

import e2e_common as e2e

GEN = os.path.join(e2e.REPO_ROOT, "benchmarks", "llama_gen.py")
SCALE = os.path.join(e2e.REPO_ROOT, "benchmarks", "scale.py")

# name: (generator arguments, scale.py arguments)
MODELS = {
    "tiny_fp16": (["tiny"], ["--verify"]),
    "tiny_fp16_hf": (["tiny", "--hf-cast"], ["--verify"]),
    "tiny_fp16_tied": (["tiny", "--hf-cast", "--tied"], ["--verify"]),
    "tiny_bf16": (["tiny", "--dtype", "bf16"], []),
    "graph": (["graph", "--norms", "1000", "--nodes", "5000"], ["--verify"]),
}


def tied_head_is_new(path):
    """Problems unless the output's LM head MatMul reads an initializer
    other than the one the embedding Gather reads."""
    model = onnx.load(path, load_external_data=False)
    graph = model.graph
    producers = {o: n for n in graph.node for o in n.output}
    inits = {t.name for t in graph.initializer}
    gather = [n for n in graph.node if n.op_type == "Gather" and n.input[0] in inits]
    head = producers.get(graph.output[0].name)
    if not gather or head is None:
        return ["no embedding Gather or no LM head in the output"]
    table = gather[0].input[0]
    # The tensors the head's weight operand is computed from.
    seen, stack = set(), list(head.input[1:])
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in producers:
            stack.extend(producers[name].input)
    if table in seen:
        return [f"the LM head still reads '{table}', the table the Gather reads"]
    return []


def main():
    parser = e2e.argument_parser(__doc__)
    args = parser.parse_args()
    suite = e2e.Suite("scale")
    for name, (gen_args, scale_args) in MODELS.items():
        if args.k not in name:
            continue
        folder = os.path.join(suite.work, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "model.onnx")
        gen = subprocess.run([sys.executable, GEN, gen_args[0], path, *gen_args[1:]],
                             capture_output=True, text=True)
        if gen.returncode != 0:
            suite.record(f"{name}/generate", [gen.stderr.strip()[-300:]])
            continue
        result_path = os.path.join(folder, "scale.json")
        work = os.path.join(folder, "work")
        scale = subprocess.run([sys.executable, SCALE, path, "--json", result_path,
                                "--work", work, "--keep", *scale_args],
                               capture_output=True, text=True)
        if not os.path.exists(result_path):
            suite.record(f"{name}/scale.py", [f"exit {scale.returncode}: "
                                              + scale.stderr.strip()[-300:]])
            continue
        with open(result_path) as f:
            result = json.load(f)
        for check in result["checks"]:
            suite.record(f"{name}/{check['check']}", check["problems"], check["detail"])
        expected = 6 if "--verify" in scale_args else 5
        if len(result["checks"]) != expected:
            suite.record(f"{name}/all checks ran",
                         [f"{len(result['checks'])} checks, expected {expected}"])
        if name == "tiny_fp16_tied":
            suite.record(f"{name}/the LM head reads a new tensor",
                         tied_head_is_new(os.path.join(work, "out", "out.onnx")))
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
