/**
 * `vkmem info`: what the device offers and what the allocator does with it.
 *
 * Prints the device, its memory heaps and types with their flags, the heap budgets, then runs a small
 * demonstration workload (buffers and images of the usual kinds, through the usual intents), prints the
 * allocator's statistics and VMA's JSON dump of that state, and frees everything.
 * @module
 */
import { writeFileSync } from "node:fs";
import { createContext } from "../vulkan/context.js";
import { vulkanVersionString } from "../vulkan/context.js";
import { createAllocator, type Allocator } from "../memory/allocator.js";
import type { Allocation } from "../memory/allocation.js";
import { MemoryUsage } from "../memory/usage.js";
import { formatStatistics } from "../memory/statistics.js";
import * as vk from "../vulkan/constants.js";

/** Options of {@link info}. */
export interface InfoOptions {
  /** Print only VMA's JSON dump. */
  json?: boolean;
  /** Leave out the JSON dump. */
  noDump?: boolean;
  /** Turn the validation layer on. */
  validation?: boolean;
  /** Also write VMA's detailed JSON dump to this file (what `vkmem vis` reads). */
  dumpJson?: string;
  /** Where to write lines (default console.log). */
  print?: (line: string) => void;
}

/** Runs the demonstration workload on `allocator`; returns what must be freed. */
export function demonstrationWorkload(allocator: Allocator): Array<() => void> {
  const frees: Array<() => void> = [];
  const buffer = (name: string, size: number, usage: number, options: Parameters<Allocator["createBuffer"]>[1]) => {
    const r = allocator.createBuffer({ size, usage }, { ...options, name });
    frees.push(() => allocator.destroyBuffer(r.buffer, r.allocation));
    return r.allocation;
  };
  const image = (name: string, w: number, h: number, format: number, usage: number, mips = 1) => {
    const r = allocator.createImage(
      { format, extent: { width: w, height: h }, mipLevels: mips, usage },
      { usage: MemoryUsage.Auto, name },
    );
    frees.push(() => allocator.destroyImage(r.image, r.allocation));
    return r.allocation;
  };
  buffer("cube vertices", 24 * 32, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT, {
    usage: MemoryUsage.GpuOnly,
  });
  buffer("cube indices", 30 * 2, vk.VK_BUFFER_USAGE_INDEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT, {
    usage: MemoryUsage.GpuOnly,
  });
  const staging: Allocation = buffer("staging", 256 * 1024, vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT, {
    usage: MemoryUsage.Auto,
    hostAccess: "sequentialWrite",
    mapped: true,
  });
  new Uint8Array(staging.mappedData!).fill(0x5a);
  for (let i = 0; i < 8; i++) {
    buffer(`per-frame uniforms ${i}`, 256, vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, {
      usage: MemoryUsage.CpuToGpu,
    });
  }
  buffer("readback", 64 * 1024, vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT, { usage: MemoryUsage.GpuToCpu });
  buffer("particles", 4 << 20, vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, { usage: MemoryUsage.AutoPreferDevice });
  buffer("big mesh (dedicated)", 8 << 20, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, {
    usage: MemoryUsage.GpuOnly,
    dedicated: true,
  });
  image(
    "cube texture",
    128,
    128,
    vk.VK_FORMAT_R8G8B8A8_UNORM,
    vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
    8,
  );
  image("depth", 800, 600, vk.VK_FORMAT_D32_SFLOAT, vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT);
  image(
    "colour target",
    800,
    600,
    vk.VK_FORMAT_R8G8B8A8_UNORM,
    vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
  );
  const raw = allocator.allocateMemory(
    { size: 64 * 1024, alignment: 256, memoryTypeBits: 0xffffffff },
    {
      usage: MemoryUsage.GpuOnly,
      name: "raw memory",
    },
  );
  frees.push(() => allocator.freeMemory(raw));
  return frees;
}

const ALLOCATOR_FLAG_NAMES: [number, string][] = [
  [0x2, "KHR_DEDICATED_ALLOCATION"],
  [0x4, "KHR_BIND_MEMORY2"],
  [0x8, "EXT_MEMORY_BUDGET"],
  [0x10, "AMD_DEVICE_COHERENT_MEMORY"],
  [0x20, "BUFFER_DEVICE_ADDRESS"],
  [0x40, "EXT_MEMORY_PRIORITY"],
  [0x80, "KHR_MAINTENANCE4"],
  [0x100, "KHR_MAINTENANCE5"],
];
/** Names of VmaAllocatorCreateFlags bits. */
function allocatorFlagNames(flags: number): string[] {
  return ALLOCATOR_FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/** `vkmem info`. Returns the exit code. */
export function info(options: InfoOptions = {}): number {
  const print = options.print ?? ((l: string) => console.log(l));
  const context = createContext({ validation: options.validation === true, applicationName: "vkmem info" });
  let allocator: Allocator | undefined;
  try {
    allocator = createAllocator(context, { label: "vkmem info" });
    if (!options.json) {
      print(`Device: ${context.deviceName} (${context.deviceType}), Vulkan ${vulkanVersionString(context.apiVersion)}`);
      const extensions = [...context.enabledDeviceExtensions].filter((e) =>
        /memory|dedicated|bind_memory|address|maintenance4/.test(e),
      );
      print(
        `Device extensions for VMA: ${extensions.join(", ") || "(none beyond core Vulkan)"}; VMA allocator flags: ${allocatorFlagNames(allocator.flags).join("|") || "none"}`,
      );
      print(
        `nonCoherentAtomSize ${allocator.nonCoherentAtomSize}, bufferImageGranularity ${allocator.bufferImageGranularity}`,
      );
      print("");
    }
    const frees = demonstrationWorkload(allocator);
    const stats = allocator.calculateStatistics();
    if (!options.json) {
      print(
        `Demonstration workload: ${stats.total.allocationCount} allocations (buffers, images, raw memory of the usual kinds); the allocator now:`,
      );
      print(formatStatistics(allocator, { allMemoryTypes: true }));
      print("");
    }
    if (options.dumpJson !== undefined) writeFileSync(options.dumpJson, allocator.buildStatsString(true));
    if (!options.noDump) {
      if (!options.json) print("VMA JSON dump (vmaBuildStatsString, detailed):");
      print(JSON.stringify(JSON.parse(allocator.buildStatsString(true)), null, 2));
    }
    for (const free of frees.reverse()) free();
    return 0;
  } finally {
    allocator?.destroy();
    context.destroy();
    if (options.validation && context.validationMessages.length > 0) {
      for (const m of context.validationMessages) print(`validation ${m.severity}: ${m.message}`);
    }
  }
}
