/**
 * The frame-budget stress test (bench/gpu/frame-stress.ts): 2,000 frames, 3 in flight, device-local memory limited
 * to 256 MiB, random buffers and textures created, uploaded, partially updated and destroyed every frame, a sample
 * read back and checksummed, with validation and synchronization validation on. The run's own checks (counts against
 * its model, the limit, checksums, leaks) are collected in the report; this test asserts the report.
 */
import { expect, test } from "vitest";
import { runFrameStress } from "../../bench/gpu/frame-stress.js";
import { useGpuContext } from "../helpers/gpu.js";

const gpu = useGpuContext({ applicationName: "vkmem frame stress", synchronizationValidation: true });

test("2,000 frames under a 256 MiB device-local limit: data intact, counts match the model, nothing leaks", async () => {
  const report = await runFrameStress({
    context: gpu.context,
    frames: 2000,
    framesInFlight: 3,
    heapLimit: 256 * 1024 * 1024,
    seed: 2026,
  });
  console.log(
    `frame stress: ${report.frames} frames in ${report.seconds.toFixed(1)} s; ${report.buffersCreated} buffers + ${report.texturesCreated} textures created, ` +
      `${report.destroyed} destroyed, ${report.refusedOutOfMemory} refused (out of memory); ${report.uploads} uploads, ${(report.uploadedBytes / 2 ** 20).toFixed(0)} MiB; ` +
      `${report.checksums} checksums; max device-local ${(report.maxDeviceLocalBytes / 2 ** 20).toFixed(1)} MiB; staging ring ${JSON.stringify(report.stagingRing)}, ` +
      `transient ring ${JSON.stringify(report.transientRing)}, ${report.earlySubmits} early submits, ${report.backPressureWaits} back-pressure waits`,
  );
  expect(report.failures).toEqual([]);
  expect(report.checksumFailures).toBe(0);
  expect(report.checksums).toBeGreaterThanOrEqual(200);
  expect(report.maxDeviceLocalBytes).toBeLessThanOrEqual(report.heapLimit);
  expect(report.maxDeviceLocalBytes).toBeGreaterThan(report.heapLimit / 2); // the limit was actually approached
  expect(report.leaks).toBe(0);
  expect(report.buffersCreated + report.texturesCreated).toBeGreaterThan(3000);
  expect(report.destroyed).toBe(report.buffersCreated + report.texturesCreated);
  expect(report.stagingRing.wraps).toBeGreaterThan(0);
  expect(report.transientRing.wraps).toBeGreaterThan(0);
}, 180_000);
