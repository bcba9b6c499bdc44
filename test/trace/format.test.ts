/**
 * The trace format (engine/trace): every record kind written by TraceWriter reads back field for field; the file
 * reaches the disk at each frame's end, so a writer that dies loses at most the frame in progress; and the reader
 * refuses what is not a trace, a newer major version, damage and cuts with the byte offset and what it expected.
 * No GPU: the format is plain bytes. Each test runs with the file written on this thread and by the addon's thread.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  FIELDS,
  RecordKind,
  TRACE_HEADER_BYTES,
  TRACE_MINOR,
  TraceFormatError,
  type RecordOf,
} from "../../engine/trace/format.js";
import { readTrace } from "../../engine/trace/reader.js";
import { TraceWriter, type NativeTraceFiles } from "../../engine/trace/writer.js";
import { native } from "../../engine/native.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-trace-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => path.join(dir, `t${++n}.vkmtrace`);

/** One record of every kind, with values that exercise each encoding (large integers, negative results, UTF-8). */
function writeEveryKind(w: TraceWriter): void {
  w.allocatorCreate(
    16777217,
    "main",
    64,
    1024,
    [2 ** 34, 1, 2 ** 28, 0],
    [1, 0, 6, 1, 14, 1],
    JSON.stringify({ blockSize: 2 ** 26 }),
  );
  w.poolCreate(33554433, 16777217, 2, 1, 1 << 20, 1, 4, 256, "particles");
  const scratch = new Float64Array(24);
  scratch.set([65536, 0x80 | 0x2, 0, 0], 0);
  scratch.set([0x400, 7, 0, 1, 0xffffffff, 33554433, 0.75, 16], 16);
  w.allocate(
    2 ** 40 + 5,
    16777217,
    33554433,
    1,
    scratch,
    0,
    4,
    scratch,
    16,
    3,
    "vertex buffer",
    0,
    2,
    2 ** 33 + 256,
    65536,
    0xdeadbeef,
    0x7f,
    2 ** 34,
  );
  w.allocate(7, 16777217, 0, 0, scratch, 0, 3, scratch, 16, 0, null, -2, 0, 0, 0, 0, 0, 0);
  w.map(2 ** 40 + 5);
  w.unmap(2 ** 40 + 5);
  w.setName(2 ** 40 + 5, "Vertexpuffer für Ebene 2 ✓");
  w.lost(9, 120);
  w.frameBegin(4294967294);
  w.virtualBlockCreate(3, 2 ** 50, 2, "suballocator");
  w.virtualAllocate(3, 11, 4096, 256, 0x40, 0, 2 ** 49);
  w.virtualAllocate(3, 0, 2 ** 51, 1, 0, -2, 0);
  w.virtualFree(3, 11);
  w.virtualBlockDestroy(3);
  w.streamerRequest(5, 1234, 3);
  w.streamerEvict(5, 1234, 4 * 2 ** 20);
  w.upload(1, 12345678);
  w.move(2 ** 40 + 5, 2, 512, 0xcafe, 0, 1 << 20);
  w.note("level 2 loaded");
  w.free(2 ** 40 + 5);
  w.poolDestroy(33554433);
  w.frameEnd(4294967294, 16777217, [100, 200, 300, 400], 4);
  w.allocatorDestroy(16777217);
}

// Each test runs twice: the file written on this thread (fs), and by the addon's writer thread, as a recording
// allocator writes it (native/trace_file.cpp).
describe.each([
  ["fs on this thread", undefined],
  ["the addon's writer thread", native as NativeTraceFiles],
])("trace format, the file written by %s", (_, files) => {
  test("every record kind reads back field for field, in order, with times that only grow", () => {
    const file = tmp();
    const w = TraceWriter.open(file, {
      producer: "vkmem test",
      device: "lavapipe",
      apiVersion: (1 << 22) | (3 << 12),
      files,
    });
    writeEveryKind(w);
    w.close();
    expect(w.closed).toBe(true);
    const trace = readTrace(fs.readFileSync(file));
    expect(trace.version).toEqual({ major: 1, minor: TRACE_MINOR });
    expect(trace.truncated).toBeNull();
    expect(trace.skippedRecords).toBe(0);
    const kinds = trace.records.map((r) => r.kind);
    // Every kind in the format appears.
    expect(new Set(kinds)).toEqual(new Set(Object.keys(FIELDS).map(Number)));
    for (let i = 1; i < trace.records.length; i++)
      expect(trace.records[i]!.timeUs).toBeGreaterThanOrEqual(trace.records[i - 1]!.timeUs);

    const session = trace.records[0] as RecordOf<RecordKind.Session>;
    expect(session).toMatchObject({
      kind: RecordKind.Session,
      fileOffset: TRACE_HEADER_BYTES,
      producer: "vkmem test",
      device: "lavapipe",
      apiVersion: (1 << 22) | (3 << 12),
    });
    expect(Math.abs(session.startMs - Date.now())).toBeLessThan(60_000);

    const byKind = <K extends RecordKind>(k: K): RecordOf<K>[] =>
      trace.records.filter((r) => r.kind === k) as RecordOf<K>[];
    expect(byKind(RecordKind.AllocatorCreate)[0]).toMatchObject({
      allocator: 16777217,
      label: "main",
      nonCoherentAtomSize: 64,
      bufferImageGranularity: 1024,
      heaps: [2 ** 34, 1, 2 ** 28, 0],
      types: [1, 0, 6, 1, 14, 1],
      options: '{"blockSize":67108864}',
    });
    expect(byKind(RecordKind.PoolCreate)[0]).toMatchObject({
      pool: 33554433,
      allocator: 16777217,
      memoryType: 2,
      algorithm: 1,
      blockSize: 1 << 20,
      minBlockCount: 1,
      maxBlockCount: 4,
      minAllocationAlignment: 256,
      name: "particles",
    });
    const [ok, failed] = byKind(RecordKind.Allocate);
    expect(ok).toMatchObject({
      allocation: 2 ** 40 + 5,
      allocator: 16777217,
      pool: 33554433,
      resourceKind: 1,
      resource: [65536, 0x82, 0, 0],
      vmaFlags: 0x400,
      vmaUsage: 7,
      requiredFlags: 0,
      preferredFlags: 1,
      memoryTypeBits: 0xffffffff,
      priority: 0.75,
      minAlignment: 16,
      vkmemFlags: 3,
      name: "vertex buffer",
      result: 0,
      memoryType: 2,
      offset: 2 ** 33 + 256,
      size: 65536,
      memoryLo: 0xdeadbeef,
      memoryHi: 0x7f,
      blockSize: 2 ** 34,
    });
    expect(failed).toMatchObject({
      allocation: 7,
      pool: 0,
      resourceKind: 0,
      resource: [65536, 0x82, 0],
      name: "",
      result: -2,
    });
    expect(byKind(RecordKind.SetName)[0]!.name).toBe("Vertexpuffer für Ebene 2 ✓");
    expect(byKind(RecordKind.Lost)[0]).toMatchObject({ allocation: 9, frame: 120 });
    expect(byKind(RecordKind.FrameBegin)[0]!.frame).toBe(4294967294);
    expect(byKind(RecordKind.FrameEnd)[0]).toMatchObject({
      frame: 4294967294,
      allocator: 16777217,
      budgets: [100, 200, 300, 400],
    });
    expect(byKind(RecordKind.VirtualBlockCreate)[0]).toMatchObject({
      block: 3,
      size: 2 ** 50,
      algorithm: 2,
      name: "suballocator",
    });
    expect(byKind(RecordKind.VirtualAllocate)).toMatchObject([
      { block: 3, allocation: 11, size: 4096, alignment: 256, flags: 0x40, result: 0, offset: 2 ** 49 },
      { block: 3, allocation: 0, size: 2 ** 51, result: -2 },
    ]);
    expect(byKind(RecordKind.StreamerEvict)[0]).toMatchObject({ streamer: 5, texture: 1234, bytes: 4 * 2 ** 20 });
    expect(byKind(RecordKind.Upload)[0]).toMatchObject({ source: 1, bytes: 12345678 });
    expect(byKind(RecordKind.Move)[0]).toMatchObject({
      allocation: 2 ** 40 + 5,
      memoryType: 2,
      offset: 512,
      memoryLo: 0xcafe,
      memoryHi: 0,
      blockSize: 1 << 20,
    });
    expect(byKind(RecordKind.Note)[0]!.text).toBe("level 2 loaded");
  });

  test("records reach the file at each frame's end: a writer that dies loses at most the frame in progress", () => {
    const file = tmp();
    const w = TraceWriter.open(file, { files });
    const scratch = new Float64Array(24);
    for (let frame = 0; frame < 3; frame++) {
      w.frameBegin(frame);
      for (let i = 0; i < 100; i++)
        w.allocate(frame * 1000 + i, 1, 0, 1, scratch, 0, 4, scratch, 16, 0, `b${i}`, 0, 0, i * 256, 256, 1, 0, 65536);
      w.frameEnd(frame, 1, [], 0);
    }
    w.frameBegin(3);
    w.allocate(3000, 1, 0, 1, scratch, 0, 4, scratch, 16, 0, "in flight", 0, 0, 0, 256, 1, 0, 65536);
    // No close(): the process "dies" here. What is on disk is the three whole frames.
    const trace = readTrace(fs.readFileSync(file), { partial: true });
    expect(trace.truncated).toBeNull();
    const frames = trace.records
      .filter((r) => r.kind === RecordKind.FrameEnd)
      .map((r) => (r as RecordOf<RecordKind.FrameEnd>).frame);
    expect(frames).toEqual([0, 1, 2]);
    expect(trace.records.filter((r) => r.kind === RecordKind.Allocate)).toHaveLength(300);
    expect(w.bytesWritten).toBe(fs.statSync(file).size);
    w.close();
    expect(readTrace(fs.readFileSync(file)).records.filter((r) => r.kind === RecordKind.Allocate)).toHaveLength(301);
  });

  test("a frame that records more than the buffer holds is written in pieces that still read back whole", () => {
    const file = tmp();
    const w = TraceWriter.open(file, { files });
    const long = "x".repeat(3000);
    for (let i = 0; i < 400; i++) w.note(`${long}${i}`); // about 1.2 MB, several buffer flushes
    w.note("é".repeat(5000)); // a non-ASCII string longer than the fast path
    w.close();
    const notes = readTrace(fs.readFileSync(file)).records.filter(
      (r) => r.kind === RecordKind.Note,
    ) as RecordOf<RecordKind.Note>[];
    expect(notes).toHaveLength(401);
    expect(notes[399]!.text).toBe(`${long}399`);
    expect(notes[400]!.text).toBe("é".repeat(5000));
  });

  test("a file cut at any byte is refused with the offset where it was cut, or read up to it with partial", () => {
    const file = tmp();
    const w = TraceWriter.open(file, { files });
    writeEveryKind(w);
    w.close();
    const whole = fs.readFileSync(file);
    const starts = readTrace(whole).records.map((r) => r.fileOffset);
    for (let cut = 0; cut < whole.length; cut++) {
      const bytes = whole.subarray(0, cut);
      let error: unknown;
      try {
        readTrace(bytes);
      } catch (e) {
        error = e;
      }
      // A cut exactly between records is a shorter valid trace.
      if (starts.includes(cut)) {
        expect(error).toBeUndefined();
        continue;
      }
      expect(error, `cut at ${cut}`).toBeInstanceOf(TraceFormatError);
      const f = error as TraceFormatError;
      expect(f.offset).toBeLessThanOrEqual(cut);
      expect(f.message).toMatch(/^vkmem trace: at byte \d+: expected .+, found /);
      if (cut >= TRACE_HEADER_BYTES) {
        const partial = readTrace(bytes, { partial: true });
        expect(partial.truncated!.offset).toBeLessThanOrEqual(cut);
        // Every whole record before the cut is there.
        expect(partial.records.length).toBe(starts.filter((s) => s < cut).length - 1 + (starts.includes(cut) ? 1 : 0));
      }
    }
  });

  test("not a trace, a newer major version, and damage inside a record are refused with offset and expectation", () => {
    expect(() => readTrace(new TextEncoder().encode("GIF89a, certainly not a trace"))).toThrow(
      /at byte 0: expected the magic "VKMTRACE", found "GIF89a, "/,
    );
    const file = tmp();
    const w = TraceWriter.open(file, { files });
    w.free(42);
    w.close();
    const bytes = new Uint8Array(fs.readFileSync(file));
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint16(8, 2, true);
    expect(() => readTrace(newer)).toThrow(/at byte 8: expected major version 1, found version 2\.\d+/);

    // The Free record: its payload claims one byte less than its fields need (damage, not a cut: partial refuses too).
    const records = readTrace(bytes).records;
    const free = records[1]!;
    const damaged = bytes.slice();
    damaged[free.fileOffset + 1] =
      (damaged[free.fileOffset + 1]! & 0x80) | ((damaged[free.fileOffset + 1]! & 0x7f) - 1);
    damaged[free.fileOffset + 1]! |= 0x80;
    const cut = damaged.slice(0, damaged.length - 1);
    expect(() => readTrace(cut, { partial: true })).toThrow(TraceFormatError);
    try {
      readTrace(cut, { partial: true });
    } catch (e) {
      expect((e as TraceFormatError).expected).toMatch(/field 'allocation' of a Free record/);
    }
    // Invalid UTF-8 in a string.
    const wn = TraceWriter.open(file, { files });
    wn.note("abc");
    wn.close();
    const utf = new Uint8Array(fs.readFileSync(file));
    utf[utf.length - 1] = 0xff;
    expect(() => readTrace(utf)).toThrow(/expected valid UTF-8 \(field 'text' of a Note record\)/);
  });

  test("an AllocateLike record (1.1) reads as the previous Allocate record with its four fields replaced", () => {
    const file = tmp();
    const w = TraceWriter.open(file, { files });
    const createInfo = [0, 1, 2, 4, 0b11, 0, 0.25, 256];
    w.allocate(
      2 ** 40 + 1,
      7,
      3,
      1,
      [4096, 130, 0, 0],
      0,
      4,
      createInfo,
      0,
      1,
      "vb",
      0,
      1,
      0,
      4096,
      0xcafe,
      1,
      2 ** 25,
    );
    w.close();
    const base = new Uint8Array(fs.readFileSync(file));
    // An AllocateLike record by hand: kind 23, a 1-byte payload length, dt 0, allocation 2^35 + 1 (6 bytes),
    // resource0 300, offset 8192, size 512.
    const like = [23, 13, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x01, 0xac, 0x02, 0x80, 0x40, 0x80, 0x04];
    const bytes = new Uint8Array([...base, ...like, ...like]);
    const trace = readTrace(bytes);
    const [first, second, third] = trace.records.slice(1) as RecordOf<RecordKind.Allocate>[];
    expect(trace.skippedRecords).toBe(0);
    const { fileOffset: _a, timeUs: _b, ...same } = first!;
    for (const r of [second!, third!]) {
      expect(r).toEqual({
        ...same,
        fileOffset: r.fileOffset,
        timeUs: r.timeUs,
        allocation: 2 ** 35 + 1,
        resource: [300, 130, 0, 0],
        offset: 8192,
        size: 512,
      });
    }
    expect(third!.fileOffset).toBe(second!.fileOffset + like.length);
    // With no Allocate record before it, it is damage, named at its offset.
    const session = base.subarray(0, first!.fileOffset);
    expect(() => readTrace(new Uint8Array([...session, ...like]))).toThrow(
      new RegExp(`at byte ${first!.fileOffset}: expected an Allocate record before an AllocateLike record`),
    );
  });

  test("unknown record kinds and fields appended by a newer minor version are skipped", () => {
    const file = tmp();
    const w = TraceWriter.open(file, { files });
    w.free(42);
    w.close();
    const base = new Uint8Array(fs.readFileSync(file));
    const free = readTrace(base).records[1]!;
    // Rebuild: header (minor 1), Session as is, a kind-200 record, then the Free record with two extra bytes.
    const session = base.subarray(TRACE_HEADER_BYTES, free.fileOffset);
    const freePayload = base.subarray(free.fileOffset + 4);
    const out = [
      ...base.subarray(0, TRACE_HEADER_BYTES),
      ...session,
      200,
      3,
      9,
      9,
      9,
      RecordKind.Free,
      freePayload.length + 2,
      ...freePayload,
      0x7f,
      0x01,
    ];
    const bytes = new Uint8Array(out);
    new DataView(bytes.buffer).setUint16(10, 1, true);
    const trace = readTrace(bytes);
    expect(trace.version.minor).toBe(1);
    expect(trace.skippedRecords).toBe(1);
    expect(trace.records.map((r) => r.kind)).toEqual([RecordKind.Session, RecordKind.Free]);
    expect((trace.records[1] as RecordOf<RecordKind.Free>).allocation).toBe(42);
  });

  test("writing to a closed trace is refused; a file that cannot be created names its path", () => {
    const w = TraceWriter.open(tmp(), { files });
    w.close();
    w.close();
    expect(() => w.free(1)).toThrow(/the trace is closed/);
    expect(() => TraceWriter.open(path.join(dir, "no-such-dir", "t.vkmtrace"), { files })).toThrow(/no-such-dir/);
  });
});
