/**
 * Texture moves of the live defragmentation (live-defragmentation.ts): the GPU copy of one FrameManager Texture to
 * the replacement image VMA's move made for it, subresource range by subresource range, each from the layout the
 * manager tracks for it and back to that same layout, so that after the switch the Texture's tracked layouts and
 * queue-family owners (the same arrays, untouched) describe the new image exactly as they described the old one.
 *
 * The invariants, and why they hold:
 *
 * - Ranges. Each mip level's array layers are cut into runs of one tracked layout. A run tracked UNDEFINED (never
 *   written) is neither copied nor transitioned on either image: the replacement is created UNDEFINED, so it is in
 *   that state already, and the old image's contents there are undefined anyway. Every other run goes from its layout
 *   to TRANSFER_SRC (old image) and from UNDEFINED to TRANSFER_DST (new image), is copied, and both go back to the
 *   run's layout (the native recorder does it, a table row per run: native/defragmentation.cpp). The copy is
 *   recorded on the main queue, where every subresource with a defined layout is owned already (transfers.ts gives
 *   the main queue any subresource the transfer queue wrote, and a texture with a transfer-queue write pending is not
 *   moved), so no ownership changes and the owners are kept as they are.
 * - Writes of the copy frame. The layouts are kept when the copy is planned. The frame's uploads run before the
 *   frame's commands, and the copy is the first of those: an upload into a range the copy carries is carried; one into
 *   an UNDEFINED range (which the copy skipped) changes that range's tracked layout, as does a readback of a
 *   never-written range or `assumeLayout`. So before the switch the caller compares the layouts with those kept
 *   ({@link TextureMove.written}); a texture written that way is copied again in the next frame, with the layouts as
 *   they are then, and switches one frame later (live-defragmentation.ts bounds the retries). Nothing half-written is
 *   ever switched to.
 * - What may move: a texture whose only GPU writer is vkmem's own transfers (no STORAGE or attachment usage: a shader
 *   write in the copy frame would land in the old image after the copy), with no transfer-queue write pending and no
 *   PREINITIALIZED subresource (no barrier can make a new image PREINITIALIZED).
 * @module
 */
import type { DefragmentationContext, DefragmentationMove } from "../memory/defragmentation.js";
import type { CopyRows } from "../memory/defragment.js";
import { LAYOUT_PREINITIALIZED, LAYOUT_UNDEFINED } from "../vulkan/vk.js";
import { Owner } from "./resource.js";
import type { Texture } from "./texture.js";

/** VkImageUsageFlags a shader or a pass may write through: STORAGE, COLOR_ATTACHMENT, DEPTH_STENCIL_ATTACHMENT. */
const IMAGE_GPU_WRITES = 0x8 | 0x10 | 0x20;

/** One texture's copy to its replacement, planned in a copy frame. @internal */
export class TextureMove {
  /** The copies recorded (1 at planning, then 1 per frame it was written in and copied again). */
  copies = 0;
  /** The tracked layouts the last recorded copy started from (index mip * arrayLayers + layer). */
  #layouts: number[];

  constructor(
    readonly move: DefragmentationMove,
    readonly texture: Texture,
  ) {
    this.#layouts = texture._layouts.slice();
  }

  /** Whether the texture's tracked layouts changed since the last copy was recorded (see the module comment). */
  written(): boolean {
    const now = this.texture._layouts;
    const then = this.#layouts;
    for (let i = 0; i < now.length; i++) if (now[i] !== then[i]) return true;
    return false;
  }

  /** Keeps the layouts the next recorded copy starts from. */
  again(): void {
    this.#layouts = this.texture._layouts.slice();
  }

  /**
   * Adds a row to `rows` per run of one mip level's layers in one layout other than UNDEFINED, and counts a copy. A
   * copy again (a later frame) goes into a new image an earlier frame copied into already: the recording's first
   * barrier is a memory dependency over all memory, so it orders that earlier copy too.
   */
  addRows(rows: CopyRows): void {
    this.copies++;
    const t = this.texture;
    const layouts = this.#layouts;
    for (let mip = 0; mip < t.mipLevels; mip++) {
      let layer = 0;
      while (layer < t.arrayLayers) {
        const layout = layouts[mip * t.arrayLayers + layer]!;
        let end = layer + 1;
        while (end < t.arrayLayers && layouts[mip * t.arrayLayers + end] === layout) end++;
        if (layout !== LAYOUT_UNDEFINED) rows.add(this.move, mip, 1, layer, end - layer, layout);
        layer = end;
      }
    }
  }
}

/** Whether `texture` may move inside running frames (see the module comment). @internal */
export function movableTexture(texture: Texture): boolean {
  if ((texture.usage & IMAGE_GPU_WRITES) !== 0) return false;
  const layouts = texture._layouts;
  const owners = texture._owners;
  for (let i = 0; i < layouts.length; i++) {
    if (layouts[i] === LAYOUT_PREINITIALIZED || owners[i] === Owner.Transfer) return false;
  }
  return true;
}

/**
 * Makes the replacement image of `texture`'s move (same create info, at the destination) and returns its planned
 * copy; or sets the move to "ignore" and returns null when the image lacks TRANSFER usage or the device refuses.
 * @internal
 */
export function planTextureMove(
  context: DefragmentationContext,
  move: DefragmentationMove,
  texture: Texture,
): TextureMove | null {
  const createInfo = move.source!._createInfo as Float64Array;
  if ((createInfo[9] & 0x3) !== 0x3 || typeof context._createReplacement(move) === "number") {
    move.operation = "ignore";
    return null;
  }
  return new TextureMove(move, texture);
}
