/**
 * The streaming stress test (bench/gpu/streaming-stress.ts): 6,000 frames of random, sweeping and flickering access
 * to 500 textures under a 4 MiB budget, with validation and synchronization validation on (any message fails). The
 * run's own checks (budget and the tail pool's share, no lost texture sampled, bounded time to residency, a resident
 * tail never replaced by the placeholder, readback checksums of large images and tails, leaks) are collected in its
 * report; this test asserts the report. About 10 s on lavapipe.
 */
import { expect, test } from "vitest";
import { runStreamingStress } from "../../bench/gpu/streaming-stress.js";
import { useGpuContext } from "../helpers/gpu.js";

const FRAMES = Number(process.env.VKMEM_STRESS_FRAMES ?? 6000);
const gpu = useGpuContext({ applicationName: "vkmem streaming stress", synchronizationValidation: true });

test(`streaming stress: ${FRAMES} frames, 500 textures, random, sweeping and flickering access, 4 MiB budget`, async () => {
  const report = await runStreamingStress({
    context: gpu.context,
    frames: FRAMES,
    textures: 500,
    budgetBytes: 4 * 2 ** 20,
  });
  console.log(
    `streaming stress: ${report.frames} frames in ${report.seconds.toFixed(1)} s, ${report.uploads} uploads (${(report.uploadedBytes / 2 ** 20).toFixed(1)} MiB), ` +
      `${report.evictions} evictions, ${report.lostChecked} lost images checked against their last showing, ${report.reads} GPU reads verified, ` +
      `longest wait ${report.longestWait} frames, max pools ${(report.maxPoolBytes / 2 ** 20).toFixed(2)} MiB (tails ${(report.maxTailPoolBytes / 2 ** 20).toFixed(2)} of ${(report.tailBudgetBytes / 2 ** 20).toFixed(2)}); ` +
      `${report.tailsEvicted} tails evicted, ${report.tailFallbacks} lost large images shown as their tail, ${report.placeholderShows} placeholder shows ` +
      `(${report.placeholdersAfterTailLost} after the tail was lost), ${report.tailReads} tail reads`,
  );
  expect(report.failures).toEqual([]);
  expect(report.maxPoolBytes).toBeLessThanOrEqual(report.budgetBytes);
  expect(report.maxResidentBytes).toBeGreaterThan(report.budgetBytes / 2); // the budget was really under pressure
  expect(report.evictions).toBeGreaterThan(FRAMES / 10);
  expect(report.lostChecked).toBeGreaterThan(FRAMES / 50);
  expect(report.reads).toBeGreaterThan(FRAMES / 10);
  expect(report.readFailures).toBe(0);
  expect(report.maxTailPoolBytes).toBeLessThanOrEqual(report.tailBudgetBytes);
  expect(report.maxTailPoolBytes).toBe(report.tailBudgetBytes); // the tail pool was full ...
  expect(report.tailsEvicted).toBeGreaterThan(FRAMES / 100); // ... and lost tails
  expect(report.tailFallbacks).toBeGreaterThan(FRAMES / 100); // lost large images fell back to their tails
  expect(report.tailReads).toBeGreaterThan(FRAMES / 50);
  expect(report.loadErrors).toBe(0);
  expect(report.leaks).toBe(0);
}, 170_000);
