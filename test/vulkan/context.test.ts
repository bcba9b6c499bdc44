import { afterEach, describe, expect, it } from "vitest";
import { DestroyedResourceError, VkError } from "../../engine/errors.js";
import { createContext, vulkanVersionString, type Context } from "../../engine/vulkan/context.js";
import type { NvkHandle } from "../../engine/vulkan/handles.js";
import { arrayBufferAt, nvk, type VkInoutAddress } from "../../engine/vulkan/nvk.js";
import { useGpuContext, validationAvailable } from "../helpers/gpu.js";

const HOST_VISIBLE_COHERENT = 0x2 | 0x4;

/** A buffer bound to its own host-visible, host-coherent memory, by raw nvk calls. */
function createHostBuffer(context: Context, size: number, usage: number) {
  const { device } = context;
  const buffer = new nvk.VkBuffer();
  expect(nvk.vkCreateBuffer(device, new nvk.VkBufferCreateInfo({ size, usage }), null, buffer)).toBe(0);
  const requirements = new nvk.VkMemoryRequirements();
  nvk.vkGetBufferMemoryRequirements(device, buffer, requirements);
  const typeIndex = context.memoryProperties.types.findIndex(
    (t, i) =>
      (requirements.memoryTypeBits & (1 << i)) !== 0 &&
      (t.propertyFlags & HOST_VISIBLE_COHERENT) === HOST_VISIBLE_COHERENT,
  );
  expect(typeIndex).toBeGreaterThanOrEqual(0);
  const memory = new nvk.VkDeviceMemory();
  const allocateInfo = new nvk.VkMemoryAllocateInfo({ allocationSize: requirements.size, memoryTypeIndex: typeIndex });
  expect(nvk.vkAllocateMemory(device, allocateInfo, null, memory)).toBe(0);
  expect(nvk.vkBindBufferMemory(device, buffer, memory, 0)).toBe(0);
  return {
    buffer: buffer as NvkHandle,
    memory: memory as NvkHandle,
    map(): ArrayBuffer {
      const pointer: VkInoutAddress = { $: 0n };
      expect(nvk.vkMapMemory(device, memory, 0, size, 0, pointer)).toBe(0);
      return arrayBufferAt(pointer.$, size);
    },
    unmap(): void {
      nvk.vkUnmapMemory(device, memory);
    },
    destroy(): void {
      nvk.vkDestroyBuffer(device, buffer, null);
      nvk.vkFreeMemory(device, memory, null);
    },
  };
}

/** Makes transfer writes visible to host reads (needed before mapping results, fence or not). */
function transferToHostBarrier(cmd: NvkHandle): void {
  const barrier = new nvk.VkMemoryBarrier({
    srcAccessMask: nvk.VK_ACCESS_TRANSFER_WRITE_BIT,
    dstAccessMask: nvk.VK_ACCESS_HOST_READ_BIT,
  });
  nvk.vkCmdPipelineBarrier(
    cmd,
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
}

describe("a validated context on the test device", () => {
  const gpu = useGpuContext();

  it("reports the device, the Vulkan version and the enabled instance extensions", () => {
    const { context } = gpu;
    expect(context.deviceName).toMatch(/llvmpipe/);
    expect(context.deviceType).toBe("cpu");
    // Windows (under Wine): nvk's own Vulkan loader is 1.1.126, so the context is Vulkan 1.1 there.
    expect(vulkanVersionString(context.apiVersion)).toBe(process.platform === "win32" ? "1.1.0" : "1.3.0");
    expect(context.instanceApiVersion).toBe(context.apiVersion);
    expect(context.validation).toBe(validationAvailable);
    expect(context.enabledInstanceExtensions.has("VK_EXT_debug_utils")).toBe(validationAvailable);
  });

  it("lists memory heaps and types that refer to them", () => {
    const { heaps, types } = gpu.context.memoryProperties;
    expect(heaps.length).toBeGreaterThan(0);
    expect(types.length).toBeGreaterThan(0);
    for (const heap of heaps) expect(heap.size).toBeGreaterThan(0);
    for (const type of types) expect(type.heapIndex).toBeLessThan(heaps.length);
    expect(types.some((t) => (t.propertyFlags & HOST_VISIBLE_COHERENT) === HOST_VISIBLE_COHERENT)).toBe(true);
  });

  it("extracts sane limits as Numbers", () => {
    const p = gpu.context.properties;
    for (const value of Object.values(p)) expect(typeof value).toBe("number");
    const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
    expect(isPowerOfTwo(p.nonCoherentAtomSize)).toBe(true);
    expect(isPowerOfTwo(p.bufferImageGranularity)).toBe(true);
    expect(isPowerOfTwo(p.minUniformBufferOffsetAlignment)).toBe(true);
    expect(p.optimalBufferCopyOffsetAlignment).toBeGreaterThan(0);
    expect(p.maxMemoryAllocationCount).toBeGreaterThanOrEqual(4096);
    expect(p.maxImageDimension2D).toBeGreaterThanOrEqual(4096);
  });

  it("enables the features VMA can use and does not re-enable core extensions", () => {
    const { context } = gpu;
    // lavapipe 1.3: buffer device address and maintenance4 are core, memory priority is absent. On a Vulkan 1.1
    // context (Windows) the same features come from their KHR extensions, which are then enabled.
    const v13 = context.apiVersion >= ((1 << 22) | (3 << 12));
    expect(context.features.bufferDeviceAddress).toBe(true);
    expect(context.features.maintenance4).toBe(true);
    expect(context.features.samplerAnisotropy).toBe(true);
    expect(context.features.memoryPriority).toBe(context.enabledDeviceExtensions.has("VK_EXT_memory_priority"));
    expect(context.enabledDeviceExtensions.has("VK_KHR_buffer_device_address")).toBe(!v13);
    expect(context.enabledDeviceExtensions.has("VK_KHR_maintenance4")).toBe(!v13);
    for (const core of ["VK_KHR_dedicated_allocation", "VK_KHR_get_memory_requirements2", "VK_KHR_bind_memory2"]) {
      expect(context.enabledDeviceExtensions.has(core)).toBe(false);
    }
    expect(context.transferQueueFamilyIndex).toBeGreaterThanOrEqual(0);
    expect(context.queue).toBeInstanceOf(nvk.VkQueue);
    expect(context.commandPool).toBeInstanceOf(nvk.VkCommandPool);
  });

  it("submitAndWait runs vkCmdFillBuffer and the value reads back through mapped memory", () => {
    const { context } = gpu;
    const target = createHostBuffer(context, 256, nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    context.submitAndWait((cmd) => {
      nvk.vkCmdFillBuffer(cmd, target.buffer, 0, 256, 0xdeadbeef);
      transferToHostBarrier(cmd);
    });
    const words = new Uint32Array(target.map());
    expect(words.length).toBe(64);
    expect(words.every((w) => w === 0xdeadbeef)).toBe(true);
    target.unmap();
    target.destroy();
  });

  it("submitAndWait frees its command buffer and rethrows when record throws", () => {
    const { context } = gpu;
    expect(() =>
      context.submitAndWait(() => {
        throw new Error("recording failed");
      }),
    ).toThrow("recording failed");
    expect(() => context.submitAndWait(42 as never)).toThrow(TypeError);
    context.submitAndWait(() => {}); // the pool is still usable
  });

  it("submitAndWait runs whileRunning after the submission and waits for the GPU also when it throws", () => {
    const { context } = gpu;
    const order: string[] = [];
    context.submitAndWait(
      () => order.push("record"),
      () => order.push("while"),
    );
    expect(order).toEqual(["record", "while"]);
    expect(() =>
      context.submitAndWait(
        () => {},
        () => {
          throw new Error("overlapped work failed");
        },
      ),
    ).toThrow("overlapped work failed");
    expect(() => context.submitAndWait(() => {}, 7 as never)).toThrow(/whileRunning must be a function, got 7/);
    context.submitAndWait(() => {}); // the pool and the queue are still usable (the fence was waited for and freed)
  });

  // Tests of the validation layer itself run where it exists: not on Windows here (helpers/gpu.ts).
  it.runIf(validationAvailable)("collects a provoked validation error (vkCreateBuffer with size 0)", () => {
    const { context } = gpu;
    const buffer = new nvk.VkBuffer();
    nvk.vkCreateBuffer(
      context.device,
      new nvk.VkBufferCreateInfo({ size: 0, usage: nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT }),
      null,
      buffer,
    );
    nvk.vkDestroyBuffer(context.device, buffer, null);
    const errors = context.validationMessages.filter((m) => m.severity === "error");
    expect(errors.map((m) => m.id)).toContain("VUID-VkBufferCreateInfo-size-00912");
    expect(errors[0]!.type).toBe("validation");
    context.clearValidationMessages();
    expect(context.validationMessages).toEqual([]);
  });

  it.runIf(validationAvailable)("setObjectName names objects in validation messages", () => {
    const { context } = gpu;
    const target = createHostBuffer(context, 64, nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    context.setObjectName(nvk.VK_OBJECT_TYPE_BUFFER, target.buffer, "fill-target");
    expect(context.validationMessages).toEqual([]);
    // Binding a buffer twice is invalid; the message names the buffer.
    nvk.vkBindBufferMemory(context.device, target.buffer, target.memory, 0);
    expect(context.validationMessages.some((m) => m.severity === "error" && m.message.includes("fill-target"))).toBe(
      true,
    );
    context.clearValidationMessages();
    target.destroy();
    expect(() => context.setObjectName(1.5, target.buffer, "x")).toThrow(TypeError);
    expect(() => context.setObjectName(nvk.VK_OBJECT_TYPE_BUFFER, 0n, "x")).toThrow(RangeError);
    expect(() => context.setObjectName(nvk.VK_OBJECT_TYPE_BUFFER, {} as never, "x")).toThrow(TypeError);
  });

  it("keeps working after another context (without debug utils) was created and destroyed", () => {
    const { context } = gpu;
    const other = createContext();
    other.destroy();
    // nvk's extension pointers now belong to a destroyed instance without VK_EXT_debug_utils; makeCurrent fixes that.
    const target = createHostBuffer(context, 64, nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    context.setObjectName(nvk.VK_OBJECT_TYPE_BUFFER, target.buffer, "after-other-context");
    target.destroy();
  });
});

describe("Context lifecycle", () => {
  it("destroy() twice is a no-op; any other use afterwards throws DestroyedResourceError", () => {
    const context = createContext();
    expect(context.validation).toBe(false);
    context.setObjectName(nvk.VK_OBJECT_TYPE_DEVICE, context.device, "no-op without validation");
    context.waitIdle();
    context.destroy();
    context.destroy();
    expect(context.destroyed).toBe(true);
    expect(context.validationMessages).toEqual([]);
    expect(() => context.device).toThrow(DestroyedResourceError);
    expect(() => context.deviceName).toThrow(DestroyedResourceError);
    expect(() => context.submitAndWait(() => {})).toThrow(/Context has been destroyed \(in submitAndWait\)/);
    expect(() => context.waitIdle()).toThrow(DestroyedResourceError);
    expect(() => context.setObjectName(nvk.VK_OBJECT_TYPE_DEVICE, 1n, "x")).toThrow(DestroyedResourceError);
    expect(() => context.makeCurrent()).toThrow(DestroyedResourceError);
  });

  it.runIf(validationAvailable)("synchronizationValidation reports a write-after-write hazard", () => {
    const context = createContext({ synchronizationValidation: true });
    try {
      expect(context.validation).toBe(true);
      const target = createHostBuffer(context, 256, nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT);
      context.submitAndWait((cmd) => {
        nvk.vkCmdFillBuffer(cmd, target.buffer, 0, 256, 1);
        nvk.vkCmdFillBuffer(cmd, target.buffer, 0, 256, 2); // no barrier in between
      });
      target.destroy();
      expect(context.validationMessages.map((m) => m.id)).toContain("SYNC-HAZARD-WRITE-AFTER-WRITE");
      context.clearValidationMessages();
    } finally {
      context.destroy();
    }
    expect(context.validationMessages).toEqual([]);
  });

  it.runIf(validationAvailable)("hands validation messages to onValidationMessage as they arrive", () => {
    const seen: string[] = [];
    const context = createContext({ validation: true, onValidationMessage: (m) => seen.push(m.id) });
    try {
      const buffer = new nvk.VkBuffer();
      nvk.vkCreateBuffer(
        context.device,
        new nvk.VkBufferCreateInfo({ size: 0, usage: nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT }),
        null,
        buffer,
      );
      expect(seen).toContain("VUID-VkBufferCreateInfo-size-00912");
      nvk.vkDestroyBuffer(context.device, buffer, null);
    } finally {
      context.destroy();
    }
  });
});

describe("createContext options", () => {
  const saved = process.env.VKMEM_DEVICE_INDEX;
  afterEach(() => {
    if (saved === undefined) delete process.env.VKMEM_DEVICE_INDEX;
    else process.env.VKMEM_DEVICE_INDEX = saved;
  });

  it.each([
    [{ validation: "yes" }, /option 'validation' must be a boolean, got "yes"/],
    [{ applicationName: 5 }, /option 'applicationName' must be a string, got 5/],
    [
      { deviceExtensions: "VK_KHR_swapchain" },
      /option 'deviceExtensions' must be an array of extension names, got "VK_KHR_swapchain"/,
    ],
    [{ instanceExtensions: [1] }, /option 'instanceExtensions' must be an array/],
    [{ layers: "VK_LAYER_KHRONOS_validation" }, /option 'layers' must be an array of layer names/],
    [{ layers: [""] }, /option 'layers' must be an array of layer names/],
    [{ onValidationMessage: true }, /option 'onValidationMessage' must be a function, got true/],
    [{ apiVersion: "1.3" }, /option 'apiVersion' must be a number/],
    [{ deviceIndex: "0" }, /option 'deviceIndex' must be a number, got "0"/],
    [{ validaton: true }, /unknown option 'validaton'/],
    [null, /options must be an object, got null/],
  ])("rejects %j with a TypeError naming the option", (options, message) => {
    expect(() => createContext(options as never)).toThrow(TypeError);
    expect(() => createContext(options as never)).toThrow(message);
  });

  it.each([
    [
      { apiVersion: nvk.VK_MAKE_VERSION(1, 4, 0) },
      /option 'apiVersion' must be a Vulkan version from 1.0 to 1.3.*\(1\.4\.0\)/,
    ],
    [{ deviceIndex: -1 }, /option 'deviceIndex' must be a non-negative integer, got -1/],
    [{ deviceIndex: 1.5 }, /option 'deviceIndex' must be a non-negative integer, got 1.5/],
    [{ deviceIndex: 99 }, /option 'deviceIndex' 99 is out of range: 1 device\(s\): #0 llvmpipe/],
  ])("rejects %j with a RangeError", (options, message) => {
    expect(() => createContext(options)).toThrow(RangeError);
    expect(() => createContext(options)).toThrow(message);
  });

  it("VKMEM_DEVICE_INDEX overrides deviceIndex and is checked", () => {
    process.env.VKMEM_DEVICE_INDEX = "zero";
    expect(() => createContext()).toThrow(/VKMEM_DEVICE_INDEX must be a non-negative integer, got "zero"/);
    process.env.VKMEM_DEVICE_INDEX = "0";
    const context = createContext({ deviceIndex: 99 });
    expect(context.deviceName).toMatch(/llvmpipe/);
    context.destroy();
  });

  it("headless: false adds the surface and swapchain extensions", () => {
    const context = createContext({ headless: false });
    expect(context.enabledInstanceExtensions.has("VK_KHR_surface")).toBe(true);
    expect(context.enabledDeviceExtensions.has("VK_KHR_swapchain")).toBe(true);
    context.destroy();
  });

  it("accepts an older apiVersion and refuses unsupported extensions before Vulkan sees them", () => {
    const context = createContext({ apiVersion: nvk.VK_MAKE_VERSION(1, 1, 0) });
    expect(vulkanVersionString(context.apiVersion)).toBe("1.1.0");
    expect(context.features.bufferDeviceAddress).toBe(
      context.enabledDeviceExtensions.has("VK_KHR_buffer_device_address"),
    );
    context.destroy();
    const error = (() => {
      try {
        createContext({ deviceExtensions: ["VK_NV_no_such_extension"] });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(VkError);
    expect((error as VkError).code).toBe("VK_ERROR_EXTENSION_NOT_PRESENT");
    expect((error as VkError).message).toMatch(/VK_NV_no_such_extension/);
    expect(() => createContext({ instanceExtensions: ["VK_NV_no_such_extension"] })).toThrow(
      /instance extension\(s\) not available/,
    );
  });

  it("enables the caller's layers after the validation layer, and names a missing one before Vulkan sees it", () => {
    const missing = (() => {
      try {
        createContext({ layers: ["VK_LAYER_VKMEM_no_such_layer"] });
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(VkError);
    expect((missing as VkError).code).toBe("VK_ERROR_LAYER_NOT_PRESENT");
    expect((missing as VkError).message).toMatch(/instance layer\(s\) not installed: VK_LAYER_VKMEM_no_such_layer/);
    // The validation layer named again: enabled once (where it is installed: not under Wine).
    if (process.platform !== "win32") {
      const context = createContext({ validation: true, layers: ["VK_LAYER_KHRONOS_validation"] });
      expect(context.validation).toBe(true);
      context.destroy();
      expect(context.validationMessages.filter((m) => m.severity === "error")).toEqual([]);
    }
  });
});
