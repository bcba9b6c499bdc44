/**
 * The addon's trace files (native/trace_file.cpp): a recording writer hands its full buffer to a thread that writes
 * the file. The bytes reach the file whole and in order, however many pieces and however fast they come; a sync
 * returns only once they are there; the thread's errors come back naming the file; bad arguments are refused with a
 * typed error; and a file nobody closed is written out and closed when its Node environment ends.
 * No GPU: only the addon's file code runs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, test } from "vitest";
import { addonPaths, native } from "../../engine/native.js";
import { TraceWriter } from "../../engine/trace/writer.js";
import { describeResult, runScenario } from "../lifetime/child.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-trace-file-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => path.join(dir, `f${++n}.bin`);

/** `length` bytes of a pattern that differs from piece to piece. */
function piece(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

describe("trace files written by the addon's thread", () => {
  test("pieces of any size reach the file whole and in order; a sync makes them all visible", () => {
    const file = tmp();
    const id = native.traceFileOpen(file);
    const expected: Uint8Array[] = [];
    const sizes = [1, 7, 4096, 262144, 0, 100000, 3, 262144, 65537];
    for (let i = 0; i < 60; i++) {
      const bytes = piece(i, sizes[i % sizes.length]!);
      // Only a prefix is written when length is shorter than the array: the rest never reaches the file.
      const length = i % 5 === 4 ? bytes.length >> 1 : bytes.length;
      native.traceFileWrite(id, bytes, length);
      expected.push(bytes.slice(0, length));
      bytes.fill(0xee); // the bytes were copied before the call returned: changing them now changes nothing
    }
    native.traceFileSync(id);
    const want = Buffer.concat(expected);
    expect(fs.statSync(file).size).toBe(want.length);
    expect(Buffer.compare(fs.readFileSync(file), want)).toBe(0);
    native.traceFileClose(id);
    expect(Buffer.compare(fs.readFileSync(file), want)).toBe(0);
  });

  test("more than the queue holds (16 MiB) waits for the thread instead of growing, and loses nothing", () => {
    const file = tmp();
    const id = native.traceFileOpen(file);
    const chunk = piece(7, 1 << 20);
    for (let i = 0; i < 40; i++) {
      chunk[0] = i; // each megabyte says which it is
      native.traceFileWrite(id, chunk, chunk.length);
    }
    native.traceFileClose(id);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(40 << 20);
    for (let i = 0; i < 40; i++) {
      expect(bytes[i << 20]).toBe(i);
      expect(Buffer.compare(bytes.subarray((i << 20) + 1, (i + 1) << 20), chunk.subarray(1))).toBe(0);
    }
  });

  test("opening truncates; a file that cannot be created is refused naming its path and why", () => {
    const file = tmp();
    fs.writeFileSync(file, "old contents that must go");
    const id = native.traceFileOpen(file);
    native.traceFileWrite(id, new Uint8Array([1, 2, 3]), 3);
    native.traceFileClose(id);
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
    const missing = path.join(dir, "no-such-dir", "t.bin");
    expect(() => native.traceFileOpen(missing)).toThrow(
      new RegExp(`vkmem trace '${missing.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}': cannot create the file: .+`),
    );
  });

  test.runIf(process.platform === "linux")(
    "a write the disk refuses comes back from the next sync and close, naming the file; the process goes on",
    () => {
      // /dev/full takes the open and refuses every write with ENOSPC.
      const id = native.traceFileOpen("/dev/full");
      native.traceFileWrite(id, piece(1, 1000), 1000);
      expect(() => native.traceFileSync(id)).toThrow(/vkmem trace '\/dev\/full': writing failed: .*\(errno 28\)/);
      expect(() => native.traceFileWrite(id, piece(2, 10), 10)).toThrow(/writing failed/);
      expect(() => native.traceFileClose(id)).toThrow(/writing failed/);
      native.traceFileClose(id); // closed: nothing more to say
      expect(() => native.traceFileSync(id)).toThrow(/the trace file is closed/);
    },
  );

  test.runIf(process.platform === "linux")(
    "a TraceWriter whose file refuses its first bytes throws from open, naming it, with either output",
    () => {
      for (const files of [undefined, native]) {
        expect(() => TraceWriter.open("/dev/full", { files })).toThrow(
          /vkmem trace '\/dev\/full': writing failed: .*(ENOSPC|errno 28)/,
        );
      }
    },
  );

  test("bad arguments are refused with a typed error and leave the file as it was", () => {
    const file = tmp();
    const id = native.traceFileOpen(file);
    native.traceFileWrite(id, new Uint8Array([9]), 1);
    const open = native.traceFileOpen as (path: unknown) => number;
    expect(() => open(42)).toThrow(TypeError);
    expect(() => open("")).toThrow(/non-empty string without NUL/);
    expect(() => open("a\0b")).toThrow(/non-empty string without NUL/);
    const write = native.traceFileWrite as (id: unknown, bytes: unknown, length: unknown) => void;
    expect(() => write(id, [1, 2], 2)).toThrow(TypeError);
    expect(() => write(id, new Uint16Array(4), 2)).toThrow(TypeError);
    expect(() => write(id, new Uint8Array(4), "2")).toThrow(TypeError);
    for (const bad of [5, -1, 1.5, NaN, Infinity]) {
      expect(() => write(id, new Uint8Array(4), bad)).toThrow(RangeError);
      expect(() => write(id, new Uint8Array(4), bad)).toThrow(/length must be an integer in \[0, bytes.length\]/);
    }
    expect(() => write(1e9, new Uint8Array(4), 4)).toThrow(/traceFileWrite: the trace file is closed/);
    expect(() => write("x", new Uint8Array(4), 4)).toThrow(/the trace file is closed/);
    native.traceFileClose(1e9); // an id that names nothing: nothing to do
    native.traceFileClose(id);
    expect([...fs.readFileSync(file)]).toEqual([9]);
    expect(() => native.traceFileWrite(id, new Uint8Array(1), 1)).toThrow(/the trace file is closed/);
  });

  test("what was handed to the thread is in the file when the process exits early: process.exit, an uncaught throw", () => {
    for (const [how, end] of [
      ["exit", "process.exit(0);"],
      ["throw", 'throw new Error("the game crashed");'],
    ] as const) {
      const file = tmp();
      // A trace output on the oracles build, whose thread is held (it writes nothing until something waits for it),
      // is handed 3 MiB, then the process ends at once: no close(), no sync. Only the output's exit hook can have
      // the bytes written.
      const r = runScenario(`
import { openTraceOutput } from "./dist/engine/trace/output.js";
import { oracleNative } from "./dist/engine/native.js";
const files = oracleNative();
const out = openTraceOutput(${JSON.stringify(file)}, files);
files.traceFileHold(1, true); // id 1: the first file this process opened
const piece = new Uint8Array(1 << 20).fill(7);
for (let i = 0; i < 3; i++) out.write(piece, piece.length);
console.log("handed over:", 3 << 20);
${end}`);
      expect(r.status, describeResult(r)).toBe(how === "exit" ? 0 : 1);
      expect(r.stdout).toContain(`handed over: ${3 << 20}`);
      const bytes = fs.readFileSync(file);
      expect(bytes.length).toBe(3 << 20);
      expect(bytes[(3 << 20) - 1]).toBe(7);
    }
  });

  test("a file answers only to the thread that opened it: a worker naming it finds nothing and changes nothing", async () => {
    const file = tmp();
    const id = native.traceFileOpen(file);
    native.traceFileWrite(id, new Uint8Array([1, 2]), 2);
    const [addon] = addonPaths();
    const worker = new Worker(
      `const { workerData, parentPort } = require("node:worker_threads");
       const a = require(workerData.addon);
       const tried = [];
       for (const call of [() => a.traceFileWrite(workerData.id, new Uint8Array([9]), 1), () => a.traceFileSync(workerData.id)]) {
         try { call(); tried.push("no error"); } catch (e) { tried.push(e.message); }
       }
       a.traceFileClose(workerData.id); // names nothing here: does nothing
       parentPort.postMessage(tried);`,
      { eval: true, workerData: { addon, id } },
    );
    const tried = await new Promise<string[]>((resolve, reject) => {
      worker.on("message", resolve);
      worker.on("error", reject);
    });
    expect(tried).toEqual([
      "vkmem native: traceFileWrite: the trace file is closed",
      "vkmem native: traceFileSync: the trace file is closed",
    ]);
    native.traceFileWrite(id, new Uint8Array([3]), 1);
    native.traceFileClose(id);
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
  });

  test("a file left open is written out, closed and its thread joined when its environment ends", async () => {
    const file = tmp();
    const [addon] = addonPaths();
    // A worker loads the addon, writes 3 MiB without closing, and exits: its environment's cleanup does the rest.
    const worker = new Worker(
      `const { workerData } = require("node:worker_threads");
       const a = require(workerData.addon);
       const id = a.traceFileOpen(workerData.file);
       const b = new Uint8Array(1 << 20);
       for (let i = 0; i < 3; i++) { b.fill(i + 1); a.traceFileWrite(id, b, b.length); }`,
      { eval: true, workerData: { addon, file } },
    );
    const code = await new Promise<number>((resolve, reject) => {
      worker.on("error", reject);
      worker.on("exit", resolve);
    });
    expect(code).toBe(0);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(3 << 20);
    for (let i = 0; i < 3; i++) expect(bytes.subarray(i << 20, (i + 1) << 20).every((b) => b === i + 1)).toBe(true);
  });
});
