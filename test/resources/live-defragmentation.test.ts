/**
 * The FrameManager's live defragmentation (engine/resources/live-defragmentation.ts) over hundreds of frames of a
 * game-like workload on real Vulkan (lavapipe, validation and synchronization validation on): levels loaded and
 * unloaded until the memory is fragmented, then `frames.defragment()` while the game keeps uploading, reading its
 * resources back every frame (its "draws") and destroying some; every read must see the right bytes, blocks must be
 * freed, and the objects the game holds must stay the same objects. Then textures (engine/resources/texture-move.ts):
 * one whose mips and layers are in different tracked layouts (some never written) moves with every range's layout,
 * owner and texels; one written in its copy frame is copied again and switches a frame later, one written in every
 * copy frame is given up and stays; a TextureStreamer's images and tails move while it streams (a partly filled one
 * too), every read sees the right texels and its statistics stay consistent; and textures, streamers and the manager
 * destroyed mid-pass never crash nor leak. The texture scenes are small (a few hundred KiB).
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  createTextureStreamer,
  InvalidStateError,
  MemoryUsage,
  type Allocator,
  type Buffer,
  type FrameManager,
  type Pool,
  type StreamedTexture,
  type Texture,
  type TextureStreamer,
} from "../../engine/index.js";
import { rawHandle } from "../../engine/vulkan/handles.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import { mipPixels, mipRange } from "../../bench/gpu/mip-pixels.js";
import { useGpuContext } from "../helpers/gpu.js";
import { mulberry } from "../helpers/random.js";

const gpu = useGpuContext({ applicationName: "vkmem live defragmentation tests", synchronizationValidation: true });

const KiB = 1024;
const VERTEX = 0x80;
const SAMPLED = 0x4;
const RGBA8 = 37;
const SHADER_READ = 5;
const TRANSFER_DST = 7;
const GENERAL = 1;

let allocator: Allocator;
let frames: FrameManager;

beforeEach(() => {
  allocator = createAllocator(gpu.context, { label: "live", preferredLargeHeapBlockSize: 1024 * KiB });
  frames = createFrameManager(gpu.context, allocator, { label: "game" });
});
afterEach(() => {
  if (!frames.destroyed) frames.destroy();
  expect(allocator.destroy()).toEqual([]);
});

interface Live {
  resource: Buffer | Texture;
  word: number;
  bytes: number;
}

function bufferData(word: number, size: number): Uint32Array {
  return new Uint32Array(size / 4).fill(word);
}

function textureData(word: number, size: number): Uint32Array {
  return new Uint32Array(size / 4).fill(word);
}

function deviceBlocks(): number {
  return allocator.calculateStatistics().total.blockCount;
}

describe("FrameManager.defragment(): live, inside running frames", () => {
  test("a game-like workload: levels loaded and unloaded, then defragmented live while every read sees the right bytes", async () => {
    const rand = mulberry(11);
    const live: Live[] = [];
    let next = 1;
    const load = (buffers: number, textures: number) => {
      for (let i = 0; i < buffers; i++) {
        const size = (4 + Math.floor(rand() * 12)) * 4 * KiB;
        const word = 0x10000 + next++;
        const b = frames.createBuffer({ label: `vb${word}`, size, usage: VERTEX });
        frames.upload(b, bufferData(word, size));
        live.push({ resource: b, word, bytes: size });
      }
      for (let i = 0; i < textures; i++) {
        const word = 0x20000 + next++;
        const t = frames.createTexture({ label: `tex${word}`, width: 64, height: 64, format: RGBA8, usage: SAMPLED });
        frames.uploadImage(t, textureData(word, 64 * 64 * 4));
        live.push({ resource: t, word, bytes: 64 * 64 * 4 });
      }
    };
    const unload = (fraction: number) => {
      for (let i = live.length - 1; i >= 0; i--) {
        if (rand() < fraction) {
          live[i].resource.destroy();
          live.splice(i, 1);
        }
      }
    };
    const pending: Promise<void>[] = [];
    let reads = 0;
    const read = (entry: Live) => {
      const { resource, word } = entry;
      const p = "view" in resource ? frames.downloadImage(resource as Texture) : frames.download(resource as Buffer);
      pending.push(
        p.then((bytes) => {
          const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
          expect(
            words.every((w) => w === word),
            `${resource.label}`,
          ).toBe(true);
          reads++;
        }),
      );
    };
    const frame = async (work: () => void) => {
      frames.beginFrame();
      work();
      frames.endFrame();
      await new Promise((r) => setImmediate(r));
    };

    // Three levels in and out: the memory ends up fragmented.
    for (let level = 0; level < 3; level++) {
      await frame(() => load(60, 10));
      for (let f = 0; f < 5; f++) await frame(() => {});
      await frame(() => unload(0.6));
    }
    frames.waitIdle();
    const blocksBefore = deviceBlocks();
    const identities = new Map(
      live.map((e) => [e, "view" in e.resource ? (e.resource as Texture).view : (e.resource as Buffer).handle]),
    );
    const moved = new Set<Buffer | Texture>();
    let moves = 0;
    frames.defragment({
      maxMovesPerFrame: 8,
      // Whole passes on any machine: with VMA's planning cut to a move or two a frame (a slow machine under ASan),
      // the first move given up leaves its block in place, and what this test counts depends on the machine.
      maxPlanningMicroseconds: 0,
      onMove: (r) => {
        moved.add(r);
        moves++;
      },
    });
    expect(() => frames.defragment()).toThrow(InvalidStateError);

    let f = 0;
    for (; f < 600 && frames.defragmentation!.active; f++) {
      await frame(() => {
        // The game keeps going: reads (its draws), a few new resources, a few destroyed.
        for (let k = 0; k < 3; k++) read(live[Math.floor(rand() * live.length)]);
        if (f % 20 === 5) load(2, 1);
        if (f % 20 === 15) unload(0.02);
      });
    }
    for (let k = 0; k < 4; k++) await frame(() => {});
    frames.waitIdle();
    await Promise.all(pending);
    const status = frames.defragmentation!;
    expect(status.active).toBe(false);
    expect(status.resourcesMoved).toBeGreaterThan(10);
    expect(status.deviceMemoryBlocksFreed).toBeGreaterThan(0);
    expect(deviceBlocks()).toBeLessThan(blocksBefore);
    expect(moves).toBe(status.resourcesMoved);
    expect(moved.size).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(30);
    // Every resource still holds its bytes, through the same objects.
    for (const e of live) {
      const id = "view" in e.resource ? (e.resource as Texture).view : (e.resource as Buffer).handle;
      if (identities.has(e)) expect(id).toBe(identities.get(e));
      expect(rawHandle(id as never)).not.toBe(0n);
      read(e);
    }
    await frame(() => {});
    frames.waitIdle();
    await Promise.all(pending);
    for (const e of live) e.resource.destroy();
  });

  test("destroying the manager mid-defragmentation, and resources destroyed while they move, never crash", async () => {
    const made: Buffer[] = [];
    frames.beginFrame();
    for (let i = 0; i < 64; i++) {
      const b = frames.createBuffer({ label: `b${i}`, size: 32 * KiB, usage: VERTEX });
      frames.upload(b, bufferData(i, 32 * KiB));
      made.push(b);
    }
    frames.endFrame();
    for (const [i, b] of made.entries()) if (i % 2 === 1) b.destroy();
    frames.waitIdle();
    frames.defragment({ maxMovesPerFrame: 4 });
    for (let f = 0; f < 3; f++) {
      frames.beginFrame();
      // Destroy resources now, some of which are being moved: their frees wait for the pass.
      made[f * 2].destroy();
      frames.endFrame();
    }
    frames.destroy();
    expect(frames.destroyed).toBe(true);
  });

  test("bad options are typed errors naming the option and the value, and start nothing", () => {
    const b = frames.createBuffer({ label: "kept", size: 4 * KiB, usage: VERTEX });
    for (const bad of [-1, 1.5, 2001, Number.NaN, "40"]) {
      expect(() => frames.defragment({ maxPlanningMicroseconds: bad as number })).toThrow(
        /FrameManager\.defragment: options\.maxPlanningMicroseconds must be an integer in \[0, 2000\], got/,
      );
    }
    expect(() => frames.defragment({ onMove: 3 as never })).toThrow(
      /FrameManager\.defragment: options\.onMove must be a function, got 3/,
    );
    expect(frames.defragmentation).toBeNull();
    // Nothing was begun: a defragmentation starts, and ends, as usual.
    frames.defragment({ maxPlanningMicroseconds: 0, rehearse: false });
    for (let f = 0; f < 10 && frames.defragmentation!.active; f++) {
      frames.beginFrame();
      frames.endFrame();
    }
    expect(frames.defragmentation!.active).toBe(false);
    expect(b.destroyed).toBe(false);
    b.destroy();
  });
});

/** A pool of 128 KiB blocks for the test's textures (so that where they land, and what moves, is predictable). */
function texturePool(): Pool {
  const type = allocator.findMemoryTypeIndexForImageInfo(
    { format: RGBA8, extent: { width: 64, height: 64 }, usage: SAMPLED | 0x3 },
    { usage: MemoryUsage.Auto },
  );
  return allocator.createPool({ memoryTypeIndex: type }, { blockSize: 128 * KiB, name: "livetex pool" });
}

function texture(pool: Pool, label: string, size: number, mipLevels = 1, arrayLayers = 1): Texture {
  return frames.createTexture({
    label,
    width: size,
    height: size,
    format: RGBA8,
    mipLevels,
    arrayLayers,
    usage: SAMPLED,
    memory: { pool },
  });
}

/** Bytes of mip `mip`, layer `layer` of texture number `id`. */
function pixels(id: number, size: number, mip: number, layer = 0): Uint8Array {
  return mipPixels(id * 16 + layer, size, size, mip);
}

/** Records a layout transition of one subresource in the frame and tells the texture. */
function transition(cmd: unknown, t: Texture, mip: number, layer: number, from: number, to: number): void {
  const barrier = new nvk.VkImageMemoryBarrier({
    image: t.image,
    srcAccessMask: 0x10000,
    dstAccessMask: 0x8000,
    oldLayout: from,
    newLayout: to,
    srcQueueFamilyIndex: 0xffffffff,
    dstQueueFamilyIndex: 0xffffffff,
    subresourceRange: new nvk.VkImageSubresourceRange({
      aspectMask: 1,
      baseMipLevel: mip,
      levelCount: 1,
      baseArrayLayer: layer,
      layerCount: 1,
    }),
  });
  nvk.vkCmdPipelineBarrier(cmd, 0x10000, 0x10000, 0, 0, null, 0, null, 1, [barrier]);
  t.assumeLayout(to, mip, layer);
}

/**
 * 16 KiB fillers fill block 0 (one that lands in another block is destroyed at once), `make` makes the test's
 * textures (at most 48 KiB, in block 1), then fillers 1 to 3 go: block 1 is then the emptier one, which VMA's "full"
 * algorithm empties into block 0's 48 KiB hole. Returns the fillers left.
 */
function fragmentAround(pool: Pool, make: () => void): Texture[] {
  const fillers: Texture[] = [];
  for (;;) {
    const filler = texture(pool, `filler${fillers.length}`, 64);
    if (
      fillers.length > 0 &&
      filler.allocation.info.deviceMemoryHandle !== fillers[0].allocation.info.deviceMemoryHandle
    ) {
      filler.destroy();
      break;
    }
    fillers.push(filler);
  }
  make();
  for (let i = 1; i <= 3; i++) fillers[i].destroy();
  return fillers.filter((t) => !t.destroyed);
}

/** Runs frames (each `work(frameIndex, cmd)`) until the live defragmentation ends; returns how many ran. */
function runDefragmentation(work: (f: number, cmd: unknown) => void = () => {}, limit = 40): number {
  let f = 0;
  for (; f < limit && frames.defragmentation!.active; f++) {
    const frame = frames.beginFrame();
    work(f, frame.commandBuffer);
    frames.endFrame();
  }
  expect(frames.defragmentation!.active).toBe(false);
  return f;
}

/** Byte equality (vitest's toEqual walks a typed array element by element, which costs more than the GPU work here). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return globalThis.Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

async function readAll(reads: [Texture, number, number, Uint8Array][]): Promise<void> {
  frames.beginFrame();
  const got = reads.map(([t, mipLevel, arrayLayer]) => frames.downloadImage(t, { mipLevel, arrayLayer }));
  frames.endFrame();
  frames.waitIdle();
  const bytes = await Promise.all(got);
  reads.forEach(([t, mip, layer, want], i) =>
    expect(same(bytes[i], want), `${t.label} mip ${mip} layer ${layer}`).toBe(true),
  );
}

describe("live defragmentation of textures", () => {
  test("a texture whose mips and layers are in different layouts (some never written) keeps each range's layout, owner and texels", async () => {
    const pool = texturePool();
    const size = 32;
    let mixed!: Texture;
    const fillers = fragmentAround(pool, () => (mixed = texture(pool, "mixed", size, 6, 2)));
    // mip 0: layer 0 sampled, layer 1 never written; mip 1: both written, then TRANSFER_DST; mip 2: layer 0 GENERAL,
    // layer 1 sampled; mip 3 layer 1 sampled; the rest never written.
    const written: [number, number][] = [
      [0, 0],
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
      [3, 1],
    ];
    frames.beginFrame();
    for (const [mip, layer] of written)
      frames.uploadImage(mixed, pixels(1, size, mip, layer), { mipLevel: mip, arrayLayer: layer });
    frames.endFrame();
    const frame = frames.beginFrame();
    transition(frame.commandBuffer, mixed, 1, 0, SHADER_READ, TRANSFER_DST);
    transition(frame.commandBuffer, mixed, 1, 1, SHADER_READ, TRANSFER_DST);
    transition(frame.commandBuffer, mixed, 2, 0, SHADER_READ, GENERAL);
    frames.endFrame();
    frames.waitIdle();
    const layouts = [...mixed._layouts];
    const owners = [...mixed._owners];
    expect(new Set(layouts)).toEqual(new Set([0, SHADER_READ, TRANSFER_DST, GENERAL]));
    const image = mixed.image;
    const view = mixed.view;
    const before = rawHandle(image);

    const moved: (Buffer | Texture)[] = [];
    frames.defragment({ pool, algorithm: "full", maxPlanningMicroseconds: 0, onMove: (r) => moved.push(r) });
    runDefragmentation();
    expect(moved).toContain(mixed);
    expect(frames.defragmentation!.resourcesMoved).toBe(moved.length);
    // Same handle objects, naming the new image; every range's tracked layout and owner as before.
    expect(mixed.image).toBe(image);
    expect(mixed.view).toBe(view);
    expect(rawHandle(mixed.image)).not.toBe(before);
    expect(mixed._layouts).toEqual(layouts);
    expect(mixed._owners).toEqual(owners);
    await readAll(written.map(([mip, layer]) => [mixed, mip, layer, pixels(1, size, mip, layer)]));
    // The never-written ranges are UNDEFINED on the new image too (read back from there: no layout mismatch).
    expect(mixed.layout(0, 1)).toBe(0);
    frames.beginFrame();
    mixed.markUsed();
    const undefinedRead = frames.downloadImage(mixed, { mipLevel: 0, arrayLayer: 1 });
    frames.endFrame();
    frames.waitIdle();
    expect((await undefinedRead).length).toBe(size * size * 4);
    for (const t of [mixed, ...fillers]) t.destroy();
    frames.waitIdle();
    pool.destroy();
  });

  test("a texture written in its copy frame is copied again and switches a frame later; one written in every copy frame is given up", async () => {
    const pool = texturePool();
    const size = 64;
    let once!: Texture;
    let always!: Texture;
    const fillers = fragmentAround(pool, () => {
      once = texture(pool, "once", size, 7);
      always = texture(pool, "always", size, 7);
    });
    // Streamed the way the TextureStreamer does: smallest mip first, one more per frame.
    frames.beginFrame();
    for (const t of [once, always]) frames.uploadImage(t, pixels(2, size, 6), { mipLevel: 6 });
    frames.endFrame();
    frames.waitIdle();
    const moved = new Set<Buffer | Texture>();
    const switchedIn = new Map<Buffer | Texture, number>();
    let first = 0;
    frames.defragment({
      pool,
      algorithm: "full",
      maxMovesPerFrame: 64,
      // Both in frame 0's pass on any machine: planned in pieces (a slow machine under ASan planned one move a frame),
      // "always" would be given up alone first, and VMA would leave its block, "once" with it, in place.
      maxPlanningMicroseconds: 0,
      // Called in beginFrame, when the frame being begun is current already.
      onMove: (r) => {
        moved.add(r);
        switchedIn.set(r, frames.currentFrame!.frameNumber - first);
      },
    });
    runDefragmentation((frame) => {
      if (frame === 0) first = frames.currentFrame!.frameNumber;
      if (frame === 0) frames.uploadImage(once, pixels(2, size, 5), { mipLevel: 5 });
      if (frame < 6) frames.uploadImage(always, pixels(2, size, 5 - frame), { mipLevel: 5 - frame });
    });
    const status = frames.defragmentation!;
    expect(moved).toContain(once);
    // Copied in frame 0, written there into a never-written mip: copied again in frame 1, switched in frame 2.
    expect(switchedIn.get(once)).toBe(2);
    expect(moved).not.toContain(always);
    expect(status.movesGivenUp).toBe(1);
    expect(status.texturesCopiedAgain).toBe(4);
    await readAll([
      [once, 5, 0, pixels(2, size, 5)],
      [once, 6, 0, pixels(2, size, 6)],
      ...[0, 1, 2, 3, 4, 5, 6].map((m): [Texture, number, number, Uint8Array] => [always, m, 0, pixels(2, size, m)]),
    ]);
    for (const t of [once, always, ...fillers]) t.destroy();
    frames.waitIdle();
    pool.destroy();
  });
});

/** A streamer of 64x64 textures: 384 KiB of 128 KiB blocks for the large images, 128 KiB for the tails. */
function streamer(manager: FrameManager = frames): TextureStreamer {
  return createTextureStreamer(manager, {
    label: "livetex streamer",
    budgetBytes: 512 * KiB,
    blockSize: 128 * KiB,
    tailBudgetFraction: 0.25,
    tailSize: 16,
    uploadBudgetBytes: 24 * KiB,
  });
}

function register(s: TextureStreamer, id: number): StreamedTexture {
  return s.register({
    label: `s${id}`,
    width: 64,
    height: 64,
    format: RGBA8,
    load: (f, n) => mipRange(id, 64, 64, f, n),
  });
}

/** `n` frames of `manager` in which `s` is asked for every texture of `list`. */
function stream(manager: FrameManager, s: TextureStreamer, list: readonly StreamedTexture[], n: number): void {
  for (let i = 0; i < n; i++) {
    manager.beginFrame();
    for (const t of list) s.request(t);
    s.update();
    manager.endFrame();
  }
}

/** The streamer's counts against its textures' images, and its budget use against its pools. */
function expectConsistent(s: TextureStreamer, textures: Map<StreamedTexture, number>): void {
  const stats = s.statistics;
  let resident = 0;
  let bytes = 0;
  let tails = 0;
  let tailBytes = 0;
  for (const t of textures.keys()) {
    if (t.resident) resident++;
    for (const image of [t._residency.large.resident, t._residency.large.filling]) {
      if (image === null) continue;
      bytes += image.bytes;
      expect(image.allocation.size).toBe(image.bytes);
    }
    for (const image of [t._residency.tail.resident, t._residency.tail.filling]) {
      if (image === null) continue;
      tails++;
      tailBytes += image.bytes;
    }
  }
  expect(stats.residentTextures).toBe(resident);
  expect(stats.residentBytes).toBe(bytes);
  expect(stats.tails).toBe(tails);
  expect(stats.tailBytes).toBe(tailBytes);
  const last = s.frameStatistics!;
  expect(last.budgetUsedBytes).toBeLessThanOrEqual(s.budgetBytes);
}

describe("live defragmentation of a TextureStreamer's images and tails", () => {
  test("the streamer's pools are defragmented while it streams: every read sees the right texels, its statistics stay consistent", async () => {
    const s = streamer();
    const textures = new Map<StreamedTexture, number>();
    for (let id = 0; id < 12; id++) textures.set(register(s, id), id);
    const pending: Promise<void>[] = [];
    let reads = 0;
    let f = 0;
    /** One frame of the game: requests every texture, streams, and reads back what one of them shows. */
    const frame = () => {
      frames.beginFrame();
      for (const t of textures.keys()) s.request(t);
      s.update();
      const list = [...textures.keys()];
      const t = list[f++ % list.length];
      const shown = s.show(t);
      if (!shown.placeholder) {
        const id = textures.get(t)!;
        const mip = shown.firstMip;
        const read = frames.downloadImage(shown.texture, { mipLevel: mip - (t.mipLevels - shown.texture.mipLevels) });
        pending.push(
          read.then((bytes) => {
            expect(same(bytes, mipPixels(id, 64, 64, mip)), `${t.label} mip ${mip}`).toBe(true);
            reads++;
          }),
        );
      }
      // The tails too, through the texture the streamer exposes for reading them.
      const tail = t.tailTexture;
      if (t.tailResident && tail !== null) {
        const id = textures.get(t)!;
        pending.push(
          frames.downloadImage(tail).then((bytes) => {
            expect(same(bytes, mipPixels(id, 64, 64, t.tailFirstMip)), `${t.label} tail`).toBe(true);
            reads++;
          }),
        );
      }
      frames.endFrame();
      expectConsistent(s, textures);
    };
    for (let i = 0; i < 14; i++) frame();
    expect(s.statistics.residentTextures).toBe(12);
    // Half of them go (holes in every block), two new ones start streaming: their images fill during the moves.
    for (const [t, id] of [...textures]) {
      if (id % 2 === 1) {
        t.destroy();
        textures.delete(t);
      }
    }
    textures.set(register(s, 20), 20);
    textures.set(register(s, 21), 21);
    const blocksBefore = s.pool.getStatistics().blockCount;

    const moved = new Set<Buffer | Texture>();
    const onMove = (r: Buffer | Texture) => moved.add(r);
    frames.defragment({ pool: s.pool, algorithm: "full", maxMovesPerFrame: 2, onMove });
    for (let i = 0; i < 40 && frames.defragmentation!.active; i++) frame();
    expect(frames.defragmentation!.active).toBe(false);
    const large = frames.defragmentation!;
    expect(large.resourcesMoved).toBeGreaterThan(0);
    frames.defragment({ pool: s.tailPool!, algorithm: "full", maxMovesPerFrame: 2, onMove });
    for (let i = 0; i < 40 && frames.defragmentation!.active; i++) frame();
    expect(frames.defragmentation!.active).toBe(false);
    expect(frames.defragmentation!.resourcesMoved).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) frame();
    frames.waitIdle();
    await Promise.all(pending);
    expect(reads).toBeGreaterThan(40);
    expect(moved.size).toBe(large.resourcesMoved + frames.defragmentation!.resourcesMoved);
    expect(s.pool.getStatistics().blockCount).toBeLessThan(blocksBefore);
    // Every texture resident, shown through the moved images' same handle objects.
    expect(s.statistics.residentTextures).toBe(textures.size);
    const poolStats = s.pool.getStatistics();
    expect(poolStats.allocationBytes).toBe(s.statistics.residentBytes);
    s.destroy();
  });

  test("a streamed image moved while partly filled: show() gives a new partial view over the new image, with the uploaded mips", async () => {
    // One mip per frame; 64 KiB blocks: s0, s1 and s3 in block 0, s2 (partly filled) alone in block 1.
    const s = createTextureStreamer(frames, {
      label: "partial",
      budgetBytes: 192 * KiB,
      blockSize: 64 * KiB,
      tailSize: 0,
      uploadBudgetBytes: 1,
    });
    const [t0, t1, t2] = [0, 1, 2].map((id) => register(s, id));
    const t3 = s.register({
      label: "s3",
      width: 32,
      height: 32,
      format: RGBA8,
      load: (f, n) => mipRange(3, 32, 32, f, n),
    });
    const run = (list: StreamedTexture[], n: number) => stream(frames, s, list, n);
    run([t0, t1, t3], 20);
    expect([t0, t1, t3].map((t) => t.firstResidentMip)).toEqual([0, 0, 0]);
    run([t2], 3);
    run([], 3); // its request lapses: no more uploads
    const first = t2.firstResidentMip; // 3: a lapsing request is still served in the frame after the last one
    expect(first).toBeGreaterThan(0);
    t1.destroy(); // block 0 now has room for s2, and block 1 is the emptier one
    frames.beginFrame();
    const before = s.show(t2);
    const [view, texture, image] = [before.view, before.texture, rawHandle(before.texture.image)];
    s.update();
    frames.endFrame();
    const moved: (Buffer | Texture)[] = [];
    frames.defragment({ pool: s.pool, algorithm: "full", maxPlanningMicroseconds: 0, onMove: (r) => moved.push(r) });
    runDefragmentation(() => {
      s.show(t2);
      s.update();
    });
    expect(moved).toContain(texture);
    frames.beginFrame();
    const after = s.show(t2);
    expect(after.texture).toBe(texture);
    expect(rawHandle(texture.image)).not.toBe(image);
    expect(after.view).not.toBe(view);
    expect(after.firstMip).toBe(first);
    expect(t2.firstResidentMip).toBe(first);
    const mips = [3, 4, 5, 6].filter((m) => m >= first);
    const reads = mips.map((mip) => frames.downloadImage(texture, { mipLevel: mip }));
    frames.endFrame();
    frames.waitIdle();
    const bytes = await Promise.all(reads);
    bytes.forEach((b, i) => expect(same(b, mipPixels(2, 64, 64, mips[i])), `mip ${mips[i]}`).toBe(true));
    s.destroy();
  });

  test("destroyed mid-pass (a texture, a streamer, the frame manager) never crashes and leaves nothing behind", async () => {
    // A source freed during a pass is freed when the pass ends, even when its pool's destruction ends the pass.
    const leaks: string[] = [];
    const onWarning = (w: Error) => {
      if (w.name === "VkmemLeakWarning" && w.message.startsWith("Pool")) leaks.push(w.message);
    };
    process.on("warning", onWarning);
    const pool = texturePool();
    // A texture destroyed in its copy frame, another in its switch frame.
    const made: Texture[] = [];
    const fillers = fragmentAround(pool, () => {
      for (const label of ["a", "b", "c"]) made.push(texture(pool, label, 32, 6, 2));
    });
    const [a, b, c] = made;
    frames.beginFrame();
    for (const t of [a, b, c]) frames.uploadImage(t, pixels(3, 32, 1, 1), { mipLevel: 1, arrayLayer: 1 });
    frames.endFrame();
    frames.waitIdle();
    frames.defragment({ pool, algorithm: "full", maxMovesPerFrame: 8, maxPlanningMicroseconds: 0 });
    const ran = runDefragmentation((f) => {
      if (f === 0) a.destroy();
      if (f === 1) b.destroy();
    });
    expect(ran).toBeGreaterThanOrEqual(3);
    expect(frames.defragmentation!.resourcesMoved).toBeGreaterThan(0);
    for (const t of [c, ...fillers]) t.destroy();
    frames.waitIdle();
    pool.destroy();

    // Streamers destroyed in the copy frame and in the switch frame of a defragmentation of their pool.
    for (const at of [0, 1]) {
      const s = streamer();
      const list = Array.from({ length: 8 }, (_, id) => register(s, id));
      stream(frames, s, list, 10);
      list.filter((_, i) => i % 2 === 0).forEach((t) => t.destroy());
      frames.defragment({ pool: s.pool, maxMovesPerFrame: 8, maxPlanningMicroseconds: 0 });
      for (let f = 0; f < 4; f++) {
        frames.beginFrame();
        if (f === at) s.destroy();
        if (!s.destroyed) s.update();
        frames.endFrame();
      }
      frames.waitIdle();
      expect(s.destroyed).toBe(true);
      expect(frames.defragmentation!.copyFrames).toBe(1);
    }

    // The frame manager destroyed after the copy frame, then (another one) after the switch frame, with a streamer
    // alive and its pool's pass in progress: an unswitched pass is ignored, a switched one committed once idle.
    for (const framesRun of [1, 2]) {
      const manager = framesRun === 1 ? frames : createFrameManager(gpu.context, allocator, { label: "second" });
      const s = streamer(manager);
      const list = Array.from({ length: 8 }, (_, id) => register(s, id));
      stream(manager, s, list, 10);
      list.filter((_, i) => i % 2 === 1).forEach((t) => t.destroy());
      let moved = 0;
      manager.defragment({ pool: s.pool, maxMovesPerFrame: 8, maxPlanningMicroseconds: 0, onMove: () => moved++ });
      for (let f = 0; f < framesRun; f++) {
        manager.beginFrame();
        s.update();
        manager.endFrame();
      }
      expect(manager.defragmentation!.copyFrames).toBe(1);
      expect(moved > 0).toBe(framesRun === 2);
      manager.destroy();
      expect(s.destroyed).toBe(true);
    }
    await new Promise((r) => setImmediate(r));
    process.off("warning", onWarning);
    expect(leaks).toEqual([]);
  });
});
