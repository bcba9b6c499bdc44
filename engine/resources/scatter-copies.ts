/**
 * ScatterCopies: a frame's many small staging copies as one compute dispatch (a "scatter upload").
 *
 * A game uploads about 1,000 small pieces a frame (a uniform here, a few vertices there) into a few hundred buffers.
 * As copy commands, their recording is the largest part of endFrame, and the GPU takes long to run them: 1,000 copies
 * of 4 KiB into 250 buffers took 408-455 µs to record on the H200 (413-434 on an H100), of an endFrame of 491-594,
 * and the GPU 1.6 ms more; as one dispatch, the recording took 62-78 µs and the GPU 16-48 (measured 2026-12-06),
 * against 0.4 ms for the memcpy of their bytes. Instead, the upload batch (upload-batch.ts) hands each phase of 16
 * copies or more here: their rows (source address, destination address, size) go into the staging ring beside the
 * bytes, and one dispatch of shaders/scatter-copy.comp copies them, a workgroup a row (native/scatter_copy.cpp).
 * Copies that cannot be scattered (over 64 KiB, not a multiple of 4 bytes, into a buffer vkmem did not create) stay
 * copy commands, in the same phase.
 *
 * A CPU device (lavapipe) runs the shader far slower than its copy commands, which are memcpy calls (a frame of 1,000
 * copies of 4 KiB: 1.8-2.0 ms against 0.33 ms from endFrame to idle; of 64 KiB, 85 against 6.4 ms), so there it is
 * used only when the manager's `scatterUploads` option asks for it (tests do).
 *
 * It needs the device's bufferDeviceAddress (enabled by createContext where the device has it, and an allocator made
 * with it), a main queue with compute, and the shader's SPIR-V (build/shaders, shipped in the package); the
 * manager's buffers and the rings' blocks are then made with SHADER_DEVICE_ADDRESS usage (resource-creation.ts,
 * upload-ring.ts). Where any is missing, or the manager's `scatterUploads` option is false, every copy is a copy
 * command as before. The barriers around a batch's copies then name the compute stage and shader writes beside the
 * transfer ones (transfers.ts, upload-batch.ts).
 * @internal
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Allocator } from "../memory/allocator.js";
import { ALLOCATOR_FLAGS } from "../memory/allocator-options.js";
import type { NativeAddon } from "../native.js";
import { packageRoot } from "../package-root.js";
import type { Context } from "../vulkan/context.js";
import {
  ACCESS_SHADER_WRITE,
  ACCESS_TRANSFER_WRITE,
  QUEUE_COMPUTE,
  STAGE_COMPUTE,
  STAGE_TRANSFER,
} from "../vulkan/vk.js";
import type { UploadRing } from "./upload-ring.js";

/** A phase with fewer copies than this records them as copy commands (a dispatch's binding is not worth it). */
export const SCATTER_MIN_COPIES = 16;
/** The largest copy the shader takes (native/scatter_copy.cpp: larger ones stay copy commands). */
const SCATTER_MAX_BYTES = 64 * 1024;
/** Bytes of a row of the table (native/scatter_copy.cpp). */
const ROW_BYTES = 32;
const ROW_ALIGN = 16;

/** The stages of a batch's copies recorded with `scatter` (null: copy commands only), for the barriers around them. */
export function copyStages(scatter: ScatterCopies | null): number {
  return scatter !== null ? STAGE_TRANSFER | STAGE_COMPUTE : STAGE_TRANSFER;
}

/** The write access of a batch's copies recorded with `scatter` (null: copy commands only). */
export function copyAccess(scatter: ScatterCopies | null): number {
  return scatter !== null ? ACCESS_TRANSFER_WRITE | ACCESS_SHADER_WRITE : ACCESS_TRANSFER_WRITE;
}

/** Where the scatter shader's SPIR-V is: build/shaders under the package root (scripts/setup.mjs compiles it). */
export function scatterShaderPath(): string {
  return join(packageRoot(), "build", "shaders", "scatter-copy.comp.spv");
}

/** The scatter of one manager's upload batches, bound to its staging ring. @internal */
export class ScatterCopies {
  /** Copies recorded by the shader since the manager was made. */
  copies = 0;
  readonly #native: NativeAddon;
  readonly #ring: UploadRing;
  /** The ring block and offset of the table rows reserved for this recording, and how many rows are left. */
  #tableBuffer = 0;
  #tableOffset = 0;
  #rows = 0;
  /** The buffer copies of the recording: copies [first, count) are all a later call can ask rows for. */
  #count = 0;

  private constructor(native: NativeAddon, ring: UploadRing) {
    this.#native = native;
    this.#ring = ring;
  }

  /**
   * The scatter for a manager over `context` and `allocator` whose uploads go through `ring`, or null where it cannot
   * run (see the module comment) or `enabled` (the manager's `scatterUploads`) is false, or undefined on a CPU device.
   * Makes the allocator's pipeline on the first call.
   * @throws VkError when the device refuses the shader or the pipeline.
   */
  static create(
    context: Context,
    allocator: Allocator,
    ring: UploadRing,
    enabled: boolean | undefined,
  ): ScatterCopies | null {
    if (!(enabled ?? context.deviceType !== "cpu") || !context.features.bufferDeviceAddress) return null;
    if ((allocator.flags & ALLOCATOR_FLAGS.BUFFER_DEVICE_ADDRESS) === 0) return null;
    if ((context.queueFlags & QUEUE_COMPUTE) === 0) return null;
    const file = scatterShaderPath();
    if (!existsSync(file)) return null;
    const spirv = new Uint8Array(readFileSync(file));
    if (!allocator._native.createScatterPipeline(allocator._handle, spirv)) return null;
    return new ScatterCopies(allocator._native, ring);
  }

  /**
   * Whether an upload of `size` bytes at `offset` is one the shader can copy (a multiple of 4 bytes at a multiple of
   * 4, at most 64 KiB). Such an upload into a buffer no queue has used stays on the main queue instead of taking a
   * dedicated transfer queue, which has no compute (transfers.ts): a level load's many small first uploads are then
   * scattered like any frame's.
   */
  takes(offset: number, size: number): boolean {
    return size <= SCATTER_MAX_BYTES && size % 4 === 0 && offset % 4 === 0;
  }

  /** Starts a recording of at most `copies` copies: the table is reserved when the first phase asks for it. */
  begin(copies: number): void {
    this.#rows = 0;
    this.#count = copies;
  }

  /**
   * Records copies [first, end) of `table` (a phase's, upload-batch.ts) into `cmd` as a dispatch, up to the first
   * that cannot be scattered; returns its index (`first` when the first cannot), or -1 when the staging ring has no
   * room for the table.
   */
  record(cmd: bigint, table: Float64Array, first: number, end: number): number {
    if (this.#rows < end - first) {
      // One reservation for the rest of the recording's copies, from this phase's first on.
      const rows = this.#count - first;
      const ring = this.#ring;
      if (!ring._allocateNow(rows * ROW_BYTES, ROW_ALIGN)) return -1;
      this.#tableBuffer = ring.block.allocation._handle;
      this.#tableOffset = ring.offset;
      this.#rows = rows;
    }
    const next = this.#native.cmdScatterCopies(cmd, table, first, end, this.#tableBuffer, this.#tableOffset);
    const done = next - first;
    if (done > 0) {
      this.#tableOffset += done * ROW_BYTES;
      this.#rows -= done;
      this.copies += done;
    }
    return next;
  }
}
