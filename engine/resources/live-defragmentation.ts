/**
 * Live defragmentation: a FrameManager's Buffers and Textures moved on the GPU inside running frames, a few each
 * frame, without a frame ever waiting for the GPU because of it (FrameManager.defragment()).
 *
 * One VMA pass at a time goes through at least three frames' beginFrame(), after the frame's retire step:
 * 1. **copy** (frame N): VMA plans a pass of at most `maxMovesPerFrame` moves and `maxBytesPerFrame` bytes; each
 *    movable resource gets its replacement at the new place (engine/memory/defragment.ts) and its copy is recorded at
 *    the very start of frame N's command buffer, after a barrier that orders it after every earlier use: buffers as
 *    bytes, textures range by range from their tracked layouts (texture-move.ts). Frame N still uses the old
 *    resources: uploads of frame N run before the frame's commands, into the old place, and the copy carries them
 *    over. The copy counts as a use of frame N (`lastUsedSerial`; a lost-able source is touched in every frame its
 *    pass is open).
 * 2. **switch** (frame N+1): the Buffer and Texture objects the game holds now name the new VkBuffer / VkImage (the
 *    same nvk handle objects, rewritten) and a new default view; `onMove` tells the game to refresh descriptors, and a
 *    texture's `_onMove` its TextureStreamer (which remakes the partial view it had over the old image). The old views
 *    are destroyed through the release queue once frame N+1 is complete. A texture that frame N wrote where the copy
 *    could not carry it (an upload into a never-written mip, a layout change) does not switch: it is copied again in
 *    frame N+1 and switches in N+2, and after MAX_TEXTURE_COPIES copies its move is given up (ignored).
 * 3. **commit** (the first beginFrame where every copy's frame is complete): VMA ends the pass; the old VkBuffer /
 *    VkImage and the old memory are freed then, when no frame can use them any more.
 *
 * What is moved: live resources of this manager whose only writer on the GPU is vkmem's own transfers (buffers without
 * STORAGE usage; textures without STORAGE or attachment usage) and that are not mapped; textures in any mix of tracked
 * layouts, with their queue-family owners kept (texture-move.ts says which textures wait). A shader write in the copy
 * frame would land in the old place and be lost, which is why the others stay where they are (their moves are
 * ignored). A resource destroyed while its allocation is being moved is freed when the pass ends (its move becomes
 * "destroy": defragmentation.ts), which is after the copy frame's fence, and the game's object reads as destroyed at
 * once; one whose release waits for its frames is not switched, and its release frees it at its new place.
 *
 * Lost-able textures move too, the TextureStreamer's images and tails among them (defragment its pools:
 * `{ pool: streamer.pool }`, then `streamer.tailPool`). VMA 2 never moved allocations that can become lost, since one
 * taken mid-move would leave its move dangling; `allocator.defragment()` keeps that rule. Here every beginFrame in
 * which a pass is open touches its lost-able sources (the current frame index is their last use, as the copy is a
 * use), and the allocator takes an allocation only frameInUseCount frames after its last use, so none is taken while
 * its move is open. Lost-able buffers stay where they are (engine/memory/defragment.ts ignores them).
 * @module
 */
import { describeValue, InvalidStateError } from "../errors.js";
import type { Allocation } from "../memory/allocation.js";
import type { Allocator } from "../memory/allocator.js";
import { placeByteCopies, planMoveCopy, CopyRows, warmMoveRecording, type MoveCopy } from "../memory/defragment.js";
import {
  beginDefragmentation,
  type DefragmentationAlgorithm,
  type DefragmentationContext,
  type DefragmentationMove,
} from "../memory/defragmentation.js";
import type { Pool } from "../memory/pool.js";
import type { Context } from "../vulkan/context.js";
import { rawHandle, setRawHandle, wrapHandle, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";
import { VIEW_TYPE_2D, VIEW_TYPE_2D_ARRAY, VIEW_TYPE_3D } from "../vulkan/vk.js";
import { Buffer } from "./buffer.js";
import { Texture } from "./texture.js";
import { movableTexture, planTextureMove, type TextureMove } from "./texture-move.js";

/** Options of FrameManager.defragment(). */
export interface LiveDefragmentationOptions {
  /** VMA's algorithm (default "full"). */
  algorithm?: DefragmentationAlgorithm;
  /**
   * The custom pool to defragment; default the allocator's default pools. A TextureStreamer's `pool` (its images)
   * or `tailPool` (its tails) moves the streamer's textures.
   */
  pool?: Pool;
  /** At most this many bytes copied per frame (default 8 MiB). */
  maxBytesPerFrame?: number;
  /**
   * At most this many resources moved per frame (default 2). A copy frame's CPU grows with its pass (replacements,
   * recording, the driver's occasional spikes in vkCreateImage): on the H200, the bench's workload at 8, 4 and 2 moves
   * a frame had a p99 of 682, 231-274 and 112-148 µs (one run per process, first frames' compilation included). A
   * live defragmentation is meant to go unnoticed, so the default favours the frame; raise it to finish sooner.
   */
  maxMovesPerFrame?: number;
  /**
   * VMA's shortest planning limit of a copy frame, in microseconds (default 40): a frame whose planning found no move
   * in time doubles the limit for the next one (up to 2 ms), a frame that moved brings it back down by a quarter, to
   * no less than this. A pass stopped by the limit holds fewer moves than `maxMovesPerFrame`, so how the moves fall
   * into passes, and so which blocks an ignored move leaves in place, depends on the machine's speed. 0: no limit;
   * each pass is planned to its end, the same on every machine.
   */
  maxPlanningMicroseconds?: number;
  /**
   * Called in beginFrame for each resource that names its new VkBuffer / VkImage from this frame on (a streamer's
   * textures too: what its show() returns names the new image and views from then on).
   */
  onMove?: (resource: Buffer | Texture) => void;
  /**
   * The first live defragmentation of a process first rehearses on a pool and a FrameManager of its own, so that
   * V8 compiles its code outside the game's frames (engine/resources/defragmentation-rehearsal.ts): a few
   * tens of milliseconds once, in this call (`startMicroseconds`), which also waits once for the frames already submitted
   * (the rehearsal's share the queue). Default true; false skips it.
   */
  rehearse?: boolean;
}

/** Progress of a live defragmentation (FrameManager.defragmentation). */
export interface LiveDefragmentationStatus {
  /** False once VMA has nothing more to move (or it was cancelled). */
  readonly active: boolean;
  /** Frames that recorded copies. */
  readonly copyFrames: number;
  /** Passes committed. */
  readonly passes: number;
  /** Resources moved (committed): those onMove was called for, but for any destroyed since. */
  readonly resourcesMoved: number;
  /** Bytes copied (committed). */
  readonly bytesMoved: number;
  /** Moves ignored (resources that cannot move live, allocations of no resource of this manager). */
  readonly movesIgnored: number;
  /**
   * Textures copied again because their copy frame wrote them where the copy could not carry it (an upload into a
   * never-written mip, a layout change: texture-move.ts); each switches one frame later.
   */
  readonly texturesCopiedAgain: number;
  /** Moves given up (ignored; the texture stays) after a texture was written in each of its copy frames. */
  readonly movesGivenUp: number;
  /** CPU microseconds that defragment() itself took: the rehearsal of a process's first one, the planning's start. */
  readonly startMicroseconds: number;
  /** VMA's figures, once it ended: memory blocks freed and bytes freed. */
  readonly deviceMemoryBlocksFreed: number;
  readonly bytesFreed: number;
  /** CPU microseconds the defragmentation added to the last beginFrame, and the most it added to one. */
  readonly lastFrameMicroseconds: number;
  readonly maxFrameMicroseconds: number;
  /** The most one frame's step of each kind took, in microseconds: planning and recording copies, switching, committing. */
  readonly maxCopyMicroseconds: number;
  readonly maxSwitchMicroseconds: number;
  readonly maxCommitMicroseconds: number;
}

/** VkBufferUsageFlags a shader may write through: STORAGE_TEXEL_BUFFER (0x8), STORAGE_BUFFER (0x20). */
const BUFFER_GPU_WRITES = 0x8 | 0x20;
/** One move of the pass in progress: a buffer's byte copy or a texture's copy (texture-move.ts). */
interface Planned {
  move: DefragmentationMove;
  resource: Buffer | Texture;
  copy: MoveCopy | null;
  texture: TextureMove | null;
  /** The serial of the frame that recorded its last copy. */
  copySerial: number;
  /** Settled: the resource names its new place, or the move was given up (ignored) or its resource destroyed. */
  switched: boolean;
  /** The resource names its new place (counted in resourcesMoved when the pass commits). */
  moved: boolean;
}

/**
 * VMA's planning limit of a copy frame, in microseconds, adapted as the passes go: it starts at PLAN_MIN_US (or the
 * caller's maxPlanningMicroseconds); a pass whose planning it stopped before any move doubles it for the next frame (up
 * to PLAN_MAX_US), and a pass that moved brings it back down by a quarter, to no less than where it started. A fixed
 * limit was either too short for a slow machine (under AddressSanitizer on lavapipe, 50 µs stopped most passes before
 * their first move and the sample did not finish) or, at 100 µs, the whole of a fast machine's frame budget: on the
 * H200 VMA's "full" planning takes about 15 µs a pass, but 40 to 120 µs in the last dozen passes, which made those
 * frames the slowest of the run. With this, the bench's first-run p99 per frame there was 82-98 µs (three runs) and
 * its frames to finish 1,116 instead of 1,112.
 */
const PLAN_MIN_US = 40;
const PLAN_MAX_US = 2000;

/** Frames a texture written in its copy frame is copied again before its move is given up (ignored). */
const MAX_TEXTURE_COPIES = 4;

/** The FrameManager's live resources (ManagedResources). @internal */
export interface LiveResourceList {
  /** The live resources, oldest first. */
  list(): readonly (Buffer | Texture)[];
  /** Starts (and empties) or stops the log of resources made, read by takeCreated. */
  logCreations(on: boolean): void;
  /** The resources made since the last call, or null when the log cannot tell (then look at list()). */
  takeCreated(): readonly (Buffer | Texture)[] | null;
}

/** What a live defragmentation needs of its FrameManager. @internal */
export interface LiveDefragmentationOwner {
  readonly allocator: Allocator;
  readonly context: Context;
  readonly label: string | undefined;
  destroyLater(label: string, size: number, destroy: () => void): boolean;
}

/** One live defragmentation of a FrameManager. @internal */
export class LiveDefragmentation {
  /**
   * FrameManager.defragment(): a new one, unless `current` is still running.
   * @throws InvalidStateError when `current` is active; what beginDefragmentation throws for bad options.
   */
  static start(
    current: LiveDefragmentation | null,
    owner: LiveDefragmentationOwner,
    resources: LiveResourceList,
    options: LiveDefragmentationOptions,
    started = performance.now(),
  ): LiveDefragmentation {
    if (current?.active === true) {
      throw new InvalidStateError(
        `FrameManager${owner.label === undefined ? "" : ` '${owner.label}'`}`,
        "defragment",
        "a live defragmentation is in progress: see frames.defragmentation",
      );
    }
    const later = (label: string, destroy: () => void) => void owner.destroyLater(label, 0, destroy);
    const live = new LiveDefragmentation(owner.allocator, owner.context, resources, options, later);
    live.#status.startMicroseconds = (performance.now() - started) * 1000;
    return live;
  }

  /**
   * The manager is being destroyed: a pass whose objects switched already commits once the GPU is idle (`waitIdle`
   * is called then), an unswitched one is ended with its moves ignored.
   */
  stop(waitIdle: () => void): void {
    if (!this.active) return;
    const deviceAlive = !this.vulkan.destroyed;
    if (deviceAlive) waitIdle();
    this.cancel(deviceAlive);
  }

  #context: DefragmentationContext | null;
  readonly #resources: Map<Allocation, Buffer | Texture>;
  readonly #onMove: ((resource: Buffer | Texture) => void) | undefined;
  /** The pass in progress: its moves, each with the frame of its last copy and whether it switched. */
  #pass: Planned[] | null = null;
  /** The rows of the frame's copy recording (one native call a frame). */
  readonly #rows = new CopyRows();
  #status = {
    active: true,
    copyFrames: 0,
    passes: 0,
    resourcesMoved: 0,
    bytesMoved: 0,
    movesIgnored: 0,
    texturesCopiedAgain: 0,
    movesGivenUp: 0,
    startMicroseconds: 0,
    deviceMemoryBlocksFreed: 0,
    bytesFreed: 0,
    lastFrameMicroseconds: 0,
    maxFrameMicroseconds: 0,
    maxCopyMicroseconds: 0,
    maxSwitchMicroseconds: 0,
    maxCommitMicroseconds: 0,
  };

  constructor(
    private readonly allocator: Allocator,
    private readonly vulkan: Context,
    private readonly liveResources: LiveResourceList,
    options: LiveDefragmentationOptions,
    private readonly destroyLater: (label: string, destroy: () => void) => void,
  ) {
    const op = "FrameManager.defragment";
    const onMove = options.onMove;
    if (onMove !== undefined && typeof onMove !== "function") {
      throw new TypeError(`${op}: options.onMove must be a function, got ${describeValue(onMove)}`);
    }
    this.#onMove = onMove;
    const planning = options.maxPlanningMicroseconds as unknown;
    if (
      planning !== undefined &&
      (typeof planning !== "number" || !Number.isSafeInteger(planning) || planning < 0 || planning > PLAN_MAX_US)
    ) {
      throw new RangeError(
        `${op}: options.maxPlanningMicroseconds must be an integer in [0, ${PLAN_MAX_US}], got ${describeValue(planning)}`,
      );
    }
    this.#planMin = (planning as number | undefined) ?? PLAN_MIN_US;
    this.#planLimit = this.#planMin;
    warmMoveRecording(); // nvk's first use of the copy structs, here rather than in the first copy frame
    this.#resources = new Map();
    this.#learn();
    this.#context = beginDefragmentation(allocator, {
      algorithm: options.algorithm ?? "full",
      pool: options.pool,
      maxBytesPerPass: options.maxBytesPerFrame ?? 8 * 1024 * 1024,
      maxAllocationsPerPass: options.maxMovesPerFrame ?? 2,
      // VMA's planning stops after this long and goes on in the next copy frame (its break callback); each pass sets
      // its own limit (#planLimit). 0: no break callback.
      maxPlanningMicroseconds: this.#planMin,
      allocations: this.#resources.keys(),
    });
    // Resources made after this call are named too (VMA leaves the whole block of an ignored move in place): a
    // source nobody names makes the manager learn the resources made since it last looked, once per pass.
    this.#context._resolve = (handle) => {
      let found = this.#byHandle.get(handle);
      if (found === undefined && this.#learntPass !== this.#passCount) {
        this.#learntPass = this.#passCount;
        this.#learnNew();
        found = this.#byHandle.get(handle);
      }
      return found;
    };
  }

  /** VMA's planning limit for the next copy frame (see PLAN_MIN_US), and its floor (0: no limit). */
  #planLimit: number;
  #planMin: number;
  /** Passes planned, and the pass in which #learn last ran from a miss. */
  #passCount = 0;
  #learntPass = -1;
  readonly #byHandle = new Map<number, Allocation>();

  /** Names every live resource of the manager (its allocation → the resource, and by handle); logs those made next. */
  #learn(): void {
    this.#resources.clear();
    this.#byHandle.clear();
    this.liveResources.logCreations(true);
    for (const r of this.liveResources.list()) this.#name(r);
  }

  /**
   * Names the resources made since the last look, from the manager's log of creations. Costs what is new, not what is
   * live: a pass that meets an allocation of no resource of this manager (a staging ring's, another manager's) must
   * not walk ten thousand resources inside a frame. When the log cannot tell (too many made), names them all.
   */
  #learnNew(): void {
    const made = this.liveResources.takeCreated();
    if (made === null) this.#learn();
    else for (const r of made) this.#name(r);
  }

  #name(r: Buffer | Texture): void {
    if (r.destroyed) return;
    const allocation = r instanceof Buffer ? r.allocation : r._parts.allocation;
    this.#resources.set(allocation, r);
    this.#byHandle.set(allocation._handle, allocation);
  }

  /** Progress and figures. */
  get status(): LiveDefragmentationStatus {
    return { ...this.#status };
  }

  get active(): boolean {
    return this.#status.active;
  }

  /**
   * The frame's step (see the module comment), in beginFrame after the retire step: commit, switch, or copy.
   * @param serial the serial of the frame being begun; `completed` the last complete serial; `cmd` its command buffer.
   */
  step(serial: number, completed: number, cmd: NvkHandle): void {
    const context = this.#context;
    if (context === null) return;
    const start = performance.now();
    const status = this.#status;
    let kind: "maxCopyMicroseconds" | "maxSwitchMicroseconds" | "maxCommitMicroseconds" | null = null;
    const pass = this.#pass;
    if (context.ended) {
      // Its allocator or pool went away: the native layer ignored the open pass.
      this.#finish(null);
    } else if (pass !== null && pass.some((p) => !p.switched)) {
      this.#switch(serial, cmd);
      kind = "maxSwitchMicroseconds";
    } else if (pass !== null && pass.every((p) => p.copySerial <= completed)) {
      this.#commit(context);
      kind = "maxCommitMicroseconds";
    } else if (pass === null) {
      this.#copy(context, serial, cmd);
      kind = "maxCopyMicroseconds";
    }
    if (this.#pass !== null) this.#pin(this.#pass);
    const us = (performance.now() - start) * 1000;
    status.lastFrameMicroseconds = us;
    if (us > status.maxFrameMicroseconds) status.maxFrameMicroseconds = us;
    if (kind !== null && us > status[kind]) status[kind] = us;
  }

  /**
   * Touches the lost-able sources of the open pass, in each frame it is open (see the module comment): the allocator
   * takes an allocation only frameInUseCount frames after its last use, so none is taken while its move is open.
   */
  #pin(pass: readonly Planned[]): void {
    for (const { move } of pass) {
      const source = move.source;
      if (source !== null && source._canBecomeLost && !move._freedByCaller && !source.destroyed) source.touch();
    }
  }

  #copy(context: DefragmentationContext, serial: number, cmd: NvkHandle): void {
    this.#passCount++;
    const moves = context.beginPass(this.#planMin === 0 ? undefined : Math.round(this.#planLimit));
    if (moves === null) {
      this.#finish(context);
      return;
    }
    if (moves.length === 0) {
      // The planning limit stopped VMA before a move: it plans on next frame, with twice the time.
      this.#planLimit = Math.min(PLAN_MAX_US, this.#planLimit * 2);
      return;
    }
    this.#planLimit = Math.max(this.#planMin, this.#planLimit * 0.75);
    const planned: Planned[] = [];
    const bytes: MoveCopy[] = [];
    for (const move of moves) {
      const source = move.source;
      const resource = source === null ? undefined : this.#resources.get(source);
      if (resource === undefined || resource.destroyed || !movable(resource)) {
        if (source !== null) move.operation = "ignore";
        continue;
      }
      if (resource instanceof Texture) {
        // Lost-able ones too (the TextureStreamer's): see the module comment.
        const texture = planTextureMove(context, move, resource);
        if (texture !== null)
          planned.push({ move, resource, copy: null, texture, copySerial: serial, switched: false, moved: false });
      } else {
        const copy = planMoveCopy(context, move, undefined, false);
        if (copy === null) continue;
        bytes.push(copy);
        planned.push({ move, resource, copy, texture: null, copySerial: serial, switched: false, moved: false });
      }
    }
    const placed = new Set(placeByteCopies(context, bytes));
    const kept = planned.filter((p) => p.copy === null || placed.has(p.copy));
    // One recording for the pass's buffers and textures: one barrier before their copies, one after.
    const rows = this.#rows;
    for (const p of kept) {
      if (p.copy !== null) rows.addCopy(p.copy);
      else p.texture?.addRows(rows);
    }
    rows.record(cmd);
    for (const { resource, move } of kept) {
      // The copy is a use of this frame: a destroy() waits for it, and a lost-able allocation is not taken before.
      resource.lastUsedSerial = Math.max(resource.lastUsedSerial, serial);
    }
    this.#pass = kept;
    this.#status.copyFrames++;
  }

  /**
   * The frames after the copy: the game's objects name the new resources. A texture written in its copy frame where
   * the copy could not carry it (texture-move.ts) is copied again in this frame instead, and switches in the next.
   */
  #switch(serial: number, cmd: NvkHandle): void {
    const device = this.vulkan.device;
    const rows = this.#rows;
    for (const p of this.#pass as Planned[]) {
      const { move, resource } = p;
      if (p.switched || p.copySerial >= serial) continue;
      p.switched = true;
      // Destroyed by the game during the pass: a freed source's move became "destroy" and its handle objects are
      // recycled; one whose release waits for its frames is moved all the same (so that VMA can empty its block: an
      // ignored move leaves the whole block where it is) and freed at its new place, but never switched.
      if (move._freedByCaller || resource.destroyed) continue;
      const texture = p.texture;
      if (texture !== null && texture.written()) {
        if (texture.copies >= MAX_TEXTURE_COPIES) {
          move.operation = "ignore";
          this.#status.movesGivenUp++;
          continue;
        }
        texture.again();
        texture.addRows(rows);
        p.copySerial = serial;
        p.switched = false;
        resource.lastUsedSerial = Math.max(resource.lastUsedSerial, serial);
        this.#status.texturesCopiedAgain++;
        continue;
      }
      p.moved = true;
      const allocation = move.source as Allocation;
      setRawHandle(allocation._resource as NvkHandle, move._replacement);
      if (resource instanceof Texture) {
        const view = resource._parts.view;
        const old = rawHandle(view);
        const made = createView(move, resource);
        setRawHandle(view, made);
        const oldView = wrapHandle(nvk.VkImageView, old);
        this.destroyLater(`${resource.label} view (moved)`, () => nvk.vkDestroyImageView(device, oldView, null));
      }
      this.#onMove?.(resource);
      if (resource instanceof Texture) resource._onMove?.();
    }
    rows.record(cmd);
  }

  #commit(context: DefragmentationContext): void {
    const pass = this.#pass as Planned[];
    const done = context.endPass();
    for (const { move, copy, moved } of pass) {
      if (!moved || move._freedByCaller || move.operation !== "copy") continue;
      this.#status.resourcesMoved++;
      this.#status.bytesMoved += copy !== null && copy.kind === "bytes" ? copy.size : (move.source?._size ?? 0);
    }
    this.#status.passes++;
    this.#pass = null;
    if (done) this.#finish(context);
  }

  #finish(context: DefragmentationContext | null): void {
    if (context !== null && !context.ended) {
      const stats = context.end();
      this.#status.deviceMemoryBlocksFreed = stats.deviceMemoryBlocksFreed;
      this.#status.bytesFreed = stats.bytesFreed;
      this.#status.movesIgnored = stats.movesIgnored;
    }
    this.#context = null;
    this.#pass = null;
    this.#status.active = false;
    this.liveResources.logCreations(false);
  }

  /**
   * Stops (the manager is destroyed, or waits idle with a pass committed): the moves not switched yet are ignored;
   * those switched are committed, but only after `waitedIdle` says the GPU is done (else the whole pass is ended with
   * its moves ignored: the device is gone).
   */
  cancel(waitedIdle: boolean): void {
    const context = this.#context;
    if (context === null) return;
    const pass = this.#pass;
    if (pass !== null && waitedIdle && !context.ended && pass.some((p) => p.switched && !p.move._freedByCaller)) {
      for (const p of pass) if (!p.switched && !p.move._freedByCaller) p.move.operation = "ignore";
      this.#commit(context);
    }
    if (this.#context !== null) this.#finish(this.#context);
  }
}

/** Whether a resource may move inside running frames (see the module comment; textures: texture-move.ts). */
function movable(resource: Buffer | Texture): boolean {
  if (resource instanceof Texture) return movableTexture(resource);
  const a = resource.allocation;
  return (resource.usage & BUFFER_GPU_WRITES) === 0 && a.mapCount === 0 && !a.persistentlyMapped;
}

/** A default view of the move's replacement image, as createTexture makes one (one native call). */
function createView(move: DefragmentationMove, texture: Texture): bigint {
  const viewType = texture.depth > 1 ? VIEW_TYPE_3D : texture.arrayLayers > 1 ? VIEW_TYPE_2D_ARRAY : VIEW_TYPE_2D;
  const made = move._context._createView(move, viewType, texture.aspect);
  if (typeof made === "number") {
    throw new Error(`vkCreateImageView failed (${made}) for the moved texture '${texture.label}'`);
  }
  return made;
}
