//===- Report.h - what the passes did to each norm ---------------*- C++ -*-===//
//
// Every pass that recognizes, rewrites or refuses a norm records it here, so
// that `norm-opt --report` can say what happened to each norm even after the
// op is gone. Records live in the module attribute `norm.report` (an array of
// dictionaries {name, kind, pass, action, reason}) so they travel with the IR
// and lit tests can check them. A refusal is also emitted as a remark.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_NORM_TRANSFORMS_REPORT_H
#define NORM_OPT_DIALECT_NORM_TRANSFORMS_REPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

namespace mlir::norm {

constexpr llvm::StringLiteral kReportAttr = "norm.report";

/// The report name of a norm kind: layer_norm, rms_norm, batch_norm, ...
llvm::StringRef getNormKind(Operation *op);

/// The name a norm is known by in the report: its node name, else its
/// first output name ("" when it has neither).
std::string getReportName(Operation *op);

/// Records that `pass` did `action` to the norm `op` (e.g. "recognized",
/// "converted", "folded", "refused"); `reason` says how or why. A record of
/// a named norm identical to one already in the report is not added again.
/// `kind`
/// overrides `getNormKind(op)`: a norm that is still a chain of ONNX ops is
/// recorded on one of them with the kind it would have had.
void recordNormAction(Operation *op, llvm::StringRef pass, llvm::StringRef action,
                      llvm::StringRef reason = "", llvm::StringRef kind = "");

/// Records a refusal and emits it as a remark on `op` (`kind` as above);
/// a refusal already recorded is neither recorded nor emitted again.
void recordNormRefusal(Operation *op, llvm::StringRef pass, llvm::StringRef reason,
                       llvm::StringRef kind = "");

/// The JSON report of `module`: counts of the norm ops left in it and the
/// recorded history of every norm (schema in docs/Report.md).
llvm::json::Object buildReport(ModuleOp module);

} // namespace mlir::norm

#endif
