/**
 * The windowed loop: poll the window, acquire, record, submit through the FrameManager, present; recreate the
 * swapchain (and let the renderer rebuild) on resize or when presentation says it is out of date.
 *
 * The loop runs synchronously until the window is closed, Escape is pressed, or `maxFrames` frames were presented.
 * Before it returns, every submitted frame has completed (FrameManager.waitIdle()), so the caller can destroy
 * everything at once.
 * @module
 */
import { createContext, nvk, type Context, type FrameManager, type NvkHandle } from "../../engine/index.js";
import { FrameTimer } from "./frame-timer.js";
import type { SampleRenderer } from "./sample-renderer.js";
import type { SurfaceWindow, Swapchain } from "./swapchain.js";

/** GLFW's key code for Escape, which nvk's keydown event carries. */
export const KEY_ESCAPE = 256;

/** What the loop needs of nvk's VulkanWindow. */
/**
 * The Context of a sample: validation (and synchronization validation) when asked, and, with a window, not headless
 * and with the instance extensions the window's surface needs. Destroyed by the sample.
 */
export function createSampleContext(title: string, validation: boolean, window: LoopWindow | null): Context {
  return createContext({
    applicationName: title,
    ...(validation ? { validation: true, synchronizationValidation: true } : {}),
    ...(window !== null
      ? {
          headless: false,
          instanceExtensions: (
            window as unknown as { getRequiredInstanceExtensions(): string[] }
          ).getRequiredInstanceExtensions(),
        }
      : {}),
  });
}

export interface LoopWindow extends SurfaceWindow {
  width: number;
  height: number;
  title: string;
  pollEvents(): void;
  shouldClose(): boolean;
  close(): void;
  onresize: ((event: { width: number; height: number }) => void) | null;
  onkeydown: ((event: { keyCode: number }) => void) | null;
  onclose: ((event: object) => void) | null;
}

/** A scripted resize: before frame `atFrame`, set the window to `width` x `height` (tests, demonstrations). */
export interface ScriptedResize {
  atFrame: number;
  width: number;
  height: number;
}

/** Options of {@link runWindowLoop}. */
export interface WindowLoopOptions {
  window: LoopWindow;
  frames: FrameManager;
  swapchain: Swapchain;
  renderer: SampleRenderer;
  /** Stop after this many presented frames (default: until closed). */
  maxFrames?: number;
  /** Scene time of each frame in seconds. Default: seconds since the loop started. */
  time?: () => number;
  /** Resizes to perform along the way. */
  resizes?: readonly ScriptedResize[];
  /** Called after each presented frame with its number (0 for the first), e.g. to take a screenshot. */
  afterFrame?: (frameNumber: number) => void;
}

/** What {@link runWindowLoop} returns. */
export interface WindowLoopResult {
  /** Frames presented. */
  readonly frames: number;
  /** Why it stopped. */
  readonly reason: "closed" | "escape" | "maxFrames";
  /** Times the swapchain was recreated (resize, out of date, suboptimal). */
  readonly swapchainRecreations: number;
  /** Per presented frame: beginFrame() to vkQueuePresentKHR returning. */
  readonly timer: FrameTimer;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs the loop (see the module comment). Installs its own onresize / onkeydown / onclose handlers on the window
 * and removes them before returning. Calls `renderer.setTarget(swapchain)` first and after each recreation.
 * @throws whatever the renderer or Vulkan throws (after waiting for the submitted frames).
 */
export function runWindowLoop(options: WindowLoopOptions): WindowLoopResult {
  const { window, frames, swapchain, renderer } = options;
  const maxFrames = options.maxFrames ?? Infinity;
  const start = performance.now();
  const time = options.time ?? (() => (performance.now() - start) / 1000);
  const resizes = [...(options.resizes ?? [])].sort((a, b) => a.atFrame - b.atFrame);
  let escape = false;
  let closed = false;
  let stale = false;
  window.onresize = () => {
    stale = true;
  };
  window.onkeydown = (event) => {
    if (event.keyCode === KEY_ESCAPE) escape = true;
  };
  window.onclose = () => {
    closed = true;
  };
  const timer = new FrameTimer();
  const waitStages = [nvk.VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT as number];
  const waits: NvkHandle[] = [];
  const signals: NvkHandle[] = [];
  const endOptions = { waitSemaphores: waits, waitStages, signalSemaphores: signals };
  let presented = 0;
  let recreations = 0;
  let reason: WindowLoopResult["reason"] = "maxFrames";
  try {
    renderer.setTarget(swapchain);
    for (;;) {
      window.pollEvents();
      if (escape) {
        reason = "escape";
        break;
      }
      if (closed || window.shouldClose()) {
        reason = "closed";
        break;
      }
      if (presented >= maxFrames) break;
      while (resizes.length > 0 && resizes[0]!.atFrame <= presented) {
        const r = resizes.shift()!;
        window.width = r.width;
        window.height = r.height;
        stale = true;
      }
      if (stale) {
        frames.waitIdle();
        if (!swapchain.recreate()) {
          sleep(10); // minimized: nothing to draw into
          continue;
        }
        renderer.setTarget(swapchain);
        recreations++;
        stale = false;
      }
      timer.begin();
      const frame = frames.beginFrame();
      const image = swapchain.acquire(frame.index);
      if (image === null) {
        frames.endFrame(); // an empty submission: the slot's fence still signals
        stale = true;
        continue;
      }
      renderer.record(frame, image.imageIndex, time());
      waits[0] = image.acquired;
      signals[0] = image.renderFinished;
      frames.endFrame(endOptions);
      if (!swapchain.present(image)) stale = true;
      timer.end();
      options.afterFrame?.(presented);
      presented++;
    }
  } finally {
    frames.waitIdle();
    window.onresize = null;
    window.onkeydown = null;
    window.onclose = null;
  }
  return { frames: presented, reason, swapchainRecreations: recreations, timer };
}
