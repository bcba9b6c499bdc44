/**
 * The fuzzer's world: the objects of one seed, the model of what should exist and what every byte should hold,
 * and the operations that change both.
 *
 * The model mirrors the lifetime graph (Context -> Allocator -> Pools / VirtualBlocks / FrameManagers /
 * TextureStreamers -> resources): each model object knows its parent and whether it is alive. An operation picks
 * objects at random, calls vkmem with valid or hostile arguments through {@link World.call}, which judges the outcome
 * against the model's expectation (outcome.ts), and then updates the model. Contents are modelled byte by byte:
 * every host-visible allocation the fuzzer maps gets a shadow copy (filled with a pattern on first map, then changed
 * only by the fuzzer's writes through the mapped ArrayBuffer), every FrameManager buffer and texture subresource a
 * shadow and a mask of the bytes uploaded so far. Mapped reads and downloads are compared with the shadows.
 *
 * Randomness: one mulberry32 stream from the seed decides everything, so a seed replays exactly (the GPU's timing
 * changes nothing the fuzzer chooses). Operations that hit a bug known to the project (known-bugs.ts) are stepped
 * around by asking {@link World.allowed} with the op's pattern.
 * @module
 */
import * as fs from "node:fs";
import {
  DestroyedResourceError,
  MemoryUsage,
  OutOfDeviceMemoryError,
  createAllocator,
  createContext,
  createFrameManager,
  createTextureStreamer,
  createVirtualBlock,
  formatStatistics,
  nvk,
  parseStatsString,
  parseVirtualBlockStatsString,
  renderDumpPicture,
  type Allocation,
  type Allocator,
  type Buffer,
  type BufferBatch,
  type Context,
  type FrameManager,
  type LeakReport,
  type Pool,
  type StreamedTexture,
  type Texture,
  type TextureStreamer,
  type VirtualAllocation,
  type VirtualBlock,
} from "../../engine/index.js";
import { mulberry } from "../../bench/random.js";
import { isDisabled, type KnownBug } from "./known-bugs.js";
import {
  FuzzFailure,
  describeError,
  hostileKinds,
  hostileValue,
  judgeError,
  show,
  type ArgKind,
  type Expect,
} from "./outcome.js";

const KiB = 1024;
const MiB = 1024 * 1024;
const HOST_VISIBLE = 0x2;
const BUFFER_USAGES = [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100];
const IMAGE_USAGES = [0x1, 0x2, 0x4, 0x8, 0x10];
// Colour formats whose bytes go through copies unchanged (no block compression): format, bytes per texel.
const FORMATS: readonly (readonly [number, number])[] = [
  [37, 4], // R8G8B8A8_UNORM
  [9, 1], // R8_UNORM
  [16, 2], // R8G8_UNORM
  [100, 4], // R32_SFLOAT
  [97, 8], // R16G16B16A16_SFLOAT
];

/** Success, or out of device memory (staging and readback memory under a heap size limit). */
const OOM_OK: Expect = { kind: "ok", allow: [OutOfDeviceMemoryError] };

/** Whether value `v` of a batch's array `field` fits a buffer of `asked` bytes (`memoryTypes`: the device's count). */
function batchValueSane(field: string, v: number | bigint, asked: number, memoryTypes: number): boolean {
  switch (field) {
    case "sizes":
      return (v as number) >= asked;
    case "memoryTypes":
      return (v as number) >= 0 && (v as number) < memoryTypes;
    case "offsets":
      return (v as number) >= 0;
    case "buffers":
    case "memories":
      return v !== 0n;
    default: // allocation handles
      return (v as number) > 0;
  }
}

/** Option fields (call.arg) where null means the default, so the fuzzer does not count it as hostile. */
const OPTIONAL: ReadonlySet<string> = new Set([
  "createPool.blockSize",
  "createPool.algorithm",
  "createFrameManager.framesInFlight",
  "createBuffer.strategy",
  "createBuffer.hostAccess",
  "createBuffer.priority",
  "VirtualBlock.allocate.alignment",
  "VirtualBlock.allocate.strategy",
  "FrameManager.uploadImage.mipLevel",
  "destroyBuffer.buffer", // null: the buffer made with the allocation
]);

/** Options of one seed's run. */
export interface WorldOptions {
  readonly seed: number;
  readonly ops: number;
  readonly bugs: readonly KnownBug[];
  /** A file descriptor the op trace is written to, line by line (survives a crash), or null. */
  readonly traceFd: number | null;
}

interface AllocatorModel {
  readonly id: number;
  readonly a: Allocator;
  readonly limited: boolean;
  readonly debug: boolean;
  alive: boolean;
  /** Leak reports handed to onLeaks. */
  leaks: LeakReport[];
  /** Frame managers made over it. */
  frames: Set<FramesModel>;
}

/** A batch of buffers (createBuffers): not Allocations, counted and reported as leaks by its allocator all the same. */
interface BatchModel {
  readonly b: BufferBatch;
  readonly owner: AllocatorModel;
  /** The leak reports' name of each of its buffers: the options' name, or "(unnamed)". */
  readonly name: string;
  /** The sizes asked for, in order. */
  readonly sizes: readonly number[];
  alive: boolean;
  /** The arrays read so far (a getter read once returns its copy again, even once the batch is destroyed). */
  readonly read: Set<string>;
}

interface PoolModel {
  readonly id: number;
  readonly p: Pool;
  readonly owner: AllocatorModel;
  readonly algorithm: "tlsf" | "linear" | "buddy";
  alive: boolean;
  /** Made by a TextureStreamer (the fuzzer never allocates from it). */
  readonly streamer: boolean;
  /** That streamer's id, or 0. */
  readonly streamerId?: number;
}

interface AllocationModel {
  readonly id: number;
  readonly name: string;
  readonly a: Allocation;
  readonly owner: AllocatorModel;
  readonly pool: PoolModel | null;
  readonly kind: "buffer" | "image" | "memory";
  /** The nvk resource made with it (or bound to it), null for unbound raw memory. */
  resource: object | null;
  alive: boolean;
  lost: boolean;
  /** Forgotten by the fuzzer without a free (opDrop): expected in its parent's leak report, once. */
  dropped: boolean;
  readonly canBecomeLost: boolean;
  lastUse: number;
  readonly persistent: boolean;
  readonly hostVisible: boolean;
  /** Created with an Auto usage and no hostAccess outside a pool: VMA forbids mapping it. */
  readonly noHostAccess: boolean;
  mapCount: number;
  /** The bytes the mapping should hold once written (null until first mapped). */
  shadow: Uint8Array | null;
  /** The ArrayBuffer of the last map, to check it is detached after the last unmap or the free. */
  view: ArrayBuffer | null;
  userData: unknown;
}

interface VirtualModel {
  readonly id: number;
  readonly vb: VirtualBlock;
  readonly size: number;
  readonly algorithm: "tlsf" | "linear" | "buddy";
  alive: boolean;
  allocs: { va: VirtualAllocation | null; handle: number; offset: number; size: number }[];
  /** Something was freed since creation or the last clear(): a linear block may be a ring buffer now. */
  freed: boolean;
}

interface FrameBufferModel {
  readonly b: Buffer;
  readonly size: number;
  readonly shadow: Uint8Array;
  readonly defined: Uint8Array;
  alive: boolean;
}

interface TextureModel {
  readonly t: Texture;
  readonly width: number;
  readonly height: number;
  readonly mips: number;
  readonly layers: number;
  readonly texel: number;
  /** Per subresource (mip * layers + layer): shadow bytes and the mask of uploaded bytes. */
  readonly shadow: Uint8Array[];
  readonly defined: Uint8Array[];
  /** Per subresource: whether a download is allowed (uploaded, or the texture was marked used). */
  readonly contents: boolean[];
  /** Per subresource: whether something was uploaded into it (its layout is no longer UNDEFINED). */
  readonly uploaded: boolean[];
  alive: boolean;
}

interface DownloadModel {
  readonly label: string;
  readonly serial: number;
  readonly frames: FramesModel;
  /** What the bytes should be, taken when the carrying frame was submitted (null before). */
  expected: Uint8Array | null;
  defined: Uint8Array | null;
  readonly snapshot: () => { expected: Uint8Array; defined: Uint8Array };
  /** The buffer or texture read. */
  readonly source: object;
  /**
   * What the bytes were when the download was queued and after each upload to its source until its frame was
   * submitted: one queued between frames may be recorded on its own at any moment in between (the manager's
   * download-only submission), and then sees the uploads queued before that moment.
   */
  readonly candidates: { expected: Uint8Array; defined: Uint8Array }[];
  /** Queued while a frame was being recorded: that frame carries it, so it cannot settle before its submission. */
  readonly inFrame: boolean;
  settled: boolean;
  /** Resolves when the download settles (either way). */
  done: Promise<void> | null;
  result: Uint8Array | null;
  error: unknown;
}

interface FramesModel {
  readonly id: number;
  readonly fm: FrameManager;
  readonly owner: AllocatorModel;
  alive: boolean;
  open: boolean;
  submitted: number;
  buffers: FrameBufferModel[];
  textures: TextureModel[];
  downloads: DownloadModel[];
  transients: { bytes: Uint8Array; pattern: Uint8Array }[];
  streamers: Set<StreamerModel>;
}

interface StreamedModel {
  readonly st: StreamedTexture;
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly mips: number;
  alive: boolean;
}

interface StreamerModel {
  readonly id: number;
  readonly s: TextureStreamer;
  readonly frames: FramesModel;
  alive: boolean;
  textures: StreamedModel[];
  updatedInFrame: number;
}

/** Counters of one seed, reported by the runner. */
export interface WorldCounts {
  ops: number;
  skipped: number;
  hostile: number;
  allowedErrors: number;
  contentChecks: number;
  downloadsChecked: number;
  frames: number;
}

/** A deterministic byte pattern for (key, index). */
function patternByte(key: number, i: number): number {
  let x = (key * 0x9e3779b1 + i * 0x85ebca77) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d) >>> 0;
  x ^= x >>> 12;
  return x & 0xff;
}

/** The pixels a streamed texture's loader gives for one mip. */
function mipPixels(labelKey: number, width: number, height: number, mip: number): Uint8Array {
  const w = Math.max(1, width >> mip);
  const h = Math.max(1, height >> mip);
  const out = new Uint8Array(w * h * 4);
  for (let i = 0; i < out.length; i++) out[i] = patternByte(labelKey * 64 + mip, i);
  return out;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** The fuzzer's world for one seed. */
export class World {
  readonly counts: WorldCounts = {
    ops: 0,
    skipped: 0,
    hostile: 0,
    allowedErrors: 0,
    contentChecks: 0,
    downloadsChecked: 0,
    frames: 0,
  };
  /** The last ~30 operations, for the failure report. */
  readonly ring: string[] = [];
  private readonly next: () => number;
  private readonly bugs: readonly KnownBug[];
  private readonly traceFd: number | null;
  private context: Context;
  private contextMessages = 0;
  private ids = 0;
  private allocators: AllocatorModel[] = [];
  private pools: PoolModel[] = [];
  private allocations: AllocationModel[] = [];
  private batches: BatchModel[] = [];
  private virtuals: VirtualModel[] = [];
  private frames: FramesModel[] = [];
  private streamers: StreamerModel[] = [];
  /** Raw nvk buffers vkmem made and destroyed (handles of dead objects, for the stale-handle pattern). */
  private deadBuffers: object[] = [];
  private readonly warnings: string[] = [];
  /**
   * The parents the fuzzer destroyed while they might have live dependents ("Allocator 'alloc1'", "Context"): each
   * may warn once that it destroyed them first (engine/lifetime.ts), which is the designed outcome, not a failure.
   */
  private readonly cascadeParents = new Set<string>();
  private readonly onWarning = (w: Error): void => {
    this.warnings.push(`${w.name}: ${w.message.split("\n")[0]}`);
    if (process.env.FUZZ_DEBUG_WARN) console.error(w.message);
  };

  constructor(readonly options: WorldOptions) {
    this.next = mulberry(options.seed);
    this.bugs = options.bugs;
    this.traceFd = options.traceFd;
    process.on("warning", this.onWarning);
    this.context = this.newContext();
  }

  // ------------------------------------------------------------------ randomness

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  private chance(p: number): boolean {
    return this.next() < p;
  }
  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  private pickLive<T extends { alive: boolean }>(items: readonly T[]): T | null {
    const live = items.filter((x) => x.alive);
    return live.length === 0 ? null : this.pick(live);
  }
  /** A size, mostly small: 1 B to `max`, log-uniform. */
  private size(max: number): number {
    return Math.max(1, Math.floor(2 ** (this.next() * Math.log2(max))));
  }
  private bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    const key = this.int(1, 0x7fffffff);
    for (let i = 0; i < n; i++) out[i] = patternByte(key, i);
    return out;
  }

  /** Whether `pattern` may run (no known bug disables it). */
  allowed(pattern: string): boolean {
    return !isDisabled(this.bugs, pattern);
  }

  // ------------------------------------------------------------------ calls and checks

  /** Records an operation in the ring and the trace file. */
  private log(line: string): void {
    const text = `#${this.counts.ops} ${line}`;
    this.ring.push(text);
    if (this.ring.length > 30) this.ring.shift();
    if (this.traceFd !== null) fs.writeSync(this.traceFd, text + "\n");
  }

  /**
   * Makes one call and judges it. Returns `{ ok: true, value }` on success (and on an expected error, `ok: false`).
   * Throws FuzzFailure when the outcome is not what the model expects. `onAccepted` cleans up what a hostile call
   * that wrongly succeeded made.
   */
  private call<T>(
    desc: string,
    expect: Expect,
    fn: () => T,
    onAccepted?: (value: T) => void,
  ): { ok: true; value: T } | { ok: false; error: unknown } {
    this.counts.ops++;
    if (expect.kind === "hostile") this.counts.hostile++;
    this.log(desc);
    let value: T;
    try {
      value = fn();
    } catch (error) {
      if (error instanceof FuzzFailure) throw error;
      const failure = judgeError(expect, error);
      if (failure !== null) {
        failure.message = `${desc}: ${failure.message}`;
        throw failure;
      }
      if (expect.kind === "ok") this.counts.allowedErrors++;
      this.checkValidation(desc);
      return { ok: false, error };
    }
    this.checkValidation(desc);
    if (expect.kind !== "ok") {
      onAccepted?.(value);
      const what =
        expect.kind === "hostile"
          ? `bad ${expect.arg} was accepted`
          : expect.kind === "dead"
            ? "use after destroy was accepted"
            : "misuse was accepted";
      throw new FuzzFailure(expect.kind === "hostile" ? "accepted-hostile" : "model-mismatch", `${desc}: ${what}`);
    }
    return { ok: true, value };
  }

  private checkValidation(desc: string): void {
    const messages = this.context.validationMessages;
    if (messages.length === this.contextMessages) return;
    const m = messages[this.contextMessages]!;
    this.contextMessages = messages.length;
    throw new FuzzFailure("validation", `${desc}: [${m.severity}] ${m.id}: ${m.message.slice(0, 1200)}`);
  }

  private fail(category: ConstructorParameters<typeof FuzzFailure>[0], message: string): never {
    throw new FuzzFailure(category, message);
  }

  /** Calls `fn` with a hostile value for an argument of kind `kind`, expecting a typed error naming `arg`. */
  private hostile(
    call: string,
    arg: string,
    kind: ArgKind,
    fn: (value: unknown) => unknown,
    onAccepted?: (value: unknown) => void,
  ): void {
    // An optional option given as null means "not given" (the `??` convention of the whole API): not hostile.
    const optional = OPTIONAL.has(`${call}.${arg}`);
    const kinds = hostileKinds(kind).filter(
      (k) => !(optional && k === "null") && this.allowed(`hostile:${call}.${arg}:${k}`),
    );
    if (kinds.length === 0) {
      this.counts.skipped++;
      return;
    }
    const k = this.pick(kinds);
    const value = hostileValue(k);
    this.call(`${call}(${arg}=${show(value)}) [hostile ${k}]`, { kind: "hostile", arg }, () => fn(value), onAccepted);
  }

  // ------------------------------------------------------------------ the context

  private newContext(): Context {
    const context = createContext({
      applicationName: "vkmem-fuzz",
      validation: process.platform !== "win32" /* Wine has no validation layer */,
      // The test fixture's layers (test/helpers/gpu.ts), e.g. the discrete GPU's memory of test/native/.
      layers: (process.env.VKMEM_TEST_LAYERS ?? "").split(",").filter((s) => s !== ""),
    });
    this.contextMessages = 0;
    return context;
  }

  // ------------------------------------------------------------------ the op table

  private readonly table: readonly (readonly [number, () => void | Promise<void>])[] = [
    [3, () => this.opCreateAllocator()],
    [14, () => this.opCreateBuffer()],
    [4, () => this.opCreateImage()],
    [4, () => this.opAllocateMemory()],
    [2, () => this.opAllocateForRawBuffer()],
    [10, () => this.opMapWrite()],
    [5, () => this.opUnmap()],
    [6, () => this.opCheckContents()],
    [3, () => this.opFlushInvalidate()],
    [2, () => this.opPages()],
    [3, () => this.opBufferBatch()],
    [3, () => this.opHostCopy()],
    [2, () => this.opBatchFlush()],
    [1, () => this.opAlias()],
    [4, () => this.opNameUserData()],
    [3, () => this.opInfo()],
    [12, () => this.opFree()],
    [2, () => this.opStatistics()],
    [3, () => this.opCreatePool()],
    [2, () => this.opPoolOps()],
    [1, () => this.opDestroyPool()],
    [3, () => this.opLost()],
    [8, () => this.opHostileAllocator()],
    [1, () => this.opDestroyAllocator()],
    [2, () => this.opCreateVirtualBlock()],
    [10, () => this.opVirtualAllocate()],
    [7, () => this.opVirtualFree()],
    [2, () => this.opVirtualMisc()],
    [2, () => this.opHostileVirtual()],
    [2, () => this.opCreateFrames()],
    [6, () => this.opFrame()],
    [5, () => this.opFrameCreate()],
    [8, () => this.opUpload()],
    [4, () => this.opDownload()],
    [4, () => this.opTransient()],
    [4, () => this.opFrameResourceMisc()],
    [3, () => this.opHostileFrames()],
    [3, () => this.opHostileMore()],
    [1, () => this.opDrop()],
    [2, () => this.opAwaitDownloads()],
    [1, () => this.opDestroyFrames()],
    [1, () => this.opCreateStreamer()],
    [5, () => this.opStream()],
    [0.4, () => this.opDestroyStreamer()],
    [0.15, () => this.opDestroyContext()],
  ];
  private readonly totalWeight = this.table.reduce((s, [w]) => s + w, 0);

  /** Runs the seed: `ops` operations, then the teardown and its checks. */
  async run(): Promise<void> {
    try {
      while (this.counts.ops < this.options.ops) {
        let r = this.next() * this.totalWeight;
        let i = 0;
        while (r >= this.table[i]![0]) r -= this.table[i++]![0];
        const before = this.counts.ops;
        await this.table[i]![1]();
        if (this.counts.ops === before) this.counts.skipped++;
        if (this.counts.skipped > this.options.ops * 4 + 1000) break;
      }
      await this.teardown();
    } finally {
      process.off("warning", this.onWarning);
    }
  }

  // ------------------------------------------------------------------ allocators

  private liveAllocators(): AllocatorModel[] {
    return this.allocators.filter((a) => a.alive);
  }

  private opCreateAllocator(): void {
    if (this.liveAllocators().length >= 3) return;
    const limited = this.chance(0.4);
    const debug = this.chance(0.2);
    const heaps = this.context.memoryProperties.heaps.length;
    const model: Partial<AllocatorModel> & { leaks: LeakReport[] } = { leaks: [] };
    const id = ++this.ids;
    const options = {
      label: `alloc${id}`,
      heapSizeLimits: limited ? Array.from({ length: heaps }, () => this.pick([8, 16, 32, 64]) * MiB) : undefined,
      debug: debug ? {} : undefined,
      captureStacks: this.chance(0.3),
      frameInUseCount: this.int(0, 2),
      onLeaks: (leaks: LeakReport[]) => model.leaks.push(...leaks),
    };
    const r = this.call(`createAllocator(limit=${limited}, debug=${debug})`, { kind: "ok" }, () =>
      createAllocator(this.context, options),
    );
    if (!r.ok) return;
    this.allocators.push(
      Object.assign(model, {
        id,
        a: r.value,
        limited,
        debug,
        alive: true,
        frames: new Set<FramesModel>(),
      }) as AllocatorModel,
    );
  }

  private anyAllocator(): AllocatorModel | null {
    return this.pickLive(this.allocators);
  }

  /** Random valid allocation options for `owner`; `pool` when allocating from one. */
  private allocationOptions(
    owner: AllocatorModel,
    kind: "buffer" | "image" | "memory",
    name: string,
  ): { options: any; pool: PoolModel | null } {
    const o: any = { name };
    let pool: PoolModel | null = null;
    if (this.chance(0.3)) {
      const pools = this.pools.filter((p) => p.alive && p.owner === owner && !p.streamer);
      if (pools.length > 0) pool = this.pick(pools);
    }
    if (pool !== null) {
      o.pool = pool.p;
      if (pool.algorithm === "linear" && pool.p.maxBlockCount === 1 && this.chance(0.3)) o.upperAddress = true;
    } else if (kind === "memory") {
      o.usage = this.pick([
        MemoryUsage.GpuOnly,
        MemoryUsage.CpuOnly,
        MemoryUsage.CpuToGpu,
        MemoryUsage.GpuToCpu,
        MemoryUsage.Unknown,
      ]);
    } else {
      o.usage = this.pick([
        MemoryUsage.Auto,
        MemoryUsage.AutoPreferDevice,
        MemoryUsage.AutoPreferHost,
        MemoryUsage.GpuOnly,
        MemoryUsage.CpuOnly,
        MemoryUsage.CpuToGpu,
        MemoryUsage.GpuToCpu,
      ]);
      if (o.usage >= MemoryUsage.Auto && this.chance(0.6)) o.hostAccess = this.pick(["sequentialWrite", "random"]);
      if (o.usage >= MemoryUsage.Auto && o.hostAccess !== undefined && this.chance(0.2)) o.allowTransferInstead = true;
      if (this.chance(0.1)) o.dedicated = true;
    }
    const canLose = pool?.algorithm !== "buddy" && this.chance(0.12);
    if (canLose) o.canBecomeLost = true;
    else if (this.chance(0.35) && (o.usage === undefined || o.usage < MemoryUsage.Auto || o.hostAccess !== undefined))
      o.mapped = true;
    if (this.chance(0.1)) o.canMakeOtherLost = true;
    if (this.chance(0.15)) o.strategy = this.pick(["minMemory", "minTime", "minOffset"]);
    if (this.chance(0.1)) o.priority = this.next();
    if (this.chance(0.1)) o.withinBudget = true;
    if (kind === "buffer" && this.chance(0.1)) o.minAlignment = 2 ** this.int(0, 12);
    if (this.chance(0.2)) o.userData = this.pick([this.int(0, 1000), "text", { x: 1 }, null]);
    return { options: o, pool };
  }

  private register(
    owner: AllocatorModel,
    pool: PoolModel | null,
    kind: "buffer" | "image" | "memory",
    name: string,
    a: Allocation,
    resource: object | null,
    options: any,
  ): AllocationModel {
    const persistent = a.persistentlyMapped;
    const m: AllocationModel = {
      id: ++this.ids,
      name,
      a,
      owner,
      pool,
      kind,
      resource,
      alive: true,
      lost: false,
      dropped: false,
      canBecomeLost: options.canBecomeLost === true,
      lastUse: owner.a.currentFrameIndex,
      persistent,
      hostVisible: (a.memoryProperties & HOST_VISIBLE) !== 0,
      // Raw memory with no usage gets GpuOnly (VMA takes no Auto usage there), which maps wherever it is host-visible.
      noHostAccess:
        pool === null &&
        (options.usage ?? (kind === "memory" ? MemoryUsage.GpuOnly : MemoryUsage.Auto)) >= MemoryUsage.Auto &&
        options.hostAccess === undefined,
      mapCount: 0,
      shadow: null,
      view: null,
      userData: options.userData,
    };
    this.allocations.push(m);
    this.learnLost(owner, options);
    if (
      options.minAlignment !== undefined &&
      kind === "buffer" &&
      a.offset % options.minAlignment !== 0 &&
      pool?.algorithm !== "buddy"
    ) {
      this.fail(
        "model-mismatch",
        `allocation '${name}' at offset ${a.offset} ignores minAlignment ${options.minAlignment}`,
      );
    }
    return m;
  }

  /**
   * After an allocation call with canMakeOtherLost, whether it succeeded or failed (a failed one may have taken some
   * all the same): learn what it made lost, so that no later expectation counts those as live.
   */
  private learnLost(owner: AllocatorModel, options: { canMakeOtherLost?: boolean }): void {
    if (options.canMakeOtherLost === true) this.checkLostRule(owner);
  }

  /** After an allocation that may make others lost: every newly lost one must have been out of use. */
  private checkLostRule(owner: AllocatorModel): void {
    for (const m of this.allocations) {
      if (!m.alive || m.lost || !m.canBecomeLost || m.owner !== owner) continue;
      if (!m.a.lost) continue;
      m.lost = true;
      const frame = m.a.lostInFrame;
      const fic = m.pool?.p.frameInUseCount ?? owner.a.frameInUseCount;
      if (!(m.lastUse + fic < frame)) {
        this.fail(
          "model-mismatch",
          `allocation '${m.name}' was made lost in frame ${frame} though last used in frame ${m.lastUse} (frameInUseCount ${fic})`,
        );
      }
      if (m.view !== null && m.view.byteLength !== 0)
        this.fail("model-mismatch", `lost allocation '${m.name}' still has a mapped view`);
    }
  }

  private opCreateBuffer(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const name = `buf${++this.ids}`;
    const usage = BUFFER_USAGES.filter(() => this.chance(0.3)).reduce((a, b) => a | b, 0) || 0x80;
    const size = this.size(owner.limited ? 4 * MiB : 8 * MiB);
    const { options, pool } = this.allocationOptions(owner, "buffer", name);
    const r = this.call(
      `createBuffer(${owner.a.label}, size=${size}, usage=0x${usage.toString(16)}, ${show(options)}${pool ? ` pool=${pool.algorithm}` : ""})`,
      { kind: "ok", allow: [OutOfDeviceMemoryError] },
      () => owner.a.createBuffer({ size, usage }, options),
    );
    if (!r.ok) return this.learnLost(owner, options);
    this.register(owner, pool, "buffer", name, r.value.allocation, r.value.buffer, options);
  }

  private opCreateImage(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const name = `img${++this.ids}`;
    const [format] = this.pick(FORMATS);
    const width = this.size(512);
    const height = this.size(512);
    const mipLevels = this.int(1, Math.floor(Math.log2(Math.max(width, height))) + 1);
    const usage = IMAGE_USAGES.filter((u) => u !== 0x8 && this.chance(0.3)).reduce((a, b) => a | b, 0) || 0x4;
    const tiling = this.chance(0.2) ? 1 : 0;
    const { options, pool } = this.allocationOptions(owner, "image", name);
    delete options.minAlignment;
    const info = {
      format,
      extent: { width, height },
      mipLevels: tiling === 1 ? 1 : mipLevels,
      usage: tiling === 1 ? usage & 0x3 || 0x1 : usage,
      tiling,
    };
    const r = this.call(
      `createImage(${owner.a.label}, ${width}x${height} f${format} mips ${info.mipLevels} tiling ${tiling}, ${show(options)})`,
      { kind: "ok", allow: [OutOfDeviceMemoryError] },
      () => owner.a.createImage(info, options),
    );
    if (!r.ok) return this.learnLost(owner, options);
    this.register(owner, pool, "image", name, r.value.allocation, r.value.image, options);
  }

  private opAllocateMemory(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const name = `mem${++this.ids}`;
    const size = this.size(owner.limited ? 4 * MiB : 8 * MiB);
    const alignment = 2 ** this.int(0, 16);
    const { options, pool } = this.allocationOptions(owner, "memory", name);
    let opts = options;
    if (pool === null && this.chance(0.2) && this.allowed("semantics:raw-default-options")) {
      opts = { name }; // VMA accepts raw memory with the default options once the default usage is one it takes
    }
    if (opts.minAlignment !== undefined && !this.allowed("semantics:raw-min-alignment")) delete opts.minAlignment;
    if (this.chance(0.15) && pool === null && this.allowed("semantics:raw-min-alignment"))
      opts.minAlignment = 2 ** this.int(8, 16);
    // A pool in a type the bits leave out is refused by name (on real GPUs pools are not all in type 0).
    const bits =
      pool !== null && (pool.p.memoryTypeIndex !== 0 || this.chance(0.5))
        ? 0xffffffff
        : this.chance(0.5)
          ? 0xffffffff
          : 1;
    const r = this.call(
      `allocateMemory(${owner.a.label}, size=${size}, align=${alignment}, bits=0x${bits.toString(16)}, ${show(opts)})`,
      { kind: "ok", allow: [OutOfDeviceMemoryError] },
      () => owner.a.allocateMemory({ size, alignment, memoryTypeBits: bits }, opts),
    );
    if (!r.ok) return this.learnLost(owner, opts);
    const m = this.register(owner, pool, "memory", name, r.value, null, opts);
    const want = Math.max(alignment, opts.minAlignment ?? 1);
    if (pool?.algorithm !== "buddy" && r.value.offset % want !== 0) {
      this.fail("model-mismatch", `raw allocation '${m.name}' at offset ${r.value.offset} is not aligned to ${want}`);
    }
  }

  /** A buffer made with nvk directly, memory from allocateMemoryForBuffer, bound with bindBufferMemory. */
  private opAllocateForRawBuffer(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const device = this.context.device;
    if (this.deadBuffers.length > 0 && this.chance(0.3)) {
      if (!this.allowed("hostile:stale-raw-handle")) return;
      const stale = this.pick(this.deadBuffers);
      this.call(
        `allocateMemoryForBuffer(${owner.a.label}, stale handle)`,
        { kind: "dead" },
        () => owner.a.allocateMemoryForBuffer(stale, { usage: MemoryUsage.GpuOnly }),
        (a) => owner.a.freeMemory(a),
      );
      return;
    }
    const buffer = new nvk.VkBuffer();
    const size = this.size(MiB);
    const created = nvk.vkCreateBuffer(
      device,
      new nvk.VkBufferCreateInfo({ size, usage: 0x80 | 0x2, sharingMode: 0 }),
      null,
      buffer,
    );
    if (created !== 0) this.fail("unexpected-error", `vkCreateBuffer failed: ${created}`);
    const name = `raw${++this.ids}`;
    const r = this.call(
      `allocateMemoryForBuffer(${owner.a.label}, size=${size})`,
      { kind: "ok", allow: [OutOfDeviceMemoryError] },
      () =>
        owner.a.allocateMemoryForBuffer(buffer, {
          usage: this.pick([MemoryUsage.GpuOnly, MemoryUsage.CpuToGpu]),
          name,
        }),
    );
    if (!r.ok) {
      nvk.vkDestroyBuffer(device, buffer, null);
      return;
    }
    const m = this.register(owner, null, "memory", name, r.value, null, { name });
    const bound = this.call(`bindBufferMemory(${name})`, { kind: "ok" }, () =>
      owner.a.bindBufferMemory(r.value, buffer, 0),
    );
    if (bound.ok) m.resource = buffer;
    else nvk.vkDestroyBuffer(device, buffer, null);
  }

  private liveAllocation(filter: (m: AllocationModel) => boolean = () => true): AllocationModel | null {
    const live = this.allocations.filter((m) => m.alive && filter(m));
    return live.length === 0 ? null : this.pick(live);
  }

  private deadOrLostExpect(m: AllocationModel): Expect | null {
    if (!m.alive) return { kind: "dead" };
    if (m.lost) return { kind: "dead", lost: true };
    return null;
  }

  private opMapWrite(): void {
    const m = this.liveAllocation((x) => x.hostVisible && !x.lost);
    if (m === null) return;
    if (m.canBecomeLost) {
      this.call(`map(${m.name}) [lost-able]`, { kind: "state", prefix: "Allocation" }, () => m.a.map());
      return;
    }
    if (m.noHostAccess) {
      // VMA asserts on this: vkmem must refuse it first, naming the option (issue item 4).
      if (!this.allowed("hostile:vma-precondition-map")) return;
      this.call(
        `map(${m.name}) [Auto without hostAccess]`,
        { kind: "hostile", arg: "hostAccess" },
        () => m.a.map(),
        () => m.a.unmap(),
      );
      return;
    }
    let view: ArrayBuffer | null = m.persistent || m.mapCount > 0 ? m.a.mappedData : null;
    if (view === null || this.chance(0.3)) {
      const r = this.call(`map(${m.name})`, { kind: "ok" }, () => m.a.map());
      if (!r.ok) return;
      m.mapCount++;
      if (view !== null && r.value !== view)
        this.fail("model-mismatch", `map(${m.name}) gave another ArrayBuffer than the one already mapped`);
      view = r.value;
    }
    m.view = view;
    const size = m.a.size;
    if (view.byteLength !== size)
      this.fail(
        "model-mismatch",
        `mapped view of '${m.name}' has ${view.byteLength} bytes, allocation size is ${size}`,
      );
    const bytes = new Uint8Array(view);
    if (m.shadow === null) {
      m.shadow = this.bytes(size);
      bytes.set(m.shadow);
    } else {
      const offset = this.int(0, size - 1);
      const n = this.int(1, Math.min(size - offset, 64 * KiB));
      const data = this.bytes(n);
      bytes.set(data, offset);
      m.shadow.set(data, offset);
      this.log(`write(${m.name}, offset=${offset}, ${n} bytes)`);
    }
    if (this.chance(0.2)) this.call(`flush(${m.name})`, { kind: "ok" }, () => m.a.flush());
  }

  private opUnmap(): void {
    const m = this.liveAllocation((x) => !x.lost && (x.mapCount > 0 || this.chance(0.1)));
    if (m === null) return;
    if (m.mapCount === 0) {
      this.call(`unmap(${m.name}) [not mapped]`, { kind: "state", prefix: "Allocation" }, () => m.a.unmap());
      return;
    }
    const view = m.a.mappedData;
    const r = this.call(`unmap(${m.name})`, { kind: "ok" }, () => m.a.unmap());
    if (!r.ok) return;
    m.mapCount--;
    if (m.mapCount === 0 && !m.persistent) {
      if (view !== null && view.byteLength !== 0)
        this.fail("model-mismatch", `'${m.name}': the mapped ArrayBuffer is not detached after the last unmap`);
      if (m.a.mappedData !== null)
        this.fail("model-mismatch", `'${m.name}': mappedData is not null after the last unmap`);
      m.view = null;
    }
  }

  /** Compares every written mapping with its shadow (mapping the unmapped ones for the check). */
  private opCheckContents(): void {
    for (const m of this.allocations) {
      if (!m.alive || m.lost || m.shadow === null || m.noHostAccess) continue;
      this.counts.contentChecks++;
      let view = m.a.mappedData;
      const temporary = view === null;
      if (temporary) {
        const r = this.call(`map(${m.name}) [check]`, { kind: "ok" }, () => m.a.map());
        if (!r.ok) continue;
        view = r.value;
      }
      const bytes = new Uint8Array(view!);
      const at = firstDifference(bytes, m.shadow, null);
      if (at >= 0)
        this.fail(
          "content-mismatch",
          `allocation '${m.name}' (${m.pool ? `${m.pool.algorithm} pool` : "default pools"}) byte ${at}: read ${bytes[at]}, wrote ${m.shadow[at]}`,
        );
      if (temporary) {
        this.call(`unmap(${m.name}) [check]`, { kind: "ok" }, () => m.a.unmap());
      }
    }
  }

  private opFlushInvalidate(): void {
    const m = this.liveAllocation((x) => !x.lost);
    if (m === null) return;
    const size = m.a.size;
    const flush = this.chance(0.5);
    const name = flush ? "flush" : "invalidate";
    if (this.chance(0.3)) {
      const bad = this.pick([-1, size + 1, 1.5, NaN]);
      const offsetBad = this.chance(0.5);
      this.call(
        `${name}(${m.name}, ${offsetBad ? `offset=${bad}` : `size=${bad}`})`,
        { kind: "hostile", arg: offsetBad ? "offset" : "size" },
        () => (offsetBad ? m.a[name](bad) : m.a[name](0, bad)),
      );
      return;
    }
    const offset = this.int(0, size);
    const n = this.int(0, size - offset);
    const r = this.call(`${name}(${m.name}, ${offset}, ${n})`, { kind: "ok" }, () => m.a[name](offset, n));
    if (r.ok && n > 0 && r.value.performed && r.value.offset % m.owner.a.nonCoherentAtomSize !== 0)
      this.fail("model-mismatch", `${name} range offset ${r.value.offset} not atom-aligned`);
  }

  /** allocateMemoryPages: a batch of raw allocations, all or none; sometimes freed at once with freeMemoryPages. */
  private opPages(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const name = `pages${++this.ids}`;
    const size = this.size(owner.limited ? 1 * MiB : 2 * MiB);
    const count = this.int(1, 8);
    const { options, pool } = this.allocationOptions(owner, "memory", name);
    delete options.canBecomeLost; // pages refuse both (a lost page would break the set)
    delete options.canMakeOtherLost;
    const before = owner.a.allocationCount;
    const r = this.call(
      `allocateMemoryPages(${owner.a.label}, size=${size}, count=${count}, ${show(options)})`,
      OOM_OK,
      () => owner.a.allocateMemoryPages({ size, alignment: 256, memoryTypeBits: 0xffffffff }, options, count),
    );
    if (!r.ok) {
      if (pool?.algorithm !== "buddy" && owner.a.allocationCount !== before)
        this.fail(
          "model-mismatch",
          `a failed allocateMemoryPages left ${owner.a.allocationCount - before} allocation(s)`,
        );
      return;
    }
    if (r.value.length !== count) this.fail("model-mismatch", `allocateMemoryPages gave ${r.value.length} of ${count}`);
    const models = r.value.map((a) => this.register(owner, pool, "memory", name, a, null, options));
    if (!this.chance(0.4)) return;
    this.call(`freeMemoryPages(${name})`, { kind: "ok" }, () => owner.a.freeMemoryPages(r.value));
    for (const m of models) {
      m.alive = false;
      if (!m.a.destroyed) this.fail("model-mismatch", `'${m.name}'.destroyed is false after freeMemoryPages`);
    }
  }

  /**
   * createBuffers / destroyBuffers and the batch's arrays: made (one description or one per buffer, all or nothing,
   * out of memory allowed), read at random times (the results are written when first read: after later batches and
   * frees, from a spilled copy), destroyed (sometimes twice), refused options, reads after destroy.
   */
  private opBufferBatch(): void {
    const live = this.batches.filter((x) => x.alive && x.owner.alive);
    const which = this.int(0, 9);
    if (which <= 3 || live.length === 0) {
      if (live.length >= 6) return;
      const owner = this.anyAllocator();
      if (owner === null) return;
      const count = this.chance(0.2) ? this.int(65, 300) : this.int(1, 64);
      const named = this.chance(0.6);
      const name = named ? `batch${++this.ids}` : "(unnamed)";
      const options: any = {
        usage: this.pick([MemoryUsage.Auto, MemoryUsage.GpuOnly, MemoryUsage.CpuToGpu, MemoryUsage.AutoPreferHost]),
      };
      if (named) options.name = name;
      if (options.usage === MemoryUsage.Auto && this.chance(0.4)) options.hostAccess = "sequentialWrite";
      if (this.chance(0.1)) {
        const bad = this.pick(["mapped", "canBecomeLost", "canMakeOtherLost", "userData"] as const);
        const before = owner.a.allocationCount;
        this.call(`createBuffers(${owner.a.label}, ${count}, ${bad}) [refused]`, { kind: "hostile", arg: bad }, () =>
          owner.a.createBuffers(
            count,
            { size: 256, usage: 0x80 },
            { ...options, [bad]: bad === "userData" ? 1 : true },
          ),
        );
        if (owner.a.allocationCount !== before)
          this.fail("model-mismatch", `a refused createBuffers left ${owner.a.allocationCount - before} allocation(s)`);
        return;
      }
      const sizes: number[] = [];
      const one = this.chance(0.5);
      const first = this.int(1, owner.limited ? 64 * KiB : 256 * KiB);
      for (let i = 0; i < count; i++) sizes.push(one ? first : this.int(1, owner.limited ? 64 * KiB : 256 * KiB));
      const before = owner.a.allocationCount;
      const r = this.call(
        `createBuffers(${owner.a.label}, ${count}${one ? ` x ${first}` : " sizes"}, ${show(options)})`,
        OOM_OK,
        () =>
          one
            ? owner.a.createBuffers(count, { size: first, usage: 0x80 | 0x2 }, options)
            : owner.a.createBuffers(
                sizes.map((size) => ({ size, usage: 0x80 | 0x2 })),
                options,
              ),
      );
      if (!r.ok) {
        if (owner.a.allocationCount !== before)
          this.fail("model-mismatch", `a failed createBuffers left ${owner.a.allocationCount - before} allocation(s)`);
        return;
      }
      if (r.value.count !== count) this.fail("model-mismatch", `createBuffers made ${r.value.count} of ${count}`);
      this.batches.push({ b: r.value, owner, name, sizes, alive: true, read: new Set() });
      return;
    }
    const x = this.pick(live);
    if (which <= 7) {
      this.readBatch(x);
      return;
    }
    this.destroyBatch(x);
    if (this.chance(0.3)) this.readBatch(x);
  }

  /** Reads one of a batch's arrays (live: checks it against the model; destroyed: expects DestroyedResourceError). */
  private readBatch(x: BatchModel): void {
    const field = this.pick(["allocations", "offsets", "sizes", "memoryTypes", "buffers", "memories"] as const);
    const dead = !x.alive && !x.read.has(field);
    const r = this.call(
      `${x.name}.${field}${dead ? " [destroyed]" : ""}`,
      dead ? { kind: "dead" } : { kind: "ok" },
      () => x.b[field],
    );
    if (!r.ok || dead) return;
    x.read.add(field);
    const values = r.value as Float64Array | BigUint64Array;
    if (values.length !== x.sizes.length)
      this.fail("model-mismatch", `${x.name}.${field} holds ${values.length} values for ${x.sizes.length} buffers`);
    const memoryTypes = x.owner.a.memoryTypes.length;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!batchValueSane(field, v, x.sizes[i]!, memoryTypes))
        this.fail("model-mismatch", `${x.name}.${field}[${i}] is ${String(v)} (asked ${x.sizes[i]} bytes)`);
    }
  }

  /** destroyBuffers(batch), and sometimes again (which does nothing). */
  private destroyBatch(x: BatchModel): void {
    const before = x.owner.a.allocationCount;
    this.call(`destroyBuffers(${x.name})`, { kind: "ok" }, () => x.owner.a.destroyBuffers(x.b));
    x.alive = false;
    if (!x.b.destroyed) this.fail("model-mismatch", `${x.name}.destroyed is false after destroyBuffers`);
    if (x.owner.a.allocationCount !== before - x.sizes.length)
      this.fail(
        "model-mismatch",
        `destroyBuffers(${x.name}) took ${before - x.owner.a.allocationCount} allocations of ${x.sizes.length}`,
      );
    if (this.chance(0.2))
      this.call(`destroyBuffers(${x.name}) [again]`, { kind: "ok" }, () => x.owner.a.destroyBuffers(x.b));
  }

  /** copyMemoryToAllocation / copyAllocationToMemory against the shadow of a host-visible allocation. */
  private opHostCopy(): void {
    const m = this.liveAllocation((x) => x.hostVisible && !x.lost && !x.canBecomeLost && !x.noHostAccess && !x.dropped);
    if (m === null) return;
    const a = m.owner.a;
    const size = m.a.size;
    if (this.chance(0.15)) {
      const bad = this.pick([-1, size + 1, 1.5, NaN]);
      this.call(`copyMemoryToAllocation(${m.name}, offset=${bad})`, { kind: "hostile", arg: "offset" }, () =>
        a.copyMemoryToAllocation(new Uint8Array(1), m.a, bad),
      );
      return;
    }
    if (m.shadow === null) {
      const whole = this.bytes(size);
      const r = this.call(`copyMemoryToAllocation(${m.name}, all ${size} bytes)`, { kind: "ok" }, () =>
        a.copyMemoryToAllocation(whole, m.a, 0),
      );
      if (r.ok) m.shadow = whole;
      return;
    }
    const shadow = m.shadow;
    const offset = this.int(0, size - 1);
    const n = this.int(1, Math.min(size - offset, 64 * KiB));
    if (this.chance(0.5)) {
      const data = this.bytes(n);
      const r = this.call(`copyMemoryToAllocation(${m.name}, ${offset}, ${n} bytes)`, { kind: "ok" }, () =>
        a.copyMemoryToAllocation(data, m.a, offset),
      );
      if (r.ok) shadow.set(data, offset);
      return;
    }
    const out = new Uint8Array(n);
    const r = this.call(`copyAllocationToMemory(${m.name}, ${offset}, ${n} bytes)`, { kind: "ok" }, () =>
      a.copyAllocationToMemory(m.a, offset, out),
    );
    this.counts.contentChecks++;
    const at = r.ok ? firstDifference(out, shadow.subarray(offset, offset + n), null) : -1;
    if (at >= 0)
      this.fail(
        "content-mismatch",
        `copyAllocationToMemory(${m.name}) byte ${offset + at}: read ${out[at]}, wrote ${shadow[offset + at]}`,
      );
  }

  /** flushAllocations / invalidateAllocations over a few live allocations of one allocator. */
  private opBatchFlush(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const live = this.allocations.filter((x) => x.owner === owner && x.alive && !x.lost && !x.dropped);
    if (live.length === 0) return;
    const chosen = Array.from({ length: this.int(1, Math.min(4, live.length)) }, () => this.pick(live));
    const offsets = chosen.map((m) => this.int(0, m.a.size));
    const sizes = chosen.map((m, i) => this.int(0, m.a.size - offsets[i]!));
    const flush = this.chance(0.5);
    const name = flush ? "flushAllocations" : "invalidateAllocations";
    const list = chosen.map((m) => m.a);
    const desc = `${name}(${chosen.map((m) => m.name).join(", ")}; ${offsets.join(",")}; ${sizes.join(",")})`;
    if (this.chance(0.2)) {
      const i = this.int(0, chosen.length - 1);
      offsets[i] = chosen[i]!.a.size + 1;
      this.call(`${desc} [offsets[${i}] past the end]`, { kind: "hostile", arg: `offsets[${i}]` }, () =>
        owner.a[name](list, offsets, sizes),
      );
      return;
    }
    const r = this.call(desc, { kind: "ok" }, () => owner.a[name](list, offsets, sizes));
    if (r.ok && (r.value.length !== chosen.length || r.value.some((x, i) => x.performed && sizes[i] === 0)))
      this.fail("model-mismatch", `${name} gave ranges that do not match the request: ${show(r.value)}`);
  }

  /**
   * Aliasing, self-contained: host-visible raw memory made with canAlias, buffers aliasing it at random offsets (a
   * misfit is a RangeError naming the offset), a free refused while they live, then everything destroyed.
   */
  private opAlias(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const a = owner.a;
    const size = this.size(owner.limited ? 256 * KiB : 1 * MiB);
    const r = this.call(`allocateMemory(${a.label}, size=${size}, canAlias)`, OOM_OK, () =>
      a.allocateMemory(
        { size, alignment: 256, memoryTypeBits: 0xffffffff },
        { usage: MemoryUsage.CpuToGpu, canAlias: true },
      ),
    );
    if (!r.ok) return;
    const memory = r.value;
    const aliases: { destroy(): void }[] = [];
    for (let i = this.int(1, 3); i > 0; i--) {
      const offset = this.chance(0.7) ? 256 * this.int(0, Math.floor((size - 1) / 256)) : this.int(0, size - 1);
      const bytes = this.int(1, size);
      const c = this.call(
        `createAliasingBuffer(offset=${offset}, size=${bytes})`,
        { kind: "ok", allow: [RangeError] }, // a misfit (alignment, size, memory type) is a RangeError
        () => a.createAliasingBuffer(memory, { size: bytes, usage: this.pick(BUFFER_USAGES) }, offset),
      );
      if (c.ok) aliases.push(c.value);
    }
    if (aliases.length > 0)
      this.call(`freeMemory(aliased)`, { kind: "state", prefix: "Allocation" }, () => a.freeMemory(memory));
    for (const alias of aliases) this.call(`alias.destroy()`, { kind: "ok" }, () => alias.destroy());
    this.call(`freeMemory(aliased)`, { kind: "ok" }, () => a.freeMemory(memory));
  }

  private opNameUserData(): void {
    const m = this.liveAllocation();
    if (m === null) return;
    const dead = this.deadOrLostExpect(m);
    if (this.chance(0.25) && dead === null) {
      this.hostile("Allocation.name", "name", "string", (v) => {
        m.a.name = v as string;
      });
      return;
    }
    if (this.chance(0.5)) {
      const name = this.chance(0.8) ? `${m.name}-renamed` : null;
      const r = this.call(`${m.name}.name = ${show(name)}`, dead ?? { kind: "ok" }, () => {
        m.a.name = name;
      });
      if (r.ok && m.a.name !== name)
        this.fail("model-mismatch", `name of '${m.name}' reads ${show(m.a.name)} after setting ${show(name)}`);
      if (r.ok) m.a.name = m.name; // keep leak reports matchable by the original name
    } else {
      const v = this.pick([this.int(0, 2 ** 40), -5, "text", null, { k: 1 }, 1n, Symbol("u"), Object.create(null)]);
      const r = this.call(`${m.name}.userData = ${show(v)}`, dead ?? { kind: "ok" }, () => {
        m.a.userData = v;
      });
      if (r.ok) {
        m.userData = v;
        if (m.a.userData !== v) this.fail("model-mismatch", `userData of '${m.name}' does not read back`);
      }
    }
  }

  private opInfo(): void {
    const m = this.pick(this.allocations.length > 0 ? this.allocations : [null]);
    if (m === null || m.dropped) return;
    const dead = this.deadOrLostExpect(m);
    const which = this.pick([
      "info",
      "memoryType",
      "offset",
      "dedicated",
      "blockSize",
      "memoryProperties",
      "mapCount",
      "persistentlyMapped",
    ] as const);
    const r = this.call(`${m.name}.${which}`, dead ?? { kind: "ok" }, () => (m.a as any)[which]);
    if (r.ok && which === "info" && (r.value.size < 1 || r.value.name !== m.a.name))
      this.fail("model-mismatch", `info of '${m.name}' is inconsistent`);
  }

  private opFree(): void {
    const pickDead = this.chance(0.1);
    const m = pickDead ? this.pick(this.allocations.length > 0 ? this.allocations : [null]) : this.liveAllocation();
    if (m === null || m.dropped) return;
    const a = m.owner.a;
    if (!m.owner.alive) {
      // Freeing through a destroyed allocator: a no-op or DestroyedResourceError, never a crash.
      this.call(`free(${m.name}) [allocator destroyed]`, { kind: "ok", allow: [DestroyedResourceError] }, () =>
        this.freeCall(m),
      );
      return;
    }
    // Wrong free call for the kind: a TypeError naming the allocation.
    if (m.alive && !m.lost && this.chance(0.05)) {
      if (m.kind === "buffer") {
        this.call(`freeMemory(${m.name}) [a buffer]`, { kind: "hostile", arg: "allocation" }, () => a.freeMemory(m.a));
        return;
      }
    }
    const view = m.view;
    const stale = m.alive && m.kind === "buffer" && m.resource !== null && !m.lost ? m.resource : null;
    this.call(`free(${m.name})${m.alive ? "" : " [again]"}`, { kind: "ok" }, () => this.freeCall(m));
    // The nvk handle object vkmem gave for the buffer just destroyed: what an app that kept it has. (A fresh object
    // holding the same raw value is a handle vkmem never saw, trusted as nvk trusts it: the driver may already have
    // given that value to a new buffer.)
    if (m.alive && m.kind === "buffer" && stale !== null && !m.lost) this.deadBuffers.push(stale);
    if (this.deadBuffers.length > 16) this.deadBuffers.shift();
    m.alive = false;
    if (view !== null && view.byteLength !== 0)
      this.fail("model-mismatch", `'${m.name}': the mapped ArrayBuffer is not detached after free`);
    if (!m.a.destroyed) this.fail("model-mismatch", `'${m.name}'.destroyed is false after free`);
    // Any use now throws.
    this.call(`${m.name}.size [after free]`, { kind: "dead" }, () => m.a.size);
  }

  /** The fuzzer's own nvk buffer bound to raw memory whose parent freed it: the fuzzer destroys it (it is the app's). */
  private releaseRaw(m: AllocationModel): void {
    if (m.kind !== "memory" || m.resource === null) return;
    nvk.vkDestroyBuffer(this.context.device, m.resource, null);
    m.resource = null;
  }

  private freeCall(m: AllocationModel): void {
    const a = m.owner.a;
    if (m.kind === "buffer") a.destroyBuffer(this.chance(0.5) ? null : m.resource, m.a);
    else if (m.kind === "image") a.destroyImage(this.chance(0.5) ? null : m.resource, m.a);
    else if (m.resource !== null) a.destroyBuffer(m.resource, m.a);
    else a.freeMemory(m.a);
  }

  private opStatistics(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const a = owner.a;
    const which = this.int(0, 5);
    if (which === 0) {
      const r = this.call(`buildStatsString(${a.label})`, { kind: "ok" }, () => a.buildStatsString(this.chance(0.7)));
      if (r.ok) {
        try {
          parseStatsString(r.value);
        } catch (error) {
          this.fail("model-mismatch", `buildStatsString does not parse: ${describeError(error)}`);
        }
      }
    } else if (which === 1) {
      const r = this.call(`dump(${a.label})`, { kind: "ok" }, () => a.dump());
      if (r.ok && this.chance(0.2)) {
        // Nothing to draw (no block at all) is refused with a plain Error naming the call.
        const empty = a.calculateStatistics().total.blockCount === 0;
        this.call(
          `renderDumpPicture(${a.label})`,
          empty ? { kind: "state", prefix: "renderDumpPicture" } : { kind: "ok" },
          () => renderDumpPicture(r.value, { width: 256 }),
        );
      }
    } else if (which === 2) this.call(`calculateStatistics(${a.label})`, { kind: "ok" }, () => a.calculateStatistics());
    else if (which === 3) this.call(`formatStatistics(${a.label})`, { kind: "ok" }, () => formatStatistics(a));
    else if (which === 4) {
      const all = this.chance(0.5) && this.allowed("semantics:corruption-all-bits");
      const r = this.call(`checkCorruption(${a.label}${all ? ", 0xFFFFFFFF" : ""})`, { kind: "ok" }, () =>
        all ? a.checkCorruption(0xffffffff) : a.checkCorruption(),
      );
      if (r.ok && !r.value.ok) this.fail("content-mismatch", `checkCorruption found corruption: ${r.value.message}`);
    } else {
      const r = this.call(`allocationCount(${a.label})`, { kind: "ok" }, () => a.allocationCount);
      // Frame managers and streamers allocate rings, readback buffers and images of their own: compare only
      // allocators the fuzzer alone allocates from.
      if (r.ok && owner.frames.size === 0) {
        const mine =
          this.allocations.filter(
            (m) => m.owner === owner && (m.alive || m.dropped) && !m.lost && m.pool?.algorithm !== "buddy",
          ).length + this.batchBuffers(owner);
        const buddyBlocks = this.pools.filter((p) => p.owner === owner && p.alive && p.algorithm === "buddy").length;
        if (buddyBlocks === 0 && r.value !== mine)
          this.fail("model-mismatch", `allocator ${a.label} counts ${r.value} live allocations, the model ${mine}`);
      }
      this.call(`getHeapBudgets(${a.label})`, { kind: "ok" }, () => a.getHeapBudgets());
      this.call(`getLostAllocationStatistics(${a.label})`, { kind: "ok" }, () => a.getLostAllocationStatistics());
    }
  }

  // ------------------------------------------------------------------ pools

  private opCreatePool(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    if (this.pools.filter((p) => p.alive && p.owner === owner).length >= 4) return;
    const algorithm = this.pick(["tlsf", "linear", "buddy"] as const);
    const id = ++this.ids;
    const options: any = { name: `pool${id}`, algorithm };
    if (algorithm === "buddy" || this.chance(0.7)) options.blockSize = 2 ** this.int(16, owner.limited ? 22 : 24);
    if (this.chance(0.5)) options.maxBlockCount = this.int(1, 4);
    if (this.chance(0.3)) options.minBlockCount = this.int(0, Math.min(1, options.maxBlockCount ?? 1));
    if (this.chance(0.2)) options.minAllocationAlignment = 2 ** this.int(0, 10);
    if (algorithm === "buddy" && this.chance(0.5)) options.minNodeSize = 2 ** this.int(4, 12);
    if (this.chance(0.2)) options.frameInUseCount = this.int(0, 2);
    const target = this.chance(0.5)
      ? { memoryTypeIndex: 0 }
      : { forBuffer: { size: 1024, usage: 0x80 }, allocation: { usage: MemoryUsage.Auto } };
    const r = this.call(
      `createPool(${owner.a.label}, ${show(options)})`,
      { kind: "ok", allow: [OutOfDeviceMemoryError] },
      () => owner.a.createPool(target, options),
    );
    if (!r.ok) return;
    this.pools.push({ id, p: r.value, owner, algorithm, alive: true, streamer: false });
  }

  private opPoolOps(): void {
    const pool = this.pickLive(this.pools);
    if (pool === null) return;
    const p = pool.p;
    const which = this.int(0, 5);
    if (which === 0) this.call(`${p.label}.getStatistics()`, { kind: "ok" }, () => p.getStatistics());
    else if (which === 1) this.call(`${p.label}.calculateStatistics()`, { kind: "ok" }, () => p.calculateStatistics());
    else if (which === 2) {
      const name = this.chance(0.3) ? null : `${p.label}`;
      this.call(`${p.label}.name = ${show(name)}`, { kind: "ok" }, () => {
        p.name = name;
      });
      if (name === null) p.name = `pool${pool.id}`;
    } else if (which === 3) {
      const r = this.call(`${p.label}.makeAllocationsLost()`, { kind: "ok" }, () => p.makeAllocationsLost());
      if (r.ok) this.checkLostRule(pool.owner);
    } else if (which === 4)
      this.call(`${p.label}.getLostAllocationStatistics()`, { kind: "ok" }, () => p.getLostAllocationStatistics());
    else
      this.hostile("Pool.name", "value", "string", (v) => {
        p.name = v as string;
      });
  }

  private opDestroyPool(): void {
    const pool = this.pickLive(this.pools);
    if (pool === null) return;
    if (pool.streamer) {
      // A streamer's pool is the streamer's to destroy (its images may be in frames in flight): refused.
      this.call(`destroyPool(${pool.p.label}) [a streamer's]`, { kind: "state", prefix: "Pool" }, () =>
        pool.p.destroy(),
      );
      return;
    }
    const live = this.allocations.filter((m) => m.alive && m.pool === pool);
    const dropped = this.takeDropped((m) => m.pool === pool);
    const expected = [...live.filter((m) => !m.lost).map((m) => m.name), ...dropped];
    const before = pool.owner.leaks.length;
    const r = this.call(`destroyPool(${pool.p.label}, ${expected.length} live)`, { kind: "ok" }, () =>
      pool.p.destroy(),
    );
    if (!r.ok) return;
    pool.alive = false;
    // A streamer whose pool was taken from under it is dead too (its use throws DestroyedResourceError).
    for (const st of this.streamers) if (st.id === pool.streamerId) st.alive = false;
    for (const m of live) {
      m.alive = false;
      this.releaseRaw(m);
      if (!m.a.destroyed)
        this.fail("model-mismatch", `allocation '${m.name}' of destroyed pool ${pool.p.label} is not destroyed`);
      if (m.view !== null && m.view.byteLength !== 0)
        this.fail("model-mismatch", `allocation '${m.name}' of destroyed pool keeps a mapped view`);
    }
    this.expectLeaks(pool.owner, before, expected, `pool ${pool.p.label}`);
  }

  /** The names of the dropped allocations `which` selects; they are reported now, so they are taken off the list. */
  private takeDropped(which: (m: AllocationModel) => boolean): string[] {
    const names: string[] = [];
    for (const m of this.allocations) {
      if (m.dropped && which(m)) {
        m.dropped = false;
        names.push(m.name);
      }
    }
    return names;
  }

  /** The buffers of `owner`'s live batches. */
  private batchBuffers(owner: AllocatorModel): number {
    let n = 0;
    for (const x of this.batches) if (x.alive && x.owner === owner) n += x.sizes.length;
    return n;
  }

  /** The leak names of `owner`'s live batches' buffers (its destroy() frees and reports them), now marked gone. */
  private batchesGone(owner: AllocatorModel): string[] {
    const names: string[] = [];
    for (const x of this.batches) {
      if (!x.alive || x.owner !== owner) continue;
      x.alive = false;
      for (let i = 0; i < x.sizes.length; i++) names.push(x.name);
    }
    return names;
  }

  /** The leak reports since index `before` must be exactly `names` (as a multiset). */
  private expectLeaks(owner: AllocatorModel, before: number, names: string[], what: string): void {
    const got = owner.leaks
      .slice(before)
      .map((l) => l.name ?? "(unnamed)")
      .sort();
    const want = [...names].sort();
    if (got.join(",") !== want.join(",")) {
      this.fail("leak", `${what} reported leaks [${got.join(", ")}], the model expected [${want.join(", ")}]`);
    }
  }

  // ------------------------------------------------------------------ lost allocations

  private opLost(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const a = owner.a;
    const which = this.int(0, 3);
    if (which === 0 && owner.frames.size === 0) {
      const frame = a.currentFrameIndex + this.int(0, 3);
      const r = this.call(`setCurrentFrameIndex(${a.label}, ${frame})`, { kind: "ok" }, () =>
        a.setCurrentFrameIndex(frame),
      );
      if (r.ok && a.currentFrameIndex !== frame) this.fail("model-mismatch", "currentFrameIndex does not read back");
    } else if (which === 1) {
      const m = this.liveAllocation((x) => x.owner === owner);
      if (m === null) return;
      const r = this.call(`touch(${m.name})`, { kind: "ok" }, () => m.a.touch());
      if (!r.ok) return;
      if (r.value !== !m.lost)
        this.fail("model-mismatch", `touch(${m.name}) gave ${r.value}, the model says lost=${m.lost}`);
      if (!m.lost) m.lastUse = a.currentFrameIndex;
    } else if (which === 2) {
      const m = this.liveAllocation((x) => x.lost);
      if (m === null) return;
      this.call(`${m.name}.offset [lost]`, { kind: "dead", lost: true }, () => m.a.offset);
    } else {
      // A big canMakeOtherLost buffer: makes room by taking what is out of use.
      const name = `taker${++this.ids}`;
      const size = this.size(owner.limited ? 4 * MiB : 8 * MiB);
      const options: any = { name, canMakeOtherLost: true, usage: MemoryUsage.GpuOnly };
      const r = this.call(
        `createBuffer(${a.label}, ${size}, canMakeOtherLost)`,
        { kind: "ok", allow: [OutOfDeviceMemoryError] },
        () => a.createBuffer({ size, usage: 0x80 }, options),
      );
      this.checkLostRule(owner);
      if (r.ok) this.register(owner, null, "buffer", name, r.value.allocation, r.value.buffer, options);
    }
  }

  // ------------------------------------------------------------------ hostile calls on allocators

  private opHostileAllocator(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const a = owner.a;
    const cleanupBuffer = (r: any): void => {
      if (r && r.allocation) a.destroyBuffer(r.buffer, r.allocation);
    };
    const cleanupImage = (r: any): void => {
      if (r && r.allocation) a.destroyImage(r.image, r.allocation);
    };
    const which = this.int(0, 15);
    switch (which) {
      case 15: {
        if (!this.allowed("hostile:unknown-bits-image")) return;
        const usage = this.pick([0x80000000 | 0x4, 0x40000 | 0x4]);
        this.call(
          `createImage(usage=0x${usage.toString(16)}) [unknown bits]`,
          { kind: "hostile", arg: "usage" },
          () => a.createImage({ format: 37, extent: { width: 4, height: 4 }, usage }),
          cleanupImage,
        );
        return;
      }
      case 0:
        return this.hostile(
          "createBuffer",
          "size",
          "size",
          (v) => a.createBuffer({ size: v as number, usage: 0x80 }),
          cleanupBuffer,
        );
      case 1:
        return this.hostile(
          "createBuffer",
          "usage",
          "bits",
          (v) => a.createBuffer({ size: 64, usage: v as number }),
          cleanupBuffer,
        );
      case 2:
        return this.hostile(
          "createBuffer",
          "strategy",
          "enum",
          (v) => a.createBuffer({ size: 64, usage: 0x80 }, { strategy: v as any }),
          cleanupBuffer,
        );
      case 3:
        return this.hostile(
          "createBuffer",
          "hostAccess",
          "enum",
          (v) => a.createBuffer({ size: 64, usage: 0x80 }, { hostAccess: v as any }),
          cleanupBuffer,
        );
      case 4:
        return this.hostile(
          "createBuffer",
          "priority",
          "unit",
          (v) => a.createBuffer({ size: 64, usage: 0x80 }, { priority: v as number }),
          cleanupBuffer,
        );
      case 5:
        return this.hostile(
          "createBuffer",
          "allocationOptions",
          "object",
          (v) => a.createBuffer({ size: 64, usage: 0x80 }, v as any),
          cleanupBuffer,
        );
      case 6:
        return this.hostile(
          "createImage",
          "width",
          "size",
          (v) => a.createImage({ format: 37, extent: { width: v as number, height: 4 }, usage: 0x4 }),
          cleanupImage,
        );
      case 7:
        return this.hostile(
          "createImage",
          "format",
          "enum",
          (v) => a.createImage({ format: v as number, extent: { width: 4, height: 4 }, usage: 0x4 }),
          cleanupImage,
        );
      case 8:
        return this.hostile(
          "allocateMemory",
          "requirements",
          "object",
          (v) => a.allocateMemory(v as any, { usage: MemoryUsage.GpuOnly }),
          (m) => a.freeMemory(m as Allocation),
        );
      case 9:
        return this.hostile(
          "allocateMemory",
          "alignment",
          "size",
          (v) =>
            a.allocateMemory({ size: 64, alignment: v as number, memoryTypeBits: 1 }, { usage: MemoryUsage.GpuOnly }),
          (m) => a.freeMemory(m as Allocation),
        );
      case 10: {
        if (!this.allowed("hostile:unknown-bits")) return;
        const bits = this.pick([0xffffffff, 0x80000000 | 0x80, 0x40000000 | 0x80]);
        this.call(
          `createBuffer(usage=0x${bits.toString(16)}) [unknown bits]`,
          { kind: "hostile", arg: "usage" },
          () => a.createBuffer({ size: 64, usage: bits }),
          cleanupBuffer,
        );
        return;
      }
      case 11: {
        if (!this.allowed("hostile:unknown-bits")) return;
        const flags = this.pick([7, 1, 0x10000]);
        this.call(
          `createBuffer(flags=${flags}) [sparse/unknown bits]`,
          { kind: "hostile", arg: "flags" },
          () => a.createBuffer({ size: 64, usage: 0x80, flags }),
          cleanupBuffer,
        );
        return;
      }
      case 12: {
        if (!this.allowed("hostile:vma-precondition")) return;
        this.call(
          `createBuffer(Auto, mapped, no hostAccess) [VMA precondition]`,
          { kind: "hostile", arg: "mapped" },
          () => a.createBuffer({ size: 64, usage: 0x80 }, { usage: MemoryUsage.Auto, mapped: true }),
          cleanupBuffer,
        );
        return;
      }
      case 13: {
        if (!this.allowed("hostile:vma-precondition")) return;
        this.call(
          `allocateMemory(usage=Auto) [VMA precondition]`,
          { kind: "hostile", arg: "usage" },
          () => a.allocateMemory({ size: 64, alignment: 1, memoryTypeBits: 1 }, { usage: MemoryUsage.Auto }),
          (m) => a.freeMemory(m as Allocation),
        );
        return;
      }
      default: {
        // Another allocator's allocation.
        const other = this.liveAllocation((m) => m.owner !== owner && !m.lost);
        if (other === null) return;
        this.call(
          `${a.label}.freeMemory(${other.name}) [other allocator]`,
          { kind: "hostile", arg: "allocation" },
          () => a.freeMemory(other.a),
        );
      }
    }
  }

  private opDestroyAllocator(): void {
    const owner = this.anyAllocator();
    if (owner === null) return;
    const framesAlive = [...owner.frames].some((f) => f.alive);
    if (framesAlive && !this.allowed("destroy:allocator-under-frames")) return;
    if (!framesAlive && this.chance(0.5)) {
      // The orderly way first (children before the parent), half the time.
      for (const m of this.allocations) if (m.owner === owner && m.alive) this.freeModel(m);
      for (const x of this.batches) if (x.owner === owner && x.alive) this.destroyBatch(x);
      for (const p of this.pools)
        if (p.owner === owner && p.alive && !p.streamer)
          this.destroyPoolModel(
            p,
            this.takeDropped((m) => m.pool === p),
          );
    }
    this.destroyAllocatorModel(owner);
  }

  private freeModel(m: AllocationModel): void {
    this.call(`free(${m.name}) [before parent]`, { kind: "ok" }, () => this.freeCall(m));
    m.alive = false;
  }

  private destroyPoolModel(p: PoolModel, dropped: string[]): void {
    const before = p.owner.leaks.length;
    this.call(`destroyPool(${p.p.label}, ${dropped.length} dropped)`, { kind: "ok" }, () => p.p.destroy());
    p.alive = false;
    this.expectLeaks(p.owner, before, dropped, `pool ${p.p.label}`);
  }

  private destroyAllocatorModel(owner: AllocatorModel): void {
    const live = this.allocations.filter((m) => m.owner === owner && m.alive && !m.lost);
    const dropped = this.takeDropped((m) => m.owner === owner);
    const batchLeaks = this.batchBuffers(owner);
    const before = owner.leaks.length;
    this.cascadeParents.add(`Allocator '${owner.a.label}'`);
    for (const f of owner.frames) if (f.alive) this.cascadeParents.add(`FrameManager '${f.fm.label}'`);
    const r = this.call(
      `destroyAllocator(${owner.a.label}, ${live.length} live, ${dropped.length} dropped)`,
      { kind: "ok" },
      () => owner.a.destroy(),
    );
    if (!r.ok) return;
    owner.alive = false;
    const batchNames = this.batchesGone(owner);
    if (batchNames.length !== batchLeaks) this.fail("model-mismatch", "the batch model changed under destroy()");
    for (const m of this.allocations) {
      if (m.owner !== owner || !m.alive) continue;
      m.alive = false;
      this.releaseRaw(m);
      if (!m.a.destroyed) this.fail("model-mismatch", `allocation '${m.name}' is not destroyed with its allocator`);
      if (m.view !== null && m.view.byteLength !== 0)
        this.fail("model-mismatch", `allocation '${m.name}' keeps a mapped view after its allocator was destroyed`);
    }
    for (const p of this.pools) if (p.owner === owner) p.alive = false;
    // Its frame managers and their streamers and resources went with it: any use throws DestroyedResourceError.
    for (const f of owner.frames) {
      if (!f.alive) continue;
      f.alive = false;
      f.open = false;
      for (const s of f.streamers) s.alive = false;
      for (const b of f.buffers) b.alive = false;
      for (const t of f.textures) t.alive = false;
      this.call(`${f.fm.label}.beginFrame() [allocator destroyed]`, { kind: "dead" }, () => f.fm.beginFrame());
    }
    // Frame managers and streamers over it allocate things the model does not name: compare names only without them.
    if (owner.frames.size === 0)
      this.expectLeaks(
        owner,
        before,
        [...live.map((m) => m.name), ...dropped, ...batchNames],
        `allocator ${owner.a.label}`,
      );
    // Use after destroy throws.
    this.call(`${owner.a.label}.createBuffer [destroyed]`, { kind: "dead" }, () =>
      owner.a.createBuffer({ size: 16, usage: 0x80 }),
    );
  }

  // ------------------------------------------------------------------ virtual blocks

  private opCreateVirtualBlock(): void {
    if (this.virtuals.filter((v) => v.alive).length >= 4) return;
    const algorithm = this.pick(["tlsf", "linear", "buddy"] as const);
    const size = this.chance(0.5) ? 2 ** this.int(8, 24) : this.int(1, 1 << 22);
    const id = ++this.ids;
    const r = this.call(`createVirtualBlock(${algorithm}, ${size})`, { kind: "ok" }, () =>
      createVirtualBlock({ size, algorithm, label: `vb${id}`, onLeaks: () => {} }),
    );
    if (!r.ok) return;
    this.virtuals.push({ id, vb: r.value, size, algorithm, alive: true, allocs: [], freed: false });
  }

  private opVirtualAllocate(): void {
    const v = this.pickLive(this.virtuals);
    if (v === null) return;
    const size =
      this.chance(0.05) && this.allowed("semantics:virtual-too-large")
        ? v.size + this.int(1, 100)
        : this.size(Math.max(2, v.size / 4));
    let alignment = 2 ** this.int(0, 8);
    if (this.chance(0.1) && this.allowed("semantics:virtual-alignment-0")) alignment = 0;
    // An upper-address allocation in a linear block used as a ring buffer is refused with a RangeError.
    const upper =
      v.algorithm === "linear" && this.chance(0.3) && (!v.freed || this.allowed("virtual:linear-upper-on-ring"));
    const fast = this.chance(0.3);
    const expect: Expect = {
      kind: "ok",
      allow: upper ? [OutOfDeviceMemoryError, RangeError] : [OutOfDeviceMemoryError],
    };
    if (fast) {
      const r = this.call(`${v.vb.label}.allocateOffset(${size}, ${alignment}${upper ? ", upper" : ""})`, expect, () =>
        v.vb.allocateOffset(size, alignment, upper ? 0x40 : 0),
      );
      if (!r.ok) return;
      if (r.value < 0) return; // no room: -1
      this.addVirtual(v, null, v.vb.lastHandle, r.value, size, alignment);
    } else {
      const r = this.call(`${v.vb.label}.allocate(${size}, align ${alignment}${upper ? ", upper" : ""})`, expect, () =>
        v.vb.allocate(size, { alignment, upperAddress: upper, userData: this.int(0, 100) }),
      );
      if (!r.ok) return;
      this.addVirtual(v, r.value, r.value.handle, r.value.offset, size, alignment);
    }
  }

  private addVirtual(
    v: VirtualModel,
    va: VirtualAllocation | null,
    handle: number,
    offset: number,
    size: number,
    alignment: number,
  ): void {
    if (offset % Math.max(1, alignment) !== 0)
      this.fail("model-mismatch", `${v.vb.label}: offset ${offset} not aligned to ${alignment}`);
    if (offset < 0 || offset + size > v.size)
      this.fail("model-mismatch", `${v.vb.label}: [${offset}, ${offset + size}) outside the block of ${v.size}`);
    for (const o of v.allocs) {
      if (offset < o.offset + o.size && o.offset < offset + size) {
        this.fail(
          "model-mismatch",
          `${v.vb.label} (${v.algorithm}): [${offset}, ${offset + size}) overlaps [${o.offset}, ${o.offset + o.size})`,
        );
      }
    }
    v.allocs.push({ va, handle, offset, size });
  }

  private opVirtualFree(): void {
    const v = this.pickLive(this.virtuals);
    if (v === null || v.allocs.length === 0) return;
    const i = this.int(0, v.allocs.length - 1);
    const x = v.allocs[i]!;
    if (x.va !== null && this.chance(0.7)) {
      this.call(`${v.vb.label}.free(@${x.offset})`, { kind: "ok" }, () => v.vb.free(x.va!));
      if (!x.va.freed) this.fail("model-mismatch", "virtual allocation not freed after free()");
      if (this.chance(0.2))
        this.call(`${v.vb.label}.free(@${x.offset}) [again]`, { kind: "ok" }, () => v.vb.free(x.va!));
    } else {
      this.call(`${v.vb.label}.freeHandle(${x.handle})`, { kind: "ok" }, () => v.vb.freeHandle(x.handle));
    }
    v.allocs.splice(i, 1);
    v.freed = true;
  }

  private opVirtualMisc(): void {
    const v = this.pickLive(this.virtuals);
    if (v === null) return;
    const which = this.int(0, 5);
    if (which === 0) {
      const r = this.call(`${v.vb.label}.statistics()`, { kind: "ok" }, () => v.vb.statistics());
      if (r.ok) {
        const count = v.allocs.length;
        const bytes = v.allocs.reduce((s, x) => s + x.size, 0);
        if (r.value.allocationCount !== count || r.value.allocationBytes !== bytes) {
          this.fail(
            "model-mismatch",
            `${v.vb.label}: statistics say ${r.value.allocationCount} allocations / ${r.value.allocationBytes} bytes, the model ${count} / ${bytes}`,
          );
        }
      }
    } else if (which === 1) {
      const r = this.call(`${v.vb.label}.buildStatsString()`, { kind: "ok" }, () =>
        v.vb.buildStatsString(this.chance(0.7)),
      );
      if (r.ok) {
        try {
          parseVirtualBlockStatsString(r.value);
        } catch (error) {
          this.fail("model-mismatch", `${v.vb.label}.buildStatsString does not parse: ${describeError(error)}`);
        }
      }
    } else if (which === 2) {
      const r = this.call(`${v.vb.label}.clear()`, { kind: "ok" }, () => v.vb.clear());
      if (r.ok && r.value !== v.allocs.length)
        this.fail("model-mismatch", `${v.vb.label}.clear() freed ${r.value}, the model had ${v.allocs.length}`);
      v.allocs = [];
      v.freed = false;
    } else if (which === 3) {
      const x = v.allocs.find((a) => a.va !== null);
      if (x === undefined) return;
      const r = this.call(`${v.vb.label}.getAllocationInfo(@${x.offset})`, { kind: "ok" }, () =>
        v.vb.getAllocationInfo(x.va!),
      );
      if (r.ok && (r.value.offset !== x.offset || r.value.size !== x.size))
        this.fail(
          "model-mismatch",
          `${v.vb.label}: info ${r.value.offset}+${r.value.size}, the model ${x.offset}+${x.size}`,
        );
    } else if (which === 4) {
      if (!this.allowed("semantics:virtual-free-null")) return;
      this.call(`${v.vb.label}.free(null)`, { kind: "ok" }, () => v.vb.free(null as any));
    } else {
      const leaks = v.allocs.length;
      const r = this.call(`${v.vb.label}.destroy(${leaks} live)`, { kind: "ok" }, () => v.vb.destroy());
      v.alive = false;
      if (r.ok && r.value.length !== leaks)
        this.fail("leak", `${v.vb.label}.destroy() reported ${r.value.length} leaks, the model has ${leaks}`);
      this.call(`${v.vb.label}.allocate [destroyed]`, { kind: "dead" }, () => v.vb.allocate(16));
    }
  }

  private opHostileVirtual(): void {
    const v = this.pickLive(this.virtuals);
    if (v === null) return;
    const which = this.int(0, 4);
    const cleanup = (x: unknown): void => {
      if (typeof x === "object" && x !== null) v.vb.free(x as VirtualAllocation);
    };
    if (which === 0) this.hostile("VirtualBlock.allocate", "size", "size", (s) => v.vb.allocate(s as number), cleanup);
    else if (which === 1)
      this.hostile(
        "VirtualBlock.allocate",
        "alignment",
        "count",
        (s) => v.vb.allocate(16, { alignment: s as number }),
        cleanup,
      );
    else if (which === 2)
      this.hostile(
        "VirtualBlock.allocate",
        "strategy",
        "enum",
        (s) => v.vb.allocate(16, { strategy: s as any }),
        cleanup,
      );
    else if (which === 3)
      this.hostile("VirtualBlock.freeHandle", "handle", "handle", (h) => v.vb.freeHandle(h as number));
    else
      this.hostile(
        "createVirtualBlock",
        "size",
        "size",
        (s) => createVirtualBlock({ size: s as number }),
        (b) => (b as VirtualBlock).destroy(),
      );
  }

  // ------------------------------------------------------------------ frame managers

  private opCreateFrames(): void {
    const owner = this.anyAllocator();
    if (owner === null || this.frames.filter((f) => f.alive).length >= 2) return;
    // A second manager over one allocator is refused: the allocator's frame index is its manager's frame number.
    const driving = [...owner.frames].find((f) => f.alive);
    if (driving !== undefined) {
      this.call(
        `createFrameManager(${owner.a.label}) [already has ${driving.fm.label}]`,
        { kind: "state", prefix: "createFrameManager" },
        () => createFrameManager(this.context, owner.a),
      );
      return;
    }
    const id = ++this.ids;
    const ring = (): any =>
      this.chance(0.5)
        ? { size: 2 ** this.int(12, 18), maxSize: 2 ** this.int(18, 22), policy: this.pick(["grow", "wait"]) }
        : undefined;
    const options: any = { label: `frames${id}`, framesInFlight: this.pick([2, 3]) };
    const staging = ring();
    if (staging) options.stagingRing = staging;
    const transient = ring();
    if (transient) options.transientRing = transient;
    const r = this.call(
      `createFrameManager(${owner.a.label}, ${show(options)})`,
      { kind: "ok", allow: [OutOfDeviceMemoryError] },
      () => createFrameManager(this.context, owner.a, options),
    );
    if (!r.ok) return;
    const f: FramesModel = {
      id,
      fm: r.value,
      owner,
      alive: true,
      open: false,
      submitted: 0,
      buffers: [],
      textures: [],
      downloads: [],
      transients: [],
      streamers: new Set(),
    };
    owner.frames.add(f);
    this.frames.push(f);
  }

  private opFrame(): void {
    const f = this.pickLive(this.frames);
    if (f === null) return;
    if (this.chance(0.05)) {
      // Misuse: begin while open, end while closed.
      if (f.open)
        this.call(`${f.fm.label}.beginFrame() [open]`, { kind: "state", prefix: "FrameManager" }, () =>
          f.fm.beginFrame(),
        );
      else
        this.call(`${f.fm.label}.endFrame() [closed]`, { kind: "state", prefix: "FrameManager" }, () =>
          f.fm.endFrame(),
        );
      return;
    }
    if (!f.open) {
      const r = this.call(`${f.fm.label}.beginFrame()`, { kind: "ok" }, () => f.fm.beginFrame());
      if (r.ok) {
        f.open = true;
        this.counts.frames++;
      }
      return;
    }
    this.endFrame(f);
  }

  private endFrame(f: FramesModel): void {
    // Transient memory: every allocation of the frame still holds what was written (no overlap in the ring).
    for (const t of f.transients) {
      const at = firstDifference(t.bytes, t.pattern, null);
      if (at >= 0)
        this.fail(
          "content-mismatch",
          `${f.fm.label}: transient allocation byte ${at} was overwritten before the frame was submitted`,
        );
    }
    f.transients = [];
    for (const s of f.streamers) {
      if (s.alive && s.updatedInFrame !== this.counts.frames) {
        s.updatedInFrame = this.counts.frames;
        const u = this.call(`${s.s.label}.update()`, { kind: "ok" }, () => s.s.update());
        if (u.ok && u.value.budgetUsedBytes > s.s.budgetBytes) {
          this.fail(
            "model-mismatch",
            `${s.s.label}: ${u.value.budgetUsedBytes} bytes in use, above its budget of ${s.s.budgetBytes}`,
          );
        }
      }
    }
    const serial = f.fm.recordingSerial;
    const r = this.call(`${f.fm.label}.endFrame()`, { kind: "ok" }, () => f.fm.endFrame());
    f.open = false;
    if (!r.ok) return;
    f.submitted = serial;
    for (const d of f.downloads) {
      if (d.expected === null && d.serial === serial) {
        const s = d.snapshot();
        d.expected = s.expected;
        d.defined = s.defined;
      }
    }
  }

  private liveFrames(): FramesModel | null {
    return this.pickLive(this.frames);
  }

  private opFrameCreate(): void {
    const f = this.liveFrames();
    if (f === null) return;
    const n = ++this.ids;
    if (this.chance(0.6)) {
      const size = this.size(f.owner.limited ? MiB : 4 * MiB);
      const usage = this.pick([0x80, 0x40, 0x10, 0x20]);
      // Some persistently mapped, as VMA's "advanced data uploading" makes them: their uploads may be written in place.
      const memory = this.chance(0.3)
        ? this.pick([
            { usage: MemoryUsage.GpuOnly },
            { usage: MemoryUsage.Auto },
            { usage: MemoryUsage.AutoPreferDevice },
            { hostAccess: "sequentialWrite", allowTransferInstead: true, mapped: true } as const,
          ])
        : undefined;
      const r = this.call(
        `${f.fm.label}.createBuffer(fb${n}, ${size})`,
        { kind: "ok", allow: [OutOfDeviceMemoryError] },
        () => f.fm.createBuffer({ label: `fb${n}`, size, usage, memory }),
      );
      if (!r.ok) return;
      f.buffers.push({ b: r.value, size, shadow: new Uint8Array(size), defined: new Uint8Array(size), alive: true });
    } else {
      const [format, texel] = this.pick(FORMATS);
      const width = this.size(256);
      const height = this.size(256);
      const mips = this.int(1, Math.floor(Math.log2(Math.max(width, height))) + 1);
      const layers = this.chance(0.2) ? this.int(2, 4) : 1;
      const r = this.call(
        `${f.fm.label}.createTexture(ft${n}, ${width}x${height} f${format} mips ${mips} layers ${layers})`,
        { kind: "ok", allow: [OutOfDeviceMemoryError] },
        () => f.fm.createTexture({ label: `ft${n}`, width, height, format, mipLevels: mips, arrayLayers: layers }),
      );
      if (!r.ok) return;
      const subs = mips * layers;
      const shadow: Uint8Array[] = [];
      const defined: Uint8Array[] = [];
      for (let m = 0; m < mips; m++) {
        for (let l = 0; l < layers; l++) {
          const bytes = Math.max(1, width >> m) * Math.max(1, height >> m) * texel;
          shadow.push(new Uint8Array(bytes));
          defined.push(new Uint8Array(bytes));
        }
      }
      f.textures.push({
        t: r.value,
        width,
        height,
        mips,
        layers,
        texel,
        shadow,
        defined,
        contents: new Array(subs).fill(false),
        uploaded: new Array(subs).fill(false),
        alive: true,
      });
    }
  }

  private opUpload(): void {
    const f = this.liveFrames();
    if (f === null) return;
    if (this.chance(0.6) || f.textures.every((t) => !t.alive)) {
      const b = this.pickLive(f.buffers);
      if (b === null) return;
      const offset = this.int(0, b.size - 1);
      const n = this.int(1, Math.min(b.size - offset, this.size(256 * KiB)));
      const data = this.bytes(n);
      const view = this.chance(0.3) ? new DataView(data.buffer) : data;
      const r = this.call(`${f.fm.label}.upload(${b.b.label}, ${n} bytes @${offset})`, OOM_OK, () =>
        f.fm.upload(b.b, view, offset),
      );
      if (r.ok) {
        b.shadow.set(data, offset);
        b.defined.fill(1, offset, offset + n);
      } else b.defined.fill(0, offset, offset + n); // staging memory ran out part way: those bytes are unknown now
      this.sourceChanged(f, b.b);
      return;
    }
    const t = this.pickLive(f.textures);
    if (t === null) return;
    const mip = this.int(0, t.mips - 1);
    const layer = this.int(0, t.layers - 1);
    const mw = Math.max(1, t.width >> mip);
    const mh = Math.max(1, t.height >> mip);
    const x = this.int(0, mw - 1);
    const y = this.int(0, mh - 1);
    const w = this.int(1, mw - x);
    const h = this.int(1, mh - y);
    const data = this.bytes(w * h * t.texel);
    const r = this.call(
      `${f.fm.label}.uploadImage(${t.t.label}, mip ${mip} layer ${layer} ${x},${y} ${w}x${h})`,
      OOM_OK,
      () => f.fm.uploadImage(t.t, data, { mipLevel: mip, arrayLayer: layer, x, y, width: w, height: h }),
    );
    const sub = mip * t.layers + layer;
    if (!r.ok) {
      t.defined[sub]!.fill(0); // staging memory ran out part way: the region's bytes are unknown now
      this.sourceChanged(f, t.t);
      return;
    }
    const rowBytes = mw * t.texel;
    for (let row = 0; row < h; row++) {
      const at = (y + row) * rowBytes + x * t.texel;
      t.shadow[sub]!.set(data.subarray(row * w * t.texel, (row + 1) * w * t.texel), at);
      t.defined[sub]!.fill(1, at, at + w * t.texel);
    }
    t.contents[sub] = true;
    t.uploaded[sub] = true;
    this.sourceChanged(f, t.t);
  }

  /** An upload changed `source`: its downloads not yet submitted may see the new bytes or the ones before. */
  private sourceChanged(f: FramesModel, source: object): void {
    for (const d of f.downloads)
      if (d.source === source && d.expected === null && !d.settled) d.candidates.push(d.snapshot());
  }

  private opDownload(): void {
    const f = this.liveFrames();
    if (f === null) return;
    if (this.chance(0.6) || f.textures.every((t) => !t.alive)) {
      const b = this.pickLive(f.buffers);
      if (b === null) return;
      const offset = this.int(0, b.size - 1);
      const n = this.int(1, b.size - offset);
      const serial = f.fm.recordingSerial;
      const r = this.call(`${f.fm.label}.download(${b.b.label}, @${offset}, ${n})`, OOM_OK, () =>
        f.fm.download(b.b, offset, n),
      );
      if (!r.ok) return;
      this.track(f, b.b, `${b.b.label}@${offset}+${n}`, serial, r.value, () => ({
        expected: b.shadow.slice(offset, offset + n),
        defined: b.defined.slice(offset, offset + n),
      }));
      return;
    }
    const t = this.pickLive(f.textures);
    if (t === null) return;
    const mip = this.int(0, t.mips - 1);
    const layer = this.int(0, t.layers - 1);
    const sub = mip * t.layers + layer;
    const mw = Math.max(1, t.width >> mip);
    const mh = Math.max(1, t.height >> mip);
    const x = this.int(0, mw - 1);
    const y = this.int(0, mh - 1);
    const w = this.int(1, mw - x);
    const h = this.int(1, mh - y);
    const desc = `${f.fm.label}.downloadImage(${t.t.label}, mip ${mip} layer ${layer} ${x},${y} ${w}x${h})`;
    if (!t.contents[sub]) {
      this.call(`${desc} [no contents]`, { kind: "hostile", arg: "contents" }, () =>
        f.fm.downloadImage(t.t, { mipLevel: mip, arrayLayer: layer, x, y, width: w, height: h }),
      );
      return;
    }
    // Marked used but never written: its layout is UNDEFINED (a typed refusal or a plain read are both fine).
    if (!t.uploaded[sub] && !this.allowed("download:image-marked-only")) return;
    const serial = f.fm.recordingSerial;
    const r = this.call(
      desc,
      { kind: "ok", allow: t.uploaded[sub] ? [OutOfDeviceMemoryError] : [RangeError, OutOfDeviceMemoryError] },
      () => f.fm.downloadImage(t.t, { mipLevel: mip, arrayLayer: layer, x, y, width: w, height: h }),
    );
    if (!r.ok) return;
    this.track(f, t.t, `${t.t.label} mip ${mip} layer ${layer}`, serial, r.value, () => {
      const expected = new Uint8Array(w * h * t.texel);
      const defined = new Uint8Array(w * h * t.texel);
      const rowBytes = mw * t.texel;
      for (let row = 0; row < h; row++) {
        const at = (y + row) * rowBytes + x * t.texel;
        expected.set(t.shadow[sub]!.subarray(at, at + w * t.texel), row * w * t.texel);
        defined.set(t.defined[sub]!.subarray(at, at + w * t.texel), row * w * t.texel);
      }
      return { expected, defined };
    });
  }

  private track(
    f: FramesModel,
    source: object,
    label: string,
    serial: number,
    promise: Promise<Uint8Array>,
    snapshot: DownloadModel["snapshot"],
  ): void {
    const d: DownloadModel = {
      label,
      serial,
      frames: f,
      expected: null,
      defined: null,
      snapshot,
      source,
      candidates: [snapshot()],
      inFrame: f.open,
      settled: false,
      done: null,
      result: null,
      error: null,
    };
    d.done = promise.then(
      (bytes) => {
        d.settled = true;
        d.result = bytes;
      },
      (error) => {
        d.settled = true;
        d.error = error;
      },
    );
    f.downloads.push(d);
  }

  /** Checks the downloads that have settled; `all` waits for every one (after a waitIdle where the bug needs it). */
  private async opAwaitDownloads(): Promise<void> {
    const f = this.liveFrames();
    if (f === null) return;
    await this.settleDownloads(f, this.chance(0.5));
  }

  private async settleDownloads(f: FramesModel, all: boolean): Promise<void> {
    if (all && f.alive) {
      if (f.open) this.endFrame(f);
      // A download carried by the last submitted frame settles only at a later beginFrame/waitIdle (issue item 7).
      if (!this.allowed("await:download-without-next-frame") || this.chance(0.5)) {
        this.call(`${f.fm.label}.waitIdle()`, { kind: "ok" }, () => f.fm.waitIdle());
      }
      this.log(`await ${f.downloads.length} downloads of ${f.fm.label}`);
      for (const d of f.downloads) {
        // Not yet submitted (recorded between frames: the next frame carries it): nothing to wait for yet.
        if (d.settled || d.expected === null) continue;
        // A plain await: a download that never settles leaves Node nothing to run, and it exits with code 13.
        await d.done;
      }
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const rest: DownloadModel[] = [];
    for (const d of f.downloads) {
      if (!d.settled) {
        rest.push(d);
        continue;
      }
      this.judgeDownload(f, d);
    }
    f.downloads = rest;
  }

  private judgeDownload(f: FramesModel, d: DownloadModel): void {
    this.counts.downloadsChecked++;
    if (d.error !== null) {
      // Expected only when the manager went away before the frame was submitted.
      const neverSubmitted = !f.alive && (d.expected === null || f.owner.alive === false);
      if (neverSubmitted && d.error instanceof DestroyedResourceError) return;
      if (
        neverSubmitted &&
        d.error instanceof Error &&
        /never submitted|destroyed/.test(d.error.message) &&
        !isInternal(d.error)
      )
        return;
      this.fail(
        isInternal(d.error) ? "untyped-error" : "unexpected-error",
        `download of ${d.label} (serial ${d.serial}) rejected: ${describeError(d.error)}`,
      );
    }
    if (d.expected === null) {
      // Resolved before its frame was submitted: only a download queued between frames, submitted on its own.
      if (d.inFrame)
        this.fail(
          "model-mismatch",
          `download of ${d.label} (serial ${d.serial}) resolved before its frame was submitted`,
        );
      const s = d.snapshot();
      d.expected = s.expected;
      d.defined = s.defined;
    }
    let at = -1;
    const seen = [...d.candidates, { expected: d.expected, defined: d.defined! }];
    for (let i = 0; i < d.result!.length && at < 0; i++) {
      if (!seen.some((c) => c.defined[i] !== 1 || c.expected[i] === d.result![i])) at = i;
    }
    if (d.result!.length !== d.expected.length)
      this.fail("content-mismatch", `download of ${d.label}: ${d.result!.length} bytes, expected ${d.expected.length}`);
    if (at >= 0)
      this.fail(
        "content-mismatch",
        `download of ${d.label} (serial ${d.serial}) byte ${at}: read ${d.result![at]}, uploaded ${d.expected[at]}`,
      );
  }

  private opTransient(): void {
    const f = this.liveFrames();
    if (f === null) return;
    if (this.chance(0.15)) {
      if (this.chance(0.5))
        this.hostile("allocateTransient", "size", "size", (s) => f.fm.allocateTransient(s as number));
      else this.hostile("allocateTransient", "usage", "enum", (u) => f.fm.allocateTransient(16, u as any));
      return;
    }
    const size = this.size(64 * KiB);
    const usage = this.pick(["uniform", "storage", "vertex", "index", "copy"] as const);
    const r = this.call(`${f.fm.label}.allocateTransient(${size}, ${usage})`, { kind: "ok", allow: [RangeError] }, () =>
      f.fm.allocateTransient(size, usage),
    );
    if (!r.ok) return;
    const bytes = r.value.bytes;
    if (bytes.length !== size) this.fail("model-mismatch", `transient of ${size} bytes has ${bytes.length}`);
    const pattern = this.bytes(size);
    bytes.set(pattern);
    if (f.open) f.transients.push({ bytes, pattern });
  }

  private opFrameResourceMisc(): void {
    const f = this.liveFrames();
    if (f === null) return;
    const which = this.int(0, 5);
    if (which === 0 || which === 1) {
      const b = this.pickLive(f.buffers);
      if (b === null) return;
      if (which === 0) this.call(`${b.b.label}.markUsed()`, { kind: "ok" }, () => b.b.markUsed());
      else {
        this.call(`${b.b.label}.destroy()`, { kind: "ok" }, () => b.b.destroy());
        b.alive = false;
        this.call(`${b.b.label}.handle [destroyed]`, { kind: "dead" }, () => b.b.handle);
        this.call(`upload(${b.b.label}) [destroyed]`, { kind: "dead" }, () => f.fm.upload(b.b, new Uint8Array(1)));
      }
    } else if (which === 2 || which === 3) {
      const t = this.pickLive(f.textures);
      if (t === null) return;
      if (which === 2) {
        this.call(`${t.t.label}.markUsed()`, { kind: "ok" }, () => t.t.markUsed());
        t.contents.fill(true);
      } else {
        this.call(`${t.t.label}.destroy()`, { kind: "ok" }, () => t.t.destroy());
        t.alive = false;
        this.call(`${t.t.label}.view [destroyed]`, { kind: "dead" }, () => t.t.view);
      }
    } else if (which === 4) {
      this.call(`${f.fm.label}.statistics`, { kind: "ok" }, () => f.fm.statistics);
    } else {
      this.call(`${f.fm.label}.waitIdle()`, { kind: "ok" }, () => f.fm.waitIdle());
    }
  }

  private opHostileFrames(): void {
    const f = this.liveFrames();
    if (f === null) return;
    const b = this.pickLive(f.buffers);
    const which = this.int(0, 6);
    if (which === 0)
      this.hostile(
        "FrameManager.createBuffer",
        "size",
        "size",
        (s) => f.fm.createBuffer({ label: "hostile", size: s as number, usage: 0x80 }),
        (x) => (x as Buffer).destroy(),
      );
    else if (which === 1)
      this.hostile(
        "FrameManager.createBuffer",
        "label",
        "string",
        (s) => f.fm.createBuffer({ label: s as string, size: 16, usage: 0x80 }),
        (x) => (x as Buffer).destroy(),
      );
    else if (which === 2)
      this.hostile(
        "FrameManager.createTexture",
        "format",
        "enum",
        (s) => f.fm.createTexture({ label: "hostile", width: 4, height: 4, format: s as number }),
        (x) => (x as Texture).destroy(),
      );
    else if (which === 3 && b !== null) {
      this.hostile("FrameManager.upload", "data", "object", (d) => f.fm.upload(b.b, d as any));
    } else if (which === 4 && b !== null) {
      if (!this.allowed("hostile:FrameManager.upload.data:detached")) return;
      const data = new ArrayBuffer(16);
      structuredClone(data, { transfer: [data] });
      this.call(`upload(${b.b.label}, detached ArrayBuffer)`, { kind: "hostile", arg: "data" }, () =>
        f.fm.upload(b.b, data),
      );
    } else if (which === 5 && b !== null) {
      this.hostile("FrameManager.download", "offset", "count", (o) => f.fm.download(b.b, o as number).catch(() => {}));
    } else if (which === 6) {
      // A buffer of another manager.
      const other = this.frames.find((g) => g !== f && g.alive && g.buffers.some((x) => x.alive));
      if (other === undefined) return;
      const ob = other.buffers.find((x) => x.alive)!;
      this.call(`${f.fm.label}.upload(${ob.b.label} of ${other.fm.label})`, { kind: "hostile", arg: "buffer" }, () =>
        f.fm.upload(ob.b, new Uint8Array(1)),
      );
    }
  }

  /** Hostile options and arguments on the rest of the surface: pools, allocators, frames, textures, streamers. */
  private opHostileMore(): void {
    const owner = this.anyAllocator();
    const f = this.liveFrames();
    const which = this.int(0, 11);
    const destroyPool = (p: unknown): void => void (p as Pool).destroy();
    switch (which) {
      case 0:
        if (owner)
          this.hostile(
            "createPool",
            "blockSize",
            "count",
            (v) => owner.a.createPool({ memoryTypeIndex: 0 }, { blockSize: v as number }),
            destroyPool,
          ); // 0 means VMA's size: "count" has no zero
        return;
      case 1:
        if (owner)
          this.hostile(
            "createPool",
            "algorithm",
            "enum",
            (v) => owner.a.createPool({ memoryTypeIndex: 0 }, { algorithm: v as any }),
            destroyPool,
          );
        return;
      case 2:
        if (owner)
          this.hostile(
            "createPool",
            "memoryTypeIndex",
            "count",
            (v) => owner.a.createPool({ memoryTypeIndex: v as number }),
            destroyPool,
          );
        return;
      case 3:
        if (owner && owner.frames.size === 0)
          this.hostile("setCurrentFrameIndex", "frameIndex", "count", (v) => owner.a.setCurrentFrameIndex(v as number));
        return;
      case 4:
        this.hostile(
          "createAllocator",
          "heapSizeLimits",
          "object",
          (v) => createAllocator(this.context, { heapSizeLimits: v as any }),
          (a) => (a as Allocator).destroy(),
        );
        return;
      case 5:
        if (owner)
          this.hostile(
            "createFrameManager",
            "framesInFlight",
            "count",
            (v) => createFrameManager(this.context, owner.a, { framesInFlight: v as number }),
            (x) => (x as FrameManager).destroy(),
          );
        return;
      case 6: {
        const t = f === null ? null : this.pickLive(f.textures);
        if (t !== null) this.hostile("Texture.assumeLayout", "layout", "count", (v) => t.t.assumeLayout(v as number));
        return;
      }
      case 7: {
        const t = f === null ? null : this.pickLive(f.textures);
        if (f !== null && t !== null)
          this.hostile("FrameManager.uploadImage", "region", "object", (v) =>
            f.fm.uploadImage(t.t, new Uint8Array(t.texel), v as any),
          );
        return;
      }
      case 8: {
        const t = f === null ? null : this.pickLive(f.textures);
        if (f !== null && t !== null)
          this.hostile("FrameManager.uploadImage", "mipLevel", "count", (v) =>
            f.fm.uploadImage(t.t, new Uint8Array(t.texel), { mipLevel: v as number, width: 1, height: 1 }),
          );
        return;
      }
      case 9: {
        const s = this.pickLive(this.streamers);
        if (s !== null)
          this.hostile(
            "TextureStreamer.register",
            "width",
            "size",
            (v) =>
              s.s.register({
                label: "hostile",
                width: v as number,
                height: 4,
                format: 37,
                load: () => new Uint8Array(0),
              }),
            (t) => (t as StreamedTexture).destroy(),
          );
        return;
      }
      case 10:
        if (f !== null)
          this.hostile(
            "createTextureStreamer",
            "budgetBytes",
            "size",
            (v) => createTextureStreamer(f.fm, { budgetBytes: v as number }),
            (x) => (x as TextureStreamer).destroy(),
          );
        return;
      default: {
        const m = this.liveAllocation((x) => x.kind === "buffer" && !x.lost);
        if (m !== null)
          this.hostile(
            "destroyBuffer",
            "buffer",
            "handle",
            (v) => m.owner.a.destroyBuffer(v, m.a),
            () => (m.alive = false),
          );
      }
    }
  }

  /**
   * Forgets an allocation without freeing it (the app lost track of it): its pool or allocator must report it by
   * name when destroyed.
   */
  private opDrop(): void {
    const m = this.liveAllocation((x) => !x.lost && !x.canBecomeLost && x.kind !== "memory" && x.mapCount === 0);
    if (m === null) return;
    this.log(`drop ${m.name}`);
    m.alive = false;
    m.dropped = true;
  }

  private opDestroyFrames(): void {
    const f = this.liveFrames();
    if (f === null) return;
    this.destroyFramesModel(f, this.chance(0.5));
  }

  private destroyFramesModel(f: FramesModel, orderly: boolean): void {
    const hasResources =
      f.buffers.some((b) => b.alive) || f.textures.some((t) => t.alive) || [...f.streamers].some((s) => s.alive);
    if (orderly || (hasResources && !this.allowed("destroy:frames-with-resources"))) {
      for (const s of f.streamers) if (s.alive) this.destroyStreamerModel(s);
      for (const b of f.buffers)
        if (b.alive) {
          this.call(`${b.b.label}.destroy() [before manager]`, { kind: "ok" }, () => b.b.destroy());
          b.alive = false;
        }
      for (const t of f.textures)
        if (t.alive) {
          this.call(`${t.t.label}.destroy() [before manager]`, { kind: "ok" }, () => t.t.destroy());
          t.alive = false;
        }
    }
    this.cascadeParents.add(`FrameManager '${f.fm.label}'`);
    this.call(`${f.fm.label}.destroy()`, { kind: "ok" }, () => f.fm.destroy());
    f.alive = false;
    f.open = false;
    for (const s of f.streamers) this.streamerGone(s);
    for (const b of f.buffers) {
      if (b.alive && !b.b.destroyed) this.fail("leak", `${f.fm.label}.destroy() left buffer '${b.b.label}' alive`);
      b.alive = false;
    }
    for (const t of f.textures) {
      if (t.alive && !t.t.destroyed) this.fail("leak", `${f.fm.label}.destroy() left texture '${t.t.label}' alive`);
      t.alive = false;
    }
    this.call(`${f.fm.label}.beginFrame() [destroyed]`, { kind: "dead" }, () => f.fm.beginFrame());
  }

  // ------------------------------------------------------------------ texture streamers

  private opCreateStreamer(): void {
    const f = this.liveFrames();
    if (f === null || [...f.streamers].some((s) => s.alive)) return;
    if (f.owner.limited && !this.allowed("semantics:streamer-under-heap-limit")) return;
    const id = ++this.ids;
    const options: any = {
      label: `streamer${id}`,
      budgetBytes: this.pick([2, 4, 8]) * MiB,
      uploadBudgetBytes: this.pick([64 * KiB, 256 * KiB, MiB]),
      tailSize: this.pick([0, 8, 32]),
    };
    if (f.owner.limited && this.chance(0.5)) delete options.budgetBytes;
    const r = this.call(
      `createTextureStreamer(${f.fm.label}, ${show(options)})`,
      { kind: "ok", allow: [OutOfDeviceMemoryError] },
      () => createTextureStreamer(f.fm, options),
    );
    if (!r.ok) return;
    const s: StreamerModel = { id, s: r.value, frames: f, alive: true, textures: [], updatedInFrame: -1 };
    f.streamers.add(s);
    this.streamers.push(s);
    const pools = [r.value.pool, r.value.tailPool].filter((p): p is Pool => p !== null);
    for (const p of pools)
      this.pools.push({
        id: ++this.ids,
        p,
        owner: f.owner,
        algorithm: p.algorithm as any,
        alive: true,
        streamer: true,
        streamerId: id,
      });
  }

  private opStream(): void {
    const s = this.pickLive(this.streamers);
    if (s === null) return;
    const f = s.frames;
    const which = this.int(0, 9);
    if (which <= 1 || s.textures.filter((t) => t.alive).length === 0) {
      const n = ++this.ids;
      const width = 2 ** this.int(2, 8);
      const height = 2 ** this.int(2, 8);
      const label = `st${n}`;
      const key = hashString(label);
      const mips = Math.floor(Math.log2(Math.max(width, height))) + 1;
      const sync = this.chance(0.6);
      const load = (first: number, count: number): any => {
        const out: Uint8Array[] = [];
        for (let m = first; m < first + count; m++) out.push(mipPixels(key, width, height, m));
        return sync ? out : Promise.resolve(out);
      };
      const r = this.call(
        `${s.s.label}.register(${label}, ${width}x${height})`,
        { kind: "ok", allow: [RangeError] },
        () => s.s.register({ label, width, height, format: 37, load, priority: this.int(0, 3) }),
      );
      if (r.ok) s.textures.push({ st: r.value, label, width, height, mips, alive: true });
      return;
    }
    const t = this.pickLive(s.textures);
    if (t === null) return;
    if (which <= 4) {
      this.call(`${s.s.label}.request(${t.label})`, { kind: "ok" }, () => s.s.request(t.st, this.int(0, t.mips - 1)));
    } else if (which <= 7) {
      if (!f.open) return;
      const r = this.call(`${s.s.label}.show(${t.label})`, { kind: "ok" }, () => s.s.show(t.st));
      if (!r.ok) return;
      const sh = r.value;
      if (sh.placeholder) return;
      if (!(sh.firstMip >= 0 && sh.firstMip < t.mips))
        this.fail("model-mismatch", `show(${t.label}) firstMip ${sh.firstMip} out of [0, ${t.mips})`);
      const texture = sh.texture;
      const base = t.mips - texture.mipLevels;
      const level = sh.firstMip - base;
      if (level < 0 || level >= texture.mipLevels)
        this.fail("model-mismatch", `show(${t.label}): firstMip ${sh.firstMip} is not in the texture (mips ${base}+)`);
      const w = Math.max(1, t.width >> sh.firstMip);
      const h = Math.max(1, t.height >> sh.firstMip);
      const serial = f.fm.recordingSerial;
      const d = this.call(`downloadImage(${texture.label}, mip ${level}) [shown]`, OOM_OK, () =>
        f.fm.downloadImage(texture, { mipLevel: level }),
      );
      if (!d.ok) return;
      const expected = mipPixels(hashString(t.label), t.width, t.height, sh.firstMip);
      if (expected.length !== w * h * 4) this.fail("model-mismatch", "mip size");
      this.track(f, texture, `${t.label} mip ${sh.firstMip} (shown)`, serial, d.value, () => ({
        expected,
        defined: new Uint8Array(expected.length).fill(1),
      }));
    } else if (which === 8) {
      this.call(`${t.label}.destroy()`, { kind: "ok" }, () => t.st.destroy());
      t.alive = false;
      this.call(`${s.s.label}.request(${t.label}) [destroyed]`, { kind: "dead" }, () => s.s.request(t.st));
    } else {
      this.hostile("TextureStreamer.request", "mip", "count", (m) => s.s.request(t.st, m as number));
    }
  }

  private opDestroyStreamer(): void {
    const s = this.pickLive(this.streamers);
    if (s === null) return;
    this.destroyStreamerModel(s);
  }

  private destroyStreamerModel(s: StreamerModel): void {
    this.call(`${s.s.label}.destroy()`, { kind: "ok" }, () => s.s.destroy());
    this.streamerGone(s);
  }

  /** A streamer destroyed by its own destroy() or with its FrameManager: its textures and pools go with it. */
  private streamerGone(s: StreamerModel): void {
    s.alive = false;
    for (const t of s.textures) t.alive = false;
    // Its pools go once the frames that used them are done: the model stops tracking them now.
    for (const p of this.pools) if (p.streamerId === s.id) p.alive = false;
  }

  // ------------------------------------------------------------------ the context

  private opDestroyContext(): void {
    const children = this.allocators.some((a) => a.alive) || this.frames.some((f) => f.alive);
    if (children && !this.allowed("destroy:context-under-children")) return;
    for (const m of this.allocations) if (m.alive) this.releaseRaw(m);
    // Its allocators and frame managers are destroyed by it, and each may warn in turn.
    this.cascadeParents.add("Context");
    for (const a of this.allocators) if (a.alive) this.cascadeParents.add(`Allocator '${a.a.label}'`);
    for (const f of this.frames) if (f.alive) this.cascadeParents.add(`FrameManager '${f.fm.label}'`);
    this.call(`context.destroy()`, { kind: "ok" }, () => this.context.destroy());
    // Everything made over it is dead now: any use throws DestroyedResourceError, destroy() is a no-op.
    for (const f of this.frames)
      if (f.alive) {
        this.call(`${f.fm.label}.destroy() [context gone]`, { kind: "ok" }, () => f.fm.destroy());
        f.alive = false;
      }
    for (const a of this.allocators)
      if (a.alive) {
        this.call(`${a.a.label}.destroy() [context gone]`, { kind: "ok" }, () => a.a.destroy());
        a.alive = false;
      }
    for (const m of this.allocations) m.alive = false;
    for (const x of this.batches) x.alive = false;
    for (const p of this.pools) p.alive = false;
    for (const s of this.streamers) s.alive = false;
    this.checkValidation("context.destroy()");
    this.context = this.newContext();
  }

  // ------------------------------------------------------------------ teardown

  /** Destroys everything, children first, and checks that nothing leaked. */
  private async teardown(): Promise<void> {
    this.log("teardown");
    for (const f of this.frames) {
      if (!f.alive) continue;
      await this.settleDownloads(f, true);
      for (const s of f.streamers) if (s.alive) this.destroyStreamerModel(s);
      this.destroyFramesModel(f, true);
      await this.settleDownloads(f, false);
      for (const d of f.downloads)
        if (!d.settled) this.fail("hang", `download of ${d.label} never settled after ${f.fm.label}.destroy()`);
    }
    for (const v of this.virtuals) {
      if (!v.alive) continue;
      for (const x of v.allocs) {
        if (x.va !== null) v.vb.free(x.va);
        else v.vb.freeHandle(x.handle);
      }
      v.allocs = [];
      const r = this.call(`${v.vb.label}.destroy()`, { kind: "ok" }, () => v.vb.destroy());
      v.alive = false;
      if (r.ok && r.value.length !== 0)
        this.fail("leak", `${v.vb.label}.destroy() reported ${r.value.length} leaks after everything was freed`);
    }
    for (const m of this.allocations) if (m.alive && m.owner.alive) this.freeModel(m);
    for (const x of this.batches) if (x.alive && x.owner.alive) this.destroyBatch(x);
    for (const p of this.pools)
      if (p.alive && !p.streamer && p.owner.alive)
        this.destroyPoolModel(
          p,
          this.takeDropped((m) => m.pool === p),
        );
    for (const owner of this.allocators) {
      if (!owner.alive) continue;
      const dropped = this.takeDropped((m) => m.owner === owner);
      const count = owner.a.allocationCount - dropped.length;
      const before = owner.leaks.length;
      const r = this.call(`destroyAllocator(${owner.a.label}) [teardown]`, { kind: "ok" }, () => owner.a.destroy());
      owner.alive = false;
      if (count !== 0)
        this.fail(
          "leak",
          `allocator ${owner.a.label} still counts ${count} live allocation(s) after everything was destroyed`,
        );
      if (r.ok) this.expectLeaks(owner, before, dropped, `allocator ${owner.a.label}`);
    }
    this.context.destroy();
    this.checkValidation("teardown: context.destroy()");
    await new Promise<void>((resolve) => setImmediate(resolve));
    const warnings = this.warnings.filter((w) => {
      if (w.startsWith("ExperimentalWarning")) return false;
      const cascade = /^VkmemLeakWarning: (.*) destroyed with \d+ live dependent/.exec(w);
      return cascade === null || !this.cascadeParents.has(cascade[1]!);
    });
    if (warnings.length > 0) this.fail("warning", `process warning(s): ${warnings.slice(0, 3).join(" | ")}`);
  }
}

function isInternal(error: unknown): boolean {
  return error instanceof Error && /vkmem native:|Cannot (convert|mix|read|perform)/.test(error.message);
}

/** The first index where `got` differs from `want` (only where `mask` is set, when given), or -1. */
function firstDifference(got: Uint8Array, want: Uint8Array, mask: Uint8Array | null): number {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i] && (mask === null || mask[i] === 1)) return i;
  }
  return -1;
}
