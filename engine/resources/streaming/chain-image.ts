/**
 * One image of a mip chain: a Texture holding mips [base, mipLevels) of a streamed texture, filled from its smallest
 * mip up, and the partial view that shows the mips uploaded so far while it is being filled.
 *
 * Invariants: `uploadedFrom` only decreases, from mipLevels (nothing uploaded) to `base` (complete); a partial view
 * exists only for the `uploadedFrom` it was made for (`partialFrom`) and over the image the Texture names now: it is
 * remade when more mips arrive, and when a live defragmentation moved the Texture (the FrameManager's
 * live-defragmentation.ts calls `texture._onMove` in the frame it switches; show() remakes the view then); the view is
 * destroyed through the frame manager's release queue after the last frame that used the image, or at once when the
 * image is being lost (the allocator takes only images unused for frameInUseCount frames, so the GPU is done with
 * it). The image does not destroy its Texture: the residency that holds it does (engine/resources/streaming/residency.ts).
 * @module
 */
import type { Allocation } from "../../memory/allocation.js";
import { ASPECT_COLOR } from "../../vulkan/formats.js";
import type { NvkHandle } from "../../vulkan/handles.js";
import { OBJECT_TYPE_IMAGE_VIEW, VIEW_TYPE_2D } from "../../vulkan/vk.js";
import type { FrameManager } from "../frame-manager.js";
import type { Texture } from "../texture.js";
import { createImageView, destroyImageView } from "../image-views.js";
import type { TextureShow } from "./types.js";

/** What an image needs to make and drop its views: shared by every image of one streamer. */
export interface ViewContext {
  readonly frames: FrameManager;
  /** The streamer's label, for error messages. */
  readonly label: string;
}

/** A TextureShow the streamer rewrites in place (show() returns it without allocating). */
type MutableShow = { -readonly [K in keyof TextureShow]: TextureShow[K] };

/** One image of a mip chain, resident or being filled. Made by the upload scheduler; destroyed by the residency. */
export class ChainImage {
  /** The finest mip of the description it holds (its level 0). */
  readonly base: number;
  /** The finest mip uploaded so far (mipLevels while none). */
  uploadedFrom: number;
  /** Bytes of its allocation (VMA's size). */
  readonly bytes: number;
  readonly allocation: Allocation;
  /** A view over [uploadedFrom, mipLevels) while partial, and the uploadedFrom it was made for. */
  #partialView: NvkHandle | null = null;
  #partialFrom = -1;
  readonly #show: MutableShow;

  constructor(
    readonly texture: Texture,
    base: number,
    readonly mipLevels: number,
    /** The streamed texture's label, for view names and messages. */
    readonly label: string,
    readonly views: ViewContext,
  ) {
    this.base = base;
    this.uploadedFrom = mipLevels;
    this.allocation = texture.allocation;
    this.bytes = this.allocation.size;
    this.#show = { view: texture.view, texture, firstMip: -1, lastMip: mipLevels - 1, placeholder: false };
    // A live defragmentation moved the texture (its image and default view handle objects name the new ones now):
    // the partial view still names the old image, which is freed once the copy frame is complete.
    texture._onMove = () => this.dropPartialView(false);
  }

  /** Whether every mip from base is uploaded. */
  get complete(): boolean {
    return this.uploadedFrom === this.base;
  }

  /**
   * What the image shows now: its whole view when complete, else a view over the uploaded mips (made when they
   * changed). Marks the texture used by the frame being recorded, and touches the allocation when `touch` is true
   * (false: it was touched in this frame already).
   * @throws Error when vkCreateImageView fails.
   */
  show(touch: boolean): TextureShow {
    if (touch) this.allocation.touch();
    this.texture.markUsed();
    const show = this.#show;
    if (this.uploadedFrom === this.base) {
      show.view = this.texture.view;
    } else {
      if (this.#partialFrom !== this.uploadedFrom) this.#remakePartialView();
      show.view = this.#partialView!;
    }
    show.firstMip = this.uploadedFrom;
    return show;
  }

  #remakePartialView(): void {
    this.dropPartialView(false);
    const { frames } = this.views;
    const texture = this.texture;
    const view = createImageView(
      this.allocation.allocator,
      this.allocation,
      texture.image,
      VIEW_TYPE_2D,
      texture.format,
      ASPECT_COLOR,
      this.uploadedFrom - this.base,
      texture.mipLevels,
      1,
    );
    if (typeof view === "number")
      throw new Error(`TextureStreamer '${this.views.label}': vkCreateImageView for '${this.label}' failed (${view})`);
    frames.context.setObjectName(OBJECT_TYPE_IMAGE_VIEW, view, `${this.label} mips ${this.uploadedFrom}+`);
    this.#partialView = view;
    this.#partialFrom = this.uploadedFrom;
  }

  /** Destroys the partial view, if any: at once (`now`, the image is being lost) or after the frames that used it. */
  dropPartialView(now: boolean): void {
    const view = this.#partialView;
    if (view === null) return;
    this.#partialView = null;
    this.#partialFrom = -1;
    const { frames } = this.views;
    const allocator = this.allocation.allocator;
    if (now) destroyImageView(allocator, view);
    else frames.destroyLater("partial view", 0, () => destroyImageView(allocator, view), this.texture.lastUsedSerial);
  }
}
