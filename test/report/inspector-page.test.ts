/**
 * The live inspector in a real browser, against a running sample: the texture-streaming sample (the compiled
 * program, as a user runs it) with `--inspector 0` prints its address; Debian's chromium, headless through
 * playwright-core, opens the page, which connects, shows the sample's allocations, and changes as frames advance
 * (the frame, the map, the counts). When the sample ends, the page says it lost the connection. A screenshot goes
 * to out/report/inspector.png (docs/inspector.png is a copy) to be looked at.
 *
 * Both samples take `--inspector`: the vma-sample's run checks that it prints the address and exits by itself.
 * Where chromium is missing the browser test skips, saying so, as test/report/page.test.ts does.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";

declare const document: any;
declare const window: any;

const CHROMIUM = process.env.VKMEM_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM) && (process.platform !== "win32" || process.env.VKMEM_CHROMIUM !== undefined);
const dist = path.resolve(import.meta.dirname, "../../dist");
const out = path.resolve("out/report");
mkdirSync(out, { recursive: true });
const streaming = path.join(dist, "samples", "texture-streaming", "main.js");
const vmaSample = path.join(dist, "samples", "vma-sample", "main.js");

/** Starts a sample and resolves with the inspector's address once it printed it. */
function startSample(
  program: string,
  args: string[],
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [program, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no inspector address within 60 s; output:\n${text}`)), 60_000);
    const seen = (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const m = /^Inspector: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, output: () => text });
      }
    };
    child.stdout!.on("data", seen);
    child.stderr!.on("data", seen);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the sample exited (${code}) before printing its inspector's address:\n${text}`));
    });
  });
}

describe("samples with --inspector", () => {
  test.skipIf(!existsSync(vmaSample))("vma-sample prints the address and exits by itself when done", () => {
    const r = spawnSync(
      process.execPath,
      [vmaSample, "--headless", "--frames", "3", "--quiet", "--inspector", "0", "--out", path.join(out, "vma.png")],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Inspector: http:\/\/127\.0\.0\.1:\d+\/$/m);
    const bad = spawnSync(process.execPath, [vmaSample, "--inspector", "http"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--inspector needs a whole number from 0 to 65535, got http/);
  });
});

describe.skipIf(!haveChromium || !existsSync(streaming))(
  haveChromium ? "the live page in chromium" : `the live page in chromium (skipped: no chromium at ${CHROMIUM})`,
  () => {
    let browser: Browser | undefined;
    let sample: ChildProcess | undefined;
    afterAll(async () => {
      if (sample !== undefined && sample.exitCode === null) sample.kill("SIGKILL");
      await browser?.close();
    });

    test("connects to the running texture-streaming sample, shows its allocations, and follows its frames", async () => {
      const started = await startSample(streaming, [
        "--headless",
        "--frames",
        "1000000",
        "--budget",
        "8",
        "--panels",
        "300",
        "--width",
        "320",
        "--height",
        "180",
        "--quiet",
        "--inspector",
        "0",
        "--out",
        path.join(out, "inspector-sample.png"),
      ]);
      sample = started.child;
      const { LD_PRELOAD: _preload, ASAN_OPTIONS: _asan, UBSAN_OPTIONS: _ubsan, ...browserEnv } = process.env;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu"],
        env: browserEnv as Record<string, string>,
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console ${m.type()}: ${m.text()}`);
      });
      await page.goto(started.url, { waitUntil: "domcontentloaded" });
      // Two updates arrived and the page drew one (it draws at most four times a second, after the first load).
      await page.waitForFunction(() => window.vkmemReport.updates >= 2 && window.vkmemReport.renders >= 2, null, {
        timeout: 60_000,
      });
      const text = (selector: string) => page.locator(selector).innerText();
      expect(await page.title()).toBe("vkmem report: live");
      expect(await text("#live-status")).toMatch(/^live: connected \(\d+ updates\)$/);
      expect(await text("#title")).toMatch(/, live from allocator 'texture-streaming'$/);
      expect(await text("#leaks h2")).toBe("Alive now");
      expect(await page.locator("#leaks-table tbody tr").count()).toBeGreaterThan(3);
      expect(await page.locator("#chart-counts canvas").count()).toBeGreaterThan(0);
      const first = await page.evaluate(() => ({
        frame: window.vkmemReport.model.frames.at(-1).frame as number | null,
        positions: window.vkmemReport.model.frames.length as number,
        allocations: Number(document.getElementById("map").dataset.allocations),
        status: document.getElementById("map-status").textContent as string,
      }));
      expect(first.allocations).toBeGreaterThan(0);
      expect(first.status).toMatch(/: \d+ allocations in \d+ blocks$/);
      // The sample's streamer names its textures' allocations: the map draws them.
      const names = await page.evaluate(() =>
        window.vkmemReport.map.state.hits.map((h: any) => window.vkmemReport.model.allocations[h.allocation].name),
      );
      expect(names.some((n: string) => /panel|streamer|tail|ring/i.test(n))).toBe(true);

      // Frames advance: new positions come, the slider follows them, the map and the counts change.
      await page.waitForFunction((n) => window.vkmemReport.model.frames.length >= n + 6, first.positions, {
        timeout: 90_000,
      });
      const renders = await page.evaluate(() => window.vkmemReport.renders as number);
      await page.waitForFunction((r) => window.vkmemReport.renders > r, renders);
      const later = await page.evaluate(() => ({
        frame: window.vkmemReport.model.frames.at(-1).frame as number | null,
        label: document.getElementById("frame-label").textContent as string,
        slider: [document.getElementById("frame-slider").value, document.getElementById("frame-slider").max],
        seen: new Set(window.vkmemReport.model.allocations.map((a: any) => a.id)).size as number,
        counts: window.vkmemReport.model.memoryTypes.map((t: any) => t.allocationCount.join(",")) as string[],
      }));
      expect(later.frame).not.toBeNull();
      expect(later.frame!).toBeGreaterThan(first.frame ?? -1);
      expect(later.slider[0]).toBe(later.slider[1]);
      expect(later.label).toMatch(/^frame \d+ \(\d+ of \d+\)$/);
      // The streamer's evictions are the allocator making images lost (the tails' losses are not evictions): the page
      // counts both.
      const summary = /^(\d+) evictions, (\d+) lost allocations, 0 failed allocations in the whole view\.$/.exec(
        await text("#timeline-summary"),
      );
      expect(summary).not.toBeNull();
      expect(Number(summary![2])).toBeGreaterThanOrEqual(Number(summary![1]));
      // Streaming makes and frees as the camera moves: the counts per position are not all one value.
      expect(later.counts.some((series) => new Set(series.split(",")).size > 1)).toBe(true);
      expect(later.seen).toBeGreaterThan(first.allocations);

      // Hovering an allocation that is alive now: its name and its age in frames.
      const name = await page.locator("#leaks-table tbody tr").first().locator("td").first().innerText();
      const at = await page.evaluate((n) => window.vkmemReport.map.locate(n), name === "(unnamed)" ? "" : name);
      if (at !== null) {
        await page.locator("#map").scrollIntoViewIfNeeded();
        const box = (await page.locator("#map").boundingBox())!;
        await page.mouse.move(box.x + at.x, box.y + at.y);
        expect(await text("#tooltip")).toMatch(/age: \d+ frames? \(/);
        await page.mouse.move(0, 0);
      }
      // The picture: the live status, the charts and the map, as the README shows it (docs/inspector.png).
      await page.setViewportSize({ width: 1280, height: 1500 });
      await page.evaluate(() => window.scrollTo(0, 0));
      const map = (await page.locator("#map").boundingBox())!;
      await page.screenshot({
        path: path.join(out, "inspector.png"),
        clip: { x: 0, y: 0, width: 1280, height: Math.min(1500, map.y + map.height + 8) },
      });

      expect(problems).toEqual([]);
      // The sample ends: the page says so (its reconnection attempts fail from now on, as they must).
      sample.kill("SIGTERM");
      await page.waitForFunction(
        () => /^live: disconnected/.test(document.getElementById("live-status").textContent),
        null,
        {
          timeout: 30_000,
        },
      );
      await page.close();
    }, 240_000);
  },
);
