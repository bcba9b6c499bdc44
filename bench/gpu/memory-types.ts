/**
 * Memory-type behaviour on a real GPU, as a plain Node program (the GPU machine has no vitest): lavapipe has one
 * memory type carrying every flag, so what the intents choose, what mapping refuses, what budgets report and how a
 * heap limit fails can only be seen on hardware. Each check prints PASS/FAIL with what it saw; the validation layer
 * is on when present and any message fails the run; the exit code is the number of failures. Results are also
 * written as JSON to bench/results/gpu-memory-types.json (and $OUT when set).
 *
 * Run: node dist/bench/gpu/memory-types.js
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createAllocator,
  createContext,
  MemoryPropertyFlags as F,
  MemoryUsage,
  memoryPropertyNames,
  OutOfDeviceMemoryError,
  VkError,
  type Allocator,
  type AllocationOptions,
  type Context,
} from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const checks: Check[] = [];
function check(name: string, ok: boolean, detail: string): void {
  checks.push({ name, ok, detail });
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}: ${detail}`);
}
function flags(f: number): string {
  return memoryPropertyNames(f).join("|") || "none";
}

function intents(allocator: Allocator): void {
  const types = allocator.memoryTypes;
  const hasDeviceOnly = types.some((t) => t.propertyFlags & F.DEVICE_LOCAL && !(t.propertyFlags & F.HOST_VISIBLE));
  const hasHostOnly = types.some((t) => !(t.propertyFlags & F.DEVICE_LOCAL) && t.propertyFlags & F.HOST_VISIBLE);
  const cases: [string, AllocationOptions, number, (f: number) => boolean][] = [
    [
      "GpuOnly",
      { usage: MemoryUsage.GpuOnly },
      vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
      (f) => !!(f & F.DEVICE_LOCAL) && (!hasDeviceOnly || !(f & F.HOST_VISIBLE)),
    ],
    [
      "CpuOnly",
      { usage: MemoryUsage.CpuOnly },
      vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
      (f) => !!(f & F.HOST_VISIBLE) && !!(f & F.HOST_COHERENT) && (!hasHostOnly || !(f & F.DEVICE_LOCAL)),
    ],
    ["CpuToGpu", { usage: MemoryUsage.CpuToGpu }, vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, (f) => !!(f & F.HOST_VISIBLE)],
    ["GpuToCpu", { usage: MemoryUsage.GpuToCpu }, vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT, (f) => !!(f & F.HOST_VISIBLE)],
    // VMA: "preferably not DEVICE_LOCAL, but also not guaranteed to be HOST_VISIBLE" (paging copies).
    [
      "CpuCopy",
      { usage: MemoryUsage.CpuCopy },
      vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
      (f) => !hasHostOnly || !(f & F.DEVICE_LOCAL),
    ],
    [
      "Auto (vertex buffer)",
      { usage: MemoryUsage.Auto },
      vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
      (f) => !!(f & F.DEVICE_LOCAL),
    ],
    [
      "Auto + sequentialWrite + mapped (staging)",
      { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite", mapped: true },
      vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
      (f) => !!(f & F.HOST_VISIBLE),
    ],
    [
      "Auto + random (readback)",
      { usage: MemoryUsage.Auto, hostAccess: "random" },
      vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      (f) => !!(f & F.HOST_VISIBLE),
    ],
    [
      "AutoPreferHost (vertex buffer)",
      { usage: MemoryUsage.AutoPreferHost },
      vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
      () => true,
    ],
    [
      "required HOST_CACHED",
      { usage: MemoryUsage.Unknown, requiredFlags: F.HOST_VISIBLE | F.HOST_CACHED },
      vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      (f) => !!(f & F.HOST_CACHED),
    ],
  ];
  for (const [name, options, usage, ok] of cases) {
    try {
      const r = allocator.createBuffer({ size: 1 << 20, usage }, { ...options, name });
      const f = r.allocation.memoryProperties;
      check(`intent ${name}`, ok(f), `memory type ${r.allocationInfo.memoryType} (${flags(f)})`);
      allocator.destroyBuffer(r.buffer, r.allocation);
    } catch (e) {
      check(`intent ${name}`, false, `threw ${(e as Error).message}`);
    }
  }
  for (let t = 0; t < types.length; t++) {
    try {
      const r = allocator.createBuffer(
        { size: 4096, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
        { usage: MemoryUsage.Unknown, memoryTypeBits: 1 << t },
      );
      check(`memoryTypeBits 1<<${t}`, r.allocationInfo.memoryType === t, `got type ${r.allocationInfo.memoryType}`);
      allocator.destroyBuffer(r.buffer, r.allocation);
    } catch (e) {
      // A type the buffer's memoryTypeBits exclude cannot be used; that is a correct refusal.
      check(`memoryTypeBits 1<<${t}`, e instanceof VkError, `refused: ${(e as Error).message}`);
    }
  }
}

function mappingAndCopies(context: Context, allocator: Allocator): void {
  const deviceOnly = allocator.memoryTypes.findIndex(
    (t) => t.propertyFlags & F.DEVICE_LOCAL && !(t.propertyFlags & F.HOST_VISIBLE),
  );
  if (deviceOnly >= 0) {
    const r = allocator.createBuffer(
      { size: 4096, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      { usage: MemoryUsage.Unknown, memoryTypeBits: 1 << deviceOnly },
    );
    let error: unknown;
    try {
      r.allocation.map();
    } catch (e) {
      error = e;
    }
    check(
      "map of device-only memory refused",
      error instanceof VkError && (error as VkError).code === "VK_ERROR_MEMORY_MAP_FAILED",
      String((error as Error)?.message),
    );
    allocator.destroyBuffer(r.buffer, r.allocation);
  }
  // Upload through a staging buffer into device-local memory, copy back to a readback buffer, compare.
  const size = 8 << 20;
  const staging = allocator.createBuffer(
    { size, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
    { usage: MemoryUsage.Auto, hostAccess: "sequentialWrite", mapped: true, name: "staging" },
  );
  const gpu = allocator.createBuffer(
    { size, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
    { usage: MemoryUsage.GpuOnly, name: "device" },
  );
  const back = allocator.createBuffer(
    { size, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
    { usage: MemoryUsage.GpuToCpu, mapped: true, name: "readback" },
  );
  const src = new Uint32Array(staging.allocation.mappedData!, 0, size / 4);
  for (let i = 0; i < src.length; i++) src[i] = Math.imul(i, 2654435761) >>> 0;
  const flushed = staging.allocation.flush();
  context.submitAndWait((cmd) => {
    nvk.vkCmdCopyBuffer(cmd, staging.buffer, gpu.buffer, 1, [
      new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size }),
    ]);
    const b1 = new nvk.VkMemoryBarrier({ srcAccessMask: 0x1000, dstAccessMask: 0x800 });
    nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x1000, 0, 1, [b1], 0, null, 0, null);
    nvk.vkCmdCopyBuffer(cmd, gpu.buffer, back.buffer, 1, [new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size })]);
    const b2 = new nvk.VkMemoryBarrier({ srcAccessMask: 0x1000, dstAccessMask: 0x2000 });
    nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x4000, 0, 1, [b2], 0, null, 0, null);
  });
  const invalidated = back.allocation.invalidate();
  const out = new Uint32Array(back.allocation.mappedData!, 0, size / 4);
  let bad = 0;
  for (let i = 0; i < out.length; i++) if (out[i] !== src[i]) bad++;
  check(
    "8 MiB staging -> device-local -> readback round trip",
    bad === 0,
    `${bad} words differ; staging type ${flags(staging.allocation.memoryProperties)}, device type ${flags(gpu.allocation.memoryProperties)}, readback type ${flags(back.allocation.memoryProperties)}`,
  );
  check(
    "flush/invalidate ranges",
    flushed.size % allocator.nonCoherentAtomSize === 0 ||
      flushed.offset + flushed.size === staging.allocation.blockSize,
    `flush ${JSON.stringify(flushed)}, invalidate ${JSON.stringify(invalidated)}, atom ${allocator.nonCoherentAtomSize}`,
  );
  // VMA flushes only HOST_VISIBLE memory without HOST_COHERENT; device-only memory is left alone (and its offsets are
  // not aligned to nonCoherentAtomSize, so a call would be invalid). The fuzzer found `performed: true` there.
  const deviceFlush = gpu.allocation.flush(0, 16);
  const gpuNonCoherent = (gpu.allocation.memoryProperties & 0x6) === 0x2;
  check(
    "flush of device-only memory makes no Vulkan call",
    deviceFlush.performed === gpuNonCoherent,
    `type ${flags(gpu.allocation.memoryProperties)}: ${JSON.stringify(deviceFlush)}`,
  );
  for (const r of [staging, gpu, back]) allocator.destroyBuffer(r.buffer, r.allocation);
}

function budgets(context: Context, allocator: Allocator): void {
  const hasBudget = context.enabledDeviceExtensions.has("VK_EXT_memory_budget");
  check(
    "VK_EXT_memory_budget enabled (not offered by lavapipe)",
    hasBudget || context.deviceType === "cpu",
    [...context.enabledDeviceExtensions].join(", ") || "(none)",
  );
  const before = allocator.getHeapBudgets();
  const big = allocator.createBuffer(
    { size: 256 << 20, usage: vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT },
    { usage: MemoryUsage.GpuOnly, name: "256 MiB" },
  );
  allocator.setCurrentFrameIndex(1);
  const after = allocator.getHeapBudgets();
  const heap = allocator.memoryTypes[big.allocationInfo.memoryType].heapIndex;
  check(
    "budget reflects a 256 MiB allocation",
    after[heap].usage - before[heap].usage >= 256 << 20 &&
      after[heap].budget > 0 &&
      after[heap].budget <= allocator.memoryHeaps[heap].size,
    `heap ${heap}: usage ${before[heap].usage} -> ${after[heap].usage}, budget ${after[heap].budget} of ${allocator.memoryHeaps[heap].size}`,
  );
  allocator.destroyBuffer(big.buffer, big.allocation);
}

function heapLimit(context: Context): void {
  const probe = createAllocator(context);
  const deviceHeap = probe.memoryHeaps.findIndex((h) => h.flags & 1);
  const limits = probe.memoryHeaps.map((_, i) => (i === deviceHeap ? 256 << 20 : null));
  const heapCount = probe.memoryHeaps.length;
  probe.destroy();
  const fill = (options: AllocationOptions) => {
    const limited = createAllocator(context, { heapSizeLimits: limits, label: "256 MiB device heap" });
    const made = [];
    let error: unknown;
    try {
      for (let i = 0; i < 40; i++)
        made.push(limited.createBuffer({ size: 16 << 20, usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT }, options));
    } catch (e) {
      error = e;
    }
    const heaps = made.map((r) => limited.memoryTypes[r.allocationInfo.memoryType].heapIndex);
    for (const r of made) limited.destroyBuffer(r.buffer, r.allocation);
    limited.destroy();
    return { count: made.length, onDevice: heaps.filter((h) => h === deviceHeap).length, error };
  };
  // DEVICE_LOCAL only preferred: once the device heap is full VMA falls back to another heap (when there is one).
  const preferred = fill({ usage: MemoryUsage.GpuOnly });
  check(
    "heap limit with DEVICE_LOCAL preferred: spills to another heap",
    heapCount > 1
      ? preferred.count === 40 && preferred.onDevice >= 14 && preferred.onDevice <= 16
      : preferred.error instanceof OutOfDeviceMemoryError,
    `${preferred.count} x 16 MiB, ${preferred.onDevice} on the device heap${preferred.error ? `, then ${(preferred.error as Error).message}` : ""}`,
  );
  // DEVICE_LOCAL required: the limit is a hard wall.
  const required = fill({ usage: MemoryUsage.Unknown, requiredFlags: F.DEVICE_LOCAL });
  check(
    "heap limit with DEVICE_LOCAL required: OutOfDeviceMemoryError",
    required.error instanceof OutOfDeviceMemoryError &&
      required.count >= 14 &&
      required.count <= 16 &&
      required.onDevice === required.count,
    `${required.count} x 16 MiB before ${(required.error as Error)?.message}`,
  );
}

function poolsAndDebug(context: Context, allocator: Allocator): void {
  // A custom pool for device-local vertex buffers lands in a device-local type; a linear ring works there.
  const forVertex = allocator.createPool(
    {
      forBuffer: { size: 65536, usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      allocation: { usage: MemoryUsage.Auto },
    },
    { blockSize: 8 << 20, maxBlockCount: 2, name: "vertex pool" },
  );
  const typeFlags = allocator.memoryTypes[forVertex.memoryTypeIndex].propertyFlags;
  const inPool = allocator.createBuffer(
    { size: 65536, usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT },
    { pool: forVertex },
  );
  check(
    "pool forBuffer(Auto) picks a device-local type",
    !!(typeFlags & F.DEVICE_LOCAL) && inPool.allocationInfo.memoryType === forVertex.memoryTypeIndex,
    `type ${forVertex.memoryTypeIndex} (${flags(typeFlags)})`,
  );
  allocator.destroyBuffer(inPool.buffer, inPool.allocation);
  forVertex.destroy();
  const deviceLocalOnly = allocator.memoryTypes.findIndex((t) => t.propertyFlags === F.DEVICE_LOCAL);
  const ring = allocator.createPool(
    { memoryTypeIndex: deviceLocalOnly >= 0 ? deviceLocalOnly : 0 },
    { algorithm: "linear", blockSize: 1 << 20, minBlockCount: 1, maxBlockCount: 1, name: "ring" },
  );
  const live: { buffer: unknown; allocation: import("../../engine/index.js").Allocation }[] = [];
  let wraps = 0;
  let lastOffset = -1;
  let outOfMemory = false;
  try {
    for (let i = 0; i < 400; i++) {
      const r = allocator.createBuffer({ size: 16 << 10, usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT }, { pool: ring });
      if (r.allocationInfo.offset < lastOffset) wraps++;
      lastOffset = r.allocationInfo.offset;
      live.push(r);
      if (live.length > 32) {
        const old = live.shift()!;
        allocator.destroyBuffer(old.buffer, old.allocation);
      }
    }
  } catch (e) {
    outOfMemory = e instanceof OutOfDeviceMemoryError;
  }
  check(
    "linear ring-buffer pool in device-local memory wraps",
    wraps >= 5 && !outOfMemory,
    `${wraps} wraps over 400 x 16 KiB in a 1 MiB block`,
  );
  for (const r of live) allocator.destroyBuffer(r.buffer, r.allocation);
  ring.destroy();
  // A buddy pool in device-local, non-host-visible memory: bind works (a GPU fill then copy reads back right).
  const deviceOnly = allocator.memoryTypes.findIndex(
    (t) => t.propertyFlags & F.DEVICE_LOCAL && !(t.propertyFlags & F.HOST_VISIBLE),
  );
  if (deviceOnly >= 0) {
    const buddy = allocator.createPool(
      { memoryTypeIndex: deviceOnly },
      { algorithm: "buddy", blockSize: 4 << 20, name: "buddy" },
    );
    const a = allocator.createBuffer(
      { size: 100_000, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      { pool: buddy },
    );
    const b = allocator.createBuffer(
      { size: 100_000, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      { pool: buddy },
    );
    const back = allocator.createBuffer(
      { size: 200_000, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
      { usage: MemoryUsage.GpuToCpu, mapped: true },
    );
    context.submitAndWait((cmd) => {
      nvk.vkCmdFillBuffer(cmd, a.buffer, 0, 100_000, 0x11111111);
      nvk.vkCmdFillBuffer(cmd, b.buffer, 0, 100_000, 0x22222222);
      const b1 = new nvk.VkMemoryBarrier({ srcAccessMask: 0x1000, dstAccessMask: 0x800 });
      nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x1000, 0, 1, [b1], 0, null, 0, null);
      nvk.vkCmdCopyBuffer(cmd, a.buffer, back.buffer, 1, [
        new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 0, size: 100_000 }),
      ]);
      nvk.vkCmdCopyBuffer(cmd, b.buffer, back.buffer, 1, [
        new nvk.VkBufferCopy({ srcOffset: 0, dstOffset: 100_000, size: 100_000 }),
      ]);
      const b2 = new nvk.VkMemoryBarrier({ srcAccessMask: 0x1000, dstAccessMask: 0x2000 });
      nvk.vkCmdPipelineBarrier(cmd, 0x1000, 0x4000, 0, 1, [b2], 0, null, 0, null);
    });
    const words = new Uint32Array(back.allocation.mappedData!, 0, 50_000);
    const okA = words.subarray(0, 25_000).every((w) => w === 0x11111111);
    const okB = words.subarray(25_000, 50_000).every((w) => w === 0x22222222);
    const stats = buddy.getStatistics();
    check(
      "buddy pool in device-only memory: two buffers, GPU fill + copy",
      okA && okB && a.allocationInfo.memoryType === deviceOnly,
      `offsets ${a.allocationInfo.offset} / ${b.allocationInfo.offset}, waste ${stats.internalWasteBytes} B`,
    );
    for (const r of [a, b, back]) allocator.destroyBuffer(r.buffer, r.allocation);
    buddy.destroy();
  }
  // The debug build: margins and corruption checks in the host-visible coherent types of a real GPU.
  const debug = createAllocator(context, { debug: {}, label: "debug" });
  const staging = debug.createBuffer(
    { size: 4096, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
    { usage: MemoryUsage.CpuOnly, name: "victim" },
  );
  const clean = debug.checkCorruption();
  (debug as unknown as { _native: { debugPoke(h: number, at: number, v: number): void } })._native.debugPoke(
    staging.allocation._handle,
    staging.allocationInfo.size + 2,
    0x55,
  );
  const dirty = debug.checkCorruption();
  const victimType = staging.allocationInfo.memoryType;
  check(
    "debug build: a margin write is found in exactly its memory type",
    clean.ok && !dirty.ok && dirty.corruptedMemoryTypes.length === 1 && dirty.corruptedMemoryTypes[0] === victimType,
    `checked types ${clean.checkedMemoryTypes.join(",")}; after the write: ${dirty.message}`,
  );
  const other = clean.checkedMemoryTypes.find((t) => t !== victimType);
  if (other !== undefined) {
    const elsewhere = debug.checkCorruption(1 << other);
    check(
      "debug build: another memory type reads as intact (VMA 3.4 checks every default pool whatever the mask)",
      elsewhere.ok,
      `type ${other}: ${elsewhere.message}`,
    );
  }
  (debug as unknown as { _native: { debugPoke(h: number, at: number, v: number): void } })._native.debugPoke(
    staging.allocation._handle,
    staging.allocationInfo.size + 2,
    0x66,
  );
  let freeError: unknown;
  try {
    debug.destroyBuffer(staging.buffer, staging.allocation);
  } catch (e) {
    freeError = e;
  }
  check(
    "debug build: freeing the corrupted allocation throws CorruptionError",
    (freeError as Error)?.name === "CorruptionError",
    String((freeError as Error)?.message),
  );
  debug.destroy();
}

function main(): number {
  const context = createContext({
    validation: process.env.VKMEM_NO_VALIDATION !== "1",
    applicationName: "vkmem gpu memory types",
  });
  const device = `${context.deviceName} (${context.deviceType})`;
  const validation = context.validation;
  console.log(`device: ${device}, validation ${validation ? "on" : "off"}`);
  const allocator = createAllocator(context, { label: "gpu check" });
  allocator.memoryHeaps.forEach((h, i) =>
    console.log(`heap ${i}: ${(h.size / 2 ** 20).toFixed(0)} MiB flags ${h.flags}`),
  );
  allocator.memoryTypes.forEach((t, i) => console.log(`type ${i}: heap ${t.heapIndex} ${flags(t.propertyFlags)}`));
  console.log(`allocator flags 0x${allocator.flags.toString(16)}; features ${JSON.stringify(context.features)}`);
  try {
    intents(allocator);
    mappingAndCopies(context, allocator);
    budgets(context, allocator);
    heapLimit(context);
    poolsAndDebug(context, allocator);
    const leaks = allocator.destroy();
    check("no leaks", leaks.length === 0, JSON.stringify(leaks));
  } finally {
    if (!allocator.destroyed) allocator.destroy();
    context.destroy();
  }
  const messages = context.validationMessages.filter((m) => m.severity === "error" || m.severity === "warning");
  check(
    "zero validation messages",
    validation && messages.length === 0,
    validation
      ? `${messages.length} messages${
          messages.length
            ? ": " +
              messages
                .slice(0, 5)
                .map((m) => m.message)
                .join(" | ")
            : ""
        }`
      : "validation layer not available",
  );
  const failed = checks.filter((c) => !c.ok).length;
  const result = { device, validation, checks, failed, passed: checks.length - failed };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(join("bench/results", "gpu-memory-types.json"), JSON.stringify(result, null, 2));
  if (process.env.OUT) writeFileSync(join(process.env.OUT, "gpu-memory-types.json"), JSON.stringify(result, null, 2));
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  return failed;
}

process.exitCode = main();
