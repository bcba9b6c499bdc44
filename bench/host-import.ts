/**
 * The other way past one core that issue 14 names for large uploads: let the GPU read the caller's own memory
 * (VK_EXT_external_memory_host) instead of copying it into staging memory. bench/uploads runs it beside vkmem's
 * threaded staged upload of the same size, in the same run, through bench/native/host_import_bench.cpp (plain
 * Vulkan on the same physical device; Node cannot hand a C++ program's pointer to Vulkan without an addon).
 * @module
 */
import type { Context } from "../engine/index.js";
import { cppBinary, physicalDeviceIndex, runJsonLines, type CppProgram } from "./cpp-program.js";
import { median } from "./lib.js";

const PROGRAM: CppProgram = {
  bench: "uploads",
  sources: ["bench/native/host_import_bench.cpp"],
  inputs: ["bench/native/host_import_bench.cpp"],
  binary: "build/bench/host_import_bench",
  flags: ["-O2", "-DNDEBUG", "-std=c++17"],
};

/** Medians over the repetitions, in milliseconds. */
export interface HostImport {
  device: string;
  alignment: number;
  /** One-thread memcpy of the same bytes, in the same process: the C++ side's baseline. */
  memcpyMs: number;
  /** Buffer + vkAllocateMemory importing the caller's pages (the driver pins them). */
  importMs: number;
  /** The GPU's copy out of the fresh import into a DEVICE_LOCAL buffer, submit to fence. */
  copyMs: number;
  /** The same copy again from the same import: the rate once the pinning is paid. */
  reusedCopyMs: number;
  /** vkDestroyBuffer + vkFreeMemory of the import (unpinning), which the frame's retire would pay. */
  releaseMs: number;
  /** import + copy: from the caller's bytes to the GPU's completion, as vkmem's large upload is timed. */
  toGpuMs: number;
}

/**
 * Builds and runs the C++ program on the context's device. Returns null with the reason printed when it cannot run
 * or the device lacks VK_EXT_external_memory_host.
 */
export function measureHostImport(root: string, context: Context, mib: number, repetitions: number): HostImport | null {
  let lines: Record<string, unknown>[];
  try {
    const binary = cppBinary(root, PROGRAM);
    lines = runJsonLines("uploads", binary.path, [
      "--mib",
      String(mib),
      "--repetitions",
      String(repetitions),
      "--device-index",
      String(physicalDeviceIndex(context)),
      "--api-version",
      String(context.apiVersion),
    ]);
  } catch (error) {
    console.warn(`bench uploads: the host-import program did not run: ${(error as Error).message}`);
    return null;
  }
  const device = lines.find((l) => l.type === "device");
  if (device === undefined || device.supported !== true) {
    console.log(`host import: ${String(device?.name ?? "the device")} has no VK_EXT_external_memory_host`);
    return null;
  }
  const samples = lines.filter((l) => l.type === "sample");
  const med = (key: string) => median(samples.map((s) => Number(s[key]) / 1000));
  return {
    device: String(device.name),
    alignment: Number(device.alignment),
    memcpyMs: med("memcpy_us"),
    importMs: med("import_us"),
    copyMs: med("copy_us"),
    reusedCopyMs: med("reused_copy_us"),
    releaseMs: med("release_us"),
    toGpuMs: median(samples.map((s) => (Number(s.import_us) + Number(s.copy_us)) / 1000)),
  };
}
