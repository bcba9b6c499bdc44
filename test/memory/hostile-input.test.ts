/**
 * Hostile input to the memory layer (issue 10 item 5): every argument of the public calls of Allocator, Allocation,
 * Pool, VirtualBlock and the statistics, dump and picture functions, given each value of test/helpers/hostile.ts
 * (objects without prototype, Symbols, BigInts, detached buffers, NaN, negatives, fractions, huge numbers, throwing
 * Proxies, ...), is refused with a TypeError or RangeError naming the argument, never with one of V8's conversion
 * errors; and afterwards nothing is lost: a witness buffer keeps its bytes, allocations and virtual allocations made
 * before keep their place, and valid calls succeed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  allocationColor,
  createAllocator,
  createVirtualBlock,
  dumpKeyIndex,
  encodeDumpPicturePng,
  formatStatistics,
  MemoryUsage,
  nvk,
  parseStatsString,
  parseVirtualBlockStatsString,
  renderDumpPicture,
  writeDumpPicture,
  type Allocation,
  type Allocator,
  type Context,
  type CreatedBuffer,
  type Pool,
  type VirtualAllocation,
  type VirtualBlock,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { CallerError, expectRowRefused, fieldRows, OBJECT_OK, type HostileRow } from "../helpers/hostile.js";

const gpu = useGpuContext({ applicationName: "vkmem hostile input (memory)" });
const VB = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT;
const PATTERN = 0xa5c3f00d;
const CPU_ONLY = { usage: MemoryUsage.CpuOnly };

let context: Context;
let allocator: Allocator;
let witness: CreatedBuffer;
let raw: Allocation;
let pool: Pool;
let block: VirtualBlock;
let kept: VirtualAllocation;
/** A buffer made with nvk and never bound: bindBufferMemory's arguments after it are checked against it. */
let unbound: InstanceType<typeof nvk.VkBuffer>;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "hostile" });
  witness = allocator.createBuffer(
    { size: 4096, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
    { usage: MemoryUsage.CpuOnly, name: "witness" },
  );
  new Uint32Array(witness.allocation.map()).fill(PATTERN);
  raw = allocator.allocateMemory(
    // One memory type, one that CpuOnly accepts (type 0 is not host-visible on a discrete GPU).
    { size: 1024, alignment: 16, memoryTypeBits: 1 << allocator.findMemoryTypeIndex(~0 >>> 0, CPU_ONLY) },
    { usage: MemoryUsage.CpuOnly, name: "raw" },
  );
  pool = allocator.createPool({ memoryTypeIndex: 0 }, { blockSize: 1 << 20, name: "hostile pool" });
  block = createVirtualBlock({ size: 1 << 20, label: "hostile block" });
  kept = block.allocate(100, { userData: 7 });
  unbound = new nvk.VkBuffer();
  expect(
    nvk.vkCreateBuffer(
      context.device,
      new nvk.VkBufferCreateInfo({ size: 256, usage: VB, sharingMode: 0 }),
      null,
      unbound,
    ),
  ).toBe(0);
});

afterEach(() => everyValue());

/** Nothing lost: the witness's bytes, the raw allocation, the pool, the virtual allocation; and valid calls work. */
function everyValue(): void {
  expect(new Uint32Array(witness.allocation.mappedData!).every((w) => w === PATTERN)).toBe(true);
  expect(raw.destroyed).toBe(false);
  expect(allocator.allocationCount).toBe(2);
  expect(pool.getStatistics().allocationCount).toBe(0);
  expect(block.statistics()).toMatchObject({ allocationCount: 1, allocationBytes: 100 });
  expect(block.getAllocationInfo(kept)).toMatchObject({ offset: kept.offset, size: 100, userData: 7 });
  const ok = allocator.createBuffer({ size: 256, usage: VB }, { pool });
  allocator.destroyBuffer(ok.buffer, ok.allocation);
}

afterAll(() => {
  nvk.vkDestroyBuffer(context.device, unbound, null);
  block.free(kept);
  expect(block.destroy()).toEqual([]);
  pool.destroy();
  allocator.freeMemory(raw);
  witness.allocation.unmap();
  allocator.destroyBuffer(witness.buffer, witness.allocation);
  expect(allocator.destroy()).toEqual([]);
});

/** Runs `f` and destroys what it made, so that a value wrongly accepted fails the test without leaking. */
function made(f: () => { buffer: unknown; allocation: Allocation }): void {
  const r = f();
  allocator.destroyBuffer(r.buffer, r.allocation);
}

const allocatorRows = (): HostileRow[] => [
  { name: "createAllocator", arg: "device", run: (v) => createAllocator(v as never).destroy() },
  {
    name: "createAllocator",
    arg: "options",
    accept: OBJECT_OK,
    run: (v) => createAllocator(context, v as never).destroy(),
  },
  ...fieldRows(
    "createAllocator",
    "options",
    {
      heapSizeLimits: ["array"],
      preferredLargeHeapBlockSize: ["negativeZero"],
      flags: ["negativeZero"],
      captureStacks: [],
      onLeaks: ["function"],
      label: ["numericString"],
      debug: OBJECT_OK,
      frameInUseCount: ["negativeZero"],
    },
    (o) => createAllocator(context, o as never).destroy(),
  ),
  ...fieldRows(
    "createAllocator",
    "device",
    { vulkanApiVersion: [], enabledDeviceExtensions: [], features: OBJECT_OK },
    (o) => createAllocator(o as never).destroy(),
    {
      get instance() {
        return context.instance;
      },
      get physicalDevice() {
        return context.physicalDevice;
      },
      get device() {
        return context.device;
      },
    },
  ),
  { name: "createBuffer", arg: "bufferInfo", run: (v) => made(() => allocator.createBuffer(v as never)) },
  {
    name: "createBuffer",
    arg: "allocationOptions",
    accept: OBJECT_OK,
    run: (v) => made(() => allocator.createBuffer({ size: 64, usage: VB }, v as never)),
  },
  ...fieldRows(
    "createBuffer",
    "bufferInfo",
    { size: [], usage: [], flags: ["negativeZero"], sharingMode: ["negativeZero"] },
    (o) => made(() => allocator.createBuffer(o as never)),
    { size: 64, usage: VB },
  ),
  ...fieldRows(
    "createBuffer",
    "allocationOptions",
    {
      usage: ["negativeZero"],
      flags: ["negativeZero"],
      requiredFlags: ["negativeZero"],
      preferredFlags: ["negativeZero"],
      memoryTypeBits: ["negativeZero"],
      pool: [],
      name: ["numericString"],
      dedicated: [],
      neverAllocate: [],
      mapped: [],
      withinBudget: [],
      strategy: [],
      priority: ["negativeZero"],
      minAlignment: [],
      hostAccess: [],
      allowTransferInstead: [],
      upperAddress: [],
      canBecomeLost: [],
      canMakeOtherLost: [],
    },
    (o) => made(() => allocator.createBuffer({ size: 64, usage: VB }, o as never)),
  ),
  { name: "createImage", arg: "imageInfo", run: (v) => allocator.createImage(v as never) },
  ...fieldRows(
    "createImage",
    "imageInfo",
    {
      imageType: ["negativeZero"],
      format: [],
      extent: [],
      mipLevels: [],
      arrayLayers: [],
      samples: [],
      tiling: ["negativeZero"],
      usage: [],
      flags: ["negativeZero"],
      initialLayout: ["negativeZero"],
      sharingMode: ["negativeZero"],
    },
    (o) => {
      const r = allocator.createImage(o as never);
      allocator.destroyImage(r.image, r.allocation);
    },
    { format: vk.VK_FORMAT_R8G8B8A8_UNORM, extent: { width: 4, height: 4 }, usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT },
  ),
  ...fieldRows(
    "createImage",
    "imageInfo.extent",
    { width: [], height: [], depth: [] },
    (o) =>
      allocator.createImage({
        format: vk.VK_FORMAT_R8G8B8A8_UNORM,
        extent: o as never,
        usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
      }),
    { width: 4, height: 4 },
  ),
  {
    name: "allocateMemory",
    arg: "requirements",
    run: (v) => allocator.allocateMemory(v as never, { usage: MemoryUsage.CpuOnly }),
  },
  ...fieldRows(
    "allocateMemory",
    "requirements",
    { size: [], alignment: [], memoryTypeBits: [] },
    (o) => allocator.allocateMemory(o as never, { usage: MemoryUsage.CpuOnly }),
    {
      size: 64,
      alignment: 16,
      memoryTypeBits: 1,
    },
  ),
  { name: "allocateMemoryForBuffer", arg: "buffer", run: (v) => allocator.allocateMemoryForBuffer(v) },
  { name: "allocateMemoryForImage", arg: "image", run: (v) => allocator.allocateMemoryForImage(v) },
  { name: "bindBufferMemory", arg: "allocation", run: (v) => allocator.bindBufferMemory(v as never, witness.buffer) },
  { name: "bindBufferMemory", arg: "buffer", run: (v) => allocator.bindBufferMemory(raw, v) },
  // -0 is offset 0: valid, and it would bind (not run).
  {
    name: "bindBufferMemory",
    arg: "localOffset",
    accept: ["negativeZero"],
    run: (v) => allocator.bindBufferMemory(raw, unbound, v as never),
  },
  { name: "destroyBuffer", arg: "allocation", run: (v) => allocator.destroyBuffer(null, v as never) },
  { name: "destroyBuffer", arg: "buffer", run: (v) => allocator.destroyBuffer(v, witness.allocation) },
  { name: "freeMemory", arg: "allocation", run: (v) => allocator.freeMemory(v as never) },
  { name: "touch", arg: "allocation", run: (v) => allocator.touch(v as never) },
  { name: "isLost", arg: "allocation", run: (v) => allocator.isLost(v as never) },
  { name: "makePoolAllocationsLost", arg: "pool", run: (v) => allocator.makePoolAllocationsLost(v as never) },
  {
    name: "setCurrentFrameIndex",
    arg: "frameIndex",
    accept: ["negativeZero"],
    run: (v) => allocator.setCurrentFrameIndex(v as never),
  },
  // memoryTypeBits -0 is the mask 0: VMA's answer is VK_ERROR_FEATURE_NOT_PRESENT, not bad input.
  {
    name: "findMemoryTypeIndex",
    arg: "memoryTypeBits",
    accept: ["negativeZero"],
    run: (v) => allocator.findMemoryTypeIndex(v as never),
  },
  {
    name: "findMemoryTypeIndex",
    arg: "allocationOptions",
    accept: OBJECT_OK,
    run: (v) => allocator.findMemoryTypeIndex(1, v as never),
  },
  {
    name: "findMemoryTypeIndexForBufferInfo",
    arg: "bufferInfo",
    run: (v) => allocator.findMemoryTypeIndexForBufferInfo(v as never),
  },
  {
    name: "findMemoryTypeIndexForImageInfo",
    arg: "imageInfo",
    run: (v) => allocator.findMemoryTypeIndexForImageInfo(v as never),
  },
  { name: "createPool", arg: "target", run: (v) => allocator.createPool(v as never).destroy() },
  {
    name: "createPool",
    arg: "options",
    accept: OBJECT_OK,
    run: (v) => allocator.createPool({ memoryTypeIndex: 0 }, v as never).destroy(),
  },
  ...fieldRows(
    "createPool",
    "options",
    {
      blockSize: ["negativeZero"],
      minBlockCount: ["negativeZero"],
      maxBlockCount: ["infinity"],
      minAllocationAlignment: ["negativeZero"],
      priority: ["negativeZero"],
      name: ["numericString"],
      algorithm: [],
      minNodeSize: [],
      ignoreBufferImageGranularity: [],
      frameInUseCount: ["negativeZero"],
    },
    (o) => allocator.createPool({ memoryTypeIndex: 0 }, o as never).destroy(),
  ),
  { name: "checkCorruption", arg: "memoryTypeBits", run: (v) => allocator.checkCorruption(v as never) },
  { name: "buildStatsString", arg: "detailed", run: (v) => allocator.buildStatsString(v as never) },
];

const allocationRows = (): HostileRow[] => [
  { name: "Allocation", arg: "name", accept: ["numericString"], run: (v) => void (raw.name = v as never) },
  {
    name: "Allocation.flush",
    arg: "offset",
    accept: ["negativeZero"],
    run: (v) => witness.allocation.flush(v as never, 16),
  },
  {
    name: "Allocation.flush",
    arg: "size",
    accept: ["negativeZero"],
    run: (v) => witness.allocation.flush(0, v as never),
  },
  {
    name: "Allocation.invalidate",
    arg: "offset",
    accept: ["negativeZero"],
    run: (v) => witness.allocation.invalidate(v as never, 16),
  },
  {
    name: "Allocation.invalidate",
    arg: "size",
    accept: ["negativeZero"],
    run: (v) => witness.allocation.invalidate(0, v as never),
  },
  { name: "Pool", arg: "name", accept: ["numericString"], run: (v) => void (pool.name = v as never) },
];

const virtualRows = (): HostileRow[] => [
  { name: "createVirtualBlock", arg: "options", run: (v) => createVirtualBlock(v as never).destroy() },
  ...fieldRows(
    "createVirtualBlock",
    "options",
    { size: [], algorithm: [], minNodeSize: [], label: ["numericString"], onLeaks: ["function"] },
    (o) => createVirtualBlock(o as never).destroy(),
    { size: 4096 },
  ),
  { name: "VirtualBlock.allocate", arg: "size", run: (v) => block.allocate(v as never) },
  {
    name: "VirtualBlock.allocate",
    arg: "options",
    accept: OBJECT_OK,
    run: (v) => block.free(block.allocate(16, v as never)),
  },
  ...fieldRows(
    "VirtualBlock.allocate",
    "options",
    { alignment: ["negativeZero"], upperAddress: [], strategy: [] },
    (o) => block.free(block.allocate(16, o as never)),
  ),
  { name: "VirtualBlock.allocateOffset", arg: "size", run: (v) => block.allocateOffset(v as never) },
  {
    name: "VirtualBlock.allocateOffset",
    arg: "alignment",
    accept: ["negativeZero"],
    run: (v) => block.allocateOffset(16, v as never),
  },
  {
    name: "VirtualBlock.allocateOffset",
    arg: "flags",
    accept: ["negativeZero"],
    run: (v) => block.allocateOffset(16, 1, v as never),
  },
  { name: "VirtualBlock.free", arg: "allocation", run: (v) => block.free(v as never) },
  {
    name: "VirtualBlock.freeHandle",
    arg: "handle",
    accept: ["negativeZero"],
    run: (v) => block.freeHandle(v as never),
  },
  { name: "VirtualBlock.getAllocationInfo", arg: "allocation", run: (v) => block.getAllocationInfo(v as never) },
  { name: "VirtualBlock.setUserData", arg: "allocation", run: (v) => block.setUserData(v as never, 1) },
  { name: "VirtualBlock.statistics", arg: "detailed", run: (v) => block.statistics(v as never) },
  { name: "VirtualBlock.buildStatsString", arg: "detailed", run: (v) => block.buildStatsString(v as never) },
];

const reportRows = (): HostileRow[] => [
  { name: "formatStatistics", arg: "allocator", run: (v) => formatStatistics(v as never) },
  { name: "formatStatistics", arg: "options", accept: OBJECT_OK, run: (v) => formatStatistics(allocator, v as never) },
  {
    name: "formatStatistics",
    arg: "options.allMemoryTypes",
    run: (v) => formatStatistics(allocator, { allMemoryTypes: v as never }),
  },
  // "1" is a string: parsed, and refused as a dump by StatsDumpError (tested in dump.test.ts).
  { name: "parseStatsString", arg: "json", accept: ["numericString"], run: (v) => parseStatsString(v as never) },
  {
    name: "parseVirtualBlockStatsString",
    arg: "json",
    accept: ["numericString"],
    run: (v) => parseVirtualBlockStatsString(v as never),
  },
  { name: "renderDumpPicture", arg: "dump", run: (v) => renderDumpPicture(v as never) },
  {
    name: "renderDumpPicture",
    arg: "options",
    accept: OBJECT_OK,
    run: (v) => renderDumpPicture(allocator.dump(), v as never),
  },
  ...fieldRows("renderDumpPicture", "options", { width: [], names: [], legend: [] }, (o) =>
    renderDumpPicture(allocator.dump(), o as never),
  ),
  { name: "encodeDumpPicturePng", arg: "picture", run: (v) => encodeDumpPicturePng(v as never) },
  // "1" is a file name: valid, and not written here.
  {
    name: "writeDumpPicture",
    arg: "file",
    accept: ["numericString"],
    run: (v) => writeDumpPicture(allocator.dump(), v as never),
  },
  { name: "allocationColor", arg: "type", accept: ["numericString"], run: (v) => allocationColor(v as never) },
  {
    name: "allocationColor",
    arg: "usage",
    accept: ["negativeZero"],
    run: (v) => allocationColor("BUFFER", v as never),
  },
  { name: "dumpKeyIndex", arg: "key", accept: ["numericString"], run: (v) => dumpKeyIndex(v as never) },
];

describe.each([
  ["Allocator", allocatorRows],
  ["Allocation and Pool", allocationRows],
  ["VirtualBlock", virtualRows],
  ["statistics, dump and picture", reportRows],
])("%s", (_area, rows) => {
  // The rows' calls read the fixtures of beforeAll when they run, not when the table is built.
  test.each(rows().map((row) => [row.name.includes(row.arg) ? row.name : `${row.name} ${row.arg}`, row] as const))(
    "%s",
    (_title, row) => expectRowRefused(row, everyValue),
  );
});

describe("the examples of the issue", () => {
  test("{ strategy: Object.create(null) } and mapped: 'no' are typed errors", () => {
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { strategy: Object.create(null) })).toThrow(
      new RangeError("createBuffer: allocationOptions.strategy must be 'minMemory', 'minTime' or 'minOffset', got {}"),
    );
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { mapped: "no" as never })).toThrow(
      new TypeError('createBuffer: allocationOptions.mapped must be a boolean, got "no"'),
    );
  });
  test("freeHandle(1n) is a TypeError naming the handle", () => {
    expect(() => block.freeHandle(1n as never)).toThrow(
      new TypeError("VirtualBlock.freeHandle: handle must be a Number from allocateOffset (lastHandle), got 1n"),
    );
  });
  test("a getter that throws is the caller's error, and leaves no allocation behind", () => {
    const before = allocator.allocationCount;
    for (const key of ["name", "userData", "pool", "canBecomeLost", "usage", "mapped"]) {
      const options = Object.defineProperty({ usage: MemoryUsage.CpuOnly }, key, {
        get() {
          throw new CallerError(`getter ${key}`);
        },
      });
      expect(() => allocator.createBuffer({ size: 64, usage: VB }, options)).toThrow(CallerError);
      expect(() => allocator.allocateMemory({ size: 64, alignment: 16, memoryTypeBits: ~0 >>> 0 }, options)).toThrow(
        CallerError,
      );
      expect(allocator.allocationCount).toBe(before);
    }
  });
  test("options objects without a prototype work", () => {
    const options = Object.assign(Object.create(null), { usage: MemoryUsage.CpuOnly, name: "null prototype" });
    const info = Object.assign(Object.create(null), { size: 64, usage: VB });
    made(() => allocator.createBuffer(info, options));
  });
});
