//===- GraphOrder.cpp - topological order of ONNX graphs ------------------===//
#include "GraphOrder.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <queue>
#include <vector>

using namespace mlir::onnxir;

namespace {

/// The subgraphs held by `node`'s attributes.
std::vector<const onnx::GraphProto *> subgraphsOf(const onnx::NodeProto &node) {
  std::vector<const onnx::GraphProto *> graphs;
  for (const auto &attr : node.attribute()) {
    if (attr.has_g())
      graphs.push_back(&attr.g());
    for (const auto &g : attr.graphs())
      graphs.push_back(&g);
  }
  return graphs;
}

/// Adds to `names` the values `graph` reads from enclosing scopes: those its
/// nodes (and their subgraphs) read but it does not define.
void collectOuterReads(const onnx::GraphProto &graph, llvm::StringSet<> &names) {
  llvm::StringSet<> defined;
  for (const auto &input : graph.input())
    defined.insert(input.name());
  for (const auto &init : graph.initializer())
    defined.insert(init.name());
  for (const auto &node : graph.node())
    for (const auto &output : node.output())
      defined.insert(output);
  llvm::StringSet<> reads;
  for (const auto &node : graph.node()) {
    for (const auto &input : node.input())
      reads.insert(input);
    for (const onnx::GraphProto *sub : subgraphsOf(node))
      collectOuterReads(*sub, reads);
  }
  for (const auto &entry : reads)
    if (!entry.getKey().empty() && !defined.contains(entry.getKey()))
      names.insert(entry.getKey());
}

} // namespace

std::optional<CycleNode> mlir::onnxir::sortNodesTopologically(onnx::GraphProto &graph) {
  for (auto &node : *graph.mutable_node())
    for (auto &attr : *node.mutable_attribute()) {
      if (attr.has_g())
        if (auto cycle = sortNodesTopologically(*attr.mutable_g()))
          return cycle;
      for (auto &g : *attr.mutable_graphs())
        if (auto cycle = sortNodesTopologically(g))
          return cycle;
    }

  int n = graph.node_size();
  llvm::StringMap<int> producer;
  for (int i = 0; i < n; ++i)
    for (const auto &output : graph.node(i).output())
      if (!output.empty())
        producer.try_emplace(output, i);
  // deps[i]: the nodes i reads from; readers[j]: the nodes reading j.
  std::vector<std::vector<int>> deps(n), readers(n);
  for (int i = 0; i < n; ++i) {
    const onnx::NodeProto &node = graph.node(i);
    llvm::StringSet<> inputs;
    for (const auto &input : node.input())
      inputs.insert(input);
    for (const onnx::GraphProto *sub : subgraphsOf(node))
      collectOuterReads(*sub, inputs);
    for (const auto &entry : inputs) {
      auto it = producer.find(entry.getKey());
      if (it == producer.end() || it->second == i)
        continue;
      deps[i].push_back(it->second);
      readers[it->second].push_back(i);
    }
  }
  std::vector<int> pending(n);
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (!(pending[i] = deps[i].size()))
      ready.push(i);
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int reader : readers[i])
      if (--pending[reader] == 0)
        ready.push(reader);
  }
  if (int(order.size()) < n) {
    // Every unplaced node waits on another unplaced one; following those
    // waits from any of them must come back to a node already visited,
    // which is on a cycle.
    std::vector<bool> visited(n);
    int i = 0;
    while (pending[i] == 0)
      ++i;
    while (!visited[i]) {
      visited[i] = true;
      for (int dep : deps[i])
        if (pending[dep] != 0) {
          i = dep;
          break;
        }
    }
    return CycleNode{&graph, i};
  }
  bool sorted = true;
  for (int i = 0; i < n; ++i)
    sorted &= order[i] == i;
  if (sorted)
    return std::nullopt;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  nodes.Swap(graph.mutable_node());
  for (int i : order)
    graph.add_node()->Swap(&nodes[i]);
  return std::nullopt;
}
