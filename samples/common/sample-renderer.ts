/**
 * The contract between a sample's renderer and the loops that drive it (window-loop.ts, headless-loop.ts).
 * @module
 */
import type { Frame } from "../../engine/index.js";
import type { ColorTarget } from "./color-target.js";

/** What a loop needs of a renderer. The renderer is made and destroyed by the sample's main program. */
export interface SampleRenderer {
  /**
   * Builds (or rebuilds) what depends on the colour target: render pass for its format and final layout,
   * framebuffers, depth image of its size. Called once before the first frame and after every swapchain
   * recreation, with no frame being recorded.
   */
  setTarget(target: ColorTarget): void;
  /**
   * Records the frame's drawing into `frame.commandBuffer`, rendering into the target's image `imageIndex`, as the
   * scene looks at `timeSeconds`.
   */
  record(frame: Frame, imageIndex: number, timeSeconds: number): void;
}
