/**
 * Which bits of the Vulkan bitmasks vkmem passes through (VkBufferUsageFlags, VkBufferCreateFlags,
 * VkImageUsageFlags, VkImageCreateFlags, and the VkPipelineStageFlags of endFrame's waitStages) a device allows, so that a bit it does not allow is refused in TS with a
 * RangeError before any Vulkan call sees it (the validation layer calls such a bit "-parameter" or a feature VUID; a
 * driver without the layer is free to do anything with it).
 *
 * The tables list every bit of the Vulkan 1.3 registry (vk.xml / vulkan_core.h, header 1.3.239 and later) with
 * what makes it legal, taken from the specification:
 * - `since`: the core version that defines it (absent: 1.0). A bit defined by a version is allowed when the
 *   device's API version is at least that version, or when one of `extensions` (the extensions that introduced it,
 *   before it was promoted) is enabled.
 * - `extensions`: for a bit that no core version defines, at least one of them must be enabled.
 * - `features`: every entry must be an enabled feature (an entry "a|b" needs a or b): sparse binding, residency
 *   and aliasing need the sparse features, PROTECTED needs protectedMemory, the geometry and tessellation stages
 *   need geometryShader / tessellationShader, SHADER_DEVICE_ADDRESS needs
 *   bufferDeviceAddress (without it VMA cannot allocate the memory with VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT).
 * - `unbindable`: a resource with this bit cannot get one VkDeviceMemory bound with vkBind*Memory, which is what
 *   vmaCreateBuffer / vmaCreateImage do (sparse resources are bound with vkQueueBindSparse; DISJOINT images bind
 *   memory per plane). The create calls refuse it even where the device allows it; the query calls
 *   (findMemoryTypeIndexFor*Info, pools for a description) accept it.
 *
 * Bits that no table lists (reserved ones, and those of registry versions newer than this table) are refused: a
 * newer bit is added here with its extension. nvk's own headers are Vulkan 1.1.126, so an application names the
 * newer bits by value; the table does not depend on nvk.
 * @module
 */
import { describeValue } from "../errors.js";

/** One bit of a Vulkan flags type and what the device must have for it to be legal. */
export interface FlagBit {
  /** The bit's value. */
  readonly value: number;
  /** Its name in the registry. */
  readonly name: string;
  /** The core version that defines it ("1.1", "1.2", "1.3"); absent for 1.0 or extension-only bits. */
  readonly since?: "1.1" | "1.2" | "1.3";
  /** Extensions that define it: one must be enabled, unless `since` is at most the device's API version. */
  readonly extensions?: readonly string[];
  /** Features that must all be enabled; "a|b" means a or b. */
  readonly features?: readonly string[];
  /** True when memory cannot be bound to such a resource with vkBind*Memory (so not through vmaCreate*). */
  readonly unbindable?: boolean;
}

/**
 * The bitmasks vkmem passes to Vulkan: buffer usage and create flags, image usage and create flags, and the
 * pipeline stages a FrameManager's submission waits in (endFrame's waitStages).
 */
export type FlagField = "bufferUsage" | "bufferCreate" | "imageUsage" | "imageCreate" | "pipelineStage";

const BDA = ["VK_KHR_buffer_device_address", "VK_EXT_buffer_device_address"];
const DECODE = ["VK_KHR_video_decode_queue"];
const ENCODE = ["VK_KHR_video_encode_queue"];

/** VkBufferUsageFlagBits. */
export const BUFFER_USAGE_BITS: readonly FlagBit[] = [
  { value: 0x1, name: "TRANSFER_SRC" },
  { value: 0x2, name: "TRANSFER_DST" },
  { value: 0x4, name: "UNIFORM_TEXEL_BUFFER" },
  { value: 0x8, name: "STORAGE_TEXEL_BUFFER" },
  { value: 0x10, name: "UNIFORM_BUFFER" },
  { value: 0x20, name: "STORAGE_BUFFER" },
  { value: 0x40, name: "INDEX_BUFFER" },
  { value: 0x80, name: "VERTEX_BUFFER" },
  { value: 0x100, name: "INDIRECT_BUFFER" },
  { value: 0x200, name: "CONDITIONAL_RENDERING_EXT", extensions: ["VK_EXT_conditional_rendering"] },
  { value: 0x400, name: "SHADER_BINDING_TABLE_KHR", extensions: ["VK_KHR_ray_tracing_pipeline", "VK_NV_ray_tracing"] },
  { value: 0x800, name: "TRANSFORM_FEEDBACK_BUFFER_EXT", extensions: ["VK_EXT_transform_feedback"] },
  { value: 0x1000, name: "TRANSFORM_FEEDBACK_COUNTER_BUFFER_EXT", extensions: ["VK_EXT_transform_feedback"] },
  { value: 0x2000, name: "VIDEO_DECODE_SRC_KHR", extensions: DECODE },
  { value: 0x4000, name: "VIDEO_DECODE_DST_KHR", extensions: DECODE },
  { value: 0x8000, name: "VIDEO_ENCODE_DST_KHR", extensions: ENCODE },
  { value: 0x10000, name: "VIDEO_ENCODE_SRC_KHR", extensions: ENCODE },
  { value: 0x20000, name: "SHADER_DEVICE_ADDRESS", since: "1.2", extensions: BDA, features: ["bufferDeviceAddress"] },
  {
    value: 0x80000,
    name: "ACCELERATION_STRUCTURE_BUILD_INPUT_READ_ONLY_KHR",
    extensions: ["VK_KHR_acceleration_structure"],
  },
  { value: 0x100000, name: "ACCELERATION_STRUCTURE_STORAGE_KHR", extensions: ["VK_KHR_acceleration_structure"] },
  { value: 0x200000, name: "SAMPLER_DESCRIPTOR_BUFFER_EXT", extensions: ["VK_EXT_descriptor_buffer"] },
  { value: 0x400000, name: "RESOURCE_DESCRIPTOR_BUFFER_EXT", extensions: ["VK_EXT_descriptor_buffer"] },
  { value: 0x800000, name: "MICROMAP_BUILD_INPUT_READ_ONLY_EXT", extensions: ["VK_EXT_opacity_micromap"] },
  { value: 0x1000000, name: "MICROMAP_STORAGE_EXT", extensions: ["VK_EXT_opacity_micromap"] },
  {
    value: 0x4000000,
    name: "PUSH_DESCRIPTORS_DESCRIPTOR_BUFFER_EXT",
    extensions: ["VK_EXT_descriptor_buffer"],
    features: ["descriptorBufferPushDescriptors"],
  },
];

/** VkBufferCreateFlagBits. */
export const BUFFER_CREATE_BITS: readonly FlagBit[] = [
  { value: 0x1, name: "SPARSE_BINDING", features: ["sparseBinding"], unbindable: true },
  { value: 0x2, name: "SPARSE_RESIDENCY", features: ["sparseBinding", "sparseResidencyBuffer"], unbindable: true },
  { value: 0x4, name: "SPARSE_ALIASED", features: ["sparseBinding", "sparseResidencyAliased"], unbindable: true },
  { value: 0x8, name: "PROTECTED", since: "1.1", features: ["protectedMemory"] },
  {
    value: 0x10,
    name: "DEVICE_ADDRESS_CAPTURE_REPLAY",
    since: "1.2",
    extensions: BDA,
    features: ["bufferDeviceAddressCaptureReplay"],
  },
  {
    value: 0x20,
    name: "DESCRIPTOR_BUFFER_CAPTURE_REPLAY_EXT",
    extensions: ["VK_EXT_descriptor_buffer"],
    features: ["descriptorBufferCaptureReplay"],
  },
];

/** VkImageUsageFlagBits. */
export const IMAGE_USAGE_BITS: readonly FlagBit[] = [
  { value: 0x1, name: "TRANSFER_SRC" },
  { value: 0x2, name: "TRANSFER_DST" },
  { value: 0x4, name: "SAMPLED" },
  { value: 0x8, name: "STORAGE" },
  { value: 0x10, name: "COLOR_ATTACHMENT" },
  { value: 0x20, name: "DEPTH_STENCIL_ATTACHMENT" },
  { value: 0x40, name: "TRANSIENT_ATTACHMENT" },
  { value: 0x80, name: "INPUT_ATTACHMENT" },
  {
    value: 0x100,
    name: "FRAGMENT_SHADING_RATE_ATTACHMENT_KHR",
    extensions: ["VK_KHR_fragment_shading_rate", "VK_NV_shading_rate_image"],
  },
  { value: 0x200, name: "FRAGMENT_DENSITY_MAP_EXT", extensions: ["VK_EXT_fragment_density_map"] },
  { value: 0x400, name: "VIDEO_DECODE_DST_KHR", extensions: DECODE },
  { value: 0x800, name: "VIDEO_DECODE_SRC_KHR", extensions: DECODE },
  { value: 0x1000, name: "VIDEO_DECODE_DPB_KHR", extensions: DECODE },
  { value: 0x2000, name: "VIDEO_ENCODE_DST_KHR", extensions: ENCODE },
  { value: 0x4000, name: "VIDEO_ENCODE_SRC_KHR", extensions: ENCODE },
  { value: 0x8000, name: "VIDEO_ENCODE_DPB_KHR", extensions: ENCODE },
  { value: 0x40000, name: "INVOCATION_MASK_HUAWEI", extensions: ["VK_HUAWEI_invocation_mask"] },
  { value: 0x80000, name: "ATTACHMENT_FEEDBACK_LOOP_EXT", extensions: ["VK_EXT_attachment_feedback_loop_layout"] },
  { value: 0x100000, name: "SAMPLE_WEIGHT_QCOM", extensions: ["VK_QCOM_image_processing"] },
  { value: 0x200000, name: "SAMPLE_BLOCK_MATCH_QCOM", extensions: ["VK_QCOM_image_processing"] },
  { value: 0x400000, name: "HOST_TRANSFER_EXT", extensions: ["VK_EXT_host_image_copy"], features: ["hostImageCopy"] },
];

/** VkImageCreateFlagBits. */
export const IMAGE_CREATE_BITS: readonly FlagBit[] = [
  { value: 0x1, name: "SPARSE_BINDING", features: ["sparseBinding"], unbindable: true },
  {
    value: 0x2,
    name: "SPARSE_RESIDENCY",
    features: ["sparseBinding", "sparseResidencyImage2D|sparseResidencyImage3D"],
    unbindable: true,
  },
  { value: 0x4, name: "SPARSE_ALIASED", features: ["sparseBinding", "sparseResidencyAliased"], unbindable: true },
  { value: 0x8, name: "MUTABLE_FORMAT" },
  { value: 0x10, name: "CUBE_COMPATIBLE" },
  { value: 0x20, name: "2D_ARRAY_COMPATIBLE", since: "1.1", extensions: ["VK_KHR_maintenance1"] },
  { value: 0x40, name: "SPLIT_INSTANCE_BIND_REGIONS", since: "1.1", extensions: ["VK_KHR_device_group"] },
  { value: 0x80, name: "BLOCK_TEXEL_VIEW_COMPATIBLE", since: "1.1", extensions: ["VK_KHR_maintenance2"] },
  { value: 0x100, name: "EXTENDED_USAGE", since: "1.1", extensions: ["VK_KHR_maintenance2"] },
  { value: 0x200, name: "DISJOINT", since: "1.1", extensions: ["VK_KHR_sampler_ycbcr_conversion"], unbindable: true },
  { value: 0x400, name: "ALIAS", since: "1.1", extensions: ["VK_KHR_bind_memory2"] },
  { value: 0x800, name: "PROTECTED", since: "1.1", features: ["protectedMemory"] },
  { value: 0x1000, name: "SAMPLE_LOCATIONS_COMPATIBLE_DEPTH_EXT", extensions: ["VK_EXT_sample_locations"] },
  { value: 0x2000, name: "CORNER_SAMPLED_NV", extensions: ["VK_NV_corner_sampled_image"] },
  { value: 0x4000, name: "SUBSAMPLED_EXT", extensions: ["VK_EXT_fragment_density_map"] },
  { value: 0x8000, name: "FRAGMENT_DENSITY_MAP_OFFSET_QCOM", extensions: ["VK_QCOM_fragment_density_map_offset"] },
  {
    value: 0x10000,
    name: "DESCRIPTOR_BUFFER_CAPTURE_REPLAY_EXT",
    extensions: ["VK_EXT_descriptor_buffer"],
    features: ["descriptorBufferCaptureReplay"],
  },
  { value: 0x20000, name: "2D_VIEW_COMPATIBLE_EXT", extensions: ["VK_EXT_image_2d_view_of_3d"] },
  {
    value: 0x40000,
    name: "MULTISAMPLED_RENDER_TO_SINGLE_SAMPLED_EXT",
    extensions: ["VK_EXT_multisampled_render_to_single_sampled"],
  },
];

const MESH = ["VK_EXT_mesh_shader", "VK_NV_mesh_shader"];

/** VkPipelineStageFlagBits (the 32-bit ones vkQueueSubmit's pWaitDstStageMask takes). */
export const PIPELINE_STAGE_BITS: readonly FlagBit[] = [
  { value: 0x1, name: "TOP_OF_PIPE" },
  { value: 0x2, name: "DRAW_INDIRECT" },
  { value: 0x4, name: "VERTEX_INPUT" },
  { value: 0x8, name: "VERTEX_SHADER" },
  { value: 0x10, name: "TESSELLATION_CONTROL_SHADER", features: ["tessellationShader"] },
  { value: 0x20, name: "TESSELLATION_EVALUATION_SHADER", features: ["tessellationShader"] },
  { value: 0x40, name: "GEOMETRY_SHADER", features: ["geometryShader"] },
  { value: 0x80, name: "FRAGMENT_SHADER" },
  { value: 0x100, name: "EARLY_FRAGMENT_TESTS" },
  { value: 0x200, name: "LATE_FRAGMENT_TESTS" },
  { value: 0x400, name: "COLOR_ATTACHMENT_OUTPUT" },
  { value: 0x800, name: "COMPUTE_SHADER" },
  { value: 0x1000, name: "TRANSFER" },
  { value: 0x2000, name: "BOTTOM_OF_PIPE" },
  { value: 0x4000, name: "HOST" },
  { value: 0x8000, name: "ALL_GRAPHICS" },
  { value: 0x10000, name: "ALL_COMMANDS" },
  { value: 0x20000, name: "COMMAND_PREPROCESS_NV", extensions: ["VK_NV_device_generated_commands"] },
  {
    value: 0x40000,
    name: "CONDITIONAL_RENDERING_EXT",
    extensions: ["VK_EXT_conditional_rendering"],
    features: ["conditionalRendering"],
  },
  { value: 0x80000, name: "TASK_SHADER_EXT", extensions: MESH, features: ["taskShader"] },
  { value: 0x100000, name: "MESH_SHADER_EXT", extensions: MESH, features: ["meshShader"] },
  { value: 0x200000, name: "RAY_TRACING_SHADER_KHR", extensions: ["VK_KHR_ray_tracing_pipeline", "VK_NV_ray_tracing"] },
  {
    value: 0x400000,
    name: "FRAGMENT_SHADING_RATE_ATTACHMENT_KHR",
    extensions: ["VK_KHR_fragment_shading_rate", "VK_NV_shading_rate_image"],
  },
  { value: 0x800000, name: "FRAGMENT_DENSITY_PROCESS_EXT", extensions: ["VK_EXT_fragment_density_map"] },
  {
    value: 0x1000000,
    name: "TRANSFORM_FEEDBACK_EXT",
    extensions: ["VK_EXT_transform_feedback"],
    features: ["transformFeedback"],
  },
  {
    value: 0x2000000,
    name: "ACCELERATION_STRUCTURE_BUILD_KHR",
    extensions: ["VK_KHR_acceleration_structure", "VK_NV_ray_tracing"],
  },
];

const TABLES: Readonly<Record<FlagField, readonly FlagBit[]>> = {
  bufferUsage: BUFFER_USAGE_BITS,
  bufferCreate: BUFFER_CREATE_BITS,
  imageUsage: IMAGE_USAGE_BITS,
  imageCreate: IMAGE_CREATE_BITS,
  pipelineStage: PIPELINE_STAGE_BITS,
};

const TYPE_NAMES: Readonly<Record<FlagField, string>> = {
  bufferUsage: "VkBufferUsageFlags",
  bufferCreate: "VkBufferCreateFlags",
  imageUsage: "VkImageUsageFlags",
  imageCreate: "VkImageCreateFlags",
  pipelineStage: "VkPipelineStageFlags",
};

/** What a device enabled, as far as the flag tables care. */
export interface DeviceCapabilities {
  /** The API version in use (VK_MAKE_API_VERSION form). */
  readonly apiVersion: number;
  /** Enabled device extensions (core-promoted ones need not be listed: `apiVersion` covers them). */
  readonly extensions: Iterable<string>;
  /** Enabled features by their VkPhysicalDevice*Features member name; a missing entry is false. */
  readonly features: Readonly<Record<string, boolean | undefined>>;
}

function versionOf(since: "1.1" | "1.2" | "1.3"): number {
  return (1 << 22) | (Number(since[2]) << 12);
}

/** Why the device does not allow `bit` ("" when it does). */
function missing(
  bit: FlagBit,
  apiVersion: number,
  extensions: ReadonlySet<string>,
  features: DeviceCapabilities["features"],
): string {
  const needs: string[] = [];
  const inCore = bit.since !== undefined && apiVersion >= versionOf(bit.since);
  const viaExtension = bit.extensions !== undefined && bit.extensions.some((e) => extensions.has(e));
  if (!inCore && !viaExtension && (bit.since !== undefined || bit.extensions !== undefined)) {
    const ways = [...(bit.since !== undefined ? [`Vulkan ${bit.since}`] : []), ...(bit.extensions ?? [])];
    needs.push(ways.join(" or "));
  }
  for (const f of bit.features ?? []) {
    if (!f.split("|").some((name) => features[name] === true)) needs.push(`feature ${f.split("|").join(" or ")}`);
  }
  return needs.join(" and ");
}

/**
 * The bits of each field one device allows, computed once (an allocator holds one), and the check that refuses
 * the others. Created by the allocator from its device's API version, extensions and features; never destroyed.
 */
export class DeviceFlagPolicy {
  /** Per field: the mask of allowed bits, and of allowed bits that memory can be bound to with vkBind*Memory. */
  private readonly allowed: Record<FlagField, number>;
  private readonly bindable: Record<FlagField, number>;
  private readonly why: Record<FlagField, Map<number, string>>;

  constructor(caps: DeviceCapabilities) {
    const extensions = new Set(caps.extensions);
    this.allowed = { bufferUsage: 0, bufferCreate: 0, imageUsage: 0, imageCreate: 0, pipelineStage: 0 };
    this.bindable = { bufferUsage: 0, bufferCreate: 0, imageUsage: 0, imageCreate: 0, pipelineStage: 0 };
    this.why = {
      bufferUsage: new Map(),
      bufferCreate: new Map(),
      imageUsage: new Map(),
      imageCreate: new Map(),
      pipelineStage: new Map(),
    };
    for (const field of Object.keys(TABLES) as FlagField[]) {
      for (const bit of TABLES[field]) {
        const reason = missing(bit, caps.apiVersion, extensions, caps.features);
        if (reason !== "") {
          this.why[field].set(bit.value, `${bit.name} needs ${reason}`);
          continue;
        }
        this.allowed[field] |= bit.value;
        if (bit.unbindable === true)
          this.why[field].set(
            bit.value,
            `${bit.name}: VMA binds one VkDeviceMemory, which such a resource cannot take`,
          );
        else this.bindable[field] |= bit.value;
      }
    }
  }

  /** The mask of bits of `field` this device allows (`bind`: and that vmaCreateBuffer / vmaCreateImage can bind). */
  mask(field: FlagField, bind: boolean): number {
    return (bind ? this.bindable[field] : this.allowed[field]) >>> 0;
  }

  /**
   * Refuses a value of `field` with a bit the device does not allow (`bind`: or one VMA cannot bind memory to).
   * The value must already be a uint32.
   * @throws RangeError "op: arg has bits 0x... this device does not allow (NAME needs ...), got N".
   */
  check(value: number, field: FlagField, bind: boolean, op: string, arg: string): void {
    const bad = (value & ~this.mask(field, bind)) >>> 0;
    if (bad === 0) return;
    // Bits no table knows first, as one mask; then each known bit with what it needs.
    const reasons: string[] = [];
    let unknown = 0;
    for (let rest = bad; rest !== 0;) {
      const low = (rest & -rest) >>> 0;
      rest = (rest & ~low) >>> 0;
      const why = this.why[field].get(low);
      if (why === undefined) unknown = (unknown | low) >>> 0;
      else reasons.push(why);
    }
    if (unknown !== 0)
      reasons.unshift(
        `0x${unknown.toString(16)} ${unknown & (unknown - 1) ? "are not" : "is not a"} ${TYPE_NAMES[field]} bit${unknown & (unknown - 1) ? "s" : ""}`,
      );
    const shown = reasons.length > 6 ? [...reasons.slice(0, 6), `${reasons.length - 6} more`] : reasons;
    throw new RangeError(
      `${op}: ${arg} has bits 0x${bad.toString(16)} that this device does not allow (${shown.join("; ")}), got ${describeValue(value)}`,
    );
  }
}
