/**
 * Raw 64-bit Vulkan handles in and out of nvk's handle objects.
 *
 * An nvk handle object (`new nvk.VkBuffer()`, ...) keeps the handle's value in the first 8 bytes of its own
 * 8-byte `memoryBuffer`, little-endian. That is the only thing nvk's native functions read (they ignore
 * `memoryAddress` and `memoryOffset`) and the only thing they write when a handle is an output parameter.
 * nvk's JS layer checks types with `obj.constructor === nvk.VkBuffer`, copies handles into structs through
 * `obj.memoryView` and into arrays through `obj.memoryBuffer`.
 *
 * {@link wrapHandle} builds such an object without running nvk's constructor: an object whose prototype
 * derives from the class's prototype (so `constructor` and `instanceof` are nvk's), with its own `memoryBuffer`
 * and `memoryOffset`, and `memoryAddress` / `memoryView` computed on first read and then stored on the object.
 * nvk's constructor computes the address eagerly with a native call and always makes a DataView; skipping
 * both makes wrapping about 1.3x faster (median of 15 runs of 1e6 VkBuffers on the 2-core dev machine: ~290 ns
 * against ~385 ns for `new nvk.VkBuffer()` + `memoryView.setBigUint64`). What remains is mostly the allocation
 * of the 8-byte buffer, which nvk needs per object. The objects are accepted by every path listed above (tests
 * in test/vulkan/handles.test.ts).
 *
 * Handles are BigInt everywhere in vkmem: a non-dispatchable handle may be any 64-bit value.
 * @module
 */
import { describeValue } from "../errors.js";
import { addressOf, nvk } from "./nvk.js";

/** The shape of an nvk handle object (VkBuffer, VkDevice, ...). Created by nvk or by {@link wrapHandle}. */
export interface NvkHandle {
  /** 8 bytes: the handle's value, little-endian. */
  readonly memoryBuffer: ArrayBuffer;
  /** Native address of `memoryBuffer`. */
  readonly memoryAddress: bigint;
  /** Always 0 for handles. */
  readonly memoryOffset: number;
  /** A DataView over `memoryBuffer`. */
  readonly memoryView: DataView;
}

/** An nvk handle class such as `nvk.VkBuffer`. */
export type NvkHandleClass = (new () => NvkHandle) & { readonly name: string; readonly prototype: object };

/**
 * nvk's handle classes, recognised by shape: 8 bytes long and no `flush` (structs have one, including the
 * 8-byte VkExtent2D / VkOffset2D). Built once at load; 38 classes in nvk 0.8.0.
 */
const HANDLE_CLASSES: ReadonlyMap<string, NvkHandleClass> = new Map(
  Object.keys(nvk)
    .filter((name) => {
      const value = nvk[name];
      return (
        name.startsWith("Vk") &&
        typeof value === "function" &&
        value.byteLength === 8 &&
        typeof value.prototype?.flush !== "function"
      );
    })
    .map((name) => [name, nvk[name] as NvkHandleClass]),
);
const HANDLE_CLASS_SET: ReadonlySet<unknown> = new Set(HANDLE_CLASSES.values());

/**
 * The slot on the handle objects vkmem makes ({@link wrapHandle}, {@link HandleCellPool}) where {@link HandleRegistry}
 * keeps their owner: a property costs nothing on the hot path, where a WeakMap entry per object cost more than the
 * whole createBuffer + destroyBuffer pair (ephemerons are expensive to collect).
 */
const HANDLE_OWNER = Symbol("vkmem.handleOwner");

function ownValue<T>(target: object, key: string, value: T): T {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  return value;
}

function wrapPrototypeOf(cls: NvkHandleClass): object {
  return Object.create(cls.prototype, {
    memoryAddress: {
      configurable: true,
      get(this: { memoryBuffer: ArrayBuffer }) {
        return ownValue(this, "memoryAddress", addressOf(this.memoryBuffer));
      },
      set(this: object, value: bigint) {
        ownValue(this, "memoryAddress", value);
      },
    },
    memoryView: {
      configurable: true,
      get(this: { memoryBuffer: ArrayBuffer }) {
        return ownValue(this, "memoryView", new DataView(this.memoryBuffer));
      },
      set(this: object, value: DataView) {
        ownValue(this, "memoryView", value);
      },
    },
  }) as object;
}

/** Per handle class: the prototype {@link wrapHandle} gives its objects, derived from the nvk class's prototype. */
const WRAP_PROTOTYPES: ReadonlyMap<unknown, object> = new Map(
  [...HANDLE_CLASSES.values()].map((cls) => [cls, wrapPrototypeOf(cls)]),
);

/**
 * Whether `value` is an nvk handle object, optionally of the class named `className` (e.g. `"VkBuffer"`).
 *
 * @throws RangeError when `className` is not the name of an nvk handle class.
 */
export function isNvkHandle(value: unknown, className?: string): value is NvkHandle {
  let expected: NvkHandleClass | undefined;
  if (className !== undefined) {
    expected = HANDLE_CLASSES.get(className);
    if (expected === undefined) {
      throw new RangeError(`isNvkHandle: className must name an nvk handle class, got ${describeValue(className)}`);
    }
  }
  if (value === null || typeof value !== "object") return false;
  const ctor = (value as { constructor?: unknown }).constructor;
  return expected === undefined ? HANDLE_CLASS_SET.has(ctor) : ctor === expected;
}

/**
 * The raw 64-bit value of an nvk handle object (0n for VK_NULL_HANDLE).
 *
 * @throws TypeError when `handle` is not an nvk handle object.
 */
export function rawHandle(handle: NvkHandle): bigint {
  // An object of HandleCellPool's: its cell's value, without the getter and DataView of `memoryView`; defragment()
  // reads the handle of every buffer it moves.
  const cell = (handle as { [CELL_OF]?: HandleCell } | null)?.[CELL_OF];
  if (cell !== undefined) return cell.value[0]!;
  if (!isNvkHandle(handle)) {
    throw new TypeError(
      `rawHandle: expected an nvk handle object (VkBuffer, VkDevice, ...), got ${describeValue(handle)}`,
    );
  }
  return handle.memoryView.getBigUint64(0, true);
}

/**
 * Writes `raw` into an nvk handle object's own cell: the same object names another Vulkan object from now on (what
 * defragmentation does to the handles a caller holds when their buffer or image is replaced). Internal: only for
 * objects vkmem made.
 * @internal
 */
export function setRawHandle(handle: NvkHandle, raw: bigint): void {
  handle.memoryView.setBigUint64(0, raw, true);
}

/**
 * A fresh nvk handle object of class `cls` holding `raw`, accepted by nvk's functions like one nvk made.
 *
 * The object owns nothing: destroying the Vulkan object it names stays the caller's job (through any object that
 * holds the same value). `wrapHandle(cls, 0n)` makes an empty output handle for a `vkCreate*` call.
 *
 * @throws TypeError when `cls` is not an nvk handle class or `raw` is not a BigInt.
 * @throws RangeError when `raw` is outside 0 .. 2^64-1.
 */
export function wrapHandle<T extends NvkHandle = NvkHandle>(cls: NvkHandleClass, raw: bigint): T {
  const proto = WRAP_PROTOTYPES.get(cls);
  if (proto === undefined) {
    throw new TypeError(`wrapHandle: cls must be an nvk handle class such as nvk.VkBuffer, got ${describeValue(cls)}`);
  }
  if (typeof raw !== "bigint") {
    throw new TypeError(`wrapHandle: raw must be a BigInt, got ${describeValue(raw)}`);
  }
  if (BigInt.asUintN(64, raw) !== raw) {
    throw new RangeError(`wrapHandle: raw must be a 64-bit unsigned value, got ${describeValue(raw)}`);
  }
  const cell = new BigUint64Array(1);
  cell[0] = raw;
  const handle = Object.create(proto) as { memoryBuffer: ArrayBuffer; memoryOffset: number; [HANDLE_OWNER]: unknown };
  handle.memoryBuffer = cell.buffer;
  handle.memoryOffset = 0;
  handle[HANDLE_OWNER] = null;
  return handle as unknown as T;
}

/** The slot of a HandleCellPool object that holds its cell (undefined once recycled). */
const CELL_OF = Symbol("vkmem.handleCell");

/**
 * One 8-byte cell of a {@link HandleCellPool}: its ArrayBuffer, a view of its two 32-bit words and of its value, and
 * the DataView and native address of its bytes, made on the first read of `memoryView` / `memoryAddress` of a handle
 * object holding the cell and kept for every later holder.
 */
interface HandleCell {
  readonly buffer: ArrayBuffer;
  readonly words: Uint32Array<ArrayBuffer>;
  readonly value: BigUint64Array<ArrayBuffer>;
  view: DataView | undefined;
  address: bigint | undefined;
}

/** What makes a {@link HandleCellPool}'s handle objects of one nvk class: {@link HandleCellPool.constructorOf}. */
export type PooledHandleConstructor = new (cell: HandleCell) => NvkHandle;

/** The shared null cell's bytes: what a recycled handle object reads (zeroed again on every recycle). */
const NULL_WORDS = new Uint32Array(new ArrayBuffer(8));
const NULL_BUFFER = NULL_WORDS.buffer;
const NULL_VIEW = new DataView(NULL_BUFFER);
let nullAddress: bigint | undefined;

/**
 * The prototype of a {@link HandleCellPool}'s objects of class `cls`: derived from nvk's (so `constructor` and
 * `instanceof` are nvk's), with `memoryView` and `memoryAddress` read from the object's cell, or from the null cell
 * once the object was recycled. They never become own properties, so that recycling has nothing to undo on the
 * object (checking for them cost about 70 ns a handle on the release path), and a cell's DataView is made once for
 * all the objects that hold it in turn (nvk reads `memoryView` each time a handle goes into a struct, e.g. every
 * texture's image into its view's create info). Assigning either is a TypeError: nvk assigns them only in its own
 * constructors, which these objects never run, and an own copy would outlive the cell's recycling.
 */
function pooledPrototypeOf(cls: NvkHandleClass): object {
  const readOnly = (name: string) =>
    function (this: object, value: unknown): never {
      throw new TypeError(`${name} of a ${cls.name} that vkmem made is read-only, got ${describeValue(value)}`);
    };
  return Object.create(cls.prototype, {
    memoryAddress: {
      configurable: true,
      get(this: { [CELL_OF]: HandleCell | undefined }): bigint {
        const cell = this[CELL_OF];
        if (cell === undefined) return (nullAddress ??= addressOf(NULL_BUFFER));
        return (cell.address ??= addressOf(cell.buffer));
      },
      set: readOnly("memoryAddress"),
    },
    memoryView: {
      configurable: true,
      get(this: { [CELL_OF]: HandleCell | undefined }): DataView {
        const cell = this[CELL_OF];
        if (cell === undefined) return NULL_VIEW;
        return (cell.view ??= new DataView(cell.buffer));
      },
      set: readOnly("memoryView"),
    },
  }) as object;
}

/**
 * Recycles the 8-byte cells of handle objects whose Vulkan object was destroyed, so that making a handle
 * object on the allocator's hot path costs an object, not a fresh ArrayBuffer (an 8-byte ArrayBuffer costs
 * 300-500 ns in V8, more than VMA's whole create+destroy).
 *
 * Invariants:
 * - Only objects made by {@link HandleCellPool.make} are ever recycled, and only by their owner, once the Vulkan
 *   object they name is destroyed.
 * - A recycled object is left pointing at the shared null cell: it reads as VK_NULL_HANDLE from then on, through
 *   `memoryBuffer`, `memoryView` and `memoryAddress` alike (the last two are never the object's own: see
 *   pooledPrototypeOf), so a stale object held by the app can never name the new object that reuses its cell (nvk
 *   and the validation layer then see a null handle, an error, rather than another live object). The null cell is
 *   zeroed again on every recycle in case something wrote through a dead handle.
 */
export class HandleCellPool {
  // A cell is its 8 bytes and their two words; the ArrayBuffer is kept beside the view because reading a typed
  // array's `.buffer` is a call into V8's runtime (it showed in profiles of the allocator's hot path).
  private readonly free: HandleCell[] = [];
  private static readonly cellOf = CELL_OF;

  /** @param capacity the most cells kept for reuse */
  constructor(private readonly capacity = 4096) {}

  /** A handle object of class `cls` holding the 64-bit value `lo | hi << 32`. */
  make<T extends NvkHandle = NvkHandle>(cls: NvkHandleClass, lo: number, hi: number): T {
    return this.makeWith<T>(this.constructorOf(cls), lo, hi);
  }

  /**
   * {@link make} with the class's constructor resolved once by the caller ({@link constructorOf}): for the
   * allocator's hot path, which makes a VkBuffer or VkImage per call. No Map lookup is made per handle (a
   * createBuffer + destroyBuffer pair from TS costs 2-6% less on the two-core machine, in-process A/B).
   */
  makeWith<T extends NvkHandle = NvkHandle>(ctor: PooledHandleConstructor, lo: number, hi: number): T {
    let cell = this.free.pop();
    if (cell === undefined) {
      const buffer = new ArrayBuffer(8);
      cell = {
        buffer,
        words: new Uint32Array(buffer),
        value: new BigUint64Array(buffer),
        view: undefined,
        address: undefined,
      };
    }
    cell.words[0] = lo;
    cell.words[1] = hi;
    return new ctor(cell) as T;
  }

  private readonly constructors = new Map<NvkHandleClass, PooledHandleConstructor>();

  /**
   * The constructor of this pool's handle objects of class `cls` (made on the first call): a plain constructor whose
   * instances share one hidden class and whose prototype is the one wrapHandle uses (derived from nvk's, so
   * `constructor` is nvk's class), cheaper than Object.create plus stores.
   * @throws TypeError when `cls` is not an nvk handle class.
   */
  constructorOf(cls: NvkHandleClass): PooledHandleConstructor {
    const known = this.constructors.get(cls);
    if (known !== undefined) return known;
    if (!HANDLE_CLASS_SET.has(cls)) {
      throw new TypeError(`HandleCellPool.make: cls must be an nvk handle class, got ${describeValue(cls)}`);
    }
    const proto = pooledPrototypeOf(cls);
    const cellOf = HandleCellPool.cellOf;
    function PooledHandle(this: Record<string | symbol, unknown>, cell: HandleCell) {
      this.memoryBuffer = cell.buffer;
      this.memoryOffset = 0;
      this[cellOf] = cell;
      this[HANDLE_OWNER] = null;
    }
    PooledHandle.prototype = proto;
    const ctor = PooledHandle as unknown as PooledHandleConstructor;
    this.constructors.set(cls, ctor);
    return ctor;
  }

  /** Whether `handle` holds a cell of this pool's kind: made by {@link make} or {@link makeWith}, not recycled since. */
  static holdsCell(handle: object): boolean {
    return (handle as { [k: symbol]: unknown })[HandleCellPool.cellOf] !== undefined;
  }

  /** Takes back the cell of a handle made by {@link make}; the handle reads as VK_NULL_HANDLE afterwards. */
  recycle(handle: object): void {
    const h = handle as { memoryBuffer: ArrayBuffer; [k: symbol]: unknown };
    const cell = h[HandleCellPool.cellOf] as HandleCell | undefined;
    if (cell === undefined) return;
    h[HandleCellPool.cellOf] = undefined;
    NULL_WORDS[0] = 0;
    NULL_WORDS[1] = 0;
    h.memoryBuffer = NULL_BUFFER;
    if (this.free.length < this.capacity) this.free.push(cell);
  }
}

/** A 64-bit handle value as a Map key: a Number while it fits in 53 bits (every handle seen so far), else a BigInt. */
export type HandleKey = number | bigint;

/** The {@link HandleKey} of a raw value. */
export function handleKeyOfRaw(raw: bigint): HandleKey {
  return raw <= 0x1fffffffffffffn ? Number(raw) : raw;
}

/** What owns a handle vkmem made or bound: an allocation (engine/memory/allocation.ts) and its allocator. */
export interface HandleOwner {
  /** 0 once its memory was freed (or made lost): its own buffer or image is gone then too. */
  readonly _handle: number;
  /** True once freed, or its allocator or pool destroyed. */
  readonly destroyed: boolean;
  /** The value of the buffer or image it was created with or bound to (0 when none). */
  readonly _resourceKey: HandleKey;
  readonly allocator: object;
}

/**
 * The raw Vulkan handles vkmem knows, so that calls taking raw handles can refuse the ones that would crash a driver.
 *
 * Two facts, kept apart because drivers reuse handle values after destroy (a value vkmem destroyed may later name a
 * live object the user made with nvk):
 * - Dead handles are known by *object*: every nvk handle object vkmem handed out (createBuffer / createImage) or
 *   destroyed (destroyBuffer / destroyImage of a bound resource) knows the allocation that owned it: in a slot of
 *   its own for the objects vkmem made (a property store on the hot path, nothing more), in a WeakMap for the user's
 *   (nvk's) objects. A vkmem object names a destroyed Vulkan object once its owner is gone; a user's object when its
 *   owner is gone and it still holds the owner's value (one the user refilled through nvk holds another, and lives).
 * - Live handles are known by *value*: the native slot tables hold the value of every buffer and image vkmem created
 *   or bound through VMA (addon `findResource`, a scan made only by the rare calls that take raw handles), and this
 *   registry's Map the values bound into buddy pools, which VMA never sees. An entry whose owner is gone (its
 *   allocator or pool destroyed, or it was made lost) is stale and dropped when met.
 * - Handles in neither are trusted as nvk trusts them.
 */
export class HandleRegistry<T extends HandleOwner> {
  private readonly byObject = new WeakMap<object, T>();
  // Weakly: an owner dropped without free (and its allocator) stays collectable, for the leak reports.
  private readonly byValue = new Map<HandleKey, WeakRef<T>>();

  /** Records the value `key` as live and owned by `owner` (a resource bound with bind*Memory). */
  track(key: HandleKey, owner: T): void {
    this.byValue.set(key, new WeakRef(owner));
  }

  /** Records that `object` named the owner's resource, which vkmem destroyed (or will destroy with the owner). */
  remember(object: object, owner: T): void {
    if (HANDLE_OWNER in object) (object as { [HANDLE_OWNER]: unknown })[HANDLE_OWNER] = owner;
    else this.byObject.set(object, owner);
  }

  /** The value `key` of `owner` is no longer live (its resource was destroyed or unbound by a free). */
  untrack(key: HandleKey, owner: T): void {
    if (this.byValue.get(key)?.deref() === owner) this.byValue.delete(key);
  }

  /** The gone owner of `object` when it names a Vulkan object vkmem destroyed, else undefined. */
  deadOwner(object: object, raw: bigint): T | undefined {
    if (HANDLE_OWNER in object) {
      const own = (object as { [HANDLE_OWNER]: T | null })[HANDLE_OWNER];
      return own !== null && (own._handle === 0 || own.destroyed) ? own : undefined;
    }
    const owner = this.byObject.get(object);
    if (owner === undefined || !(owner._handle === 0 || owner.destroyed)) return undefined;
    return handleKeyOfRaw(raw) === owner._resourceKey ? owner : undefined;
  }

  /** The live owner of the value `key`, or undefined (dropping a stale entry). */
  liveOwner(key: HandleKey): T | undefined {
    const owner = this.byValue.get(key)?.deref();
    if (owner === undefined || owner._handle === 0 || owner.destroyed) {
      this.byValue.delete(key);
      return undefined;
    }
    return owner;
  }

  /** Drops every value entry of `allocator` (it is being destroyed: they are all stale from now on). */
  forget(allocator: object): void {
    for (const [key, ref] of this.byValue) {
      const owner = ref.deref();
      if (owner === undefined || owner.allocator === allocator) this.byValue.delete(key);
    }
  }
}
