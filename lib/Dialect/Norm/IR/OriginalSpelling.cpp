//===- OriginalSpelling.cpp - the ONNX nodes a norm op replaced -----------===//
#include "norm-opt/Dialect/Norm/IR/OriginalSpelling.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

/// On the yield: the norm's properties when its nodes were kept.
static constexpr StringLiteral kRecordedAttr = "norm.recorded";
/// On the yield: where operands' nodes stood among the kept nodes.
static constexpr StringLiteral kInterleavedAttr = "norm.interleaved";
/// On the yield: the results the kept nodes do not produce.
static constexpr StringLiteral kAbsentAttr = "norm.absent";
/// On an initializer that kept nodes read (through a copy).
static constexpr StringLiteral kSpellingConstantAttr = "norm.spelling_constant";

static bool isCopyableConstant(Operation *op) {
  return isa_and_nonnull<InitializerOp, ConstantOp, NoneOp>(op) && op->getNumOperands() == 0;
}

/// The name a copied node is found by again: an initializer's, a node's only
/// output name; "" for onnx.none.
static StringRef constantName(Operation *op) {
  if (auto init = dyn_cast<InitializerOp>(op))
    return init.getName();
  if (auto names = op->getAttrOfType<ArrayAttr>(kOutputNamesAttr))
    if (names.size() == 1)
      return cast<StringAttr>(names[0]).getValue();
  return "";
}

/// Collects into `copied` the ops outside the kept nodes that must be copied
/// into the region for `value`: a constant, or a named single-result node
/// (the no-op `Cast` Hugging Face exports read by the norm and the residual)
/// computed from the norm's operands and such values. False when `value`
/// is none of these.
static bool collectCopies(Value value, Operation *norm,
                          const llvm::SetVector<Operation *> &kept,
                          llvm::SetVector<Operation *> &copied, unsigned depth = 0) {
  Operation *def = value.getDefiningOp();
  if (kept.contains(def) || llvm::is_contained(norm->getOperands(), value) ||
      copied.contains(def))
    return true;
  if (isCopyableConstant(def)) {
    copied.insert(def);
    return true;
  }
  if (!def || depth > 4 || def->getNumRegions() || def->getNumResults() != 1 ||
      def->getBlock() != norm->getBlock() || constantName(def).empty() ||
      !isa<ONNXDialect>(def->getDialect()))
    return false;
  for (Value operand : def->getOperands())
    if (!collectCopies(operand, norm, kept, copied, depth + 1))
      return false;
  copied.insert(def);
  return true;
}

/// What the kept nodes compute: the op and its properties.
static Attribute recordOf(Operation *norm) {
  Builder b(norm->getContext());
  return b.getArrayAttr({b.getStringAttr(norm->getName().getStringRef()),
                         norm->getPropertiesAsAttribute()});
}

LogicalResult mlir::norm::keepOriginalSpelling(RewriterBase &rewriter, Operation *norm,
                                               ArrayRef<Operation *> nodes,
                                               ValueRange replaced) {
  if (norm->getNumRegions() != 1 || !norm->getRegion(0).empty() ||
      replaced.size() != norm->getNumResults() || !replaced.front())
    return failure();
  // A result the nodes did not produce (a skip norm node without its sum
  // output) yields a stand-in of its type; it must stay unused to restore.
  SmallVector<Value> yielded(replaced);
  SmallVector<int64_t> absent;
  for (auto [i, value] : llvm::enumerate(yielded))
    if (!value) {
      if (replaced.front().getType() != norm->getResult(i).getType())
        return failure();
      value = replaced.front();
      absent.push_back(i);
    }
  llvm::SetVector<Operation *> kept(nodes.begin(), nodes.end());
  SmallVector<Operation *> ordered(nodes.begin(), nodes.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  llvm::SetVector<Operation *> copied;
  for (Operation *op : ordered) {
    if (op->getNumRegions() || op->getBlock() != norm->getBlock())
      return failure();
    for (Value operand : op->getOperands())
      if (!collectCopies(operand, norm, kept, copied))
        return failure();
  }

  // Where the operands' own nodes stood among the kept ones (an exporter's
  // weight Constant between the chain's Div and Mul): pairs of operand index
  // and the number of kept nodes before it.
  SmallVector<int64_t> interleaved;
  for (auto [i, operand] : llvm::enumerate(norm->getOperands())) {
    Operation *def = operand.getDefiningOp();
    if (!def || def->getBlock() != norm->getBlock() || ordered.empty() ||
        def->isBeforeInBlock(ordered.front()))
      continue;
    int64_t before = llvm::count_if(ordered, [&](Operation *op) { return op->isBeforeInBlock(def); });
    interleaved.append({int64_t(i), before});
  }
  Block *body = rewriter.createBlock(&norm->getRegion(0));
  IRMapping mapping;
  for (Value operand : norm->getOperands())
    body->addArgument(operand.getType(), norm->getLoc());
  for (auto [operand, arg] : llvm::reverse(llvm::zip(norm->getOperands(), body->getArguments())))
    mapping.map(operand, arg); // The first of equal operands wins.

  rewriter.setInsertionPointToStart(body);
  SmallVector<Operation *> copies(copied.begin(), copied.end());
  llvm::sort(copies, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  for (Operation *def : copies) {
    rewriter.clone(*def, mapping);
    // The original initializer, so that it is erased if only rewritten
    // norms read it (eraseOrphanedSpellingConstants).
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
  auto yield = YieldOp::create(rewriter, norm->getLoc(), yielded, "",
                               rewriter.getStrArrayAttr({}), rewriter.getStrArrayAttr({}));
  yield->setAttr(kRecordedAttr, recordOf(norm));
  if (!interleaved.empty())
    yield->setAttr(kInterleavedAttr, rewriter.getDenseI64ArrayAttr(interleaved));
  if (!absent.empty())
    yield->setAttr(kAbsentAttr, rewriter.getDenseI64ArrayAttr(absent));
  return success();
}

bool mlir::norm::isInOriginalSpelling(Operation *op) {
  for (Operation *parent = op->getParentOp(); parent; parent = parent->getParentOp())
    if (isa<NormDialect>(parent->getDialect()))
      return true;
  return false;
}

/// Whether the kept nodes' types `a` fit the op's `b`: the same element
/// types and compatible shapes, where a kept value shape inference left
/// untyped (an op it does not know) fits any type.
static bool compatible(TypeRange a, TypeRange b) {
  return a.size() == b.size() &&
         llvm::all_of(llvm::zip(a, b), [](auto pair) {
           auto [x, y] = pair;
           if (!isa<TensorType>(x))
             return true;
           return getElementTypeOrSelf(x) == getElementTypeOrSelf(y) &&
                  succeeded(verifyCompatibleShape(x, y));
         });
}

bool mlir::norm::hasCurrentOriginalSpelling(Operation *norm) {
  if (norm->getNumRegions() != 1 || norm->getRegion(0).empty())
    return false;
  Block &body = norm->getRegion(0).front();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return false;
  if (auto absent = yield->getAttrOfType<DenseI64ArrayAttr>(kAbsentAttr))
    for (int64_t i : absent.asArrayRef())
      if (!norm->getResult(i).use_empty())
        return false;
  return yield->getAttr(kRecordedAttr) == recordOf(norm) &&
         compatible(body.getArgumentTypes(), norm->getOperandTypes()) &&
         compatible(yield->getOperandTypes(), norm->getResultTypes());
}

namespace {

/// Finds, by name, the constants in scope of a point in a graph: those of its
/// block before it and of the enclosing graphs' blocks before the ops that
/// hold them.
class ConstantScope {
public:
  /// Numbers the ops under `root` once: restoring moves nodes in front of
  /// each norm, and asking the block for its order after every move would
  /// renumber it once per norm (quadratic in a graph of many norms).
  explicit ConstantScope(Operation *root) {
    root->walk([&](Block *block) {
      int64_t position = 0;
      for (Operation &op : *block)
        originalOrder[&op] = position++;
    });
  }

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
      if (found && found->getName() == constant->getName() && isBefore(found, point))
        return found;
    }
    return nullptr;
  }

  void add(Operation *op) {
    restoredOps.insert(op);
    StringRef name = constantName(op);
    if (!name.empty() && tables.count(op->getBlock()))
      tables[op->getBlock()].try_emplace(name, op);
  }

private:
  /// Whether `a` is before `b` in their block. Ops that were there at the
  /// start keep their relative order; an op this scope restored went in
  /// front of a norm visited earlier, so it is before any op of the original
  /// graph at or after that norm, which `b` (the norm being restored, or an
  /// op that holds it) is.
  bool isBefore(Operation *a, Operation *b) {
    auto first = originalOrder.find(a), second = originalOrder.find(b);
    if (first != originalOrder.end() && second != originalOrder.end())
      return first->second < second->second;
    if (restoredOps.contains(a) && second != originalOrder.end())
      return true;
    return a->isBeforeInBlock(b);
  }

  llvm::StringMap<Operation *> &namesOf(Block *block) {
    auto [it, inserted] = tables.try_emplace(block);
    if (inserted)
      for (Operation &op : *block)
        if (!constantName(&op).empty())
          it->second.try_emplace(constantName(&op), &op);
    return it->second;
  }
  llvm::DenseMap<Block *, llvm::StringMap<Operation *>> tables;
  llvm::DenseMap<Operation *, int64_t> originalOrder;
  llvm::DenseSet<Operation *> restoredOps;
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
  ConstantScope scope(root);
  for (Operation *norm : norms) {
    Block &body = norm->getRegion(0).front();
    for (auto [arg, operand] : llvm::zip(body.getArguments(), norm->getOperands()))
      rewriter.replaceAllUsesWith(arg, operand);
    auto yield = cast<YieldOp>(body.getTerminator());
    SmallVector<Value> results(yield.getResults());
    SmallVector<Operation *> restored;
    for (Operation &op : llvm::make_early_inc_range(body.without_terminator())) {
      // A copy: the node of that name is still in scope (kept nodes are
      // never in scope: they were moved out of the graph).
      if (isCopyableConstant(&op) || !constantName(&op).empty())
        if (Operation *existing = scope.lookup(norm, &op)) {
          rewriter.replaceOp(&op, existing->getResults());
          continue;
        }
      rewriter.moveOpBefore(&op, norm);
      scope.add(&op);
      restored.push_back(&op);
    }
    // An operand's node goes back between the kept nodes where it stood,
    // when it is a node of this graph that only they read.
    if (auto interleaved = yield->getAttrOfType<DenseI64ArrayAttr>(kInterleavedAttr))
      for (size_t i = 0; i + 1 < interleaved.size(); i += 2) {
        int64_t index = interleaved[i], position = interleaved[i + 1];
        Operation *def = norm->getOperand(index).getDefiningOp();
        if (!def || def->getBlock() != norm->getBlock() || def->getNumOperands() ||
            position >= int64_t(restored.size()) || !def->isBeforeInBlock(restored[position]))
          continue;
        Operation *at = restored[position];
        if (llvm::all_of(def->getUsers(), [&](Operation *user) {
              return user == norm || at == user || at->isBeforeInBlock(user);
            }))
          rewriter.moveOpBefore(def, at);
      }
    // The kept nodes are typed as imported; the norm's result type is the
    // one its readers (maybe a graph output) rely on.
    if (auto absent = yield->getAttrOfType<DenseI64ArrayAttr>(kAbsentAttr))
      for (int64_t i : absent.asArrayRef())
        results[i] = Value();
    for (auto [value, type] : llvm::zip(results, norm->getResultTypes()))
      if (value && value.getType() != type)
        value.setType(type);
    for (auto [result, value] : llvm::zip(norm->getResults(), results))
      if (value)
        rewriter.replaceAllUsesWith(result, value);
    rewriter.eraseOp(norm);
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
