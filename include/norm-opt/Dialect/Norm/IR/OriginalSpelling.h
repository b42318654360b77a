//===- OriginalSpelling.h - the ONNX nodes a norm op replaced ---*- C++ -*-===//
//
// A recognized norm keeps the nodes it replaced (the decomposed chain, or the
// one normalization node) in its `original` region, so that a norm no pass
// changed is written back exactly as it was read: same nodes, attributes,
// names, constants and precision, hence bit-identical outputs. Only a norm a
// pass changed is written in convert-norm-to-onnx's canonical spelling.
//
// The region is isolated from above: its block arguments stand for the norm
// op's operands (so a pass sees the norm's input and weights read once, by
// the norm op, as before), and the constants the nodes read that are not
// operands (epsilon, the exponent 2, axes) are copies of their initializer or
// Constant node, matched back by name when the nodes are restored. Its
// `onnx.yield` yields the values the norm's results replaced and records the
// op's properties (axis, epsilon, unit offset, which weights are present) at
// recognition: the region implements the op while those and the types are
// unchanged, whatever the operand values are (docs/Rationale.md).
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_NORM_IR_ORIGINALSPELLING_H
#define NORM_OPT_DIALECT_NORM_IR_ORIGINALSPELLING_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::norm {

/// Moves `nodes` (in one block, before `norm`) into `norm`'s original region;
/// `replaced` are the values the norm's results replaced, in result order.
/// Fails, changing nothing, when a node has a subgraph, a replaced value is
/// missing, or a node reads a value other than the norm's operands, the other
/// nodes' results and constants (initializers, Constant nodes).
LogicalResult keepOriginalSpelling(RewriterBase &rewriter, Operation *norm,
                                   ArrayRef<Operation *> nodes, ValueRange replaced);

/// Whether `op` is one of the kept nodes of a norm (no pass may touch them).
bool isInOriginalSpelling(Operation *op);

/// Whether `norm` has an original region that still computes it: its
/// properties and the operand and result types are those it was recorded
/// with.
bool hasCurrentOriginalSpelling(Operation *norm);

/// Replaces every norm op under `root` whose original region is current by
/// its original nodes. A copied constant becomes the initializer or Constant
/// node of its name again where that still exists in scope.
void restoreOriginalSpellings(RewriterBase &rewriter, Operation *root);

/// Erases the initializers under `root` that only kept nodes read and that
/// nothing reads any more (the constants of norms a pass rewrote), so that no
/// initializer is left orphaned; an initializer the model itself left unused
/// is never touched.
void eraseOrphanedSpellingConstants(RewriterBase &rewriter, Operation *root);

} // namespace mlir::norm

#endif
