"""The CI slice of the differential fuzzer (test/e2e/run_difffuzz.py).

CI_CASES: cases of the run seeded CI_SEED that pass on this code (chosen by
running `diff_fuzz.py --seed CI_SEED --cases N --log FILE` and keeping the
passing ones; every spelling, dtype and context occurs among them).

REGRESSIONS: the minimized reproducer of every finding (FINDINGS.md,
docs/DiffFuzz.md), as generator specs. An entry with "known" still fails on
this code, in those passes, with that class: it prints KNOWN FAILURE lines,
and the slice fails when one passes (the fix landed: drop "known"). Every
other pass of an entry (all of them without "known") must pass. "pass" is
the pass the finding was minimized on.
"""

CI_SEED = 2026
CI_CASES = []

REGRESSIONS = [
    {"id": "F1-skip-ln-untyped-reader", "pass": "fold-weights",
     "spec": {"spelling": "skip_ln", "seed": [100, 254], "opset": 9, "eps": 0.001, "hidden": 4,
              "readers": ["matmul_bias"]},
     "known": {"passes": ["fold-weights", "optimize"],
               "class": "crash", "item": "issue 13 items 4/5 (robust: reader classification, "
               "types)", "reason": "LinearLayer accepts a MatMul whose product has no type "
               "(!onnx.opaque after a com.microsoft op); foldAffineIntoReaders casts it to "
               "ShapedType"}},
    {"id": "F2-unsorted-nodes", "pass": "roundtrip",
     "spec": {"spelling": "ln17", "seed": [1, 100], "opset": 17, "hidden": 6,
              "readers": ["matmul_bias"], "shuffle": True}},
    {"id": "F2-unsorted-nodes-fp16-rms", "pass": "roundtrip",
     "spec": {"spelling": "rms_plain", "seed": [1, 1], "opset": 13, "dtype": "float16",
              "hidden": 8, "readers": ["tied"], "shuffle": True}},
    {"id": "F3-respelled-rms-div", "pass": "roundtrip",
     "spec": {"spelling": "rms_div", "seed": [1, 31], "opset": 15, "hidden": 8,
              "readers": ["matmul"]}},
    {"id": "F3-respelled-hf-rms-fp16", "pass": "roundtrip",
     "spec": {"spelling": "rms_hf", "seed": [1, 16], "opset": 11, "dtype": "float16",
              "fp32_casts": True, "hidden": 8, "readers": ["matmul"]}},
    {"id": "F3-respelled-ln-torch-opset19", "pass": "roundtrip",
     "spec": {"spelling": "ln_torch", "seed": [1, 37], "opset": 19, "hidden": 8,
              "readers": ["matmul"]}},
    {"id": "F3-respelled-simplified-fp16", "pass": "roundtrip",
     "spec": {"spelling": "simplified", "seed": [201, 209], "opset": 9, "dtype": "float16",
              "hidden": 8, "readers": ["relu"]},
     "known": {"passes": ["roundtrip"],
               "class": "roundtrip-changed", "item": "issue 13 item 3 (robust)",
               "reason": "SimplifiedLayerNormalization (onnxruntime's, default domain) comes "
               "back as a decomposed chain (RMSNormalization at opset 23), rel. err 3.9e-4 "
               "in fp16"}},
    {"id": "F4-bn-training-mode-attribute", "pass": "roundtrip",
     "spec": {"spelling": "bn", "seed": [7, 1], "opset": 17, "channels": 3,
              "producer": "input", "bn_dims": 2, "readers": ["relu"]}},
    {"id": "F5-overridable-input-order", "pass": "roundtrip",
     "spec": {"spelling": "rms_plain", "seed": [1, 5], "opset": 13, "hidden": 4,
              "weights": "overridable", "eps_input": True, "readers": ["matmul"]},
     "known": {"passes": ["roundtrip"],
               "class": "roundtrip-changed", "item": "issue 13 item 3 (robust: import)",
               "reason": "graph inputs that are initializers too are written after the "
               "others: [x, gamma, beta, eps] comes back as [x, eps, gamma, beta]"}},
    {"id": "F6-subgraph-norm-no-record", "pass": "pre-ln-to-rms",
     "spec": {"spelling": "ln17", "seed": [1, 24], "opset": 19, "hidden": 4, "subgraph": "if",
              "readers": ["relu"]},
     "known": {"passes": ["pre-ln-to-rms", "pre-ln-to-rms-compress"],
               "class": "refusal-without-reason", "item": "issue 13 item 6 (robust)",
               "reason": "pre-ln-to-rms does not visit If/Loop bodies: their LayerNorms get "
               "no record"}},
    {"id": "F7-skip-norm-graph-output-type", "pass": "roundtrip",
     "spec": {"spelling": "skip_ln", "seed": [201, 279], "opset": 9, "eps": 1e-12,
              "graph_output": True, "hidden": 4, "readers": []},
     "known": {"passes": ["roundtrip", "fold-weights", "pre-ln-to-rms", "pre-ln-to-rms-compress", "optimize"],
               "class": "rejected-valid-model", "item": "issue 13 item 1 (robust)",
               "reason": "a com.microsoft skip norm's output that is a graph output: 'type of "
               "return operand 1 doesn't match function result type'"}},
    {"id": "F8-crms-unranked-result", "pass": "pre-ln-to-rms-compress",
     "spec": {"spelling": "ln_function", "seed": [201, 153], "opset": 17, "hidden": 4,
              "producer": "matmul", "readers": ["shape"]}},
]
