/**
 * How the fuzzer judges what a call did, and the hostile values it feeds to calls.
 *
 * Every call the fuzzer makes carries an expectation from the model:
 * - `ok`: it must succeed; a few named error classes may be allowed (OutOfDeviceMemoryError under a heap limit).
 * - `hostile`: the argument `arg` is bad; the call must throw a TypeError or RangeError whose message names it.
 *   Succeeding is a failure too ("accepted hostile input").
 * - `dead`: the object (or its parent) was destroyed; the call must throw DestroyedResourceError
 *   (AllocationLostError for a lost allocation).
 * - `state`: the call is misused (endFrame with no frame, unmap at map count 0): it must throw, with a typed error
 *   or a plain Error whose message starts with the call's name.
 *
 * An error is "untyped" when it is not an Error, or its message is an engine-internal one (a JS engine message such
 * as "Cannot convert object to primitive value", or the native addon's "vkmem native: ..."): always a failure.
 * @module
 */
import { AllocationLostError, DestroyedResourceError, InvalidStateError, VkError } from "../../engine/index.js";

/** What the model expects of one call. */
export type Expect =
  | { readonly kind: "ok"; readonly allow?: readonly (abstract new (...args: any[]) => Error)[] }
  | { readonly kind: "hostile"; readonly arg: string }
  | { readonly kind: "dead"; readonly lost?: boolean }
  | { readonly kind: "state"; readonly prefix: string };

/** A failure of one seed, by category. */
export type FailureCategory =
  | "crash"
  | "hang"
  | "exit-13"
  | "unhandled-rejection"
  | "untyped-error"
  | "unexpected-error"
  | "wrong-error"
  | "accepted-hostile"
  | "validation"
  | "content-mismatch"
  | "leak"
  | "model-mismatch"
  | "warning";

/** Thrown inside a seed when a check fails: the seed stops there. */
export class FuzzFailure extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
  ) {
    super(message);
    this.name = "FuzzFailure";
  }
}

// Messages of the JS engine or of the addon's last-line checks: an argument reached something that was not meant
// for it.
const INTERNAL = [
  /Cannot convert/,
  /Cannot mix BigInt/,
  /Cannot read propert/,
  /Cannot set propert/,
  /Cannot perform/,
  /Cannot create property/,
  /is not a function/,
  /is not iterable/,
  /is not a constructor/,
  /on a detached ArrayBuffer/,
  /Symbol value/,
  /vkmem native:/,
  /Maximum call stack/,
  /Invalid (typed )?array length/,
  /Assertion/i,
];

/** Whether `error` is an engine-internal (untyped) error. */
export function isUntyped(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  return INTERNAL.some((re) => re.test(error.message));
}

/** One line describing an error: its class and message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error)}`;
  const first = error.message.split("\n")[0]!;
  return `${error.constructor.name}: ${first.length > 300 ? `${first.slice(0, 297)}...` : first}`;
}

/**
 * Judges an error against the expectation. Returns null when it is what the model expects, else the failure.
 */
export function judgeError(expect: Expect, error: unknown): FuzzFailure | null {
  if (isUntyped(error)) return new FuzzFailure("untyped-error", describeError(error));
  const e = error as Error;
  switch (expect.kind) {
    case "ok":
      if (expect.allow?.some((c) => e instanceof c)) return null;
      // VMA's answer when no memory type fits the request (on real GPUs, e.g. an optimal image in a host-visible
      // type, or memoryTypeBits naming none that fits): a typed failure the model cannot predict from lavapipe.
      if (e instanceof VkError && e.result === -8 && /^vma(Create|Allocate)/.test(e.operation)) return null;
      return new FuzzFailure("unexpected-error", `expected success, got ${describeError(e)}`);
    case "hostile":
      // The hostile getter's own exception, passed through: the caller's error, not the engine's.
      if (e.message.startsWith("hostile ")) return null;
      if ((e instanceof TypeError || e instanceof RangeError) && e.message.includes(expect.arg)) return null;
      if (e.constructor === Error)
        return new FuzzFailure("untyped-error", `plain Error for bad ${expect.arg}: ${describeError(e)}`);
      return new FuzzFailure(
        "wrong-error",
        `expected a TypeError/RangeError naming '${expect.arg}', got ${describeError(e)}`,
      );
    case "dead":
      if (e instanceof DestroyedResourceError) return null;
      if (expect.lost && e instanceof AllocationLostError) return null;
      return new FuzzFailure(
        "wrong-error",
        `expected ${expect.lost ? "AllocationLostError" : "DestroyedResourceError"}, got ${describeError(e)}`,
      );
    case "state":
      if (
        e instanceof TypeError ||
        e instanceof RangeError ||
        e instanceof DestroyedResourceError ||
        e instanceof VkError
      )
        return null;
      // A misuse of a live object's state is an InvalidStateError from that object (issue 10), never a plain Error.
      if (e instanceof InvalidStateError && e.message.startsWith(expect.prefix)) return null;
      if (e.constructor === Error)
        return new FuzzFailure("untyped-error", `plain Error for a misuse of ${expect.prefix}: ${describeError(e)}`);
      return new FuzzFailure(
        "wrong-error",
        `expected an InvalidStateError from ${expect.prefix} for a misuse, got ${describeError(e)}`,
      );
  }
}

/** The kinds of hostile values, as named in known-bug patterns (`hostile:<call>.<arg>:<kind>`). */
export type HostileKind =
  | "zero"
  | "negative"
  | "fraction"
  | "nan"
  | "infinity"
  | "huge"
  | "string"
  | "bigint"
  | "symbol"
  | "null"
  | "object"
  | "nullproto"
  | "array"
  | "boolean"
  | "function"
  | "throwing";

/** A hostile value and its kind. */
export interface Hostile {
  readonly kind: HostileKind;
  readonly value: unknown;
}

/** What an argument should be: decides which hostile values are surely wrong for it. */
export type ArgKind =
  "size" | "count" | "bits" | "unit" | "enum" | "string" | "object" | "function" | "handle" | "bool";

function throwingObject(): object {
  return new Proxy(
    {},
    {
      get() {
        throw new Error("hostile getter");
      },
      ownKeys() {
        throw new Error("hostile ownKeys");
      },
    },
  );
}

const ALL: Record<HostileKind, () => unknown> = {
  zero: () => 0,
  negative: () => -1,
  fraction: () => 1.5,
  nan: () => NaN,
  infinity: () => Infinity,
  huge: () => 2 ** 60,
  string: () => "12",
  bigint: () => 1n,
  symbol: () => Symbol("hostile"),
  null: () => null,
  object: () => ({ valueOf: () => 16 }),
  nullproto: () => Object.create(null),
  array: () => [16],
  boolean: () => true,
  function: () => function hostile() {},
  throwing: throwingObject,
};

// For each argument kind, the hostile kinds that are surely invalid for it.
const SURELY_BAD: Record<ArgKind, readonly HostileKind[]> = {
  size: [
    "zero",
    "negative",
    "fraction",
    "nan",
    "infinity",
    "huge",
    "string",
    "bigint",
    "symbol",
    "null",
    "object",
    "nullproto",
    "array",
    "boolean",
  ],
  count: [
    "negative",
    "fraction",
    "nan",
    "infinity",
    "huge",
    "string",
    "bigint",
    "symbol",
    "null",
    "object",
    "nullproto",
    "array",
    "boolean",
  ],
  bits: [
    "negative",
    "fraction",
    "nan",
    "infinity",
    "huge",
    "string",
    "bigint",
    "symbol",
    "null",
    "object",
    "nullproto",
    "array",
    "boolean",
  ],
  unit: ["negative", "nan", "infinity", "huge", "string", "bigint", "symbol", "null", "object", "nullproto", "array"],
  enum: [
    "zero",
    "negative",
    "string",
    "bigint",
    "symbol",
    "null",
    "object",
    "nullproto",
    "array",
    "boolean",
    "function",
  ],
  string: ["zero", "bigint", "symbol", "object", "nullproto", "array", "boolean", "function"],
  object: ["zero", "string", "bigint", "symbol", "boolean", "throwing"],
  function: ["zero", "string", "bigint", "symbol", "object", "nullproto", "array", "boolean"],
  // 0 is the null handle, which frees nothing (vmaVirtualFree(VK_NULL_HANDLE)): not hostile.
  handle: ["negative", "string", "bigint", "symbol", "null", "object", "nullproto", "array", "boolean"],
  bool: ["zero", "string", "bigint", "symbol", "object", "nullproto", "array"],
};

/** The hostile kinds surely invalid for an argument of kind `arg`. */
export function hostileKinds(arg: ArgKind): readonly HostileKind[] {
  return SURELY_BAD[arg];
}

/** Makes a fresh hostile value of `kind`. */
export function hostileValue(kind: HostileKind): unknown {
  return ALL[kind]();
}

/** A short rendering of any value for the op trace (never throws, whatever the value). */
export function show(value: unknown): string {
  try {
    switch (typeof value) {
      case "string":
        return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
      case "bigint":
        return `${value}n`;
      case "symbol":
        return "Symbol()";
      case "function":
        return "function";
      case "number":
        return Object.is(value, -0) ? "-0" : String(value);
      case "undefined":
        return "undefined";
      case "boolean":
        return String(value);
      default:
        if (value === null) return "null";
        if (Object.getPrototypeOf(value) === null) return "Object.create(null)";
        if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as ArrayBufferView).byteLength})`;
        if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength})`;
        if (Array.isArray(value))
          return `[${value.map((v) => (typeof v === "object" && v !== null ? "..." : show(v))).join(",")}]`;
        if (
          Object.getPrototypeOf(value) !== Object.prototype &&
          "label" in (value as object) &&
          typeof (value as { label: unknown }).label === "string"
        ) {
          return `${(value as object).constructor.name}(${(value as { label: string }).label})`;
        }
        return `{${Object.entries(value as object)
          .slice(0, 16)
          .map(
            ([k, v]) =>
              `${k}:${typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype ? show(v) : typeof v === "object" && v !== null ? (v.constructor?.name ?? "object") : show(v)}`,
          )
          .join(",")}}`;
    }
  } catch {
    return "(hostile object)";
  }
}
