/**
 * The defragmentation sample's renderer: every quad the {@link LevelGame} has loaded, drawn in its cell of a grid
 * with its own vertex buffer and texture, into any {@link ColorTarget} (a swapchain or an offscreen image).
 *
 * Descriptor sets: one per cell per frame slot, allocated once. Before a slot draws a quad it checks that the slot's
 * set of that cell was written for this quad at its current generation (a new quad in the cell, or its texture moved
 * by the live defragmentation: the game bumps the generation from `onMove`), and rewrites it otherwise. A slot's sets
 * are only touched while that slot records, after beginFrame waited for the slot's previous frame, so a set never
 * changes while a frame in flight reads it. Vertex buffers are bound by `buffer.handle`, which nvk reads at the call:
 * after a move it names the new VkBuffer. Every drawn texture and buffer is marked used by the frame (`markUsed`), so
 * that destroying it when its level is unloaded waits for the frames that read it.
 *
 * Synchronization: the render pass's incoming dependency orders this frame's colour writes after the previous
 * frame's and after the target's consumer (presentation or the readback copy); the outgoing one makes them available
 * to the consumer. Uploads and the defragmentation's copies are ordered before the frame's commands by the manager.
 * @module
 */
import {
  check,
  DestroyedResourceError,
  nvk,
  type Context,
  type Frame,
  type FrameManager,
  type NvkHandle,
} from "../../engine/index.js";
import type { ColorTarget } from "../common/color-target.js";
import type { SampleRenderer } from "../common/sample-renderer.js";
import {
  PassRecorder,
  clearValue,
  createFramebuffers,
  releaseFramebuffers,
  releasePipeline,
} from "../common/pass-recorder.js";
import {
  createGraphicsPipeline,
  createLinearSampler,
  createTexturedLayout,
  destroyTexturedLayout,
} from "../common/textured-layout.js";
import type { LevelGame, LoadedQuad } from "./game.js";
import { GRID_COLUMNS, GRID_ROWS, MESH_VERTICES, VERTEX_FLOATS } from "./scene.js";

/** The clear colour: a dark blue-grey floor. */
export const CLEAR_COLOR: readonly [number, number, number, number] = [0.06, 0.07, 0.09, 1];
const CELLS = GRID_COLUMNS * GRID_ROWS;

/**
 * Draws the game's quads, and drives the game (`game.update` at the start of each frame). Made by the sample over its
 * context, frame manager and game; destroy it with `destroy()` after the frame manager's last frame completed
 * (FrameManager.waitIdle()), before the game and the frame manager.
 */
export class QuadRenderer implements SampleRenderer {
  readonly label: string;
  readonly #context: Context;
  readonly #frames: FrameManager;
  readonly #game: LevelGame;
  readonly #device: NvkHandle;
  readonly #sampler: NvkHandle;
  readonly #setLayout: NvkHandle;
  readonly #pipelineLayout: NvkHandle;
  readonly #pool: NvkHandle;
  /** sets[slot][cell], and what each was last written with: the quad and its generation. */
  readonly #sets: NvkHandle[][];
  readonly #written: { quad: LoadedQuad | null; generation: number }[][];
  #target: { format: number; finalLayout: number; consumerStageMask: number; consumerAccessMask: number } | null = null;
  #renderPass: NvkHandle | null = null;
  #pipeline: NvkHandle | null = null;
  #framebuffers: NvkHandle[] = [];
  #width = 0;
  #height = 0;
  #destroyed = false;
  /** Descriptor writes done so far (new quads and moved textures). */
  descriptorWrites = 0;
  // Made once, reused every frame.
  readonly #matrix = new Float32Array(16);
  readonly #vertexBuffers: NvkHandle[] = [null as unknown as NvkHandle];
  readonly #offsets = new BigUint64Array(1);
  readonly #pass = new PassRecorder([clearValue(CLEAR_COLOR)]);

  /**
   * Creates the sampler, the descriptor pool and sets, and the pipeline layout. The render pass and pipeline come
   * with the first {@link setTarget}.
   * @throws VkError when Vulkan fails.
   */
  constructor(context: Context, frames: FrameManager, game: LevelGame, label = "defragmentation") {
    this.label = label;
    this.#context = context;
    this.#frames = frames;
    this.#game = game;
    const device = (this.#device = context.device);
    this.#sampler = createLinearSampler(context, nvk.VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE, 0, `${label} sampler`);
    const layout = createTexturedLayout(context, 0, label);
    this.#setLayout = layout.setLayout;
    this.#pipelineLayout = layout.pipelineLayout;
    const slots = frames.framesInFlight;
    const pool = (this.#pool = new nvk.VkDescriptorPool());
    const size = new nvk.VkDescriptorPoolSize({
      type: nvk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
      descriptorCount: CELLS * slots,
    });
    check(
      nvk.vkCreateDescriptorPool(
        device,
        new nvk.VkDescriptorPoolCreateInfo({ maxSets: CELLS * slots, poolSizeCount: 1, pPoolSizes: [size] }),
        null,
        pool,
      ),
      "vkCreateDescriptorPool",
      label,
    );
    context.setObjectName(nvk.VK_OBJECT_TYPE_DESCRIPTOR_POOL, pool, `${label} descriptor pool`);
    const layouts = Array.from({ length: CELLS }, () => this.#setLayout);
    this.#sets = Array.from({ length: slots }, () => {
      const sets = layouts.map(() => new nvk.VkDescriptorSet());
      const info = new nvk.VkDescriptorSetAllocateInfo({
        descriptorPool: pool,
        descriptorSetCount: CELLS,
        pSetLayouts: layouts,
      });
      check(nvk.vkAllocateDescriptorSets(device, info, sets), "vkAllocateDescriptorSets", label);
      return sets;
    });
    this.#written = Array.from({ length: slots }, () =>
      Array.from({ length: CELLS }, () => ({ quad: null, generation: 0 })),
    );
  }

  setTarget(target: ColorTarget): void {
    this.#live("setTarget");
    const t = this.#target;
    if (
      t === null ||
      t.format !== target.format ||
      t.finalLayout !== target.finalLayout ||
      t.consumerStageMask !== target.consumerStageMask ||
      t.consumerAccessMask !== target.consumerAccessMask
    ) {
      this.#releasePass();
      this.#createPass(target);
    }
    releaseFramebuffers(this.#frames, this.#framebuffers, this.label);
    this.#framebuffers = createFramebuffers(this.#context, this.#renderPass!, target, [], this.label);
    this.#width = target.width;
    this.#height = target.height;
  }

  record(frame: Frame, imageIndex: number, timeSeconds: number): void {
    this.#live("record");
    const framebuffer = this.#framebuffers[imageIndex];
    if (framebuffer === undefined)
      throw new RangeError(`QuadRenderer.record: no framebuffer for image ${imageIndex} (setTarget first)`);
    this.#game.update();

    // Refresh this slot's sets of new quads and of moved textures.
    const sets = this.#sets[frame.index]!;
    const written = this.#written[frame.index]!;
    const writes: unknown[] = [];
    for (const [cell, loaded] of this.#game.quads) {
      const w = written[cell]!;
      if (w.quad === loaded && w.generation === loaded.generation) continue;
      w.quad = loaded;
      w.generation = loaded.generation;
      writes.push(
        new nvk.VkWriteDescriptorSet({
          dstSet: sets[cell],
          dstBinding: 0,
          dstArrayElement: 0,
          descriptorCount: 1,
          descriptorType: nvk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
          pImageInfo: [
            new nvk.VkDescriptorImageInfo({
              sampler: this.#sampler,
              imageView: loaded.texture.view,
              imageLayout: nvk.VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
            }),
          ],
        }),
      );
    }
    if (writes.length > 0) nvk.vkUpdateDescriptorSets(this.#device, writes.length, writes, 0, null);
    this.descriptorWrites += writes.length;

    const cmd = frame.commandBuffer;
    this.#pass.begin(cmd, this.#renderPass!, framebuffer, this.#pipeline!, this.#width, this.#height);
    // Square cells as large as fit, the grid centred.
    const cellPixels = Math.min(this.#width / GRID_COLUMNS, this.#height / GRID_ROWS);
    const left = (this.#width - cellPixels * GRID_COLUMNS) / 2;
    const top = (this.#height - cellPixels * GRID_ROWS) / 2;
    const m = this.#matrix;
    for (const [cell, loaded] of this.#game.quads) {
      const pulse = 1 + 0.04 * Math.sin(2 * timeSeconds + cell * 0.7);
      const cx = left + ((cell % GRID_COLUMNS) + 0.5) * cellPixels;
      const cy = top + (Math.floor(cell / GRID_COLUMNS) + 0.5) * cellPixels;
      // Column-major: the cell's unit square scaled to its pixels and moved to its centre, in clip space.
      m[0] = (2 * cellPixels * pulse) / this.#width;
      m[5] = (2 * cellPixels * pulse) / this.#height;
      m[10] = 1;
      m[12] = (2 * cx) / this.#width - 1;
      m[13] = (2 * cy) / this.#height - 1;
      m[15] = 1;
      nvk.vkCmdBindDescriptorSets(
        cmd,
        nvk.VK_PIPELINE_BIND_POINT_GRAPHICS,
        this.#pipelineLayout,
        0,
        1,
        [sets[cell]],
        0,
        null,
      );
      // Both are read by this frame: their destruction (an unloaded level) waits for its fence.
      loaded.texture.markUsed();
      loaded.vertexBuffer.markUsed();
      this.#vertexBuffers[0] = loaded.vertexBuffer.handle;
      nvk.vkCmdBindVertexBuffers(cmd, 0, 1, this.#vertexBuffers, this.#offsets);
      nvk.vkCmdPushConstants(cmd, this.#pipelineLayout, nvk.VK_SHADER_STAGE_VERTEX_BIT, 0, 64, m.buffer);
      nvk.vkCmdDraw(cmd, MESH_VERTICES, 1, 0, 0);
    }
    nvk.vkCmdEndRenderPass(cmd);
  }

  /**
   * Destroys what the renderer made (pipeline, render pass and framebuffers through the frame manager's release
   * queue, the rest at once). Precondition: the GPU is done with the renderer's frames (FrameManager.waitIdle()).
   * A second call does nothing.
   */
  destroy(): void {
    if (this.#destroyed) return;
    releaseFramebuffers(this.#frames, this.#framebuffers, this.label);
    this.#framebuffers = [];
    this.#releasePass();
    this.#destroyed = true;
    const d = this.#device;
    nvk.vkDestroyDescriptorPool(d, this.#pool, null);
    destroyTexturedLayout(this.#context, { setLayout: this.#setLayout, pipelineLayout: this.#pipelineLayout });
    nvk.vkDestroySampler(d, this.#sampler, null);
  }

  #createPass(target: ColorTarget): void {
    const colourStage = nvk.VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    const consumerBefore =
      target.consumerStageMask === nvk.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT ? 0 : target.consumerStageMask;
    const renderPass = new nvk.VkRenderPass();
    const info = new nvk.VkRenderPassCreateInfo({
      attachmentCount: 1,
      pAttachments: [
        new nvk.VkAttachmentDescription({
          format: target.format,
          samples: nvk.VK_SAMPLE_COUNT_1_BIT,
          loadOp: nvk.VK_ATTACHMENT_LOAD_OP_CLEAR,
          storeOp: nvk.VK_ATTACHMENT_STORE_OP_STORE,
          stencilLoadOp: nvk.VK_ATTACHMENT_LOAD_OP_DONT_CARE,
          stencilStoreOp: nvk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
          initialLayout: nvk.VK_IMAGE_LAYOUT_UNDEFINED,
          finalLayout: target.finalLayout,
        }),
      ],
      subpassCount: 1,
      pSubpasses: [
        new nvk.VkSubpassDescription({
          pipelineBindPoint: nvk.VK_PIPELINE_BIND_POINT_GRAPHICS,
          colorAttachmentCount: 1,
          pColorAttachments: [
            new nvk.VkAttachmentReference({ attachment: 0, layout: nvk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL }),
          ],
        }),
      ],
      dependencyCount: 2,
      pDependencies: [
        // The previous frame's colour writes and its consumer (presentation or the readback copy) first.
        new nvk.VkSubpassDependency({
          srcSubpass: nvk.VK_SUBPASS_EXTERNAL,
          dstSubpass: 0,
          srcStageMask: colourStage | consumerBefore,
          dstStageMask: colourStage,
          srcAccessMask: nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
          dstAccessMask: nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
        }),
        // This frame's colour writes before whoever uses the image next.
        new nvk.VkSubpassDependency({
          srcSubpass: 0,
          dstSubpass: nvk.VK_SUBPASS_EXTERNAL,
          srcStageMask: colourStage,
          dstStageMask: target.consumerStageMask,
          srcAccessMask: nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
          dstAccessMask: target.consumerAccessMask,
        }),
      ],
    });
    check(nvk.vkCreateRenderPass(this.#device, info, null, renderPass), "vkCreateRenderPass", this.label);
    try {
      this.#pipeline = this.#createPipeline(renderPass);
    } catch (error) {
      nvk.vkDestroyRenderPass(this.#device, renderPass, null);
      throw error;
    }
    this.#renderPass = renderPass;
    this.#target = {
      format: target.format,
      finalLayout: target.finalLayout,
      consumerStageMask: target.consumerStageMask,
      consumerAccessMask: target.consumerAccessMask,
    };
  }

  #createPipeline(renderPass: NvkHandle): NvkHandle {
    const attribute = (location: number, offset: number) =>
      new nvk.VkVertexInputAttributeDescription({ location, binding: 0, format: nvk.VK_FORMAT_R32G32_SFLOAT, offset });
    return createGraphicsPipeline(
      this.#context,
      { vertex: "samples/defragmentation/quad.vert", fragment: "samples/defragmentation/quad.frag" },
      this.#pipelineLayout,
      renderPass,
      {
        vertexInput: new nvk.VkPipelineVertexInputStateCreateInfo({
          vertexBindingDescriptionCount: 1,
          pVertexBindingDescriptions: [
            new nvk.VkVertexInputBindingDescription({
              binding: 0,
              stride: VERTEX_FLOATS * 4,
              inputRate: nvk.VK_VERTEX_INPUT_RATE_VERTEX,
            }),
          ],
          vertexAttributeDescriptionCount: 2,
          pVertexAttributeDescriptions: [attribute(0, 0), attribute(1, 8)],
        }),
        inputAssembly: new nvk.VkPipelineInputAssemblyStateCreateInfo({
          topology: nvk.VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
        }),
        rasterization: new nvk.VkPipelineRasterizationStateCreateInfo({
          polygonMode: nvk.VK_POLYGON_MODE_FILL,
          cullMode: nvk.VK_CULL_MODE_NONE,
          lineWidth: 1,
        }),
        colorBlend: new nvk.VkPipelineColorBlendStateCreateInfo({
          attachmentCount: 1,
          pAttachments: [new nvk.VkPipelineColorBlendAttachmentState({ colorWriteMask: 0xf })],
        }),
      },
      `${this.label} pipeline`,
    );
  }

  #releasePass(): void {
    const pipeline = this.#pipeline;
    const renderPass = this.#renderPass;
    this.#pipeline = null;
    this.#renderPass = null;
    this.#target = null;
    if (pipeline === null || renderPass === null) return;
    releasePipeline(this.#frames, pipeline, renderPass, this.label);
  }

  #live(operation: string): void {
    if (this.#destroyed) throw new DestroyedResourceError("QuadRenderer", this.label, operation);
  }
}
