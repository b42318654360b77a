#!/usr/bin/env bash
# scripts/setup.sh: installs what norm-opt needs on Debian 12 and builds it.
# Idempotent: installs only the packages that are missing (one apt-get
# update, only when something is), installs onnxruntime-node from npm into
# test/e2e/node_modules only when it is not there, and reconfigures/rebuilds
# incrementally.
#
#   scripts/setup.sh            install + configure + build everything
#   NORM_OPT_SKIP_BUILD=1 scripts/setup.sh     install and configure only
#   NORM_OPT_JOBS=N                            ninja -j N
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { echo "setup: $*" >&2; }

PACKAGES=(
  # MLIR 22 and the LLVM tools lit tests use (FileCheck, lit, not).
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22
  # libFuzzer and the sanitizer runtimes (fuzz/run.sh, NORM_OPT_SANITIZE).
  libclang-rt-22-dev
  # The ONNX C++ library and protobuf.
  libonnx-dev libprotobuf-dev protobuf-compiler
  # Build tools.
  cmake g++ ninja-build ccache
  # PyTorch (to export test models), onnx and numpy for the e2e drivers,
  # and the ONNX backend test models.
  python3-torch python3-onnx python3-numpy libonnx-testdata
)
# Node runs onnxruntime, the tests' oracle; any recent node will do (the
# machine may have one from elsewhere, e.g. NodeSource, which bundles npm).
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    SUDO=(sudo)
  fi
  log "installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
else
  log "all Debian packages present"
fi

# onnxruntime (CPU) from npm. The plain install tries to download a CUDA
# add-on; ONNXRUNTIME_NODE_INSTALL=skip keeps the CPU build the package ships.
E2E="$ROOT/test/e2e"
want=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dependencies"]["onnxruntime-node"])' "$E2E/package.json")
have=$( [[ -f "$E2E/node_modules/onnxruntime-node/package.json" ]] &&
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$E2E/node_modules/onnxruntime-node/package.json" || true)
if [[ "$have" != "$want" ]]; then
  log "installing onnxruntime-node $want into test/e2e/node_modules"
  (cd "$E2E" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
else
  log "onnxruntime-node $have present"
fi

# Configure once (again only if the cache is gone), then build incrementally.
if [[ ! -f build/build.ninja ]]; then
  cmake_args=(-G Ninja -S . -B build -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit)
  if command -v ccache >/dev/null; then
    cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  log "configuring: cmake ${cmake_args[*]}"
  cmake "${cmake_args[@]}" >/dev/null
fi
[[ "${NORM_OPT_SKIP_BUILD:-0}" == 1 ]] && exit 0
# Paths relative to the checkout, so that every checkout shares the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
log "building (ninja -C build)"
ninja -C build ${NORM_OPT_JOBS:+-j "$NORM_OPT_JOBS"}
log "norm-opt is at build/bin/norm-opt"
