//===- NormToGPU.cpp - norm ops -> fused gpu.func kernels ----------------===//
//
// Writes one kernel per distinct norm (kind, types, hidden size, epsilon) in
// `gpu.module @norm_kernels`, directly on memrefs, plus a host function that
// launches it. The kernel shape is the one of docs/GPU.md: a row is split in
// 128-bit chunks, chunk `c` of the thread with lane `l` is chunk
// `c * threads_per_row + l` of the row (consecutive lanes read consecutive
// 16 bytes, so every load instruction of a warp is coalesced), all chunks of
// a thread are unrolled at compile time so the row stays in registers, and
// the statistics are fp32 sums reduced with `gpu.subgroup_reduce`.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Conversion/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

namespace mlir {
#define GEN_PASS_DEF_CONVERTNORMTOGPU
#define GEN_PASS_DEF_NORMLOWERSUBGROUPREDUCE
#include "norm-opt/Conversion/Passes.h.inc"
} // namespace mlir

using namespace mlir;

namespace {

constexpr StringLiteral kPassName = "convert-norm-to-gpu";
constexpr StringLiteral kKernelModule = "norm_kernels";
constexpr int64_t kWarpSize = 32;
constexpr int64_t kMaxBlockThreads = 1024;

/// Everything a kernel is specialized on, and the launch shape chosen for it.
struct KernelSpec {
  StringRef kind; // rms_norm, layer_norm, skip_rms_norm, skip_layer_norm, crms_norm, rms_scale
  bool layerNorm = false; // subtract the mean (else RMS)
  // crms_norm: the input row holds the first `hidden` entries of a zero-mean
  // row of `hidden + 1`; the output and the weights have `hidden + 1`.
  bool compressed = false;
  bool skip = false;      // residual add, also writes the sum
  // rms_scale: the statistic comes from the `input` row of `hidden`
  // elements and scales the `value` row of `valueHidden` elements, or with
  // `factorsOnly` is written as one fp32 factor per row (valueHidden 0).
  bool deferredScale = false;
  bool factorsOnly = false;
  FloatType elementType;
  int64_t hidden = 0;
  int64_t valueHidden = 0;
  FloatType scaleType, biasType, skipBiasType; // null when absent
  float epsilon = 0;
  bool unitOffset = false;

  int64_t vectorWidth = 0; // elements per 128-bit (or narrower) chunk
  int64_t threadsPerRow = 0;
  int64_t rowsPerBlock = 0;
  int64_t chunksPerThread = 0;

  int64_t valueChunksPerThread = 0; // rms_scale only

  int64_t chunks() const { return hidden / vectorWidth; }
  /// Elements of an output row and of the weights.
  int64_t outHidden() const { return compressed ? hidden + 1 : hidden; }
  int64_t valueChunks() const { return valueHidden / vectorWidth; }
  /// The widest row a thread of the kernel walks.
  int64_t widestRow() const { return std::max(hidden, valueHidden); }
  bool warpPerRow() const { return threadsPerRow == kWarpSize; }

  /// Norms with equal keys share a kernel.
  std::string key() const {
    std::string s;
    llvm::raw_string_ostream os(s);
    auto type = [&](Type t) {
      if (t)
        os << t;
      else
        os << "-";
      os << ",";
    };
    os << kind << "," << hidden << "," << valueHidden << ",";
    type(elementType);
    type(scaleType);
    type(biasType);
    type(skipBiasType);
    os << llvm::bit_cast<uint32_t>(epsilon) << "," << unitOffset << "," << threadsPerRow << ","
       << rowsPerBlock;
    return s;
  }

  std::string baseName() const {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << kind << "_" << elementType << "_h" << hidden;
    if (deferredScale && !factorsOnly)
      os << "_n" << valueHidden;
    return s;
  }
};

/// The operands of a norm in kernel-argument order (x, skip, scale, bias,
/// skip_bias; rms_scale: value, input); null entries are absent operands.
struct NormOperands {
  Value input, skip, scale, bias, skipBias, value;
};

bool isSupportedFloat(Type type) { return type.isF32() || type.isF16() || type.isBF16(); }

/// The operands, kind and attributes of a norm op, or a reason it is not one
/// this pass lowers.
FailureOr<std::pair<KernelSpec, NormOperands>> describeNorm(Operation *op, bool scaleFactorsOnly,
                                                            std::string &reason) {
  KernelSpec spec;
  NormOperands operands;
  std::optional<int64_t> axis;
  if (auto rms = dyn_cast<norm::RMSNormOp>(op)) {
    spec.kind = "rms_norm";
    operands = {rms.getInput(), {}, rms.getScale(), {}, {}};
    spec.epsilon = rms.getEpsilon().convertToFloat();
    spec.unitOffset = rms.getUnitOffset();
    axis = rms.getNormalizedAxis();
  } else if (auto ln = dyn_cast<norm::LayerNormOp>(op)) {
    spec.kind = "layer_norm";
    spec.layerNorm = true;
    operands = {ln.getInput(), {}, ln.getScale(), ln.getBias(), {}};
    spec.epsilon = ln.getEpsilon().convertToFloat();
    axis = ln.getNormalizedAxis();
  } else if (auto srms = dyn_cast<norm::SkipRMSNormOp>(op)) {
    spec.kind = "skip_rms_norm";
    spec.skip = true;
    operands = {srms.getInput(), srms.getSkip(), srms.getScale(), {}, srms.getSkipBias()};
    spec.epsilon = srms.getEpsilon().convertToFloat();
  } else if (auto sln = dyn_cast<norm::SkipLayerNormOp>(op)) {
    spec.kind = "skip_layer_norm";
    spec.skip = spec.layerNorm = true;
    operands = {sln.getInput(), sln.getSkip(), sln.getScale(), sln.getBias(), sln.getSkipBias()};
    spec.epsilon = sln.getEpsilon().convertToFloat();
  } else if (auto crms = dyn_cast<norm::CRMSNormOp>(op)) {
    spec.kind = "crms_norm";
    spec.compressed = true;
    operands = {crms.getInput(), {}, crms.getScale(), crms.getBias(), {}};
    spec.epsilon = crms.getEpsilon().convertToFloat();
  } else if (auto scale = dyn_cast<norm::RMSScaleOp>(op)) {
    spec.kind = scaleFactorsOnly ? "rms_scale_factors" : "rms_scale";
    spec.deferredScale = true;
    spec.factorsOnly = scaleFactorsOnly;
    operands.input = scale.getInput();
    if (!scaleFactorsOnly)
      operands.value = scale.getValue();
    spec.epsilon = scale.getEpsilon().convertToFloat();
    axis = scale.getNormalizedAxis();
  } else if (isa<norm::BatchNormOp>(op)) {
    reason = "batch_norm is not lowered to a GPU kernel (a per-channel affine "
             "map: fold it into the neighbouring convolution)";
    return failure();
  } else {
    reason = "this norm op has no GPU lowering";
    return failure();
  }

  auto inputType = dyn_cast<RankedTensorType>(operands.input.getType());
  if (!inputType) {
    reason = "unranked input: the row size must be known at compile time";
    return failure();
  }
  if (!axis) // Skip norms normalize the last dim.
    axis = inputType.getRank() - 1;
  if (inputType.getRank() == 0 || *axis == 0) {
    reason = "axis 0 normalizes the whole tensor: there are no rows to spread "
             "over threads";
    return failure();
  }
  ArrayRef<int64_t> normalized = inputType.getShape().drop_front(*axis);
  if (ShapedType::isDynamicShape(normalized)) {
    reason = "dynamic hidden size: the normalized dims of " +
             llvm::formatv("{0}", inputType).str() + " must be static";
    return failure();
  }
  spec.hidden = ShapedType::getNumElements(normalized);
  if (!isSupportedFloat(inputType.getElementType())) {
    reason = llvm::formatv("element type {0} is not supported (f32, f16, bf16)",
                           inputType.getElementType())
                 .str();
    return failure();
  }
  spec.elementType = cast<FloatType>(inputType.getElementType());

  if (operands.value) {
    // The verifier guarantees the same rank and leading dims as `input`.
    auto valueType = dyn_cast<RankedTensorType>(operands.value.getType());
    if (!valueType) {
      reason = "unranked value: the row size must be known at compile time";
      return failure();
    }
    ArrayRef<int64_t> scaled = valueType.getShape().drop_front(*axis);
    if (ShapedType::isDynamicShape(scaled)) {
      reason = "dynamic value row size: the dims of " +
               llvm::formatv("{0}", valueType).str() + " from the axis on must be static";
      return failure();
    }
    Type resultElement = cast<ShapedType>(op->getResult(0).getType()).getElementType();
    if (valueType.getElementType() != spec.elementType || resultElement != spec.elementType) {
      reason = llvm::formatv("the value ({0}) and the result ({1}) must have the input's "
                             "element type ({2})",
                             valueType.getElementType(), resultElement, spec.elementType)
                   .str();
      return failure();
    }
    spec.valueHidden = ShapedType::getNumElements(scaled);
  }

  auto weightType = [&](StringRef what, Value weight, FloatType &out) {
    if (!weight)
      return true;
    auto type = dyn_cast<RankedTensorType>(weight.getType());
    if (!type || !type.hasStaticShape() || type.getNumElements() != spec.outHidden()) {
      reason = llvm::formatv("{0} of type {1} broadcasts to the normalized "
                             "shape: only full-size weights ({2} elements) "
                             "are supported",
                             what, weight.getType(), spec.outHidden())
                   .str();
      return false;
    }
    if (!isSupportedFloat(type.getElementType())) {
      reason =
          llvm::formatv("{0} element type {1} is not supported", what, type.getElementType()).str();
      return false;
    }
    out = cast<FloatType>(type.getElementType());
    return true;
  };
  if (!weightType("scale", operands.scale, spec.scaleType) ||
      !weightType("bias", operands.bias, spec.biasType) ||
      !weightType("skip_bias", operands.skipBias, spec.skipBiasType))
    return failure();
  return std::make_pair(spec, operands);
}

//===----------------------------------------------------------------------===//
// Kernel body
//===----------------------------------------------------------------------===//

/// Builds the straight-line body of one kernel. Values named `*s` hold one
/// entry per chunk of the thread.
class KernelBuilder {
public:
  KernelBuilder(ImplicitLocOpBuilder &b, const KernelSpec &spec, gpu::GPUFuncOp func)
      : b(b), spec(spec), func(func) {
    f32 = b.getF32Type();
    chunkType = VectorType::get({spec.vectorWidth}, f32);
  }

  void build();

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value f32Const(double v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(static_cast<float>(v)));
  }
  Value zeroChunk() {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(chunkType, 0.0f));
  }

  /// Bytes of alignment a chunk of `type` elements at a chunk boundary has.
  int64_t alignment(Type type) const {
    return std::min<int64_t>(16, spec.vectorWidth * type.getIntOrFloatBitWidth() / 8);
  }

  /// A `vector<V x T>` load of the chunk at `indices`, in the memory type.
  Value loadRaw(Value memref, ValueRange indices) {
    Type elem = cast<MemRefType>(memref.getType()).getElementType();
    return vector::LoadOp::create(b, VectorType::get({spec.vectorWidth}, elem), memref, indices,
                                  /*nontemporal=*/false, llvm::MaybeAlign(alignment(elem)));
  }
  Value toF32(Value v) {
    if (cast<VectorType>(v.getType()).getElementType().isF32())
      return v;
    return arith::ExtFOp::create(b, chunkType, v);
  }
  Value fromF32(Value v, Type elem) {
    if (elem.isF32())
      return v;
    return arith::TruncFOp::create(b, VectorType::get({spec.vectorWidth}, elem), v);
  }

  /// Runs `body` only for chunks inside the row (`valid` null: always).
  void guarded(Value valid, function_ref<void()> body) {
    if (!valid)
      return body();
    auto ifOp = scf::IfOp::create(b, valid, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    body();
  }
  /// The raw chunk, or zeros past the end of the row.
  Value loadGuarded(Value memref, ValueRange indices, Value valid) {
    if (!valid)
      return loadRaw(memref, indices);
    Type raw =
        VectorType::get({spec.vectorWidth}, cast<MemRefType>(memref.getType()).getElementType());
    auto ifOp = scf::IfOp::create(b, TypeRange{raw}, valid, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, ValueRange{loadRaw(memref, indices)});
      b.setInsertionPointToStart(ifOp.elseBlock());
      auto rawType = cast<VectorType>(raw);
      Value zero = arith::ConstantOp::create(
          b, DenseElementsAttr::get(rawType, b.getFloatAttr(rawType.getElementType(), 0.0)));
      scf::YieldOp::create(b, ValueRange{zero});
    }
    return ifOp.getResult(0);
  }

  /// Sum of a per-thread fp32 value over the threads of one row: a warp
  /// reduction, then (a row over several warps) one workgroup slot per warp
  /// at `slotBase` and a second warp reduction of the slots.
  Value rowSum(Value partial, int64_t slotBase) {
    Value warpSum =
        gpu::SubgroupReduceOp::create(b, partial, gpu::AllReduceOperation::ADD, /*uniform=*/true);
    if (spec.warpPerRow())
      return warpSum;
    int64_t warps = spec.threadsPerRow / kWarpSize;
    Value slots = func.getWorkgroupAttributions().front();
    Value warpId = arith::DivUIOp::create(b, tid, index(kWarpSize));
    Value laneInWarp = arith::RemUIOp::create(b, tid, index(kWarpSize));
    Value leader = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, laneInWarp, index(0));
    guarded(leader, [&] {
      Value slot = arith::AddIOp::create(b, warpId, index(slotBase));
      memref::StoreOp::create(b, warpSum, slots, slot);
    });
    gpu::BarrierOp::create(b);
    Value hasSlot = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, laneInWarp, index(warps));
    auto ifOp = scf::IfOp::create(b, TypeRange{f32}, hasSlot, true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      Value slot = arith::AddIOp::create(b, laneInWarp, index(slotBase));
      scf::YieldOp::create(b, ValueRange{memref::LoadOp::create(b, slots, slot).getResult()});
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, ValueRange{f32Const(0)});
    }
    return gpu::SubgroupReduceOp::create(b, ifOp.getResult(0), gpu::AllReduceOperation::ADD,
                                         /*uniform=*/true);
  }

  Value sumOfChunks(ArrayRef<Value> chunks) {
    Value acc;
    for (Value c : chunks) {
      Value s = vector::ReductionOp::create(b, vector::CombiningKind::ADD, c);
      acc = acc ? arith::AddFOp::create(b, acc, s).getResult() : s;
    }
    return acc;
  }

  /// The first column of each chunk of this thread in a row of `chunks`
  /// chunks, and whether it lies inside the row (null: always).
  void chunkColumns(int64_t chunks, int64_t chunksPerThread, SmallVectorImpl<Value> &cols,
                    SmallVectorImpl<Value> &valids) {
    for (int64_t c = 0; c < chunksPerThread; ++c) {
      Value chunk = arith::AddIOp::create(b, lane, index(c * spec.threadsPerRow));
      // Only the last chunk of a thread can fall past the row end, and only
      // when the row does not split evenly over the threads.
      Value valid;
      if ((c + 1) * spec.threadsPerRow > chunks)
        valid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, chunk, index(chunks));
      valids.push_back(valid);
      cols.push_back(arith::MulIOp::create(b, chunk, index(spec.vectorWidth)));
    }
  }

  /// `1 / sqrt(mean + epsilon)` of a row-summed fp32 statistic.
  Value reciprocalRoot(Value rowTotal, int64_t count) {
    Value mean = arith::MulFOp::create(b, rowTotal, f32Const(1.0 / static_cast<double>(count)));
    return math::RsqrtOp::create(b, arith::AddFOp::create(b, mean, f32Const(spec.epsilon)));
  }

  void storeChunk(Value chunk, Value memref, Value row, Value col, Value valid) {
    guarded(valid, [&] {
      vector::StoreOp::create(b, chunk, memref, ValueRange{row, col},
                              /*nontemporal=*/false, llvm::MaybeAlign(alignment(spec.elementType)));
    });
  }

  /// Runs `body` on the row's first thread only (the others hold the same
  /// row statistics).
  void onFirstThread(function_ref<void()> body) {
    guarded(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0)), body);
  }

  void buildRow(Value row);
  void buildDeferredScaleRow(Value row);

  ImplicitLocOpBuilder &b;
  const KernelSpec &spec;
  gpu::GPUFuncOp func;
  Type f32;
  VectorType chunkType;
  Value tid, lane;
};

void KernelBuilder::build() {
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  if (!spec.warpPerRow()) {
    // One block per row; the grid has exactly `rows` blocks.
    lane = tid;
    spec.deferredScale ? buildDeferredScaleRow(block) : buildRow(block);
    return;
  }
  // One warp per row, `rows_per_block` rows per block; the last block may
  // have warps past the end. The condition is uniform within a warp, as the
  // subgroup reductions require.
  Value x = func.getArgument(0);
  lane = arith::RemUIOp::create(b, tid, index(kWarpSize));
  Value warp = arith::DivUIOp::create(b, tid, index(kWarpSize));
  Value row =
      arith::AddIOp::create(b, arith::MulIOp::create(b, block, index(spec.rowsPerBlock)), warp);
  Value rows = memref::DimOp::create(b, x, 0);
  Value inside = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, rows);
  guarded(inside, [&] { spec.deferredScale ? buildDeferredScaleRow(row) : buildRow(row); });
}

void KernelBuilder::buildRow(Value row) {
  // Arguments in ABI order.
  unsigned next = 0;
  auto arg = [&](bool present) -> Value { return present ? func.getArgument(next++) : Value(); };
  Value x = arg(true), skip = arg(spec.skip), scale = arg(spec.scaleType != nullptr),
        bias = arg(spec.biasType != nullptr), skipBias = arg(spec.skipBiasType != nullptr),
        out = arg(true), sum = arg(spec.skip);

  SmallVector<Value> cols, valids, xs, scales, biases;
  chunkColumns(spec.chunks(), spec.chunksPerThread, cols, valids);
  // Issue every global load of the thread before the first reduction.
  SmallVector<Value> rawX, rawSkip, rawSkipBias;
  for (int64_t c = 0; c < spec.chunksPerThread; ++c) {
    rawX.push_back(loadGuarded(x, {row, cols[c]}, valids[c]));
    if (skip)
      rawSkip.push_back(loadGuarded(skip, {row, cols[c]}, valids[c]));
    if (skipBias)
      rawSkipBias.push_back(loadGuarded(skipBias, cols[c], valids[c]));
    if (scale)
      scales.push_back(loadGuarded(scale, cols[c], valids[c]));
    if (bias)
      biases.push_back(loadGuarded(bias, cols[c], valids[c]));
  }

  for (int64_t c = 0; c < spec.chunksPerThread; ++c) {
    Value v = toF32(rawX[c]);
    if (skip) {
      v = arith::AddFOp::create(b, v, toF32(rawSkip[c]));
      if (skipBias)
        v = arith::AddFOp::create(b, v, toF32(rawSkipBias[c]));
      // The sum is a tensor of the activation type: normalize the rounded
      // value, as the unfused graph does.
      Value rounded = fromF32(v, spec.elementType);
      storeChunk(rounded, sum, row, cols[c], valids[c]);
      v = toF32(rounded);
    }
    xs.push_back(v);
  }

  SmallVector<Value> centered = xs;
  int64_t slotBase = 0;
  if (spec.layerNorm) {
    Value mean = arith::MulFOp::create(b, rowSum(sumOfChunks(xs), slotBase),
                                       f32Const(1.0 / static_cast<double>(spec.hidden)));
    slotBase += spec.threadsPerRow / kWarpSize;
    Value meanChunk = vector::BroadcastOp::create(b, chunkType, mean);
    for (int64_t c = 0; c < spec.chunksPerThread; ++c) {
      centered[c] = arith::SubFOp::create(b, xs[c], meanChunk);
      // Past the row end x is 0 but x - mean is not: keep it out of the variance.
      if (valids[c])
        centered[c] = arith::SelectOp::create(b, valids[c], centered[c], zeroChunk());
    }
  }
  SmallVector<Value> squares;
  for (Value c : centered)
    squares.push_back(arith::MulFOp::create(b, c, c));
  Value rowTotal = rowSum(sumOfChunks(squares), slotBase);
  // crms_norm: the dropped entry is -sum(x); the full row's sum of squares
  // adds its square.
  Value droppedEntry;
  if (spec.compressed) {
    slotBase += spec.threadsPerRow / kWarpSize;
    Value sum = rowSum(sumOfChunks(xs), slotBase);
    droppedEntry = arith::NegFOp::create(b, sum);
    rowTotal = arith::AddFOp::create(b, rowTotal, arith::MulFOp::create(b, sum, sum));
  }
  Value rstd = reciprocalRoot(rowTotal, spec.outHidden());
  Value rstdChunk = vector::BroadcastOp::create(b, chunkType, rstd);

  for (int64_t c = 0; c < spec.chunksPerThread; ++c) {
    Value y = arith::MulFOp::create(b, centered[c], rstdChunk);
    if (scale) {
      Value gain = toF32(scales[c]);
      if (spec.unitOffset)
        gain = arith::AddFOp::create(
            b, gain, arith::ConstantOp::create(b, DenseElementsAttr::get(chunkType, 1.0f)));
      y = arith::MulFOp::create(b, y, gain);
    }
    if (bias)
      y = arith::AddFOp::create(b, y, toF32(biases[c]));
    storeChunk(fromF32(y, spec.elementType), out, row, cols[c], valids[c]);
  }
  if (!spec.compressed)
    return;
  // The last output entry, from the dropped one, by the row's first thread.
  onFirstThread([&] {
    Value last = index(spec.hidden);
    Value y = vector::BroadcastOp::create(b, chunkType, arith::MulFOp::create(b, droppedEntry, rstd));
    if (scale)
      y = arith::MulFOp::create(b, y, toF32(loadRaw(scale, last)));
    if (bias)
      y = arith::AddFOp::create(b, y, toF32(loadRaw(bias, last)));
    storeChunk(fromF32(y, spec.elementType), out, row, last, /*valid=*/Value());
  });
}

void KernelBuilder::buildDeferredScaleRow(Value row) {
  // (value, input, out), or (input, out) for the factors alone.
  Value value = spec.factorsOnly ? Value() : func.getArgument(0);
  Value input = func.getArgument(spec.factorsOnly ? 0 : 1);
  Value out = func.getArgument(spec.factorsOnly ? 1 : 2);
  SmallVector<Value> inputCols, inputValids, valueCols, valueValids;
  chunkColumns(spec.chunks(), spec.chunksPerThread, inputCols, inputValids);
  chunkColumns(spec.valueChunks(), spec.valueChunksPerThread, valueCols, valueValids);
  // Both rows are loaded before the reduction: the value row is read once
  // and its loads overlap the statistic's.
  SmallVector<Value> squares, values;
  for (int64_t c = 0; c < spec.chunksPerThread; ++c) {
    Value x = toF32(loadGuarded(input, {row, inputCols[c]}, inputValids[c]));
    squares.push_back(arith::MulFOp::create(b, x, x));
  }
  for (int64_t c = 0; c < spec.valueChunksPerThread; ++c)
    values.push_back(loadGuarded(value, {row, valueCols[c]}, valueValids[c]));
  Value rstd = reciprocalRoot(rowSum(sumOfChunks(squares), /*slotBase=*/0), spec.hidden);
  if (spec.factorsOnly) {
    onFirstThread([&] { memref::StoreOp::create(b, rstd, out, ValueRange{row, index(0)}); });
    return;
  }
  Value rstdChunk = vector::BroadcastOp::create(b, chunkType, rstd);
  for (int64_t c = 0; c < spec.valueChunksPerThread; ++c) {
    Value y = arith::MulFOp::create(b, toF32(values[c]), rstdChunk);
    storeChunk(fromF32(y, spec.elementType), out, row, valueCols[c], valueValids[c]);
  }
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertNormToGPUPass : public impl::ConvertNormToGPUBase<ConvertNormToGPUPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Picks the launch shape; a reason when the row does not fit.
  LogicalResult chooseShape(KernelSpec &spec, std::string &reason);
  gpu::GPUFuncOp buildKernel(gpu::GPUModuleOp kernels, const KernelSpec &spec, StringRef name,
                             Location loc);
  void buildLauncher(ModuleOp module, gpu::GPUFuncOp kernel, const KernelSpec &spec, Location loc);
};

LogicalResult ConvertNormToGPUPass::chooseShape(KernelSpec &spec, std::string &reason) {
  // 128-bit chunks, narrower when the row size does not allow them.
  spec.vectorWidth = 128 / spec.elementType.getWidth();
  // A crms_norm row of d - 1 and its output of d elements share no factor
  // of two: its kernel reads and writes scalars.
  while (spec.hidden % spec.vectorWidth != 0 || spec.valueHidden % spec.vectorWidth != 0 ||
         spec.outHidden() % spec.vectorWidth != 0)
    spec.vectorWidth /= 2;
  int64_t chunks = spec.widestRow() / spec.vectorWidth;
  if (spec.widestRow() <= warpRowLimit) {
    spec.threadsPerRow = kWarpSize;
    spec.rowsPerBlock = rowsPerBlock;
  } else if (threadsPerRow > 0) {
    spec.threadsPerRow = threadsPerRow;
    spec.rowsPerBlock = 1;
  } else {
    // About 16 elements per thread: enough bytes in flight per thread, few
    // enough registers that a block of up to 1024 threads still fits.
    // Scalar rows (crms_norm) take 8: at 16, ptxas spilled 32 bytes for an
    // f16 row of 4095 (ptxas.mlir).
    int64_t targetElements = spec.vectorWidth == 1 ? 8 : 16;
    int64_t targetChunks = std::max<int64_t>(1, targetElements / spec.vectorWidth);
    int64_t threads = 2 * kWarpSize;
    while (threads < kMaxBlockThreads && threads * targetChunks < chunks)
      threads *= 2;
    spec.threadsPerRow = threads;
    spec.rowsPerBlock = 1;
  }
  spec.chunksPerThread = llvm::divideCeil(spec.chunks(), spec.threadsPerRow);
  spec.valueChunksPerThread = llvm::divideCeil(spec.valueChunks(), spec.threadsPerRow);
  // rms_scale holds the input's squares and the value row at once.
  int64_t elements = (spec.chunksPerThread + spec.valueChunksPerThread) * spec.vectorWidth;
  if (elements > maxElementsPerThread) {
    reason =
        llvm::formatv("a row of {0} elements needs {1} elements per thread "
                      "with {2} threads, more than the {3} kept in "
                      "registers (max-elements-per-thread)",
                      spec.widestRow(), elements, spec.threadsPerRow,
                      maxElementsPerThread.getValue())
            .str();
    return failure();
  }
  // ptxas caps a thread at 65536 / block-threads registers (255 at most);
  // past that the row spills to local memory. Estimate what the unrolled
  // row needs: its fp32 values, the weights kept in their storage type
  // (loaded before the reductions), and a few dozen for addresses and sums.
  // Calibrated on the ptxas -v register counts in
  // test/Conversion/NormToGPU/ptxas.mlir.
  double perElement = 1.0;
  for (FloatType weight : {spec.scaleType, spec.biasType, spec.skipBiasType})
    if (weight)
      perElement += weight.getWidth() / 32.0;
  int64_t estimate = static_cast<int64_t>(elements * perElement) + 16;
  int64_t blockThreads = spec.threadsPerRow * spec.rowsPerBlock;
  int64_t budget = std::min<int64_t>(255, 65536 / blockThreads);
  if (estimate >= budget) { // Conservative: at the cap ptxas may spill a few bytes.
    reason = llvm::formatv("a row of {0} elements needs about {1} registers "
                           "per thread ({2} elements per thread), not below "
                           "the {3} a block of {4} threads gets: it would "
                           "spill to local memory",
                           spec.widestRow(), estimate, elements, budget, blockThreads)
                 .str();
    return failure();
  }
  return success();
}

/// The kernel's argument types in ABI order, with their names.
SmallVector<std::pair<StringRef, Type>> kernelArguments(const KernelSpec &spec) {
  auto rowsType = MemRefType::get({ShapedType::kDynamic, spec.hidden}, spec.elementType);
  if (spec.factorsOnly)
    return {{"input", rowsType},
            {"out", MemRefType::get({ShapedType::kDynamic, 1}, Float32Type::get(rowsType.getContext()))}};
  if (spec.deferredScale) {
    auto valueType = MemRefType::get({ShapedType::kDynamic, spec.valueHidden}, spec.elementType);
    return {{"value", valueType}, {"input", rowsType}, {"out", valueType}};
  }
  auto weight = [&](FloatType t) { return MemRefType::get({spec.outHidden()}, t); };
  auto outType = MemRefType::get({ShapedType::kDynamic, spec.outHidden()}, spec.elementType);
  SmallVector<std::pair<StringRef, Type>> args{{"x", rowsType}};
  if (spec.skip)
    args.push_back({"skip", rowsType});
  if (spec.scaleType)
    args.push_back({"scale", weight(spec.scaleType)});
  if (spec.biasType)
    args.push_back({"bias", weight(spec.biasType)});
  if (spec.skipBiasType)
    args.push_back({"skip_bias", weight(spec.skipBiasType)});
  args.push_back({"out", outType});
  if (spec.skip)
    args.push_back({"sum", rowsType});
  return args;
}

gpu::GPUFuncOp ConvertNormToGPUPass::buildKernel(gpu::GPUModuleOp kernels, const KernelSpec &spec,
                                                 StringRef name, Location loc) {
  MLIRContext *ctx = &getContext();
  SmallVector<Type> argTypes;
  SmallVector<Attribute> argNames;
  for (auto [argName, type] : kernelArguments(spec)) {
    argTypes.push_back(type);
    argNames.push_back(StringAttr::get(ctx, argName));
  }
  SmallVector<Type> workgroup;
  if (!spec.warpPerRow()) {
    // One slot per warp for each of the reductions (two for LayerNorm).
    int64_t slots = (spec.layerNorm || spec.compressed ? 2 : 1) * (spec.threadsPerRow / kWarpSize);
    workgroup.push_back(
        MemRefType::get({slots}, Float32Type::get(ctx), MemRefLayoutAttrInterface{},
                        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)));
  }
  OpBuilder builder = OpBuilder::atBlockEnd(kernels.getBody());
  auto func =
      gpu::GPUFuncOp::create(builder, loc, name, FunctionType::get(ctx, argTypes, {}), workgroup);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  int32_t blockThreads = spec.threadsPerRow * spec.rowsPerBlock;
  func.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr({blockThreads, 1, 1}));
  func->setAttr("norm.kind", builder.getStringAttr(spec.kind));
  func->setAttr("norm.hidden", builder.getI64IntegerAttr(spec.hidden));
  if (spec.deferredScale && !spec.factorsOnly)
    func->setAttr("norm.value_hidden", builder.getI64IntegerAttr(spec.valueHidden));
  func->setAttr("norm.epsilon", builder.getF32FloatAttr(spec.epsilon));
  if (spec.unitOffset)
    func->setAttr("norm.unit_offset", builder.getUnitAttr());
  func->setAttr("norm.threads_per_row", builder.getI64IntegerAttr(spec.threadsPerRow));
  func->setAttr("norm.rows_per_block", builder.getI64IntegerAttr(spec.rowsPerBlock));
  func->setAttr("norm.vector_width", builder.getI64IntegerAttr(spec.vectorWidth));
  func->setAttr("norm.elements_per_thread",
                builder.getI64IntegerAttr((spec.chunksPerThread + spec.valueChunksPerThread) *
                                          spec.vectorWidth));
  func->setAttr("norm.arguments", builder.getArrayAttr(argNames));

  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  KernelBuilder(b, spec, func).build();
  gpu::ReturnOp::create(b);
  return func;
}

void ConvertNormToGPUPass::buildLauncher(ModuleOp module, gpu::GPUFuncOp kernel,
                                         const KernelSpec &spec, Location loc) {
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  auto type = FunctionType::get(&getContext(), kernel.getArgumentTypes(), {});
  auto launcher = func::FuncOp::create(builder, loc, (kernel.getName() + "_launch").str(), type);
  launcher->setAttr("norm.gpu_launcher",
                    SymbolRefAttr::get(builder.getStringAttr(kKernelModule),
                                       {FlatSymbolRefAttr::get(kernel.getNameAttr())}));
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(launcher.addEntryBlock());
  Value rows = memref::DimOp::create(b, launcher.getArgument(0), 0);
  Value rowsPerBlock = arith::ConstantIndexOp::create(b, spec.rowsPerBlock);
  Value grid = arith::CeilDivUIOp::create(b, rows, rowsPerBlock);
  Value one = arith::ConstantIndexOp::create(b, 1);
  Value threads = arith::ConstantIndexOp::create(b, spec.threadsPerRow * spec.rowsPerBlock);
  // An empty grid is a launch error: skip the launch for zero rows.
  Value any = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, rows,
                                    arith::ConstantIndexOp::create(b, 0));
  auto ifOp = scf::IfOp::create(b, any, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifOp.thenBlock());
  gpu::LaunchFuncOp::create(b, kernel, gpu::KernelDim3{grid, one, one},
                            gpu::KernelDim3{threads, one, one},
                            /*dynamicSharedMemorySize=*/Value(), launcher.getArguments());
  b.setInsertionPointAfter(ifOp);
  func::ReturnOp::create(b);
}

void ConvertNormToGPUPass::runOnOperation() {
  ModuleOp module = getOperation();
  norm::ReportBatch reportBatch(module);
  if (rowsPerBlock < 1 || rowsPerBlock * kWarpSize > kMaxBlockThreads) {
    module.emitError() << "rows-per-block must be in [1, " << kMaxBlockThreads / kWarpSize << "]";
    return signalPassFailure();
  }
  if (threadsPerRow != 0 && (threadsPerRow % kWarpSize != 0 || threadsPerRow < 2 * kWarpSize ||
                             threadsPerRow > kMaxBlockThreads)) {
    module.emitError() << "threads-per-row must be 0 or a multiple of 32 in [64, "
                       << kMaxBlockThreads << "]";
    return signalPassFailure();
  }

  if (deferredScale != "fused" && deferredScale != "factors") {
    module.emitError() << "deferred-scale must be fused or factors";
    return signalPassFailure();
  }

  SmallVector<Operation *> norms;
  module.walk([&](Operation *op) {
    if (isa<norm::NormDialect>(op->getDialect()) && !op->hasAttr("norm.gpu_kernel"))
      norms.push_back(op);
  });
  if (norms.empty())
    return;

  SymbolTable moduleSymbols(module);
  gpu::GPUModuleOp kernels;
  if (auto existing = moduleSymbols.lookup<gpu::GPUModuleOp>(kKernelModule)) {
    kernels = existing;
  }
  // Norms converted by an earlier run keep their kernels; this run's
  // kernels get fresh names.
  llvm::StringMap<gpu::GPUFuncOp> byKey;

  for (Operation *op : norms) {
    std::string reason;
    auto described = describeNorm(op, deferredScale == "factors", reason);
    if (failed(described)) {
      norm::recordNormRefusal(op, kPassName, reason);
      continue;
    }
    KernelSpec spec = described->first;
    if (failed(chooseShape(spec, reason))) {
      norm::recordNormRefusal(op, kPassName, reason);
      continue;
    }
    std::string key = spec.key();
    gpu::GPUFuncOp kernel = byKey.lookup(key);
    if (!kernel) {
      if (!kernels) {
        OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
        kernels = gpu::GPUModuleOp::create(builder, module.getLoc(), kKernelModule);
        moduleSymbols.insert(kernels);
        module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), builder.getUnitAttr());
      }
      // Unique among kernels and the launchers' `<name>_launch`.
      SymbolTable kernelSymbols(kernels);
      std::string name = spec.baseName();
      for (int i = 1; kernelSymbols.lookup(name) || moduleSymbols.lookup(name + "_launch"); ++i)
        name = spec.baseName() + "_" + std::to_string(i);
      kernel = buildKernel(kernels, spec, name, op->getLoc());
      buildLauncher(module, kernel, spec, op->getLoc());
      byKey[key] = kernel;
    }
    op->setAttr("norm.gpu_kernel",
                SymbolRefAttr::get(StringAttr::get(&getContext(), kKernelModule),
                                   {FlatSymbolRefAttr::get(kernel.getNameAttr())}));
    norm::recordNormAction(op, kPassName, "lowered", ("GPU kernel " + kernel.getName()).str());
  }
}

//===----------------------------------------------------------------------===//
// Subgroup reductions to shuffles
//===----------------------------------------------------------------------===//

struct NormLowerSubgroupReducePass
    : public impl::NormLowerSubgroupReduceBase<NormLowerSubgroupReducePass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateGpuLowerSubgroupReduceToShufflePatterns(patterns, subgroupSize,
                                                    /*shuffleBitwidth=*/32);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
