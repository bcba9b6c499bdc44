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
 *   run's layout. The copy is recorded on the main queue, where every subresource with a defined layout is owned
 *   already (transfers.ts gives the main queue any subresource the transfer queue wrote, and a texture with a
 *   transfer-queue write pending is not moved), so no ownership changes and the owners are kept as they are.
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
import { wrapHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import {
  ACCESS_MEMORY_READ,
  ACCESS_MEMORY_WRITE,
  ACCESS_TRANSFER_READ,
  ACCESS_TRANSFER_WRITE,
  LAYOUT_PREINITIALIZED,
  LAYOUT_TRANSFER_DST,
  LAYOUT_TRANSFER_SRC,
  LAYOUT_UNDEFINED,
  QUEUE_FAMILY_IGNORED,
  STAGE_ALL,
  STAGE_TRANSFER,
} from "../vulkan/vk.js";
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
    /** Raw VkImage handles: the texture's image, and the replacement at the move's destination. */
    readonly src: bigint,
    readonly dst: bigint,
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

  /** The runs of one mip level's layers in one layout other than UNDEFINED. */
  ranges(): { mip: number; layer: number; count: number; layout: number }[] {
    const t = this.texture;
    const layouts = this.#layouts;
    const out: { mip: number; layer: number; count: number; layout: number }[] = [];
    for (let mip = 0; mip < t.mipLevels; mip++) {
      let layer = 0;
      while (layer < t.arrayLayers) {
        const layout = layouts[mip * t.arrayLayers + layer]!;
        let end = layer + 1;
        while (end < t.arrayLayers && layouts[mip * t.arrayLayers + end] === layout) end++;
        if (layout !== LAYOUT_UNDEFINED) out.push({ mip, layer, count: end - layer, layout });
        layer = end;
      }
    }
    return out;
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
  const source = move.source!;
  const createInfo = source._createInfo as Float64Array;
  const replacement = (createInfo[9] & 0x3) === 0x3 ? context._createReplacement(move) : -1;
  if (typeof replacement === "number") {
    move.operation = "ignore";
    return null;
  }
  return new TextureMove(move, texture, source._resourceHandle, replacement);
}

function barrier(
  image: bigint,
  aspectMask: number,
  r: { mip: number; layer: number; count: number },
  from: number,
  to: number,
  src: number,
  dst: number,
) {
  return new nvk.VkImageMemoryBarrier({
    image: wrapHandle(nvk.VkImage, image),
    srcAccessMask: src,
    dstAccessMask: dst,
    oldLayout: from,
    newLayout: to,
    srcQueueFamilyIndex: QUEUE_FAMILY_IGNORED,
    dstQueueFamilyIndex: QUEUE_FAMILY_IGNORED,
    subresourceRange: new nvk.VkImageSubresourceRange({
      aspectMask,
      baseMipLevel: r.mip,
      levelCount: 1,
      baseArrayLayer: r.layer,
      layerCount: r.count,
    }),
  });
}

/**
 * Records the copies of `moves` into `cmd` (see the module comment): one barrier after every earlier use of the old
 * images (and of the new ones, which an earlier frame may have copied into already), one vkCmdCopyImage per texture
 * with a region per range, and one barrier back to the tracked layouts before any later use.
 * @internal
 */
export function recordTextureMoves(cmd: NvkHandle, moves: readonly TextureMove[]): void {
  const into: unknown[] = [];
  const back: unknown[] = [];
  const copies: { src: bigint; dst: bigint; regions: unknown[] }[] = [];
  for (const m of moves) {
    m.copies++;
    const t = m.texture;
    const aspect = t.aspect;
    const regions: unknown[] = [];
    for (const r of m.ranges()) {
      into.push(
        barrier(m.src, aspect, r, r.layout, LAYOUT_TRANSFER_SRC, ACCESS_MEMORY_WRITE, ACCESS_TRANSFER_READ),
        barrier(m.dst, aspect, r, LAYOUT_UNDEFINED, LAYOUT_TRANSFER_DST, ACCESS_MEMORY_WRITE, ACCESS_TRANSFER_WRITE),
      );
      back.push(
        barrier(m.dst, aspect, r, LAYOUT_TRANSFER_DST, r.layout, ACCESS_TRANSFER_WRITE, ACCESS_MEMORY_READ),
        // The old image serves until the texture switches to the new one.
        barrier(m.src, aspect, r, LAYOUT_TRANSFER_SRC, r.layout, 0, ACCESS_MEMORY_READ),
      );
      const layers = new nvk.VkImageSubresourceLayers({
        aspectMask: aspect,
        mipLevel: r.mip,
        baseArrayLayer: r.layer,
        layerCount: r.count,
      });
      regions.push(
        new nvk.VkImageCopy({
          srcSubresource: layers,
          srcOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
          dstSubresource: layers,
          dstOffset: new nvk.VkOffset3D({ x: 0, y: 0, z: 0 }),
          extent: new nvk.VkExtent3D({
            width: Math.max(1, t.width >>> r.mip),
            height: Math.max(1, t.height >>> r.mip),
            depth: Math.max(1, t.depth >>> r.mip),
          }),
        }),
      );
    }
    if (regions.length > 0) copies.push({ src: m.src, dst: m.dst, regions });
  }
  if (copies.length === 0) return;
  nvk.vkCmdPipelineBarrier(cmd, STAGE_ALL, STAGE_TRANSFER, 0, 0, null, 0, null, into.length, into);
  for (const c of copies) {
    nvk.vkCmdCopyImage(
      cmd,
      wrapHandle(nvk.VkImage, c.src),
      LAYOUT_TRANSFER_SRC,
      wrapHandle(nvk.VkImage, c.dst),
      LAYOUT_TRANSFER_DST,
      c.regions.length,
      c.regions,
    );
  }
  nvk.vkCmdPipelineBarrier(cmd, STAGE_TRANSFER, STAGE_ALL, 0, 0, null, 0, null, back.length, back);
}
