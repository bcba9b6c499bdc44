/**
 * What an allocator is made from: the device (a Context, or raw nvk handles and the instance's apiVersion) and the
 * options of createAllocator; their checks, and the VMA allocator flags that follow from what the device enabled.
 *
 * Invariant: {@link checkAllocatorOptions} reads every member of both objects exactly once (an iterable of
 * extensions may be a one-shot generator) and either throws a TypeError / RangeError naming the member and its
 * value or returns a record the allocator can hand to VMA as is: nothing is created before every check passed.
 * @module
 */
import { describeValue } from "../errors.js";
import { isOptionsObject, optionalBoolean } from "../checks.js";
import { isNvkHandle } from "../vulkan/handles.js";
import { checkFrameInUseCount } from "./lost-allocations.js";
import { parseDebugOptions, type DebugOptions } from "./corruption.js";
import type { LeakReport } from "./types.js";
import { checkInspectorOptions, type InspectorOptions } from "../report/inspector.js";

/** Where an allocator gets its device from: a Context, or raw nvk handles and the instance's apiVersion. */
export interface AllocatorDevice {
  /** nvk VkInstance. */
  instance: object;
  /** nvk VkPhysicalDevice. */
  physicalDevice: object;
  /** nvk VkDevice. */
  device: object;
  /** The apiVersion the instance was created with (VK_MAKE_API_VERSION form); Context calls it apiVersion. */
  vulkanApiVersion?: number;
  apiVersion?: number;
  /** Device extensions that were enabled; VMA flags follow from them. */
  enabledDeviceExtensions?: Iterable<string>;
  /**
   * Device features that were enabled. VMA flags follow from the first three; the others decide which buffer and
   * image flag bits are allowed (engine/vulkan/flag-bits.ts): a feature not listed counts as not enabled, so the
   * bits it gates (sparse, PROTECTED, capture replay, ...) are refused.
   */
  features?: {
    memoryPriority?: boolean;
    bufferDeviceAddress?: boolean;
    maintenance4?: boolean;
    bufferDeviceAddressCaptureReplay?: boolean;
    sparseBinding?: boolean;
    sparseResidencyBuffer?: boolean;
    sparseResidencyImage2D?: boolean;
    sparseResidencyImage3D?: boolean;
    sparseResidencyAliased?: boolean;
    protectedMemory?: boolean;
    descriptorBufferCaptureReplay?: boolean;
    descriptorBufferPushDescriptors?: boolean;
    hostImageCopy?: boolean;
    geometryShader?: boolean;
    tessellationShader?: boolean;
    conditionalRendering?: boolean;
    taskShader?: boolean;
    meshShader?: boolean;
    transformFeedback?: boolean;
  };
}

/** Options of {@link createAllocator}. */
export interface AllocatorOptions {
  /** Per memory heap: a size limit in bytes that VMA will not exceed (null/undefined/0: none). */
  heapSizeLimits?: (number | null | undefined)[];
  /** Size of the blocks VMA allocates for large heaps (default VMA's 256 MiB). */
  preferredLargeHeapBlockSize?: number;
  /** Extra VmaAllocatorCreateFlags bits. */
  flags?: number;
  /** Keep each allocation's creation stack for the leak report (costs a stack capture per allocation). */
  captureStacks?: boolean;
  /**
   * Keep a weak index of its allocations, so that every defragmentation move names the Allocation object it moves
   * (allocation-index.ts; about 0.1 µs per allocation). Without it, moves name only the allocations listed in
   * beginDefragmentation's `options.allocations`, and the others stay where they are.
   */
  defragmentation?: boolean;
  /** Called by destroy() with the allocations still alive; default: one process warning listing them. */
  onLeaks?: (leaks: LeakReport[]) => void;
  /** A label for messages. */
  label?: string;
  /**
   * Run on the debug build of the addon: VMA's debug margin after every allocation, corruption detection and
   * fill patterns (see engine/memory/corruption.ts). `{}` or `true` takes the build's settings; they are
   * compile-time constants, so other values are refused. Default: the normal build.
   */
  debug?: DebugOptions | boolean;
  /**
   * Frames after its last `touch()` during which a `canBecomeLost` allocation cannot be made lost (default 1: right
   * for 2 frames in flight; use at least framesInFlight - 1). Pools may set their own. See lost-allocations.ts.
   */
  frameInUseCount?: number;
  /**
   * Record every call that changes memory into a trace file (engine/trace/format.ts), for `vkmem replay` and
   * `vkmem report`. Written at every frame's end and at destroy(); see engine/memory/recording.ts.
   */
  record?: { file: string };
  /**
   * Serve a live view of its memory (the report page, updated as it runs) on http://127.0.0.1:PORT/; off by
   * default. `port` 0 picks a free port: read `allocator.inspector.url`. See engine/report/inspector.ts.
   */
  inspector?: InspectorOptions;
}

/** VmaAllocatorCreateFlagBits that vkmem sets from the device. */
export const ALLOCATOR_FLAGS = {
  KHR_DEDICATED_ALLOCATION: 0x2,
  KHR_BIND_MEMORY2: 0x4,
  EXT_MEMORY_BUDGET: 0x8,
  AMD_DEVICE_COHERENT_MEMORY: 0x10,
  BUFFER_DEVICE_ADDRESS: 0x20,
  EXT_MEMORY_PRIORITY: 0x40,
  KHR_MAINTENANCE4: 0x80,
  KHR_MAINTENANCE5: 0x100,
} as const;

const VK_API_1_1 = (1 << 22) | (1 << 12);
const VK_API_1_3 = (1 << 22) | (3 << 12);

/** The highest API version VMA is told (its headers know Vulkan 1.3). */
export const MAX_VMA_API_VERSION = VK_API_1_3 | 0xfff;

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && v >= 1 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v;
}
function isUint32(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && v <= 0xffffffff && Math.floor(v) === v;
}
function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/** The VMA allocator flags that fit what the device enabled. */
function allocatorFlagsFor(
  ext: ReadonlySet<string>,
  features: NonNullable<AllocatorDevice["features"]>,
  apiVersion: number,
): number {
  let flags = 0;
  if (apiVersion < VK_API_1_1) {
    if (ext.has("VK_KHR_dedicated_allocation") && ext.has("VK_KHR_get_memory_requirements2")) {
      flags |= ALLOCATOR_FLAGS.KHR_DEDICATED_ALLOCATION;
    }
    if (ext.has("VK_KHR_bind_memory2")) flags |= ALLOCATOR_FLAGS.KHR_BIND_MEMORY2;
  }
  if (ext.has("VK_EXT_memory_budget")) flags |= ALLOCATOR_FLAGS.EXT_MEMORY_BUDGET;
  if (features.memoryPriority && ext.has("VK_EXT_memory_priority")) flags |= ALLOCATOR_FLAGS.EXT_MEMORY_PRIORITY;
  if (features.bufferDeviceAddress) flags |= ALLOCATOR_FLAGS.BUFFER_DEVICE_ADDRESS;
  if (ext.has("VK_KHR_maintenance4") || (apiVersion >= VK_API_1_3 && features.maintenance4)) {
    flags |= ALLOCATOR_FLAGS.KHR_MAINTENANCE4;
  }
  if (ext.has("VK_KHR_maintenance5")) flags |= ALLOCATOR_FLAGS.KHR_MAINTENANCE5;
  return flags;
}

/** The checked device and options of {@link checkAllocatorOptions}. */
export interface CheckedAllocatorOptions {
  /** The instance's apiVersion as given. */
  apiVersion: number;
  extensions: Set<string>;
  features: NonNullable<AllocatorDevice["features"]>;
  /** The VmaAllocatorCreateFlags: those the device implies, and options.flags. */
  flags: number;
  /** preferredLargeHeapBlockSize, 0 for VMA's default. */
  blockSize: number;
  /** Heap size limits (0: none), or undefined. */
  limits: number[] | undefined;
  /** The debug build wanted (corruption.ts). */
  debug: ReturnType<typeof parseDebugOptions>;
  frameInUseCount: number;
}

/**
 * Checks the arguments of createAllocator.
 * @throws TypeError / RangeError naming the member (`device.instance`, `options.heapSizeLimits[2]`, ...) and its value.
 */
export function checkAllocatorOptions(source: AllocatorDevice, options: AllocatorOptions): CheckedAllocatorOptions {
  const op = "createAllocator";
  if (source === null || typeof source !== "object")
    fail(
      op,
      "device",
      "must be a Context or { instance, physicalDevice, device, vulkanApiVersion }",
      source,
      TypeError,
    );
  if (!isOptionsObject(options)) fail(op, "options", "must be an object", options, TypeError);
  if (!isNvkHandle(source.instance, "VkInstance"))
    fail(op, "device.instance", "must be an nvk VkInstance", source.instance, TypeError);
  if (!isNvkHandle(source.physicalDevice, "VkPhysicalDevice"))
    fail(op, "device.physicalDevice", "must be an nvk VkPhysicalDevice", source.physicalDevice, TypeError);
  if (!isNvkHandle(source.device, "VkDevice"))
    fail(op, "device.device", "must be an nvk VkDevice", source.device, TypeError);
  const apiVersion = source.vulkanApiVersion ?? source.apiVersion ?? 1 << 22;
  if (!isUint32(apiVersion) || apiVersion < 1 << 22) {
    fail(
      op,
      source.vulkanApiVersion !== undefined ? "device.vulkanApiVersion" : "device.apiVersion",
      "must be a VK_MAKE_API_VERSION value >= 1.0",
      apiVersion,
    );
  }
  // Read once (an iterable may be a one-shot generator): an array, a Set (a Context's) or another iterable of
  // names; a string is iterable too, but by characters.
  const given = source.enabledDeviceExtensions;
  if (
    given !== undefined &&
    !(isOptionsObject(given) && typeof (given as Iterable<string>)[Symbol.iterator] === "function")
  ) {
    fail(
      op,
      "device.enabledDeviceExtensions",
      "must be an iterable (array, Set) of extension name strings",
      given,
      TypeError,
    );
  }
  const extensions = new Set(given ?? []);
  for (const e of extensions)
    if (typeof e !== "string")
      fail(op, "device.enabledDeviceExtensions", "must hold extension name strings only", e, TypeError);
  const features = source.features ?? {};
  if (!isOptionsObject(features)) fail(op, "device.features", "must be an object of booleans", features, TypeError);
  for (const [name, on] of Object.entries(features)) {
    if (on !== undefined && typeof on !== "boolean")
      fail(op, `device.features.${name}`, "must be a boolean", on, TypeError);
  }
  optionalBoolean(options.captureStacks, false, op, "options.captureStacks");
  optionalBoolean(options.defragmentation, false, op, "options.defragmentation");
  const extra = options.flags ?? 0;
  if (!isUint32(extra) || (extra & ~0x3ff) !== 0)
    fail(op, "options.flags", "must be VmaAllocatorCreateFlags bits", extra);
  // VMA asserts on KHR_EXTERNAL_MEMORY_WIN32 where its Win32 support is compiled out (every other platform).
  if ((extra & 0x200) !== 0 && process.platform !== "win32")
    fail(op, "options.flags", "has KHR_EXTERNAL_MEMORY_WIN32 (0x200), which exists only on Windows", extra);
  const blockSize = options.preferredLargeHeapBlockSize ?? 0;
  if (!(blockSize === 0 || isPositiveInt(blockSize)))
    fail(op, "options.preferredLargeHeapBlockSize", "must be a positive integer", blockSize);
  if (options.onLeaks !== undefined && typeof options.onLeaks !== "function")
    fail(op, "options.onLeaks", "must be a function", options.onLeaks, TypeError);
  if (options.label !== undefined && typeof options.label !== "string")
    fail(op, "options.label", "must be a string", options.label, TypeError);
  if (options.record !== undefined) {
    if (!isOptionsObject(options.record))
      fail(op, "options.record", "must be { file: string }", options.record, TypeError);
    const file = (options.record as { file?: unknown }).file;
    if (typeof file !== "string" || file.length === 0)
      fail(op, "options.record.file", "must be a non-empty path string", file, TypeError);
  }
  checkInspectorOptions(op, options.inspector, describeValue);
  const wanted = parseDebugOptions(options.debug, op);
  const frameInUseCount = checkFrameInUseCount(options.frameInUseCount ?? 1, `${op}: options.frameInUseCount`);

  let limits: number[] | undefined;
  if (options.heapSizeLimits !== undefined) {
    if (!Array.isArray(options.heapSizeLimits))
      fail(op, "options.heapSizeLimits", "must be an array with one entry per heap", options.heapSizeLimits, TypeError);
    limits = options.heapSizeLimits.map((v, i) => {
      if (v === null || v === undefined) return 0;
      if (!(v === 0 || isPositiveInt(v)))
        fail(op, `options.heapSizeLimits[${i}]`, "must be a positive integer number of bytes or null", v);
      return v;
    });
  }
  const flags = allocatorFlagsFor(extensions, features, apiVersion) | extra;
  return { apiVersion, extensions, features, flags, blockSize, limits, debug: wanted, frameInUseCount };
}
