/**
 * Whether Vulkan can be used here, and what to install when it cannot.
 *
 * Two things can be missing on a game's machine, and neither is something vkmem ships: the Vulkan loader (the shared
 * library `libvulkan.so.1` on Linux, `vulkan-1.dll` on Windows, which nvk and vkmem's addon link against) and a
 * driver behind it (an ICD: a GPU vendor's, or Mesa's lavapipe on the CPU). A missing loader makes loading nvk or
 * the addon fail at import time; the modules that load them keep that error (instead of failing the import) and
 * `createContext` throws it, made readable here, as a {@link VulkanUnavailableError}. A missing driver shows as
 * VK_ERROR_INCOMPATIBLE_DRIVER from vkCreateInstance or as no physical device at all.
 * @module
 */
import { VulkanUnavailableError } from "../errors.js";

/** What to install for a Vulkan driver, per platform. */
export function driverAdvice(platform: NodeJS.Platform = process.platform): string {
  return platform === "win32"
    ? "install your GPU vendor's driver (it brings Vulkan), or a software driver such as Mesa's lavapipe"
    : "install a Vulkan driver: your GPU vendor's, or Mesa's (Debian/Ubuntu: mesa-vulkan-drivers, which includes " +
        "lavapipe, a CPU driver; Fedora: mesa-vulkan-drivers; Arch: vulkan-swrast or your GPU's vulkan-* package)";
}

/** What to install for the Vulkan loader, per platform. */
export function loaderAdvice(platform: NodeJS.Platform = process.platform): string {
  return platform === "win32"
    ? "the Vulkan loader (vulkan-1.dll) cannot be loaded: install your GPU vendor's driver or the Vulkan Runtime " +
        "(LunarG), which bring it"
    : "the Vulkan loader (libvulkan.so.1) cannot be loaded: install it (Debian/Ubuntu: libvulkan1; Fedora: " +
        "vulkan-loader; Arch: vulkan-icd-loader)";
}

/**
 * The readable error for a failure to load a native module (`what`: "nvk", "the vkmem addon") when the cause is a
 * missing Vulkan loader library; `null` when the failure has another cause.
 */
export function loaderMissingError(
  cause: unknown,
  what: string,
  platform: NodeJS.Platform = process.platform,
): VulkanUnavailableError | null {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (!/libvulkan\.so|vulkan-1\.dll|libvulkan[.\d]*\.dylib/i.test(message)) return null;
  const error = new VulkanUnavailableError(
    "loader",
    `loading ${what}`,
    `${loaderAdvice(platform)}; then ${driverAdvice(platform)} (${message.split("\n")[0]})`,
  );
  (error as { cause?: unknown }).cause = cause;
  return error;
}

/** The readable error for "the loader is there but finds no driver" (vkCreateInstance's VK_ERROR_INCOMPATIBLE_DRIVER, or no physical device). */
export function driverMissingError(
  operation: string,
  platform: NodeJS.Platform = process.platform,
): VulkanUnavailableError {
  return new VulkanUnavailableError(
    "driver",
    operation,
    `the Vulkan loader found no driver: ${driverAdvice(platform)}`,
  );
}
