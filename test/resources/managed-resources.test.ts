/**
 * A FrameManager's table of live resources (engine/resources/managed-resources.ts) on real Vulkan: slots reused
 * after releases keep `list()` oldest first; a resource is released once; the log of creations a live
 * defragmentation reads gives what was made since the last look, in order, and says it cannot tell (null) once more
 * were made than it holds; `destroyAll` destroys every live resource oldest first and names them. The manager's
 * counters and deferred destruction are stand-ins here (the deferred one frees at once): the table is what is tested.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { createAllocator, type Allocator, type Buffer, type Context } from "../../engine/index.js";
import { ManagedResources } from "../../engine/resources/managed-resources.js";
import type { ResourceOwner } from "../../engine/resources/resource.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem managed resources tests" });

let context: Context;
let allocator: Allocator;
let table: ManagedResources;
const released: string[] = [];

beforeAll(() => {
  context = gpu.context;
  allocator = createAllocator(context, { label: "managed resources" });
  const owner: ResourceOwner = {
    recordingSerial: 1,
    releaseResource: (resource) => table.release(resource as Buffer, false, 1, null),
  };
  const counters = { countResource: () => {} };
  const deferred = {
    releaseAfter: (_serial: number, _completed: number, release: { label: string; destroy(): void }) => {
      released.push(release.label);
      release.destroy();
    },
  };
  table = new ManagedResources(
    owner,
    "FrameManager 'table'",
    context,
    allocator,
    counters as never,
    deferred as never,
    false,
    0,
  );
});
afterAll(() => {
  expect(allocator.destroy()).toEqual([]);
});

const make = (label: string): Buffer => table.createBuffer({ label, size: 256, usage: 0x20 }, null);
const labels = (resources: readonly { label: string }[]): string[] => resources.map((r) => r.label);

test("released slots are reused, and list() stays oldest first; a resource is released once", () => {
  const [a, b, c] = [make("a"), make("b"), make("c")];
  b.destroy();
  const d = make("d"); // takes b's slot
  expect(labels(table.list())).toEqual(["a", "c", "d"]);
  expect(table.size).toBe(3);
  released.length = 0;
  table.release(b, false, 1, null); // released already: nothing happens
  expect(released).toEqual([]);
  expect(table.size).toBe(3);
  for (const r of [a, c, d]) r.destroy();
  expect(table.size).toBe(0);
  expect(table.list()).toEqual([]);
});

test("the log of creations: what was made since the last look, in order; null past its capacity or when off", () => {
  expect(table.takeCreated()).toBeNull(); // nothing logs yet
  table.logCreations(true);
  const first = [make("n0"), make("n1"), make("n2")];
  first[1]!.destroy();
  expect(labels(table.takeCreated()!)).toEqual(["n0", "n1", "n2"]);
  expect(table.takeCreated()).toEqual([]);
  const many: Buffer[] = [];
  for (let i = 0; i < 4097; i++) many.push(make(`m${i}`));
  expect(table.takeCreated()).toBeNull(); // more than it holds: look at list()
  const after = make("after");
  expect(labels(table.takeCreated()!)).toEqual(["after"]);
  table.logCreations(false);
  make("unlogged").destroy();
  expect(table.takeCreated()).toBeNull();
  for (const r of [first[0]!, first[2]!, ...many, after]) r.destroy();
  expect(table.size).toBe(0);
});

test("destroyAll destroys every live resource, oldest first, and names each", () => {
  const made = ["x", "y", "z", "w"].map(make);
  made[1]!.destroy();
  make("v"); // reuses y's slot, but is the newest
  const report = { names: [] as string[], errors: [] as unknown[] };
  table.destroyAll("the test", report as never);
  expect(report.errors).toEqual([]);
  expect(report.names).toEqual(["Buffer 'x'", "Buffer 'z'", "Buffer 'w'", "Buffer 'v'"]);
  expect(table.size).toBe(0);
  expect(made.every((r) => r.destroyed)).toBe(true);
});
