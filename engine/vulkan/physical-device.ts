/**
 * The physical device: what vkmem reads of each one (properties, extensions, queue families, limits, memory) and
 * which one a Context uses.
 *
 * The choice: an index (option `deviceIndex`, or VKMEM_DEVICE_INDEX, which overrides it) names a device that must be
 * usable; without one, the usable devices are ordered by type, discrete first (integrated first when
 * `preferDiscrete` is false), then by index. A device is usable when it has a graphics queue (or, lacking one, a
 * compute queue) and every device extension the caller requires. When none is, the error lists every device and why.
 * Sizes and limits are read as Numbers, frozen.
 * @module
 */
import { vkErrorFor } from "../errors.js";
import type { NvkHandle } from "./handles.js";
import { nvk } from "./nvk.js";
import { enumerate } from "./enumerate.js";
import { QUEUE_COMPUTE, QUEUE_GRAPHICS, VK_ERROR_EXTENSION_NOT_PRESENT, VK_ERROR_INITIALIZATION_FAILED } from "./vk.js";

/** The physical device type, from VkPhysicalDeviceType. */
export type DeviceType = "other" | "integrated" | "discrete" | "virtual" | "cpu";

/** Device limits that memory management needs, as Numbers. */
export interface DeviceLimits {
  readonly nonCoherentAtomSize: number;
  readonly bufferImageGranularity: number;
  readonly minUniformBufferOffsetAlignment: number;
  readonly minStorageBufferOffsetAlignment: number;
  readonly optimalBufferCopyOffsetAlignment: number;
  readonly maxMemoryAllocationCount: number;
  readonly maxImageDimension2D: number;
}

/** The device's memory heaps and types (VkPhysicalDeviceMemoryProperties), sizes as Numbers. */
export interface MemoryProperties {
  readonly heaps: readonly { readonly size: number; readonly flags: number }[];
  readonly types: readonly { readonly propertyFlags: number; readonly heapIndex: number }[];
}

/** Device features the Context enabled (each only when the device supports it). */
export interface ContextFeatures {
  /** VK_EXT_memory_priority's memoryPriority: VMA may pass allocation priorities. */
  readonly memoryPriority: boolean;
  /** bufferDeviceAddress (core 1.2, or VK_KHR_buffer_device_address). */
  readonly bufferDeviceAddress: boolean;
  /** maintenance4 (core 1.3, or VK_KHR_maintenance4): VMA may use vkGetDeviceBufferMemoryRequirements. */
  readonly maintenance4: boolean;
  readonly samplerAnisotropy: boolean;
}

const DEVICE_TYPES: readonly DeviceType[] = ["other", "integrated", "discrete", "virtual", "cpu"];

/** What vkmem reads of one physical device. @internal */
export interface DeviceSurvey {
  readonly index: number;
  readonly handle: NvkHandle;
  readonly name: string;
  readonly type: DeviceType;
  readonly apiVersion: number;
  readonly props: any;
  readonly extensions: ReadonlySet<string>;
  readonly queueFamilies: readonly { flags: number; count: number }[];
  /** Graphics family (or compute-only when the device has no graphics), -1 when neither. */
  readonly mainFamily: number;
  /** Required device extensions it lacks. */
  readonly missingExtensions: readonly string[];
  /** Why the device cannot serve, or null. */
  readonly unusable: string | null;
}

/**
 * Reads device `index` (`handle`), noting which of `requiredExtensions` it lacks and whether it can serve.
 * @throws VkError when an enumeration fails.
 * @internal
 */
export function surveyDevice(index: number, handle: NvkHandle, requiredExtensions: readonly string[]): DeviceSurvey {
  const props = new nvk.VkPhysicalDeviceProperties();
  nvk.vkGetPhysicalDeviceProperties(handle, props);
  const extensions = new Set(
    enumerate(
      () => new nvk.VkExtensionProperties(),
      (c, out) => nvk.vkEnumerateDeviceExtensionProperties(handle, null, c, out),
      "vkEnumerateDeviceExtensionProperties",
    ).map((p) => p.extensionName as string),
  );
  const queueFamilies = enumerate(
    () => new nvk.VkQueueFamilyProperties(),
    (c, out) => nvk.vkGetPhysicalDeviceQueueFamilyProperties(handle, c, out),
    "vkGetPhysicalDeviceQueueFamilyProperties",
  ).map((q) => ({ flags: q.queueFlags as number, count: q.queueCount as number }));
  let mainFamily = queueFamilies.findIndex((q) => q.count > 0 && (q.flags & QUEUE_GRAPHICS) !== 0);
  if (mainFamily < 0) mainFamily = queueFamilies.findIndex((q) => q.count > 0 && (q.flags & QUEUE_COMPUTE) !== 0);
  const missingExtensions = requiredExtensions.filter((e) => !extensions.has(e));
  const unusable =
    mainFamily < 0
      ? "no graphics or compute queue"
      : missingExtensions.length > 0
        ? `missing device extension${missingExtensions.length > 1 ? "s" : ""} ${missingExtensions.join(", ")}`
        : null;
  return {
    index,
    handle,
    name: props.deviceName as string,
    type: DEVICE_TYPES[props.deviceType as number] ?? "other",
    apiVersion: props.apiVersion as number,
    props,
    extensions,
    queueFamilies,
    mainFamily,
    missingExtensions,
    unusable,
  };
}

/**
 * Picks the device: `index` when given (`source` names where it came from in messages), else the first usable one in
 * type order.
 * @throws RangeError for an index out of range; VkError when the device named cannot serve, or none can.
 * @internal
 */
export function chooseDevice(
  devices: readonly DeviceSurvey[],
  index: number | undefined,
  source: string,
  preferDiscrete: boolean,
): DeviceSurvey {
  const list = devices.map((d) => `#${d.index} ${d.name} (${d.type})${d.unusable ? `: ${d.unusable}` : ""}`).join("; ");
  if (index !== undefined) {
    const device = devices[index];
    if (device === undefined) {
      throw new RangeError(`createContext: ${source} ${index} is out of range: ${devices.length} device(s): ${list}`);
    }
    if (device.unusable !== null) {
      throw vkErrorFor(
        VK_ERROR_EXTENSION_NOT_PRESENT,
        "createContext",
        undefined,
        `device #${index} ${device.name} cannot be used: ${device.unusable}`,
      );
    }
    return device;
  }
  const order: readonly DeviceType[] = preferDiscrete
    ? ["discrete", "integrated", "virtual", "cpu", "other"]
    : ["integrated", "discrete", "virtual", "cpu", "other"];
  const usable = devices.filter((d) => d.unusable === null);
  usable.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type) || a.index - b.index);
  const chosen = usable[0];
  if (chosen === undefined) {
    // When extensions are what every device lacks, say so with the result Vulkan would have given.
    const result = devices.every((d) => d.missingExtensions.length > 0)
      ? VK_ERROR_EXTENSION_NOT_PRESENT
      : VK_ERROR_INITIALIZATION_FAILED;
    throw vkErrorFor(result, "createContext", undefined, `no usable Vulkan device: ${list}`);
  }
  return chosen;
}

/** The device's memory heaps and types, frozen. @internal */
export function readMemoryProperties(physicalDevice: NvkHandle): MemoryProperties {
  const memory = new nvk.VkPhysicalDeviceMemoryProperties();
  nvk.vkGetPhysicalDeviceMemoryProperties(physicalDevice, memory);
  const heaps = (memory.memoryHeaps as any[])
    .slice(0, memory.memoryHeapCount)
    .map((h) => Object.freeze({ size: Number(h.size), flags: h.flags as number }));
  const types = (memory.memoryTypes as any[])
    .slice(0, memory.memoryTypeCount)
    .map((t) => Object.freeze({ propertyFlags: t.propertyFlags as number, heapIndex: t.heapIndex as number }));
  return Object.freeze({ heaps: Object.freeze(heaps), types: Object.freeze(types) });
}

/** The limits memory management needs, from VkPhysicalDeviceProperties, frozen. @internal */
export function readLimits(props: any): DeviceLimits {
  const limits = props.limits;
  return Object.freeze({
    nonCoherentAtomSize: Number(limits.nonCoherentAtomSize),
    bufferImageGranularity: Number(limits.bufferImageGranularity),
    minUniformBufferOffsetAlignment: Number(limits.minUniformBufferOffsetAlignment),
    minStorageBufferOffsetAlignment: Number(limits.minStorageBufferOffsetAlignment),
    optimalBufferCopyOffsetAlignment: Number(limits.optimalBufferCopyOffsetAlignment),
    maxMemoryAllocationCount: Number(limits.maxMemoryAllocationCount),
    maxImageDimension2D: Number(limits.maxImageDimension2D),
  });
}
