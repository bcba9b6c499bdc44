/**
 * Batches of buffers (allocator.createBuffers / destroyBuffers, engine/memory/buffer-batch.ts) on real Vulkan with the
 * validation layer on: results in typed arrays that agree with VMA's statistics and with each other, nvk handles made
 * on request, all-or-nothing on bad input and on out-of-memory, a batch freed once, and recorded like single calls.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  BufferBatch,
  createAllocator,
  DestroyedResourceError,
  MemoryUsage,
  nvk,
  OutOfDeviceMemoryError,
  rawHandle,
  readTrace,
  RecordKind,
  type Allocator,
  type Context,
} from "../../engine/index.js";
import { useGpuContext } from "../helpers/gpu.js";

let context: Context;
let allocator: Allocator;
const gpu = useGpuContext({ applicationName: "vkmem buffer batch tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "batches" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const VERTEX = 0x80;

test("count + description: every buffer gets its own memory, the arrays agree with VMA, destroyBuffers frees them all", () => {
  const before = allocator.allocationCount;
  const batch = allocator.createBuffers(
    64,
    { size: 1000, usage: VERTEX },
    { usage: MemoryUsage.Auto, name: "particles" },
  );
  expect(batch).toBeInstanceOf(BufferBatch);
  expect(batch.count).toBe(64);
  expect(allocator.allocationCount).toBe(before + 64);
  // No two allocations of one VkDeviceMemory overlap, and each is at least the buffer's size.
  const ranges = new Map<bigint, [number, number][]>();
  for (let i = 0; i < 64; i++) {
    expect(batch.sizes[i]).toBeGreaterThanOrEqual(1000);
    expect(batch.memoryTypes[i]).toBeLessThan(allocator.memoryTypes.length);
    expect(batch.buffers[i]).not.toBe(0n);
    const list = ranges.get(batch.memories[i]!) ?? [];
    list.push([batch.offsets[i]!, batch.offsets[i]! + batch.sizes[i]!]);
    ranges.set(batch.memories[i]!, list);
  }
  for (const list of ranges.values()) {
    list.sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < list.length; k++) expect(list[k]![0]).toBeGreaterThanOrEqual(list[k - 1]![1]);
  }
  expect(new Set(batch.allocations).size).toBe(64);
  // The dump names them after the options' name.
  expect(allocator.buildStatsString(true).split('"particles"').length - 1).toBe(64);
  // An nvk handle, made when asked for, names the same buffer; nvk accepts it.
  const handle = batch.buffer(5);
  expect(rawHandle(handle)).toBe(batch.buffers[5]);
  const requirements = new nvk.VkMemoryRequirements();
  nvk.vkGetBufferMemoryRequirements(context.device, handle, requirements);
  expect(Number(requirements.size)).toBeGreaterThanOrEqual(1000);
  expect(() => batch.buffer(64)).toThrow(RangeError);
  allocator.destroyBuffers(batch);
  expect(batch.destroyed).toBe(true);
  expect(allocator.allocationCount).toBe(before);
  allocator.destroyBuffers(batch); // a second call does nothing
  expect(allocator.allocationCount).toBe(before);
  expect(() => batch.buffer(0)).toThrow(DestroyedResourceError);
});

test("one description per buffer: sizes and usages as given, in order", () => {
  const descriptions = [1, 300, 4096, 70000].map((size, i) => ({ size, usage: i % 2 === 0 ? VERTEX : 0x20 }));
  const batch = allocator.createBuffers(descriptions);
  expect(Array.from(batch.sizes, (s, i) => s >= descriptions[i]!.size)).toEqual([true, true, true, true]);
  allocator.destroyBuffers(batch);
});

test("batches made and destroyed from a description's getter keep their own results (the native buffer is reused)", () => {
  const before = allocator.allocationCount;
  let inner: BufferBatch | null = null;
  const sizes = [1000, 2000, 3000, 4000, 5000];
  const descriptions = sizes.map((size, i) => ({
    get size() {
      if (i === 3) {
        // A batch made, and another made and destroyed, while the outer one is being encoded.
        allocator.destroyBuffers(allocator.createBuffers(2, { size: 70000, usage: VERTEX }));
        inner = allocator.createBuffers(3, { size: 100000, usage: VERTEX });
      }
      return size;
    },
    usage: VERTEX,
  }));
  const outer = allocator.createBuffers(descriptions);
  const made = inner as BufferBatch | null;
  expect(made).not.toBeNull();
  expect(Array.from(outer.sizes, (s, i) => s >= sizes[i]! && s < 65536)).toEqual([true, true, true, true, true]);
  expect(Array.from(made!.sizes, (s) => s >= 100000)).toEqual([true, true, true]);
  expect(new Set([...outer.allocations, ...made!.allocations]).size).toBe(8);
  expect(allocator.allocationCount).toBe(before + 8);
  // A batch made after both does not change what they show or what destroyBuffers frees.
  const later = allocator.createBuffers(64, { size: 256, usage: VERTEX });
  expect(Array.from(outer.sizes, (s) => s < 65536)).toEqual([true, true, true, true, true]);
  allocator.destroyBuffers(made!);
  expect(allocator.allocationCount).toBe(before + 69);
  allocator.destroyBuffers(outer);
  allocator.destroyBuffers(later);
  expect(allocator.allocationCount).toBe(before);
});

test("a live batch's results survive later batches; once destroyed, arrays not read before throw", () => {
  const before = allocator.allocationCount;
  const first = allocator.createBuffers(16, { size: 3000, usage: VERTEX }, { name: "first" });
  const sizesRead = first.sizes; // read while its results are where the native call wrote them
  const seen = [first.allocations, first.offsets, first.memoryTypes, first.buffers, first.memories];
  // Later batches reuse that native buffer: the first one's results are copied out before, and read back the same.
  const second = allocator.createBuffers(64, { size: 100, usage: VERTEX });
  const third = allocator.createBuffers(5000, { size: 16, usage: VERTEX }); // a larger one has a buffer of its own
  const copy = allocator.createBuffers(16, { size: 3000, usage: VERTEX }, { name: "first" });
  expect(Array.from(copy.sizes)).toEqual(Array.from(sizesRead));
  expect(new Set([...first.allocations, ...second.allocations, ...third.allocations]).size).toBe(5080);
  for (const batch of [second, third, copy]) expect(batch.sizes.every((s) => s > 0)).toBe(true);
  expect(allocator.allocationCount).toBe(before + 5096);
  // A spilled batch frees its own buffers, and nothing else.
  allocator.destroyBuffers(first);
  expect(allocator.allocationCount).toBe(before + 5080);
  const one = allocator.createBuffers(1, { size: 8, usage: VERTEX });
  expect(allocator.allocationCount).toBe(before + 5081);
  // Arrays read before the destroy stay the caller's; the others throw, as buffer() does.
  expect(first.sizes).toBe(sizesRead);
  expect(seen[0]!.length).toBe(16);
  for (const batch of [second, third, copy]) {
    const allocations = batch.allocations;
    allocator.destroyBuffers(batch);
    expect(batch.allocations).toBe(allocations);
    expect(() => batch.offsets).toThrow(DestroyedResourceError);
    expect(() => batch.memories).toThrow(/BufferBatch.*has been destroyed/);
  }
  expect(allocator.allocationCount).toBe(before + 1);
  allocator.destroyBuffers(one);
  expect(allocator.allocationCount).toBe(before);
});

test("bad input names the argument and value, and nothing is made", () => {
  const before = allocator.allocationCount;
  const bad: [() => unknown, RegExp, typeof TypeError][] = [
    [
      () => allocator.createBuffers(0, { size: 64, usage: VERTEX }),
      /count must be an integer from 1 to \d+, got 0/,
      RangeError,
    ],
    [() => allocator.createBuffers(2.5, { size: 64, usage: VERTEX }), /count must be an integer/, RangeError],
    [() => allocator.createBuffers([]), /descriptions must hold 1 to \d+ buffer descriptions, got 0/, RangeError],
    [
      () =>
        allocator.createBuffers([
          { size: 64, usage: VERTEX },
          { size: -1, usage: VERTEX },
        ]),
      /createBuffers: descriptions\[1\]\.size must be a positive integer number of bytes, got -1/,
      RangeError,
    ],
    [
      () => allocator.createBuffers(3, null as never),
      /createBuffers: description must be an object, got null/,
      TypeError,
    ],
    [() => allocator.createBuffers("x" as never), /first argument must be a count or an array/, TypeError],
    [
      () => allocator.createBuffers(2, { size: 64, usage: VERTEX }, { usage: MemoryUsage.CpuToGpu, mapped: true }),
      /allocationOptions\.mapped is not supported for a batch/,
      TypeError,
    ],
    [
      () => allocator.createBuffers(2, { size: 64, usage: VERTEX }, { canBecomeLost: true }),
      /allocationOptions\.canBecomeLost is not supported for a batch/,
      TypeError,
    ],
    [
      () => allocator.createBuffers(2, { size: 64, usage: VERTEX }, { name: "a\0b" }),
      /allocationOptions\.name must be a string without NUL characters/,
      TypeError,
    ],
    [() => allocator.destroyBuffers({} as never), /destroyBuffers: batch must be a BufferBatch/, TypeError],
  ];
  for (const [call, message, Ctor] of bad) {
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown, String(message)).toBeInstanceOf(Ctor);
    expect((thrown as Error).message).toMatch(message);
  }
  expect(allocator.allocationCount).toBe(before);
});

test("out of memory on buffer 16 of 100: an OutOfDeviceMemoryError, none of the batch kept, the allocator works on", () => {
  const small = createAllocator(context, {
    label: "small heap",
    heapSizeLimits: allocator.memoryHeaps.map(() => 1 << 20),
  });
  try {
    let thrown: unknown;
    try {
      small.createBuffers(100, { size: 64 << 10, usage: VERTEX });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OutOfDeviceMemoryError);
    expect((thrown as Error).message).toMatch(/buffer \d+ of a batch of 100; none was kept/);
    expect(small.allocationCount).toBe(0);
    const fits = small.createBuffers(8, { size: 64 << 10, usage: VERTEX });
    expect(small.allocationCount).toBe(8);
    small.destroyBuffers(fits);
  } finally {
    expect(small.destroy()).toEqual([]);
  }
});

test("a batch of another allocator is refused; one left alive is freed and reported by its allocator's destroy()", () => {
  const other = createAllocator(context, { label: "other", onLeaks: () => {} });
  const batch = other.createBuffers(3, { size: 256, usage: VERTEX }, { name: "left" });
  expect(() => allocator.destroyBuffers(batch)).toThrow(/batch belongs to another allocator/);
  const leaks = other.destroy();
  expect(leaks.map((l) => l.name)).toEqual(["left", "left", "left"]);
  expect(batch.destroyed).toBe(true);
  other.destroyBuffers(batch); // nothing left to do
});

test("a recording allocator records one Allocate and one Free per buffer of a batch", () => {
  const dir = mkdtempSync(join(tmpdir(), "vkmem-batch-"));
  const file = join(dir, "batch.vkmtrace");
  try {
    const recording = createAllocator(context, { label: "recorded", record: { file } });
    const batch = recording.createBuffers(5, { size: 512, usage: VERTEX }, { name: "wave" });
    const offsets = Array.from(batch.offsets);
    recording.destroyBuffers(batch);
    recording.destroy();
    const trace = readTrace(readFileSync(file));
    const allocs = trace.records.filter((r) => r.kind === RecordKind.Allocate);
    expect(allocs.length).toBe(5);
    expect(allocs.every((r) => r.kind === RecordKind.Allocate && r.name === "wave" && r.result === 0)).toBe(true);
    expect(allocs.map((r) => (r.kind === RecordKind.Allocate ? r.offset : -1))).toEqual(offsets);
    expect(trace.records.filter((r) => r.kind === RecordKind.Free).length).toBe(5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("results written when first read (not by createBuffers) are those written at once for a recording allocator", () => {
  // Two fresh allocators take the same steps; VMA places alike in both. The recording one has its batch's
  // allocation info written by createBuffers (its records need it), the other when the arrays are first read: after
  // more allocations and frees, and after a later batch took the native buffer (so from the spilled copy).
  const dir = mkdtempSync(join(tmpdir(), "vkmem-batch-lazy-"));
  try {
    const eager = createAllocator(context, { label: "eager", record: { file: join(dir, "eager.vkmtrace") } });
    const lazy = createAllocator(context, { label: "lazy" });
    const descriptions = Array.from({ length: 40 }, (_, i) => ({ size: 256 << (i % 7), usage: VERTEX }));
    // First a batch of as many buffers elsewhere, so that the reused native buffer holds other results.
    const other = lazy.createBuffers(descriptions.length, { size: 1 << 17, usage: VERTEX });
    void other.offsets;
    lazy.destroyBuffers(other);
    const [lazyRead, eagerRead] = [lazy, eager].map((a) => {
      const batch = a.createBuffers(descriptions, { usage: MemoryUsage.Auto });
      const single = a.createBuffer({ size: 4096, usage: VERTEX });
      const later = a.createBuffers(8, { size: 1 << 16, usage: VERTEX });
      a.destroyBuffer(single.buffer, single.allocation);
      const read = {
        offsets: Array.from(batch.offsets),
        sizes: Array.from(batch.sizes),
        memoryTypes: Array.from(batch.memoryTypes),
        memories: Array.from(batch.memories),
      };
      a.destroyBuffers(later);
      a.destroyBuffers(batch);
      return read;
    });
    expect(lazyRead!.offsets).toEqual(eagerRead!.offsets);
    expect(lazyRead!.sizes).toEqual(eagerRead!.sizes);
    expect(lazyRead!.memoryTypes).toEqual(eagerRead!.memoryTypes);
    // Other VkDeviceMemory objects, grouped alike.
    const groups = (memories: bigint[]) => memories.map((m) => memories.indexOf(m));
    expect(lazyRead!.memories.every((m) => m !== 0n)).toBe(true);
    expect(groups(lazyRead!.memories)).toEqual(groups(eagerRead!.memories));
    expect(eager.destroy()).toEqual([]);
    expect(lazy.destroy()).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
