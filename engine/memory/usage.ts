/**
 * Memory intents: how an allocation says what memory it wants.
 *
 * Two vocabularies coexist, as in VMA 3. The legacy intents (GpuOnly, CpuOnly, CpuToGpu, GpuToCpu,
 * CpuCopy) name a memory type by its role and still work, though VMA marks them deprecated; the
 * modern ones (Auto, AutoPreferDevice, AutoPreferHost) let VMA choose from the resource's usage
 * flags, and need {@link AllocationOptions.hostAccess} when the CPU will touch the memory. On top
 * of either: required and preferred VkMemoryPropertyFlags, a memoryTypeBits mask, and flags for
 * dedicated memory, never-allocate, persistent mapping, staying within budget, strategy and priority.
 *
 * {@link encodeAllocationOptions} turns an options object into the scratch slots the native hot
 * calls read; it is on every allocation's path, so it checks cheaply and throws exact messages.
 * @module
 */
import { describeValue } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import { scratch, Slot } from "../native.js";
import type { AllocationStrategy } from "./types.js";
// AllocationOptions.pool is declared by pool.ts (declaration merging): this module imports nothing above it.

/** VMA's VmaMemoryUsage values. */
export const MemoryUsage = {
  /** No intent: only required/preferred flags and memoryTypeBits choose the type. */
  Unknown: 0,
  /** Legacy: device-local memory, not mappable (VMA_MEMORY_USAGE_GPU_ONLY; deprecated in VMA 3). */
  GpuOnly: 1,
  /** Legacy: host-visible, host-coherent memory for staging (VMA_MEMORY_USAGE_CPU_ONLY; deprecated). */
  CpuOnly: 2,
  /** Legacy: host-visible memory the GPU reads fast, for per-frame uploads (CPU_TO_GPU; deprecated). */
  CpuToGpu: 3,
  /** Legacy: host-visible, preferably cached, memory for readback (GPU_TO_CPU; deprecated). */
  GpuToCpu: 4,
  /** Legacy: host memory that should not be device-local (CPU_COPY; deprecated). */
  CpuCopy: 5,
  /** Lazily allocated memory for transient attachments (GPU_LAZILY_ALLOCATED). */
  GpuLazilyAllocated: 6,
  /** VMA chooses from the buffer/image usage; add hostAccess when the CPU maps it. */
  Auto: 7,
  /** As Auto, preferring device-local memory. */
  AutoPreferDevice: 8,
  /** As Auto, preferring host memory. */
  AutoPreferHost: 9,
} as const;
/** One of the {@link MemoryUsage} values. */
export type MemoryUsage = (typeof MemoryUsage)[keyof typeof MemoryUsage];

/** VMA's VmaAllocationCreateFlagBits, for {@link AllocationOptions.flags}. */
export const AllocationCreateFlags = {
  DEDICATED_MEMORY: 0x1,
  NEVER_ALLOCATE: 0x2,
  MAPPED: 0x4,
  /** Double stack: allocate from the top of a linear pool's one block (needs such a pool). */
  UPPER_ADDRESS: 0x40,
  DONT_BIND: 0x80,
  WITHIN_BUDGET: 0x100,
  CAN_ALIAS: 0x200,
  HOST_ACCESS_SEQUENTIAL_WRITE: 0x400,
  HOST_ACCESS_RANDOM: 0x800,
  HOST_ACCESS_ALLOW_TRANSFER_INSTEAD: 0x1000,
  STRATEGY_MIN_MEMORY: 0x10000,
  STRATEGY_MIN_TIME: 0x20000,
  STRATEGY_MIN_OFFSET: 0x40000,
} as const;
const KNOWN_FLAGS = Object.values(AllocationCreateFlags).reduce((a, b) => a | b, 0);

/** VkMemoryPropertyFlagBits. */
export const MemoryPropertyFlags = {
  DEVICE_LOCAL: 0x1,
  HOST_VISIBLE: 0x2,
  HOST_COHERENT: 0x4,
  HOST_CACHED: 0x8,
  LAZILY_ALLOCATED: 0x10,
  PROTECTED: 0x20,
  DEVICE_COHERENT_AMD: 0x40,
  DEVICE_UNCACHED_AMD: 0x80,
} as const;

/** VkMemoryHeapFlagBits. */
export const MemoryHeapFlags = { DEVICE_LOCAL: 0x1, MULTI_INSTANCE: 0x2 } as const;

/** How the CPU will access the memory (VMA's HOST_ACCESS_* flags). */
export type HostAccess = "none" | "sequentialWrite" | "random";

export type { AllocationStrategy } from "./types.js";

/**
 * What an allocation wants from memory. Every field is optional; the default is `usage: Auto`.
 * The boolean and enum fields are spelled-out versions of {@link AllocationCreateFlags}; `flags` may
 * carry the raw bits as well, and both are OR-ed.
 */
export interface AllocationOptions {
  /**
   * The intent (default {@link MemoryUsage.Auto}; Unknown with a pool; for raw memory, which VMA cannot give an
   * Auto usage: GpuOnly without hostAccess, CpuToGpu with 'sequentialWrite', GpuToCpu with 'random').
   */
  usage?: MemoryUsage;
  /** How the CPU accesses the memory; required for mapping with the Auto intents. */
  hostAccess?: HostAccess;
  /** With hostAccess: allow a non-mappable type when it is better, the app then copies through staging. */
  allowTransferInstead?: boolean;
  /** VkMemoryPropertyFlags the memory type must have. */
  requiredFlags?: number;
  /** VkMemoryPropertyFlags the memory type should have. */
  preferredFlags?: number;
  /** Bit i set: memory type i is acceptable (0 means all). */
  memoryTypeBits?: number;
  /** Give the allocation its own VkDeviceMemory. */
  dedicated?: boolean;
  /** Only sub-allocate from existing blocks; fail rather than allocate a new one. */
  neverAllocate?: boolean;
  /** Map persistently; {@link Allocation.mappedData} is valid until free. With an Auto usage it needs hostAccess. */
  mapped?: boolean;
  /** Fail with out-of-device-memory rather than exceed the heap's budget. */
  withinBudget?: boolean;
  /** VMA's allocation strategy. */
  strategy?: AllocationStrategy;
  /** Priority for VK_EXT_memory_priority, in [0, 1] (default 0.5 when the extension is used). */
  priority?: number;
  /** Raw {@link AllocationCreateFlags} bits, OR-ed with the fields above. */
  flags?: number;
  /** Minimum alignment of the allocation in bytes (a power of two): buffers and raw memory (allocateMemory*). */
  minAlignment?: number;
  /** Name of the allocation: shown in the JSON dump, leak reports and errors. */
  name?: string;
  /** Any JS value kept with the allocation; a safe non-negative integer also goes to VMA's pUserData. */
  userData?: unknown;
  /** Allocate at the top of a linear pool with maxBlockCount 1 (a double stack); VMA's UPPER_ADDRESS. */
  upperAddress?: boolean;
  /**
   * Several buffers and images may be bound to the allocation (VMA's CAN_ALIAS): bind*Memory more than once, and
   * createAliasingBuffer / createAliasingImage (engine/memory/aliasing.ts). Not with canBecomeLost, not in buddy pools.
   */
  canAlias?: boolean;
  /**
   * The allocation may be made lost by a later `canMakeOtherLost` allocation of its pool or memory type once it has
   * not been touched for more than frameInUseCount frames (VMA 2's CAN_BECOME_LOST; engine/memory/lost-allocations.ts).
   * Not with `mapped`, not in buddy pools.
   */
  canBecomeLost?: boolean;
  /**
   * When the allocation does not fit (memory, heap size limit, pool size or budget), make lost-able allocations of
   * the same pool or memory type lost, least recently used first, until it fits (VMA 2's CAN_MAKE_OTHER_LOST).
   * Implies `withinBudget`.
   */
  canMakeOtherLost?: boolean;
}

const STRATEGY_FLAGS: Record<AllocationStrategy, number> = {
  minMemory: AllocationCreateFlags.STRATEGY_MIN_MEMORY,
  minTime: AllocationCreateFlags.STRATEGY_MIN_TIME,
  minOffset: AllocationCreateFlags.STRATEGY_MIN_OFFSET,
};

function isUint32(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && v <= 0xffffffff && Math.floor(v) === v;
}

function bad(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/** The allocation options that are booleans (checked as such: `mapped: "no"` is refused, not taken as true). */
/**
 * @internal Every object the Pool constructor made (pool.ts adds each): how the options check that `pool` is a Pool
 * without importing the class (pool.ts imports this module, and declares `AllocationOptions.pool` itself).
 */
export const poolObjects = new WeakSet<object>();

/**
 * Refuses a pool in the options of a call that has no place for one (findMemoryTypeIndex*: a pool has one memory
 * type, pool.memoryTypeIndex).
 * @throws TypeError naming `arg.pool`.
 */
export function refusePool(options: AllocationOptions | undefined, op: string, arg: string): void {
  if (options !== null && typeof options === "object" && options.pool !== undefined) {
    bad(
      op,
      `${arg}.pool`,
      "has no place here: a pool has one memory type (pool.memoryTypeIndex)",
      options.pool.label ?? "(unnamed pool)",
      TypeError,
    );
  }
}

const BOOLEAN_OPTIONS = [
  "allowTransferInstead",
  "dedicated",
  "neverAllocate",
  "mapped",
  "withinBudget",
  "upperAddress",
  "canAlias",
] as const;

/**
 * Checks `options` and writes them into the scratch allocation slots. `op` and `arg` name the call
 * and the argument in messages, e.g. `createBuffer`, `allocationOptions`.
 * @returns the VMA flags written (so callers can see MAPPED etc.).
 * @throws TypeError / RangeError naming the option and its value.
 */
export function encodeAllocationOptions(
  options: AllocationOptions | undefined,
  op: string,
  arg: string,
  owner?: object,
  rawMemory = false,
): number {
  let usage = 7;
  let usageGiven = false;
  let flags = 0;
  let required = 0;
  let preferred = 0;
  let typeBits = 0;
  let priority = 0.5;
  let minAlignment = 0;
  let pool = 0;
  if (options !== undefined) {
    if (!isOptionsObject(options)) bad(op, arg, "must be an object", options, TypeError);
    const o = options;
    if (o.pool !== undefined) {
      const p = o.pool;
      if (!poolObjects.has(p)) bad(op, `${arg}.pool`, "must be a Pool", p, TypeError);
      pool = p._live(op);
      if (owner !== undefined && p.allocator !== owner) {
        bad(op, `${arg}.pool`, "belongs to another allocator", p.label ?? "(unnamed pool)", TypeError);
      }
      usage = 0;
    }
    if (o.usage !== undefined) {
      usageGiven = true;
      usage = o.usage;
      if (!(typeof usage === "number" && usage >= 0 && usage <= 9 && Math.floor(usage) === usage)) {
        bad(op, `${arg}.usage`, "is not a MemoryUsage", o.usage);
      }
    }
    if (o.flags !== undefined) {
      if (!isUint32(o.flags)) bad(op, `${arg}.flags`, "must be a uint32 of AllocationCreateFlags", o.flags);
      if ((o.flags & ~KNOWN_FLAGS) !== 0) {
        bad(op, `${arg}.flags`, `has unknown bits 0x${(o.flags & ~KNOWN_FLAGS).toString(16)}`, o.flags);
      }
      flags = o.flags;
    }
    if (o.hostAccess !== undefined) {
      if (o.hostAccess === "sequentialWrite") flags |= AllocationCreateFlags.HOST_ACCESS_SEQUENTIAL_WRITE;
      else if (o.hostAccess === "random") flags |= AllocationCreateFlags.HOST_ACCESS_RANDOM;
      else if (o.hostAccess !== "none") {
        bad(op, `${arg}.hostAccess`, "must be 'none', 'sequentialWrite' or 'random'", o.hostAccess);
      }
    }
    // Read by name, not through a loop over the keys: a keyed load with a changing key is megamorphic (it showed in
    // profiles of createBuffer).
    const { allowTransferInstead, dedicated, neverAllocate, mapped, withinBudget, upperAddress, canAlias } = o;
    if (
      (allowTransferInstead !== undefined && typeof allowTransferInstead !== "boolean") ||
      (dedicated !== undefined && typeof dedicated !== "boolean") ||
      (neverAllocate !== undefined && typeof neverAllocate !== "boolean") ||
      (mapped !== undefined && typeof mapped !== "boolean") ||
      (withinBudget !== undefined && typeof withinBudget !== "boolean") ||
      (upperAddress !== undefined && typeof upperAddress !== "boolean") ||
      (canAlias !== undefined && typeof canAlias !== "boolean")
    ) {
      for (const key of BOOLEAN_OPTIONS) {
        const v = o[key];
        if (v !== undefined && typeof v !== "boolean") bad(op, `${arg}.${key}`, "must be a boolean", v, TypeError);
      }
    }
    if (allowTransferInstead) flags |= AllocationCreateFlags.HOST_ACCESS_ALLOW_TRANSFER_INSTEAD;
    if (dedicated) flags |= AllocationCreateFlags.DEDICATED_MEMORY;
    if (neverAllocate) flags |= AllocationCreateFlags.NEVER_ALLOCATE;
    if (mapped) flags |= AllocationCreateFlags.MAPPED;
    if (withinBudget) flags |= AllocationCreateFlags.WITHIN_BUDGET;
    if (upperAddress) flags |= AllocationCreateFlags.UPPER_ADDRESS;
    if (canAlias) flags |= AllocationCreateFlags.CAN_ALIAS;
    if (o.canBecomeLost !== undefined || o.canMakeOtherLost !== undefined) {
      if (o.canBecomeLost !== undefined && typeof o.canBecomeLost !== "boolean")
        bad(op, `${arg}.canBecomeLost`, "must be a boolean", o.canBecomeLost, TypeError);
      if (o.canMakeOtherLost !== undefined && typeof o.canMakeOtherLost !== "boolean")
        bad(op, `${arg}.canMakeOtherLost`, "must be a boolean", o.canMakeOtherLost, TypeError);
      if (o.canMakeOtherLost) flags |= AllocationCreateFlags.WITHIN_BUDGET;
      if (o.canBecomeLost) {
        if ((flags & AllocationCreateFlags.MAPPED) !== 0)
          bad(
            op,
            `${arg}.canBecomeLost`,
            "cannot be combined with mapped (a lost allocation's memory is freed under its view)",
            options,
          );
        if (o.pool !== undefined && o.pool.algorithm === "buddy")
          bad(
            op,
            `${arg}.canBecomeLost`,
            "is not supported in buddy pools",
            o.pool.label ?? "(unnamed pool)",
            TypeError,
          );
      }
    }
    if (o.strategy !== undefined) {
      const s = typeof o.strategy === "string" ? STRATEGY_FLAGS[o.strategy] : undefined;
      if (s === undefined || !Object.hasOwn(STRATEGY_FLAGS, o.strategy)) {
        bad(op, `${arg}.strategy`, "must be 'minMemory', 'minTime' or 'minOffset'", o.strategy);
      }
      flags |= s;
    }
    if (o.requiredFlags !== undefined) {
      if (!isUint32(o.requiredFlags))
        bad(op, `${arg}.requiredFlags`, "must be a uint32 of VkMemoryPropertyFlags", o.requiredFlags);
      required = o.requiredFlags;
    }
    if (o.preferredFlags !== undefined) {
      if (!isUint32(o.preferredFlags))
        bad(op, `${arg}.preferredFlags`, "must be a uint32 of VkMemoryPropertyFlags", o.preferredFlags);
      preferred = o.preferredFlags;
    }
    if (o.memoryTypeBits !== undefined) {
      if (!isUint32(o.memoryTypeBits)) bad(op, `${arg}.memoryTypeBits`, "must be a uint32 bit mask", o.memoryTypeBits);
      typeBits = o.memoryTypeBits;
    }
    if (o.priority !== undefined) {
      if (!(typeof o.priority === "number" && o.priority >= 0 && o.priority <= 1)) {
        bad(op, `${arg}.priority`, "must be a number in [0, 1]", o.priority);
      }
      priority = o.priority;
    }
    if (o.minAlignment !== undefined) {
      const a = o.minAlignment;
      if (!(typeof a === "number" && a >= 1 && a <= 2 ** 31 && Math.floor(a) === a && (a & (a - 1)) === 0)) {
        bad(op, `${arg}.minAlignment`, "must be a power of two", a);
      }
      minAlignment = a;
    }
    if ((flags & 0x3) === 0x3) bad(op, arg, "cannot ask for dedicated memory together with neverAllocate", options);
    if ((flags & AllocationCreateFlags.CAN_ALIAS) !== 0) {
      if (o.canBecomeLost === true)
        bad(
          op,
          `${arg}.canAlias`,
          "cannot be combined with canBecomeLost (aliases would outlive lost memory)",
          options,
        );
      if (o.pool !== undefined && o.pool.algorithm === "buddy")
        bad(op, `${arg}.canAlias`, "is not supported in buddy pools", o.pool.label ?? "(unnamed pool)", TypeError);
    }
    if ((flags & AllocationCreateFlags.UPPER_ADDRESS) !== 0) {
      const p = o.pool;
      if (p === undefined || p.algorithm !== "linear" || p.maxBlockCount !== 1) {
        bad(
          op,
          `${arg}.upperAddress`,
          "needs a linear pool with maxBlockCount 1 (a double stack)",
          p === undefined
            ? "no pool"
            : `pool '${p.label ?? "(unnamed)"}' (${p.algorithm}, maxBlockCount ${p.maxBlockCount})`,
        );
      }
    }
    if ((flags & AllocationCreateFlags.DEDICATED_MEMORY) !== 0 && o.pool !== undefined && o.pool.blockSize !== 0) {
      bad(op, `${arg}.dedicated`, "is not possible in a pool with a fixed blockSize", o.pool.label ?? "(unnamed pool)");
    }
    if ((flags & 0x1000) !== 0 && (flags & 0xc00) === 0) {
      bad(op, `${arg}.allowTransferInstead`, "needs hostAccess 'sequentialWrite' or 'random'", options);
    }
    if ((flags & 0xc00) === 0xc00) bad(op, `${arg}.hostAccess`, "cannot be both sequentialWrite and random", options);
    const strategies = flags & 0x70000;
    if (strategies !== 0 && (strategies & (strategies - 1)) !== 0)
      bad(op, `${arg}.flags`, "has more than one strategy", options);
  }
  // VMA's preconditions on usage (its VMA_ASSERTs in CalcAllocationParams / FindMemoryPreferences), checked here so
  // that VMA never sees them broken.
  if (rawMemory && pool === 0) {
    if (usageGiven && usage >= MemoryUsage.Auto) {
      bad(
        op,
        `${arg}.usage`,
        "cannot be an Auto usage for raw memory: VMA chooses Auto memory from a buffer or image description, which raw memory has not (leave usage out, or give GpuOnly, CpuToGpu, GpuToCpu or Unknown)",
        usage,
      );
    }
    if (!usageGiven) usage = defaultRawMemoryUsage(flags);
  }
  if ((flags & AllocationCreateFlags.MAPPED) !== 0 && usage >= MemoryUsage.Auto && (flags & HOST_ACCESS_BITS) === 0) {
    bad(
      op,
      `${arg}.mapped`,
      "needs hostAccess 'sequentialWrite' or 'random' with an Auto usage (VMA may otherwise place the memory where the CPU cannot map it)",
      options,
    );
  }
  scratch[Slot.AllocFlags] = flags;
  scratch[Slot.AllocUsage] = usage;
  scratch[Slot.AllocRequired] = required;
  scratch[Slot.AllocPreferred] = preferred;
  scratch[Slot.AllocTypeBits] = typeBits;
  scratch[Slot.AllocPool] = pool;
  scratch[Slot.AllocPriority] = priority;
  scratch[Slot.AllocMinAlignment] = minAlignment;
  return flags;
}

const HOST_ACCESS_BITS = AllocationCreateFlags.HOST_ACCESS_SEQUENTIAL_WRITE | AllocationCreateFlags.HOST_ACCESS_RANDOM;

/**
 * The usage raw memory (allocateMemory, allocateMemoryForBuffer / ForImage) gets when the options give none. VMA
 * refuses the Auto usages there (it resolves them from a buffer or image description, and in VMA 3.4 even
 * vmaAllocateMemoryForBuffer passes none), so vkmem resolves Auto itself the way VMA would for a resource the GPU
 * uses: GpuOnly (device-local preferred) without hostAccess, CpuToGpu (host-visible required, device-local
 * preferred) with 'sequentialWrite', GpuToCpu (host-visible required, host-cached preferred) with 'random'.
 */
export function defaultRawMemoryUsage(flags: number): MemoryUsage {
  if ((flags & AllocationCreateFlags.HOST_ACCESS_SEQUENTIAL_WRITE) !== 0) return MemoryUsage.CpuToGpu;
  if ((flags & AllocationCreateFlags.HOST_ACCESS_RANDOM) !== 0) return MemoryUsage.GpuToCpu;
  return MemoryUsage.GpuOnly;
}

/**
 * Whether VMA lets the allocation just encoded (by {@link encodeAllocationOptions}) be mapped: VMA allows mapping
 * when a HOST_ACCESS_* flag was given or the usage is not an Auto one (VMA adds HOST_ACCESS_RANDOM for those), and
 * asserts on vmaMapMemory otherwise. Reads the scratch, so call it before the next encode.
 */
export function encodedMappingAllowed(): boolean {
  return scratch[Slot.AllocUsage] < MemoryUsage.Auto || (scratch[Slot.AllocFlags] & HOST_ACCESS_BITS) !== 0;
}

/** Readable names of a VkMemoryPropertyFlags value, e.g. `DEVICE_LOCAL|HOST_VISIBLE`. */
export function memoryPropertyNames(flags: number): string[] {
  return Object.entries(MemoryPropertyFlags)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
}

/** Readable names of a VkMemoryHeapFlags value. */
export function memoryHeapNames(flags: number): string[] {
  return Object.entries(MemoryHeapFlags)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
}
