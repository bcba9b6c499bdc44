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

/** Every bug the fuzzer steps around today. */
export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    item: 1,
    description: "allocator.destroy() under a live FrameManager / TextureStreamer: later upload()/endFrame() copy from freed staging memory (SIGSEGV)",
    disables: ["destroy:allocator-under-frames"],
  },
  {
    item: 1,
    description: "context.destroy() with allocators, frame managers or streamers alive: their later destroy() calls VMA/Vulkan on the destroyed device (abort/SIGSEGV)",
    disables: ["destroy:context-under-children"],
  },
  {
    item: 1,
    description: "pool destroyed under a TextureStreamer that allocates from it (streamer.pool.destroy())",
    disables: ["destroy:streamer-pool"],
  },
  {
    item: 2,
    description: "raw-handle calls (allocateMemoryForBuffer/Image, bind*Memory) take handles vkmem created and destroyed (driver crash)",
    disables: ["hostile:stale-raw-handle"],
  },
  {
    item: 3,
    description: "unknown buffer/image usage and create-flag bits reach Vulkan (validation: VUID-VkBufferCreateInfo-usage-parameter, -flags-00915, ...)",
    disables: ["hostile:unknown-bits*"],
  },
  {
    item: 4,
    description: "VMA preconditions (MAPPED without hostAccess under Auto, raw memory with an Auto usage) surface as plain Errors after VMA acted",
    disables: ["hostile:vma-precondition*"],
  },
  {
    item: 5,
    description: "untyped errors from hostile arguments: Object.create(null) as a strategy or transient usage, a detached ArrayBuffer upload, non-number or stale freeHandle handles",
    disables: [
      "hostile:createBuffer.strategy:nullproto", // "Cannot convert object to primitive value"
      "hostile:allocateTransient.usage:nullproto", // the same
      "hostile:FrameManager.upload.data:detached", // "Cannot perform Construct on a detached ArrayBuffer"
      // "Cannot mix BigInt", "Cannot convert a Symbol value", or a plain Error "stale or invalid virtual allocation handle"
      "hostile:VirtualBlock.freeHandle.handle:*",
    ],
  },
  {
    item: 6,
    description: "FrameManager.destroy() leaves its live Buffers and Textures alive (their allocations leak into the allocator's report)",
    disables: ["destroy:frames-with-resources"],
  },
  {
    item: 7,
    description: "a download whose frame was the last one submitted never settles unless another frame begins (Node exits with code 13)",
    disables: ["await:download-without-next-frame"],
  },
  {
    item: 8,
    description: "virtual allocation alignment 0 is refused (VMA: means 1)",
    disables: ["semantics:virtual-alignment-0"],
  },
  {
    item: 8,
    description: "checkCorruption(0xFFFFFFFF) is refused (VMA: all memory types)",
    disables: ["semantics:corruption-all-bits"],
  },
  {
    item: 8,
    description: "allocateMemory drops minAlignment; allocateMemory with default options fails (Auto usage refused for raw memory)",
    disables: ["semantics:raw-min-alignment", "semantics:raw-default-options"],
  },
  {
    item: 8,
    description: "a virtual allocation larger than the block is a RangeError, not OutOfDeviceMemoryError; VirtualBlock.free(null) throws instead of being a no-op",
    disables: ["semantics:virtual-too-large", "semantics:virtual-free-null"],
  },
  {
    item: 8,
    description: "createTextureStreamer under a heap size limit smaller than its budget refuses to start instead of fitting itself",
    disables: ["semantics:streamer-under-heap-limit"],
  },
  {
    item: "new",
    description: "downloadImage of a subresource only marked used (never uploaded) transitions it back to UNDEFINED (VUID-VkImageMemoryBarrier-newLayout-01198)",
    disables: ["download:image-marked-only"],
  },
  {
    item: "new",
    description: "createTextureStreamer(frames, { budgetBytes: null }) throws a RangeError naming 'blockSize' with NaN instead of naming budgetBytes",
    disables: ["hostile:createTextureStreamer.budgetBytes:null"],
  },
  {
    item: "new",
    description: "VirtualBlock.allocate with upperAddress on a linear block used as a ring buffer throws a plain Error (VMA: the request fails)",
    disables: ["virtual:linear-upper-on-ring"],
  },
  {
    item: "new",
    description: "two FrameManagers over one allocator each set its frame index from their own frame numbers: the index goes back and lost-allocation eviction frees an image a frame in flight still uses (VUID-vkDestroyImage-image-01000)",
    disables: ["frames:shared-allocator"],
  },
];

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
      if (p.startsWith("hostile:*:") && pattern.startsWith("hostile:") && pattern.endsWith(p.slice("hostile:*".length))) return true;
    }
  }
  return false;
}
