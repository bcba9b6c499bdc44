/**
 * Transfers: the staging uploads and readbacks of a {@link FrameManager}.
 *
 * An upload copies the caller's bytes into the staging ring at once and records nothing yet: it adds a copy to the
 * pending batch. `endFrame()` records the batch into command buffers that run before the frame's own command buffer,
 * so that the frame's commands see the data; downloads are recorded after the frame's commands, so that they see
 * what the frame wrote. The invariants, and why they hold:
 *
 * - Ordering. On the main queue the batch is one command buffer submitted in the same vkQueueSubmit as the frame,
 *   before it: a barrier at its start (every earlier command, ALL_COMMANDS / MEMORY_WRITE, before the copies) orders
 *   the copies after what earlier frames did with the same resources (write-after-read and write-after-write), and a
 *   barrier at its end (TRANSFER_WRITE before every later access) makes the data visible to the frame; with the
 *   scatter of small copies (scatter-copies.ts), both name its compute stage and SHADER_WRITE too. Images go from
 *   their tracked layout to TRANSFER_DST_OPTIMAL and then to SHADER_READ_ONLY_OPTIMAL in those same barriers.
 * - The dedicated transfer queue. When the device has a transfer-only queue family, a resource (or an image
 *   subresource) that no queue has used yet is written there: its contents are undefined, so the transfer queue may
 *   take it without an ownership transfer (a buffer's small upload that the scatter can take stays on the main queue,
 *   which has compute: scatter-copies.ts). Its copies are followed by a release barrier to the main family, the
 *   main queue's batch starts with the matching acquire barrier (same range, same layouts), and the main submission
 *   waits on a semaphore the transfer submission signals. Anything the main queue already owns is uploaded on the
 *   main queue, which needs no transfer of ownership; so does any image upload that does not cover a whole
 *   subresource in one piece (a transfer queue's image granularity may forbid partial regions).
 * - Ring space. Staging bytes belong to the frame whose submission carries the copy; the ring frees them after that
 *   frame's fence. When one frame's uploads exceed the ring (and it may not grow), the batch so far is submitted at
 *   once with a fence of its own, waited for, and the ring's bytes of this frame are given back; uploads larger
 *   than the ring are split into pieces (whole rows for images) that go through it one after the other.
 * - Large uploads past one core: copied by native threads, and inside a frame submitted in pieces while the next
 *   piece is copied, never waited for; the rules that keep that safe are in upload-workers.ts. Inside a frame they
 *   go through the bulk ring, in host memory, but while the GPU is behind through the main ring (staging-rings.ts
 *   says why); a fence of each piece's submission tells which (transfer-commands.ts), and is never waited for.
 * - Readback. Downloads are recorded after the frame's commands, into the frame's own command buffer, and settle
 *   after its fence (engine/resources/readback.ts states their rules). A download queued between frames, when the
 *   manager finds no frame coming (engine/resources/download-watch.ts), is submitted on its own:
 *   {@link Transfers.flushDownloads} records the pending upload batch and the downloads into one command buffer
 *   of the current slot and submits it with a fence of its own, which {@link Transfers.pollFlush} checks without
 *   blocking. Its staging bytes stay with the serial of the next frame (they are retired after that frame's fence,
 *   which the queue signals after this submission's), and the slot's command pool is not reset before its fence:
 *   {@link Transfers.waitFlush} waits for it first.
 *
 * The command buffers all of this is recorded into, and the transfer queue's pools and semaphores, are each slot's
 * (engine/resources/transfer-commands.ts); the copies waiting for each queue are an upload batch (upload-batch.ts).
 * @module
 */
import { check } from "../errors.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import { mipExtent, regionBytes } from "../vulkan/formats.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import {
  ACCESS_MEMORY_READ,
  ACCESS_MEMORY_WRITE,
  ACCESS_SHADER_READ,
  ACCESS_TRANSFER_WRITE,
  LAYOUT_SHADER_READ,
  LAYOUT_TRANSFER_DST,
  NO_TIMEOUT,
  QUEUE_FAMILY_IGNORED,
  STAGE_ALL,
  STAGE_BOTTOM,
  STAGE_TOP,
  STAGE_TRANSFER,
  VK_SUCCESS,
  BUFFER_USAGE_DEVICE_ADDRESS,
} from "../vulkan/vk.js";
import { BufferBarriers, ImageBarriers } from "./barriers.js";
import type { Buffer } from "./buffer.js";
import type { ImageRegion } from "./image-region.js";
import { FLUSHED, Readbacks } from "./readback.js";
import { Owner } from "./resource.js";
import type { Texture } from "./texture.js";
import { TransferCommands } from "./transfer-commands.js";
import { Batch } from "./upload-batch.js";
import type { UploadRing, UploadRingOptions } from "./upload-ring.js";
import { PARALLEL_MIN_BYTES, UploadWorkers } from "./upload-workers.js";
import { inPlaceLimit, writeInPlace } from "./in-place-upload.js";
import { StagingRings } from "./staging-rings.js";
import { copyAccess, copyStages, SCATTER_MIN_COPIES, ScatterCopies } from "./scatter-copies.js";

/** Large uploads inside a frame go in pieces of this size (see the module comment)... */
const PIECE_BYTES = 8 << 20;
/** ...but the first, which the GPU waits for with nothing else to copy. */
const FIRST_PIECE_BYTES = 2 << 20;
/** A piece takes the main ring when the GPU has not run the piece submitted this many before the last (#stage). */
const LAG_PIECES = 1;

/** Counters of uploads and downloads. */
export interface TransferStatistics {
  /** `upload()` and `uploadImage()` calls that copied something (in place or through staging). */
  uploads: number;
  /** Bytes they copied. */
  uploadedBytes: number;
  /** Uploads that went through the dedicated transfer queue. */
  transferQueueUploads: number;
  /** Uploads written straight into a persistently mapped buffer, without a copy (FrameManager.upload). */
  uploadsInPlace: number;
  /** `download()` and `downloadImage()` calls. */
  downloads: number;
  /** Batches submitted early because one frame's uploads filled the staging ring. */
  earlySubmits: number;
  /** Pieces of large uploads submitted as soon as they were copied, without waiting (see the module comment). */
  uploadPieces: number;
  /** Pieces of large uploads staged in the main ring, not the bulk ring, the GPU being behind (module comment). */
  uploadPiecesInMainRing: number;
  /** Staging copies recorded by the scatter shader instead of copy commands (scatter-copies.ts). */
  uploadCopiesScattered: number;
  /** Threads that copy large uploads into the staging ring (1: the calling thread only). */
  uploadThreads: number;
}

/**
 * The uploads and downloads of one FrameManager: made by its constructor, destroyed by its destroy(). See the module
 * comment. @internal
 */
export class Transfers {
  readonly staging: UploadRing;
  /** The main ring (`staging`) and the bulk ring that large threaded uploads go through (staging-rings.ts). */
  readonly #rings: StagingRings;
  readonly dedicatedQueue: boolean;
  readonly #context: Context;
  readonly #allocator: Allocator;
  readonly #device: NvkHandle;
  readonly #label: string;
  readonly #main = new Batch();
  readonly #transfer = new Batch();
  /** The downloads queued and not settled. */
  readonly readbacks: Readbacks;
  /** Acquires the main queue owes the transfer queue's releases, recorded at the start of its next batch. */
  readonly #acquireBuffers: Buffer[] = [];
  readonly #acquireImages: { texture: Texture; sub: number }[] = [];
  /** The command buffers of each frame slot, and the transfer queue's pools and semaphores. */
  readonly #commands: TransferCommands;
  /** The image barriers of the recording (kept and reused: barriers.ts). */
  readonly #barriers = new ImageBarriers();
  /** The buffers' barriers of the transfer queue's release and the main queue's acquire. */
  readonly #bufferBarriers: BufferBarriers;
  readonly #copyAlign: number;
  /** The fence of the download-only submission (flushDownloads), made on first use. */
  #downloadFence: NvkHandle | null = null;
  /** The slot whose command pool holds that submission's command buffer while it may run, else -1. */
  #flushSlot = -1;
  #uploads = 0;
  // A double from the start (0.5, zeroed in the constructor): it passes 2^31 after 2 GiB of uploads, and a field
  // that turns from small integers into doubles mid-run deoptimizes what was optimized for this object
  // (newFrameStatistics, frame-statistics.ts).
  #uploadedBytes = 0.5;
  #transferQueueUploads = 0;
  #uploadsInPlace = 0;
  /** Uploads from this size into DEVICE_LOCAL memory are staged rather than written in place (in-place-upload.ts). */
  readonly #inPlaceLimit: number;
  #earlySubmits = 0;
  #pieces = 0;
  #piecesInMainRing = 0;
  /** The scatter of small copies (scatter-copies.ts); null where it cannot run or the manager's option is false. */
  readonly #scatter: ScatterCopies | null = null;
  /** The copy threads of large uploads; null with one upload thread (every copy on the calling thread). */
  readonly #workers: UploadWorkers | null;
  /** Between beginSlot() and submitted(): a frame is being recorded, whose fence will cover early pieces. */
  #inFrame = false;
  /** Pieces were submitted in this frame and not waited for: an early submission must wait for them too. */
  #piecesInFlight = false;

  constructor(
    context: Context,
    allocator: Allocator,
    label: string,
    slotPools: readonly NvkHandle[],
    ring: Required<UploadRingOptions>,
    waitSerial: (serial: number) => void,
    uploadThreads = 1,
    scatterUploads?: boolean,
  ) {
    this.#uploadedBytes = 0;
    this.#context = context;
    this.#allocator = allocator;
    this.#device = context.device;
    this.#label = label;
    this.readbacks = new Readbacks(allocator, label);
    this.dedicatedQueue = context.transferQueueFamilyIndex !== context.queueFamilyIndex;
    this.#copyAlign = 2 ** Math.ceil(Math.log2(Math.max(16, context.properties.optimalBufferCopyOffsetAlignment)));
    this.#inPlaceLimit = inPlaceLimit(context);
    this.#commands = new TransferCommands(context, allocator, label, slotPools, this.dedicatedQueue);
    this.#bufferBarriers = new BufferBarriers(context.transferQueueFamilyIndex, context.queueFamilyIndex);
    let rings: StagingRings | null = null;
    try {
      rings = new StagingRings(allocator, label, context.properties.nonCoherentAtomSize, ring, waitSerial);
      this.#scatter = ScatterCopies.create(context, allocator, rings.main, scatterUploads);
    } catch (error) {
      rings?.destroy();
      this.#commands.destroy();
      throw error;
    }
    this.#rings = rings;
    this.staging = rings.main;
    this.#workers = uploadThreads > 1 ? new UploadWorkers(uploadThreads) : null;
  }

  /** Usage the manager adds to its buffers' for the scatter of uploads: SHADER_DEVICE_ADDRESS, or 0 without it. */
  get bufferUsage(): number {
    return this.#scatter !== null ? BUFFER_USAGE_DEVICE_ADDRESS : 0;
  }

  /** Threads that copy large uploads into the staging ring (1: the calling thread only). */
  get uploadThreads(): number {
    return this.#workers?.threads ?? 1;
  }

  get statistics(): TransferStatistics {
    return {
      uploads: this.#uploads,
      uploadedBytes: this.#uploadedBytes,
      transferQueueUploads: this.#transferQueueUploads,
      uploadsInPlace: this.#uploadsInPlace,
      downloads: this.readbacks.count,
      earlySubmits: this.#earlySubmits,
      uploadPieces: this.#pieces,
      uploadPiecesInMainRing: this.#piecesInMainRing,
      uploadCopiesScattered: this.#scatter?.copies ?? 0,
      uploadThreads: this.uploadThreads,
    };
  }
  get earlySubmits(): number {
    return this.#earlySubmits;
  }

  /** Whether anything is waiting to be recorded. */
  get pending(): boolean {
    return (
      !this.#main.empty || !this.#transfer.empty || this.#acquireBuffers.length > 0 || this.#acquireImages.length > 0
    );
  }

  /** The slot whose command buffers the next recording uses; its pools were reset after its fence. */
  beginSlot(index: number): void {
    this.#commands.beginSlot(index);
    this.#inFrame = true;
  }

  // ------------------------------------------------------------------ uploads

  /**
   * Writes `bytes` into `buffer` at `offset` in place when its last use is complete (`completedSerial`) and
   * in-place-upload.ts says so, and returns true; else queues a copy from the staging ring and returns false (the
   * caller then marks the buffer used by the frame). Arguments are checked by the manager.
   */
  upload(buffer: Buffer, bytes: Uint8Array, offset: number, completedSerial: number): boolean {
    const inPlace =
      buffer.lastUsedSerial <= completedSerial &&
      writeInPlace(buffer, bytes, offset, this.#workers, this.#inPlaceLimit);
    if (inPlace) this.#uploadsInPlace++;
    else this.#stage(buffer, bytes, offset);
    this.#uploads++;
    this.#uploadedBytes += bytes.length;
    return inPlace;
  }

  /** Queues the copies of an upload from the staging ring (in pieces, on the threads, as its size wants). */
  #stage(buffer: Buffer, bytes: Uint8Array, offset: number): void {
    let viaTransfer = this.dedicatedQueue && buffer._owner !== Owner.Main;
    if (viaTransfer && buffer._owner === Owner.None && this.#scatter?.takes(offset, bytes.length) === true) {
      buffer._owner = Owner.Main; // a small first upload the scatter takes: the main queue (scatter-copies.ts)
      viaTransfer = false;
    }
    let batch = viaTransfer ? this.#transfer : this.#main;
    let done = 0;
    const total = bytes.length;
    const workers = this.#workers;
    const parallel = workers !== null && total >= PARALLEL_MIN_BYTES;
    const pipelined = parallel && this.#inFrame && total > PIECE_BYTES;
    let chunk = Math.min(total, pipelined ? FIRST_PIECE_BYTES : this.staging.maxSize);
    const bulk = pipelined ? this.#rings.forLargeUpload() : this.staging;
    const spill = bulk !== this.staging;
    while (done < total) {
      const want = Math.min(chunk, total - done);
      // The bulk ring, unless the GPU is more than LAG_PIECES behind (it reads the bulk ring's host memory slower
      // than the threads write it, and copies the main ring's without crossing the bus: staging-rings.ts) and the
      // main ring has room without waiting.
      let ring = bulk;
      if (spill && this.#commands.piecesBehind(LAG_PIECES) && this.staging._allocateNow(want, this.#copyAlign))
        ring = this.staging;
      else if (!this.#reserve(want, this.#copyAlign, bulk)) {
        if (want === 1) throw new RangeError(`${this.#label}: the staging ring cannot hold a single byte`);
        chunk = Math.max(1, chunk >>> 1);
        continue;
      }
      const block = ring.block;
      const at = ring.offset;
      if (ring !== bulk) this.#piecesInMainRing++;
      if (pipelined && done > 0) {
        // The workers copy this piece while this thread submits the one before; it then joins them.
        workers.start(block.bytes, at, bytes, done, want);
        try {
          this.#submitPiece();
        } finally {
          workers.finish();
        }
      } else if (parallel && want >= PARALLEL_MIN_BYTES) workers.copy(block.bytes, at, bytes, done, want);
      else block.bytes.set(done === 0 && want === total ? bytes : bytes.subarray(done, done + want), at);
      // A submission on the way (an early one, or a piece) handed the buffer to the main queue: the rest goes there.
      if (batch === this.#transfer && buffer._owner === Owner.Main) batch = this.#main;
      const dstOffset = offset + done;
      const phase = batch.phaseForBuffer(buffer, dstOffset, dstOffset + want);
      batch.addBufferCopy(phase, block.buffer, block.allocation._handle, buffer, at, dstOffset, want);
      if (batch === this.#transfer && !batch.buffers.has(buffer)) {
        batch.buffers.add(buffer);
        buffer._owner = Owner.Transfer;
      }
      done += want;
      if (pipelined && chunk === FIRST_PIECE_BYTES) chunk = PIECE_BYTES;
    }
    if (viaTransfer) this.#transferQueueUploads++;
  }

  /** Queues a copy of `bytes` (tightly packed rows) into a region of one subresource of `texture`. */
  uploadImage(texture: Texture, bytes: Uint8Array, r: Required<ImageRegion>): void {
    const sub = r.mipLevel * texture.arrayLayers + r.arrayLayer;
    const info = texture.formatInfo;
    const whole =
      r.x === 0 &&
      r.y === 0 &&
      r.width === mipExtent(texture.width, r.mipLevel) &&
      r.height === mipExtent(texture.height, r.mipLevel);
    const rowBytes = regionBytes(info, r.width, info.blockHeight);
    const rows = Math.ceil(r.height / info.blockHeight);
    const align = Math.max(this.#copyAlign, info.blockBytes);
    const owner = texture._owners[sub]!;
    const viaTransfer = this.dedicatedQueue && whole && owner !== Owner.Main && bytes.length <= this.staging.maxSize;
    if (viaTransfer && this.staging.allocate(bytes.length, align)) {
      this.#queueImageCopy(this.#transfer, texture, sub, r, this.staging.offset, 0, r.height, bytes, 0);
      texture._owners[sub] = Owner.Transfer;
      this.#transferQueueUploads++;
    } else {
      if (owner === Owner.Transfer) {
        // Written by the transfer queue in this batch: the main queue must not touch it before the acquire.
        this.#submitEarly();
      }
      let row = 0;
      let rowsPerChunk = Math.max(1, Math.min(rows, Math.floor(this.staging.maxSize / rowBytes)));
      while (row < rows) {
        const n = Math.min(rowsPerChunk, rows - row);
        if (!this.#reserve(n * rowBytes, align)) {
          if (rowsPerChunk === 1)
            throw new RangeError(
              `${this.#label}: the staging ring (max ${this.staging.maxSize} bytes) cannot hold one row of ${rowBytes} bytes of texture '${texture.label}'`,
            );
          rowsPerChunk = Math.max(1, rowsPerChunk >>> 1);
          continue;
        }
        const y = r.y + row * info.blockHeight;
        const h = Math.min(n * info.blockHeight, r.y + r.height - y);
        this.#queueImageCopy(
          this.#main,
          texture,
          sub,
          r,
          this.staging.offset,
          y,
          h,
          bytes,
          row * rowBytes,
          n * rowBytes,
        );
        row += n;
      }
      texture._owners[sub] = Owner.Main;
    }
    this.#uploads++;
    this.#uploadedBytes += bytes.length;
  }

  #queueImageCopy(
    batch: Batch,
    texture: Texture,
    sub: number,
    r: Required<ImageRegion>,
    at: number,
    y: number,
    height: number,
    bytes: Uint8Array,
    from: number,
    size = bytes.length,
  ): void {
    const block = this.staging.block;
    block.bytes.set(from === 0 && size === bytes.length ? bytes : bytes.subarray(from, from + size), at);
    let subs = batch.touched.get(texture);
    if (subs === undefined) batch.touched.set(texture, (subs = new Map()));
    if (!subs.has(sub)) subs.set(sub, texture._layouts[sub]!);
    const cy = batch === this.#transfer ? r.y : y;
    const ch = batch === this.#transfer ? r.height : height;
    const phase = batch.phaseForImage(texture, sub, r.x, cy, r.x + r.width, cy + ch);
    batch.imageCopies.push({
      phase,
      src: block,
      dst: texture,
      srcOffset: at,
      sub,
      mip: r.mipLevel,
      layer: r.arrayLayer,
      x: r.x,
      y: cy,
      width: r.width,
      height: ch,
    });
  }

  /**
   * Reserves `size` bytes of `ring` (left in its `block` / `offset`); when the ring is full of this frame's bytes,
   * submits what is pending early and tries again. False when the request does not fit even in the emptied
   * ring: the caller splits it. `alignment` is a power of two (the copy alignment, made one, or a format's block).
   */
  #reserve(size: number, alignment: number, ring = this.staging): boolean {
    while (!ring._allocateChecked(size, alignment)) {
      if (!this.#submitEarly()) return false;
    }
    return true;
  }

  /**
   * Submits what is pending now, with a fence of its own, waits for it and gives back this frame's staging bytes.
   * Returns false when there was nothing to submit.
   */
  #submitEarly(): boolean {
    // Pieces of a large upload already submitted hold ring bytes of this frame too: waiting for them frees those.
    if (!this.pending && !this.#piecesInFlight) return false;
    const { transferCmd, mainCmd } = this.record();
    const semaphore = transferCmd !== null ? this.submitTransfer(transferCmd) : null;
    this.#commands.submitAndWait(mainCmd, semaphore);
    this.#piecesInFlight = false;
    this.#rings.releasePending();
    this.#earlySubmits++;
    return true;
  }

  /**
   * Submits what is pending now without waiting (a piece of a large upload, inside a frame): the GPU copies it while
   * the CPU copies the next piece. Its command buffers are the current slot's, and its staging bytes stay the
   * frame's; both come back after the frame's fence, which the queue signals after this submission.
   */
  #submitPiece(): void {
    const { transferCmd, mainCmd } = this.record();
    const semaphore = transferCmd !== null ? this.submitTransfer(transferCmd) : null;
    this.#commands.submitPiece(mainCmd, semaphore);
    this.#pieces++;
    this.#piecesInFlight = true;
  }

  // ------------------------------------------------------------------ recording

  /**
   * Records the pending batches into command buffers of the current slot (ended, ready to submit) and clears them.
   * `transferCmd` (dedicated transfer queue only) must be submitted first and signal {@link semaphore}; `mainCmd`
   * goes first in the main queue's submission, which waits on that semaphore.
   */
  record(): { transferCmd: NvkHandle | null; mainCmd: NvkHandle | null } {
    let transferCmd: NvkHandle | null = null;
    let mainCmd: NvkHandle | null = null;
    const fi = this.#context.transferQueueFamilyIndex;
    const mi = this.#context.queueFamilyIndex;
    const barriers = this.#barriers;
    const allocator = this.#allocator;
    if (!this.#transfer.empty) {
      const b = this.#transfer;
      transferCmd = this.#commands.begin(true);
      b.addLayoutBarriers(barriers, true, QUEUE_FAMILY_IGNORED, QUEUE_FAMILY_IGNORED);
      barriers.record(allocator, transferCmd, STAGE_TOP, STAGE_TRANSFER, false, 0, 0);
      b.recordCopies(transferCmd, null);
      // The release to the main queue's family: the images' barriers, then the buffers' (same stages).
      b.addLayoutBarriers(barriers, false, fi, mi);
      barriers.record(allocator, transferCmd, STAGE_TRANSFER, STAGE_BOTTOM, false, 0, 0);
      for (const buf of b.buffers) this.#bufferBarriers.add(buf);
      this.#bufferBarriers.record(allocator, transferCmd, STAGE_TRANSFER, STAGE_BOTTOM, ACCESS_TRANSFER_WRITE, 0);
      this.#commands.end(transferCmd);
      for (const buf of b.buffers) {
        this.#acquireBuffers.push(buf);
        buf._owner = Owner.Main;
      }
      for (const [texture, subs] of b.touched) {
        for (const sub of subs.keys()) {
          this.#acquireImages.push({ texture, sub });
          texture._layouts[sub] = LAYOUT_SHADER_READ;
          texture._owners[sub] = Owner.Main;
        }
      }
      b.clear();
    }
    const m = this.#main;
    if (!m.empty || this.#acquireBuffers.length > 0 || this.#acquireImages.length > 0) {
      mainCmd = this.#commands.begin(false);
      if (this.#acquireBuffers.length > 0) {
        for (const buf of this.#acquireBuffers) this.#bufferBarriers.add(buf);
        const access = ACCESS_MEMORY_READ | ACCESS_MEMORY_WRITE;
        this.#bufferBarriers.record(allocator, mainCmd, STAGE_ALL, STAGE_ALL, 0, access);
        this.#acquireBuffers.length = 0;
      }
      if (this.#acquireImages.length > 0) {
        for (const { texture, sub } of this.#acquireImages)
          barriers.add(texture, sub, LAYOUT_TRANSFER_DST, LAYOUT_SHADER_READ, 0, ACCESS_SHADER_READ, fi, mi);
        barriers.record(allocator, mainCmd, STAGE_ALL, STAGE_ALL, false, 0, 0);
        this.#acquireImages.length = 0;
      }
      if (!m.empty) {
        // Before the copies: every subresource they write into TRANSFER_DST, and the buffers' earlier writes. The
        // scatter's copies are the compute stage's shader writes.
        m.addLayoutBarriers(barriers, true, QUEUE_FAMILY_IGNORED, QUEUE_FAMILY_IGNORED);
        const buffers = m.bufferCopyCount > 0;
        const scatter = m.bufferCopyCount >= SCATTER_MIN_COPIES ? this.#scatter : null;
        const [stage, write] = [copyStages(scatter), copyAccess(scatter)];
        barriers.record(allocator, mainCmd, STAGE_ALL, stage, buffers, ACCESS_MEMORY_WRITE, write);
        m.recordCopies(mainCmd, scatter);
        m.addLayoutBarriers(barriers, false, QUEUE_FAMILY_IGNORED, QUEUE_FAMILY_IGNORED);
        barriers.record(allocator, mainCmd, stage, STAGE_ALL, buffers, write, ACCESS_MEMORY_READ | ACCESS_MEMORY_WRITE);
        for (const [texture, subs] of m.touched)
          for (const sub of subs.keys()) texture._layouts[sub] = LAYOUT_SHADER_READ;
        m.clear();
      }
      this.#commands.end(mainCmd);
    }
    this.#rings.flushPending();
    return { transferCmd, mainCmd };
  }

  /**
   * Submits `transferCmd` (from {@link record}) to the dedicated transfer queue, signaling the current slot's
   * semaphore, and returns that semaphore: the main queue's submission must wait on it (at ALL_COMMANDS) before
   * the acquire barriers run.
   */
  submitTransfer(transferCmd: NvkHandle): NvkHandle {
    return this.#commands.submitSignaling(transferCmd);
  }

  // ------------------------------------------------------------------ downloads

  /** Queues a readback of `size` bytes of `buffer` from `offset`, recorded at the end of the carrying frame. */
  download(buffer: Buffer, offset: number, size: number): Promise<Uint8Array> {
    return this.readbacks.queue(buffer, size, offset, null);
  }

  /** Queues a readback of a region of one subresource of `texture` (tightly packed rows). */
  downloadImage(texture: Texture, r: Required<ImageRegion>): Promise<Uint8Array> {
    const size = regionBytes(texture.formatInfo, r.width, r.height);
    return this.readbacks.queue(texture, size, 0, r);
  }

  /** Records the downloads not yet recorded at the end of `cmd` (the frame's own command buffer), under `serial`. */
  recordDownloads(cmd: NvkHandle, serial: number): void {
    this.readbacks.record(cmd, serial);
  }

  // ------------------------------------------------------------------ frame boundaries

  /** The batch recorded now is submitted under `serial`: the staging ring's bytes become that frame's. */
  submitted(serial: number): void {
    this.#rings.endFrame(serial);
    this.#inFrame = false;
    this.#piecesInFlight = false;
  }

  /** Frees what every serial up to `completedSerial` held and resolves their downloads. */
  retire(completedSerial: number): void {
    this.retireStaging(completedSerial);
    this.settleDownloads(completedSerial);
  }

  /** Frees the staging bytes of every serial up to `completedSerial`, in both rings. */
  retireStaging(completedSerial: number): void {
    this.#rings.retire(completedSerial);
  }

  /** Resolves the downloads of the frames up to `completedSerial` (their fences have signaled). */
  settleDownloads(completedSerial: number): void {
    this.readbacks.settle(completedSerial);
  }

  /** Downloads not recorded in any submission yet. */
  get unrecordedDownloads(): number {
    return this.readbacks.unrecorded;
  }

  /** Downloads recorded in a submission whose fence is not known signaled yet. */
  get submittedDownloads(): number {
    return this.readbacks.submitted;
  }

  /** Rejects every download not recorded yet with `error` (and frees its readback buffer). */
  rejectUnrecorded(error: unknown): void {
    this.readbacks.rejectUnrecorded(error);
  }

  /**
   * Rejects every submitted download with `error` (a fence or submission failed: it may never be seen complete);
   * a download-only submission is no longer waited for.
   */
  abandonSubmitted(error: unknown): void {
    this.readbacks.abandonSubmitted(error);
    this.#flushSlot = -1;
  }

  /**
   * Submits the pending upload batch and the unrecorded downloads on their own, between frames (see the module
   * comment), with the download fence. Does nothing while an earlier such submission may still run.
   */
  flushDownloads(): void {
    if (this.#flushSlot >= 0 || this.unrecordedDownloads === 0) return;
    const device = this.#device;
    if (this.#downloadFence === null) {
      const fence = new nvk.VkFence();
      check(nvk.vkCreateFence(device, new nvk.VkFenceCreateInfo(), null, fence), "vkCreateFence", this.#label);
      this.#downloadFence = fence;
    }
    const { transferCmd, mainCmd } = this.record();
    const cmd = this.#commands.begin(false);
    this.recordDownloads(cmd, FLUSHED);
    this.#commands.end(cmd);
    const semaphore = transferCmd !== null ? this.submitTransfer(transferCmd) : null;
    this.#commands.submit(mainCmd, cmd, semaphore, this.#downloadFence);
    this.#flushSlot = this.#commands.slot;
  }

  /** Whether a download-only submission may still run. */
  get flushing(): boolean {
    return this.#flushSlot >= 0;
  }

  /** Resolves the downloads of the download-only submission when its fence has signaled (never blocks). */
  pollFlush(): void {
    if (this.#flushSlot < 0) return;
    const status = nvk.vkGetFenceStatus(this.#device, this.#downloadFence!);
    if (status !== VK_SUCCESS) {
      check(status, "vkGetFenceStatus", this.#label);
      return;
    }
    this.#flushDone();
  }

  /**
   * Waits for the download-only submission when it used slot `index` (all slots when omitted), before that slot's
   * command pool is reset or destroyed, and resolves its downloads.
   */
  waitFlush(index?: number): void {
    if (index === undefined) this.#waitPieces();
    if (this.#flushSlot < 0 || (index !== undefined && index !== this.#flushSlot)) return;
    check(
      nvk.vkWaitForFences(this.#device, 1, [this.#downloadFence!], true, NO_TIMEOUT),
      "vkWaitForFences",
      this.#label,
    );
    this.#flushDone();
  }

  /**
   * Waits for the pieces of large uploads submitted in this frame (the manager waits for everything:
   * waitIdle, destroy), with an empty submission of the flush fence: the queue signals it after them. Their staging
   * bytes stay the frame's.
   */
  #waitPieces(): void {
    if (!this.#piecesInFlight) return;
    this.#piecesInFlight = false;
    this.#commands.submitAndWait(null, null);
  }

  #flushDone(): void {
    this.#flushSlot = -1;
    check(nvk.vkResetFences(this.#device, 1, [this.#downloadFence!]), "vkResetFences", this.#label);
    this.readbacks.settleFlushed();
  }

  /**
   * Frees everything: the staging ring, readback buffers, the transfer pools and semaphores. The caller has waited
   * for the GPU and retired what completed; a download-only submission is waited for here and its downloads
   * resolve. Downloads never submitted are rejected with DestroyedResourceError naming `cause` (the manager, or
   * the ancestor that destroyed it).
   */
  destroy(deviceAlive: boolean, cause: string): void {
    // No copy is ever in flight here (each returns complete), so the threads can go first, whatever else is gone.
    this.#workers?.destroy();
    this.#inFrame = false;
    if (deviceAlive) this.waitFlush();
    this.readbacks.destroy(deviceAlive && !this.#allocator.destroyed, cause);
    this.#main.clear();
    this.#transfer.clear();
    if (deviceAlive) this.#rings.destroy();
    if (deviceAlive) this.#destroyObjects();
  }

  #destroyObjects(): void {
    this.#commands.destroy();
    if (this.#downloadFence !== null) nvk.vkDestroyFence(this.#device, this.#downloadFence, null);
    this.#downloadFence = null;
  }
}
