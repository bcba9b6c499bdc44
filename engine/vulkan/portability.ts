/**
 * Portability (macOS over MoltenVK, on paper: see README; untested there, decided by one pure function tested on
 * Linux).
 *
 * When the loader offers VK_KHR_portability_enumeration the instance enables it with the ENUMERATE_PORTABILITY
 * flag, and a device that offers VK_KHR_portability_subset gets it enabled, as the spec requires. Elsewhere neither
 * is offered and nothing changes.
 * @module
 */

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
export function portabilityPlan(
  instanceExtensions: ReadonlySet<string>,
  deviceExtensions: ReadonlySet<string> = new Set(),
): PortabilityPlan {
  const enumeration = instanceExtensions.has("VK_KHR_portability_enumeration");
  return {
    instanceExtensions: enumeration ? ["VK_KHR_portability_enumeration"] : [],
    instanceFlags: enumeration ? INSTANCE_CREATE_ENUMERATE_PORTABILITY : 0,
    deviceExtensions: deviceExtensions.has("VK_KHR_portability_subset") ? ["VK_KHR_portability_subset"] : [],
  };
}
