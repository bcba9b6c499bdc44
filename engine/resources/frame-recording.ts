/**
 * What a FrameManager adds to its allocator's trace (engine/memory/recording.ts): a FrameEnd record at each frame's
 * end, with every heap's usage and budget then, and the bytes uploaded in the frame. The frame's begin is recorded
 * by the allocator (setCurrentFrameIndex), its allocations and frees by the allocator's parts.
 *
 * `record: { file }` on createFrameManager starts the allocator's recording when it has none (a trace that begins
 * there: earlier allocations are not in it, which a replay counts as unknown objects). An allocator that records
 * into another file already is refused: one trace per allocator.
 *
 * The live inspector (engine/report/inspector.ts) is fed from the same place: each frame's end, with its uploads.
 * `inspector: { port }` on createFrameManager starts the allocator's inspector when it has none (the FrameManager
 * then closes it in its destroy()); an allocator that serves one already keeps it when the port is 0 or the same,
 * and a different port is refused: one inspector per allocator.
 * @module
 */
import { InvalidStateError } from "../errors.js";
import type { Allocator } from "../memory/allocator.js";
import type { InspectorOptions } from "../report/inspector.js";

/**
 * Starts (or joins) the allocator's inspector for a FrameManager's `inspector` option; true when it started it
 * (and must close it). @internal
 */
export function startFrameInspector(op: string, allocator: Allocator, options: InspectorOptions | undefined): boolean {
  const current = allocator._inspector;
  // Frames are this manager's frame ends from now on, not the allocator's frame index (set at a frame's begin).
  current?._useFrameEnds();
  if (options === undefined) return false;
  if (current === null) {
    allocator._startInspector(op, options)._useFrameEnds();
    return true;
  }
  if (options.port !== 0 && options.port !== current.port)
    throw new InvalidStateError(
      null,
      op,
      `allocator${allocator.label ? ` '${allocator.label}'` : ""} already serves its inspector at ${current.url}, not on port ${options.port}: one inspector per allocator`,
    );
  return false;
}

/** Closes the allocator's inspector that a FrameManager started. @internal */
export function stopFrameInspector(allocator: Allocator, started: boolean): void {
  if (!started) return;
  allocator._inspector?.close();
  allocator._inspector = null;
}

/** Starts (or joins) the allocator's recording for a FrameManager's `record` option. @internal */
export function startFrameRecording(op: string, allocator: Allocator, record: { file: string } | undefined): void {
  if (record === undefined) return;
  const current = allocator._recording;
  if (current === null) {
    allocator._startRecording(record.file, {});
    allocator.recording?.note(
      `recording started by a FrameManager with ${allocator.allocationCount} live allocation(s) not in the trace`,
    );
  } else if (current.writer.file !== record.file) {
    throw new InvalidStateError(
      null,
      op,
      `allocator${allocator.label ? ` '${allocator.label}'` : ""} already records into '${current.writer.file}', not '${record.file}': one trace per allocator`,
    );
  }
}

/** The FrameEnd record of frame `frame`, and its uploads (and the inspector's frame end); writes the trace's buffered records to the file. @internal */
export function recordFrameEnd(allocator: Allocator, frame: number, uploadedBytes: number): void {
  allocator._inspector?._frameEnded(frame, uploadedBytes);
  const recording = allocator._recording;
  if (recording === null) return;
  if (uploadedBytes > 0) recording.writer.upload(0, uploadedBytes);
  const budgets = allocator.getHeapBudgets();
  const pairs = new Array<number>(budgets.length * 2);
  for (let i = 0; i < budgets.length; i++) {
    pairs[2 * i] = budgets[i]!.usage;
    pairs[2 * i + 1] = budgets[i]!.budget;
  }
  recording.writer.frameEnd(frame, allocator._handle, pairs, pairs.length);
}
