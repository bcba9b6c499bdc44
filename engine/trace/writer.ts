/**
 * Writes a vkmem trace (./format.ts) to a file as the program runs.
 *
 * Records go into one preallocated buffer and reach the file at every frame's end, when the buffer fills, and at
 * close: a crash loses at most what was recorded since the last frame ended (or the last buffer's worth, for a
 * frame that records more than the buffer holds). The reader (`readTrace(bytes, { partial: true })`) returns
 * everything before such a cut.
 *
 * The file (./output.ts): written on this thread by default; a recording allocator has its addon's thread write it,
 * and {@link TraceWriter.flush} (each frame's end, close) waits for that thread, so the loss above holds either way.
 *
 * Cost: recording sits on the allocation path, so nothing here allocates per record. Integers are written as
 * varints byte by byte, ASCII names char by char (others through TextEncoder), and each record's payload length is
 * a 3-byte varint patched in when the payload is done (so payloads are limited to 2 MiB; the longest, an
 * allocator's options, is a few hundred bytes).
 *
 * Time: a clock read costs about as much as a small record, so the clock is read for the first record after every
 * {@link CLOCK_EVERY} records and for every frame boundary (FrameBegin, FrameEnd) and Session record; the records in
 * between carry `dt` 0, i.e. the time of the last reading. A record's time is thus never later than the truth and
 * at most that many records, or one frame, earlier: at a recorded createBuffer + destroyBuffer pair's pace (about a
 * microsecond on lavapipe), some 60 µs, well inside a frame, where the report and the replay place records. Reading
 * it once in 16 records instead cost about 1.5% of the recorded pair on lavapipe (record_overhead in `npm run bench
 * -- allocator`, twelve runs each: medians 1.105 against 1.09).
 *
 * Native records: even so, encoding a createBuffer + destroyBuffer pair's Allocate and Free records in JS cost a
 * quarter of the pair itself, so a recording allocator hands this writer's buffer to its native addon
 * (`setTraceSink`, engine/memory/recording.ts), whose creation and free calls encode those records themselves,
 * as {@link TraceWriter.allocate} and {@link TraceWriter.free} would, or, for an allocation like the one before, as
 * the short AllocateLike record of format 1.1 (./format.ts; native/trace_sink.h). The
 * position, the clock countdown and the record count live in a shared Float64Array for that ({@link TraceWriter.nativeState});
 * the native side never flushes, reads the writer's own clock (the `clock` option) when a record is due for a
 * reading, and never writes a record it is not sure of: an Allocate
 * record waits past the position until {@link TraceWriter.commitNativeAllocate} keeps it, a Free record is written
 * only when {@link TraceWriter.armNativeFree} asked for it; every other case is written here.
 * @module
 */
import { RecordKind, TRACE_MAGIC, TRACE_MAJOR, TRACE_MINOR } from "./format.js";
import { openTraceOutput, type NativeTraceFiles, type TraceOutput } from "./output.js";
import { putU } from "./varint.js";

export type { NativeTraceFiles } from "./output.js";

const BUFFER_BYTES = 256 * 1024;
/** Room kept free for one record before it starts (larger records flush first, then check again). */
const RECORD_ROOM = 4096;
const MAX_PAYLOAD = 2 ** 21 - 1;
/** The clock is read once per this many records (and at every frame boundary): see the module comment. */
export const CLOCK_EVERY = 128;
const encoder = new TextEncoder();
/**
 * Slots of the state shared with the native encoder (native/trace_sink.h TraceState: change both together):
 * position, clock countdown, record count, the pending Allocate record (handle, start, length), the armed Free
 * record's handle, 1 while the writer is open, the clock's last reading, CLOCK_EVERY, the pending record's clock
 * reading (-1: none), and 1 while the trace's last Allocate record is the native encoder's last one (which an
 * AllocateLike record may then repeat; cleared by every Allocate record written here).
 */
const POS = 0;
const CLOCK_SKIP = 1;
const RECORDS = 2;
const PENDING_HANDLE = 3;
const PENDING_AT = 4;
const PENDING_LENGTH = 5;
const FREE_ARM = 6;
const OPEN = 7;
const LAST_US = 8;
const CLOCK_EVERY_SLOT = 9;
const PENDING_CLOCK = 10;
const ALLOCATE_REF = 11;
const STATE_SLOTS = 12;

/** Options of {@link TraceWriter.open}. */
export interface TraceWriterOptions {
  /** Who writes the trace ("vkmem 0.1.0" by default). */
  producer?: string;
  /** The device's name, for the Session record. */
  device?: string;
  /** The Vulkan API version of the device. */
  apiVersion?: number;
  /**
   * The clock, in whole microseconds (default: `performance.now()`'s). A recording allocator passes its addon's,
   * which the native records read too (see the module comment).
   */
  clock?: () => number;
  /**
   * @internal The addon's trace files (native/trace_file.cpp), whose threads write the file: a recording allocator
   * passes its addon (./output.ts). Default: `fs.writeSync` on this thread.
   */
  files?: NativeTraceFiles;
}

/**
 * A trace being written. Created by {@link TraceWriter.open}; {@link close} writes what is left and closes the file.
 * Methods write one record each; see ./format.ts for what each field means.
 */
export class TraceWriter {
  /** The file being written. */
  readonly file: string;
  /** The file (./output.ts); null once closed. */
  #out: TraceOutput | null;
  readonly #buf = new Uint8Array(new ArrayBuffer(BUFFER_BYTES));
  readonly #view = new DataView(this.#buf.buffer);
  /** Shared with the native encoder (see the module comment): position, clock countdown, record count, ... */
  readonly #state = new Float64Array(new ArrayBuffer(STATE_SLOTS * 8));
  readonly #clock: () => number;
  #recordStart = 0;
  #bytesWritten = 0;

  private constructor(file: string, out: TraceOutput, clock: () => number) {
    this.file = file;
    this.#out = out;
    this.#clock = clock;
    this.#state[OPEN] = 1;
    this.#state[CLOCK_EVERY_SLOT] = CLOCK_EVERY;
  }

  get #lastUs(): number {
    return this.#state[LAST_US]!;
  }
  set #lastUs(value: number) {
    this.#state[LAST_US] = value;
  }

  get #pos(): number {
    return this.#state[POS]!;
  }
  set #pos(value: number) {
    this.#state[POS] = value;
  }
  /** Records left before the next clock read (0: read it for the next record). */
  get #clockSkip(): number {
    return this.#state[CLOCK_SKIP]!;
  }
  set #clockSkip(value: number) {
    this.#state[CLOCK_SKIP] = value;
  }
  get #records(): number {
    return this.#state[RECORDS]!;
  }
  set #records(value: number) {
    this.#state[RECORDS] = value;
  }

  /**
   * Creates (or truncates) `file` and writes the header and the Session record.
   * @throws Error from the file system (the path in its message) when the file cannot be created or written; the
   * file is closed again then.
   */
  static open(file: string, options: TraceWriterOptions = {}): TraceWriter {
    const w = new TraceWriter(file, openTraceOutput(file, options.files ?? null), options.clock ?? nowUs);
    for (let i = 0; i < 8; i++) w.#buf[i] = TRACE_MAGIC.charCodeAt(i);
    w.#view.setUint16(8, TRACE_MAJOR, true);
    w.#view.setUint16(10, TRACE_MINOR, true);
    w.#view.setUint32(12, 0, true);
    w.#pos = 16;
    w.#lastUs = w.#clock();
    w.#begin(RecordKind.Session);
    w.#f64(Date.now());
    w.#str(options.producer ?? "vkmem");
    w.#str(options.device ?? "");
    w.#u(options.apiVersion ?? 0);
    w.#end();
    try {
      w.flush();
    } catch (e) {
      w._abandon();
      throw e;
    }
    return w;
  }

  /**
   * @internal Closes the file after an error that the caller throws instead (close's own error would only repeat
   * it): a writer that never started is not left open, nor its thread running.
   */
  _abandon(): void {
    try {
      this.close();
    } catch {
      // the caller throws the first error
    }
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#out === null;
  }

  /** Bytes written to the file so far, or handed to its writer thread (not counting what waits in the buffer). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Records written so far, the buffered ones included. */
  get recordCount(): number {
    return this.#records;
  }

  // --- records -----------------------------------------------------------------------------------------------

  /** An allocator and the device's heaps ([size, flags] per heap) and types ([flags, heap] per type). */
  allocatorCreate(
    allocator: number,
    label: string | null,
    nonCoherentAtomSize: number,
    bufferImageGranularity: number,
    heaps: readonly number[],
    types: readonly number[],
    optionsJson: string,
  ): void {
    this.#begin(RecordKind.AllocatorCreate);
    this.#u(allocator);
    this.#str(label ?? "");
    this.#u(nonCoherentAtomSize);
    this.#u(bufferImageGranularity);
    this.#list(heaps, heaps.length);
    this.#list(types, types.length);
    this.#str(optionsJson);
    this.#end();
  }

  allocatorDestroy(allocator: number): void {
    this.#one(RecordKind.AllocatorDestroy, allocator);
  }

  poolCreate(
    pool: number,
    allocator: number,
    memoryType: number,
    algorithm: number,
    blockSize: number,
    minBlockCount: number,
    maxBlockCount: number,
    minAllocationAlignment: number,
    name: string | null,
  ): void {
    this.#begin(RecordKind.PoolCreate);
    this.#u(pool);
    this.#u(allocator);
    this.#u(memoryType);
    this.#u(algorithm);
    this.#u(blockSize);
    this.#u(minBlockCount);
    this.#u(maxBlockCount);
    this.#u(minAllocationAlignment);
    this.#str(name ?? "");
    this.#end();
  }

  poolDestroy(pool: number): void {
    this.#one(RecordKind.PoolDestroy, pool);
  }

  /**
   * An allocation as handed to VMA. `resource[0..resourceCount)` is the resource description and `createInfo[0..7)`
   * the VmaAllocationCreateInfo (flags, usage, required, preferred, memoryTypeBits, pool (ignored), priority,
   * minAlignment), both as the native scratch lays them out, so the caller passes slices of one array it already
   * has. `vkmemFlags`: 1 canBecomeLost, 2 canMakeOtherLost. `result` 0: `memoryType` .. `blockSize` say where it went.
   */
  allocate(
    allocation: number,
    allocator: number,
    pool: number,
    resourceKind: number,
    resource: ArrayLike<number>,
    resourceStart: number,
    resourceCount: number,
    createInfo: ArrayLike<number>,
    createInfoStart: number,
    vkmemFlags: number,
    name: string | null,
    result: number,
    memoryType: number,
    offset: number,
    size: number,
    memoryLo: number,
    memoryHi: number,
    blockSize: number,
  ): void {
    if (!(resourceCount >= 0 && resourceCount <= 32))
      throw new RangeError(`vkmem trace: resourceCount must be in [0, 32], got ${resourceCount}`);
    this.#state[ALLOCATE_REF] = 0; // the native encoder's last record is no longer the last Allocate record
    // The hot record: fields go through a local position with no room check per field (#begin leaves RECORD_ROOM
    // bytes, more than 32 + 20 varints and a double need); only the name may need more and goes through #str.
    this.#begin(RecordKind.Allocate);
    // Each field below 128 (most are) is one byte written in place; larger ones go through putU.
    let v: number;
    const buf = this.#buf;
    let pos = this.#pos;
    v = allocation;
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = allocator;
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = pool;
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = resourceKind;
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = resourceCount;
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    for (let i = 0; i < resourceCount; i++) {
      v = resource[resourceStart + i]!;
      if (v === (v & 127)) buf[pos++] = v;
      else pos = putU(buf, pos, v);
    }
    v = createInfo[createInfoStart]!; // flags
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = createInfo[createInfoStart + 1]!; // usage
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = createInfo[createInfoStart + 2]!; // required
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = createInfo[createInfoStart + 3]!; // preferred
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = createInfo[createInfoStart + 4]!; // memoryTypeBits
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    this.#view.setFloat64(pos, createInfo[createInfoStart + 6]!, true); // priority (slot 5 is the pool, recorded above)
    pos += 8;
    v = createInfo[createInfoStart + 7]!; // minAlignment
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    v = vkmemFlags;
    if (v === (v & 127)) buf[pos++] = v;
    else pos = putU(buf, pos, v);
    this.#pos = pos;
    this.#str(name ?? "");
    pos = this.#pos;
    if (pos + 64 > BUFFER_BYTES) {
      this.#room(64);
      pos = this.#pos;
    }
    const b = this.#buf;
    v = result >= 0 ? result * 2 : -result * 2 - 1;
    if (v === (v & 127)) b[pos++] = v;
    else pos = putU(b, pos, v);
    v = memoryType;
    if (v === (v & 127)) b[pos++] = v;
    else pos = putU(b, pos, v);
    v = offset;
    if (v === (v & 127)) b[pos++] = v;
    else pos = putU(b, pos, v);
    v = size;
    if (v === (v & 127)) b[pos++] = v;
    else pos = putU(b, pos, v);
    v = memoryLo;
    if (v === (v & 127)) b[pos++] = v;
    else pos = putU(b, pos, v);
    v = memoryHi;
    if (v === (v & 127)) b[pos++] = v;
    else pos = putU(b, pos, v);
    v = blockSize;
    if (v === (v & 127)) b[pos++] = v;
    else pos = putU(b, pos, v);
    this.#pos = pos;
    this.#end();
  }

  free(allocation: number): void {
    this.#one(RecordKind.Free, allocation);
  }

  map(allocation: number): void {
    this.#one(RecordKind.Map, allocation);
  }

  unmap(allocation: number): void {
    this.#one(RecordKind.Unmap, allocation);
  }

  setName(allocation: number, name: string | null): void {
    this.#begin(RecordKind.SetName);
    this.#u(allocation);
    this.#str(name ?? "");
    this.#end();
  }

  lost(allocation: number, frame: number): void {
    this.#begin(RecordKind.Lost);
    this.#u(allocation);
    this.#u(frame);
    this.#end();
  }

  frameBegin(frame: number): void {
    this.#clockSkip = 0; // frame boundaries carry their own time
    this.#one(RecordKind.FrameBegin, frame);
  }

  /** The end of a frame with `allocator`'s heaps' [usage, budget] pairs; writes the buffered records to the file. */
  frameEnd(frame: number, allocator: number, budgets: ArrayLike<number>, budgetCount: number): void {
    this.#clockSkip = 0;
    this.#begin(RecordKind.FrameEnd);
    this.#u(frame);
    this.#u(allocator);
    this.#list(budgets, budgetCount);
    this.#end();
    this.flush();
  }

  virtualBlockCreate(block: number, size: number, algorithm: number, name: string | null): void {
    this.#begin(RecordKind.VirtualBlockCreate);
    this.#u(block);
    this.#u(size);
    this.#u(algorithm);
    this.#str(name ?? "");
    this.#end();
  }

  virtualAllocate(
    block: number,
    allocation: number,
    size: number,
    alignment: number,
    flags: number,
    result: number,
    offset: number,
  ): void {
    this.#begin(RecordKind.VirtualAllocate);
    this.#u(block);
    this.#u(allocation);
    this.#u(size);
    this.#u(alignment);
    this.#u(flags);
    this.#i(result);
    this.#u(offset);
    this.#end();
  }

  virtualFree(block: number, allocation: number): void {
    this.#begin(RecordKind.VirtualFree);
    this.#u(block);
    this.#u(allocation);
    this.#end();
  }

  virtualBlockDestroy(block: number): void {
    this.#one(RecordKind.VirtualBlockDestroy, block);
  }

  streamerRequest(streamer: number, texture: number, mip: number): void {
    this.#begin(RecordKind.StreamerRequest);
    this.#u(streamer);
    this.#u(texture);
    this.#u(mip);
    this.#end();
  }

  streamerEvict(streamer: number, texture: number, bytes: number): void {
    this.#begin(RecordKind.StreamerEvict);
    this.#u(streamer);
    this.#u(texture);
    this.#u(bytes);
    this.#end();
  }

  upload(source: number, bytes: number): void {
    this.#begin(RecordKind.Upload);
    this.#u(source);
    this.#u(bytes);
    this.#end();
  }

  move(
    allocation: number,
    memoryType: number,
    offset: number,
    memoryLo: number,
    memoryHi: number,
    blockSize: number,
  ): void {
    this.#begin(RecordKind.Move);
    this.#u(allocation);
    this.#u(memoryType);
    this.#u(offset);
    this.#u(memoryLo);
    this.#u(memoryHi);
    this.#u(blockSize);
    this.#end();
  }

  /** A marker for the timeline ("level 2 loaded"). */
  note(text: string): void {
    this.#begin(RecordKind.Note);
    this.#str(text);
    this.#end();
  }

  // --- native records (see the module comment) -------------------------------------------------------------

  /** @internal The buffer and the shared state that a native encoder writes into (`setTraceSink`). */
  get nativeBuffer(): ArrayBuffer {
    return this.#buf.buffer as ArrayBuffer;
  }

  /** @internal See {@link nativeBuffer}. */
  get nativeState(): ArrayBuffer {
    return this.#state.buffer as ArrayBuffer;
  }

  /**
   * @internal Keeps the Allocate record the native creation call left pending for `allocation`, when it is still
   * there (nothing was written since). The caller checked that the record says what {@link allocate} would write.
   * @returns false when there is none: write the record with {@link allocate}.
   */
  commitNativeAllocate(allocation: number): boolean {
    const state = this.#state;
    if (state[PENDING_HANDLE] !== allocation) return false;
    state[PENDING_HANDLE] = 0;
    if (state[PENDING_AT] !== state[POS] || state[OPEN] !== 1) return false;
    state[POS] += state[PENDING_LENGTH]!;
    state[RECORDS]++;
    state[ALLOCATE_REF] = 1;
    const reading = state[PENDING_CLOCK]!;
    if (reading < 0) {
      state[CLOCK_SKIP]--;
    } else {
      state[CLOCK_SKIP] = CLOCK_EVERY - 1;
      state[LAST_US] = reading;
    }
    return true;
  }

  /** @internal Asks the native free call of `allocation` for its Free record; {@link endNativeFree} after the call. */
  armNativeFree(allocation: number): void {
    this.#state[FREE_ARM] = allocation;
  }

  /** @internal After the native free call of `allocation`: writes its Free record if that call did not. */
  endNativeFree(allocation: number): void {
    const state = this.#state;
    if (state[FREE_ARM] === 0) return;
    state[FREE_ARM] = 0;
    this.free(allocation);
  }

  // --- file --------------------------------------------------------------------------------------------------

  /**
   * Writes the buffered records to the file now (frameEnd and close do it too).
   * @throws Error from the file system (disk full, ...) with the trace's path.
   */
  flush(): void {
    if (this.#out === null) return;
    this.#handOver();
    this.#out.sync();
  }

  /**
   * The buffered records to the file (./output.ts): written now, or handed to the file's thread, which
   * {@link flush} waits for. The buffer is empty after it.
   */
  #handOver(): void {
    if (this.#out === null || this.#pos === 0) return;
    const length = this.#pos;
    this.#out.write(this.#buf, length);
    this.#bytesWritten += length;
    this.#pos = 0;
  }

  /**
   * Writes what is buffered and closes the file. A second call does nothing. When writing fails, the file is closed
   * all the same and the first error thrown.
   */
  close(): void {
    const out = this.#out;
    if (out === null) return;
    let failed: unknown = null;
    try {
      this.#handOver();
    } catch (e) {
      failed = e;
    }
    this.#out = null;
    this.#state[OPEN] = 0;
    try {
      out.close();
    } catch (e) {
      failed ??= e;
    }
    if (failed !== null) throw failed;
  }

  // --- encoding ----------------------------------------------------------------------------------------------

  #begin(kind: RecordKind): void {
    if (this.#out === null) throw new Error(`vkmem trace '${this.file}': the trace is closed`);
    if (this.#pos + RECORD_ROOM > BUFFER_BYTES) this.#handOver();
    const buf = this.#buf;
    this.#recordStart = this.#pos;
    buf[this.#pos] = kind;
    this.#pos += 4; // kind, then a 3-byte payload length patched by #end
    if (this.#clockSkip > 0) {
      this.#clockSkip--;
      buf[this.#pos++] = 0; // dt 0: the time of the last clock read
      return;
    }
    this.#clockSkip = CLOCK_EVERY - 1;
    const now = this.#clock();
    this.#u(now - this.#lastUs);
    this.#lastUs = now;
  }

  #end(): void {
    const length = this.#pos - this.#recordStart - 4;
    if (length > MAX_PAYLOAD)
      throw new Error(`vkmem trace '${this.file}': a record of ${length} bytes (the most is ${MAX_PAYLOAD})`);
    const at = this.#recordStart + 1;
    this.#buf[at] = (length & 0x7f) | 0x80;
    this.#buf[at + 1] = ((length >>> 7) & 0x7f) | 0x80;
    this.#buf[at + 2] = (length >>> 14) & 0x7f;
    this.#records++;
  }

  #one(kind: RecordKind, value: number): void {
    this.#begin(kind);
    this.#u(value);
    this.#end();
  }

  #room(bytes: number): void {
    if (this.#pos + bytes <= BUFFER_BYTES) return;
    // A record larger than what is left: move its start to the front after writing out what precedes it.
    const partial = this.#buf.slice(this.#recordStart, this.#pos);
    this.#pos = this.#recordStart;
    this.#handOver();
    if (partial.length + bytes > BUFFER_BYTES)
      throw new Error(`vkmem trace '${this.file}': a record larger than ${BUFFER_BYTES} bytes`);
    this.#buf.set(partial, 0);
    this.#pos = partial.length;
    this.#recordStart = 0;
  }

  #u(value: number): void {
    if (this.#pos + 8 > BUFFER_BYTES) this.#room(8);
    if (value === (value & 127)) this.#buf[this.#pos++] = value;
    else this.#pos = putU(this.#buf, this.#pos, value);
  }

  #i(value: number): void {
    this.#u(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  #f64(value: number): void {
    if (this.#pos + 8 > BUFFER_BYTES) this.#room(8);
    this.#view.setFloat64(this.#pos, value, true);
    this.#pos += 8;
  }

  #list(values: ArrayLike<number>, count: number): void {
    this.#u(count);
    for (let i = 0; i < count; i++) this.#u(values[i]!);
  }

  #str(s: string): void {
    const n = s.length;
    if (n < 128) {
      // ASCII fast path: one length byte, one byte per char, no allocation.
      if (this.#pos + 1 + n > BUFFER_BYTES) this.#room(1 + n);
      const buf = this.#buf;
      let pos = this.#pos + 1;
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        buf[pos++] = c;
      }
      if (ascii) {
        buf[this.#pos] = n;
        this.#pos = pos;
        return;
      }
    }
    const bytes = encoder.encode(s);
    this.#u(bytes.length);
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }
}

function nowUs(): number {
  return Math.floor(performance.now() * 1000);
}
