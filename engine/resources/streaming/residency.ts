/**
 * Residency: where one streamed texture stands. It owns the texture's two mip chains (the large image and the tail,
 * mip-chain.ts), what the application last asked of it (the frame of its last request and the finest mip asked in
 * it), and its load error; StreamedTexture is its public face and only reads it.
 *
 * Every change of a texture's images goes through here, because each one may change the streamer's count of
 * resident textures (a texture is resident while one of its chains has an uploaded mip): an image is attached when
 * created, marked uploaded mip by mip, promoted when complete (replacing the resident one of its chain, which is
 * released), released (through the frame manager's release queue, after the last frame that used it) or lost (the
 * allocator took it: its views are destroyed at once, the Texture with them). The lane counts (images, bytes) and
 * the resident count are updated in the same step as the chain, so they always agree with the chains.
 * @module
 */
import { mipExtent, regionBytes, type FormatInfo } from "../../vulkan/formats.js";
import type { ChainImage } from "./chain-image.js";
import { MipChain, type ChainLane } from "./mip-chain.js";
import type { MipLoader } from "./types.js";

/** The streamer's side of a residency: what unregisters it. */
export interface ResidencyOwner {
  /** Unregisters `residency` and releases its images (StreamedTexture.destroy()). */
  _unregister(residency: TextureResidency): void;
}

/** Counts a streamer keeps over all its residencies. */
export interface ResidencyCounts {
  /** Textures with at least one mip uploaded (in a large image or a tail). */
  residentTextures: number;
}

/** The description a residency is made from (checked by the streamer). */
export interface ResidencyDescription {
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly format: number;
  readonly mipLevels: number;
  readonly priority: number;
  readonly load: MipLoader;
  readonly info: FormatInfo;
  /** The streamer's tailSize, or 0 when it has no tail pool. */
  readonly tailSize: number;
}

/** One streamed texture's state; see the module comment. Made by TextureStreamer.register, ended by _unregister. */
export class TextureResidency {
  // What request() and show() read of every texture every frame comes first: V8 lays the fields out in the order they
  // are declared, so these share one or two cache lines (with 10,000 registered, each line read is a likely miss).
  /** Its large image: mips from the finest requested one (finer than the tail) down. */
  readonly large: MipChain<TextureResidency>;
  /** Its tail: mips tailFirstMip down. */
  readonly tail: MipChain<TextureResidency>;
  /** Frame index of the last request, and the finest mip asked in it. */
  lastRequest = -Infinity;
  wantMip = 0;
  destroyed = false;
  readonly mipLevels: number;
  /** The finest mip the tail holds (every mip from it on is no larger than tailSize); mipLevels without a tail. */
  readonly tailFirstMip: number;
  /** The last frame show() gave it the placeholder (counted once per frame). */
  placeholderFrame = -1;
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly format: number;
  readonly priority: number;
  readonly load: MipLoader;
  readonly info: FormatInfo;
  /** Bytes of each mip. */
  readonly mipBytes: Int32Array;
  /** The last error of its loader (thrown, rejected, or data of the wrong size), or null. */
  lastLoadError: unknown = null;

  constructor(
    readonly owner: ResidencyOwner,
    desc: ResidencyDescription,
    largeLane: ChainLane<TextureResidency>,
    tailLane: ChainLane<TextureResidency>,
    readonly counts: ResidencyCounts,
  ) {
    this.label = desc.label;
    this.width = desc.width;
    this.height = desc.height;
    this.format = desc.format;
    this.mipLevels = desc.mipLevels;
    this.priority = desc.priority;
    this.load = desc.load;
    this.info = desc.info;
    const mipLevels = desc.mipLevels;
    this.mipBytes = new Int32Array(mipLevels);
    for (let m = 0; m < mipLevels; m++)
      this.mipBytes[m] = regionBytes(desc.info, mipExtent(desc.width, m), mipExtent(desc.height, m));
    let tail = 0;
    while (tail < mipLevels && Math.max(mipExtent(desc.width, tail), mipExtent(desc.height, tail)) > desc.tailSize)
      tail++;
    this.tailFirstMip = tail;
    this.large = new MipChain(this, largeLane);
    this.tail = new MipChain(this, tailLane);
  }

  /** Whether at least one mip is uploaded (in a large image or the tail). */
  get resident(): boolean {
    return this.large.hasMips() || this.tail.hasMips();
  }

  /** The finest uploaded mip, or -1 when none is. */
  get firstResidentMip(): number {
    if (this.large.resident !== null) return this.large.resident.uploadedFrom;
    const best = Math.min(this.large.finestMip(), this.tail.finestMip());
    return best < this.mipLevels ? best : -1;
  }

  /** The image show() gives now: the complete large one, else the finer of a filling one and the tail; or null. */
  shownImage(): ChainImage | null {
    if (this.large.resident !== null) return this.large.resident;
    const next = this.large.filling;
    const tail = this.tail.image();
    const tailFrom = tail !== null ? tail.uploadedFrom : this.mipLevels;
    if (next !== null && next.uploadedFrom < tailFrom) return next;
    if (tail !== null && tailFrom < this.mipLevels) return tail;
    return null;
  }

  /** A new image of `chain` starts being filled: it becomes the chain's filling image. */
  attach(chain: MipChain<TextureResidency>, image: ChainImage): void {
    chain.filling = image;
    chain.lane.images++;
    chain.lane.bytes += image.bytes;
    image.allocation.onLost = () => this.lost(chain, image);
  }

  /** Mips `mip` and coarser of `image` are uploaded (uploads go smallest first). */
  uploaded(image: ChainImage, mip: number): void {
    const was = this.resident;
    image.uploadedFrom = mip;
    if (!was) this.counts.residentTextures++;
  }

  /** The filling image of `chain`, now complete, becomes its resident image; the one it replaces is released. */
  promote(chain: MipChain<TextureResidency>): void {
    const image = chain.filling!;
    const old = chain.resident;
    chain.resident = image;
    chain.filling = null;
    chain.data = null;
    image.dropPartialView(false);
    if (old !== null) this.release(chain, old);
  }

  /** Releases an image through the frame manager's release queue (not lost: destroyed after its last frame). */
  release(chain: MipChain<TextureResidency>, image: ChainImage): void {
    this.#detach(chain, image);
    image.allocation.onLost = null;
    image.dropPartialView(false);
    image.texture.destroy();
  }

  /** onLost of an image's allocation: called by the allocator before it destroys the image and frees its memory. */
  lost(chain: MipChain<TextureResidency>, image: ChainImage): void {
    chain.lane.onEvicted(image.bytes);
    this.#detach(chain, image);
    // Not used for frameInUseCount frames: the GPU is done with the views and the image.
    image.dropPartialView(true);
    image.texture.destroy();
  }

  /** Unqueues both chains, drops their loaded pixels and releases every image (the texture is unregistered). */
  releaseAll(): void {
    this.destroyed = true;
    const { large, tail } = this;
    large.dequeue();
    tail.dequeue();
    large.data = null;
    tail.data = null;
    for (const chain of [large, tail]) {
      if (chain.resident !== null) this.release(chain, chain.resident);
      if (chain.filling !== null) this.release(chain, chain.filling);
    }
  }

  /** Takes `image` away from `chain` and from the counts (released or lost). */
  #detach(chain: MipChain<TextureResidency>, image: ChainImage): void {
    const was = this.resident;
    if (chain.resident === image) chain.resident = null;
    if (chain.filling === image) {
      chain.filling = null;
      chain.data = null;
    }
    chain.forget(image);
    chain.lane.images--;
    chain.lane.bytes -= image.bytes;
    if (was && !this.resident) this.counts.residentTextures--;
  }
}
