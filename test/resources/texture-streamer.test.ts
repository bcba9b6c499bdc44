/**
 * TextureStreamer (engine/resources/texture-streamer.ts) on real Vulkan, validation and synchronization validation on:
 * registration checks, smallest mips first under the upload budget, partial views, requested mips, eviction under the
 * budget through lost allocations (and re-streaming with the right pixels, read back), asynchronous and failing
 * loaders, statistics, and destruction leaving nothing behind.
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
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
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

function streamer(options: TextureStreamerOptions = {}): TextureStreamer {
  return createTextureStreamer(frames, { budgetBytes: 2 * MiB, blockSize: MiB, uploadBudgetBytes: 256 * KiB, ...options });
}

function square(s: TextureStreamer, id: number, size: number, extra: { priority?: number; async?: boolean } = {}): StreamedTexture {
  return s.register({
    label: `t${id}`,
    width: size,
    height: size,
    format: RGBA8,
    priority: extra.priority,
    load: (first, count) => (extra.async ? Promise.resolve(mipRange(id, size, size, first, count)) : mipRange(id, size, size, first, count)),
  });
}

/** Runs one frame: `body` requests and shows, then update(); returns update's statistics. */
function frame<T>(s: TextureStreamer, body: () => T = () => undefined as T): { stats: ReturnType<TextureStreamer["update"]>; value: T } {
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
  const promise = frames.downloadImage(shown.texture, { mipLevel: mip - (texture.mipLevels - shown.texture.mipLevels) });
  frames.endFrame();
  frames.waitIdle();
  return promise;
}

describe("register", () => {
  test("refuses bad descriptions with exact messages", () => {
    const s = streamer({ label: "checks" });
    expect(() => s.register({ label: "", width: 4, height: 4, format: RGBA8, load: () => new Uint8Array() })).toThrow(TypeError);
    expect(() => s.register({ label: "x", width: 0, height: 4, format: RGBA8, load: () => new Uint8Array() })).toThrow(
      new RangeError("TextureStreamer 'checks'.register: desc.width must be an integer from 1 to 16384, got 0"),
    );
    expect(() => s.register({ label: "x", width: 4, height: 4, format: vk.VK_FORMAT_D32_SFLOAT ?? 126, load: () => new Uint8Array() })).toThrow(/colour VkFormat/);
    expect(() => s.register({ label: "x", width: 4, height: 4, format: RGBA8, mipLevels: 4, load: () => new Uint8Array() })).toThrow(/mipLevels must be an integer from 1 to 3/);
    expect(() => s.register({ label: "x", width: 4, height: 4, format: RGBA8, load: 5 as never })).toThrow(/desc.load must be a function/);
    expect(() => s.register({ label: "big", width: 1024, height: 1024, format: RGBA8, load: () => new Uint8Array() })).toThrow(/more than the pool's block size/);
    expect(() => s.register({ label: "x", width: 4, height: 4, format: RGBA8, load: () => new Uint8Array(), colour: 1 } as never)).toThrow(/unknown field 'colour'/);
    const t = square(s, 1, 16);
    expect(() => s.request(t, 5)).toThrow(/mip must be an integer from 0 to 4 for 't1', got 5/);
    expect(() => s.request({} as StreamedTexture)).toThrow(TypeError);
    expect(() => s.update()).toThrow(/no frame is being recorded/);
    expect(() => createTextureStreamer(frames, { frameInUseCount: 0 })).toThrow(/frameInUseCount' must be an integer from framesInFlight - 1 \(1\)/);
    expect(() => createTextureStreamer(frames, { bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
    s.destroy();
    expect(() => s.request(t)).toThrow(DestroyedResourceError);
    s.destroy();
  });

  test("takes the budget from a heap size limit when no number is given", () => {
    const limited = createAllocator(context, { label: "limited", heapSizeLimits: allocator.memoryHeaps.map(() => 64 * MiB) });
    const fm = createFrameManager(context, limited, { label: "limited frames" });
    const s = createTextureStreamer(fm, { label: "limited" });
    expect(s.budgetSource).toBe("heap-size-limit");
    expect(s.budgetBytes).toBe(64 * MiB);
    expect(s.blockSize).toBe(32 * MiB);
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
    // Mips 8..1 (85 KiB together) fit in one frame's 256 KiB; mip 0 (256 KiB) does not fit behind them.
    expect(first.stats.uploads).toBe(8);
    expect(first.stats.pendingRequests).toBe(1);
    expect(t.firstResidentMip).toBe(1);
    const partial = frame(s, () => {
      s.request(t);
      const shown = s.show(t);
      return { ...shown };
    });
    expect(partial.value).toMatchObject({ placeholder: false, firstMip: 1, lastMip: 8 });
    expect(partial.stats.uploads).toBe(1); // mip 0, alone
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
    expect(calls).toEqual([[2, 7]]);
    expect(t.firstResidentMip).toBe(2);
    const small = frame(s, () => s.show(t).texture).value;
    expect(small.width).toBe(64);
    expect(small.allocation.size).toBeLessThan(64 * KiB);
    const upgrade = frame(s, () => {
      s.request(t, 0);
      return { ...s.show(t) };
    });
    expect(calls).toEqual([[2, 7], [0, 9]]);
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
    expect(f1.stats.loadsInFlight).toBe(1);
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    frame(s, () => s.request(a));
    expect(a.firstResidentMip).toBe(0);
    expect(checksum(await readMip(a, s, 0))).toBe(checksum(mipPixels(11, 64, 64, 0)));
    s.destroy();
  });

  test("failing loaders are counted and kept, never thrown", async () => {
    const s = streamer({ label: "failing" });
    const throws = s.register({ label: "throws", width: 8, height: 8, format: RGBA8, load: () => { throw new Error("disk on fire"); } });
    const short = s.register({ label: "short", width: 8, height: 8, format: RGBA8, load: () => new Uint8Array(3) });
    const rejects = s.register({ label: "rejects", width: 8, height: 8, format: RGBA8, load: () => Promise.reject(new Error("404")) });
    const { stats } = frame(s, () => [throws, short, rejects].forEach((t) => s.request(t)));
    expect(stats.loadErrors).toBe(2);
    expect((throws.lastLoadError as Error).message).toBe("disk on fire");
    expect((short.lastLoadError as Error).message).toBe("loader of 'short' gave 3 bytes for mips 0 to 3, which have 340");
    await new Promise((r) => setImmediate(r));
    expect((rejects.lastLoadError as Error).message).toBe("404");
    expect(s.statistics.loadErrors).toBe(3);
    expect(frame(s, () => s.show(short)).value.placeholder).toBe(true);
    s.destroy();
  });
});

describe("eviction under the budget", () => {
  test("cold textures are evicted least recently used first, shown ones never; evicted ones come back with the right pixels", async () => {
    // 2 MiB budget in two 1 MiB blocks; a 256x256 texture with its mips takes ~342 KiB, so a block holds 2 and the
    // budget 4: each group of 3 visible textures must evict most of the previous group.
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
        }
        for (const t of visible) expect(t.firstResidentMip).toBe(0);
      }
    }
    expect(evicted).toBeGreaterThan(10);
    expect(s.statistics.evicted).toBe(evicted);
    const evictedOne = textures.find((t) => !t.resident)!;
    expect(frame(s, () => s.show(evictedOne)).value.placeholder).toBe(true);
    frame(s, () => s.request(evictedOne));
    frame(s, () => s.request(evictedOne));
    expect(checksum(await readMip(evictedOne, s, 0))).toBe(checksum(mipPixels(100 + textures.indexOf(evictedOne), 256, 256, 0)));
    s.destroy();
  });

  test("when everything resident is in use, a new texture waits (outOfBudget) instead of taking a shown one", () => {
    const s = streamer({ label: "full", uploadBudgetBytes: 8 * MiB, budgetBytes: MiB, blockSize: MiB });
    const textures = Array.from({ length: 4 }, (_, i) => square(s, 200 + i, 256));
    const { stats } = frame(s, () => textures.forEach((t) => s.request(t)));
    expect(stats.outOfBudget).toBeGreaterThan(0);
    // Two 342 KiB textures fit in the one 1 MiB block; the third and fourth find only requested (in-use) ones.
    expect(textures.filter((t) => t.firstResidentMip === 0).length).toBe(2);
    expect(textures.filter((t) => !t.resident).length).toBe(2);
    s.destroy();
  });
});

describe("a Texture of the frame manager made lost outside a streamer", () => {
  test("can still be destroyed later: its view goes, its image and memory were already freed", () => {
    const limited = createAllocator(context, { label: "lost texture", heapSizeLimits: allocator.memoryHeaps.map(() => 16 * MiB) });
    const fm = createFrameManager(context, limited, { label: "lost texture frames" });
    const pool = limited.createPool(
      { forImage: { format: RGBA8, extent: { width: 256, height: 256 }, mipLevels: 9, usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT } },
      { blockSize: MiB, maxBlockCount: 1, name: "one block" },
    );
    const make = (label: string) => fm.createTexture({ label, width: 256, height: 256, format: RGBA8, mipLevels: 9, memory: { pool, canBecomeLost: true, canMakeOtherLost: true } });
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
    expect(placeholder.destroyed).toBe(true);
    expect(images.every((i) => i.destroyed)).toBe(true);
    expect(textures.every((t) => t.destroyed)).toBe(true);
    expect(() => s.update()).toThrow(DestroyedResourceError);
  });
});
