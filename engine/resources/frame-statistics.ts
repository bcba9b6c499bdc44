/**
 * What a {@link FrameManager} counts: per frame ({@link FrameStatistics}, one new object per `beginFrame()`) and in
 * total since it was made ({@link FrameManagerStatistics}, built when asked for).
 *
 * A frame's statistics cover the time from its `beginFrame()` to the next `beginFrame()`: the manager writes into the
 * object of the latest frame only, and never into an older one, so an application may keep the objects it read. The
 * ring counters are totals kept by the rings themselves; a frame's share is the difference between their values when
 * it began and when it was submitted, read into two records made once (no object per frame). The manager counts
 * through {@link FrameCounters} and the `count*` functions, which add and nothing else: they run on per-call paths.
 * @module
 */
import type { ReleaseQueueStatistics } from "./release-queue.js";
import type { Transfers, TransferStatistics } from "./transfers.js";
import type { UploadRing, UploadRingStatistics } from "./upload-ring.js";

/**
 * What the manager did for one frame: from its `beginFrame()` until the next `beginFrame()`. A new object per frame;
 * the manager keeps writing into it until the next frame begins, and never after.
 */
export interface FrameStatistics {
  /** The frame's number (0 for the first). */
  readonly frameNumber: number;
  /** Its slot. */
  readonly index: number;
  /** Its serial. */
  readonly serial: number;
  /** 1 when `beginFrame()` had to wait for the GPU to finish the slot's previous frame, else 0. */
  backPressureWaits: number;
  /** Microseconds spent in that wait. */
  backPressureWaitUs: number;
  /** Destructions `beginFrame()` retired (their fence had signaled). */
  deferredRetired: number;
  /** Bytes those destructions freed (as declared to `destroyLater`). */
  deferredRetiredBytes: number;
  /**
   * CPU microseconds `beginFrame()` spent running those destructions (the VMA and Vulkan frees themselves, which
   * the application would pay without a manager, plus the queue's walk over them).
   */
  deferredRetireUs: number;
  /** `destroyLater()` calls during the frame that were queued for a fence. */
  deferredQueued: number;
  /** `destroyLater()` calls during the frame that destroyed at once (the last use was already complete). */
  deferredImmediate: number;
  /** CPU microseconds spent in `beginFrame()` (the back-pressure wait included). */
  beginFrameUs: number;
  /** CPU microseconds spent in `endFrame()` (0 until it has run). */
  endFrameUs: number;
  /** Buffers and textures created through the manager during the frame. */
  resourcesCreated: number;
  /** Buffers and textures destroyed (queued or at once) during the frame. */
  resourcesDestroyed: number;
  /** `upload()` and `uploadImage()` calls during the frame. */
  uploads: number;
  /** Bytes they copied. */
  uploadedBytes: number;
  /**
   * Of those `upload()` calls, the ones written straight into the buffer's persistently mapped memory: no staging
   * copy and no GPU command (FrameManager.upload says when).
   */
  uploadsInPlace: number;
  /** `allocateTransient()` calls during the frame. */
  transientAllocations: number;
  /** Bytes they handed out. */
  transientBytes: number;
  /** Times a ring (staging or transient) wrapped around during the frame. */
  ringWraps: number;
  /** Blocks added to a ring because it was full. */
  ringGrows: number;
  /** Frames waited for because a ring was full (policy `wait`). */
  ringWaits: number;
  /** Upload batches submitted early because one frame's uploads filled the staging ring. */
  earlySubmits: number;
  /** Bytes in use in the two rings when the frame was submitted (not yet retired, padding included). */
  ringUsedBytes: number;
}

/** Totals of a {@link FrameManager} since it was made. */
export interface FrameManagerStatistics {
  /** 2 or 3, as created. */
  readonly framesInFlight: number;
  /** Frames submitted. */
  readonly framesSubmitted: number;
  /** The serial of the last submission (0 before the first). */
  readonly submittedSerial: number;
  /** The highest serial known complete. */
  readonly completedSerial: number;
  /** Times `beginFrame()` had to wait for the GPU (the CPU was framesInFlight frames ahead). */
  readonly backPressureWaits: number;
  /** Microseconds spent in those waits. */
  readonly backPressureWaitUs: number;
  /** Destructions queued for a fence. */
  readonly deferredQueued: number;
  /** Destructions run at once by `destroyLater` (last use already complete). */
  readonly deferredImmediate: number;
  /** Queued destructions that have run. */
  readonly deferredRetired: number;
  /** Queued destructions still waiting. */
  readonly deferredPending: number;
  /** Bytes of the destructions still waiting (as declared to `destroyLater`). */
  readonly deferredPendingBytes: number;
  /** CPU microseconds spent in `beginFrame()`, waits included. */
  readonly beginFrameUs: number;
  /** CPU microseconds spent in `endFrame()`. */
  readonly endFrameUs: number;
  /** Buffers and textures created through the manager, and destroyed. */
  readonly resourcesCreated: number;
  readonly resourcesDestroyed: number;
  /** Uploads, readbacks and their queues. */
  readonly transfers: TransferStatistics;
  /** The staging ring. */
  readonly stagingRing: UploadRingStatistics;
  /** The transient ring. */
  readonly transientRing: UploadRingStatistics;
}

/**
 * A new frame's statistics, every counter 0.
 *
 * The fields that take fractions (microseconds) or byte counts are made holding 0.5 and then zeroed, so that V8
 * keeps them as doubles from the first record on. V8 gives a field the representation of the first value stored in
 * it; a later value of another kind (a fraction, or a whole number past 2^31, in a field that held only small
 * integers) replaces the map of every record of the shape and deoptimizes each function optimized for it. A frame's
 * statistics are a new record every frame, counted into from most of the manager: in `bench frame` the transient
 * ring's first wrap (frame 50 or so) made `ringUsedBytes` a double, and the three frames after it took 1.5-5 ms each
 * (the manager's functions deoptimized with "wrong map", then optimized again), where a frame takes about 0.3.
 * @internal
 */
export function newFrameStatistics(frameNumber: number, index: number, serial: number): FrameStatistics {
  const stats = {
    frameNumber,
    index,
    serial,
    backPressureWaits: 0,
    backPressureWaitUs: 0.5,
    deferredRetired: 0,
    deferredRetiredBytes: 0.5,
    deferredRetireUs: 0.5,
    deferredQueued: 0,
    deferredImmediate: 0,
    beginFrameUs: 0.5,
    endFrameUs: 0.5,
    resourcesCreated: 0,
    resourcesDestroyed: 0,
    uploads: 0,
    uploadedBytes: 0.5,
    uploadsInPlace: 0,
    transientAllocations: 0,
    transientBytes: 0.5,
    ringWraps: 0,
    ringGrows: 0,
    ringWaits: 0,
    earlySubmits: 0,
    ringUsedBytes: 0.5,
  };
  stats.backPressureWaitUs = stats.deferredRetiredBytes = stats.deferredRetireUs = 0;
  stats.beginFrameUs = stats.endFrameUs = stats.uploadedBytes = stats.transientBytes = stats.ringUsedBytes = 0;
  return stats;
}

/** The staging and transient rings' running totals, added up. @internal */
export interface RingCounters {
  wraps: number;
  grows: number;
  waits: number;
  earlySubmits: number;
}

/** A record for {@link readRingCounters}, made once per use site. @internal */
export function newRingCounters(): RingCounters {
  return { wraps: 0, grows: 0, waits: 0, earlySubmits: 0 };
}

/** Reads the rings' totals now into `into` (in place) and returns it. @internal */
export function readRingCounters(into: RingCounters, transfers: Transfers, transient: UploadRing): RingCounters {
  const staging = transfers.staging;
  into.wraps = staging.wraps + transient.wraps;
  into.grows = staging.grows + transient.grows;
  into.waits = staging.waits + transient.waits;
  into.earlySubmits = transfers.earlySubmits;
  return into;
}

/**
 * Reads the rings' totals into `now` and writes a frame's share of them (`now` minus `mark`) and the rings' use into
 * `stats`. @internal
 */
export function recordRingUse(
  stats: FrameStatistics,
  mark: RingCounters,
  now: RingCounters,
  transfers: Transfers,
  transient: UploadRing,
): void {
  readRingCounters(now, transfers, transient);
  stats.ringWraps = now.wraps - mark.wraps;
  stats.ringGrows = now.grows - mark.grows;
  stats.ringWaits = now.waits - mark.waits;
  stats.earlySubmits = now.earlySubmits - mark.earlySubmits;
  stats.ringUsedBytes = transfers.staging.used + transient.used;
}

/** The running totals a FrameManager keeps itself (the release queue, transfers and rings keep theirs). @internal */
export interface FrameTotals {
  backPressureWaits: number;
  backPressureWaitUs: number;
  beginFrameUs: number;
  endFrameUs: number;
  resourcesCreated: number;
  resourcesDestroyed: number;
}

/** Totals at creation: all 0, the microsecond fields doubles from the start (see {@link newFrameStatistics}). @internal */
export function newFrameTotals(): FrameTotals {
  const totals = {
    backPressureWaits: 0,
    backPressureWaitUs: 0.5,
    beginFrameUs: 0.5,
    endFrameUs: 0.5,
    resourcesCreated: 0,
    resourcesDestroyed: 0,
  };
  totals.backPressureWaitUs = totals.beginFrameUs = totals.endFrameUs = 0;
  return totals;
}

/** What the statistics read of a manager's DeferredDestruction (described by shape: that module imports this one). */
type DeferredCounts = { readonly queue: { readonly statistics: ReleaseQueueStatistics }; readonly immediate: number };

/**
 * A manager's {@link FrameManagerStatistics}, gathered from its totals and its parts' (`deferred` is its
 * DeferredDestruction, described by shape: that module imports this one). @internal
 */
export function managerStatistics(
  framesInFlight: number,
  submittedSerial: number,
  completedSerial: number,
  totals: FrameTotals,
  deferred: DeferredCounts,
  transfers: Transfers,
  transient: UploadRing,
): FrameManagerStatistics {
  const release = deferred.queue.statistics;
  return {
    framesInFlight,
    framesSubmitted: submittedSerial,
    submittedSerial,
    completedSerial,
    backPressureWaits: totals.backPressureWaits,
    backPressureWaitUs: totals.backPressureWaitUs,
    deferredQueued: release.queued,
    deferredImmediate: deferred.immediate,
    deferredRetired: release.retired,
    deferredPending: release.pending,
    deferredPendingBytes: release.pendingBytes,
    beginFrameUs: totals.beginFrameUs,
    endFrameUs: totals.endFrameUs,
    resourcesCreated: totals.resourcesCreated,
    resourcesDestroyed: totals.resourcesDestroyed,
    transfers: transfers.statistics,
    stagingRing: transfers.staging.statistics,
    transientRing: transient.statistics,
  };
}

/** Counts an upload of `bytes` (written in place or not) into the frame's statistics, if a frame has begun. @internal */
export function countUpload(stats: FrameStatistics | null, bytes: number, inPlace = false): void {
  if (stats !== null) {
    stats.uploads++;
    stats.uploadedBytes += bytes;
    if (inPlace) stats.uploadsInPlace++;
  }
}

/** Counts a transient allocation of `bytes` into the frame's statistics, if a frame has begun. @internal */
export function countTransient(stats: FrameStatistics | null, bytes: number): void {
  if (stats !== null) {
    stats.transientAllocations++;
    stats.transientBytes += bytes;
  }
}

/**
 * What one FrameManager counts itself: its running totals, and the rings' counters when the latest frame began.
 * Made by its constructor once the rings exist; dropped with it. Each method only adds (beginFrame also makes the
 * frame's statistics object), so that counting costs a frame no object of its own. @internal
 */
export class FrameCounters {
  readonly #totals = newFrameTotals();
  // The ring counters when the frame began, and now (filled in place: no object per frame).
  readonly #mark = newRingCounters();
  readonly #now = newRingCounters();
  readonly #transfers: Transfers;
  readonly #transient: UploadRing;

  /** Over the manager's transfers (their staging ring) and its transient ring, whose counters it reads. */
  constructor(transfers: Transfers, transient: UploadRing) {
    this.#transfers = transfers;
    this.#transient = transient;
  }

  /** A new frame's statistics, every counter 0; the rings' counters are marked now. */
  beginFrame(frameNumber: number, index: number, serial: number): FrameStatistics {
    const stats = newFrameStatistics(frameNumber, index, serial);
    readRingCounters(this.#mark, this.#transfers, this.#transient);
    return stats;
  }

  /** `beginFrame()` waited `us` microseconds for its slot's fence (negative: it did not wait). */
  backPressure(stats: FrameStatistics, us: number): void {
    if (us >= 0) {
      stats.backPressureWaits = 1;
      stats.backPressureWaitUs = us;
      this.#totals.backPressureWaits++;
      this.#totals.backPressureWaitUs += us;
    }
  }

  /** `beginFrame()` took `us` microseconds. */
  beganFrame(stats: FrameStatistics, us: number): void {
    stats.beginFrameUs = us;
    this.#totals.beginFrameUs += us;
  }

  /** `endFrame()` took `us` microseconds; the frame's share of the ring counters is written into `stats`. */
  endedFrame(stats: FrameStatistics | null, us: number): void {
    if (stats !== null) {
      stats.endFrameUs = us;
      recordRingUse(stats, this.#mark, this.#now, this.#transfers, this.#transient);
    }
    this.#totals.endFrameUs += us;
  }

  /** A Buffer or Texture was made (`created`) or let go of. */
  countResource(stats: FrameStatistics | null, created: boolean): void {
    if (created) {
      this.#totals.resourcesCreated++;
      if (stats !== null) stats.resourcesCreated++;
    } else {
      this.#totals.resourcesDestroyed++;
      if (stats !== null) stats.resourcesDestroyed++;
    }
  }

  /** The manager's statistics now: see {@link managerStatistics}. */
  statistics(
    framesInFlight: number,
    submitted: number,
    completed: number,
    deferred: DeferredCounts,
  ): FrameManagerStatistics {
    return managerStatistics(
      framesInFlight,
      submitted,
      completed,
      this.#totals,
      deferred,
      this.#transfers,
      this.#transient,
    );
  }
}
