/**
 * The layout both samples draw with: one combined image sampler for the fragment shader, and one mat4 (64 bytes)
 * of push constants for the vertex shader; the pipeline over it with what both samples set the same way; a sampler.
 * @module
 */
import { check, nvk, type Context, type NvkHandle } from "../../engine/index.js";
import { loadShaderModule } from "./shader-module.js";

/** A descriptor set layout and the pipeline layout over it (see the module comment). */
export interface TexturedLayout {
  readonly setLayout: NvkHandle;
  readonly pipelineLayout: NvkHandle;
}

/**
 * Creates the descriptor set layout (a combined image sampler at `binding`, fragment stage) and the pipeline layout
 * (that set, 64 bytes of vertex push constants), named `${label} descriptor set layout` / `pipeline layout`.
 * The caller destroys both with {@link destroyTexturedLayout}.
 * @throws VkError when Vulkan fails (nothing is left behind).
 */
export function createTexturedLayout(context: Context, binding: number, label: string): TexturedLayout {
  const device = context.device;
  const setLayout = new nvk.VkDescriptorSetLayout();
  const bindingInfo = new nvk.VkDescriptorSetLayoutBinding({
    binding,
    descriptorType: nvk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
    descriptorCount: 1,
    stageFlags: nvk.VK_SHADER_STAGE_FRAGMENT_BIT,
  });
  check(
    nvk.vkCreateDescriptorSetLayout(
      device,
      new nvk.VkDescriptorSetLayoutCreateInfo({ bindingCount: 1, pBindings: [bindingInfo] }),
      null,
      setLayout,
    ),
    "vkCreateDescriptorSetLayout",
    label,
  );
  context.setObjectName(nvk.VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, setLayout, `${label} descriptor set layout`);
  const pipelineLayout = new nvk.VkPipelineLayout();
  const info = new nvk.VkPipelineLayoutCreateInfo({
    setLayoutCount: 1,
    pSetLayouts: [setLayout],
    pushConstantRangeCount: 1,
    pPushConstantRanges: [
      new nvk.VkPushConstantRange({ stageFlags: nvk.VK_SHADER_STAGE_VERTEX_BIT, offset: 0, size: 64 }),
    ],
  });
  const result = nvk.vkCreatePipelineLayout(device, info, null, pipelineLayout);
  if (result < 0) {
    nvk.vkDestroyDescriptorSetLayout(device, setLayout, null);
    check(result, "vkCreatePipelineLayout", label);
  }
  context.setObjectName(nvk.VK_OBJECT_TYPE_PIPELINE_LAYOUT, pipelineLayout, `${label} pipeline layout`);
  return { setLayout, pipelineLayout };
}

/** Destroys what {@link createTexturedLayout} made. */
export function destroyTexturedLayout(context: Context, layout: TexturedLayout): void {
  nvk.vkDestroyPipelineLayout(context.device, layout.pipelineLayout, null);
  nvk.vkDestroyDescriptorSetLayout(context.device, layout.setLayout, null);
}

/** The states that differ between the samples' pipelines (nvk Vk*StateCreateInfo objects). */
export interface PipelineStates {
  vertexInput: any;
  inputAssembly: any;
  rasterization: any;
  depthStencil?: any;
  colorBlend: any;
}

/**
 * A graphics pipeline for subpass 0 of `renderPass`: the shaders `vertex` and `fragment` (names as
 * {@link loadShaderModule} takes them; the modules are destroyed again whatever happens), one sample, viewport and
 * scissor dynamic, and `states` for the rest. Named `name`; the caller destroys it.
 * @throws Error when a shader is missing; VkError when Vulkan fails.
 */
export function createGraphicsPipeline(
  context: Context,
  shaders: { vertex: string; fragment: string },
  layout: NvkHandle,
  renderPass: NvkHandle,
  states: PipelineStates,
  name: string,
): NvkHandle {
  const device = context.device;
  const vertexShader = loadShaderModule(context, shaders.vertex);
  let fragmentShader: NvkHandle | null = null;
  try {
    fragmentShader = loadShaderModule(context, shaders.fragment);
    const info = new nvk.VkGraphicsPipelineCreateInfo({
      stageCount: 2,
      pStages: [
        new nvk.VkPipelineShaderStageCreateInfo({
          stage: nvk.VK_SHADER_STAGE_VERTEX_BIT,
          module: vertexShader,
          pName: "main",
        }),
        new nvk.VkPipelineShaderStageCreateInfo({
          stage: nvk.VK_SHADER_STAGE_FRAGMENT_BIT,
          module: fragmentShader,
          pName: "main",
        }),
      ],
      pVertexInputState: states.vertexInput,
      pInputAssemblyState: states.inputAssembly,
      pViewportState: new nvk.VkPipelineViewportStateCreateInfo({ viewportCount: 1, scissorCount: 1 }),
      pRasterizationState: states.rasterization,
      pMultisampleState: new nvk.VkPipelineMultisampleStateCreateInfo({
        rasterizationSamples: nvk.VK_SAMPLE_COUNT_1_BIT,
        minSampleShading: 1,
      }),
      ...(states.depthStencil !== undefined ? { pDepthStencilState: states.depthStencil } : {}),
      pColorBlendState: states.colorBlend,
      pDynamicState: new nvk.VkPipelineDynamicStateCreateInfo({
        dynamicStateCount: 2,
        pDynamicStates: new Int32Array([nvk.VK_DYNAMIC_STATE_VIEWPORT, nvk.VK_DYNAMIC_STATE_SCISSOR]),
      }),
      layout,
      renderPass,
      subpass: 0,
      basePipelineIndex: -1,
    });
    const pipeline = new nvk.VkPipeline();
    check(nvk.vkCreateGraphicsPipelines(device, null, 1, [info], null, [pipeline]), "vkCreateGraphicsPipelines", name);
    context.setObjectName(nvk.VK_OBJECT_TYPE_PIPELINE, pipeline, name);
    return pipeline;
  } finally {
    if (fragmentShader !== null) nvk.vkDestroyShaderModule(device, fragmentShader, null);
    nvk.vkDestroyShaderModule(device, vertexShader, null);
  }
}

/**
 * A trilinear sampler over every mip level, with `addressMode` on all axes and anisotropic filtering up to
 * `maxAnisotropy` (0: off), named `name`. The caller destroys it (vkDestroySampler).
 * @throws VkError when vkCreateSampler fails.
 */
export function createLinearSampler(
  context: Context,
  addressMode: number,
  maxAnisotropy: number,
  name: string,
): NvkHandle {
  const sampler = new nvk.VkSampler();
  const info = new nvk.VkSamplerCreateInfo({
    magFilter: nvk.VK_FILTER_LINEAR,
    minFilter: nvk.VK_FILTER_LINEAR,
    mipmapMode: nvk.VK_SAMPLER_MIPMAP_MODE_LINEAR,
    addressModeU: addressMode,
    addressModeV: addressMode,
    addressModeW: addressMode,
    anisotropyEnable: maxAnisotropy > 0,
    maxAnisotropy: Math.max(1, maxAnisotropy),
    compareEnable: false,
    compareOp: nvk.VK_COMPARE_OP_ALWAYS,
    minLod: 0,
    maxLod: nvk.VK_LOD_CLAMP_NONE ?? 1000,
    borderColor: nvk.VK_BORDER_COLOR_INT_OPAQUE_BLACK,
    unnormalizedCoordinates: false,
  });
  check(nvk.vkCreateSampler(context.device, info, null, sampler), "vkCreateSampler", name);
  context.setObjectName(nvk.VK_OBJECT_TYPE_SAMPLER, sampler, name);
  return sampler;
}
