/**
 * The Vulkan bootstrap: one instance, one physical device, one logical device, its queues and a command pool,
 * and (on request) the validation layer with a debug-utils messenger that collects what it reports.
 *
 * Invariants:
 * - A {@link Context} owns every Vulkan object it creates and destroys them all in `destroy()`, in reverse order
 *   of creation, after waiting for the device to go idle. Before that it destroys its dependents (engine/lifetime.ts):
 *   every vkmem Allocator made over its device, and with them their FrameManagers, pools and allocations, named in
 *   one warning. Objects created by others on its device (pipelines, raw nvk objects) must be destroyed before it;
 *   the validation layer reports any that are not as messages collected during `destroy()`, which stay readable
 *   afterwards.
 * - The device gets exactly the extensions and features VMA can use that this physical device has, plus those
 *   the caller asks for. Extensions promoted to core in the version in use are not enabled again. Unsupported
 *   extensions are refused before `vkCreateDevice` (asking lavapipe for one crashes the process instead of
 *   returning VK_ERROR_EXTENSION_NOT_PRESENT).
 * - `apiVersion` is the version the application may use: the instance's (at most Vulkan 1.3, which VMA is
 *   compiled for), lowered to the physical device's when that is older. Hand exactly this to VMA.
 * - Portability (macOS over MoltenVK, on paper: see README): when the loader offers VK_KHR_portability_enumeration
 *   the instance enables it with the ENUMERATE_PORTABILITY flag, and a device that offers VK_KHR_portability_subset
 *   gets it enabled, as the spec requires ({@link portabilityPlan}). Elsewhere neither is offered and nothing changes.
 * - Vulkan 1.1 is enough: a loader of 1.1 (nvk's own on Windows) gives a 1.1 context, where buffer device address
 *   and maintenance4 come from their KHR extensions when the device has them; nothing in vkmem needs 1.2 or 1.3.
 * - Validation messages are collected synchronously: the layer calls the messenger from inside the Vulkan call
 *   that caused them, so a message is in `validationMessages` when that call returns. Only warnings and errors are
 *   collected unless `validationVerbose` is set.
 * - nvk dispatches extension functions through one global set of pointers, loaded from the most recently created
 *   instance and device. The Context switches them to itself (`makeCurrent()`) before it calls an extension
 *   function, tracking which context is current so that the switch (~0.1 ms) happens only when needed.
 * @module
 */
import { DestroyedResourceError, check, describeValue, vkErrorFor } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import { isNvkHandle, rawHandle, type NvkHandle } from "./handles.js";
import { addressOf, nvk, nvkUnavailable, type VkInout } from "./nvk.js";
import { Dependents, cascadeReport, registerDevice, reportCascade, unregisterDevice } from "../lifetime.js";
import { driverMissingError } from "./availability.js";
import {
  COMMAND_BUFFER_ONE_TIME_SUBMIT,
  COMMAND_POOL_RESET_COMMAND_BUFFER,
  MESSAGE_TYPE_GENERAL,
  MESSAGE_TYPE_PERFORMANCE,
  MESSAGE_TYPE_VALIDATION,
  NO_TIMEOUT,
  QUEUE_COMPUTE,
  QUEUE_GRAPHICS,
  QUEUE_TRANSFER,
  SEVERITY_ERROR,
  SEVERITY_INFO,
  SEVERITY_VERBOSE,
  SEVERITY_WARNING,
  STYPE_BUFFER_DEVICE_ADDRESS_FEATURES,
  STYPE_MAINTENANCE_4_FEATURES,
  STYPE_MEMORY_PRIORITY_FEATURES,
  VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION,
  VK_ERROR_EXTENSION_NOT_PRESENT,
  VK_ERROR_INCOMPATIBLE_DRIVER,
  VK_ERROR_INITIALIZATION_FAILED,
  VK_ERROR_LAYER_NOT_PRESENT,
} from "./vk.js";

/** The severity of a validation message, from the debug-utils severity bit. */
export type ValidationSeverity = "error" | "warning" | "info" | "verbose";

/** One message of the validation layer (or the loader), as collected by a {@link Context}. */
export interface ValidationMessage {
  readonly severity: ValidationSeverity;
  /** The debug-utils message type: "validation", "performance" or "general". */
  readonly type: "general" | "validation" | "performance";
  /** The message id name, e.g. "VUID-VkBufferCreateInfo-size-00912" or "SYNC-HAZARD-WRITE-AFTER-WRITE"; "" if none. */
  readonly id: string;
  /** The full text. */
  readonly message: string;
}

/** Options of {@link createContext}. Every member is optional. */
export interface ContextOptions {
  /** VkApplicationInfo::pApplicationName. Default "vkmem". */
  applicationName?: string;
  /**
   * The instance's apiVersion in VK_MAKE_VERSION form, Vulkan 1.0 to 1.3. Default: the loader's version, at
   * most 1.3 (VMA is compiled for 1.3).
   */
  apiVersion?: number;
  /** Enable VK_LAYER_KHRONOS_validation and collect its messages. Default false. */
  validation?: boolean;
  /** Also enable synchronization validation (implies `validation`). Default false. */
  synchronizationValidation?: boolean;
  /** Also collect info and verbose messages (they never count as failures). Default false. */
  validationVerbose?: boolean;
  /** Called synchronously for each collected message, from inside the Vulkan call that caused it. */
  onValidationMessage?: (message: ValidationMessage) => void;
  /** Index into vkEnumeratePhysicalDevices' list. The environment variable VKMEM_DEVICE_INDEX overrides it. */
  deviceIndex?: number;
  /** When choosing automatically: discrete before integrated (true, default) or integrated first (false). */
  preferDiscrete?: boolean;
  /** More instance extensions, e.g. a window system's surface extensions. */
  instanceExtensions?: readonly string[];
  /** More device extensions. */
  deviceExtensions?: readonly string[];
  /** false: also enable VK_KHR_surface and VK_KHR_swapchain for presenting to a window. Default true. */
  headless?: boolean;
}

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

/** The VkObjectType of each nvk handle class (what setObjectName checks its objectType against). */
const OBJECT_TYPE_OF_CLASS: ReadonlyMap<string, number> = new Map([
  ["VkInstance", 1], ["VkPhysicalDevice", 2], ["VkDevice", 3], ["VkQueue", 4], ["VkSemaphore", 5], ["VkCommandBuffer", 6],
  ["VkFence", 7], ["VkDeviceMemory", 8], ["VkBuffer", 9], ["VkImage", 10], ["VkEvent", 11], ["VkQueryPool", 12],
  ["VkBufferView", 13], ["VkImageView", 14], ["VkShaderModule", 15], ["VkPipelineCache", 16], ["VkPipelineLayout", 17],
  ["VkRenderPass", 18], ["VkPipeline", 19], ["VkDescriptorSetLayout", 20], ["VkSampler", 21], ["VkDescriptorPool", 22],
  ["VkDescriptorSet", 23], ["VkFramebuffer", 24], ["VkCommandPool", 25], ["VkSamplerYcbcrConversion", 1000156000],
  ["VkDescriptorUpdateTemplate", 1000085000], ["VkSurfaceKHR", 1000000000], ["VkSwapchainKHR", 1000001000],
  ["VkDebugUtilsMessengerEXT", 1000128000],
]);

const VERSION_1_1 = makeVersion(1, 1, 0);
const VERSION_1_2 = makeVersion(1, 2, 0);
const VERSION_1_3 = makeVersion(1, 3, 0);

const VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation";

const DEVICE_TYPES: readonly DeviceType[] = ["other", "integrated", "discrete", "virtual", "cpu"];

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "applicationName",
  "apiVersion",
  "validation",
  "synchronizationValidation",
  "validationVerbose",
  "onValidationMessage",
  "deviceIndex",
  "preferDiscrete",
  "instanceExtensions",
  "deviceExtensions",
  "headless",
]);

function makeVersion(major: number, minor: number, patch: number): number {
  return ((major << 22) | (minor << 12) | patch) >>> 0;
}

/** Major and minor of a VK_MAKE_VERSION number, patch dropped (what "Vulkan 1.3" means). */
function majorMinor(version: number): number {
  return makeVersion(version >>> 22, (version >>> 12) & 0x3ff, 0);
}

/**
 * "major.minor.patch" of a VK_MAKE_VERSION / VK_MAKE_API_VERSION number, e.g. 4206592 gives "1.3.0".
 *
 * @throws TypeError when `version` is not a non-negative integer below 2^32.
 */
export function vulkanVersionString(version: number): string {
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) {
    throw new TypeError(`vulkanVersionString: version must be a 32-bit unsigned integer, got ${describeValue(version)}`);
  }
  return `${(version >>> 22) & 0x7f}.${(version >>> 12) & 0x3ff}.${version & 0xfff}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Which context nvk's extension-function pointers belong to.

// Weak: being the current context must not keep a Context dropped without destroy() (and every Allocator made over
// its device, engine/lifetime.ts) from being collected and reported.
let currentContext: WeakRef<Context> | null = null;

function isCurrent(context: Context): boolean {
  return currentContext !== null && currentContext.deref() === context;
}

function forgetCurrent(): void {
  currentContext = null;
}

// ---------------------------------------------------------------------------------------------------------------
// Option checks

function checkOptions(options: unknown): ContextOptions {
  if (options === undefined) return {};
  if (!isOptionsObject(options)) {
    throw new TypeError(`createContext: options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`createContext: unknown option '${key}' (value ${describeValue(o[key])})`);
  }
  const bad = (name: string, expected: string): TypeError =>
    new TypeError(`createContext: option '${name}' must be ${expected}, got ${describeValue(o[name])}`);
  for (const name of ["validation", "synchronizationValidation", "validationVerbose", "preferDiscrete", "headless"]) {
    if (o[name] !== undefined && typeof o[name] !== "boolean") throw bad(name, "a boolean");
  }
  if (o.applicationName !== undefined && typeof o.applicationName !== "string") throw bad("applicationName", "a string");
  if (o.onValidationMessage !== undefined && typeof o.onValidationMessage !== "function") {
    throw bad("onValidationMessage", "a function");
  }
  for (const name of ["instanceExtensions", "deviceExtensions"]) {
    const list = o[name];
    if (list !== undefined && (!Array.isArray(list) || list.some((e) => typeof e !== "string" || e === ""))) {
      throw bad(name, "an array of extension names");
    }
  }
  if (o.deviceIndex !== undefined) {
    if (typeof o.deviceIndex !== "number") throw bad("deviceIndex", "a number");
    if (!Number.isInteger(o.deviceIndex) || o.deviceIndex < 0) {
      throw new RangeError(`createContext: option 'deviceIndex' must be a non-negative integer, got ${describeValue(o.deviceIndex)}`);
    }
  }
  if (o.apiVersion !== undefined) {
    if (typeof o.apiVersion !== "number") throw bad("apiVersion", "a number (VK_MAKE_VERSION form)");
    const v = o.apiVersion;
    if (!Number.isInteger(v) || v < makeVersion(1, 0, 0) || v >= makeVersion(1, 4, 0)) {
      throw new RangeError(
        `createContext: option 'apiVersion' must be a Vulkan version from 1.0 to 1.3 (VK_MAKE_VERSION form), got ${describeValue(v)}` +
          (Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? ` (${vulkanVersionString(v)})` : ""),
      );
    }
  }
  return o as ContextOptions;
}

function deviceIndexFromEnvironment(): number | undefined {
  const text = process.env.VKMEM_DEVICE_INDEX;
  if (text === undefined || text.trim() === "") return undefined;
  const index = Number(text);
  if (!Number.isInteger(index) || index < 0) {
    throw new RangeError(`createContext: environment variable VKMEM_DEVICE_INDEX must be a non-negative integer, got ${describeValue(text)}`);
  }
  return index;
}

// ---------------------------------------------------------------------------------------------------------------
// Enumeration helpers (nvk's two-call pattern with a { $ } count)

function enumerate<T>(make: () => T, call: (count: VkInout, out: T[] | null) => number | void, operation: string): T[] {
  const count: VkInout = { $: 0 };
  const first = call(count, null);
  if (typeof first === "number") check(first, operation);
  const items = Array.from({ length: count.$ }, make);
  if (items.length === 0) return items;
  const second = call(count, items);
  if (typeof second === "number") check(second, operation);
  return items.slice(0, count.$);
}

function instanceExtensionNames(layer: string | null): Set<string> {
  const props = enumerate(
    () => new nvk.VkExtensionProperties(),
    (c, out) => nvk.vkEnumerateInstanceExtensionProperties(layer, c, out),
    "vkEnumerateInstanceExtensionProperties",
  );
  return new Set(props.map((p) => p.extensionName as string));
}

function instanceLayerNames(): Set<string> {
  const props = enumerate(
    () => new nvk.VkLayerProperties(),
    (c, out) => nvk.vkEnumerateInstanceLayerProperties(c, out),
    "vkEnumerateInstanceLayerProperties",
  );
  return new Set(props.map((p) => p.layerName as string));
}

/** A pNext-chainable struct made by hand: sType at 0, pNext at 8, VkBool32 members from 16. */
interface RawStruct {
  readonly view: DataView;
  readonly address: bigint;
}

function rawStruct(sType: number, byteLength: number): RawStruct {
  const buffer = new ArrayBuffer(byteLength);
  const view = new DataView(buffer);
  view.setInt32(0, sType, true);
  return { view, address: addressOf(buffer) };
}

/** Writes `chain` as the pNext list after `head` (an nvk struct or a raw one), by address. */
function linkChain(head: { memoryView: DataView } | RawStruct, chain: readonly RawStruct[]): void {
  const views = ["memoryView" in head ? head.memoryView : head.view, ...chain.map((s) => s.view)];
  for (let i = 0; i < views.length; i++) views[i]!.setBigUint64(8, i < chain.length ? chain[i]!.address : 0n, true);
}

// ---------------------------------------------------------------------------------------------------------------
// Portability (macOS over MoltenVK; untested there, decided by one pure function tested on Linux)

/** VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR (VK_KHR_portability_enumeration). */
export const INSTANCE_CREATE_ENUMERATE_PORTABILITY = 0x1;

/** What {@link portabilityPlan} decides for a loader and (once chosen) a device. */
export interface PortabilityPlan {
  /** Instance extensions to enable for portability: VK_KHR_portability_enumeration when the loader offers it. */
  readonly instanceExtensions: readonly string[];
  /** Bits for VkInstanceCreateInfo::flags: {@link INSTANCE_CREATE_ENUMERATE_PORTABILITY} with that extension. */
  readonly instanceFlags: number;
  /**
   * Device extensions to enable: VK_KHR_portability_subset whenever the device offers it (the spec requires it
   * then: the device is a portability implementation such as MoltenVK).
   */
  readonly deviceExtensions: readonly string[];
}

/**
 * Decides the portability extensions and flag from what the loader and the device enumerate. Pure.
 *
 * Since Vulkan loader 1.3.216 a portability driver (MoltenVK) is listed only for an instance created with
 * VK_KHR_portability_enumeration and the ENUMERATE_PORTABILITY flag; where the loader does not offer the
 * extension (Linux, Windows, older loaders) nothing is added and the instance is created as before.
 * @param instanceExtensions the loader's instance extensions (vkEnumerateInstanceExtensionProperties).
 * @param deviceExtensions the chosen device's extensions, or an empty set before a device is chosen.
 */
export function portabilityPlan(instanceExtensions: ReadonlySet<string>, deviceExtensions: ReadonlySet<string> = new Set()): PortabilityPlan {
  const enumeration = instanceExtensions.has("VK_KHR_portability_enumeration");
  return {
    instanceExtensions: enumeration ? ["VK_KHR_portability_enumeration"] : [],
    instanceFlags: enumeration ? INSTANCE_CREATE_ENUMERATE_PORTABILITY : 0,
    deviceExtensions: deviceExtensions.has("VK_KHR_portability_subset") ? ["VK_KHR_portability_subset"] : [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Physical device survey

interface DeviceSurvey {
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

function surveyDevice(index: number, handle: NvkHandle, requiredExtensions: readonly string[]): DeviceSurvey {
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

function chooseDevice(devices: readonly DeviceSurvey[], index: number | undefined, source: string, preferDiscrete: boolean): DeviceSurvey {
  const list = devices.map((d) => `#${d.index} ${d.name} (${d.type})${d.unusable ? `: ${d.unusable}` : ""}`).join("; ");
  if (index !== undefined) {
    const device = devices[index];
    if (device === undefined) {
      throw new RangeError(`createContext: ${source} ${index} is out of range: ${devices.length} device(s): ${list}`);
    }
    if (device.unusable !== null) {
      throw vkErrorFor(VK_ERROR_EXTENSION_NOT_PRESENT, "createContext", undefined, `device #${index} ${device.name} cannot be used: ${device.unusable}`);
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
    const result = devices.every((d) => d.missingExtensions.length > 0) ? VK_ERROR_EXTENSION_NOT_PRESENT : VK_ERROR_INITIALIZATION_FAILED;
    throw vkErrorFor(result, "createContext", undefined, `no usable Vulkan device: ${list}`);
  }
  return chosen;
}

// ---------------------------------------------------------------------------------------------------------------
// The Context

interface LiveObjects {
  readonly instance: NvkHandle;
  readonly messenger: NvkHandle | null;
  readonly physicalDevice: NvkHandle;
  readonly device: NvkHandle;
  readonly queue: NvkHandle;
  readonly transferQueue: NvkHandle;
  readonly commandPool: NvkHandle;
}

interface ContextInfo {
  readonly apiVersion: number;
  readonly instanceApiVersion: number;
  readonly deviceName: string;
  readonly deviceType: DeviceType;
  readonly properties: DeviceLimits;
  readonly memoryProperties: MemoryProperties;
  readonly enabledInstanceExtensions: ReadonlySet<string>;
  readonly enabledDeviceExtensions: ReadonlySet<string>;
  readonly features: ContextFeatures;
  readonly queueFamilyIndex: number;
  readonly transferQueueFamilyIndex: number;
  readonly validation: boolean;
}

/**
 * A Vulkan instance + device + queues + command pool, with optional validation.
 *
 * Created by {@link createContext}; destroyed by its owner with {@link Context.destroy}, after everything
 * created on its device. After `destroy()` every member except `destroyed`, `validationMessages`,
 * `clearValidationMessages()` and `destroy()` throws {@link DestroyedResourceError}.
 */
export class Context {
  #live: LiveObjects | null;
  readonly #info: ContextInfo;
  readonly #messages: ValidationMessage[];
  /** The Allocators made over its device (engine/lifetime.ts), destroyed by destroy() before the device. */
  readonly #dependents = new Dependents();

  /** @internal Use {@link createContext}. */
  constructor(live: LiveObjects, info: ContextInfo, messages: ValidationMessage[]) {
    this.#live = live;
    this.#info = info;
    this.#messages = messages;
    registerDevice(rawHandle(live.device), this.#dependents);
  }

  #use(member: string): LiveObjects {
    if (this.#live === null) throw new DestroyedResourceError("Context", undefined, member);
    return this.#live;
  }

  #infoFor(member: string): ContextInfo {
    this.#use(member);
    return this.#info;
  }

  /** Whether `destroy()` has run. */
  get destroyed(): boolean {
    return this.#live === null;
  }

  /** The VkInstance (nvk handle object). @throws DestroyedResourceError after destroy(). */
  get instance(): NvkHandle {
    return this.#use("instance").instance;
  }

  /** The VkPhysicalDevice in use (nvk handle object). @throws DestroyedResourceError after destroy(). */
  get physicalDevice(): NvkHandle {
    return this.#use("physicalDevice").physicalDevice;
  }

  /** The VkDevice (nvk handle object). @throws DestroyedResourceError after destroy(). */
  get device(): NvkHandle {
    return this.#use("device").device;
  }

  /**
   * The Vulkan version the application uses, VK_MAKE_VERSION form with patch 0: the instance's, lowered to the
   * device's when that is older. VMA's `vulkanApiVersion` must be this. @throws DestroyedResourceError after destroy().
   */
  get apiVersion(): number {
    return this.#infoFor("apiVersion").apiVersion;
  }

  /** VkApplicationInfo::apiVersion the instance was created with. @throws DestroyedResourceError after destroy(). */
  get instanceApiVersion(): number {
    return this.#infoFor("instanceApiVersion").instanceApiVersion;
  }

  /** VkPhysicalDeviceProperties::deviceName, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". @throws DestroyedResourceError after destroy(). */
  get deviceName(): string {
    return this.#infoFor("deviceName").deviceName;
  }

  /** The physical device type. @throws DestroyedResourceError after destroy(). */
  get deviceType(): DeviceType {
    return this.#infoFor("deviceType").deviceType;
  }

  /** Limits memory management needs, as Numbers. @throws DestroyedResourceError after destroy(). */
  get properties(): DeviceLimits {
    return this.#infoFor("properties").properties;
  }

  /** Memory heaps and types. @throws DestroyedResourceError after destroy(). */
  get memoryProperties(): MemoryProperties {
    return this.#infoFor("memoryProperties").memoryProperties;
  }

  /** Instance extensions enabled at vkCreateInstance. @throws DestroyedResourceError after destroy(). */
  get enabledInstanceExtensions(): ReadonlySet<string> {
    return this.#infoFor("enabledInstanceExtensions").enabledInstanceExtensions;
  }

  /**
   * Device extensions enabled at vkCreateDevice (core-promoted ones are not listed: they are part of `apiVersion`).
   * @throws DestroyedResourceError after destroy().
   */
  get enabledDeviceExtensions(): ReadonlySet<string> {
    return this.#infoFor("enabledDeviceExtensions").enabledDeviceExtensions;
  }

  /** Features enabled on the device. @throws DestroyedResourceError after destroy(). */
  get features(): ContextFeatures {
    return this.#infoFor("features").features;
  }

  /** The graphics queue (compute-only devices: a compute queue). @throws DestroyedResourceError after destroy(). */
  get queue(): NvkHandle {
    return this.#use("queue").queue;
  }

  /** The family of `queue`. @throws DestroyedResourceError after destroy(). */
  get queueFamilyIndex(): number {
    return this.#infoFor("queueFamilyIndex").queueFamilyIndex;
  }

  /**
   * A queue of a transfer-only family when the device has one, else `queue` itself.
   * @throws DestroyedResourceError after destroy().
   */
  get transferQueue(): NvkHandle {
    return this.#use("transferQueue").transferQueue;
  }

  /** The family of `transferQueue`. @throws DestroyedResourceError after destroy(). */
  get transferQueueFamilyIndex(): number {
    return this.#infoFor("transferQueueFamilyIndex").transferQueueFamilyIndex;
  }

  /**
   * A command pool of `queueFamilyIndex` (RESET_COMMAND_BUFFER), owned by the Context.
   * @throws DestroyedResourceError after destroy().
   */
  get commandPool(): NvkHandle {
    return this.#use("commandPool").commandPool;
  }

  /** Whether the validation layer is on. @throws DestroyedResourceError after destroy(). */
  get validation(): boolean {
    return this.#infoFor("validation").validation;
  }

  /** A copy of the messages collected since creation or the last `clearValidationMessages()`; readable after destroy(). */
  get validationMessages(): readonly ValidationMessage[] {
    return this.#messages.slice();
  }

  /** Forgets the collected validation messages. */
  clearValidationMessages(): void {
    this.#messages.length = 0;
  }

  /**
   * Points nvk's extension-function pointers (debug utils, swapchain, ...) at this context's instance and device.
   *
   * The Context does this itself before its own extension calls. Call it before raw nvk extension calls when more
   * than one Context has been created; core functions do not need it.
   * @throws DestroyedResourceError after destroy().
   */
  makeCurrent(): void {
    const live = this.#use("makeCurrent");
    if (isCurrent(this)) return;
    nvk.vkUseInstance(live.instance);
    nvk.vkUseDevice(live.device);
    currentContext = new WeakRef(this);
  }

  /**
   * Records a one-shot command buffer with `record`, submits it to `queue` and waits for it to finish.
   *
   * The command buffer (allocated from `commandPool`) and the fence are freed before this returns, also when
   * `record` throws. For tests, uploads at load time and other rare work: it stalls the queue.
   * @throws TypeError when `record` is not a function.
   * @throws VkError when a Vulkan call fails; whatever `record` throws is rethrown.
   * @throws DestroyedResourceError after destroy().
   */
  submitAndWait(record: (commandBuffer: NvkHandle) => void): void {
    const live = this.#use("submitAndWait");
    if (typeof record !== "function") {
      throw new TypeError(`submitAndWait: record must be a function, got ${describeValue(record)}`);
    }
    const { device, commandPool, queue } = live;
    const cmd = new nvk.VkCommandBuffer();
    check(
      nvk.vkAllocateCommandBuffers(
        device,
        new nvk.VkCommandBufferAllocateInfo({ commandPool, level: nvk.VK_COMMAND_BUFFER_LEVEL_PRIMARY, commandBufferCount: 1 }),
        [cmd],
      ),
      "vkAllocateCommandBuffers",
    );
    let fence: NvkHandle | null = null;
    try {
      check(nvk.vkBeginCommandBuffer(cmd, new nvk.VkCommandBufferBeginInfo({ flags: COMMAND_BUFFER_ONE_TIME_SUBMIT })), "vkBeginCommandBuffer");
      record(cmd);
      check(nvk.vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
      fence = new nvk.VkFence();
      check(nvk.vkCreateFence(device, new nvk.VkFenceCreateInfo(), null, fence), "vkCreateFence");
      const submit = new nvk.VkSubmitInfo({ commandBufferCount: 1, pCommandBuffers: [cmd] });
      check(nvk.vkQueueSubmit(queue, 1, [submit], fence), "vkQueueSubmit");
      check(nvk.vkWaitForFences(device, 1, [fence], true, NO_TIMEOUT), "vkWaitForFences");
    } finally {
      if (fence !== null) nvk.vkDestroyFence(device, fence, null);
      nvk.vkFreeCommandBuffers(device, commandPool, 1, [cmd]);
    }
  }

  /**
   * Names a Vulkan object for the validation layer and debuggers (vkSetDebugUtilsObjectNameEXT).
   *
   * Does nothing when validation (VK_EXT_debug_utils) is off. `objectType` is a VkObjectType value, e.g.
   * `nvk.VK_OBJECT_TYPE_BUFFER`; `handle` a raw handle or an nvk handle object.
   * @throws TypeError / RangeError for a bad argument.
   * @throws VkError when the call fails.
   * @throws DestroyedResourceError after destroy().
   */
  setObjectName(objectType: number, handle: bigint | NvkHandle, name: string): void {
    const live = this.#use("setObjectName");
    if (!Number.isInteger(objectType) || objectType < 1 || objectType > 0x7fffffff) {
      throw new TypeError(`setObjectName: objectType must be a VkObjectType value, got ${describeValue(objectType)}`);
    }
    let raw: bigint;
    if (typeof handle === "bigint") {
      if (handle <= 0n || handle >= 1n << 64n) throw new RangeError(`setObjectName: handle must be a non-null 64-bit handle, got ${describeValue(handle)}`);
      raw = handle;
    } else if (isNvkHandle(handle)) {
      // An nvk object says what it is: a different objectType would name another object to the layer
      // (VUID-VkDebugUtilsObjectNameInfoEXT-objectType-02590).
      const own = OBJECT_TYPE_OF_CLASS.get((handle as { constructor: { name: string } }).constructor.name);
      if (own !== undefined && own !== objectType) {
        throw new RangeError(`setObjectName: objectType must be ${own} for a ${(handle as { constructor: { name: string } }).constructor.name}, got ${describeValue(objectType)}`);
      }
      raw = rawHandle(handle);
      if (raw === 0n) throw new RangeError(`setObjectName: handle must not be VK_NULL_HANDLE, got ${describeValue(handle)}`);
    } else {
      throw new TypeError(`setObjectName: handle must be a BigInt or an nvk handle object, got ${describeValue(handle)}`);
    }
    if (typeof name !== "string") throw new TypeError(`setObjectName: name must be a string, got ${describeValue(name)}`);
    if (live.messenger === null) return;
    this.makeCurrent();
    const info = new nvk.VkDebugUtilsObjectNameInfoEXT({ objectHandle: raw, pObjectName: name });
    info.memoryView.setInt32(16, objectType, true); // the setter only knows the object types of Vulkan 1.1.126
    check(nvk.vkSetDebugUtilsObjectNameEXT(live.device, info), "vkSetDebugUtilsObjectNameEXT", name);
  }

  /**
   * Waits until the device is idle (vkDeviceWaitIdle).
   * @throws VkError when the wait fails (e.g. device lost).
   * @throws DestroyedResourceError after destroy().
   */
  waitIdle(): void {
    check(nvk.vkDeviceWaitIdle(this.#use("waitIdle").device), "vkDeviceWaitIdle");
  }

  /**
   * Waits for the device to go idle, destroys its dependents (every Allocator made over its device, with their
   * FrameManagers, pools and allocations: see engine/lifetime.ts), then the command pool, device, messenger and
   * instance. Live dependents are named in one process warning; using them afterwards throws
   * {@link DestroyedResourceError} naming the Context.
   *
   * A second call does nothing. Messages the validation layer reports meanwhile (e.g. objects still alive on the
   * device) are collected and stay readable in `validationMessages`. Never throws: a failed wait (device lost)
   * does not stop the destruction, and what a dependent's destruction threw is part of the warning.
   */
  destroy(): void {
    const live = this.#live;
    if (live === null) return;
    this.makeCurrent();
    nvk.vkDeviceWaitIdle(live.device);
    // The dependents go while the device is alive (their frame managers still wait on their fences and free
    // through VMA); no Vulkan or VMA call may reach the device after vkDestroyDevice.
    const cascade = cascadeReport();
    this.#dependents.destroyAll("Context", cascade);
    reportCascade("Context", cascade);
    unregisterDevice(rawHandle(live.device));
    this.makeCurrent();
    this.#live = null;
    nvk.vkDestroyCommandPool(live.device, live.commandPool, null);
    nvk.vkDestroyDevice(live.device, null);
    if (live.messenger !== null) nvk.vkDestroyDebugUtilsMessengerEXT(live.instance, live.messenger, null);
    nvk.vkDestroyInstance(live.instance, null);
    if (isCurrent(this)) forgetCurrent();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// createContext

function severityOf(bits: number): ValidationSeverity {
  if (bits & SEVERITY_ERROR) return "error";
  if (bits & SEVERITY_WARNING) return "warning";
  if (bits & SEVERITY_INFO) return "info";
  return "verbose";
}

function typeOf(bits: number): ValidationMessage["type"] {
  if (bits & MESSAGE_TYPE_VALIDATION) return "validation";
  if (bits & MESSAGE_TYPE_PERFORMANCE) return "performance";
  return "general";
}

function makeMessengerInfo(messages: ValidationMessage[], verbose: boolean, listener: ContextOptions["onValidationMessage"]): any {
  const severities = SEVERITY_WARNING | SEVERITY_ERROR | (verbose ? SEVERITY_INFO | SEVERITY_VERBOSE : 0);
  return new nvk.VkDebugUtilsMessengerCreateInfoEXT({
    messageSeverity: severities,
    messageType: MESSAGE_TYPE_GENERAL | MESSAGE_TYPE_VALIDATION | MESSAGE_TYPE_PERFORMANCE,
    // Called synchronously from inside the Vulkan call that caused the message: it must never throw through
    // native code, so a throwing listener's error is rethrown on the next tick instead.
    pfnUserCallback: (severity: number, type: number, data: any): boolean => {
      try {
        const message: ValidationMessage = Object.freeze({
          severity: severityOf(severity),
          type: typeOf(type),
          id: (data?.pMessageIdName as string | null) ?? "",
          message: (data?.pMessage as string | null) ?? "",
        });
        messages.push(message);
        listener?.(message);
      } catch (error) {
        process.nextTick(() => {
          throw error;
        });
      }
      return false;
    },
  });
}

/** Everything decided about the device before vkCreateDevice. */
interface DevicePlan {
  readonly extensions: readonly string[];
  readonly features: ContextFeatures;
  /**
   * The feature structs to chain after VkPhysicalDeviceFeatures2, or null on Vulkan 1.0 (no features2). The plan
   * holds them, so they stay alive until vkCreateDevice has read them.
   */
  readonly chain: readonly RawStruct[] | null;
}

/**
 * Picks the device extensions and features: those VMA benefits from that the device has (not the ones core in
 * `apiVersion`), then the caller's. `properties2` says whether a Vulkan 1.0 instance has
 * VK_KHR_get_physical_device_properties2, which VK_EXT_memory_budget needs there.
 */
function planDevice(survey: DeviceSurvey, apiVersion: number, properties2: boolean, options: ContextOptions): DevicePlan {
  const extensions = new Set<string>();
  const want = (name: string): boolean => survey.extensions.has(name) && extensions.add(name) !== undefined;
  // VK_AMD_device_coherent_memory is deliberately left off: it only adds slow DEVICE_COHERENT memory types,
  // useful for chasing GPU crashes, and VMA does not need it.
  let features: ContextFeatures;
  let chain: RawStruct[] | null = null;
  if (apiVersion < VERSION_1_1) {
    if (want("VK_KHR_get_memory_requirements2")) want("VK_KHR_dedicated_allocation");
    want("VK_KHR_bind_memory2");
    if (properties2) want("VK_EXT_memory_budget");
    // Without features2 the feature structs cannot be queried or enabled.
    const supported = new nvk.VkPhysicalDeviceFeatures();
    nvk.vkGetPhysicalDeviceFeatures(survey.handle, supported);
    features = { memoryPriority: false, bufferDeviceAddress: false, maintenance4: false, samplerAnisotropy: !!supported.samplerAnisotropy };
  } else {
    const has = (name: string): boolean => survey.extensions.has(name);
    const priority = has("VK_EXT_memory_priority") ? rawStruct(STYPE_MEMORY_PRIORITY_FEATURES, 24) : null;
    const bda = apiVersion >= VERSION_1_2 || has("VK_KHR_buffer_device_address") ? rawStruct(STYPE_BUFFER_DEVICE_ADDRESS_FEATURES, 32) : null;
    const m4 = apiVersion >= VERSION_1_3 || has("VK_KHR_maintenance4") ? rawStruct(STYPE_MAINTENANCE_4_FEATURES, 24) : null;
    const query = new nvk.VkPhysicalDeviceFeatures2();
    linkChain(query, [priority, bda, m4].filter((s): s is RawStruct => s !== null));
    nvk.vkGetPhysicalDeviceFeatures2(survey.handle, query);
    const supported = (s: RawStruct | null): boolean => s !== null && s.view.getUint32(16, true) !== 0;

    want("VK_EXT_memory_budget");
    features = {
      memoryPriority: supported(priority) && want("VK_EXT_memory_priority"),
      bufferDeviceAddress: supported(bda) && (apiVersion >= VERSION_1_2 || want("VK_KHR_buffer_device_address")),
      maintenance4: supported(m4) && (apiVersion >= VERSION_1_3 || want("VK_KHR_maintenance4")),
      samplerAnisotropy: !!query.features.samplerAnisotropy,
    };
    const enable = (sType: number, byteLength: number): RawStruct => {
      const s = rawStruct(sType, byteLength);
      s.view.setUint32(16, 1, true);
      return s;
    };
    chain = [];
    if (features.memoryPriority) chain.push(enable(STYPE_MEMORY_PRIORITY_FEATURES, 24));
    if (features.bufferDeviceAddress) chain.push(enable(STYPE_BUFFER_DEVICE_ADDRESS_FEATURES, 32));
    if (features.maintenance4) chain.push(enable(STYPE_MAINTENANCE_4_FEATURES, 24));
  }
  for (const name of portabilityPlan(new Set(), survey.extensions).deviceExtensions) extensions.add(name);
  for (const name of options.deviceExtensions ?? []) extensions.add(name);
  if (options.headless === false) extensions.add("VK_KHR_swapchain");
  return { extensions: [...extensions], features, chain };
}

function createDevice(survey: DeviceSurvey, plan: DevicePlan, families: readonly number[]): NvkHandle {
  const queueInfos = families.map(
    (family) => new nvk.VkDeviceQueueCreateInfo({ queueFamilyIndex: family, queueCount: 1, pQueuePriorities: new Float32Array([1]) }),
  );
  const createInfo = new nvk.VkDeviceCreateInfo({
    queueCreateInfoCount: queueInfos.length,
    pQueueCreateInfos: queueInfos,
    enabledExtensionCount: plan.extensions.length,
    ppEnabledExtensionNames: plan.extensions.length > 0 ? [...plan.extensions] : null,
  });
  const enabled = new nvk.VkPhysicalDeviceFeatures({ samplerAnisotropy: plan.features.samplerAnisotropy });
  if (plan.chain === null) {
    createInfo.pEnabledFeatures = enabled;
  } else {
    const features2 = new nvk.VkPhysicalDeviceFeatures2({ features: enabled });
    linkChain(features2, plan.chain);
    createInfo.pNext = features2;
  }
  const device = new nvk.VkDevice();
  forgetCurrent(); // nvk reloads its device-level pointers on creation
  check(nvk.vkCreateDevice(survey.handle, createInfo, null, device), "vkCreateDevice");
  return device;
}

/** The instance and what was decided for it. */
interface InstanceSetup {
  readonly instance: NvkHandle;
  readonly apiVersion: number;
  readonly extensions: ReadonlySet<string>;
  /** The messenger's create info when validation is on (also chained into vkCreateInstance), else null. */
  readonly messengerInfo: any;
  /** Where the messenger's callback collects messages. */
  readonly messages: ValidationMessage[];
}

function createInstance(o: ContextOptions, validation: boolean): InstanceSetup {
  const loaderVersion: VkInout = { $: makeVersion(1, 0, 0) };
  check(nvk.vkEnumerateInstanceVersion(loaderVersion), "vkEnumerateInstanceVersion");
  if (o.apiVersion !== undefined && majorMinor(o.apiVersion) > majorMinor(loaderVersion.$)) {
    throw new RangeError(
      `createContext: option 'apiVersion' ${describeValue(o.apiVersion)} (${vulkanVersionString(o.apiVersion)}) is above what the Vulkan loader supports (${vulkanVersionString(loaderVersion.$)})`,
    );
  }
  const apiVersion = o.apiVersion ?? Math.min(majorMinor(loaderVersion.$), VERSION_1_3);

  const available = instanceExtensionNames(null);
  const layers: string[] = [];
  let syncByFeature = false;
  if (validation) {
    if (!instanceLayerNames().has(VALIDATION_LAYER)) {
      throw vkErrorFor(VK_ERROR_LAYER_NOT_PRESENT, "vkCreateInstance", undefined, `${VALIDATION_LAYER} is not installed (Debian: vulkan-validationlayers)`);
    }
    layers.push(VALIDATION_LAYER);
    for (const e of instanceExtensionNames(VALIDATION_LAYER)) available.add(e);
    syncByFeature = o.synchronizationValidation === true && available.has("VK_EXT_validation_features");
  }
  const extensions = new Set<string>();
  if (validation) extensions.add("VK_EXT_debug_utils");
  if (syncByFeature) extensions.add("VK_EXT_validation_features");
  if (apiVersion < VERSION_1_1 && available.has("VK_KHR_get_physical_device_properties2")) {
    extensions.add("VK_KHR_get_physical_device_properties2");
  }
  if (o.headless === false) extensions.add("VK_KHR_surface");
  const portability = portabilityPlan(available);
  for (const e of portability.instanceExtensions) extensions.add(e);
  for (const e of o.instanceExtensions ?? []) extensions.add(e);
  const missing = [...extensions].filter((e) => !available.has(e));
  if (missing.length > 0) {
    throw vkErrorFor(VK_ERROR_EXTENSION_NOT_PRESENT, "vkCreateInstance", undefined, `instance extension(s) not available: ${missing.join(", ")}`);
  }

  const messages: ValidationMessage[] = [];
  const messengerInfo = validation ? makeMessengerInfo(messages, o.validationVerbose === true, o.onValidationMessage) : null;
  const extensionList = [...extensions];
  const createInfo = new nvk.VkInstanceCreateInfo({
    pApplicationInfo: new nvk.VkApplicationInfo({
      pApplicationName: o.applicationName ?? "vkmem",
      applicationVersion: 0,
      pEngineName: "vkmem",
      engineVersion: makeVersion(0, 1, 0),
      apiVersion,
    }),
    enabledLayerCount: layers.length,
    ppEnabledLayerNames: layers.length > 0 ? layers : null,
    enabledExtensionCount: extensionList.length,
    ppEnabledExtensionNames: extensionList.length > 0 ? extensionList : null,
  });
  // flags (after sType and pNext) is a reserved VkFlags in nvk's 1.1.126 headers: written by hand.
  if (portability.instanceFlags !== 0) createInfo.memoryView.setUint32(16, portability.instanceFlags, true);
  // pNext: the messenger (so that vkCreateInstance/vkDestroyInstance are watched too), after the validation
  // features when synchronization validation goes that way. nvk's setters refuse a longer chain: link by address.
  if (syncByFeature) {
    const validationFeatures = new nvk.VkValidationFeaturesEXT({
      enabledValidationFeatureCount: 1,
      pEnabledValidationFeatures: new Int32Array([VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION]),
    });
    validationFeatures.memoryView.setBigUint64(8, messengerInfo.memoryAddress, true);
    createInfo.pNext = validationFeatures;
  } else if (messengerInfo !== null) {
    createInfo.pNext = messengerInfo;
  }

  // Without VK_EXT_validation_features the layer reads its enables from the environment at vkCreateInstance.
  const layerEnablesBefore = process.env.VK_LAYER_ENABLES;
  const syncByEnvironment = o.synchronizationValidation === true && !syncByFeature;
  if (syncByEnvironment) {
    const enables = new Set((layerEnablesBefore ?? "").split(/[,:]/).filter((s) => s !== ""));
    enables.add("VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT");
    process.env.VK_LAYER_ENABLES = [...enables].join(",");
  }
  const instance = new nvk.VkInstance();
  forgetCurrent(); // nvk reloads its instance-level pointers on creation
  try {
    const result = nvk.vkCreateInstance(createInfo, null, instance);
    if (result === VK_ERROR_INCOMPATIBLE_DRIVER) throw driverMissingError("vkCreateInstance");
    check(result, "vkCreateInstance");
  } finally {
    if (syncByEnvironment) {
      if (layerEnablesBefore === undefined) delete process.env.VK_LAYER_ENABLES;
      else process.env.VK_LAYER_ENABLES = layerEnablesBefore;
    }
  }
  return { instance, apiVersion, extensions, messengerInfo, messages };
}

function readMemoryProperties(physicalDevice: NvkHandle): MemoryProperties {
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

function readLimits(props: any): DeviceLimits {
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

/**
 * Creates a Vulkan instance and device ready for VMA: see {@link ContextOptions} for the choices.
 *
 * The caller owns the returned Context and must call `destroy()` on it. Partially created objects are destroyed
 * when creation fails.
 * @throws TypeError / RangeError for a bad option (the message names the option and shows the value), or a bad
 *   VKMEM_DEVICE_INDEX.
 * @throws VkError when Vulkan fails, when the validation layer or an extension asked for is not available
 *   (VK_ERROR_LAYER_NOT_PRESENT / VK_ERROR_EXTENSION_NOT_PRESENT), or when no device is usable.
 */
export function createContext(options?: ContextOptions): Context {
  const o = checkOptions(options);
  const unavailable = nvkUnavailable();
  if (unavailable !== null) throw unavailable;
  const validation = o.validation === true || o.synchronizationValidation === true;
  const envIndex = deviceIndexFromEnvironment();
  const { instance, apiVersion: instanceApiVersion, extensions: instanceExtensions, messengerInfo, messages } = createInstance(o, validation);

  let messenger: NvkHandle | null = null;
  let device: NvkHandle | null = null;
  try {
    if (messengerInfo !== null) {
      messenger = new nvk.VkDebugUtilsMessengerEXT();
      check(nvk.vkCreateDebugUtilsMessengerEXT(instance, messengerInfo, null, messenger), "vkCreateDebugUtilsMessengerEXT");
    }

    const handles = enumerate(
      () => new nvk.VkPhysicalDevice(),
      (c, out) => nvk.vkEnumeratePhysicalDevices(instance, c, out),
      "vkEnumeratePhysicalDevices",
    );
    if (handles.length === 0) throw driverMissingError("vkEnumeratePhysicalDevices");
    const required = [...(o.deviceExtensions ?? []), ...(o.headless === false ? ["VK_KHR_swapchain"] : [])];
    const surveys = handles.map((h, i) => surveyDevice(i, h, required));
    const survey =
      envIndex !== undefined
        ? chooseDevice(surveys, envIndex, "VKMEM_DEVICE_INDEX", true)
        : chooseDevice(surveys, o.deviceIndex, "option 'deviceIndex'", o.preferDiscrete !== false);

    const apiVersion = Math.min(instanceApiVersion, majorMinor(survey.apiVersion));
    const plan = planDevice(survey, apiVersion, instanceExtensions.has("VK_KHR_get_physical_device_properties2"), o);
    const mainFamily = survey.mainFamily;
    const dedicatedTransfer = survey.queueFamilies.findIndex(
      (q) => q.count > 0 && (q.flags & QUEUE_TRANSFER) !== 0 && (q.flags & (QUEUE_GRAPHICS | QUEUE_COMPUTE)) === 0,
    );
    const transferFamily = dedicatedTransfer >= 0 ? dedicatedTransfer : mainFamily;
    device = createDevice(survey, plan, transferFamily === mainFamily ? [mainFamily] : [mainFamily, transferFamily]);

    const queue = new nvk.VkQueue();
    nvk.vkGetDeviceQueue(device, mainFamily, 0, queue);
    let transferQueue = queue;
    if (transferFamily !== mainFamily) {
      transferQueue = new nvk.VkQueue();
      nvk.vkGetDeviceQueue(device, transferFamily, 0, transferQueue);
    }
    const commandPool = new nvk.VkCommandPool();
    const poolInfo = new nvk.VkCommandPoolCreateInfo({ flags: COMMAND_POOL_RESET_COMMAND_BUFFER, queueFamilyIndex: mainFamily });
    check(nvk.vkCreateCommandPool(device, poolInfo, null, commandPool), "vkCreateCommandPool");

    const info: ContextInfo = {
      apiVersion,
      instanceApiVersion,
      deviceName: survey.name,
      deviceType: survey.type,
      properties: readLimits(survey.props),
      memoryProperties: readMemoryProperties(survey.handle),
      enabledInstanceExtensions: instanceExtensions,
      enabledDeviceExtensions: new Set(plan.extensions),
      features: Object.freeze({ ...plan.features }),
      queueFamilyIndex: mainFamily,
      transferQueueFamilyIndex: transferFamily,
      validation,
    };
    const live: LiveObjects = { instance, messenger, physicalDevice: survey.handle, device, queue, transferQueue, commandPool };
    const context = new Context(live, info, messages);
    currentContext = new WeakRef(context); // nvk's pointers now belong to the instance and device just created
    return context;
  } catch (error) {
    if (device !== null) nvk.vkDestroyDevice(device, null);
    if (messenger !== null) nvk.vkDestroyDebugUtilsMessengerEXT(instance, messenger, null);
    nvk.vkDestroyInstance(instance, null);
    forgetCurrent();
    throw error;
  }
}
