/**
 * The streaming sample's renderer: the gallery of panels (scene.ts) drawn with whatever the {@link TextureStreamer}
 * shows for each, into any {@link ColorTarget} (a swapchain or an offscreen image).
 *
 * Each frame `record()` asks the scene what the camera sees at that time and which mip each visible panel needs,
 * requests those textures, runs the streamer's update (uploads within the upload budget, evictions under the memory
 * budget), then draws the visible panels back to front (no depth buffer: painter's order is exact for panels on two
 * walls), each with a descriptor set over the view `streamer.show()` returned: its resident mips, or the
 * placeholder. Descriptor sets come from one pool per frame slot, reset when the slot comes round again (the frame
 * manager has then waited for the slot's previous frame), so a set never changes while a frame in flight uses it.
 *
 * Synchronization: the render pass's incoming dependency orders this frame's colour writes after the previous
 * frame's and after the target's consumer of the previous frame (presentation or the readback copy); the outgoing
 * one makes them available to the consumer. Texture uploads are ordered before the frame by the frame manager.
 * @module
 */
import { mat4 } from "gl-matrix";
import {
  check,
  DestroyedResourceError,
  nvk,
  VK_FORMAT_R8G8B8A8_UNORM,
  type Context,
  type Frame,
  type FrameManager,
  type NvkHandle,
  type StreamedTexture,
  type TextureStreamer,
  type TextureStreamerFrameStatistics,
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
import { FIELD_OF_VIEW, PANEL_SIZE, cameraZ, makePanels, panelMipRange, visiblePanels, type Panel } from "./scene.js";

/** Most panels drawn in one frame (descriptor sets per frame slot). */
export const MAX_DRAWN = 96;
/** The clear colour: a dark corridor. */
export const CLEAR_COLOR: readonly [number, number, number, number] = [0.08, 0.08, 0.1, 1];
/** Eye height above the panels' centres, and near / far planes. */
const EYE_HEIGHT = 0.3;
const NEAR = 0.1;
const FAR = 200;

/**
 * Draws the gallery and drives the streamer. Made by the sample over its context, frame manager and streamer;
 * registers one streamed texture per panel. Destroy it with `destroy()` after the frame manager's last frame
 * completed (FrameManager.waitIdle()), before the streamer and the frame manager.
 */
export class GalleryRenderer implements SampleRenderer {
  readonly label: string;
  readonly panels: readonly Panel[];
  readonly textures: readonly StreamedTexture[];
  /** Called after each frame's streamer update with its statistics. */
  onStatistics: ((stats: TextureStreamerFrameStatistics, timeSeconds: number) => void) | null = null;
  /** Panels drawn in the last frame, and how many of them showed the placeholder. */
  lastDrawn = 0;
  lastPlaceholders = 0;
  readonly #context: Context;
  readonly #frames: FrameManager;
  readonly #streamer: TextureStreamer;
  readonly #device: NvkHandle;
  readonly #sampler: NvkHandle;
  readonly #setLayout: NvkHandle;
  readonly #pipelineLayout: NvkHandle;
  readonly #pools: NvkHandle[];
  #target: { format: number; finalLayout: number; consumerStageMask: number; consumerAccessMask: number } | null = null;
  #renderPass: NvkHandle | null = null;
  #pipeline: NvkHandle | null = null;
  #framebuffers: NvkHandle[] = [];
  #width = 0;
  #height = 0;
  #destroyed = false;
  // Made once, reused every frame.
  readonly #projection = mat4.create();
  readonly #view = mat4.create();
  readonly #model = mat4.create();
  readonly #mvp = new Float32Array(16);
  readonly #pass = new PassRecorder([clearValue(CLEAR_COLOR)]);
  readonly #layouts: NvkHandle[];

  /**
   * Creates the sampler, descriptor pools and pipeline layout, and registers every panel's texture with `streamer`.
   * The render pass and pipeline come with the first {@link setTarget}.
   * @throws VkError when Vulkan fails.
   */
  constructor(
    context: Context,
    frames: FrameManager,
    streamer: TextureStreamer,
    panelCount?: number,
    label = "texture-streaming",
  ) {
    this.label = label;
    this.#context = context;
    this.#frames = frames;
    this.#streamer = streamer;
    const device = (this.#device = context.device);
    this.panels = makePanels(panelCount);
    this.textures = this.panels.map((panel) =>
      streamer.register({
        label: `panel ${panel.index}`,
        width: panel.textureSize,
        height: panel.textureSize,
        format: VK_FORMAT_R8G8B8A8_UNORM,
        load: (first, count) => panelMipRange(panel, first, count),
      }),
    );

    this.#sampler = createLinearSampler(context, nvk.VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE, 0, `${label} sampler`);
    const layout = createTexturedLayout(context, 0, label);
    const setLayout = (this.#setLayout = layout.setLayout);
    this.#pipelineLayout = layout.pipelineLayout;
    this.#layouts = Array.from({ length: MAX_DRAWN }, () => setLayout);
    this.#pools = Array.from({ length: frames.framesInFlight }, (_, i) => {
      const pool = new nvk.VkDescriptorPool();
      const size = new nvk.VkDescriptorPoolSize({
        type: nvk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
        descriptorCount: MAX_DRAWN,
      });
      check(
        nvk.vkCreateDescriptorPool(
          device,
          new nvk.VkDescriptorPoolCreateInfo({ maxSets: MAX_DRAWN, poolSizeCount: 1, pPoolSizes: [size] }),
          null,
          pool,
        ),
        "vkCreateDescriptorPool",
        label,
      );
      context.setObjectName(nvk.VK_OBJECT_TYPE_DESCRIPTOR_POOL, pool, `${label} descriptor pool ${i}`);
      return pool;
    });
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
    this.#releaseFramebuffers();
    this.#framebuffers = createFramebuffers(this.#context, this.#renderPass!, target, [], this.label);
    this.#width = target.width;
    this.#height = target.height;
    mat4.perspectiveZO(this.#projection, FIELD_OF_VIEW, target.width / target.height, NEAR, FAR);
    this.#projection[5] = -this.#projection[5]!; // Vulkan's clip space has Y down
  }

  record(frame: Frame, imageIndex: number, timeSeconds: number): void {
    this.#live("record");
    const framebuffer = this.#framebuffers[imageIndex];
    if (framebuffer === undefined)
      throw new RangeError(`GalleryRenderer.record: no framebuffer for image ${imageIndex} (setTarget first)`);
    const streamer = this.#streamer;

    // Stream: what the camera sees now, at the mip each panel needs.
    const z = cameraZ(timeSeconds, this.panels.length);
    const visible = visiblePanels(this.panels, z, this.#height).slice(0, MAX_DRAWN);
    for (const v of visible) streamer.request(this.textures[v.panel.index]!, v.mip);
    const stats = streamer.update();
    this.onStatistics?.(stats, timeSeconds);

    // One descriptor set per drawn panel, from this slot's pool (its previous frame has completed).
    const pool = this.#pools[frame.index]!;
    check(nvk.vkResetDescriptorPool(this.#device, pool, 0), "vkResetDescriptorPool", this.label);
    const sets = visible.map(() => new nvk.VkDescriptorSet());
    if (sets.length > 0) {
      check(
        nvk.vkAllocateDescriptorSets(
          this.#device,
          new nvk.VkDescriptorSetAllocateInfo({
            descriptorPool: pool,
            descriptorSetCount: sets.length,
            pSetLayouts: this.#layouts.slice(0, sets.length),
          }),
          sets,
        ),
        "vkAllocateDescriptorSets",
        this.label,
      );
    }
    visible.sort((a, b) => b.distance - a.distance); // back to front
    let placeholders = 0;
    const writes = visible.map((v, i) => {
      const shown = streamer.show(this.textures[v.panel.index]!);
      if (shown.placeholder) placeholders++;
      return new nvk.VkWriteDescriptorSet({
        dstSet: sets[i],
        dstBinding: 0,
        dstArrayElement: 0,
        descriptorCount: 1,
        descriptorType: nvk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
        pImageInfo: [
          new nvk.VkDescriptorImageInfo({
            sampler: this.#sampler,
            imageView: shown.view,
            imageLayout: nvk.VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
          }),
        ],
      });
    });
    if (writes.length > 0) nvk.vkUpdateDescriptorSets(this.#device, writes.length, writes, 0, null);
    this.lastDrawn = visible.length;
    this.lastPlaceholders = placeholders;

    const cmd = frame.commandBuffer;
    this.#pass.begin(cmd, this.#renderPass!, framebuffer, this.#pipeline!, this.#width, this.#height);
    mat4.lookAt(this.#view, [0, EYE_HEIGHT, z], [0, EYE_HEIGHT, z + 1], [0, 1, 0]);
    for (let i = 0; i < visible.length; i++) {
      const panel = visible[i]!.panel;
      // A unit quad in x/y, scaled to the panel, turned to face the corridor, moved to the wall.
      mat4.fromTranslation(this.#model, [panel.x, panel.y, panel.z]);
      mat4.rotateY(this.#model, this.#model, (panel.facing * Math.PI) / 2);
      mat4.scale(this.#model, this.#model, [PANEL_SIZE, PANEL_SIZE, 1]);
      mat4.multiply(this.#model, this.#view, this.#model);
      mat4.multiply(this.#mvp as unknown as mat4, this.#projection, this.#model);
      nvk.vkCmdBindDescriptorSets(
        cmd,
        nvk.VK_PIPELINE_BIND_POINT_GRAPHICS,
        this.#pipelineLayout,
        0,
        1,
        [sets[i]],
        0,
        null,
      );
      nvk.vkCmdPushConstants(cmd, this.#pipelineLayout, nvk.VK_SHADER_STAGE_VERTEX_BIT, 0, 64, this.#mvp.buffer);
      nvk.vkCmdDraw(cmd, 4, 1, 0, 0);
    }
    nvk.vkCmdEndRenderPass(cmd);
  }

  /**
   * Destroys what the renderer made (pipeline, render pass and framebuffers through the frame manager's release
   * queue, the rest at once) and unregisters the panels' textures. Precondition: the GPU is done with the renderer's
   * frames (FrameManager.waitIdle()). A second call does nothing.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#releaseFramebuffers();
    this.#releasePass();
    this.#destroyed = true;
    for (const t of this.textures) t.destroy();
    const d = this.#device;
    for (const pool of this.#pools) nvk.vkDestroyDescriptorPool(d, pool, null);
    destroyTexturedLayout(this.#context, { setLayout: this.#setLayout, pipelineLayout: this.#pipelineLayout });
    nvk.vkDestroySampler(d, this.#sampler, null);
  }

  #createPass(target: ColorTarget): void {
    const d = this.#device;
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
        // The previous frame's colour writes and its consumer (the readback copy) before this frame's writes.
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
    check(nvk.vkCreateRenderPass(d, info, null, renderPass), "vkCreateRenderPass", this.label);
    try {
      this.#pipeline = this.#createPipeline(renderPass);
    } catch (error) {
      nvk.vkDestroyRenderPass(d, renderPass, null);
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
    const shaders = {
      vertex: "samples/texture-streaming/panel.vert",
      fragment: "samples/texture-streaming/panel.frag",
    };
    return createGraphicsPipeline(
      this.#context,
      shaders,
      this.#pipelineLayout,
      renderPass,
      {
        vertexInput: new nvk.VkPipelineVertexInputStateCreateInfo({}),
        inputAssembly: new nvk.VkPipelineInputAssemblyStateCreateInfo({
          topology: nvk.VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP,
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

  // What the GPU may still use goes through the frame manager's release queue (at once when no frame in flight did).
  #releaseFramebuffers(): void {
    releaseFramebuffers(this.#frames, this.#framebuffers, this.label);
    this.#framebuffers = [];
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
    if (this.#destroyed) throw new DestroyedResourceError("GalleryRenderer", this.label, operation);
  }
}
