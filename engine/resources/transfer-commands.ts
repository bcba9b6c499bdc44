/**
 * The command buffers the transfers of a {@link FrameManager} record into, per frame slot (engine/resources/transfers.ts).
 *
 * The main queue's command buffers are allocated from the slot's own command pool (engine/resources/frame-slots.ts),
 * which the manager resets after the slot's fence, before the frame begins; with a dedicated transfer queue, each slot
 * also gets a command pool of the transfer family and a semaphore that the transfer submission signals and the main
 * submission waits on. The invariants, and why they hold:
 *
 * - A command buffer is reused only after the GPU is done with it. The buffers of a slot are handed out in order from
 *   index 0 after {@link TransferCommands.beginSlot}, which runs once the slot's fence has signaled (the main pool was
 *   reset then, and the transfer pool is reset here when the slot's last frame began any of its buffers, the only
 *   way they leave the initial state); a buffer is allocated only when the slot has none left, so a slot keeps as
 *   many as its busiest frame needed and allocates nothing in a steady state.
 * - The semaphore pairs two submissions: each submission to the transfer queue signals the current slot's semaphore
 *   and is followed by the main queue's submission that waits on it (transfers.ts: `submitTransfer`), so a signal
 *   is waited on before the slot's semaphore is signaled again.
 * - A piece's fence (each submission of a piece of a large upload signals one: {@link TransferCommands.submitPiece})
 *   is only read until the slot comes back: {@link TransferCommands.beginSlot} waits for the slot's used ones (done
 *   already, the slot's fence having signaled after them) and resets them, so a fence is never reset while its
 *   batch may still run, and never submitted while it is signaled.
 * - Nothing is left behind: a constructor that fails destroys what it made before throwing, and
 *   {@link TransferCommands.destroy} frees the transfer pools (and with them their command buffers), the semaphores
 *   and the fences; the main pools are the slots' and are freed with them.
 * @internal
 * @module
 */
import { check } from "../errors.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import { rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { checkPair, submitThroughAddon } from "./frame-slots.js";
import { nvk } from "../vulkan/nvk.js";
import { COMMAND_POOL_CREATE_TRANSIENT, NO_TIMEOUT, STAGE_ALL, VK_NOT_READY } from "../vulkan/vk.js";

/** The wait stage of a batch after the transfer queue's (one wait): made once, never written. */
const ALL_COMMANDS_STAGE = Uint32Array.of(STAGE_ALL);

/** The command buffers of one frame slot: the main queue's from the slot's pool, the transfer queue's from its own. */
interface SlotCommands {
  readonly mainPool: NvkHandle;
  readonly mainCmds: NvkHandle[];
  mainUsed: number;
  readonly transferPool: NvkHandle | null;
  readonly transferCmds: NvkHandle[];
  transferUsed: number;
  readonly semaphore: NvkHandle | null;
  /** `[semaphore]`'s raw value, the signal of the transfer queue's submission (empty without a transfer queue). */
  readonly signal: BigUint64Array;
  /** The fences of the pieces of large uploads submitted in this slot's frames (made on first use, kept). */
  readonly pieceFences: NvkHandle[];
  piecesUsed: number;
}

/** The per-slot command buffers of one FrameManager's Transfers: made and destroyed by them. @internal */
export class TransferCommands {
  readonly #device: NvkHandle;
  readonly #allocator: Allocator;
  readonly #label: string;
  readonly #slots: SlotCommands[] = [];
  /** The context's queue (for nvk), and the raw values of it and the transfer queue (for the addon). */
  readonly #queueHandle: NvkHandle;
  readonly #queue: bigint;
  readonly #transferQueue: bigint;
  #slot = 0;
  /** The fence of {@link submitAndWait}, made on first use; unsignaled between its calls. */
  #fence: NvkHandle | null = null;

  /**
   * Takes the slots' command pools (`slotPools`, in slot order) and, when `dedicated`, creates a transfer pool and a
   * semaphore per slot. `allocator` (on the context's device, outliving this) begins, ends and submits the command
   * buffers through the addon (native/frame_commands.cpp), as the frame's own are (frame-slots.ts).
   * @throws VkError when creating one fails (what was made is destroyed first).
   */
  constructor(
    context: Context,
    allocator: Allocator,
    label: string,
    slotPools: readonly NvkHandle[],
    dedicated: boolean,
  ) {
    const device = context.device;
    this.#device = device;
    this.#allocator = allocator;
    this.#label = label;
    this.#queueHandle = context.queue;
    this.#queue = rawHandle(context.queue);
    this.#transferQueue = rawHandle(context.transferQueue);
    try {
      for (const pool of slotPools) {
        let transferPool: NvkHandle | null = null;
        let semaphore: NvkHandle | null = null;
        if (dedicated) {
          transferPool = new nvk.VkCommandPool();
          const info = new nvk.VkCommandPoolCreateInfo({
            flags: COMMAND_POOL_CREATE_TRANSIENT,
            queueFamilyIndex: context.transferQueueFamilyIndex,
          });
          check(nvk.vkCreateCommandPool(device, info, null, transferPool), "vkCreateCommandPool", label);
          semaphore = new nvk.VkSemaphore();
          const created = nvk.vkCreateSemaphore(device, new nvk.VkSemaphoreCreateInfo(), null, semaphore);
          if (created < 0) nvk.vkDestroyCommandPool(device, transferPool, null);
          check(created, "vkCreateSemaphore", label);
        }
        this.#slots.push({
          mainPool: pool,
          mainCmds: [],
          mainUsed: 0,
          transferPool,
          transferCmds: [],
          transferUsed: 0,
          semaphore,
          signal: semaphore !== null ? BigUint64Array.of(rawHandle(semaphore)) : new BigUint64Array(0),
          pieceFences: [],
          piecesUsed: 0,
        });
      }
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  /** The slot whose command buffers {@link begin} hands out. */
  get slot(): number {
    return this.#slot;
  }

  /** The current slot's semaphore, which its transfer submission signals (dedicated transfer queue only). */
  get semaphore(): NvkHandle {
    return this.#slots[this.#slot]!.semaphore!;
  }

  /** Makes slot `index` current and its command buffers free again; its fence has signaled and its pool was reset. */
  beginSlot(index: number): void {
    this.#slot = index;
    const s = this.#slots[index]!;
    // The transfer pool is reset only when the slot's last frame began one of its command buffers: a frame with no
    // upload for the transfer queue (most frames of a game) makes no call for it.
    const transferBegun = s.transferUsed > 0;
    s.mainUsed = 0;
    s.transferUsed = 0;
    const allocator = this.#allocator;
    if (s.transferPool !== null && transferBegun) {
      const reset = allocator._native.frameResetPool(allocator._handle, rawHandle(s.transferPool));
      check(reset, "vkResetCommandPool", this.#label);
    }
    if (s.piecesUsed > 0) {
      // Signaled when the slot's frame was (the queue completed the pieces before it); waited for all the same, in
      // case the frame's own submission failed after its pieces went: a fence is reset only once its batch is done.
      const used = new BigUint64Array(s.piecesUsed);
      for (let i = 0; i < used.length; i++) used[i] = rawHandle(s.pieceFences[i]!);
      s.piecesUsed = 0;
      const result = allocator._native.frameWaitFences(allocator._handle, used, true);
      if (result !== 0) checkPair(result, "vkWaitForFences", "vkResetFences", this.#label);
    }
  }

  /**
   * {@link submit} of a piece of a large upload, signaling a fence of the current slot's, which {@link piecesBehind}
   * reads (transfers.ts). The fences are made when the slot has none left and reset by {@link beginSlot}; one whose
   * submission failed is not counted and serves the next piece.
   * @throws VkError when creating the fence or submitting fails.
   */
  submitPiece(cmd: NvkHandle | null, semaphore: NvkHandle | null): void {
    const s = this.#slots[this.#slot]!;
    let fence = s.pieceFences[s.piecesUsed];
    if (fence === undefined) s.pieceFences.push((fence = this.#newFence()));
    this.submit(null, cmd, semaphore, fence);
    s.piecesUsed++;
  }

  /**
   * Whether the GPU has not yet run the piece submitted `lag` pieces before the last one in the current slot's frame
   * (false when there is no such piece).
   * @throws VkError when the fence's status is an error (a lost device).
   */
  piecesBehind(lag: number): boolean {
    const s = this.#slots[this.#slot]!;
    const i = s.piecesUsed - 1 - lag;
    if (i < 0) return false;
    const allocator = this.#allocator;
    const status = allocator._native.frameFenceStatus(allocator._handle, rawHandle(s.pieceFences[i]!));
    if (status === VK_NOT_READY) return true;
    check(status, "vkGetFenceStatus", this.#label);
    return false;
  }

  /**
   * The next free command buffer of the current slot, for the transfer queue or the main queue, begun
   * (ONE_TIME_SUBMIT); allocated when the slot has none left.
   * @throws VkError when allocating or beginning it fails.
   */
  begin(transfer: boolean): NvkHandle {
    const s = this.#slots[this.#slot]!;
    const list = transfer ? s.transferCmds : s.mainCmds;
    const used = transfer ? s.transferUsed++ : s.mainUsed++;
    let cmd = list[used];
    if (cmd === undefined) {
      cmd = new nvk.VkCommandBuffer();
      const info = new nvk.VkCommandBufferAllocateInfo({
        commandPool: transfer ? s.transferPool : s.mainPool,
        level: nvk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        commandBufferCount: 1,
      });
      check(nvk.vkAllocateCommandBuffers(this.#device, info, [cmd]), "vkAllocateCommandBuffers", this.#label);
      list.push(cmd);
    }
    const allocator = this.#allocator;
    check(
      allocator._native.frameBeginCommands(allocator._handle, 0n, rawHandle(cmd)),
      "vkBeginCommandBuffer",
      this.#label,
    );
    return cmd;
  }

  /**
   * Ends `cmd`, a command buffer of the current slot's that {@link begin} handed out.
   * @throws VkError when it fails.
   */
  end(cmd: NvkHandle): void {
    const allocator = this.#allocator;
    check(allocator._native.frameEndCommands(allocator._handle, rawHandle(cmd)), "vkEndCommandBuffer", this.#label);
  }

  /**
   * Submits `first` and then `cmd` (each none when null) to the main queue, waiting on `semaphore` (at ALL_COMMANDS)
   * when given and signaling `fence` (unsignaled, not in use) when given, through the addon. A submission of no
   * command buffer (submitAndWait's, to signal its fence) goes through nvk.
   * @throws VkError when the submission fails.
   */
  submit(first: NvkHandle | null, cmd: NvkHandle | null, semaphore: NvkHandle | null, fence: NvkHandle | null): void {
    const last = cmd ?? first;
    if (last === null) {
      const info = new nvk.VkSubmitInfo({
        waitSemaphoreCount: semaphore !== null ? 1 : 0,
        pWaitSemaphores: semaphore !== null ? [semaphore] : null,
        pWaitDstStageMask: semaphore !== null ? new Int32Array([STAGE_ALL]) : null,
      });
      check(nvk.vkQueueSubmit(this.#queueHandle, 1, [info], fence), "vkQueueSubmit", this.#label);
      return;
    }
    const s = this.#slots[this.#slot]!;
    // The semaphore is the current slot's in every submission after the transfer queue's (submitSignaling).
    const waits =
      semaphore === null ? null : semaphore === s.semaphore ? s.signal : BigUint64Array.of(rawHandle(semaphore));
    submitThroughAddon(
      this.#allocator,
      this.#queue,
      fence !== null ? rawHandle(fence) : 0n,
      cmd !== null && first !== null ? rawHandle(first) : 0n,
      rawHandle(last),
      waits,
      semaphore !== null ? ALL_COMMANDS_STAGE : null,
      null,
      this.#label,
    );
  }

  /**
   * Submits `cmd` to the dedicated transfer queue, signaling the current slot's semaphore, and returns that semaphore
   * for the main queue's submission to wait on.
   * @throws VkError when the submission fails.
   */
  submitSignaling(cmd: NvkHandle): NvkHandle {
    const s = this.#slots[this.#slot]!;
    submitThroughAddon(this.#allocator, this.#transferQueue, 0n, 0n, rawHandle(cmd), null, null, s.signal, this.#label);
    return s.semaphore!;
  }

  /**
   * {@link submit} with the early-submission fence (made on first use, destroyed by destroy()), then waits for it
   * and resets it: everything submitted to the main queue before has completed when this returns.
   * @throws VkError when creating the fence, submitting or waiting fails.
   */
  submitAndWait(cmd: NvkHandle | null, semaphore: NvkHandle | null): void {
    const device = this.#device;
    const fence = (this.#fence ??= this.#newFence());
    this.submit(null, cmd, semaphore, fence);
    check(nvk.vkWaitForFences(device, 1, [fence], true, NO_TIMEOUT), "vkWaitForFences", this.#label);
    check(nvk.vkResetFences(device, 1, [fence]), "vkResetFences", this.#label);
  }

  /** A new fence, unsignaled. @throws VkError when creating it fails. */
  #newFence(): NvkHandle {
    const fence = new nvk.VkFence();
    check(nvk.vkCreateFence(this.#device, new nvk.VkFenceCreateInfo(), null, fence), "vkCreateFence", this.#label);
    return fence;
  }

  /** Destroys the transfer pools, the semaphores and the fences. The GPU must be done with them. */
  destroy(): void {
    if (this.#fence !== null) nvk.vkDestroyFence(this.#device, this.#fence, null);
    this.#fence = null;
    for (const s of this.#slots) {
      if (s.transferPool !== null) nvk.vkDestroyCommandPool(this.#device, s.transferPool, null);
      if (s.semaphore !== null) nvk.vkDestroySemaphore(this.#device, s.semaphore, null);
      for (const fence of s.pieceFences) nvk.vkDestroyFence(this.#device, fence, null);
    }
    this.#slots.length = 0;
  }
}
