/**
 * Uploads into resources a live defragmentation has just switched (FrameManager.defragment): from the switch on, the
 * game's objects name the new buffer or image, so an upload recorded in the switch frame, before the pass commits,
 * must land in the new resource, and a read after the pass sees it: buffers (native/copy_commands.cpp's
 * cmdCopyBuffers, which wrote such an upload into the old buffer, lost with it at the commit) and textures, under
 * the validation layer.
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  type Allocator,
  type Buffer,
  type FrameManager,
  type Texture,
} from "../../engine/index.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem live defragmentation upload tests" });

const KiB = 1024;
const VERTEX = 0x80;
const SAMPLED = 0x4;
const RGBA8 = 37;

let allocator: Allocator;
let frames: FrameManager;

beforeEach(() => {
  allocator = createAllocator(gpu.context, { label: "live uploads", preferredLargeHeapBlockSize: 1024 * KiB });
  frames = createFrameManager(gpu.context, allocator, { label: "game" });
});
afterEach(() => {
  if (!frames.destroyed) frames.destroy();
  expect(allocator.destroy()).toEqual([]);
});

test("an upload recorded in the frame a resource switches lands in its new place", async () => {
  const buffers: Buffer[] = [];
  const textures: Texture[] = [];
  frames.beginFrame();
  for (let i = 0; i < 48; i++) {
    const b = frames.createBuffer({ label: `b${i}`, size: 16 * KiB, usage: VERTEX });
    frames.upload(b, new Uint32Array(4 * KiB).fill(i));
    buffers.push(b);
    const t = frames.createTexture({ label: `t${i}`, width: 32, height: 32, format: RGBA8, usage: SAMPLED });
    frames.uploadImage(t, new Uint32Array(32 * 32).fill(0x1000 + i));
    textures.push(t);
  }
  frames.endFrame();
  // Every other one goes: the memory is fragmented, and the rest can move.
  for (let i = 0; i < 48; i += 2) {
    buffers[i]!.destroy();
    textures[i]!.destroy();
  }
  frames.waitIdle();
  const word = new Map<Buffer | Texture, number>();
  for (let i = 1; i < 48; i += 2) {
    word.set(buffers[i]!, i);
    word.set(textures[i]!, 0x1000 + i);
  }
  const switched: (Buffer | Texture)[] = [];
  frames.defragment({ maxMovesPerFrame: 64, maxPlanningMicroseconds: 0, onMove: (r) => switched.push(r) });
  for (let f = 0; f < 200 && frames.defragmentation!.active; f++) {
    frames.beginFrame();
    // The objects switched in this beginFrame name their new resources now: new bytes go there.
    for (const r of switched.splice(0)) {
      const w = word.get(r)! + 0x100000;
      word.set(r, w);
      if ("view" in r) frames.uploadImage(r as Texture, new Uint32Array(32 * 32).fill(w));
      else frames.upload(r as Buffer, new Uint32Array(4 * KiB).fill(w));
    }
    frames.endFrame();
    frames.waitIdle();
  }
  const status = frames.defragmentation!;
  expect(status.active).toBe(false);
  expect(status.resourcesMoved).toBeGreaterThan(4);
  const rewritten = [...word.values()].filter((w) => w >= 0x100000).length;
  expect(rewritten).toBe(status.resourcesMoved);
  const reads = [...word.entries()].map(async ([r, w]) => {
    const bytes = await ("view" in r ? frames.downloadImage(r as Texture) : frames.download(r as Buffer));
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    return { label: r.label, ok: words.every((x) => x === w) };
  });
  frames.beginFrame();
  frames.endFrame();
  frames.waitIdle();
  const results = await Promise.all(reads);
  expect(results.filter((r) => !r.ok).map((r) => r.label)).toEqual([]);
  for (const r of word.keys()) r.destroy();
});
