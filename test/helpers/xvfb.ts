/**
 * A private X display for windowed tests: Xvfb on a display number it picks itself (`-displayfd`, so parallel
 * test files never race for one), a private XDG_RUNTIME_DIR, and screenshots of the root window as RGBA.
 *
 * Only the Xvfb started here is ever stopped, by its own process handle.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PNG } from "pngjs";
import type { RgbaImage } from "../../samples/common/png.js";

/** A running Xvfb. */
export interface XDisplay {
  /** ":N" */
  readonly display: string;
  /** The environment for programs that should use it: DISPLAY and XDG_RUNTIME_DIR set. */
  readonly env: NodeJS.ProcessEnv;
  /** The root window as RGBA (xwd | convert). */
  screenshot(): RgbaImage;
  /** Stops this Xvfb and removes its runtime folder. */
  stop(): Promise<void>;
}

/**
 * Starts Xvfb with one screen of `width` x `height` x 24 bits and waits until it accepts clients.
 * @throws Error when Xvfb is not installed or does not report a display within 15 s.
 */
export async function startXvfb(width = 1280, height = 720): Promise<XDisplay> {
  const runtime = mkdtempSync(path.join(tmpdir(), "vkmem-xdg-"));
  const child: ChildProcess = spawn(
    "Xvfb",
    ["-displayfd", "3", "-screen", "0", `${width}x${height}x24`, "-nolisten", "tcp"],
    {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const number = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`Xvfb reported no display in 15 s: ${stderr}`)), 15_000);
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\n")) {
        clearTimeout(timer);
        resolve(text.trim());
      }
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb could not start (Debian package xvfb): ${e.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}) before reporting a display: ${stderr}`));
    });
  });
  const display = `:${number}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    display,
    env: { ...process.env, DISPLAY: display, XDG_RUNTIME_DIR: runtime },
    screenshot(): RgbaImage {
      const r = spawnSync("sh", ["-c", `xwd -root -silent -display ${display} | convert xwd:- png:-`], {
        maxBuffer: 64 << 20,
      });
      if (r.status !== 0) throw new Error(`screenshot of ${display} failed: ${r.stderr?.toString()}`);
      const png = PNG.sync.read(r.stdout);
      return {
        width: png.width,
        height: png.height,
        data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length),
      };
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(runtime, { recursive: true, force: true });
    },
  };
}
