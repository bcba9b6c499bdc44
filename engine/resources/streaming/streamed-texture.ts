/**
 * StreamedTexture: the public face of one registered texture. It holds the description the application gave and
 * reads everything else from the texture's residency (residency.ts), which the streamer changes; it has no state of
 * its own, so nothing outside the residency can make the two disagree.
 * @module
 */
import type { Texture } from "../texture.js";
import type { TextureResidency } from "./residency.js";

/**
 * A texture registered with a TextureStreamer: its description and where its streaming stands. Made by
 * `TextureStreamer.register`; released by {@link StreamedTexture.destroy} (or with its streamer).
 */
export class StreamedTexture {
  /** @internal Its state, owned by the streamer (declared first: every request() and show() reads it). */
  readonly _residency: TextureResidency;
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly format: number;
  readonly mipLevels: number;
  readonly priority: number;
  /** The finest mip its resident tail holds (every mip from it on is no larger than the streamer's tailSize); mipLevels when it has no tail. */
  readonly tailFirstMip: number;

  /** @internal Use TextureStreamer.register. */
  constructor(residency: TextureResidency) {
    this._residency = residency;
    this.label = residency.label;
    this.width = residency.width;
    this.height = residency.height;
    this.format = residency.format;
    this.mipLevels = residency.mipLevels;
    this.priority = residency.priority;
    this.tailFirstMip = residency.tailFirstMip;
  }

  /** Whether {@link destroy} (or the streamer's) has run. */
  get destroyed(): boolean {
    return this._residency.destroyed;
  }

  /** Whether at least one mip is resident (in a large image or the tail). */
  get resident(): boolean {
    return this._residency.resident;
  }

  /** The finest resident mip, or -1 when none is. */
  get firstResidentMip(): number {
    return this._residency.firstResidentMip;
  }

  /** Whether its whole tail (mips tailFirstMip to mipLevels - 1) is resident. */
  get tailResident(): boolean {
    return this._residency.tail.resident !== null;
  }

  /**
   * The tail's image (its level 0 is mip tailFirstMip), complete or being filled, or null: for reading back and
   * statistics. It belongs to the streamer: never destroy it, and do not keep it past the frame (it may be lost).
   */
  get tailTexture(): Texture | null {
    const image = this._residency.tail.image();
    return image !== null ? image.texture : null;
  }

  /** The last error of its loader (thrown, rejected, or data of the wrong size), or null. */
  get lastLoadError(): unknown {
    return this._residency.lastLoadError;
  }

  set lastLoadError(error: unknown) {
    this._residency.lastLoadError = error;
  }

  /** Unregisters the texture and releases its images (after the frames that used them). A second call does nothing. */
  destroy(): void {
    const residency = this._residency;
    if (residency.destroyed) return;
    residency.owner._unregister(residency);
  }
}
