/**
 * Issue 10, item 7: a download settles without the application starting another frame, Node never exits silently
 * with code 13 over one, and FrameManager.destroy() settles the pending ones. The manager's policy (module comment of
 * engine/resources/frame-manager.ts): it polls the fences of submitted downloads, submits a download queued between
 * frames on its own when no frame begins, and rejects one left in a frame that is never ended when Node would exit.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAllocator, type Allocator } from "../../engine/memory/allocator.js";
import { DestroyedResourceError } from "../../engine/errors.js";
import { createFrameManager } from "../../engine/resources/frame-manager.js";
import { useGpuContext } from "../helpers/gpu.js";
import { describeResult, runScenario } from "./child.js";

const STORAGE = 0x20;

describe("downloads in a child process (a hang shows as exit 13)", () => {
  test("await download() after the last endFrame(), and one queued between frames, settle with the right bytes", () => {
    const r = runScenario(`
const context = vk.createContext({ validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = vk.createAllocator(context, { label: "main" });
const frames = vk.createFrameManager(context, allocator, { label: "frames" });
const buffer = frames.createBuffer({ label: "x", size: 4096, usage: 0x20 });
frames.beginFrame();
frames.upload(buffer, new Uint8Array(4096).fill(7));
const inFrame = frames.download(buffer);
frames.endFrame();
console.log("in the last frame:", (await inFrame)[4095]);
frames.upload(buffer, new Uint8Array(16).fill(9), 16); // between frames: goes with the download's own submission
const between = await frames.download(buffer, 0, 64);
console.log("between frames:", between[0], between[16], between[31], between[32]);
const texture = frames.createTexture({ label: "t", width: 4, height: 4, format: 37 });
frames.uploadImage(texture, new Uint8Array(64).fill(3));
console.log("image:", (await frames.downloadImage(texture))[63]);
// The manager still works as before afterwards.
frames.beginFrame();
const next = frames.download(buffer);
frames.endFrame();
frames.beginFrame();
frames.endFrame();
console.log("next:", (await next)[20]);
texture.destroy();
buffer.destroy();
frames.destroy();
allocator.destroy();
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
`);
    expect(r.status, describeResult(r)).toBe(0);
    expect(r.stdout).toContain("in the last frame: 7");
    expect(r.stdout).toContain("between frames: 7 9 9 7");
    expect(r.stdout).toContain("image: 3");
    expect(r.stdout).toContain("next: 9");
    expect(r.stdout).toContain("validation: []");
  });

  test("a download left in a frame that is never ended is rejected, not a silent exit 13", () => {
    const r = runScenario(`
const context = vk.createContext({ validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = vk.createAllocator(context, { label: "main" });
const frames = vk.createFrameManager(context, allocator, { label: "frames" });
const buffer = frames.createBuffer({ label: "x", size: 256, usage: 0x20 });
frames.beginFrame();
try {
  await frames.download(buffer);
  console.log("resolved?");
} catch (e) {
  console.log("rejected:", e.message);
}
frames.endFrame();
buffer.destroy();
frames.destroy();
allocator.destroy();
context.destroy();
console.log("validation:", JSON.stringify(failing(context)));
`);
    expect(r.status, describeResult(r)).toBe(0);
    expect(r.stdout).toContain(
      "rejected: FrameManager 'frames': download(s) queued in frame 0, which was begun and never ended, cannot complete: call endFrame()",
    );
    expect(r.stdout).toContain("validation: []");
  });
});

describe("FrameManager.destroy() with pending downloads", () => {
  const gpu = useGpuContext();
  let allocator: Allocator;
  beforeAll(() => {
    allocator = createAllocator(gpu.context, { label: "downloads" });
  });
  afterAll(() => {
    expect(allocator.destroy()).toEqual([]);
  });

  test("resolves the submitted ones after waiting, rejects the others with DestroyedResourceError naming the manager", async () => {
    const m = createFrameManager(gpu.context, allocator, { label: "shutdown" });
    const b = m.createBuffer({ label: "data", size: 512, usage: STORAGE });
    m.beginFrame();
    m.upload(b, new Uint8Array(512).fill(4));
    const submitted = m.download(b);
    m.endFrame();
    m.beginFrame();
    const open = m.download(b, 0, 16); // in a frame that will never be submitted
    m.destroy();
    expect((await submitted)[511]).toBe(4);
    const error = await open.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DestroyedResourceError);
    expect((error as Error).message).toBe(
      "Download 'data' cannot be used: its FrameManager 'shutdown' was destroyed (in download, never submitted)",
    );
    expect(b.destroyed).toBe(true);
  });

  test("a download the manager submitted on its own is counted nowhere as a frame", async () => {
    const m = createFrameManager(gpu.context, allocator, { label: "own" });
    const b = m.createBuffer({ label: "data", size: 64, usage: STORAGE });
    m.upload(b, new Uint8Array(64).fill(8));
    const data = await m.download(b);
    expect(data[63]).toBe(8);
    expect(m.statistics.framesSubmitted).toBe(0);
    expect(m.statistics.transfers.downloads).toBe(1);
    b.destroy();
    m.destroy();
  });
});
