/**
 * The rehearsal of a process's first live defragmentation (FrameManager.defragment()).
 *
 * Node compiles a function the first time it runs and optimizes it only after it has run for a while, so the first
 * frames of the first live defragmentation in a process paid for that inside beginFrame: on lavapipe their p99 was
 * 3 to 4 times that of the same workload defragmented a second time (bench/defrag.ts, `frame_overhead_us_p99` against
 * `_warm`), and most of it went away with V8's `--no-lazy`. A game cannot be asked to start Node with V8 flags, and a
 * live defragmentation is meant to go unnoticed. So the first `defragment()` of a process first runs the whole thing,
 * start to end, on a FrameManager and a pool of its own: 96 small buffers and 16 textures (of two mips, one written,
 * as a streamed texture is), every other one freed, then frames until VMA has nothing left to move. Every step
 * the game's frames will run (planning, replacements, buffer and texture copies, the switch, the commit, the end) has
 * then run and been compiled with the same object shapes, outside the game's frames. It costs a few tens of
 * milliseconds once (40-50 on the H200), inside that defragment() call, which `startMicroseconds` of the status reports; `rehearse: false` skips it.
 *
 * Nothing of the game's is touched: the rehearsal has an allocator of its own on the game's device (a FrameManager
 * owns its allocator's frame index, and VMA defragments one allocator's memory), with its own memory blocks, and a
 * manager with its own command buffers and fences; all of it is destroyed before the call returns. Its frames are
 * waited for, and since they share the game's queue, that call also waits once for the frames the game submitted
 * before it: call the first defragment() where a hitch is acceptable (after a level load, say), or pass
 * `rehearse: false`. The frames of the defragmentation itself never wait for the GPU, rehearsed or not.
 * @module
 */
import { describeValue, OutOfDeviceMemoryError, OutOfHostMemoryError } from "../errors.js";
import { createAllocator, type Allocator } from "../memory/allocator.js";
import { MemoryUsage } from "../memory/usage.js";
import type { Context } from "../vulkan/context.js";
import type { Buffer } from "./buffer.js";
import type { FrameManagerOptions } from "./frame-options.js";
import type { LiveDefragmentationOptions, LiveDefragmentationStatus } from "./live-defragmentation.js";
import type { BufferDescription, TextureDescription } from "./resource-creation.js";
import type { Texture } from "./texture.js";

/** What the rehearsal drives: a FrameManager of its own (the class is handed in, so that no import cycle forms). */
interface RehearsalManager {
  beginFrame(): unknown;
  endFrame(): void;
  createBuffer(desc: BufferDescription): Buffer;
  createTexture(desc: TextureDescription): Texture;
  upload(buffer: Buffer, data: Uint8Array): void;
  uploadImage(texture: Texture, data: Uint8Array): void;
  defragment(options: LiveDefragmentationOptions): void;
  readonly defragmentation: LiveDefragmentationStatus | null;
  waitIdle(): void;
  destroy(): void;
}

/** The FrameManager class. @internal */
export type RehearsalManagerClass = new (
  context: Context,
  allocator: Allocator,
  options: FrameManagerOptions,
) => RehearsalManager;

const KiB = 1024;
/**
 * The rehearsal's pool: blocks of 64 KiB, each holding four of its 16 KiB buffers; with every other resource freed,
 * VMA plans a pass of two moves a frame for about thirty frames. On the H200, rehearsing with 96 buffers rather than 24
 * took the first live run's p99 per frame from 150-194 to 117-146 µs (three runs each, `.gpu`-style diagnostic of the
 * bench's workload, on a slow machine lease) for 37-50 ms once instead of 25 ms: more passes let V8 compile and
 * optimize more of the code before the game's frames run it.
 */
const BLOCK_BYTES = 64 * KiB;
const BUFFER_BYTES = 16 * KiB;
const BUFFERS = 96;
/** TRANSFER_SRC | TRANSFER_DST | VERTEX_BUFFER: a buffer that moves live (no shader writes). */
const BUFFER_USAGE = 0x1 | 0x2 | 0x80;
const TEXTURE: Omit<TextureDescription, "label"> = { width: 16, height: 16, format: 37, mipLevels: 2 }; // RGBA8
/** More than the rehearsal needs (about 3 frames a pass, a few dozen passes). */
const MAX_FRAMES = 256;
const MANAGER_OPTIONS: FrameManagerOptions = {
  label: "vkmem defragmentation rehearsal",
  stagingRing: { size: 64 * KiB, maxSize: 256 * KiB },
  transientRing: { size: 4 * KiB, maxSize: 4 * KiB },
  uploadThreads: 1,
};

/** Whether this process has rehearsed (or tried to). */
let rehearsed = false;

/** Whether this process has rehearsed (the tests' view). @internal */
export function defragmentationRehearsed(): boolean {
  return rehearsed;
}

/**
 * Makes the next defragment() of the process rehearse again, as its first would. For the test of the first
 * rehearsal, which the suite's sanitizer and Windows lanes run in a process other files used before
 * (scripts/test-lanes.mjs). @internal
 */
export function forgetDefragmentationRehearsal(): void {
  rehearsed = false;
}

/**
 * Before a live defragmentation starts: the rehearsal, when this process has not had one and `options.rehearse` is
 * not false (see the module comment). A rehearsal the device has no memory for is left out.
 * @param current the manager's live defragmentation, when one is running (the real start then throws: no rehearsal)
 * @returns the microseconds it took, 0 when there was none.
 * @throws TypeError when `options.rehearse` is not a boolean; what a Vulkan call of the rehearsal threw but for an out-of-memory error (the device is lost, say).
 * @internal
 */
export function rehearseFirstDefragmentation(
  current: { readonly active: boolean } | null,
  context: Context,
  options: LiveDefragmentationOptions,
  managerClass: RehearsalManagerClass,
): number {
  if (typeof options !== "object" || options === null) return 0; // the real start says what is wrong with it
  const wanted = options.rehearse;
  if (wanted !== undefined && typeof wanted !== "boolean") {
    throw new TypeError(`FrameManager.defragment: options.rehearse must be a boolean, got ${describeValue(wanted)}`);
  }
  if (rehearsed || current?.active === true || wanted === false) return 0;
  rehearsed = true;
  const start = performance.now();
  const own = createAllocator(context, { label: "vkmem defragmentation rehearsal" });
  try {
    rehearse(context, own, managerClass);
  } catch (error) {
    if (!(error instanceof OutOfDeviceMemoryError || error instanceof OutOfHostMemoryError)) throw error;
  } finally {
    own.destroy();
  }
  return (performance.now() - start) * 1000;
}

function rehearse(context: Context, allocator: Allocator, managerClass: RehearsalManagerClass): void {
  const allocation = { usage: MemoryUsage.GpuOnly };
  const memoryTypeIndex = allocator.findMemoryTypeIndexForBufferInfo(
    { size: BUFFER_BYTES, usage: BUFFER_USAGE },
    allocation,
  );
  // Textures join when their memory type is the buffers' (one pool, one defragmentation).
  const textures =
    allocator.findMemoryTypeIndexForImageInfo(
      { extent: { width: TEXTURE.width, height: TEXTURE.height }, format: TEXTURE.format, mipLevels: 2, usage: 0x7 },
      allocation,
    ) === memoryTypeIndex;
  const pool = allocator.createPool({ memoryTypeIndex }, { blockSize: BLOCK_BYTES });
  let manager: RehearsalManager | null = null;
  const made: (Buffer | Texture)[] = [];
  try {
    manager = new managerClass(context, allocator, MANAGER_OPTIONS);
    const bytes = new Uint8Array(BUFFER_BYTES);
    manager.beginFrame();
    for (let i = 0; i < BUFFERS; i++) {
      const label = `vkmem rehearsal buffer ${i}`;
      const buffer = manager.createBuffer({ label, size: BUFFER_BYTES, usage: BUFFER_USAGE, memory: { pool } });
      made.push(buffer);
      manager.upload(buffer, bytes.subarray(0, 256));
      if (textures && i % 6 === 0) {
        const texture = manager.createTexture({ label: `vkmem rehearsal texture ${i}`, ...TEXTURE, memory: { pool } });
        made.push(texture);
        manager.uploadImage(texture, bytes.subarray(0, TEXTURE.width * TEXTURE.height * 4));
      }
    }
    manager.endFrame();
    for (let i = 0; i < made.length; i += 2) made[i]!.destroy();
    // Their memory is freed by the release queue, at the first beginFrame after the GPU is done with them.
    manager.waitIdle();
    manager.beginFrame();
    manager.endFrame();
    manager.defragment({ pool, rehearse: false });
    for (let f = 0; f < MAX_FRAMES && manager.defragmentation?.active === true; f++) {
      manager.beginFrame();
      manager.endFrame();
    }
    manager.waitIdle();
  } finally {
    for (const r of made) if (!r.destroyed) r.destroy();
    manager?.destroy();
    pool.destroy();
  }
}
