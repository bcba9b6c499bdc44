/**
 * defragment(): a whole defragmentation in one call, its copies made on the GPU.
 *
 * For each pass VMA plans, every move of a buffer or image vkmem made gets a replacement at the new place with the
 * same create info; the bytes travel by a GPU copy: buffers (and, when asked, raw memory) as the memory itself,
 * through two transfer buffers over the old and the new place (so a buffer's own usage need not include TRANSFER);
 * images with vkCmdCopyImage, every mip level and array layer, from the layout the caller says the image is in, and
 * left in that same layout. The command buffer is submitted and waited for before the pass ends, so the old memory
 * and the old resources are freed (by VMA and the native layer) only once the GPU is done with them. A buffer's copy
 * needs only the transfer buffers, so its replacement is made while the GPU copies (submitAndWait's `whileRunning`).
 *
 * What is not moved (its move set to "ignore", counted in `movesIgnored`): allocations the context cannot name,
 * raw memory unless `copyMemory`, memory the caller bound a resource of its own to (the caller would have to rebind
 * it), allocations that can become lost, images without both TRANSFER_SRC and TRANSFER_DST usage, and any move whose
 * replacement or transfer buffers the device refuses.
 *
 * The copy recording is shared with the FrameManager's live defragmentation (engine/resources), which records the
 * same copies into a frame instead of waiting.
 * @module
 */
import { describeValue } from "../errors.js";
import { withRoom } from "../typed-arrays.js";
import { rawHandle, wrapHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import { submitOneShot } from "../vulkan/one-shot.js";
import { LAYOUT_SHADER_READ } from "../vulkan/vk.js";
import type { Allocation } from "./allocation.js";
import {
  beginDefragmentation,
  type DefragmentationContext,
  type DefragmentationMove,
  type DefragmentationOptions,
  type DefragmentationStats,
} from "./defragmentation.js";

/** Where defragment() records and submits its copies: a vkmem Context, or a queue and a command pool of its family. */
export type DefragmentationQueue =
  | { submitAndWait(record: (commandBuffer: NvkHandle) => void, whileRunning?: () => void): void }
  | { queue: NvkHandle; commandPool: NvkHandle };

/** What moved, as onMove tells it. */
export interface MovedAllocation {
  /** The allocation, now at its new place (same object). */
  allocation: Allocation;
  /** The raw VkBuffer / VkImage before the move (destroyed now), or 0n for raw memory. */
  previousHandle: bigint;
  /** The raw VkBuffer / VkImage now; the nvk handle object vkmem gave you names it already. 0n for raw memory. */
  handle: bigint;
}

/** Options of `allocator.defragment()`: those of beginDefragmentation, and how the copies are made. */
export interface DefragmentOptions extends DefragmentationOptions {
  /** Called once per moved allocation after its pass ended: refresh descriptors and image views here. */
  onMove?: (moved: MovedAllocation) => void;
  /**
   * The layout an image is in when defragment() is called, which it keeps (default SHADER_READ_ONLY_OPTIMAL, as
   * VMA's sample assumes). UNDEFINED means its contents do not matter: the new image is not copied into.
   */
  imageLayout?: (allocation: Allocation) => number;
  /** Move raw memory (allocateMemory, with no resource bound) by a GPU copy of its bytes (default false: ignored). */
  copyMemory?: boolean;
}

/**
 * One copy of a pass, ready to record: the native recorder finds the transfer buffers (bytes) and the old and new
 * images itself, from the move. @internal
 */
export type MoveCopy =
  | { kind: "bytes"; move: DefragmentationMove; size: number }
  | { kind: "image"; move: DefragmentationMove; createInfo: Float64Array; layout: number };

/**
 * Plans the copy of one move (making its replacement and transfer buffers), or sets it to "ignore" and returns null.
 * @internal
 */
export function planMoveCopy(
  context: DefragmentationContext,
  move: DefragmentationMove,
  layoutOf: ((allocation: Allocation) => number) | undefined,
  copyMemory: boolean,
  replacementLater = false,
): MoveCopy | null {
  const source = move.source;
  if (source === null) return null;
  const ignore = (): null => {
    move.operation = "ignore";
    return null;
  };
  if (source._canBecomeLost) return ignore();
  // Bytes: their transfer buffers come for the whole pass at once (placeByteCopies).
  if (source.kind === "memory") {
    if (!copyMemory || source._resource !== null) return ignore();
    return { kind: "bytes", move, size: source._size };
  }
  if (source.kind === "buffer") {
    // The copy goes through transfer buffers over the memory, so the replacement can come while the GPU copies.
    if (!replacementLater && typeof context._createReplacement(move) === "number") return ignore();
    return { kind: "bytes", move, size: source._size };
  }
  const createInfo = source._createInfo as Float64Array;
  if ((createInfo[9] & 0x3) !== 0x3) return ignore(); // TRANSFER_SRC and TRANSFER_DST
  const layout = layoutOf === undefined ? LAYOUT_SHADER_READ : layoutOf(source);
  if (typeof layout !== "number" || !Number.isInteger(layout) || layout < 0 || layout > 0x7fffffff) {
    throw new RangeError(`defragment: options.imageLayout must return a VkImageLayout, got ${describeValue(layout)}`);
  }
  if (typeof context._createReplacement(move) === "number") return ignore();
  return { kind: "image", move, createInfo, layout };
}

/**
 * Gives the pass's byte copies their transfer buffers: one buffer over each memory block the pass touches (so that one
 * vkCmdCopyBuffer carries every move between two blocks), or, where the device's rules do not allow a block-wide
 * buffer, two over the move's own bytes. A move that gets neither is ignored. Returns the copies that stay.
 * @internal
 */
export function placeByteCopies(context: DefragmentationContext, copies: MoveCopy[]): MoveCopy[] {
  if (!copies.some((c) => c.kind === "bytes")) return copies;
  const blockWide = context._blockCopies();
  return copies.filter((c) => {
    if (c.kind !== "bytes" || blockWide[c.move.index] === 1 || context._createCopyBuffers(c.move) === 0) return true;
    c.move.operation = "ignore";
    return false;
  });
}

/**
 * Makes the nvk handle objects the copies and the live switch use once, so that nvk's first-use set-up of those
 * types happens when a live defragmentation starts, not inside a frame. @internal
 */
export function warmMoveRecording(): void {
  void wrapHandle(nvk.VkImage, 0n);
  void wrapHandle(nvk.VkImageView, 0n);
}

/**
 * The rows of one native recording of a pass's copies (recordDefragmentationCopies, native/defragmentation.cpp), 6
 * numbers each: the move's index, then for an image the subresource range (base mip, mips, base layer, layers) and the
 * layout it is in. {@link record} makes one call for every row added since the last: a barrier after every earlier
 * use of the memory, the copies (one vkCmdCopyBuffer per pair of transfer buffers: the pass's moves between two
 * memory blocks go in one command; one vkCmdCopyImage per image range, a region per mip), and a barrier before any
 * later use. Images go from their layout to TRANSFER_SRC (old) and from UNDEFINED to TRANSFER_DST (new), and both
 * back to that layout; a range in UNDEFINED is not copied. One per user, reused (its table grows as passes need).
 * @internal
 */
export class CopyRows {
  #table = new Float64Array(6 * 64);
  #rows = 0;
  #context: DefragmentationContext | null = null;

  /** A row: a move of memory (the range ignored), or a range of an image move in `layout`. */
  add(move: DefragmentationMove, baseMip = 0, mips = 0, baseLayer = 0, layers = 0, layout = 0): void {
    const t = (this.#table = withRoom(this.#table, (this.#rows + 1) * 6));
    const at = this.#rows++ * 6;
    t[at] = move.index;
    t[at + 1] = baseMip;
    t[at + 2] = mips;
    t[at + 3] = baseLayer;
    t[at + 4] = layers;
    t[at + 5] = layout;
    this.#context = move._context;
  }

  /** A row for a copy: the bytes of a buffer or raw memory, or every mip and layer of an image from its layout. */
  addCopy(c: MoveCopy): void {
    if (c.kind === "image") this.add(c.move, 0, c.createInfo[5]!, 0, c.createInfo[6]!, c.layout);
    else this.add(c.move);
  }

  /** Records the rows added since the last call into `cmd` (nothing when there are none), and starts over. */
  record(cmd: NvkHandle): void {
    const context = this.#context;
    const rows = this.#rows;
    this.#rows = 0;
    this.#context = null;
    if (context !== null && rows > 0) context._recordCopies(rawHandle(cmd), this.#table, rows);
  }
}

/**
 * Runs a whole defragmentation (see the module comment): passes until VMA has nothing left to move, each one's
 * copies on the GPU through `gpu`, waited for before the pass ends.
 * @returns the statistics of the whole run.
 * @throws TypeError / RangeError for bad arguments, before anything moves; whatever a Vulkan call or `onMove` throws,
 *   after ending the defragmentation (the moves of an unfinished pass are ignored: nothing is lost).
 */
export function defragment(
  allocator: Allocation["allocator"],
  gpu: DefragmentationQueue,
  options: DefragmentOptions = {},
): DefragmentationStats {
  const op = "defragment";
  allocator._live(op);
  const submit = submitterFor(allocator, gpu);
  const onMove = options?.onMove;
  if (onMove !== undefined && typeof onMove !== "function") {
    throw new TypeError(`${op}: options.onMove must be a function, got ${describeValue(onMove)}`);
  }
  const layoutOf = options?.imageLayout;
  if (layoutOf !== undefined && typeof layoutOf !== "function") {
    throw new TypeError(`${op}: options.imageLayout must be a function, got ${describeValue(layoutOf)}`);
  }
  const copyMemory = options?.copyMemory ?? false;
  if (typeof copyMemory !== "boolean") {
    throw new TypeError(`${op}: options.copyMemory must be a boolean, got ${describeValue(copyMemory)}`);
  }
  const context = beginDefragmentation(allocator, options);
  try {
    for (;;) {
      const moves = context.beginPass();
      if (moves === null) break;
      if (moves.length === 0) continue; // planning interrupted before a move: plan on
      const copies: MoveCopy[] = [];
      const previous = new Map<DefragmentationMove, bigint>();
      for (const move of moves) {
        if (move.source !== null) previous.set(move, move.source._resourceHandle);
        const copy = planMoveCopy(context, move, layoutOf, copyMemory, true);
        if (copy !== null) copies.push(copy);
      }
      const placed = placeByteCopies(context, copies);
      // Buffers' replacements are made while the GPU copies their bytes (a move whose replacement the device refuses
      // is ignored: its copy is wasted, nothing else).
      let replaced = false;
      const replace = () => {
        if (replaced) return;
        replaced = true;
        for (const c of placed) {
          const source = c.move.source;
          if (source === null || source.kind !== "buffer" || c.move.operation !== "copy") continue;
          if (typeof context._createReplacement(c.move) === "number") c.move.operation = "ignore";
        }
      };
      const rows = new CopyRows();
      for (const c of placed) rows.addCopy(c);
      if (placed.length > 0) submit((cmd) => rows.record(cmd), replace);
      replace(); // a caller's submitAndWait that does not take whileRunning
      const done = context.endPass();
      if (onMove !== undefined) {
        for (const move of moves) {
          if (move.source === null || move.operation !== "copy" || move._freedByCaller) continue;
          onMove({ allocation: move.source, previousHandle: previous.get(move) ?? 0n, handle: move._replacement });
        }
      }
      if (done) break;
    }
  } catch (error) {
    if (!context.ended) context.end();
    throw error;
  }
  return context.end();
}

function submitterFor(
  allocator: Allocation["allocator"],
  gpu: DefragmentationQueue,
): (record: (cmd: NvkHandle) => void, whileRunning: () => void) => void {
  if (gpu !== null && typeof gpu === "object") {
    const g = gpu as { submitAndWait?: unknown; queue?: unknown; commandPool?: unknown };
    if (typeof g.submitAndWait === "function") {
      type Submit = (r: (cmd: NvkHandle) => void, w: () => void) => void;
      return (record, whileRunning) => (g.submitAndWait as Submit).call(gpu, record, whileRunning);
    }
    if (g.queue instanceof nvk.VkQueue && g.commandPool instanceof nvk.VkCommandPool) {
      return (record, whileRunning) =>
        submitOneShot(allocator.device, g.commandPool as NvkHandle, g.queue as NvkHandle, record, whileRunning);
    }
  }
  throw new TypeError(
    `defragment: gpu must be a vkmem Context or { queue: VkQueue, commandPool: VkCommandPool }, got ${describeValue(gpu)}`,
  );
}
