/**
 * Reading a buffer back: the GPU writes into a device-local Buffer (here vkCmdFillBuffer and a copy, in a game a
 * compute shader), and `download()` returns a promise of the bytes that resolves once the frame that carried the
 * copy has finished. Nothing blocks: the program keeps making frames until the promise settles.
 *
 *   node dist/examples/readback.js        (VKMEM_VALIDATION=1 turns the validation layer on)
 *
 * The download is recorded with the frame's uploads, before the frame's own commands: what the GPU writes in a
 * frame is read back by a download asked for in a later frame.
 */
import { createAllocator, createContext, createFrameManager, nvk, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT } from "vkmem";

const COUNT = 4096; // uint32 values

const context = createContext({ validation: process.env.VKMEM_VALIDATION === "1" });
const allocator = createAllocator(context);
const frames = createFrameManager(context, allocator, { framesInFlight: 2 });
const results = frames.createBuffer({ label: "results", size: COUNT * 4, usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT });

// Frame 0: upload a ramp 0, 1, 2, ... into the first half; the GPU fills the second half with 0xC0FFEE.
const frame = frames.beginFrame();
frames.upload(results, Uint32Array.from({ length: COUNT / 2 }, (_, i) => i));
nvk.vkCmdFillBuffer(frame.commandBuffer, results.handle, (COUNT / 2) * 4, (COUNT / 2) * 4, 0xc0ffee);
nvk.vkCmdPipelineBarrier(frame.commandBuffer, nvk.VK_PIPELINE_STAGE_TRANSFER_BIT, nvk.VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
  [new nvk.VkMemoryBarrier({ srcAccessMask: nvk.VK_ACCESS_TRANSFER_WRITE_BIT, dstAccessMask: nvk.VK_ACCESS_TRANSFER_READ_BIT })], 0, null, 0, null);
results.markUsed();
frames.endFrame();

// Frame 1 asks for the bytes; later frames go on until the promise has resolved.
frames.beginFrame();
let bytes: Uint8Array | null = null;
frames.download(results).then((b) => (bytes = b));
frames.endFrame();
let extraFrames = 0;
while (bytes === null) {
  frames.beginFrame(); // waits for the frame that last used this slot, and resolves the downloads it carried
  frames.endFrame();
  extraFrames++;
  await Promise.resolve(); // let the resolved promise's callback run
}
const values = new Uint32Array((bytes as Uint8Array).slice().buffer);
const rampOk = values.subarray(0, COUNT / 2).every((v, i) => v === i);
const fillOk = values.subarray(COUNT / 2).every((v) => v === 0xc0ffee);
console.log(`read back ${values.byteLength} bytes after ${extraFrames} more frame(s)`);
console.log(`first half is the uploaded ramp: ${rampOk}; second half is the GPU's fill 0xc0ffee: ${fillOk}`);
console.log(`values[0..3] = ${[...values.subarray(0, 4)].join(", ")}; values[${COUNT - 1}] = 0x${values[COUNT - 1]!.toString(16)}`);

frames.waitIdle();
results.destroy();
frames.destroy();
const leaks = allocator.destroy();
context.destroy();
console.log(`leaks: ${leaks.length}; validation messages: ${context.validationMessages.length}`);
process.exitCode = !rampOk || !fillOk || leaks.length + context.validationMessages.length > 0 ? 1 : 0;
