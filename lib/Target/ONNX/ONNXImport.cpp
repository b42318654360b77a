//===- ONNXImport.cpp - ONNX model -> MLIR --------------------------------===//
//
// Builds a lossless image of an ONNX model in the `onnx` dialect. Weight
// bytes are not copied: raw_data strings are released from the parsed
// protobuf into `dense_resource` blobs, and external data is mapped from its
// file. Everything the exporter needs but no pass reads (producer, metadata,
// model-local functions, ...) rides along as the serialized "model shell".
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Target/ONNX/ONNXImport.h"

#include "GraphOrder.h"
#include "ONNXTextWriter.h"
#include "ShapeRecovery.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXTypes.h"

#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/ScopedHashTable.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/stubs/logging.h>
#include <onnx/defs/parser.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::onnxir;

namespace {

/// An external-data file, mapped read-only by the WeightStore.
struct MappedFile {
  ArrayRef<char> bytes;
};

class Importer {
public:
  Importer(MLIRContext *context, StringRef path, const ImportOptions &options)
      : context(context), builder(context), path(path), options(options),
        fileLoc(FileLineColLoc::get(context, path, 0, 0)) {}

  OwningOpRef<ModuleOp> importModel(onnx::ModelProto &model);

private:
  Location nodeLoc(const onnx::NodeProto &node) {
    if (!node.name().empty())
      return NameLoc::get(StringAttr::get(context, node.name()), fileLoc);
    // An unnamed node stays unnamed (the exporter writes a NameLoc back as
    // the node name), but diagnostics must still say which node they are
    // about: they name it by its first output (see kNodeOutputLocAttr).
    if (node.output_size() == 0 || node.output(0).empty())
      return fileLoc;
    return FusedLoc::get(
        context, {fileLoc},
        DictionaryAttr::get(context, {NamedAttribute(
                                         StringAttr::get(context, kNodeOutputLocAttr),
                                         StringAttr::get(context, node.output(0)))}));
  }
  InFlightDiagnostic error(const onnx::NodeProto &node) {
    return emitError(nodeLoc(node));
  }

  LogicalResult checkOpsets(const onnx::ModelProto &model);
  void collectTypes(const onnx::GraphProto &graph);
  Type typeOf(StringRef name) {
    auto it = valueTypes.find(name);
    return it == valueTypes.end() ? OpaqueValueType::get(context, "") : it->second;
  }
  /// The type of a value; with `diagnose` false, an unsupported one fails
  /// silently (collectTypes meets every value again where it is defined).
  FailureOr<Type> convertValueInfo(const onnx::ValueInfoProto &info,
                                   ArrayAttr *dimParams, Location loc,
                                   bool diagnose = true);
  /// The checks of the ONNX checker that keep passes from meeting a node
  /// they cannot read: the op's schema at the model's opset (input and
  /// output counts, attributes), and an op used below the opset it needs.
  LogicalResult checkSchema(const onnx::NodeProto &node);
  /// Before ONNX's shape inference, which crashes on some invalid models
  /// (a malformed Conv, an initializer whose data does not fit its shape):
  /// every node's schema and every tensor's size, in all subgraphs.
  LogicalResult checkBeforeInference(const onnx::GraphProto &graph);
  LogicalResult checkTensorSize(const onnx::TensorProto &tensor, Location loc);

  FailureOr<ElementsAttr> convertTensor(onnx::TensorProto &tensor, Location loc);
  /// The one place that resolves and maps an external-data file.
  FailureOr<std::shared_ptr<MappedFile>>
  mapExternalData(StringRef location, const onnx::TensorProto &tensor,
                  Location loc);
  FailureOr<Attribute> convertAttribute(onnx::AttributeProto &attr,
                                        OperationState &state, Location loc,
                                        const onnx::NodeProto &node);

  /// Imports the nodes and initializers of `graph` into the current block.
  LogicalResult importGraphBody(onnx::GraphProto &graph, Block *block,
                                bool isSubgraph);
  LogicalResult importNode(onnx::NodeProto &node, Block *block);
  Value lookup(StringRef name) { return symbols.lookup(name); }
  Value noneValue(Block *block);

  MLIRContext *context;
  OpBuilder builder;
  std::string path;
  const ImportOptions &options;
  Location fileLoc;
  llvm::ScopedHashTable<StringRef, Value> symbols;
  llvm::StringMap<Type> valueTypes;
  llvm::DenseMap<Block *, Value> noneValues;
  llvm::StringMap<std::shared_ptr<MappedFile>> mappedFiles;
  bool usesExternalData = false;
  int64_t defaultOpset = 0;
};

} // namespace

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

FailureOr<Type> Importer::convertValueInfo(const onnx::ValueInfoProto &info,
                                           ArrayAttr *dimParams, Location loc,
                                           bool diagnose) {
  if (!info.has_type())
    return Type(OpaqueValueType::get(context, ""));
  const onnx::TypeProto &type = info.type();
  if (!type.has_tensor_type())
    return Type(OpaqueValueType::get(context, type.SerializeAsString()));
  const auto &tensor = type.tensor_type();
  Type elementType = getElementType(context, tensor.elem_type());
  if (!elementType) {
    if (tensor.elem_type() == 0)
      return Type(OpaqueValueType::get(context, type.SerializeAsString()));
    if (diagnose)
      emitError(loc) << "value '" << info.name()
                     << "' has unsupported element type " << tensor.elem_type();
    return failure();
  }
  if (!tensor.has_shape())
    return Type(UnrankedTensorType::get(elementType));
  SmallVector<int64_t> shape;
  SmallVector<Attribute> params;
  bool anyParam = false;
  int64_t bound = 1;
  for (const auto &dim : tensor.shape().dim()) {
    shape.push_back(dim.has_dim_value() && dim.dim_value() >= 0
                        ? dim.dim_value()
                        : ShapedType::kDynamic);
    params.push_back(StringAttr::get(context, dim.dim_param()));
    anyParam |= !dim.dim_param().empty();
    // Passes multiply static dimensions: their product must fit.
    if (!ShapedType::isDynamic(shape.back()) &&
        llvm::MulOverflow(bound, std::max<int64_t>(shape.back(), 1), bound)) {
      if (diagnose)
        emitError(loc) << "value '" << info.name()
                       << "' has a shape with more elements than norm-opt can address";
      return failure();
    }
  }
  if (dimParams && anyParam)
    *dimParams = ArrayAttr::get(context, params);
  return Type(RankedTensorType::get(shape, elementType));
}

void Importer::collectTypes(const onnx::GraphProto &graph) {
  auto record = [&](const onnx::ValueInfoProto &info) {
    FailureOr<Type> type = convertValueInfo(info, nullptr, fileLoc, /*diagnose=*/false);
    if (succeeded(type) && !isa<OpaqueValueType>(*type))
      valueTypes[info.name()] = *type;
  };
  for (const auto &info : graph.value_info())
    record(info);
  for (const auto &info : graph.output())
    record(info);
  for (const auto &info : graph.input())
    record(info);
  for (const auto &node : graph.node())
    for (const auto &attr : node.attribute()) {
      if (attr.has_g())
        collectTypes(attr.g());
      for (const auto &g : attr.graphs())
        collectTypes(g);
    }
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

/// The number of elements of `shape` and their size in bytes, or a message
/// saying why there is none: a negative dimension, or a count that overflows
/// (checked before anything is allocated for the tensor). Zero dimensions
/// still count as one in the overflow check, so that no partial product a
/// pass may form overflows either.
static FailureOr<std::pair<int64_t, uint64_t>>
checkedTensorSize(ArrayRef<int64_t> shape, size_t elementBytes,
                  std::string &message) {
  int64_t elements = 1, bound = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      message = "has a negative dimension " + std::to_string(dim);
      return failure();
    }
    if (llvm::MulOverflow(bound, std::max<int64_t>(dim, 1), bound)) {
      message = "has more elements than norm-opt can address";
      return failure();
    }
    elements *= dim;
  }
  int64_t bytes;
  if (llvm::MulOverflow(elements, int64_t(elementBytes), bytes)) {
    message = "has more bytes than norm-opt can address";
    return failure();
  }
  return std::make_pair(elements, uint64_t(bytes));
}

/// A decimal count of an external_data entry (offset, length).
static std::optional<uint64_t> parseByteCount(StringRef text) {
  uint64_t value;
  if (text.empty() || !llvm::isDigit(text.front()) ||
      text.getAsInteger(10, value))
    return std::nullopt;
  return value;
}

FailureOr<std::shared_ptr<MappedFile>>
Importer::mapExternalData(StringRef location, const onnx::TensorProto &tensor,
                          Location loc) {
  auto fail = [&](const Twine &why) {
    emitError(loc) << "tensor '" << tensor.name() << "': external data '"
                   << location << "' " << why;
    return failure();
  };
  // Only relative paths that stay in the model's folder: no absolute path,
  // no `..` component.
  if (location.empty() || llvm::sys::path::is_absolute(location))
    return fail("is not a relative path inside the model's folder");
  for (StringRef component : llvm::make_range(llvm::sys::path::begin(location),
                                              llvm::sys::path::end(location)))
    if (component == "..")
      return fail("is not a relative path inside the model's folder");

  SmallString<256> folder(llvm::sys::path::parent_path(path));
  if (folder.empty())
    folder = ".";
  SmallString<256> realFolder;
  if (auto ec = llvm::sys::fs::real_path(folder, realFolder))
    return fail("cannot be read: the model's folder: " + ec.message());
  SmallString<256> dataPath(folder);
  llvm::sys::path::append(dataPath, location);
  std::shared_ptr<MappedFile> &mapped = mappedFiles[dataPath];
  if (mapped)
    return mapped;

  // The file itself may not be a symlink (O_NOFOLLOW), and whatever folders
  // lead to it, its real path must lie in the model's real folder; a FIFO
  // must not block the open (O_NONBLOCK), and only a regular file is read.
  int fd = ::open(dataPath.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fail(errno == ELOOP ? std::string("is a symbolic link, which norm-opt "
                                             "does not follow")
                               : std::string("cannot be read: ") + std::strerror(errno));
  llvm::scope_exit closeFd([&] { ::close(fd); });
  struct stat status;
  if (::fstat(fd, &status) != 0)
    return fail(std::string("cannot be read: ") + std::strerror(errno));
  if (!S_ISREG(status.st_mode))
    return fail("is not a regular file");
  // The path of what was opened, not of what the name means now.
  SmallString<256> opened;
  if (llvm::sys::fs::real_path("/proc/self/fd/" + std::to_string(fd), opened) &&
      llvm::sys::fs::real_path(dataPath, opened))
    return fail("cannot be resolved");
  StringRef openedRef = opened;
  if (!openedRef.starts_with(realFolder) ||
      openedRef.size() <= realFolder.size() ||
      (realFolder != "/" && openedRef[realFolder.size()] != '/'))
    return fail("resolves to '" + opened + "', outside the model's folder '" +
                realFolder + "'");
  // Mapped by the WeightStore, sized by fstat.
  std::string error;
  FailureOr<ArrayRef<char>> bytes = WeightStore::get(context).mapInputFile(
      fd, uint64_t(status.st_size), dataPath, error);
  if (failed(bytes))
    return fail("cannot be read: " + error);
  mapped = std::make_shared<MappedFile>();
  mapped->bytes = *bytes;
  return mapped;
}

FailureOr<ElementsAttr> Importer::convertTensor(onnx::TensorProto &tensor,
                                                Location loc) {
  Type elementType = getElementType(context, tensor.data_type());
  if (!elementType) {
    emitError(loc) << "tensor '" << tensor.name()
                   << "' has unsupported data type " << tensor.data_type();
    return failure();
  }
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  bool isString = tensor.data_type() == onnx::TensorProto::STRING;
  size_t elementBytes = isString ? 0 : getElementByteWidth(elementType);
  std::string sizeError;
  auto size = checkedTensorSize(shape, elementBytes, sizeError);
  if (failed(size)) {
    emitError(loc) << "tensor '" << tensor.name() << "' " << sizeError;
    return failure();
  }
  auto [numElements, expectedBytes] = *size;
  auto type = RankedTensorType::get(shape, elementType);
  std::string blobName = tensor.name().empty() ? "tensor" : tensor.name();

  if (isString) {
    if (int64_t(tensor.string_data_size()) != numElements) {
      emitError(loc) << "tensor '" << tensor.name() << "' holds "
                     << tensor.string_data_size()
                     << " strings but its shape needs " << numElements;
      return failure();
    }
    SmallVector<StringRef> strings(tensor.string_data().begin(),
                                   tensor.string_data().end());
    return cast<ElementsAttr>(DenseElementsAttr::get(type, strings));
  }

  // External data: alias the mapped file.
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    usesExternalData = true;
    std::string location;
    uint64_t offset = 0, length = expectedBytes;
    for (const auto &entry : tensor.external_data()) {
      if (entry.key() != "offset" && entry.key() != "length") {
        if (entry.key() == "location")
          location = entry.value();
        continue;
      }
      std::optional<uint64_t> value = parseByteCount(entry.value());
      if (!value) {
        emitError(loc) << "tensor '" << tensor.name() << "' has an invalid external data "
                       << entry.key() << " '" << entry.value() << "'";
        return failure();
      }
      (entry.key() == "offset" ? offset : length) = *value;
    }
    if (length != expectedBytes) {
      emitError(loc) << "tensor '" << tensor.name() << "' has external length "
                     << length << " but its shape needs " << expectedBytes
                     << " bytes";
      return failure();
    }
    FailureOr<std::shared_ptr<MappedFile>> mapped =
        mapExternalData(location, tensor, loc);
    if (failed(mapped))
      return failure();
    uint64_t fileSize = (*mapped)->bytes.size();
    // Written so that nothing can overflow: offset <= size first.
    if (offset > fileSize || expectedBytes > fileSize - offset) {
      emitError(loc) << "tensor '" << tensor.name() << "' reads bytes " << offset
                     << " to " << offset << "+" << expectedBytes << " of '"
                     << location << "', which has " << fileSize;
      return failure();
    }
    return WeightStore::get(context).createMappedElements(
        type, blobName, (*mapped)->bytes.slice(offset, expectedBytes));
  }

  // raw_data: move the bytes into the blob without a copy when large.
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != expectedBytes) {
      emitError(loc) << "tensor '" << tensor.name() << "' has "
                     << tensor.raw_data().size()
                     << " bytes of data but its shape needs " << expectedBytes;
      return failure();
    }
    if (expectedBytes >= options.resourceThresholdBytes) {
      auto *owned = new std::string(std::move(*tensor.mutable_raw_data()));
      tensor.clear_raw_data();
      AsmResourceBlob blob(
          ArrayRef<char>(owned->data(), owned->size()), alignof(std::max_align_t),
          [owned](void *, size_t, size_t) { delete owned; },
          /*dataIsMutable=*/false);
      return cast<ElementsAttr>(
          DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
    }
    return cast<ElementsAttr>(
        denseFromRawBytes(type, ArrayRef<char>(tensor.raw_data().data(),
                                               tensor.raw_data().size())));
  }

  // Typed fields: the count is checked before the bytes are allocated, so a
  // shape cannot claim more memory than the file holds values.
  std::vector<char> bytes;
  auto fill = [&](const auto &field, auto convert) -> bool {
    if (int64_t(field.size()) != numElements)
      return false;
    bytes.resize(expectedBytes);
    for (int64_t i = 0; i < numElements; ++i)
      convert(field.Get(i), bytes.data() + i * elementBytes);
    return true;
  };
  auto store = [&](auto value, char *dst) { std::memcpy(dst, &value, sizeof(value)); };
  bool ok = false;
  switch (tensor.data_type()) {
  case onnx::TensorProto::FLOAT:
    ok = fill(tensor.float_data(), [&](float v, char *d) { store(v, d); });
    break;
  case onnx::TensorProto::DOUBLE:
    ok = fill(tensor.double_data(), [&](double v, char *d) { store(v, d); });
    break;
  case onnx::TensorProto::INT64:
    ok = fill(tensor.int64_data(), [&](int64_t v, char *d) { store(v, d); });
    break;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    ok = fill(tensor.uint64_data(), [&](uint64_t v, char *d) {
      std::memcpy(d, &v, elementBytes);
    });
    break;
  case onnx::TensorProto::COMPLEX64:
  case onnx::TensorProto::COMPLEX128:
    // Two values per element; rare enough to ask for raw_data.
    break;
  default:
    // int32_data holds every narrower integer, bool, and the 16-bit floats
    // as their bit patterns.
    ok = fill(tensor.int32_data(), [&](int32_t v, char *d) {
      std::memcpy(d, &v, elementBytes);
    });
    break;
  }
  if (!ok) {
    emitError(loc) << "tensor '" << tensor.name()
                   << "' holds a different number of values than its shape ["
                   << llvm::make_range(shape.begin(), shape.end()) << "] needs";
    return failure();
  }
  return cast<ElementsAttr>(denseFromRawBytes(type, bytes));
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

FailureOr<Attribute> Importer::convertAttribute(onnx::AttributeProto &attr,
                                                OperationState &state,
                                                Location loc,
                                                const onnx::NodeProto &node) {
  using AP = onnx::AttributeProto;
  if (!attr.ref_attr_name().empty())
    return Attribute(
        AttributeProtoAttr::get(context, attr.SerializeAsString()));
  switch (attr.type()) {
  case AP::INT:
    return Attribute(builder.getI64IntegerAttr(attr.i()));
  case AP::FLOAT:
    return Attribute(builder.getF32FloatAttr(attr.f()));
  case AP::STRING:
    return Attribute(builder.getStringAttr(attr.s()));
  case AP::INTS:
    return Attribute(builder.getDenseI64ArrayAttr(
        SmallVector<int64_t>(attr.ints().begin(), attr.ints().end())));
  case AP::FLOATS:
    return Attribute(builder.getDenseF32ArrayAttr(
        SmallVector<float>(attr.floats().begin(), attr.floats().end())));
  case AP::STRINGS: {
    SmallVector<Attribute> strings;
    for (const auto &s : attr.strings())
      strings.push_back(builder.getStringAttr(s));
    return Attribute(builder.getArrayAttr(strings));
  }
  case AP::TENSOR: {
    FailureOr<ElementsAttr> tensor = convertTensor(*attr.mutable_t(), loc);
    if (failed(tensor))
      return failure();
    return Attribute(*tensor);
  }
  case AP::TENSORS: {
    SmallVector<Attribute> tensors;
    for (auto &t : *attr.mutable_tensors()) {
      FailureOr<ElementsAttr> tensor = convertTensor(t, loc);
      if (failed(tensor))
        return failure();
      tensors.push_back(*tensor);
    }
    return Attribute(builder.getArrayAttr(tensors));
  }
  case AP::GRAPH: {
    unsigned index = state.regions.size();
    Region *region = state.addRegion();
    Block *block = new Block();
    region->push_back(block);
    if (failed(importGraphBody(*attr.mutable_g(), block, /*isSubgraph=*/true)))
      return failure();
    return Attribute(SubgraphAttr::get(context, index));
  }
  default:
    // GRAPHS, sparse tensors and type protos are rare; keep them verbatim.
    if (attr.type() == AP::GRAPHS) {
      error(node) << "attribute '" << attr.name()
                  << "' holds a list of graphs, which norm-opt does not support";
      return failure();
    }
    return Attribute(
        AttributeProtoAttr::get(context, attr.SerializeAsString()));
  }
}

//===----------------------------------------------------------------------===//
// Graphs and nodes
//===----------------------------------------------------------------------===//

Value Importer::noneValue(Block *block) {
  Value &none = noneValues[block];
  if (!none) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(block);
    none = NoneOp::create(builder, fileLoc, builder.getNoneType()).getResult();
  }
  return none;
}

/// The typed op that stands for a default-domain node, or "" for the
/// generic `onnx.node`.
static StringRef typedOpName(StringRef domain, StringRef opType) {
  if (!domain.empty() && domain != "ai.onnx")
    return "";
  static const llvm::StringMap<StringRef> typed = [] {
    llvm::StringMap<StringRef> map;
#define TYPED(NAME) map[#NAME] = "onnx." #NAME;
    TYPED(Add) TYPED(Sub) TYPED(Mul) TYPED(Div) TYPED(Pow) TYPED(MatMul)
    TYPED(Sqrt) TYPED(Reciprocal) TYPED(Identity) TYPED(Cast)
    TYPED(ReduceMean) TYPED(Gemm) TYPED(Gather) TYPED(Transpose)
    TYPED(Reshape) TYPED(Flatten) TYPED(Constant) TYPED(Conv)
    TYPED(ConvTranspose) TYPED(Shape) TYPED(Size) TYPED(Concat) TYPED(Expand)
#undef TYPED
    return map;
  }();
  auto it = typed.find(opType);
  return it == typed.end() ? StringRef() : it->second;
}

LogicalResult Importer::checkSchema(const onnx::NodeProto &node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return success();
  const onnx::OpSchema *schema =
      onnx::OpSchemaRegistry::Schema(node.op_type(), int(defaultOpset), "");
  if (!schema) {
    // Unknown to ONNX 1.12 at any opset: a newer op, handled by name.
    if (!onnx::OpSchemaRegistry::Schema(node.op_type(), ""))
      return success();
    if (defaultOpset == 0)
      return error(node) << node.op_type()
                         << " is in the default domain, which the model does not import";
    int64_t first = defaultOpset + 1;
    while (!onnx::OpSchemaRegistry::Schema(node.op_type(), int(first), ""))
      ++first;
    return error(node) << node.op_type() << " is not defined in opset "
                       << defaultOpset << " (it needs opset " << first
                       << " or later)";
  }
  // Above the opsets ONNX 1.12 knows, its schema may be an older version
  // (ReduceMean-18 takes its axes as an input): nothing to check against.
  static const int knownOpset =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;
  if (defaultOpset > knownOpset)
    return success();
  try {
    schema->Verify(node);
  } catch (const std::exception &e) {
    StringRef message = StringRef(e.what()).split('\n').first.trim();
    return error(node) << "invalid " << node.op_type() << " (opset "
                       << defaultOpset << "): " << message;
  }
  return success();
}

LogicalResult Importer::checkTensorSize(const onnx::TensorProto &tensor,
                                        Location loc) {
  Type elementType = getElementType(context, tensor.data_type());
  if (!elementType || tensor.data_type() == onnx::TensorProto::STRING)
    return success(); // convertTensor reports these.
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  std::string sizeError;
  auto size = checkedTensorSize(shape, getElementByteWidth(elementType), sizeError);
  if (failed(size))
    return emitError(loc) << "tensor '" << tensor.name() << "' " << sizeError;
  if (tensor.has_raw_data() && tensor.raw_data().size() != size->second)
    return emitError(loc) << "tensor '" << tensor.name() << "' has "
                          << tensor.raw_data().size()
                          << " bytes of data but its shape needs " << size->second;
  return success();
}

LogicalResult Importer::checkBeforeInference(const onnx::GraphProto &graph) {
  for (const onnx::TensorProto &init : graph.initializer())
    if (failed(checkTensorSize(init, fileLoc)))
      return failure();
  for (const onnx::NodeProto &node : graph.node()) {
    if (failed(checkSchema(node)))
      return failure();
    for (const auto &attr : node.attribute()) {
      if (attr.has_t() && failed(checkTensorSize(attr.t(), nodeLoc(node))))
        return failure();
      for (const auto &t : attr.tensors())
        if (failed(checkTensorSize(t, nodeLoc(node))))
          return failure();
      if (attr.has_g() && failed(checkBeforeInference(attr.g())))
        return failure();
      for (const auto &g : attr.graphs())
        if (failed(checkBeforeInference(g)))
          return failure();
    }
  }
  return success();
}

LogicalResult Importer::importNode(onnx::NodeProto &node, Block *block) {
  Location loc = nodeLoc(node);
  // Single static assignment, as the checker requires: a node may not
  // redefine a name of its graph or of a graph around it.
  for (const std::string &output : node.output())
    if (!output.empty() &&
        (lookup(output) ||
         llvm::count(node.output(), output) > 1))
      return error(node) << "output '" << output
                         << "' names a value that is already defined (ONNX "
                            "values are assigned once)";
  StringRef typedName = typedOpName(node.domain(), node.op_type());
  OperationState state(loc, typedName.empty() ? NodeOp::getOperationName()
                                              : typedName);
  if (typedName.empty()) {
    state.addAttribute("op_type", builder.getStringAttr(node.op_type()));
    if (!node.domain().empty())
      state.addAttribute("domain", builder.getStringAttr(node.domain()));
  }
  for (const std::string &input : node.input()) {
    if (input.empty()) {
      state.operands.push_back(noneValue(block));
      continue;
    }
    Value value = lookup(input);
    if (!value)
      return error(node) << "input '" << input
                         << "' is not produced by any node, initializer or "
                            "graph input before it";
    state.operands.push_back(value);
  }
  SmallVector<Attribute> outputNames;
  for (const std::string &output : node.output()) {
    state.types.push_back(typeOf(output));
    outputNames.push_back(builder.getStringAttr(output));
  }
  for (onnx::AttributeProto &attr : *node.mutable_attribute()) {
    if (attr.name().empty())
      return error(node) << "has an attribute without a name";
    if (attr.name() == "op_type" || attr.name() == "domain" ||
        StringRef(attr.name()).starts_with("onnx."))
      return error(node) << "attribute name '" << attr.name()
                         << "' clashes with a name norm-opt reserves";
    FailureOr<Attribute> value = convertAttribute(attr, state, loc, node);
    if (failed(value))
      return failure();
    state.addAttribute(attr.name(), *value);
  }
  state.addAttribute(kOutputNamesAttr, builder.getArrayAttr(outputNames));
  if (!node.doc_string().empty())
    state.addAttribute(kDocStringAttr, builder.getStringAttr(node.doc_string()));

  builder.setInsertionPointToEnd(block);
  Operation *op = builder.create(state);
  for (auto [name, result] : llvm::zip(node.output(), op->getResults()))
    if (!name.empty())
      symbols.insert(StringRef(name), result);
  return success();
}

LogicalResult Importer::importGraphBody(onnx::GraphProto &graph, Block *block,
                                        bool isSubgraph) {
  llvm::ScopedHashTableScope<StringRef, Value> scope(symbols);
  // Subgraph inputs are block arguments; the top graph's are added by the
  // caller as function arguments.
  SmallVector<Attribute> inputNames;
  llvm::StringSet<> inputSet;
  if (isSubgraph) {
    for (const auto &input : graph.input()) {
      if (!inputSet.insert(input.name()).second)
        return emitError(fileLoc) << "subgraph '" << graph.name() << "' has two inputs named '"
                                  << input.name() << "'";
      FailureOr<Type> type = convertValueInfo(input, nullptr, fileLoc);
      if (failed(type))
        return failure();
      BlockArgument arg = block->addArgument(*type, fileLoc);
      symbols.insert(StringRef(input.name()), arg);
      inputNames.push_back(builder.getStringAttr(input.name()));
    }
  }

  builder.setInsertionPointToEnd(block);
  llvm::StringSet<> initializerSet;
  for (onnx::TensorProto &init : *graph.mutable_initializer()) {
    if (!initializerSet.insert(init.name()).second)
      return emitError(fileLoc) << "graph '" << graph.name()
                                << "' has two initializers named '" << init.name() << "'";
    Location loc = NameLoc::get(builder.getStringAttr(init.name()), fileLoc);
    // Errors go to the file: the message names the tensor, which is no node.
    FailureOr<ElementsAttr> value = convertTensor(init, fileLoc);
    if (failed(value))
      return failure();
    bool isInput = llvm::any_of(graph.input(), [&](const auto &input) {
      return input.name() == init.name();
    });
    builder.setInsertionPointToEnd(block);
    auto op = InitializerOp::create(builder, loc, value->getType(), init.name(),
                                            *value, isInput);
    symbols.insert(StringRef(init.name()), op.getResult());
  }
  if (graph.sparse_initializer_size() > 0)
    return emitError(fileLoc)
           << "graph '" << graph.name()
           << "' has sparse initializers, which norm-opt does not support";

  // Nodes are in topological order (sortNodesTopologically); importNode
  // reports an input that nothing defines.
  for (onnx::NodeProto &node : *graph.mutable_node())
    if (failed(importNode(node, block)))
      return failure();

  SmallVector<Value> results;
  SmallVector<Attribute> outputNames;
  for (const auto &output : graph.output()) {
    Value value = lookup(output.name());
    if (!value)
      return emitError(fileLoc) << (isSubgraph ? "subgraph '" : "graph '")
                                << graph.name() << "' output '" << output.name()
                                << "' is not produced by any node, initializer "
                                   "or graph input";
    if (!isSubgraph) {
      auto func = cast<func::FuncOp>(block->getParentOp());
      Type declared = func.getResultTypes()[results.size()];
      if (value.getType() != declared)
        return emitError(fileLoc)
               << "graph '" << graph.name() << "' output '" << output.name()
               << "' is declared as " << declared << " but its value is "
               << value.getType();
    }
    results.push_back(value);
    outputNames.push_back(builder.getStringAttr(output.name()));
  }
  builder.setInsertionPointToEnd(block);
  if (isSubgraph)
    YieldOp::create(builder, fileLoc, results, graph.name(),
                    builder.getArrayAttr(inputNames),
                    builder.getArrayAttr(outputNames));
  else
    func::ReturnOp::create(builder, fileLoc, results);
  return success();
}

/// Whether every input of a Shape node in `graph` (and its subgraphs) has a
/// tensor type with a shape: the precondition of ONNX 1.12's data
/// propagation, which dereferences the type without checking it.
static bool everyShapeInputIsShaped(const onnx::GraphProto &graph) {
  llvm::StringSet<> shaped;
  auto note = [&](const onnx::ValueInfoProto &info) {
    if (info.type().has_tensor_type() && info.type().tensor_type().has_shape())
      shaped.insert(info.name());
  };
  for (const auto &info : graph.input())
    note(info);
  for (const auto &info : graph.output())
    note(info);
  for (const auto &info : graph.value_info())
    note(info);
  for (const auto &init : graph.initializer())
    shaped.insert(init.name());
  for (const auto &node : graph.node()) {
    if (node.op_type() == "Shape" && node.input_size() > 0 &&
        !shaped.contains(node.input(0)))
      return false;
    for (const auto &attr : node.attribute()) {
      if (attr.has_g() && !everyShapeInputIsShaped(attr.g()))
        return false;
      for (const auto &g : attr.graphs())
        if (!everyShapeInputIsShaped(g))
          return false;
    }
  }
  return true;
}

LogicalResult Importer::checkOpsets(const onnx::ModelProto &model) {
  for (const auto &opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      defaultOpset = opset.version();
      if (opset.version() < kMinOpset || opset.version() > kMaxOpset)
        return emitError(fileLoc)
               << "unsupported opset " << opset.version()
               << " of the default domain (norm-opt supports " << kMinOpset
               << " to " << kMaxOpset << ")";
    }
  }
  if (model.ir_version() <= 0 || model.ir_version() > kMaxIRVersion)
    return emitError(fileLoc) << "unsupported IR version " << model.ir_version()
                              << " (norm-opt supports 1 to " << kMaxIRVersion
                              << ")";
  return success();
}

OwningOpRef<ModuleOp> Importer::importModel(onnx::ModelProto &model) {
  if (!model.has_graph())
    return (emitError(fileLoc) << "the model has no graph", nullptr);
  if (failed(checkOpsets(model)))
    return nullptr;

  // Nodes in topological order, before shape inference walks them in order.
  if (std::optional<CycleNode> cycle = sortNodesTopologically(*model.mutable_graph()))
    return (error(cycle->graph->node(cycle->index))
                << "is on a cycle: one of its inputs depends on its own outputs",
            nullptr);

  // Shape inference gives intermediate values their types; errors there are
  // not fatal (unknown ops, e.g. contrib or newer-opset ones, stay untyped).
  // Data propagation resolves shapes computed by Shape -> Gather -> Concat ->
  // Reshape chains (PyTorch exports without constant folding), which passes
  // need to know the hidden size. ONNX 1.12's propagation crashes on a Shape
  // of a value it could not type (the output of an opset-23 op it does not
  // know), so it runs only after a plain pass has typed every Shape input.
  auto tryInferShapes = [&](bool propagateData) {
    try {
      onnx::ShapeInferenceOptions inferenceOptions(/*check_type=*/false,
                                                   /*error_mode=*/0, propagateData);
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                         inferenceOptions);
      return true;
    } catch (...) {
      return false;
    }
  };
  // ONNX 1.12 types each node and goes on past one it cannot type, but it
  // throws (and types nothing) when an inferred type contradicts a declared
  // one, e.g. an exporter's wrong graph output shape. Then it runs again with
  // the declared output types set aside (and, if that is not enough, the
  // declared value_info too), and the declared output types are put back:
  // they stay the graph's signature.
  auto inferShapes = [&](bool propagateData) {
    if (tryInferShapes(propagateData))
      return;
    onnx::GraphProto &graph = *model.mutable_graph();
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> declaredInfo,
        declaredOutputs = graph.output();
    for (onnx::ValueInfoProto &output : *graph.mutable_output())
      output.clear_type();
    bool inferred = tryInferShapes(propagateData);
    if (!inferred) {
      declaredInfo.Swap(graph.mutable_value_info());
      inferred = tryInferShapes(propagateData);
      if (!inferred)
        graph.mutable_value_info()->Swap(&declaredInfo);
    }
    graph.mutable_output()->Swap(&declaredOutputs);
    llvm::StringSet<> typed;
    for (const onnx::ValueInfoProto &info : graph.value_info())
      typed.insert(info.name());
    for (onnx::ValueInfoProto &info : declaredInfo)
      if (!typed.contains(info.name()))
        *graph.add_value_info() = std::move(info);
  };
  if (failed(checkBeforeInference(model.graph())))
    return nullptr;
  inferShapes(/*propagateData=*/false);
  // Shapes old opsets compute with Shape -> Slice -> Concat -> Reshape, which
  // inference then carries on from.
  if (recoverComputedReshapes(*model.mutable_graph()))
    inferShapes(/*propagateData=*/false);
  if (everyShapeInputIsShaped(model.graph()))
    inferShapes(/*propagateData=*/true);

  onnx::GraphProto &graph = *model.mutable_graph();
  collectTypes(graph);

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  // The model shell: every model field except the graph, kept verbatim.
  {
    // Copy the model with its graph set aside: copying the graph too would
    // duplicate every weight for a moment (a second model's worth of RSS).
    onnx::GraphProto *graphProto = model.release_graph();
    onnx::ModelProto shell(model);
    model.set_allocated_graph(graphProto);
    (*module)->setAttr("onnx.model_shell",
                       builder.getStringAttr(shell.SerializeAsString()));
  }
  SmallVector<NamedAttribute> opsets;
  for (const auto &opset : model.opset_import())
    opsets.push_back(builder.getNamedAttr(
        opset.domain().empty() ? "ai.onnx" : opset.domain(),
        builder.getI64IntegerAttr(opset.version())));
  (*module)->setAttr(kOpsetImportAttr, builder.getDictionaryAttr(opsets));
  (*module)->setAttr(kIRVersionAttr, builder.getI64IntegerAttr(model.ir_version()));
  if (!model.producer_name().empty())
    (*module)->setAttr("onnx.producer_name",
                       builder.getStringAttr(model.producer_name()));

  // Graph inputs (those that are not initializers) become arguments.
  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<std::string> argNames;
  llvm::StringSet<> inputSet;
  for (const auto &input : graph.input()) {
    if (!inputSet.insert(input.name()).second)
      return (emitError(fileLoc) << "graph '" << graph.name()
                                 << "' has two inputs named '" << input.name() << "'",
              nullptr);
    if (initializerNames.contains(input.name()))
      continue;
    ArrayAttr dimParams;
    FailureOr<Type> type = convertValueInfo(input, &dimParams, fileLoc);
    if (failed(type))
      return nullptr;
    argTypes.push_back(*type);
    SmallVector<NamedAttribute> attrs{
        builder.getNamedAttr(kValueNameAttr, builder.getStringAttr(input.name()))};
    if (dimParams)
      attrs.push_back(builder.getNamedAttr(kDimParamsAttr, dimParams));
    argAttrs.push_back(builder.getDictionaryAttr(attrs));
    argNames.push_back(input.name());
  }
  SmallVector<Type> resultTypes;
  SmallVector<DictionaryAttr> resultAttrs;
  for (const auto &output : graph.output()) {
    ArrayAttr dimParams;
    FailureOr<Type> type = convertValueInfo(output, &dimParams, fileLoc);
    if (failed(type))
      return nullptr;
    resultTypes.push_back(*type);
    SmallVector<NamedAttribute> attrs{
        builder.getNamedAttr(kValueNameAttr, builder.getStringAttr(output.name()))};
    if (dimParams)
      attrs.push_back(builder.getNamedAttr(kDimParamsAttr, dimParams));
    resultAttrs.push_back(builder.getDictionaryAttr(attrs));
  }

  std::string funcName = graph.name().empty() ? "main_graph" : graph.name();
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, 
      fileLoc, funcName, builder.getFunctionType(argTypes, resultTypes));
  func.setAllArgAttrs(argAttrs);
  func.setAllResultAttrs(resultAttrs);
  if (!graph.doc_string().empty())
    func->setAttr(kDocStringAttr, builder.getStringAttr(graph.doc_string()));
  SmallVector<Attribute> valueInfo;
  for (const auto &info : graph.value_info()) {
    ArrayAttr dimParams;
    (void)convertValueInfo(info, &dimParams, fileLoc, /*diagnose=*/false);
    SmallVector<Attribute> entry{builder.getStringAttr(info.name())};
    if (dimParams)
      entry.append(dimParams.begin(), dimParams.end());
    valueInfo.push_back(builder.getArrayAttr(entry));
  }
  func->setAttr("onnx.value_info", builder.getArrayAttr(valueInfo));
  // Initializers listed as inputs become no arguments: the exporter puts
  // them back at their positions.
  if (llvm::any_of(graph.input(), [&](const auto &input) {
        return initializerNames.contains(input.name());
      })) {
    SmallVector<Attribute> order;
    for (const auto &input : graph.input())
      order.push_back(builder.getStringAttr(input.name()));
    func->setAttr(kInputOrderAttr, builder.getArrayAttr(order));
  }

  Block *entry = func.addEntryBlock();
  llvm::ScopedHashTableScope<StringRef, Value> scope(symbols);
  for (auto [name, arg] : llvm::zip(argNames, entry->getArguments()))
    symbols.insert(StringRef(name), arg);
  if (failed(importGraphBody(graph, entry, /*isSubgraph=*/false)))
    return nullptr;

  if (usesExternalData)
    (*module)->setAttr("onnx.external_data", builder.getUnitAttr());
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Protobuf nesting levels a model may use: a subgraph costs three (node,
/// attribute, graph). protobuf's default of 100 stops at 32 nested Ifs, as
/// onnxruntime does; norm-opt reads deeper models, up to a depth its own
/// recursion (import, passes, export) handles in a default 8 MB stack.
constexpr int kProtobufNestingLimit = 400;

namespace {
enum class ProtoParse { Ok, Invalid, TooDeep };
} // namespace

/// Parses a binary model from `makeStream()`; on failure, parses again with
/// a far higher nesting limit (protobuf's own recursion is shallow) to tell
/// a model that nests too deep from a corrupt one.
static ProtoParse parseBinaryModel(
    llvm::function_ref<std::unique_ptr<google::protobuf::io::ZeroCopyInputStream>()>
        makeStream,
    onnx::ModelProto &model) {
  // protobuf logs some parse errors to stderr on its own; norm-opt's message
  // is the one line.
  static const bool silenced = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)silenced;
  auto parse = [&](int limit) {
    std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> input = makeStream();
    if (!input)
      return false;
    google::protobuf::io::CodedInputStream coded(input.get());
    coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
    coded.SetRecursionLimit(limit);
    model.Clear();
    return model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
  };
  if (parse(kProtobufNestingLimit))
    return model.has_graph() && model.ir_version() != 0 ? ProtoParse::Ok
                                                        : ProtoParse::Invalid;
  bool deep = parse(kProtobufNestingLimit * 10);
  model.Clear();
  return deep ? ProtoParse::TooDeep : ProtoParse::Invalid;
}

static void reportParseFailure(ProtoParse result, StringRef path, MLIRContext *context) {
  InFlightDiagnostic diag = emitError(FileLineColLoc::get(context, path, 0, 0));
  if (result == ProtoParse::TooDeep)
    diag << "the model nests subgraphs deeper than norm-opt reads ("
         << kProtobufNestingLimit << " protobuf levels, about "
         << kProtobufNestingLimit / 3 << " nested subgraphs)";
  else
    diag << "not a valid ONNX model (the protobuf is truncated, corrupt or of "
            "another kind)";
}

static bool isTextPath(StringRef path) { return path.ends_with(".onnxtxt"); }

static OwningOpRef<ModuleOp> importParsed(onnx::ModelProto &model, StringRef path,
                                          MLIRContext *context,
                                          const ImportOptions &options) {
  context->loadDialect<ONNXDialect, func::FuncDialect>();
  Importer importer(context, path, options);
  OwningOpRef<ModuleOp> module = importer.importModel(model);
  // The typed ops' verifiers (operand counts, ...) hold for every module
  // the importer returns; the checks above should make this unreachable.
  if (module && failed(verify(*module)))
    return nullptr;
  return module;
}

static OwningOpRef<ModuleOp> importText(StringRef text, StringRef path,
                                        MLIRContext *context,
                                        const ImportOptions &options) {
  onnx::ModelProto model;
  std::string message = parseONNXText(text.str(), model);
  if (!message.empty()) {
    emitError(FileLineColLoc::get(context, path, 0, 0))
        << "not a valid ONNX text model: " << message;
    return nullptr;
  }
  return importParsed(model, path, context, options);
}

OwningOpRef<ModuleOp> mlir::onnxir::importONNXFile(StringRef path,
                                                   MLIRContext *context,
                                                   const ImportOptions &options) {
  Location loc = FileLineColLoc::get(context, path, 0, 0);
  if (isTextPath(path)) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
    if (!buffer) {
      emitError(loc) << "cannot read: " << buffer.getError().message();
      return nullptr;
    }
    return importText((*buffer)->getBuffer(), path, context, options);
  }
  int fd = ::open(path.str().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    emitError(loc) << "cannot read: " << std::strerror(errno);
    return nullptr;
  }
  llvm::scope_exit closeFd([&] { ::close(fd); });
  onnx::ModelProto model;
  bool first = true;
  ProtoParse parsed = parseBinaryModel(
      [&]() -> std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> {
        // The second parse rereads the file, where it can be rewound.
        if (!first && ::lseek(fd, 0, SEEK_SET) != 0)
          return nullptr;
        first = false;
        return std::make_unique<google::protobuf::io::FileInputStream>(fd);
      },
      model);
  if (parsed != ProtoParse::Ok) {
    reportParseFailure(parsed, path, context);
    return nullptr;
  }
  closeFd.release();
  ::close(fd);
  return importParsed(model, path, context, options);
}

OwningOpRef<ModuleOp> mlir::onnxir::importONNXBytes(StringRef bytes, StringRef path,
                                                    MLIRContext *context,
                                                    const ImportOptions &options) {
  if (isTextPath(path))
    return importText(bytes, path, context, options);
  onnx::ModelProto model;
  ProtoParse parsed = parseBinaryModel(
      [&] {
        return std::make_unique<google::protobuf::io::ArrayInputStream>(
            bytes.data(), int(std::min<size_t>(bytes.size(), INT_MAX)));
      },
      model);
  if (parsed != ProtoParse::Ok) {
    reportParseFailure(parsed, path, context);
    return nullptr;
  }
  return importParsed(model, path, context, options);
}

void mlir::onnxir::registerONNXImportDialects(DialectRegistry &registry) {
  registry.insert<ONNXDialect, func::FuncDialect>();
}
