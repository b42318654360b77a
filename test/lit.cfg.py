# -*- Python -*-
import os
import shlex
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "NORM_OPT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.norm_opt_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "e2e"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
# Debian's Python has onnx, numpy and torch; the PATH python3 may not.
config.substitutions.append(("%python", "/usr/bin/python3"))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

tool_dirs = [config.norm_opt_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["norm-opt", "norm-opt-embed-example", "float-codec-test"],
                                   tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# Tests that build their ONNX fixtures with the onnx Python package, or read
# the conformance models of Debian's libonnx-testdata.
import subprocess
if subprocess.run(["/usr/bin/python3", "-c", "import onnx"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
    config.available_features.add("python-onnx")
if os.path.isdir("/usr/share/libonnx-testdata/data/node"):
    config.available_features.add("onnx-testdata")

config.environment["CUDA_ROOT"] = config.cuda_root
if os.path.exists(os.path.join(config.cuda_root, "bin", "ptxas")):
    config.available_features.add("ptxas")

# GPU lowering (test/Conversion/NormToGPU): the toolkit's assembler and
# disassembler, when present, check the generated PTX and SASS; kernels run
# only where a CUDA driver and device are (never in CI).
llvm_config.add_tool_substitutions(["norm-gpu-runner"], tool_dirs)
for tool in ["ptxas", "cuobjdump"]:
    path = os.path.join(config.cuda_root, "bin", tool)
    config.substitutions.append(("%" + tool, path))
    if os.path.exists(path) and tool != "ptxas":
        config.available_features.add(tool)
if os.path.exists("/dev/nvidiactl") and any(
    os.path.exists(os.path.join(d, "libcuda.so.1"))
    for d in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/cuda/compat"]
):
    config.available_features.add("cuda-device")
config.substitutions.append(("%norm_opt_src_root", config.norm_opt_src_root))

# CPU numerics of convert-norm-to-linalg (test/Conversion/NormToLinalg):
# upstream mlir-opt lowers to LLVM, mlir-runner (the ExecutionEngine) runs.
config.substitutions.append(("%norm_opt_tools_dir", config.norm_opt_tools_dir))
config.substitutions.append(("%llvm_tools_dir", config.llvm_tools_dir))
config.substitutions.append(
    ("%llvm_lib_dir", os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")))
if os.path.exists(os.path.join(config.llvm_tools_dir, "mlir-runner")):
    config.available_features.add("mlir-runner")

# Embedding (test/Embed): the mlir-opt plugin in upstream's own mlir-opt, and
# a project built against the installed CMake package.
plugin = os.path.join(config.norm_opt_lib_dir, "NormOptPlugin" + config.llvm_shlib_ext)
config.substitutions.append(("%norm_opt_plugin", plugin))
config.substitutions.append(("%mlir_opt", os.path.join(config.llvm_tools_dir, "mlir-opt")))
if config.norm_opt_has_plugin and os.path.exists(os.path.join(config.llvm_tools_dir, "mlir-opt")):
    config.available_features.add("mlir-opt-plugin")
# A downstream project configured as norm-opt was: same generator, compiler
# and compiler launcher (ccache keeps test/Embed/install.test cheap).
downstream = [config.cmake_command, "-G", shlex.quote(config.cmake_generator),
              "-DCMAKE_MAKE_PROGRAM=" + config.cmake_make_program,
              "-DCMAKE_CXX_COMPILER=" + config.cxx_compiler]
if config.cxx_compiler_launcher:
    downstream.append("-DCMAKE_CXX_COMPILER_LAUNCHER=" + config.cxx_compiler_launcher)
config.substitutions.append(("%cmake_downstream", " ".join(downstream)))
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%norm_opt_obj_root", config.norm_opt_obj_root))
# ccache's settings, if the build gave any, reach the nested build.
llvm_config.with_system_environment(["CCACHE_DIR", "CCACHE_BASEDIR"])
