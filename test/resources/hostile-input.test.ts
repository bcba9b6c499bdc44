/**
 * Hostile input to the resource layer (issue 10 item 5): every argument of the public calls of FrameManager, Buffer,
 * Texture, TextureStreamer, UploadRing and ReleaseQueue, given each value of test/helpers/hostile.ts, is refused with
 * a TypeError or RangeError naming the argument, never with one of V8's conversion errors ("Cannot convert object to
 * primitive value" from allocateTransient(16, Object.create(null)), "Cannot perform Construct on a detached
 * ArrayBuffer" from an upload of a detached buffer, ...). Afterwards nothing is lost: the frame goes on, a buffer's
 * bytes uploaded before read back unchanged, and a new upload and download work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  createAllocator,
  createFrameManager,
  createTextureStreamer,
  ReleaseQueue,
  type Allocator,
  type Buffer,
  type Context,
  type FrameManager,
  type StreamedTexture,
  type Texture,
  type TextureStreamer,
} from "../../engine/index.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { expectRowRefused, fieldRows, OBJECT_OK, type HostileRow } from "../helpers/hostile.js";

const gpu = useGpuContext({ applicationName: "vkmem hostile input (resources)" });
const RGBA8 = vk.VK_FORMAT_R8G8B8A8_UNORM;
const BYTES = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 3) & 0xff);

let context: Context;
let allocator: Allocator;
let frames: FrameManager;
let buffer: Buffer;
let texture: Texture;
let streamer: TextureStreamer;
let streamed: StreamedTexture;
let queue: ReleaseQueue;

beforeAll(async () => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "hostile resources" });
  frames = createFrameManager(context, allocator, { label: "hostile" });
  buffer = frames.createBuffer({
    label: "witness",
    size: 256,
    usage: vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
  });
  texture = frames.createTexture({ label: "tex", width: 4, height: 4, format: RGBA8 });
  streamer = createTextureStreamer(frames, { label: "hostile streamer", budgetBytes: 4 << 20, blockSize: 1 << 20 });
  streamed = streamer.register({
    label: "streamed",
    width: 4,
    height: 4,
    format: RGBA8,
    load: () => new Uint8Array(64 + 16 + 4),
  });
  queue = new ReleaseQueue();
  frames.beginFrame();
  frames.upload(buffer, BYTES);
  frames.uploadImage(texture, new Uint8Array(64).fill(9));
  frames.endFrame();
  frames.beginFrame();
});

/** After each value: a frame is being recorded (a value an endFrame row accepts ends it) and the witness is whole. */
function everyValue(): void {
  if (frames.currentFrame === null) frames.beginFrame();
  expect(buffer.destroyed).toBe(false);
  expect(texture.destroyed).toBe(false);
}

afterEach(async () => {
  // Nothing lost, and the manager still works: the frame being recorded ends, the witness reads back unchanged.
  if (frames.currentFrame === null) frames.beginFrame();
  const back = frames.download(buffer);
  frames.endFrame();
  frames.waitIdle();
  expect(await back).toEqual(BYTES);
  frames.beginFrame();
});

afterAll(() => {
  frames.endFrame();
  frames.waitIdle();
  queue.drainAll();
  streamed.destroy();
  streamer.destroy();
  texture.destroy();
  buffer.destroy();
  frames.destroy();
  expect(allocator.destroy()).toEqual([]);
});

const frameManagerRows = (): HostileRow[] => [
  { name: "createFrameManager", arg: "context", run: (v) => createFrameManager(v as never, allocator).destroy() },
  { name: "createFrameManager", arg: "allocator", run: (v) => createFrameManager(context, v as never).destroy() },
  {
    name: "createFrameManager",
    arg: "options",
    accept: OBJECT_OK,
    run: (v) => createFrameManager(context, allocator, v as never).destroy(),
  },
  ...fieldRows(
    "createFrameManager",
    "options",
    { framesInFlight: [], label: ["numericString"], stagingRing: OBJECT_OK, transientRing: OBJECT_OK },
    (o) => createFrameManager(context, allocator, o as never).destroy(),
    {},
    (field) => `option '${field}'`,
  ),
  ...fieldRows(
    "createFrameManager",
    "stagingRing",
    { size: [], maxSize: [], policy: [] },
    (o) => createFrameManager(context, allocator, { stagingRing: o } as never).destroy(),
    {},
    (field) => field,
  ),
  { name: "createBuffer", arg: "desc", run: (v) => frames.createBuffer(v as never).destroy() },
  ...fieldRows(
    "createBuffer",
    "desc",
    { label: ["numericString"], size: [], usage: [], memory: OBJECT_OK },
    (o) => frames.createBuffer(o as never).destroy(),
    {
      label: "x",
      size: 64,
      usage: vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
    },
  ),
  { name: "createTexture", arg: "desc", run: (v) => frames.createTexture(v as never).destroy() },
  ...fieldRows(
    "createTexture",
    "desc",
    {
      label: ["numericString"],
      width: [],
      height: [],
      depth: [],
      format: [],
      mipLevels: [],
      arrayLayers: [],
      usage: [],
      memory: OBJECT_OK,
      viewType: [],
    },
    (o) => frames.createTexture(o as never).destroy(),
    { label: "x", width: 4, height: 4, format: RGBA8 },
  ),
  { name: "upload", arg: "buffer", run: (v) => frames.upload(v as never, BYTES) },
  { name: "upload", arg: "data", run: (v) => frames.upload(buffer, v as never) },
  {
    name: "upload",
    arg: "offset",
    accept: ["negativeZero"],
    run: (v) => frames.upload(buffer, BYTES.subarray(0, 4), v as never),
  },
  { name: "uploadImage", arg: "texture", run: (v) => frames.uploadImage(v as never, new Uint8Array(64)) },
  { name: "uploadImage", arg: "data", run: (v) => frames.uploadImage(texture, v as never) },
  {
    name: "uploadImage",
    arg: "region",
    accept: OBJECT_OK,
    run: (v) => frames.uploadImage(texture, new Uint8Array(64), v as never),
  },
  ...fieldRows(
    "uploadImage",
    "region",
    {
      mipLevel: ["negativeZero"],
      arrayLayer: ["negativeZero"],
      x: ["negativeZero"],
      y: ["negativeZero"],
      width: [],
      height: [],
    },
    (o) => frames.uploadImage(texture, new Uint8Array(4), o as never),
    { width: 1, height: 1 },
  ),
  { name: "download", arg: "buffer", run: (v) => frames.download(v as never) },
  { name: "download", arg: "offset", accept: ["negativeZero"], run: (v) => frames.download(buffer, v as never) },
  { name: "download", arg: "size", run: (v) => frames.download(buffer, 0, v as never) },
  { name: "downloadImage", arg: "texture", run: (v) => frames.downloadImage(v as never) },
  { name: "downloadImage", arg: "region", accept: OBJECT_OK, run: (v) => frames.downloadImage(texture, v as never) },
  { name: "allocateTransient", arg: "size", run: (v) => frames.allocateTransient(v as never) },
  { name: "allocateTransient", arg: "usage", run: (v) => frames.allocateTransient(16, v as never) },
  // Accepted options would end the frame: the afterEach begins a new one when they do.
  { name: "endFrame", arg: "options", accept: OBJECT_OK, run: (v) => frames.endFrame(v as never) },
  ...fieldRows(
    "endFrame",
    "options",
    { waitSemaphores: [], waitStages: [], signalSemaphores: [] },
    (o) => frames.endFrame(o as never),
    {},
    (field) => `option '${field}'`,
  ),
  {
    name: "destroyLater",
    arg: "label",
    accept: ["numericString"],
    run: (v) => frames.destroyLater(v as never, 1, () => {}),
  },
  {
    name: "destroyLater",
    arg: "size",
    accept: ["negativeZero"],
    run: (v) => frames.destroyLater("x", v as never, () => {}),
  },
  { name: "destroyLater", arg: "destroy", accept: ["function"], run: (v) => frames.destroyLater("x", 1, v as never) },
  {
    name: "destroyLater",
    arg: "lastUsedSerial",
    accept: ["negativeZero"],
    run: (v) => frames.destroyLater("x", 1, () => {}, v as never),
  },
  { name: "releaseResource", arg: "resource", run: (v) => frames.releaseResource(v as never) },
  { name: "Texture.layout", arg: "mipLevel", accept: ["negativeZero"], run: (v) => texture.layout(v as never) },
  {
    name: "Texture.assumeLayout",
    arg: "layout",
    accept: ["negativeZero"],
    run: (v) => texture.assumeLayout(v as never),
  },
  {
    name: "Texture.assumeLayout",
    arg: "mipLevel",
    accept: ["negativeZero"],
    run: (v) => texture.assumeLayout(5, v as never),
  },
];

const streamerRows = (): HostileRow[] => [
  { name: "createTextureStreamer", arg: "frames", run: (v) => createTextureStreamer(v as never).destroy() },
  {
    name: "createTextureStreamer",
    arg: "options",
    accept: OBJECT_OK,
    run: (v) => createTextureStreamer(frames, v as never).destroy(),
  },
  ...fieldRows(
    "createTextureStreamer",
    "options",
    {
      budgetBytes: [],
      budgetFraction: [],
      uploadBudgetBytes: [],
      blockSize: [],
      frameInUseCount: [],
      maxLoadsInFlight: [],
      requestLifetimeFrames: [],
      placeholder: [],
      usage: [],
      label: ["numericString"],
      preallocate: [],
      tailSize: ["negativeZero"],
      tailBudgetFraction: [],
    },
    (o) => createTextureStreamer(frames, o as never).destroy(),
    { budgetBytes: 4 << 20, blockSize: 1 << 20 },
    (field) => `option '${field}'`,
  ),
  { name: "register", arg: "desc", run: (v) => streamer.register(v as never).destroy() },
  ...fieldRows(
    "register",
    "desc",
    {
      label: ["numericString"],
      width: [],
      height: [],
      format: [],
      mipLevels: [],
      load: ["function"],
      priority: ["negative", "fraction", "huge", "negativeZero"],
    },
    (o) => streamer.register(o as never).destroy(),
    { label: "x", width: 4, height: 4, format: RGBA8, load: () => new Uint8Array(84) },
  ),
  { name: "request", arg: "texture", run: (v) => streamer.request(v as never) },
  { name: "request", arg: "mip", accept: ["negativeZero"], run: (v) => streamer.request(streamed, v as never) },
  { name: "show", arg: "texture", run: (v) => streamer.show(v as never) },
];

const lowLevelRows = (): HostileRow[] => [
  { name: "UploadRing.allocate", arg: "size", run: (v) => frames.stagingRing.allocate(v as never, 4) },
  { name: "UploadRing.allocate", arg: "alignment", run: (v) => frames.stagingRing.allocate(4, v as never) },
  // -0 is serial 0: a valid serial, which would close or retire the manager's own ring (not run).
  {
    name: "UploadRing.endFrame",
    arg: "serial",
    accept: ["negativeZero"],
    run: (v) => frames.stagingRing.endFrame(v as never),
  },
  {
    name: "UploadRing.retire",
    arg: "completedSerial",
    accept: ["negativeZero"],
    run: (v) => frames.stagingRing.retire(v as never),
  },
  {
    name: "ReleaseQueue.enqueue",
    arg: "serial",
    accept: ["negativeZero"],
    run: (v) => queue.enqueue(v as never, "x", 1, () => {}),
  },
  {
    name: "ReleaseQueue.enqueue",
    arg: "label",
    accept: ["numericString"],
    run: (v) => queue.enqueue(1, v as never, 1, () => {}),
  },
  {
    name: "ReleaseQueue.enqueue",
    arg: "size",
    accept: ["negativeZero"],
    run: (v) => queue.enqueue(1, "x", v as never, () => {}),
  },
  {
    name: "ReleaseQueue.enqueue",
    arg: "destroy",
    accept: ["function"],
    run: (v) => queue.enqueue(1, "x", 1, v as never),
  },
  { name: "ReleaseQueue.enqueueItem", arg: "item", run: (v) => queue.enqueueItem(v as never) },
  ...fieldRows(
    "ReleaseQueue.enqueueItem",
    "item",
    { serial: ["negativeZero"], label: ["numericString"], size: ["negativeZero"], destroy: ["function"] },
    (o) => queue.enqueueItem(o as never),
    { serial: 1, label: "x", size: 1, destroy: () => {} },
  ),
  {
    name: "ReleaseQueue.retire",
    arg: "completedSerial",
    accept: ["negativeZero"],
    run: (v) => queue.retire(v as never),
  },
];

describe.each([
  ["FrameManager, Buffer and Texture", frameManagerRows],
  ["TextureStreamer", streamerRows],
  ["UploadRing and ReleaseQueue", lowLevelRows],
])("%s", (_area, rows) => {
  test.each(rows().map((row) => [row.name.includes(row.arg) ? row.name : `${row.name} ${row.arg}`, row] as const))(
    "%s",
    (_title, row) => expectRowRefused(row, everyValue),
  );
});

describe("the examples of the issue", () => {
  test("allocateTransient(16, Object.create(null)) and an upload of a detached buffer are typed errors", () => {
    expect(() => frames.allocateTransient(16, Object.create(null))).toThrow(
      new RangeError(
        `FrameManager 'hostile'.allocateTransient: usage must be "uniform", "storage", "vertex", "index" or "copy", got {}`,
      ),
    );
    const data = new Uint8Array(16);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => frames.upload(buffer, data.buffer)).toThrow(
      new TypeError(
        "FrameManager 'hostile'.upload: data is a detached ArrayBuffer (transferred away), got ArrayBuffer {}",
      ),
    );
    expect(() => frames.upload(buffer, data)).toThrow(/data is a view of a detached ArrayBuffer/);
  });
  test("a loader that gives a detached buffer is a load error, not an exception from update()", async () => {
    const t = streamer.register({
      label: "detached pixels",
      width: 4,
      height: 4,
      format: RGBA8,
      load: () => {
        const b = new ArrayBuffer(84);
        structuredClone(b, { transfer: [b] });
        return b;
      },
    });
    streamer.request(t);
    streamer.update();
    await Promise.resolve();
    frames.endFrame();
    frames.beginFrame();
    streamer.request(t);
    streamer.update();
    expect(t.lastLoadError).toBeInstanceOf(RangeError);
    t.destroy();
  });
});
