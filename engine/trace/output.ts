/**
 * Where a {@link TraceWriter}'s bytes go (./writer.ts): a file written on this thread (`fs.writeSync`), or one the
 * addon's thread writes (native/trace_file.cpp), which a recording allocator uses. Either way the writer hands over
 * its buffer when it is full, and syncs at each frame's end and at close: after {@link TraceOutput.sync} everything
 * handed over is in the file, so that a crash loses at most the frame in progress.
 *
 * Why a thread: on the machines measured, writing a full 256 KiB buffer on this thread took from 90 µs to over a
 * millisecond (the page cache, writeback), once every ten thousand or so recorded createBuffer + destroyBuffer pairs;
 * the addon copies it in a few tens of microseconds and writes it while recording goes on.
 * @internal
 * @module
 */
import * as fs from "node:fs";

/** @internal The addon's trace files, each written by a thread of its own (native/trace_file.cpp). */
export interface NativeTraceFiles {
  /** Creates or truncates `path` and starts its thread; returns the file's id. Throws naming the path. */
  traceFileOpen(path: string): number;
  /** Copies `bytes[0, length)` to the file's queue and returns (it waits only while the queue is full). */
  traceFileWrite(id: number, bytes: Uint8Array, length: number): void;
  /** Returns once everything queued is in the file; throws the thread's first error, naming the file. */
  traceFileSync(id: number): void;
  /** Syncs, closes the file and joins its thread; throws the thread's first error. An unknown id does nothing. */
  traceFileClose(id: number): void;
}

/** @internal An open trace file. Errors name the file. */
export interface TraceOutput {
  /** Hands `bytes[0, length)` over: written now, or queued for the file's thread (copied: the caller may reuse it). */
  write(bytes: Uint8Array, length: number): void;
  /** Returns once everything handed over is in the file. */
  sync(): void;
  /** Syncs and closes the file; the first error of either is thrown, and the file is closed all the same. */
  close(): void;
}

/**
 * Creates (or truncates) `file`: written by the addon's thread when `files` is given, else on this thread.
 * @throws Error naming the path when it cannot be created.
 */
export function openTraceOutput(file: string, files: NativeTraceFiles | null): TraceOutput {
  return files !== null
    ? new NativeOutput(files, files.traceFileOpen(file))
    : new FsOutput(file, fs.openSync(file, "w"));
}

class FsOutput implements TraceOutput {
  constructor(
    private readonly file: string,
    private readonly fd: number,
  ) {}

  write(bytes: Uint8Array, length: number): void {
    let done = 0;
    try {
      while (done < length) done += fs.writeSync(this.fd, bytes, done, length - done);
    } catch (e) {
      throw new Error(`vkmem trace '${this.file}': writing failed: ${(e as Error).message}`, { cause: e });
    }
  }

  sync(): void {} // writeSync has handed everything to the kernel

  close(): void {
    fs.closeSync(this.fd);
  }
}

/**
 * The native outputs open in this thread. The process's (or worker's) 'exit' event, which also follows an uncaught
 * exception and process.exit(), waits for their threads: a write handed over reaches the file then, as it did when
 * this thread wrote it itself (measured: without it, process.exit() right after handing over 16 MiB left 2 MiB in
 * the file). A native crash still loses what the thread had not written; the writer's frame-end sync bounds that.
 */
const openOutputs = new Set<NativeOutput>();
let exitHooked = false;

function syncAtExit(): void {
  for (const out of openOutputs) {
    try {
      out.sync();
    } catch {
      // exiting: nobody is left to hear it, and the file keeps what was written before the error
    }
  }
}

class NativeOutput implements TraceOutput {
  constructor(
    private readonly files: NativeTraceFiles,
    private readonly id: number,
  ) {
    openOutputs.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on("exit", syncAtExit);
    }
  }

  write(bytes: Uint8Array, length: number): void {
    this.files.traceFileWrite(this.id, bytes, length);
  }

  sync(): void {
    this.files.traceFileSync(this.id);
  }

  close(): void {
    openOutputs.delete(this);
    this.files.traceFileClose(this.id);
  }
}
