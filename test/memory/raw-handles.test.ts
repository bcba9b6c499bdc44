/**
 * Calls that take raw Vulkan handles (issue 10, item 2): allocateMemoryForBuffer / ForImage, bindBufferMemory /
 * ImageMemory, destroyBuffer / destroyImage. A handle object vkmem destroyed is refused with DestroyedResourceError;
 * the value of a buffer or image vkmem holds live (its own, or another allocator's) with a TypeError naming the
 * argument; a handle vkmem never saw is trusted, even when its value is one vkmem used before (drivers reuse them).
 *
 * The dead-handle cases crashed the process on main (SIGSEGV in the driver), so they run in a child process: a crash
 * there is a failed test, not a dead test worker.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  DestroyedResourceError,
  MemoryUsage,
  wrapHandle,
  rawHandle,
  type Allocator,
  type Context,
} from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";

let context: Context;
let allocator: Allocator;
let other: Allocator;

const gpu = useGpuContext({ applicationName: "vkmem raw handle tests" });

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "main" });
  other = createAllocator(context, { label: "other" });
});
afterAll(() => {
  expect(other.destroy()).toEqual([]);
  expect(allocator.destroy()).toEqual([]);
});

const SRC = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
const GPU = { usage: MemoryUsage.GpuOnly };

function userBuffer(size = 256): object {
  const buffer = new nvk.VkBuffer();
  expect(
    nvk.vkCreateBuffer(context.device, new nvk.VkBufferCreateInfo({ size, usage: SRC, sharingMode: 0 }), null, buffer),
  ).toBe(0);
  return buffer;
}

function userImage(): object {
  const image = new nvk.VkImage();
  const info = new nvk.VkImageCreateInfo({
    imageType: 1,
    format: vk.VK_FORMAT_R8G8B8A8_UNORM,
    extent: new nvk.VkExtent3D({ width: 8, height: 8, depth: 1 }),
    mipLevels: 1,
    arrayLayers: 1,
    samples: 1,
    tiling: 0,
    usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
    sharingMode: 0,
    initialLayout: 0,
  });
  expect(nvk.vkCreateImage(context.device, info, null, image)).toBe(0);
  return image;
}

/** The child: each scenario prints one JSON line { name, error, message } (error null when nothing was thrown). */
const CHILD = `
const { createContext, createAllocator, MemoryUsage } = await import(process.argv[1]);
const { nvk } = await import(process.argv[2]);
const ctx = createContext({ applicationName: "vkmem raw handle child", validation: process.platform !== "win32" /* Wine has no validation layer */ });
const allocator = createAllocator(ctx, { label: "child" });
const GPU = { usage: MemoryUsage.GpuOnly };
function run(name, fn) {
  let error = null, message = null;
  try { fn(); } catch (e) { error = e.constructor.name; message = e.message; }
  console.log(JSON.stringify({ name, error, message }));
}
function both(handle, name) {
  run(name + ": allocateMemoryForBuffer", () => {
    const m = allocator.allocateMemoryForBuffer(handle, GPU);
    allocator.bindBufferMemory(m, handle);
  });
  const m = allocator.allocateMemory({ size: 4096, alignment: 256, memoryTypeBits: 1 }, GPU);
  run(name + ": bindBufferMemory", () => allocator.bindBufferMemory(m, handle));
  allocator.freeMemory(m);
}
// The issue's reproduction: the nvk handle of a buffer vkmem created and destroyed.
const created = allocator.createBuffer({ size: 256, usage: 1 }, { name: "made-by-vkmem" });
allocator.destroyBuffer(created.buffer, created.allocation);
both(created.buffer, "createBuffer, destroyed");
// The same from a buddy pool (its handle objects keep their value after destroy).
const pool = allocator.createPool({ memoryTypeIndex: 0 }, { algorithm: "buddy", blockSize: 65536 });
const buddy = allocator.createBuffer({ size: 256, usage: 1 }, { pool, name: "buddy-made" });
allocator.destroyBuffer(buddy.buffer, buddy.allocation);
both(buddy.buffer, "buddy createBuffer, destroyed");
// A buffer the user made, bound, and let vkmem destroy with its allocation (VMA's destroy semantics).
const own = new nvk.VkBuffer();
nvk.vkCreateBuffer(ctx.device, new nvk.VkBufferCreateInfo({ size: 256, usage: 1, sharingMode: 0 }), null, own);
const ownMemory = allocator.allocateMemoryForBuffer(own, { ...GPU, name: "own-memory" });
allocator.bindBufferMemory(ownMemory, own);
allocator.destroyBuffer(own, ownMemory);
both(own, "user buffer destroyed by destroyBuffer");
// destroyBuffer with a dead handle and a live allocation.
const live = allocator.createBuffer({ size: 256, usage: 1 }, { name: "live" });
run("destroyBuffer(dead, live allocation)", () => allocator.destroyBuffer(buddy.buffer, live.allocation));
allocator.destroyBuffer(live.buffer, live.allocation);
pool.destroy();
allocator.destroy();
const messages = ctx.validationMessages.filter((m) => m.severity === "error" || m.severity === "warning").length;
ctx.destroy();
console.log(JSON.stringify({ name: "validation messages", error: null, message: String(messages) }));
`;

describe("dead handles (the issue's reproduction, in a child process)", () => {
  test("every call refuses a handle vkmem destroyed with DestroyedResourceError; the process survives", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    let out: string;
    try {
      const url = (p: string) => pathToFileURL(path.join(root, p)).href; // import() takes a URL: on Windows a path is not one
      out = execFileSync(
        process.execPath,
        ["--input-type=module", "-e", CHILD, url("dist/engine/index.js"), url("dist/engine/vulkan/nvk.js")],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 60_000,
        },
      );
    } catch (e) {
      const err = e as { status: number | null; signal: string | null; stdout: string; stderr: string };
      throw new Error(
        `the child died (status ${err.status}, signal ${err.signal}):\n${err.stdout}\n${err.stderr.slice(-2000)}`,
      );
    }
    const results = out
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { name: string; error: string | null; message: string | null });
    const byName = new Map(results.map((r) => [r.name, r]));
    const expectDead = (name: string, kind: string, label: string, op: string) => {
      const r = byName.get(name);
      expect(r, name).toBeDefined();
      expect(r!.error, `${name}: ${r!.message}`).toBe("DestroyedResourceError");
      expect(r!.message).toBe(`${kind} '${label}' has been destroyed (in ${op})`);
    };
    for (const [prefix, label] of [
      ["createBuffer, destroyed", "made-by-vkmem"],
      ["buddy createBuffer, destroyed", "buddy-made"],
      ["user buffer destroyed by destroyBuffer", "own-memory"],
    ]) {
      expectDead(`${prefix}: allocateMemoryForBuffer`, "Buffer", label, "allocateMemoryForBuffer");
      expectDead(`${prefix}: bindBufferMemory`, "Buffer", label, "bindBufferMemory");
    }
    expectDead("destroyBuffer(dead, live allocation)", "Buffer", "buddy-made", "destroyBuffer");
    expect(byName.get("validation messages")?.message).toBe("0");
  });
});

describe("live handles of vkmem (by value)", () => {
  test("another allocator's buffer or image is a TypeError naming the argument, by object or by a copy of its value", () => {
    const b = other.createBuffer({ size: 256, usage: SRC }, { name: "theirs" });
    const copy = wrapHandle(nvk.VkBuffer, rawHandle(b.buffer as never));
    for (const handle of [b.buffer, copy]) {
      expect(() => allocator.allocateMemoryForBuffer(handle, GPU)).toThrow(
        /^allocateMemoryForBuffer: buffer is the live buffer of allocation 'theirs' of another allocator \('other'\): it has its memory already, got /,
      );
      const m = allocator.allocateMemory({ size: 4096, alignment: 256, memoryTypeBits: 0xffffffff }, GPU);
      expect(() => allocator.bindBufferMemory(m, handle)).toThrow(
        /^bindBufferMemory: buffer is the live buffer of allocation 'theirs' of another allocator/,
      );
      allocator.freeMemory(m);
    }
    const img = other.createImage({
      format: vk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: { width: 8, height: 8 },
      usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT,
    });
    expect(() => allocator.allocateMemoryForImage(img.image, GPU)).toThrow(TypeError);
    expect(() => allocator.allocateMemoryForImage(img.image, GPU)).toThrow(
      /^allocateMemoryForImage: image is the live image of an unnamed allocation of another allocator/,
    );
    other.destroyImage(img.image, img.allocation);
    other.destroyBuffer(b.buffer, b.allocation);
    expect(allocator.allocationCount).toBe(0);
  });

  test("a buffer bound with bindBufferMemory is live too: another allocator cannot allocate or bind for it", () => {
    const buffer = userBuffer();
    const a = allocator.allocateMemoryForBuffer(buffer, { ...GPU, name: "bound-by-user" });
    allocator.bindBufferMemory(a, buffer);
    expect(() => other.allocateMemoryForBuffer(buffer, GPU)).toThrow(
      /buffer is the live buffer of allocation 'bound-by-user' of another allocator \('main'\)/,
    );
    expect(() => allocator.allocateMemoryForBuffer(buffer, GPU)).toThrow(
      /buffer is the live buffer of allocation 'bound-by-user' of this allocator/,
    );
    // freeMemory leaves the user's buffer alive (Vulkan binds a buffer once: it is the user's to destroy now).
    allocator.freeMemory(a);
    const again = other.allocateMemoryForBuffer(buffer, GPU);
    other.freeMemory(again);
    nvk.vkDestroyBuffer(context.device, buffer, null);
  });

  test("this allocator's own buffer from createBuffer has its memory already", () => {
    const b = allocator.createBuffer({ size: 256, usage: SRC });
    expect(() => allocator.allocateMemoryForBuffer(b.buffer, GPU)).toThrow(
      /^allocateMemoryForBuffer: buffer is the live buffer of an unnamed allocation of this allocator/,
    );
    allocator.destroyBuffer(b.buffer, b.allocation);
  });
});

describe("handles vkmem never saw are trusted", () => {
  test("a value vkmem destroyed and the driver gave to a user's new buffer is the user's", () => {
    const b = allocator.createBuffer({ size: 256, usage: SRC }, GPU);
    const value = rawHandle(b.buffer as never);
    allocator.destroyBuffer(b.buffer, b.allocation);
    // Drivers reuse freed handle values; lavapipe usually gives the same one back at once.
    const made: object[] = [];
    let reused: object | null = null;
    for (let i = 0; i < 8 && reused === null; i++) {
      const u = userBuffer();
      made.push(u);
      if (rawHandle(u as never) === value) reused = u;
    }
    for (const u of made) {
      const m = allocator.allocateMemoryForBuffer(u, GPU);
      allocator.bindBufferMemory(m, u);
      allocator.destroyBuffer(u, m);
    }
    // The same value in a fresh object (as a user would wrap it) is trusted too once vkmem no longer holds it.
    const image = userImage();
    const m = allocator.allocateMemoryForImage(wrapHandle(nvk.VkImage, rawHandle(image as never)), GPU);
    allocator.bindImageMemory(m, image);
    allocator.destroyImage(image, m);
    expect(allocator.allocationCount).toBe(0);
  });

  test("a null handle is a TypeError naming the argument; a destroyed one a DestroyedResourceError", () => {
    expect(() => allocator.allocateMemoryForBuffer(new nvk.VkBuffer(), GPU)).toThrow(
      /^allocateMemoryForBuffer: buffer is VK_NULL_HANDLE, got /,
    );
    const b = allocator.createImage(
      { format: vk.VK_FORMAT_R8G8B8A8_UNORM, extent: { width: 8, height: 8 }, usage: vk.VK_IMAGE_USAGE_SAMPLED_BIT },
      { name: "pic" },
    );
    allocator.destroyImage(b.image, b.allocation);
    expect(() => allocator.allocateMemoryForImage(b.image, GPU)).toThrow(DestroyedResourceError);
    expect(() => allocator.allocateMemoryForImage(b.image, GPU)).toThrow(
      "Image 'pic' has been destroyed (in allocateMemoryForImage)",
    );
  });
});
