/**
 * VMA's sample in a window, under a private Xvfb: the compiled program runs 300 frames with the validation layer
 * and synchronization validation on, is resized from 640x360 to 800x500 at frame 150, and pauses twice (after
 * frames 100 and 250) so that the test can take a screenshot of the X display. Each screenshot must show the
 * window at its size, filled with the clear colour, with the cube in it (its stripe colours, not only the clear
 * colour). The run must end with exit code 0, zero validation messages and zero leaks. A second run without a
 * frame limit is ended by pressing Escape in its window (xdotool), and must end as cleanly. A third run is resized
 * every 5 frames (over 200 swapchain recreations) and must stay as silent.
 *
 * Linux only: both tests drive X11 tools (Xvfb, xwd, xdotool) that a Windows process cannot reach. Under Wine,
 * vma-sample-wine.test.ts runs the windowed sample instead.
 */
import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { RgbaImage } from "../../samples/common/png.js";
import { startXvfb, type XDisplay } from "../helpers/xvfb.js";

let x: XDisplay;
/** Xvfb, xwd and xdotool are X11 programs: these tests run where they do. */
const x11Tools = process.platform === "linux";

beforeAll(async () => {
  if (x11Tools) x = await startXvfb(1280, 720);
});
afterAll(async () => {
  await x?.stop();
});

/** The bounding box of the clear colour (64, 64, 128), and how many pixels inside it have the cube's colours. */
function analyse(shot: RgbaImage): { width: number; height: number; clear: number; cube: number } {
  let minX = Infinity,
    minY = Infinity,
    maxX = -1,
    maxY = -1,
    clear = 0;
  const d = shot.data;
  for (let y = 0; y < shot.height; y++) {
    for (let x0 = 0; x0 < shot.width; x0++) {
      const i = (y * shot.width + x0) * 4;
      if (d[i] === 64 && d[i + 1] === 64 && d[i + 2] === 128) {
        clear++;
        minX = Math.min(minX, x0);
        maxX = Math.max(maxX, x0);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
  }
  let cube = 0;
  for (let y = minY; y <= maxY; y++) {
    for (let x0 = minX; x0 <= maxX; x0++) {
      const i = (y * shot.width + x0) * 4;
      const [r, g, b] = [d[i]!, d[i + 1]!, d[i + 2]!];
      // Saturated stripe colours: red, yellow, green, blue, cyan.
      if ((r > 200 || g > 200 || b > 200) && Math.min(r, g, b) < 40) cube++;
    }
  }
  return { width: maxX - minX + 1, height: maxY - minY + 1, clear, cube };
}

/** Runs the compiled sample with `args` on the private display; `onPause` sees each "paused after frame N (WxH)". */
async function runSample(
  args: readonly string[],
  onPause: (frame: number, size: string) => void,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["dist/samples/vma-sample/main.js", ...args], {
    env: x.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  let pending = "";
  let failure: unknown = null;
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      const m = /^paused after frame (\d+) \((\d+x\d+)\)$/.exec(line);
      if (m !== null) {
        try {
          onPause(Number(m[1]), m[2]!);
        } catch (error) {
          failure ??= error; // let the sample go on and end; the test fails below
        }
        child.stdin.write("\n");
      }
    }
  });
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // A run that hangs is killed (this child only) and reported with what it printed, instead of outliving the test.
  let killed = false;
  const watchdog = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, 100_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  clearTimeout(watchdog);
  if (killed) throw new Error(`the sample did not finish in 100 s; its output:\n${output}`);
  if (failure !== null) throw failure;
  return { code, output };
}

test.runIf(x11Tools)(
  "windowed under Xvfb: 300 frames with a resize, the cube on screen before and after, validation silent, no leaks",
  async () => {
    const shots: { frame: number; size: string; shot: RgbaImage }[] = [];
    const { code, output } = await runSample(
      [
        "--window",
        "--validation",
        "--frames",
        "300",
        "--width",
        "640",
        "--height",
        "360",
        "--resize-at",
        "150:800x500",
        "--pause-after",
        "100",
        "--pause-after",
        "250",
      ],
      (frame, size) => shots.push({ frame, size, shot: x.screenshot() }),
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Window 640x360: swapchain of \d+ images, (MAILBOX|FIFO)/m);
    expect(output).toMatch(
      /^Windowed: 300 frames, ended by maxFrames, swapchain recreated [1-9]\d* time\(s\), now 800x500$/m,
    );
    expect(output).toMatch(/^Windowed frame time: median [\d.]+ ms\/frame/m);
    expect(output).toMatch(/^Leaks at exit: 0; allocations alive before destroy: 0$/m);
    expect(output).toMatch(/^Validation messages: 0$/m);

    expect(shots.map((s) => [s.frame, s.size])).toEqual([
      [100, "640x360"],
      [250, "800x500"],
    ]);
    for (const { size, shot } of shots) {
      const [w, h] = size.split("x").map(Number) as [number, number];
      const a = analyse(shot);
      expect([a.width, a.height], size).toEqual([w, h]);
      expect(a.clear, size).toBeGreaterThan(w * h * 0.4); // mostly background
      expect(a.cube, size).toBeGreaterThan(w * h * 0.02); // and the cube's stripes
    }
  },
  150_000,
); // the watchdog ends a hung run at 100 s; CI's two cores run 300 validated frames well inside

test.runIf(x11Tools)(
  "Escape in the window ends the sample cleanly",
  async () => {
    const { code, output } = await runSample(
      ["--window", "--validation", "--quiet", "--width", "320", "--height", "240", "--pause-after", "5"],
      () => {
        const r = spawnSync(
          "sh",
          [
            "-c",
            `w=$(xdotool search --name 'Vulkan Memory Allocator Sample' | head -n 1) && xdotool key --window "$w" Escape`,
          ],
          { env: x.env, encoding: "utf8" },
        );
        expect(r.status, r.stderr).toBe(0);
      },
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Windowed: \d+ frames, ended by escape, /m);
    expect(output).toMatch(/^Leaks at exit: 0; allocations alive before destroy: 0$/m);
    expect(output).toMatch(/^Validation messages: 0$/m);
  },
  150_000,
); // the watchdog ends a hung run at 100 s; CI's two cores run 300 validated frames well inside

test.runIf(x11Tools)(
  "resized every 5 frames: over 200 recreations right after presentation, validation silent",
  async () => {
    // Each recreation destroys the render-finished semaphores that the last presentations waited on. Waiting for
    // the frames' fences alone let the validation layer report one of them in use, about once in 1,400
    // recreations; the swapchain waits for the queue to be idle now.
    const resizes: string[] = [];
    for (let frame = 5; frame < 600; frame += 5)
      resizes.push("--resize-at", `${frame}:${frame % 10 === 0 ? "640x360" : "700x420"}`);
    const { code, output } = await runSample(
      ["--window", "--validation", "--frames", "600", "--width", "640", "--height", "360", ...resizes],
      () => {},
    );
    expect(code, output).toBe(0);
    const recreated = /^Windowed: 600 frames, ended by maxFrames, swapchain recreated (\d+) time\(s\)/m.exec(output);
    expect(Number(recreated?.[1]), output).toBeGreaterThan(200);
    expect(output).toMatch(/^Leaks at exit: 0; allocations alive before destroy: 0$/m);
    expect(output).toMatch(/^Validation messages: 0$/m);
  },
  150_000,
);
