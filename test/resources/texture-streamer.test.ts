/**
 * TextureStreamer (engine/resources/streaming/) on real Vulkan, validation and synchronization validation on:
 * registration checks, smallest mips first under the upload budget, partial views, requested mips, eviction under the
 * budget through lost allocations (and re-streaming with the right pixels, read back), resident mip tails (a lost
 * texture shows its tail, read back; a full tail pool loses the least recently used tail; the two pools within their
 * shares of the budget; small textures all tail), asynchronous and failing loaders, statistics, and destruction
 * leaving nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  createTextureStreamer,
  DestroyedResourceError,
  type Allocator,
  type Context,
  type FrameManager,
  type StreamedTexture,
  type TextureStreamer,
  type TextureStreamerOptions,
  InvalidStateError,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { ALLOCATOR_EXT_MEMORY_BUDGET } from "../../engine/vulkan/vk.js";
import { useGpuContext } from "../helpers/gpu.js";
import { checksum, mipPixels, mipRange } from "../../bench/gpu/mip-pixels.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const RGBA8 = vk.VK_FORMAT_R8G8B8A8_UNORM;

const gpu = useGpuContext({ applicationName: "vkmem texture streamer tests", synchronizationValidation: true });
let context: Context;
let allocator: Allocator;
let frames: FrameManager;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "streamer tests" });
  frames = createFrameManager(context, allocator, { label: "streamer frames" });
});
afterAll(() => {
  frames.destroy();
  expect(allocator.destroy()).toEqual([]);
});

/** A streamer whose large images get 2 MiB in two 1 MiB blocks and whose tails get 512 KiB (a fifth of 2.5 MiB). */
function streamer(options: TextureStreamerOptions = {}): TextureStreamer {
  return createTextureStreamer(frames, {
    budgetBytes: 2 * MiB + 512 * KiB,
    tailBudgetFraction: 0.2,
    blockSize: MiB,
    uploadBudgetBytes: 256 * KiB,
    ...options,
  });
}

/** Both pools' blocks within their shares, and together within the budget. */
function expectWithinBudget(s: TextureStreamer, budget: number): void {
  const main = s.pool.getStatistics().blockBytes;
  const tails = s.tailPool?.getStatistics().blockBytes ?? 0;
  expect(main).toBeLessThanOrEqual(s.budgetBytes - s.tailBudgetBytes);
  expect(tails).toBeLessThanOrEqual(s.tailBudgetBytes);
  expect(main + tails).toBeLessThanOrEqual(s.budgetBytes);
  expect(s.budgetBytes).toBeLessThanOrEqual(budget);
}

function square(
  s: TextureStreamer,
  id: number,
  size: number,
  extra: { priority?: number; async?: boolean } = {},
): StreamedTexture {
  return s.register({
    label: `t${id}`,
    width: size,
    height: size,
    format: RGBA8,
    priority: extra.priority,
    load: (first, count) =>
      extra.async ? Promise.resolve(mipRange(id, size, size, first, count)) : mipRange(id, size, size, first, count),
  });
}

/** Runs one frame: `body` requests and shows, then update(); returns update's statistics. */
function frame<T>(
  s: TextureStreamer,
  body: () => T = () => undefined as T,
): { stats: ReturnType<TextureStreamer["update"]>; value: T } {
  frames.beginFrame();
  const value = body();
  const stats = s.update();
  frames.endFrame();
  return { stats, value };
}

async function readMip(texture: StreamedTexture, s: TextureStreamer, mip: number): Promise<Uint8Array> {
  frames.beginFrame();
  const shown = s.show(texture);
  expect(shown.placeholder).toBe(false);
  const promise = frames.downloadImage(shown.texture, {
    mipLevel: mip - (texture.mipLevels - shown.texture.mipLevels),
  });
  frames.endFrame();
  frames.waitIdle();
  return promise;
}

describe("register", () => {
  test("refuses bad descriptions with exact messages", () => {
    const s = streamer({ label: "checks" });
    expect(() => s.register({ label: "", width: 4, height: 4, format: RGBA8, load: () => new Uint8Array() })).toThrow(
      TypeError,
    );
    expect(() => s.register({ label: "x", width: 0, height: 4, format: RGBA8, load: () => new Uint8Array() })).toThrow(
      new RangeError("TextureStreamer 'checks'.register: desc.width must be an integer from 1 to 16384, got 0"),
    );
    expect(() =>
      s.register({
        label: "x",
        width: 4,
        height: 4,
        format: vk.VK_FORMAT_D32_SFLOAT ?? 126,
        load: () => new Uint8Array(),
      }),
    ).toThrow(/colour VkFormat/);
    expect(() =>
      s.register({ label: "x", width: 4, height: 4, format: RGBA8, mipLevels: 4, load: () => new Uint8Array() }),
    ).toThrow(/mipLevels must be an integer from 1 to 3/);
    expect(() => s.register({ label: "x", width: 4, height: 4, format: RGBA8, load: 5 as never })).toThrow(
      /desc.load must be a function/,
    );
    expect(() =>
      s.register({ label: "big", width: 1024, height: 1024, format: RGBA8, load: () => new Uint8Array() }),
    ).toThrow(/more than the pool's block size/);
    expect(() =>
      s.register({ label: "x", width: 4, height: 4, format: RGBA8, load: () => new Uint8Array(), colour: 1 } as never),
    ).toThrow(/unknown field 'colour'/);
    const t = square(s, 1, 16);
    expect(() => s.request(t, 5)).toThrow(/mip must be an integer from 0 to 4 for 't1', got 5/);
    expect(() => s.request({} as StreamedTexture)).toThrow(TypeError);
    expect(() => s.update()).toThrow(/no frame is being recorded/);
    expect(() => s.update()).toThrow(InvalidStateError);
    expect(() => createTextureStreamer(frames, { frameInUseCount: 0 })).toThrow(
      /frameInUseCount' must be an integer from framesInFlight - 1 \(1\)/,
    );
    expect(() => createTextureStreamer(frames, { bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
    s.destroy();
    expect(() => s.request(t)).toThrow(DestroyedResourceError);
    s.destroy();
  });

  test("takes the budget from a heap size limit when no number is given", () => {
    const limited = createAllocator(context, {
      label: "limited",
      heapSizeLimits: allocator.memoryHeaps.map(() => 64 * MiB),
    });
    const fm = createFrameManager(context, limited, { label: "limited frames" });
    // Where the allocator tracks the memory budget (VK_EXT_memory_budget: a GPU, not lavapipe), the streamer takes
    // its fraction of the heap's budget, which VMA caps at the limit: with the whole fraction, the limit either way.
    const s = createTextureStreamer(fm, { label: "limited", budgetFraction: 1 });
    const tracksBudget = (limited.flags & ALLOCATOR_EXT_MEMORY_BUDGET) !== 0;
    expect(s.budgetSource).toBe(tracksBudget ? "memory-budget" : "heap-size-limit");
    // An eighth for the tails (two 4 MiB blocks), the rest in two equal blocks: nothing of the 64 MiB left over.
    expect(s.budgetBytes).toBe(64 * MiB);
    expect(s.tailBudgetBytes).toBe(8 * MiB);
    expect(s.tailBlockSize).toBe(4 * MiB);
    expect(s.blockSize).toBe(28 * MiB);
    s.destroy();
    fm.destroy();
    expect(limited.destroy()).toEqual([]);
  });
});

describe("streaming", () => {
  test("smallest mips first within the upload budget, a partial view, then the whole texture with the right pixels", async () => {
    const s = streamer({ label: "basic" });
    const t = square(s, 7, 256); // mip 0 is 256 KiB: the whole upload budget
    expect(frame(s, () => s.show(t)).value.placeholder).toBe(true);
    const first = frame(s, () => s.request(t));
    // The tail first (mips 3..8, 32x32 down: 6 uploads, 5 KiB), then mips 8..1 of the large image (85 KiB together)
    // fit in one frame's 256 KiB; mip 0 (256 KiB) does not fit behind them.
    expect(t.tailFirstMip).toBe(3);
    expect(first.stats.uploads).toBe(6 + 8);
    expect(first.stats.tails).toBe(1);
    expect(first.stats.pendingRequests).toBe(1);
    // The images made for it (createUs paid for them); the next frame only uploads into the large one.
    expect(first.stats.creates).toBeGreaterThan(0);
    expect(t.firstResidentMip).toBe(1);
    const partial = frame(s, () => {
      s.request(t);
      const shown = s.show(t);
      return { ...shown };
    });
    expect(partial.value).toMatchObject({ placeholder: false, firstMip: 1, lastMip: 8 });
    expect(partial.stats.uploads).toBe(1); // mip 0, alone
    expect(partial.stats.creates).toBe(0);
    expect(partial.stats.residentTextures).toBe(1);
    expect(partial.stats.pendingRequests).toBe(0);
    const whole = frame(s, () => ({ ...s.show(t) }));
    expect(whole.value).toMatchObject({ placeholder: false, firstMip: 0, lastMip: 8 });
    expect(whole.value.view).toBe(whole.value.texture.view);
    for (const mip of [0, 3, 8]) expect(checksum(await readMip(t, s, mip))).toBe(checksum(mipPixels(7, 256, 256, mip)));
    s.destroy();
  });

  test("a requested mip: only mips from it are loaded and allocated; a finer request fills a second image while the first stays on show", async () => {
    const calls: [number, number][] = [];
    const s = streamer({ label: "mips", uploadBudgetBytes: MiB });
    const t = s.register({
      label: "m",
      width: 256,
      height: 256,
      format: RGBA8,
      load: (first, count) => {
        calls.push([first, count]);
        return Array.from({ length: count }, (_, i) => mipPixels(3, 256, 256, first + i));
      },
    });
    frame(s, () => s.request(t, 2));
    expect(calls).toEqual([
      [3, 6],
      [2, 7],
    ]); // the tail (mips 3 to 8), then the large image from the wanted mip
    expect(t.firstResidentMip).toBe(2);
    const small = frame(s, () => s.show(t).texture).value;
    expect(small.width).toBe(64);
    expect(small.allocation.size).toBeLessThan(64 * KiB);
    const upgrade = frame(s, () => {
      s.request(t, 0);
      return { ...s.show(t) };
    });
    expect(calls).toEqual([
      [3, 6],
      [2, 7],
      [0, 9],
    ]);
    expect(upgrade.value.firstMip).toBe(2); // shown before update() filled the new image
    expect(frame(s, () => ({ ...s.show(t) })).value.firstMip).toBe(0);
    expect(small.destroyed).toBe(true);
    expect(checksum(await readMip(t, s, 1))).toBe(checksum(mipPixels(3, 256, 256, 1)));
    s.destroy();
  });

  test("priorities: higher first, then first requested", () => {
    const s = streamer({ label: "priorities", uploadBudgetBytes: 1 });
    const low = square(s, 1, 2, { priority: 0 });
    const high = square(s, 2, 2, { priority: 5 });
    const low2 = square(s, 3, 2, { priority: 0 });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      frame(s, () => {
        for (const t of [low, high, low2]) s.request(t);
      });
      for (const t of [low, high, low2]) if (t.firstResidentMip === 0 && !order.includes(t.label)) order.push(t.label);
    }
    expect(order).toEqual(["t2", "t1", "t3"]);
    s.destroy();
  });

  test("asynchronous loaders: the texture waits without blocking others, then streams", async () => {
    const s = streamer({ label: "async" });
    const a = square(s, 11, 64, { async: true });
    const b = square(s, 12, 64);
    const f1 = frame(s, () => {
      s.request(a);
      s.request(b);
    });
    expect(b.firstResidentMip).toBe(0);
    expect(a.resident).toBe(false);
    expect(f1.stats.loadsInFlight).toBe(2); // its tail and its large image
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    frame(s, () => s.request(a));
    expect(a.firstResidentMip).toBe(0);
    expect(checksum(await readMip(a, s, 0))).toBe(checksum(mipPixels(11, 64, 64, 0)));
    s.destroy();
  });

  test("failing loaders are counted and kept, never thrown", async () => {
    const s = streamer({ label: "failing" });
    const throws = s.register({
      label: "throws",
      width: 8,
      height: 8,
      format: RGBA8,
      load: () => {
        throw new Error("disk on fire");
      },
    });
    const short = s.register({ label: "short", width: 8, height: 8, format: RGBA8, load: () => new Uint8Array(3) });
    const rejects = s.register({
      label: "rejects",
      width: 8,
      height: 8,
      format: RGBA8,
      load: () => Promise.reject(new Error("404")),
    });
    const { stats } = frame(s, () => [throws, short, rejects].forEach((t) => s.request(t)));
    expect(stats.loadErrors).toBe(2);
    expect((throws.lastLoadError as Error).message).toBe("disk on fire");
    expect((short.lastLoadError as Error).message).toBe(
      "loader of 'short' gave 3 bytes for mips 0 to 3, which have 340",
    );
    await new Promise((r) => setImmediate(r));
    expect((rejects.lastLoadError as Error).message).toBe("404");
    expect(s.statistics.loadErrors).toBe(3);
    expect(frame(s, () => s.show(short)).value.placeholder).toBe(true);
    s.destroy();
  });
});

describe("eviction under the budget", () => {
  test("cold textures are evicted least recently used first, shown ones never; evicted ones come back with the right pixels", async () => {
    // 2 MiB for large images in two 1 MiB blocks; a 256x256 texture with its mips takes ~342 KiB, so a block holds 2
    // and the budget 4: each group of 3 visible textures must evict most of the previous group. The 12 tails fit in
    // the tail pool and stay.
    const s = streamer({ label: "evict", uploadBudgetBytes: 4 * MiB });
    const textures = Array.from({ length: 12 }, (_, i) => square(s, 100 + i, 256));
    let evicted = 0;
    for (let round = 0; round < 3; round++) {
      for (let group = 0; group < 4; group++) {
        const visible = textures.slice(group * 3, group * 3 + 3);
        for (let f = 0; f < 3; f++) {
          const { stats } = frame(s, () => {
            for (const t of visible) s.request(t);
            for (const t of visible) s.show(t);
          });
          evicted += stats.evicted;
          expect(stats.budgetUsedBytes).toBeLessThanOrEqual(s.budgetBytes);
          expect(s.pool.getStatistics().blockBytes).toBeLessThanOrEqual(2 * MiB);
          expectWithinBudget(s, 2 * MiB + 512 * KiB);
          // Shown before update() in a group's first frame of the first round, a texture has nothing yet; after that
          // it shows at worst its tail, which stays.
          if (f > 0 || round > 0) expect(stats.placeholders).toBe(0);
        }
        for (const t of visible) expect(t.firstResidentMip).toBe(0);
      }
    }
    expect(evicted).toBeGreaterThan(10);
    expect(s.statistics.evicted).toBe(evicted);
    expect(s.statistics.tailsEvicted).toBe(0);
    expect(s.statistics.tails).toBe(12);
    const evictedOne = textures.find((t) => t.firstResidentMip === t.tailFirstMip)!;
    expect(frame(s, () => ({ ...s.show(evictedOne) })).value).toMatchObject({
      placeholder: false,
      firstMip: 3,
      lastMip: 8,
    });
    frame(s, () => s.request(evictedOne));
    frame(s, () => s.request(evictedOne));
    expect(checksum(await readMip(evictedOne, s, 0))).toBe(
      checksum(mipPixels(100 + textures.indexOf(evictedOne), 256, 256, 0)),
    );
    s.destroy();
  });

  test("when everything resident is in use, a new texture waits (outOfBudget) instead of taking a shown one", () => {
    const s = streamer({ label: "full", uploadBudgetBytes: 8 * MiB, budgetBytes: MiB + 256 * KiB, blockSize: MiB });
    const textures = Array.from({ length: 4 }, (_, i) => square(s, 200 + i, 256));
    const { stats } = frame(s, () => textures.forEach((t) => s.request(t)));
    expect(stats.outOfBudget).toBeGreaterThan(0);
    // Two 342 KiB textures fit in the one 1 MiB block; the third and fourth find only requested (in-use) ones.
    expect(textures.filter((t) => t.firstResidentMip === 0).length).toBe(2);
    expect(textures.filter((t) => t.firstResidentMip === t.tailFirstMip).length).toBe(2); // their tails, in the tail pool
    s.destroy();
  });
});

describe("resident mip tails", () => {
  /** Reads mip `mip` (a mip of the description) of the tail image `shown` gives. */
  async function readTail(
    shown: { texture: Parameters<FrameManager["downloadImage"]>[0] },
    texture: StreamedTexture,
    mip: number,
  ): Promise<Uint8Array> {
    const promise = frames.downloadImage(shown.texture, { mipLevel: mip - texture.tailFirstMip });
    frames.endFrame();
    frames.waitIdle();
    return promise;
  }

  test("options: a tail share within the budget, checked arguments", () => {
    for (const [budget, fraction] of [
      [2 * MiB + 512 * KiB, 0.2],
      [3 * MiB, 0.125],
      [100 * MiB + 12345, 0.3],
    ] as const) {
      const s = createTextureStreamer(frames, { label: "shares", budgetBytes: budget, tailBudgetFraction: fraction });
      expect(s.tailBudgetBytes).toBeLessThanOrEqual(Math.floor(budget * fraction));
      expect(s.tailBudgetBytes).toBeGreaterThan(0);
      expect(s.budgetBytes).toBeLessThanOrEqual(budget);
      expect(s.budgetBytes - s.tailBudgetBytes).toBeLessThanOrEqual(budget - Math.floor(budget * fraction));
      expect(s.tailPool).not.toBeNull();
      s.destroy();
    }
    expect(() => streamer({ tailSize: -1 })).toThrow(
      new RangeError("createTextureStreamer: option 'tailSize' must be an integer from 0 to 16384, got -1"),
    );
    expect(() => streamer({ tailBudgetFraction: 1 })).toThrow(
      /option 'tailBudgetFraction' must be a number in \(0, 1\), got 1/,
    );
    expect(() => streamer({ budgetBytes: 256 * KiB, blockSize: 128 * KiB, tailBudgetFraction: 0.1 })).toThrow(
      /tail pool's share of the budget \(26214 bytes\) is below 64 KiB/,
    );
    const none = streamer({ label: "no tails", tailSize: 0 });
    expect(none.tailPool).toBeNull();
    expect(none.tailBudgetBytes).toBe(0);
    expect(square(none, 1, 64).tailFirstMip).toBe(7); // mipLevels: no tail
    none.destroy();
  });

  test("a texture whose large image is lost shows its tail (the right pixels), then streams back to full when requested", async () => {
    const s = streamer({ label: "tail fallback", uploadBudgetBytes: MiB });
    const t = square(s, 41, 256);
    expect(t.tailFirstMip).toBe(3);
    frame(s, () => s.request(t));
    expect(t.firstResidentMip).toBe(0);
    expect(t.tailResident).toBe(true);
    const tail = t.tailTexture!;
    expect(tail.width).toBe(32);
    expect(tail.mipLevels).toBe(6);
    for (let i = 0; i < 3; i++) frame(s); // no longer in use
    expect(s.pool.makeAllocationsLost()).toBe(1); // the large image only: the tails are in their own pool
    expect(t.tailResident).toBe(true);
    expect(t.firstResidentMip).toBe(3);
    frames.beginFrame();
    const shown = { ...s.show(t) };
    expect(shown).toMatchObject({ placeholder: false, firstMip: 3, lastMip: 8 });
    expect(shown.texture).toBe(tail);
    expect(shown.view).toBe(tail.view);
    const pixels = await readTail(shown, t, 3);
    expect(checksum(pixels)).toBe(checksum(mipPixels(41, 256, 256, 3)));
    for (const mip of [5, 8]) {
      frames.beginFrame();
      expect(checksum(await readTail(s.show(t), t, mip))).toBe(checksum(mipPixels(41, 256, 256, mip)));
    }
    // Asked for again: the large image streams back, the tail stays.
    const back = frame(s, () => {
      s.request(t);
      return { ...s.show(t) };
    });
    expect(back.value.firstMip).toBe(3); // shown before update() streamed
    expect(back.stats.uploads).toBe(9);
    expect(frame(s, () => ({ ...s.show(t) })).value).toMatchObject({ placeholder: false, firstMip: 0, lastMip: 8 });
    expect(t.tailTexture).toBe(tail);
    expect(checksum(await readMip(t, s, 0))).toBe(checksum(mipPixels(41, 256, 256, 0)));
    s.destroy();
  });

  test("a filling large image shows the finer of its uploaded mips and the tail", () => {
    const s = streamer({ label: "upgrade", uploadBudgetBytes: 6 * KiB });
    const t = square(s, 42, 256);
    frame(s, () => s.request(t)); // the tail: 5 KiB, then the large image's 1x1 and 2x2 ... within 6 KiB
    expect(t.tailResident).toBe(true);
    expect(frame(s, () => ({ ...s.show(t) })).value).toMatchObject({ firstMip: 3, texture: t.tailTexture });
    for (let i = 0; i < 4 && t.firstResidentMip > 2; i++) frame(s, () => s.request(t));
    const before = t.firstResidentMip;
    const shown = frame(s, () => ({ ...s.show(t) })).value;
    expect(shown.firstMip).toBe(before);
    expect(shown.firstMip).toBeLessThan(3);
    expect(shown.texture).not.toBe(t.tailTexture);
    s.destroy();
  });

  test("small textures are all tail: no large image, any mip asked for is served by the tail", async () => {
    const s = streamer({ label: "small" });
    const t = square(s, 43, 32);
    const wide = s.register({
      label: "wide",
      width: 64,
      height: 16,
      format: RGBA8,
      load: (first, count) => mipRange(44, 64, 16, first, count),
    });
    expect(t.tailFirstMip).toBe(0);
    expect(wide.tailFirstMip).toBe(1); // 32x8 is the first mip no larger than 32 on its larger side
    const { stats } = frame(s, () => {
      s.request(t, 0);
      s.request(wide, 1);
    });
    expect(stats.tails).toBe(2);
    expect(stats.residentBytes).toBe(0);
    expect(s.pool.getStatistics().blockBytes).toBe(0);
    frames.beginFrame();
    const shown = { ...s.show(t) };
    expect(shown).toMatchObject({ placeholder: false, firstMip: 0, lastMip: 5 });
    expect(checksum(await readTail(shown, t, 0))).toBe(checksum(mipPixels(43, 32, 32, 0)));
    expect(frame(s, () => ({ ...s.show(wide) })).value).toMatchObject({ placeholder: false, firstMip: 1, lastMip: 6 });
    frame(s, () => s.request(wide, 0)); // mip 0 is not in the tail: a large image
    expect(wide.firstResidentMip).toBe(0);
    expect(s.statistics.residentBytes).toBeGreaterThan(0);
    s.destroy();
  });

  test("a full tail pool loses the least recently used tail; that texture then shows the placeholder", () => {
    // 64 KiB for tails: a few 32x32 tails (5 KiB each, plus alignment).
    const s = streamer({ label: "tail lru", budgetBytes: MiB, blockSize: 512 * KiB, tailBudgetFraction: 0.0625 });
    expect(s.tailBudgetBytes).toBe(64 * KiB);
    const textures = Array.from({ length: 24 }, (_, i) => square(s, 500 + i, 32));
    const order: StreamedTexture[] = [];
    let evicted = 0;
    for (const t of textures) {
      // Each texture asked for in one frame; the first few are shown again now and then, so they stay warm.
      const { stats } = frame(s, () => {
        s.request(t);
        for (const warm of textures.slice(0, 2)) s.show(warm);
      });
      evicted += stats.tailsEvicted;
      expectWithinBudget(s, MiB);
      order.push(t);
    }
    expect(evicted).toBeGreaterThan(0);
    expect(s.statistics.tailsEvicted).toBe(evicted);
    const alive = textures.filter((t) => t.tailResident);
    expect(alive.length).toBe(24 - evicted);
    // The two kept warm stayed; of the others, exactly the most recently requested ones kept their tails.
    expect(textures[0]!.tailResident && textures[1]!.tailResident).toBe(true);
    const others = textures.slice(2);
    const kept = others.filter((t) => t.tailResident).length;
    expect(others.slice(others.length - kept).every((t) => t.tailResident)).toBe(true);
    const lost = others[0]!;
    expect(lost.tailResident).toBe(false);
    const { value, stats } = frame(s, () => {
      const a = { ...s.show(lost) };
      s.show(lost); // counted once
      return a;
    });
    expect(value.placeholder).toBe(true);
    expect(stats.placeholders).toBe(1);
    frame(s, () => s.request(lost)); // asked for again: its tail comes back (taking the coldest one's place)
    expect(lost.tailResident).toBe(true);
    expect(frame(s, () => s.show(lost)).value.placeholder).toBe(false);
    s.destroy();
  });
});

describe("a Texture of the frame manager made lost outside a streamer", () => {
  test("can still be destroyed later: its view goes, its image and memory were already freed", () => {
    const limited = createAllocator(context, {
      label: "lost texture",
      heapSizeLimits: allocator.memoryHeaps.map(() => 16 * MiB),
    });
    const fm = createFrameManager(context, limited, { label: "lost texture frames" });
    const pool = limited.createPool(
      {
        forImage: {
          format: RGBA8,
          extent: { width: 256, height: 256 },
          mipLevels: 9,
          usage:
            vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
        },
      },
      { blockSize: MiB, maxBlockCount: 1, name: "one block" },
    );
    const make = (label: string) =>
      fm.createTexture({
        label,
        width: 256,
        height: 256,
        format: RGBA8,
        mipLevels: 9,
        memory: { pool, canBecomeLost: true, canMakeOtherLost: true },
      });
    fm.beginFrame();
    const a = make("a");
    const b = make("b");
    fm.endFrame();
    for (let i = 0; i < 3; i++) {
      fm.beginFrame();
      fm.endFrame();
    }
    fm.beginFrame();
    const c = make("c"); // takes a, the least recently used
    fm.endFrame();
    expect(a.allocation.lost).toBe(true);
    expect(b.allocation.lost).toBe(false);
    a.destroy(); // after the loss, not from onLost: a no-op on memory, the view destroyed
    b.destroy();
    c.destroy();
    fm.waitIdle();
    fm.destroy();
    pool.destroy();
    expect(limited.destroy()).toEqual([]);
  });
});

describe("destroy", () => {
  test("releases images, views, the pool and the placeholder; nothing is left in the allocator", () => {
    const s = streamer({ label: "teardown" });
    const pool = s.pool;
    const tailPool = s.tailPool!;
    const placeholder = s.placeholder;
    const textures = Array.from({ length: 4 }, (_, i) => square(s, 300 + i, 128));
    frame(s, () => textures.forEach((t) => s.request(t)));
    frame(s, () => textures.forEach((t) => s.show(t)));
    textures[0]!.destroy();
    expect(textures[0]!.destroyed).toBe(true);
    expect(() => s.show(textures[0]!)).toThrow(DestroyedResourceError);
    const images = textures.slice(1).map((t) => frame(s, () => s.show(t).texture).value);
    s.destroy();
    expect(pool.destroyed).toBe(false); // queued behind the images, which the last frame may still read
    frames.waitIdle();
    expect(pool.destroyed).toBe(true);
    expect(tailPool.destroyed).toBe(true);
    expect(placeholder.destroyed).toBe(true);
    expect(images.every((i) => i.destroyed)).toBe(true);
    expect(textures.every((t) => t.destroyed)).toBe(true);
    expect(() => s.update()).toThrow(DestroyedResourceError);
  });
});
