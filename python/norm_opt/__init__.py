"""norm_opt: norm-opt, the ahead-of-time compiler for the normalization layers
of ONNX models, from Python.

    import norm_opt

    result = norm_opt.optimize("model.onnx", "model.opt.onnx")   # --norm-optimize
    print(result.report)              # every norm: kind, what was done, why not
    check = result.verify()           # onnxruntime, original vs optimized
    print(check.rel_err, check.ok)
    cal = norm_opt.calibrate("model.onnx", inputs=samples)   # which pipelines hold
    lnr = norm_opt.remove_layernorm("model.onnx", calib, heldout, budget=1e-3)
    print(lnr)                        # per norm: sigma, cost, removed or kept and why

The package drives the `norm-opt` executable (found by find_norm_opt) and
parses its JSON report (docs/Report.md); models run in onnxruntime-node
through Node.js (norm_opt.runtime). See python/README.md.
"""
from .calibrate import DEFAULT_CANDIDATES, Calibration, Candidate, calibrate
from .errors import (Diagnostic, NormOptError, NormOptNotFoundError, OnnxRuntimeError,
                     RuntimeUnavailableError)
from .remove_ln import (LNRemoval, SiteRemoval, SiteStatistics, collect_statistics,
                        load_statistics, remove_layernorm, write_statistics)
from .report import HistoryEntry, NormRecord, Report
from .runtime import check_onnxruntime
from .tool import DEFAULT_PASSES, Result, find_norm_opt, optimize
from .verify import (DEFAULT_TOLERANCE, OutputComparison, Verification, random_inputs, rel_err,
                     verify)

__all__ = [
    "optimize", "verify", "calibrate", "remove_layernorm", "collect_statistics",
    "write_statistics", "load_statistics", "LNRemoval", "SiteRemoval", "SiteStatistics",
    "random_inputs", "rel_err", "find_norm_opt",
    "check_onnxruntime",
    "Result", "Report", "NormRecord", "HistoryEntry", "Diagnostic",
    "Verification", "OutputComparison", "Calibration", "Candidate",
    "NormOptError", "NormOptNotFoundError", "RuntimeUnavailableError", "OnnxRuntimeError",
    "DEFAULT_PASSES", "DEFAULT_CANDIDATES", "DEFAULT_TOLERANCE",
]
