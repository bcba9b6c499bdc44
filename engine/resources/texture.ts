/**
 * Texture: a VkImage with its VMA allocation and a default image view, created and destroyed through a
 * {@link FrameManager}.
 *
 * The manager tracks the layout of every subresource (mip level x array layer) it transitions: UNDEFINED at
 * creation, SHADER_READ_ONLY_OPTIMAL after an upload. An application that transitions the image itself (a render
 * target, a storage image) tells the manager with {@link Texture.assumeLayout}, so that later uploads and downloads
 * start from the right layout. Lifetime rules are those of {@link Buffer}: `destroy()` goes through the release
 * queue under the last frame that used the texture; the default view dies with it.
 * @module
 */
import { DestroyedResourceError, describeValue } from "../errors.js";
import type { Allocation } from "../memory/allocation.js";
import type { FormatInfo } from "../vulkan/formats.js";
import type { NvkHandle } from "../vulkan/handles.js";
import { ManagedResource, Owner, type ResourceOwner, type ResourceRelease } from "./resource.js";

/**
 * The VkImageLayout values a texture may be said to be in: the core ones, PRESENT_SRC_KHR, the depth/stencil
 * read-only variants, the separate depth and stencil layouts, and Vulkan 1.3's READ_ONLY / ATTACHMENT_OPTIMAL.
 * Anything else would reach a barrier as an invalid enum.
 */
const KNOWN_LAYOUTS: ReadonlySet<unknown> = new Set([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 1000001002, 1000117000, 1000117001, 1000241000, 1000241001, 1000241002, 1000241003,
  1000314000, 1000314001,
]);

/** A GPU image made by {@link FrameManager.createTexture}; destroyed by {@link Texture.destroy}. */
export class Texture extends ManagedResource {
  // What destroy() reads and writes comes first, after the base's fields (see ManagedResource).
  #owner: ResourceOwner;
  #destroyed = false;
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  /** VkFormat. */
  readonly format: number;
  readonly mipLevels: number;
  readonly arrayLayers: number;
  /** VkImageUsageFlags it was created with (TRANSFER_SRC and TRANSFER_DST included). */
  readonly usage: number;
  /** VkImageAspectFlags of its format. */
  readonly aspect: number;
  /** Texel layout of its format. */
  readonly formatInfo: FormatInfo;
  /** @internal Its creation number in its manager. */
  _made = 0;
  /**
   * @internal Layout per subresource, index mip * arrayLayers + layer. Plain arrays, not typed ones: a typed array
   * costs an ArrayBuffer (a runtime allocation) per texture, more than the rest of createTexture's own work.
   */
  readonly _layouts: number[];
  /** @internal Queue-family owner per subresource. */
  readonly _owners: Owner[];
  /**
   * @internal Called when a live defragmentation has switched the texture to its new image and default view (after
   * the game's onMove): the TextureStreamer remakes views it made over the old image (streaming/chain-image.ts).
   */
  _onMove: (() => void) | null = null;

  /** @internal The manager that made it (uploads and readbacks check it). */
  get _manager(): ResourceOwner {
    return this.#owner;
  }
  #image: NvkHandle;
  #view: NvkHandle;
  #allocation: Allocation;
  /** Whether markUsed has made the main queue the owner of every untouched subresource. */
  #usedByMain = false;

  /** @internal Use FrameManager.createTexture. */
  constructor(
    owner: ResourceOwner,
    desc: {
      label: string;
      width: number;
      height: number;
      depth: number;
      format: number;
      mipLevels: number;
      arrayLayers: number;
      usage: number;
    },
    info: FormatInfo,
    image: NvkHandle,
    view: NvkHandle,
    allocation: Allocation,
    release: ResourceRelease,
  ) {
    super(release, allocation, view);
    this.#owner = owner;
    this.label = desc.label;
    this.width = desc.width;
    this.height = desc.height;
    this.depth = desc.depth;
    this.format = desc.format;
    this.mipLevels = desc.mipLevels;
    this.arrayLayers = desc.arrayLayers;
    this.usage = desc.usage;
    this.aspect = info.aspect;
    this.formatInfo = info;
    this.#image = image;
    this.#view = view;
    this.#allocation = allocation;
    const subresources = desc.mipLevels * desc.arrayLayers;
    this._layouts = new Array<number>(subresources).fill(0);
    this._owners = new Array<Owner>(subresources).fill(Owner.None);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The nvk VkImage. @throws DestroyedResourceError after destroy(). */
  get image(): NvkHandle {
    if (this.#destroyed) throw new DestroyedResourceError("Texture", this.label, "image", this._goneCause);
    return this.#image;
  }

  /**
   * The default VkImageView: every mip level and layer. Once the texture is freed (at destroy(), or when the last frame
   * that used it completes) the object reads as VK_NULL_HANDLE, so that a holder of it never names a later view (a
   * buddy pool's texture excepted: nvk made its view object).
   * @throws DestroyedResourceError after destroy().
   */
  get view(): NvkHandle {
    if (this.#destroyed) throw new DestroyedResourceError("Texture", this.label, "view", this._goneCause);
    return this.#view;
  }

  /** The VMA allocation behind it. @throws DestroyedResourceError after destroy(). */
  get allocation(): Allocation {
    if (this.#destroyed) throw new DestroyedResourceError("Texture", this.label, "allocation", this._goneCause);
    return this.#allocation;
  }

  #subresource(op: string, mipLevel: unknown, arrayLayer: unknown): number {
    if (this.#destroyed) throw new DestroyedResourceError("Texture", this.label, op, this._goneCause);
    if (!Number.isInteger(mipLevel) || (mipLevel as number) < 0 || (mipLevel as number) >= this.mipLevels) {
      throw new RangeError(
        `Texture '${this.label}'.${op}: mipLevel must be an integer from 0 to ${this.mipLevels - 1}, got ${describeValue(mipLevel)}`,
      );
    }
    if (!Number.isInteger(arrayLayer) || (arrayLayer as number) < 0 || (arrayLayer as number) >= this.arrayLayers) {
      throw new RangeError(
        `Texture '${this.label}'.${op}: arrayLayer must be an integer from 0 to ${this.arrayLayers - 1}, got ${describeValue(arrayLayer)}`,
      );
    }
    return (mipLevel as number) * this.arrayLayers + (arrayLayer as number);
  }

  /**
   * The VkImageLayout the manager last left the subresource in (0, UNDEFINED, before any upload).
   * @throws RangeError for a mip level or layer out of range; DestroyedResourceError after destroy().
   */
  layout(mipLevel = 0, arrayLayer = 0): number {
    return this._layouts[this.#subresource("layout", mipLevel, arrayLayer)]!;
  }

  /**
   * Tells the manager that the application's own commands left subresources in `layout` (every mip and layer
   * when they are omitted), owned by the main queue family. Later uploads and downloads start from it.
   * @throws RangeError for a bad layout, mip level or layer; DestroyedResourceError after destroy().
   */
  assumeLayout(layout: number, mipLevel?: number, arrayLayer?: number): void {
    if (!KNOWN_LAYOUTS.has(layout)) {
      throw new RangeError(
        `Texture '${this.label}'.assumeLayout: layout must be a VkImageLayout (0 to 8, or one of the extension layouts vkmem knows), got ${describeValue(layout)}`,
      );
    }
    if (mipLevel === undefined && arrayLayer === undefined) {
      if (this.#destroyed) throw new DestroyedResourceError("Texture", this.label, "assumeLayout", this._goneCause);
      this._layouts.fill(layout);
      this._owners.fill(Owner.Main);
      return;
    }
    const i = this.#subresource("assumeLayout", mipLevel ?? 0, arrayLayer ?? 0);
    this._layouts[i] = layout;
    this._owners[i] = Owner.Main;
  }

  /** Records that the frame being recorded uses this texture. @throws DestroyedResourceError after destroy(). */
  markUsed(): void {
    if (this.#destroyed) throw new DestroyedResourceError("Texture", this.label, "markUsed", this._goneCause);
    this.lastUsedSerial = this.#owner.recordingSerial;
    // The main queue uses it now: later uploads must stay on that queue (no transfer-queue write can race the use).
    // Once done, later calls (every frame that samples it) skip the walk over the subresources.
    if (!this.#usedByMain) {
      this.#usedByMain = true;
      const owners = this._owners;
      for (let i = 0; i < owners.length; i++) if (owners[i] === Owner.None) owners[i] = Owner.Main;
    }
  }

  /** Destroys the texture and its view once no frame in flight uses it. A second call does nothing. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#owner.releaseResource(this);
  }

  /**
   * @internal The ancestor whose destroy() took it along (its FrameManager, or what destroyed that); undefined while
   * it lives or when it was destroyed itself. Later uses name it (engine/lifetime.ts).
   */
  _goneCause: string | undefined = undefined;

  /** @internal What reports and errors call it. */
  get _lifetimeName(): string {
    return `Texture '${this.label}'`;
  }

  /** @internal Its manager is being destroyed on behalf of `cause`: destroy it now (through the release queue). */
  _destroyWithParent(cause: string): void {
    if (this.#destroyed) return;
    this._goneCause = cause;
    this.destroy();
  }

  /** @internal */
  get _parts(): { image: NvkHandle; view: NvkHandle; allocation: Allocation } {
    return { image: this.#image, view: this.#view, allocation: this.#allocation };
  }
}
