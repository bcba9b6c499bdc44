/**
 * Two copies of vkmem's JavaScript in one process, over the one addon Node loads per process: the sources (as the
 * suite imports them) and the built package imported by name ("vkmem" resolves to dist/). A test runner that resets
 * its module registry between files, or an application bundle that carries the package twice, does the same. Both
 * copies must keep working, interleaved: they share the addon's scratch buffer (engine/native.ts), where a copy with
 * a buffer of its own made the other's calls read stale results ("buffer size out of range", a fresh allocation's
 * handle "stale or invalid"), and share nvk's one set of extension pointers (engine/vulkan/current-context.ts),
 * where a copy that created a context left the other calling a null vkDestroyDebugUtilsMessengerEXT. The addon
 * throws the error classes of the copy that loaded last, so vkmem's classes recognise each other's instances.
 */
import { expect, test } from "vitest";
import {
  createAllocator,
  DestroyedResourceError,
  MemoryUsage,
  OutOfDeviceMemoryError,
  VkError,
  type Allocator,
} from "../../engine/index.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext();
const SRC = 0x1; // VK_BUFFER_USAGE_TRANSFER_SRC_BIT

test("the sources and the built package, loaded together, both allocate, map and free correctly", async () => {
  const first = createAllocator(gpu.context, { label: "sources' copy" });
  // The second copy is evaluated now, after the first one handed the addon its scratch.
  const built = await import("vkmem");
  const context = built.createContext({ applicationName: "second copy", validation: false });
  const second = built.createAllocator(context, { label: "built copy" });
  const make = (allocator: Pick<Allocator, "createBuffer">, size: number, name: string) =>
    allocator.createBuffer(
      { size, usage: SRC },
      { usage: MemoryUsage.CpuToGpu, hostAccess: "sequentialWrite", mapped: true, name },
    );
  const made = [];
  for (let i = 0; i < 8; i++) {
    const size = 256 << (i % 4);
    const a = make(first, size, `first ${i}`);
    const b = make(second, size + 64, `second ${i}`);
    expect([a.allocation.size, a.allocation.mappedData?.byteLength, a.allocation.name]).toEqual([
      size,
      size,
      `first ${i}`,
    ]);
    expect([b.allocation.size, b.allocation.mappedData?.byteLength, b.allocation.name]).toEqual([
      size + 64,
      size + 64,
      `second ${i}`,
    ]);
    new Uint8Array(a.allocation.mappedData!).fill(i);
    new Uint8Array(b.allocation.mappedData!).fill(100 + i);
    made.push([a, b] as const);
  }
  for (const [i, [a, b]] of made.entries()) {
    expect(new Uint8Array(a.allocation.mappedData!).every((x) => x === i)).toBe(true);
    expect(new Uint8Array(b.allocation.mappedData!).every((x) => x === 100 + i)).toBe(true);
    first.destroyBuffer(a.buffer, a.allocation);
    second.destroyBuffer(b.buffer, b.allocation);
  }
  expect(first.destroy()).toEqual([]);
  expect(second.destroy()).toEqual([]);
  context.destroy();
});

test("an error from one copy is an instance of the other copy's class of the same name, and of no other", async () => {
  const first = createAllocator(gpu.context, { label: "sources' copy" });
  const built = await import("vkmem");
  const context = built.createContext({ applicationName: "second copy", validation: false });
  const second = built.createAllocator(context, { label: "built copy" });
  const thrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (error) {
      return error;
    }
    throw new Error("expected a throw");
  };
  // Thrown by the addon for the sources' allocator, with the classes the built copy handed it last.
  const tooBig = () =>
    first.createBuffer({ size: 1 << 30, usage: SRC }, { usage: MemoryUsage.GpuOnly, neverAllocate: true });
  const native = thrown(tooBig);
  expect(native).toBeInstanceOf(OutOfDeviceMemoryError);
  expect(native).toBeInstanceOf(VkError);
  expect(native).toBeInstanceOf(built.OutOfDeviceMemoryError);
  expect(native).not.toBeInstanceOf(DestroyedResourceError);
  expect(native).not.toBeInstanceOf(built.DeviceLostError);
  // Thrown by the built copy's JavaScript.
  second.destroy();
  const destroyed = thrown(() => second.createBuffer({ size: 256, usage: SRC }));
  expect(destroyed).toBeInstanceOf(built.DestroyedResourceError);
  expect(destroyed).toBeInstanceOf(DestroyedResourceError);
  expect(destroyed).not.toBeInstanceOf(VkError);
  expect(new Error("plain")).not.toBeInstanceOf(VkError);
  expect(first.destroy()).toEqual([]);
  context.destroy();
});
