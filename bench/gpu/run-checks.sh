#!/usr/bin/env bash
# Everything vkmem checks and measures on the GPU machine, in one command (its device time is scarce).
#
# Here (the dev machine), from the repository root:
#   node scripts/setup.mjs && npm run bench -- allocator     # builds dist/, the addon and build/bench/allocator_bench
#   bash ../shared/gpu/prepare.sh build/Release build/bench dist
#   bash bench/gpu/run-checks.sh --pack-layer                # adds the validation layer to .gpu/layers
# There, with .gpu carried:
#   source .gpu/prelude.sh && bash bench/gpu/run-checks.sh
# It runs `vkmem info` (device, heaps, types, budgets, JSON dump), the memory-type checks with the validation layer
# on, the allocator benchmark, the streaming stress run (validation on) and the streaming benchmark; outputs go to
# $OUT when set. Exit status: the number of failed steps.
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

if [ -f .gpu/layers/libVkLayer_khronos_validation.so.gz ]; then
  gzip -dc .gpu/layers/libVkLayer_khronos_validation.so.gz > /tmp/libVkLayer_khronos_validation.so
  cp .gpu/layers/VkLayer_khronos_validation.json /tmp/VkLayer_khronos_validation.json
  export VK_LAYER_PATH=/tmp
fi
out=${OUT:-bench/results}
mkdir -p "$out"
failed=0
node bin/vkmem.js info > "$out/vkmem-info.txt" 2>&1 || failed=$((failed + 1))
head -n 40 "$out/vkmem-info.txt"
node dist/bench/gpu/memory-types.js 2>&1 | tee "$out/memory-types.txt" || failed=$((failed + 1))
bash bench/gpu/run-allocator.sh "$@" || failed=$((failed + 1))
# Texture streaming (#6): the stress run with the validation layer (exit status = failed checks + messages), then
# the streamer benchmark (bench/results/streaming.json, copied to $out).
node dist/bench/gpu/streaming-stress.js 6000 4 > "$out/streaming-stress.txt" 2>&1 || failed=$((failed + 1))
tail -n 22 "$out/streaming-stress.txt"
node dist/bench/run.js streaming 2>&1 | tee "$out/streaming.txt" || failed=$((failed + 1))
[ "$out" = bench/results ] || cp bench/results/streaming.json "$out/" || failed=$((failed + 1))
echo "run-checks: $failed step(s) failed"
exit "$failed"
