/**
 * A vertex buffer uploaded through the frame manager and drawn offscreen; the picture read back and checked.
 *
 *   node dist/examples/vertex-buffer.js        (VKMEM_VALIDATION=1 turns the validation layer on)
 *
 * What a game does for every mesh: create a device-local Buffer, upload its bytes through the staging ring (the
 * copy is recorded before the frame's own commands), mark it used by the frame that draws it, and destroy it
 * through the manager (which waits for the frames that used it). The colour target is a Texture too; the render
 * pass leaves it in TRANSFER_SRC_OPTIMAL, which the texture is told (`assumeLayout`) so a later download starts from there.
 *
 * The shaders are embedded as SPIR-V, compiled with `glslangValidator -V` from:
 *
 *   // triangle.vert                                      // triangle.frag
 *   #version 450                                          #version 450
 *   layout(location = 0) in vec2 position;                layout(location = 0) in vec3 vColor;
 *   layout(location = 1) in vec3 color;                   layout(location = 0) out vec4 outColor;
 *   layout(location = 0) out vec3 vColor;                 void main() {
 *   void main() {                                           outColor = vec4(vColor, 1.0);
 *     gl_Position = vec4(position, 0.0, 1.0);             }
 *     vColor = color;
 *   }
 */
import {
  createAllocator,
  createContext,
  createFrameManager,
  nvk,
  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
  VK_FORMAT_R8G8B8A8_UNORM,
  VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
  type Context,
  type NvkHandle,
} from "vkmem";

const TRIANGLE_VERT_SPV =
  "AwIjBwAAAQALAAgAIQAAAAAAAAARAAIAAQAAAAsABgABAAAAR0xTTC5zdGQuNDUwAAAAAA4AAwAAAAAAAQAAAA8ACQAAAAAABAAA" +
  "AG1haW4AAAAADQAAABIAAAAdAAAAHwAAAAMAAwACAAAAwgEAAAUABAAEAAAAbWFpbgAAAAAFAAYACwAAAGdsX1BlclZlcnRleAAA" +
  "AAAGAAYACwAAAAAAAABnbF9Qb3NpdGlvbgAGAAcACwAAAAEAAABnbF9Qb2ludFNpemUAAAAABgAHAAsAAAACAAAAZ2xfQ2xpcERp" +
  "c3RhbmNlAAYABwALAAAAAwAAAGdsX0N1bGxEaXN0YW5jZQAFAAMADQAAAAAAAAAFAAUAEgAAAHBvc2l0aW9uAAAAAAUABAAdAAAA" +
  "dkNvbG9yAAAFAAQAHwAAAGNvbG9yAAAASAAFAAsAAAAAAAAACwAAAAAAAABIAAUACwAAAAEAAAALAAAAAQAAAEgABQALAAAAAgAA" +
  "AAsAAAADAAAASAAFAAsAAAADAAAACwAAAAQAAABHAAMACwAAAAIAAABHAAQAEgAAAB4AAAAAAAAARwAEAB0AAAAeAAAAAAAAAEcA" +
  "BAAfAAAAHgAAAAEAAAATAAIAAgAAACEAAwADAAAAAgAAABYAAwAGAAAAIAAAABcABAAHAAAABgAAAAQAAAAVAAQACAAAACAAAAAA" +
  "AAAAKwAEAAgAAAAJAAAAAQAAABwABAAKAAAABgAAAAkAAAAeAAYACwAAAAcAAAAGAAAACgAAAAoAAAAgAAQADAAAAAMAAAALAAAA" +
  "OwAEAAwAAAANAAAAAwAAABUABAAOAAAAIAAAAAEAAAArAAQADgAAAA8AAAAAAAAAFwAEABAAAAAGAAAAAgAAACAABAARAAAAAQAA" +
  "ABAAAAA7AAQAEQAAABIAAAABAAAAKwAEAAYAAAAUAAAAAAAAACsABAAGAAAAFQAAAAAAgD8gAAQAGQAAAAMAAAAHAAAAFwAEABsA" +
  "AAAGAAAAAwAAACAABAAcAAAAAwAAABsAAAA7AAQAHAAAAB0AAAADAAAAIAAEAB4AAAABAAAAGwAAADsABAAeAAAAHwAAAAEAAAA2" +
  "AAUAAgAAAAQAAAAAAAAAAwAAAPgAAgAFAAAAPQAEABAAAAATAAAAEgAAAFEABQAGAAAAFgAAABMAAAAAAAAAUQAFAAYAAAAXAAAA" +
  "EwAAAAEAAABQAAcABwAAABgAAAAWAAAAFwAAABQAAAAVAAAAQQAFABkAAAAaAAAADQAAAA8AAAA+AAMAGgAAABgAAAA9AAQAGwAA" +
  "ACAAAAAfAAAAPgADAB0AAAAgAAAA/QABADgAAQA=";
const TRIANGLE_FRAG_SPV =
  "AwIjBwAAAQALAAgAEwAAAAAAAAARAAIAAQAAAAsABgABAAAAR0xTTC5zdGQuNDUwAAAAAA4AAwAAAAAAAQAAAA8ABwAEAAAABAAA" +
  "AG1haW4AAAAACQAAAAwAAAAQAAMABAAAAAcAAAADAAMAAgAAAMIBAAAFAAQABAAAAG1haW4AAAAABQAFAAkAAABvdXRDb2xvcgAA" +
  "AAAFAAQADAAAAHZDb2xvcgAARwAEAAkAAAAeAAAAAAAAAEcABAAMAAAAHgAAAAAAAAATAAIAAgAAACEAAwADAAAAAgAAABYAAwAG" +
  "AAAAIAAAABcABAAHAAAABgAAAAQAAAAgAAQACAAAAAMAAAAHAAAAOwAEAAgAAAAJAAAAAwAAABcABAAKAAAABgAAAAMAAAAgAAQA" +
  "CwAAAAEAAAAKAAAAOwAEAAsAAAAMAAAAAQAAACsABAAGAAAADgAAAAAAgD82AAUAAgAAAAQAAAAAAAAAAwAAAPgAAgAFAAAAPQAE" +
  "AAoAAAANAAAADAAAAFEABQAGAAAADwAAAA0AAAAAAAAAUQAFAAYAAAAQAAAADQAAAAEAAABRAAUABgAAABEAAAANAAAAAgAAAFAA" +
  "BwAHAAAAEgAAAA8AAAAQAAAAEQAAAA4AAAA+AAMACQAAABIAAAD9AAEAOAABAA==";

const SIZE = 64;
// x, y, r, g, b per vertex: a red, green and blue corner.
const vertices = new Float32Array([0, -0.8, 1, 0, 0, 0.8, 0.8, 0, 1, 0, -0.8, 0.8, 0, 0, 1]);

/** Calls an nvk create function and returns the handle it made, or throws naming the call. */
function make(handleClass: new () => NvkHandle, create: (out: NvkHandle) => number, what: string): NvkHandle {
  const handle = new handleClass();
  const result = create(handle);
  if (result !== 0) throw new Error(`${what} failed: ${result}`);
  return handle;
}

function shaderModule(context: Context, base64: string): NvkHandle {
  const code = new Uint8Array(Buffer.from(base64, "base64"));
  const info = new nvk.VkShaderModuleCreateInfo({ codeSize: code.byteLength, pCode: code });
  return make(nvk.VkShaderModule, (out) => nvk.vkCreateShaderModule(context.device, info, null, out), "vkCreateShaderModule");
}

const context = createContext({ validation: process.env.VKMEM_VALIDATION === "1" });
const allocator = createAllocator(context);
const frames = createFrameManager(context, allocator, { framesInFlight: 2 });

const vertexBuffer = frames.createBuffer({ label: "triangle vertices", size: vertices.byteLength, usage: VK_BUFFER_USAGE_VERTEX_BUFFER_BIT });
const target = frames.createTexture({
  label: "colour target", width: SIZE, height: SIZE, format: VK_FORMAT_R8G8B8A8_UNORM, usage: VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
});

const device = context.device;
const renderPass = make(nvk.VkRenderPass, (out) => nvk.vkCreateRenderPass(device, new nvk.VkRenderPassCreateInfo({
  attachmentCount: 1,
  pAttachments: [new nvk.VkAttachmentDescription({
    format: VK_FORMAT_R8G8B8A8_UNORM, samples: nvk.VK_SAMPLE_COUNT_1_BIT,
    loadOp: nvk.VK_ATTACHMENT_LOAD_OP_CLEAR, storeOp: nvk.VK_ATTACHMENT_STORE_OP_STORE,
    stencilLoadOp: nvk.VK_ATTACHMENT_LOAD_OP_DONT_CARE, stencilStoreOp: nvk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
    initialLayout: nvk.VK_IMAGE_LAYOUT_UNDEFINED, finalLayout: nvk.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
  })],
  subpassCount: 1,
  pSubpasses: [new nvk.VkSubpassDescription({
    pipelineBindPoint: nvk.VK_PIPELINE_BIND_POINT_GRAPHICS, colorAttachmentCount: 1,
    pColorAttachments: [new nvk.VkAttachmentReference({ attachment: 0, layout: nvk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL })],
  })],
  dependencyCount: 2,
  pDependencies: [
    new nvk.VkSubpassDependency({
      srcSubpass: nvk.VK_SUBPASS_EXTERNAL, dstSubpass: 0,
      srcStageMask: nvk.VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, dstStageMask: nvk.VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
      srcAccessMask: 0, dstAccessMask: nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
    }),
    new nvk.VkSubpassDependency({
      srcSubpass: 0, dstSubpass: nvk.VK_SUBPASS_EXTERNAL,
      srcStageMask: nvk.VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, dstStageMask: nvk.VK_PIPELINE_STAGE_TRANSFER_BIT,
      srcAccessMask: nvk.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, dstAccessMask: nvk.VK_ACCESS_TRANSFER_READ_BIT,
    }),
  ],
}), null, out), "vkCreateRenderPass");
const framebuffer = make(nvk.VkFramebuffer, (out) => nvk.vkCreateFramebuffer(device, new nvk.VkFramebufferCreateInfo({
  renderPass, attachmentCount: 1, pAttachments: [target.view], width: SIZE, height: SIZE, layers: 1,
}), null, out), "vkCreateFramebuffer");
const layout = make(nvk.VkPipelineLayout, (out) => nvk.vkCreatePipelineLayout(device, new nvk.VkPipelineLayoutCreateInfo({}), null, out), "vkCreatePipelineLayout");
const vert = shaderModule(context, TRIANGLE_VERT_SPV);
const frag = shaderModule(context, TRIANGLE_FRAG_SPV);
const pipeline = make(nvk.VkPipeline, (out) => nvk.vkCreateGraphicsPipelines(device, null, 1, [new nvk.VkGraphicsPipelineCreateInfo({
  stageCount: 2,
  pStages: [
    new nvk.VkPipelineShaderStageCreateInfo({ stage: nvk.VK_SHADER_STAGE_VERTEX_BIT, module: vert, pName: "main" }),
    new nvk.VkPipelineShaderStageCreateInfo({ stage: nvk.VK_SHADER_STAGE_FRAGMENT_BIT, module: frag, pName: "main" }),
  ],
  pVertexInputState: new nvk.VkPipelineVertexInputStateCreateInfo({
    vertexBindingDescriptionCount: 1,
    pVertexBindingDescriptions: [new nvk.VkVertexInputBindingDescription({ binding: 0, stride: 20, inputRate: nvk.VK_VERTEX_INPUT_RATE_VERTEX })],
    vertexAttributeDescriptionCount: 2,
    pVertexAttributeDescriptions: [
      new nvk.VkVertexInputAttributeDescription({ location: 0, binding: 0, format: nvk.VK_FORMAT_R32G32_SFLOAT, offset: 0 }),
      new nvk.VkVertexInputAttributeDescription({ location: 1, binding: 0, format: nvk.VK_FORMAT_R32G32B32_SFLOAT, offset: 8 }),
    ],
  }),
  pInputAssemblyState: new nvk.VkPipelineInputAssemblyStateCreateInfo({ topology: nvk.VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST }),
  pViewportState: new nvk.VkPipelineViewportStateCreateInfo({
    viewportCount: 1, pViewports: [new nvk.VkViewport({ x: 0, y: 0, width: SIZE, height: SIZE, minDepth: 0, maxDepth: 1 })],
    scissorCount: 1, pScissors: [new nvk.VkRect2D({ offset: new nvk.VkOffset2D({ x: 0, y: 0 }), extent: new nvk.VkExtent2D({ width: SIZE, height: SIZE }) })],
  }),
  pRasterizationState: new nvk.VkPipelineRasterizationStateCreateInfo({
    polygonMode: nvk.VK_POLYGON_MODE_FILL, cullMode: nvk.VK_CULL_MODE_NONE, frontFace: nvk.VK_FRONT_FACE_COUNTER_CLOCKWISE, lineWidth: 1,
  }),
  pMultisampleState: new nvk.VkPipelineMultisampleStateCreateInfo({ rasterizationSamples: nvk.VK_SAMPLE_COUNT_1_BIT }),
  pColorBlendState: new nvk.VkPipelineColorBlendStateCreateInfo({
    attachmentCount: 1, pAttachments: [new nvk.VkPipelineColorBlendAttachmentState({ blendEnable: false, colorWriteMask: 0xf })],
  }),
  layout, renderPass, subpass: 0,
})], null, [out]), "vkCreateGraphicsPipelines");

// Frame 1: upload the vertices (recorded before the frame's commands) and draw them.
const frame = frames.beginFrame();
frames.upload(vertexBuffer, vertices);
vertexBuffer.markUsed();
target.markUsed();
const cmd = frame.commandBuffer;
const clear = new nvk.VkClearValue();
new Float32Array(clear.memoryBuffer, 0, 4).set([0, 0, 0, 1]); // nvk's float32 setter misplaces the floats: write the bytes
nvk.vkCmdBeginRenderPass(cmd, new nvk.VkRenderPassBeginInfo({
  renderPass, framebuffer,
  renderArea: new nvk.VkRect2D({ offset: new nvk.VkOffset2D({ x: 0, y: 0 }), extent: new nvk.VkExtent2D({ width: SIZE, height: SIZE }) }),
  clearValueCount: 1, pClearValues: [clear],
}), nvk.VK_SUBPASS_CONTENTS_INLINE);
nvk.vkCmdBindPipeline(cmd, nvk.VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
nvk.vkCmdBindVertexBuffers(cmd, 0, 1, [vertexBuffer.handle], new BigUint64Array([0n]));
nvk.vkCmdDraw(cmd, 3, 1, 0, 0);
nvk.vkCmdEndRenderPass(cmd);
frames.endFrame();
target.assumeLayout(nvk.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);

// Frame 2: read the picture back (a download resolves once its frame's fence is seen).
frames.beginFrame();
const download = frames.downloadImage(target);
frames.endFrame();
frames.waitIdle();
const pixels = await download;

let covered = 0;
for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! + pixels[i + 1]! + pixels[i + 2]! > 0) covered++;
const at = (x: number, y: number) => [...pixels.subarray((y * SIZE + x) * 4, (y * SIZE + x) * 4 + 4)].join(",");
console.log(`drew ${vertices.length / 5} vertices from a ${vertexBuffer.size}-byte device-local buffer into ${SIZE}x${SIZE}`);
console.log(`covered pixels: ${covered} of ${SIZE * SIZE}; top corner (red) ${at(32, 8)}; corner pixel (clear) ${at(0, 0)}`);

// Teardown: what was made on the device first (after the GPU is idle), then resources, the manager, the allocator,
// the context.
nvk.vkDestroyPipeline(device, pipeline, null);
nvk.vkDestroyShaderModule(device, vert, null);
nvk.vkDestroyShaderModule(device, frag, null);
nvk.vkDestroyPipelineLayout(device, layout, null);
nvk.vkDestroyFramebuffer(device, framebuffer, null);
nvk.vkDestroyRenderPass(device, renderPass, null);
vertexBuffer.destroy();
target.destroy();
frames.destroy();
const leaks = allocator.destroy();
context.destroy();
console.log(`leaks: ${leaks.length}; validation messages: ${context.validationMessages.length}`);
process.exitCode = leaks.length + context.validationMessages.length > 0 ? 1 : 0;
