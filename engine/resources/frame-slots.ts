/**
 * Frame slots and the serials their fences complete: the part of a {@link FrameManager} that talks to fences.
 *
 * The manager keeps N slots (2 or 3). Each slot owns a command pool with one primary command buffer and a fence; each
 * submission made with a slot's fence gets the next serial, 1, 2, 3, ... in submission order, and the slot remembers
 * it. The invariants, and why they hold:
 *
 * - Completion is one number. Fences signaled by submissions to one queue cover every command submitted earlier on
 *   that queue, so once the fence of serial S is seen signaled, every serial up to S is complete. {@link completed}
 *   is the highest such serial; it only grows, and only after a fence wait or status check said so.
 * - A slot's command pool is reset only after its fence has signaled, that is, after the GPU finished the command
 *   buffer recorded in it: {@link waitForSlot} comes first. The fence is created signaled, so the first use of each
 *   slot does not wait, and {@link submit} resets it just before the submission that will signal it again, so a frame
 *   that is begun but never submitted leaves it signaled.
 * - A failed submission changes nothing: the slot keeps its old (complete) serial, so nobody waits on the fence left
 *   unsignaled, and the next submission resets it again.
 *
 * The calls every frame makes (the fence's status, the pool's reset and the command buffer's begin, its end, the
 * fence's reset and the submission) go through the addon (native/frame_commands.cpp) with the raw values of the
 * slot's objects, read once here: through nvk they cost 55-112 µs a frame on the two-core machine and 60-90 on an H100
 * host with a busy frame around them (30-43 and 15-19 through the addon), and inside the addon they are timed as the
 * manager's Vulkan calls, as VMA's are (issue 14's overhead figure). So do the waits for one slot's frame (beginFrame's
 * back-pressure, a full staging ring's), made only while the manager, and so its allocator, is alive. The others
 * (waitIdle's wait for all, polling, creation, destruction) go through nvk: destroy() waits and destroys with them,
 * whatever state the allocator is in.
 * @internal
 * @module
 */
import { check } from "../errors.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import { rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import {
  COMMAND_POOL_CREATE_TRANSIENT,
  FENCE_CREATE_SIGNALED,
  NO_TIMEOUT,
  OBJECT_TYPE_COMMAND_BUFFER,
  OBJECT_TYPE_COMMAND_POOL,
  OBJECT_TYPE_FENCE,
  STAGE_ALL,
  VK_NOT_READY,
} from "../vulkan/vk.js";
import type { EndFrameSync } from "./frame-options.js";

/** One frame slot: its Vulkan objects live as long as the manager; `serial` changes with each submission. */
export interface Slot {
  readonly pool: NvkHandle;
  readonly commandBuffer: NvkHandle;
  readonly fence: NvkHandle;
  /** The raw values of `pool`, `commandBuffer` and `fence`, for the addon's frame calls. */
  readonly rawPool: bigint;
  readonly rawCommandBuffer: bigint;
  readonly rawFence: bigint;
  /** `[rawFence]`, made once: the addon's fence wait takes an array. */
  readonly rawFences: BigUint64Array;
  /** The serial of the last submission made with this slot's fence (0: none). */
  serial: number;
}

/** The slots of one FrameManager: made by its constructor, destroyed by its destroy(). @internal */
export class FrameSlots {
  /** The slots, index = frame number modulo their count. */
  readonly list: readonly Slot[];
  /** The highest serial known complete (its fence, or a later one, seen signaled). */
  completed = 0;
  /** The serial of the last submission (0 before the first). */
  submitted = 0;
  readonly #device: NvkHandle;
  readonly #allocator: Allocator;
  /** The raw value of the context's queue. */
  readonly #queue: bigint;
  /** The manager's label, for VkError messages. */
  readonly #label: string | undefined;
  /** Per count of semaphores, the arrays a submission's waits, stages and signals are written into: made once. */
  readonly #waits: BigUint64Array[] = [];
  readonly #stages: Uint32Array[] = [];
  readonly #signals: BigUint64Array[] = [];

  /**
   * Creates `count` slots on `context`'s queue family, naming their objects after `name`; on failure destroys what
   * was made and rethrows. `allocator` (on the context's device) makes the frame calls: it outlives the slots.
   * @throws VkError when creating a command pool, fence or command buffer fails.
   */
  constructor(
    context: Context,
    allocator: Allocator,
    device: NvkHandle,
    count: number,
    name: string,
    label: string | undefined,
  ) {
    this.#device = device;
    this.#allocator = allocator;
    this.#queue = rawHandle(context.queue);
    this.#label = label;
    const slots: Slot[] = [];
    this.list = slots;
    try {
      for (let i = 0; i < count; i++) {
        const pool = new nvk.VkCommandPool();
        const poolInfo = new nvk.VkCommandPoolCreateInfo({
          flags: COMMAND_POOL_CREATE_TRANSIENT,
          queueFamilyIndex: context.queueFamilyIndex,
        });
        check(nvk.vkCreateCommandPool(device, poolInfo, null, pool), "vkCreateCommandPool", name);
        const fence = new nvk.VkFence();
        const fenceResult = nvk.vkCreateFence(
          device,
          new nvk.VkFenceCreateInfo({ flags: FENCE_CREATE_SIGNALED }),
          null,
          fence,
        );
        if (fenceResult < 0) {
          nvk.vkDestroyCommandPool(device, pool, null);
          check(fenceResult, "vkCreateFence", name);
        }
        const commandBuffer = new nvk.VkCommandBuffer();
        const allocateInfo = new nvk.VkCommandBufferAllocateInfo({
          commandPool: pool,
          level: nvk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
          commandBufferCount: 1,
        });
        const allocated = nvk.vkAllocateCommandBuffers(device, allocateInfo, [commandBuffer]);
        slots.push({
          pool,
          commandBuffer,
          fence,
          rawPool: rawHandle(pool),
          rawCommandBuffer: rawHandle(commandBuffer),
          rawFence: rawHandle(fence),
          rawFences: BigUint64Array.of(rawHandle(fence)),
          serial: 0,
        });
        check(allocated, "vkAllocateCommandBuffers", name);
        context.setObjectName(OBJECT_TYPE_COMMAND_POOL, pool, `${name} slot ${i} command pool`);
        context.setObjectName(OBJECT_TYPE_COMMAND_BUFFER, commandBuffer, `${name} slot ${i} command buffer`);
        context.setObjectName(OBJECT_TYPE_FENCE, fence, `${name} slot ${i} fence`);
      }
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  /**
   * Back-pressure: when the frame that last used `slot` is not known complete, checks its fence and, when it has
   * not signaled, waits for it. Afterwards that frame's serial is complete and the slot's pool may be reset.
   * Returns the microseconds waited, or -1 when there was no wait.
   * @throws VkError when the status check or the wait fails (e.g. device lost).
   */
  waitForSlot(slot: Slot): number {
    if (slot.serial <= this.completed) return -1;
    let waited = -1;
    const allocator = this.#allocator;
    const status = allocator._native.frameFenceStatus(allocator._handle, slot.rawFence);
    if (status === VK_NOT_READY) {
      const waitStart = performance.now();
      check(
        allocator._native.frameWaitFences(allocator._handle, slot.rawFences, false),
        "vkWaitForFences",
        this.#label,
      );
      waited = (performance.now() - waitStart) * 1000;
    } else {
      check(status, "vkGetFenceStatus", this.#label);
    }
    this.completed = slot.serial;
    return waited;
  }

  /**
   * Waits for the fence of `serial` when a slot still holds it, and returns true; returns false when no slot does
   * (the caller then waits for every submission).
   * @throws VkError when the wait fails.
   */
  waitForSerial(serial: number): boolean {
    const slot = this.list.find((s) => s.serial === serial);
    if (slot === undefined) return false;
    const allocator = this.#allocator;
    check(allocator._native.frameWaitFences(allocator._handle, slot.rawFences, false), "vkWaitForFences", this.#label);
    this.completed = Math.max(this.completed, serial);
    return true;
  }

  /**
   * Waits for the fences of every submission not known complete. Does not raise {@link completed}: the caller does,
   * once whatever else it waits for is done. With `strict` false a failed wait is ignored (destruction goes on).
   * @throws VkError when the wait fails and `strict` is true.
   */
  waitAll(strict: boolean): void {
    const pending = this.list.filter((s) => s.serial > this.completed).map((s) => s.fence);
    if (pending.length > 0) {
      const result = nvk.vkWaitForFences(this.#device, pending.length, pending, true, NO_TIMEOUT);
      if (strict) check(result, "vkWaitForFences", this.#label);
    }
  }

  /**
   * Checks the fences without blocking and raises {@link completed} to the newest serial whose fence has signaled
   * (a signaled fence covers every earlier serial on the queue). Returns it.
   */
  poll(): number {
    let done = this.completed;
    for (const slot of this.list) {
      if (slot.serial > done && nvk.vkGetFenceStatus(this.#device, slot.fence) === 0) done = slot.serial;
    }
    this.completed = done;
    return done;
  }

  /**
   * Resets `slot`'s command pool and begins its command buffer for one submission. The slot's fence must have
   * signaled ({@link waitForSlot}).
   * @throws VkError when the reset or the begin fails.
   */
  begin(slot: Slot): void {
    const allocator = this.#allocator;
    const result = allocator._native.frameBeginCommands(allocator._handle, slot.rawPool, slot.rawCommandBuffer);
    if (result !== 0) checkPair(result, "vkResetCommandPool", "vkBeginCommandBuffer", this.#label);
  }

  /**
   * Ends `slot`'s command buffer.
   * @throws VkError when it fails.
   */
  end(slot: Slot): void {
    const allocator = this.#allocator;
    check(
      allocator._native.frameEndCommands(allocator._handle, slot.rawCommandBuffer),
      "vkEndCommandBuffer",
      this.#label,
    );
  }

  /**
   * Resets `slot`'s fence and submits with it `mainCmd` (the upload batch, when there is one), then the slot's
   * command buffer, waiting on `transferWait` (the transfer queue's semaphore, at ALL_COMMANDS) and on `sync`'s
   * semaphores, signaling `sync`'s. The slot and {@link submitted} then hold `serial`.
   * @throws VkError when the reset or the submission fails (nothing was submitted then).
   */
  submitFrame(
    slot: Slot,
    serial: number,
    mainCmd: NvkHandle | null,
    transferWait: NvkHandle | null,
    sync: EndFrameSync,
  ): void {
    const extra = transferWait !== null ? 1 : 0;
    const waitCount = sync.waits.length + extra;
    let waits: BigUint64Array | null = null;
    let stages: Uint32Array | null = null;
    let signals: BigUint64Array | null = null;
    if (waitCount > 0) {
      waits = this.#waits[waitCount] ??= new BigUint64Array(waitCount);
      stages = this.#stages[waitCount] ??= new Uint32Array(waitCount);
      if (transferWait !== null) {
        waits[0] = rawHandle(transferWait);
        stages[0] = STAGE_ALL;
      }
      for (let i = 0; i < sync.waits.length; i++) {
        waits[extra + i] = sync.waits[i]!;
        stages[extra + i] = sync.stages[i]!;
      }
    }
    const signalCount = sync.signals.length;
    if (signalCount > 0) {
      signals = this.#signals[signalCount] ??= new BigUint64Array(signalCount);
      for (let i = 0; i < signalCount; i++) signals[i] = sync.signals[i]!;
    }
    submitThroughAddon(
      this.#allocator,
      this.#queue,
      slot.rawFence,
      mainCmd !== null ? rawHandle(mainCmd) : 0n,
      slot.rawCommandBuffer,
      waits,
      stages,
      signals,
      this.#label,
    );
    slot.serial = serial;
    this.submitted = serial;
  }

  /** Destroys every slot's fence and command pool (which frees its command buffer). The GPU must be done with them. */
  destroy(): void {
    for (const slot of this.list) {
      nvk.vkDestroyFence(this.#device, slot.fence, null);
      nvk.vkDestroyCommandPool(this.#device, slot.pool, null);
    }
  }
}

/**
 * check() of an addon frame call that makes two Vulkan calls: 0, the first's VkResult, or the second's less 2^32
 * (native/frame_commands.cpp), so that the VkError names the call that failed.
 * @throws VkError for a failed call.
 * @internal
 */
export function checkPair(result: number, first: string, second: string, label: string | undefined): void {
  if (result < -0x80000000) check(result + 0x100000000, second, label);
  else check(result, first, label);
}

/**
 * The addon's frameSubmit on `allocator`'s device (native/frame_commands.cpp): resets `fence` (0n: none) and submits
 * `first` (0n: none) and `second` to `queue`, waiting on `waits` at `stages` and signaling `signals` and the fence.
 * @throws VkError naming the call that failed (`label` the manager's).
 * @internal
 */
export function submitThroughAddon(
  allocator: Allocator,
  queue: bigint,
  fence: bigint,
  first: bigint,
  second: bigint,
  waits: BigUint64Array | null,
  stages: Uint32Array | null,
  signals: BigUint64Array | null,
  label: string | undefined,
): void {
  const result = allocator._native.frameSubmit(allocator._handle, queue, fence, first, second, waits, stages, signals);
  if (result !== 0) checkPair(result, "vkResetFences", "vkQueueSubmit", label);
}
