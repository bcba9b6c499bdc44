/**
 * Hostile argument values and the assertion the hostile-input tests make with them.
 *
 * Each value is made fresh by a factory (a detached buffer must be detached anew). `expectRefused` runs a call with
 * one and accepts exactly two outcomes: a `TypeError` / `RangeError` whose message names the argument and is none of
 * V8's own conversion messages (what an unchecked value turns into), or the {@link CallerError} that a hostile
 * getter or Proxy trap threw (the caller's own error, which may propagate as it is).
 * @module
 */
import { expect } from "vitest";

/** The error the hostile getters and Proxy traps throw: the caller's own. */
export class CallerError extends Error {}

function detachedBuffer(): ArrayBuffer {
  const b = new ArrayBuffer(16);
  structuredClone(b, { transfer: [b] });
  return b;
}

function detachedView(): Uint8Array {
  const b = new ArrayBuffer(16);
  const v = new Uint8Array(b);
  structuredClone(b, { transfer: [b] });
  return v;
}

function throwingProxy(): object {
  const trap = (what: string) => () => {
    throw new CallerError(`hostile ${what}`);
  };
  return new Proxy(
    {},
    {
      get: trap("get"),
      has: trap("has"),
      ownKeys: trap("ownKeys"),
      getPrototypeOf: trap("getPrototypeOf"),
      getOwnPropertyDescriptor: trap("getOwnPropertyDescriptor"),
    },
  );
}

/** The hostile values by name. */
export const HOSTILE = {
  nullPrototype: (): unknown => Object.create(null),
  symbol: (): unknown => Symbol("hostile"),
  bigint: (): unknown => 1n,
  hugeBigint: (): unknown => 2n ** 64n,
  detachedBuffer: (): unknown => detachedBuffer(),
  detachedView: (): unknown => detachedView(),
  nan: (): unknown => NaN,
  negative: (): unknown => -1,
  fraction: (): unknown => 1.5,
  huge: (): unknown => 2 ** 60,
  infinity: (): unknown => Infinity,
  negativeZero: (): unknown => -0,
  numericString: (): unknown => "1",
  function: (): unknown => () => 1,
  array: (): unknown => [1],
  throwingProxy,
  throwingValueOf: (): unknown => ({
    valueOf() {
      throw new CallerError("hostile valueOf");
    },
    toString() {
      throw new CallerError("hostile toString");
    },
  }),
} as const;

/** A hostile value's name. */
export type HostileName = keyof typeof HOSTILE;

/** Values an options-object argument legitimately takes (an object without prototype; an object with methods only). */
export const OBJECT_OK: readonly HostileName[] = ["nullPrototype", "throwingValueOf"];

/** V8's messages for values that reached an operator unchecked. */
const ENGINE_MESSAGE =
  /Cannot convert|Cannot mix BigInt|Cannot perform|is not a function|Cannot read prop|is not iterable|Cannot destructure|Maximum call stack|Invalid typed array|Invalid array length|Do not know how to serialize/;

/**
 * Asserts that `call` refuses its hostile argument with a typed error naming `arg` (or lets the caller's own
 * {@link CallerError} through), and never with one of V8's conversion errors.
 */
export function expectRefused(call: () => unknown, arg: string, what = arg): void {
  let thrown: unknown = undefined;
  let returned = false;
  try {
    const result = call();
    if (result instanceof Promise) result.catch(() => {});
    returned = true;
  } catch (error) {
    thrown = error;
  }
  expect(returned, `${what}: expected a TypeError or RangeError naming ${arg}, but the call returned`).toBe(false);
  if (thrown instanceof CallerError) return;
  const error = thrown as Error;
  expect([TypeError, RangeError], `${what}: ${error?.constructor?.name}: ${error?.message}`).toContain(
    error?.constructor,
  );
  expect(error.message, what).not.toMatch(ENGINE_MESSAGE);
  expect(error.message, what).toContain(arg);
}

/** One row of a hostile-input table: a call with one argument replaced by the value. */
export interface HostileRow {
  /** A name for the test title. */
  name: string;
  /** The argument the messages must name, e.g. "bufferInfo.size". */
  arg: string;
  /** Runs the call with `value` in place of the argument. */
  run: (value: unknown) => unknown;
  /** Hostile values that are valid for this argument (e.g. -0 for an offset): not run. */
  accept?: readonly HostileName[];
}

/**
 * Runs one row with every hostile value it does not accept, asserting {@link expectRefused} for each; `after` runs
 * after each value (the caller's check that nothing was lost).
 */
export function expectRowRefused(row: HostileRow, after: () => void = () => {}): void {
  for (const name of Object.keys(HOSTILE) as HostileName[]) {
    if (row.accept?.includes(name)) continue;
    expectRefused(() => row.run(HOSTILE[name]()), row.arg, `${row.name} <- ${name}`);
    after();
  }
}

/**
 * Rows for every field of an options object (each with the hostile values it accepts): the call gets
 * `{ ...base, [field]: value }`; messages must name `argOf(field)` (default `arg.field`).
 */
export function fieldRows(
  name: string,
  arg: string,
  fields: Readonly<Record<string, readonly HostileName[]>>,
  run: (options: Record<string, unknown>) => unknown,
  base: Record<string, unknown> = {},
  argOf: (field: string) => string = (field) => `${arg}.${field}`,
): HostileRow[] {
  return Object.entries(fields).map(([field, accept]) => ({
    name: `${name} ${argOf(field)}`,
    arg: argOf(field),
    accept,
    run: (value: unknown) => run({ ...base, [field]: value }),
  }));
}
