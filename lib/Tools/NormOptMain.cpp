//===- NormOptMain.cpp - the norm-opt driver ------------------------------===//
//
// norm-opt is mlir-opt for ONNX files: the same pass flags, --pass-pipeline
// and -o, with ONNX models read and written by file extension (or --emit).
// An .mlir input with .mlir output goes straight to MlirOptMain, so lit tests
// get -split-input-file and -verify-diagnostics unchanged.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Tools/NormOptMain.h"

#include "norm-opt/Conversion/Passes.h"
#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/Passes.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"
#include "norm-opt/Support/OutputFile.h"
#include "norm-opt/Target/GPU/GPUEmit.h"
#include "norm-opt/Target/ONNX/ONNXExport.h"
#include "norm-opt/Target/ONNX/ONNXImport.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace mlir;
using namespace llvm;

void mlir::registerNormOptDialects(DialectRegistry &registry) {
  registry.insert<norm::NormDialect, onnxir::ONNXDialect, func::FuncDialect>();
  norm::registerGPUEmitDialects(registry);
  // convert-norm-to-linalg's output and the CPU test harness around it.
  registry.insert<bufferization::BufferizationDialect, linalg::LinalgDialect,
                  tensor::TensorDialect>();
}

void mlir::registerNormOptPasses() {
  norm::registerNormPasses();
  norm::registerNormOptimizePipeline();
  registerConversionPasses();
  // The generic MLIR passes a user may want in a pipeline.
  registerCanonicalizerPass();
  registerCSEPass();
  registerSymbolDCEPass();
}

namespace {

enum class Format { MLIR, ONNX, ONNXText, GPUMLIR, NVVMMLIR, PTX, Cubin };

std::optional<Format> formatFromExtension(StringRef path) {
  if (path.ends_with(".onnx"))
    return Format::ONNX;
  if (path.ends_with(".onnxtxt"))
    return Format::ONNXText;
  if (path.ends_with(".ptx"))
    return Format::PTX;
  if (path.ends_with(".cubin"))
    return Format::Cubin;
  if (path.ends_with(".mlir") || path == "-")
    return Format::MLIR;
  return std::nullopt;
}

/// norm-opt's own options, in a --help section of their own.
cl::OptionCategory &normOptCategory() {
  static cl::OptionCategory category("norm-opt options");
  return category;
}

struct Options {
  cl::opt<std::string> input{cl::Positional,
                             cl::desc("<input .onnx/.onnxtxt/.mlir>"),
                             cl::init("-"), cl::cat(normOptCategory())};
  cl::opt<std::string> output{
      "o", cl::desc("Output file (format from its extension)"),
      cl::value_desc("filename"), cl::init("-"), cl::cat(normOptCategory())};
  cl::opt<std::string> emit{
      "emit",
      cl::desc("Output format: mlir, onnx, onnx-text, or the norms as fused "
               "GPU kernels (convert-norm-to-gpu after the passes, then the "
               "NVVM pipeline) at a stage: gpu-mlir (gpu dialect), nvvm-mlir "
               "(LLVM/NVVM dialects), ptx, cubin (default: from -o's "
               "extension, else mlir)"),
      cl::init(""), cl::cat(normOptCategory())};
  cl::opt<std::string> report{"report",
                              cl::desc("Write a JSON report of what was found "
                                       "and done to every norm (- for stdout)"),
                              cl::value_desc("filename"), cl::init(""),
                              cl::cat(normOptCategory())};
  cl::opt<bool> summary{
      "summary", cl::desc("Print a short summary of the norms to stderr"),
      cl::init(false), cl::cat(normOptCategory())};
  cl::opt<bool> recognize{
      "recognize",
      cl::desc("Recognize normalization layers when reading an ONNX model"),
      cl::init(true), cl::cat(normOptCategory())};
  cl::opt<std::string> gpuChip{
      "gpu-chip", cl::desc("GPU architecture for --emit=nvvm-mlir/ptx/cubin"),
      cl::init("sm_90"), cl::cat(normOptCategory())};
  cl::opt<std::string> gpuFeatures{
      "gpu-features", cl::desc("PTX ISA version for --emit=nvvm-mlir/ptx/cubin"),
      cl::init("+ptx80"), cl::cat(normOptCategory())};
  cl::opt<std::string> gpuManifest{
      "gpu-manifest",
      cl::desc("With a GPU --emit: write a JSON description of the "
               "kernels (launch shape, arguments) for norm-gpu-runner"),
      cl::value_desc("filename"), cl::init(""), cl::cat(normOptCategory())};
  cl::opt<bool> quiet{"quiet",
                      cl::desc("Show no progress on stderr (shown by default when "
                               "stderr is a terminal and the run takes over 2 s)"),
                      cl::init(false), cl::cat(normOptCategory())};
  cl::opt<std::string> externalData{
      "external-data",
      cl::desc("Write weights to <output>.data: auto (as the input did, or "
               "above 2 GB), always, never"),
      cl::init("auto"), cl::cat(normOptCategory())};
};

/// The node name and file a location refers to. An unnamed node is named
/// by its first output (the importer's kNodeOutputLocAttr).
void describeLocation(Location loc, std::string &file, std::string &node) {
  std::string output;
  loc->walk([&](Location inner) {
    if (auto name = dyn_cast<NameLoc>(inner); name && node.empty())
      node = "node '" + name.getName().str() + "'";
    if (auto fused = dyn_cast<FusedLoc>(inner))
      if (auto info = dyn_cast_or_null<DictionaryAttr>(fused.getMetadata()))
        if (auto out = info.getAs<StringAttr>(onnxir::kNodeOutputLocAttr);
            out && output.empty())
          output = "node producing '" + out.str() + "'";
    if (auto fileLoc = dyn_cast<FileLineColLoc>(inner); fileLoc && file.empty()) {
      file = fileLoc.getFilename().str();
      if (fileLoc.getLine() != 0)
        file += ":" + std::to_string(fileLoc.getLine()) + ":" +
                std::to_string(fileLoc.getColumn());
    }
    return WalkResult::advance();
  });
  if (node.empty())
    node = output;
}

/// Prints diagnostics as `norm-opt: error: FILE: node 'NAME': message`.
LogicalResult printDiagnostic(Diagnostic &diag) {
  std::string file, node;
  describeLocation(diag.getLocation(), file, node);
  raw_ostream &os = errs();
  os << "norm-opt: ";
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error: os << "error: "; break;
  case DiagnosticSeverity::Warning: os << "warning: "; break;
  case DiagnosticSeverity::Remark: os << "remark: "; break;
  case DiagnosticSeverity::Note: os << "note: "; break;
  }
  // Names come from the model: escaped, so that the message stays one line.
  if (!file.empty())
    os << normopt::escapeForMessage(file) << ": ";
  if (!node.empty())
    os << normopt::escapeForMessage(node) << ": ";
  os << normopt::escapeForMessage(diag.str()) << "\n";
  for (Diagnostic &note : diag.getNotes())
    (void)printDiagnostic(note);
  return success();
}

void printSummary(const norm::NormReport &report) {
  raw_ostream &os = errs();
  os << "norm-opt: norms in the output:";
  for (StringRef kind : {"layer_norm", "rms_norm", "crms_norm", "batch_norm", "skip_layer_norm",
                         "skip_rms_norm", "rms_scale"}) {
    auto it = report.counts.find(kind.str());
    if (it != report.counts.end() && it->second)
      os << " " << kind << "=" << it->second;
  }
  os << "\n";
  for (const norm::NormReport::Norm &norm : report.norms) {
    os << "  " << norm.name << " (" << norm.kind << "): " << norm.getAction();
    if (!norm.getReason().empty())
      os << " - " << norm.getReason();
    os << "\n";
  }
}

/// Reports an error of norm-opt itself (no location): one line.
LogicalResult fail(const Twine &message) {
  errs() << "norm-opt: error: " << normopt::escapeForMessage(message.str()) << "\n";
  return failure();
}

/// The outputs of a run: files are written to temporaries and committed
/// together at the end; what goes to stdout is held until then too, so that
/// a failure writes nothing anywhere.
struct RunOutputs {
  normopt::OutputFiles files;
  std::string stdoutText;

  LogicalResult writeText(StringRef path,
                          llvm::function_ref<void(raw_ostream &)> write) {
    if (path == "-") {
      raw_string_ostream os(stdoutText);
      write(os);
      return success();
    }
    Expected<normopt::AtomicFile &> file = files.create(path);
    if (!file)
      return fail(toString(file.takeError()));
    write(file->os());
    return success();
  }

  LogicalResult commit() {
    if (Error error = files.commit())
      return fail(toString(std::move(error)));
    if (!stdoutText.empty()) {
      outs() << stdoutText;
      outs().flush();
      if (std::error_code ec = outs().error()) {
        outs().clear_error();
        return fail("cannot write to stdout: " + ec.message());
      }
    }
    return success();
  }
};

/// Refuses outputs that would overwrite the input or each other (a report
/// written over the model it describes).
LogicalResult checkOutputPaths(const Options &opts, bool onnxOutput) {
  SmallVector<std::pair<std::string, std::string>> paths; // {what, path}
  if (opts.output != "-") {
    paths.push_back({"-o", opts.output});
    if (onnxOutput)
      paths.push_back({"-o's external data", opts.output + ".data"});
  }
  if (!opts.report.empty() && opts.report != "-")
    paths.push_back({"--report", opts.report});
  if (!opts.gpuManifest.empty() && opts.gpuManifest != "-")
    paths.push_back({"--gpu-manifest", opts.gpuManifest});
  if (opts.output == "-" && opts.report == "-")
    return fail("-o and --report both name stdout");
  std::string input = opts.input == "-" ? "" : normopt::fileIdentity(opts.input);
  for (size_t i = 0; i < paths.size(); ++i) {
    std::string identity = normopt::fileIdentity(paths[i].second);
    if (identity == input)
      return fail(paths[i].first + " '" + paths[i].second +
                  "' is the input file; norm-opt does not overwrite its input");
    for (size_t j = 0; j < i; ++j)
      if (normopt::fileIdentity(paths[j].second) == identity)
        return fail(paths[i].first + " '" + paths[i].second + "' is the same file as " +
                    paths[j].first + " '" + paths[j].second + "'");
  }
  return success();
}

/// The wall time of each stage of a run (reading, each pass, writing), for
/// the report, and what the progress display shows as the current stage.
class StageClock : public PassInstrumentation {
public:
  explicit StageClock(onnxir::WeightStore::Progress &progress) : progress(progress) {}
  void begin(StringRef stage) {
    std::lock_guard<std::mutex> lock(mutex);
    progress.reset();
    current = stage.str();
    start = std::chrono::steady_clock::now();
  }
  void end() {
    std::lock_guard<std::mutex> lock(mutex);
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    stages.push_back({current, elapsed.count()});
    current.clear();
  }
  std::string getCurrent() {
    std::lock_guard<std::mutex> lock(mutex);
    return current;
  }
  void runBeforePass(Pass *pass, Operation *) override { begin(pass->getArgument()); }
  void runAfterPass(Pass *, Operation *) override { end(); }
  void runAfterPassFailed(Pass *, Operation *) override { end(); }

  std::vector<std::pair<std::string, double>> stages;

private:
  onnxir::WeightStore::Progress &progress;
  std::mutex mutex;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

/// Hands the pass events of one pass manager to the run's StageClock (a
/// pass manager owns its instrumentations; the clock outlives them).
class ForwardingInstrumentation : public PassInstrumentation {
public:
  explicit ForwardingInstrumentation(PassInstrumentation &target) : target(target) {}
  void runBeforePass(Pass *pass, Operation *op) override { target.runBeforePass(pass, op); }
  void runAfterPass(Pass *pass, Operation *op) override { target.runAfterPass(pass, op); }
  void runAfterPassFailed(Pass *pass, Operation *op) override {
    target.runAfterPassFailed(pass, op);
  }

private:
  PassInstrumentation &target;
};

/// A progress line on stderr while a long run works: shown only when stderr
/// is a terminal, not --quiet, and the run has taken more than 2 s.
class ProgressDisplay {
public:
  ProgressDisplay(StageClock &clock, onnxir::WeightStore::Progress &progress, bool enabled)
      : clock(clock), progress(progress) {
    if (enabled)
      thread = std::thread([this] { run(); });
  }
  ~ProgressDisplay() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    wake.notify_all();
    if (thread.joinable())
      thread.join();
    if (shown)
      errs() << "\r\x1b[K";
  }

private:
  void run() {
    auto started = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex);
    while (!wake.wait_for(lock, std::chrono::milliseconds(250), [&] { return done; })) {
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
      if (elapsed.count() < 2.0)
        continue;
      std::string line;
      raw_string_ostream os(line);
      double gb = 1e9;
      os << "norm-opt: " << formatv("{0:f0}", elapsed.count()) << " s, "
         << clock.getCurrent() << ": " << progress.tensorsDone.load();
      if (uint64_t total = progress.tensorsTotal.load())
        os << "/" << total << " tensors, "
           << formatv("{0:f1}/{1:f1} GB", progress.bytesDone.load() / gb,
                      progress.bytesTotal.load() / gb);
      else
        os << " new weights, " << formatv("{0:f1} GB", progress.bytesDone.load() / gb);
      errs() << "\r\x1b[K" << line;
      errs().flush();
      shown = true;
    }
  }

  StageClock &clock;
  onnxir::WeightStore::Progress &progress;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  bool done = false;
  bool shown = false;
};


/// Decides where the weights that passes create go (WeightStore): straight
/// into the output's external data file when the model will be written with
/// one, so that each new weight is written once; otherwise into a scratch
/// file next to the output, so that large new weights never sit on the heap.
LogicalResult placeNewWeights(const Options &opts, Format outputFormat, ModuleOp module) {
  onnxir::WeightStore &store = onnxir::WeightStore::get(module.getContext());
  // A device or FIFO output is written through (OutputFile.h): nothing may
  // be created next to it.
  bool toFile = opts.output != "-" && outputFormat != Format::MLIR &&
                (!sys::fs::exists(opts.output) || sys::fs::is_regular_file(opts.output));
  if (toFile) {
    StringRef directory = sys::path::parent_path(opts.output);
    store.setScratchDirectory(directory.empty() ? "." : directory);
  }
  bool external = opts.externalData == "always" ||
                  (opts.externalData == "auto" && module->hasAttr("onnx.external_data"));
  if (!toFile || outputFormat != Format::ONNX || !external)
    return success();
  std::string error;
  if (failed(store.openSink(opts.output + ".data", error)))
    return fail(opts.output + ": " + error);
  return success();
}

/// The ONNX-aware path: import (or parse), recognize, run the pipeline,
/// report, write.
LogicalResult runONNXFlow(Options &opts, Format inputFormat, Format outputFormat,
                          DialectRegistry &registry,
                          const MlirOptMainConfig &config) {
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // ONNX users want the node, not an MLIR dump of the op, in a diagnostic.
  context.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler handler(&context, printDiagnostic);
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();

  onnxir::WeightStore::Progress &progress = onnxir::WeightStore::get(&context).getProgress();
  StageClock clock(progress);
  ProgressDisplay display(clock, progress,
                          !opts.quiet && sys::Process::StandardErrIsDisplayed());

  OwningOpRef<ModuleOp> module;
  TimingScope readTiming = rootTiming.nest("Read input");
  clock.begin("read");
  if (inputFormat == Format::MLIR) {
    std::string error;
    auto file = openInputFile(opts.input, &error);
    if (!file)
      return fail(opts.input + ": " + error);
    auto sourceMgr = std::make_shared<SourceMgr>();
    sourceMgr->AddNewSourceBuffer(std::move(file), SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  } else {
    module = onnxir::importONNXFile(opts.input, &context);
  }
  readTiming.stop();
  clock.end();
  if (!module)
    return failure();
  if (failed(placeNewWeights(opts, outputFormat, *module)))
    return failure();

  // Recognition runs in a pass manager of its own: a --pass-pipeline
  // replaces whatever the user's pass manager held before it.
  auto runPipeline = [&](llvm::function_ref<LogicalResult(PassManager &)> populate) {
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    pm.enableTiming(rootTiming);
    pm.addInstrumentation(std::make_unique<ForwardingInstrumentation>(clock));
    if (failed(populate(pm)))
      return failure();
    return pm.run(*module);
  };
  if (inputFormat != Format::MLIR && opts.recognize &&
      failed(runPipeline([](PassManager &pm) {
        pm.addPass(norm::createNormRecognize());
        return success();
      })))
    return failure();
  bool gpuOutput = outputFormat == Format::GPUMLIR || outputFormat == Format::NVVMMLIR ||
                   outputFormat == Format::PTX || outputFormat == Format::Cubin;
  if (failed(runPipeline([&](PassManager &pm) {
        if (failed(config.setupPassPipeline(pm)))
          return failure();
        if (gpuOutput)
          pm.addPass(createConvertNormToGPU());
        return success();
      })))
    return failure();

  norm::NormReport report = norm::collectReport(*module);
  if (opts.summary)
    printSummary(report);

  TimingScope writeTiming = rootTiming.nest("Write output");
  RunOutputs outputs;
  clock.begin("write");
  switch (outputFormat) {
  case Format::MLIR:
    if (failed(outputs.writeText(opts.output, [&](raw_ostream &os) {
          module->print(os);
          os << "\n";
        })))
      return failure();
    break;
  case Format::ONNX:
  case Format::ONNXText: {
    onnxir::ExportOptions exportOptions;
    exportOptions.textFormat = outputFormat == Format::ONNXText;
    if (opts.externalData == "always")
      exportOptions.externalData = true;
    else if (opts.externalData == "never")
      exportOptions.externalData = false;
    exportOptions.outputs = &outputs.files;
    LogicalResult written = success();
    if (opts.output == "-") {
      raw_string_ostream os(outputs.stdoutText);
      written = onnxir::exportONNX(*module, os, exportOptions);
    } else {
      written = onnxir::exportONNXFile(*module, opts.output, exportOptions);
    }
    if (failed(written))
      return failure();
    break;
  }
  case Format::GPUMLIR:
  case Format::NVVMMLIR:
  case Format::PTX:
  case Format::Cubin: {
    norm::GPUEmitOptions gpuOptions;
    gpuOptions.chip = opts.gpuChip;
    gpuOptions.features = opts.gpuFeatures;
    gpuOptions.stage = outputFormat == Format::GPUMLIR    ? norm::GPUEmitStage::KernelsMLIR
                       : outputFormat == Format::NVVMMLIR ? norm::GPUEmitStage::NVVMMLIR
                       : outputFormat == Format::Cubin    ? norm::GPUEmitStage::Cubin
                                                          : norm::GPUEmitStage::PTX;
    FailureOr<std::string> binary = norm::emitGPUKernels(*module, gpuOptions);
    if (failed(binary) ||
        failed(outputs.writeText(opts.output, [&](raw_ostream &os) { os << *binary; })))
      return failure();
    if (!opts.gpuManifest.empty()) {
      json::Value manifest(norm::describeGPUKernels(*module, gpuOptions));
      if (failed(outputs.writeText(opts.gpuManifest, [&](raw_ostream &os) {
            os << formatv("{0:2}", manifest) << "\n";
          })))
        return failure();
    }
    break;
  }
  }
  clock.end();
  if (!opts.report.empty() &&
      failed(outputs.writeText(opts.report, [&](raw_ostream &os) {
        norm::writeReport(report, os,
                          {{"input", opts.input.getValue()}, {"output", opts.output.getValue()}},
                          clock.stages);
        os << "\n";
      })))
    return failure();
  // Only now, with every output complete, do they replace their targets.
  return outputs.commit();
}

/// The options registered by static constructors before normOptMain runs:
/// ~450, nearly all of the shared libLLVM's code generators, targets and
/// Polly, which no norm-opt user needs.
SmallPtrSet<cl::Option *, 32> snapshotOptions() {
  SmallPtrSet<cl::Option *, 32> options;
  for (auto &entry : cl::getRegisteredOptions())
    options.insert(entry.second);
  return options;
}

/// Makes --help show norm-opt's options, MLIR's (the pass list,
/// --pass-pipeline, --mlir-*: all registered after `before` was taken) and
/// LLVM's --help/--version, as sections. The others become cl::Hidden, so
/// --help-hidden still lists them.
void organizeHelp(const SmallPtrSetImpl<cl::Option *> &before) {
  static cl::OptionCategory mlirCategory("MLIR options");
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *option = entry.second;
    if (!before.contains(option)) {
      // MLIR registers most of its options in the general category, which
      // libLLVM's share; the remark options have a category of their own.
      if (option->Categories.size() == 1 &&
          option->Categories.front() == &cl::getGeneralCategory())
        option->addCategory(mlirCategory);
      continue;
    }
    if (option->getOptionHiddenFlag() == cl::NotHidden &&
        !llvm::is_contained({"help", "help-list", "version"}, entry.first))
      option->setHiddenFlag(cl::Hidden);
  }
}

} // namespace

int mlir::normOptMain(int argc, char **argv) {
  InitLLVM y(argc, argv);
  SmallPtrSet<cl::Option *, 32> llvmOptions = snapshotOptions();
  DialectRegistry registry;
  registerNormOptDialects(registry);
  registerNormOptPasses();

  Options opts;
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  MlirOptMainConfig::registerCLOptions(registry);
  organizeHelp(llvmOptions);
  cl::ParseCommandLineOptions(
      argc, argv,
      "norm-opt: an ahead-of-time compiler for the normalization layers of "
      "ONNX models\n\n"
      "  norm-opt model.onnx -o out.onnx [passes] [--report report.json]\n"
      "  norm-opt model.onnx --emit=mlir\n"
      "  norm-opt in.mlir [passes]          (as mlir-opt)\n");
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();

  std::optional<Format> inputFormat = formatFromExtension(opts.input);
  if (!inputFormat) {
    // Anything that is not ONNX by name is read as MLIR.
    inputFormat = Format::MLIR;
  }
  std::optional<Format> outputFormat;
  if (opts.emit == "mlir")
    outputFormat = Format::MLIR;
  else if (opts.emit == "onnx")
    outputFormat = Format::ONNX;
  else if (opts.emit == "onnx-text")
    outputFormat = Format::ONNXText;
  else if (opts.emit == "gpu-mlir")
    outputFormat = Format::GPUMLIR;
  else if (opts.emit == "nvvm-mlir")
    outputFormat = Format::NVVMMLIR;
  else if (opts.emit == "ptx")
    outputFormat = Format::PTX;
  else if (opts.emit == "cubin")
    outputFormat = Format::Cubin;
  else if (!opts.emit.empty()) {
    errs() << "norm-opt: error: unknown --emit format '" << opts.emit
           << "' (expected mlir, onnx, onnx-text, gpu-mlir, nvvm-mlir, ptx or cubin)\n";
    return 1;
  } else {
    outputFormat = formatFromExtension(opts.output).value_or(Format::MLIR);
  }
  if (opts.externalData != "auto" && opts.externalData != "always" &&
      opts.externalData != "never") {
    errs() << "norm-opt: error: --external-data must be auto, always or never\n";
    return 1;
  }

  if (failed(checkOutputPaths(opts, *outputFormat == Format::ONNX)))
    return 1;

  // Plain .mlir in and out: exactly mlir-opt.
  if (*inputFormat == Format::MLIR && *outputFormat == Format::MLIR &&
      opts.report.empty() && !opts.summary) {
    std::string error;
    auto file = openInputFile(opts.input, &error);
    if (!file)
      return failed(fail(opts.input + ": " + error)) ? 1 : 0;
    if (opts.output == "-") {
      LogicalResult result = MlirOptMain(outs(), std::move(file), registry, config);
      outs().flush();
      // Reported here: an unreported stream error aborts at exit.
      if (std::error_code ec = outs().error()) {
        outs().clear_error();
        return failed(fail("cannot write to stdout: " + ec.message())) ? 1 : 0;
      }
      return failed(result) ? 1 : 0;
    }
    normopt::OutputFiles outputs;
    Expected<normopt::AtomicFile &> output = outputs.create(opts.output);
    if (!output)
      return failed(fail(toString(output.takeError()))) ? 1 : 0;
    if (failed(MlirOptMain(output->os(), std::move(file), registry, config)))
      return 1;
    if (Error error = outputs.commit())
      return failed(fail(toString(std::move(error)))) ? 1 : 0;
    return 0;
  }
  return failed(runONNXFlow(opts, *inputFormat, *outputFormat, registry, config)) ? 1 : 0;
}
