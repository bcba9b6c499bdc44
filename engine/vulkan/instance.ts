/**
 * The instance: its version, layers and extensions, and its creation.
 *
 * - The instance's version is the caller's `apiVersion`, or the loader's, at most Vulkan 1.3 (VMA is compiled for
 *   1.3); asking for more than the loader supports is refused before vkCreateInstance.
 * - Validation needs the layer installed (else VK_ERROR_LAYER_NOT_PRESENT, with the package to install) and
 *   VK_EXT_debug_utils. Synchronization validation goes through VK_EXT_validation_features when the layer offers it,
 *   else through VK_LAYER_ENABLES, set only for the duration of vkCreateInstance and restored after. The caller's
 *   `layers` follow it (a missing one is VK_ERROR_LAYER_NOT_PRESENT naming it), their extensions offered too.
 * - Every extension asked for is checked against what the loader and the layer offer first: a missing one is
 *   VK_ERROR_EXTENSION_NOT_PRESENT naming it, never a crash inside the loader.
 * - nvk's setters refuse a pNext chain longer than one: the validation features and the messenger are linked by
 *   address, and the flags nvk's 1.1.126 headers call reserved are written by hand.
 * @internal
 * @module
 */
import { check, describeValue, vkErrorFor } from "../errors.js";
import { driverMissingError } from "./availability.js";
import type { ContextOptions } from "./context-options.js";
import { forgetCurrent } from "./current-context.js";
import { instanceExtensionNames, instanceLayerNames } from "./enumerate.js";
import type { NvkHandle } from "./handles.js";
import { nvk, type VkInout } from "./nvk.js";
import { portabilityPlan } from "./portability.js";
import { VALIDATION_LAYER, makeMessengerInfo, type ValidationMessage } from "./validation.js";
import { VERSION_1_1, VERSION_1_3, majorMinor, makeVersion, vulkanVersionString } from "./versions.js";
import {
  VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION,
  VK_ERROR_EXTENSION_NOT_PRESENT,
  VK_ERROR_INCOMPATIBLE_DRIVER,
  VK_ERROR_LAYER_NOT_PRESENT,
} from "./vk.js";

/** The instance and what was decided for it. @internal */
export interface InstanceSetup {
  readonly instance: NvkHandle;
  readonly apiVersion: number;
  readonly extensions: ReadonlySet<string>;
  /** The messenger's create info when validation is on (also chained into vkCreateInstance), else null. */
  readonly messengerInfo: any;
  /** Where the messenger's callback collects messages. */
  readonly messages: ValidationMessage[];
}

/**
 * Creates the instance for `o` (already checked), with the validation layer and its messenger info when
 * `validation`.
 * @throws RangeError when `o.apiVersion` is above the loader's; VkError when the layer or an extension is missing,
 *   when no driver is installed, or when vkCreateInstance fails.
 * @internal
 */
export function createInstance(o: ContextOptions, validation: boolean): InstanceSetup {
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
  // The loader reads every layer manifest for this list: once.
  const installed = validation || (o.layers?.length ?? 0) > 0 ? instanceLayerNames() : null;
  let syncByFeature = false;
  if (validation) {
    if (!installed!.has(VALIDATION_LAYER)) {
      throw vkErrorFor(
        VK_ERROR_LAYER_NOT_PRESENT,
        "vkCreateInstance",
        undefined,
        `${VALIDATION_LAYER} is not installed (Debian: vulkan-validationlayers)`,
      );
    }
    layers.push(VALIDATION_LAYER);
    for (const e of instanceExtensionNames(VALIDATION_LAYER)) available.add(e);
    syncByFeature = o.synchronizationValidation === true && available.has("VK_EXT_validation_features");
  }
  if (o.layers !== undefined && o.layers.length > 0) {
    const missing = o.layers.filter((name) => !installed!.has(name));
    if (missing.length > 0) {
      throw vkErrorFor(
        VK_ERROR_LAYER_NOT_PRESENT,
        "vkCreateInstance",
        undefined,
        `instance layer(s) not installed: ${missing.join(", ")}`,
      );
    }
    for (const name of o.layers) {
      if (layers.includes(name)) continue;
      layers.push(name);
      for (const e of instanceExtensionNames(name)) available.add(e);
    }
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
    throw vkErrorFor(
      VK_ERROR_EXTENSION_NOT_PRESENT,
      "vkCreateInstance",
      undefined,
      `instance extension(s) not available: ${missing.join(", ")}`,
    );
  }

  const messages: ValidationMessage[] = [];
  const messengerInfo = validation
    ? makeMessengerInfo(messages, o.validationVerbose === true, o.onValidationMessage)
    : null;
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
