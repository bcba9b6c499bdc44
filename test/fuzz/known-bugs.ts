/**
 * The bugs the fuzzer knows about and steps around, so that the bounded run in `npm test` passes while they are
 * being fixed in other branches.
 *
 * Each entry names its item in issue 10 ("new" for what the fuzzer found beyond the issue), says in one line what
 * goes wrong, and lists the op patterns it disables. The fuzzer asks {@link isDisabled} before each risky call;
 * a pattern is a string such as `destroy:allocator-under-frames` or `hostile:createBuffer.strategy:nullproto`, and
 * the patterns here may end in `*` to match every pattern with that prefix. Once a fix is merged, delete its entry:
 * the bounded run then exercises the pattern again and fails if the fix does not hold. `--known-bugs none` on the
 * runner ignores the whole list (how the fuzzer proves it finds these bugs); `--known-bugs 5,7` keeps only the
 * entries of those items, `--known-bugs except:7` all but those.
 * @module
 */

/** One known bug. */
export interface KnownBug {
  /** Its item in issue 10 (1 to 8), or "new" for a bug the fuzzer found beyond the issue. */
  readonly item: number | "new";
  /** What goes wrong, in one line. */
  readonly description: string;
  /** The op patterns it disables (a trailing `*` matches any rest). */
  readonly disables: readonly string[];
}

/** Every bug the fuzzer steps around today: none (issue 10's and the ones the fuzzer found beyond it are fixed). */
export const KNOWN_BUGS: readonly KnownBug[] = [];

/**
 * The entries in force: all of them (`"all"`, the default), none (`"none"`), those of the listed items (`"5,7"`,
 * `"new"`), or all but the listed items (`"except:1"`: proves the fuzzer finds item 1's bugs).
 */
export function selectKnownBugs(spec: string | undefined): KnownBug[] {
  if (spec === undefined || spec === "all") return [...KNOWN_BUGS];
  if (spec === "none" || spec === "") return [];
  const except = spec.startsWith("except:");
  const items = new Set((except ? spec.slice("except:".length) : spec).split(",").map((s) => s.trim()));
  return KNOWN_BUGS.filter((b) => items.has(String(b.item)) !== except);
}

/** Whether `pattern` is disabled by one of `bugs`. */
export function isDisabled(bugs: readonly KnownBug[], pattern: string): boolean {
  for (const bug of bugs) {
    for (const p of bug.disables) {
      if (p === pattern) return true;
      if (p.endsWith("*") && pattern.startsWith(p.slice(0, -1))) return true;
      // "hostile:*:kind": any call, one kind of hostile value.
      if (p.startsWith("hostile:*:") && pattern.startsWith("hostile:") && pattern.endsWith(p.slice("hostile:*".length)))
        return true;
    }
  }
  return false;
}
