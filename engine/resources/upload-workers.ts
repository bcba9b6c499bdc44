/**
 * UploadWorkers: the native copy threads that large staging uploads use (native/upload_workers.cpp), and the
 * `uploadThreads` option of a FrameManager.
 *
 * One copy of the caller's bytes into the mapped staging ring runs on `threads` threads at once: the calling thread
 * and `threads - 1` workers, each taking chunks of the range in turn. A copy returns only when every thread has
 * finished it, so the workers never hold a pointer between calls: the ring's memory can be unmapped or freed, and
 * the caller's bytes changed, as soon as the call returns, exactly as after `Uint8Array.set`. A copy may also be
 * begun on the workers alone ({@link UploadWorkers.start}) and joined later ({@link UploadWorkers.finish}): the
 * pipelined upload below does so to submit one piece while the next is copied, and finishes before it returns.
 * With one thread no pool is made and uploads keep the plain path. The pool is bounded (at most 64 threads) and its
 * threads are joined by {@link UploadWorkers.destroy} (the manager's destroy()), or at the latest when the Node
 * environment exits.
 *
 * How engine/resources/transfers.ts uses them. A buffer upload of at least 1 MiB is copied into the ring by every
 * thread. Inside a frame, an upload larger than 8 MiB goes in 8 MiB pieces (the first 2 MiB, so that the GPU starts
 * sooner) through the bulk ring in host memory, or the main ring while the GPU is behind (staging-rings.ts), each
 * recorded and submitted (never waited for) once it is copied, so that the GPU copies one piece while the threads
 * copy the next: the workers begin piece k + 1 before the calling thread records and submits piece k, which then
 * joins them. A piece's command buffers are the current slot's and its staging bytes
 * stay the frame's: both come back after the frame's fence, which the queue signals after every earlier
 * submission. Whatever must wait for everything (an early submission when the ring is full, waitIdle, destroy)
 * first waits for the pieces with a fenced empty submission, so no buffer they write is freed and no command pool
 * reset while they run. Between frames no later fence is known to cover the slot, so there the copy is parallel but
 * submitted with the next frame. A piece submitted on the transfer queue hands the buffer to the main queue
 * (release and acquire, as for any batch); the rest goes on the main queue.
 *
 * Default thread count: the environment variable `VKMEM_UPLOAD_THREADS` when set, else min(8, cores - 1): one
 * thread (the old path) on a machine of two cores, 8 on the 16 cores of a GPU machine, where 8 threads saturate
 * writes into ReBAR memory.
 * @module
 */
import os from "node:os";
import { describeValue } from "../errors.js";

/** Uploads of at least this many bytes are copied by every upload thread (smaller ones are not worth waking them). */
export const PARALLEL_MIN_BYTES = 1 << 20;
import { native } from "../native.js";

/** The most threads a pool may have. */
export const MAX_UPLOAD_THREADS = 64;

/** The thread count used when no option asks for one (see the module comment). */
export function defaultUploadThreads(): number {
  const env = process.env.VKMEM_UPLOAD_THREADS;
  if (env !== undefined && env.trim() !== "") {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_UPLOAD_THREADS) return n;
  }
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, cores - 1));
}

/**
 * Checks the `uploadThreads` option of `op` and completes it (undefined: {@link defaultUploadThreads}).
 * @throws RangeError when it is not an integer in [1, 64], showing the value.
 * @internal
 */
export function uploadThreadsOption(op: string, value: unknown): number {
  if (value === undefined) return defaultUploadThreads();
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_UPLOAD_THREADS)
    throw new RangeError(
      `${op}: option 'uploadThreads' must be an integer from 1 to ${MAX_UPLOAD_THREADS}, got ${describeValue(value)}`,
    );
  return value;
}

/**
 * A pool of native copy threads. Made by the Transfers of a FrameManager when it has more than one upload thread;
 * destroyed by their destroy().
 */
export class UploadWorkers {
  /** Threads that copy, the caller's included (fewer than asked when the system refused to start some). */
  readonly threads: number;
  #id: number;

  /**
   * Starts `threads - 1` worker threads.
   * @throws RangeError when `threads` is not an integer in [1, 64].
   */
  constructor(threads: number) {
    this.#id = native.createUploadWorkers(threads);
    this.threads = native.uploadWorkerThreads(this.#id);
  }

  /** Whether {@link destroy} has run. */
  get destroyed(): boolean {
    return this.#id === 0;
  }

  /**
   * Copies `size` bytes of `src` from `srcOffset` into `dst` at `dstOffset`, on every thread; returns when all the
   * bytes are there. Both ranges must lie inside their arrays (checked natively: a RangeError otherwise).
   * @throws Error after {@link destroy}.
   */
  copy(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, size: number): void {
    native.uploadWorkersCopy(this.#id, dst, dstOffset, src, srcOffset, size);
  }

  /**
   * Begins the same copy as {@link copy} on the workers alone and returns at once, so that the calling thread can do
   * other work (submit the piece copied before) while they copy. The caller must call {@link finish} before anything
   * can change, unmap or free either range, and before it returns or throws: until then the workers hold pointers
   * into both arrays. A second start, a copy or destroy() first finishes the copy running.
   * @throws Error after {@link destroy}; RangeError for a range outside its array (nothing is begun).
   */
  start(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, size: number): void {
    native.uploadWorkersStart(this.#id, dst, dstOffset, src, srcOffset, size);
  }

  /** The calling thread joins the copy begun by {@link start}; returns when every byte is there. */
  finish(): void {
    native.uploadWorkersFinish(this.#id);
  }

  /** Stops and joins the threads (after the copy running, if any). A second call does nothing. */
  destroy(): void {
    if (this.#id === 0) return;
    native.destroyUploadWorkers(this.#id);
    this.#id = 0;
  }
}
