/**
 * A FrameManager texture's default view, made by the addon in one call (native/allocation.cpp: createImageView) from
 * its record of the image, on real Vulkan with the validation layer on (which checks every view's create info and
 * destruction): 2D, 2D array, 3D, depth and compressed textures, a buddy pool's (made through nvk), freed on both
 * paths (at once, and retired after a frame), after which the view's handle object reads as VK_NULL_HANDLE; and the
 * native entry point refuses an allocation, view type, aspect or mip range that does not suit its image with a
 * RangeError, making nothing. (A streamed texture's views of its uploaded mips are made the same way:
 * texture-streamer tests.)
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  MemoryUsage,
  nvk,
  type Allocator,
  type Context,
  type FrameManager,
  type ImageInfo,
  type Texture,
} from "../../engine/index.js";
import { rawHandle } from "../../engine/vulkan/handles.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem texture view tests" });

let context: Context;
let allocator: Allocator;
let manager: FrameManager;

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "texture views" });
  manager = createFrameManager(context, allocator, { label: "views" });
});
afterAll(() => {
  manager.destroy();
  expect(allocator.destroy()).toEqual([]);
});

const RGBA8 = 37;
const D32 = 126;
const BC1 = 131;
const SAMPLED = 0x4;
const TRANSFER_DST = 0x2;
const DEPTH_ATTACHMENT = 0x20;
const VIEW_2D = 1;
const VIEW_3D = 2;
const VIEW_CUBE = 3;
const VIEW_2D_ARRAY = 5;

/** Textures of every kind createTexture makes, and one of a buddy pool. */
function makeTextures(pool: ReturnType<Allocator["createPool"]>): Texture[] {
  return [
    manager.createTexture({ label: "2d", width: 64, height: 32, format: RGBA8, mipLevels: 7 }),
    manager.createTexture({ label: "array", width: 16, height: 16, format: RGBA8, arrayLayers: 3 }),
    manager.createTexture({ label: "one-layer array", width: 16, height: 16, format: RGBA8, viewType: VIEW_2D_ARRAY }),
    manager.createTexture({ label: "3d", width: 8, height: 8, depth: 4, format: RGBA8 }),
    manager.createTexture({ label: "depth", width: 32, height: 32, format: D32, usage: DEPTH_ATTACHMENT }),
    manager.createTexture({ label: "bc1", width: 64, height: 64, format: BC1, mipLevels: 3 }),
    manager.createTexture({ label: "buddy", width: 32, height: 32, format: RGBA8, memory: { pool } }),
  ];
}

test("every kind of texture gets a whole-image view the driver and the validation layer accept, freed on both paths", () => {
  const pool = allocator.createPool(
    { forImage: { imageType: 1, format: RGBA8, extent: { width: 32, height: 32 }, usage: SAMPLED | TRANSFER_DST } },
    { algorithm: "buddy", blockSize: 1 << 20, name: "view buddy" },
  );
  try {
    const before = allocator.allocationCount;
    // A destroyed view's handle object reads as VK_NULL_HANDLE (its pooled cell went back for the next view), and
    // keeps doing so once another view took the cell; the buddy pool's view is nvk's own object and keeps its value.
    const expectGone = (views: { view: object; label: string }[]) => {
      for (const { view, label } of views) {
        if (label === "buddy") expect(rawHandle(view as never), label).not.toBe(0n);
        else expect(rawHandle(view as never), label).toBe(0n);
      }
    };
    // Unused by any frame: freed at once, on the single path (the view, natively but for the buddy pool's through
    // nvk, then the image).
    const gone: { view: object; label: string }[] = [];
    for (const t of makeTextures(pool)) {
      expect(t.view).toBeInstanceOf(nvk.VkImageView);
      expect(t.view.constructor).toBe(nvk.VkImageView);
      expect(rawHandle(t.view)).not.toBe(0n);
      gone.push({ view: t.view, label: t.label });
      t.destroy();
    }
    expectGone(gone);
    expect(allocator.allocationCount).toBe(before);
    // Used by a frame: retired after its fence, in one native call (the view by its bytes, then the image).
    const used = makeTextures(pool);
    expectGone(gone);
    const views = new Set(used.map((t) => rawHandle(t.view)));
    expect(views.size).toBe(used.length);
    expect(views.has(0n)).toBe(false);
    manager.beginFrame();
    for (const t of used) t.markUsed();
    manager.endFrame();
    const retired = used.map((t) => ({ view: t.view as object, label: t.label }));
    for (const t of used) t.destroy();
    for (const { view } of retired) expect(rawHandle(view as never)).not.toBe(0n); // queued: alive until retired
    manager.waitIdle();
    manager.beginFrame();
    manager.endFrame();
    manager.waitIdle();
    expectGone(retired);
    expect(allocator.allocationCount).toBe(before);
  } finally {
    pool.destroy();
  }
});

test("the native view refuses an allocation, view type, aspect or mips that do not suit its image, making nothing", () => {
  const image = (info: Partial<ImageInfo>) =>
    allocator.createImage(
      {
        imageType: 1,
        format: RGBA8,
        extent: { width: 16, height: 16, depth: 1 },
        mipLevels: 1,
        arrayLayers: 1,
        usage: SAMPLED,
        ...info,
      },
      { usage: MemoryUsage.GpuOnly },
    );
  const flat = image({ mipLevels: 4 });
  const layered = image({ arrayLayers: 2 });
  const copyOnly = image({ usage: TRANSFER_DST });
  const freed = image({});
  const freedHandle = freed.allocation._handle;
  allocator.destroyImage(freed.image, freed.allocation);
  const buffer = allocator.createBuffer({ size: 256, usage: 0x20 }, { usage: MemoryUsage.GpuOnly });
  const vma = allocator._vma;
  const addon = allocator._native;
  try {
    const refused = (handle: unknown, viewType: unknown, aspect: unknown, why: RegExp) =>
      expect(() => (addon.createImageView as (...args: unknown[]) => number)(handle, viewType, aspect)).toThrow(why);
    const notAnImage = /createImageView: allocation must be a live image allocation of an image vkmem created/;
    refused(buffer.allocation._handle, VIEW_2D, 1, notAnImage);
    refused(freedHandle, VIEW_2D, 1, notAnImage);
    refused(flat.allocation._handle + 5 * 2 ** 24, VIEW_2D, 1, notAnImage); // another generation of its slot
    refused("1", VIEW_2D, 1, notAnImage);
    refused(undefined, VIEW_2D, 1, notAnImage);
    const badType = /createImageView: viewType must suit the image as a whole/;
    refused(flat.allocation._handle, VIEW_3D, 1, badType);
    refused(flat.allocation._handle, VIEW_CUBE, 1, badType);
    refused(layered.allocation._handle, VIEW_2D, 1, badType);
    for (const t of [-1, 1.5, Number.NaN, 99, "1", null]) refused(flat.allocation._handle, t, 1, badType);
    const badAspect = /createImageView: aspect must be some of the image format's aspects/;
    for (const a of [0, 2, 4, 3, -1, 0.5, "1"]) refused(flat.allocation._handle, VIEW_2D, a, badAspect);
    refused(copyOnly.allocation._handle, VIEW_2D, 1, /the image's format or usage allows no view made here/);
    const badMips = /createImageView: baseMip and levelCount must name mips of the image/;
    const mips = (baseMip: unknown, levelCount: unknown) =>
      expect(() =>
        (addon.createImageView as (...args: unknown[]) => number)(
          flat.allocation._handle,
          VIEW_2D,
          1,
          baseMip,
          levelCount,
        ),
      ).toThrow(badMips);
    for (const [base, count] of [
      [4, undefined],
      [-1, 1],
      [0, 0],
      [0, 5],
      [3, 2],
      [1.5, 1],
      [0, Number.NaN],
      ["0", 1],
      [null, 1],
      [0, "2"],
    ])
      mips(base, count);
    // What suits is made (and destroyed here: the caller owns it).
    for (const [made, viewType, baseMip, levelCount] of [
      [flat, VIEW_2D, 0, 4],
      [flat, VIEW_2D_ARRAY, 0, 4],
      [flat, VIEW_2D, 1, 3],
      [flat, VIEW_2D, 3, 1],
      [layered, VIEW_2D_ARRAY, 0, 1],
    ] as const) {
      const view = vma.createImageView(made.allocation, viewType, 1, baseMip, levelCount);
      if (typeof view === "number") throw new Error(`vkCreateImageView failed: ${view}`);
      expect(view.constructor).toBe(nvk.VkImageView);
      nvk.vkDestroyImageView(context.device, view, null);
    }
  } finally {
    allocator.destroyImage(flat.image, flat.allocation);
    allocator.destroyImage(layered.image, layered.allocation);
    allocator.destroyImage(copyOnly.image, copyOnly.allocation);
    allocator.destroyBuffer(buffer.buffer, buffer.allocation);
  }
});

test("the native view destroy takes a live allocator and a handle's 8 bytes, refuses anything else, and destroys the view", () => {
  const destroyView = (allocatorHandle: unknown, view: unknown) =>
    (allocator._native as unknown as { destroyImageView(a: unknown, v: unknown): void }).destroyImageView(
      allocatorHandle,
      view,
    );
  expect(() => destroyView(allocator._handle, {})).toThrow(TypeError);
  expect(() => destroyView(allocator._handle, new Uint8Array(8))).toThrow(TypeError); // a view of bytes, not the buffer
  expect(() => destroyView(allocator._handle, new ArrayBuffer(4))).toThrow(/destroyImageView: view must hold/);
  expect(() => destroyView(-1, new ArrayBuffer(8))).toThrow(TypeError);
  const gone = createAllocator(context, { label: "destroyed before its view call" });
  const goneHandle = gone._handle;
  expect(gone.destroy()).toEqual([]);
  expect(() => destroyView(goneHandle, new ArrayBuffer(8))).toThrow(/stale or invalid allocator handle/);
  destroyView(allocator._handle, new ArrayBuffer(8)); // VK_NULL_HANDLE: nothing to destroy
  // A texture's view destroyed by the native call (on the single path), and its image after it: the validation layer,
  // on in this file, reports a view left behind or destroyed twice, and the suite fails on any message.
  const before = allocator.allocationCount;
  const texture = manager.createTexture({ label: "native destroy", width: 16, height: 16, format: RGBA8 });
  const view = texture.view;
  texture.destroy();
  expect(rawHandle(view)).toBe(0n);
  expect(allocator.allocationCount).toBe(before);
});
