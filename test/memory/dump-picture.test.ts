/**
 * The memory-map picture: pixel colours at the positions of known allocations of a real allocator's dump
 * (lavapipe, validation on), GpuMemDumpVis's colour table and geometry on a hand-made dump, and the PNG
 * written with pngjs read back.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  allocationColor,
  createAllocator,
  DUMP_COLORS,
  dumpKeyIndex,
  MemoryUsage,
  renderDumpPicture,
  writeDumpPicture,
  type Allocator,
  type DumpPicture,
  type DumpSuballocation,
  type StatsDump,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem dump picture tests" });
let allocator: Allocator;
const frees: Array<() => void> = [];
let dump: StatsDump;
let picture: DumpPicture;

function pixel(p: DumpPicture, x: number, y: number): number[] {
  const i = (y * p.width + x) * 4;
  return [p.rgba[i], p.rgba[i + 1], p.rgba[i + 2]];
}

/** The x range [x0, x1] of bytes [offset, offset + size) of a bar, as the renderer computes it. */
function span(p: DumpPicture, barX: number, offset: number, size: number): [number, number] {
  return [barX + Math.floor(offset * p.pixelsPerByte), barX + Math.floor((offset + size) * p.pixelsPerByte)];
}

/** The colour inside the rectangle of the named block allocation, 3 rows below the bar's top (above any name). */
function colourOf(name: string): { colour: number[]; width: number } {
  for (const [key, pool] of Object.entries(dump.DefaultPools!)) {
    for (const [id, block] of Object.entries(pool.Blocks)) {
      const s = block.Suballocations.find((a) => a.Name === name);
      if (s === undefined) continue;
      const bar = picture.bars.find((b) => b.kind === "block" && b.memoryType === dumpKeyIndex(key) && b.id === id)!;
      const [x0, x1] = span(picture, bar.x, s.Offset!, s.Size);
      return { colour: pixel(picture, (x0 + x1) >> 1, bar.y + 3), width: x1 - x0 };
    }
  }
  throw new Error(`no block allocation named ${name}`);
}

beforeAll(() => {
  allocator = createAllocator(gpu.context, { label: "picture tests" });
  const buffer = (name: string, size: number, usage: number, dedicated = false) => {
    const r = allocator.createBuffer({ size, usage }, { usage: MemoryUsage.GpuOnly, name, dedicated });
    frees.push(() => allocator.destroyBuffer(r.buffer, r.allocation));
  };
  const image = (name: string, size: number, format: number, usage: number) => {
    const r = allocator.createImage(
      { format, extent: { width: size, height: size }, usage },
      { usage: MemoryUsage.GpuOnly, name },
    );
    frees.push(() => allocator.destroyImage(r.image, r.allocation));
  };
  buffer("mesh", 1 << 20, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT);
  image("albedo", 512, vk.VK_FORMAT_R8G8B8A8_UNORM, vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT);
  image("depth", 512, vk.VK_FORMAT_D32_SFLOAT, vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT);
  buffer("ubo", 512 << 10, vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT);
  buffer("particles", 2 << 20, vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, true);
  dump = allocator.dump();
  // 1200 px on lavapipe (32 MiB blocks); wider where blocks are larger (256 MiB on discrete GPUs), so that the
  // 512 KiB..2 MiB allocations tested below stay several pixels wide.
  const largest = Math.max(
    ...Object.values(dump.DefaultPools!).flatMap((p) => [
      ...Object.values(p.Blocks).map((b) => b.TotalBytes),
      ...p.DedicatedAllocations.map((d) => d.Size),
    ]),
  );
  picture = renderDumpPicture(dump, {
    width: Math.min(16384, Math.max(1200, 16 + 32 * Math.ceil(largest / (1 << 20)))),
  });
});
afterAll(() => {
  for (const f of frees.reverse()) f();
  expect(allocator.destroy()).toEqual([]);
});

describe("a real allocator's dump", () => {
  test("each allocation shows its kind's colour where its offset and size put it", () => {
    expect(picture.width).toBeGreaterThanOrEqual(1200);
    expect(picture.rgba.length).toBe(picture.width * picture.height * 4);
    const expected: Array<[string, readonly number[]]> = [
      ["mesh", [255, 148, 148]], // vertex buffer: red
      ["albedo", [0, 255, 255]], // sampled optimal image: aqua
      ["depth", [246, 128, 255]], // depth/stencil optimal image: pink
      ["ubo", [255, 255, 0]], // uniform buffer: yellow
    ];
    for (const [name, colour] of expected) {
      const { colour: got, width } = colourOf(name);
      expect(width, `${name} is wide enough to test`).toBeGreaterThan(4);
      expect(got, name).toEqual([...colour]);
    }
  });

  test("free space is (220,220,220), the outline gray, the dedicated allocation its own orange bar", () => {
    const [key, pool] = Object.entries(dump.DefaultPools!).find(([, p]) => Object.keys(p.Blocks).length > 0)!;
    const [id, block] = Object.entries(pool.Blocks)[0];
    const bar = picture.bars.find((b) => b.kind === "block" && b.memoryType === dumpKeyIndex(key) && b.id === id)!;
    const free = block.Suballocations.filter((s) => s.Type === "FREE").sort((a, b) => b.Size - a.Size)[0];
    const [f0, f1] = span(picture, bar.x, free.Offset!, free.Size);
    expect(f1 - f0).toBeGreaterThan(4);
    expect(pixel(picture, (f0 + f1) >> 1, bar.y + 12)).toEqual([220, 220, 220]);
    const mesh = block.Suballocations.find((s) => s.Name === "mesh")!;
    const [m0, m1] = span(picture, bar.x, mesh.Offset!, mesh.Size);
    expect(pixel(picture, (m0 + m1) >> 1, bar.y)).toEqual([155, 155, 155]); // the rectangle's outline
    expect(pixel(picture, (m0 + m1) >> 1, bar.y - 3)).not.toEqual([255, 148, 148]); // the bar starts at bar.y

    const dedicatedBars = picture.bars.filter((b) => b.kind === "dedicated");
    const all = Object.entries(dump.DefaultPools!).flatMap(([k, p]) =>
      p.DedicatedAllocations.map((d, i): [number, number, DumpSuballocation] => [dumpKeyIndex(k), i, d]),
    );
    expect(dedicatedBars).toHaveLength(all.length);
    const [type, index, particles] = all.find(([, , d]) => d.Name === "particles")!;
    const dBar = dedicatedBars.find((b) => b.memoryType === type && b.id === String(index))!;
    expect(dBar.bytes).toBe(particles.Size);
    const [d0, d1] = span(picture, dBar.x, 0, particles.Size);
    expect(pixel(picture, (d0 + d1) >> 1, dBar.y + 3)).toEqual([255, 187, 121]);
    expect(pixel(picture, d1 + 3, dBar.y + 3)).not.toEqual([255, 187, 121]); // the bar ends at its size
  });

  test("the x scale is the largest block: that block's bar spans the width less the margins", () => {
    const largest = Math.max(...picture.bars.map((b) => b.bytes));
    const drawn = picture.width - 16;
    expect(picture.pixelsPerByte).toBeCloseTo(drawn / largest, 12);
    const widest = picture.bars.find((b) => b.bytes === largest)!;
    expect(pixel(picture, widest.x + drawn, widest.y + 12)).not.toEqual([255, 255, 255]);
    expect(pixel(picture, widest.x + drawn + 2, widest.y + 12)).toEqual([255, 255, 255]);
  });

  test("headings and labels are drawn: dark text above the first bar, names inside wide rectangles", () => {
    const first = picture.bars[0];
    let dark = 0;
    for (let y = 0; y < first.y; y++) for (let x = 0; x < 300; x++) if (pixel(picture, x, y)[0] < 60) dark++;
    expect(dark).toBeGreaterThan(100); // "Memory pool Type N" at twice the font size, and the label line
    const noNames = renderDumpPicture(dump, { names: false });
    expect(Buffer.from(noNames.rgba).equals(Buffer.from(picture.rgba))).toBe(false);
    expect(noNames.height).toBe(picture.height);
  });

  test("the PNG written with pngjs reads back as the same pixels", () => {
    const dir = mkdtempSync(join(tmpdir(), "vkmem-picture-"));
    try {
      const file = join(dir, "map.png");
      const written = writeDumpPicture(dump, file);
      const png = PNG.sync.read(readFileSync(file));
      expect([png.width, png.height]).toEqual([written.width, written.height]);
      expect(Buffer.from(png.data).equals(Buffer.from(written.rgba))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("GpuMemDumpVis's colours and geometry on a hand-made dump", () => {
  const stats = { BlockCount: 0, BlockBytes: 0, AllocationCount: 0, AllocationBytes: 0, UnusedRangeCount: 0 };
  /** A one-block dump whose block is 1184 KiB: exactly 1 KiB per pixel at the default width. */
  function handMade(subs: DumpSuballocation[], extra: Partial<StatsDump> = {}): StatsDump {
    return {
      General: {
        API: "Vulkan",
        apiVersion: "1.3.0",
        GPU: "test",
        deviceType: 4,
        maxMemoryAllocationCount: 4096,
        bufferImageGranularity: 1,
        nonCoherentAtomSize: 64,
        memoryHeapCount: 1,
        memoryTypeCount: 1,
      },
      Total: stats,
      MemoryInfo: {
        "Heap 0": {
          Flags: ["DEVICE_LOCAL"],
          Size: 1 << 30,
          Budget: { BudgetBytes: 1 << 30, UsageBytes: 0 },
          Stats: stats,
          MemoryPools: { "Type 0": { Flags: ["DEVICE_LOCAL"], Stats: stats } },
        },
      },
      DefaultPools: {
        "Type 0": {
          PreferredBlockSize: 1 << 28,
          Blocks: {
            "0": {
              MapRefCount: 0,
              TotalBytes: 1184 * 1024,
              UnusedBytes: 0,
              Allocations: subs.length,
              UnusedRanges: 0,
              Suballocations: subs,
            },
          },
          DedicatedAllocations: [],
        },
      },
      CustomPools: {},
      ...extra,
    };
  }

  test("every kind gets GpuMemDumpVis's colour, at KiB offset = pixel", () => {
    const kinds: Array<[SuballocationKind, number, readonly number[]]> = [
      ["BUFFER", vk.VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, [255, 148, 148]],
      ["BUFFER", vk.VK_BUFFER_USAGE_INDEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, [255, 148, 148]],
      ["BUFFER", vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, [255, 187, 121]],
      ["BUFFER", 0x8 /* STORAGE_TEXEL */, [255, 187, 121]],
      ["BUFFER", 0x4 /* UNIFORM_TEXEL */, [255, 255, 0]],
      ["BUFFER", vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT, [255, 255, 165]],
      [
        "IMAGE_OPTIMAL",
        vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_SAMPLED_BIT,
        [246, 128, 255],
      ],
      ["IMAGE_OPTIMAL", vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_SAMPLED_BIT, [179, 179, 255]],
      ["IMAGE_OPTIMAL", 0x8 /* STORAGE */, [179, 179, 255]],
      ["IMAGE_OPTIMAL", 0x40 /* TRANSIENT_ATTACHMENT */, [179, 179, 255]],
      ["IMAGE_OPTIMAL", 0x80 /* INPUT_ATTACHMENT */, [179, 179, 255]],
      ["IMAGE_OPTIMAL", vk.VK_IMAGE_USAGE_SAMPLED_BIT, [0, 255, 255]],
      ["IMAGE_OPTIMAL", vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT, [183, 255, 255]],
      ["IMAGE_LINEAR", vk.VK_IMAGE_USAGE_SAMPLED_BIT, [0, 255, 0]],
      ["IMAGE_UNKNOWN", 0, [0, 255, 164]],
      ["UNKNOWN", 0, [175, 175, 175]],
    ];
    const subs: DumpSuballocation[] = kinds.map(([Type, Usage], i) => ({
      Offset: i * 40 * 1024,
      Type,
      Size: 40 * 1024,
      Usage,
      Name: `k${i}`,
    }));
    const end = kinds.length * 40 * 1024;
    subs.push({ Offset: end, Type: "FREE", Size: 1184 * 1024 - end });
    const p = renderDumpPicture(handMade(subs), { names: false, legend: false });
    expect(p.pixelsPerByte).toBe(1 / 1024);
    const bar = p.bars[0];
    kinds.forEach(([type, usage, colour], i) => {
      expect(allocationColor(type, usage)).toEqual(colour);
      const x0 = bar.x + i * 40;
      expect(pixel(p, x0 + 20, bar.y + 12), `${type} ${usage}`).toEqual([...colour]);
      expect(pixel(p, x0, bar.y + 12)).toEqual([155, 155, 155]); // outline on both edges, shared by neighbours
      expect(pixel(p, x0 + 40, bar.y + 12)).toEqual([155, 155, 155]);
    });
    expect(pixel(p, bar.x + end / 1024 + 10, bar.y + 12)).toEqual([...DUMP_COLORS.free]);
    // PIL's inclusive rectangle: rows bar.y .. bar.y + 24.
    expect(pixel(p, bar.x + 20, bar.y + 24)).toEqual([155, 155, 155]);
    expect(pixel(p, bar.x + 20, bar.y + 25)).not.toEqual([155, 155, 155]);
  });

  test("an allocation under two pixels wide is a black 1-px line at its offset", () => {
    const p = renderDumpPicture(
      handMade([
        { Offset: 0, Type: "FREE", Size: 100 * 1024 },
        { Offset: 100 * 1024, Type: "BUFFER", Size: 256, Usage: vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT },
        { Offset: 100 * 1024 + 256, Type: "FREE", Size: 1084 * 1024 - 256 },
      ]),
      { legend: false },
    );
    const bar = p.bars[0];
    expect(pixel(p, bar.x + 100, bar.y + 12)).toEqual([0, 0, 0]);
    expect(pixel(p, bar.x + 101, bar.y + 12)).toEqual([220, 220, 220]);
    expect(pixel(p, bar.x + 99, bar.y + 12)).toEqual([220, 220, 220]);
  });

  test("custom pools and their dedicated allocations get bars of their own, under their memory type", () => {
    const block = {
      MapRefCount: 0,
      TotalBytes: 512 * 1024,
      UnusedBytes: 0,
      Allocations: 1,
      UnusedRanges: 0,
      Suballocations: [{ Offset: 0, Type: "IMAGE_LINEAR" as const, Size: 512 * 1024, Usage: 4 }],
    };
    const p = renderDumpPicture(
      handMade([{ Offset: 0, Type: "FREE", Size: 1184 * 1024 }], {
        CustomPools: {
          "Type 3": [
            {
              Name: "0 - terrain",
              PreferredBlockSize: 1 << 20,
              Blocks: { "7": block },
              DedicatedAllocations: [{ Type: "BUFFER", Size: 64 * 1024, Usage: 0x100 }],
            },
          ],
        },
      }),
    );
    expect(p.bars.map((b) => [b.kind, b.memoryType, b.label])).toEqual([
      ["block", 0, "Default pool block 0"],
      ["customBlock", 3, "Custom pool 0 - terrain block 7"],
      ["customDedicated", 3, "Custom pool 0 - terrain dedicated allocation 0"],
    ]);
    expect(pixel(p, p.bars[1].x + 256, p.bars[1].y + 3)).toEqual([0, 255, 0]);
    expect(pixel(p, p.bars[2].x + 32, p.bars[2].y + 3)).toEqual([255, 148, 148]);
  });

  test("a dump with nothing to draw, and a bad width, are refused", () => {
    const summary = handMade([]);
    delete summary.DefaultPools;
    expect(() => renderDumpPicture(summary)).toThrow(/nothing to draw.*detailed = true/);
    expect(() => renderDumpPicture(handMade([]), { width: 10 })).toThrow(
      new RangeError("renderDumpPicture: options.width must be an integer in [200, 16384], got 10"),
    );
    expect(
      renderDumpPicture(handMade([{ Offset: 0, Type: "FREE", Size: 1184 * 1024 }]), { width: 600 }).pixelsPerByte,
    ).toBe(584 / (1184 * 1024));
  });
});

type SuballocationKind = NonNullable<DumpSuballocation["Type"]>;
