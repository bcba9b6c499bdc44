/**
 * Frame times of a sample run: one sample per frame, summarised as median and percentiles.
 * @module
 */

/** The summary {@link FrameTimer.summary} gives, in milliseconds. */
export interface FrameTimeSummary {
  readonly frames: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Collects per-frame durations (ms). Made and owned by the loop that renders. */
export class FrameTimer {
  readonly #samples: number[] = [];
  #start = 0;

  /** Marks the start of a frame. */
  begin(): void {
    this.#start = performance.now();
  }

  /** Marks its end and records the duration. */
  end(): void {
    this.#samples.push(performance.now() - this.#start);
  }

  /** Frames recorded so far. */
  get count(): number {
    return this.#samples.length;
  }

  /** Median, 90th percentile, min, max and mean of the recorded frames, skipping the first `warmup` ones. */
  summary(warmup = 0): FrameTimeSummary {
    const s = this.#samples.slice(Math.min(warmup, Math.max(0, this.#samples.length - 1))).sort((a, b) => a - b);
    if (s.length === 0) return { frames: 0, medianMs: 0, p90Ms: 0, minMs: 0, maxMs: 0, meanMs: 0 };
    const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]!;
    const mid = s.length >> 1;
    const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    return {
      frames: s.length,
      medianMs: median,
      p90Ms: at(0.9),
      minMs: s[0]!,
      maxMs: s[s.length - 1]!,
      meanMs: s.reduce((a, b) => a + b, 0) / s.length,
    };
  }
}

/** "median 1.23 ms, p90 1.50 ms, min ..., over N frames" */
export function formatFrameTimes(label: string, summary: FrameTimeSummary): string {
  const f = (ms: number): string => ms.toFixed(3);
  return (
    `${label}: median ${f(summary.medianMs)} ms/frame (p90 ${f(summary.p90Ms)}, min ${f(summary.minMs)}, ` +
    `max ${f(summary.maxMs)}, mean ${f(summary.meanMs)}) over ${summary.frames} frames`
  );
}
