/**
 * The headless loop: N frames into an {@link OffscreenTarget} through the FrameManager, the last one read back.
 * @module
 */
import type { FrameManager } from "../../engine/index.js";
import { FrameTimer } from "./frame-timer.js";
import type { OffscreenTarget } from "./offscreen-target.js";
import type { RgbaImage } from "./png.js";
import type { SampleRenderer } from "./sample-renderer.js";

/** Options of {@link runHeadless}. */
export interface HeadlessOptions {
  frames: FrameManager;
  target: OffscreenTarget;
  renderer: SampleRenderer;
  /** How many frames to render (at least 1). */
  frameCount: number;
  /** The scene time of every frame, in seconds: a fixed time gives a reproducible picture. */
  timeSeconds: number;
}

/** What {@link runHeadless} returns. */
export interface HeadlessResult {
  /** The last frame's pixels. */
  readonly image: RgbaImage;
  /**
   * Per frame, beginFrame() to endFrame() on the CPU. With frames in flight the CPU waits in beginFrame() for the
   * GPU (back-pressure), so after the first frames this is the frame time of the slower of the two.
   */
  readonly timer: FrameTimer;
  /** Wall time of all frames, from the first beginFrame() until the last frame completed (readback included). */
  readonly totalMs: number;
}

/**
 * Renders `frameCount` frames at the fixed time, records the readback into the last one, waits for the GPU and
 * returns the pixels. Calls `renderer.setTarget(target)` first.
 * @throws RangeError when frameCount is not a positive integer; whatever the renderer or Vulkan throws.
 */
export function runHeadless(options: HeadlessOptions): HeadlessResult {
  const { frames, target, renderer, frameCount, timeSeconds } = options;
  if (!Number.isInteger(frameCount) || frameCount < 1)
    throw new RangeError(`runHeadless: frameCount must be a positive integer, got ${frameCount}`);
  renderer.setTarget(target);
  const timer = new FrameTimer();
  const start = performance.now();
  for (let i = 0; i < frameCount; i++) {
    timer.begin();
    const frame = frames.beginFrame();
    renderer.record(frame, 0, timeSeconds);
    if (i === frameCount - 1) target.recordReadback(frame.commandBuffer);
    frames.endFrame();
    timer.end();
  }
  frames.waitIdle();
  const totalMs = performance.now() - start;
  return { image: target.readPixels(), timer, totalMs };
}
