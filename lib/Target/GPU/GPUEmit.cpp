//===- GPUEmit.cpp - norm kernels to PTX / cubin ---------------------------===//
//
// The kernels are lowered in a module of their own (the gpu.module and the
// host launchers): the graph around the norms is ONNX on tensors, which the
// NVVM pipeline's host lowering cannot and need not handle.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Target/GPU/GPUEmit.h"

#include "norm-opt/Conversion/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUCommon/GPUToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

using namespace mlir;

constexpr llvm::StringLiteral kKernelModule = "norm_kernels";

void norm::registerGPUEmitDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, cf::ControlFlowDialect, gpu::GPUDialect, index::IndexDialect,
                  LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect, NVVM::NVVMDialect,
                  scf::SCFDialect, ub::UBDialect, vector::VectorDialect>();
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);
  gpu::registerConvertGpuToLLVMInterface(registry);
  NVVM::registerConvertGpuToNVVMInterface(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
}

FailureOr<std::string> norm::emitGPUKernels(ModuleOp module, const GPUEmitOptions &options) {
  auto kernels = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
  if (!kernels || kernels.getOps<gpu::GPUFuncOp>().empty())
    return emitError(module.getLoc(), "no norm was lowered to a GPU kernel (the report "
                                      "and --summary say why)");

  // The kernels and their launchers, without the graph.
  MLIRContext *ctx = module.getContext();
  OwningOpRef<ModuleOp> lowered = ModuleOp::create(module.getLoc());
  (*lowered)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
  OpBuilder builder = OpBuilder::atBlockEnd(lowered->getBody());
  builder.clone(*kernels);
  for (auto func : module.getOps<func::FuncOp>())
    if (func->hasAttr("norm.gpu_launcher"))
      builder.clone(*func);

  auto printed = [](Operation *op) {
    std::string text;
    llvm::raw_string_ostream os(text);
    op->print(os);
    os << "\n";
    return text;
  };

  PassManager pm(ctx);
  // --mlir-print-ir-after-all and --mlir-timing see this pipeline too.
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  pm.addNestedPass<gpu::GPUModuleOp>(createNormLowerSubgroupReduce());
  if (options.stage == GPUEmitStage::KernelsMLIR) {
    if (failed(pm.run(*lowered)))
      return failure();
    return printed(*lowered);
  }
  bool cubin = options.stage == GPUEmitStage::Cubin;
  gpu::GPUToNVVMPipelineOptions pipeline;
  pipeline.cubinChip = options.chip;
  pipeline.cubinFeatures = options.features;
  pipeline.cubinFormat = cubin ? "bin" : "isa";
  gpu::buildLowerToNVVMPassPipeline(pm, pipeline);
  // The NVVM stage is the input of the pipeline's last pass,
  // gpu-module-to-binary: capture it there rather than rebuild upstream's
  // pipeline without that pass.
  std::string nvvm;
  if (options.stage == GPUEmitStage::NVVMMLIR) {
    auto stream = std::make_unique<llvm::raw_string_ostream>(nvvm);
    pm.enableIRPrinting(
        [](Pass *pass, Operation *) { return pass->getArgument() == "gpu-module-to-binary"; },
        [](Pass *, Operation *) { return false; }, /*printModuleScope=*/false,
        /*printAfterOnlyOnChange=*/false, /*printAfterOnlyOnFailure=*/false, *stream);
    if (failed(pm.run(*lowered)))
      return failure();
    stream.reset();
    // Drop the instrumentation's `// -----// IR Dump ... //----- //` header.
    size_t body = nvvm.find('\n');
    return body == std::string::npos ? nvvm : nvvm.substr(body + 1);
  }
  if (failed(pm.run(*lowered)))
    return failure();

  auto binary = lowered->lookupSymbol<gpu::BinaryOp>(kKernelModule);
  if (!binary || binary.getObjects().size() != 1)
    return emitError(module.getLoc(), "the NVVM pipeline produced no gpu.binary");
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  std::string bytes = object.getObject().getValue().str();
  // Without the CUDA toolkit MLIR cannot link libdevice and leaves the math
  // functions as externs that ptxas then rejects: fail here instead.
  if (!cubin && StringRef(bytes).contains(".extern .func") &&
      StringRef(bytes).contains("__nv_"))
    return emitError(module.getLoc(), "the PTX calls libdevice functions that were not linked: set "
                                      "CUDA_ROOT to the CUDA toolkit (which holds nvvm/libdevice)");
  return bytes;
}

llvm::json::Object norm::describeGPUKernels(ModuleOp module, const GPUEmitOptions &options) {
  llvm::json::Array list;
  auto typeName = [](Type type) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << type;
    return s;
  };
  if (auto kernels = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule))
    for (auto kernel : kernels.getOps<gpu::GPUFuncOp>()) {
      auto intAttr = [&](StringRef name) {
        auto attr = kernel->getAttrOfType<IntegerAttr>(name);
        return attr ? attr.getInt() : int64_t(0);
      };
      llvm::json::Array args;
      auto names = kernel->getAttrOfType<ArrayAttr>("norm.arguments");
      for (auto [i, type] : llvm::enumerate(kernel.getArgumentTypes())) {
        auto memref = cast<MemRefType>(type);
        args.push_back(llvm::json::Object{
            {"name", names ? cast<StringAttr>(names[i]).getValue() : StringRef("?")},
            {"element_type", typeName(memref.getElementType())},
            {"rank", memref.getRank()},
            // The static row size (rows are the dynamic leading dim).
            {"cols", memref.getShape().back()}});
      }
      int64_t threadsPerRow = intAttr("norm.threads_per_row");
      int64_t rowsPerBlock = intAttr("norm.rows_per_block");
      auto eps = kernel->getAttrOfType<FloatAttr>("norm.epsilon");
      list.push_back(llvm::json::Object{
          {"name", kernel.getName()},
          {"kind", kernel->getAttrOfType<StringAttr>("norm.kind").getValue()},
          {"element_type",
           typeName(cast<MemRefType>(kernel.getArgumentTypes()[0]).getElementType())},
          {"hidden", intAttr("norm.hidden")},
          {"value_hidden", intAttr("norm.value_hidden")},
          {"epsilon", eps ? eps.getValueAsDouble() : 0.0},
          {"unit_offset", kernel->hasAttr("norm.unit_offset")},
          {"threads_per_row", threadsPerRow},
          {"rows_per_block", rowsPerBlock},
          {"block_threads", threadsPerRow * rowsPerBlock},
          {"vector_width", intAttr("norm.vector_width")},
          {"elements_per_thread", intAttr("norm.elements_per_thread")},
          {"arguments", std::move(args)}});
    }
  return llvm::json::Object{{"chip", options.chip},
                            {"features", options.features},
                            {"abi", "memref-descriptor"},
                            {"kernels", std::move(list)}};
}
