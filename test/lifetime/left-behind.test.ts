/**
 * Issue 10, item 6: nothing is left behind. A FrameManager's destroy() destroys and names the Buffers and Textures
 * still alive (their image views must not reach vkDestroyDevice), and objects dropped without destroy() are reported
 * by the FinalizationRegistry safety net of engine/lifetime.ts, which never calls Vulkan. Child processes
 * (test/lifetime/child.ts): the GC scenario needs `--expose-gc`.
 */
import { describe, expect, test } from "vitest";
import { describeResult, runScenario } from "./child.js";

describe("things left behind", () => {
  test("FrameManager.destroy() destroys and reports its live Buffers and Textures; nothing reaches vkDestroyDevice", () => {
    const r = runScenario(`
const context = vk.createContext({ validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = vk.createAllocator(context, { label: "main" });
const frames = vk.createFrameManager(context, allocator, { label: "frames" });
const vertices = frames.createBuffer({ label: "vertices", size: 1024, usage: 0x80 });
const albedo = frames.createTexture({ label: "albedo", width: 16, height: 16, format: 37 });
const gone = frames.createBuffer({ label: "destroyed first", size: 64, usage: 0x20 });
gone.destroy();
frames.beginFrame();
frames.upload(vertices, new Uint8Array(1024).fill(5));
frames.uploadImage(albedo, new Uint8Array(16 * 16 * 4).fill(7));
vertices.markUsed();
albedo.markUsed();
frames.endFrame();
frames.destroy();
console.log("destroyed:", vertices.destroyed, albedo.destroyed);
console.log("view:", thrown(() => albedo.view));
console.log("handle:", thrown(() => vertices.handle));
vertices.destroy(); // a no-op now
albedo.destroy();
console.log("leaks:", JSON.stringify(allocator.destroy()));
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
`);
    expect(r.status, describeResult(r)).toBe(0);
    const out = r.stdout;
    expect(out).toContain("destroyed: true true");
    expect(out).toContain(
      "view: DestroyedResourceError: Texture 'albedo' cannot be used: its FrameManager 'frames' was destroyed (in view)",
    );
    expect(out).toContain(
      "handle: DestroyedResourceError: Buffer 'vertices' cannot be used: its FrameManager 'frames' was destroyed (in handle)",
    );
    // The manager freed them: the allocator has nothing left to report, and the device no live image view.
    expect(out).toContain("leaks: []");
    expect(out).toContain("validation: []");
    expect(r.stderr).toMatch(
      /FrameManager 'frames' destroyed with 2 live dependent\(s\); destroyed them first:\n\s+Buffer 'vertices'\n\s+Texture 'albedo'/,
    );
    expect(r.stderr).not.toContain("destroyed first");
  });

  test("objects dropped without destroy() are reported when collected, with their creation stack; GC calls no Vulkan", () => {
    const r = runScenario(
      `
const settle = async () => {
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
const context = vk.createContext({ validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = vk.createAllocator(context, { label: "kept", captureStacks: true, onLeaks: () => {} });
(function dropAllocation() {
  allocator.createBuffer({ size: 256, usage: 0x20 }, { name: "dropped buffer memory" });
  const freed = allocator.createBuffer({ size: 256, usage: 0x20 }, { name: "freed properly" });
  allocator.destroyBuffer(freed.buffer, freed.allocation);
  // Freed with their pool, which reported them: not reported again when collected.
  const type = allocator.findMemoryTypeIndexForBufferInfo({ size: 256, usage: 0x20 }, { usage: vk.MemoryUsage.Auto });
  const pool = allocator.createPool({ memoryTypeIndex: type }, { name: "short-lived" });
  allocator.createBuffer({ size: 256, usage: 0x20 }, { pool, name: "freed with its pool" });
  pool.destroy();
  // A batch of buffers (reported only by an allocator that captures stacks, as this one does).
  allocator.createBuffers(2, { size: 256, usage: 0x20 }, { name: "dropped batch" });
  allocator.destroyBuffers(allocator.createBuffers(2, { size: 256, usage: 0x20 }, { name: "destroyed batch" }));
  vk.createVirtualBlock({ size: 4096, label: "dropped block" }).allocate(64);
  vk.createVirtualBlock({ size: 4096, label: "destroyed block" }).destroy();
})();
// A whole device's subtree dropped: its context is dropped too (a live parent would find and report its children).
(function dropEverything() {
  const other = vk.createContext({});
  const a = vk.createAllocator(other, { label: "dropped allocator", captureStacks: true });
  const frames = vk.createFrameManager(other, a, { label: "dropped frames" });
  frames.createBuffer({ label: "dropped buffer", size: 64, usage: 0x20 });
  frames.createTexture({ label: "dropped texture", width: 4, height: 4, format: 37 });
  a.createPool({ memoryTypeIndex: 0 }, { name: "dropped pool" });
  vk.createTextureStreamer(frames, { label: "dropped streamer", budgetBytes: 2 << 20, blockSize: 1 << 20 });
})();
await settle();
console.log("live allocations:", allocator.allocationCount);
console.log("leaks:", JSON.stringify(allocator.destroy().map((l) => l.name)));
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
console.log("done");
`,
      ["--expose-gc"],
    );
    expect(r.status, describeResult(r)).toBe(0);
    const err = r.stderr;
    for (const name of [
      "Allocation 'dropped buffer memory'",
      "BufferBatch 'dropped batch'",
      "VirtualBlock 'dropped block'",
      "Allocator 'dropped allocator'",
      "FrameManager 'dropped frames'",
      "Buffer 'dropped buffer'",
      "Texture 'dropped texture'",
      "Pool 'dropped pool'",
      "TextureStreamer 'dropped streamer'",
    ]) {
      expect(err, describeResult(r)).toContain(`${name} was collected without destroy()`);
    }
    // With captureStacks, the report says where it was made.
    expect(err).toMatch(
      /Allocation 'dropped buffer memory' was collected without destroy\(\)[^\n]*\n\s+created at:\n\s+at .*\[eval1\]:\d+/,
    );
    expect(err).toMatch(
      /Buffer 'dropped buffer' was collected without destroy\(\)[^\n]*\n\s+created at:\n(.*\n)*?.*dropEverything/,
    );
    expect(err).not.toContain("freed properly");
    expect(err).not.toContain("destroyed batch");
    expect(err).not.toContain("'freed with its pool' was collected");
    expect(err).not.toContain("destroyed block");
    // GC freed nothing: the dropped allocation and the dropped batch's two buffers are still alive, and their
    // allocator reports them at destroy().
    expect(r.stdout).toContain("live allocations: 3");
    expect(r.stdout).toContain('leaks: ["dropped buffer memory","dropped batch","dropped batch"]');
    expect(r.stdout).toContain("validation: []");
    expect(r.stdout).toContain("done");
  });
});
