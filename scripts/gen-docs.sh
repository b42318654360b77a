#!/usr/bin/env bash
# scripts/gen-docs.sh: regenerates the dialect and pass references from the
# TableGen sources (the `mlir-doc` target) and copies them into docs/:
#   docs/Dialects/NormDialect.md, docs/Dialects/ONNXDialect.md,
#   docs/NormPasses.md, docs/ConversionPasses.md
# Run it after changing an op or pass description, and commit the result.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[[ -f build/build.ninja ]] || NORM_OPT_SKIP_BUILD=1 scripts/setup.sh
ninja -C build mlir-doc
(cd build/docs && find . -name '*.md' -print0) | while IFS= read -r -d '' f; do
  mkdir -p "docs/$(dirname "$f")"
  cp "build/docs/$f" "docs/$f"
  echo "docs/${f#./}"
done
