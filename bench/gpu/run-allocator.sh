#!/usr/bin/env bash
# Runs bench/allocator on the GPU machine, which has neither a compiler nor Node: everything it runs is built here
# first and travels in .gpu/ (git-ignored).
#
# Here (the dev machine), from the repository root:
#   node scripts/setup.mjs                                    # addon, dist/ (bench included), VMA header
#   npm run bench -- allocator --no-raw --repetitions 1 --iterations 1000 --warmup 1
#                                                             # (or any run) builds build/bench/allocator_bench
#   bash ../shared/gpu/prepare.sh build/Release build/bench dist
#                                                             # packs Node, the Vulkan loader, node_modules and
#                                                             # those three build outputs into .gpu/
# There, from the root of the copied tree (.gpu/ carried along), as one command:
#   source .gpu/prelude.sh && bash bench/gpu/run-allocator.sh
# prelude.sh unpacks the bundle (node_modules, build/Release, build/bench, dist) at the root and puts Node on PATH.
#
# This script runs the compiled benchmark with the prebuilt C++ program (never rebuilt: no g++ there), then copies
# bench/results/allocator.json to $OUT when $OUT is set. Extra arguments go to the benchmark (see
# `node dist/bench/run.js allocator --help`). Exit status: the benchmark's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if ! command -v node >/dev/null 2>&1; then
  echo "run-allocator.sh: node is not on PATH; run 'source .gpu/prelude.sh' first" >&2
  exit 1
fi
for f in dist/bench/run.js build/bench/allocator_bench build/Release/vkmem.node; do
  if [ ! -e "$f" ]; then
    echo "run-allocator.sh: $f is missing: build it on the dev machine and pack it with prepare.sh (see the header)" >&2
    exit 1
  fi
done

status=0
node dist/bench/run.js allocator --cpp-binary build/bench/allocator_bench "$@" || status=$?

if [ -n "${OUT:-}" ] && [ -f bench/results/allocator.json ]; then
  mkdir -p "$OUT"
  cp bench/results/allocator.json "$OUT/allocator.json"
  echo "copied bench/results/allocator.json to $OUT/allocator.json"
fi
exit "$status"
