/**
 * Command-line parsing for the `vkmem` command, the samples and the benchmarks: `node:util` parseArgs (strict,
 * nothing hand-written), with its errors turned into one short line that names the option and what was wrong, and
 * checks for the values it leaves as strings. A wrong command line is a {@link UsageError}; the command prints its
 * message with the usage and exits with status 2.
 * @module
 */
import { parseArgs } from "node:util";

/** A wrong command line: the message says what was wrong, e.g. "--width needs a value (N)". */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One option: a flag (`boolean`) or an option with a value (`string`, `value` names it in messages). */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's placeholder in messages, e.g. "FILE" or "N". */
  value?: string;
  /** May be given more than once (the values come back as an array). */
  multiple?: boolean;
}

/** What {@link parseCommandLine} returns: option values by name, and the positional arguments. */
export interface ParsedCommandLine {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/**
 * Parses `argv` against `options` (long names without the dashes); at most `maxPositionals` positional arguments.
 * @throws UsageError for an unknown option, a missing value, a value given to a flag, or a stray argument.
 */
export function parseCommandLine(
  argv: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
  maxPositionals = 0,
): ParsedCommandLine {
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(options)) {
    config[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(explain(e as Error & { code?: string }, argv, options));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  return { values: parsed.values as ParsedCommandLine["values"], positionals: parsed.positionals };
}

/** parseArgs' error as one line: which option, what was wrong. */
function explain(
  e: Error & { code?: string },
  argv: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
): string {
  const named = /'(-{1,2}[\w-]+)/.exec(e.message)?.[1];
  const long =
    named === undefined
      ? undefined
      : named.startsWith("--")
        ? named.slice(2)
        : Object.entries(options).find(([, s]) => `-${s.short}` === named)?.[0];
  const spec = long === undefined ? undefined : options[long];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown argument ${named ?? argv.find((a) => a.startsWith("-")) ?? ""}`.trimEnd();
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (spec?.type === "boolean") return `--${long} takes no value`;
      return `--${long ?? "?"} needs a value${spec?.value ? ` (${spec.value})` : ""}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument '${/'([^']*)'/.exec(e.message)?.[1] ?? ""}'`;
    default:
      return e.message;
  }
}

/**
 * A whole-number option value from `min` to `max`, or `fallback` when the option was not given.
 * @throws UsageError naming the option and the bad value.
 */
export function wholeNumber(name: string, text: unknown, fallback: number, min?: number, max?: number): number;
export function wholeNumber(
  name: string,
  text: unknown,
  fallback: undefined,
  min?: number,
  max?: number,
): number | undefined;
export function wholeNumber(
  name: string,
  text: unknown,
  fallback: number | undefined,
  min = 1,
  max = 1e9,
): number | undefined {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (typeof text !== "string" || !/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError(`--${name} needs a whole number from ${min} to ${max}, got ${String(text)}`);
  }
  return n;
}

/**
 * A finite number option value no smaller than `min`, or `fallback` when the option was not given.
 * @throws UsageError naming the option and the bad value.
 */
export function decimalNumber(
  name: string,
  text: unknown,
  fallback: number | undefined,
  what = "a number",
  min = -Infinity,
): number | undefined {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (typeof text !== "string" || text.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name} needs ${what}, got ${String(text)}`);
  }
  return n;
}

const UNIT: Readonly<Record<string, number>> = {
  "": 1,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tib: 2 ** 40,
};

/**
 * A byte count option value: a whole number with an optional binary unit (K/KiB, M/MiB, G/GiB, T/TiB, any case),
 * e.g. `256M`; `undefined` when the option was not given.
 * @throws UsageError naming the option and the bad value.
 */
export function byteCount(name: string, text: unknown): number | undefined {
  if (text === undefined) return undefined;
  const m = typeof text === "string" ? /^(\d+)\s*([a-zA-Z]*)$/.exec(text) : null;
  const unit = m === null ? undefined : UNIT[m[2]!.toLowerCase()];
  const n = m === null || unit === undefined ? NaN : Number(m[1]) * unit;
  if (!(Number.isSafeInteger(n) && n > 0)) {
    throw new UsageError(
      `--${name} needs a positive number of bytes, optionally with K, M, G or T (binary units), got ${String(text)}`,
    );
  }
  return n;
}
