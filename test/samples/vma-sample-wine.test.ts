/**
 * The windowed sample on Windows, which here means under Wine (`npm run test:win`, inside `xvfb-run`): nvk's window
 * opens through Wine's X11 driver on that Xvfb, a swapchain presents to it through winevulkan and lavapipe, the
 * window is resized once by the sample itself, and the program ends by itself after its frame limit with nothing
 * leaked. Windows only: on Linux, vma-sample-window.test.ts drives the same path and checks the pixels with X11
 * tools, which a Windows process cannot reach. No validation layer exists on Windows here (test/helpers/gpu.ts).
 */
import { spawn } from "node:child_process";
import { expect, test } from "vitest";

test.runIf(process.platform === "win32")(
  "windowed under Wine: a window opens, 60 frames are presented with a resize, the sample exits by itself",
  async () => {
    const child = spawn(
      process.execPath,
      [
        "dist/samples/vma-sample/main.js",
        "--window",
        "--frames",
        "60",
        "--width",
        "320",
        "--height",
        "240",
        "--resize-at",
        "30:400x300",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    // A hung run is killed (this child only) and reported with what it printed, instead of outliving the test.
    let killed = false;
    const watchdog = setTimeout(() => {
      killed = true;
      child.kill();
    }, 100_000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    clearTimeout(watchdog);
    expect(killed, `the sample did not finish in 100 s; its output:\n${output}`).toBe(false);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Window 320x240: swapchain of \d+ images, (MAILBOX|FIFO|IMMEDIATE|FIFO_RELAXED)/m);
    expect(output).toMatch(
      /^Windowed: 60 frames, ended by maxFrames, swapchain recreated [1-9]\d* time\(s\), now 400x300$/m,
    );
    expect(Number(/^Frames: (\d+) submitted/m.exec(output)?.[1]), output).toBeGreaterThanOrEqual(60);
    expect(output).toMatch(/^Leaks at exit: 0; allocations alive before destroy: 0$/m);
  },
  150_000,
);
