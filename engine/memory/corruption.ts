/**
 * Corruption detection: the debug build an allocator may run on, and the reports of its checks.
 *
 * VMA's debug features are compile-time constants (native/vma_config.h), so vkmem ships two builds of its addon:
 * the normal one and `vkmem_debug.node`, compiled with
 * - a debug margin of {@link DEBUG_BUILD_MARGIN} bytes after every allocation in a memory block (VMA_DEBUG_MARGIN;
 *   not after dedicated allocations, and never in virtual blocks),
 * - corruption detection (VMA_DEBUG_DETECT_CORRUPTION): the margins hold the magic number 0x7F84E666, checked
 *   when an allocation is freed (a broken one throws {@link CorruptionError}, after freeing) and by
 *   `checkCorruption()`; VMA can only do this in memory types that are HOST_VISIBLE and HOST_COHERENT,
 * - fill patterns (VMA_DEBUG_INITIALIZE_ALLOCATIONS): 0xDC in every new allocation and 0xEF in every freed one,
 *   for allocations the CPU may map (`hostAccess`) in HOST_VISIBLE memory.
 *
 * `createAllocator(device, { debug: {} })` (or with the settings spelled out) makes an allocator on the debug
 * build, which is loaded on first use. The build's settings are fixed: asking for a different margin, or for
 * detection or fill off, is refused with a RangeError rather than silently served by other settings.
 * Everything of that allocator (its pools and allocations) then lives in the debug build; the normal build
 * never pays for any of it.
 * @module
 */
import { describeCorrupted, describeValue, resultName, vkErrorFor, type CorruptedAllocation } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import type { NativeAddon } from "../native.js";

/** The margin, in bytes, that the debug build keeps after each allocation (VKMEM_DEBUG_MARGIN in native/vma_config.h). */
export const DEBUG_BUILD_MARGIN = 16;

/** What an allocator asks of the debug build; every field is optional and defaults to what the build has. */
export interface DebugOptions {
  /** Bytes kept free after each allocation in a block. Only the debug build's own {@link DEBUG_BUILD_MARGIN}. */
  margin?: number;
  /** Magic numbers in the margins, checked on free and by checkCorruption() (default true; the build always has it). */
  detectCorruption?: boolean;
  /** 0xDC on create, 0xEF on free (default true; the build always has it). */
  fillAllocations?: boolean;
}

/** The debug settings an allocator runs with (`allocator.debug`): all off and 0 for the normal build. */
export interface DebugSettings {
  /** True when the allocator runs on the debug build. */
  readonly enabled: boolean;
  readonly margin: number;
  readonly detectCorruption: boolean;
  readonly fillAllocations: boolean;
}

/** What checkCorruption() found. It never throws for corruption: the finding is the answer. */
export interface CorruptionReport {
  /** False only when a margin was found overwritten. True also when nothing could be checked (see `result`). */
  readonly ok: boolean;
  /**
   * VMA's VkResult: 0 VK_SUCCESS (checked, intact), -8 VK_ERROR_FEATURE_NOT_PRESENT (nothing could be checked:
   * the normal build, or no HOST_VISIBLE | HOST_COHERENT memory type among those asked), -13 VK_ERROR_UNKNOWN
   * (corruption found).
   */
  readonly result: number;
  /** The result's name, e.g. "VK_ERROR_FEATURE_NOT_PRESENT". */
  readonly code: string;
  /** The memory types whose blocks were checked, ascending. */
  readonly checkedMemoryTypes: number[];
  /** The memory types where a margin was overwritten, ascending. */
  readonly corruptedMemoryTypes: number[];
  /** The live allocations whose margin was overwritten. */
  readonly corruptedAllocations: CorruptedAllocation[];
  /** One readable line saying all of the above. */
  readonly message: string;
}

const VK_SUCCESS = 0;
const VK_ERROR_FEATURE_NOT_PRESENT = -8;
const VK_ERROR_UNKNOWN = -13;
/** VMA keeps magic numbers only in memory it can map coherently. */
const CHECKABLE = 0x2 | 0x4;
function allTypes(count: number): number {
  return count >= 32 ? 0xffffffff : (2 ** count - 1) >>> 0;
}

const NORMAL_BUILD: DebugSettings = Object.freeze({
  enabled: false,
  margin: 0,
  detectCorruption: false,
  fillAllocations: false,
});

/**
 * Checks `createAllocator`'s `debug` option: undefined or false for the normal build, an object (or true, meaning
 * `{}`) for the debug build. Returns the settings it will run with.
 * @throws TypeError / RangeError naming the field and the value.
 */
export function parseDebugOptions(debug: unknown, op: string): DebugSettings {
  if (debug === undefined || debug === false) return NORMAL_BUILD;
  if (debug !== true && !isOptionsObject(debug)) {
    throw new TypeError(
      `${op}: options.debug must be an object { margin?, detectCorruption?, fillAllocations? } or a boolean, got ${describeValue(debug)}`,
    );
  }
  const o = (debug === true ? {} : debug) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== "margin" && key !== "detectCorruption" && key !== "fillAllocations") {
      throw new TypeError(
        `${op}: options.debug.${key} is not a debug option (margin, detectCorruption, fillAllocations), got ${describeValue(o[key])}`,
      );
    }
  }
  const margin = o.margin ?? DEBUG_BUILD_MARGIN;
  if (typeof margin !== "number")
    throw new TypeError(`${op}: options.debug.margin must be a number of bytes, got ${describeValue(margin)}`);
  if (margin !== DEBUG_BUILD_MARGIN) {
    throw new RangeError(
      `${op}: options.debug.margin must be ${DEBUG_BUILD_MARGIN}: VMA's margin is a compile-time constant and the debug build ` +
        `has ${DEBUG_BUILD_MARGIN} bytes (VKMEM_DEBUG_MARGIN in native/vma_config.h), got ${describeValue(margin)}`,
    );
  }
  for (const key of ["detectCorruption", "fillAllocations"] as const) {
    const v = o[key] ?? true;
    if (typeof v !== "boolean")
      throw new TypeError(`${op}: options.debug.${key} must be a boolean, got ${describeValue(v)}`);
    if (!v) {
      throw new RangeError(
        `${op}: options.debug.${key} cannot be false: the debug build compiles it in (leave out options.debug for the normal build), got false`,
      );
    }
  }
  return Object.freeze({ enabled: true, margin: DEBUG_BUILD_MARGIN, detectCorruption: true, fillAllocations: true });
}

/** The settings a loaded addon was really compiled with (checked against what TS expects). */
export function settingsOf(addon: NativeAddon): DebugSettings {
  const v = addon.version();
  if (!v.debugBuild) return NORMAL_BUILD;
  if (v.debugMargin !== DEBUG_BUILD_MARGIN || !v.detectCorruption || !v.initializeAllocations) {
    throw new Error(
      `vkmem: the debug addon has margin ${v.debugMargin}, detection ${v.detectCorruption}, fill ${v.initializeAllocations}; ` +
        `engine/memory/corruption.ts expects margin ${DEBUG_BUILD_MARGIN} with both on (rebuild: npm run setup)`,
    );
  }
  return Object.freeze({ enabled: true, margin: v.debugMargin, detectCorruption: true, fillAllocations: true });
}

function typeList(types: number[]): string {
  return types.length === 1 ? `memory type ${types[0]}` : `memory types ${types.join(", ")}`;
}

/**
 * Checks the memory types of `memoryTypeBits` (or one pool) and names the types and the allocations whose
 * margin was overwritten.
 *
 * VMA 3.4's vmaCheckCorruption checks every default-pool block vector whatever `memoryTypeBits` says (only its
 * custom-pool loop honours the mask; seen on the H100, whose five memory types made a write in type 2 show up
 * in all five). So VMA's answer only says "somewhere", and the types are attributed here from the allocations
 * whose own margin is broken (the native side checks each live allocation's magic number). Only
 * HOST_VISIBLE | HOST_COHERENT types can be checked at all.
 * @throws VkError when VMA could not map a block to check it.
 */
export function checkCorruptionReport(
  addon: NativeAddon,
  allocatorHandle: number,
  settings: DebugSettings,
  memoryTypeBits: number,
  pool: { handle: number; memoryTypeIndex: number; label: string | undefined } | null,
  memoryTypeFlags: readonly number[],
): CorruptionReport {
  const types: number[] = [];
  for (let i = 0; i < 32; i++) if ((memoryTypeBits >>> i) & 1) types.push(i);
  const checkable = types.filter((i) => (memoryTypeFlags[i] & CHECKABLE) === CHECKABLE);
  const checkableBits = checkable.reduce((m, i) => (m | (1 << i)) >>> 0, 0);
  let checked: number[] = [];
  let corrupted: number[] = [];
  const r =
    checkableBits === 0
      ? VK_ERROR_FEATURE_NOT_PRESENT
      : pool !== null
        ? addon.checkPoolCorruption(pool.handle)
        : addon.checkCorruption(allocatorHandle, checkableBits);
  if (r === VK_SUCCESS) checked = checkable;
  else if (r === VK_ERROR_UNKNOWN) {
    checked = checkable;
    const everywhere = addon.corruptedAllocations(allocatorHandle, allTypes(memoryTypeFlags.length), pool?.handle ?? 0);
    const mine = new Set(everywhere.map((a) => a.memoryType).filter((t) => ((checkableBits >>> t) & 1) !== 0));
    // Broken margins only in types that were not asked for: VMA's default-pool loop saw them, these are intact.
    corrupted =
      everywhere.length > 0 && mine.size === 0 ? [] : mine.size > 0 ? [...mine].sort((x, y) => x - y) : checkable;
  } else if (r !== VK_ERROR_FEATURE_NOT_PRESENT)
    throw vkErrorFor(r, pool !== null ? "vmaCheckPoolCorruption" : "vmaCheckCorruption", pool?.label);
  const corruptedBits = corrupted.reduce((m, i) => (m | (1 << i)) >>> 0, 0);
  const found: CorruptedAllocation[] =
    corrupted.length === 0
      ? []
      : addon
          .corruptedAllocations(allocatorHandle, corruptedBits, pool?.handle ?? 0)
          .map(({ name, size, offset, memoryType, kind, pool: p }) => ({
            name,
            size,
            offset,
            memoryType,
            kind,
            pool: p,
          }));
  const result =
    corrupted.length > 0 ? VK_ERROR_UNKNOWN : checked.length > 0 ? VK_SUCCESS : VK_ERROR_FEATURE_NOT_PRESENT;
  const where =
    pool !== null
      ? `pool${pool.label !== undefined ? ` '${pool.label}'` : ""} (memory type ${pool.memoryTypeIndex})`
      : typeList(types);
  let message: string;
  if (corrupted.length > 0) {
    message =
      `memory corruption in ${typeList(corrupted)}: ` +
      (found.length > 0
        ? `the margin after ${found.length} allocation(s) was overwritten: ${found.map(describeCorrupted).join("; ")}`
        : "a margin was overwritten (the allocation was freed since)");
  } else if (checked.length > 0) {
    message =
      `no corruption found in ${typeList(checked)}` +
      (checked.length < types.length && pool === null ? ` (the others of ${where} cannot be checked)` : "");
  } else if (!settings.detectCorruption) {
    message = `corruption detection is not compiled in: this allocator runs on the normal build (create it with { debug: {} } for the debug build)`;
  } else {
    message = `nothing to check in ${where}: VMA checks margins only in HOST_VISIBLE | HOST_COHERENT memory`;
  }
  return Object.freeze({
    ok: corrupted.length === 0,
    result,
    code: resultName(result),
    checkedMemoryTypes: checked,
    corruptedMemoryTypes: corrupted,
    corruptedAllocations: found,
    message,
  });
}

/**
 * The allocator's checkCorruption: checks `memoryTypeBits` (a uint32 mask; bits beyond the device's memory types
 * ignored, as in VMA) and reports with {@link checkCorruptionReport} over every block of those memory types.
 * @throws RangeError when the mask is not a uint32 or names none of the device's memory types; VkError as
 * {@link checkCorruptionReport}.
 */
export function checkAllocatorCorruption(
  addon: NativeAddon,
  allocatorHandle: number,
  settings: DebugSettings,
  memoryTypeBits: number,
  memoryTypeFlags: readonly number[],
): CorruptionReport {
  const count = memoryTypeFlags.length;
  const all = 2 ** count - 1;
  const isMask = typeof memoryTypeBits === "number" && memoryTypeBits >= 0 && memoryTypeBits <= 0xffffffff;
  if (!isMask || Math.floor(memoryTypeBits) !== memoryTypeBits || (memoryTypeBits & all) === 0) {
    const what = `must be a uint32 mask naming at least one of the device's ${count} memory type(s) (0x${all.toString(16)}; 0xffffffff: all)`;
    throw new RangeError(`checkCorruption: memoryTypeBits ${what}, got ${describeValue(memoryTypeBits)}`);
  }
  return checkCorruptionReport(addon, allocatorHandle, settings, (memoryTypeBits & all) >>> 0, null, memoryTypeFlags);
}
