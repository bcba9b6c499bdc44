/**
 * StagingRings: the staging rings of a {@link FrameManager}'s transfers (engine/resources/transfers.ts).
 *
 * Every upload goes through the main ring, in the memory the manager's `stagingRing.memory` option names:
 * device-local host-visible memory by default (ReBAR on a discrete GPU), which the GPU reads fastest. A large upload
 * copied by several upload threads goes through a second ring in plain host memory instead, the bulk ring, made at
 * the first such upload. On the GPU machine the CPU writes ReBAR at about 30 GB/s however many threads write (the
 * limit of its writes over PCIe), but writes host memory at 30-60 GB/s with 8-16 threads, and the GPU then reads it
 * at 40-50 GB/s: so a 64 MiB upload in pieces (the CPU copying one while the GPU copies the one before) reaches
 * the GPU faster through host memory. It is also the memory VMA's documentation gives staging buffers. Small
 * uploads keep the main ring, whose copies cost the GPU less time.
 *
 * How fast the GPU reads host memory differs between hosts, though: on an H100 machine of the same kind it read it at
 * about 22 GB/s (bench uploads: 64 MiB from host memory in about 3 ms), while 8 threads wrote ReBAR there at 43 GB/s.
 * So the pieces of one upload do not all take the bulk ring: each goes through the main ring instead when the GPU
 * has fallen more than a piece behind the threads (transfers.ts: LAG_PIECES, checked with each piece's fence), which
 * the GPU copies without crossing the bus. Where the GPU keeps up, every piece takes the bulk ring as before (on
 * another H100 machine the same day: no piece left it, 29-33 GB/s either way).
 *
 * The bulk ring takes the main ring's size, maximum and policy. When the main ring is in host memory already, or the
 * bulk ring cannot be made, large uploads use the main ring. Both rings follow the same frames: what a frame
 * reserved in either is retired after that frame's fence, and an early submission gives back this frame's bytes of
 * both.
 * @internal
 * @module
 */
import type { Allocator } from "../memory/allocator.js";
import { UploadRing, type UploadRingOptions } from "./upload-ring.js";

/** The main and bulk staging rings of one manager's transfers. @internal */
export class StagingRings {
  /** The ring every upload but large threaded ones goes through (the manager's `stagingRing`). */
  readonly main: UploadRing;
  #bulk: UploadRing | null = null;
  /** The bulk ring could not be made once: large uploads use the main ring from then on. */
  #bulkRefused = false;
  readonly #allocator: Allocator;
  readonly #label: string;
  readonly #atom: number;
  readonly #options: Required<UploadRingOptions>;
  readonly #waitSerial: (serial: number) => void;

  /** @throws VkError when the main ring's first block cannot be created. */
  constructor(
    allocator: Allocator,
    label: string,
    nonCoherentAtomSize: number,
    options: Required<UploadRingOptions>,
    waitSerial: (serial: number) => void,
  ) {
    this.#allocator = allocator;
    this.#label = label;
    this.#atom = nonCoherentAtomSize;
    this.#options = options;
    this.#waitSerial = waitSerial;
    this.main = new UploadRing(allocator, `${label} staging`, nonCoherentAtomSize, options, waitSerial);
  }

  /** The bulk ring when it has been made, else null (tools and tests). */
  get bulk(): UploadRing | null {
    return this.#bulk;
  }

  /** The ring a large upload copied by several threads goes through: the bulk ring, made now when needed. */
  forLargeUpload(): UploadRing {
    if (this.#bulk !== null) return this.#bulk;
    if (this.main.memory === "host" || this.#bulkRefused) return this.main;
    try {
      this.#bulk = new UploadRing(
        this.#allocator,
        `${this.#label} bulk staging`,
        this.#atom,
        { ...this.#options, memory: "host" },
        this.#waitSerial,
      );
    } catch {
      // Out of host memory, most likely: the main ring can carry the upload as before.
      this.#bulkRefused = true;
      return this.main;
    }
    return this.#bulk;
  }

  /** Flushes this frame's bytes of each ring on memory that is not host-coherent. */
  flushPending(): void {
    if (!this.main.coherent) this.main.flushPending();
    if (this.#bulk !== null && !this.#bulk.coherent) this.#bulk.flushPending();
  }

  /** Gives back this frame's bytes of both rings (everything submitted has been waited for). */
  releasePending(): void {
    this.main.releasePending();
    this.#bulk?.releasePending();
  }

  /** Closes the frame being recorded in both rings, under `serial`. */
  endFrame(serial: number): void {
    this.main.endFrame(serial);
    this.#bulk?.endFrame(serial);
  }

  /** Retires what frames up to `completedSerial` held in both rings. */
  retire(completedSerial: number): void {
    this.main.retire(completedSerial);
    this.#bulk?.retire(completedSerial);
  }

  /** Frees both rings (the caller has waited for the GPU). */
  destroy(): void {
    this.main.destroy();
    this.#bulk?.destroy();
  }
}
