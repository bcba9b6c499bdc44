/**
 * The argument checks every public call makes at its boundary, in one place.
 *
 * Invariant: no value a caller passes reaches a JS operator or a Vulkan / VMA call unchecked, so the only errors bad
 * input produces are `TypeError` (wrong type) and `RangeError` (right type, value out of range), each message
 * "op: arg must be ..., got <value>" with the value rendered by {@link describeValue}. Engine errors such as
 * "Cannot convert object to primitive value" (an object with no prototype met by `+` or a template string),
 * "Cannot mix BigInt and other types", "Cannot convert a Symbol value to a number" or "Cannot perform Construct on a
 * detached ArrayBuffer" are what an unchecked value turns into; each check here rules its family out before any
 * such operator runs. A getter or Proxy trap that throws is the caller's own error and propagates unchanged; every
 * call reads its arguments before it changes any state, so nothing is lost either way.
 *
 * Each check throws or returns the value (narrowed); none allocates on success, so hot paths may call them.
 * @module
 */
import { describeValue } from "./errors.js";

/** Throws `new Ctor("op: arg what, got value")`. */
export function argumentError(
  op: string,
  arg: string,
  what: string,
  value: unknown,
  Ctor: typeof TypeError = TypeError,
): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/**
 * True for an options object: any non-null object but an array, a function, an ArrayBuffer or a view of one.
 * Objects without a prototype (`Object.create(null)`) and class instances (a Context as an allocator's device) count.
 */
export function isOptionsObject(value: unknown): value is object {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer) &&
    !(typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)
  );
}

/** Refuses anything but an options object (see {@link isOptionsObject}). @throws TypeError */
export function checkOptionsObject(
  value: unknown,
  op: string,
  arg: string,
  what = "must be an object",
): asserts value is object {
  if (!isOptionsObject(value)) argumentError(op, arg, what, value, TypeError);
}

/** Refuses anything but undefined or an options object. @throws TypeError */
export function checkOptionalOptions(value: unknown, op: string, arg: string): asserts value is object | undefined {
  if (value !== undefined && !isOptionsObject(value))
    argumentError(op, arg, "must be an object or undefined", value, TypeError);
}

/** Refuses anything but undefined or a boolean; returns the value or `fallback`. @throws TypeError */
export function optionalBoolean(value: unknown, fallback: boolean, op: string, arg: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") argumentError(op, arg, "must be a boolean", value, TypeError);
  return value;
}

/** Refuses anything but undefined or a string; returns it. @throws TypeError */
export function optionalString(value: unknown, op: string, arg: string): string | undefined {
  if (value !== undefined && typeof value !== "string") argumentError(op, arg, "must be a string", value, TypeError);
  return value as string | undefined;
}

/** True for a Number that is an integer in [min, max] (both safe integers). */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && value >= min && value <= max && Math.floor(value) === value;
}

/**
 * Refuses anything but a Number that is an integer in [min, max] (a BigInt, a string, NaN, a fraction and a value
 * out of range alike: RangeError, as the rest of vkmem does for numbers).
 * @throws RangeError "op: arg must be an integer from min to max, got value".
 */
export function checkInteger(value: unknown, min: number, max: number, op: string, arg: string, what?: string): number {
  if (!isIntegerIn(value, min, max))
    argumentError(op, arg, what ?? `must be an integer from ${min} to ${max}`, value, RangeError);
  return value;
}

/** True when the ArrayBuffer was detached (transferred or structuredClone'd away): every view of it is empty. */
export function isDetached(buffer: ArrayBufferLike): boolean {
  // `detached` is ES2024; a detached buffer also reports byteLength 0 and refuses slice().
  const flag = (buffer as { detached?: boolean }).detached;
  if (typeof flag === "boolean") return flag;
  if (buffer.byteLength !== 0) return false;
  try {
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * The bytes of an ArrayBuffer or of an ArrayBuffer view (typed array, DataView) as a Uint8Array over the same memory.
 * @throws TypeError for anything else, and for a buffer or view whose ArrayBuffer was detached.
 */
export function checkBytes(data: unknown, op: string, arg: string): Uint8Array {
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)) {
    if (isDetached(data)) argumentError(op, arg, "is a detached ArrayBuffer (transferred away)", data, TypeError);
    return new Uint8Array(data);
  }
  if (ArrayBuffer.isView(data)) {
    if (isDetached(data.buffer))
      argumentError(op, arg, "is a view of a detached ArrayBuffer (transferred away)", data, TypeError);
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  argumentError(op, arg, "must be an ArrayBuffer or a typed array / DataView", data, TypeError);
}
