/**
 * `vkmem report` in a real browser: Debian's chromium, headless, driven by playwright-core. The reports are written
 * by the command itself (a process, as a user runs it) from a 50-frame trace written with TraceWriter and from the
 * JSON dump of a real allocator on lavapipe (`vkmem info --dump-json`). The page must make no request beyond its
 * own file and raise no error; what it shows is asserted (charts, tables, a hover's tooltip, the slider moving the
 * map, the zoom) and screenshots go to out/report/ to be looked at.
 *
 * Where chromium is missing the browser tests skip, saying so, except under CI on Linux, where the set-up installs
 * it (scripts/setup.mjs) and its absence is a failure.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { GAME_TRACE_FACTS as F, writeGameTrace } from "./game-trace.js";
import { runVkmem as vkmem } from "../helpers/cli.js";

// The callbacks given to page.evaluate run in the page; this project compiles without the DOM's types.
declare const document: any;
declare const window: any;
declare const Event: any;

const CHROMIUM = process.env.VKMEM_CHROMIUM ?? "/usr/bin/chromium";
// On Windows (the suite under Wine) the browser must be a Windows build named by VKMEM_CHROMIUM: Wine shows Linux
// paths through its Z: drive, so /usr/bin/chromium "exists" there but is a Linux program Windows cannot start.
const haveChromium = existsSync(CHROMIUM) && (process.platform !== "win32" || process.env.VKMEM_CHROMIUM !== undefined);
if (!haveChromium && process.env.CI && process.platform === "linux") {
  throw new Error(`chromium is missing at ${CHROMIUM}: on Linux the set-up (scripts/setup.mjs) installs it`);
}
const out = resolve("out/report");
mkdirSync(out, { recursive: true });

const traceFile = join(out, "game.vkmtrace");
const traceHtml = join(out, "game.html");
const dumpFile = join(out, "lavapipe-dump.json");
const dumpHtml = join(out, "dump.html");

beforeAll(() => {
  writeGameTrace(traceFile);
  execFileSync(process.execPath, ["bin/vkmem.js", "info", "--no-dump", "--dump-json", dumpFile], { encoding: "utf8" });
});

describe("the command", () => {
  test("writes one self-contained page for a trace and for a dump, saying what it wrote", () => {
    const r = vkmem("report", traceFile, "-o", traceHtml);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^vkmem report: wrote .*game\.html \([\d.]+ KiB; 51 frames, 2 leaks\)\n$/);
    const d = vkmem("report", dumpFile, "-o", dumpHtml);
    expect(d.status).toBe(0);
    expect(d.stdout).toMatch(/a dump, no timeline\)\n$/);
    for (const file of [traceHtml, dumpHtml]) {
      const html = readFileSync(file, "utf8");
      // Nothing to fetch: no src or href attribute, no CSS url() or @import, no script module loading.
      expect(html).not.toMatch(/\s(src|href)\s*=/i);
      expect(html).not.toMatch(/url\(|@import|import\(/i);
      expect(html).toContain("uPlot"); // the library is in the file
      expect(html.match(/<script/g)!.length).toBe(4);
    }
    expect(statSync(traceHtml).size).toBeLessThan(400 * 1024);
  });

  test("usage errors (exit 2) and a file that is neither a trace nor a dump (exit 1)", () => {
    const none = vkmem("report", "-o", join(out, "x.html"));
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(
      /^vkmem report: missing the trace or dump to read \(TRACE\|DUMP\.json\)\n\nusage: vkmem report /,
    );
    const noOut = vkmem("report", traceFile);
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toMatch(/^vkmem report: missing -o report\.html/);
    const bad = vkmem("report", "package.json", "-o", join(out, "bad.html"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^vkmem report: parseStatsString: \$\.General must be an object, got undefined\n$/);
    expect(existsSync(join(out, "bad.html"))).toBe(false);
  });
});

describe.skipIf(!haveChromium)(
  haveChromium
    ? "in chromium"
    : process.platform === "win32"
      ? "in chromium (skipped: no Windows chromium; set VKMEM_CHROMIUM to one)"
      : `in chromium (skipped: no chromium at ${CHROMIUM}; set VKMEM_CHROMIUM)`,
  () => {
    let browser: Browser;
    const problems: string[] = [];
    const requests: string[] = [];

    beforeAll(async () => {
      if (!existsSync(traceHtml)) vkmem("report", traceFile, "-o", traceHtml);
      if (!existsSync(dumpHtml)) vkmem("report", dumpFile, "-o", dumpHtml);
      // The browser is not under test: under `npm run test:asan` it must not inherit the sanitizer preload (chromium
      // with libasan preloaded never came up within the hook's minute).
      const { LD_PRELOAD: _preload, ASAN_OPTIONS: _asan, UBSAN_OPTIONS: _ubsan, ...browserEnv } = process.env;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu"],
        env: browserEnv as Record<string, string>,
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    async function open(file: string, width = 1280): Promise<Page> {
      const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on("request", (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      return page;
    }
    /** The map's box in the viewport, scrolled into view first (mouse coordinates are the viewport's). */
    const mapBox = async (page: Page) => {
      await page.locator("#map").scrollIntoViewIfNeeded();
      return (await page.locator("#map").boundingBox())!;
    };
    const text = (page: Page, selector: string) => page.locator(selector).innerText();
    /** The RGB of the map's pixel at CSS (x, y). */
    const pixel = (page: Page, x: number, y: number) =>
      page.evaluate(
        ([x, y]) =>
          [...document.getElementById("map").getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3)] as number[],
        [x, y] as const,
      );
    const locate = (page: Page, name: string) =>
      page.evaluate((n) => window.vkmemReport.map.locate(n) as { x: number; y: number } | null, name);
    const setSlider = (page: Page, p: number) =>
      page.locator("#frame-slider").evaluate((s: any, v) => {
        s.value = String(v);
        s.dispatchEvent(new Event("input"));
      }, p);

    test("a trace's page: title, summary, the timeline's charts, the tables; no request beyond the file, no error", async () => {
      requests.length = 0;
      const page = await open(traceHtml);
      expect(await page.title()).toBe("vkmem report: game.vkmtrace");
      expect(await text(page, "#title")).toBe("lavapipe (simulated game), recorded by vkmem report test");
      expect(await text(page, "#summary")).toMatch(
        /^51 positions \(frame 0 to end\), \d+ allocations made, 2 alive at the end$/,
      );
      // One chart per heap with usage, then counts, fragmentation and traffic; each a uPlot canvas with its legend.
      for (const id of ["chart-heap-0", "chart-heap-1", "chart-counts", "chart-fragmentation", "chart-traffic"]) {
        expect(await page.locator(`#${id} canvas`).count()).toBeGreaterThan(0);
      }
      expect(await text(page, "#chart-heap-0 h3")).toBe("Heap 0 (512 MiB, DEVICE_LOCAL): usage against budget");
      expect(await page.locator("#chart-heap-0 .u-legend").innerText()).toMatch(/budget/);
      expect(await text(page, "#timeline-summary")).toBe(
        `${F.evictions} evictions, ${F.lost} lost allocations, ${F.failed} failed allocations in the whole trace.`,
      );
      // The tables.
      const firstLargest = await page.locator("#largest-table tbody tr").first().locator("td").allInnerTexts();
      expect(firstLargest.slice(0, 5)).toEqual([
        "1",
        F.largest.name,
        "48 MiB",
        "depth/stencil image",
        "Type 0, dedicated",
      ]);
      const leakRows = page.locator("#leaks-table tbody tr");
      expect(await leakRows.count()).toBe(2);
      // A moved allocation keeps the frame it was made in.
      const moved = page.locator("#largest-table tbody tr", { hasText: F.moved });
      expect((await moved.locator("td").allInnerTexts()).slice(6)).toEqual(["frame 25", "end"]);
      expect(await leakRows.nth(0).locator("td").first().innerText()).toBe("screenshot readback");
      expect(await leakRows.nth(1).locator("td").allInnerTexts()).toEqual([
        "debug overlay font",
        "512 KiB",
        "sampled image",
        "Type 0",
        "default",
        "frame 10",
        expect.stringMatching(/^40 frames \(/),
      ]);
      expect(await text(page, "#leaks-note")).toMatch(
        /^2 allocations \(8\.5 MiB\) never freed by the end of the trace\.$/,
      );
      await page.screenshot({ path: join(out, "report-trace.png"), fullPage: true });
      expect(requests).toEqual([pathToFileURL(traceHtml).href]);
      expect(problems).toEqual([]);
      await page.close();
    });

    test("hovering an allocation shows its name, size, usage and age", async () => {
      const page = await open(traceHtml);
      await setSlider(page, 49);
      expect(await text(page, "#frame-label")).toBe("frame 49 (50 of 51)");
      const at = await locate(page, F.hero.name);
      expect(at).not.toBeNull();
      const box = await mapBox(page);
      expect(await page.locator("#tooltip").isHidden()).toBe(true);
      await page.mouse.move(box.x + at!.x, box.y + at!.y);
      const tip = page.locator("#tooltip");
      expect(await tip.isVisible()).toBe(true);
      const t = await tip.innerText();
      expect(t).toContain(F.hero.name);
      expect(t).toMatch(/size: 16 MiB \(16,777,216 bytes\)/);
      expect(t).toMatch(/kind: sampled image/);
      expect(t).toMatch(
        /usage: TRANSFER_DST \| SAMPLED|usage: TRANSFER_SRC \| TRANSFER_DST \| SAMPLED|usage: TRANSFER_DST \| SAMPLED/,
      );
      expect(t).toMatch(/age: 49 frames \(/);
      expect(t).toMatch(/offset: 0 B in a 64 MiB block of Type 0/);
      await page.screenshot({
        path: join(out, "report-hover.png"),
        clip: { x: 0, y: Math.max(0, box.y + at!.y - 200), width: 1280, height: 400 },
      });
      await page.mouse.move(box.x + 2, box.y + 2); // over the heading: no allocation
      expect(await tip.isHidden()).toBe(true);
      expect(problems).toEqual([]);
      await page.close();
    });

    test("the slider moves the map through time: counts, and the pixels where level 2's mesh will be", async () => {
      const page = await open(traceHtml, 1100);
      await setSlider(page, 30);
      const at = await locate(page, F.level2.name);
      expect(at).not.toBeNull();
      const colourThen = await pixel(page, at!.x, at!.y);
      expect(colourThen).toEqual([255, 148, 148]); // a vertex buffer's colour
      const status30 = await text(page, "#map-status");
      await setSlider(page, 0);
      expect(await text(page, "#frame-label")).toBe("frame 0 (1 of 51)");
      expect(await locate(page, F.level2.name)).toBeNull();
      expect(await locate(page, F.level1.name)).not.toBeNull();
      const status0 = await text(page, "#map-status");
      expect(status0).toMatch(/^frame 0: \d+ allocations in \d+ blocks$/);
      expect(status0).not.toBe(status30);
      // The end: only the two leaks are drawn.
      await page.locator("#frame-next").click(); // frame 1
      expect(await text(page, "#frame-label")).toBe("frame 1 (2 of 51)");
      await setSlider(page, 50);
      expect(await text(page, "#map-status")).toMatch(/^end: 2 allocations in 2 blocks$/);
      expect(await text(page, "#frame-notes")).toBe("");
      await setSlider(page, 25);
      expect(await text(page, "#frame-notes")).toBe("notes: level 2 loaded");
      // Clicking a chart moves the slider to the frame under the pointer: the middle of 51 positions.
      const over = page.locator("#chart-counts .u-over");
      const overBox = (await over.boundingBox())!;
      await over.click({ position: { x: overBox.width / 2, y: overBox.height / 2 } });
      expect(await text(page, "#frame-label")).toBe("frame 25 (26 of 51)");
      expect(await page.locator("#frame-slider").inputValue()).toBe("25");
      // The README's picture (docs/report.png is a copy): frame 30, the pointer on level 2's mesh.
      await setSlider(page, 30);
      await page.locator("#map-section").evaluate((e: any) => e.scrollIntoView());
      const box = (await page.locator("#map").boundingBox())!;
      const mesh = (await locate(page, F.level2.name))!;
      await page.mouse.move(box.x + mesh.x, box.y + mesh.y);
      expect(await page.locator("#tooltip").innerText()).toMatch(/^level 2 terrain mesh\n/);
      await page.screenshot({
        path: join(out, "readme.png"),
        clip: { x: 0, y: 0, width: 1100, height: Math.min(900, box.y + box.height + 4) },
      });
      expect(problems).toEqual([]);
      await page.close();
    });

    test("zoom: the buttons double and halve the scale, the wheel zooms about the pointer, reset returns", async () => {
      const page = await open(traceHtml);
      const widthOf = (name: string) =>
        page.evaluate((n) => {
          const r = window.vkmemReport;
          const h = r.map.state.hits.find((x: { allocation: number }) => r.model.allocations[x.allocation].name === n);
          return h ? ((h.x1 - h.x0) as number) : null;
        }, name);
      await setSlider(page, 49);
      const w1 = (await widthOf("depth buffer"))!;
      expect(w1).toBeGreaterThan(10);
      await page.locator("#zoom-in").click();
      expect(await text(page, "#zoom-label")).toBe("zoom 2x");
      expect(Math.abs((await widthOf("depth buffer"))! - 2 * w1)).toBeLessThan(1.5);
      const box = await mapBox(page);
      await page.mouse.move(box.x + 100, box.y + 60);
      await page.mouse.wheel(0, -100);
      await page.waitForFunction(() => document.getElementById("zoom-label").textContent === "zoom 2.5x");
      await page.locator("#zoom-in").click();
      await page.locator("#zoom-in").click();
      await page.screenshot({
        path: join(out, "report-zoom.png"),
        clip: { x: 0, y: box.y - 80, width: 1280, height: 500 },
      });
      await page.locator("#zoom-reset").click();
      expect(await text(page, "#zoom-label")).toBe("zoom 1x");
      expect(Math.abs((await widthOf("depth buffer"))! - w1)).toBeLessThan(0.5);
      expect(problems).toEqual([]);
      await page.close();
    });

    test("a real allocator's JSON dump: the map and the tables, and a word that there is no timeline", async () => {
      requests.length = 0;
      const dump = JSON.parse(readFileSync(dumpFile, "utf8")) as { Total: { AllocationCount: number } };
      const page = await open(dumpHtml);
      expect(await text(page, "#no-timeline")).toMatch(/^This is a JSON dump: one moment, so there is no timeline\./);
      expect(await page.locator("#charts canvas").count()).toBe(0);
      expect(await page.locator("#frame-controls").isHidden()).toBe(true);
      expect(await text(page, "#map-status")).toMatch(
        new RegExp(`^dump: ${dump.Total.AllocationCount} allocations in \\d+ blocks$`),
      );
      expect(await page.locator("#largest-table tbody tr").count()).toBe(dump.Total.AllocationCount);
      expect(await text(page, "#leaks-note")).toMatch(/^A JSON dump is one moment: it cannot tell leaks\./);
      // Hover the largest allocation: its age is unknown in a dump.
      const name = await page.locator("#largest-table tbody tr").first().locator("td").nth(1).innerText();
      const at = await locate(page, name === "(unnamed)" ? "" : name);
      expect(at).not.toBeNull();
      const box = await mapBox(page);
      await page.mouse.move(box.x + at!.x, box.y + at!.y);
      expect(await page.locator("#tooltip").innerText()).toMatch(/age: unknown \(a dump has no time\)/);
      await page.screenshot({ path: join(out, "report-dump.png"), fullPage: true });
      expect(requests).toEqual([pathToFileURL(dumpHtml).href]);
      expect(problems).toEqual([]);
      await page.close();
    });
  },
);
