//===- Report.cpp - what the passes did to each norm ----------------------===//
#include "norm-opt/Dialect/Norm/Transforms/Report.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/Builders.h"

#include <cmath>
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
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

struct ReportBatch::State {
  ModuleOp module;
  SmallVector<Attribute> records;
  llvm::DenseSet<Attribute> seen;
  ReportBatch::State *outer;
};

/// The innermost batch of this thread (passes record from the thread that
/// runs them).
static thread_local ReportBatch::State *activeBatch = nullptr;

ReportBatch::ReportBatch(ModuleOp module) : state(std::make_unique<State>()) {
  state->module = module;
  if (auto existing = module->getAttrOfType<ArrayAttr>(kReportAttr)) {
    state->records.append(existing.begin(), existing.end());
    state->seen.insert(existing.begin(), existing.end());
  }
  state->outer = activeBatch;
  activeBatch = state.get();
}

ReportBatch::~ReportBatch() {
  activeBatch = state->outer;
  if (!state->records.empty())
    state->module->setAttr(kReportAttr,
                           ArrayAttr::get(state->module.getContext(), state->records));
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
  if (activeBatch && activeBatch->module == module) {
    // Attributes are uniqued: an identical record is the same attribute.
    if (!activeBatch->seen.insert(record).second && !name.empty())
      return false;
    activeBatch->records.push_back(record);
    return true;
  }
  // Outside a batch (a pass that makes none): one record at a time.
  ReportBatch batch(module);
  return appendRecord(op, pass, action, reason, kind);
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

StringRef NormReport::Norm::getAction() const {
  return records.back().getAs<StringAttr>("action").getValue();
}

StringRef NormReport::Norm::getReason() const {
  auto reason = records.back().getAs<StringAttr>("reason");
  return reason ? reason.getValue() : StringRef();
}

NormReport mlir::norm::collectReport(ModuleOp module) {
  NormReport report;
  for (StringRef kind : {"layer_norm", "rms_norm", "batch_norm"})
    report.counts[kind.str()] = 0;
  module.walk([&](Operation *op) {
    if (isa<NormDialect>(op->getDialect()))
      ++report.counts[getNormKind(op).str()];
  });
  llvm::StringMap<size_t> index;
  if (auto records = module->getAttrOfType<ArrayAttr>(kReportAttr))
    for (Attribute recordAttr : records) {
      auto record = cast<DictionaryAttr>(recordAttr);
      StringRef name = record.getAs<StringAttr>("name").getValue();
      ++report.counts[record.getAs<StringAttr>("action").str()];
      auto [it, inserted] = index.try_emplace(name, report.norms.size());
      if (inserted)
        report.norms.push_back({name.str(), "", {}});
      NormReport::Norm &norm = report.norms[it->second];
      norm.kind = record.getAs<StringAttr>("kind").str();
      norm.records.push_back(record);
    }
  return report;
}

void mlir::norm::writeReport(const NormReport &report, llvm::raw_ostream &os,
                             ArrayRef<std::pair<std::string, std::string>> extra,
                             ArrayRef<std::pair<std::string, double>> stageSeconds) {
  // Keys in sorted order, as llvm::json prints an object.
  std::map<std::string, std::string> extraFields(extra.begin(), extra.end());
  llvm::json::OStream json(os, 2);
  json.object([&] {
    json.attributeObject("counts", [&] {
      for (const auto &[key, count] : report.counts)
        json.attribute(key, count);
    });
    auto writeExtra = [&](auto first, auto last) {
      for (auto it = first; it != last; ++it)
        json.attribute(it->first, it->second);
    };
    auto beforeNorms = extraFields.lower_bound("norms");
    writeExtra(extraFields.begin(), beforeNorms);
    json.attributeArray("norms", [&] {
      for (const NormReport::Norm &norm : report.norms)
        json.object([&] {
          json.attribute("action", norm.getAction());
          json.attributeArray("history", [&] {
            for (DictionaryAttr record : norm.records)
              json.object([&] {
                for (NamedAttribute field : record) // sorted by name
                  if (field.getName() != "name" && field.getName() != "kind")
                    json.attribute(field.getName().getValue(),
                                   cast<StringAttr>(field.getValue()).getValue());
              });
          });
          json.attribute("kind", norm.kind);
          json.attribute("name", norm.name);
          if (!norm.getReason().empty())
            json.attribute("reason", norm.getReason());
        });
    });
    auto beforeStages = extraFields.lower_bound("stages");
    writeExtra(beforeNorms, beforeStages);
    if (!stageSeconds.empty())
      json.attributeArray("stages", [&] {
        for (const auto &[stage, seconds] : stageSeconds)
          json.object([&] {
            json.attribute("seconds", std::round(seconds * 1000) / 1000);
            json.attribute("stage", stage);
          });
      });
    writeExtra(beforeStages, extraFields.end());
  });
}

llvm::json::Object mlir::norm::buildReport(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  writeReport(collectReport(module), os);
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(text);
  if (!value) {
    llvm::consumeError(value.takeError());
    return {};
  }
  return std::move(*value->getAsObject());
}
