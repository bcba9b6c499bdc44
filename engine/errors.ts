/**
 * The errors vkmem throws.
 *
 * - {@link VkError}: a Vulkan or VMA call returned a negative VkResult. It carries the numeric `result`, its name
 *   (`code`), the `operation` that failed and the `label` of the resource involved, when there is one. The three
 *   subclasses are the results a caller really branches on: {@link OutOfDeviceMemoryError},
 *   {@link OutOfHostMemoryError} and {@link DeviceLostError}. {@link vkErrorFor} picks the class for a result.
 * - {@link DestroyedResourceError}: an object was used after its `destroy()` (lifecycle misuse, never a Vulkan error).
 * - Bad arguments are plain `TypeError` / `RangeError` whose message names the argument and shows the bad value
 *   (see {@link describeValue}).
 *
 * The native addon throws these same classes: `engine/native.ts` hands it {@link vkErrorFor} once at load time.
 * @module
 */

/** Names of the VkResult codes, VK_SUCCESS and the negative error codes alike. */
const RESULT_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "VK_SUCCESS"],
  [1, "VK_NOT_READY"],
  [2, "VK_TIMEOUT"],
  [3, "VK_EVENT_SET"],
  [4, "VK_EVENT_RESET"],
  [5, "VK_INCOMPLETE"],
  [-1, "VK_ERROR_OUT_OF_HOST_MEMORY"],
  [-2, "VK_ERROR_OUT_OF_DEVICE_MEMORY"],
  [-3, "VK_ERROR_INITIALIZATION_FAILED"],
  [-4, "VK_ERROR_DEVICE_LOST"],
  [-5, "VK_ERROR_MEMORY_MAP_FAILED"],
  [-6, "VK_ERROR_LAYER_NOT_PRESENT"],
  [-7, "VK_ERROR_EXTENSION_NOT_PRESENT"],
  [-8, "VK_ERROR_FEATURE_NOT_PRESENT"],
  [-9, "VK_ERROR_INCOMPATIBLE_DRIVER"],
  [-10, "VK_ERROR_TOO_MANY_OBJECTS"],
  [-11, "VK_ERROR_FORMAT_NOT_SUPPORTED"],
  [-12, "VK_ERROR_FRAGMENTED_POOL"],
  [-13, "VK_ERROR_UNKNOWN"],
  [-1000069000, "VK_ERROR_OUT_OF_POOL_MEMORY"],
  [-1000072003, "VK_ERROR_INVALID_EXTERNAL_HANDLE"],
  [-1000161000, "VK_ERROR_FRAGMENTATION"],
  [-1000257000, "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS"],
  [-1000000000, "VK_ERROR_SURFACE_LOST_KHR"],
  [-1000000001, "VK_ERROR_NATIVE_WINDOW_IN_USE_KHR"],
  [1000001003, "VK_SUBOPTIMAL_KHR"],
  [-1000001004, "VK_ERROR_OUT_OF_DATE_KHR"],
  [-1000011001, "VK_ERROR_VALIDATION_FAILED_EXT"],
]);

/** The name of a VkResult code, e.g. `-2` gives `"VK_ERROR_OUT_OF_DEVICE_MEMORY"`; unknown codes give `"VkResult(n)"`. */
export function resultName(result: number): string {
  return RESULT_NAMES.get(result) ?? `VkResult(${result})`;
}

/**
 * A Vulkan or VMA call failed with a negative VkResult.
 *
 * Created by vkmem (TS or native), never by the user. `label` names the resource the operation was for
 * (an allocation's name, a buffer's label) or is `undefined`.
 */
export class VkError extends Error {
  /** The numeric VkResult, always negative. */
  readonly result: number;
  /** The VkResult's name, e.g. `"VK_ERROR_OUT_OF_DEVICE_MEMORY"`. */
  readonly code: string;
  /** The failed operation, e.g. `"vmaCreateBuffer"`. */
  readonly operation: string;
  /** The label of the resource involved, if any. */
  readonly label: string | undefined;

  constructor(result: number, operation: string, label?: string, detail?: string) {
    const code = resultName(result);
    const what = label === undefined ? "" : ` for '${label}'`;
    super(`${operation}${what} failed: ${code} (${result})${detail ? `: ${detail}` : ""}`);
    this.name = new.target.name;
    this.result = result;
    this.code = code;
    this.operation = operation;
    this.label = label;
  }
}

/** VK_ERROR_OUT_OF_DEVICE_MEMORY: no memory type, heap or heap budget could take the request. */
export class OutOfDeviceMemoryError extends VkError {}
/** VK_ERROR_OUT_OF_HOST_MEMORY: the driver or VMA could not allocate host memory. */
export class OutOfHostMemoryError extends VkError {}
/** VK_ERROR_DEVICE_LOST: the device is gone; every object of it must be destroyed. */
export class DeviceLostError extends VkError {}

/** The error object for a failed call: the subclass matching `result`, else a plain {@link VkError}. */
export function vkErrorFor(result: number, operation: string, label?: string, detail?: string): VkError {
  switch (result) {
    case -2:
      return new OutOfDeviceMemoryError(result, operation, label, detail);
    case -1:
      return new OutOfHostMemoryError(result, operation, label, detail);
    case -4:
      return new DeviceLostError(result, operation, label, detail);
    default:
      return new VkError(result, operation, label, detail);
  }
}

/** Throws the matching {@link VkError} when `result` is negative; returns `result` otherwise. */
export function check(result: number, operation: string, label?: string): number {
  if (result < 0) throw vkErrorFor(result, operation, label);
  return result;
}

/**
 * An object was used after `destroy()` (or after its parent was destroyed).
 * The message names the kind and the label: "Buffer 'shadowMap' has been destroyed".
 */
export class DestroyedResourceError extends Error {
  /** The kind of object, e.g. "Allocation", "Allocator", "Buffer". */
  readonly kind: string;
  /** Its label, or undefined when it had none. */
  readonly label: string | undefined;

  constructor(kind: string, label?: string, operation?: string) {
    const who = label === undefined ? `${kind}` : `${kind} '${label}'`;
    super(`${who} has been destroyed${operation ? ` (in ${operation})` : ""}`);
    this.name = "DestroyedResourceError";
    this.kind = kind;
    this.label = label;
  }
}

/** A short, printable rendering of a bad argument value for error messages. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    case "function":
      return `function ${value.name || "(anonymous)"}`;
    case "symbol":
      return value.toString();
    case "boolean":
      return String(value);
    default: {
      if (value === null) return "null";
      const ctor = (value as object).constructor;
      const name = ctor && typeof ctor.name === "string" && ctor.name !== "Object" ? ctor.name + " " : "";
      try {
        const s = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
        if (s !== undefined) return name + (s.length > 80 ? `${s.slice(0, 77)}...` : s);
      } catch {
        /* cyclic or exotic: fall through */
      }
      return name ? `[object ${name.trim()}]` : "[object]";
    }
  }
}
