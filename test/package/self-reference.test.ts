/**
 * The package's public entry point, imported by name as a user would ("vkmem" resolves to dist/ through
 * package.json's exports), running the seed's example as written.
 */
import { expect, test } from "vitest";
import {
  createAllocator,
  createContext,
  MemoryUsage,
  VK_BUFFER_USAGE_TRANSFER_DST_BIT,
  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
} from "vkmem";
import { validationAvailable } from "../helpers/gpu.js";

test("import { createContext, createAllocator, MemoryUsage } from 'vkmem' and the seed's example", () => {
  const context = createContext({ validation: validationAvailable });
  const allocator = createAllocator(context);
  const { buffer, allocation, allocationInfo } = allocator.createBuffer(
    { size: 16 * 1024, usage: VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT },
    { usage: MemoryUsage.GpuOnly },
  );
  expect(allocationInfo.size).toBeGreaterThanOrEqual(16 * 1024);
  allocator.destroyBuffer(buffer, allocation);
  expect(allocator.destroy()).toEqual([]);
  context.destroy();
  expect(context.validationMessages.filter((m) => m.severity === "error" || m.severity === "warning")).toEqual([]);
});
