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

#include <map>
#include <memory>
#include <string>
#include <vector>

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

/// Collects the records a pass makes while it runs and writes them into the
/// module's `norm.report` once, when it goes out of scope. Without one,
/// every record rebuilds the (uniqued, never freed) array attribute, which
/// costs time and memory quadratic in the number of norms. Every pass that
/// records creates one at the start of runOnOperation.
class ReportBatch {
public:
  explicit ReportBatch(ModuleOp module);
  ~ReportBatch();
  ReportBatch(const ReportBatch &) = delete;
  ReportBatch &operator=(const ReportBatch &) = delete;

  struct State;

private:
  std::unique_ptr<State> state;
};

/// What the report says, grouped: counts (norm ops left by kind, records by
/// action) and each norm's records in the order norms were first seen.
struct NormReport {
  struct Norm {
    std::string name;
    std::string kind;
    SmallVector<DictionaryAttr> records;
    /// The last record's action and reason.
    StringRef getAction() const;
    StringRef getReason() const;
  };
  /// Sorted by key.
  std::map<std::string, int64_t> counts;
  std::vector<Norm> norms;
};
NormReport collectReport(ModuleOp module);

/// Writes the report as JSON (schema in docs/Report.md), streamed: a model
/// with 20k norms must not build 20k JSON objects. `extra` adds top-level
/// string fields (input, output); `stageSeconds` adds `stages`, the wall
/// time of each stage of the run, in order.
void writeReport(const NormReport &report, llvm::raw_ostream &os,
                 ArrayRef<std::pair<std::string, std::string>> extra = {},
                 ArrayRef<std::pair<std::string, double>> stageSeconds = {});

/// The JSON report of `module` as an object (what writeReport writes).
llvm::json::Object buildReport(ModuleOp module);

} // namespace mlir::norm

#endif
