//===- ONNXOps.td - A lossless image of an ONNX graph ------*- tablegen -*-===//
//
// The `onnx` dialect holds everything of an ONNX model that norm-opt does not
// rewrite, in a form the exporter turns back into the same nodes. A node keeps
// its op type, domain and attributes verbatim: ONNX attributes are the op's
// attributes (int -> i64, float -> f32, ints -> array<i64>, floats ->
// array<f32>, string -> string, strings -> [string], tensor -> elements,
// graph -> #onnx.subgraph<region index>). The ops that passes reason about
// have typed definitions; every other node is an `onnx.node`.
//
// Discardable attributes that are not ONNX attributes are prefixed `onnx.`:
//   onnx.outputs    - the ONNX names of the results ("" for an omitted output)
//   onnx.doc_string - the node's doc_string
// The node name is the op's location (a NameLoc).
//
//===----------------------------------------------------------------------===//

#ifndef NORM_OPT_DIALECT_ONNX_IR_ONNXOPS_TD
#define NORM_OPT_DIALECT_ONNX_IR_ONNXOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def ONNX_Dialect : Dialect {
  let name = "onnx";
  let cppNamespace = "::mlir::onnxir";
  let summary = "ONNX graph nodes kept verbatim for a lossless round trip";
  let description = [{
    The graph of an imported ONNX model is a `func.func` whose arguments are
    the graph inputs and whose `func.return` yields the graph outputs.
    Initializers are `onnx.initializer` ops holding `dense_resource` blobs
    (no copy of the weight bytes), `Constant` nodes are `onnx.Constant`, an
    omitted optional input is `onnx.none`, and every node is either one of
    the typed ops below or the generic `onnx.node`. Model-level fields
    (ir_version, opset_import, producer, metadata) sit on the module as
    `onnx.*` attributes.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerTypes();
    void registerAttributes();
    /// The owner of every weight byte in this context (WeightStore.h).
    WeightStore &getWeightStore() { return *weightStore; }

  private:
    std::unique_ptr<WeightStore> weightStore;

  public:
  }];
}

//===----------------------------------------------------------------------===//
// Types and attributes
//===----------------------------------------------------------------------===//

class ONNX_Type<string name, string typeMnemonic> : TypeDef<ONNX_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def ONNX_OpaqueValueType : ONNX_Type<"OpaqueValue", "opaque"> {
  let summary = "a non-tensor ONNX value type (sequence, map, optional)";
  let description = [{
    Holds the serialized `TypeProto` of a value whose type norm-opt does not
    model, so that it is written back unchanged. An empty proto means the
    type was not known.
  }];
  let parameters = (ins StringRefParameter<"serialized onnx.TypeProto">:$proto);
  let assemblyFormat = "`<` $proto `>`";
}

def ONNX_StringType : ONNX_Type<"String", "string"> {
  let summary = "the element type of ONNX string tensors";
}

class ONNX_Attr<string name, string attrMnemonic> : AttrDef<ONNX_Dialect, name> {
  let mnemonic = attrMnemonic;
}

def ONNX_SubgraphAttr : ONNX_Attr<"Subgraph", "subgraph"> {
  let summary = "a graph-valued ONNX attribute: the index of the op's region";
  let parameters = (ins "unsigned":$region);
  let assemblyFormat = "`<` $region `>`";
}

def ONNX_AttributeProtoAttr : ONNX_Attr<"AttributeProto", "attribute_proto"> {
  let summary = "an ONNX attribute kind norm-opt does not model";
  let description = [{
    Sparse tensors, type protos and reference attributes are kept as their
    serialized `AttributeProto` and written back unchanged.
  }];
  let parameters = (ins StringRefParameter<"serialized onnx.AttributeProto">:$proto);
  let assemblyFormat = "`<` $proto `>`";
}

//===----------------------------------------------------------------------===//
// Graph structure
//===----------------------------------------------------------------------===//

class ONNX_Op<string mnemonic, list<Trait> traits = []>
    : Op<ONNX_Dialect, mnemonic, traits>;

// ONNX ops are deliberately not `Pure`: a node or initializer nobody reads is
// still part of the model, and must not vanish in a greedy rewrite that only
// meant to touch the norms. Passes erase what they make dead themselves.
def ONNX_InitializerOp : ONNX_Op<"initializer"> {
  let summary = "a graph initializer (weight)";
  let description = [{
    `name` is the ONNX tensor name. Large weights are `dense_resource` blobs
    that alias the bytes read from the file or the external-data mapping.
    `is_input` marks an initializer that is also listed as a graph input
    (an overridable default in IR < 4 models).
  }];
  let arguments = (ins StrAttr:$name, ElementsAttr:$value, UnitAttr:$is_input);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$name (`input` $is_input^)? `=` $value attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def ONNX_NoneOp : ONNX_Op<"none", [Pure]> {
  let summary = "an omitted optional input (empty name)";
  let results = (outs NoneType:$result);
  let assemblyFormat = "attr-dict";
}

def ONNX_YieldOp : ONNX_Op<"yield", [Terminator, ReturnLike]> {
  let summary = "the outputs of a subgraph";
  let description = [{
    Terminates the body of an `If`/`Loop`/`Scan` subgraph. `name` is the
    subgraph's name and `output_names`/`input_names` its value names.
  }];
  let arguments = (ins Variadic<AnyType>:$results, StrAttr:$name,
                       StrArrayAttr:$input_names, StrArrayAttr:$output_names);
  let assemblyFormat = "$name $input_names `->` $output_names ($results^ `:` type($results))? attr-dict";
}

def ONNX_NodeOp : ONNX_Op<"node"> {
  let summary = "any ONNX node, kept verbatim";
  let description = [{
    A node norm-opt does not reason about. `op_type` and `domain` are the
    node's; the remaining attributes are its ONNX attributes. Graph-valued
    attributes refer to the op's regions by index (`#onnx.subgraph<i>`);
    regions may use values of the enclosing graph, as ONNX subgraphs may.
  }];
  let arguments = (ins Variadic<AnyType>:$inputs, StrAttr:$op_type,
                       DefaultValuedStrAttr<StrAttr, "">:$domain);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region VariadicRegion<AnyRegion>:$subgraphs);
  let builders = [
    OpBuilder<(ins "::mlir::TypeRange":$resultTypes, "::mlir::ValueRange":$inputs,
                   "::llvm::StringRef":$opType, CArg<"::llvm::StringRef", "\"\"">:$domain), [{
      build($_builder, $_state, resultTypes, inputs, $_builder.getStringAttr(opType),
            domain.empty() ? ::mlir::StringAttr() : $_builder.getStringAttr(domain),
            /*subgraphsCount=*/0);
    }]>
  ];
  let assemblyFormat = [{
    $op_type (`domain` $domain^)? `(` $inputs `)` attr-dict `:`
    functional-type($inputs, $results) ($subgraphs^)?
  }];
}

//===----------------------------------------------------------------------===//
// Typed nodes: the default-domain ops that passes reason about. ONNX
// attributes are optional here as in ONNX, so that an absent attribute stays
// absent; the C++ accessors in ONNXOps.h supply the ONNX defaults.
//===----------------------------------------------------------------------===//

class ONNX_TypedOp<string mnemonic, list<Trait> traits = []>
    : ONNX_Op<mnemonic, traits> {
  let assemblyFormat = "`(` operands `)` attr-dict `:` functional-type(operands, results)";
}

class ONNX_BinaryOp<string mnemonic> : ONNX_TypedOp<mnemonic> {
  let summary = "ONNX " # mnemonic # " (numpy broadcasting)";
  let arguments = (ins AnyType:$lhs, AnyType:$rhs);
  let results = (outs AnyType:$result);
}
def ONNX_AddOp : ONNX_BinaryOp<"Add">;
def ONNX_SubOp : ONNX_BinaryOp<"Sub">;
def ONNX_MulOp : ONNX_BinaryOp<"Mul">;
def ONNX_DivOp : ONNX_BinaryOp<"Div">;
def ONNX_PowOp : ONNX_BinaryOp<"Pow">;
def ONNX_MatMulOp : ONNX_BinaryOp<"MatMul">;

class ONNX_UnaryOp<string mnemonic> : ONNX_TypedOp<mnemonic> {
  let summary = "ONNX " # mnemonic;
  let arguments = (ins AnyType:$input);
  let results = (outs AnyType:$result);
}
def ONNX_SqrtOp : ONNX_UnaryOp<"Sqrt">;
def ONNX_ReciprocalOp : ONNX_UnaryOp<"Reciprocal">;
def ONNX_IdentityOp : ONNX_UnaryOp<"Identity">;

def ONNX_CastOp : ONNX_TypedOp<"Cast"> {
  let summary = "ONNX Cast";
  let arguments = (ins AnyType:$input, I64Attr:$to, OptionalAttr<I64Attr>:$saturate);
  let results = (outs AnyType:$result);
}

def ONNX_ReduceMeanOp : ONNX_TypedOp<"ReduceMean"> {
  let summary = "ONNX ReduceMean (axes as attribute before opset 18, as input after)";
  let arguments = (ins AnyType:$data, Optional<AnyType>:$axes_input,
                       OptionalAttr<DenseI64ArrayAttr>:$axes,
                       OptionalAttr<I64Attr>:$keepdims,
                       OptionalAttr<I64Attr>:$noop_with_empty_axes);
  let results = (outs AnyType:$reduced);
}

def ONNX_GemmOp : ONNX_TypedOp<"Gemm"> {
  let summary = "ONNX Gemm: alpha * A' B' + beta * C";
  let arguments = (ins AnyType:$a, AnyType:$b, Optional<AnyType>:$c,
                       OptionalAttr<F32Attr>:$alpha, OptionalAttr<F32Attr>:$beta,
                       OptionalAttr<I64Attr>:$transA, OptionalAttr<I64Attr>:$transB);
  let results = (outs AnyType:$result);
}

def ONNX_GatherOp : ONNX_TypedOp<"Gather"> {
  let summary = "ONNX Gather";
  let arguments = (ins AnyType:$data, AnyType:$indices, OptionalAttr<I64Attr>:$axis);
  let results = (outs AnyType:$result);
}

def ONNX_TransposeOp : ONNX_TypedOp<"Transpose"> {
  let summary = "ONNX Transpose";
  let arguments = (ins AnyType:$data, OptionalAttr<DenseI64ArrayAttr>:$perm);
  let results = (outs AnyType:$transposed);
}

def ONNX_ReshapeOp : ONNX_TypedOp<"Reshape"> {
  let summary = "ONNX Reshape";
  let arguments = (ins AnyType:$data, AnyType:$shape, OptionalAttr<I64Attr>:$allowzero);
  let results = (outs AnyType:$reshaped);
}

def ONNX_FlattenOp : ONNX_TypedOp<"Flatten"> {
  let summary = "ONNX Flatten";
  let arguments = (ins AnyType:$input, OptionalAttr<I64Attr>:$axis);
  let results = (outs AnyType:$output);
}

def ONNX_ConstantOp : ONNX_TypedOp<"Constant"> {
  let summary = "ONNX Constant";
  let description = [{
    Exactly one of the value attributes is set, as in ONNX. `getConstantValue`
    (ONNXOps.h) reads any of them as elements.
  }];
  let arguments = (ins OptionalAttr<ElementsAttr>:$value,
                       OptionalAttr<F32Attr>:$value_float,
                       OptionalAttr<DenseF32ArrayAttr>:$value_floats,
                       OptionalAttr<I64Attr>:$value_int,
                       OptionalAttr<DenseI64ArrayAttr>:$value_ints,
                       OptionalAttr<StrAttr>:$value_string,
                       OptionalAttr<StrArrayAttr>:$value_strings);
  let results = (outs AnyType:$output);
  let assemblyFormat = "attr-dict `:` type($output)";
}

def ONNX_ConcatOp : ONNX_TypedOp<"Concat"> {
  let summary = "ONNX Concat";
  let arguments = (ins Variadic<AnyType>:$inputs, I64Attr:$axis);
  let results = (outs AnyType:$concat_result);
}

def ONNX_ExpandOp : ONNX_TypedOp<"Expand"> {
  let summary = "ONNX Expand (numpy broadcasting to a shape)";
  let arguments = (ins AnyType:$input, AnyType:$shape);
  let results = (outs AnyType:$output);
}

def ONNX_ShapeOp : ONNX_TypedOp<"Shape"> {
  let summary = "ONNX Shape: reads only its input's shape";
  let arguments = (ins AnyType:$data, OptionalAttr<I64Attr>:$start,
                       OptionalAttr<I64Attr>:$end);
  let results = (outs AnyType:$shape);
}

def ONNX_SizeOp : ONNX_TypedOp<"Size"> {
  let summary = "ONNX Size: reads only its input's shape";
  let arguments = (ins AnyType:$data);
  let results = (outs AnyType:$size);
}

class ONNX_ConvLikeOp<string mnemonic> : ONNX_TypedOp<mnemonic> {
  let results = (outs AnyType:$y);
  dag convArgs = (ins AnyType:$x, AnyType:$w, Optional<AnyType>:$b,
                      OptionalAttr<StrAttr>:$auto_pad,
                      OptionalAttr<DenseI64ArrayAttr>:$dilations,
                      OptionalAttr<I64Attr>:$group,
                      OptionalAttr<DenseI64ArrayAttr>:$kernel_shape,
                      OptionalAttr<DenseI64ArrayAttr>:$pads,
                      OptionalAttr<DenseI64ArrayAttr>:$strides);
}
def ONNX_ConvOp : ONNX_ConvLikeOp<"Conv"> {
  let summary = "ONNX Conv";
  let arguments = convArgs;
}
def ONNX_ConvTransposeOp : ONNX_ConvLikeOp<"ConvTranspose"> {
  let summary = "ONNX ConvTranspose";
  let arguments = !con(convArgs, (ins OptionalAttr<DenseI64ArrayAttr>:$output_padding,
                                      OptionalAttr<DenseI64ArrayAttr>:$output_shape));
}

#endif // NORM_OPT_DIALECT_ONNX_IR_ONNXOPS_TD
