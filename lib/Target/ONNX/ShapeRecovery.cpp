//===- ShapeRecovery.cpp - shapes ONNX 1.12's inference leaves open -------===//
#include "ShapeRecovery.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/defs/tensor_proto_util.h>

#include <optional>
#include <vector>

using namespace mlir::onnxir;

namespace {

/// A dim of a computed shape tensor whose value is only known at run time.
constexpr int64_t kUnknown = INT64_MIN;
/// Dims known only at run time but known to be equal carry the same
/// symbol: values from kFirstSymbol down (never valid sizes or Reshape's 0
/// and -1).
constexpr int64_t kFirstSymbol = -1000;
bool isSymbol(int64_t d) { return d <= kFirstSymbol; }

using ShapeValues = std::vector<int64_t>;

std::optional<ShapeValues> int64Values(const onnx::TensorProto &tensor) {
  if (tensor.data_type() != onnx::TensorProto::INT64 || tensor.dims_size() > 1)
    return std::nullopt;
  try {
    return onnx::ParseData<int64_t>(&tensor);
  } catch (const std::exception &) {
    return std::nullopt;
  }
}

class ShapeEvaluator {
public:
  explicit ShapeEvaluator(const onnx::GraphProto &graph) {
    for (const auto &node : graph.node())
      for (const auto &output : node.output())
        producers[output] = &node;
    for (const auto &init : graph.initializer())
      initializers[init.name()] = &init;
    auto note = [&](const onnx::ValueInfoProto &info) {
      if (!info.type().tensor_type().has_shape())
        return;
      ShapeValues dims;
      for (const auto &dim : info.type().tensor_type().shape().dim()) {
        if (dim.has_dim_value()) {
          dims.push_back(dim.dim_value());
          continue;
        }
        // A named dim is the same wherever it appears; an anonymous one is
        // the same only as itself.
        std::string key = dim.has_dim_param()
                              ? "param:" + dim.dim_param()
                              : info.name() + "#" + std::to_string(dims.size());
        auto [it, inserted] = symbols.try_emplace(key, kFirstSymbol - int64_t(symbols.size()));
        dims.push_back(it->second);
      }
      shapes[info.name()] = dims;
    };
    for (const auto &info : graph.input())
      note(info);
    for (const auto &info : graph.value_info())
      note(info);
    for (const auto &init : graph.initializer())
      shapes[init.name()] = ShapeValues(init.dims().begin(), init.dims().end());
  }

  std::optional<ShapeValues> shapeOf(const std::string &name) {
    auto it = shapes.find(name);
    return it == shapes.end() ? std::nullopt : std::optional(it->second);
  }

  /// The values of a 1-D int64 tensor computed from shapes and constants.
  std::optional<ShapeValues> evaluate(const std::string &name, unsigned depth = 0) {
    if (auto it = initializers.find(name); it != initializers.end())
      return int64Values(*it->second);
    auto it = producers.find(name);
    if (it == producers.end() || depth > 8)
      return std::nullopt;
    const onnx::NodeProto &node = *it->second;
    auto attrInts = [&](const char *attrName) -> std::optional<ShapeValues> {
      for (const auto &attr : node.attribute())
        if (attr.name() == attrName)
          return ShapeValues(attr.ints().begin(), attr.ints().end());
      return std::nullopt;
    };
    const std::string &op = node.op_type();
    if (op == "Constant") {
      for (const auto &attr : node.attribute())
        if (attr.name() == "value" && attr.has_t())
          return int64Values(attr.t());
      return std::nullopt;
    }
    if (op == "Shape" && node.input_size() == 1)
      return shapeOf(node.input(0));
    if (op == "Concat") {
      ShapeValues all;
      for (const auto &input : node.input()) {
        std::optional<ShapeValues> part = evaluate(input, depth + 1);
        if (!part)
          return std::nullopt;
        all.insert(all.end(), part->begin(), part->end());
      }
      return all;
    }
    if (op == "Slice" && node.input_size() >= 1) {
      std::optional<ShapeValues> data = evaluate(node.input(0), depth + 1);
      std::optional<ShapeValues> starts = node.input_size() >= 3
                                              ? evaluate(node.input(1), depth + 1)
                                              : attrInts("starts");
      std::optional<ShapeValues> ends = node.input_size() >= 3
                                            ? evaluate(node.input(2), depth + 1)
                                            : attrInts("ends");
      if (!data || !starts || !ends || starts->size() != 1 || ends->size() != 1 ||
          node.input_size() > 4)
        return std::nullopt;
      int64_t n = data->size();
      auto clamp = [&](int64_t v) {
        if (v < 0)
          v += n;
        return std::min(std::max<int64_t>(v, 0), n);
      };
      int64_t begin = clamp((*starts)[0]), end = clamp((*ends)[0]);
      if (begin >= end)
        return ShapeValues();
      return ShapeValues(data->begin() + begin, data->begin() + end);
    }
    if (op == "Gather" && node.input_size() == 2) {
      std::optional<ShapeValues> data = evaluate(node.input(0), depth + 1);
      std::optional<ShapeValues> indices = evaluate(node.input(1), depth + 1);
      if (!data || !indices)
        return std::nullopt;
      ShapeValues picked;
      for (int64_t i : *indices) {
        if (i < 0)
          i += data->size();
        if (i < 0 || i >= int64_t(data->size()))
          return std::nullopt;
        picked.push_back((*data)[i]);
      }
      return picked;
    }
    return std::nullopt;
  }

private:
  llvm::StringMap<const onnx::NodeProto *> producers;
  llvm::StringMap<const onnx::TensorProto *> initializers;
  llvm::StringMap<ShapeValues> shapes;
  llvm::StringMap<int64_t> symbols;
};

} // namespace

bool mlir::onnxir::recoverComputedReshapes(onnx::GraphProto &graph) {
  ShapeEvaluator evaluator(graph);
  std::vector<onnx::ValueInfoProto> recovered;
  for (const auto &node : graph.node()) {
    if (node.op_type() != "Reshape" || node.input_size() != 2 || node.output_size() != 1 ||
        evaluator.shapeOf(node.output(0)))
      continue;
    std::optional<ShapeValues> target = evaluator.evaluate(node.input(1));
    std::optional<ShapeValues> input = evaluator.shapeOf(node.input(0));
    if (!target)
      continue;
    // 0 copies the input's dim (allowzero is 0 before opset 14 and in what
    // old exporters write); -1 is what is left of a static element count.
    ShapeValues dims = *target;
    std::vector<bool> copied(dims.size());
    int64_t inferAt = -1;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] == 0) {
        dims[i] = input && i < input->size() ? (*input)[i] : kUnknown;
        copied[i] = true;
      } else if (dims[i] == -1) {
        inferAt = i;
      }
    }
    if (inferAt >= 0 && input) {
      // The element counts of both sides, with the run-time dims that
      // appear on both (the same symbol) cancelled: what is left must be
      // static.
      std::vector<int64_t> left(input->begin(), input->end()), right;
      for (size_t i = 0; i < dims.size(); ++i)
        if (int64_t(i) != inferAt)
          right.push_back(dims[i]);
      for (int64_t &d : right)
        if (isSymbol(d))
          if (auto it = llvm::find(left, d); it != left.end()) {
            *it = 1;
            d = 1;
          }
      int64_t total = 1, known = 1;
      bool isStatic = true;
      for (int64_t d : left)
        isStatic &= d >= 0, total *= d;
      for (int64_t d : right)
        isStatic &= d >= 0, known *= d;
      dims[inferAt] = isStatic && known > 0 && total % known == 0 ? total / known : kUnknown;
    }
    onnx::ValueInfoProto info;
    info.set_name(node.output(0));
    auto *tensor = info.mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(0);
    auto *shape = tensor->mutable_shape();
    for (int64_t d : dims) {
      auto *dim = shape->add_dim();
      if (d >= 0)
        dim->set_dim_value(d);
    }
    recovered.push_back(std::move(info));
  }
  bool added = false;
  // The element type is the data's, which inference fills in once the
  // shape is there; a value_info needs one, so take it from the input.
  for (onnx::ValueInfoProto &info : recovered) {
    for (const auto &node : graph.node())
      if (node.output_size() == 1 && node.output(0) == info.name())
        for (const auto &known : graph.value_info())
          if (known.name() == node.input(0))
            info.mutable_type()->mutable_tensor_type()->set_elem_type(
                known.type().tensor_type().elem_type());
    if (info.type().tensor_type().elem_type() == 0)
      continue;
    added = true;
    auto existing = llvm::find_if(*graph.mutable_value_info(), [&](const auto &known) {
      return known.name() == info.name();
    });
    if (existing != graph.mutable_value_info()->end())
      *existing = std::move(info);
    else
      *graph.add_value_info() = std::move(info);
  }
  return added;
}
