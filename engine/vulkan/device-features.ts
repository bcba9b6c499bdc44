/**
 * The logical device: which extensions and features it gets, and its creation.
 *
 * The invariants, and why they hold:
 *
 * - The device gets exactly the extensions and features VMA can use that this physical device has, plus those the
 *   caller asks for. Extensions promoted to core in the version in use are not enabled again. Unsupported
 *   extensions are refused before `vkCreateDevice` (asking lavapipe for one crashes the process instead of returning
 *   VK_ERROR_EXTENSION_NOT_PRESENT): the survey lists what a device lacks (physical-device.ts).
 * - Vulkan 1.1 is enough: a loader of 1.1 (nvk's own on Windows) gives a 1.1 context, where buffer device address
 *   and maintenance4 come from their KHR extensions when the device has them; nothing in vkmem needs 1.2 or 1.3. On
 *   1.0 there is no features2: the feature structs can be neither queried nor enabled.
 * - The feature structs newer than nvk's 1.1.126 headers are written by hand (sType at 0, pNext at 8, VkBool32
 *   members from 16) and chained by address; the plan holds them, so they stay alive until vkCreateDevice has read
 *   them.
 * @internal
 * @module
 */
import { check } from "../errors.js";
import type { ContextFeatures, DeviceSurvey } from "./physical-device.js";
import type { ContextOptions } from "./context-options.js";
import { forgetCurrent } from "./current-context.js";
import type { NvkHandle } from "./handles.js";
import { addressOf, nvk } from "./nvk.js";
import { portabilityPlan } from "./portability.js";
import { VERSION_1_1, VERSION_1_2, VERSION_1_3 } from "./versions.js";
import {
  STYPE_BUFFER_DEVICE_ADDRESS_FEATURES,
  STYPE_MAINTENANCE_4_FEATURES,
  STYPE_MEMORY_PRIORITY_FEATURES,
} from "./vk.js";

/** A pNext-chainable struct made by hand: sType at 0, pNext at 8, VkBool32 members from 16. @internal */
export interface RawStruct {
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

/** Everything decided about the device before vkCreateDevice. @internal */
export interface DevicePlan {
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
 * @internal
 */
export function planDevice(
  survey: DeviceSurvey,
  apiVersion: number,
  properties2: boolean,
  options: ContextOptions,
): DevicePlan {
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
    features = {
      memoryPriority: false,
      bufferDeviceAddress: false,
      maintenance4: false,
      samplerAnisotropy: !!supported.samplerAnisotropy,
    };
  } else {
    const has = (name: string): boolean => survey.extensions.has(name);
    const priority = has("VK_EXT_memory_priority") ? rawStruct(STYPE_MEMORY_PRIORITY_FEATURES, 24) : null;
    const bda =
      apiVersion >= VERSION_1_2 || has("VK_KHR_buffer_device_address")
        ? rawStruct(STYPE_BUFFER_DEVICE_ADDRESS_FEATURES, 32)
        : null;
    const m4 =
      apiVersion >= VERSION_1_3 || has("VK_KHR_maintenance4") ? rawStruct(STYPE_MAINTENANCE_4_FEATURES, 24) : null;
    const query = new nvk.VkPhysicalDeviceFeatures2();
    linkChain(
      query,
      [priority, bda, m4].filter((s): s is RawStruct => s !== null),
    );
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

/**
 * Creates the device with one queue of each of `families` and what `plan` decided.
 * @throws VkError when vkCreateDevice fails.
 * @internal
 */
export function createDevice(survey: DeviceSurvey, plan: DevicePlan, families: readonly number[]): NvkHandle {
  const queueInfos = families.map(
    (family) =>
      new nvk.VkDeviceQueueCreateInfo({
        queueFamilyIndex: family,
        queueCount: 1,
        pQueuePriorities: new Float32Array([1]),
      }),
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
