/**
 * Defragmentation: VMA 3's pass-based API (vmaBeginDefragmentation ... vmaEndDefragmentation) with vkmem's objects.
 *
 * A {@link DefragmentationContext} plans moves pass by pass. `beginPass()` names the moves of one pass: for each, the
 * source {@link Allocation} (the object the caller holds) and a temporary destination; the caller copies the data
 * (or lets `allocator.defragment()` do it on the GPU), may set a move's operation to "ignore" or "destroy", and commits
 * with `endPass()`. Exactly as in VMA, after `endPass()` the source allocation refers to the new place: its offset
 * and memory are the destination's, its map count is carried over, and the destination object is gone.
 *
 * Invariants:
 * - One defragmentation per allocator at a time (the native layer refuses a second). While a pass is open, VMA
 *   dereferences its sources and destinations when it ends, so neither is freed before: a destination is the pass's
 *   (freeing it is refused with InvalidStateError), and freeing a source turns its move into "destroy", so that VMA
 *   frees it when the pass ends while the caller's object reads as freed at once (the allocator's free path asks
 *   {@link DefragmentationContext} first). A FrameManager's readbacks and releases therefore work during passes.
 * - Any ArrayBuffer vkmem handed out for a moved allocation's old place is detached before VMA frees that memory;
 *   a mapped allocation gets a view of its new place, with the same map count.
 * - A buffer or image vkmem made with a moved allocation is replaced by one made at the new place with the same
 *   create info (kept on the Allocation); the nvk handle object the caller holds is rewritten to name the new one,
 *   so it stays the same object. The old one is destroyed when the pass ends. A COPY move of such an allocation
 *   without its replacement is refused by the native layer, so no buffer is ever left bound to freed memory.
 * - Moves of allocations the context cannot name (the allocator was made without `defragmentation: true` and the
 *   allocation was not in `options.allocations`) are set to "ignore": nothing the caller holds changes behind it.
 * - Destroying the pool or the allocator mid-pass ends the pass with every move ignored but those whose source was
 *   freed during it, which are freed then (native layer); the context then throws DestroyedResourceError.
 * - Linear pools are refused (VMA does not defragment them); buddy pools too: their blocks are dedicated VMA
 *   allocations, which VMA never moves, and vkmem's buddy allocator has no move of its own.
 *
 * Imports: nothing above engine/memory; the allocator is reached through `Allocation["allocator"]`.
 * @module
 */
import { isOptionsObject } from "../checks.js";
import { DestroyedResourceError, InvalidStateError, describeValue, vkErrorFor } from "../errors.js";
import { scratch, scratchU64, Slot } from "../native.js";
import { nvk } from "../vulkan/nvk.js";
import { setRawHandle, type NvkHandle } from "../vulkan/handles.js";
import { Allocation } from "./allocation.js";
import type { Pool } from "./pool.js";

type AllocatorOf = Allocation["allocator"];

/** VMA's algorithms (VMA_DEFRAGMENTATION_FLAG_ALGORITHM_*), from the quickest to the most thorough. */
export type DefragmentationAlgorithm = "fast" | "balanced" | "full" | "extensive";

const ALGORITHM_FLAGS: Record<DefragmentationAlgorithm, number> = {
  fast: 0x1,
  balanced: 0x2,
  full: 0x4,
  extensive: 0x8,
};

/** What happens to a move when its pass ends (VmaDefragmentationMoveOperation). */
export type DefragmentationMoveOperation = "copy" | "ignore" | "destroy";

const OPERATION_CODES: Record<DefragmentationMoveOperation, 0 | 1 | 2> = { copy: 0, ignore: 1, destroy: 2 };

/** Options of `allocator.beginDefragmentation()`. */
export interface DefragmentationOptions {
  /** The custom pool to defragment; default: the allocator's default pools. Linear and buddy pools are refused. */
  pool?: Pool;
  /** VMA's algorithm (default "balanced", VMA's default). */
  algorithm?: DefragmentationAlgorithm;
  /** At most this many bytes moved per pass (0 or absent: no limit). */
  maxBytesPerPass?: number;
  /** At most this many allocations moved per pass (0 or absent: no limit). */
  maxAllocationsPerPass?: number;
  /**
   * Interrupt a pass's planning after this many microseconds (VMA's pfnBreakCallback; 0 or absent: never). An
   * interrupted pass moves what it planned; the next pass goes on.
   */
  maxPlanningMicroseconds?: number;
  /**
   * The allocations the caller holds, so that moves can name them when the allocator was created without
   * `defragmentation: true`. Moves of allocations it cannot name are ignored.
   */
  allocations?: Iterable<Allocation>;
}

/** What a whole defragmentation did (VmaDefragmentationStats, plus vkmem's counts). */
export interface DefragmentationStats {
  /** Bytes copied to new places. */
  bytesMoved: number;
  /** Bytes of VkDeviceMemory released. */
  bytesFreed: number;
  /** Allocations moved. */
  allocationsMoved: number;
  /** VkDeviceMemory blocks released. */
  deviceMemoryBlocksFreed: number;
  /** Passes begun. */
  passes: number;
  /** Moves ignored because the context could not name their allocation, or the caller ignored them. */
  movesIgnored: number;
  /** True when end() found a pass open and ended it with its moves ignored. */
  abandonedPass: boolean;
}

/**
 * One move of an open pass. Made by {@link DefragmentationContext.beginPass}; valid until that pass ends.
 */
export class DefragmentationMove {
  /** Its index in the pass. */
  readonly index: number;
  /**
   * The allocation being moved, or null when the context cannot name it or it has live aliasing resources (then the
   * move is ignored).
   */
  readonly source: Allocation | null;
  /**
   * The temporary allocation at the new place (kind "memory"): map it, or bind your own buffer or image to it and
   * copy. It is the pass's: never free it; the pass frees it or gives it to the source.
   */
  readonly destination: Allocation;
  #operation: DefragmentationMoveOperation;
  /** @internal The raw value of the replacement resource vkmem made at the destination (0n: none). */
  _replacement = 0n;
  /** @internal Whether the source's view was detached at commit (it is re-made after). */
  _hadView = false;
  /** @internal The caller freed the source during the pass: its move became "destroy". */
  _freedByCaller = false;

  /** @internal */
  constructor(
    private readonly context: DefragmentationContext,
    index: number,
    source: Allocation | null,
    destination: Allocation,
  ) {
    this.index = index;
    this.source = source;
    this.destination = destination;
    this.#operation = source === null ? "ignore" : "copy";
  }

  /** @internal The context whose pass this move is of. */
  get _context(): DefragmentationContext {
    return this.context;
  }

  /** "copy" (default): commit the move; "ignore": leave the allocation where it is; "destroy": free the source. */
  get operation(): DefragmentationMoveOperation {
    return this.#operation;
  }

  set operation(value: DefragmentationMoveOperation) {
    const code = OPERATION_CODES[value as DefragmentationMoveOperation];
    if (typeof value !== "string" || code === undefined) {
      throw new TypeError(
        `DefragmentationMove.operation must be 'copy', 'ignore' or 'destroy', got ${describeValue(value)}`,
      );
    }
    const h = this.context._openPass("DefragmentationMove.operation", this);
    if (this.source === null && value !== "ignore") {
      throw new InvalidStateError(
        "DefragmentationMove",
        "operation",
        `its allocation is not one the context can name (create the allocator with defragmentation: true, or list it in options.allocations), so it can only be ignored, got ${describeValue(value)}`,
      );
    }
    this.context._allocator._native.setDefragmentationMoveOperation(h, this.index, code);
    this.#operation = value;
  }
}

/**
 * A defragmentation in progress. Made by `allocator.beginDefragmentation()`; ended by
 * {@link DefragmentationContext.end}, or with its allocator or pool.
 */
export class DefragmentationContext {
  /** @internal */
  readonly _allocator: AllocatorOf;
  /** The pool it defragments, or null for the default pools. */
  readonly pool: Pool | null;
  #handle: number;
  #moves: DefragmentationMove[] | null = null;
  /** @internal Begun with maxPlanningMicroseconds: a pass may set its own (beginPass). */
  _planningLimited = false;
  /** Handles of the open pass's sources and destinations (all moves, named or not). */
  #busy = new Set<number>();
  #named: Map<number, Allocation> | null;
  #passes = 0;
  #ignored = 0;
  /**
   * @internal A last resort for naming a source (a FrameManager's resources made after the defragmentation began):
   * a move VMA plans for an allocation nobody names must be ignored, and VMA then leaves that whole block in place.
   */
  _resolve: ((handle: number) => Allocation | undefined) | null = null;
  /** The open pass's move index of each source handle. */
  #moveOf = new Map<number, number>();

  /** @internal Use `allocator.beginDefragmentation()`. */
  constructor(allocator: AllocatorOf, pool: Pool | null, handle: number, named: Map<number, Allocation> | null) {
    this._allocator = allocator;
    this.pool = pool;
    this.#handle = handle;
    this.#named = named;
  }

  /** True once ended (by end(), or with its allocator or pool). */
  get ended(): boolean {
    return this.#handle === 0 || this._allocator._handle === 0 || (this.pool !== null && !this.pool._alive);
  }

  /** Whether a pass is open (between beginPass() returning moves and endPass()). */
  get passOpen(): boolean {
    return this.#moves !== null && !this.ended;
  }

  /** The moves of the open pass (empty when none is open). */
  get moves(): readonly DefragmentationMove[] {
    return this.passOpen ? (this.#moves as DefragmentationMove[]) : [];
  }

  /** @internal Throws unless the context is live; returns its native handle. */
  _live(operation: string): number {
    if (this.ended) {
      const gone = this._allocator._handle === 0 ? this._allocator._destroyCause : this.pool?._goneCause;
      if (this.#handle !== 0 && gone !== undefined) this.#dropPass();
      throw new DestroyedResourceError("DefragmentationContext", undefined, operation, gone);
    }
    return this.#handle;
  }

  /** @internal Throws unless `move` belongs to the open pass; returns the native handle. */
  _openPass(operation: string, move: DefragmentationMove): number {
    const h = this._live(operation);
    if (this.#moves === null || this.#moves[move.index] !== move) {
      throw new InvalidStateError("DefragmentationMove", operation, "its pass has ended");
    }
    return h;
  }

  /**
   * Begins a pass: VMA plans the next moves.
   * @param maxPlanningMicroseconds this pass's planning limit, kept for the passes after it; only for a context begun
   *   with `maxPlanningMicroseconds` (VMA's break callback is installed at the beginning or never).
   * @returns the moves of the pass now open; an empty array, with no pass open, when `maxPlanningMicroseconds` stopped
   *   the planning before its first move (call beginPass() again); or null when nothing is left to move (call end()).
   * @throws RangeError for a limit that is not an integer in [1, 1e12]. @throws InvalidStateError when a pass is open
   *   already, or for a limit on a context begun without one. @throws DestroyedResourceError once ended.
   */
  beginPass(maxPlanningMicroseconds?: number): readonly DefragmentationMove[] | null {
    const h = this._live("beginPass");
    if (this.#moves !== null) {
      throw new InvalidStateError("DefragmentationContext", "beginPass", "a pass is open already: end it first");
    }
    if (maxPlanningMicroseconds !== undefined) {
      const limit = maxPlanningMicroseconds as unknown;
      if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > 1e12) {
        throw new RangeError(
          `DefragmentationContext.beginPass: maxPlanningMicroseconds must be an integer in [1, 1e12], got ${describeValue(limit)}`,
        );
      }
      if (!this._planningLimited) {
        throw new InvalidStateError(
          "DefragmentationContext",
          "beginPass",
          "it was begun without maxPlanningMicroseconds, so VMA has no break callback for a pass's limit",
        );
      }
    }
    const allocator = this._allocator;
    const pairs = allocator._native.beginDefragmentationPass(h, maxPlanningMicroseconds);
    if (pairs === null) return null;
    // The planning limit stopped VMA before its first move: no pass is open; the next beginPass() plans on.
    if (pairs.length === 0) return [];
    this.#passes++;
    const moves: DefragmentationMove[] = [];
    for (let i = 0; i < pairs.length / 2; i++) {
      const src = pairs[i * 2];
      const tmp = pairs[i * 2 + 1];
      // An allocation with live aliasing buffers or images (aliasing.ts) stays put: they are bound to its old place.
      const named = src === 0 ? null : this.#name(src);
      const source = named !== null && named._aliases !== null && named._aliases.size > 0 ? null : named;
      if (src !== 0) {
        this.#busy.add(src);
        this.#moveOf.set(src, i);
      }
      if (tmp !== 0) this.#busy.add(tmp);
      if (source === null && src !== 0) allocator._native.setDefragmentationMoveOperation(h, i, 1);
      if (source !== null) source._moving = true;
      let size = 0;
      if (tmp !== 0) {
        allocator._native.getAllocationInfo(tmp);
        size = scratch[Slot.OutSize];
      }
      const destination = new Allocation(
        allocator,
        "memory",
        tmp,
        size,
        null,
        false,
        null,
        undefined,
        source?.pool ?? this.pool,
      );
      moves.push(new DefragmentationMove(this, i, source, destination));
    }
    this.#moves = moves;
    return moves;
  }

  /** The Allocation object of a source handle, or null. */
  #name(handle: number): Allocation | null {
    return this.#named?.get(handle) ?? this._allocator._allocationIndex?.get(handle) ?? this._resolve?.(handle) ?? null;
  }

  /**
   * @internal Makes the replacement of `move.source`'s buffer or image at the destination (same create info), for
   * the COPY. @returns the new raw handle, or a negative VkResult's code as a number when it could not be made.
   */
  _createReplacement(move: DefragmentationMove): bigint | number {
    const h = this._openPass("createReplacement", move);
    const source = move.source as Allocation;
    const native = this._allocator._native;
    const image = source.kind === "image";
    if (image) scratch.set(source._createInfo as Float64Array, 0);
    else {
      scratch[0] = source._bufferSize;
      scratch[1] = source._bufferUsage;
      scratch[2] = source._bufferFlags;
      scratch[3] = 0;
    }
    const r = native.createDefragmentationMoveResource(h, move.index, image);
    if (r !== 0) return r;
    move._replacement = scratchU64[Slot.OutResource];
    return move._replacement;
  }

  /**
   * @internal Two transfer buffers over the source's and the destination's bytes, for a GPU copy of the memory
   * itself (the pass keeps them). @returns 0, or a negative VkResult when the device's buffer rules do not fit.
   */
  _createCopyBuffers(move: DefragmentationMove): number {
    const h = this._openPass("createCopyBuffers", move);
    return this._allocator._native.createDefragmentationCopyBuffers(h, move.index);
  }

  /**
   * @internal Transfer buffers over the whole memory blocks of the open pass's moves (native layer: at most 256 per
   * pass): per move index, 1 when its bytes go through them, 0 when the move needs its own
   * ({@link _createCopyBuffers}).
   */
  _blockCopies(): Float64Array {
    return this._allocator._native.createDefragmentationBlockCopies(this._live("blockCopies"));
  }

  /**
   * @internal Records the open pass's copies into `cmd` (native recordDefragmentationCopies): `rows` rows of `table`,
   * 6 numbers each (move index; for images the subresource range and its layout).
   */
  _recordCopies(cmd: bigint, table: Float64Array, rows: number): void {
    const h = this._live("recordCopies");
    this._allocator._native.recordDefragmentationCopies(h, cmd, table, rows);
  }

  /**
   * @internal A view of the whole of `move`'s replacement image, of `viewType` and `aspect` (native
   * createDefragmentationView).
   * @returns its raw handle (the caller destroys it), or a negative VkResult as a number.
   */
  _createView(move: DefragmentationMove, viewType: number, aspect: number): bigint | number {
    const h = this._openPass("createView", move);
    const r = this._allocator._native.createDefragmentationView(h, move.index, viewType, aspect);
    return r !== 0 ? r : scratchU64[Slot.OutResource];
  }

  /**
   * Ends the open pass: VMA commits each move per its operation. After it, each copied source refers to its new
   * place (see the module comment); destinations are gone.
   * @returns true when nothing more can be moved (call end()), false when another pass may move more.
   * @throws InvalidStateError when no pass is open, or when a copied allocation has a buffer or image vkmem made
   *   and no replacement (use `allocator.defragment()`, or ignore that move). @throws DestroyedResourceError once ended.
   */
  endPass(): boolean {
    const h = this._live("endPass");
    const moves = this.#moves;
    if (moves === null) throw new InvalidStateError("DefragmentationContext", "endPass", "no pass is open");
    for (const move of moves) {
      const s = move.source;
      if (
        s !== null &&
        !move._freedByCaller &&
        move.operation === "copy" &&
        s.kind !== "memory" &&
        move._replacement === 0n
      ) {
        throw new InvalidStateError(
          "DefragmentationContext",
          "endPass",
          `move ${move.index} copies allocation${s.label === undefined ? "" : ` '${s.label}'`}, whose ${s.kind} vkmem made, without its replacement at the new place: use allocator.defragment(), or set the move's operation to 'ignore'`,
        );
      }
    }
    // Views over the old places go before VMA frees them.
    for (const move of moves) {
      if (move.source !== null && !move._freedByCaller && move.operation !== "ignore") {
        move._hadView = move.source._detachForMove();
      }
    }
    const native = this._allocator._native;
    let done: boolean;
    try {
      done = native.endDefragmentationPass(h);
    } catch (error) {
      // Refused natively (the pass stays open): views come back over the old places.
      for (const move of moves) if (move._hadView && move.source !== null) move.source._remapAfterMove();
      throw error;
    }
    for (const move of moves) this.#commit(move);
    this.#dropPass();
    return done;
  }

  /** After VMA committed `move`: the caller's objects follow it. */
  #commit(move: DefragmentationMove): void {
    const source = move.source;
    move.destination._handle = 0;
    if (move._freedByCaller) return; // already forgotten; VMA freed it now
    if (source === null) {
      this.#ignored++;
      return;
    }
    source._moving = false;
    switch (move.operation) {
      case "ignore":
        this.#ignored++;
        break;
      case "destroy":
        // VMA freed it: the object reads as freed, as after freeMemory.
        this._allocator._forgetFreedNatively(source);
        break;
      default:
        if (move._replacement !== 0n && source._resource !== null)
          setRawHandle(source._resource as NvkHandle, move._replacement);
        if (move._hadView) source._remapAfterMove();
    }
  }

  #dropPass(): void {
    if (this.#moves !== null) {
      for (const move of this.#moves) {
        if (move.source !== null) move.source._moving = false;
        move.destination._handle = 0;
      }
    }
    this.#moves = null;
    this.#busy.clear();
    this.#moveOf.clear();
  }

  /** @internal Whether the open pass names the allocation handle `handle` as a source or a destination. */
  _isBusy(handle: number): boolean {
    return this.#moves !== null && !this.ended && this.#busy.has(handle);
  }

  /**
   * @internal The allocator's free path, while a pass is open. Freeing a source is allowed: its move becomes "destroy",
   * so VMA frees it when the pass ends (until then the memory stays, for the pass's copy), and the caller's object reads
   * as freed at once (returns true: the allocator forgets it without a native free). A destination is the pass's and
   * is refused. Returns false for any other allocation.
   */
  _freeDuringPass(allocation: Allocation, operation: string): boolean {
    if (this.#moves === null || !this.#busy.has(allocation._handle)) return false;
    if (this.ended) {
      this.#dropPass(); // ended with its pool or allocator: the native layer ignored the moves
      return false;
    }
    const index = this.#moveOf.get(allocation._handle);
    if (index === undefined) {
      throw new InvalidStateError(
        `Allocation${allocation.label === undefined ? "" : ` '${allocation.label}'`}`,
        operation,
        "it is the destination of a move of an open defragmentation pass: the pass frees it",
      );
    }
    this._allocator._native.setDefragmentationMoveOperation(this.#handle, index, 2);
    const move = this.#moves[index];
    if (move !== undefined && move.source === allocation) move._freedByCaller = true;
    this.#busy.delete(allocation._handle);
    allocation._moving = false;
    return true;
  }

  /**
   * Ends the defragmentation (vmaEndDefragmentation). An open pass is ended first with every move ignored (a source
   * freed during it is freed then).
   * @returns what it did. @throws DestroyedResourceError when already ended.
   */
  end(): DefragmentationStats {
    const h = this._live("end");
    const abandoned = this.#moves !== null;
    if (this.#moves !== null) for (const move of this.#moves) if (move.source !== null) this.#ignored++;
    this.#dropPass();
    const stats = this._allocator._native.endDefragmentation(h);
    this.#handle = 0;
    this._allocator._defragmentation = null;
    return {
      bytesMoved: stats.bytesMoved,
      bytesFreed: stats.bytesFreed,
      allocationsMoved: stats.allocationsMoved,
      deviceMemoryBlocksFreed: stats.deviceMemoryBlocksFreed,
      passes: this.#passes,
      movesIgnored: this.#ignored,
      abandonedPass: abandoned || stats.abandonedPass,
    };
  }
}

function fail(arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`beginDefragmentation: ${arg} ${what}, got ${describeValue(value)}`);
}

function optionalCount(value: unknown, arg: string, max: number): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > max) {
    fail(arg, `must be an integer in [0, ${max}]`, value);
  }
  return value;
}

/**
 * Begins a defragmentation of `allocator`'s default pools or of one pool (vmaBeginDefragmentation).
 * @throws TypeError / RangeError naming the bad option; InvalidStateError when the allocator has a defragmentation in
 *   progress or the pool cannot be defragmented (linear, buddy); DestroyedResourceError for a destroyed pool.
 */
export function beginDefragmentation(
  allocator: AllocatorOf,
  options: DefragmentationOptions = {},
): DefragmentationContext {
  const op = "beginDefragmentation";
  const h = allocator._live(op);
  if (!isOptionsObject(options)) fail("options", "must be an object", options, TypeError);
  const algorithm = options.algorithm ?? "balanced";
  const flags = ALGORITHM_FLAGS[algorithm as DefragmentationAlgorithm];
  if (typeof algorithm !== "string" || flags === undefined) {
    fail("options.algorithm", "must be 'fast', 'balanced', 'full' or 'extensive'", algorithm);
  }
  const maxBytes = optionalCount(options.maxBytesPerPass, "options.maxBytesPerPass", Number.MAX_SAFE_INTEGER);
  const maxAllocations = optionalCount(options.maxAllocationsPerPass, "options.maxAllocationsPerPass", 0xffffffff);
  const maxMicros = optionalCount(options.maxPlanningMicroseconds, "options.maxPlanningMicroseconds", 1e12);
  const pool = options.pool ?? null;
  if (pool !== null) {
    if (typeof pool !== "object" || pool.allocator !== allocator) {
      fail("options.pool", "must be a Pool of this allocator", pool, TypeError);
    }
    if (!pool._alive) throw new DestroyedResourceError("Pool", pool.label, op, pool._goneCause);
    if (pool.algorithm === "linear") {
      throw new InvalidStateError(
        `Pool${pool.label === undefined ? "" : ` '${pool.label}'`}`,
        op,
        "it is a linear pool, which VMA does not defragment (its allocations are freed in order, leaving no holes to fill)",
      );
    }
    if (pool.algorithm === "buddy") {
      throw new InvalidStateError(
        `Pool${pool.label === undefined ? "" : ` '${pool.label}'`}`,
        op,
        "it is a buddy pool: its blocks are dedicated VMA allocations, which VMA never moves, and a buddy block's halves cannot merge while a live allocation sits in either, so there is nothing to move them into; defragment a TLSF pool instead",
      );
    }
  }
  let named: Map<number, Allocation> | null = null;
  if (options.allocations !== undefined) {
    const list = options.allocations as unknown;
    if (list === null || typeof (list as Iterable<unknown>)[Symbol.iterator] !== "function") {
      fail("options.allocations", "must be an iterable of Allocations", list, TypeError);
    }
    named = new Map();
    for (const a of list as Iterable<unknown>) {
      if (!(a instanceof Allocation) || a.allocator !== allocator) {
        fail("options.allocations", "must hold Allocations of this allocator only", a, TypeError);
      }
      if (a._handle !== 0) named.set(a._handle, a);
    }
  }
  if (allocator._defragmentation !== null && !allocator._defragmentation.ended) {
    throw new InvalidStateError(
      allocator._lifetimeName,
      op,
      "a defragmentation is in progress already: end() it first (VMA runs one at a time per allocator)",
    );
  }
  const r = allocator._native.beginDefragmentation(h, pool?._handle ?? 0, flags, maxBytes, maxAllocations, maxMicros);
  if (r < 0) throw vkErrorFor(r, "vmaBeginDefragmentation", allocator.label);
  const context = new DefragmentationContext(allocator, pool, r, named);
  context._planningLimited = maxMicros > 0;
  allocator._defragmentation = context;
  return context;
}
