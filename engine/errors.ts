/**
 * The errors vkmem throws.
 *
 * - {@link VkError}: a Vulkan or VMA call returned a negative VkResult. It carries the numeric `result`, its name
 *   (`code`), the `operation` that failed and the `label` of the resource involved, when there is one. The three
 *   subclasses are the results a caller really branches on: {@link OutOfDeviceMemoryError},
 *   {@link OutOfHostMemoryError} and {@link DeviceLostError}. {@link vkErrorFor} picks the class for a result.
 * - {@link DestroyedResourceError}: an object was used after its `destroy()` or its parent's (lifecycle misuse, never a
 *   Vulkan error).
 * - {@link InvalidStateError}: a live object was asked for something its state does not allow now (a frame begun
 *   twice, an unmap with nothing mapped, a pool destroyed by someone other than its owner). Nothing was changed.
 * - {@link CorruptionError}: an allocator of the debug build found an allocation's margin overwritten.
 * - {@link AllocationLostError}: an allocation that can become lost was made lost and then used.
 * - {@link VmaAssertionError}: one of VMA's internal checks (VMA_ASSERT) failed during a call. vkmem checks every
 *   precondition VMA asserts on before calling it, so this is a vkmem bug, never the caller's; the call had no
 *   effect on what JS holds (the native side gives back what VMA made in that call).
 * - Bad arguments are plain `TypeError` / `RangeError` whose message names the argument and shows the bad value
 *   (see {@link describeValue}).
 *
 * The native addon throws these same classes: `engine/native.ts` hands it {@link vkErrorFor},
 * {@link corruptionErrorFor} and {@link vmaAssertionErrorFor} once at load time.
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

/** Set (not enumerable) on the prototype of every vkmem error class, by whichever copy of vkmem defined it. */
const BRAND = Symbol.for("vkmem.error");

/**
 * `instanceof` for vkmem's error classes: their own instances, and those of another copy of vkmem's JavaScript in the
 * same process. Two copies share the one addon Node loads (a test runner sharing workers between files, a bundle
 * that carries the package twice), and the addon throws the classes of whichever copy handed it its error factories
 * last; an error from one copy's objects must still be an `instanceof` the other's class of the same name. The other
 * copy's error is told by the brand on its prototypes, and its classes by their names along its prototype chain.
 */
function isKind(this: { name: string }, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
  if (typeof value !== "object" || value === null || (value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  for (let p: unknown = Object.getPrototypeOf(value); p !== null && p !== Error.prototype; p = Object.getPrototypeOf(p))
    if (
      Object.hasOwn(p as object, "constructor") &&
      (p as { constructor: { name: string } }).constructor.name === this.name
    )
      return true;
  return false;
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

/** An allocation as native code describes it in reports (leaks, corruption). */
export interface AllocationDescription {
  /** Its name, or null. */
  name: string | null;
  /** Its size as VMA holds it (in the debug build, the request rounded up to 4 bytes). */
  size: number;
  /** Its offset in its VkDeviceMemory block (for corruption: the overwritten margin starts at offset + size). */
  offset: number;
  memoryType: number;
  kind: "buffer" | "image" | "memory";
  /** The custom pool it is in (its name, "" when unnamed), or null for the default pools. */
  pool: string | null;
}

/** An allocation whose debug margin was found overwritten (see {@link CorruptionError}, `checkCorruption`). */
export type CorruptedAllocation = AllocationDescription;

/**
 * Memory corruption: something (the CPU through a mapping, or the GPU) wrote past the end of an allocation into
 * the margin that an allocator created with `debug` options keeps after it (VMA's magic number 0x7F84E666 was
 * gone). Thrown when such an allocation is freed (it is freed all the same); `checkCorruption()` reports the same
 * finding as a value instead. Needs the debug build: the normal build has no margins to check.
 */
export class CorruptionError extends Error {
  /** The operation that found it, e.g. "vmaFreeMemory". */
  readonly operation: string;
  /** The memory types where it was found, ascending. */
  readonly memoryTypes: number[];
  /** The allocations whose margin was overwritten. */
  readonly allocations: CorruptedAllocation[];

  constructor(operation: string, message: string, allocations: CorruptedAllocation[]) {
    const who = allocations.map(describeCorrupted).join("; ");
    super(`${operation}: memory corruption: ${message}${who ? `: ${who}` : ""}`);
    this.name = "CorruptionError";
    this.operation = operation;
    this.allocations = allocations;
    this.memoryTypes = [...new Set(allocations.map((a) => a.memoryType))].sort((a, b) => a - b);
  }
}

/** "buffer 'name' (64 bytes at offset 256 of memory type 0, pool 'p')": one corrupted allocation for messages. */
export function describeCorrupted(a: CorruptedAllocation): string {
  const name = a.name === null ? "(unnamed)" : `'${a.name}'`;
  const pool = a.pool === null ? "" : `, pool ${a.pool === "" ? "(unnamed)" : `'${a.pool}'`}`;
  return `${a.kind} ${name} (${a.size} bytes at offset ${a.offset} of memory type ${a.memoryType}${pool})`;
}

/** The CorruptionError the native side throws (handed over by engine/native.ts). */
export function corruptionErrorFor(
  operation: string,
  message: string,
  allocations: CorruptedAllocation[],
): CorruptionError {
  const clean = allocations.map(({ name, size, offset, memoryType, kind, pool }) => ({
    name,
    size,
    offset,
    memoryType,
    kind,
    pool,
  }));
  return new CorruptionError(operation, message, clean);
}

/**
 * An object was used after `destroy()`, or after a parent of it was destroyed (engine/lifetime.ts: destroying a
 * parent destroys its dependents first).
 *
 * The message names the kind and the label: "Buffer 'shadowMap' has been destroyed"; when a parent went away, it
 * names that parent too: "Buffer 'shadowMap' cannot be used: its Allocator 'main' was destroyed".
 */
export class DestroyedResourceError extends Error {
  /** The kind of object, e.g. "Allocation", "Allocator", "Buffer". */
  readonly kind: string;
  /** Its label, or undefined when it had none. */
  readonly label: string | undefined;
  /** The parent whose destruction took it along, e.g. "Allocator 'main'"; undefined when it was destroyed itself. */
  readonly parent: string | undefined;

  constructor(kind: string, label?: string, operation?: string, parent?: string) {
    const who = label === undefined ? `${kind}` : `${kind} '${label}'`;
    const what = parent === undefined ? "has been destroyed" : `cannot be used: its ${parent} was destroyed`;
    super(`${who} ${what}${operation ? ` (in ${operation})` : ""}`);
    this.name = "DestroyedResourceError";
    this.kind = kind;
    this.label = label;
    this.parent = parent;
  }
}

/**
 * A call came at the wrong moment for a live object: `beginFrame()` while a frame is being recorded, `endFrame()` with
 * none, `unmap()` of an allocation that is not mapped, `destroy()` of a pool that a TextureStreamer owns, a second
 * FrameManager over one allocator. The call changed nothing; the message says what the state is and what to call
 * instead.
 *
 * Created by vkmem, never by the user. `object` names the object ("FrameManager 'main'"), `operation` the call.
 */
export class InvalidStateError extends Error {
  /** The object, as messages name it, e.g. "FrameManager 'main'" or "Allocation"; null for a free function. */
  readonly object: string | null;
  /** The call that was refused, e.g. "beginFrame" or "createFrameManager". */
  readonly operation: string;

  constructor(object: string | null, operation: string, message: string) {
    super(`${object === null ? "" : `${object}.`}${operation}: ${message}`);
    this.name = "InvalidStateError";
    this.object = object;
    this.operation = operation;
  }
}

/**
 * An allocation that can become lost was made lost (its memory given to a newer allocation created with
 * `canMakeOtherLost`) and is used as if it still had memory. `touch()` returning false is how an owner learns it
 * without this error; destroyBuffer / destroyImage / freeMemory release the lost allocation (see
 * engine/memory/lost-allocations.ts).
 */
export class AllocationLostError extends Error {
  /** Its label, or undefined when it had none. */
  readonly label: string | undefined;
  /** The allocator frame index in which it was made lost. */
  readonly lostInFrame: number;
  /** The operation that was refused. */
  readonly operation: string | undefined;

  constructor(label: string | undefined, lostInFrame: number, operation?: string) {
    const who = label === undefined ? "Allocation" : `Allocation '${label}'`;
    super(
      `${who} is lost (its memory was given to another allocation in frame ${lostInFrame})${operation ? ` (in ${operation})` : ""}: recreate the resource`,
    );
    this.name = "AllocationLostError";
    this.label = label;
    this.lostInFrame = lostInFrame;
    this.operation = operation;
  }
}

/**
 * A VMA_ASSERT failed inside VMA during one native call: a precondition of VMA that vkmem did not check first.
 *
 * Created by the native addon (through {@link vmaAssertionErrorFor}), never by the user. It carries the messages
 * of that call only (`messages`, each "VMA check failed: <expression> (vk_mem_alloc.h:<line>)"); the record is
 * reset at the start of every native call. What VMA made during the call was given back before the throw, so the
 * allocator's state is what it was before the call. Please report it: it is a vkmem bug.
 */
export class VmaAssertionError extends Error {
  /** The VMA operation during which the check failed, e.g. "vmaMapMemory". */
  readonly operation: string;
  /** The failed checks of this call, in order. */
  readonly messages: string[];

  constructor(operation: string, messages: string[]) {
    super(
      `${operation}: ${messages.length > 0 ? messages.join("; ") : "VMA check failed"} (a vkmem bug: please report it)`,
    );
    this.name = "VmaAssertionError";
    this.operation = operation;
    this.messages = messages;
  }
}

/** The VmaAssertionError the native side throws (handed over by engine/native.ts). */
export function vmaAssertionErrorFor(operation: string, messages: string[]): VmaAssertionError {
  return new VmaAssertionError(String(operation), Array.isArray(messages) ? messages.map(String) : []);
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
      // Everything below may run user code (a Proxy's traps, getters, toJSON): whatever it throws, the message
      // describing the bad value must still be built.
      let name = "";
      try {
        const ctor = (value as object).constructor;
        name = ctor && typeof ctor.name === "string" && ctor.name !== "Object" ? ctor.name + " " : "";
      } catch {
        /* a throwing getter or Proxy trap: no name */
      }
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

/**
 * Vulkan cannot be used on this machine: the Vulkan loader library is not installed (`missing: "loader"`), or it is
 * but finds no driver (`missing: "driver"`). The message names what to install.
 *
 * Thrown by `createContext` (and by any vkmem call that needs the native addon when the loader is what is missing);
 * never by the user. `result` is VK_ERROR_INCOMPATIBLE_DRIVER (-9), which is what Vulkan reports for a missing driver.
 */
export class VulkanUnavailableError extends VkError {
  /** What is missing: the loader library (libvulkan.so.1, vulkan-1.dll) or a driver (ICD) behind it. */
  readonly missing: "loader" | "driver";

  constructor(missing: "loader" | "driver", operation: string, detail: string) {
    super(-9, operation, undefined, detail);
    this.missing = missing;
  }
}

// Every vkmem error class (subclasses inherit both) is branded and answers `instanceof` through isKind.
for (const cls of [
  VkError,
  CorruptionError,
  DestroyedResourceError,
  InvalidStateError,
  AllocationLostError,
  VmaAssertionError,
]) {
  Object.defineProperty(cls, Symbol.hasInstance, { value: isKind });
  Object.defineProperty(cls.prototype, BRAND, { value: true });
}
