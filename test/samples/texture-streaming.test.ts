/**
 * The texture-streaming sample (samples/texture-streaming), on real Vulkan with validation and synchronization
 * validation on: the scene's rules (placement, visibility, mip choice, deterministic pixels), the golden image, and
 * the compiled program end to end under a budget small enough to evict (exit code, statistics lines, zero
 * validation messages, zero leaks).
 *
 * The golden image, test/samples/texture-streaming.golden.png, is the sample's own output at 320x180 after 240
 * frames of walking and 30 at t = 4 s with a 16 MiB budget, looked at and found right: the corridor in perspective,
 * checker panels in each panel's colour on both walls, the nearest at full detail, the far ones smaller and greyer
 * (coarser mips are tinted towards grey), no magenta placeholder left. Tolerance as for the VMA sample's golden:
 * a channel may differ by 24 and 0.5% of the pixels may differ (other llvmpipe builds round filtering differently).
 * `VKMEM_UPDATE_GOLDEN=1` rewrites it (then look at it).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { createAllocator, createFrameManager, createTextureStreamer } from "../../engine/index.js";
import { runHeadless } from "../../samples/common/headless-loop.js";
import { OffscreenTarget } from "../../samples/common/offscreen-target.js";
import { compareImages, readPng, writePng } from "../../samples/common/png.js";
import { parseOptions } from "../../samples/texture-streaming/main.js";
import { GalleryRenderer } from "../../samples/texture-streaming/renderer.js";
import {
  cameraZ,
  makePanels,
  mipFor,
  panelBytes,
  panelMipPixels,
  SPACING,
  VIEW_DISTANCE,
  visiblePanels,
} from "../../samples/texture-streaming/scene.js";
import { useGpuContext, validationArgs, validationAvailable } from "../helpers/gpu.js";
import { checksum } from "../../bench/gpu/mip-pixels.js";

const GOLDEN = path.join(import.meta.dirname, "texture-streaming.golden.png");
const MiB = 1024 * 1024;

describe("the scene", () => {
  test("1,000 panels of 256 to 1024 texels hold far more than the 128 MiB budget", () => {
    const panels = makePanels();
    expect(panels.length).toBe(1000);
    expect(new Set(panels.map((p) => p.textureSize))).toEqual(new Set([256, 512, 1024]));
    const total = panels.reduce((n, p) => n + panelBytes(p), 0);
    expect(total).toBeGreaterThan(16 * 128 * MiB);
    expect(panels.every((p, i) => p.z === i * SPACING + 4 && Math.sign(p.x) === (i % 2 === 0 ? -1 : 1))).toBe(true);
  });

  test("visible: only panels ahead within the view distance, finer mips nearer", () => {
    const panels = makePanels();
    const z = cameraZ(20);
    const visible = visiblePanels(panels, z, 540);
    expect(visible.length).toBeGreaterThan(20);
    expect(visible.length).toBeLessThanOrEqual(VIEW_DISTANCE / SPACING + 1);
    for (const v of visible) expect(v.panel.z - z).toBeGreaterThan(0);
    const near = visible.reduce((a, b) => (a.distance < b.distance ? a : b));
    const far = visible.reduce((a, b) => (a.distance > b.distance ? a : b));
    expect(mipFor(1024, 1024, 11)).toBe(0);
    expect(mipFor(1024, 100, 11)).toBe(3);
    expect(mipFor(256, 0, 9)).toBe(8);
    expect(near.mip).toBeLessThanOrEqual(far.mip + Math.log2(far.panel.textureSize / near.panel.textureSize));
  });

  test("pixels are deterministic per panel and mip, sized to the mip", () => {
    const [p0, p1] = makePanels(2);
    expect(panelMipPixels(p0!, 0).length).toBe(p0!.textureSize ** 2 * 4);
    expect(panelMipPixels(p0!, p0!.mipLevels - 1).length).toBe(4);
    expect(checksum(panelMipPixels(p0!, 2))).toBe(checksum(panelMipPixels(p0!, 2)));
    expect(checksum(panelMipPixels(p0!, 2))).not.toBe(checksum(panelMipPixels(p1!, 2)));
  });

  test("the command line", () => {
    expect(parseOptions([])).toMatchObject({
      mode: "auto",
      settle: 40,
      budgetMiB: 128,
      uploadBudgetMiB: 8,
      panels: 1000,
      width: 960,
      height: 540,
    });
    expect(parseOptions(["--headless", "--window"])).toBe("--headless and --window exclude each other");
    expect(parseOptions(["--budget", "4"])).toBe("--budget needs a whole number from 8 to 1048576, got 4");
    expect(parseOptions(["--help"])).toBe("help");
  });
});

describe("on the GPU", () => {
  const gpu = useGpuContext({
    applicationName: "vkmem texture-streaming sample test",
    synchronizationValidation: true,
  });

  test("the golden image: the gallery after walking, every visible panel resident, no placeholder", () => {
    const context = gpu.context;
    const allocator = createAllocator(context, { label: "golden" });
    const frames = createFrameManager(context, allocator, { label: "golden frames" });
    const streamer = createTextureStreamer(frames, {
      label: "golden",
      budgetBytes: 16 * MiB,
      uploadBudgetBytes: 4 * MiB,
    });
    const renderer = new GalleryRenderer(context, frames, streamer, 200);
    const target = new OffscreenTarget(context, allocator, { width: 320, height: 180, label: "golden offscreen" });
    try {
      renderer.setTarget(target);
      for (let i = 0; i < 240; i++) {
        const frame = frames.beginFrame();
        renderer.record(frame, 0, i / 60);
        frames.endFrame();
      }
      const { image } = runHeadless({ frames, target, renderer, frameCount: 30, timeSeconds: 4 });
      expect(renderer.lastPlaceholders).toBe(0);
      expect(renderer.lastDrawn).toBeGreaterThan(20);
      if (process.env.VKMEM_UPDATE_GOLDEN === "1") writePng(GOLDEN, image);
      const diff = compareImages(image, readPng(GOLDEN), 24);
      expect(diff.differingPixels).toBeLessThanOrEqual(0.005 * 320 * 180);
    } finally {
      frames.waitIdle();
      renderer.destroy();
      streamer.destroy();
      target.destroy();
      frames.destroy();
      expect(allocator.destroy()).toEqual([]);
    }
  });
});

describe("the compiled program", () => {
  const program = path.resolve(import.meta.dirname, "../../dist/samples/texture-streaming/main.js");
  test.skipIf(!existsSync(program))(
    "headless under an 8 MiB budget: evicts, writes the PNG, no validation message, no leak",
    () => {
      const dir = mkdtempSync(path.join(tmpdir(), "vkmem-streaming-"));
      try {
        const out = path.join(dir, "shot.png");
        const text = execFileSync(
          process.execPath,
          [
            program,
            "--headless",
            "--frames",
            "900",
            "--budget",
            "8",
            "--panels",
            "300",
            "--width",
            "640",
            "--height",
            "360",
            ...validationArgs,
            "--out",
            out,
          ],
          { encoding: "utf8" },
        );
        expect(text).toMatch(/budget 8 MiB \(option\)/);
        expect(text).toMatch(/Headless: 900 moving frames/);
        const evictions = Number(/Streamer totals: .* (\d+) evictions/.exec(text)?.[1]);
        expect(evictions).toBeGreaterThan(0);
        expect(text).toMatch(/Leaks at exit: 0/);
        if (validationAvailable) expect(text).toMatch(/Validation messages: 0/);
        expect(readPng(out).width).toBe(640);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
