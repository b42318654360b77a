//===- OriginalSpelling.cpp - the ONNX nodes a norm op replaced -----------===//
#include "norm-opt/Dialect/Norm/IR/OriginalSpelling.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

/// On the yield: the norm's properties when its nodes were kept.
static constexpr StringLiteral kRecordedAttr = "norm.recorded";
/// On an initializer that kept nodes read (through a copy).
static constexpr StringLiteral kSpellingConstantAttr = "norm.spelling_constant";

static bool isCopyableConstant(Operation *op) {
  return isa_and_nonnull<InitializerOp, ConstantOp, NoneOp>(op) && op->getNumOperands() == 0;
}

/// The name a constant is found by: an initializer's, a Constant node's
/// output name; "" for onnx.none.
static StringRef constantName(Operation *op) {
  if (auto init = dyn_cast<InitializerOp>(op))
    return init.getName();
  if (auto names = op->getAttrOfType<ArrayAttr>(kOutputNamesAttr))
    if (names.size() == 1)
      return cast<StringAttr>(names[0]).getValue();
  return "";
}

LogicalResult mlir::norm::keepOriginalSpelling(RewriterBase &rewriter, Operation *norm,
                                               ArrayRef<Operation *> nodes,
                                               ValueRange replaced) {
  if (norm->getNumRegions() != 1 || !norm->getRegion(0).empty() ||
      replaced.size() != norm->getNumResults() || llvm::is_contained(replaced, Value()))
    return failure();
  llvm::SetVector<Operation *> kept(nodes.begin(), nodes.end());
  SmallVector<Operation *> ordered(nodes.begin(), nodes.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  llvm::SetVector<Operation *> copied;
  for (Operation *op : ordered) {
    if (op->getNumRegions() || op->getBlock() != norm->getBlock())
      return failure();
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (kept.contains(def) || llvm::is_contained(norm->getOperands(), operand))
        continue;
      if (!isCopyableConstant(def))
        return failure();
      copied.insert(def);
    }
  }

  Block *body = rewriter.createBlock(&norm->getRegion(0));
  IRMapping mapping;
  for (Value operand : norm->getOperands())
    body->addArgument(operand.getType(), norm->getLoc());
  for (auto [operand, arg] : llvm::reverse(llvm::zip(norm->getOperands(), body->getArguments())))
    mapping.map(operand, arg); // The first of equal operands wins.

  rewriter.setInsertionPointToStart(body);
  for (Operation *def : copied) {
    Operation *copy = rewriter.clone(*def);
    mapping.map(def->getResults(), copy->getResults());
    if (auto init = dyn_cast<InitializerOp>(def); init && !init.getIsInput())
      init->setAttr(kSpellingConstantAttr, rewriter.getUnitAttr());
  }
  for (Operation *op : ordered) {
    rewriter.moveOpBefore(op, body, body->end());
    rewriter.modifyOpInPlace(op, [&] {
      for (OpOperand &operand : op->getOpOperands())
        if (Value mapped = mapping.lookupOrNull(operand.get()))
          operand.set(mapped);
    });
  }
  rewriter.setInsertionPointToEnd(body);
  auto yield = YieldOp::create(rewriter, norm->getLoc(), replaced, "",
                               rewriter.getStrArrayAttr({}), rewriter.getStrArrayAttr({}));
  yield->setAttr(kRecordedAttr, norm->getPropertiesAsAttribute());
  return success();
}

bool mlir::norm::isInOriginalSpelling(Operation *op) {
  for (Operation *parent = op->getParentOp(); parent; parent = parent->getParentOp())
    if (isa<NormDialect>(parent->getDialect()))
      return true;
  return false;
}

static bool compatible(TypeRange a, TypeRange b) {
  return a.size() == b.size() &&
         llvm::all_of(llvm::zip(a, b), [](auto pair) {
           auto [x, y] = pair;
           return getElementTypeOrSelf(x) == getElementTypeOrSelf(y) &&
                  succeeded(verifyCompatibleShape(x, y));
         });
}

bool mlir::norm::hasCurrentOriginalSpelling(Operation *norm) {
  if (norm->getNumRegions() != 1 || norm->getRegion(0).empty())
    return false;
  Block &body = norm->getRegion(0).front();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  return yield && yield->getAttr(kRecordedAttr) == norm->getPropertiesAsAttribute() &&
         compatible(body.getArgumentTypes(), norm->getOperandTypes()) &&
         compatible(yield->getOperandTypes(), norm->getResultTypes());
}

namespace {

/// Finds, by name, the constants in scope of a point in a graph: those of its
/// block before it and of the enclosing graphs' blocks before the ops that
/// hold them.
class ConstantScope {
public:
  Operation *lookup(Operation *at, Operation *constant) {
    StringRef name = constantName(constant);
    for (Operation *point = at; point; point = point->getParentOp()) {
      Block *block = point->getBlock();
      if (!block)
        break;
      Operation *found = nullptr;
      if (isa<NoneOp>(constant)) {
        for (Operation &op : *block)
          if (isa<NoneOp>(op)) {
            found = &op;
            break;
          }
      } else if (!name.empty()) {
        found = namesOf(block).lookup(name);
      }
      if (found && found->getName() == constant->getName() && found->isBeforeInBlock(point))
        return found;
    }
    return nullptr;
  }

  void add(Operation *op) {
    StringRef name = constantName(op);
    if (!name.empty() && tables.count(op->getBlock()))
      tables[op->getBlock()].try_emplace(name, op);
  }

private:
  llvm::StringMap<Operation *> &namesOf(Block *block) {
    auto [it, inserted] = tables.try_emplace(block);
    if (inserted)
      for (Operation &op : *block)
        if (isCopyableConstant(&op) && !constantName(&op).empty())
          it->second.try_emplace(constantName(&op), &op);
    return it->second;
  }
  llvm::DenseMap<Block *, llvm::StringMap<Operation *>> tables;
};

} // namespace

void mlir::norm::restoreOriginalSpellings(RewriterBase &rewriter, Operation *root) {
  SmallVector<Operation *> norms;
  root->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (!isa<NormDialect>(op->getDialect()))
      return WalkResult::advance();
    if (hasCurrentOriginalSpelling(op))
      norms.push_back(op);
    return WalkResult::skip();
  });
  ConstantScope scope;
  for (Operation *norm : norms) {
    Block &body = norm->getRegion(0).front();
    for (auto [arg, operand] : llvm::zip(body.getArguments(), norm->getOperands()))
      rewriter.replaceAllUsesWith(arg, operand);
    auto yield = cast<YieldOp>(body.getTerminator());
    SmallVector<Value> results(yield.getResults());
    for (Operation &op : llvm::make_early_inc_range(body.without_terminator())) {
      if (isCopyableConstant(&op))
        if (Operation *existing = scope.lookup(norm, &op)) {
          rewriter.replaceOp(&op, existing->getResults());
          continue;
        }
      rewriter.moveOpBefore(&op, norm);
      scope.add(&op);
    }
    // The kept nodes are typed as imported; the norm's result type is the
    // one its readers (maybe a graph output) rely on.
    for (auto [value, type] : llvm::zip(results, norm->getResultTypes()))
      if (value.getType() != type)
        value.setType(type);
    rewriter.replaceOp(norm, results);
  }
}

void mlir::norm::eraseOrphanedSpellingConstants(RewriterBase &rewriter, Operation *root) {
  SmallVector<InitializerOp> marked;
  root->walk([&](InitializerOp init) {
    if (init->hasAttr(kSpellingConstantAttr))
      marked.push_back(init);
  });
  for (InitializerOp init : marked) {
    if (init->use_empty())
      rewriter.eraseOp(init);
    else
      init->removeAttr(kSpellingConstantAttr);
  }
}
