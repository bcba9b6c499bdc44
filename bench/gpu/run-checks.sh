#!/usr/bin/env bash
# Everything vkmem checks and measures on the GPU machine, in one command (its device time is scarce).
#
# Here (the dev machine), from the repository root:
#   node scripts/setup.mjs && npm run bench -- allocator     # builds dist/, the addon and build/bench/allocator_bench
#   bash ../shared/gpu/prepare.sh build/Release build/bench build/shaders dist
#   bash bench/gpu/run-checks.sh --pack-layer                # adds the validation layer to .gpu/layers
#   bash bench/gpu/run-checks.sh --pack-tests                # adds vitest and what it needs (.gpu/vitest.tgz, ~14 MB)
# There, with .gpu carried:
#   source .gpu/prelude.sh && bash bench/gpu/run-checks.sh
# It runs `vkmem info` (device, heaps, types, budgets, JSON dump), the memory-type checks with the validation layer
# on, the frame-budget and streaming stress runs (validation and synchronization validation on; on the GPU the
# dedicated transfer queue carries the first uploads), the VMA sample headless (validation on, then off for its frame times), and the
# allocator, frame and streaming benchmarks; outputs go to $OUT when set. `--only NAME...` runs some steps only
# (info, types, defrag, stress, sample, allocator, frame, streaming, uploads: the threaded-upload check with validation,
# then the uploads benchmark at 1-16 threads, 8 the headline; tests: test/resources and test/memory under vitest,
# validation on as in every GPU test, where --pack-tests packed vitest; not in a plain run).
# Exit status: the number of failed steps.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [ "${1:-}" = "--pack-layer" ]; then
  mkdir -p .gpu/layers
  cp /usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so .gpu/layers/
  sed 's#"library_path": "libVkLayer_khronos_validation.so"#"library_path": "./libVkLayer_khronos_validation.so"#' \
    /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json > .gpu/layers/VkLayer_khronos_validation.json
  gzip -f -6 .gpu/layers/libVkLayer_khronos_validation.so
  du -sh .gpu
  exit 0
fi

if [ "${1:-}" = "--pack-tests" ]; then
  # vitest's dependency closure, found from the package.json files (the production bundle leaves dev dependencies out).
  mapfile -t dirs < <(node -e '
    const fs = require("fs"), path = require("path");
    const seen = new Set();
    const visit = (name, from) => {
      for (let dir = from; ; dir = path.dirname(dir)) {
        const p = path.join(dir, "node_modules", name);
        if (fs.existsSync(path.join(p, "package.json"))) {
          if (seen.has(p)) return;
          seen.add(p);
          const pj = JSON.parse(fs.readFileSync(path.join(p, "package.json"), "utf8"));
          for (const d of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) visit(d, p);
          return;
        }
        if (path.dirname(dir) === dir) return;
      }
    };
    // and the dev dependencies of the test files themselves (dump.test.ts validates against the schema with ajv).
    for (const root of ["vitest", "ajv", "pngjs"]) visit(root, process.cwd());
    for (const p of seen) console.log(path.relative(process.cwd(), p));')
  mkdir -p .gpu
  tar czf .gpu/vitest.tgz --exclude='*.d.ts' --exclude='*.map' "${dirs[@]}"
  du -sh .gpu
  exit 0
fi

if [ -f .gpu/layers/libVkLayer_khronos_validation.so.gz ]; then
  gzip -dc .gpu/layers/libVkLayer_khronos_validation.so.gz > /tmp/libVkLayer_khronos_validation.so
  cp .gpu/layers/VkLayer_khronos_validation.json /tmp/VkLayer_khronos_validation.json
  export VK_LAYER_PATH=/tmp
fi
out=${OUT:-bench/results}
mkdir -p "$out"
failed=0
only=" ${*#--only} "
want() { [ "$only" = "  " ] || [ "${only#* $1 }" != "$only" ]; }
named() { [ "${only#* $1 }" != "$only" ]; } # steps a plain run leaves out
step() { # name, command...: runs it, tees to $out/name.txt, counts a failure
  local name=$1; shift
  echo "== $name"
  "$@" > "$out/$name.txt" 2>&1 || { failed=$((failed + 1)); echo "FAILED: $name"; }
  tail -n 40 "$out/$name.txt"
}
want info && step vkmem-info node bin/vkmem.js info
want types && step memory-types node dist/bench/gpu/memory-types.js
want defrag && step defrag-check node dist/bench/gpu/defrag-check.js
want stress && step frame-stress node dist/bench/gpu/frame-stress.js 2000
want stress && step streaming-stress node dist/bench/gpu/streaming-stress.js 6000 4
want uploads && step upload-check node dist/bench/gpu/upload-check.js 8
if named tests; then
  if [ -f .gpu/vitest.tgz ]; then
    tar xzf .gpu/vitest.tgz
    step vitest node node_modules/vitest/vitest.mjs run --project device test/resources test/memory --maxWorkers=8
  else
    echo "FAILED: tests: no .gpu/vitest.tgz (bash bench/gpu/run-checks.sh --pack-tests here first)"
    failed=$((failed + 1))
  fi
fi
want sample && step streaming-sample-validated node dist/samples/texture-streaming/main.js --headless --validation --frames 1200 --out "$out/texture-streaming-gpu.png"
want sample && step vma-sample-validated node dist/samples/vma-sample/main.js --headless --validation --frames 60 --out "$out/vma-sample-gpu.png"
layer_path=${VK_LAYER_PATH:-}
unset VK_LAYER_PATH # benchmarks and frame times without layers
want sample && step vma-sample-timing node dist/samples/vma-sample/main.js --headless --frames 600 --out "$out/vma-sample-gpu-timing.png"
want allocator && { bash bench/gpu/run-allocator.sh > "$out/allocator.txt" 2>&1 || failed=$((failed + 1)); tail -n 20 "$out/allocator.txt"; }
want frame && step bench-frame node dist/bench/run.js frame
want streaming && [ -f dist/bench/streaming.js ] && step bench-streaming node dist/bench/run.js streaming
want defrag && step bench-defrag node dist/bench/run.js defrag
want uploads && step bench-uploads node dist/bench/run.js uploads --threads 1,2,4,16,8
want uploads && step bench-uploads-host node dist/bench/run.js uploads --threads 1,2,4,16,8 --staging host
cp bench/results/*.json "$out/" 2>/dev/null || true
[ -n "$layer_path" ] && export VK_LAYER_PATH=$layer_path
echo "run-checks: $failed step(s) failed"
exit "$failed"
