/**
 * UploadRing: persistently mapped buffers run as a ring, for data that lives one frame (staging copies, uniforms,
 * dynamic vertices).
 *
 * Each block is one VkBuffer in host-visible memory (device-local and host-visible where the device has such a type,
 * as discrete GPUs with resizable BAR do), mapped once for its whole life. Allocation is a bump of the block's head;
 * each submitted frame leaves a marker (its serial, the head after it, and the bytes it took, padding and wrap-around
 * waste included); when the fence of that serial has signaled, `retire()` moves the tail to the marker. The
 * invariants, and why they hold:
 *
 * - Nothing the GPU has not consumed is overwritten. Bytes handed out belong to the serial being recorded (the
 *   *pending* bytes); `endFrame(serial)` turns them into a marker; the space comes back only through `retire(c)` with
 *   `c` at least the marker's serial, and the manager passes only serials whose fences it saw signaled. Free space is
 *   `[head, capacity) + [0, tail)` before a wrap and `[head, tail)` after it; `used` (bytes not yet retired) tells a
 *   full ring (head === tail, used > 0) from an empty one.
 * - A request that does not fit never overwrites: the ring grows (a new, larger block; the old one keeps its markers
 *   and is freed when they have all retired), or, under the `wait` policy, the manager waits for the oldest frame
 *   first. When even that cannot make room (this frame alone filled the ring and it may not grow), `allocate`
 *   reports failure and the caller decides: staging uploads submit what they have and continue; transient
 *   allocations throw.
 * - On memory that is not host-coherent, every frame's bytes start on a nonCoherentAtomSize boundary, and
 *   `endFrame` flushes the atoms the frame wrote (VMA rounds the range outwards), so two frames never share an atom
 *   that one of them is still writing.
 * @module
 */
import { DestroyedResourceError, OutOfDeviceMemoryError, OutOfHostMemoryError } from "../errors.js";
import { argumentError, isIntegerIn } from "../checks.js";
import type { Allocation } from "../memory/allocation.js";
import type { Allocator } from "../memory/allocator.js";
import { MemoryPropertyFlags, MemoryUsage } from "../memory/usage.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { BUFFER_USAGE_DEVICE_ADDRESS, BUFFER_USAGE_RING } from "../vulkan/vk.js";
import { ALLOCATOR_FLAGS } from "../memory/allocator-options.js";

/** What happens when a frame needs more ring space than is free. */
export type RingPolicy = "grow" | "wait";

/** Options of an {@link UploadRing}. */
export interface UploadRingOptions {
  /** Bytes of the first block (default 4 MiB). */
  size?: number;
  /** The largest block the ring may grow to (default 64 MiB; equal to `size` forbids growing). */
  maxSize?: number;
  /**
   * `grow` (default): a full ring gets a new block twice as large (up to `maxSize`) at once, so nobody waits;
   * `wait`: first wait for the oldest frame in flight to retire its bytes, and grow only when that is not enough.
   */
  policy?: RingPolicy;
  /**
   * Where the blocks live: `device` (default) prefers device-local host-visible memory (ReBAR on discrete GPUs:
   * the GPU reads it fastest, the CPU writes it at about 9 GB/s a thread, 30 in all); `host` prefers plain host
   * memory, which several upload threads write faster (30-60 GB/s on the GPU machine) and the GPU reads over PCIe.
   * Large uploads copied by several threads go through a second ring in host memory either way, but for the pieces
   * copied while the GPU is behind on it, which go through this ring (staging-rings.ts).
   */
  memory?: RingMemory;
}

/** Where the blocks of an {@link UploadRing} live (see {@link UploadRingOptions.memory}). */
export type RingMemory = "device" | "host";

/** Counters of an {@link UploadRing} since it was made. */
export interface UploadRingStatistics {
  /** Bytes of the current block. */
  capacity: number;
  /** Blocks alive (the current one plus older ones still draining). */
  blocks: number;
  /** Bytes not yet retired in every block, padding included. */
  used: number;
  /** Allocations made. */
  allocations: number;
  /** Bytes handed out (without padding). */
  allocatedBytes: number;
  /** Times the head went back to offset 0. */
  wraps: number;
  /** Blocks added because the ring was full. */
  grows: number;
  /** Frames waited for because the ring was full (policy `wait`). */
  waits: number;
}

interface Marker {
  serial: number;
  end: number;
  bytes: number;
}

/** One block: a mapped VkBuffer and its ring state. */
export class RingBlock {
  // The byte offsets and counts start as 0.5 and are zeroed in the constructor, so that V8 keeps them doubles from
  // the first block on (newFrameStatistics, frame-statistics.ts, says why): the first wrap's arithmetic with
  // `capacity` (a double) made `used` and `pending` doubles mid-run, which replaced the map of every RingBlock and
  // deoptimized the functions that allocate from one.
  head = 0.5;
  tail = 0.5;
  used = 0.5;
  /** Bytes handed out for the serial being recorded. */
  pending = 0.5;
  /** Where the serial being recorded started (for flushing non-coherent memory). */
  frameStart = 0.5;
  /** Whether the serial being recorded wrapped around. */
  frameWrapped = false;
  readonly markers: Marker[] = [];
  /** The ArrayBuffer of `bytes`, read once: a typed array's `.buffer` is a call into V8's runtime each time. */
  readonly mapped: ArrayBuffer;
  constructor(
    readonly buffer: NvkHandle,
    readonly allocation: Allocation,
    readonly bytes: Uint8Array,
    readonly capacity: number,
  ) {
    this.head = this.tail = this.used = this.pending = this.frameStart = 0;
    this.mapped = bytes.buffer as ArrayBuffer;
  }

  /** Whether the ring has wrapped: the free space is [head, tail). */
  get wrapped(): boolean {
    return this.head < this.tail || (this.head === this.tail && this.used > 0);
  }
}

const MiB = 1024 * 1024;

/**
 * A ring of persistently mapped memory owned by a {@link FrameManager} (which creates it and destroys it).
 *
 * The result of {@link allocate} is left in `block` and `offset` (no object per call).
 */
export class UploadRing {
  readonly label: string;
  readonly policy: RingPolicy;
  readonly maxSize: number;
  readonly memory: RingMemory;
  /** Block of the last successful {@link allocate}. */
  block!: RingBlock;
  /** Offset in `block` of the last successful {@link allocate}. */
  offset = 0;
  readonly #allocator: Allocator;
  readonly #atom: number;
  readonly #blocks: RingBlock[] = [];
  #current!: RingBlock;
  #coherent = true;
  readonly #forceNonCoherent: boolean;
  #destroyed = false;
  #allocations = 0;
  #allocatedBytes = 0.5; // a double from the start (see RingBlock): it passes 2^31 in a long run; zeroed below
  #wraps = 0;
  #grows = 0;
  #waits = 0;
  readonly #waitOldest: (serial: number) => void;

  /**
   * @param waitOldest waits for the fence of `serial` and retires everything up to it (the manager's job).
   * @throws VkError when the first block cannot be created.
   */
  constructor(
    allocator: Allocator,
    label: string,
    nonCoherentAtomSize: number,
    options: Required<UploadRingOptions>,
    waitOldest: (serial: number) => void,
    /** Tests only: run the non-coherent path (flushes, atom-aligned frames) on coherent memory, where flushing is harmless. */
    forceNonCoherent = false,
  ) {
    this.#allocatedBytes = 0;
    this.#allocator = allocator;
    this.label = label;
    this.policy = options.policy;
    this.maxSize = options.maxSize;
    this.memory = options.memory;
    this.#atom = nonCoherentAtomSize;
    this.#waitOldest = waitOldest;
    this.#forceNonCoherent = forceNonCoherent;
    this.#current = this.#addBlock(options.size);
    this.block = this.#current;
  }

  /** The block new allocations come from (tools and benchmarks read its mapped `bytes`). */
  get currentBlock(): RingBlock {
    return this.#current;
  }

  /** Whether the memory is host-coherent (no flushes needed). */
  get coherent(): boolean {
    return this.#coherent;
  }

  get statistics(): UploadRingStatistics {
    return {
      capacity: this.#current.capacity,
      blocks: this.#blocks.length,
      used: this.used,
      allocations: this.#allocations,
      allocatedBytes: this.#allocatedBytes,
      wraps: this.#wraps,
      grows: this.#grows,
      waits: this.#waits,
    };
  }

  /** Counters that change every frame, read without building the statistics object. */
  get wraps(): number {
    return this.#wraps;
  }
  get grows(): number {
    return this.#grows;
  }
  get waits(): number {
    return this.#waits;
  }
  /** Bytes not yet retired, in every block. */
  get used(): number {
    let used = 0;
    for (const b of this.#blocks) used += b.used;
    return used;
  }

  #addBlock(size: number): RingBlock {
    // With device addresses, for the scatter of small copies (scatter-copies.ts), which reads its rows and bytes here.
    const address =
      (this.#allocator.flags & ALLOCATOR_FLAGS.BUFFER_DEVICE_ADDRESS) !== 0 ? BUFFER_USAGE_DEVICE_ADDRESS : 0;
    const { buffer, allocation } = this.#allocator.createBuffer(
      { size, usage: BUFFER_USAGE_RING | address },
      {
        usage: this.memory === "host" ? MemoryUsage.AutoPreferHost : MemoryUsage.Auto,
        hostAccess: "sequentialWrite",
        preferredFlags: this.memory === "host" ? 0 : MemoryPropertyFlags.DEVICE_LOCAL,
        mapped: true,
        name: `${this.label} ring block ${this.#blocks.length}`,
      },
    );
    const data = allocation.mappedData!;
    this.#coherent = !this.#forceNonCoherent && (allocation.memoryProperties & MemoryPropertyFlags.HOST_COHERENT) !== 0;
    const block = new RingBlock(buffer, allocation, new Uint8Array(data), size);
    this.#blocks.push(block);
    return block;
  }

  /**
   * Reserves `size` bytes aligned to `alignment` (a power of two) for the serial being recorded; on success leaves
   * the place in `block` / `offset` and returns true. May wait for older frames (policy `wait`) or grow.
   * Returns false when this frame's own bytes fill the ring and it may not grow further: the caller must not retry
   * without first retiring this frame's bytes ({@link releasePending}) or failing.
   */
  allocate(size: number, alignment: number): boolean {
    if (this.#destroyed) throw new DestroyedResourceError("UploadRing", this.label);
    if (!isIntegerIn(size, 1, Number.MAX_SAFE_INTEGER))
      argumentError("UploadRing.allocate", "size", "must be a positive integer number of bytes", size, RangeError);
    if (!isIntegerIn(alignment, 1, 2 ** 30) || (alignment & (alignment - 1)) !== 0)
      argumentError("UploadRing.allocate", "alignment", "must be a power of two", alignment, RangeError);
    return this._allocateChecked(size, alignment);
  }

  /**
   * @internal {@link allocate} for callers that checked `size` (a positive safe integer) and `alignment` (a power of
   * two up to 2^30) themselves: a FrameManager's transient allocations, a thousand a frame.
   */
  _allocateChecked(size: number, alignment: number): boolean {
    if (this.#destroyed) throw new DestroyedResourceError("UploadRing", this.label);
    if (this.#tryAllocate(this.#current, size, alignment)) return true;
    if (this.policy === "wait" && this.#waitForSpace(size, alignment)) return true;
    if (this.#grow(size) && this.#tryAllocate(this.#current, size, alignment)) return true;
    // At the maximum size: older frames' bytes are the only ones that can come back.
    return this.#waitForSpace(size, alignment);
  }

  /**
   * @internal {@link _allocateChecked} without waiting for older frames (it may grow): for what a recording adds to
   * its frame's bytes (the scatter's table, scatter-copies.ts), which must not wait in the middle of it.
   */
  _allocateNow(size: number, alignment: number): boolean {
    if (this.#destroyed) throw new DestroyedResourceError("UploadRing", this.label);
    if (this.#tryAllocate(this.#current, size, alignment)) return true;
    return this.#grow(size) && this.#tryAllocate(this.#current, size, alignment);
  }

  /** Waits for the oldest frames in turn until the request fits; false when no older frame holds bytes. */
  #waitForSpace(size: number, alignment: number): boolean {
    for (;;) {
      const serial = this.oldestPendingSerial();
      if (serial === 0) return false;
      this.#waits++;
      this.#waitOldest(serial);
      if (this.#tryAllocate(this.#current, size, alignment)) return true;
      // Nothing retired: the oldest bytes belong to a serial not submitted yet (a download-only submission between
      // frames carries the next frame's uploads under its serial). Waiting again would wait forever.
      if (this.oldestPendingSerial() === serial) return false;
    }
  }

  /** Adds a block twice as large (or large enough for `size`), up to maxSize; false when it may not. */
  #grow(size: number): boolean {
    const current = this.#current;
    if (current.capacity >= this.maxSize) return false;
    let next = current.capacity * 2;
    while (next < size) next *= 2;
    next = Math.min(next, this.maxSize);
    if (next < size) return false;
    try {
      this.#current = this.#addBlock(next);
    } catch (error) {
      // Out of memory (a heap limit, a full VRAM): waiting for older frames is the other way to make room.
      if (error instanceof OutOfDeviceMemoryError || error instanceof OutOfHostMemoryError) return false;
      throw error;
    }
    this.#grows++;
    return true;
  }

  #tryAllocate(b: RingBlock, size: number, alignment: number): boolean {
    if (b.used === 0) {
      b.head = 0;
      b.tail = 0;
      b.frameStart = 0;
      b.frameWrapped = false;
    }
    const mask = alignment - 1;
    let at = (b.head + mask) & ~mask;
    let taken: number;
    if (!b.wrapped) {
      if (at + size <= b.capacity) {
        taken = at + size - b.head;
      } else {
        if (size > b.tail) return false;
        at = 0;
        taken = b.capacity - b.head + size;
        this.#wraps++;
        b.frameWrapped = true;
      }
    } else {
      if (at + size > b.tail) return false;
      taken = at + size - b.head;
    }
    b.head = at + size;
    b.used += taken;
    b.pending += taken;
    this.block = b;
    this.offset = at;
    this.#allocations++;
    this.#allocatedBytes += size;
    return true;
  }

  /** The serial of the oldest frame still holding bytes, or 0 when none does. */
  oldestPendingSerial(): number {
    let oldest = 0;
    for (const b of this.#blocks) {
      const m = b.markers[0];
      if (m !== undefined && (oldest === 0 || m.serial < oldest)) oldest = m.serial;
    }
    return oldest;
  }

  /**
   * Closes the serial being recorded: its bytes become a marker under `serial`, and on non-coherent memory the
   * bytes written are flushed. Called by the manager right before it submits.
   */
  endFrame(serial: number): void {
    if (!isIntegerIn(serial, 0, Number.MAX_SAFE_INTEGER))
      argumentError("UploadRing.endFrame", "serial", "must be a non-negative safe integer", serial, RangeError);
    for (const b of this.#blocks) {
      if (b.pending === 0) continue;
      if (!this.#coherent) {
        this.#flushFrame(b);
        // Start the next frame on an atom boundary so that no atom holds bytes of two frames.
        const mask = this.#atom - 1;
        const aligned = Math.min((b.head + mask) & ~mask, b.capacity);
        if (!b.wrapped || aligned <= b.tail) {
          b.used += aligned - b.head;
          b.pending += aligned - b.head;
          b.head = aligned;
        }
      }
      b.markers.push({ serial, end: b.head, bytes: b.pending });
      b.pending = 0;
      b.frameStart = b.head;
      b.frameWrapped = false;
    }
  }

  #flushFrame(b: RingBlock): void {
    if (b.frameWrapped) {
      if (b.frameStart < b.capacity) b.allocation.flush(b.frameStart, b.capacity - b.frameStart);
      if (b.head > 0) b.allocation.flush(0, b.head);
    } else if (b.head > b.frameStart) {
      b.allocation.flush(b.frameStart, b.head - b.frameStart);
    }
  }

  /**
   * Gives back the bytes of the serial being recorded, once the GPU has consumed them through an early submission
   * that the caller waited for (staging uploads do this when one frame's uploads exceed the ring).
   */
  releasePending(): void {
    for (const b of this.#blocks) {
      if (b.pending === 0) continue;
      if (!this.#coherent) this.#flushFrame(b);
      b.used -= b.pending;
      b.pending = 0;
      b.tail = b.head;
      if (b.used === 0) b.head = b.tail = 0;
      b.frameStart = b.head;
      b.frameWrapped = false;
    }
  }

  /**
   * Flushes, without closing the frame, what the serial being recorded wrote so far (for an early submission on
   * non-coherent memory).
   */
  flushPending(): void {
    if (this.#coherent) return;
    for (const b of this.#blocks) if (b.pending > 0) this.#flushFrame(b);
  }

  /** Frees the bytes of every serial up to `completedSerial`, and the drained old blocks. */
  retire(completedSerial: number): void {
    if (!isIntegerIn(completedSerial, 0, Number.MAX_SAFE_INTEGER))
      argumentError(
        "UploadRing.retire",
        "completedSerial",
        "must be a non-negative safe integer",
        completedSerial,
        RangeError,
      );
    const blocks = this.#blocks;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      const markers = b.markers;
      let n = 0;
      while (n < markers.length && markers[n]!.serial <= completedSerial) {
        const m = markers[n]!;
        b.tail = m.end;
        b.used -= m.bytes;
        n++;
      }
      if (n > 0) markers.splice(0, n);
      if (b.used === 0) {
        b.head = b.tail = 0;
        b.frameStart = 0;
        if (b !== this.#current) {
          this.#allocator.destroyBuffer(b.buffer, b.allocation);
          blocks.splice(i, 1);
          i--;
        }
      }
    }
  }

  /** Frees every block. The caller has waited for the GPU. A second call does nothing. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const b of this.#blocks) if (!this.#allocator.destroyed) this.#allocator.destroyBuffer(b.buffer, b.allocation);
    this.#blocks.length = 0;
  }
}
