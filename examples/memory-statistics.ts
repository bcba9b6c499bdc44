/**
 * Watching memory: per-heap budgets (VK_EXT_memory_budget where the driver has it), the allocator's totals per heap
 * and memory type, VMA's JSON dump, and the frame manager's per-frame counters, around a small workload that
 * creates and destroys resources over a few frames.
 *
 *   node dist/examples/memory-statistics.js        (VKMEM_VALIDATION=1 turns the validation layer on)
 *
 * `formatStatistics(allocator)` prints the readable tables; `allocator.dump()` gives the same data typed, which is
 * what to send to a game's own overlay or telemetry. `vkmem vis` draws a saved dump as a memory map.
 */
import {
  createAllocator,
  createContext,
  createFrameManager,
  formatStatistics,
  MemoryUsage,
  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
  VK_FORMAT_R8G8B8A8_UNORM,
  type Buffer,
} from "vkmem";

const MiB = 1024 * 1024;
const context = createContext({ validation: process.env.VKMEM_VALIDATION === "1" });
const allocator = createAllocator(context);
const frames = createFrameManager(context, allocator, { framesInFlight: 2 });

const heapLine = () =>
  allocator
    .getHeapBudgets()
    .map((b, i) => `heap ${i}: usage ${(b.usage / MiB).toFixed(1)} of budget ${(b.budget / MiB).toFixed(0)} MiB, ${b.allocationCount} allocation(s)`)
    .join("; ");
console.log(`device ${context.deviceName}; ${heapLine()}`);

// Five frames: each makes four 1 MiB meshes and a texture, and destroys what the frame before made.
let previous: Buffer[] = [];
for (let f = 0; f < 5; f++) {
  frames.beginFrame();
  for (const b of previous) b.destroy(); // freed once the frame that used them has finished
  previous = Array.from({ length: 4 }, (_, i) =>
    frames.createBuffer({ label: `mesh ${f}.${i}`, size: MiB, usage: VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, memory: { usage: MemoryUsage.GpuOnly } }),
  );
  for (const b of previous) b.markUsed();
  const texture = frames.createTexture({ label: `decal ${f}`, width: 128, height: 128, format: VK_FORMAT_R8G8B8A8_UNORM });
  frames.uploadImage(texture, new Uint8Array(128 * 128 * 4).fill(f * 40));
  texture.destroy(); // after the upload's frame: the manager defers it
  frames.endFrame();
  const s = frames.frameStatistics!;
  console.log(`frame ${f}: created ${s.resourcesCreated}, destroyed ${s.resourcesDestroyed}, deferred ${s.deferredQueued}, ` +
    `uploaded ${s.uploadedBytes} bytes; ${heapLine()}`);
}

const totals = allocator.calculateStatistics().total;
console.log(`allocator total: ${totals.allocationCount} allocations, ${(totals.allocationBytes / MiB).toFixed(1)} MiB in ${totals.blockCount} block(s) of ${(totals.blockBytes / MiB).toFixed(1)} MiB`);
const dump = allocator.dump();
console.log(`VMA dump: ${Object.keys(dump.MemoryInfo).length} heap(s), ${dump.Total.AllocationCount} allocations, ` +
  `${Object.keys(dump.DefaultPools ?? {}).length} default pool(s) with blocks`);
console.log(formatStatistics(allocator).split("\n").slice(0, 6).join("\n"));

for (const b of previous) b.destroy();
frames.destroy();
const leaks = allocator.destroy();
context.destroy();
console.log(`leaks: ${leaks.length}; validation messages: ${context.validationMessages.length}`);
process.exitCode = leaks.length + context.validationMessages.length > 0 ? 1 : 0;
