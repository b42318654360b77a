//===- ONNXTextWriter.cpp - ONNX text format that reads back --------------===//
#include "ONNXTextWriter.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/raw_ostream.h"

#include <onnx/defs/parser.h>
#include <onnx/defs/printer.h>

#include <sstream>

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
/// (strings length-prefixed).
std::string rawValues(const onnx::TensorProto &t) {
  using T = onnx::TensorProto;
  std::string out;
  if (t.data_type() == T::STRING) {
    for (const std::string &s : t.string_data())
      out += std::to_string(s.size()) + ":" + s;
    return out;
  }
  if (t.has_raw_data())
    return t.raw_data();
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

/// Type, shape and values: equal for tensors that hold the same values
/// however they store them.
std::string tensorValues(const onnx::TensorProto &t) {
  std::string out = std::to_string(t.data_type()) + ":";
  for (int64_t d : t.dims())
    out += std::to_string(d) + ",";
  return out + ":" + rawValues(t);
}

/// The shortest decimal that reads back as exactly `v` (as a float when
/// `single`), always with a '.' or an exponent (else the parser reads an
/// integer); fails for what the parser cannot read: NaN, infinities and
/// subnormal numbers (std::stof reports those out of range).
std::optional<std::string> printFloat(double v, bool single) {
  double smallest = single ? 1.17549435e-38 : 2.2250738585072014e-308;
  if (!std::isfinite(v) || (v != 0 && std::fabs(v) < smallest))
    return std::nullopt;
  char buffer[40];
  for (int digits = single ? 6 : 15; digits <= (single ? 9 : 17); ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
    if (single ? std::strtof(buffer, nullptr) == float(v)
               : std::strtod(buffer, nullptr) == v)
      break;
  }
  std::string text = buffer;
  if (text.find_first_of(".eE") == std::string::npos)
    text += ".0";
  return text;
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
  std::string raw = rawValues(t);
  size_t width = type->second;
  for (size_t i = 0; i * width < raw.size(); ++i) {
    const char *p = raw.data() + i * width;
    if (i)
      os << ", ";
    auto printNumber = [&](double v, bool single) -> llvm::Error {
      std::optional<std::string> text = printFloat(v, single);
      if (!text)
        return textError("tensor '" + t.name() +
                         "' holds NaN, an infinity or a subnormal number");
      os << *text;
      return llvm::Error::success();
    };
    switch (t.data_type()) {
    case T::FLOAT:
    case T::DOUBLE: {
      bool single = t.data_type() == T::FLOAT;
      float f;
      double d;
      std::memcpy(single ? static_cast<void *>(&f) : static_cast<void *>(&d), p, width);
      if (llvm::Error e = printNumber(single ? double(f) : d, single))
        return e;
      break;
    }
    case T::UINT64: case T::UINT32: case T::UINT16: case T::UINT8: case T::BOOL: {
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

llvm::Error printGraph(const onnx::GraphProto &graph, llvm::raw_ostream &os,
                       bool isTop);

/// `type[dims] {values}`, or `type {value}` for a scalar.
llvm::Error printTensor(const onnx::TensorProto &t, llvm::raw_ostream &os) {
  auto type = textType(t.data_type());
  if (!type)
    return textError("tensor '" + t.name() + "' has element type " +
                     std::to_string(t.data_type()) + ", which the parser does not read");
  os << type->first;
  if (t.dims_size() > 0) {
    os << "[";
    for (int d = 0; d < t.dims_size(); ++d)
      os << (d ? "," : "") << t.dims(d);
    os << "]";
  }
  return llvm::Error::success();
}

llvm::Error printAttribute(const onnx::AttributeProto &attr, llvm::raw_ostream &os) {
  using AP = onnx::AttributeProto;
  auto floats = [&](auto begin, auto end) -> llvm::Error {
    for (auto it = begin; it != end; ++it) {
      std::optional<std::string> text = printFloat(*it, /*single=*/true);
      if (!text)
        return textError("attribute '" + attr.name() +
                         "' holds NaN, an infinity or a subnormal number");
      os << (it != begin ? ", " : "") << *text;
    }
    return llvm::Error::success();
  };
  switch (attr.type()) {
  case AP::FLOAT: {
    os << attr.name() << " = ";
    float value = attr.f();
    return floats(&value, &value + 1);
  }
  case AP::FLOATS: {
    os << attr.name() << " = [";
    if (llvm::Error e = floats(attr.floats().begin(), attr.floats().end()))
      return e;
    os << "]";
    return llvm::Error::success();
  }
  case AP::TENSOR: {
    os << attr.name() << " = ";
    if (llvm::Error e = printTensor(attr.t(), os))
      return e;
    os << " {";
    if (llvm::Error e = printValues(attr.t(), os))
      return e;
    os << "}";
    return llvm::Error::success();
  }
  case AP::GRAPH:
    os << attr.name() << " = ";
    return printGraph(attr.g(), os, /*isTop=*/false);
  case AP::INT:
  case AP::INTS:
  case AP::STRING:
  case AP::STRINGS: {
    std::ostringstream ss;
    ss << attr;
    os << ss.str();
    return llvm::Error::success();
  }
  default:
    return textError("attribute '" + attr.name() + "' is of a kind the parser does not read");
  }
}

llvm::Error printGraph(const onnx::GraphProto &graph, llvm::raw_ostream &os,
                       bool isTop) {
  if (!isTop && graph.initializer_size() > 0)
    return textError("subgraph '" + graph.name() + "' has initializers");
  std::ostringstream signature;
  signature << graph.input() << " => " << graph.output();
  os << graph.name() << " " << signature.str();
  if (graph.initializer_size() > 0) {
    os << "\n<";
    for (int i = 0; i < graph.initializer_size(); ++i) {
      const onnx::TensorProto &t = graph.initializer(i);
      os << (i ? ",\n  " : "\n  ");
      if (llvm::Error e = printTensor(t, os))
        return e;
      os << " " << t.name() << " = {";
      if (llvm::Error e = printValues(t, os))
        return e;
      os << "}";
    }
    os << "\n>\n";
  } else {
    os << " ";
  }
  os << "{\n";
  for (const onnx::NodeProto &node : graph.node()) {
    for (int i = 0; i < node.output_size(); ++i)
      os << (i ? ", " : "") << node.output(i);
    os << " = ";
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      os << node.domain() << ".";
    os << node.op_type();
    if (node.attribute_size() > 0) {
      os << "<";
      for (int i = 0; i < node.attribute_size(); ++i) {
        os << (i ? ", " : "");
        if (llvm::Error e = printAttribute(node.attribute(i), os))
          return e;
      }
      os << ">";
    }
    os << "(";
    for (int i = 0; i < node.input_size(); ++i)
      os << (i ? ", " : "") << node.input(i);
    os << ")\n";
  }
  os << "}";
  return llvm::Error::success();
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
  std::ostringstream ss;
  ss << "<\n  ir_version: " << model.ir_version() << ",\n  opset_import: [";
  for (int i = 0; i < model.opset_import_size(); ++i)
    ss << (i ? ", " : "") << "\"" << model.opset_import(i).domain()
       << "\" : " << model.opset_import(i).version();
  ss << "]";
  if (!model.producer_name().empty())
    ss << ",\n  producer_name: \"" << model.producer_name() << "\"";
  ss << "\n>\n";
  std::string text = ss.str();
  llvm::raw_string_ostream os(text);
  if (llvm::Error e = printGraph(graph, os, /*isTop=*/true))
    return std::move(e);
  os << "\n";

  // Read it back: the file must hold the same model.
  onnx::ModelProto reread;
  std::string message = parseONNXText(text, reread);
  if (!message.empty())
    return textError("the text does not read back (" + message + ")");
  std::string difference = compareGraphs(graph, reread.graph());
  if (!difference.empty())
    return textError(difference);
  return text;
}

std::string mlir::onnxir::parseONNXText(const std::string &text, onnx::ModelProto &model) {
  std::string message;
  try {
    auto status = onnx::OnnxParser::Parse(model, text.c_str());
    if (!status.IsOK())
      message = status.ErrorMessage();
  } catch (const std::exception &e) {
    message = std::string("a value is out of range or malformed (") + e.what() + ")";
  } catch (...) {
    message = "the parser failed";
  }
  std::replace(message.begin(), message.end(), '\n', ' ');
  return llvm::StringRef(message).trim().str();
}
