/**
 * The Vulkan bootstrap: one instance, one physical device, one logical device, its queues and a command pool,
 * and (on request) the validation layer with a debug-utils messenger that collects what it reports.
 *
 * {@link createContext} runs the steps, each in a module of its own that states its rules: the options
 * (context-options.ts), the instance (instance.ts, with validation.ts for the messenger and portability.ts), the
 * physical device's survey and choice (physical-device.ts), the device's extensions, features and creation
 * (device-features.ts). Invariants of the whole:
 *
 * - A {@link Context} owns every Vulkan object it creates and destroys them all in `destroy()`, in reverse order
 *   of creation, after waiting for the device to go idle. Before that it destroys its dependents (engine/lifetime.ts):
 *   every vkmem Allocator made over its device, and with them their FrameManagers, pools and allocations, named in
 *   one warning. Objects created by others on its device (pipelines, raw nvk objects) must be destroyed before it;
 *   the validation layer reports any that are not as messages collected during `destroy()`, which stay readable
 *   afterwards. When creation fails part way, what was created is destroyed before the error is thrown.
 * - `apiVersion` is the version the application may use: the instance's (at most Vulkan 1.3, which VMA is
 *   compiled for), lowered to the physical device's when that is older. Hand exactly this to VMA.
 * - The queue is the device's first graphics family (compute-only devices: a compute family); the transfer queue is
 *   a transfer-only family's when the device has one, else the same queue.
 * - Extension functions go through nvk's one global set of pointers: the Context makes itself current before it
 *   calls one (current-context.ts).
 * @module
 */
import { DestroyedResourceError, check, describeValue } from "../errors.js";
import { isNvkHandle, rawHandle, type NvkHandle } from "./handles.js";
import { nvk, nvkUnavailable } from "./nvk.js";
import { Dependents, cascadeReport, registerDevice, reportCascade, unregisterDevice } from "../lifetime.js";
import { driverMissingError } from "./availability.js";
import { checkOptions, deviceIndexFromEnvironment, type ContextOptions } from "./context-options.js";
import { forgetCurrent, isCurrent, setCurrent } from "./current-context.js";
import { createDevice, planDevice } from "./device-features.js";
import { enumerate } from "./enumerate.js";
import { createInstance } from "./instance.js";
import { submitOneShot } from "./one-shot.js";
import {
  chooseDevice,
  readLimits,
  readMemoryProperties,
  surveyDevice,
  type ContextFeatures,
  type DeviceLimits,
  type DeviceType,
  type MemoryProperties,
} from "./physical-device.js";
import type { ValidationMessage } from "./validation.js";
import { majorMinor } from "./versions.js";
import { COMMAND_POOL_RESET_COMMAND_BUFFER, QUEUE_COMPUTE, QUEUE_GRAPHICS, QUEUE_TRANSFER } from "./vk.js";

// The public types and helpers of the bootstrap, from the modules that hold them: importable from here as before.
export type { ContextOptions } from "./context-options.js";
export type { ContextFeatures, DeviceLimits, DeviceType, MemoryProperties } from "./physical-device.js";
export { INSTANCE_CREATE_ENUMERATE_PORTABILITY, portabilityPlan, type PortabilityPlan } from "./portability.js";
export type { ValidationMessage, ValidationSeverity } from "./validation.js";
export { vulkanVersionString } from "./versions.js";

/** The VkObjectType of each nvk handle class (what setObjectName checks its objectType against). */
const OBJECT_TYPE_OF_CLASS: ReadonlyMap<string, number> = new Map([
  ["VkInstance", 1],
  ["VkPhysicalDevice", 2],
  ["VkDevice", 3],
  ["VkQueue", 4],
  ["VkSemaphore", 5],
  ["VkCommandBuffer", 6],
  ["VkFence", 7],
  ["VkDeviceMemory", 8],
  ["VkBuffer", 9],
  ["VkImage", 10],
  ["VkEvent", 11],
  ["VkQueryPool", 12],
  ["VkBufferView", 13],
  ["VkImageView", 14],
  ["VkShaderModule", 15],
  ["VkPipelineCache", 16],
  ["VkPipelineLayout", 17],
  ["VkRenderPass", 18],
  ["VkPipeline", 19],
  ["VkDescriptorSetLayout", 20],
  ["VkSampler", 21],
  ["VkDescriptorPool", 22],
  ["VkDescriptorSet", 23],
  ["VkFramebuffer", 24],
  ["VkCommandPool", 25],
  ["VkSamplerYcbcrConversion", 1000156000],
  ["VkDescriptorUpdateTemplate", 1000085000],
  ["VkSurfaceKHR", 1000000000],
  ["VkSwapchainKHR", 1000001000],
  ["VkDebugUtilsMessengerEXT", 1000128000],
]);

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
  /** The VkQueueFlags of queueFamilyIndex's family (the device survey's). */
  readonly queueFlags: number;
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
   * The VkQueueFlags of `queue`'s family (GRAPHICS 0x1, COMPUTE 0x2, ...).
   * @throws DestroyedResourceError after destroy().
   */
  get queueFlags(): number {
    return this.#infoFor("queueFlags").queueFlags;
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
    setCurrent(this);
  }

  /**
   * Records a one-shot command buffer with `record`, submits it to `queue` and waits for it to finish.
   *
   * The command buffer (allocated from `commandPool`) and the fence are freed before this returns, also when
   * `record` throws. For tests, uploads at load time and other rare work: it stalls the queue. `whileRunning`, when
   * given, is called after the submission and before the wait: CPU work that overlaps the GPU's (the wait still
   * happens, also when it throws).
   * @throws TypeError when `record` or `whileRunning` is not a function.
   * @throws VkError when a Vulkan call fails; whatever `record` or `whileRunning` throws is rethrown.
   * @throws DestroyedResourceError after destroy().
   */
  submitAndWait(record: (commandBuffer: NvkHandle) => void, whileRunning?: () => void): void {
    const live = this.#use("submitAndWait");
    if (typeof record !== "function") {
      throw new TypeError(`submitAndWait: record must be a function, got ${describeValue(record)}`);
    }
    if (whileRunning !== undefined && typeof whileRunning !== "function") {
      throw new TypeError(`submitAndWait: whileRunning must be a function, got ${describeValue(whileRunning)}`);
    }
    submitOneShot(live.device, live.commandPool, live.queue, record, whileRunning);
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
      if (handle <= 0n || handle >= 1n << 64n)
        throw new RangeError(`setObjectName: handle must be a non-null 64-bit handle, got ${describeValue(handle)}`);
      raw = handle;
    } else if (isNvkHandle(handle)) {
      // An nvk object says what it is: a different objectType would name another object to the layer
      // (VUID-VkDebugUtilsObjectNameInfoEXT-objectType-02590).
      const own = OBJECT_TYPE_OF_CLASS.get((handle as { constructor: { name: string } }).constructor.name);
      if (own !== undefined && own !== objectType) {
        throw new RangeError(
          `setObjectName: objectType must be ${own} for a ${(handle as { constructor: { name: string } }).constructor.name}, got ${describeValue(objectType)}`,
        );
      }
      raw = rawHandle(handle);
      if (raw === 0n)
        throw new RangeError(`setObjectName: handle must not be VK_NULL_HANDLE, got ${describeValue(handle)}`);
    } else {
      throw new TypeError(
        `setObjectName: handle must be a BigInt or an nvk handle object, got ${describeValue(handle)}`,
      );
    }
    if (typeof name !== "string")
      throw new TypeError(`setObjectName: name must be a string, got ${describeValue(name)}`);
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
  const {
    instance,
    apiVersion: instanceApiVersion,
    extensions: instanceExtensions,
    messengerInfo,
    messages,
  } = createInstance(o, validation);

  let messenger: NvkHandle | null = null;
  let device: NvkHandle | null = null;
  try {
    if (messengerInfo !== null) {
      messenger = new nvk.VkDebugUtilsMessengerEXT();
      check(
        nvk.vkCreateDebugUtilsMessengerEXT(instance, messengerInfo, null, messenger),
        "vkCreateDebugUtilsMessengerEXT",
      );
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
    const poolInfo = new nvk.VkCommandPoolCreateInfo({
      flags: COMMAND_POOL_RESET_COMMAND_BUFFER,
      queueFamilyIndex: mainFamily,
    });
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
      queueFlags: survey.queueFamilies[mainFamily]!.flags,
      transferQueueFamilyIndex: transferFamily,
      validation,
    };
    const live: LiveObjects = {
      instance,
      messenger,
      physicalDevice: survey.handle,
      device,
      queue,
      transferQueue,
      commandPool,
    };
    const context = new Context(live, info, messages);
    setCurrent(context); // nvk's pointers now belong to the instance and device just created
    return context;
  } catch (error) {
    if (device !== null) nvk.vkDestroyDevice(device, null);
    if (messenger !== null) nvk.vkDestroyDebugUtilsMessengerEXT(instance, messenger, null);
    nvk.vkDestroyInstance(instance, null);
    forgetCurrent();
    throw error;
  }
}
