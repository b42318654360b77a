//===- Readers.h - how a value's readers see a per-channel map --*- C++ -*-===//
//
// The one classification of a value's readers that every rewrite uses before
// it moves, drops or defers an affine map (or a per-row factor) along the
// value's last axis (docs/Rationale.md, "Readers"):
//
//  - shape-only readers (`Shape`, `Size`) read the value's shape, which no
//    such rewrite changes: they never stand in the way;
//  - look-through readers (`Identity`; a `Cast` to the value's own element
//    type; a `Transpose` that keeps the last axis last; a `Reshape` whose
//    result has the same last dim) hand every row of the value on unchanged
//    as a row of their result, so a map along the last axis commutes with
//    them, and their result's readers are classified in turn;
//  - every other reader (a linear layer, a graph output, anything else) is a
//    leaf, for the pass to accept or refuse.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_NORM_TRANSFORMS_READERS_H
#define NORM_OPT_DIALECT_NORM_TRANSFORMS_READERS_H

#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

#include <optional>

namespace mlir::norm {

/// Whether `use` reads only the shape of its value.
bool isShapeOnlyReader(OpOperand &use);

/// Whether `use`'s owner hands each row (along the last axis, of size
/// `hidden` when known) of the value on unchanged as a row of its result.
bool isLookThroughReader(OpOperand &use, std::optional<int64_t> hidden);

/// The readers of a value, through look-through readers.
struct ReaderTree {
  /// Shape-only reads (of the value or of a looked-through result).
  SmallVector<OpOperand *> shapeOnly;
  /// The look-through ops, producers before readers.
  SmallVector<Operation *> lookedThrough;
  /// Every other read.
  SmallVector<OpOperand *> leaves;
};

/// Classifies the readers of `value` (last dim `hidden`, from its type when
/// not given) recursively.
ReaderTree collectReaders(Value value, std::optional<int64_t> hidden = std::nullopt);

} // namespace mlir::norm

#endif
