/**
 * What every sample renderer does around its draws, in one place: the framebuffers over a {@link ColorTarget}'s
 * views, the render pass begun over the whole target with the dynamic viewport and scissor set to it, and the
 * release of framebuffers, pipeline and render pass through the FrameManager's release queue (they may still be in
 * use by frames in flight when the target changes or the renderer goes).
 * @module
 */
import { check, nvk, type Context, type FrameManager, type NvkHandle } from "../../engine/index.js";
import type { ColorTarget } from "./color-target.js";

/**
 * A VkClearValue holding a colour (or, with `[depth, stencil]`, a depth-stencil value). nvk's VkClearColorValue
 * setter writes the floats at byte offsets 0..3 (PLATFORM.md), so the bytes are written directly.
 */
export function clearValue(values: readonly number[]): any {
  const value = new nvk.VkClearValue();
  new Float32Array(value.memoryBuffer, value.memoryOffset ?? 0, 4).set(values);
  return value;
}

/**
 * One framebuffer per view of `target`, with `extra` attachments (a depth view) after the colour one, named
 * `${label} framebuffer ${target.label} ${i}`. The caller releases them with {@link releaseFramebuffers}.
 * @throws VkError when vkCreateFramebuffer fails.
 */
export function createFramebuffers(
  context: Context,
  renderPass: NvkHandle,
  target: ColorTarget,
  extra: readonly NvkHandle[],
  label: string,
): NvkHandle[] {
  return target.views.map((view, i) => {
    const framebuffer = new nvk.VkFramebuffer();
    const info = new nvk.VkFramebufferCreateInfo({
      renderPass,
      attachmentCount: 1 + extra.length,
      pAttachments: [view, ...extra],
      width: target.width,
      height: target.height,
      layers: 1,
    });
    check(nvk.vkCreateFramebuffer(context.device, info, null, framebuffer), "vkCreateFramebuffer", label);
    context.setObjectName(nvk.VK_OBJECT_TYPE_FRAMEBUFFER, framebuffer, `${label} framebuffer ${target.label} ${i}`);
    return framebuffer;
  });
}

/** Destroys `framebuffers` once no frame in flight uses them (at once when none does). */
export function releaseFramebuffers(frames: FrameManager, framebuffers: readonly NvkHandle[], label: string): void {
  const device = frames.context.device;
  for (const framebuffer of framebuffers)
    frames.destroyLater(`${label} framebuffer`, 0, () => nvk.vkDestroyFramebuffer(device, framebuffer, null));
}

/** Destroys a pipeline and its render pass once no frame in flight uses them. */
export function releasePipeline(frames: FrameManager, pipeline: NvkHandle, renderPass: NvkHandle, label: string): void {
  const device = frames.context.device;
  frames.destroyLater(`${label} pipeline`, 0, () => {
    nvk.vkDestroyPipeline(device, pipeline, null);
    nvk.vkDestroyRenderPass(device, renderPass, null);
  });
}

/**
 * Begins render passes over a whole target: the begin info, viewport and scissor are made once and reused, so a
 * frame makes no Vulkan structure for them. Owned by a renderer.
 */
export class PassRecorder {
  readonly #begin = new nvk.VkRenderPassBeginInfo({});
  readonly #viewport = new nvk.VkViewport({ x: 0, y: 0, width: 1, height: 1, minDepth: 0, maxDepth: 1 });
  readonly #scissor = new nvk.VkRect2D({
    offset: new nvk.VkOffset2D({ x: 0, y: 0 }),
    extent: new nvk.VkExtent2D({ width: 1, height: 1 }),
  });
  readonly #clearValues: readonly any[];

  /** @param clearValues one {@link clearValue} per attachment, in attachment order. */
  constructor(clearValues: readonly any[]) {
    this.#clearValues = clearValues;
  }

  /**
   * Records vkCmdBeginRenderPass over `width` x `height` with the clear values, binds `pipeline`, and sets the
   * dynamic viewport and scissor to the whole area. End it with vkCmdEndRenderPass.
   */
  begin(
    commandBuffer: NvkHandle,
    renderPass: NvkHandle,
    framebuffer: NvkHandle,
    pipeline: NvkHandle,
    width: number,
    height: number,
  ): void {
    const begin = this.#begin;
    begin.renderPass = renderPass;
    begin.framebuffer = framebuffer;
    begin.renderArea = new nvk.VkRect2D({
      offset: new nvk.VkOffset2D({ x: 0, y: 0 }),
      extent: new nvk.VkExtent2D({ width, height }),
    });
    begin.clearValueCount = this.#clearValues.length;
    begin.pClearValues = this.#clearValues;
    nvk.vkCmdBeginRenderPass(commandBuffer, begin, nvk.VK_SUBPASS_CONTENTS_INLINE);
    nvk.vkCmdBindPipeline(commandBuffer, nvk.VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
    this.#viewport.width = width;
    this.#viewport.height = height;
    nvk.vkCmdSetViewport(commandBuffer, 0, 1, [this.#viewport]);
    this.#scissor.extent = new nvk.VkExtent2D({ width, height });
    nvk.vkCmdSetScissor(commandBuffer, 0, 1, [this.#scissor]);
  }
}
