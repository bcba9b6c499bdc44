/**
 * Issue 10, item 1: destroying a parent before its dependents (engine/lifetime.ts) never crashes Node, never calls
 * Vulkan or VMA on a destroyed device or allocator, and every later use of a dependent throws DestroyedResourceError
 * naming the parent that went away. Each scenario runs in a child process (test/lifetime/child.ts): on the code
 * before the lifetime graph, several of them died with SIGSEGV or an abort.
 */
import { describe, expect, test } from "vitest";
import { describeResult, runScenario } from "./child.js";

const SETUP = `
const context = vk.createContext({ validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = vk.createAllocator(context, { label: "main", onLeaks: () => {} });
const frames = vk.createFrameManager(context, allocator, { label: "frames" });
const buffer = frames.createBuffer({ label: "x", size: 256, usage: 0x20 });
`;

describe("destroy order", () => {
  test("allocator.destroy() with a live FrameManager, then upload() / endFrame(): refused, no copy from freed staging", () => {
    const r = runScenario(`${SETUP}
frames.beginFrame();
frames.upload(buffer, new Uint8Array(256).fill(1));
frames.endFrame();
frames.beginFrame();
frames.upload(buffer, new Uint8Array(256).fill(2)); // staged, in flight with an open frame
allocator.destroy();
console.log("upload:", thrown(() => frames.upload(buffer, new Uint8Array(256).fill(3))));
console.log("endFrame:", thrown(() => frames.endFrame()));
console.log("beginFrame:", thrown(() => frames.beginFrame()));
console.log("handle:", thrown(() => buffer.handle));
console.log("createBuffer:", thrown(() => allocator.createBuffer({ size: 64, usage: 0x20 })));
frames.destroy();
buffer.destroy();
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
`);
    expect(r.status, describeResult(r)).toBe(0);
    const out = r.stdout;
    expect(out).toContain(
      "upload: DestroyedResourceError: FrameManager 'frames' cannot be used: its Allocator 'main' was destroyed (in upload)",
    );
    expect(out).toContain(
      "endFrame: DestroyedResourceError: FrameManager 'frames' cannot be used: its Allocator 'main' was destroyed (in endFrame)",
    );
    expect(out).toContain("beginFrame: DestroyedResourceError: FrameManager 'frames' cannot be used");
    expect(out).toContain(
      "handle: DestroyedResourceError: Buffer 'x' cannot be used: its Allocator 'main' was destroyed (in handle)",
    );
    expect(out).toContain(
      "createBuffer: DestroyedResourceError: Allocator 'main' has been destroyed (in createBuffer)",
    );
    expect(out).toContain("validation: []");
    // The cascade is reported, by label, as the allocator reports live allocations.
    expect(r.stderr).toMatch(
      /Allocator 'main' destroyed with 1 live dependent\(s\); destroyed them first:\n\s+FrameManager 'frames'/,
    );
    expect(r.stderr).toMatch(
      /FrameManager 'frames' destroyed with 1 live dependent\(s\); destroyed them first:\n\s+Buffer 'x'/,
    );
  });

  test("context.destroy() with frames in flight, then frames.destroy(): the cascade ran before vkDestroyDevice", () => {
    const r = runScenario(`${SETUP}
for (let i = 0; i < 2; i++) {
  frames.beginFrame();
  const b = frames.createBuffer({ label: "frame " + i, size: 4096, usage: 0x20 });
  frames.upload(b, new Uint8Array(4096).fill(i));
  frames.endFrame();
  b.destroy(); // queued in the release queue under a frame in flight
}
const reading = frames.download(buffer);
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
frames.destroy();
allocator.destroy();
buffer.destroy();
console.log("beginFrame:", thrown(() => frames.beginFrame()));
console.log("createBuffer:", thrown(() => allocator.createBuffer({ size: 64, usage: 0x20 })));
console.log("allocation:", thrown(() => buffer.allocation));
console.log("download:", await reading.then(() => "resolved", (e) => e.name + ": " + e.message));
console.log("done");
`);
    expect(r.status, describeResult(r)).toBe(0);
    const out = r.stdout;
    expect(out).toContain("validation: []");
    expect(out).toContain(
      "beginFrame: DestroyedResourceError: FrameManager 'frames' cannot be used: its Context was destroyed (in beginFrame)",
    );
    expect(out).toContain(
      "createBuffer: DestroyedResourceError: Allocator 'main' cannot be used: its Context was destroyed (in createBuffer)",
    );
    expect(out).toContain(
      "allocation: DestroyedResourceError: Buffer 'x' cannot be used: its Context was destroyed (in allocation)",
    );
    expect(out).toContain("download: DestroyedResourceError: Download 'x' cannot be used: its Context was destroyed");
    expect(out).toContain("done");
    expect(r.stderr).toMatch(
      /Context destroyed with 1 live dependent\(s\); destroyed them first:\n\s+Allocator 'main'/,
    );
  });

  test("pools, buddy pools and their allocations after their allocator's or context's destroy()", () => {
    const r = runScenario(`
const context = vk.createContext({ validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = vk.createAllocator(context, { label: "main", onLeaks: () => {} });
const type = allocator.findMemoryTypeIndexForBufferInfo({ size: 4096, usage: 0x20 }, { usage: vk.MemoryUsage.Auto });
const pool = allocator.createPool({ memoryTypeIndex: type }, { name: "level", blockSize: 1 << 20 });
const buddy = allocator.createPool({ memoryTypeIndex: type }, { name: "buddy", algorithm: "buddy", blockSize: 1 << 20 });
const inPool = allocator.createBuffer({ size: 4096, usage: 0x20 }, { pool, name: "in pool" });
const inBuddy = allocator.createBuffer({ size: 4096, usage: 0x20 }, { pool: buddy, name: "in buddy" });
const plain = allocator.createBuffer({ size: 4096, usage: 0x20 }, { name: "plain" });
const block = vk.createVirtualBlock({ size: 1 << 16, label: "offsets", onLeaks: () => {} });
const range = block.allocate(256);
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
console.log("pool:", thrown(() => pool.getStatistics()));
console.log("buddy:", thrown(() => buddy.getStatistics()));
console.log("inPool:", thrown(() => inPool.allocation.info));
console.log("inBuddy:", thrown(() => inBuddy.allocation.info));
console.log("plain:", thrown(() => plain.allocation.map()));
// What a careless shutdown does next must all be no-ops, never VMA calls on the destroyed allocator.
allocator.destroyBuffer(inPool.buffer, inPool.allocation);
allocator.destroyBuffer(inBuddy.buffer, inBuddy.allocation);
allocator.destroyBuffer(plain.buffer, plain.allocation);
console.log("pool.destroy:", JSON.stringify(pool.destroy()), JSON.stringify(buddy.destroy()), JSON.stringify(allocator.destroy()));
// A virtual block has no device memory and no parent: it lives on.
console.log("virtual:", range.offset, block.destroyed);
block.destroy();
console.log("range:", thrown(() => block.getAllocationInfo(range)));
console.log("done");
`);
    expect(r.status, describeResult(r)).toBe(0);
    const out = r.stdout;
    expect(out).toContain("validation: []");
    expect(out).toContain(
      "pool: DestroyedResourceError: Pool 'level' cannot be used: its Context was destroyed (in getStatistics)",
    );
    expect(out).toContain(
      "buddy: DestroyedResourceError: Pool 'buddy' cannot be used: its Context was destroyed (in getStatistics)",
    );
    expect(out).toContain(
      "inPool: DestroyedResourceError: Allocation 'in pool' cannot be used: its Context was destroyed (in ",
    );
    expect(out).toContain(
      "inBuddy: DestroyedResourceError: Allocation 'in buddy' cannot be used: its Context was destroyed (in ",
    );
    expect(out).toContain(
      "plain: DestroyedResourceError: Allocation 'plain' cannot be used: its Context was destroyed (in map)",
    );
    expect(out).toContain("pool.destroy: [] [] []");
    expect(out).toContain("virtual: 0 false");
    expect(out).toContain("range: DestroyedResourceError: VirtualBlock 'offsets' has been destroyed");
    expect(out).toContain("done");
    expect(r.stderr).toMatch(
      /Allocator 'main' destroyed with 2 live dependent\(s\); destroyed them first:\n\s+Pool 'buddy'\n\s+Pool 'level'/,
    );
  });

  test("TextureStreamers go with their FrameManager, and with the context above it", () => {
    const r = runScenario(`
const context = vk.createContext({ validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = vk.createAllocator(context, { label: "main", onLeaks: () => {} });
const frames = vk.createFrameManager(context, allocator, { label: "frames" });
const make = (label) => {
  const streamer = vk.createTextureStreamer(frames, { label, budgetBytes: 2 << 20, blockSize: 1 << 20 });
  const texture = streamer.register({ label: label + " rock", width: 64, height: 64, format: 37, load: (mip, w, h) => new Uint8Array(w * h * 4).fill(9) });
  return { streamer, texture };
};
const first = make("first");
for (let i = 0; i < 3; i++) {
  frames.beginFrame();
  first.streamer.show(first.texture);
  first.streamer.update();
  frames.endFrame();
}
frames.destroy();
console.log("update:", thrown(() => first.streamer.update()));
console.log("show:", thrown(() => first.streamer.show(first.texture)));
first.streamer.destroy();
first.texture.destroy();

const frames2 = vk.createFrameManager(context, allocator, { label: "frames2" });
const second = vk.createTextureStreamer(frames2, { label: "second", budgetBytes: 2 << 20, blockSize: 1 << 20 });
const rock = second.register({ label: "rock", width: 64, height: 64, format: 37, load: (mip, w, h) => new Uint8Array(w * h * 4).fill(9) });
for (let i = 0; i < 3; i++) {
  frames2.beginFrame();
  second.show(rock);
  second.update();
  frames2.endFrame();
}
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
console.log("update2:", thrown(() => second.update()));
second.destroy();
rock.destroy();
frames2.destroy();
console.log("done");
`);
    expect(r.status, describeResult(r)).toBe(0);
    const out = r.stdout;
    expect(out).toContain(
      "update: DestroyedResourceError: TextureStreamer 'first' cannot be used: its FrameManager 'frames' was destroyed (in update)",
    );
    expect(out).toContain("show: DestroyedResourceError: TextureStreamer 'first' cannot be used");
    expect(out).toContain(
      "update2: DestroyedResourceError: TextureStreamer 'second' cannot be used: its Context was destroyed (in update)",
    );
    expect(out).toContain("validation: []");
    expect(out).toContain("done");
    expect(r.stderr).toMatch(
      /FrameManager 'frames' destroyed with 1 live dependent\(s\); destroyed them first:\n\s+TextureStreamer 'first'/,
    );
  });
});
