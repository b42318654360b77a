//===- Passes.td - conversion passes ------------------------*- tablegen -*-===//
#ifndef NORM_OPT_CONVERSION_PASSES_TD
#define NORM_OPT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNormToONNX : Pass<"convert-norm-to-onnx", "ModuleOp"> {
  let summary = "Express norm ops in standard ONNX ops for the model's opset";
  let description = [{
    Run by the exporter before writing a model; also usable on its own.

    A norm that no pass changed is written back as the nodes it was
    recognized from (its `original` region: the same nodes, attributes,
    names and constants), so that a round trip gives the model back node for
    node. Every other norm is written in the canonical spelling:

    - `norm.layer_norm` -> `LayerNormalization` at opset >= 17, else the
      decomposition `ReduceMean, Sub, Pow(2), ReduceMean, Add, Sqrt, Div, Mul,
      Add` (statistics in fp32: fp16/bf16 inputs are cast around them);
    - `norm.rms_norm` -> `RMSNormalization` at opset >= 23, else
      `Pow(2), ReduceMean, Add, Sqrt, Div, Mul` (docs/Rationale.md says why
      this form and not onnxruntime's `SimplifiedLayerNormalization`, and why
      the square is a `Pow`: it is the spelling onnxruntime fuses);
    - `norm.batch_norm` -> `BatchNormalization`;
    - `norm.skip_layer_norm` / `norm.skip_rms_norm` -> `com.microsoft`
      `SkipLayerNormalization` / `SkipSimplifiedLayerNormalization`.

    A weightless norm gets an all-ones scale where the ONNX op requires one.
    Node names derive from the norm's name; the final node keeps the norm's
    output name.
  }];
  let options = [
    Option<"originalSpelling", "original-spelling", "bool", /*default=*/"true",
           "Write an unchanged norm back as the nodes it was recognized from">
  ];
  let dependentDialects = ["::mlir::onnxir::ONNXDialect"];
}

def ConvertNormToGPU : Pass<"convert-norm-to-gpu", "ModuleOp"> {
  let summary = "Generate one fused GPU kernel (gpu.func) and a host launcher per norm";
  let description = [{
    For every `norm.rms_norm`, `norm.layer_norm`, `norm.skip_rms_norm`,
    `norm.skip_layer_norm`, `norm.crms_norm` and `norm.rms_scale` whose
    normalized size is static, emits a kernel
    into `gpu.module @norm_kernels` and a host function of the same name
    that launches it with `gpu.launch_func`. The norm op stays in the graph
    (the rest of an ONNX model is not lowered) and points at its kernel with
    `norm.gpu_kernel`; norms with the same kind, types, size and attributes
    share one kernel.

    Kernel ABI (bufferized boundary, 2-D row-major memrefs, 16-byte aligned
    base pointers): `(x, [skip], [scale], [bias], [skip_bias], out, [sum])`
    with `x/skip/out/sum : memref<?xHxT>` and the weights `memref<HxTw>`.
    `norm.crms_norm` takes `x : memref<?x(d-1)xT>` and writes
    `out : memref<?xdxT>` with `d`-element weights.
    `norm.rms_scale %v by %x` (FlashNorm's deferred 1/RMS) gets, with
    `deferred-scale=fused`, a kernel `(value, input, out)` that computes the
    statistic of the `input` row and writes the scaled `value` row; with
    `deferred-scale=factors`, a kernel `(input, out : memref<?x1xf32>)` that
    writes only the per-row factor `1/sqrt(mean(x^2) + eps)`, for a matmul
    whose epilogue applies it (a per-row alpha vector).
    An input of higher rank is flattened to `[rows, H]` by the caller
    (`memref.collapse_shape`): the normalized dims are the trailing ones.

    Kernel shape (docs/GPU.md): the row lives in registers, each thread owns
    `norm.elements_per_thread` elements loaded with 128-bit vector loads
    (`norm.vector_width` elements), statistics in fp32, warp reductions with
    `gpu.subgroup_reduce add` and one workgroup-memory slot per warp when a
    row spans several warps; LayerNorm subtracts the mean from the registers
    before the variance. Rows up to `warp-row-limit` elements get one warp
    each (`norm.rows_per_block` warps per block), wider rows one block each
    (`norm.threads_per_row` threads).

    Refused, with a remark and a `norm.report` entry: dynamic or unranked
    normalized dims, axis 0 (no rows), weights that broadcast, non
    f32/f16/bf16 types, rows too wide to keep in registers, `norm.batch_norm`.
  }];
  let options = [
    Option<"warpRowLimit", "warp-row-limit", "int64_t", "1024",
           "Widest row (elements) handled by one warp; wider rows get a block">,
    Option<"rowsPerBlock", "rows-per-block", "int64_t", "4",
           "Rows (one per warp) per block for narrow rows">,
    Option<"threadsPerRow", "threads-per-row", "int64_t", "0",
           "Threads per row for wide rows (0: chosen from the row size)">,
    Option<"maxElementsPerThread", "max-elements-per-thread", "int64_t", "64",
           "Refuse rows that would need more elements per thread than this">,
    Option<"deferredScale", "deferred-scale", "std::string", "\"fused\"",
           "norm.rms_scale kernels: `fused` (read the value row, write it "
           "scaled) or `factors` (write only the per-row 1/RMS, for a matmul "
           "epilogue)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def NormLowerSubgroupReduce
    : Pass<"norm-lower-subgroup-reduce", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Expand gpu.subgroup_reduce into butterfly gpu.shuffle ops";
  let description = [{
    The upstream NVVM lowering only handles integer `gpu.subgroup_reduce`
    (redux.sync); the fp32 reductions of the norm kernels become
    `log2(subgroup-size)` xor shuffles (SHFL.BFLY in SASS) through the
    upstream `populateGpuLowerSubgroupReduceToShufflePatterns`.
  }];
  let options = [
    Option<"subgroupSize", "subgroup-size", "unsigned", "32", "Warp size">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def ConvertNormToLinalg : Pass<"convert-norm-to-linalg", "ModuleOp"> {
  let summary = "Lower norm ops to linalg on tensors (the CPU reference path)";
  let description = [{
    Rewrites `norm.rms_norm`, `norm.layer_norm`, `norm.crms_norm`,
    `norm.skip_rms_norm`, `norm.skip_layer_norm` and `norm.rms_scale` into
    `linalg.generic` reductions and elementwise maps on tensors, with
    statistics in fp32 (or the widest operand type when wider) and
    LayerNorm's variance taken around the mean. `crms_norm` restores its
    last entry `-sum(x)` in the statistics type (a `tensor.concat`) and is
    then an RMSNorm over the full row. Upstream bufferization
    and LLVM lowering then run them on the CPU (test/Conversion/NormToLinalg
    runs them with mlir-runner against a float64 reference): the CPU
    numerics path beside the GPU kernels of convert-norm-to-gpu.

    Refused (remark and report entry): unranked inputs, weights or
    `rms_scale` values, and dynamic normalized dims of the input.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

#endif
