/**
 * The defragmentation sample (samples/defragmentation): the scene's rules (the schedule of loads and unloads, the
 * trophies that stay, deterministic pixels and meshes, room in the grid), the command line, and the compiled program
 * end to end on real Vulkan with validation and synchronization validation on: levels streamed in and out, then a
 * live defragmentation that must free memory blocks and move resources while the game draws, the memory maps before
 * and after written as valid PNGs (fewer block bars after), and a final frame identical, pixel for pixel, to the
 * one a run without defragmentation draws: every moved texture and vertex buffer kept its bytes and every descriptor
 * set was refreshed.
 *
 * The golden image, test/samples/defragmentation.golden.png, is the program's output at 320x180 after 220 frames,
 * looked at and found right: 40 tilted checker quads (the trophies) in their levels' colours on a dark floor, each
 * with its name ("L3", "#14") in the middle. Tolerance as for the other samples' goldens (a channel may differ by 24,
 * 0.5% of the pixels may differ). `VKMEM_UPDATE_GOLDEN=1` rewrites it (then look at it).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { compareImages, readPng, writePng } from "../../samples/common/png.js";
import { memoryPicturePath, parseOptions, percentile } from "../../samples/defragmentation/main.js";
import {
  CellGrid,
  LEVEL_QUADS,
  levelQuads,
  loadingFrames,
  MESH_VERTICES,
  quadPixels,
  quadVertices,
  scheduleAt,
  VERTEX_FLOATS,
} from "../../samples/defragmentation/scene.js";
import { validationArgs, validationAvailable } from "../helpers/gpu.js";

const GOLDEN = path.join(import.meta.dirname, "defragmentation.golden.png");

/** Plays the schedule on a CellGrid as the game does; the quads left and the most cells ever taken. */
function play(levels: number): { left: { level: number; index: number }[]; most: number } {
  const grid = new CellGrid();
  const live = new Map<number, { level: number; index: number; trophy: boolean }>();
  let most = 0;
  for (let frame = 0; frame < loadingFrames(levels) + 10; frame++) {
    const step = scheduleAt(frame, levels);
    for (const q of step.load) live.set(grid.take(), q);
    for (const [cell, q] of live) {
      if (q.level === step.unload && !q.trophy) {
        live.delete(cell);
        grid.give(cell);
      }
    }
    most = Math.max(most, live.size);
  }
  return { left: [...live.values()].map(({ level, index }) => ({ level, index })), most };
}

describe("the scene", () => {
  test("every level streams in and out; only the trophies stay, and the grid has room for 8 levels", () => {
    for (const levels of [1, 6, 8]) {
      const { left, most } = play(levels);
      const trophies = Array.from({ length: levels }, (_, l) => levelQuads(l).filter((q) => q.trophy)).flat();
      expect(left).toEqual(trophies.map(({ level, index }) => ({ level, index })));
      expect(most).toBeGreaterThanOrEqual(LEVEL_QUADS);
    }
    // Nothing happens once the scene is complete.
    const after = scheduleAt(loadingFrames(6), 6);
    expect(after).toEqual({ load: [], unload: -1 });
    expect(scheduleAt(loadingFrames(6) - 1, 6).unload).toBe(5);
  });

  test("pixels and meshes are deterministic and differ between quads", () => {
    const [a, b] = levelQuads(2);
    expect(quadPixels(a!).length).toBe(a!.textureSize ** 2 * 4);
    expect(Buffer.from(quadPixels(a!)).equals(Buffer.from(quadPixels(a!)))).toBe(true);
    expect(Buffer.from(quadPixels(a!)).equals(Buffer.from(quadPixels(levelQuads(3)[0]!)))).toBe(false);
    expect(quadVertices(a!).length).toBe(MESH_VERTICES * VERTEX_FLOATS);
    if (a!.angle !== b!.angle) expect(quadVertices(a!)).not.toEqual(quadVertices(b!));
    expect(new CellGrid().take()).toBe(0);
  });

  test("the command line, the pictures' names and the percentile", () => {
    expect(parseOptions([])).toMatchObject({
      mode: "auto",
      frames: undefined,
      levels: 6,
      algorithm: "full",
      movesPerFrame: 8,
      mibPerFrame: 4,
      defragment: true,
    });
    expect(parseOptions(["--no-defrag"])).toMatchObject({ defragment: false });
    expect(parseOptions(["--algorithm", "best"])).toBe(
      "--algorithm needs one of fast, balanced, full, extensive, got best",
    );
    expect(parseOptions(["--levels", "9"])).toBe("--levels needs a whole number from 1 to 8, got 9");
    expect(parseOptions(["--headless", "--window"])).toBe("--headless and --window exclude each other");
    expect(parseOptions(["--help"])).toBe("help");
    expect(memoryPicturePath(path.join("out", "a.png"), "before")).toBe(path.join("out", "a.memory-before.png"));
    expect(memoryPicturePath("shot", "after")).toBe("shot.memory-after.png");
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 0.99)).toBe(5);
    expect(percentile([], 0.5)).toBe(0);
  });
});

describe("the compiled program", () => {
  const program = path.resolve(import.meta.dirname, "../../dist/samples/defragmentation/main.js");
  const run = (out: string, extra: readonly string[]): string =>
    execFileSync(
      process.execPath,
      [
        program,
        "--headless",
        "--frames",
        "220",
        "--width",
        "320",
        "--height",
        "180",
        ...validationArgs,
        "--out",
        out,
        ...extra,
      ],
      { encoding: "utf8" },
    );

  test.skipIf(!existsSync(program))(
    "defragments live: blocks freed, resources moved, memory maps written, the final frame the same as without",
    () => {
      const dir = mkdtempSync(path.join(tmpdir(), "vkmem-defrag-sample-"));
      try {
        const out = path.join(dir, "shot.png");
        const text = run(out, []); // execFileSync throws unless the exit code is 0
        expect(text).toMatch(/Leaks at exit: 0/);
        if (validationAvailable) expect(text).toMatch(/Validation messages: 0/);
        const done =
          /Defragmentation done: (\d+) memory blocks freed .*?, (\d+) resources moved \((\d+) textures, (\d+) vertex buffers\), .* moved \((\d+) bytes\)/.exec(
            text,
          );
        expect(done, text).not.toBeNull();
        const [blocksFreed, moved, textures, buffers, bytes] = done!.slice(1).map(Number);
        expect(blocksFreed).toBeGreaterThan(0);
        expect(moved).toBeGreaterThan(0);
        expect(textures).toBeGreaterThan(0); // so descriptor sets had to be refreshed
        expect(textures! + buffers!).toBe(moved);
        expect(bytes).toBeGreaterThan(0);
        expect(text).toMatch(/Frame time before defragmentation: p50 [\d.]+ ms, p99 [\d.]+ ms over 48 frames/);
        expect(text).toMatch(/Frame time during defragmentation: p50 [\d.]+ ms, p99 [\d.]+ ms over \d+ frames/);

        // The memory maps: valid PNGs, fewer block bars after than before.
        const before = readPng(memoryPicturePath(out, "before"));
        const after = readPng(memoryPicturePath(out, "after"));
        expect(before.width).toBe(1200);
        expect(after.width).toBe(1200);
        expect(after.height).toBeLessThan(before.height);

        // The same frames without defragmentation draw the same picture, pixel for pixel.
        const plain = path.join(dir, "plain.png");
        const plainText = run(plain, ["--no-defrag"]);
        expect(plainText).toMatch(/Defragmentation: off/);
        expect(existsSync(memoryPicturePath(plain, "before"))).toBe(false);
        const image = readPng(out);
        expect(image.width).toBe(320);
        expect(compareImages(image, readPng(plain), 0).differingPixels).toBe(0);

        // And it shows what it should: the trophies (the golden image), not an empty floor.
        if (process.env.VKMEM_UPDATE_GOLDEN === "1") writePng(GOLDEN, image);
        const golden = compareImages(image, readPng(GOLDEN), 24);
        expect(golden.differingPixels).toBeLessThanOrEqual(0.005 * 320 * 180);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
