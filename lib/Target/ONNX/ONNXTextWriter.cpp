//===- ONNXTextWriter.cpp - ONNX text format that reads back --------------===//
#include "ONNXTextWriter.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/raw_ostream.h"

#include <onnx/defs/parser.h>
#include <onnx/defs/printer.h>

#include <cmath>
#include <cstring>
#include <sstream>

using namespace mlir::onnxir;
using llvm::Expected;

namespace {

llvm::Error textError(const llvm::Twine &why) {
  return llvm::createStringError(std::make_error_code(std::errc::invalid_argument),
                                 "the ONNX text format cannot hold this model: " + why);
}

/// The text format's name and byte width of the element types its parser
/// reads (ONNX 1.12: no 16-bit or 8-bit floats, no complex numbers).
std::optional<std::pair<const char *, size_t>> textType(int32_t dataType) {
  using T = onnx::TensorProto;
  switch (dataType) {
  case T::FLOAT: return std::make_pair("float", 4);
  case T::DOUBLE: return std::make_pair("double", 8);
  case T::INT8: return std::make_pair("int8", 1);
  case T::INT16: return std::make_pair("int16", 2);
  case T::INT32: return std::make_pair("int32", 4);
  case T::INT64: return std::make_pair("int64", 8);
  case T::UINT8: return std::make_pair("uint8", 1);
  case T::UINT16: return std::make_pair("uint16", 2);
  case T::UINT32: return std::make_pair("uint32", 4);
  case T::UINT64: return std::make_pair("uint64", 8);
  case T::BOOL: return std::make_pair("bool", 1);
  case T::STRING: return std::make_pair("string", 0);
  default: return std::nullopt;
  }
}

/// A tensor's values as little-endian bytes whichever field holds them
/// (strings length-prefixed), to compare tensors stored differently.
std::string tensorValues(const onnx::TensorProto &t) {
  using T = onnx::TensorProto;
  std::string out = std::to_string(t.data_type()) + ":";
  for (int64_t d : t.dims())
    out += std::to_string(d) + ",";
  out += ":";
  if (t.data_type() == T::STRING) {
    for (const std::string &s : t.string_data())
      out += std::to_string(s.size()) + ":" + s;
    return out;
  }
  if (t.has_raw_data())
    return out + t.raw_data();
  auto append = [&](const void *p, size_t n) { out.append(static_cast<const char *>(p), n); };
  auto width = textType(t.data_type());
  size_t w = width ? width->second : 4;
  switch (t.data_type()) {
  case T::FLOAT: for (float v : t.float_data()) append(&v, 4); break;
  case T::DOUBLE: for (double v : t.double_data()) append(&v, 8); break;
  case T::INT64: for (int64_t v : t.int64_data()) append(&v, 8); break;
  case T::UINT32:
  case T::UINT64: for (uint64_t v : t.uint64_data()) append(&v, w); break;
  default: for (int32_t v : t.int32_data()) append(&v, w); break;
  }
  return out;
}

/// Prints the values of `t` (raw_data, as the exporter writes them) as a
/// text-format literal list.
llvm::Error printValues(const onnx::TensorProto &t, llvm::raw_ostream &os) {
  using T = onnx::TensorProto;
  auto type = textType(t.data_type());
  if (t.data_type() == T::STRING) {
    for (int i = 0; i < t.string_data_size(); ++i) {
      const std::string &s = t.string_data(i);
      for (char c : s)
        if (c == '"' || c == '\\' || !llvm::isPrint(c))
          return textError("string tensor '" + t.name() + "' holds a character the parser cannot read");
      os << (i ? ", " : "") << '"' << s << '"';
    }
    return llvm::Error::success();
  }
  if (!t.has_raw_data())
    return textError("tensor '" + t.name() + "' has no raw data");
  const std::string &raw = t.raw_data();
  size_t width = type->second;
  for (size_t i = 0; i * width < raw.size(); ++i) {
    const char *p = raw.data() + i * width;
    if (i)
      os << ", ";
    auto printFloat = [&](double v, int digits) -> llvm::Error {
      if (!std::isfinite(v) || std::fpclassify(v) == FP_SUBNORMAL ||
          (digits == 9 && v != 0 && std::fabs(v) < 1.17549435e-38))
        return textError("tensor '" + t.name() +
                         "' holds NaN, an infinity or a subnormal number");
      char buffer[40];
      std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
      os << buffer;
      // A literal without '.' or an exponent would be read as an integer.
      if (!std::strpbrk(buffer, ".eE"))
        os << ".0";
      return llvm::Error::success();
    };
    switch (t.data_type()) {
    case T::FLOAT: {
      float v;
      std::memcpy(&v, p, 4);
      if (llvm::Error e = printFloat(v, 9))
        return e;
      break;
    }
    case T::DOUBLE: {
      double v;
      std::memcpy(&v, p, 8);
      if (llvm::Error e = printFloat(v, 17))
        return e;
      break;
    }
    case T::UINT64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      os << v;
      break;
    }
    case T::UINT32: case T::UINT16: case T::UINT8: case T::BOOL: {
      uint64_t v = 0;
      std::memcpy(&v, p, width);
      os << v;
      break;
    }
    default: {
      // Signed integers: sign-extend from `width` bytes.
      int64_t v = 0;
      std::memcpy(&v, p, width);
      int shift = 64 - 8 * int(width);
      os << ((v << shift) >> shift);
      break;
    }
    }
  }
  return llvm::Error::success();
}

/// Compares what the text must keep: nodes (op, inputs, outputs, attribute
/// values, subgraphs) and initializers. Returns what differs, or "".
std::string compareGraphs(const onnx::GraphProto &a, const onnx::GraphProto &b) {
  if (a.node_size() != b.node_size())
    return "graph '" + a.name() + "' has a different number of nodes";
  if (a.initializer_size() != b.initializer_size())
    return "graph '" + a.name() + "' has a different number of initializers";
  if (a.input_size() != b.input_size() || a.output_size() != b.output_size())
    return "graph '" + a.name() + "' has different inputs or outputs";
  for (int i = 0; i < a.initializer_size(); ++i)
    if (a.initializer(i).name() != b.initializer(i).name() ||
        tensorValues(a.initializer(i)) != tensorValues(b.initializer(i)))
      return "initializer '" + a.initializer(i).name() + "' does not read back the same";
  for (int i = 0; i < a.node_size(); ++i) {
    const onnx::NodeProto &x = a.node(i), &y = b.node(i);
    std::string what = "node " + std::to_string(i) + " (" + x.op_type() + ")";
    if (x.op_type() != y.op_type() || x.domain() != y.domain() ||
        !std::equal(x.input().begin(), x.input().end(), y.input().begin(), y.input().end()) ||
        !std::equal(x.output().begin(), x.output().end(), y.output().begin(), y.output().end()))
      return what + " does not read back the same";
    if (x.attribute_size() != y.attribute_size())
      return what + " has attributes the format drops";
    for (const onnx::AttributeProto &ax : x.attribute()) {
      auto it = std::find_if(y.attribute().begin(), y.attribute().end(),
                             [&](const auto &ay) { return ay.name() == ax.name(); });
      if (it == y.attribute().end())
        return what + " loses attribute '" + ax.name() + "'";
      const onnx::AttributeProto &ay = *it;
      bool same = true;
      switch (ax.type()) {
      case onnx::AttributeProto::FLOAT:
        // Bit for bit (0.0 and -0.0 differ, NaN equals itself).
        same = llvm::bit_cast<uint32_t>(ax.f()) == llvm::bit_cast<uint32_t>(ay.f());
        break;
      case onnx::AttributeProto::FLOATS:
        same = ax.floats_size() == ay.floats_size() &&
               std::equal(ax.floats().begin(), ax.floats().end(), ay.floats().begin(),
                          [](float p, float q) {
                            return llvm::bit_cast<uint32_t>(p) == llvm::bit_cast<uint32_t>(q);
                          });
        break;
      case onnx::AttributeProto::TENSOR:
        same = tensorValues(ax.t()) == tensorValues(ay.t());
        break;
      case onnx::AttributeProto::GRAPH: {
        std::string inner = compareGraphs(ax.g(), ay.g());
        if (!inner.empty())
          return inner;
        break;
      }
      default:
        same = ax.type() == ay.type() || ay.type() == onnx::AttributeProto::UNDEFINED;
        break;
      }
      if (!same)
        return what + " attribute '" + ax.name() + "' does not read back exactly";
    }
  }
  return "";
}

bool hasSubgraphInitializers(const onnx::GraphProto &graph, bool isTop) {
  if (!isTop && graph.initializer_size() > 0)
    return true;
  for (const auto &node : graph.node())
    for (const auto &attr : node.attribute()) {
      if (attr.has_g() && hasSubgraphInitializers(attr.g(), false))
        return true;
      for (const auto &g : attr.graphs())
        if (hasSubgraphInitializers(g, false))
          return true;
    }
  return false;
}

} // namespace

Expected<std::string> mlir::onnxir::printONNXText(const onnx::ModelProto &model) {
  const onnx::GraphProto &graph = model.graph();
  if (hasSubgraphInitializers(graph, /*isTop=*/true))
    return textError("a subgraph has initializers, which the printer drops");
  std::string initializers;
  llvm::raw_string_ostream init(initializers);
  for (int i = 0; i < graph.initializer_size(); ++i) {
    const onnx::TensorProto &t = graph.initializer(i);
    auto type = textType(t.data_type());
    if (!type)
      return textError("initializer '" + t.name() + "' has element type " +
                       std::to_string(t.data_type()) + ", which its parser does not read");
    init << (i ? ",\n  " : "\n  ") << type->first;
    if (t.dims_size() > 0) {
      init << "[";
      for (int d = 0; d < t.dims_size(); ++d)
        init << (d ? "," : "") << t.dims(d);
      init << "]";
    }
    init << " " << t.name() << " = {";
    if (llvm::Error error = printValues(t, init))
      return std::move(error);
    init << "}";
  }

  std::ostringstream ss;
  ss << "<\n  ir_version: " << model.ir_version() << ",\n  opset_import: [";
  for (int i = 0; i < model.opset_import_size(); ++i)
    ss << (i ? ", " : "") << "\"" << model.opset_import(i).domain()
       << "\" : " << model.opset_import(i).version();
  ss << "]";
  if (!model.producer_name().empty())
    ss << ",\n  producer_name: \"" << model.producer_name() << "\"";
  ss << "\n>\n";
  // The printer writes `name (inputs) => (outputs) {`; the initializer list
  // goes between the signature and the body.
  std::ostringstream body;
  body << graph;
  std::string printed = body.str();
  if (!initializers.empty()) {
    size_t arrow = printed.find(") => (");
    size_t brace = arrow == std::string::npos ? arrow : printed.find(") {\n", arrow);
    if (brace == std::string::npos)
      return textError("the printed graph has an unexpected form");
    printed.insert(brace + 1, "\n<" + initializers + "\n>\n");
  }
  ss << printed << "\n";
  std::string text = ss.str();

  // Read it back: the file must hold the same model.
  onnx::ModelProto reread;
  std::string message;
  try {
    auto status = onnx::OnnxParser::Parse(reread, text.c_str());
    if (!status.IsOK())
      message = status.ErrorMessage();
  } catch (const std::exception &e) {
    message = e.what();
  }
  if (!message.empty()) {
    std::replace(message.begin(), message.end(), '\n', ' ');
    return textError("the text does not read back (" + llvm::StringRef(message).trim().str() +
                     "); names must be identifiers");
  }
  std::string difference = compareGraphs(graph, reread.graph());
  if (!difference.empty())
    return textError(difference);
  return text;
}
