/**
 * Allocators in several JavaScript threads at once. vkmem builds VMA without its internal locks and with plain
 * integers for its budget counters (native/vma_config.h), on the ground that each VmaAllocator is only ever called
 * from the thread that made it (README, "One thread"): every worker that loads vkmem has its own addon instance,
 * allocators and handles. Here two workers churn their own allocators at the same time (buffers one by one and in
 * batches, freed in random order), and after every round each checks that VMA's counters (getHeapBudgets: the
 * allocation and block counts and bytes the build made plain) agree with the blocks VMA walks
 * (calculateStatistics), and that everything is gone at the end. Each round also makes VMA fail one of its own
 * checks (recorded per thread, behind a process-wide flag that spares every call a look at its own record until any
 * record held something: native/addon.h), and the worker must get exactly its own typed error and no message left
 * over.
 * The workers run the built package (dist/), as the child-process tests do.
 */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, test } from "vitest";

/** The worker: CommonJS (eval), importing the built package; posts its report. */
const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
(async () => {
  const vk = await import(workerData.index);
  const ctx = vk.createContext({ applicationName: "vkmem threads " + workerData.seed, validation: workerData.validation, headless: true });
  const allocator = vk.createAllocator(ctx, { label: "thread " + workerData.seed });
  let seed = workerData.seed;
  const rand = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  const mismatches = [];
  const agree = (round) => {
    const total = allocator.calculateStatistics().total;
    const sum = { blockCount: 0, allocationCount: 0, blockBytes: 0, allocationBytes: 0 };
    for (const b of allocator.getHeapBudgets()) for (const k of Object.keys(sum)) sum[k] += b[k];
    for (const k of Object.keys(sum))
      if (sum[k] !== total[k]) mismatches.push("round " + round + ": budgets' " + k + " " + sum[k] + ", blocks' " + total[k]);
    return total.allocationCount;
  };
  const live = [];
  let made = 0;
  const ringType = allocator.memoryTypes.findIndex((t) => (t.propertyFlags & 0x2) !== 0);
  const refusals = [];
  const leftover = [];
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 400; i++) {
      const usage = rand(2) === 0 ? vk.MemoryUsage.GpuOnly : vk.MemoryUsage.CpuToGpu;
      const b = allocator.createBuffer({ size: 64 << rand(12), usage: 0x3 }, { usage });
      live.push(() => allocator.destroyBuffer(b.buffer, b.allocation));
      made++;
    }
    const batch = allocator.createBuffers(64, { size: 256 << rand(6), usage: 0x3 }, { usage: vk.MemoryUsage.GpuOnly });
    live.push(() => allocator.destroyBuffers(batch));
    made += 64;
    // Free about half, in random order.
    for (let k = live.length >> 1; k > 0; k--) {
      const i = rand(live.length);
      live[i]();
      live[i] = live[live.length - 1];
      live.pop();
    }
    agree(round);
    // A precondition VMA checks itself (its assert, recorded instead of aborting: native/addon.cpp): upperAddress in
    // a linear pool that its allocations made a ring buffer. The other worker's calls meanwhile must see nothing of it.
    const pool = allocator.createPool({ memoryTypeIndex: ringType }, { algorithm: "linear", blockSize: 4096, maxBlockCount: 1, minBlockCount: 1 });
    const req = { size: 1024, alignment: 1, memoryTypeBits: 1 << ringType };
    const ring = [0, 1, 2].map(() => allocator.allocateMemory(req, { pool }));
    allocator.freeMemory(ring.shift());
    ring.push(allocator.allocateMemory(req, { pool }), allocator.allocateMemory(req, { pool }));
    try {
      allocator.allocateMemory({ ...req, size: 16 }, { pool, upperAddress: true });
      refusals.push("round " + round + ": allowed");
    } catch (e) {
      refusals.push(e instanceof RangeError && /in use as a ring buffer/.test(e.message) ? "refused" : "round " + round + ": " + e);
    }
    leftover.push(...allocator._native.takeVmaMessages());
    for (const a of ring) allocator.freeMemory(a);
    pool.destroy();
  }
  for (const free of live) free();
  const left = agree("end");
  allocator.destroy();
  const messages = ctx.validationMessages.length;
  ctx.destroy();
  parentPort.postMessage({ made, left, mismatches, messages, refusals, leftover });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

interface Report {
  made?: number;
  left?: number;
  mismatches?: string[];
  messages?: number;
  refusals?: string[];
  leftover?: string[];
  error?: string;
}

function runWorker(seed: number): Promise<Report> {
  const root = path.resolve(import.meta.dirname, "../..");
  const index = pathToFileURL(path.join(root, "dist/engine/index.js")).href;
  const worker = new Worker(WORKER, {
    eval: true,
    // Wine has no validation layer (as in every Windows run of the suite).
    workerData: { index, seed, validation: process.platform !== "win32" },
  });
  return new Promise<Report>((resolve, reject) => {
    worker.once("message", (report: Report) => {
      resolve(report);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the worker exited with code ${code} before reporting`)));
  });
}

describe("allocators in several threads at once", () => {
  test("two workers churn their own allocators together: VMA's counters agree with its blocks, each gets its own VMA checks' errors, nothing is left", async () => {
    const reports = await Promise.all([runWorker(101), runWorker(202)]);
    for (const r of reports) {
      expect(r.error).toBeUndefined();
      expect(r.made).toBe(12 * (400 + 64));
      expect(r.mismatches).toEqual([]);
      expect(r.left).toBe(0);
      expect(r.messages).toBe(0);
      expect(r.refusals).toEqual(Array(12).fill("refused"));
      expect(r.leftover).toEqual([]);
    }
  }, 120_000);
});
