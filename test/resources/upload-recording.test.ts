/**
 * The addon's recording of an upload batch's buffer copies, image copies, image barriers and buffer barriers
 * (native/copy_commands.cpp: cmdCopyBuffers, cmdCopyBufferToImages, cmdPipelineBarrier, cmdBufferBarriers) on real
 * Vulkan with the validation layer on: what they
 * record runs and
 * puts the bytes where they belong; a row whose handles the addon does not vouch for (a buffer where an image is
 * named, a freed allocation, another allocator's) ends the native run at that row, for the caller to record through
 * nvk; a row that names a region, mip, layer, layout or queue family its image or device does not have is a
 * RangeError, with nothing recorded. (FrameManager uploads run through both in every upload test.)
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  MemoryUsage,
  type Allocator,
  type Context,
  type CreatedBuffer,
  type CreatedImage,
} from "../../engine/index.js";
import { BufferBarriers } from "../../engine/resources/barriers.js";
import { rawHandle } from "../../engine/vulkan/handles.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem upload recording tests" });

let context: Context;
let allocator: Allocator;
let other: Allocator;
let staging: CreatedBuffer;
let readback: CreatedBuffer;
let image: CreatedImage;
let bc1: CreatedImage;

const RGBA8 = 37;
const BC1 = 131;
const SAMPLED = 0x4;
const TRANSFER_SRC = 0x1;
const TRANSFER_DST = 0x2;
const IGNORED = 0xffffffff;
const UNDEFINED = 0;
const TRANSFER_SRC_LAYOUT = 6;
const TRANSFER_DST_LAYOUT = 7;
const STAGE_TRANSFER = 0x1000;
const STAGE_ALL = 0x10000;
const ACCESS_TRANSFER_READ = 0x800;
const ACCESS_TRANSFER_WRITE = 0x1000;

/** Host-visible, persistently mapped: the staging, readback and test buffers, read and written through `view`. */
const mapped = { usage: MemoryUsage.AutoPreferHost, hostAccess: "random", mapped: true } as const;
const view = (x: CreatedBuffer) => new Uint8Array(x.allocation.mappedData!);

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "upload recording" });
  other = createAllocator(context, { label: "another allocator" });
  staging = allocator.createBuffer({ size: 64 * 1024, usage: TRANSFER_SRC | TRANSFER_DST }, mapped);
  readback = allocator.createBuffer({ size: 64 * 1024, usage: TRANSFER_DST }, mapped);
  const info = { imageType: 1, format: RGBA8, extent: { width: 16, height: 8, depth: 1 }, mipLevels: 3 } as const;
  image = allocator.createImage(
    { ...info, arrayLayers: 2, usage: SAMPLED | TRANSFER_SRC | TRANSFER_DST },
    { usage: MemoryUsage.GpuOnly },
  );
  bc1 = allocator.createImage(
    { ...info, format: BC1, extent: { width: 10, height: 10, depth: 1 }, usage: SAMPLED | TRANSFER_DST },
    { usage: MemoryUsage.GpuOnly },
  );
});
afterAll(() => {
  allocator.destroyImage(image.image, image.allocation);
  allocator.destroyImage(bc1.image, bc1.allocation);
  allocator.destroyBuffer(staging.buffer, staging.allocation);
  allocator.destroyBuffer(readback.buffer, readback.allocation);
  expect(other.destroy()).toEqual([]);
  expect(allocator.destroy()).toEqual([]);
});

type Row = readonly unknown[];
const table = (rows: readonly Row[]) => new Float64Array(rows.flat() as number[]);
const addon = () => allocator._native as unknown as Record<string, (...args: unknown[]) => number>;

/** The addon's cmdPipelineBarrier over all of `rows` into `raw`, between `src` and `dst` (ALL: every stage). */
function barriers(raw: bigint, rows: Row[], src = STAGE_ALL, dst = STAGE_ALL, memory = false, memDst = 0): number {
  return addon().cmdPipelineBarrier!(allocator._handle, raw, src, dst, memory, 0, memDst, table(rows), 0, rows.length);
}

/** A barrier row of `image`'s subresource (mip, layer) from `from` to `to`. */
function barrierRow(handle: number, mip: number, layer: number, from: number, to: number, families = IGNORED): Row {
  return [handle, mip, layer, from, to, 0, ACCESS_TRANSFER_WRITE, families, families];
}

test("what the addon records runs: a region of a mip of a layer gets its bytes", () => {
  const bytes = new Uint8Array(staging.allocation.mappedData!);
  const model = new Uint8Array(8 * 4 * 4).map((_, i) => (i * 7 + 1) & 0xff);
  bytes.set(model, 256);
  const img = image.allocation._handle;
  const out = new Uint8Array(readback.allocation.mappedData!);
  out.fill(0xee);
  context.submitAndWait((cmd) => {
    const raw = rawHandle(cmd);
    // Every subresource to TRANSFER_DST, in one native barrier with a memory barrier.
    const all: Row[] = [];
    for (let mip = 0; mip < 3; mip++)
      for (let layer = 0; layer < 2; layer++) all.push(barrierRow(img, mip, layer, UNDEFINED, TRANSFER_DST_LAYOUT));
    expect(barriers(raw, all, STAGE_ALL, STAGE_TRANSFER, true, ACCESS_TRANSFER_WRITE)).toBe(all.length);
    // 8 x 4 texels at (0, 0) of mip 1 (8 x 4), layer 1, from offset 256.
    const copy = table([[staging.allocation._handle, img, 256, 1, 1, 0, 0, 8, 4]]);
    expect(addon().cmdCopyBufferToImages!(raw, copy, 0, 1)).toBe(1);
    const after = [...barrierRow(img, 1, 1, TRANSFER_DST_LAYOUT, TRANSFER_SRC_LAYOUT)];
    after[6] = ACCESS_TRANSFER_READ;
    expect(barriers(raw, [after], STAGE_TRANSFER, STAGE_TRANSFER)).toBe(1);
    const region = new nvk.VkBufferImageCopy({
      bufferOffset: 0,
      imageSubresource: new nvk.VkImageSubresourceLayers({
        aspectMask: 1,
        mipLevel: 1,
        baseArrayLayer: 1,
        layerCount: 1,
      }),
      imageOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
      imageExtent: new nvk.VkExtent3D({ width: 8, height: 4, depth: 1 }),
    });
    nvk.vkCmdCopyImageToBuffer(cmd, image.image, TRANSFER_SRC_LAYOUT, readback.buffer, 1, [region]);
  });
  expect([...out.subarray(0, model.length)]).toEqual([...model]);
});

test("a row whose handles the addon does not vouch for ends the native run there; nothing else is recorded", () => {
  const freed = allocator.createImage(
    { imageType: 1, format: RGBA8, extent: { width: 4, height: 4, depth: 1 }, usage: SAMPLED | TRANSFER_DST },
    { usage: MemoryUsage.GpuOnly },
  );
  const freedHandle = freed.allocation._handle;
  allocator.destroyImage(freed.image, freed.allocation);
  const foreign = other.createImage(
    { imageType: 1, format: RGBA8, extent: { width: 4, height: 4, depth: 1 }, usage: SAMPLED | TRANSFER_DST },
    { usage: MemoryUsage.GpuOnly },
  );
  const img = image.allocation._handle;
  const src = staging.allocation._handle;
  try {
    context.submitAndWait((cmd) => {
      const raw = rawHandle(cmd);
      const copies = (rows: Row[]) => addon().cmdCopyBufferToImages!(raw, table(rows), 0, rows.length);
      // The stop index: the rows before it would have been recorded (none here: the first row stops).
      expect(copies([[src, staging.allocation._handle, 0, 0, 0, 0, 0, 4, 4]])).toBe(0); // a buffer as the image
      expect(copies([[img, img, 0, 0, 0, 0, 0, 4, 4]])).toBe(0); // an image as the source
      expect(copies([[src, freedHandle, 0, 0, 0, 0, 0, 4, 4]])).toBe(0);
      expect(copies([[src, foreign.allocation._handle, 0, 0, 0, 0, 0, 4, 4]])).toBe(0); // another allocator's image
      expect(copies([[-1, img, 0, 0, 0, 0, 0, 4, 4]])).toBe(0);
      const barrier = (rows: Row[]) => barriers(raw, rows);
      expect(barrier([barrierRow(freedHandle, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT)])).toBe(0);
      expect(barrier([barrierRow(foreign.allocation._handle, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT)])).toBe(0);
      expect(barrier([barrierRow(src, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT)])).toBe(0);
    });
  } finally {
    other.destroyImage(foreign.image, foreign.allocation);
  }
});

test("buffer copies: recorded from the buffers' own records, refused for buffers the addon does not vouch for", () => {
  // 100 bytes: a GPU's allocation of it is larger (NVIDIA rounds buffers up), a copy must still end in the buffer.
  const small = allocator.createBuffer({ size: 100, usage: TRANSFER_SRC | TRANSFER_DST }, mapped);
  const noDst = allocator.createBuffer({ size: 256, usage: TRANSFER_SRC }, mapped); // no TRANSFER_DST
  const memory = allocator.allocateMemory({ size: 256, alignment: 16, memoryTypeBits: 0xffffffff });
  const src = staging.allocation._handle;
  const out = new Uint8Array(readback.allocation.mappedData!);
  const bytes = new Uint8Array(staging.allocation.mappedData!);
  try {
    out.fill(0);
    bytes.subarray(1000, 1064).forEach((_, i, a) => (a[i] = i + 1));
    context.submitAndWait((cmd) => {
      const raw = rawHandle(cmd);
      const copies = (rows: Row[]) => addon().cmdCopyBuffers!(raw, table(rows), 0, rows.length);
      // Two rows recorded (one run each), then a destination without TRANSFER_DST stops the run at index 2.
      const rows: Row[] = [
        [src, readback.allocation._handle, 1000, 0, 32],
        [src, readback.allocation._handle, 1032, 64, 32],
        [src, noDst.allocation._handle, 0, 0, 16],
      ];
      expect(copies(rows)).toBe(2);
      expect(copies([[noDst.allocation._handle, readback.allocation._handle, 0, 200, 16]])).toBe(1); // it may be a source
      expect(copies([[src, memory._handle, 0, 0, 16]])).toBe(0); // memory, no buffer vkmem made
      expect(copies([[src, small.allocation._handle, 0, 96, 4]])).toBe(1); // the buffer's last 4 bytes
      const outside = /cmdCopyBuffers: a copy lies outside its buffers/;
      expect(() => copies([[src, small.allocation._handle, 0, 96, 8]])).toThrow(outside);
      expect(() => copies([[small.allocation._handle, src, 96, 0, 8]])).toThrow(outside);
    });
    expect([...out.subarray(0, 32)]).toEqual([...bytes.subarray(1000, 1032)]);
    expect([...out.subarray(32, 64)]).toEqual(new Array(32).fill(0));
    expect([...out.subarray(64, 96)]).toEqual([...bytes.subarray(1032, 1064)]);
  } finally {
    allocator.destroyBuffer(small.buffer, small.allocation);
    allocator.destroyBuffer(noDst.buffer, noDst.allocation);
    allocator.freeMemory(memory);
  }
});

test("regrouped buffer copies: destinations in turn, two sources, a stop mid-way; each byte lands where its row says", () => {
  const make = (usage: number) => allocator.createBuffer({ size: 256, usage }, mapped);
  const [second, a, b, c] = [make(TRANSFER_SRC), make(TRANSFER_DST), make(TRANSFER_DST), make(TRANSFER_DST)];
  const noDst = make(TRANSFER_SRC);
  const s1 = staging.allocation._handle;
  const s2 = second.allocation._handle;
  const [A, B, C] = [a, b, c].map((x) => x.allocation._handle);
  const one = new Uint8Array(staging.allocation.mappedData!);
  const two = new Uint8Array(second.allocation.mappedData!);
  try {
    one.subarray(0, 256).forEach((_, i, arr) => (arr[i] = i));
    two.subarray(0, 256).forEach((_, i, arr) => (arr[i] = 255 - i));
    for (const x of [a, b, c]) view(x).fill(0);
    context.submitAndWait((cmd) => {
      const raw = rawHandle(cmd);
      const copies = (rows: Row[]) => addon().cmdCopyBuffers!(raw, table(rows), 0, rows.length, true);
      // A, B, A (from the second source), C, B, A: grouped by destination, the stop at the last row (no
      // TRANSFER_DST) leaves the six before it to record.
      const rows: Row[] = [
        [s1, A, 0, 0, 16],
        [s1, B, 16, 0, 16],
        [s2, A, 0, 16, 16],
        [s1, C, 32, 0, 16],
        [s1, B, 48, 16, 16],
        [s1, A, 64, 32, 16],
        [s1, noDst.allocation._handle, 0, 0, 16],
      ];
      expect(copies(rows)).toBe(6);
      // Again, after the grouping's state was reset: C and A in turn.
      expect(
        copies([
          [s1, C, 80, 16, 16],
          [s1, A, 96, 48, 16],
          [s1, C, 112, 32, 16],
        ]),
      ).toBe(3);
    });
    const range = (from: Uint8Array, start: number) => [...from.subarray(start, start + 16)];
    expect([...view(a).subarray(0, 64)]).toEqual([
      ...range(one, 0),
      ...range(two, 0),
      ...range(one, 64),
      ...range(one, 96),
    ]);
    expect([...view(b).subarray(0, 32)]).toEqual([...range(one, 16), ...range(one, 48)]);
    expect([...view(c).subarray(0, 48)]).toEqual([...range(one, 32), ...range(one, 80), ...range(one, 112)]);
    expect([...view(a).subarray(64)]).toEqual(new Array(192).fill(0));
  } finally {
    for (const x of [second, a, b, c, noDst]) allocator.destroyBuffer(x.buffer, x.allocation);
  }
});

test("a copy or barrier that does not suit its image, buffer or device is a RangeError, with nothing recorded", () => {
  const img = image.allocation._handle;
  const src = staging.allocation._handle;
  const comp = bc1.allocation._handle;
  context.submitAndWait((cmd) => {
    const raw = rawHandle(cmd);
    const outside = /cmdCopyBufferToImages: a copy lies outside its buffer or image/;
    const copy = (row: Row) => () => addon().cmdCopyBufferToImages!(raw, table([row]), 0, 1);
    for (const row of [
      [src, img, 0, 3, 0, 0, 0, 1, 1], // no mip 3
      [src, img, 0, 0, 2, 0, 0, 1, 1], // no layer 2
      [src, img, 0, 0, 0, 12, 0, 8, 1], // past the mip's width (16)
      [src, img, 0, 1, 0, 0, 0, 8, 5], // past mip 1's height (4)
      [src, img, 0, 0, 0, 0, 0, 0, 1], // empty
      [src, img, 0, 0, 0, -1, 0, 1, 1],
      [src, img, 0, 0, 0, 0.5, 0, 1, 1],
      [src, img, 2, 0, 0, 0, 0, 1, 1], // not on a texel (4 bytes)
      [src, img, 64 * 1024 - 4, 0, 0, 0, 0, 2, 1], // reads past the buffer
      [src, img, Number.NaN, 0, 0, 0, 0, 1, 1],
      [src, comp, 0, 0, 0, 2, 0, 4, 4], // not on a BC1 block
      [src, comp, 0, 0, 0, 0, 0, 3, 4], // a partial block short of the edge
    ])
      expect(copy(row)).toThrow(outside);
    // BC1 10 x 10: the last blocks reach the edge, so 2 texels of a block are a whole copy there.
    expect(barriers(raw, [barrierRow(comp, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT)], STAGE_ALL, STAGE_TRANSFER)).toBe(1);
    expect(addon().cmdCopyBufferToImages!(raw, table([[src, comp, 0, 0, 0, 8, 8, 2, 2]]), 0, 1)).toBe(1);
    const unsuited = /cmdPipelineBarrier: an image barrier does not suit its image or the device/;
    const barrier = (row: Row) => () => barriers(raw, [row]);
    for (const row of [
      barrierRow(img, 3, 0, UNDEFINED, TRANSFER_DST_LAYOUT),
      barrierRow(img, 0, 2, UNDEFINED, TRANSFER_DST_LAYOUT),
      barrierRow(img, 0, 0, 9, TRANSFER_DST_LAYOUT), // not a core layout
      barrierRow(img, 0, 0, UNDEFINED, UNDEFINED), // a new layout may not be UNDEFINED
      barrierRow(img, 0, 0, UNDEFINED, 8), // nor PREINITIALIZED
      barrierRow(img, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT, 64), // no such family
      [img, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT, 0, 0, IGNORED, 0], // one family ignored, the other not
      [img, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT, -1, 0, IGNORED, IGNORED], // not an access mask
    ])
      expect(barrier(row)).toThrow(unsuited);
    const flags = /cmdPipelineBarrier: stages and access masks must be 32-bit flags, stages not 0/;
    const stages = (src: unknown, dst: unknown, access: unknown) => () =>
      addon().cmdPipelineBarrier!(allocator._handle, raw, src, dst, true, access, 0, table([]), 0, 0);
    expect(stages(0, STAGE_ALL, 0)).toThrow(flags);
    expect(stages(STAGE_ALL, 2 ** 32, 0)).toThrow(flags);
    expect(stages(STAGE_ALL, STAGE_ALL, 1.5)).toThrow(flags);
    expect(() =>
      addon().cmdPipelineBarrier!(allocator._handle, raw, STAGE_ALL, STAGE_ALL, false, 0, 0, table([]), 0, 1),
    ).toThrow(/first and end must be barrier indices/);
    expect(() => addon().cmdCopyBufferToImages!(raw, table([]), 0, 1)).toThrow(/first and end must be copy indices/);
    // A family the device has, the same on both sides (no ownership transfer), is a barrier like any other.
    expect(barriers(raw, [barrierRow(img, 0, 0, UNDEFINED, TRANSFER_DST_LAYOUT, context.queueFamilyIndex)])).toBe(1);
  });
});

test("buffer barriers: one native barrier over whole buffers; an unvouched handle ends the run; bad flags throw", () => {
  const make = () => allocator.createBuffer({ size: 256, usage: TRANSFER_SRC | TRANSFER_DST }, mapped);
  const [a, b, freed] = [make(), make(), make()];
  const freedHandle = freed.allocation._handle;
  allocator.destroyBuffer(freed.buffer, freed.allocation);
  const foreign = other.createBuffer({ size: 256, usage: TRANSFER_DST }, mapped);
  const memory = allocator.allocateMemory({ size: 256, alignment: 16, memoryTypeBits: 0xffffffff });
  const [A, B] = [a, b].map((x) => x.allocation._handle);
  const src = staging.allocation._handle;
  const bytes = new Uint8Array(staging.allocation.mappedData!);
  const family = context.queueFamilyIndex;
  try {
    bytes.subarray(0, 64).forEach((_, i, arr) => (arr[i] = i + 1));
    view(a).fill(0);
    view(b).fill(0);
    context.submitAndWait((cmd) => {
      const raw = rawHandle(cmd);
      const record = (handles: number[], srcFamily = IGNORED, dstFamily = IGNORED, stage = STAGE_TRANSFER) =>
        addon().cmdBufferBarriers!(
          allocator._handle,
          raw,
          stage,
          stage,
          ACCESS_TRANSFER_WRITE,
          ACCESS_TRANSFER_WRITE,
          srcFamily,
          dstFamily,
          new Float64Array(handles),
          0,
          handles.length,
        );
      const copies = (rows: Row[]) => addon().cmdCopyBuffers!(raw, table(rows), 0, rows.length);
      // A copy into each buffer, a barrier over both (write after write), then a copy of other bytes over the first.
      expect(
        copies([
          [src, A, 0, 0, 32],
          [src, B, 0, 0, 32],
        ]),
      ).toBe(2);
      expect(record([A, B])).toBe(2);
      expect(copies([[src, A, 32, 0, 32]])).toBe(1);
      // A family the device has on both sides (no ownership transfer) is a barrier like any other.
      expect(record([A], family, family)).toBe(1);
      // Stops: a freed buffer's handle, another allocator's, memory with no buffer, a buddy pool's (-1).
      expect(record([A, freedHandle, B])).toBe(1);
      expect(record([foreign.allocation._handle, A])).toBe(0);
      expect(record([memory._handle])).toBe(0);
      expect(record([-1])).toBe(0);
      expect(record([])).toBe(0);
      const flags = /cmdBufferBarriers: stages and access masks must be 32-bit flags/;
      expect(() => record([A], IGNORED, IGNORED, 0)).toThrow(flags);
      expect(() => record([A], IGNORED, IGNORED, 2 ** 32)).toThrow(flags);
      expect(() => record([A], IGNORED, family)).toThrow(flags); // one family ignored, the other not
      expect(() => record([A], 64, family)).toThrow(flags); // no such family
      expect(() =>
        addon().cmdBufferBarriers!(
          allocator._handle,
          raw,
          STAGE_ALL,
          STAGE_ALL,
          0,
          0,
          IGNORED,
          IGNORED,
          new Float64Array([A]),
          0,
          2,
        ),
      ).toThrow(/first and end must be buffer indices/);
      expect(() => addon().cmdBufferBarriers!(allocator._handle, raw, STAGE_ALL, STAGE_ALL)).toThrow(TypeError);
      expect(() =>
        addon().cmdBufferBarriers!(
          allocator._handle,
          0n,
          STAGE_ALL,
          STAGE_ALL,
          0,
          0,
          IGNORED,
          IGNORED,
          new Float64Array([A]),
          0,
          1,
        ),
      ).toThrow(/null command buffer/);
    });
    expect([...view(a).subarray(0, 32)]).toEqual([...bytes.subarray(32, 64)]);
    expect([...view(b).subarray(0, 32)]).toEqual([...bytes.subarray(0, 32)]);
  } finally {
    for (const x of [a, b]) allocator.destroyBuffer(x.buffer, x.allocation);
    other.destroyBuffer(foreign.buffer, foreign.allocation);
    allocator.freeMemory(memory);
  }
});

test("BufferBarriers: a buddy pool's buffer among others goes through nvk, the rest through the addon, in order", () => {
  // The dedicated transfer queue's release and acquire use them (transfers.ts); here one family, no transfer.
  const pool = allocator.createPool(
    { forBuffer: { size: 4096, usage: TRANSFER_SRC | TRANSFER_DST } },
    { algorithm: "buddy", blockSize: 1 << 16, name: "barrier buddy" },
  );
  const frames = createFrameManager(context, allocator, { label: "buffer barriers" });
  try {
    const make = (label: string, memory?: { pool: typeof pool }) =>
      frames.createBuffer({ label, size: 4096, usage: TRANSFER_DST, memory });
    const buffers = [make("a"), make("buddy", { pool }), make("b"), make("c")];
    const native = allocator._native as unknown as Record<string, (...args: unknown[]) => number>;
    const calls: number[][] = [];
    const original = native.cmdBufferBarriers!;
    native.cmdBufferBarriers = (...args: unknown[]) => {
      const stop = original(...args);
      calls.push([args[9] as number, stop]);
      return stop;
    };
    const barriers = new BufferBarriers(IGNORED, IGNORED);
    try {
      context.submitAndWait((cmd) => {
        for (const b of buffers) barriers.add(b);
        barriers.record(allocator, cmd, STAGE_TRANSFER, STAGE_ALL, ACCESS_TRANSFER_WRITE, ACCESS_TRANSFER_READ);
        barriers.record(allocator, cmd, STAGE_TRANSFER, STAGE_ALL, 0, 0); // none left: nothing recorded
      });
    } finally {
      native.cmdBufferBarriers = original;
    }
    // [first, stop]: "a" natively, the buddy pool's refused (it went through nvk), then "b" and "c" natively.
    expect(calls).toEqual([
      [0, 1],
      [2, 4],
    ]);
    for (const b of buffers) b.destroy();
  } finally {
    frames.destroy();
    pool.destroy();
  }
});
