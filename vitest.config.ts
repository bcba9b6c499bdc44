import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { layerEnvironment } from "./test/native/discrete-memory.mjs";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const ALL = ["test/**/*.test.ts"];

// The GPU tests of test/memory and test/resources run twice on Linux: on lavapipe as it is (one heap, one memory
// type every resource takes, all of it host-visible), then as project `discrete-memory`, through the test layer
// VK_LAYER_VKMEM_discrete_memory, which shows lavapipe with a discrete GPU's heaps and memory types (the H200's: device
// memory the CPU cannot map, optimal images that take no host-visible type; test/native/discrete_memory_layer.cpp).
// A test that assumes lavapipe's memory fails there, as it would on a GPU. scripts/setup.mjs builds the layer.
// The sanitizer and Windows lanes (scripts/test-lanes.mjs, VKMEM_TEST_LANE) run the suite once, without projects.
const lane = process.env.VKMEM_TEST_LANE === "1";
const discreteMemory =
  process.platform === "linux" && !lane
    ? [
        {
          extends: true as const,
          test: {
            name: "discrete-memory",
            include: ["test/memory/**/*.test.ts", "test/resources/**/*.test.ts", "test/trace/**/*.test.ts"],
            // Files that make no Vulkan context (the virtual allocators, the release queue, the streaming plan, the
            // records' field representations, the trace format): the same on any memory.
            exclude: [
              "test/memory/buddy-allocator.test.ts",
              "test/memory/linear-allocator.test.ts",
              "test/memory/tlsf-allocator.test.ts",
              "test/memory/virtual-block.test.ts",
              "test/resources/release-queue.test.ts",
              "test/resources/streaming-plan.test.ts",
              "test/resources/field-representations.test.ts",
              "test/trace/format.test.ts",
              "test/trace/trace-file.test.ts",
              "test/trace/writer-varints.test.ts",
            ],
            env: layerEnvironment(ROOT),
            // Its files share their two workers (each project has its own, so the layer's environment stays here):
            // 22 s against 37 for the project here, a process start and the engine's import per file saved.
            isolate: false,
          },
        },
      ]
    : [];

export default defineConfig({
  test: {
    // GPU tests load a native addon: a crash (an abort in VMA or the driver) takes down one forked worker
    // and its file, not the whole run. Two workers: lavapipe is CPU-bound and the machines have two cores.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
    // (A root `include` would be merged into each project's: the projects carry their own.)
    ...(discreteMemory.length > 0
      ? { projects: [{ extends: true, test: { name: "device", include: ALL } }, ...discreteMemory] }
      : { include: ALL }),
  },
});
