/**
 * Per-frame uniform data from the frame manager's transient ring: each frame writes every object's uniforms into
 * memory that is valid for that frame only, aligned for a uniform-buffer binding, and reused once the frame's fence
 * has signaled. No buffer is created or destroyed per frame.
 *
 *   node dist/examples/uniform-ring.js        (VKMEM_VALIDATION=1 turns the validation layer on)
 *
 * A game binds `allocation.buffer` at `allocation.offset` (a dynamic uniform buffer offset). To show that the GPU
 * sees what each frame wrote, this program copies one object's uniforms per frame into a device-local Buffer on the
 * GPU and reads that back at the end.
 */
import { createAllocator, createContext, createFrameManager, nvk, VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT } from "vkmem";

const FRAMES = 12;
const OBJECTS = 200;
const UNIFORM_BYTES = 64; // one mat4 per object

const context = createContext({ validation: process.env.VKMEM_VALIDATION === "1" });
const allocator = createAllocator(context);
// 3 frames in flight; a 64 KiB transient ring that may grow to 1 MiB.
const frames = createFrameManager(context, allocator, { framesInFlight: 3, transientRing: { size: 64 * 1024, maxSize: 1024 * 1024 } });
const seen = frames.createBuffer({ label: "seen by the GPU", size: FRAMES * UNIFORM_BYTES, usage: VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT });

const alignment = Number(context.properties.minUniformBufferOffsetAlignment);
let misaligned = 0;
for (let f = 0; f < FRAMES; f++) {
  const frame = frames.beginFrame();
  for (let o = 0; o < OBJECTS; o++) {
    const uniforms = frames.allocateTransient(UNIFORM_BYTES, "uniform");
    if (uniforms.offset % alignment !== 0) misaligned++;
    const matrix = new Float32Array(uniforms.bytes.buffer, uniforms.bytes.byteOffset, 16);
    matrix.fill(0);
    matrix[0] = matrix[5] = matrix[10] = matrix[15] = 1;
    matrix[12] = f; // a translation that says which frame wrote it
    matrix[13] = o;
    if (o === OBJECTS - 1) {
      // What a draw would read, copied where we can look at it afterwards.
      nvk.vkCmdCopyBuffer(frame.commandBuffer, uniforms.buffer, seen.handle, 1, [
        new nvk.VkBufferCopy({ srcOffset: uniforms.offset, dstOffset: f * UNIFORM_BYTES, size: UNIFORM_BYTES }),
      ]);
    }
  }
  nvk.vkCmdPipelineBarrier(frame.commandBuffer, nvk.VK_PIPELINE_STAGE_TRANSFER_BIT, nvk.VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
    [new nvk.VkMemoryBarrier({ srcAccessMask: nvk.VK_ACCESS_TRANSFER_WRITE_BIT, dstAccessMask: nvk.VK_ACCESS_TRANSFER_READ_BIT })], 0, null, 0, null);
  seen.markUsed();
  frames.endFrame();
  const s = frames.frameStatistics!;
  if (f < 3 || f === FRAMES - 1) {
    console.log(`frame ${f}: ${s.transientAllocations} transient allocations, ${s.transientBytes} bytes, ring wraps ${s.ringWraps}, grows ${s.ringGrows}`);
  }
}

frames.beginFrame();
const download = frames.download(seen);
frames.endFrame();
frames.waitIdle();
const back = new Float32Array((await download).slice().buffer);
const wrong = Array.from({ length: FRAMES }, (_, f) => f).filter((f) => back[f * 16 + 12] !== f || back[f * 16 + 13] !== OBJECTS - 1);
const ring = frames.statistics.transientRing;
console.log(`alignment ${alignment}: ${misaligned} misaligned offsets; GPU saw every frame's own uniforms: ${wrong.length === 0}`);
console.log(`transient ring: ${ring.blocks} block(s), ${ring.capacity} bytes, ${ring.allocations} allocations, ${ring.wraps} wraps`);

seen.destroy();
frames.destroy();
const leaks = allocator.destroy();
context.destroy();
console.log(`leaks: ${leaks.length}; validation messages: ${context.validationMessages.length}`);
process.exitCode = misaligned + wrong.length + leaks.length + context.validationMessages.length > 0 ? 1 : 0;
