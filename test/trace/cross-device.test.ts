/**
 * A trace replayed on another device's memory (engine/trace/memory-layout.ts): recorded on the device at hand and
 * replayed through the test layer's discrete GPU (test/native/discrete_memory_layer.cpp), and the other way round.
 * The replay says how the memory differs, maps each recorded memory type to the device's type that stands for it
 * (pools, memoryTypeBits, placements), and every call succeeds again, without a validation message. Linux only: the
 * layer is built there (scripts/setup.mjs); under Wine the file has nothing to run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { createAllocator, createContext, MemoryUsage, type Context, type ReplayResult } from "../../engine/index.js";
import { replay } from "../../engine/cli/replay.js";
import { readTrace } from "../../engine/trace/reader.js";
import { replayTrace } from "../../engine/trace/replay.js";
import { mapTypeBits, memoryTypeMap } from "../../engine/trace/memory-layout.js";
import * as vk from "../../engine/vulkan/constants.js";
import { failingMessages } from "../helpers/gpu.js";
import { LAYER_NAME, layerEnvironment } from "../native/discrete-memory.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-cross-device-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;
const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const IMAGE = {
  format: vk.VK_FORMAT_R8G8B8A8_UNORM,
  extent: { width: 64, height: 64 },
  usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
};

/** A validated context, over the discrete GPU's memory or the device as it is. */
function context(discrete: boolean): Context {
  if (discrete) process.env.VK_ADD_LAYER_PATH = layerEnvironment(ROOT).VK_ADD_LAYER_PATH;
  return createContext({
    applicationName: "vkmem cross-device",
    validation: true,
    layers: discrete ? [LAYER_NAME] : [],
  });
}

/** Records a workload on `on`: a pool of mapped buffers, default-pool buffers and an image, raw memory, maps. */
function record(on: Context, file: string): void {
  const allocator = createAllocator(on, { label: "recorded", record: { file } });
  const host = { hostAccess: "random" as const };
  const poolType = allocator.findMemoryTypeIndexForBufferInfo({ size: 4 * KiB, usage: SRC }, host);
  const pool = allocator.createPool({ memoryTypeIndex: poolType }, { name: "staging", blockSize: 256 * KiB });
  const made = [];
  for (let i = 0; i < 8; i++) {
    made.push(allocator.createBuffer({ size: 4 * KiB, usage: SRC }, { ...host, pool, name: `staged ${i}` }));
    made.push(allocator.createBuffer({ size: 16 * KiB, usage: SRC }, { name: `vertices ${i}` }));
  }
  made[0]!.allocation.map();
  made[0]!.allocation.unmap();
  const image = allocator.createImage(IMAGE, { name: "texture" });
  // Raw memory for the requirements of a host-visible buffer of this device: a memoryTypeBits of its types.
  const bits =
    2 ** allocator.findMemoryTypeIndexForBufferInfo({ size: 4 * KiB, usage: SRC }, { usage: MemoryUsage.CpuOnly });
  const raw = allocator.allocateMemory({ size: 8 * KiB, alignment: 256, memoryTypeBits: bits }, { name: "raw" });
  allocator.freeMemory(raw);
  allocator.destroyImage(image.image, image.allocation);
  for (const b of made) allocator.destroyBuffer(b.buffer, b.allocation);
  pool.destroy();
  expect(allocator.destroy()).toEqual([]);
}

/**
 * Records a pool holding buffers and optimal images in one memory type, as lavapipe allows (its one type takes both);
 * false where the device has no such type (a discrete GPU's host-visible types take no optimal image).
 */
function recordMixedPool(on: Context, file: string): boolean {
  const allocator = createAllocator(on, { label: "mixed", record: { file } });
  const type = allocator.findMemoryTypeIndexForBufferInfo({ size: 4 * KiB, usage: SRC }, { hostAccess: "random" });
  let takesImages = true;
  try {
    allocator.findMemoryTypeIndexForImageInfo(IMAGE, { usage: MemoryUsage.Unknown, memoryTypeBits: 2 ** type });
  } catch {
    takesImages = false;
  }
  if (takesImages) {
    const pool = allocator.createPool({ memoryTypeIndex: type }, { name: "mixed", blockSize: 1024 * KiB });
    const buffers = [0, 1, 2].map((i) =>
      allocator.createBuffer({ size: 8 * KiB, usage: SRC }, { pool, name: `b${i}` }),
    );
    const images = [0, 1].map((i) => allocator.createImage(IMAGE, { pool, name: `image ${i}` }));
    for (const i of images) allocator.destroyImage(i.image, i.allocation);
    for (const b of buffers) allocator.destroyBuffer(b.buffer, b.allocation);
    pool.destroy();
  }
  expect(allocator.destroy()).toEqual([]);
  return takesImages;
}

function replayOn(on: Context, file: string): ReplayResult {
  const result = replayTrace(on, readTrace(fs.readFileSync(file)));
  expect(result.failures).toEqual([]);
  expect(result.unknownObjects).toBe(0);
  return result;
}

describe.runIf(process.platform === "linux")("a trace replayed on another device's memory", () => {
  test("recorded here, replayed on the discrete GPU: its types stand for the recorded ones, every call succeeds", () => {
    const file = path.join(dir, "here.vkmtrace");
    const here = context(false);
    const discrete = context(true);
    try {
      record(here, file);
      const again = replayOn(here, file);
      expect(again.memoryLayoutDifference).toBeNull();
      expect(again.memoryTypeMap).toBeNull();
      expect(again.differenceCount).toBe(0);

      const there = replayOn(discrete, file);
      const map = memoryTypeMap(here.memoryProperties, discrete.memoryProperties);
      expect(there.memoryTypeMap).toEqual(map);
      expect(there.memoryLayoutDifference).toMatch(
        /replayed on 2 heap\(s\) and 5 memory type\(s\)|memory type \d+ was/,
      );
      // A pool of buffers and images in one host-visible type (lavapipe): on the discrete GPU the pool takes a type
      // that takes both (no host-visible one does), so nothing is bound where Vulkan forbids it.
      const mixedFile = path.join(dir, "mixed.vkmtrace");
      if (recordMixedPool(here, mixedFile)) {
        const mixed = replayOn(discrete, mixedFile);
        expect(mixed.byKind.Allocate!.count).toBe(5);
        const takesImages = discrete.memoryProperties.types.findIndex(
          (t) => t.propertyFlags === vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
        );
        expect(mixed.differences.filter((d) => d.replayed.memoryType !== takesImages)).toEqual([]);
      }
      // Each recorded type stands for a type of the discrete GPU with the most property flags in common.
      for (const [t, d] of map.entries()) {
        const flags = here.memoryProperties.types[t]!.propertyFlags;
        const shared = (f: number) => (f & flags).toString(2).replace(/0/g, "").length;
        const best = Math.max(...discrete.memoryProperties.types.map((x) => shared(x.propertyFlags)));
        expect(shared(discrete.memoryProperties.types[d]!.propertyFlags)).toBe(best);
      }
    } finally {
      discrete.destroy();
      here.destroy();
    }
    expect(failingMessages(discrete.validationMessages)).toEqual([]);
  });

  test("recorded on the discrete GPU, replayed here: pools of its five types land in the types that stand for them", () => {
    const file = path.join(dir, "discrete.vkmtrace");
    const discrete = context(true);
    const here = context(false);
    try {
      record(discrete, file);
      const back = replayOn(here, file);
      const map = memoryTypeMap(discrete.memoryProperties, here.memoryProperties);
      expect(back.memoryLayoutDifference).not.toBeNull();
      expect(back.memoryTypeMap).toEqual(
        map.every((t, i) => t === i) && map.length === here.memoryProperties.types.length ? null : map,
      );
      // A recorded mask of one type becomes the mask of the type standing for it; a mask of all types stays any.
      expect(mapTypeBits(0b1000, map)).toBe(2 ** map[3]!);
      expect(mapTypeBits(0xffffffff, map)).toBe(0xffffffff);
      expect(mapTypeBits(0b11111, map)).toBe(0b11111);
      // `vkmem replay` (on the device as it is) says so before its table.
      const lines: string[] = [];
      expect(replay({ input: file, print: (l) => lines.push(l), progress: { write: () => {} } })).toBe(0);
      const note = lines.find((l) => /memory differs from the recording's/.test(l));
      expect(note).toContain(back.memoryLayoutDifference!);
      expect(note).toContain(`recorded memory types stand for ${map.map((d, t) => `${t} -> ${d}`).join(", ")}`);
    } finally {
      here.destroy();
      discrete.destroy();
    }
    expect(failingMessages(here.validationMessages)).toEqual([]);
    expect(failingMessages(discrete.validationMessages)).toEqual([]);
  });
});
