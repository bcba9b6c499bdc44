/**
 * The renderer of VMA's sample: the spinning textured cube, drawn into whatever {@link ColorTarget} the loop hands
 * it (a swapchain or an offscreen image).
 *
 * Everything with memory goes through the allocator, named: the vertex and index buffers and the texture are the
 * FrameManager's Buffers and Textures, filled through its staging ring (the upload is submitted ahead of the first
 * frame, which sees the data), and the depth image, which follows the target's size, comes from the allocator
 * directly. Every Vulkan object is named for the validation layer and debuggers.
 *
 * Differences from the original, and why: viewport and scissor are dynamic state, so a resize rebuilds the depth
 * image and framebuffers but not the pipeline; the render pass has explicit external dependencies (the original
 * has none and relies on the implicit ones, which synchronization validation rejects when a frame's depth and
 * colour writes meet the next frame's). The projection is the original's left-handed one, built with gl-matrix
 * (see {@link modelViewProjection}).
 *
 * Synchronization: the render pass's incoming dependency orders this frame's colour and depth writes (and the
 * layout transitions from UNDEFINED) after the previous frame's writes, and after the target's consumer (a readback
 * copy) of the previous frame; for a swapchain the image-acquired semaphore, waited at COLOR_ATTACHMENT_OUTPUT,
 * chains into the same first scope. The outgoing dependency makes the colour writes available to the target's
 * consumer (presentation, or the readback copy). Resources the GPU may still use are destroyed through the
 * FrameManager's release queue.
 * @module
 */
import { mat4 } from "gl-matrix";
import {
  DestroyedResourceError,
  MemoryUsage,
  nvk,
  type Allocation,
  type Allocator,
  type Buffer,
  type Context,
  type Frame,
  type FrameManager,
  type NvkHandle,
  type Texture,
} from "../../engine/index.js";
import { createImageView, type ColorTarget } from "../common/color-target.js";
import { createNamed } from "../common/named-object.js";
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
import { COLOR_OFFSET, POSITION_OFFSET, TEX_COORD_OFFSET, VERTEX_STRIDE, cubeIndices, cubeVertices } from "./mesh.js";
import { TEXTURE_SIZE, stripeTexture } from "./texture.js";

/** Depth formats in order of preference, as in the original. */
export const DEPTH_FORMATS: readonly number[] = [
  nvk.VK_FORMAT_D32_SFLOAT,
  nvk.VK_FORMAT_D32_SFLOAT_S8_UINT,
  nvk.VK_FORMAT_D24_UNORM_S8_UINT,
];
/** The clear colour (linear RGBA). */
export const CLEAR_COLOR: readonly [number, number, number, number] = [0.25, 0.25, 0.5, 1];
/** Rotation speed about Y, radians per second. */
export const ROTATION_SPEED = 0.2 * Math.PI;
/** Vertical field of view (60 degrees), near and far planes. */
export const FIELD_OF_VIEW = Math.PI / 3;
export const NEAR = 0.1;
export const FAR = 1000;
/** Where the camera is; it looks at the origin with +Y up. */
export const EYE: readonly [number, number, number] = [0, -2, 4];

const MIRROR_X = mat4.fromScaling(mat4.create(), [-1, 1, 1]);

/**
 * The model-view-projection matrix at `timeSeconds` for an aspect ratio, column-major as GLSL reads it.
 *
 * The original composes D3D-style left-handed matrices (row vectors, LookAtLH with eye (0,-2,4), PerspectiveLH
 * with depth 0..1) and hands them to Vulkan, whose clip space has Y pointing down. gl-matrix builds right-handed
 * ones; the left-handed view of the same camera is the right-handed one with view-space X and Z negated, and the
 * left-handed projection reads Z negated, so the two agree but for X: clip-space X is mirrored. Hence
 * `mirrorX * perspectiveZO * lookAt * rotateY`, which gives the original's numbers (test/samples checks them).
 * @param out receives the matrix; also returned.
 */
export function modelViewProjection(out: mat4, timeSeconds: number, aspect: number): mat4 {
  const projection = mat4.perspectiveZO(mat4.create(), FIELD_OF_VIEW, aspect, NEAR, FAR);
  const view = mat4.lookAt(mat4.create(), EYE as [number, number, number], [0, 0, 0], [0, 1, 0]);
  const model = mat4.fromYRotation(mat4.create(), timeSeconds * ROTATION_SPEED);
  mat4.multiply(out, MIRROR_X, projection);
  mat4.multiply(out, out, view);
  return mat4.multiply(out, out, model);
}

/** The first of {@link DEPTH_FORMATS} usable as an optimal-tiling depth attachment on this device. */
export function chooseDepthFormat(context: Context): number {
  const props = new nvk.VkFormatProperties();
  for (const format of DEPTH_FORMATS) {
    nvk.vkGetPhysicalDeviceFormatProperties(context.physicalDevice, format, props);
    if ((props.optimalTilingFeatures & nvk.VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT) !== 0) return format;
  }
  throw new Error(
    "chooseDepthFormat: none of D32_SFLOAT, D32_SFLOAT_S8_UINT, D24_UNORM_S8_UINT is a depth attachment format here",
  );
}

const FORMAT_NAMES: Record<number, string> = {
  [nvk.VK_FORMAT_D32_SFLOAT]: "D32_SFLOAT",
  [nvk.VK_FORMAT_D32_SFLOAT_S8_UINT]: "D32_SFLOAT_S8_UINT",
  [nvk.VK_FORMAT_D24_UNORM_S8_UINT]: "D24_UNORM_S8_UINT",
};

/**
 * How much anisotropic filtering the sampler gets, and why: the original asks for 16 whenever the device has
 * samplerAnisotropy. lavapipe (Mesa 22.3.6 with LLVM 15, measured here) advertises it but its anisotropic sampling
 * never returns for some views of this cube (the first at t = 0.43 s with maxLod 0, at t = 2.07 s with the
 * sampler below, at every maxAnisotropy from 2 to 16, 320x240 and 800x500 alike): the frame hangs the queue. So
 * on CPU devices anisotropy stays off unless asked for; on GPUs it follows the device.
 */
export function chooseAnisotropy(
  context: Context,
  maxSamplerAnisotropy: number,
  request: boolean | "auto" = "auto",
): { max: number; reason: string } {
  if (!context.features.samplerAnisotropy) return { max: 0, reason: "off: the device has no samplerAnisotropy" };
  if (request === false) return { max: 0, reason: "off: turned off" };
  if (request === "auto" && context.deviceType === "cpu")
    return { max: 0, reason: "off: lavapipe's anisotropic sampling hangs on some views of the cube" };
  return { max: Math.min(16, maxSamplerAnisotropy), reason: "on" };
}

/** What the render pass was built for; a target that differs needs a new render pass and pipeline. */
interface PassKey {
  format: number;
  finalLayout: number;
  consumerStageMask: number;
  consumerAccessMask: number;
}

interface Depth {
  readonly image: NvkHandle;
  readonly allocation: Allocation;
  readonly view: NvkHandle;
  readonly width: number;
  readonly height: number;
}

/**
 * The cube renderer. Made by the sample with the context, allocator and frame manager it renders with; destroyed
 * with `destroy()` after the frame manager's last frame completed (FrameManager.waitIdle()), before the frame
 * manager, allocator and context.
 */
export class CubeRenderer implements SampleRenderer {
  readonly label: string;
  /** The chosen depth format. */
  readonly depthFormat: number;
  /** The sampler's maxAnisotropy, 0 when anisotropic filtering is off (see {@link chooseAnisotropy}). */
  readonly maxAnisotropy: number;
  /** Why anisotropic filtering is on or off. */
  readonly anisotropyReason: string;
  readonly #context: Context;
  readonly #allocator: Allocator;
  readonly #frames: FrameManager;
  readonly #device: NvkHandle;
  #destroyed = false;
  // Lifetime of the renderer
  readonly #sampler: NvkHandle;
  readonly #setLayout: NvkHandle;
  readonly #descriptorPool: NvkHandle;
  readonly #descriptorSet: NvkHandle;
  readonly #pipelineLayout: NvkHandle;
  readonly #vertexBuffer: Buffer;
  readonly #indexBuffer: Buffer;
  readonly #indexCount: number;
  readonly #texture: Texture;
  // Per target
  #passKey: PassKey | null = null;
  #renderPass: NvkHandle | null = null;
  #pipeline: NvkHandle | null = null;
  #depth: Depth | null = null;
  #framebuffers: NvkHandle[] = [];
  #width = 0;
  #height = 0;
  // Made once, reused every frame
  readonly #mvp = mat4.create();
  readonly #pushConstants = new Float32Array(16);
  readonly #pass: PassRecorder;
  readonly #vertexBuffers: NvkHandle[];
  readonly #vertexOffsets = new BigUint64Array(1);
  readonly #descriptorSets: NvkHandle[];

  /**
   * Creates the sampler, descriptor set, pipeline layout, mesh and texture; the uploads of the mesh and the texture
   * go with the next frame the FrameManager submits. The pipeline comes with the first {@link setTarget}.
   * @throws VkError when Vulkan or VMA fails; Error when no depth format is usable or a shader is missing.
   */
  constructor(
    context: Context,
    allocator: Allocator,
    frames: FrameManager,
    options: { label?: string; anisotropy?: boolean | "auto" } = {},
  ) {
    const label = options.label ?? "vma-sample";
    this.label = label;
    this.#context = context;
    this.#allocator = allocator;
    this.#frames = frames;
    const device = (this.#device = context.device);
    this.depthFormat = chooseDepthFormat(context);

    const props = new nvk.VkPhysicalDeviceProperties();
    nvk.vkGetPhysicalDeviceProperties(context.physicalDevice, props);
    const anisotropy = chooseAnisotropy(context, props.limits.maxSamplerAnisotropy as number, options.anisotropy);
    this.maxAnisotropy = anisotropy.max;
    this.anisotropyReason = anisotropy.reason;
    const sampler = (this.#sampler = createLinearSampler(
      context,
      nvk.VK_SAMPLER_ADDRESS_MODE_REPEAT,
      this.maxAnisotropy,
      `${label} texture sampler`,
    ));

    const layout = createTexturedLayout(context, 1, label);
    const setLayout = (this.#setLayout = layout.setLayout);
    this.#pipelineLayout = layout.pipelineLayout;
    const pool = (this.#descriptorPool = this.#create(
      nvk.VkDescriptorPool,
      nvk.VK_OBJECT_TYPE_DESCRIPTOR_POOL,
      "descriptor pool",
      "vkCreateDescriptorPool",
      (out) =>
        nvk.vkCreateDescriptorPool(
          device,
          new nvk.VkDescriptorPoolCreateInfo({
            maxSets: 1,
            poolSizeCount: 1,
            pPoolSizes: [
              new nvk.VkDescriptorPoolSize({ type: nvk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, descriptorCount: 1 }),
            ],
          }),
          null,
          out,
        ),
    ));
    const set = (this.#descriptorSet = this.#create(
      nvk.VkDescriptorSet,
      nvk.VK_OBJECT_TYPE_DESCRIPTOR_SET,
      "descriptor set",
      "vkAllocateDescriptorSets",
      (out) =>
        nvk.vkAllocateDescriptorSets(
          device,
          new nvk.VkDescriptorSetAllocateInfo({
            descriptorPool: pool,
            descriptorSetCount: 1,
            pSetLayouts: [setLayout],
          }),
          [out],
        ),
    ));
    this.#descriptorSets = [set];

    const vertices = cubeVertices();
    const indices = cubeIndices();
    this.#indexCount = indices.length;
    this.#vertexBuffer = frames.createBuffer({
      label: `${label} cube vertices`,
      size: vertices.byteLength,
      usage: nvk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
    });
    frames.upload(this.#vertexBuffer, vertices);
    this.#indexBuffer = frames.createBuffer({
      label: `${label} cube indices`,
      size: indices.byteLength,
      usage: nvk.VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
    });
    frames.upload(this.#indexBuffer, indices);
    this.#texture = frames.createTexture({
      label: `${label} stripe texture`,
      width: TEXTURE_SIZE,
      height: TEXTURE_SIZE,
      format: nvk.VK_FORMAT_R8G8B8A8_UNORM,
    });
    frames.uploadImage(this.#texture, stripeTexture()); // leaves it in SHADER_READ_ONLY_OPTIMAL
    nvk.vkUpdateDescriptorSets(
      device,
      1,
      [
        new nvk.VkWriteDescriptorSet({
          dstSet: set,
          dstBinding: 1,
          dstArrayElement: 0,
          descriptorCount: 1,
          descriptorType: nvk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
          pImageInfo: [
            new nvk.VkDescriptorImageInfo({
              sampler,
              imageView: this.#texture.view,
              imageLayout: nvk.VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
            }),
          ],
        }),
      ],
      0,
      null,
    );

    this.#pass = new PassRecorder([clearValue(CLEAR_COLOR), clearValue([1, 0, 0, 0])]); // depth 1.0, stencil 0
    this.#vertexBuffers = [this.#vertexBuffer.handle];
  }

  /** "D32_SFLOAT" and so on. */
  get depthFormatName(): string {
    return FORMAT_NAMES[this.depthFormat] ?? String(this.depthFormat);
  }

  setTarget(target: ColorTarget): void {
    this.#live("setTarget");
    const key: PassKey = {
      format: target.format,
      finalLayout: target.finalLayout,
      consumerStageMask: target.consumerStageMask,
      consumerAccessMask: target.consumerAccessMask,
    };
    const old = this.#passKey;
    if (
      old === null ||
      old.format !== key.format ||
      old.finalLayout !== key.finalLayout ||
      old.consumerStageMask !== key.consumerStageMask ||
      old.consumerAccessMask !== key.consumerAccessMask
    ) {
      this.#releasePass();
      this.#createPass(key);
    }
    if (this.#depth === null || this.#depth.width !== target.width || this.#depth.height !== target.height) {
      this.#releaseDepth();
      this.#depth = this.#createDepth(target.width, target.height);
    }
    this.#releaseFramebuffers();
    this.#framebuffers = createFramebuffers(this.#context, this.#renderPass!, target, [this.#depth!.view], this.label);
    this.#width = target.width;
    this.#height = target.height;
  }

  record(frame: Frame, imageIndex: number, timeSeconds: number): void {
    this.#live("record");
    const framebuffer = this.#framebuffers[imageIndex];
    if (framebuffer === undefined)
      throw new RangeError(`CubeRenderer.record: no framebuffer for image ${imageIndex} (setTarget first)`);
    const cmd = frame.commandBuffer;
    const width = this.#width;
    const height = this.#height;
    this.#pass.begin(cmd, this.#renderPass!, framebuffer, this.#pipeline!, width, height);
    nvk.vkCmdBindDescriptorSets(
      cmd,
      nvk.VK_PIPELINE_BIND_POINT_GRAPHICS,
      this.#pipelineLayout,
      0,
      1,
      this.#descriptorSets,
      0,
      null,
    );
    modelViewProjection(this.#mvp, timeSeconds, width / height);
    this.#pushConstants.set(this.#mvp);
    nvk.vkCmdPushConstants(
      cmd,
      this.#pipelineLayout,
      nvk.VK_SHADER_STAGE_VERTEX_BIT,
      0,
      64,
      this.#pushConstants.buffer,
    );
    nvk.vkCmdBindVertexBuffers(cmd, 0, 1, this.#vertexBuffers, this.#vertexOffsets);
    nvk.vkCmdBindIndexBuffer(cmd, this.#indexBuffer.handle, 0, nvk.VK_INDEX_TYPE_UINT16);
    // What the frame reads: their destroy() waits for this frame's fence.
    this.#vertexBuffer.markUsed();
    this.#indexBuffer.markUsed();
    this.#texture.markUsed();
    nvk.vkCmdDrawIndexed(cmd, this.#indexCount, 1, 0, 0, 0);
    nvk.vkCmdEndRenderPass(cmd);
  }

  /**
   * Destroys everything the renderer made: pipeline, render pass, framebuffers, depth image, mesh and texture go
   * through the FrameManager's release queue; the sampler and descriptor objects at once. Precondition: the GPU is
   * done with the renderer's frames (FrameManager.waitIdle()), and the FrameManager is alive. A second call does
   * nothing.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#releaseFramebuffers();
    this.#releaseDepth();
    this.#releasePass();
    this.#destroyed = true;
    const d = this.#device;
    this.#texture.destroy();
    this.#indexBuffer.destroy();
    this.#vertexBuffer.destroy();
    nvk.vkDestroyDescriptorPool(d, this.#descriptorPool, null); // frees the set
    destroyTexturedLayout(this.#context, { setLayout: this.#setLayout, pipelineLayout: this.#pipelineLayout });
    nvk.vkDestroySampler(d, this.#sampler, null);
  }

  #createPass(key: PassKey): void {
    const d = this.#device;
    const attachments = [
      new nvk.VkAttachmentDescription({
        format: key.format,
        samples: nvk.VK_SAMPLE_COUNT_1_BIT,
        loadOp: nvk.VK_ATTACHMENT_LOAD_OP_CLEAR,
        storeOp: nvk.VK_ATTACHMENT_STORE_OP_STORE,
        stencilLoadOp: nvk.VK_ATTACHMENT_LOAD_OP_DONT_CARE,
        stencilStoreOp: nvk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
        initialLayout: nvk.VK_IMAGE_LAYOUT_UNDEFINED,
        finalLayout: key.finalLayout,
      }),
      new nvk.VkAttachmentDescription({
        format: this.depthFormat,
        samples: nvk.VK_SAMPLE_COUNT_1_BIT,
        loadOp: nvk.VK_ATTACHMENT_LOAD_OP_CLEAR,
        storeOp: nvk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
        stencilLoadOp: nvk.VK_ATTACHMENT_LOAD_OP_DONT_CARE,
        stencilStoreOp: nvk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
        initialLayout: nvk.VK_IMAGE_LAYOUT_UNDEFINED,
        finalLayout: nvk.VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
      }),
    ];
    const colourStage = nvk.VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    const fragmentTests =
      nvk.VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT | nvk.VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT;
    const consumerBefore =
      key.consumerStageMask === nvk.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT ? 0 : key.consumerStageMask;
    const dependencies = [
      // The previous frame's colour and depth writes (and its readback copy, when there is one) before this
      // frame's layout transitions, clears and writes.
      new nvk.VkSubpassDependency({
        srcSubpass: nvk.VK_SUBPASS_EXTERNAL,
        dstSubpass: 0,
        srcStageMask: colourStage | fragmentTests | consumerBefore,
        dstStageMask: colourStage | fragmentTests,
        srcAccessMask: nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | nvk.VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
        dstAccessMask:
          nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT |
          nvk.VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT |
          nvk.VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT,
      }),
      // This frame's colour writes before whoever uses the image next (presentation or the readback copy).
      new nvk.VkSubpassDependency({
        srcSubpass: 0,
        dstSubpass: nvk.VK_SUBPASS_EXTERNAL,
        srcStageMask: colourStage,
        dstStageMask: key.consumerStageMask,
        srcAccessMask: nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
        dstAccessMask: key.consumerAccessMask,
      }),
    ];
    const renderPass = this.#create(
      nvk.VkRenderPass,
      nvk.VK_OBJECT_TYPE_RENDER_PASS,
      "render pass",
      "vkCreateRenderPass",
      (out) =>
        nvk.vkCreateRenderPass(
          d,
          new nvk.VkRenderPassCreateInfo({
            attachmentCount: 2,
            pAttachments: attachments,
            subpassCount: 1,
            pSubpasses: [
              new nvk.VkSubpassDescription({
                pipelineBindPoint: nvk.VK_PIPELINE_BIND_POINT_GRAPHICS,
                colorAttachmentCount: 1,
                pColorAttachments: [
                  new nvk.VkAttachmentReference({
                    attachment: 0,
                    layout: nvk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                  }),
                ],
                pDepthStencilAttachment: new nvk.VkAttachmentReference({
                  attachment: 1,
                  layout: nvk.VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
                }),
              }),
            ],
            dependencyCount: dependencies.length,
            pDependencies: dependencies,
          }),
          null,
          out,
        ),
    );
    try {
      this.#pipeline = this.#createPipeline(renderPass);
    } catch (error) {
      nvk.vkDestroyRenderPass(d, renderPass, null);
      throw error;
    }
    this.#renderPass = renderPass;
    this.#passKey = key;
  }

  #createPipeline(renderPass: NvkHandle): NvkHandle {
    const attribute = (location: number, format: number, offset: number) =>
      new nvk.VkVertexInputAttributeDescription({ location, binding: 0, format, offset });
    const shaders = { vertex: "vma-sample.vert", fragment: "vma-sample.frag" };
    return createGraphicsPipeline(
      this.#context,
      shaders,
      this.#pipelineLayout,
      renderPass,
      {
        vertexInput: new nvk.VkPipelineVertexInputStateCreateInfo({
          vertexBindingDescriptionCount: 1,
          pVertexBindingDescriptions: [
            new nvk.VkVertexInputBindingDescription({
              binding: 0,
              stride: VERTEX_STRIDE,
              inputRate: nvk.VK_VERTEX_INPUT_RATE_VERTEX,
            }),
          ],
          vertexAttributeDescriptionCount: 3,
          pVertexAttributeDescriptions: [
            attribute(0, nvk.VK_FORMAT_R32G32B32_SFLOAT, POSITION_OFFSET),
            attribute(1, nvk.VK_FORMAT_R32G32B32_SFLOAT, COLOR_OFFSET),
            attribute(2, nvk.VK_FORMAT_R32G32_SFLOAT, TEX_COORD_OFFSET),
          ],
        }),
        inputAssembly: new nvk.VkPipelineInputAssemblyStateCreateInfo({
          topology: nvk.VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP,
          primitiveRestartEnable: true,
        }),
        rasterization: new nvk.VkPipelineRasterizationStateCreateInfo({
          depthClampEnable: false,
          rasterizerDiscardEnable: false,
          polygonMode: nvk.VK_POLYGON_MODE_FILL,
          cullMode: nvk.VK_CULL_MODE_BACK_BIT,
          frontFace: nvk.VK_FRONT_FACE_COUNTER_CLOCKWISE,
          depthBiasEnable: false,
          lineWidth: 1,
        }),
        depthStencil: new nvk.VkPipelineDepthStencilStateCreateInfo({
          depthTestEnable: true,
          depthWriteEnable: true,
          depthCompareOp: nvk.VK_COMPARE_OP_LESS,
          depthBoundsTestEnable: false,
          stencilTestEnable: false,
        }),
        colorBlend: new nvk.VkPipelineColorBlendStateCreateInfo({
          logicOpEnable: false,
          attachmentCount: 1,
          pAttachments: [
            new nvk.VkPipelineColorBlendAttachmentState({
              blendEnable: false,
              colorWriteMask:
                nvk.VK_COLOR_COMPONENT_R_BIT |
                nvk.VK_COLOR_COMPONENT_G_BIT |
                nvk.VK_COLOR_COMPONENT_B_BIT |
                nvk.VK_COLOR_COMPONENT_A_BIT,
            }),
          ],
        }),
      },
      `${this.label} pipeline`,
    );
  }

  #createDepth(width: number, height: number): Depth {
    const name = `${this.label} depth ${width}x${height}`;
    const { image, allocation } = this.#allocator.createImage(
      { format: this.depthFormat, extent: { width, height }, usage: nvk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT },
      { usage: MemoryUsage.Auto, name },
    );
    this.#context.setObjectName(nvk.VK_OBJECT_TYPE_IMAGE, image, name);
    const view = createImageView(this.#context, image, this.depthFormat, nvk.VK_IMAGE_ASPECT_DEPTH_BIT, `${name} view`);
    return { image, allocation, view, width, height };
  }

  // The #release* methods hand what the GPU may still use to the FrameManager, which destroys it once the last
  // frame that used it has completed (at once when that frame is already complete).
  #releaseFramebuffers(): void {
    releaseFramebuffers(this.#frames, this.#framebuffers, this.label);
    this.#framebuffers = [];
  }

  #releaseDepth(): void {
    const depth = this.#depth;
    if (depth === null) return;
    this.#depth = null;
    const d = this.#device;
    const allocator = this.#allocator;
    this.#frames.destroyLater(`${this.label} depth`, depth.allocation.size, () => {
      nvk.vkDestroyImageView(d, depth.view, null);
      allocator.destroyImage(depth.image, depth.allocation);
    });
  }

  #releasePass(): void {
    const pipeline = this.#pipeline;
    const renderPass = this.#renderPass;
    this.#pipeline = null;
    this.#renderPass = null;
    this.#passKey = null;
    if (pipeline === null || renderPass === null) return;
    releasePipeline(this.#frames, pipeline, renderPass, this.label);
  }

  /** A Vulkan object of the renderer, named "<label> <what>". */
  #create(
    HandleClass: new () => NvkHandle,
    objectType: number,
    what: string,
    operation: string,
    call: (out: NvkHandle) => number,
  ): NvkHandle {
    return createNamed(this.#context, HandleClass, objectType, `${this.label} ${what}`, operation, call);
  }

  #live(operation: string): void {
    if (this.#destroyed) throw new DestroyedResourceError("CubeRenderer", this.label, operation);
  }
}
