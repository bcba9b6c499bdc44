/**
 * The loader pipeline: calls a texture's loader for the mips a chain needs, checks what it gives, and hands the
 * pixels to the chain. A loader may answer synchronously or with a promise; at most `maxInFlight` promises are
 * pending at once (the scheduler asks {@link LoaderPipeline.full} before starting one).
 *
 * Invariants: a load never throws into the streamer: a loader that throws, rejects, or gives anything but live bytes
 * of exactly the mips' sizes is a load error, counted and kept in the texture's `lastLoadError`, and the next
 * request tries again. Only the latest load of a chain may deliver (its `loadGeneration`); a load that settles
 * after its texture or the streamer was destroyed delivers nothing. A load that delivers puts its chain back in its
 * lane's heap (a chain is not queued while loading).
 * @module
 */
import { checkBytes, isDetached } from "../../checks.js";
import { describeValue } from "../../errors.js";
import type { MipChain } from "./mip-chain.js";
import type { TextureResidency } from "./residency.js";
import type { MipData, TextureStreamerFrameStatistics } from "./types.js";

/** Loaded data as bytes; anything but live bytes (a detached buffer or view included) is null: a load error. */
function asBytes(d: unknown): Uint8Array | null {
  if (!(d instanceof ArrayBuffer || ArrayBuffer.isView(d))) return null;
  return isDetached(ArrayBuffer.isView(d) ? d.buffer : d) ? null : checkBytes(d, "load", "data");
}

/** What the pipeline asks of its streamer. */
export interface LoaderHost {
  /** Whether the streamer is alive (not destroyed). */
  live(): boolean;
  /** The statistics object a load that settles now counts its errors in. */
  currentStatistics(): TextureStreamerFrameStatistics;
}

/** Starts loads and accepts their pixels; see the module comment. Made and owned by the streamer. */
export class LoaderPipeline {
  /** Asynchronous loads in flight. */
  inFlight = 0;
  /** Loader calls since creation, and those that failed. */
  loads = 0;
  errors = 0;

  constructor(
    readonly maxInFlight: number,
    readonly host: LoaderHost,
  ) {}

  /** Whether no further asynchronous load may start now. */
  get full(): boolean {
    return this.inFlight >= this.maxInFlight;
  }

  /**
   * Calls the loader for mips [base, mipLevels) of `chain`. Returns false when it failed at once; sets the chain's
   * data when the loader answered synchronously (and leaves it null while a promise is pending).
   */
  start(chain: MipChain<TextureResidency>, base: number, stats: TextureStreamerFrameStatistics): boolean {
    const r = chain.owner;
    const count = r.mipLevels - base;
    let result: MipData | PromiseLike<MipData>;
    this.loads++;
    try {
      result = r.load(base, count);
    } catch (error) {
      this.#failed(r, error, stats);
      return false;
    }
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<MipData>).then === "function") {
      const generation = ++chain.loadGeneration;
      chain.loading = true;
      this.inFlight++;
      (result as PromiseLike<MipData>).then(
        (data) => this.#settled(chain, generation, base, true, data),
        (error: unknown) => this.#settled(chain, generation, base, false, error),
      );
      return true;
    }
    return this.#take(chain, base, this.#accept(r, base, result as MipData, stats));
  }

  /** An asynchronous load resolved (`data`) or rejected (`error`). */
  #settled(chain: MipChain<TextureResidency>, generation: number, base: number, ok: boolean, value: unknown): void {
    if (generation !== chain.loadGeneration || !chain.loading) return;
    chain.loading = false;
    this.inFlight--;
    const r = chain.owner;
    if (r.destroyed || !this.host.live()) return;
    const stats = this.host.currentStatistics();
    if (!ok) {
      this.#failed(r, value, stats);
      return;
    }
    if (!this.#take(chain, base, this.#accept(r, base, value as MipData, stats))) return;
    if (chain.heapIndex < 0) chain.lane.heap.push(chain);
  }

  /** Keeps accepted pixels for the chain; false when there are none. */
  #take(chain: MipChain<TextureResidency>, base: number, mips: Uint8Array[] | null): boolean {
    if (mips === null) return false;
    chain.data = mips;
    chain.dataBase = base;
    return true;
  }

  #failed(r: TextureResidency, error: unknown, stats: TextureStreamerFrameStatistics): void {
    r.lastLoadError = error;
    stats.loadErrors++;
    this.errors++;
  }

  /** Checks and splits loaded pixels into one view per mip; null (counted as a load error) when the sizes are wrong. */
  #accept(
    r: TextureResidency,
    base: number,
    data: MipData,
    stats: TextureStreamerFrameStatistics,
  ): Uint8Array[] | null {
    const count = r.mipLevels - base;
    const mips: Uint8Array[] = [];
    if (Array.isArray(data)) {
      if (data.length !== count) {
        this.#failed(
          r,
          new RangeError(
            `loader of '${r.label}' gave ${data.length} mips for mips ${base} to ${r.mipLevels - 1} (${count})`,
          ),
          stats,
        );
        return null;
      }
      for (let i = 0; i < count; i++) {
        const bytes = asBytes(data[i]);
        const want = r.mipBytes[base + i]!;
        if (bytes === null || bytes.length !== want) {
          this.#failed(
            r,
            new RangeError(
              `loader of '${r.label}' gave ${bytes === null ? describeValue(data[i]) : `${bytes.length} bytes`} for mip ${base + i}, which has ${want}`,
            ),
            stats,
          );
          return null;
        }
        mips.push(bytes);
      }
    } else {
      const bytes = asBytes(data);
      let want = 0;
      for (let m = base; m < r.mipLevels; m++) want += r.mipBytes[m]!;
      if (bytes === null || bytes.length !== want) {
        this.#failed(
          r,
          new RangeError(
            `loader of '${r.label}' gave ${bytes === null ? describeValue(data) : `${bytes.length} bytes`} for mips ${base} to ${r.mipLevels - 1}, which have ${want}`,
          ),
          stats,
        );
        return null;
      }
      let at = 0;
      for (let m = base; m < r.mipLevels; m++) {
        const n = r.mipBytes[m]!;
        mips.push(bytes.subarray(at, at + n));
        at += n;
      }
    }
    return mips;
  }
}
