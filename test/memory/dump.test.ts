/**
 * VMA's JSON dump from a real allocator (lavapipe, validation on): the typed parse, the checks on malformed
 * input, validation against a JSON schema written from GpuMemDumpVis's GpuMemDump.schema.json, and the
 * readable statistics summary.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  DestroyedResourceError,
  dumpKeyIndex,
  formatStatistics,
  MemoryUsage,
  parseStatsString,
  parseVirtualBlockStatsString,
  StatsDumpError,
  type Allocator,
  type DumpSuballocation,
  type StatsDump,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem dump tests" });
let allocator: Allocator;
const frees: Array<() => void> = [];

const schema = JSON.parse(readFileSync(new URL("./gpumemdump.schema.json", import.meta.url), "utf8"));
const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validateDump = ajv.compile(schema);
const validateVirtual = ajv.getSchema(`${schema.$id}#/definitions/VirtualBlock`)!;

function schemaErrors(validate: typeof validateDump, value: unknown): string {
  return validate(value) ? "" : ajv.errorsText(validate.errors, { separator: "\n" });
}

/** Every suballocation and dedicated allocation with its memory type and where it lives. */
function allocationsOf(dump: StatsDump): Array<DumpSuballocation & { memoryType: number; block: string | null }> {
  const out: Array<DumpSuballocation & { memoryType: number; block: string | null }> = [];
  for (const [key, pool] of Object.entries(dump.DefaultPools ?? {})) {
    for (const [id, b] of Object.entries(pool.Blocks))
      for (const s of b.Suballocations) out.push({ ...s, memoryType: dumpKeyIndex(key), block: id });
    for (const d of pool.DedicatedAllocations) out.push({ ...d, memoryType: dumpKeyIndex(key), block: null });
  }
  return out;
}

beforeAll(() => {
  allocator = createAllocator(gpu.context, { label: "dump tests" });
  const buffer = (name: string, size: number, usage: number, options: object = {}) => {
    const r = allocator.createBuffer({ size, usage }, { usage: MemoryUsage.GpuOnly, name, ...options });
    frees.push(() => allocator.destroyBuffer(r.buffer, r.allocation));
  };
  const image = (
    name: string,
    usage: number,
    tiling = vk.VK_IMAGE_TILING_OPTIMAL,
    format = vk.VK_FORMAT_R8G8B8A8_UNORM,
  ) => {
    const r = allocator.createImage(
      { format, extent: { width: 256, height: 256 }, usage, tiling },
      { usage: MemoryUsage.GpuOnly, name },
    );
    frees.push(() => allocator.destroyImage(r.image, r.allocation));
  };
  buffer("vertices", 1 << 20, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT);
  buffer("uniforms", 4096, vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, { userData: 42 });
  buffer("particles (dedicated)", 2 << 20, vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, { dedicated: true });
  image("albedo", vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT);
  image("depth", vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, vk.VK_IMAGE_TILING_OPTIMAL, vk.VK_FORMAT_D32_SFLOAT);
  image("readable", vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT, vk.VK_IMAGE_TILING_LINEAR);
  const raw = allocator.allocateMemory(
    { size: 8192, alignment: 256, memoryTypeBits: 0xffffffff },
    { usage: MemoryUsage.GpuOnly, name: "raw" },
  );
  frees.push(() => allocator.freeMemory(raw));
});
afterAll(() => {
  for (const f of frees.reverse()) f();
  expect(allocator.destroy()).toEqual([]);
});

describe("parseStatsString on a real dump", () => {
  test("names, kinds, usages, offsets and user data come out typed and where VMA puts them", () => {
    const dump = allocator.dump();
    expect(dump.General.API).toBe("Vulkan");
    expect(dump.General.memoryTypeCount).toBe(allocator.memoryTypes.length);
    expect(Object.keys(dump.MemoryInfo)).toHaveLength(allocator.memoryHeaps.length);
    const all = allocationsOf(dump);
    const named = (name: string) => {
      const found = all.filter((a) => a.Name === name);
      expect(found, name).toHaveLength(1);
      return found[0];
    };
    expect(named("vertices")).toMatchObject({
      Type: "BUFFER",
      Size: 1 << 20,
      Usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    });
    expect(named("vertices").Offset).toEqual(expect.any(Number));
    expect(named("uniforms")).toMatchObject({
      Type: "BUFFER",
      Usage: vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
      CustomData: "0x2a",
    });
    expect(named("particles (dedicated)")).toMatchObject({ Type: "BUFFER", Size: 2 << 20, block: null });
    expect(named("particles (dedicated)").Offset).toBeUndefined();
    expect(named("albedo")).toMatchObject({
      Type: "IMAGE_OPTIMAL",
      Usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
    });
    expect(named("depth")).toMatchObject({
      Type: "IMAGE_OPTIMAL",
      Usage: vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
    });
    expect(named("readable")).toMatchObject({ Type: "IMAGE_LINEAR" });
    expect(named("raw")).toMatchObject({ Type: "UNKNOWN", Size: 8192, Usage: 0 });
  });

  test("the totals agree with calculateStatistics and the blocks account for every byte", () => {
    const dump = allocator.dump();
    const stats = allocator.calculateStatistics().total;
    expect(dump.Total).toMatchObject({
      BlockCount: stats.blockCount,
      BlockBytes: stats.blockBytes,
      AllocationCount: stats.allocationCount,
      AllocationBytes: stats.allocationBytes,
      UnusedRangeCount: stats.unusedRangeCount,
      AllocationSizeMin: stats.allocationSizeMin,
      AllocationSizeMax: stats.allocationSizeMax,
    });
    expect(dump.Total.AllocationCount).toBe(7);
    for (const pool of Object.values(dump.DefaultPools!)) {
      for (const block of Object.values(pool.Blocks)) {
        let end = 0;
        for (const s of block.Suballocations) {
          expect(s.Offset).toBe(end); // ranges are contiguous, in offset order
          end = s.Offset! + s.Size;
        }
        expect(end).toBe(block.TotalBytes);
        const free = block.Suballocations.filter((s) => s.Type === "FREE");
        expect(free.reduce((n, s) => n + s.Size, 0)).toBeLessThanOrEqual(block.UnusedBytes);
        expect(block.Allocations).toBe(block.Suballocations.length - free.length);
      }
    }
  });

  test("a dump without details has no pools, and still parses", () => {
    const dump = parseStatsString(allocator.buildStatsString(false));
    expect(dump.DefaultPools).toBeUndefined();
    expect(dump.Total.AllocationCount).toBe(7);
  });

  test("dump() on a destroyed allocator throws DestroyedResourceError", () => {
    const other = createAllocator(gpu.context);
    expect(parseStatsString(other.buildStatsString(true)).Total.AllocationCount).toBe(0);
    other.destroy();
    expect(() => other.dump()).toThrow(DestroyedResourceError);
  });
});

describe("the dumps pass a schema written from GpuMemDump.schema.json", () => {
  test("detailed, summary and empty dumps validate", () => {
    expect(schemaErrors(validateDump, JSON.parse(allocator.buildStatsString(true)))).toBe("");
    expect(schemaErrors(validateDump, JSON.parse(allocator.buildStatsString(false)))).toBe("");
    const empty = createAllocator(gpu.context);
    try {
      expect(schemaErrors(validateDump, JSON.parse(empty.buildStatsString(true)))).toBe("");
    } finally {
      empty.destroy();
    }
  });

  test("the schema has teeth: it rejects a misspelt field, a bad type name and a used range without Usage", () => {
    const good = JSON.parse(allocator.buildStatsString(true));
    const mutate = (f: (d: any) => void) => {
      const d = structuredClone(good);
      f(d);
      return d;
    };
    // The first default pool with a block (a device of several memory types has empty ones).
    const firstBlock = (d: any) =>
      Object.values<any>(Object.values<any>(d.DefaultPools).find((p) => Object.keys(p.Blocks).length > 0).Blocks)[0];
    expect(validateDump(mutate((d) => (d.Total.BlockCnt = 1)))).toBe(false);
    expect(validateDump(mutate((d) => (firstBlock(d).Suballocations[0].Type = "TEXTURE")))).toBe(false);
    expect(
      validateDump(mutate((d) => delete firstBlock(d).Suballocations.find((s: any) => s.Type !== "FREE").Usage)),
    ).toBe(false);
    expect(validateDump(mutate((d) => (d.MemoryInfo["Heap X"] = {})))).toBe(false);
  });

  test("a virtual block's dump ({Stats, Details}) parses and validates", () => {
    // As vmaBuildVirtualBlockStatsString(detailed) writes it for a 1 MiB block with two allocations.
    const json = JSON.stringify({
      Stats: {
        BlockCount: 1,
        BlockBytes: 1048576,
        AllocationCount: 2,
        AllocationBytes: 1536,
        UnusedRangeCount: 1,
        AllocationSizeMin: 512,
        AllocationSizeMax: 1024,
        UnusedRangeSizeMin: 1047040,
        UnusedRangeSizeMax: 1047040,
      },
      Details: {
        TotalBytes: 1048576,
        UnusedBytes: 1047040,
        Allocations: 2,
        UnusedRanges: 1,
        Suballocations: [
          { Offset: 0, Size: 1024, CustomData: "0x7" },
          { Offset: 1024, Size: 512 },
          { Offset: 1536, Type: "FREE", Size: 1047040 },
        ],
      },
    });
    const v = parseVirtualBlockStatsString(json);
    expect(v.Details!.Suballocations[0]).toEqual({ Offset: 0, Size: 1024, CustomData: "0x7" });
    expect(schemaErrors(validateVirtual, JSON.parse(json))).toBe("");
    expect(() => parseVirtualBlockStatsString('{"Stats":{}}')).toThrow(
      /\$\.Stats\.BlockCount must be a non-negative integer, got undefined/,
    );
  });
});

describe("parseStatsString on malformed input", () => {
  const good = () => JSON.parse(allocator.buildStatsString(true));
  const error = (value: unknown) => {
    try {
      parseStatsString(typeof value === "string" ? value : JSON.stringify(value));
    } catch (e) {
      return e as StatsDumpError;
    }
    throw new Error("parseStatsString accepted it");
  };

  test("not JSON, not an object, not a string", () => {
    expect(error("{ nope").message).toMatch(/^parseStatsString: not valid JSON \(/);
    expect(error("{ nope")).toBeInstanceOf(StatsDumpError);
    expect(error("[]").message).toBe("parseStatsString: $ must be an object, got an array");
    expect(() => parseStatsString(42 as unknown as string)).toThrow(
      new TypeError("parseStatsString: json must be a string, got number 42"),
    );
  });

  test("the first wrong field is named by its path", () => {
    const d = good();
    delete d.General;
    expect(error(d).message).toBe("parseStatsString: $.General must be an object, got undefined");

    const e = good();
    const pool = Object.keys(e.DefaultPools).find((name) => Object.keys(e.DefaultPools[name].Blocks).length > 0)!;
    const block = Object.keys(e.DefaultPools[pool].Blocks)[0];
    e.DefaultPools[pool].Blocks[block].Suballocations[1].Size = "big";
    const err = error(e);
    expect(err.path).toBe(`$.DefaultPools["${pool}"].Blocks["${block}"].Suballocations[1].Size`);
    expect(err.message).toBe(`parseStatsString: ${err.path} must be a non-negative integer, got the string "big"`);

    const f = good();
    f.DefaultPools[pool].Blocks[block].Suballocations[0].Type = "TEXTURE2D";
    expect(error(f).message).toMatch(
      /Suballocations\[0\]\.Type must be one of FREE, UNKNOWN, BUFFER, IMAGE_UNKNOWN, IMAGE_LINEAR, IMAGE_OPTIMAL, got the string "TEXTURE2D"$/,
    );

    const g = good();
    g.MemoryInfo.Heaps = g.MemoryInfo["Heap 0"];
    expect(error(g).message).toBe(
      'parseStatsString: $.MemoryInfo["Heaps"] must be keyed by "Heap N", got the string "Heaps"',
    );

    const h = good();
    h.CustomPools = { "Type 0": [{ Name: 3 }] };
    expect(error(h).message).toBe('parseStatsString: $.CustomPools["Type 0"][0].Name must be a string, got number 3');
  });

  test("unknown extra fields are kept (a newer VMA may add some)", () => {
    const d = good();
    d.General.extra = "kept";
    expect((parseStatsString(JSON.stringify(d)).General as unknown as { extra: string }).extra).toBe("kept");
  });
});

test("formatStatistics: totals, a heap table with budgets and a memory-type table with min/max", () => {
  const text = formatStatistics(allocator);
  const stats = allocator.calculateStatistics();
  expect(text).toMatch(new RegExp(`^Total: 7 allocation\\(s\\), .+ in ${stats.total.blockCount} block\\(s\\)`));
  expect(text).toMatch(
    /^heap\s+size\s+flags\s+budget\s+usage\s+usage %\s+blocks\s+block bytes\s+allocations\s+allocation bytes\s+unused ranges\s+allocation min\.\.max\s+unused range min\.\.max$/m,
  );
  expect(text).toMatch(/^type\s+heap\s+property flags\s+blocks/m);
  const used = stats.memoryType.findIndex((s) => s.allocationCount > 0);
  const row = text
    .split("\n")
    .find((l) => l.startsWith(`${used} `) && l.includes("DEVICE_LOCAL") && /\d+ (B|KiB|MiB)\.\./.test(l));
  expect(row).toBeDefined();
  expect(row).toContain(`${stats.memoryType[used].allocationCount}`);
  // Smallest allocation 4 KiB (uniforms), largest 2 MiB (the dedicated storage buffer) in the only type used here.
  if (stats.memoryType.filter((s) => s.allocationCount > 0).length === 1) expect(row).toContain("4 KiB..2 MiB");
});
