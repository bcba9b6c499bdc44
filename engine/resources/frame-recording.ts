/**
 * What a FrameManager adds to its allocator's trace (engine/memory/recording.ts): a FrameEnd record at each frame's
 * end, with every heap's usage and budget then, and the bytes uploaded in the frame. The frame's begin is recorded
 * by the allocator (setCurrentFrameIndex), its allocations and frees by the allocator's parts.
 *
 * `record: { file }` on createFrameManager starts the allocator's recording when it has none (a trace that begins
 * there: earlier allocations are not in it, which a replay counts as unknown objects). An allocator that records
 * into another file already is refused: one trace per allocator.
 * @module
 */
import { InvalidStateError } from "../errors.js";
import type { Allocator } from "../memory/allocator.js";

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

/** The FrameEnd record of frame `frame`, and its uploads; writes the trace's buffered records to the file. @internal */
export function recordFrameEnd(allocator: Allocator, frame: number, uploadedBytes: number): void {
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
