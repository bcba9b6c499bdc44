// The small game the packed-install test runs from a fresh project that installed vkmem's tarball: a context, an
// allocator (and a debug one: the second prebuilt addon), a FrameManager, a buffer uploaded and downloaded, a
// texture uploaded and downloaded, and the teardown in order. Prints one JSON line of what it saw.
import {
  createAllocator,
  createContext,
  createFrameManager,
  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
  VK_FORMAT_R8G8B8A8_UNORM,
} from "vkmem";

const context = createContext();
const allocator = createAllocator(context);
const frames = createFrameManager(context, allocator, { framesInFlight: 2 });
const vertices = Float32Array.from({ length: 1024 }, (_, i) => i * 0.5);
const buffer = frames.createBuffer({
  label: "mesh",
  size: vertices.byteLength,
  usage: VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
});
const texture = frames.createTexture({ label: "albedo", width: 32, height: 32, format: VK_FORMAT_R8G8B8A8_UNORM });
const pixels = Uint8Array.from({ length: 32 * 32 * 4 }, (_, i) => (i * 7) & 255);

frames.beginFrame();
frames.upload(buffer, vertices);
frames.uploadImage(texture, pixels);
frames.endFrame();
frames.beginFrame();
const bufferBack = frames.download(buffer);
const textureBack = frames.downloadImage(texture);
frames.endFrame();
frames.waitIdle();
const floats = new Float32Array((await bufferBack).slice().buffer);
const texels = await textureBack;

const debugAllocator = createAllocator(context, { debug: {} });
const corruption = debugAllocator.checkCorruption();
const debugSettings = debugAllocator.debug;

buffer.destroy();
texture.destroy();
frames.destroy();
const debugLeaks = debugAllocator.destroy();
const leaks = allocator.destroy();
context.destroy();
console.log(
  JSON.stringify({
    node: process.version,
    bufferRoundTrip: floats.length === vertices.length && floats.every((v, i) => v === vertices[i]),
    textureRoundTrip: texels.length === pixels.length && texels.every((v, i) => v === pixels[i]),
    debugBuild: debugSettings.enabled,
    debugMargin: debugSettings.margin,
    corruptionChecked: corruption.code,
    leaks: leaks.length + debugLeaks.length,
  }),
);
