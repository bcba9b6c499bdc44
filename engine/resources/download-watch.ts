/**
 * Downloads settle on their own: how a {@link FrameManager} keeps pending downloads moving without the
 * application's help.
 *
 * A download's promise resolves once the fence of the submission that carries it has signaled. A later
 * `beginFrame()` or `waitIdle()` sees that, and so does the watch, which polls the fences (vkGetFenceStatus, never
 * blocking) on a timer while a submitted download is pending. The timer is ref'd: Node stays alive until the GPU
 * has finished what the promises wait for. A download queued between frames rides on the next frame; when no frame
 * has begun by the next turn of the event loop, the watch has the transfers submit it (with the uploads queued
 * before it) on its own, as Dawn's device tick flushes pending commands, and polls for that small submission.
 *
 * A download left in a frame that is begun and never ended cannot complete: when Node is about to exit with it
 * pending ('beforeExit', hooked only while a download is pending), it is rejected with an Error saying so, rather
 * than Node exiting silently (code 13). When a poll or a submission fails (device lost, out of memory), every pending
 * download is rejected with that error: none is left hanging. The manager's `destroy()` stops the watch, waits for
 * the submitted downloads and resolves them, and rejects those never submitted (engine/resources/readback.ts).
 * @internal
 * @module
 */
import type { FrameSlots } from "./frame-slots.js";
import type { Transfers } from "./transfers.js";

/** The download watch of one FrameManager, made by its constructor and stopped by its destroy(). @internal */
export class DownloadWatch {
  readonly #transfers: Transfers;
  readonly #slots: FrameSlots;
  /** The frame number of the frame being recorded, or -1 between frames. */
  readonly #openFrame: () => number;
  /** Whether the manager is still alive. */
  readonly #alive: () => boolean;
  /** "FrameManager 'label'", for the message of a download that cannot complete. */
  readonly #name: string;
  /** The timer of the next poll (null when none is armed). */
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Registered on process 'beforeExit' while downloads are pending. */
  #beforeExit: (() => void) | null = null;

  /** The callbacks are made once by the manager: the watch allocates nothing per frame. */
  constructor(transfers: Transfers, slots: FrameSlots, openFrame: () => number, alive: () => boolean, name: string) {
    this.#transfers = transfers;
    this.#slots = slots;
    this.#openFrame = openFrame;
    this.#alive = alive;
    this.#name = name;
  }

  /** Whether a download is pending (the 'beforeExit' hook is held): endFrame() then updates the watch. */
  get watching(): boolean {
    return this.#beforeExit !== null;
  }

  /**
   * Arms the poll when a submitted download waits for its fence, or when an unrecorded one waits between frames;
   * holds the 'beforeExit' hook while any is pending, and lets both go when none is.
   */
  update(): void {
    const t = this.#transfers;
    const submitted = t.submittedDownloads;
    const unrecorded = t.unrecordedDownloads;
    if (submitted + unrecorded === 0) {
      this.stop();
      return;
    }
    if (this.#beforeExit === null) {
      this.#beforeExit = () => this.#onBeforeExit();
      process.on("beforeExit", this.#beforeExit);
    }
    if (this.#timer === null && (submitted > 0 || this.#openFrame() < 0)) {
      this.#timer = setTimeout(() => this.#poll(), submitted > 0 ? 1 : 0);
    }
  }

  /** Disarms the poll and lets the 'beforeExit' hook go. */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#beforeExit !== null) process.off("beforeExit", this.#beforeExit);
    this.#beforeExit = null;
  }

  /** One poll: which fences have signaled (without blocking), what settles, and a submission of its own if needed. */
  #poll(): void {
    this.#timer = null;
    if (!this.#alive()) return;
    const t = this.#transfers;
    try {
      t.settleDownloads(this.#slots.poll());
      t.pollFlush();
      if (this.#openFrame() < 0 && t.unrecordedDownloads > 0) t.flushDownloads();
    } catch (error) {
      // Device lost or out of memory while submitting: every pending download is rejected, none left hanging.
      t.rejectUnrecorded(error);
      t.abandonSubmitted(error);
    }
    this.update();
  }

  /** Node is about to exit with downloads pending: finish them, or reject those that never can complete. */
  #onBeforeExit(): void {
    if (!this.#alive()) return this.stop();
    const open = this.#openFrame();
    if (open >= 0 && this.#transfers.unrecordedDownloads > 0) {
      this.#transfers.rejectUnrecorded(
        new Error(
          `${this.#name}: download(s) queued in frame ${open}, which was begun and never ended, cannot complete: call endFrame()`,
        ),
      );
    }
    this.#poll();
  }
}
