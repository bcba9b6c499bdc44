/**
 * FrameManager (engine/resources/frame-manager.ts) on real Vulkan (lavapipe here), with the validation layer and
 * synchronization validation on: any message fails the test. Frames cycle through their slots; a destruction queued
 * in frame F is carried out only by the beginFrame that waits on F's fence (seen through the allocator's live
 * allocation count); shutdown with frames in flight drains everything and leaves no allocation behind; semaphores
 * pass through endFrame; bad options and misuse are refused; every method but destroy() throws after destroy().
 * The frame's own Vulkan calls, made by the addon (native/frame_commands.cpp), refuse bad arguments before calling
 * Vulkan and name the call that failed.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  createAllocator,
  createFrameManager,
  DestroyedResourceError,
  FrameManager,
  MemoryUsage,
  nvk,
  type Allocation,
  type Allocator,
  type Context,
  type Frame,
  type FrameStatistics,
  type NvkHandle,
  InvalidStateError,
  DeviceLostError,
  VkError,
} from "../../engine/index.js";
import { checkPair } from "../../engine/resources/frame-slots.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem frame manager tests", synchronizationValidation: true });

let context: Context;
let allocator: Allocator;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "frames" });
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

interface TestBuffer {
  buffer: NvkHandle;
  allocation: Allocation;
  size: number;
}

/** A device-local buffer that `frame` fills with `value` (a transfer write the GPU does when the frame runs). */
function filledBuffer(frame: Frame, name: string, size = 64 * 1024, value = 0x5eed5eed): TestBuffer {
  const { buffer, allocation } = allocator.createBuffer(
    { size, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
    { usage: MemoryUsage.GpuOnly, name },
  );
  nvk.vkCmdFillBuffer(frame.commandBuffer, buffer, 0, size, value);
  return { buffer, allocation, size };
}

/** Queues `b`'s destruction in `manager` (under the frame being recorded); returns whether it was queued. */
function destroyLater(manager: FrameManager, b: TestBuffer, log?: string[]): boolean {
  const label = b.allocation.label ?? "buffer";
  return manager.destroyLater(label, b.size, () => {
    log?.push(label);
    allocator.destroyBuffer(b.buffer, b.allocation);
  });
}

/** Runs `fn` with a manager and destroys it afterwards, also when `fn` fails. */
function withManager(options: { framesInFlight?: number; label?: string }, fn: (manager: FrameManager) => void): void {
  const manager = createFrameManager(context, allocator, options);
  try {
    fn(manager);
  } finally {
    manager.destroy();
  }
}

describe("frames in flight", () => {
  for (const framesInFlight of [2, 3]) {
    test(`${framesInFlight} frames in flight cycle through ${framesInFlight} slots, serials counting up`, () => {
      withManager({ framesInFlight, label: `cycle${framesInFlight}` }, (manager) => {
        expect(manager.framesInFlight).toBe(framesInFlight);
        expect(manager.submittedSerial).toBe(0);
        expect(manager.completedSerial).toBe(0);
        expect(manager.frameStatistics).toBeNull();
        const commandBuffers: NvkHandle[] = [];
        for (let n = 0; n < 4 * framesInFlight; n++) {
          const frame = manager.beginFrame();
          expect(frame.index).toBe(n % framesInFlight);
          expect(frame.frameNumber).toBe(n);
          expect(frame.serial).toBe(n + 1);
          expect(manager.currentFrame).toBe(frame);
          // The frame that last used this slot (serial n + 1 - framesInFlight) is complete before its buffer is reused.
          expect(manager.completedSerial).toBeGreaterThanOrEqual(n + 1 - framesInFlight);
          if (n < framesInFlight) commandBuffers.push(frame.commandBuffer);
          else expect(frame.commandBuffer).toBe(commandBuffers[frame.index]);
          manager.endFrame();
          expect(manager.currentFrame).toBeNull();
          expect(manager.submittedSerial).toBe(n + 1);
        }
        expect(new Set(commandBuffers.map((c) => c.memoryAddress)).size).toBe(framesInFlight);
        manager.waitIdle();
        expect(manager.completedSerial).toBe(4 * framesInFlight);
        expect(manager.statistics.framesSubmitted).toBe(4 * framesInFlight);
      });
    });
  }

  test("what a frame records has run once the beginFrame that reuses its slot returns", () => {
    withManager({ framesInFlight: 2 }, (manager) => {
      const size = 4096;
      const { buffer, allocation } = allocator.createBuffer(
        { size, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
        { usage: MemoryUsage.Auto, hostAccess: "random", mapped: true, name: "readback" },
      );
      const frame = manager.beginFrame();
      nvk.vkCmdFillBuffer(frame.commandBuffer, buffer, 0, size, 0xc0ffee11);
      const barrier = new nvk.VkMemoryBarrier({
        srcAccessMask: nvk.VK_ACCESS_TRANSFER_WRITE_BIT,
        dstAccessMask: nvk.VK_ACCESS_HOST_READ_BIT,
      });
      nvk.vkCmdPipelineBarrier(
        frame.commandBuffer,
        nvk.VK_PIPELINE_STAGE_TRANSFER_BIT,
        nvk.VK_PIPELINE_STAGE_HOST_BIT,
        0,
        1,
        [barrier],
        0,
        null,
        0,
        null,
      );
      manager.endFrame();
      manager.beginFrame();
      manager.endFrame();
      manager.beginFrame(); // slot 0 again: waits for the fill's fence
      allocation.invalidate(0, size);
      const words = new Uint32Array(allocation.info.mappedData!);
      expect(words.every((w) => w === 0xc0ffee11)).toBe(true);
      manager.endFrame();
      manager.destroyLater("readback", size, () => allocator.destroyBuffer(buffer, allocation));
    });
  });

  test("beginFrame tells the allocator the frame number", () => {
    const spy = vi.spyOn(allocator, "setCurrentFrameIndex");
    try {
      withManager({}, (manager) => {
        for (let n = 0; n < 5; n++) {
          manager.beginFrame();
          expect(spy).toHaveBeenLastCalledWith(n);
          manager.endFrame();
        }
      });
    } finally {
      spy.mockRestore();
    }
  });

  test("endFrame waits on and signals the semaphores it is given", () => {
    const semaphore = new nvk.VkSemaphore();
    expect(nvk.vkCreateSemaphore(context.device, new nvk.VkSemaphoreCreateInfo(), null, semaphore)).toBe(0);
    try {
      withManager({}, (manager) => {
        for (let round = 0; round < 3; round++) {
          const a = filledBuffer(manager.beginFrame(), `signaled ${round}`);
          destroyLater(manager, a);
          manager.endFrame({ signalSemaphores: [semaphore] });
          const b = filledBuffer(manager.beginFrame(), `waited ${round}`);
          destroyLater(manager, b);
          manager.endFrame({ waitSemaphores: [semaphore], waitStages: [nvk.VK_PIPELINE_STAGE_TRANSFER_BIT] });
        }
        // waitStages default to ALL_COMMANDS
        manager.beginFrame();
        manager.endFrame({ signalSemaphores: [semaphore] });
        manager.beginFrame();
        manager.endFrame({ waitSemaphores: [semaphore] });
        manager.waitIdle();
      });
    } finally {
      nvk.vkDestroySemaphore(context.device, semaphore, null);
    }
  });

  test("endFrame passes two semaphores each way at the stages given, then one again", () => {
    // Validation refuses a wait on a semaphore with no signal pending: a semaphore the submission dropped or named
    // wrongly fails the test.
    const semaphores = [0, 1].map(() => {
      const semaphore = new nvk.VkSemaphore();
      expect(nvk.vkCreateSemaphore(context.device, new nvk.VkSemaphoreCreateInfo(), null, semaphore)).toBe(0);
      return semaphore;
    });
    try {
      withManager({}, (manager) => {
        for (let round = 0; round < 2; round++) {
          destroyLater(manager, filledBuffer(manager.beginFrame(), `signals two ${round}`));
          manager.endFrame({ signalSemaphores: semaphores });
          destroyLater(manager, filledBuffer(manager.beginFrame(), `waits for two ${round}`));
          manager.endFrame({
            waitSemaphores: semaphores,
            waitStages: [nvk.VK_PIPELINE_STAGE_TRANSFER_BIT, nvk.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT],
          });
          manager.beginFrame();
          manager.endFrame({ signalSemaphores: [semaphores[1]!] });
          manager.beginFrame();
          manager.endFrame({ waitSemaphores: [semaphores[1]!] });
        }
        manager.waitIdle();
        expect([manager.submittedSerial, manager.completedSerial]).toEqual([8, 8]);
      });
    } finally {
      for (const semaphore of semaphores) nvk.vkDestroySemaphore(context.device, semaphore, null);
    }
  });

  test("the addon's frame calls refuse bad arguments before calling Vulkan; the manager goes on", () => {
    const native = allocator._native;
    const h = allocator._handle;
    const nullHandles = new TypeError("vkmem native: frameSubmit: null queue or command buffer");
    const shape = /^vkmem native: frameSubmit\(allocator, queue, fence, first, second, waits: BigUint64Array \| null/;
    expect(() => native.frameSubmit(h, 1n, 1n, 0n, 0n, null, null, null)).toThrow(nullHandles);
    expect(() => native.frameSubmit(h, 0n, 1n, 0n, 1n, null, null, null)).toThrow(nullHandles);
    expect(() => native.frameSubmit(h, 1n, 1n, 0n, 1n, new BigUint64Array(1), null, null)).toThrow(shape);
    expect(() => native.frameSubmit(h, 1n, 1n, 0n, 1n, new BigUint64Array(2), new Uint32Array(1), null)).toThrow(shape);
    expect(() => native.frameSubmit(h, 1n, 1n, 0n, 1n, [1n] as never, new Uint32Array(1), null)).toThrow(shape);
    expect(() => native.frameSubmit(h, 1n, 1n, 0n, 1n, null, null, new Float64Array(1) as never)).toThrow(shape);
    expect(() => native.frameSubmit(h, 1n, 1n, 0 as never, 1n, null, null, null)).toThrow(
      new TypeError("vkmem native: first must be a BigInt handle"),
    );
    expect(() => native.frameFenceStatus(h, 0n)).toThrow(new TypeError("vkmem native: frameFenceStatus: null fence"));
    expect(() => native.frameBeginCommands(h, 1n, 0n)).toThrow(
      new TypeError("vkmem native: frameBeginCommands: null command buffer"),
    );
    expect(() => native.frameEndCommands(h, 0n)).toThrow(
      new TypeError("vkmem native: frameEndCommands: null command buffer"),
    );
    const waitShape =
      /^vkmem native: frameWaitFences\(allocator, fences: BigUint64Array of at least one, reset: boolean\)/;
    expect(() => native.frameWaitFences(h, new BigUint64Array(0), false)).toThrow(waitShape);
    expect(() => native.frameWaitFences(h, null as never, false)).toThrow(waitShape);
    expect(() => native.frameWaitFences(h, [1n] as never, false)).toThrow(waitShape);
    expect(() => native.frameWaitFences(h, new Float64Array(1) as never, false)).toThrow(waitShape);
    expect(() => native.frameWaitFences(h, BigUint64Array.of(1n), 1 as never)).toThrow(waitShape);
    expect(() => native.frameWaitFences(h, BigUint64Array.of(1n, 0n), true)).toThrow(
      new TypeError("vkmem native: frameWaitFences: null fence"),
    );
    expect(() => native.frameResetPool(h, 0n)).toThrow(
      new TypeError("vkmem native: frameResetPool: null command pool"),
    );
    expect(() => native.frameResetPool(h, 1 as never)).toThrow(
      new TypeError("vkmem native: pool must be a BigInt handle"),
    );
    const gone = createAllocator(context, { label: "gone" });
    const stale = gone._handle;
    expect(gone.destroy()).toEqual([]);
    expect(() => native.frameFenceStatus(stale, 1n)).toThrow("vkmem native: stale or invalid allocator handle");
    expect(() => native.frameWaitFences(stale, BigUint64Array.of(1n), false)).toThrow(
      "vkmem native: stale or invalid allocator handle",
    );
    expect(() => native.frameResetPool(stale, 1n)).toThrow("vkmem native: stale or invalid allocator handle");
    withManager({}, (manager) => {
      destroyLater(manager, filledBuffer(manager.beginFrame(), "after the refusals"));
      manager.endFrame();
      manager.waitIdle();
      expect(manager.completedSerial).toBe(1);
    });
  });

  test("a failed frame call's VkError names the call that failed", () => {
    const failed = (result: number): VkError | null => {
      try {
        checkPair(result, "vkResetFences", "vkQueueSubmit", "frames");
        return null;
      } catch (error) {
        return error as VkError;
      }
    };
    expect(failed(0)).toBeNull();
    const first = failed(-4)!;
    expect(first).toBeInstanceOf(DeviceLostError);
    expect([first.operation, first.result, first.label]).toEqual(["vkResetFences", -4, "frames"]);
    const second = failed(-4 - 2 ** 32)!;
    expect(second).toBeInstanceOf(DeviceLostError);
    expect([second.operation, second.result]).toEqual(["vkQueueSubmit", -4]);
    const largest = failed(-1000001004 - 2 ** 32)!; // VK_ERROR_OUT_OF_DATE_KHR, from the second call
    expect([largest.operation, largest.result]).toEqual(["vkQueueSubmit", -1000001004]);
  });

  test("beginFrame twice, or endFrame without a frame, is refused and leaves the manager usable", () => {
    withManager({ label: "misuse" }, (manager) => {
      expect(() => manager.endFrame()).toThrow(
        "FrameManager 'misuse'.endFrame: no frame is being recorded: call beginFrame() first",
      );
      expect(() => manager.endFrame()).toThrow(InvalidStateError);
      manager.beginFrame();
      expect(() => manager.beginFrame()).toThrow(
        "FrameManager 'misuse'.beginFrame: frame 0 is still being recorded: call endFrame() first",
      );
      expect(() => manager.beginFrame()).toThrow(InvalidStateError);
      manager.endFrame();
      manager.beginFrame();
      manager.endFrame();
      expect(manager.submittedSerial).toBe(2);
    });
  });

  test("bad endFrame options are refused before anything is ended or submitted", () => {
    withManager({}, (manager) => {
      manager.beginFrame();
      expect(() => manager.endFrame({ signalSemaphore: 1 } as never)).toThrow(
        new TypeError("FrameManager.endFrame: unknown option 'signalSemaphore' (value 1)"),
      );
      expect(() => manager.endFrame({ waitSemaphores: [42] } as never)).toThrow(
        /option 'waitSemaphores' must be an array of nvk VkSemaphore handles, got Array \[42\]/,
      );
      expect(() => manager.endFrame({ signalSemaphores: new nvk.VkFence() } as never)).toThrow(TypeError);
      expect(() => manager.endFrame({ waitStages: [nvk.VK_PIPELINE_STAGE_TRANSFER_BIT] })).toThrow(
        new RangeError(
          "FrameManager.endFrame: option 'waitStages' must have one entry per wait semaphore (0), got Array [4096]",
        ),
      );
      expect(() => manager.endFrame({ waitStages: [0] })).toThrow(/non-zero VkPipelineStageFlags, got Array \[0\]/);
      expect(() => manager.endFrame(7 as never)).toThrow(
        new TypeError("FrameManager.endFrame: options must be an object, got 7"),
      );
      expect(() => manager.endFrame({ signalSemaphores: [new nvk.VkSemaphore()] })).toThrow(
        new TypeError(
          "FrameManager.endFrame: option 'signalSemaphores[0]' is VK_NULL_HANDLE (a VkSemaphore never created)",
        ),
      );
      expect(manager.currentFrame).not.toBeNull();
      expect(manager.submittedSerial).toBe(0);
      manager.endFrame();
      expect(manager.submittedSerial).toBe(1);
    });
  });
});

describe("deferred destruction", () => {
  test("a buffer destroyed in frame F is freed only by the beginFrame that waits on F's fence", () => {
    withManager({ framesInFlight: 2 }, (manager) => {
      manager.beginFrame();
      manager.endFrame(); // F - 1, slot 1 next time round
      const baseline = allocator.allocationCount;

      const frameF = manager.beginFrame(); // F: slot 1
      const buffer = filledBuffer(frameF, "used in F");
      expect(allocator.allocationCount).toBe(baseline + 1);
      expect(destroyLater(manager, buffer)).toBe(true);
      expect(manager.frameStatistics!.deferredQueued).toBe(1);
      manager.endFrame();
      expect(allocator.allocationCount).toBe(baseline + 1);
      expect(buffer.allocation.destroyed).toBe(false);
      expect(manager.statistics.deferredPending).toBe(1);
      expect(manager.statistics.deferredPendingBytes).toBe(buffer.size);

      const next = manager.beginFrame(); // F + 1: slot 0, waits on F - 1 only
      expect(next.index).not.toBe(frameF.index);
      expect(manager.completedSerial).toBeLessThan(frameF.serial);
      expect(allocator.allocationCount).toBe(baseline + 1);
      expect(manager.frameStatistics!.deferredRetired).toBe(0);
      manager.endFrame();

      const reuse = manager.beginFrame(); // F + 2: slot 1 again, waits on F's fence and retires
      expect(reuse.index).toBe(frameF.index);
      expect(manager.completedSerial).toBeGreaterThanOrEqual(frameF.serial);
      expect(allocator.allocationCount).toBe(baseline);
      expect(buffer.allocation.destroyed).toBe(true);
      const stats: FrameStatistics = manager.frameStatistics!;
      expect(stats.deferredRetired).toBe(1);
      expect(stats.deferredRetiredBytes).toBe(buffer.size);
      manager.endFrame();
      expect(manager.statistics.deferredPending).toBe(0);
      expect(manager.statistics.deferredRetired).toBe(1);
    });
  });

  test("destructions retire in the order their frames were submitted, each once", () => {
    withManager({ framesInFlight: 3 }, (manager) => {
      const log: string[] = [];
      const expected: string[] = [];
      for (let n = 0; n < 12; n++) {
        const frame = manager.beginFrame();
        for (let k = 0; k < 2; k++) {
          const b = filledBuffer(frame, `f${n}b${k}`, 256, n);
          destroyLater(manager, b, log);
          expected.push(`f${n}b${k}`);
        }
        manager.endFrame();
        // Everything queued in frames whose serial is complete has run, and nothing else.
        const done = manager.completedSerial;
        expect(log).toEqual(expected.slice(0, 2 * done));
      }
      manager.waitIdle();
      expect(log).toEqual(expected);
    });
  });

  test("destroyLater destroys at once when the last use is already complete, and refuses a future serial", () => {
    withManager({ label: "now" }, (manager) => {
      const log: string[] = [];
      // Never used by the GPU: serial 0.
      const idle = allocator.createBuffer(
        { size: 256, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
        { usage: MemoryUsage.GpuOnly, name: "idle" },
      );
      expect(manager.destroyLater("idle", 256, () => allocator.destroyBuffer(idle.buffer, idle.allocation), 0)).toBe(
        false,
      );
      expect(idle.allocation.destroyed).toBe(true);

      const frame = manager.beginFrame();
      const used = filledBuffer(frame, "used");
      manager.endFrame();
      manager.waitIdle();
      expect(manager.completedSerial).toBe(frame.serial);
      // Between frames the default last use is the last submitted frame, complete now.
      expect(destroyLater(manager, used, log)).toBe(false);
      expect(log).toEqual(["used"]);
      expect(manager.statistics.deferredImmediate).toBe(2);
      expect(manager.statistics.deferredQueued).toBe(0);

      expect(() => manager.destroyLater("x", 0, () => {}, frame.serial + 1)).toThrow(
        new RangeError(
          `FrameManager 'now'.destroyLater: lastUsedSerial must be an integer from 0 to ${frame.serial} (the newest frame's serial), got ${frame.serial + 1}`,
        ),
      );
      expect(() => manager.destroyLater(5 as never, 0, () => {})).toThrow(
        new TypeError("FrameManager 'now'.destroyLater: label must be a string, got 5"),
      );
      expect(() => manager.destroyLater("x", -1, () => {})).toThrow(RangeError);
      expect(() => manager.destroyLater("x", 0, "no" as never)).toThrow(TypeError);
      expect(manager.statistics.deferredImmediate).toBe(2);
    });
  });

  test("a destruction tied to an older, unfinished frame waits for that frame only", () => {
    withManager({ framesInFlight: 3 }, (manager) => {
      const log: string[] = [];
      const first = manager.beginFrame();
      const old = filledBuffer(first, "old");
      manager.endFrame();
      manager.beginFrame();
      // Queued now, under the serial of the frame that used it (not the one being recorded).
      expect(
        manager.destroyLater(
          "old",
          old.size,
          () => {
            log.push("old");
            allocator.destroyBuffer(old.buffer, old.allocation);
          },
          first.serial,
        ),
      ).toBe(manager.completedSerial < first.serial);
      manager.endFrame();
      manager.beginFrame(); // slot 2: first use, no wait
      manager.endFrame();
      manager.beginFrame(); // slot 0: waits on the first frame
      expect(log).toEqual(["old"]);
      manager.endFrame();
    });
  });

  test("waitIdle runs what submitted frames held and keeps what the open frame holds", () => {
    withManager({}, (manager) => {
      const log: string[] = [];
      for (let n = 0; n < 2; n++) {
        destroyLater(manager, filledBuffer(manager.beginFrame(), `submitted ${n}`), log);
        manager.endFrame();
      }
      const open = filledBuffer(manager.beginFrame(), "open");
      destroyLater(manager, open, log);
      manager.waitIdle();
      expect(log).toEqual(["submitted 0", "submitted 1"]);
      expect(open.allocation.destroyed).toBe(false);
      manager.endFrame();
      manager.waitIdle();
      expect(log).toEqual(["submitted 0", "submitted 1", "open"]);
    });
  });
});

describe("statistics", () => {
  test("per-frame figures add up to the totals", () => {
    withManager({ framesInFlight: 2 }, (manager) => {
      const perFrame: FrameStatistics[] = [];
      for (let n = 0; n < 10; n++) {
        const frame = manager.beginFrame();
        // Enough GPU work that the CPU may run ahead and have to wait (counted if it happens; never required).
        for (let k = 0; k < 3; k++) destroyLater(manager, filledBuffer(frame, `s${n}.${k}`, 8 << 20, k));
        manager.endFrame();
        const s = manager.frameStatistics!;
        expect(s.frameNumber).toBe(n);
        expect(s.serial).toBe(n + 1);
        expect(s.backPressureWaits === 0 || s.backPressureWaits === 1).toBe(true);
        expect(s.backPressureWaitUs).toBeGreaterThanOrEqual(0);
        expect(s.beginFrameUs).toBeGreaterThan(0);
        expect(s.endFrameUs).toBeGreaterThan(0);
        expect(s.deferredQueued).toBe(3);
        perFrame.push(s);
      }
      const total = manager.statistics;
      const sum = (key: keyof FrameStatistics): number => perFrame.reduce((a, s) => a + s[key], 0);
      expect(total.framesSubmitted).toBe(10);
      expect(total.backPressureWaits).toBe(sum("backPressureWaits"));
      expect(total.backPressureWaitUs).toBeCloseTo(sum("backPressureWaitUs"), 6);
      expect(total.beginFrameUs).toBeCloseTo(sum("beginFrameUs"), 6);
      expect(total.endFrameUs).toBeCloseTo(sum("endFrameUs"), 6);
      expect(total.deferredQueued).toBe(30);
      expect(total.deferredRetired).toBe(sum("deferredRetired"));
      expect(total.deferredRetired + total.deferredPending).toBe(30);
      expect(total.deferredPendingBytes).toBe(total.deferredPending * (8 << 20));
      // A frame's statistics object is its own: the next frame gets a new one.
      expect(new Set(perFrame).size).toBe(10);
    });
  });
});

describe("shutdown", () => {
  test("destroy with frames in flight and a frame open drains everything and leaks nothing", () => {
    const own = createAllocator(context, { label: "shutdown" });
    const manager = createFrameManager(context, own, { framesInFlight: 3 });
    const log: string[] = [];
    let made = 0;
    const frames = 7;
    for (let n = 0; n <= frames; n++) {
      const frame = manager.beginFrame();
      for (let k = 0; k < 3; k++) {
        const size = 4096 * (k + 1);
        const label = `f${n}.${k}`;
        const { buffer, allocation } = own.createBuffer(
          { size, usage: vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT },
          { usage: MemoryUsage.GpuOnly, name: label },
        );
        nvk.vkCmdFillBuffer(frame.commandBuffer, buffer, 0, size, n);
        manager.destroyLater(label, size, () => {
          log.push(label);
          own.destroyBuffer(buffer, allocation);
        });
        made++;
      }
      if (n < frames) manager.endFrame(); // the last frame stays open: it will never be submitted
    }
    expect(manager.statistics.deferredPending).toBeGreaterThan(0);
    manager.destroy();
    expect(manager.destroyed).toBe(true);
    expect(log.length).toBe(made);
    expect(own.allocationCount).toBe(0);
    expect(own.destroy()).toEqual([]);
  });

  test("destroy twice does nothing; every other use after destroy throws DestroyedResourceError", () => {
    const manager = createFrameManager(context, allocator, { label: "gone" });
    manager.beginFrame();
    manager.endFrame();
    manager.destroy();
    manager.destroy();
    expect(manager.destroyed).toBe(true);
    expect(() => manager.beginFrame()).toThrow(new DestroyedResourceError("FrameManager", "gone", "beginFrame"));
    expect(() => manager.beginFrame()).toThrow("FrameManager 'gone' has been destroyed (in beginFrame)");
    expect(() => manager.endFrame()).toThrow(DestroyedResourceError);
    expect(() => manager.destroyLater("x", 0, () => {})).toThrow(DestroyedResourceError);
    expect(() => manager.waitIdle()).toThrow(DestroyedResourceError);
    expect(() => manager.statistics).toThrow(DestroyedResourceError);
    expect(() => manager.frameStatistics).toThrow(DestroyedResourceError);
    expect(() => manager.completedSerial).toThrow(DestroyedResourceError);
    expect(() => manager.submittedSerial).toThrow(DestroyedResourceError);
    expect(() => manager.currentFrame).toThrow(DestroyedResourceError);
  });

  test("a destroy callback that throws does not stop the shutdown; its error comes out of destroy()", () => {
    const manager = createFrameManager(context, allocator);
    const b = filledBuffer(manager.beginFrame(), "after the throw");
    manager.destroyLater("throws", 0, () => {
      throw new Error("callback failed");
    });
    destroyLater(manager, b);
    manager.endFrame();
    expect(() => manager.destroy()).toThrow("callback failed");
    expect(manager.destroyed).toBe(true);
    expect(b.allocation.destroyed).toBe(true);
  });
});

describe("creation", () => {
  test("bad options are refused with the value in the message", () => {
    for (const framesInFlight of [1, 4, 0, 2.5, NaN]) {
      expect(() => createFrameManager(context, allocator, { framesInFlight })).toThrow(
        new RangeError(`createFrameManager: option 'framesInFlight' must be 2 or 3, got ${String(framesInFlight)}`),
      );
    }
    expect(() => createFrameManager(context, allocator, { framesInFlight: "2" as never })).toThrow(
      /must be 2 or 3, got "2"/,
    );
    expect(() => createFrameManager(context, allocator, { frames: 2 } as never)).toThrow(
      new TypeError("createFrameManager: unknown option 'frames' (value 2)"),
    );
    expect(() => createFrameManager(context, allocator, { label: 3 as never })).toThrow(
      new TypeError("createFrameManager: option 'label' must be a string, got 3"),
    );
    expect(() => createFrameManager(context, allocator, null as never)).toThrow(
      new TypeError("createFrameManager: options must be an object, got null"),
    );
    expect(() => createFrameManager({} as never, allocator)).toThrow(/context must be a Context/);
    expect(() => createFrameManager(context, {} as never)).toThrow(/allocator must be an Allocator/);
  });

  test("Vulkan objects are named only with a messenger or debugNames; debugNames must be a boolean", () => {
    expect(() => createFrameManager(context, allocator, { debugNames: "yes" as never })).toThrow(
      new TypeError(`createFrameManager: option 'debugNames' must be a boolean, got "yes"`),
    );
    const named = vi.spyOn(context, "setObjectName");
    try {
      for (const [debugNames, calls] of [
        [undefined, context.validation ? 4 : 0],
        [false, 0],
        [true, 4],
      ] as const) {
        named.mockClear();
        const manager = createFrameManager(context, allocator, { debugNames });
        manager.createBuffer({ label: "named buffer", size: 64, usage: 0x20 }).destroy();
        manager.createTexture({ label: "named texture", width: 4, height: 4, format: 37 }).destroy();
        manager.createBuffer({ label: "named buffer 2", size: 64, usage: 0x20 }).destroy();
        manager.destroy();
        // The manager's own objects (command pools, fences, rings) are named as before; count the resources'.
        const resources = named.mock.calls.filter((call) => String(call[2]).startsWith("named "));
        expect(resources.length, `debugNames ${debugNames}`).toBe(calls);
      }
    } finally {
      named.mockRestore();
    }
  });

  test("a buffer's and a texture's VMA allocation are named after their labels, long ones too", () => {
    const manager = createFrameManager(context, allocator, { label: "names" });
    try {
      const long = "t".repeat(400);
      const buffer = manager.createBuffer({ label: "vma named buffer", size: 64, usage: 0x20 });
      const texture = manager.createTexture({ label: long, width: 4, height: 4, format: 37 });
      const dump = allocator.buildStatsString(true);
      expect(dump).toContain('"vma named buffer"');
      expect(dump).toContain(`"${long}"`);
      expect(buffer.allocation.name).toBe("vma named buffer");
      expect(texture.allocation.name).toBe(long);
      buffer.destroy();
      texture.destroy();
    } finally {
      manager.destroy();
    }
  });

  test("allocateTransientOffset hands out the same aligned, disjoint ring space as allocateTransient, without an object", () => {
    const manager = createFrameManager(context, allocator, { label: "offsets" });
    try {
      manager.beginFrame();
      const align = Math.max(16, context.properties.minUniformBufferOffsetAlignment);
      const ranges: [number, number][] = [];
      for (let k = 0; k < 50; k++) {
        const size = 24 + k;
        const offset = k % 2 === 0 ? manager.allocateTransientOffset(size) : manager.allocateTransient(size).offset;
        expect(offset % align).toBe(0);
        expect(offset + size).toBeLessThanOrEqual(manager.transientMapped.byteLength);
        ranges.push([offset, offset + size]);
      }
      ranges.sort((a, b) => a[0] - b[0]);
      for (let k = 1; k < ranges.length; k++) expect(ranges[k]![0]).toBeGreaterThanOrEqual(ranges[k - 1]![1]);
      const offset = manager.allocateTransientOffset(16, "storage");
      new Uint8Array(manager.transientMapped, offset, 16).fill(7);
      expect(manager.transientBuffer).toBeDefined();
      expect(() => manager.allocateTransientOffset(0)).toThrow(RangeError);
      manager.endFrame();
      manager.waitIdle();
    } finally {
      manager.destroy();
    }
    expect(() => manager.allocateTransientOffset(16)).toThrow(DestroyedResourceError);
    expect(() => manager.transientBuffer).toThrow(DestroyedResourceError);
  });

  test("a destroyed allocator is refused; new FrameManager works like createFrameManager", () => {
    const dead = createAllocator(context, { label: "dead" });
    dead.destroy();
    expect(() => createFrameManager(context, dead)).toThrow(
      new DestroyedResourceError("Allocator", "dead", "createFrameManager"),
    );
    const manager = new FrameManager(context, allocator, { framesInFlight: 3 });
    expect(manager.framesInFlight).toBe(3);
    manager.destroy();
  });
});
