/**
 * Leak reports: what an allocator or pool destroyed with allocations still alive says about them (gpu-allocator's
 * `Drop for Allocator`). One report per allocation (name, size, memory type, kind, pool, creation stack when the
 * allocator captures stacks), handed to the allocator's `onLeaks` or emitted as one process warning
 * (VkmemLeakWarning); the native side has freed them already, so reporting never fails and never frees.
 * @module
 */
import type { NativeAddon, NativeLeak } from "../native.js";
import { reportCollected } from "../lifetime.js";
import { formatBytes } from "../format.js";
import type { LeakReport } from "./types.js";

/**
 * Turns native leak records into reports (taking each creation stack out of `stacks` when captured), hands them to
 * `onLeaks` or emits one process warning; `what` names who was destroyed ("Allocator 'x'", "Pool 'y'"); `messages`
 * are extra lines of the native side. Nothing is emitted when both are empty.
 * @returns the reports.
 */
export function reportLeaks(
  what: string,
  leaks: NativeLeak[],
  messages: string[],
  stacks: Map<number, string> | null,
  onLeaks: ((leaks: LeakReport[]) => void) | undefined,
): LeakReport[] {
  const reports: LeakReport[] = leaks.map((l: NativeLeak) => {
    const r: LeakReport = { name: l.name, size: l.size, memoryType: l.memoryType, kind: l.kind };
    if (l.pool !== null) r.pool = l.pool;
    const stack = stacks?.get(l.handle);
    if (stack !== undefined) r.stack = stack;
    stacks?.delete(l.handle);
    return r;
  });
  if (reports.length > 0 || messages.length > 0) {
    if (onLeaks !== undefined) onLeaks(reports);
    else {
      const lines = reports.map(
        (r) =>
          `  ${r.kind} ${r.name === null ? "(unnamed)" : `'${r.name}'`}: ${formatBytes(r.size)} in memory type ${r.memoryType}` +
          (r.pool !== undefined ? ` (pool ${r.pool === "" ? "(unnamed)" : `'${r.pool}'`})` : ""),
      );
      process.emitWarning(
        `${what} destroyed with ${reports.length} live allocation(s); freed them:\n${lines.join("\n")}` +
          (messages.length > 0 ? `\n${messages.join("\n")}` : ""),
        "VkmemLeakWarning",
      );
    }
  }
  return reports;
}

/**
 * GC collected an Allocation of a live allocator whose handle was never freed: warns, with its creation stack when
 * captured. Its memory stays (GC calls no VMA); its pool or allocator frees and reports it on destroy().
 */
export function reportCollectedAllocation(
  addon: NativeAddon,
  handle: number,
  stacks: Map<number, string> | null,
): void {
  let name: string | null;
  try {
    name = addon.getAllocationName(handle);
  } catch {
    return; // freed natively with its pool by the pool's destroy(), which reported it
  }
  reportCollected("Allocation", name, stacks?.get(handle));
}
