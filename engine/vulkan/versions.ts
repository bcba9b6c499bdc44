/**
 * Vulkan version numbers (VK_MAKE_VERSION / VK_MAKE_API_VERSION form) and what vkmem compares of them.
 *
 * A version packs major, minor (10 bits) and patch (12 bits) into 32 bits. "Vulkan 1.3" means major and minor:
 * comparisons drop the patch ({@link majorMinor}), since a 1.3.250 loader and a 1.3.0 request ask for one version.
 * @module
 */
import { describeValue } from "../errors.js";

/** VK_MAKE_VERSION(major, minor, patch). @internal */
export function makeVersion(major: number, minor: number, patch: number): number {
  return ((major << 22) | (minor << 12) | patch) >>> 0;
}

/** Major and minor of a VK_MAKE_VERSION number, patch dropped (what "Vulkan 1.3" means). @internal */
export function majorMinor(version: number): number {
  return makeVersion(version >>> 22, (version >>> 12) & 0x3ff, 0);
}

/** Vulkan 1.1, patch 0. @internal */
export const VERSION_1_1 = makeVersion(1, 1, 0);
/** Vulkan 1.2, patch 0. @internal */
export const VERSION_1_2 = makeVersion(1, 2, 0);
/** Vulkan 1.3, patch 0: the highest VMA is compiled for. @internal */
export const VERSION_1_3 = makeVersion(1, 3, 0);

/**
 * "major.minor.patch" of a VK_MAKE_VERSION / VK_MAKE_API_VERSION number, e.g. 4206592 gives "1.3.0".
 *
 * @throws TypeError when `version` is not a non-negative integer below 2^32.
 */
export function vulkanVersionString(version: number): string {
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) {
    throw new TypeError(
      `vulkanVersionString: version must be a 32-bit unsigned integer, got ${describeValue(version)}`,
    );
  }
  return `${(version >>> 22) & 0x7f}.${(version >>> 12) & 0x3ff}.${version & 0xfff}`;
}
