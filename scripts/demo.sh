#!/usr/bin/env bash
# scripts/demo.sh: sets up and builds norm-opt, exports a small GPT-2-style
# model with PyTorch (opset 13, where LayerNorm is a decomposed chain), and
# runs norm-opt's main job on it (--norm-optimize), showing what it found,
# did and refused.
#
#   scripts/demo.sh [MODEL [norm-opt pass flags...]]   (models: test/e2e/models.py --list)
# Pass flags replace the default --norm-optimize.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh

OUT="$ROOT/build/demo"
mkdir -p "$OUT"
MODEL=${1:-gpt2_preln_opset13}
PASSES=("${@:2}")
((${#PASSES[@]})) || PASSES=(--norm-optimize)
echo
echo "== exporting $MODEL with torch.onnx.export (test/e2e/models.py)"
/usr/bin/python3 test/e2e/models.py "$MODEL" -o "$OUT/model.onnx" 2> >(grep -v -i warn >&2)
ls -l "$OUT/model.onnx"

echo
echo "== build/bin/norm-opt $OUT/model.onnx -o $OUT/model.opt.onnx ${PASSES[*]} --summary --report $OUT/report.json"
build/bin/norm-opt "$OUT/model.onnx" -o "$OUT/model.opt.onnx" "${PASSES[@]}" --summary --report "$OUT/report.json"

echo
echo "== the report ($OUT/report.json; schema in docs/Report.md), counts:"
/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["counts"], indent=2))' "$OUT/report.json"

echo
echo "== the optimized model runs in onnxruntime and computes what the original did:"
/usr/bin/python3 - "$OUT" <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, "test/e2e")
import e2e_common as e2e
out = sys.argv[1]
ids = np.random.default_rng(0).integers(0, 96, size=(2, 8), dtype=np.int64)
ort = e2e.OrtBatch(out)
ort.add(os.path.join(out, "model.onnx"), {"input_ids": ids})
ort.add(os.path.join(out, "model.opt.onnx"), {"input_ids": ids})
(before, e1), (after, e2_) = ort.run()
if e1 or e2_:
    sys.exit(e1 or e2_)
for (name, ref), (_, got) in zip(before, after):
    print(f"  {name}: shape {list(ref.shape)}, relative error {e2e.rel_err(got, ref):.1e}")
print("  onnx.checker:", e2e.check_model(os.path.join(out, "model.opt.onnx")) or "ok")
PY
