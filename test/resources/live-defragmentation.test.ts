/**
 * The FrameManager's live defragmentation (engine/resources/live-defragmentation.ts) over hundreds of frames of a
 * game-like workload on real Vulkan (lavapipe, validation and synchronization validation on): levels loaded and
 * unloaded until the memory is fragmented, then `frames.defragment()` while the game keeps uploading, reading its
 * resources back every frame (its "draws") and destroying some; every read must see the right bytes, blocks must be
 * freed, and the objects the game holds must stay the same objects.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  InvalidStateError,
  type Allocator,
  type Buffer,
  type FrameManager,
  type Texture,
} from "../../engine/index.js";
import { rawHandle } from "../../engine/vulkan/handles.js";
import { useGpuContext } from "../helpers/gpu.js";
import { mulberry } from "../helpers/random.js";

const gpu = useGpuContext({ applicationName: "vkmem live defragmentation tests", synchronizationValidation: true });

const KiB = 1024;
const VERTEX = 0x80;
const SAMPLED = 0x4;
const RGBA8 = 37;

let allocator: Allocator;
let frames: FrameManager;

beforeEach(() => {
  allocator = createAllocator(gpu.context, { label: "live", preferredLargeHeapBlockSize: 1024 * KiB });
  frames = createFrameManager(gpu.context, allocator, { label: "game" });
});
afterEach(() => {
  if (!frames.destroyed) frames.destroy();
  allocator.destroy();
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
});
