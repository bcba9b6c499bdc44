/**
 * A FrameManager's deferred frees in runs (engine/resources/release-batch.ts, native/batch.cpp's freeResources) on real
 * Vulkan with the validation layer on: Buffers and Textures (views included) retired in one native call, in queue
 * order with the destroyLater callbacks and the releases the batch leaves to the single path (a pool's) between them;
 * a throwing callback neither stops the run nor runs again; the counters and the allocator's count agree; nothing
 * leaks. The native entry point refuses bad arguments with typed errors and stops, freeing nothing, at an entry it
 * cannot vouch for.
 */
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import {
  createAllocator,
  createFrameManager,
  MemoryUsage,
  type Allocator,
  type Buffer,
  type Context,
  type FrameManager,
  type Texture,
} from "../../engine/index.js";
import { native } from "../../engine/native.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem release batch tests" });

let context: Context;
let allocator: Allocator;
let manager: FrameManager;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "release batch" });
  manager = createFrameManager(context, allocator, { label: "batch" });
});
afterAll(() => {
  manager.destroy();
  expect(allocator.destroy()).toEqual([]);
});

const STORAGE = 0x20;
const RGBA8 = 37;

function allocationOf(r: Buffer | Texture) {
  return r._parts.allocation;
}

test("a frame's buffers and textures are freed in queue order, with callbacks and a pool's buffer between them", () => {
  const pool = allocator.createPool(
    { memoryTypeIndex: allocator.findMemoryTypeIndexForBufferInfo({ size: 256, usage: STORAGE }, {}) },
    { blockSize: 64 * 1024, name: "batch pool" },
  );
  try {
    manager.beginFrame();
    const before = allocator.allocationCount;
    const made: (Buffer | Texture)[] = [];
    for (let i = 0; i < 6; i++) made.push(manager.createBuffer({ label: `b${i}`, size: 256 << i, usage: STORAGE }));
    made.push(manager.createTexture({ label: "t0", width: 16, height: 16, format: RGBA8 }));
    made.push(manager.createBuffer({ label: "pooled", size: 256, usage: STORAGE, memory: { pool } }));
    made.push(manager.createTexture({ label: "t1", width: 32, height: 8, format: RGBA8 }));
    expect(allocator.allocationCount).toBe(before + made.length);
    // What each callback sees freed: the resources queued before it, and none after it.
    const seen: string[] = [];
    const look = (name: string) => () =>
      seen.push(`${name}:${made.map((r) => (allocationOf(r).destroyed ? "x" : "-")).join("")}`);
    let thrown = 0;
    for (const r of made) r.markUsed();
    made[0]!.destroy();
    made[1]!.destroy();
    manager.destroyLater("look a", 0, look("a"));
    made[2]!.destroy();
    made[6]!.destroy(); // a texture and its view
    manager.destroyLater("throws", 0, () => {
      thrown++;
      throw new Error("callback failed");
    });
    made[7]!.destroy(); // a pool's: the single path
    manager.destroyLater("look b", 0, look("b"));
    for (const i of [3, 4, 5, 8]) made[i]!.destroy();
    manager.destroyLater("look c", 0, look("c"));
    manager.endFrame();
    expect(allocator.allocationCount).toBe(before + made.length); // nothing before the frame's fence
    expect(() => manager.waitIdle()).toThrow("callback failed");
    expect(seen).toEqual(["a:xx-------", "b:xxx---xx-", "c:xxxxxxxxx"]);
    expect(thrown).toBe(1);
    expect(allocator.allocationCount).toBe(before);
    for (const r of made) expect(allocationOf(r)._handle).toBe(0);
    const stats = manager.statistics;
    expect(stats.deferredPending).toBe(0);
    manager.waitIdle(); // the throwing callback is not run again
    expect(thrown).toBe(1);
    expect(stats.deferredRetired).toBe(manager.statistics.deferredRetired);
  } finally {
    pool.destroy();
  }
});

/**
 * In a frame begun here: `count` resources, a 16x16 texture every `textureEvery` and buffers of `bufferSize` bytes
 * between them, used by the frame and destroyed, so that they wait in the release queue.
 */
function usedAndDestroyed(count: number, textureEvery: number, bufferSize: number): (Buffer | Texture)[] {
  manager.beginFrame();
  const made: (Buffer | Texture)[] = [];
  for (let i = 0; i < count; i++)
    made.push(
      i % textureEvery === 0
        ? manager.createTexture({ label: `t${i}`, width: 16, height: 16, format: RGBA8 })
        : manager.createBuffer({
            label: `b${i}`,
            size: bufferSize,
            usage: STORAGE,
            memory: { usage: MemoryUsage.Auto },
          }),
    );
  for (const r of made) r.markUsed();
  for (const r of made) r.destroy();
  return made;
}

test("many at once: a batch larger than its first arrays, retired by beginFrame and counted", () => {
  const before = allocator.allocationCount;
  const made = usedAndDestroyed(600, 10, 256);
  // Each allocation the native call freed is forgotten by the allocator as one freed natively.
  const spy = vi.spyOn(allocator, "_forgetFreedNatively");
  const queued = manager.frameStatistics!.deferredQueued;
  expect(queued).toBe(600);
  manager.endFrame();
  try {
    manager.waitIdle();
    expect(spy).toHaveBeenCalledTimes(600); // all 600 through the batch
  } finally {
    spy.mockRestore();
  }
  expect(allocator.allocationCount).toBe(before);
  for (const r of made) expect(r.destroyed).toBe(true);
});

test("the retired buffers, images and views are destroyed by the background freer; the memory serves the next at once", () => {
  // Warm: the freer thread runs, and the memory type has its block.
  manager.beginFrame();
  const warm = manager.createBuffer({ label: "warm", size: 4096, usage: STORAGE });
  warm.markUsed();
  warm.destroy();
  manager.endFrame();
  manager.waitIdle();
  const [, doneBefore] = native.deferredFrees();
  const blocks = allocator.calculateStatistics().total.blockCount;
  usedAndDestroyed(40, 4, 4096);
  manager.endFrame();
  manager.waitIdle(); // retires the 40 through freeResources
  // The same sizes again, at once: VMA's free was immediate, so no new block is needed while the old objects may
  // still wait for the freer.
  const again = Array.from({ length: 40 }, (_, i) =>
    manager.createBuffer({ label: `again${i}`, size: 4096, usage: STORAGE }),
  );
  expect(allocator.calculateStatistics().total.blockCount).toBe(blocks);
  for (const r of again) r.destroy();
  // Every one of the 50 Vulkan objects went through the freer: 30 buffers, 10 images and the 10 images' views (its
  // count only grows: other files share it).
  let done = native.deferredFrees()[1];
  for (let spin = 0; spin < 200 && done - doneBefore < 50; spin++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    done = native.deferredFrees()[1];
  }
  expect(done - doneBefore).toBeGreaterThanOrEqual(50);
});

test("freeResources refuses bad arguments with typed errors and stops at an entry it cannot vouch for", () => {
  const native = allocator._native;
  const h = allocator._handle;
  const none: (ArrayBuffer | null)[] = [null, null, null];
  expect(() => native.freeResources(h, [1, 2] as unknown as Float64Array, none, 0, 1)).toThrow(TypeError);
  expect(() => native.freeResources(h, new Float64Array(3), {} as unknown as [], 0, 1)).toThrow(TypeError);
  expect(() => native.freeResources(h, new Float64Array(3), none, 2, 1)).toThrow(RangeError);
  expect(() => native.freeResources(h, new Float64Array(3), none, 0, 4)).toThrow(RangeError);
  expect(() => native.freeResources(h, new Float64Array(3), none, -1, 1)).toThrow(RangeError);
  expect(() => native.freeResources(0, new Float64Array(3), none, 0, 1)).toThrow();
  // Forged and stale handles stop the call at once: nothing is freed.
  expect(native.freeResources(h, new Float64Array([0, 12345, 1e12]), none, 0, 3)).toBe(0);
  const b = allocator.createBuffer({ size: 256, usage: STORAGE });
  const c = allocator.createBuffer({ size: 256, usage: STORAGE });
  const count = allocator.allocationCount;
  const img = allocator.createImage({ format: RGBA8, extent: { width: 8, height: 8 }, usage: 0x4 });
  try {
    // Another allocator's buffer, or an image whose view entry is not 8 bytes, is refused where it stands: nothing
    // of it is done, and the entries before it are freed.
    const other = createAllocator(context, { label: "other" });
    const o = other.createBuffer({ size: 256, usage: STORAGE });
    try {
      const handles = new Float64Array([o.allocation._handle, img.allocation._handle]);
      expect(native.freeResources(h, handles, [null, null], 0, 2)).toBe(0);
      expect(native.freeResources(h, handles, [null, new ArrayBuffer(4)], 1, 2)).toBe(1);
      expect(native.freeResources(h, handles, [null, 7 as unknown as ArrayBuffer], 1, 2)).toBe(1);
      expect(allocator.allocationCount).toBe(count + 1);
      expect(handles[1]).toBe(img.allocation._handle);
    } finally {
      other.destroyBuffer(o.buffer, o.allocation);
      expect(other.destroy()).toEqual([]);
    }
    // A buffer's view entry is never read (a thousand buffers cost no reads of the array): b is freed as a buffer.
    const handles = new Float64Array([b.allocation._handle]);
    const notRead = new BigUint64Array([0x1234n]).buffer;
    expect(native.freeResources(h, handles, [notRead], 0, 1)).toBe(1);
    expect(handles[0]).toBe(0);
    allocator._forgetFreedNatively(b.allocation);
    expect(allocator.allocationCount).toBe(count);
  } finally {
    if (!b.allocation.destroyed) allocator.destroyBuffer(b.buffer, b.allocation);
    allocator.destroyBuffer(c.buffer, c.allocation);
    allocator.destroyImage(img.image, img.allocation);
  }
  expect(allocator.allocationCount).toBe(count - 2);
});

test("a resource is released once: releaseResource again, after destroy() or its retirement, does nothing", () => {
  const before = allocator.allocationCount;
  manager.beginFrame();
  const a = manager.createBuffer({ label: "once a", size: 256, usage: STORAGE });
  const b = manager.createTexture({ label: "once b", width: 16, height: 16, format: RGBA8 });
  a.markUsed();
  b.markUsed();
  a.destroy();
  b.destroy();
  manager.releaseResource(a);
  manager.releaseResource(b);
  expect(manager.frameStatistics!.deferredQueued).toBe(2);
  manager.endFrame();
  manager.waitIdle();
  expect(allocator.allocationCount).toBe(before);
  manager.releaseResource(a);
  b.destroy();
  manager.waitIdle();
  expect(manager.statistics.deferredPending).toBe(0);
  expect(allocator.allocationCount).toBe(before);
});

test("releaseResource with another manager's live resource does nothing to either manager", () => {
  // The table finds a resource by its slot, which only its own manager's table gave it: the same slot number in this
  // manager's table holds another resource (or none), which must stay live.
  const otherAllocator = createAllocator(context, { label: "other" });
  const other = createFrameManager(context, otherAllocator, { label: "other" });
  try {
    const before = allocator.allocationCount;
    const otherBefore = otherAllocator.allocationCount; // its rings'
    const mine = manager.createBuffer({ label: "mine", size: 256, usage: STORAGE });
    const theirs = other.createBuffer({ label: "theirs", size: 256, usage: STORAGE });
    const destroyedMine = manager.statistics.resourcesDestroyed;
    const destroyedTheirs = other.statistics.resourcesDestroyed;
    manager.releaseResource(theirs);
    other.releaseResource(mine);
    expect(manager.statistics.resourcesDestroyed).toBe(destroyedMine);
    expect(other.statistics.resourcesDestroyed).toBe(destroyedTheirs);
    expect(manager.statistics.deferredPending).toBe(0);
    expect(other.statistics.deferredPending).toBe(0);
    expect(allocator.allocationCount).toBe(before + 1);
    expect(otherAllocator.allocationCount).toBe(otherBefore + 1);
    // Both still work in a frame of their managers, and go when destroyed.
    for (const [m, b] of [
      [manager, mine],
      [other, theirs],
    ] as const) {
      m.beginFrame();
      m.upload(b, new Uint8Array([1, 2, 3, 4]));
      b.destroy();
      m.endFrame();
      m.waitIdle();
    }
    expect(allocator.allocationCount).toBe(before);
    expect(otherAllocator.allocationCount).toBe(otherBefore);
  } finally {
    other.destroy();
    expect(otherAllocator.destroy()).toEqual([]);
  }
});

test("an entry the native call refuses goes to the single path, between the frees around it", () => {
  // b's allocation is freed behind its manager's back: destroy() queued it with a handle that is stale by retirement.
  // The native call stops there; the single path (the allocator's destroyBuffer of an allocation already freed) does
  // nothing, and the call goes on after it: a, c and the texture are freed, nothing twice.
  const before = allocator.allocationCount;
  manager.beginFrame();
  const [a, b, c] = ["refused a", "refused b", "refused c"].map((label) =>
    manager.createBuffer({ label, size: 1024, usage: STORAGE }),
  );
  const t = manager.createTexture({ label: "refused t", width: 16, height: 16, format: RGBA8 });
  for (const r of [a!, b!, c!, t]) r.markUsed();
  const bHandle = allocationOf(b!)._handle;
  allocator.destroyBuffer(null, allocationOf(b!));
  // d takes the slot b's allocation left (its handle differs only in the generation): b's stale entry must not free it.
  const d = manager.createBuffer({ label: "refused d", size: 1024, usage: STORAGE });
  expect(allocationOf(d)._handle % 2 ** 24).toBe(bHandle % 2 ** 24);
  expect(allocator.allocationCount).toBe(before + 4);
  const held = [a!, c!, t].map(allocationOf);
  for (const r of [a!, b!, c!, t]) r.destroy();
  manager.endFrame();
  manager.waitIdle();
  expect(manager.statistics.deferredPending).toBe(0);
  expect(allocator.allocationCount).toBe(before + 1);
  for (const allocation of held) expect(allocation.destroyed).toBe(true);
  expect(allocationOf(d).destroyed).toBe(false);
  expect(allocationOf(d).info.size).toBeGreaterThanOrEqual(1024); // its slot still answers
  d.destroy();
  manager.waitIdle();
  expect(allocator.allocationCount).toBe(before);
});
