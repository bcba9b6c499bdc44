/**
 * Uploads written in place: VMA's "advanced data uploading" for a FrameManager. A Buffer created persistently mapped
 * (`memory: { hostAccess, mapped: true }`, with `allowTransferInstead` in DEVICE_LOCAL host-visible memory where the
 * device has some) needs no staging copy and no copy command: `upload()` copies the bytes straight into its mapping,
 * on the upload threads from PARALLEL_MIN_BYTES, and flushes where the memory is not HOST_COHERENT.
 *
 * Only when the GPU cannot be using those bytes: the caller (transfers.ts) writes in place only when the buffer's
 * `lastUsedSerial` is complete; otherwise the upload is staged and recorded inside the frame, which marks it used, so
 * a frame still on the GPU never sees its bytes change and later uploads of the same frame stay ordered after it.
 * Mapped buffers never move under live defragmentation, and a move by `allocator.defragment()` maps them again
 * (Buffer._mappedBytes follows the new view). Memory that buffers or images alias is never written in place.
 *
 * On a discrete GPU a large write into DEVICE_LOCAL memory (ReBAR) crosses the bus as the CPU's write-combined
 * stores. On the H200, 64 MiB written in place by eight threads into ReBAR reached a GPU copy of it in 2.37-2.42 ms
 * (27.7-28.3 GB/s, the CPU busy 2.05 ms), while the staged upload (eight threads into host memory, then the GPU's own
 * copy in pieces) took 2.08-2.37 ms (28.4-32.3 GB/s, the CPU busy about 1.4 ms), in the same runs. So there, uploads
 * from 1 MiB into DEVICE_LOCAL mapped memory are staged; into host memory (where VMA puts a large `allowTransferInstead`
 * buffer on that machine), and on integrated and CPU devices (one memory), every size is written in place.
 * @internal
 * @module
 */
import type { Context } from "../vulkan/context.js";
import type { Buffer } from "./buffer.js";
import { PARALLEL_MIN_BYTES, type UploadWorkers } from "./upload-workers.js";

/** Uploads of this size and more into DEVICE_LOCAL mapped memory of a discrete GPU are staged (see above). */
const DISCRETE_DEVICE_LOCAL_LIMIT = 1 << 20;

/** The size from which uploads into DEVICE_LOCAL mapped memory are staged on this device. */
export function inPlaceLimit(context: Context): number {
  return context.deviceType === "discrete" ? DISCRETE_DEVICE_LOCAL_LIMIT : Infinity;
}

/**
 * Writes `bytes` at `offset` into `buffer`'s persistent mapping and returns true, or returns false when it has none
 * or the write belongs on the staging path (`limit`). The caller knows that no incomplete frame used the buffer.
 */
export function writeInPlace(
  buffer: Buffer,
  bytes: Uint8Array,
  offset: number,
  workers: UploadWorkers | null,
  limit: number,
): boolean {
  const length = bytes.length;
  const mapped = buffer._mappedBytes();
  if (mapped === null || (length >= limit && buffer._mappedDeviceLocal)) return false;
  if (workers !== null && length >= PARALLEL_MIN_BYTES) workers.copy(mapped, offset, bytes, 0, length);
  else mapped.set(bytes, offset);
  buffer._flushMapped(offset, length);
  return true;
}
