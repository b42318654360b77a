//===- ONNXExport.cpp - MLIR -> ONNX model --------------------------------===//
//
// Writes the `onnx` dialect graph back as a ModelProto. Norm ops are first
// expressed in standard ONNX ops for the model's opset by the
// convert-norm-to-onnx pass. Large weights are streamed from their blobs to
// the file (or to external data) instead of being copied into the protobuf,
// so exporting a model costs no second copy of its weights.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Target/ONNX/ONNXExport.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXTypes.h"

#include "norm-opt/Conversion/Passes.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"
#include "norm-opt/Support/OutputFile.h"

#include "ONNXTextWriter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <fcntl.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::onnxir;

namespace {

/// A top-level initializer whose bytes are written straight from its blob.
struct StreamedTensor {
  int initializerIndex;
  ArrayRef<char> bytes;
};

class Exporter {
public:
  Exporter(ModuleOp module, const ExportOptions &options)
      : module(module), options(options) {}

  LogicalResult buildModel(onnx::ModelProto &model);

  /// Initializers of the main graph whose data is not in the proto yet.
  std::vector<StreamedTensor> streamed;

private:
  LogicalResult exportBlock(Block &block, onnx::GraphProto &graph,
                            bool isTopLevel);
  LogicalResult exportNode(Operation *op, onnx::GraphProto &graph);
  LogicalResult exportAttribute(Operation *op, NamedAttribute attr,
                                onnx::AttributeProto &proto);
  LogicalResult exportTensor(ElementsAttr attr, onnx::TensorProto &tensor,
                             Location loc, bool mayStream, int initIndex);
  void exportType(Type type, ArrayAttr dimParams, onnx::TypeProto &proto);

  /// The ONNX name of `value`, assigned on first use.
  std::string nameOf(Value value);
  std::string uniqueName(StringRef base);
  /// `base`, or `base_N` when a node already has that name (onnxruntime
  /// rejects duplicate node names, which nodes that passes derive from one
  /// unnamed op can have).
  std::string uniqueNodeName(StringRef base);
  void nameResults(Operation *op);

  ModuleOp module;
  const ExportOptions &options;
  llvm::DenseMap<Value, std::string> names;
  llvm::StringMap<Value> valuesByName;
  llvm::StringSet<> usedNames;
  llvm::StringSet<> usedNodeNames;
  unsigned nameCounter = 0;
};

} // namespace

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

std::string Exporter::uniqueName(StringRef base) {
  if (!base.empty() && usedNames.insert(base).second)
    return base.str();
  std::string stem = base.empty() ? "t" : base.str();
  while (true) {
    std::string candidate = stem + "_" + std::to_string(++nameCounter);
    if (usedNames.insert(candidate).second)
      return candidate;
  }
}

std::string Exporter::uniqueNodeName(StringRef base) {
  if (usedNodeNames.insert(base).second)
    return base.str();
  for (unsigned i = 1;; ++i) {
    std::string candidate = (base + "_" + Twine(i)).str();
    if (usedNodeNames.insert(candidate).second)
      return candidate;
  }
}

std::string Exporter::nameOf(Value value) {
  if (isa<NoneType>(value.getType()))
    return "";
  auto it = names.find(value);
  if (it != names.end())
    return it->second;
  std::string name = uniqueName("");
  names[value] = name;
  valuesByName[name] = value;
  return name;
}

/// Gives an op's results their imported names where still free, else fresh
/// ones derived from the node name. An unused result that had no name stays
/// an omitted ("") output.
void Exporter::nameResults(Operation *op) {
  auto outputs = op->getAttrOfType<ArrayAttr>(kOutputNamesAttr);
  for (OpResult result : op->getResults()) {
    if (names.count(result))
      continue;
    StringRef wanted;
    if (outputs && result.getResultNumber() < outputs.size())
      if (auto s = dyn_cast<StringAttr>(outputs[result.getResultNumber()]))
        wanted = s.getValue();
    if (wanted.empty() && result.use_empty() && outputs) {
      names[result] = "";
      continue;
    }
    std::string base = wanted.str();
    if (base.empty()) {
      StringRef node = getNodeName(op);
      base = (node.empty() ? op->getName().stripDialect().str() : node.str()) +
             "_out" + std::to_string(result.getResultNumber());
    }
    std::string name = uniqueName(base);
    names[result] = name;
    valuesByName[name] = result;
  }
}

//===----------------------------------------------------------------------===//
// Types, tensors, attributes
//===----------------------------------------------------------------------===//

void Exporter::exportType(Type type, ArrayAttr dimParams, onnx::TypeProto &proto) {
  if (auto opaque = dyn_cast<OpaqueValueType>(type)) {
    proto.ParseFromString(opaque.getProto().str());
    return;
  }
  auto shaped = dyn_cast<TensorType>(type);
  if (!shaped)
    return;
  auto *tensor = proto.mutable_tensor_type();
  tensor->set_elem_type(getONNXDataType(shaped.getElementType()));
  auto ranked = dyn_cast<RankedTensorType>(shaped);
  if (!ranked)
    return;
  auto *shape = tensor->mutable_shape();
  bool useParams = dimParams && dimParams.size() == size_t(ranked.getRank());
  for (int64_t i = 0; i < ranked.getRank(); ++i) {
    auto *dim = shape->add_dim();
    if (!ranked.isDynamicDim(i))
      dim->set_dim_value(ranked.getDimSize(i));
    else if (useParams)
      if (auto param = dyn_cast<StringAttr>(dimParams[i]); param && !param.empty())
        dim->set_dim_param(param.str());
  }
}

LogicalResult Exporter::exportTensor(ElementsAttr attr, onnx::TensorProto &tensor,
                                     Location loc, bool mayStream, int initIndex) {
  auto type = cast<ShapedType>(attr.getType());
  Type elementType = type.getElementType();
  int32_t dataType = getONNXDataType(elementType);
  if (dataType == onnx::TensorProto::UNDEFINED)
    return emitError(loc) << "cannot export a tensor of element type "
                          << elementType;
  tensor.set_data_type(dataType);
  for (int64_t dim : type.getShape())
    tensor.add_dims(dim);
  if (dataType == onnx::TensorProto::STRING) {
    auto dense = dyn_cast<DenseElementsAttr>(attr);
    if (!dense)
      return emitError(loc) << "string tensors must be dense";
    for (StringRef s : dense.getValues<StringRef>())
      tensor.add_string_data(s.str());
    return success();
  }
  std::vector<char> storage;
  ArrayRef<char> bytes = getRawBytes(attr, storage);
  size_t expected = type.getNumElements() * getElementByteWidth(elementType);
  if (bytes.size() != expected)
    return emitError(loc) << "tensor data has " << bytes.size()
                          << " bytes, expected " << expected
                          << " (a resource blob is missing?)";
  if (mayStream && storage.empty() && bytes.size() >= options.externalDataThreshold) {
    streamed.push_back({initIndex, bytes});
    return success();
  }
  tensor.set_raw_data(bytes.data(), bytes.size());
  return success();
}

LogicalResult Exporter::exportAttribute(Operation *op, NamedAttribute named,
                                        onnx::AttributeProto &proto) {
  using AP = onnx::AttributeProto;
  Attribute attr = named.getValue();
  if (auto opaque = dyn_cast<AttributeProtoAttr>(attr)) {
    proto.ParseFromString(opaque.getProto().str());
    proto.set_name(named.getName().str());
    return success();
  }
  proto.set_name(named.getName().str());
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    proto.set_type(AP::INT);
    proto.set_i(i.getValue().getSExtValue());
  } else if (auto f = dyn_cast<FloatAttr>(attr)) {
    proto.set_type(AP::FLOAT);
    proto.set_f(float(f.getValueAsDouble()));
  } else if (auto s = dyn_cast<StringAttr>(attr)) {
    proto.set_type(AP::STRING);
    proto.set_s(s.str());
  } else if (auto ints = dyn_cast<DenseI64ArrayAttr>(attr)) {
    proto.set_type(AP::INTS);
    for (int64_t v : ints.asArrayRef())
      proto.add_ints(v);
  } else if (auto floats = dyn_cast<DenseF32ArrayAttr>(attr)) {
    proto.set_type(AP::FLOATS);
    for (float v : floats.asArrayRef())
      proto.add_floats(v);
  } else if (auto elements = dyn_cast<ElementsAttr>(attr)) {
    proto.set_type(AP::TENSOR);
    if (failed(exportTensor(elements, *proto.mutable_t(), op->getLoc(),
                            /*mayStream=*/false, -1)))
      return failure();
  } else if (auto subgraph = dyn_cast<SubgraphAttr>(attr)) {
    if (subgraph.getRegion() >= op->getNumRegions() ||
        op->getRegion(subgraph.getRegion()).empty())
      return op->emitError("attribute '")
             << named.getName() << "' refers to a missing subgraph region";
    proto.set_type(AP::GRAPH);
    if (failed(exportBlock(op->getRegion(subgraph.getRegion()).front(),
                           *proto.mutable_g(), /*isTopLevel=*/false)))
      return failure();
  } else if (auto array = dyn_cast<ArrayAttr>(attr)) {
    bool allTensors = !array.empty() && llvm::all_of(array, [](Attribute a) {
      return isa<ElementsAttr>(a);
    });
    if (allTensors) {
      proto.set_type(AP::TENSORS);
      for (Attribute a : array)
        if (failed(exportTensor(cast<ElementsAttr>(a), *proto.add_tensors(),
                                op->getLoc(), false, -1)))
          return failure();
    } else {
      proto.set_type(AP::STRINGS);
      for (Attribute a : array) {
        auto s = dyn_cast<StringAttr>(a);
        if (!s)
          return op->emitError("attribute '")
                 << named.getName() << "' is a list ONNX cannot hold";
        proto.add_strings(s.str());
      }
    }
  } else {
    return op->emitError("attribute '")
           << named.getName() << "' has no ONNX equivalent: " << attr;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Nodes and graphs
//===----------------------------------------------------------------------===//

LogicalResult Exporter::exportNode(Operation *op, onnx::GraphProto &graph) {
  if (op->getDialect() == nullptr ||
      op->getDialect()->getNamespace() != ONNXDialect::getDialectNamespace())
    return op->emitError("cannot export '")
           << op->getName()
           << "' to ONNX: only onnx ops remain after convert-norm-to-onnx";
  nameResults(op);
  onnx::NodeProto &node = *graph.add_node();
  StringRef nodeName = getNodeName(op);
  if (!nodeName.empty())
    node.set_name(uniqueNodeName(nodeName));
  auto generic = dyn_cast<NodeOp>(op);
  if (generic) {
    node.set_op_type(generic.getOpType().str());
    if (!generic.getDomain().empty())
      node.set_domain(generic.getDomain().str());
  } else {
    node.set_op_type(op->getName().stripDialect().str());
  }
  for (Value operand : op->getOperands())
    node.add_input(nameOf(operand));
  // ONNX drops trailing omitted inputs.
  while (node.input_size() > 0 && node.input(node.input_size() - 1).empty())
    node.mutable_input()->RemoveLast();
  for (Value result : op->getResults())
    node.add_output(names[result]);
  // Likewise trailing omitted outputs.
  while (node.output_size() > 0 && node.output(node.output_size() - 1).empty())
    node.mutable_output()->RemoveLast();
  if (auto doc = op->getAttrOfType<StringAttr>(kDocStringAttr))
    node.set_doc_string(doc.str());
  for (NamedAttribute attr : op->getAttrs()) {
    StringRef name = attr.getName().getValue();
    if (name.starts_with("onnx.") ||
        (generic && (name == "op_type" || name == "domain")))
      continue;
    if (failed(exportAttribute(op, attr, *node.add_attribute())))
      return failure();
  }
  return success();
}

LogicalResult Exporter::exportBlock(Block &block, onnx::GraphProto &graph,
                                    bool isTopLevel) {
  // Subgraph inputs.
  if (!isTopLevel) {
    auto yield = dyn_cast<YieldOp>(block.getTerminator());
    if (!yield)
      return emitError(block.getParentOp()->getLoc())
             << "subgraph must end in onnx.yield";
    graph.set_name(yield.getName().str());
    for (auto [arg, nameAttr] :
         llvm::zip(block.getArguments(), yield.getInputNames())) {
      std::string name = uniqueName(cast<StringAttr>(nameAttr).getValue());
      names[arg] = name;
      valuesByName[name] = arg;
      auto *input = graph.add_input();
      input->set_name(name);
      exportType(arg.getType(), {}, *input->mutable_type());
    }
  }

  for (Operation &op : block) {
    if (isa<NoneOp>(op))
      continue;
    if (auto init = dyn_cast<InitializerOp>(op)) {
      std::string name = uniqueName(init.getName());
      names[init.getResult()] = name;
      valuesByName[name] = init.getResult();
      int index = graph.initializer_size();
      onnx::TensorProto &tensor = *graph.add_initializer();
      tensor.set_name(name);
      if (failed(exportTensor(init.getValue(), tensor, init.getLoc(),
                              /*mayStream=*/isTopLevel, index)))
        return failure();
      if (init.getIsInput()) {
        auto *input = graph.add_input();
        input->set_name(name);
        exportType(init.getType(), {}, *input->mutable_type());
      }
      continue;
    }
    if (auto yield = dyn_cast<YieldOp>(op)) {
      for (auto [value, nameAttr] :
           llvm::zip(yield.getResults(), yield.getOutputNames())) {
        auto *output = graph.add_output();
        output->set_name(nameOf(value));
        exportType(value.getType(), {}, *output->mutable_type());
      }
      continue;
    }
    if (isa<func::ReturnOp>(op))
      continue;
    if (failed(exportNode(&op, graph)))
      return failure();
  }
  return success();
}

LogicalResult Exporter::buildModel(onnx::ModelProto &model) {
  auto funcs = llvm::to_vector(module.getOps<func::FuncOp>());
  if (funcs.size() != 1)
    return module.emitError("expected exactly one graph function, found ")
           << funcs.size();
  func::FuncOp func = funcs.front();

  if (auto shell = module->getAttrOfType<StringAttr>("onnx.model_shell"))
    model.ParseFromString(shell.str());
  model.set_ir_version(module->hasAttr(kIRVersionAttr)
                           ? module->getAttrOfType<IntegerAttr>(kIRVersionAttr).getInt()
                           : 8);
  model.clear_opset_import();
  if (auto opsets = module->getAttrOfType<DictionaryAttr>(kOpsetImportAttr)) {
    for (NamedAttribute entry : opsets) {
      auto *opset = model.add_opset_import();
      StringRef domain = entry.getName().getValue();
      opset->set_domain(domain == "ai.onnx" ? "" : domain.str());
      opset->set_version(cast<IntegerAttr>(entry.getValue()).getInt());
    }
  } else {
    auto *opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(17);
  }

  onnx::GraphProto &graph = *model.mutable_graph();
  graph.set_name(func.getSymName().str());
  if (auto doc = func->getAttrOfType<StringAttr>(kDocStringAttr))
    graph.set_doc_string(doc.str());

  // Inputs.
  Block &body = func.getBody().front();
  for (BlockArgument arg : body.getArguments()) {
    auto nameAttr = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), kValueNameAttr);
    std::string name = uniqueName(nameAttr ? nameAttr.getValue()
                                           : "input_" + std::to_string(arg.getArgNumber()));
    names[arg] = name;
    valuesByName[name] = arg;
    auto *input = graph.add_input();
    input->set_name(name);
    exportType(arg.getType(),
               func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), kDimParamsAttr),
               *input->mutable_type());
  }

  // Outputs take their names first, so that their producers use them; a
  // value that cannot carry the name (an input, an initializer, a value
  // returned twice) is passed through an Identity.
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  SmallVector<std::tuple<size_t, Value, std::string>> identities;
  SmallVector<std::string> outputNames;
  for (auto [index, value] : llvm::enumerate(ret.getOperands())) {
    auto nameAttr = func.getResultAttrOfType<StringAttr>(index, kValueNameAttr);
    std::string wanted = nameAttr ? nameAttr.str() : "output_" + std::to_string(index);
    Operation *def = value.getDefiningOp();
    bool canCarry = def && !isa<InitializerOp, NoneOp>(def) && !names.count(value) &&
                    !usedNames.contains(wanted);
    if (canCarry) {
      usedNames.insert(wanted);
      names[value] = wanted;
      valuesByName[wanted] = value;
      outputNames.push_back(wanted);
    } else {
      identities.push_back({index, value, wanted});
      outputNames.push_back("");
    }
  }

  if (failed(exportBlock(body, graph, /*isTopLevel=*/true)))
    return failure();
  // Inputs are fed by position too: initializers that are also inputs go
  // back to where the model listed them among the others.
  if (auto order = func->getAttrOfType<ArrayAttr>(kInputOrderAttr)) {
    llvm::StringMap<size_t> position;
    for (auto [i, name] : llvm::enumerate(order.getAsValueRange<StringAttr>()))
      position.try_emplace(name, i);
    std::stable_sort(graph.mutable_input()->begin(), graph.mutable_input()->end(),
                     [&](const onnx::ValueInfoProto &a, const onnx::ValueInfoProto &b) {
                       auto pa = position.find(a.name()), pb = position.find(b.name());
                       size_t ia = pa == position.end() ? order.size() : pa->second;
                       size_t ib = pb == position.end() ? order.size() : pb->second;
                       return ia < ib;
                     });
  }

  for (auto &[index, value, wanted] : identities) {
    std::string name = uniqueName(wanted);
    onnx::NodeProto &node = *graph.add_node();
    node.set_op_type("Identity");
    node.set_name(name + "_identity");
    node.add_input(nameOf(value));
    node.add_output(name);
    outputNames[index] = name;
  }
  for (auto [index, value] : llvm::enumerate(ret.getOperands())) {
    auto *output = graph.add_output();
    output->set_name(outputNames[index]);
    exportType(value.getType(),
               func.getResultAttrOfType<ArrayAttr>(index, kDimParamsAttr),
               *output->mutable_type());
  }

  // value_info for the values the input model described that still exist.
  if (auto valueInfo = func->getAttrOfType<ArrayAttr>("onnx.value_info")) {
    for (Attribute entryAttr : valueInfo) {
      auto entry = cast<ArrayAttr>(entryAttr);
      StringRef name = cast<StringAttr>(entry[0]).getValue();
      auto it = valuesByName.find(name);
      if (it == valuesByName.end())
        continue;
      Type type = it->second.getType();
      if (auto opaque = dyn_cast<OpaqueValueType>(type); opaque && opaque.getProto().empty())
        continue;
      auto *info = graph.add_value_info();
      info->set_name(name.str());
      ArrayAttr params = entry.size() > 1
                             ? ArrayAttr::get(module.getContext(), entry.getValue().drop_front())
                             : ArrayAttr();
      exportType(type, params, *info->mutable_type());
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

namespace {
using google::protobuf::io::CodedOutputStream;
constexpr uint32_t lengthDelimitedTag(uint32_t field) { return (field << 3) | 2; }
constexpr int kModelGraphField = 7;
constexpr int kGraphInitializerField = 5;
constexpr int kTensorRawDataField = 9;

size_t fieldSize(uint32_t field, size_t length) {
  return CodedOutputStream::VarintSize32(lengthDelimitedTag(field)) +
         CodedOutputStream::VarintSize64(length) + length;
}
} // namespace

/// Serializes `model` with the streamed tensors' bytes spliced in from their
/// blobs. Protobuf readers accept fields in any order, so the graph is
/// written last and each initializer's raw_data after its other fields.
static bool writeModel(onnx::ModelProto &model,
                       const std::vector<StreamedTensor> &streamed,
                       google::protobuf::io::ZeroCopyOutputStream &out) {
  onnx::GraphProto graph = std::move(*model.mutable_graph());
  model.clear_graph();
  llvm::DenseMap<int, ArrayRef<char>> extraBytes;
  for (const StreamedTensor &s : streamed)
    extraBytes[s.initializerIndex] = s.bytes;

  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  initializers.Swap(graph.mutable_initializer());
  std::vector<size_t> tensorSizes(initializers.size());
  size_t graphSize = graph.ByteSizeLong();
  for (int i = 0; i < initializers.size(); ++i) {
    size_t size = initializers[i].ByteSizeLong();
    auto it = extraBytes.find(i);
    if (it != extraBytes.end())
      size += fieldSize(kTensorRawDataField, it->second.size());
    tensorSizes[i] = size;
    graphSize += fieldSize(kGraphInitializerField, size);
  }

  CodedOutputStream coded(&out);
  if (!model.SerializeToCodedStream(&coded))
    return false;
  coded.WriteVarint32(lengthDelimitedTag(kModelGraphField));
  coded.WriteVarint64(graphSize);
  if (!graph.SerializeToCodedStream(&coded))
    return false;
  for (int i = 0; i < initializers.size(); ++i) {
    coded.WriteVarint32(lengthDelimitedTag(kGraphInitializerField));
    coded.WriteVarint64(tensorSizes[i]);
    if (!initializers[i].SerializeToCodedStream(&coded))
      return false;
    auto it = extraBytes.find(i);
    if (it != extraBytes.end()) {
      coded.WriteVarint32(lengthDelimitedTag(kTensorRawDataField));
      coded.WriteVarint64(it->second.size());
      coded.WriteRaw(it->second.data(), it->second.size());
    }
  }
  return !coded.HadError();
}

/// Builds the model, with all tensor bytes inlined (for streams and text).
static LogicalResult buildInlineModel(ModuleOp module, const ExportOptions &options,
                                      onnx::ModelProto &model) {
  ExportOptions inlineOptions = options;
  inlineOptions.externalDataThreshold = std::numeric_limits<size_t>::max();
  Exporter exporter(module, inlineOptions);
  return exporter.buildModel(model);
}

static LogicalResult prepareForExport(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addPass(createConvertNormToONNX());
  return pm.run(module);
}

LogicalResult mlir::onnxir::exportONNX(ModuleOp module, llvm::raw_ostream &os,
                                       const ExportOptions &options) {
  if (failed(prepareForExport(module)))
    return failure();
  onnx::ModelProto model;
  if (failed(buildInlineModel(module, options, model)))
    return failure();
  if (options.textFormat) {
    llvm::Expected<std::string> text = printONNXText(model);
    if (!text)
      return module.emitError(llvm::toString(text.takeError()));
    os << *text;
    return success();
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    return module.emitError("the model does not fit in one protobuf (2 GB); "
                            "write it to a file to use external data");
  os << bytes;
  return success();
}

/// Writes `bytes` at `offset` of `fd`: with copy_file_range from the file
/// they are mapped from (`where`), so unchanged weights go file to file
/// without passing through this process; else with pwrite.
static LogicalResult copyBytes(ArrayRef<char> bytes, std::optional<FileRange> where, int fd,
                               uint64_t offset) {
  size_t done = 0;
  if (where) {
    loff_t in = loff_t(where->offset), out = loff_t(offset);
    while (done < bytes.size()) {
      ssize_t n = ::copy_file_range(where->fd, &in, fd, &out, bytes.size() - done, 0);
      if (n <= 0)
        break; // Not supported between these files (or a short file): pwrite.
      done += size_t(n);
    }
  }
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return failure();
    done += size_t(n);
  }
  return success();
}

LogicalResult mlir::onnxir::exportONNXFile(ModuleOp module, StringRef path,
                                           const ExportOptions &options) {
  Location loc = FileLineColLoc::get(module.getContext(), path, 0, 0);
  // The caller's outputs are committed by the caller, with its other files.
  normopt::OutputFiles ownOutputs;
  normopt::OutputFiles &outputs = options.outputs ? *options.outputs : ownOutputs;
  auto commitOwn = [&]() -> LogicalResult {
    if (options.outputs)
      return success();
    if (llvm::Error error = ownOutputs.commit())
      return emitError(loc) << llvm::toString(std::move(error));
    return success();
  };
  auto create = [&](StringRef filePath) -> normopt::AtomicFile * {
    llvm::Expected<normopt::AtomicFile &> file = outputs.create(filePath);
    if (!file) {
      emitError(loc) << llvm::toString(file.takeError());
      return nullptr;
    }
    return &*file;
  };
  if (options.textFormat) {
    std::string text;
    llvm::raw_string_ostream os(text);
    if (failed(exportONNX(module, os, options)))
      return failure();
    normopt::AtomicFile *file = create(path);
    if (!file)
      return failure();
    if (llvm::Error error = file->write(ArrayRef<char>(text.data(), text.size())))
      return emitError(loc) << llvm::toString(std::move(error));
    return commitOwn();
  }

  if (failed(prepareForExport(module)))
    return failure();
  onnx::ModelProto model;
  Exporter exporter(module, options);
  if (failed(exporter.buildModel(model)))
    return failure();

  size_t streamedBytes = 0;
  for (const StreamedTensor &s : exporter.streamed)
    streamedBytes += s.bytes.size();
  bool external = options.externalData.value_or(
      module->hasAttr("onnx.external_data") || streamedBytes > (size_t(2) << 30) - (64 << 20));

  // External data: tensors the WeightStore already wrote into this output's
  // data file (the sink) stay where they are; the others are appended,
  // copied file to file when they are mapped from an input file.
  WeightStore &store = WeightStore::get(module.getContext());
  normopt::AtomicFile *dataFile = nullptr;
  std::optional<WeightStore::Sink> sink;
  std::vector<std::pair<uint64_t, uint64_t>> liveRanges;
  if (external && !exporter.streamed.empty()) {
    std::string dataPath = path.str() + ".data";
    sink = store.getSink(dataPath);
    int fd;
    uint64_t offset = 0;
    if (sink) {
      fd = sink->fd;
      offset = sink->size;
    } else {
      // Nothing is created next to a device or FIFO output (/dev/null.data).
      if (llvm::sys::fs::exists(path) && !llvm::sys::fs::is_regular_file(path))
        return emitError(loc) << "cannot write external data next to '" << path
                              << "', which is not a regular file (use --external-data=never)";
      dataFile = create(dataPath);
      if (!dataFile)
        return failure();
      if (dataFile->writesThrough())
        return emitError(loc) << "cannot write external data to '" << dataPath
                              << "', which is not a regular file";
      fd = dataFile->descriptor();
    }
    std::string location = llvm::sys::path::filename(dataPath).str();
    uint64_t totalBytes = 0;
    for (const StreamedTensor &s : exporter.streamed)
      totalBytes += s.bytes.size();
    WeightStore::Progress &progress = store.getProgress();
    progress.reset(exporter.streamed.size(), totalBytes);
    for (const StreamedTensor &s : exporter.streamed) {
      progress.add(s.bytes.size());
      std::optional<FileRange> where = store.locate(s.bytes);
      uint64_t tensorOffset;
      if (sink && where && where->inSink) {
        tensorOffset = where->offset;
      } else {
        // Align each tensor so that a reader can map it in place.
        tensorOffset = (offset + 63) & ~uint64_t(63);
        if (failed(copyBytes(s.bytes, where, fd, tensorOffset)))
          return emitError(loc) << "cannot write external data: " << std::strerror(errno);
        offset = tensorOffset + s.bytes.size();
      }
      liveRanges.push_back({tensorOffset, s.bytes.size()});
      onnx::TensorProto &tensor =
          *model.mutable_graph()->mutable_initializer(s.initializerIndex);
      tensor.set_data_location(onnx::TensorProto::EXTERNAL);
      auto addEntry = [&](const char *key, std::string value) {
        auto *entry = tensor.add_external_data();
        entry->set_key(key);
        entry->set_value(std::move(value));
      };
      addEntry("location", location);
      addEntry("offset", std::to_string(tensorOffset));
      addEntry("length", std::to_string(s.bytes.size()));
    }
    exporter.streamed.clear();
  }

  normopt::AtomicFile *file = create(path);
  if (!file)
    return failure();
  {
    google::protobuf::io::FileOutputStream out(file->descriptor(), 1 << 20);
    if (!writeModel(model, exporter.streamed, out) || !out.Flush())
      return emitError(loc) << "cannot write '" << path << "': "
                            << std::strerror(out.GetErrno() ? out.GetErrno() : EIO);
  }
  if (sink) {
    // The store's temporary joins the other outputs: renamed with them.
    std::string dataPath = path.str() + ".data";
    outputs.adopt(sink->tempPath, dataPath,
                  [&store, liveRanges] { store.commitSink(liveRanges); });
  }
  return commitOwn();
}
