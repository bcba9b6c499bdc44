/**
 * VMA's pass-based defragmentation through the native layer (native/defragmentation.cpp), on real Vulkan (lavapipe,
 * the validation layer on): moves that really move (new offsets, blocks freed, the data carried by a CPU copy as VMA
 * allows for host-visible memory), VMA's statistics, and the rules that keep every destroy order safe: a moving
 * source and a pass's destination cannot be freed, and destroying the pool or the allocator mid-pass ends the pass
 * with its moves ignored before anything it names is freed. The typed API over it is issue 13's next step.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAllocator, MemoryUsage, type Allocation, type Allocator, type Pool } from "../../engine/index.js";
import { scratch, scratchU64, Slot } from "../../engine/native.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem defragmentation (native) tests" });

const KiB = 1024;
const ALGORITHM_FULL = 0x4;
const COPY = 0;
const IGNORE = 1;
const DESTROY = 2;

let allocator: Allocator;
let pool: Pool;
let memoryType: number;

beforeEach(() => {
  allocator = createAllocator(gpu.context, { label: "defrag" });
  memoryType = allocator.findMemoryTypeIndexForBufferInfo(
    { size: 1024, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
    { usage: MemoryUsage.Auto, hostAccess: "random" },
  );
  pool = allocator.createPool({ memoryTypeIndex: memoryType }, { name: "fragmented", blockSize: 1024 * KiB });
});
afterEach(() => {
  if (!allocator.destroyed) allocator.destroy();
});

/** 48 allocations of 64 KiB (three 1 MiB blocks), each filled with its own pattern; then all but every third freed. */
function fragment(): { live: Allocation[]; pattern: Map<Allocation, number> } {
  const all: Allocation[] = [];
  for (let i = 0; i < 48; i++) {
    all.push(
      allocator.allocateMemory(
        { size: 64 * KiB, alignment: 256, memoryTypeBits: 1 << memoryType },
        { pool, usage: MemoryUsage.CpuToGpu, name: `a${i}` },
      ),
    );
  }
  const live: Allocation[] = [];
  const pattern = new Map<Allocation, number>();
  all.forEach((a, i) => {
    if (i % 3 !== 0) return allocator.freeMemory(a);
    live.push(a);
    pattern.set(a, 0x1000 + i);
    new Uint32Array(a.map()).fill(0x1000 + i);
    a.unmap();
  });
  return { live, pattern };
}

function blocks(): number {
  return pool.getStatistics().blockCount;
}

/** Runs a whole defragmentation, copying each move's bytes on the CPU; returns VMA's statistics and the moves seen. */
function defragmentByCpu(handleOf: Map<number, Allocation>): {
  moves: number;
  passes: number;
  stats: ReturnType<Allocator["_native"]["endDefragmentation"]>;
} {
  const n = allocator._native;
  const context = n.beginDefragmentation(allocator._handle, pool._handle, ALGORITHM_FULL, 0, 0, 0);
  expect(context).toBeGreaterThan(0);
  let moves = 0;
  let passes = 0;
  for (;;) {
    const pass = n.beginDefragmentationPass(context);
    if (pass === null) break;
    passes++;
    for (let m = 0; m < pass.length / 2; m++) {
      const src = handleOf.get(pass[2 * m])!;
      expect(src).toBeDefined();
      const from = new Uint8Array(src.map());
      const view = n.map(pass[2 * m + 1], true) as ArrayBuffer;
      new Uint8Array(view).set(from);
      n.detach(view);
      n.unmap(pass[2 * m + 1]);
      src.unmap();
      moves++;
    }
    if (n.endDefragmentationPass(context)) break;
  }
  return { moves, passes, stats: n.endDefragmentation(context) };
}

describe("VMA's defragmentation through the native layer", () => {
  test("a full defragmentation moves allocations, frees blocks, and the CPU copy carries every byte", () => {
    const { live, pattern } = fragment();
    expect(blocks()).toBe(3);
    const before = new Map(live.map((a) => [a, `${a.info.deviceMemoryHandle}:${a.offset}`]));
    const handleOf = new Map(live.map((a) => [a._handle, a]));
    const { moves, stats } = defragmentByCpu(handleOf);

    expect(moves).toBeGreaterThan(0);
    expect(stats.allocationsMoved).toBe(moves);
    expect(stats.bytesMoved).toBe(moves * 64 * KiB);
    expect(stats.deviceMemoryBlocksFreed).toBeGreaterThanOrEqual(1);
    expect(stats.abandonedPass).toBe(false);
    expect(blocks()).toBe(3 - stats.deviceMemoryBlocksFreed);
    const moved = live.filter((a) => `${a.info.deviceMemoryHandle}:${a.offset}` !== before.get(a));
    expect(moved.length).toBe(moves);
    for (const a of live) {
      const words = new Uint32Array(a.map());
      expect(words.every((w) => w === pattern.get(a))).toBe(true);
      a.unmap();
    }
    // Nothing overlaps after the moves.
    const places = live.map((a) => [a.offset, a.offset + a.size]).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < places.length; i++) expect(places[i][0]).toBeGreaterThanOrEqual(places[i - 1][1]);
    for (const a of live) allocator.freeMemory(a);
    expect(allocator.destroy()).toEqual([]);
  });

  test("ignored moves leave allocations where they were; destroyed ones are freed by the pass", () => {
    const { live } = fragment();
    const n = allocator._native;
    const handleOf = new Map(live.map((a) => [a._handle, a]));
    const context = n.beginDefragmentation(allocator._handle, pool._handle, ALGORITHM_FULL, 0, 2, 0);
    const pass = n.beginDefragmentationPass(context)!;
    expect(pass).not.toBeNull();
    expect(pass.length).toBe(4); // maxAllocationsPerPass 2
    const ignored = handleOf.get(pass[0])!;
    const doomed = handleOf.get(pass[2])!;
    const where = `${ignored.info.deviceMemoryHandle}:${ignored.offset}`;
    n.setDefragmentationMoveOperation(context, 0, IGNORE);
    n.setDefragmentationMoveOperation(context, 1, DESTROY);
    n.endDefragmentationPass(context);
    expect(`${ignored.info.deviceMemoryHandle}:${ignored.offset}`).toBe(where);
    // The destroyed allocation's native slot is gone: its handle is stale now.
    expect(() => n.getAllocationInfo(doomed._handle)).toThrow(/stale or invalid allocation handle/);
    const stats = n.endDefragmentation(context);
    expect(stats.allocationsMoved).toBe(0);
    expect(stats.bytesFreed).toBeGreaterThanOrEqual(0);
    expect(() => n.setDefragmentationMoveOperation(context, 0, COPY)).toThrow(
      /stale or invalid defragmentation handle/,
    );
  });

  test("sources and destinations of an open pass cannot be freed; a second pass or context is refused", () => {
    const { live } = fragment();
    const n = allocator._native;
    const context = n.beginDefragmentation(allocator._handle, pool._handle, ALGORITHM_FULL, 0, 0, 0);
    expect(() => n.beginDefragmentation(allocator._handle, 0, ALGORITHM_FULL, 0, 0, 0)).toThrow(
      /already has a defragmentation in progress/,
    );
    const pass = n.beginDefragmentationPass(context)!;
    expect(pass.length).toBeGreaterThan(0);
    expect(() => n.beginDefragmentationPass(context)).toThrow(/already open/);
    expect(() => n.freeAllocation(pass[0])).toThrow(/being moved by an open defragmentation pass/);
    expect(() => n.freeAllocation(pass[1])).toThrow(/destination is freed by that pass/);
    expect(() => n.setDefragmentationMoveOperation(context, pass.length / 2, COPY)).toThrow(RangeError);
    expect(() => n.setDefragmentationMoveOperation(context, 0, 3 as 0)).toThrow(
      /must be 0 \(copy\), 1 \(ignore\) or 2 \(destroy\)/,
    );
    // Ending the whole defragmentation with the pass open ignores its moves: nothing moved, everything still there.
    const where = live.map((a) => `${a.info.deviceMemoryHandle}:${a.offset}`);
    const stats = n.endDefragmentation(context);
    expect(stats.abandonedPass).toBe(true);
    expect(live.map((a) => `${a.info.deviceMemoryHandle}:${a.offset}`)).toEqual(where);
    // The source is free to go once the pass is over.
    for (const a of live) allocator.freeMemory(a);
    expect(allocator.destroy()).toEqual([]);
  });

  test("a copy move of an allocation whose buffer vkmem made needs its replacement before the pass can end", () => {
    const buffers = [];
    for (let i = 0; i < 24; i++) {
      buffers.push(
        allocator.createBuffer({ size: 64 * KiB, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT }, { pool, name: `b${i}` }),
      );
    }
    for (let i = 0; i < 24; i++) if (i % 2 === 1) allocator.destroyBuffer(buffers[i].buffer, buffers[i].allocation);
    const n = allocator._native;
    const context = n.beginDefragmentation(allocator._handle, pool._handle, ALGORITHM_FULL, 0, 0, 0);
    const pass = n.beginDefragmentationPass(context)!;
    expect(pass.length).toBeGreaterThan(0);
    expect(() => n.endDefragmentationPass(context)).toThrow(
      /has no replacement resource: create it, or set the move's operation to ignore/,
    );
    // Refused means untouched: the pass is still open and can be ended once every move is ignored.
    for (let m = 0; m < pass.length / 2; m++) n.setDefragmentationMoveOperation(context, m, IGNORE);
    n.endDefragmentationPass(context);
    n.endDefragmentation(context);
    for (let i = 0; i < 24; i += 2) allocator.destroyBuffer(buffers[i].buffer, buffers[i].allocation);
    expect(allocator.destroy()).toEqual([]);
  });

  test("replacement buffers made at the destinations take the place of vkmem's buffers when the pass ends", () => {
    const buffers = [];
    for (let i = 0; i < 24; i++) {
      buffers.push(
        allocator.createBuffer({ size: 64 * KiB, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT }, { pool, name: `b${i}` }),
      );
    }
    for (let i = 0; i < 24; i++) if (i % 2 === 1) allocator.destroyBuffer(buffers[i].buffer, buffers[i].allocation);
    const kept = buffers.filter((_, i) => i % 2 === 0);
    const n = allocator._native;
    const context = n.beginDefragmentation(allocator._handle, pool._handle, ALGORITHM_FULL, 0, 0, 0);
    let replaced = 0;
    const replacements: bigint[] = [];
    for (let pass = n.beginDefragmentationPass(context); pass !== null; pass = n.beginDefragmentationPass(context)) {
      for (let m = 0; m < pass.length / 2; m++) {
        // The description as createBuffer lays it out in the scratch: size, usage, flags, sharing mode.
        scratch[0] = 64 * KiB;
        scratch[1] = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
        scratch[2] = 0;
        scratch[3] = 0;
        expect(n.createDefragmentationMoveResource(context, m, false)).toBe(0);
        replacements.push(scratchU64[Slot.OutResource]);
        expect(() => n.createDefragmentationMoveResource(context, m, false)).toThrow(/already has its replacement/);
        replaced++;
      }
      if (n.endDefragmentationPass(context)) break;
    }
    const stats = n.endDefragmentation(context);
    expect(replaced).toBeGreaterThan(0);
    expect(stats.allocationsMoved).toBe(replaced);
    // Each replacement is now the buffer of a live allocation, as far as the native tables know.
    for (const raw of replacements) expect(n.findResource(raw)).not.toBeNull();
    for (const b of kept) allocator.destroyBuffer(null, b.allocation);
    expect(allocator.destroy()).toEqual([]);
  });

  test("linear pools are refused, as VMA does not defragment them", () => {
    const linear = allocator.createPool(
      { memoryTypeIndex: memoryType },
      { algorithm: "linear", blockSize: 1024 * KiB },
    );
    expect(() =>
      allocator._native.beginDefragmentation(allocator._handle, linear._handle, ALGORITHM_FULL, 0, 0, 0),
    ).toThrow(/does not defragment linear pools/);
    expect(() => allocator._native.beginDefragmentation(allocator._handle, pool._handle, 0x10, 0, 0, 0)).toThrow(
      /algorithm flags out of range/,
    );
  });

  for (const order of ["pool", "allocator"] as const) {
    test(`destroying the ${order} with a pass open ends the pass first; nothing crashes, nothing leaks in VMA`, () => {
      const { live } = fragment();
      const n = allocator._native;
      const context = n.beginDefragmentation(allocator._handle, pool._handle, ALGORITHM_FULL, 0, 0, 0);
      const pass = n.beginDefragmentationPass(context)!;
      expect(pass.length).toBeGreaterThan(0);
      const names = live.map((a) => a.name).sort();
      const leaks = order === "pool" ? pool.destroy() : allocator.destroy();
      expect(leaks.map((l) => l.name).sort()).toEqual(names);
      expect(() => n.endDefragmentation(context)).toThrow(/stale or invalid defragmentation handle/);
    });
  }
});
