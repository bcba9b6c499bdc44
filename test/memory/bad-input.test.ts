/**
 * Bad input, each case with its typed error: the message names the argument and shows the bad value, the
 * process survives, and afterwards a valid call succeeds and data allocated earlier is intact.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  DestroyedResourceError,
  MemoryUsage,
  type Allocator,
  type Context,
  type CreatedBuffer,
  InvalidStateError,
} from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

let context: Context;
let allocator: Allocator;
let witness: CreatedBuffer;
const PATTERN = 0x5eed1234;

const gpu = useGpuContext({ applicationName: "vkmem bad input tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "bad input" });
  witness = allocator.createBuffer(
    { size: 4096, usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT },
    { usage: MemoryUsage.CpuOnly, name: "witness" },
  );
  new Uint32Array(witness.allocation.map()).fill(PATTERN);
});
afterEach(() => {
  // After every bad call: the witness is intact and a valid call succeeds.
  const words = new Uint32Array(witness.allocation.mappedData!);
  expect(words.every((w) => w === PATTERN)).toBe(true);
  const ok = allocator.createBuffer({ size: 256, usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT });
  allocator.destroyBuffer(ok.buffer, ok.allocation);
});
afterAll(() => {
  witness.allocation.unmap();
  allocator.destroyBuffer(witness.buffer, witness.allocation);
  expect(allocator.destroy()).toEqual([]);
});

const VB = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT;

describe("buffer sizes", () => {
  test.each([
    [0, /bufferInfo\.size must be a positive integer number of bytes, got 0/],
    [-1, /bufferInfo\.size must be a positive integer.*got -1/],
    [NaN, /bufferInfo\.size must be a positive integer.*got NaN/],
    [1.5, /bufferInfo\.size must be a positive integer.*got 1\.5/],
    [Infinity, /bufferInfo\.size .*got Infinity/],
    ["64", /bufferInfo\.size .*got "64"/],
    [2 ** 45, /bufferInfo\.size is larger than any memory heap.*got 35184372088832/],
  ])("size %s", (size, message) => {
    expect(() => allocator.createBuffer({ size: size as number, usage: VB })).toThrow(RangeError);
    expect(() => allocator.createBuffer({ size: size as number, usage: VB })).toThrow(message);
  });
});

describe("usage and flags", () => {
  test("unknown memory usage", () => {
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { usage: 42 as MemoryUsage })).toThrow(
      /allocationOptions\.usage is not a MemoryUsage, got 42/,
    );
    expect(() =>
      allocator.createBuffer({ size: 64, usage: VB }, { usage: "GpuOnly" as unknown as MemoryUsage }),
    ).toThrow(/got "GpuOnly"/);
  });
  test("flags out of range", () => {
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { flags: 0x20 })).toThrow(
      /allocationOptions\.flags has unknown bits 0x20, got 32/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { flags: -1 })).toThrow(
      /allocationOptions\.flags .*got -1/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: 0 })).toThrow(
      /bufferInfo\.usage must be non-zero VkBufferUsageFlags, got 0/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: 2 ** 33 })).toThrow(/bufferInfo\.usage .*got 8589934592/);
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { requiredFlags: 0.5 })).toThrow(
      /requiredFlags .*got 0\.5/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { priority: 2 })).toThrow(
      /priority must be a number in \[0, 1\], got 2/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { hostAccess: "sometimes" as "random" })).toThrow(
      /hostAccess .*got "sometimes"/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { dedicated: true, neverAllocate: true })).toThrow(
      /dedicated memory together with neverAllocate/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: VB }, { minAlignment: 3 })).toThrow(
      /minAlignment must be a power of two, got 3/,
    );
    expect(() => allocator.createBuffer({ size: 64, usage: VB, sharingMode: 1 })).toThrow(
      /bufferInfo\.sharingMode must be 0 \(VK_SHARING_MODE_EXCLUSIVE\).*got 1/,
    );
  });
});

describe("images", () => {
  const base = {
    format: vk.VK_FORMAT_R8G8B8A8_UNORM,
    extent: { width: 16, height: 16 },
    usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
  };
  test("zero extent", () => {
    expect(() => allocator.createImage({ ...base, extent: { width: 0, height: 16 } })).toThrow(
      /imageInfo\.extent\.width must be a positive integer, got 0/,
    );
    expect(() => allocator.createImage({ ...base, extent: { width: 16, height: 0 } })).toThrow(
      /extent\.height .*got 0/,
    );
  });
  test("unsupported format", () => {
    expect(() => allocator.createImage({ ...base, format: 999_999 })).toThrow(
      /imageInfo\.format is not a known VkFormat.*got 999999/,
    );
    // BC7 is not renderable anywhere; as a colour attachment it is refused before Vulkan sees it.
    expect(() =>
      allocator.createImage({
        ...base,
        format: vk.VK_FORMAT_BC7_UNORM_BLOCK,
        usage: vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
      }),
    ).toThrow(/imageInfo\.format is not supported/);
  });
  test("too many mips, too large, bad samples", () => {
    expect(() => allocator.createImage({ ...base, mipLevels: 6 })).toThrow(
      /mipLevels must be at most 5 for a 16x16x1 image, got 6/,
    );
    expect(() => allocator.createImage({ ...base, extent: { width: 1 << 20, height: 4 } })).toThrow(
      /imageInfo\.extent exceeds the device's maximum/,
    );
    expect(() => allocator.createImage({ ...base, samples: 3 })).toThrow(/samples .*got 3/);
  });
});

describe("lifecycle misuse", () => {
  test("destroy twice is a no-op; use after destroy throws DestroyedResourceError naming the label", () => {
    const r = allocator.createBuffer({ size: 64, usage: VB }, { name: "shadowMap" });
    allocator.destroyBuffer(r.buffer, r.allocation);
    expect(() => allocator.destroyBuffer(r.buffer, r.allocation)).not.toThrow();
    expect(() => r.allocation.map()).toThrow(DestroyedResourceError);
    expect(() => r.allocation.map()).toThrow("Allocation 'shadowMap' has been destroyed (in map)");
    expect(() => r.allocation.info).toThrow(DestroyedResourceError);
  });

  test("an allocation of another allocator", () => {
    const other = createAllocator(context, { label: "other" });
    const r = other.createBuffer({ size: 64, usage: VB }, { name: "theirs" });
    expect(() => allocator.destroyBuffer(r.buffer, r.allocation)).toThrow(
      /destroyBuffer: allocation belongs to another allocator, got "theirs"/,
    );
    expect(() => allocator.freeMemory(r.allocation)).toThrow(TypeError);
    other.destroyBuffer(r.buffer, r.allocation);
    other.destroy();
  });

  test("a plain object where an nvk handle or an Allocation is expected", () => {
    const r = allocator.createBuffer({ size: 64, usage: VB });
    expect(() => allocator.destroyBuffer({ memoryBuffer: new ArrayBuffer(8) }, r.allocation)).toThrow(
      /destroyBuffer: buffer must be an nvk VkBuffer or null, got \{"memoryBuffer":\{\}\}/,
    );
    expect(() => allocator.destroyBuffer(r.buffer, {} as never)).toThrow(
      /destroyBuffer: allocation must be an Allocation, got \{\}/,
    );
    expect(() => allocator.allocateMemoryForBuffer({})).toThrow(
      /allocateMemoryForBuffer: buffer must be an nvk VkBuffer, got \{\}/,
    );
    expect(() => createAllocator({ instance: {}, physicalDevice: {}, device: {} })).toThrow(
      /createAllocator: device\.instance must be an nvk VkInstance, got \{\}/,
    );
    const image = new nvk.VkImage();
    expect(() => allocator.destroyBuffer(image, r.allocation)).toThrow(/must be an nvk VkBuffer/);
    const stranger = allocator.createBuffer({ size: 64, usage: VB });
    expect(() => allocator.destroyBuffer(stranger.buffer, r.allocation)).toThrow(
      /is not the buffer bound to allocation/,
    );
    allocator.destroyBuffer(stranger.buffer, stranger.allocation);
    allocator.destroyBuffer(r.buffer, r.allocation);
  });

  test("unmap more than mapped", () => {
    const r = allocator.createBuffer({ size: 64, usage: VB }, { usage: MemoryUsage.CpuOnly, name: "once" });
    r.allocation.map();
    r.allocation.unmap();
    expect(() => r.allocation.unmap()).toThrow("Allocation 'once'.unmap(): it is not mapped (map count 0)");
    expect(() => r.allocation.unmap()).toThrow(InvalidStateError);
    allocator.destroyBuffer(r.buffer, r.allocation);
  });

  test("flush out of range", () => {
    const r = allocator.createBuffer({ size: 64, usage: VB }, { usage: MemoryUsage.CpuOnly });
    const size = r.allocationInfo.size;
    expect(() => r.allocation.flush(0, size + 1)).toThrow(
      new RegExp(`size must be an integer with offset \\+ size <= ${size} \\(offset 0\\), got ${size + 1}`),
    );
    expect(() => r.allocation.invalidate(size + 64)).toThrow(RangeError);
    allocator.destroyBuffer(r.buffer, r.allocation);
  });

  test("a name that is not a string", () => {
    const r = allocator.createBuffer({ size: 64, usage: VB });
    expect(() => {
      r.allocation.name = 42 as unknown as string;
    }).toThrow(/Allocation\.name must be a string or null, got 42/);
    const before = allocator.allocationCount;
    expect(() =>
      allocator.createBuffer({ size: 64, usage: VB }, { name: { toString: () => "x" } as unknown as string }),
    ).toThrow(/allocationOptions\.name must be a string without NUL characters/);
    expect(allocator.allocationCount).toBe(before); // the half-made buffer was given back
    allocator.destroyBuffer(r.buffer, r.allocation);
  });

  test("the allocator destroyed with live allocations, then used", () => {
    const doomed = createAllocator(context, { label: "doomed", onLeaks: () => {} });
    const r = doomed.createBuffer({ size: 64, usage: VB }, { name: "left behind" });
    expect(doomed.destroy().map((l) => l.name)).toEqual(["left behind"]);
    expect(() => doomed.createBuffer({ size: 64, usage: VB })).toThrow(
      "Allocator 'doomed' has been destroyed (in createBuffer)",
    );
    expect(() => r.allocation.map()).toThrow(DestroyedResourceError);
    expect(() => doomed.destroyBuffer(r.buffer, r.allocation)).not.toThrow();
  });

  test("forged and stale native handles are errors, not crashes", async () => {
    const { native } = await import("../../engine/native.js");
    expect(() => native.freeAllocation(123456789)).toThrow(/stale or invalid allocation handle/);
    expect(() => native.freeAllocation(-1)).toThrow(/stale or invalid/);
    expect(() => native.freeAllocation(NaN)).toThrow(/stale or invalid/);
    expect(() => native.map("x" as unknown as number, true)).toThrow(/stale or invalid/);
    expect(() => native.createBuffer(99999)).toThrow(/stale or invalid allocator handle/);
    const r = allocator.createBuffer({ size: 64, usage: VB });
    const stale = r.allocation._handle;
    allocator.destroyBuffer(r.buffer, r.allocation);
    const reuse = allocator.createBuffer({ size: 64, usage: VB }); // likely takes the same slot, new generation
    expect(() => native.freeAllocation(stale)).toThrow(/stale or invalid/);
    allocator.destroyBuffer(reuse.buffer, reuse.allocation);
  });
});
