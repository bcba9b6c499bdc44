/**
 * The streaming stress test (bench/gpu/streaming-stress.ts): 6,000 frames of random, sweeping and flickering access
 * to 500 textures under a 4 MiB budget, with validation and synchronization validation on (any message fails). The
 * run's own checks (budget, no lost texture sampled, bounded time to residency, readback checksums, leaks) are
 * collected in its report; this test asserts the report. About 7 s on lavapipe.
 */
import { expect, test } from "vitest";
import { runStreamingStress } from "../../bench/gpu/streaming-stress.js";
import { useGpuContext } from "../helpers/gpu.js";

const FRAMES = Number(process.env.VKMEM_STRESS_FRAMES ?? 6000);
const gpu = useGpuContext({ applicationName: "vkmem streaming stress", synchronizationValidation: true });

test(`streaming stress: ${FRAMES} frames, 500 textures, random, sweeping and flickering access, 4 MiB budget`, async () => {
  const report = await runStreamingStress({ context: gpu.context, frames: FRAMES, textures: 500, budgetBytes: 4 * 2 ** 20 });
  console.log(
    `streaming stress: ${report.frames} frames in ${report.seconds.toFixed(1)} s, ${report.uploads} uploads (${(report.uploadedBytes / 2 ** 20).toFixed(1)} MiB), ` +
      `${report.evictions} evictions, ${report.lostChecked} lost images checked against their last showing, ${report.reads} GPU reads verified, ` +
      `longest wait ${report.longestWait} frames, max pool ${(report.maxPoolBytes / 2 ** 20).toFixed(1)} MiB`,
  );
  expect(report.failures).toEqual([]);
  expect(report.maxPoolBytes).toBeLessThanOrEqual(report.budgetBytes);
  expect(report.maxResidentBytes).toBeGreaterThan(report.budgetBytes / 2); // the budget was really under pressure
  expect(report.evictions).toBeGreaterThan(FRAMES / 10);
  expect(report.lostChecked).toBeGreaterThan(FRAMES / 50);
  expect(report.reads).toBeGreaterThan(FRAMES / 10);
  expect(report.readFailures).toBe(0);
  expect(report.loadErrors).toBe(0);
  expect(report.leaks).toBe(0);
}, 170_000);
