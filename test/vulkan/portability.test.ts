/**
 * createContext's portability path (macOS over MoltenVK), decided by the pure portabilityPlan from the extensions the
 * loader and the device enumerate: faked here, since no loader on Linux or Windows offers them.
 */
import { describe, expect, it } from "vitest";
import { INSTANCE_CREATE_ENUMERATE_PORTABILITY, portabilityPlan } from "../../engine/vulkan/context.js";

describe("portabilityPlan", () => {
  it("adds nothing where the loader offers no portability enumeration (Linux, Windows)", () => {
    const linux = new Set([
      "VK_KHR_surface",
      "VK_KHR_xcb_surface",
      "VK_EXT_debug_utils",
      "VK_KHR_get_physical_device_properties2",
    ]);
    expect(portabilityPlan(linux, new Set(["VK_KHR_swapchain", "VK_EXT_memory_budget"]))).toEqual({
      instanceExtensions: [],
      instanceFlags: 0,
      deviceExtensions: [],
    });
  });

  it("enables VK_KHR_portability_enumeration with the ENUMERATE_PORTABILITY flag when the loader offers it (MoltenVK's loader)", () => {
    const macos = new Set([
      "VK_KHR_surface",
      "VK_EXT_metal_surface",
      "VK_KHR_portability_enumeration",
      "VK_KHR_get_physical_device_properties2",
    ]);
    const plan = portabilityPlan(macos);
    expect(plan.instanceExtensions).toEqual(["VK_KHR_portability_enumeration"]);
    expect(plan.instanceFlags).toBe(INSTANCE_CREATE_ENUMERATE_PORTABILITY);
    expect(INSTANCE_CREATE_ENUMERATE_PORTABILITY).toBe(0x1);
    expect(plan.deviceExtensions).toEqual([]);
  });

  it("enables VK_KHR_portability_subset whenever the device offers it, as the spec requires", () => {
    const moltenVk = new Set(["VK_KHR_swapchain", "VK_KHR_portability_subset", "VK_EXT_memory_budget"]);
    expect(portabilityPlan(new Set(["VK_KHR_portability_enumeration"]), moltenVk).deviceExtensions).toEqual([
      "VK_KHR_portability_subset",
    ]);
    // A portability device listed by an older loader without the enumeration extension still needs the subset.
    expect(portabilityPlan(new Set(), moltenVk)).toEqual({
      instanceExtensions: [],
      instanceFlags: 0,
      deviceExtensions: ["VK_KHR_portability_subset"],
    });
  });
});
