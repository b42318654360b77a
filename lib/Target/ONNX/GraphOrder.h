//===- GraphOrder.h - topological order of ONNX graphs ----------*- C++ -*-===//
//
// The importer builds SSA values node by node, so it needs every graph's
// nodes in topological order. ONNX requires that order, but writers do not
// always keep it (the common float16 converter appends the input Casts after
// their readers) and onnxruntime sorts on load, so norm-opt does too.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_LIB_TARGET_ONNX_GRAPHORDER_H
#define NORM_OPT_LIB_TARGET_ONNX_GRAPHORDER_H

#include <onnx/onnx_pb.h>

#include <optional>

namespace mlir::onnxir {

/// A node that lies on a dependency cycle: the graph it is in (the top graph
/// or a subgraph) and its index there.
struct CycleNode {
  const onnx::GraphProto *graph;
  int index;
};

/// Reorders the nodes of `graph` and of every subgraph topologically. The
/// order is stable: among the nodes whose inputs are all available, the one
/// that came first in the file goes first, so a graph already in order is
/// left as it is. A subgraph's reads of outer values count as inputs of the
/// node that holds it. Inputs that no node of the graph produces (graph
/// inputs, initializers, outer values, and names nobody defines, which the
/// importer reports) impose no order. Returns a node on a cycle, if any, with
/// the graph left unchanged from that graph on.
std::optional<CycleNode> sortNodesTopologically(onnx::GraphProto &graph);

} // namespace mlir::onnxir

#endif
