/**
 * The native encoder of a recording allocator's hot records (native/trace_sink.h, engine/trace/writer.ts): the same
 * calls recorded by an allocator whose addon encodes its Allocate and Free records, and by one that encodes none
 * (its sink taken away, so the JS encoder writes everything), read back as the same records; the fields of every
 * full record the native side wrote are byte for byte what the JS encoder writes for them, and the short AllocateLike records
 * (format 1.1) stand for exactly the allocations they replace. The calls cover what the native side must leave to
 * JS (names it was not given, non-ASCII and long names, pools, failures, vkmem flags, memory for a caller's buffer),
 * creations given back after their native call left its record pending (which TS then never keeps), and handles
 * above 2^31.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, expect, test } from "vitest";
import { createAllocator, MemoryUsage, nvk, type Allocator } from "../../engine/index.js";
import { RecordKind, type RecordOf, type TraceRecord } from "../../engine/trace/format.js";
import { readTrace } from "../../engine/trace/reader.js";
import { TraceWriter } from "../../engine/trace/writer.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem native trace records" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-native-records-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const USAGE = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;

/** The same calls on either allocator. */
function calls(allocator: Allocator): void {
  const pair = (size: number, options: Parameters<Allocator["createBuffer"]>[1] = { usage: MemoryUsage.GpuOnly }) => {
    const { buffer, allocation } = allocator.createBuffer({ size, usage: USAGE }, options);
    allocator.destroyBuffer(buffer, allocation);
  };
  // Pairs that reuse one allocation slot: past 128 of them its handles are above 2^31.
  for (let i = 0; i < 160; i++) pair(256 << (i % 9));
  const kept = allocator.createBuffer({ size: 4096, usage: USAGE }, { usage: MemoryUsage.GpuOnly });
  pair(1024, { usage: MemoryUsage.GpuOnly, name: "named by its options" });
  pair(2048);
  // Names the native call is given (a FrameManager's label): ASCII, non-ASCII, long.
  for (const name of ["mesh 1", "métal ✓", "x".repeat(300), "mesh 1"]) {
    const a = allocator._vma.createNamedBuffer({ size: 8192, usage: USAGE }, undefined, name);
    allocator.destroyBuffer(null, a);
  }
  // Creations given back after their native call (a bad name, a throwing getter): no record of them.
  expect(() => pair(512, { usage: MemoryUsage.GpuOnly, name: "bad\0name" })).toThrow(TypeError);
  const throwing = { usage: MemoryUsage.GpuOnly } as Parameters<Allocator["createBuffer"]>[1] & object;
  Object.defineProperty(throwing, "userData", {
    get() {
      throw new Error("the caller's getter");
    },
  });
  expect(() => pair(512, throwing)).toThrow("the caller's getter");
  pair(512, { usage: MemoryUsage.GpuOnly, canBecomeLost: true });
  pair(512, { usage: MemoryUsage.GpuOnly, priority: 0.75, minAlignment: 1024 });
  pair(512);
  const type = allocator.findMemoryTypeIndexForBufferInfo({ size: 1024, usage: USAGE }, {});
  const pool = allocator.createPool({ memoryTypeIndex: type }, { name: "pool", blockSize: MiB });
  pair(4096, { pool });
  pool.destroy();
  // A failure: not over the heap's size limit (vkmem refuses that itself), over what is left of it.
  const blocker = allocator.createBuffer({ size: 3 * MiB, usage: USAGE }, { usage: MemoryUsage.GpuOnly });
  // In the blocker's memory type only: on a discrete GPU VMA would take another heap's type.
  const oneType = { name: "too big", memoryTypeBits: 2 ** blocker.allocation.memoryType };
  expect(() => allocator.createBuffer({ size: 3 * MiB, usage: USAGE }, oneType)).toThrow(
    /VK_ERROR_OUT_OF_DEVICE_MEMORY/,
  );
  allocator.destroyBuffer(blocker.buffer, blocker.allocation);
  const image = allocator.createImage(
    {
      imageType: vk.VK_IMAGE_TYPE_2D,
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 64, height: 64, depth: 1 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
    },
    { usage: MemoryUsage.GpuOnly },
  );
  allocator.destroyImage(image.image, image.allocation);
  for (let i = 0; i < 3; i++)
    allocator.freeMemory(allocator.allocateMemory({ size: 65536, alignment: 256, memoryTypeBits: 1 }));
  // Memory for a caller's own buffer (recorded as raw memory of what it got).
  const own = new nvk.VkBuffer();
  const info = new nvk.VkBufferCreateInfo({ size: 4096, usage: USAGE, sharingMode: 0 });
  expect(nvk.vkCreateBuffer(gpu.context.device, info, null, own)).toBe(0);
  const memory = allocator.allocateMemoryForBuffer(own, { usage: MemoryUsage.GpuOnly });
  allocator.bindBufferMemory(memory, own);
  allocator.destroyBuffer(own, memory);
  for (let i = 0; i < 40; i++) pair(256 << (i % 9));
  allocator.destroyBuffer(kept.buffer, kept.allocation);
}

function recorded(native: boolean): { bytes: Uint8Array; records: TraceRecord[] } {
  const file = path.join(dir, native ? "native.vkmtrace" : "js.vkmtrace");
  const heapSizeLimits = gpu.context.memoryProperties.heaps.map(() => 4 * MiB);
  const allocator = createAllocator(gpu.context, { record: { file }, heapSizeLimits });
  if (!native) allocator._native.setTraceSink(allocator._handle, null);
  calls(allocator);
  allocator.destroy();
  const bytes = new Uint8Array(fs.readFileSync(file));
  return { bytes, records: readTrace(bytes).records };
}

/**
 * The records with times and offsets dropped, and handles numbered by first appearance. The VkDeviceMemory of a
 * successful allocation is left out: the two runs get their blocks from the driver, which may hand a freed block's
 * handle value to a later block in one run and not in the other (lavapipe's handles are heap addresses, and the two
 * runs' native heaps differ); the second half of the test checks those fields byte for byte within one run.
 */
function normalized(records: readonly TraceRecord[]): unknown[] {
  const ids = new Map<string, number>();
  const id = (space: string, v: number) => {
    const key = `${space}:${v}`;
    if (!ids.has(key)) ids.set(key, ids.size);
    return ids.get(key);
  };
  return records.map((r) => {
    const { fileOffset: _offset, timeUs: _time, ...rest } = r as Record<string, unknown>;
    if ("startMs" in rest) rest.startMs = 0;
    for (const k of ["allocation", "allocator"] as const) if (typeof rest[k] === "number") rest[k] = id(k, rest[k]);
    if (rest.memoryLo !== undefined && rest.result === 0) rest.memoryLo = rest.memoryHi = "a block";
    return rest;
  });
}

/** The bytes of record i after its kind, payload length and dt: its fields. */
function afterDt(bytes: Uint8Array, records: readonly TraceRecord[], i: number): number[] {
  const r = records[i]!;
  const end = i + 1 < records.length ? records[i + 1]!.fileOffset : bytes.length;
  let at = r.fileOffset + 1; // after the kind: the payload length (1 byte natively, 3 from the JS encoder)
  while (bytes[at]! & 0x80) at++;
  at++;
  while (bytes[at]! & 0x80) at++; // dt
  return [...bytes.subarray(at + 1, end)];
}

test("native records read back as the JS encoder's, its full records' fields are the JS encoder's bytes, AllocateLike stands for them", () => {
  const js = recorded(false);
  const native = recorded(true);
  expect(normalized(native.records)).toEqual(normalized(js.records));
  const kindAt = (t: typeof js, r: TraceRecord) => t.bytes[r.fileOffset];
  // Without the sink nothing is written short; with it, the pairs are.
  expect(js.records.filter((r) => kindAt(js, r) === RecordKind.AllocateLike)).toEqual([]);
  const short = native.records.filter((r) => kindAt(native, r) === RecordKind.AllocateLike);
  expect(short.length).toBeGreaterThan(150);
  expect(native.bytes.length).toBeLessThan(js.bytes.length * 0.7);
  expect(Math.max(...native.records.map((r) => ("allocation" in r ? r.allocation : 0)))).toBeGreaterThan(2 ** 31);

  // Every full Allocate and Free record, encoded again by the JS encoder from what was read: the same field bytes.
  const file = path.join(dir, "again.vkmtrace");
  const w = TraceWriter.open(file);
  const full = native.records.filter(
    (r) => r.kind === RecordKind.Free || (r.kind === RecordKind.Allocate && kindAt(native, r) === RecordKind.Allocate),
  );
  for (const r of full) {
    if (r.kind === RecordKind.Free) {
      w.free(r.allocation);
      continue;
    }
    const a = r as RecordOf<RecordKind.Allocate>;
    const info = [
      a.vmaFlags,
      a.vmaUsage,
      a.requiredFlags,
      a.preferredFlags,
      a.memoryTypeBits,
      0,
      a.priority,
      a.minAlignment,
    ];
    w.allocate(
      a.allocation,
      a.allocator,
      a.pool,
      a.resourceKind,
      a.resource,
      0,
      a.resource.length,
      info,
      0,
      a.vkmemFlags,
      a.name,
      a.result,
      a.memoryType,
      a.offset,
      a.size,
      a.memoryLo,
      a.memoryHi,
      a.blockSize,
    );
  }
  w.close();
  const again = new Uint8Array(fs.readFileSync(file));
  const againRecords = readTrace(again).records.slice(1);
  expect(againRecords.length).toBe(full.length);
  full.forEach((r, i) => {
    expect(again[againRecords[i]!.fileOffset]).toBe(kindAt(native, r));
    expect(afterDt(again, againRecords, i)).toEqual(afterDt(native.bytes, native.records, native.records.indexOf(r)));
  });
});
