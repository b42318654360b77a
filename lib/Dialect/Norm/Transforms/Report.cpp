//===- Report.cpp - what the passes did to each norm ----------------------===//
#include "norm-opt/Dialect/Norm/Transforms/Report.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::norm;

StringRef mlir::norm::getNormKind(Operation *op) {
  return llvm::TypeSwitch<Operation *, StringRef>(op)
      .Case([](LayerNormOp) { return "layer_norm"; })
      .Case([](RMSNormOp) { return "rms_norm"; })
      .Case([](CRMSNormOp) { return "crms_norm"; })
      .Case([](BatchNormOp) { return "batch_norm"; })
      .Case([](SkipLayerNormOp) { return "skip_layer_norm"; })
      .Case([](SkipRMSNormOp) { return "skip_rms_norm"; })
      // A BatchNormalization norm-recognize left as a node (training mode)
      // is still a BatchNorm to the reader of the report.
      .Case([](onnxir::NodeOp node) {
        return node.getOpType() == "BatchNormalization" ? StringRef("batch_norm")
                                                        : node->getName().stripDialect();
      })
      .Default([](Operation *op) { return op->getName().stripDialect(); });
}

std::string mlir::norm::getReportName(Operation *op) {
  StringRef node = onnxir::getNodeName(op);
  if (!node.empty())
    return node.str();
  if (auto outputs = op->getAttrOfType<ArrayAttr>(onnxir::kOutputNamesAttr))
    if (!outputs.empty())
      return cast<StringAttr>(outputs[0]).str();
  return "";
}

/// Appends a record to the module's report; false (and nothing appended)
/// when there is no module or the same record of a named norm is already
/// there: a pass that runs twice (norm-recognize does under --norm-optimize
/// on ONNX input) says the same thing once. Unnamed norms (hand-written IR)
/// cannot be told apart, so their records are always appended.
static bool appendRecord(Operation *op, StringRef pass, StringRef action,
                         StringRef reason, StringRef kind) {
  auto module = op->getParentOfType<ModuleOp>();
  if (!module)
    return false;
  Builder b(op->getContext());
  std::string name = getReportName(op);
  SmallVector<NamedAttribute> fields{
      b.getNamedAttr("name", b.getStringAttr(name)),
      b.getNamedAttr("kind", b.getStringAttr(kind.empty() ? getNormKind(op) : kind)),
      b.getNamedAttr("pass", b.getStringAttr(pass)),
      b.getNamedAttr("action", b.getStringAttr(action))};
  if (!reason.empty())
    fields.push_back(b.getNamedAttr("reason", b.getStringAttr(reason)));
  DictionaryAttr record = b.getDictionaryAttr(fields);
  SmallVector<Attribute> records;
  if (auto existing = module->getAttrOfType<ArrayAttr>(kReportAttr))
    records.append(existing.begin(), existing.end());
  // Attributes are uniqued: an identical record is the same attribute.
  if (!name.empty() && llvm::is_contained(records, record))
    return false;
  records.push_back(record);
  module->setAttr(kReportAttr, b.getArrayAttr(records));
  return true;
}

void mlir::norm::recordNormAction(Operation *op, StringRef pass, StringRef action,
                                  StringRef reason, StringRef kind) {
  appendRecord(op, pass, action, reason, kind);
}

void mlir::norm::recordNormRefusal(Operation *op, StringRef pass, StringRef reason,
                                   StringRef kind) {
  if (appendRecord(op, pass, "refused", reason, kind) ||
      !op->getParentOfType<ModuleOp>())
    op->emitRemark() << pass << ": left unchanged: " << reason;
}

llvm::json::Object mlir::norm::buildReport(ModuleOp module) {
  llvm::json::Object counts;
  for (StringRef kind : {"layer_norm", "rms_norm", "batch_norm"})
    counts[kind] = 0;
  module.walk([&](Operation *op) {
    if (!isa<NormDialect>(op->getDialect()))
      return;
    StringRef kind = getNormKind(op);
    int64_t current = counts.getInteger(kind).value_or(0);
    counts[kind] = current + 1;
  });

  // Group the recorded actions by norm, in the order norms were first seen.
  std::vector<std::pair<std::string, llvm::json::Array>> history;
  llvm::StringMap<size_t> historyIndex;
  llvm::StringMap<std::string> kinds;
  llvm::StringMap<int64_t> actionCounts;
  if (auto records = module->getAttrOfType<ArrayAttr>(kReportAttr)) {
    for (Attribute recordAttr : records) {
      auto record = cast<DictionaryAttr>(recordAttr);
      std::string name = record.getAs<StringAttr>("name").str();
      kinds[name] = record.getAs<StringAttr>("kind").str();
      llvm::json::Object entry;
      for (NamedAttribute field : record)
        if (field.getName() != "name" && field.getName() != "kind")
          entry[field.getName().getValue()] = cast<StringAttr>(field.getValue()).str();
      StringRef action = record.getAs<StringAttr>("action").getValue();
      ++actionCounts[action];
      auto [it, inserted] = historyIndex.try_emplace(name, history.size());
      if (inserted)
        history.push_back({name, llvm::json::Array()});
      history[it->second].second.push_back(std::move(entry));
    }
  }
  // json::ObjectKey does not copy a StringRef: give it its own string, the
  // map's keys die with this function.
  for (auto &entry : actionCounts)
    counts[entry.getKey().str()] = entry.getValue();

  llvm::json::Array norms;
  for (auto &[name, actions] : history) {
    llvm::json::Object norm;
    norm["name"] = name;
    norm["kind"] = kinds[name];
    const llvm::json::Object *last = actions.back().getAsObject();
    norm["action"] = last->getString("action").value_or("").str();
    if (auto reason = last->getString("reason"))
      norm["reason"] = reason->str();
    norm["history"] = std::move(actions);
    norms.push_back(std::move(norm));
  }
  llvm::json::Object report;
  report["counts"] = std::move(counts);
  report["norms"] = std::move(norms);
  return report;
}
