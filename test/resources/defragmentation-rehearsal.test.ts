/**
 * The rehearsal of a process's first live defragmentation (engine/resources/defragmentation-rehearsal.ts), on
 * lavapipe with validation and synchronization validation on: a bad `rehearse` option is a typed error and starts
 * nothing; `rehearse: false` skips it; the first defragment() of the process rehearses on an allocator and a manager
 * of its own, leaving the game's allocator exactly as it was and the context free of them; the game's defragmentation
 * then moves its own resources with their bytes; a later defragment() does not rehearse again. `npm test` gives each
 * file its own process (vitest's forks); the sanitizer and Windows lanes share processes between files, so the test
 * first makes the process forget an earlier file's rehearsal.
 */
import { expect, test } from "vitest";
import { createAllocator, createFrameManager, type Buffer } from "../../engine/index.js";
import {
  defragmentationRehearsed,
  forgetDefragmentationRehearsal,
} from "../../engine/resources/defragmentation-rehearsal.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem rehearsal tests", synchronizationValidation: true });
const KiB = 1024;

test("a process rehearses its first live defragmentation once, on memory of its own", async () => {
  forgetDefragmentationRehearsal();
  const allocator = createAllocator(gpu.context, { label: "game", preferredLargeHeapBlockSize: 256 * KiB });
  const frames = createFrameManager(gpu.context, allocator, { label: "game" });
  // A fragmented game: buffers of 32 KiB, every other one destroyed, each kept one holding its own word.
  const kept: { buffer: Buffer; word: number }[] = [];
  const fragment = (prefix: string, count: number, base: number) => {
    frames.beginFrame();
    for (let i = 0; i < count; i++) {
      const buffer = frames.createBuffer({ label: `${prefix}${i}`, size: 32 * KiB, usage: 0x80 });
      frames.upload(buffer, new Uint32Array(8 * KiB).fill(base + i));
      if (i % 2 === 0) buffer.destroy();
      else kept.push({ buffer, word: base + i });
    }
    frames.endFrame();
    frames.waitIdle();
    frames.beginFrame(); // the release queue frees the destroyed ones
    frames.endFrame();
    frames.waitIdle();
  };
  fragment("b", 32, 0x1000);

  expect(() => frames.defragment({ rehearse: "yes" as unknown as boolean })).toThrow(
    /FrameManager\.defragment: options\.rehearse must be a boolean, got .*yes/,
  );
  expect(frames.defragmentation).toBeNull();
  expect(defragmentationRehearsed()).toBe(false);

  // rehearse: false starts at once, without the rehearsal.
  frames.defragment({ rehearse: false });
  expect(defragmentationRehearsed()).toBe(false);
  for (let f = 0; f < 200 && frames.defragmentation!.active; f++) {
    frames.beginFrame();
    frames.endFrame();
  }
  expect(frames.defragmentation!.active).toBe(false);
  expect(frames.defragmentation!.resourcesMoved).toBeGreaterThan(0);

  // Fragment again, then the first rehearsed start.
  fragment("c", 16, 0x2000);
  const ready = allocator.calculateStatistics().total;
  frames.defragment();
  expect(defragmentationRehearsed()).toBe(true);
  const started = frames.defragmentation!;
  expect(started.startMicroseconds).toBeGreaterThan(0);
  // The rehearsal's allocator, manager, pool and memory are gone; the game's allocator is as it was.
  const after = allocator.calculateStatistics().total;
  expect(after.allocationCount).toBe(ready.allocationCount);
  expect(after.blockCount).toBe(ready.blockCount);
  expect(after.allocationBytes).toBe(ready.allocationBytes);
  for (let f = 0; f < 200 && frames.defragmentation!.active; f++) {
    frames.beginFrame();
    frames.endFrame();
  }
  expect(frames.defragmentation!.active).toBe(false);
  expect(frames.defragmentation!.resourcesMoved).toBeGreaterThan(0);

  // Every kept buffer still holds its word, wherever it went.
  const read = Promise.all(kept.map(({ buffer }) => frames.download(buffer, 0, 16)));
  frames.beginFrame();
  frames.endFrame();
  frames.waitIdle();
  const words = (await read).map((bytes) => new Uint32Array(bytes.buffer, bytes.byteOffset, 4)[3]);
  expect(words).toEqual(kept.map(({ word }) => word));
  // A second start in this process goes without a rehearsal (the flag stays); it starts as any other.
  frames.defragment();
  expect(defragmentationRehearsed()).toBe(true);
  expect(frames.defragmentation!.startMicroseconds).toBeGreaterThan(0);
  for (const { buffer } of kept) buffer.destroy();
  frames.destroy();
  expect(allocator.destroy()).toEqual([]);
});
