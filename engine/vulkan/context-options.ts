/**
 * The options of {@link createContext} and their checks.
 *
 * Every option is checked before any Vulkan call: a bad one throws a TypeError or RangeError naming the option and
 * showing the bad value, and unknown members are refused rather than ignored. The environment variable
 * VKMEM_DEVICE_INDEX, which overrides `deviceIndex`, is checked the same way.
 * @module
 */
import { describeValue } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import type { ValidationMessage } from "./validation.js";
import { makeVersion, vulkanVersionString } from "./versions.js";

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
  /**
   * More instance layers, enabled after the validation layer (so nearer the driver, and validated in turn): a capture
   * tool's layer, or one that changes what the device reports. Each must be installed (VK_ERROR_LAYER_NOT_PRESENT
   * names the missing ones).
   */
  layers?: readonly string[];
  /** More instance extensions, e.g. a window system's surface extensions. */
  instanceExtensions?: readonly string[];
  /** More device extensions. */
  deviceExtensions?: readonly string[];
  /** false: also enable VK_KHR_surface and VK_KHR_swapchain for presenting to a window. Default true. */
  headless?: boolean;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "applicationName",
  "apiVersion",
  "validation",
  "synchronizationValidation",
  "validationVerbose",
  "onValidationMessage",
  "deviceIndex",
  "preferDiscrete",
  "layers",
  "instanceExtensions",
  "deviceExtensions",
  "headless",
]);

/**
 * Checks createContext's options and returns them typed ({} when omitted).
 * @throws TypeError / RangeError for a bad option, naming it and showing the value.
 * @internal
 */
export function checkOptions(options: unknown): ContextOptions {
  if (options === undefined) return {};
  if (!isOptionsObject(options)) {
    throw new TypeError(`createContext: options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key))
      throw new TypeError(`createContext: unknown option '${key}' (value ${describeValue(o[key])})`);
  }
  const bad = (name: string, expected: string): TypeError =>
    new TypeError(`createContext: option '${name}' must be ${expected}, got ${describeValue(o[name])}`);
  for (const name of ["validation", "synchronizationValidation", "validationVerbose", "preferDiscrete", "headless"]) {
    if (o[name] !== undefined && typeof o[name] !== "boolean") throw bad(name, "a boolean");
  }
  if (o.applicationName !== undefined && typeof o.applicationName !== "string")
    throw bad("applicationName", "a string");
  if (o.onValidationMessage !== undefined && typeof o.onValidationMessage !== "function") {
    throw bad("onValidationMessage", "a function");
  }
  for (const [name, what] of [
    ["layers", "layer"],
    ["instanceExtensions", "extension"],
    ["deviceExtensions", "extension"],
  ]) {
    const list = o[name];
    if (list !== undefined && (!Array.isArray(list) || list.some((e) => typeof e !== "string" || e === ""))) {
      throw bad(name, `an array of ${what} names`);
    }
  }
  if (o.deviceIndex !== undefined) {
    if (typeof o.deviceIndex !== "number") throw bad("deviceIndex", "a number");
    if (!Number.isInteger(o.deviceIndex) || o.deviceIndex < 0) {
      throw new RangeError(
        `createContext: option 'deviceIndex' must be a non-negative integer, got ${describeValue(o.deviceIndex)}`,
      );
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

/**
 * The device index VKMEM_DEVICE_INDEX asks for, or undefined when it is unset or blank.
 * @throws RangeError when it is not a non-negative integer.
 * @internal
 */
export function deviceIndexFromEnvironment(): number | undefined {
  const text = process.env.VKMEM_DEVICE_INDEX;
  if (text === undefined || text.trim() === "") return undefined;
  const index = Number(text);
  if (!Number.isInteger(index) || index < 0) {
    throw new RangeError(
      `createContext: environment variable VKMEM_DEVICE_INDEX must be a non-negative integer, got ${describeValue(text)}`,
    );
  }
  return index;
}
