/**
 * How an allocator is built: from the checked arguments of createAllocator (allocator-options.ts) to the native
 * VmaAllocator on the addon build the options ask for (the debug build: corruption.ts), the device's memory
 * properties and the parts that follow from them (the flag policy, the description checks). The Allocator's
 * constructor calls {@link openAllocator} once and keeps what it returns.
 *
 * Invariants: every argument is checked before the native allocator exists; once it exists, it is either returned
 * with everything derived from it, or destroyed before the error is thrown (nothing leaks on a refusal). Heaps and
 * memory types are frozen: they are the device's, read once.
 * @module
 */
import { describeValue } from "../errors.js";
import { allocatorAddon, debugNative, type NativeAddon } from "../native.js";
import { rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { DeviceFlagPolicy } from "../vulkan/flag-bits.js";
import {
  MAX_VMA_API_VERSION,
  checkAllocatorOptions,
  type AllocatorDevice,
  type AllocatorOptions,
} from "./allocator-options.js";
import { settingsOf, type DebugSettings } from "./corruption.js";
import { ResourceDescriptions } from "./resource-descriptions.js";
import type { MemoryHeap, MemoryType } from "./types.js";

/** A native allocator just made, and what the Allocator keeps of its device. */
/**
 * What an {@link Allocator} tells of its device and of how it was made: fixed at creation. The Allocator class
 * declares these as its own public fields by merging this interface (allocator.ts).
 */
export interface AllocatorFacts {
  /** The label given at creation, if any. */
  readonly label: string | undefined;
  /** The nvk VkDevice it allocates from. */
  readonly device: any;
  /** The nvk VkPhysicalDevice. */
  readonly physicalDevice: any;
  /** The VmaAllocatorCreateFlags it was created with (VMA adds EXTERNALLY_SYNCHRONIZED itself). */
  readonly flags: number;
  /** nonCoherentAtomSize of the device: flush/invalidate granularity. */
  readonly nonCoherentAtomSize: number;
  /** bufferImageGranularity of the device. */
  readonly bufferImageGranularity: number;
  /** The device's name. */
  readonly deviceName: string;
  /** Memory heaps. */
  readonly memoryHeaps: readonly MemoryHeap[];
  /** Memory types. */
  readonly memoryTypes: readonly MemoryType[];
  /** The heap size limits it was created with (0: none). */
  readonly heapSizeLimits: readonly number[];
  /** The debug settings it runs with (all off for the normal build); see {@link AllocatorOptions.debug}. */
  readonly debug: DebugSettings;
  /** Frames after its last use during which a lost-able allocation of the default pools cannot be made lost. */
  readonly frameInUseCount: number;
}

/** The facts of an allocator just opened, as its fields. @internal */
export function allocatorFacts(
  opened: OpenedAllocator,
  source: AllocatorDevice,
  options: AllocatorOptions,
): AllocatorFacts {
  return {
    label: options.label,
    device: source.device,
    physicalDevice: source.physicalDevice,
    flags: opened.flags,
    nonCoherentAtomSize: opened.nonCoherentAtomSize,
    bufferImageGranularity: opened.bufferImageGranularity,
    deviceName: opened.deviceName,
    memoryHeaps: opened.memoryHeaps,
    memoryTypes: opened.memoryTypes,
    heapSizeLimits: opened.heapSizeLimits,
    debug: opened.debug,
    frameInUseCount: opened.frameInUseCount,
  };
}

export interface OpenedAllocator {
  /** The addon build it lives in (normal or debug). */
  readonly addon: NativeAddon;
  /** Its native handle. */
  readonly handle: number;
  /** The debug settings of that build. */
  readonly debug: DebugSettings;
  /** The VmaAllocatorCreateFlags it was made with. */
  readonly flags: number;
  /** The instance's apiVersion as given (recordings note it). */
  readonly vulkanApiVersion: number;
  readonly frameInUseCount: number;
  /** The buffer and image flag bits the device allows (flag-bits.ts). */
  readonly flagPolicy: DeviceFlagPolicy;
  readonly nonCoherentAtomSize: number;
  readonly bufferImageGranularity: number;
  readonly deviceName: string;
  readonly memoryHeaps: readonly MemoryHeap[];
  readonly memoryTypes: readonly MemoryType[];
  /** Per heap, the size limit (0: none). */
  readonly heapSizeLimits: readonly number[];
  /** The description checks and encoder (resource-descriptions.ts), sized to the largest heap or its limit. */
  readonly descriptions: ResourceDescriptions;
}

/**
 * Checks the arguments of createAllocator and creates the native VmaAllocator with its memory properties read.
 * @throws TypeError / RangeError for bad arguments (allocator-options.ts); VkError when VMA cannot create it.
 */
export function openAllocator(source: AllocatorDevice, options: AllocatorOptions): OpenedAllocator {
  const checked = checkAllocatorOptions(source, options);
  const { apiVersion, extensions, features, flags, limits } = checked;
  const vmaApiVersion = Math.min(apiVersion, MAX_VMA_API_VERSION);
  const flagPolicy = new DeviceFlagPolicy({ apiVersion: vmaApiVersion, extensions, features });
  const addon = checked.debug.enabled ? debugNative() : allocatorAddon();
  const debug = settingsOf(addon);
  const instance = rawHandle(source.instance as NvkHandle);
  const physicalDevice = rawHandle(source.physicalDevice as NvkHandle);
  const device = rawHandle(source.device as NvkHandle);
  const handle = addon.createAllocator(
    instance,
    physicalDevice,
    device,
    vmaApiVersion,
    flags,
    limits,
    checked.blockSize,
  );
  const props = addon.getMemoryProperties(handle);
  if (limits !== undefined && limits.length !== props.heaps.length) {
    // native checked this already; keep the TS state consistent all the same
    addon.destroyAllocator(handle);
    const what = `must have ${props.heaps.length} entries (one per heap)`;
    throw new RangeError(`createAllocator: options.heapSizeLimits ${what}, got ${describeValue(limits)}`);
  }
  const heapSizeLimits = Object.freeze(props.heaps.map((_, i) => limits?.[i] ?? 0));
  const maxAllocationSize = Math.max(
    ...props.heaps.map((h, i) => (heapSizeLimits[i] > 0 ? Math.min(h.size, heapSizeLimits[i]) : h.size)),
  );
  const deviceName = props.deviceName;
  const descriptions = new ResourceDescriptions({
    physicalDevice: source.physicalDevice,
    deviceName,
    maxAllocationSize,
    flagPolicy,
  });
  return {
    addon,
    handle,
    debug,
    flags,
    vulkanApiVersion: apiVersion,
    frameInUseCount: checked.frameInUseCount,
    flagPolicy,
    nonCoherentAtomSize: props.nonCoherentAtomSize,
    bufferImageGranularity: props.bufferImageGranularity,
    deviceName,
    memoryHeaps: Object.freeze(props.heaps.map((h) => Object.freeze(h))),
    memoryTypes: Object.freeze(props.types.map((t) => Object.freeze(t))),
    heapSizeLimits,
    descriptions,
  };
}
